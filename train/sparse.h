/* The sparse vectors of the calibration samples and of the tenant's moments
 * in a blob: the nonzero count, the gaps between ascending indices as
 * varints (one byte for most), then the float32 values, little-endian. */
#ifndef PM_TRAIN_SPARSE_H
#define PM_TRAIN_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes pm__sparse_put writes for these nnz ascending indices. */
size_t pm__sparse_len(const uint32_t *idx, uint32_t nnz);
/* Writes the vector at p; returns the bytes written. */
size_t pm__sparse_put(unsigned char *p, const uint32_t *idx, const float *val,
                      uint32_t nnz);
/* Reads a vector of dimension d from *p (not past end) into freshly
 * allocated *idx and *val (freed by the caller, also on failure) and
 * advances *p. false when damaged (indices not ascending or past d,
 * truncated) or out of memory (*oom set). */
bool pm__sparse_get(const unsigned char **p, const unsigned char *end,
                    uint32_t d, uint32_t *nnz, uint32_t **idx, float **val,
                    bool *oom);

#endif
