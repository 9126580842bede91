/* A sender's calibration sample: the model vectors of the K trained mails
 * with the smallest fingerprint keys. Which mails those are depends only on
 * the set of mails, never on the order they came in, so incremental training
 * keeps the same sample as training all at once. At the end of a run the
 * samples give held-out (leave-one-out) scores for the per-sender score
 * normalisation and the tenant's calibration.
 *
 * The vectors are folded hashes of the mail's features (a few thousand
 * signed sums of hashed n-gram counts): numbers, not text. */
#ifndef PM_TRAIN_SAMPLE_H
#define PM_TRAIN_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

typedef struct {
  uint64_t key;
  uint32_t chars; /* the mail's own text length, characters */
  uint32_t nnz;
  uint32_t *idx; /* ascending, owned */
  float *val;    /* owned */
} pm__sample_entry;

typedef struct {
  pm__sample_entry *e; /* sorted by key, at most k */
  size_t n, k;
} pm__sample;

void pm__sample_init(pm__sample *s, size_t k);
void pm__sample_free(pm__sample *s);
/* The entry of key, or NULL (binary search: entries are sorted by key). */
const pm__sample_entry *pm__sample_find(const pm__sample *s, uint64_t key);

/* Offers a mail's dense model vector x (d floats) under key. Kept when the
 * sample has room or key is smaller than its largest (which then goes). A key
 * already present is ignored. false only when out of memory. */
bool pm__sample_offer(pm__sample *s, uint64_t key, const float *x, uint32_t d,
                      uint32_t chars);

/* Blob: "PMSA" u32 version (4), u32 d, u32 n, then per entry u64 key, u32
 * chars, the sparse vector (train/sparse.h, values by table); little-endian.
 * Versions 3 (float32 values) and 2 are read too. encode: NULL when out of
 * memory. */
void *pm__sample_encode(const pm__sample *s, uint32_t d, size_t *len);
pm_status pm__sample_decode(const void *blob, size_t len, uint32_t d, size_t k,
                            pm__sample *s, pm_error *err);

#endif
