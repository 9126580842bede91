/* The tenant's second moments: the Gram matrix (sum of x x^T over every
 * trained mail), the sum and the count, in the model space. With the
 * senders' sums, it is all a ridge / linear discriminant needs, and it adds
 * up: tonight's mail adds tonight's outer products.
 *
 * Rows are buffered and added in blocks with BLAS ssyrk; only the upper
 * triangle of G is kept up to date. */
#ifndef PM_TRAIN_GRAM_H
#define PM_TRAIN_GRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

typedef struct {
  uint32_t d;
  uint64_t n;
  double *sum;  /* d */
  float *G;     /* d*d row-major; upper triangle valid after a flush */
  float *batch; /* up to cap pending rows */
  size_t nbatch, cap;
} pm__gram;

/* Zeroed moments of dimension d; false when out of memory. */
bool pm__gram_init(pm__gram *g, uint32_t d);
void pm__gram_free(pm__gram *g);

/* Adds one row (d floats, copied). */
void pm__gram_add(pm__gram *g, const float *x);
/* Folds the pending rows into G. */
void pm__gram_flush(pm__gram *g);

/* Blob: "PMGR" u32 version, u32 d, u64 n, d float64 sums, then the upper
 * triangle of G row by row as float32, little-endian. Flushes first. */
void *pm__gram_encode(pm__gram *g, size_t *len);
pm_status pm__gram_decode(const void *blob, size_t len, uint32_t d, pm__gram *g,
                          pm_error *err);

#endif
