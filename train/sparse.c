/* Sparse vectors in blobs (see train/sparse.h). */
#include "train/sparse.h"

#include <stdlib.h>

#include "penmark/model.h"
#include "train/varint.h"

size_t pm__sparse_len(const uint32_t *idx, uint32_t nnz) {
  size_t n = pm__varint_len(nnz) + (size_t)nnz * 4;
  for (uint32_t k = 0, prev = 0; k < nnz; k++) {
    n += pm__varint_len(idx[k] - prev);
    prev = idx[k];
  }
  return n;
}

size_t pm__sparse_put(unsigned char *p, const uint32_t *idx, const float *val,
                      uint32_t nnz) {
  unsigned char *s = p;
  p += pm__varint_put(p, nnz);
  for (uint32_t k = 0, prev = 0; k < nnz; k++) {
    p += pm__varint_put(p, idx[k] - prev);
    prev = idx[k];
  }
  for (uint32_t k = 0; k < nnz; k++, p += 4)
    pm__put_f32(p, val[k]);
  return (size_t)(p - s);
}

bool pm__sparse_get(const unsigned char **p, const unsigned char *end,
                    uint32_t d, uint32_t *nnz, uint32_t **idx, float **val,
                    bool *oom) {
  uint64_t n;
  *idx = NULL;
  *val = NULL;
  *oom = false;
  if (!pm__varint_get(p, end, &n) || n > d)
    return false;
  *nnz = (uint32_t)n;
  *idx = malloc((n ? n : 1) * sizeof **idx);
  *val = malloc((n ? n : 1) * sizeof **val);
  if (!*idx || !*val) {
    *oom = true;
    return false;
  }
  uint64_t at = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint64_t gap;
    if (!pm__varint_get(p, end, &gap) || (k > 0 && gap == 0))
      return false;
    at += gap;
    if (at >= d)
      return false;
    (*idx)[k] = (uint32_t)at;
  }
  if ((size_t)(end - *p) < n * 4)
    return false;
  for (uint32_t k = 0; k < n; k++, *p += 4)
    (*val)[k] = pm__get_f32(*p);
  return true;
}
