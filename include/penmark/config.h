/* penmark: the feature configuration.
 *
 * Which feature families are on, the dimension of each hashed family, the
 * n-gram ranges and family weights. Built-in defaults; a JSON file can
 * override any part of them:
 *
 *   {"families": {"char_ngrams": {"dim": 16384, "max_n": 3},
 *                 "words": {"enabled": false}},
 *    "mecab_dicdir": "/var/lib/mecab/dic/ipadic-utf8"}
 *
 * Unknown keys and out-of-range values are refused with a message naming the
 * key. The configuration has a stable hash (pm_config_hash) over everything
 * that changes a feature vector; stores record it and refuse another one.
 * The MeCab dictionary path is not part of the hash (it differs between
 * machines, not between vectors).
 *
 * A pm_config is immutable once built and may be shared by threads.
 */
#ifndef PENMARK_CONFIG_H
#define PENMARK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_config pm_config;

/* Hashed families: each has its own slice of the vector. */
typedef enum {
  PM_FAM_CHAR_NGRAMS = 0, /* character n-grams of the raw own text */
  PM_FAM_WORDS,           /* words (unigrams by default) */
  PM_FAM_SYNTAX, /* Japanese POS n-grams; English function-word skeleton */
  /* character n-grams typed by where they sit in their word (prefix,
   * suffix, inside, whole; script runs for Japanese): pm__char_class */
  PM_FAM_TYPED_NGRAMS,
  /* character n-grams of the copyable surface (greeting line, closing
   * block): never evidence for a claim, only against it (a mail signed
   * unlike the sender's every mail) */
  PM_FAM_SURFACE,
  PM_FAM__HASHED_COUNT
} pm_hashed_family;

/* Named families: dense features with names (pm_features_named_name). */
typedef enum {
  PM_FAM_FUNCTION_WORDS = 0, /* English function words, Japanese particles */
  PM_FAM_JAPANESE,           /* script ratios, width, politeness */
  PM_FAM_PUNCTUATION,        /* punctuation and spacing habits */
  PM_FAM_LAYOUT,             /* greeting, sign-off, lines, blank lines */
  PM_FAM_CASE,               /* case habits */
  PM_FAM_LENGTHS,            /* word, sentence, paragraph lengths */
  PM_FAM__NAMED_COUNT
} pm_named_family;

/* The built-in configuration. Owned by the caller: pm_config_free. NULL only
 * when out of memory. */
pm_config *pm_config_default(void);

/* The defaults overridden by a JSON document / file. *out owned by the
 * caller. The error names the file, the key and the problem. */
pm_status pm_config_parse(const char *json, size_t len, pm_config **out,
                          pm_error *err);
pm_status pm_config_load(const char *path, pm_config **out, pm_error *err);

void pm_config_free(pm_config *cfg); /* NULL is a no-op */

/* A copy (owned by the caller). */
pm_config *pm_config_clone(const pm_config *cfg);

/* The canonical JSON of the whole configuration, keys in a fixed order;
 * malloc'd, free it. Parsing it gives an equal configuration. */
char *pm_config_to_json(const pm_config *cfg);

/* 64-bit hash of everything that changes a feature vector (including the
 * version of the extraction code). Stable across machines and runs. */
uint64_t pm_config_hash(const pm_config *cfg);

/* Accessors. */
bool pm_config_hashed_enabled(const pm_config *cfg, pm_hashed_family f);
uint32_t pm_config_hashed_dim(const pm_config *cfg, pm_hashed_family f);
int pm_config_hashed_min_n(const pm_config *cfg, pm_hashed_family f);
int pm_config_hashed_max_n(const pm_config *cfg, pm_hashed_family f);
float pm_config_hashed_weight(const pm_config *cfg, pm_hashed_family f);
bool pm_config_named_enabled(const pm_config *cfg, pm_named_family f);
const char *pm_config_mecab_dicdir(const pm_config *cfg);

/* Names of the families as used in the JSON ("char_ngrams", "layout", ...). */
const char *pm_hashed_family_name(pm_hashed_family f);
const char *pm_named_family_name(pm_named_family f);

/* Copies with one family switched (for ablations); owned by the caller. */
pm_config *pm_config_with_hashed(const pm_config *cfg, pm_hashed_family f,
                                 bool enabled);
pm_config *pm_config_with_named(const pm_config *cfg, pm_named_family f,
                                bool enabled);

/* The total vector dimension: the hashed slices, then the named block. */
uint32_t pm_config_vector_dim(const pm_config *cfg);
/* Where hashed family f starts in the vector. */
uint32_t pm_config_hashed_offset(const pm_config *cfg, pm_hashed_family f);
/* Where the named block starts (= the sum of the hashed dims). */
uint32_t pm_config_named_offset(const pm_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
