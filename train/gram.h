/* The tenant's second moments: the Gram matrix (sum of x x^T over every
 * trained mail), the sum and the count, in the model space. With the
 * senders' sums, it is all a ridge / linear discriminant needs, and it adds
 * up: tonight's mail adds tonight's outer products.
 *
 * Rows are buffered and added in blocks with BLAS ssyrk; only the upper
 * triangle of G is kept up to date.
 *
 * A small tenant's G is stored as what it is made of: the list of its
 * mails' sparse vectors and the sizes of the ssyrk blocks they were added
 * in, so that the store grows with the mail, not with d^2. Replaying the
 * blocks gives the same G to the bit. A row whose vector its sender's
 * calibration sample holds is written as a reference to it (most of a small
 * tenant's mail is in the samples). Once the list would be larger than the
 * dense triangle, the triangle is stored instead, and from then on. */
#ifndef PM_TRAIN_GRAM_H
#define PM_TRAIN_GRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

/* One mail of the row form. */
typedef struct {
  int64_t owner; /* the sender's id in the store */
  uint64_t key;  /* the mail's calibration sample key */
  bool ref;      /* stored as a reference to the owner's sample */
  uint32_t nnz;
  uint32_t *idx; /* ascending, owned */
  float *val;    /* owned */
} pm__gram_row;

typedef struct {
  uint32_t d;
  uint64_t n;
  double *sum;  /* d */
  float *G;     /* d*d row-major; upper triangle valid after a flush */
  float *batch; /* up to cap pending rows */
  size_t nbatch, cap;
  /* the row form: kept while it is the smaller (rows_on) */
  bool rows_on;
  pm__gram_row *rows;
  size_t nrows, caprows;
  size_t rows_bytes; /* encoded size of the rows, references counted inline */
  uint32_t *flushes; /* rows per ssyrk block, in order; sum is nrows */
  size_t nflushes, capflushes;
} pm__gram;

/* Zeroed moments of dimension d (in the row form); false when out of
 * memory. */
bool pm__gram_init(pm__gram *g, uint32_t d);
void pm__gram_free(pm__gram *g);

/* Adds one row (d floats, copied): the mail `key` of sender `owner`.
 * false only when out of memory. */
bool pm__gram_add(pm__gram *g, const float *x, int64_t owner, uint64_t key);
/* Folds the pending rows into G. */
void pm__gram_flush(pm__gram *g);

/* Whether sender owner's calibration sample, as it is written in the same
 * commit, holds exactly this vector under key: 1 yes, 0 no, -1 the sender's
 * sample is not at hand (unchanged since the blob was read: keep the row as
 * it was). */
typedef int (*pm__gram_in_sample)(void *ctx, const pm__gram_row *row);
/* Fills row->nnz, idx, val (allocated) from sender row->owner's sample entry
 * row->key. */
typedef pm_status (*pm__gram_from_sample)(void *ctx, pm__gram_row *row,
                                          pm_error *err);

/* Blob: "PMGR" u32 version (3), u32 d, u64 n, u32 form. Form 0, dense: d
 * float64 sums, then the upper triangle of G row by row as float32. Form 1,
 * rows: u32 number of blocks, their sizes (u32 each), then per row the
 * owner (varint), u64 key, u8 reference flag, and unless a reference the
 * sparse vector (train/sparse.h, values by table). Little-endian. Version
 * 2 (float32 values) and 1 (dense, no form field) are read too. Flushes first.
 * in_sample may be NULL (no references). */
void *pm__gram_encode(pm__gram *g, pm__gram_in_sample in_sample, void *ctx,
                      size_t *len);
/* from_sample may be NULL: a blob holding references is then refused. */
pm_status pm__gram_decode(const void *blob, size_t len, uint32_t d, pm__gram *g,
                          pm__gram_from_sample from_sample, void *ctx,
                          pm_error *err);
/* The mail count of a moments blob, read from its header only. */
pm_status pm__gram_blob_count(const void *blob, size_t len, uint64_t *n,
                              pm_error *err);

#endif
