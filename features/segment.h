/* Segmentation of own text into tokens: script runs (ICU uscript), Japanese
 * runs through MeCab (IPADIC), every other run through an ICU word break
 * iterator. The iterator and the tagger are created once per segmenter and
 * reused for every text (one segmenter per thread; nothing is static). */
#ifndef PM_FEATURES_SEGMENT_H
#define PM_FEATURES_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

typedef enum {
  PM_TOK_WORD = 0, /* letters (Latin or other non-Japanese script) */
  PM_TOK_NUMBER,   /* digits (any script) */
  PM_TOK_PUNCT,    /* one punctuation or symbol character */
  PM_TOK_JA,       /* a Japanese morpheme that is not punctuation/number */
} pm__tok_kind;

typedef struct {
  uint32_t start, end; /* byte offsets into the text */
  uint32_t line;       /* 0-based line number */
  uint8_t kind;        /* pm__tok_kind */
  uint8_t japanese;    /* came from MeCab */
  uint16_t posid;      /* IPADIC part-of-speech id (MeCab), 0 otherwise */
  uint32_t base_off;   /* MeCab base form: offset into pm__segmenter base */
  uint16_t base_len;   /*   buffer, and its length (0 = same as surface) */
} pm__token;

typedef struct pm__segmenter pm__segmenter;

/* dicdir: the MeCab dictionary directory (IPADIC, UTF-8). */
pm_status pm__segmenter_new(const char *dicdir, pm__segmenter **out,
                            pm_error *err);
void pm__segmenter_free(pm__segmenter *s);

/* Tokenises text (valid UTF-8, len bytes). The tokens stay valid until the
 * next call; *toks is borrowed from the segmenter. */
pm_status pm__segment(pm__segmenter *s, const char *text, size_t len,
                      const pm__token **toks, size_t *ntoks, pm_error *err);

/* The MeCab base form of a token (or its surface when it has none). */
const char *pm__token_base(const pm__segmenter *s, const char *text,
                           const pm__token *t, size_t *len);

/* The bare passes, for the benchmark that compares against them: run the
 * word break iterator (resp. MeCab) over the text and count segments. */
size_t pm__segment_bare_icu(pm__segmenter *s, const char *text, size_t len);
size_t pm__segment_bare_mecab(pm__segmenter *s, const char *text, size_t len);

/* Code point classes used for script runs. */
typedef enum {
  PM_CP_COMMON = 0, /* spaces, punctuation, digits, marks: join a neighbour */
  PM_CP_JAPANESE,   /* Han, Hiragana, Katakana */
  PM_CP_OTHER       /* Latin and every other script */
} pm__cp_class;

pm__cp_class pm__cp_classify(uint32_t cp);

/* IPADIC part-of-speech ids (pos-id.def) of interest. */
enum {
  PM_POS_KIGOU_FIRST = 3, /* 記号 (symbols): 3..9 */
  PM_POS_KIGOU_LAST = 9,
  PM_POS_JOSHI_FIRST = 13, /* 助詞 (particles): 13..24 */
  PM_POS_JOSHI_LAST = 24,
  PM_POS_JODOUSHI = 25,   /* 助動詞 (auxiliary verbs) */
  PM_POS_MEISHI_KAZU = 48 /* 名詞,数 (numerals) */
};

#endif
