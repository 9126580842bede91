/* Segmentation: script runs, ICU word breaks, MeCab morphemes. */
#include "common/buf.h"
#include "features/segment.h"

#include <mecab.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

struct pm__segmenter {
  UBreakIterator *words; /* created once, setText per run */
  mecab_t *mecab;        /* one tagger per segmenter: MeCab taggers are not
                            shared between threads */
  UChar *u16;            /* UTF-16 copy of the current run */
  uint32_t *u16_byte;    /* byte offset of each UTF-16 unit, plus the end */
  size_t u16_cap, u16_byte_cap;
  pm__token *toks;
  size_t ntoks, toks_cap;
  char *base; /* MeCab base forms of the current text */
  size_t base_len, base_cap;
  uint8_t *cls;     /* per code point class of the current line */
  uint32_t *cp_off; /* byte offset of each code point, plus the end */
  size_t cls_cap, cp_off_cap;
};

pm__cp_class pm__cp_classify(uint32_t cp) {
  if (cp < 0x80) {
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
      return PM_CP_OTHER;
    return PM_CP_COMMON;
  }
  UErrorCode st = U_ZERO_ERROR;
  UScriptCode sc = uscript_getScript((UChar32)cp, &st);
  if (U_FAILURE(st))
    return PM_CP_COMMON;
  switch (sc) {
  case USCRIPT_HAN:
  case USCRIPT_HIRAGANA:
  case USCRIPT_KATAKANA:
  case USCRIPT_KATAKANA_OR_HIRAGANA:
    return PM_CP_JAPANESE;
  case USCRIPT_COMMON:
  case USCRIPT_INHERITED:
  case USCRIPT_UNKNOWN:
    /* U+30FC (ー), the iteration marks and the Japanese punctuation are
     * Common: they extend whatever run they stand in. */
    return PM_CP_COMMON;
  default:
    return PM_CP_OTHER;
  }
}

pm_status pm__segmenter_new(const char *dicdir, pm__segmenter **out,
                            pm_error *err) {
  *out = NULL;
  pm__segmenter *s = calloc(1, sizeof *s);
  if (!s)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  UErrorCode st = U_ZERO_ERROR;
  s->words = ubrk_open(UBRK_WORD, "en", NULL, 0, &st);
  if (U_FAILURE(st) || !s->words) {
    pm__segmenter_free(s);
    return pm_error_set(err, PM_DICT, "ICU word break iterator: %s",
                        u_errorName(st));
  }
  /* Pinning the dictionary: the system default (/etc/mecabrc) may name
   * another dictionary, and the EUC-JP IPADIC reads UTF-8 as garbage. */
  size_t n = strlen(dicdir) + 8;
  char *arg = malloc(n);
  if (!arg) {
    pm__segmenter_free(s);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  snprintf(arg, n, "-d %s", dicdir);
  s->mecab = mecab_new2(arg);
  free(arg);
  if (!s->mecab) {
    pm__segmenter_free(s);
    return pm_error_set(err, PM_DICT,
                        "MeCab could not load the IPADIC UTF-8 dictionary at "
                        "%s (install mecab-ipadic-utf8, or set mecab_dicdir "
                        "in the configuration)",
                        dicdir);
  }
  *out = s;
  return PM_OK;
}

void pm__segmenter_free(pm__segmenter *s) {
  if (!s)
    return;
  if (s->words)
    ubrk_close(s->words);
  if (s->mecab)
    mecab_destroy(s->mecab);
  free(s->u16);
  free(s->u16_byte);
  free(s->toks);
  free(s->base);
  free(s->cls);
  free(s->cp_off);
  free(s);
}

static bool push_tok(pm__segmenter *s, const pm__token *t) {
  if (s->ntoks == s->toks_cap &&
      !pm__grow((void **)&s->toks, &s->toks_cap, s->ntoks + 1, sizeof *s->toks))
    return false;
  s->toks[s->ntoks++] = *t;
  return true;
}

/* Decodes one code point; invalid bytes count as U+FFFD (the mail module
 * already replaced them, this only keeps us safe on any input). */
static uint32_t next_cp(const char *text, int32_t len, int32_t *i) {
  UChar32 c;
  U8_NEXT((const uint8_t *)text, *i, len, c);
  return c < 0 ? 0xFFFD : (uint32_t)c;
}

/* Word-breaks text[from, to) with ICU and appends its tokens. */
static bool icu_run(pm__segmenter *s, const char *text, uint32_t from,
                    uint32_t to, uint32_t line) {
  /* A UTF-8 run of n bytes has at most n UTF-16 units. */
  size_t need = (size_t)(to - from) + 1;
  if (!pm__grow((void **)&s->u16, &s->u16_cap, need, sizeof *s->u16) ||
      !pm__grow((void **)&s->u16_byte, &s->u16_byte_cap, need,
                sizeof *s->u16_byte))
    return false;
  int32_t n16 = 0;
  int32_t i = (int32_t)from;
  while (i < (int32_t)to) {
    uint32_t at = (uint32_t)i;
    uint32_t c = next_cp(text, (int32_t)to, &i);
    if (c <= 0xFFFF) {
      s->u16_byte[n16] = at;
      s->u16[n16++] = (UChar)c;
    } else {
      s->u16_byte[n16] = at;
      s->u16[n16++] = U16_LEAD(c);
      s->u16_byte[n16] = at;
      s->u16[n16++] = U16_TRAIL(c);
    }
  }
  s->u16_byte[n16] = to;
  UErrorCode st = U_ZERO_ERROR;
  ubrk_setText(s->words, s->u16, n16, &st);
  if (U_FAILURE(st))
    return false;
  int32_t a = ubrk_first(s->words);
  for (int32_t b = ubrk_next(s->words); b != UBRK_DONE;
       a = b, b = ubrk_next(s->words)) {
    int32_t rule = ubrk_getRuleStatus(s->words);
    pm__token t = {.line = line};
    if (rule >= UBRK_WORD_NUMBER && rule < UBRK_WORD_LETTER) {
      t.kind = PM_TOK_NUMBER;
    } else if (rule >= UBRK_WORD_LETTER) {
      t.kind = PM_TOK_WORD;
    } else {
      /* Spaces and punctuation: every non-space character is a token. */
      for (int32_t k = a; k < b;) {
        UChar32 c;
        int32_t k0 = k;
        U16_NEXT(s->u16, k, b, c);
        if (u_isUWhiteSpace(c) || c == 0xFEFF || c == 0x200B)
          continue;
        pm__token p = {.start = s->u16_byte[k0],
                       .end = s->u16_byte[k],
                       .line = line,
                       .kind = PM_TOK_PUNCT};
        if (!push_tok(s, &p))
          return false;
      }
      continue;
    }
    t.start = s->u16_byte[a];
    t.end = s->u16_byte[b];
    if (!push_tok(s, &t))
      return false;
  }
  return true;
}

/* Copies the base form (7th field of the IPADIC feature string) of a
 * MeCab node into the base buffer. */
static bool keep_base(pm__segmenter *s, const mecab_node_t *nd, pm__token *t) {
  const char *f = nd->feature;
  for (int field = 0; field < 6 && f; field++) {
    f = strchr(f, ',');
    if (f)
      f++;
  }
  if (!f || *f == '*' || *f == '\0')
    return true;
  const char *e = strchr(f, ',');
  size_t n = e ? (size_t)(e - f) : strlen(f);
  if (n == 0 || n > 0xFFFF)
    return true;
  if (n == nd->length && memcmp(f, nd->surface, n) == 0)
    return true; /* same as the surface */
  if (!pm__grow((void **)&s->base, &s->base_cap, s->base_len + n + 1, 1))
    return false;
  memcpy(s->base + s->base_len, f, n);
  t->base_off = (uint32_t)s->base_len;
  t->base_len = (uint16_t)n;
  s->base_len += n;
  return true;
}

/* Runs MeCab over text[from, to) (a Japanese run of one line). */
static bool mecab_run(pm__segmenter *s, const char *text, uint32_t from,
                      uint32_t to, uint32_t line) {
  const mecab_node_t *nd =
      mecab_sparse_tonode2(s->mecab, text + from, (size_t)(to - from));
  if (!nd)
    return false;
  for (; nd; nd = nd->next) {
    if (nd->stat == MECAB_BOS_NODE || nd->stat == MECAB_EOS_NODE ||
        nd->length == 0)
      continue;
    pm__token t = {.line = line, .japanese = 1, .posid = nd->posid};
    t.start = (uint32_t)(nd->surface - text);
    t.end = t.start + nd->length;
    if (nd->posid >= PM_POS_KIGOU_FIRST && nd->posid <= PM_POS_KIGOU_LAST)
      t.kind = PM_TOK_PUNCT;
    else if (nd->posid == PM_POS_MEISHI_KAZU)
      t.kind = PM_TOK_NUMBER;
    else
      t.kind = PM_TOK_JA;
    if (t.kind == PM_TOK_JA && !keep_base(s, nd, &t))
      return false;
    if (t.kind == PM_TOK_PUNCT && t.end - t.start > 4) {
      /* MeCab joins runs of symbols (…… or ！？); split them per
       * character so that punctuation counts the same as in ICU runs. */
      int32_t k = (int32_t)t.start;
      while (k < (int32_t)t.end) {
        pm__token p = t;
        p.start = (uint32_t)k;
        next_cp(text, (int32_t)t.end, &k);
        p.end = (uint32_t)k;
        if (!push_tok(s, &p))
          return false;
      }
      continue;
    }
    if (!push_tok(s, &t))
      return false;
  }
  return true;
}

/* Splits one line into script runs and tokenises each. Common characters
 * join the run before them (or, at the start of a line, the one after). */
static bool line_runs(pm__segmenter *s, const char *text, uint32_t from,
                      uint32_t to, uint32_t line) {
  size_t need = (size_t)(to - from) + 1;
  if (!pm__grow((void **)&s->cls, &s->cls_cap, need, 1) ||
      !pm__grow((void **)&s->cp_off, &s->cp_off_cap, need, sizeof *s->cp_off))
    return false;
  size_t n = 0;
  int32_t i = (int32_t)from;
  while (i < (int32_t)to) {
    s->cp_off[n] = (uint32_t)i;
    s->cls[n++] = (uint8_t)pm__cp_classify(next_cp(text, (int32_t)to, &i));
  }
  s->cp_off[n] = to;
  uint8_t cur = PM_CP_COMMON;
  for (size_t k = 0; k < n; k++) {
    if (s->cls[k] == PM_CP_COMMON)
      s->cls[k] = cur;
    else
      cur = s->cls[k];
  }
  cur = PM_CP_OTHER;
  for (size_t k = n; k-- > 0;) {
    if (s->cls[k] == PM_CP_COMMON)
      s->cls[k] = cur;
    else
      cur = s->cls[k];
  }
  size_t a = 0;
  while (a < n) {
    size_t b = a + 1;
    while (b < n && s->cls[b] == s->cls[a])
      b++;
    bool ok = s->cls[a] == PM_CP_JAPANESE
                  ? mecab_run(s, text, s->cp_off[a], s->cp_off[b], line)
                  : icu_run(s, text, s->cp_off[a], s->cp_off[b], line);
    if (!ok)
      return false;
    a = b;
  }
  return true;
}

/* Any byte that can start a Japanese character (U+3000..U+9FFF: E3..E9;
 * half-width katakana U+FF61..: EF BD/BE). */
static bool may_have_japanese(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];
    if ((c >= 0xE3 && c <= 0xE9) || c == 0xEF)
      return true;
  }
  return false;
}

pm_status pm__segment(pm__segmenter *s, const char *text, size_t len,
                      const pm__token **toks, size_t *ntoks, pm_error *err) {
  s->ntoks = 0;
  s->base_len = 0;
  *toks = NULL;
  *ntoks = 0;
  if (len > UINT32_MAX / 2)
    return pm_error_set(err, PM_TOOBIG, "text too long to segment");
  bool ja = may_have_japanese(text, len);
  uint32_t line = 0, a = 0;
  for (uint32_t i = 0; i <= (uint32_t)len; i++) {
    if (i < len && text[i] != '\n')
      continue;
    if (i > a) {
      bool ok =
          ja ? line_runs(s, text, a, i, line) : icu_run(s, text, a, i, line);
      if (!ok)
        return pm_error_set(err, PM_NOMEM, "segmentation failed");
    }
    line++;
    a = i + 1;
  }
  *toks = s->toks;
  *ntoks = s->ntoks;
  return PM_OK;
}

const char *pm__token_base(const pm__segmenter *s, const char *text,
                           const pm__token *t, size_t *len) {
  if (t->base_len) {
    *len = t->base_len;
    return s->base + t->base_off;
  }
  *len = t->end - t->start;
  return text + t->start;
}

size_t pm__segment_bare_icu(pm__segmenter *s, const char *text, size_t len) {
  s->ntoks = 0;
  uint32_t line = 0, a = 0;
  for (uint32_t i = 0; i <= (uint32_t)len; i++) {
    if (i < len && text[i] != '\n')
      continue;
    if (i > a)
      icu_run(s, text, a, i, line);
    line++;
    a = i + 1;
  }
  return s->ntoks;
}

size_t pm__segment_bare_mecab(pm__segmenter *s, const char *text, size_t len) {
  size_t count = 0;
  uint32_t a = 0;
  for (uint32_t i = 0; i <= (uint32_t)len; i++) {
    if (i < len && text[i] != '\n')
      continue;
    if (i > a)
      for (const mecab_node_t *nd =
               mecab_sparse_tonode2(s->mecab, text + a, i - a);
           nd; nd = nd->next)
        count++;
    a = i + 1;
  }
  return count;
}
