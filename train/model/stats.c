/* Sufficient statistics and their blob format (see penmark/model.h).
 *
 * Blob: "PMST" u32 version, u32 dim, u32 sq_off, u64 n, u32 encoding
 * (0 dense, 1 sparse), then the sums (dense: dim float32; sparse: u32 count
 * then count pairs of u32 index, float32 value), then dim - sq_off float32
 * sums of squares. All little-endian. */
#include "penmark/model.h"

#include <stdlib.h>
#include <string.h>

#define STATS_MAGIC 0x54534d50u /* "PMST" */
#define STATS_VERSION 1u

void pm__put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

void pm__put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

void pm__put_f32(unsigned char *p, float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  pm__put_u32(p, u);
}

uint32_t pm__get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

uint64_t pm__get_u64(const unsigned char *p) {
  return (uint64_t)pm__get_u32(p) | (uint64_t)pm__get_u32(p + 4) << 32;
}

float pm__get_f32(const unsigned char *p) {
  uint32_t u = pm__get_u32(p);
  float v;
  memcpy(&v, &u, 4);
  return v;
}

bool pm__stats_init(pm__stats *s, uint32_t dim, uint32_t sq_off) {
  memset(s, 0, sizeof *s);
  if (sq_off > dim)
    return false;
  s->dim = dim;
  s->sq_off = sq_off;
  s->sum = calloc(dim ? dim : 1, sizeof *s->sum);
  s->sumsq = calloc(dim - sq_off ? dim - sq_off : 1, sizeof *s->sumsq);
  if (!s->sum || !s->sumsq) {
    pm__stats_free(s);
    return false;
  }
  return true;
}

void pm__stats_free(pm__stats *s) {
  free(s->sum);
  free(s->sumsq);
  memset(s, 0, sizeof *s);
}

void pm__stats_add_sparse(pm__stats *s, const uint32_t *idx, const float *val,
                          size_t nnz) {
  for (size_t k = 0; k < nnz; k++) {
    uint32_t i = idx[k];
    if (i >= s->dim)
      continue;
    double v = val[k];
    s->sum[i] += v;
    if (i >= s->sq_off)
      s->sumsq[i - s->sq_off] += v * v;
  }
}

void pm__stats_add(pm__stats *s, const pm_features *f) {
  pm__stats_add_sparse(s, pm_features_indices(f), pm_features_values(f),
                       pm_features_nnz(f));
  const float *nv = pm_features_named(f);
  uint32_t off = s->dim - (uint32_t)pm_named_count();
  for (uint32_t j = 0; j < s->dim - off; j++) {
    double v = nv[j];
    s->sum[off + j] += v;
    if (off + j >= s->sq_off)
      s->sumsq[off + j - s->sq_off] += v * v;
  }
  s->n++;
}

void pm__stats_merge(pm__stats *s, const pm__stats *t) {
  for (uint32_t i = 0; i < s->dim; i++)
    s->sum[i] += t->sum[i];
  for (uint32_t i = 0; i < s->dim - s->sq_off; i++)
    s->sumsq[i] += t->sumsq[i];
  s->n += t->n;
}

void *pm__stats_encode(const pm__stats *s, size_t *len) {
  uint32_t nz = 0;
  for (uint32_t i = 0; i < s->dim; i++)
    nz += (float)s->sum[i] != 0.0f;
  bool sparse = (size_t)nz * 8 + 4 < (size_t)s->dim * 4;
  size_t nsq = s->dim - s->sq_off;
  size_t n = 28 + (sparse ? 4 + (size_t)nz * 8 : (size_t)s->dim * 4) + nsq * 4;
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  pm__put_u32(p, STATS_MAGIC);
  pm__put_u32(p + 4, STATS_VERSION);
  pm__put_u32(p + 8, s->dim);
  pm__put_u32(p + 12, s->sq_off);
  pm__put_u64(p + 16, s->n);
  pm__put_u32(p + 24, sparse ? 1 : 0);
  p += 28;
  if (sparse) {
    pm__put_u32(p, nz);
    p += 4;
    for (uint32_t i = 0; i < s->dim; i++) {
      float v = (float)s->sum[i];
      if (v != 0.0f) {
        pm__put_u32(p, i);
        pm__put_f32(p + 4, v);
        p += 8;
      }
    }
  } else {
    for (uint32_t i = 0; i < s->dim; i++, p += 4)
      pm__put_f32(p, (float)s->sum[i]);
  }
  for (size_t i = 0; i < nsq; i++, p += 4)
    pm__put_f32(p, (float)s->sumsq[i]);
  *len = n;
  return b;
}

pm_status pm__stats_decode(const void *blob, size_t len, uint32_t dim,
                           uint32_t sq_off, pm__stats *s, pm_error *err) {
  const unsigned char *p = blob, *end = p + len;
  memset(s, 0, sizeof *s);
  if (len < 28 || pm__get_u32(p) != STATS_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "statistics blob: bad header");
  if (pm__get_u32(p + 4) != STATS_VERSION)
    return pm_error_set(err, PM_MISMATCH,
                        "statistics blob: version %u, this penmark reads %u",
                        pm__get_u32(p + 4), STATS_VERSION);
  if (pm__get_u32(p + 8) != dim || pm__get_u32(p + 12) != sq_off)
    return pm_error_set(err, PM_MISMATCH,
                        "statistics blob: dimension %u/%u, expected %u/%u",
                        pm__get_u32(p + 8), pm__get_u32(p + 12), dim, sq_off);
  if (!pm__stats_init(s, dim, sq_off))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  s->n = pm__get_u64(p + 16);
  uint32_t enc = pm__get_u32(p + 24);
  p += 28;
  size_t nsq = dim - sq_off;
  if (enc == 1) {
    if (end - p < 4)
      goto corrupt;
    uint32_t nz = pm__get_u32(p);
    p += 4;
    if ((size_t)(end - p) != (size_t)nz * 8 + nsq * 4)
      goto corrupt;
    for (uint32_t k = 0; k < nz; k++, p += 8) {
      uint32_t i = pm__get_u32(p);
      if (i >= dim)
        goto corrupt;
      s->sum[i] = pm__get_f32(p + 4);
    }
  } else if (enc == 0) {
    if ((size_t)(end - p) != (size_t)dim * 4 + nsq * 4)
      goto corrupt;
    for (uint32_t i = 0; i < dim; i++, p += 4)
      s->sum[i] = pm__get_f32(p);
  } else {
    goto corrupt;
  }
  for (size_t i = 0; i < nsq; i++, p += 4)
    s->sumsq[i] = pm__get_f32(p);
  return PM_OK;
corrupt:
  pm__stats_free(s);
  return pm_error_set(err, PM_CORRUPT, "statistics blob: truncated or damaged");
}
