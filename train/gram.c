/* The tenant's Gram matrix (see train/gram.h). */
#include "train/gram.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"

#define GRAM_MAGIC 0x52474d50u /* "PMGR" */
#define GRAM_VERSION 1u
/* Rows per ssyrk call: big enough for BLAS to run at full speed. */
#define GRAM_BATCH 256

bool pm__gram_init(pm__gram *g, uint32_t d) {
  memset(g, 0, sizeof *g);
  g->d = d;
  g->cap = GRAM_BATCH;
  g->sum = calloc(d, sizeof *g->sum);
  g->G = calloc((size_t)d * d, sizeof *g->G);
  g->batch = malloc(g->cap * d * sizeof *g->batch);
  if (!g->sum || !g->G || !g->batch) {
    pm__gram_free(g);
    return false;
  }
  return true;
}

void pm__gram_free(pm__gram *g) {
  free(g->sum);
  free(g->G);
  free(g->batch);
  memset(g, 0, sizeof *g);
}

void pm__gram_flush(pm__gram *g) {
  if (g->nbatch == 0)
    return;
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)g->d, (int)g->nbatch,
              1.0f, g->batch, (int)g->d, 1.0f, g->G, (int)g->d);
  g->nbatch = 0;
}

void pm__gram_add(pm__gram *g, const float *x) {
  memcpy(g->batch + g->nbatch * g->d, x, g->d * sizeof *x);
  for (uint32_t j = 0; j < g->d; j++)
    g->sum[j] += x[j];
  g->n++;
  if (++g->nbatch == g->cap)
    pm__gram_flush(g);
}

void *pm__gram_encode(pm__gram *g, size_t *len) {
  pm__gram_flush(g);
  size_t d = g->d, tri = d * (d + 1) / 2;
  size_t n = 20 + d * 8 + tri * 4;
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  pm__put_u32(p, GRAM_MAGIC);
  pm__put_u32(p + 4, GRAM_VERSION);
  pm__put_u32(p + 8, g->d);
  pm__put_u64(p + 12, g->n);
  p += 20;
  for (size_t j = 0; j < d; j++, p += 8) {
    uint64_t u;
    memcpy(&u, &g->sum[j], 8);
    pm__put_u64(p, u);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++, p += 4)
      pm__put_f32(p, g->G[i * d + j]);
  *len = n;
  return b;
}

pm_status pm__gram_decode(const void *blob, size_t len, uint32_t d, pm__gram *g,
                          pm_error *err) {
  const unsigned char *p = blob;
  size_t tri = (size_t)d * (d + 1) / 2;
  if (len < 20 || pm__get_u32(p) != GRAM_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "moments blob: bad header");
  if (pm__get_u32(p + 4) != GRAM_VERSION || pm__get_u32(p + 8) != d)
    return pm_error_set(err, PM_MISMATCH,
                        "moments blob: version %u dimension %u, expected %u "
                        "and %u",
                        pm__get_u32(p + 4), pm__get_u32(p + 8), GRAM_VERSION,
                        d);
  if (len != 20 + (size_t)d * 8 + tri * 4)
    return pm_error_set(err, PM_CORRUPT, "moments blob: truncated");
  if (!pm__gram_init(g, d))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  g->n = pm__get_u64(p + 12);
  p += 20;
  for (size_t j = 0; j < d; j++, p += 8) {
    uint64_t u = pm__get_u64(p);
    memcpy(&g->sum[j], &u, 8);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++, p += 4)
      g->G[i * d + j] = pm__get_f32(p);
  return PM_OK;
}
