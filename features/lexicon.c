/* The shipped lexicons, parsed once from the embedded data files. */
#include "features/lexicon.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "common/embedded.h"

/* Open-addressing table from a word's hash to its index; sized to stay under
 * half full. */
typedef struct {
  uint64_t *keys;
  int32_t *vals;
  const char **words;
  size_t mask;
} word_table;

static pm__lexicon lexicon;
static word_table en_table, ja_table;
static char *storage[6]; /* the copied files, owning every string */
static bool loaded_ok;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint64_t word_hash(const char *w, size_t n) {
  return XXH3_64bits(w, n);
}

static bool table_build(word_table *t, const char **words, size_t n) {
  size_t cap = 16;
  while (cap < n * 2 + 1)
    cap *= 2;
  t->keys = calloc(cap, sizeof *t->keys);
  t->vals = malloc(cap * sizeof *t->vals);
  if (!t->keys || !t->vals)
    return false;
  t->mask = cap - 1;
  t->words = words;
  for (size_t i = 0; i < cap; i++)
    t->vals[i] = -1;
  for (size_t i = 0; i < n; i++) {
    uint64_t h = word_hash(words[i], strlen(words[i]));
    size_t j = h & t->mask;
    while (t->vals[j] >= 0 && t->keys[j] != h)
      j = (j + 1) & t->mask;
    if (t->vals[j] < 0) { /* the first of two equal entries keeps its index */
      t->keys[j] = h;
      t->vals[j] = (int32_t)i;
    }
  }
  return true;
}

static int table_find(const word_table *t, const char *w, size_t n) {
  if (!t->keys)
    return -1;
  uint64_t h = word_hash(w, n);
  size_t j = h & t->mask;
  while (t->vals[j] >= 0) {
    const char *w2 = t->words[t->vals[j]];
    if (t->keys[j] == h && strncmp(w2, w, n) == 0 && w2[n] == '\0')
      return t->vals[j];
    j = (j + 1) & t->mask;
  }
  return -1;
}

/* Copies an embedded file into writable storage and splits it into its
 * non-empty, non-comment lines (NUL-terminated in place). */
static char **split_lines(const char *name, int slot, size_t *n_out,
                          uint64_t *hash) {
  size_t len;
  const unsigned char *data = pm__embedded(name, &len);
  *n_out = 0;
  if (!data)
    return NULL;
  *hash = XXH64(data, len, *hash);
  char *copy = malloc(len + 1);
  if (!copy)
    return NULL;
  memcpy(copy, data, len + 1);
  storage[slot] = copy;
  size_t cap = 16, n = 0;
  char **lines = malloc(cap * sizeof *lines);
  if (!lines)
    return NULL;
  for (char *p = copy; *p;) {
    char *e = strchr(p, '\n');
    if (e)
      *e = '\0';
    size_t l = strlen(p);
    while (l && (p[l - 1] == '\r' || p[l - 1] == ' '))
      p[--l] = '\0';
    if (l && p[0] != '#') {
      if (n == cap) {
        char **nl = realloc(lines, cap * 2 * sizeof *lines);
        if (!nl) {
          free(lines);
          return NULL;
        }
        lines = nl;
        cap *= 2;
      }
      lines[n++] = p;
    }
    if (!e)
      break;
    p = e + 1;
  }
  *n_out = n;
  return lines;
}

static bool load_words(const char *name, int slot, const char ***out,
                       size_t *n) {
  char **lines = split_lines(name, slot, n, &lexicon.hash);
  *out = (const char **)lines;
  return lines != NULL;
}

/* category<TAB>phrase lines; longest phrases first, so that the first match
 * is the most specific one. */
static int by_length_desc(const void *a, const void *b) {
  const pm__phrase *x = a, *y = b;
  if (x->len != y->len)
    return x->len < y->len ? 1 : -1;
  return strcmp(x->phrase, y->phrase);
}

static bool load_phrases(const char *name, int slot, const pm__phrase **out,
                         size_t *n) {
  size_t nl;
  char **lines = split_lines(name, slot, &nl, &lexicon.hash);
  if (!lines)
    return false;
  pm__phrase *ph = calloc(nl ? nl : 1, sizeof *ph);
  if (!ph) {
    free(lines);
    return false;
  }
  size_t k = 0;
  for (size_t i = 0; i < nl; i++) {
    char *tab = strchr(lines[i], '\t');
    if (!tab)
      continue;
    *tab = '\0';
    ph[k].category = lines[i];
    ph[k].phrase = tab + 1;
    ph[k].len = strlen(tab + 1);
    k++;
  }
  free(lines);
  qsort(ph, k, sizeof *ph, by_length_desc);
  *out = ph;
  *n = k;
  return true;
}

static void load(void) {
  lexicon.hash = 0x6c657869636f6eULL;
  loaded_ok = load_words("en_function_words.txt", 0, &lexicon.en_fw,
                         &lexicon.n_en_fw) &&
              load_words("ja_function_words.txt", 1, &lexicon.ja_fw,
                         &lexicon.n_ja_fw) &&
              load_phrases("en_greetings.txt", 2, &lexicon.en_greet,
                           &lexicon.n_en_greet) &&
              load_phrases("en_signoffs.txt", 3, &lexicon.en_signoff,
                           &lexicon.n_en_signoff) &&
              load_phrases("ja_greetings.txt", 4, &lexicon.ja_greet,
                           &lexicon.n_ja_greet) &&
              load_phrases("ja_signoffs.txt", 5, &lexicon.ja_signoff,
                           &lexicon.n_ja_signoff) &&
              table_build(&en_table, lexicon.en_fw, lexicon.n_en_fw) &&
              table_build(&ja_table, lexicon.ja_fw, lexicon.n_ja_fw);
}

const pm__lexicon *pm__lexicon_get(void) {
  pthread_once(&once, load);
  return loaded_ok ? &lexicon : NULL;
}

int pm__lexicon_en_fw(const pm__lexicon *lx, const char *word, size_t len) {
  (void)lx;
  return table_find(&en_table, word, len);
}

int pm__lexicon_ja_fw(const pm__lexicon *lx, const char *surface, size_t len) {
  (void)lx;
  return table_find(&ja_table, surface, len);
}

void pm__lexicon_release(void) {
  free(lexicon.en_fw);
  free(lexicon.ja_fw);
  free((void *)lexicon.en_greet);
  free((void *)lexicon.en_signoff);
  free((void *)lexicon.ja_greet);
  free((void *)lexicon.ja_signoff);
  free(en_table.keys);
  free(en_table.vals);
  free(ja_table.keys);
  free(ja_table.vals);
  for (int i = 0; i < 6; i++)
    free(storage[i]);
  memset(&lexicon, 0, sizeof lexicon);
  memset(&en_table, 0, sizeof en_table);
  memset(&ja_table, 0, sizeof ja_table);
  memset(storage, 0, sizeof storage);
  loaded_ok = false;
}
