/* Sufficient statistics of a set of feature vectors: count, sums and sums of
 * squares. Adding two sets' statistics gives the statistics of their union,
 * which is what makes training incremental (tonight's run adds tonight's
 * mail) and order-free (A then B equals A and B at once).
 *
 * Sums are kept in double while a run accumulates and stored as
 * little-endian float32 (sums of squares only over [sq_off, dim): a sender
 * keeps them for its named block, the tenant background for the whole
 * vector). */
#ifndef PM_TRAIN_STATS_H
#define PM_TRAIN_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"
#include "penmark/features.h"

typedef struct {
  uint32_t dim;    /* vector dimension */
  uint32_t sq_off; /* sums of squares cover [sq_off, dim) */
  uint64_t n;      /* vectors added */
  double *sum;     /* dim values, owned */
  double *sumsq;   /* dim - sq_off values, owned */
} pm__stats;

/* Allocates zeroed statistics. false when out of memory. */
bool pm__stats_init(pm__stats *s, uint32_t dim, uint32_t sq_off);
void pm__stats_free(pm__stats *s);

/* Adds one extracted vector. */
void pm__stats_add(pm__stats *s, const pm_features *f);
/* Adds a sparse vector (indices ascending) given directly. */
void pm__stats_add_sparse(pm__stats *s, const uint32_t *idx, const float *val,
                          size_t nnz);
/* s += t (same dim and sq_off). */
void pm__stats_merge(pm__stats *s, const pm__stats *t);

/* Encodes to a malloc'd blob (free it): sums in float32, sparse when that
 * is smaller. NULL when out of memory. */
void *pm__stats_encode(const pm__stats *s, size_t *len);
/* Decodes a blob into s (initialised here). PM_CORRUPT when the blob is not
 * statistics or does not match dim/sq_off. */
pm_status pm__stats_decode(const void *blob, size_t len, uint32_t dim,
                           uint32_t sq_off, pm__stats *s, pm_error *err);

/* Little-endian helpers for blob codecs. */
void pm__put_u32(unsigned char *p, uint32_t v);
void pm__put_u64(unsigned char *p, uint64_t v);
void pm__put_f32(unsigned char *p, float v);
uint32_t pm__get_u32(const unsigned char *p);
uint64_t pm__get_u64(const unsigned char *p);
float pm__get_f32(const unsigned char *p);

#endif
