/* The shipped lexicons (the files of data/lexicon, compiled into the library):
 * function words, greeting and sign-off forms. Loaded once per process,
 * immutable afterwards, shared by every extractor. */
#ifndef PM_FEATURES_LEXICON_H
#define PM_FEATURES_LEXICON_H

#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

/* A phrase with the category it stands for (greetings, sign-offs). */
typedef struct {
  const char *category; /* e.g. "hi", "ja_otsukare" */
  const char *phrase;   /* lower case (English) or as written (Japanese) */
  size_t len;
} pm__phrase;

typedef struct {
  const char **en_fw; /* English function words, in file order */
  size_t n_en_fw;
  const char **ja_fw; /* Japanese particles and auxiliaries */
  size_t n_ja_fw;
  const pm__phrase *en_greet, *en_signoff, *ja_greet, *ja_signoff;
  size_t n_en_greet, n_en_signoff, n_ja_greet, n_ja_signoff;
  uint64_t hash; /* of all lexicon bytes: part of the configuration hash */
} pm__lexicon;

/* The lexicon, loaded on first call (thread-safe). NULL only when the
 * embedded data is missing or memory ran out; the pointer is valid for the
 * life of the process. */
const pm__lexicon *pm__lexicon_get(void);

/* Index of `word` (len bytes, already lower-cased) among the English function
 * words, or -1. */
int pm__lexicon_en_fw(const pm__lexicon *lx, const char *word, size_t len);
/* Index of a Japanese surface form among the particles/auxiliaries, or -1. */
int pm__lexicon_ja_fw(const pm__lexicon *lx, const char *surface, size_t len);

/* Frees the lexicon at process exit (pm_library_shutdown), for clean leak
 * reports. No extractor may be in use afterwards. */
void pm__lexicon_release(void);

#endif
