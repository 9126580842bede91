/* The stored samples of a store, each read once, as the source of the
 * moments' rows that refer to a sample entry (pm__gram_from_sample). Used
 * by training for the tenant's own moments and by a background's. */
#ifndef PM_TRAIN_SAMPLE_CACHE_H
#define PM_TRAIN_SAMPLE_CACHE_H

#include "penmark/store.h"
#include "train/gram.h"
#include "train/sample.h"

typedef struct {
  pm_store *st; /* borrowed */
  uint32_t d;
  int64_t *owner;
  pm__sample *s;
  size_t n, cap;
} pm__sample_cache;

/* pm__gram_from_sample over ctx, a pm__sample_cache. */
pm_status pm__sample_cache_row(void *ctx, pm__gram_row *row, pm_error *err);
void pm__sample_cache_free(pm__sample_cache *c);

#endif
