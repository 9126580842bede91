/* The state one extraction shares between its steps: the text, its code
 * points, lines, tokens and sentences, and the named block being filled.
 * Everything points into the extractor's reusable buffers. */
#ifndef PM_FEATURES_FCTX_H
#define PM_FEATURES_FCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "features/lexicon.h"
#include "features/segment.h"
#include "penmark/config.h"

typedef struct {
  uint32_t start, end; /* byte offsets, without the "\n" */
  uint32_t chars;      /* code points */
  bool blank;          /* only white space */
} pm__line;

typedef struct {
  uint32_t tok_start, tok_end; /* token range */
  uint8_t end_char;            /* '.', '!', '?', or 0 (no final mark) */
  bool japanese;               /* has Japanese morphemes */
} pm__sentence;

typedef struct {
  const char *text;
  size_t len;
  const uint32_t *cp_off; /* byte offset of each code point, ncp + 1 */
  size_t ncp;
  const pm__line *lines;
  size_t nlines;
  const pm__token *toks;
  size_t ntoks;
  const pm__sentence *sents;
  size_t nsents;
  const pm__segmenter *seg;
  const pm__lexicon *lx;
  const pm_config *cfg;
  float *named; /* pm_named_count() values, zeroed before the steps run */
  /* counts gathered by the character pass */
  size_t letters, upper, latin, nonspace, kanji, hiragana, katakana, digits;
  size_t words, ja_morphemes;
  /* the layout's reading of the surface (set by pm__named_surface): the
   * greeting line and the first line of the closing block, nlines when
   * there is none */
  size_t greet_line, close_line;
} pm__fctx;

/* The steps that fill the named block. */
/* Greeting and sign-off, read on the whole own text: the copyable surface.
 * Sets greet_line and close_line. */
void pm__named_surface(pm__fctx *c);
/* Line and block layout, read on the body (the text between the surface). */
void pm__named_lines(pm__fctx *c);
void pm__named_punctuation(pm__fctx *c);
void pm__named_case_lengths(pm__fctx *c);
void pm__named_function_words(pm__fctx *c);
void pm__named_japanese(pm__fctx *c);

/* Helpers shared by the steps. */
static inline bool pm__tok_is(const pm__fctx *c, const pm__token *t,
                              const char *s, size_t n) {
  return t->end - t->start == n &&
         __builtin_memcmp(c->text + t->start, s, n) == 0;
}

#endif
