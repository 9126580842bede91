/* The feature extractor: text -> code points, lines, tokens, sentences ->
 * hashed families and the named block. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <xxhash.h>

#include "common/buf.h"
#include "features/char_class.h"
#include "features/fctx.h"
#include "features/named.h"
#include "penmark/features.h"

/* Seeds keep the families' hash spaces apart. */
#define SEED_CHAR 0x63686172ULL
#define SEED_WORD 0x776f7264ULL
#define SEED_WORD2 0x776f7232ULL
#define SEED_SYNTAX 0x73796e74ULL
#define SEED_TYPED 0x74797065ULL

/* Two-level hashing. Features are first counted in a large table per
 * family (few collisions, so the square-root damping acts on single
 * n-grams), then folded with a random sign into the family's slice of the
 * vector, whose size the configuration sets. The fold keeps inner products
 * unbiased, and lets the profile model work in a compact space. */
static const uint32_t first_level_dim[PM_FAM__HASHED_COUNT] = {
    [PM_FAM_CHAR_NGRAMS] = 1u << 15,
    [PM_FAM_WORDS] = 1u << 14,
    [PM_FAM_SYNTAX] = 1u << 13,
    [PM_FAM_TYPED_NGRAMS] = 1u << 15,
    [PM_FAM_SURFACE] = 1u << 13};
#define SEED_FOLD 0x666f6c64ULL

/* Past this many bytes of own text, style is settled; the rest would only
 * cost time. Longer texts are cut at a line end before this point. */
#define MAX_TEXT_BYTES (256u * 1024u)

struct pm_extractor {
  const pm_config *cfg;
  pm__segmenter *seg;
  const pm__lexicon *lx;
  uint32_t *cp_off;
  size_t cp_cap;
  pm__line *lines;
  size_t lines_cap;
  pm__sentence *sents;
  size_t sents_cap;
  /* One hashed family at a time is counted densely: cell[i].count holds the
   * counts, cell[i].stamp == gen marks the slots in use (side by side: one
   * cache line per update), touched lists them in order. */
  struct acc_cell {
    uint32_t stamp;
    float count;
  } * cell;
  uint32_t *touched;
  uint32_t gen, acc_dim;
  size_t ntouched;
  /* the same for the folded slice */
  float *fold;
  uint32_t *fold_stamp, *fold_touched;
  uint32_t fold_gen, fold_dim;
  size_t nfold;
  /* per family, each first-level index's slot in the slice (low 31 bits)
   * and sign (top bit): the fold's hash, computed once */
  uint32_t *fold_map[PM_FAM__HASHED_COUNT];
  uint64_t *seq; /* the current line's syntax or word elements */
  size_t seq_cap;
  char *lower; /* a lower-cased token */
  size_t lower_cap;
  char *surf; /* the surface's text: greeting line, "\n", closing block */
  size_t surf_cap;
  uint8_t *cls; /* each code point's pm__char_class */
  size_t cls_cap;
};

struct pm_features {
  uint32_t dim;
  uint32_t *idx;
  float *val;
  size_t nnz, cap;
  float *named;
  size_t nnamed;
  pm_language lang;
  size_t own_chars, words;
  pm_layout_surface surface;
};

const char *pm_language_name(pm_language lang) {
  switch (lang) {
  case PM_LANG_EN:
    return "en";
  case PM_LANG_JA:
    return "ja";
  case PM_LANG_MIXED:
    return "mixed";
  default:
    return "other";
  }
}

uint32_t pm_config_vector_dim(const pm_config *cfg) {
  return pm_config_named_offset(cfg) + (uint32_t)pm_named_count();
}

pm_status pm_extractor_new(const pm_config *cfg, pm_extractor **out,
                           pm_error *err) {
  *out = NULL;
  if (pm_named_count() == 0)
    return pm_error_set(err, PM_DICT, "the shipped lexicons are missing");
  pm_extractor *x = calloc(1, sizeof *x);
  if (!x)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  x->cfg = cfg;
  x->lx = pm__lexicon_get();
  pm_status rc = pm__segmenter_new(pm_config_mecab_dicdir(cfg), &x->seg, err);
  if (rc != PM_OK) {
    pm_extractor_free(x);
    return rc;
  }
  uint32_t maxdim = 16, maxfold = 16;
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    uint32_t d = pm_config_hashed_dim(cfg, (pm_hashed_family)f);
    maxfold = d > maxfold ? d : maxfold;
    maxdim = first_level_dim[f] > maxdim ? first_level_dim[f] : maxdim;
  }
  x->acc_dim = maxdim;
  x->cell = calloc(maxdim, sizeof *x->cell);
  x->touched = malloc(maxdim * sizeof *x->touched);
  x->fold_dim = maxfold;
  x->fold = calloc(maxfold, sizeof *x->fold);
  x->fold_stamp = calloc(maxfold, sizeof *x->fold_stamp);
  x->fold_touched = malloc(maxfold * sizeof *x->fold_touched);
  if (!x->cell || !x->touched || !x->fold || !x->fold_stamp ||
      !x->fold_touched) {
    pm_extractor_free(x);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    uint32_t dim = pm_config_hashed_dim(cfg, (pm_hashed_family)f);
    if (dim == 0)
      continue;
    x->fold_map[f] = malloc(first_level_dim[f] * sizeof *x->fold_map[f]);
    if (!x->fold_map[f]) {
      pm_extractor_free(x);
      return pm_error_set(err, PM_NOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < first_level_dim[f]; i++) {
      unsigned char le[4] = {(unsigned char)i, (unsigned char)(i >> 8),
                             (unsigned char)(i >> 16),
                             (unsigned char)(i >> 24)};
      uint64_t h = XXH3_64bits_withSeed(le, 4, SEED_FOLD + (uint64_t)f);
      x->fold_map[f][i] = ((uint32_t)h & (dim - 1)) | (uint32_t)(h >> 63) << 31;
    }
  }
  *out = x;
  return PM_OK;
}

void pm_extractor_free(pm_extractor *x) {
  if (!x)
    return;
  pm__segmenter_free(x->seg);
  free(x->cp_off);
  free(x->lines);
  free(x->sents);
  free(x->cell);
  free(x->touched);
  free(x->fold);
  free(x->fold_stamp);
  free(x->fold_touched);
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++)
    free(x->fold_map[f]);
  free(x->seq);
  free(x->lower);
  free(x->surf);
  free(x->cls);
  free(x);
}

pm_features *pm_features_new(void) {
  return calloc(1, sizeof(pm_features));
}

void pm_features_free(pm_features *f) {
  if (!f)
    return;
  free(f->idx);
  free(f->val);
  free(f->named);
  free(f);
}

/* ---- dense counting of one hashed family ---- */

static void acc_begin(pm_extractor *x) {
  x->ntouched = 0;
  if (++x->gen == 0) { /* wrapped: clear the stamps once */
    memset(x->cell, 0, x->acc_dim * sizeof *x->cell);
    x->gen = 1;
  }
}

static inline void acc_add(pm_extractor *x, uint32_t i) {
  struct acc_cell *c = &x->cell[i];
  if (c->stamp != x->gen) {
    c->stamp = x->gen;
    c->count = 0.0f;
    x->touched[x->ntouched++] = i;
  }
  c->count += 1.0f;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

/* idx and val always have room for cap entries. */
static bool features_reserve(pm_features *f, size_t need) {
  if (need <= f->cap)
    return true;
  size_t c = f->cap ? f->cap : 1024;
  while (c < need)
    c *= 2;
  uint32_t *ni = realloc(f->idx, c * sizeof *ni);
  if (!ni)
    return false;
  f->idx = ni;
  float *nv = realloc(f->val, c * sizeof *nv);
  if (!nv)
    return false;
  f->val = nv;
  f->cap = c;
  return true;
}

/* Square-root damping of the counts (sqrt is correctly rounded everywhere,
 * so vectors match across machines), L2 normalisation and the family
 * weight in the first-level table; then the fold into the family's slice
 * (dim slots, at offset), entries in ascending order. */
static bool acc_flush(pm_extractor *x, pm_features *f, pm_hashed_family fam,
                      uint32_t offset, uint32_t dim, float weight) {
  if (x->ntouched == 0)
    return true;
  /* sums run in insertion order: fixed by the text, so deterministic */
  double norm2 = 0.0;
  for (size_t k = 0; k < x->ntouched; k++) {
    uint32_t i = x->touched[k];
    float v = sqrtf(x->cell[i].count);
    x->cell[i].count = v;
    norm2 += (double)v * v;
  }
  float scale = (float)((double)weight / sqrt(norm2));
  if (++x->fold_gen == 0) {
    memset(x->fold_stamp, 0, x->fold_dim * sizeof *x->fold_stamp);
    x->fold_gen = 1;
  }
  x->nfold = 0;
  const uint32_t *map = x->fold_map[fam];
  for (size_t k = 0; k < x->ntouched; k++) {
    uint32_t i = x->touched[k];
    uint32_t slot = map[i] & 0x7fffffffu;
    float v = x->cell[i].count * scale;
    if (map[i] >> 31)
      v = -v;
    if (x->fold_stamp[slot] != x->fold_gen) {
      x->fold_stamp[slot] = x->fold_gen;
      x->fold[slot] = 0.0f;
      x->fold_touched[x->nfold++] = slot;
    }
    x->fold[slot] += v;
  }
  if (!features_reserve(f, f->nnz + x->nfold))
    return false;
  /* ascending order: a scan of the slice when it is well filled, a sort of
   * the few slots otherwise */
  if ((size_t)x->nfold * 16 >= dim) {
    x->nfold = 0;
    for (uint32_t slot = 0; slot < dim; slot++)
      if (x->fold_stamp[slot] == x->fold_gen)
        x->fold_touched[x->nfold++] = slot;
  } else {
    qsort(x->fold_touched, x->nfold, sizeof *x->fold_touched, cmp_u32);
  }
  for (size_t k = 0; k < x->nfold; k++) {
    uint32_t slot = x->fold_touched[k];
    if (x->fold[slot] == 0.0f)
      continue; /* opposite signs cancelled */
    f->idx[f->nnz] = offset + slot;
    f->val[f->nnz++] = x->fold[slot];
  }
  return true;
}

/* Little-endian serialisation, so that hashes of number sequences are the
 * same on every machine. */
static uint64_t hash_ids(const uint64_t *ids, size_t n, uint64_t seed) {
  unsigned char buf[8 * 8];
  for (size_t i = 0; i < n; i++)
    for (int b = 0; b < 8; b++)
      buf[i * 8 + (size_t)b] = (unsigned char)(ids[i] >> (8 * b));
  return XXH3_64bits_withSeed(buf, n * 8, seed);
}

/* ---- character n-grams ---- */

static void char_ngrams(pm_extractor *x, const pm__fctx *c,
                        pm_hashed_family fam) {
  uint32_t dim = first_level_dim[fam];
  int lo = pm_config_hashed_min_n(x->cfg, fam);
  int hi = pm_config_hashed_max_n(x->cfg, fam);
  uint32_t mask = dim - 1;
  for (size_t i = 0; i < c->ncp; i++)
    for (int n = lo; n <= hi && i + (size_t)n <= c->ncp; n++) {
      uint32_t a = c->cp_off[i], b = c->cp_off[i + (size_t)n];
      uint64_t h = XXH3_64bits_withSeed(c->text + a, b - a, SEED_CHAR);
      acc_add(x, (uint32_t)h & mask);
    }
}

/* ---- typed character n-grams ---- */

/* An n-gram's type: whether a run of its first character's class starts
 * with it, and whether one of its last character's class ends with it.
 * For letters these are Sapkota et al.'s prefix, suffix, whole-word and
 * mid-word n-grams; for n-grams over a space or a punctuation mark, the
 * type tells what they touch. Japanese script runs (a kanji stem, its kana
 * ending, a particle) play the part of the words. */
static bool typed_ngrams(pm_extractor *x, const pm__fctx *c) {
  if (!pm__grow((void **)&x->cls, &x->cls_cap, c->ncp + 1, 1))
    return false;
  for (size_t i = 0; i < c->ncp; i++)
    x->cls[i] = (uint8_t)pm__char_class_of(c->text + c->cp_off[i],
                                           c->cp_off[i + 1] - c->cp_off[i]);
  uint32_t mask = first_level_dim[PM_FAM_TYPED_NGRAMS] - 1;
  int lo = pm_config_hashed_min_n(x->cfg, PM_FAM_TYPED_NGRAMS);
  int hi = pm_config_hashed_max_n(x->cfg, PM_FAM_TYPED_NGRAMS);
  for (size_t i = 0; i < c->ncp; i++) {
    bool starts = i == 0 || x->cls[i - 1] != x->cls[i];
    for (int n = lo; n <= hi && i + (size_t)n <= c->ncp; n++) {
      size_t j = i + (size_t)n; /* one past the last */
      bool ends = j == c->ncp || x->cls[j] != x->cls[j - 1];
      uint64_t type = (uint64_t)starts | (uint64_t)ends << 1;
      uint32_t a = c->cp_off[i], b = c->cp_off[j];
      uint64_t h =
          XXH3_64bits_withSeed(c->text + a, b - a, SEED_TYPED + 0x9e37 * type);
      acc_add(x, (uint32_t)h & mask);
    }
  }
  return true;
}

/* ---- words ---- */

/* A token's word key (*out): lower-cased letters (ASCII folding; other
 * scripts as written), numbers as one symbol, punctuation as itself. False
 * when out of memory: the key of the word as written would be another
 * feature, not this one. */
static bool word_key(pm_extractor *x, const pm__fctx *c, const pm__token *t,
                     uint64_t *out) {
  if (t->kind == PM_TOK_NUMBER) {
    *out = 0x6e756d6265720aULL;
    return true;
  }
  size_t n = t->end - t->start;
  const char *s = c->text + t->start;
  if (t->kind == PM_TOK_WORD) {
    if (!pm__grow((void **)&x->lower, &x->lower_cap, n + 1, 1))
      return false;
    for (size_t i = 0; i < n; i++) {
      char ch = s[i];
      x->lower[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    s = x->lower;
  }
  *out = XXH3_64bits_withSeed(s, n, SEED_WORD);
  return true;
}

static bool words(pm_extractor *x, const pm__fctx *c) {
  uint32_t mask = first_level_dim[PM_FAM_WORDS] - 1;
  int lo = pm_config_hashed_min_n(x->cfg, PM_FAM_WORDS);
  int hi = pm_config_hashed_max_n(x->cfg, PM_FAM_WORDS);
  size_t k = 0;
  while (k < c->ntoks) {
    /* one line at a time: n-grams do not cross line ends */
    size_t e = k;
    while (e < c->ntoks && c->toks[e].line == c->toks[k].line)
      e++;
    if (!pm__grow((void **)&x->seq, &x->seq_cap, e - k, sizeof *x->seq))
      return false;
    for (size_t i = k; i < e; i++)
      if (!word_key(x, c, &c->toks[i], &x->seq[i - k]))
        return false;
    size_t n_line = e - k;
    for (size_t i = 0; i < n_line; i++)
      for (int n = lo; n <= hi && i + (size_t)n <= n_line; n++) {
        uint64_t h =
            n == 1 ? x->seq[i] : hash_ids(x->seq + i, (size_t)n, SEED_WORD2);
        acc_add(x, (uint32_t)h & mask);
      }
    k = e;
  }
  return true;
}

/* ---- syntax: POS n-grams (Japanese), function-word skeleton (English) ---- */

enum {
  SHAPE_LOWER = 1,
  SHAPE_CAPITAL,
  SHAPE_UPPER,
  SHAPE_MIXED,
  SHAPE_NUMBER,
  SHAPE_LINE_START,
  SHAPE_POS_BASE = 0x100
};

/* Content words become their shape or part of speech, function words and
 * punctuation stay themselves: the n-grams see how sentences are built,
 * not what they are about. */
static uint64_t syntax_key(pm_extractor *x, const pm__fctx *c,
                           const pm__token *t) {
  const char *s = c->text + t->start;
  size_t n = t->end - t->start;
  switch (t->kind) {
  case PM_TOK_NUMBER:
    return SHAPE_NUMBER;
  case PM_TOK_PUNCT:
    return XXH3_64bits_withSeed(s, n, SEED_SYNTAX);
  case PM_TOK_JA:
    if ((t->posid >= PM_POS_JOSHI_FIRST && t->posid <= PM_POS_JODOUSHI) ||
        pm__lexicon_ja_fw(c->lx, s, n) >= 0)
      return XXH3_64bits_withSeed(s, n, SEED_SYNTAX);
    return SHAPE_POS_BASE + t->posid;
  default:
    break;
  }
  size_t upper = 0, lower = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    upper += ch >= 'A' && ch <= 'Z';
    lower += ch >= 'a' && ch <= 'z';
  }
  if (n <= 12 && pm__grow((void **)&x->lower, &x->lower_cap, n + 1, 1)) {
    for (size_t i = 0; i < n; i++)
      x->lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    if (pm__lexicon_en_fw(c->lx, x->lower, n) >= 0)
      return XXH3_64bits_withSeed(x->lower, n, SEED_SYNTAX);
  }
  if (upper == 0)
    return SHAPE_LOWER;
  if (lower == 0)
    return n > 1 ? SHAPE_UPPER : SHAPE_CAPITAL;
  bool cap = s[0] >= 'A' && s[0] <= 'Z' && upper == 1;
  return cap ? SHAPE_CAPITAL : SHAPE_MIXED;
}

static bool syntax(pm_extractor *x, const pm__fctx *c) {
  uint32_t mask = first_level_dim[PM_FAM_SYNTAX] - 1;
  int lo = pm_config_hashed_min_n(x->cfg, PM_FAM_SYNTAX);
  int hi = pm_config_hashed_max_n(x->cfg, PM_FAM_SYNTAX);
  size_t k = 0;
  while (k < c->ntoks) {
    size_t e = k;
    while (e < c->ntoks && c->toks[e].line == c->toks[k].line)
      e++;
    if (!pm__grow((void **)&x->seq, &x->seq_cap, e - k + 1, sizeof *x->seq))
      return false;
    x->seq[0] = SHAPE_LINE_START;
    for (size_t i = k; i < e; i++)
      x->seq[i - k + 1] = syntax_key(x, c, &c->toks[i]);
    size_t n_line = e - k + 1;
    for (size_t i = 0; i < n_line; i++)
      for (int n = lo; n <= hi && i + (size_t)n <= n_line; n++) {
        if (n == 1 && i == 0)
          continue; /* the line-start mark alone says nothing */
        uint64_t h = hash_ids(x->seq + i, (size_t)n, SEED_SYNTAX);
        acc_add(x, (uint32_t)h & mask);
      }
    k = e;
  }
  return true;
}

/* ---- text structure: code points, lines, sentences ---- */

static bool index_text(pm_extractor *x, pm__fctx *c) {
  if (!pm__grow((void **)&x->cp_off, &x->cp_cap, c->len + 1, sizeof *x->cp_off))
    return false;
  size_t n = 0, nlines = 0;
  int32_t i = 0, len = (int32_t)c->len;
  uint32_t line_start = 0, line_chars = 0;
  bool blank = true;
  while (i < len) {
    x->cp_off[n++] = (uint32_t)i;
    int32_t at = i;
    UChar32 cp;
    U8_NEXT((const uint8_t *)c->text, i, len, cp);
    if (cp == '\n') {
      if (!pm__grow((void **)&x->lines, &x->lines_cap, nlines + 1,
                    sizeof *x->lines))
        return false;
      x->lines[nlines++] =
          (pm__line){line_start, (uint32_t)at, line_chars, blank};
      line_start = (uint32_t)i;
      line_chars = 0;
      blank = true;
      continue;
    }
    line_chars++;
    if (cp != ' ' && cp != '\t' && cp != '\r' && cp != 0x3000 && cp != 0xA0)
      blank = false;
  }
  x->cp_off[n] = (uint32_t)c->len;
  if (line_start < c->len || nlines == 0) {
    if (!pm__grow((void **)&x->lines, &x->lines_cap, nlines + 1,
                  sizeof *x->lines))
      return false;
    x->lines[nlines++] =
        (pm__line){line_start, (uint32_t)c->len, line_chars, blank};
  }
  c->cp_off = x->cp_off;
  c->ncp = n;
  c->lines = x->lines;
  c->nlines = nlines;
  return true;
}

static uint8_t terminal_mark(const pm__fctx *c, const pm__token *t) {
  if (t->kind != PM_TOK_PUNCT)
    return 0;
  const char *s = c->text + t->start;
  size_t n = t->end - t->start;
  if (n == 1)
    return (*s == '.' || *s == '!' || *s == '?') ? (uint8_t)*s : 0;
  if (n == 3) {
    if (!memcmp(s, "。", 3) || !memcmp(s, "．", 3) || !memcmp(s, "…", 3))
      return '.';
    if (!memcmp(s, "！", 3))
      return '!';
    if (!memcmp(s, "？", 3))
      return '?';
  }
  return 0;
}

/* Sentences end at a final mark (the last of a run such as "?!"), at a
 * blank line, and at a line end when the line is short (a deliberate break,
 * not wrapping). */
static bool split_sentences(pm_extractor *x, pm__fctx *c) {
  size_t ns = 0, start = 0;
  bool ja = false;
  for (size_t k = 0; k < c->ntoks; k++) {
    const pm__token *t = &c->toks[k];
    ja |= t->japanese && t->kind == PM_TOK_JA;
    uint8_t mark = terminal_mark(c, t);
    bool end = false;
    if (mark) {
      end = k + 1 == c->ntoks || !terminal_mark(c, &c->toks[k + 1]);
    } else if (k + 1 == c->ntoks) {
      end = true;
    } else if (c->toks[k + 1].line != t->line) {
      const pm__line *ln = &c->lines[t->line];
      bool next_blank = t->line + 1 < c->nlines && c->lines[t->line + 1].blank;
      end = next_blank || ln->chars < 60 || ja;
    }
    if (!end)
      continue;
    if (!pm__grow((void **)&x->sents, &x->sents_cap, ns + 1, sizeof *x->sents))
      return false;
    /* a run of marks ("?!", "...") ends the sentence with its first mark */
    size_t m = k;
    while (mark && m > start && terminal_mark(c, &c->toks[m - 1]))
      m--;
    x->sents[ns++] =
        (pm__sentence){(uint32_t)start, (uint32_t)(k + 1),
                       mark ? terminal_mark(c, &c->toks[m]) : 0, ja};
    start = k + 1;
    ja = false;
  }
  c->sents = x->sents;
  c->nsents = ns;
  return true;
}

/* The character pass: script and case counts for the named features and the
 * language. */
static void count_chars(pm__fctx *c) {
  for (size_t i = 0; i < c->ncp; i++) {
    int32_t at = (int32_t)c->cp_off[i];
    UChar32 cp;
    U8_NEXT((const uint8_t *)c->text, at, (int32_t)c->len, cp);
    if (cp < 0x80) {
      if (cp > ' ')
        c->nonspace++;
      if (cp >= 'A' && cp <= 'Z') {
        c->upper++;
        c->letters++;
        c->latin++;
      } else if (cp >= 'a' && cp <= 'z') {
        c->letters++;
        c->latin++;
      } else if (cp >= '0' && cp <= '9') {
        c->digits++;
      }
      continue;
    }
    if (cp == 0x3000 || cp == 0xA0)
      continue;
    c->nonspace++;
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        cp == 0x3005) {
      c->kanji++;
      c->letters++;
    } else if (cp >= 0x3041 && cp <= 0x309F) {
      c->hiragana++;
      c->letters++;
    } else if ((cp >= 0x30A0 && cp <= 0x30FF) ||
               (cp >= 0xFF66 && cp <= 0xFF9D)) {
      c->katakana++;
      c->letters++;
    } else if (cp >= 0xFF10 && cp <= 0xFF19) {
      c->digits++;
    } else if ((cp >= 0xC0 && cp <= 0x24F) || (cp >= 0xFF21 && cp <= 0xFF5A)) {
      c->letters++;
      c->latin++;
      if (u_isupper(cp))
        c->upper++;
    } else if (u_isalpha(cp)) {
      c->letters++;
    }
  }
}

static pm_language detect_language(const pm__fctx *c) {
  /* A Japanese character carries about as much text as two Latin letters:
   * weigh it so, or a Japanese sentence with a few English words would
   * count as English. */
  size_t ja = 2 * (c->kanji + c->hiragana + c->katakana);
  size_t total = c->letters + ja / 2;
  if (total == 0)
    return PM_LANG_OTHER;
  double fja = (double)ja / (double)total;
  double flat = (double)c->latin / (double)total;
  if (fja >= 0.6)
    return PM_LANG_JA;
  if (fja >= 0.15 && flat >= 0.15)
    return PM_LANG_MIXED;
  if (flat >= 0.8) {
    /* Latin letters: English when its function words are common enough */
    size_t base = pm__named_en_fw_base(), nfw = c->lx->n_en_fw;
    double fw = 0.0;
    for (size_t i = 0; i < nfw; i++)
      fw += c->named[base + i];
    if (c->words < 4 || fw >= 15.0) /* per 100 words */
      return PM_LANG_EN;
  }
  return PM_LANG_OTHER;
}

/* A greeting that opens a longer line ("Hi Tom, can you send...") is the
 * line's first clause: up to its first comma, colon, exclamation mark or
 * Japanese comma or full stop, within the first 48 bytes; otherwise its
 * first two words. The rest of the line is the sender's own writing. */
static size_t inline_greeting_end(const char *text, size_t start, size_t end) {
  size_t limit = end - start > 48 ? start + 48 : end;
  for (size_t i = start; i < limit; i++) {
    unsigned char ch = (unsigned char)text[i];
    if (ch == ',' || ch == ':' || ch == '!') {
      while (i + 1 < end && text[i + 1] == (char)ch)
        i++; /* "Hey team!!" keeps its run */
      return i + 1;
    }
    if (i + 3 <= end && (!memcmp(text + i, "\xe3\x80\x81", 3) ||
                         !memcmp(text + i, "\xe3\x80\x82", 3)))
      return i + 3;
  }
  size_t i = start, words = 0;
  while (i < end && words < 2) {
    while (i < end && text[i] == ' ')
      i++;
    while (i < end && text[i] != ' ')
      i++;
    words++;
  }
  return i;
}

/* The byte ranges of the greeting line and the closing block that the
 * layout features read; the block runs to the end of the text. */
static void surface_of(const pm__fctx *c, pm_layout_surface *s) {
  memset(s, 0, sizeof *s);
  if (c->greet_line < c->nlines) {
    s->has_greeting = true;
    s->greeting_start = c->lines[c->greet_line].start;
    s->greeting_end = c->lines[c->greet_line].end;
    if (c->named[PM_NF_GREETING_OWN_LINE] == 0.0f)
      s->greeting_end =
          inline_greeting_end(c->text, s->greeting_start, s->greeting_end);
  }
  if (c->close_line < c->nlines &&
      (!s->has_greeting || c->close_line > c->greet_line)) {
    s->has_closing = true;
    s->closing_start = c->lines[c->close_line].start;
    size_t e = c->len;
    while (e > s->closing_start &&
           (c->text[e - 1] == '\n' || c->text[e - 1] == '\r' ||
            c->text[e - 1] == ' ' || c->text[e - 1] == '\t'))
      e--;
    s->closing_end = e;
  }
}

/* The body: the text between the greeting line and the closing block,
 * without the blank lines around it. Anything above the greeting (a
 * Japanese addressee block) is surface too. The style families read the
 * body only, because an attacker copies the surface for free. */
static void body_of(const char *text, size_t len, const pm_layout_surface *s,
                    size_t *start, size_t *end) {
  size_t a = s->has_greeting ? s->greeting_end : 0;
  size_t b = s->has_closing ? s->closing_start : len;
  while (a < b && (text[a] == '\n' || text[a] == '\r' || text[a] == ' ' ||
                   text[a] == '\t'))
    a++;
  /* back to the start of the first line, to keep its indentation */
  while (a > 0 && a <= b && (text[a - 1] == ' ' || text[a - 1] == '\t'))
    a--;
  while (b > a && (text[b - 1] == '\n' || text[b - 1] == '\r' ||
                   text[b - 1] == ' ' || text[b - 1] == '\t'))
    b--;
  *start = a;
  *end = b;
}

/* The hashed families of the body, in their fixed order. */
static pm_status hashed_families(pm_extractor *x, const pm__fctx *c,
                                 pm_features *f, pm_error *err) {
  static const pm_hashed_family order[] = {PM_FAM_CHAR_NGRAMS, PM_FAM_WORDS,
                                           PM_FAM_SYNTAX, PM_FAM_TYPED_NGRAMS};
  for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
    pm_hashed_family fam = order[k];
    if (!pm_config_hashed_enabled(x->cfg, fam))
      continue;
    acc_begin(x);
    bool ok = true;
    if (fam == PM_FAM_CHAR_NGRAMS)
      char_ngrams(x, c, fam);
    else if (fam == PM_FAM_WORDS)
      ok = words(x, c);
    else if (fam == PM_FAM_SYNTAX)
      ok = syntax(x, c);
    else
      ok = typed_ngrams(x, c);
    if (!ok || !acc_flush(x, f, fam, pm_config_hashed_offset(x->cfg, fam),
                          pm_config_hashed_dim(x->cfg, fam),
                          pm_config_hashed_weight(x->cfg, fam)))
      return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  return PM_OK;
}

/* The surface family: character n-grams of the greeting line and the
 * closing block. Run last: it re-indexes the extractor's line buffers. */
static pm_status surface_family(pm_extractor *x, const char *text,
                                const pm_layout_surface *s, pm_features *f,
                                pm_error *err) {
  if (!pm_config_hashed_enabled(x->cfg, PM_FAM_SURFACE))
    return PM_OK;
  size_t g = s->has_greeting ? s->greeting_end - s->greeting_start : 0;
  size_t k = s->has_closing ? s->closing_end - s->closing_start : 0;
  if (g + k == 0)
    return PM_OK;
  if (!pm__grow((void **)&x->surf, &x->surf_cap, g + k + 1, 1))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  if (g)
    memcpy(x->surf, text + s->greeting_start, g);
  x->surf[g] = '\n';
  if (k)
    memcpy(x->surf + g + 1, text + s->closing_start, k);
  pm__fctx c = {.text = x->surf, .len = g + 1 + k, .lx = x->lx, .cfg = x->cfg};
  if (!index_text(x, &c))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  acc_begin(x);
  char_ngrams(x, &c, PM_FAM_SURFACE);
  if (!acc_flush(x, f, PM_FAM_SURFACE,
                 pm_config_hashed_offset(x->cfg, PM_FAM_SURFACE),
                 pm_config_hashed_dim(x->cfg, PM_FAM_SURFACE),
                 pm_config_hashed_weight(x->cfg, PM_FAM_SURFACE)))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

/* Past MAX_TEXT_BYTES, the text is cut at a line end (never inside a
 * character). */
static size_t capped_length(const char *text, size_t len) {
  if (len <= MAX_TEXT_BYTES)
    return len;
  size_t cut = MAX_TEXT_BYTES;
  while (cut > 0 && text[cut - 1] != '\n')
    cut--;
  len = cut ? cut : MAX_TEXT_BYTES;
  while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
    len--;
  return len;
}

pm_status pm_extract_text(pm_extractor *x, const char *text, size_t len,
                          pm_features *f, pm_error *err) {
  size_t nn = pm_named_count();
  f->nnz = 0;
  f->dim = pm_config_vector_dim(x->cfg);
  if (f->nnamed != nn) {
    float *p = realloc(f->named, (nn ? nn : 1) * sizeof *f->named);
    if (!p)
      return pm_error_set(err, PM_NOMEM, "out of memory");
    f->named = p;
    f->nnamed = nn;
  }
  memset(f->named, 0, nn * sizeof *f->named);
  len = capped_length(text, len);
  /* first the surface, on the whole text: only its lines are needed */
  pm__fctx whole = {
      .text = text, .len = len, .lx = x->lx, .cfg = x->cfg, .named = f->named};
  if (!index_text(x, &whole))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm__named_surface(&whole);
  surface_of(&whole, &f->surface);
  size_t b0, b1;
  body_of(text, len, &f->surface, &b0, &b1);

  pm__fctx c = {.text = text + b0,
                .len = b1 - b0,
                .lx = x->lx,
                .cfg = x->cfg,
                .named = f->named};
  c.seg = x->seg;
  if (!index_text(x, &c))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = pm__segment(x->seg, c.text, c.len, &c.toks, &c.ntoks, err);
  if (rc != PM_OK)
    return rc;
  if (!split_sentences(x, &c))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  count_chars(&c);
  for (size_t k = 0; k < c.ntoks; k++) {
    c.words += c.toks[k].kind == PM_TOK_WORD;
    c.ja_morphemes += c.toks[k].kind == PM_TOK_JA;
  }
  rc = hashed_families(x, &c, f, err);
  if (rc != PM_OK)
    return rc;

  /* The function words are always counted: language detection reads them;
   * a family switched off is zeroed afterwards. */
  pm__named_function_words(&c);
  pm__named_lines(&c);
  pm__named_punctuation(&c);
  pm__named_case_lengths(&c);
  pm__named_japanese(&c);
  f->lang = detect_language(&c);
  for (size_t i = 0; i < nn; i++)
    if (!pm_config_named_enabled(x->cfg, pm_named_family_of(i)))
      f->named[i] = 0.0f;
  f->own_chars = c.ncp;
  f->words = c.words + c.ja_morphemes;
  return surface_family(x, text, &f->surface, f, err);
}

pm_status pm_extract_mail(pm_extractor *x, const pm_mail *mail,
                          pm_features *out, pm_error *err) {
  size_t len;
  const char *text = pm_mail_own_text(mail, &len);
  return pm_extract_text(x, text, len, out, err);
}

uint32_t pm_features_dim(const pm_features *f) {
  return f->dim;
}
size_t pm_features_nnz(const pm_features *f) {
  return f->nnz;
}
const uint32_t *pm_features_indices(const pm_features *f) {
  return f->idx;
}
const float *pm_features_values(const pm_features *f) {
  return f->val;
}
const float *pm_features_named(const pm_features *f) {
  return f->named;
}
pm_language pm_features_language(const pm_features *f) {
  return f->lang;
}
size_t pm_features_own_chars(const pm_features *f) {
  return f->own_chars;
}
size_t pm_features_words(const pm_features *f) {
  return f->words;
}
void pm_features_surface(const pm_features *f, pm_layout_surface *out) {
  *out = f->surface;
}

void pm_features_to_dense(const pm_features *f, float *out) {
  memset(out, 0, f->dim * sizeof *out);
  for (size_t k = 0; k < f->nnz; k++)
    out[f->idx[k]] = f->val[k];
  uint32_t off = f->dim - (uint32_t)f->nnamed;
  memcpy(out + off, f->named, f->nnamed * sizeof *out);
}
