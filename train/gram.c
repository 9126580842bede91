/* The tenant's Gram matrix (see train/gram.h). */
#include "train/gram.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"
#include "train/sparse.h"
#include "train/varint.h"

#define GRAM_MAGIC 0x52474d50u /* "PMGR" */
#define GRAM_VERSION 3u        /* rows' values by table (train/sparse.h) */
#define GRAM_VERSION_F32 2u    /* rows' values as float32 */
#define GRAM_VERSION_DENSE 1u  /* no form field, always dense */
#define FORM_DENSE 0u
#define FORM_ROWS 1u
/* Rows per ssyrk call: big enough for BLAS to run at full speed. */
#define GRAM_BATCH 256

static size_t dense_len(uint32_t d, uint32_t version) {
  size_t tri = (size_t)d * (d + 1) / 2;
  return (version == GRAM_VERSION_DENSE ? 20 : 24) + (size_t)d * 8 + tri * 4;
}

static void row_free(pm__gram_row *r) {
  free(r->idx);
  free(r->val);
}

/* 0 when out of memory. */
static size_t row_len(const pm__gram_row *r, bool as_ref) {
  size_t v = as_ref ? 0 : pm__sparse_len(r->idx, r->val, r->nnz);
  return as_ref || v ? pm__varint_len((uint64_t)r->owner) + 9 + v : 0;
}

/* Leaves the row form for good: the dense triangle is the smaller. */
static void rows_off(pm__gram *g) {
  for (size_t i = 0; i < g->nrows; i++)
    row_free(&g->rows[i]);
  free(g->rows);
  free(g->flushes);
  g->rows = NULL;
  g->flushes = NULL;
  g->nrows = g->caprows = g->nflushes = g->capflushes = 0;
  g->rows_on = false;
}

bool pm__gram_init(pm__gram *g, uint32_t d) {
  memset(g, 0, sizeof *g);
  g->d = d;
  g->cap = GRAM_BATCH;
  g->rows_on = true;
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
  rows_off(g);
  free(g->sum);
  free(g->G);
  free(g->batch);
  memset(g, 0, sizeof *g);
}

static bool push_flush(pm__gram *g, uint32_t rows) {
  if (g->nflushes == g->capflushes) {
    size_t c = g->capflushes ? g->capflushes * 2 : 16;
    uint32_t *v = realloc(g->flushes, c * sizeof *v);
    if (!v)
      return false;
    g->flushes = v;
    g->capflushes = c;
  }
  g->flushes[g->nflushes++] = rows;
  return true;
}

void pm__gram_flush(pm__gram *g) {
  if (g->nbatch == 0)
    return;
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)g->d, (int)g->nbatch,
              1.0f, g->batch, (int)g->d, 1.0f, g->G, (int)g->d);
  /* without the block sizes the rows could not be replayed exactly */
  if (g->rows_on && !push_flush(g, (uint32_t)g->nbatch))
    rows_off(g);
  g->nbatch = 0;
}

/* Appends x as a sparse row; false when out of memory. */
static bool push_row(pm__gram *g, const float *x, int64_t owner, uint64_t key) {
  if (g->nrows == g->caprows) {
    size_t c = g->caprows ? g->caprows * 2 : 64;
    pm__gram_row *v = realloc(g->rows, c * sizeof *v);
    if (!v)
      return false;
    g->rows = v;
    g->caprows = c;
  }
  pm__gram_row r = {.owner = owner, .key = key};
  for (uint32_t j = 0; j < g->d; j++)
    r.nnz += x[j] != 0.0f;
  r.idx = malloc((r.nnz ? r.nnz : 1) * sizeof *r.idx);
  r.val = malloc((r.nnz ? r.nnz : 1) * sizeof *r.val);
  if (!r.idx || !r.val) {
    row_free(&r);
    return false;
  }
  for (uint32_t j = 0, k = 0; j < g->d; j++)
    if (x[j] != 0.0f) {
      r.idx[k] = j;
      r.val[k++] = x[j];
    }
  size_t len = row_len(&r, false);
  if (!len) {
    row_free(&r);
    return false;
  }
  g->rows_bytes += len;
  g->rows[g->nrows++] = r;
  return true;
}

bool pm__gram_add(pm__gram *g, const float *x, int64_t owner, uint64_t key) {
  if (g->rows_on) {
    if (!push_row(g, x, owner, key))
      return false;
    if (g->rows_bytes + 28 + 4 * g->nflushes > dense_len(g->d, GRAM_VERSION))
      rows_off(g);
  }
  memcpy(g->batch + g->nbatch * g->d, x, g->d * sizeof *x);
  for (uint32_t j = 0; j < g->d; j++)
    g->sum[j] += x[j];
  g->n++;
  if (++g->nbatch == g->cap)
    pm__gram_flush(g);
  return true;
}

static unsigned char *put_header(unsigned char *p, const pm__gram *g,
                                 uint32_t form) {
  pm__put_u32(p, GRAM_MAGIC);
  pm__put_u32(p + 4, GRAM_VERSION);
  pm__put_u32(p + 8, g->d);
  pm__put_u64(p + 12, g->n);
  pm__put_u32(p + 20, form);
  return p + 24;
}

static void *encode_rows(pm__gram *g, pm__gram_in_sample in_sample, void *ctx,
                         size_t *len) {
  size_t n = 28 + 4 * g->nflushes;
  for (size_t i = 0; i < g->nrows; i++) {
    pm__gram_row *r = &g->rows[i];
    int in = in_sample ? in_sample(ctx, r) : 0;
    if (in >= 0)
      r->ref = in == 1;
    size_t rl = row_len(r, r->ref);
    if (!rl)
      return NULL;
    n += rl;
  }
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  p = put_header(p, g, FORM_ROWS);
  pm__put_u32(p, (uint32_t)g->nflushes);
  p += 4;
  for (size_t i = 0; i < g->nflushes; i++, p += 4)
    pm__put_u32(p, g->flushes[i]);
  for (size_t i = 0; i < g->nrows; i++) {
    const pm__gram_row *r = &g->rows[i];
    p += pm__varint_put(p, (uint64_t)r->owner);
    pm__put_u64(p, r->key);
    p[8] = r->ref;
    p += 9;
    size_t v = r->ref ? 0 : pm__sparse_put(p, r->idx, r->val, r->nnz);
    if (!r->ref && !v) {
      free(b);
      return NULL;
    }
    p += v;
  }
  *len = n;
  return b;
}

void *pm__gram_encode(pm__gram *g, pm__gram_in_sample in_sample, void *ctx,
                      size_t *len) {
  pm__gram_flush(g);
  if (g->rows_on)
    return encode_rows(g, in_sample, ctx, len);
  size_t d = g->d, n = dense_len(g->d, GRAM_VERSION);
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  p = put_header(p, g, FORM_DENSE);
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

pm_status pm__gram_blob_count(const void *blob, size_t len, uint64_t *n,
                              pm_error *err) {
  const unsigned char *p = blob;
  if (len < 20 || pm__get_u32(p) != GRAM_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "moments blob: bad header");
  *n = pm__get_u64(p + 12);
  return PM_OK;
}

static pm_status decode_dense(const unsigned char *p, pm__gram *g) {
  size_t d = g->d;
  for (size_t j = 0; j < d; j++, p += 8) {
    uint64_t u = pm__get_u64(p);
    memcpy(&g->sum[j], &u, 8);
  }
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++, p += 4)
      g->G[i * d + j] = pm__get_f32(p);
  rows_off(g);
  return PM_OK;
}

/* Reads the rows and replays their blocks into G and the sums. */
static pm_status decode_rows(const unsigned char *p, const unsigned char *end,
                             pm__gram *g, uint64_t n, pm__sparse_coding coding,
                             pm__gram_from_sample from_sample, void *ctx,
                             pm_error *err) {
  if (end - p < 4)
    goto corrupt;
  uint32_t nb = pm__get_u32(p);
  p += 4;
  if ((size_t)(end - p) / 4 < nb)
    goto corrupt;
  uint64_t total = 0;
  g->flushes = malloc((nb ? nb : 1) * sizeof *g->flushes);
  g->rows = calloc(n ? n : 1, sizeof *g->rows);
  if (!g->flushes || !g->rows)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  g->capflushes = nb ? nb : 1;
  g->caprows = n ? n : 1;
  for (uint32_t i = 0; i < nb; i++, p += 4) {
    uint32_t s = pm__get_u32(p);
    if (s == 0 || s > g->cap)
      goto corrupt;
    g->flushes[g->nflushes++] = s;
    total += s;
  }
  if (total != n)
    goto corrupt;
  for (uint64_t i = 0; i < n; i++) {
    pm__gram_row *r = &g->rows[g->nrows++];
    uint64_t owner;
    if (!pm__varint_get(&p, end, &owner) || end - p < 9 || p[8] > 1)
      goto corrupt;
    r->owner = (int64_t)owner;
    r->key = pm__get_u64(p);
    r->ref = p[8];
    p += 9;
    if (r->ref) {
      if (!from_sample)
        return pm_error_set(err, PM_CORRUPT,
                            "moments blob: refers to samples, none given");
      pm_status rc = from_sample(ctx, r, err);
      if (rc != PM_OK)
        return rc;
    } else {
      bool oom;
      if (!pm__sparse_get(&p, end, g->d, coding, &r->nnz, &r->idx, &r->val,
                          &oom))
        return oom ? pm_error_set(err, PM_NOMEM, "out of memory")
                   : pm_error_set(err, PM_CORRUPT,
                                  "moments blob: damaged row %llu",
                                  (unsigned long long)i);
    }
    size_t rl = row_len(r, false);
    if (!rl)
      return pm_error_set(err, PM_NOMEM, "out of memory");
    g->rows_bytes += rl;
  }
  if (p != end)
    goto corrupt;
  /* the same blocks, in the same order, as when the rows were added */
  size_t at = 0, d = g->d;
  for (size_t b = 0; b < g->nflushes; b++) {
    size_t s = g->flushes[b];
    memset(g->batch, 0, s * d * sizeof *g->batch);
    for (size_t k = 0; k < s; k++, at++) {
      const pm__gram_row *r = &g->rows[at];
      float *x = g->batch + k * d;
      for (uint32_t q = 0; q < r->nnz; q++) {
        x[r->idx[q]] = r->val[q];
        g->sum[r->idx[q]] += r->val[q];
      }
    }
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)s, 1.0f,
                g->batch, (int)d, 1.0f, g->G, (int)d);
  }
  return PM_OK;
corrupt:
  return pm_error_set(err, PM_CORRUPT, "moments blob: truncated or damaged");
}

pm_status pm__gram_decode(const void *blob, size_t len, uint32_t d, pm__gram *g,
                          pm__gram_from_sample from_sample, void *ctx,
                          pm_error *err) {
  const unsigned char *p = blob;
  if (len < 20 || pm__get_u32(p) != GRAM_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "moments blob: bad header");
  uint32_t version = pm__get_u32(p + 4);
  if ((version != GRAM_VERSION && version != GRAM_VERSION_F32 &&
       version != GRAM_VERSION_DENSE) ||
      pm__get_u32(p + 8) != d)
    return pm_error_set(err, PM_MISMATCH,
                        "moments blob: version %u dimension %u, expected %u "
                        "and %u",
                        version, pm__get_u32(p + 8), GRAM_VERSION, d);
  uint32_t form = FORM_DENSE;
  if (version != GRAM_VERSION_DENSE) {
    if (len < 24)
      return pm_error_set(err, PM_CORRUPT, "moments blob: truncated");
    form = pm__get_u32(p + 20);
    if (form != FORM_DENSE && form != FORM_ROWS)
      return pm_error_set(err, PM_CORRUPT, "moments blob: unknown form %u",
                          form);
  }
  if (form == FORM_DENSE && len != dense_len(d, version))
    return pm_error_set(err, PM_CORRUPT, "moments blob: truncated");
  if (!pm__gram_init(g, d))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  uint64_t n = pm__get_u64(p + 12);
  pm_status rc;
  if (form == FORM_DENSE)
    rc = decode_dense(p + (version == GRAM_VERSION_DENSE ? 20 : 24), g);
  else if (n > len) /* every row takes bytes: a bad count, not a big one */
    rc = pm_error_set(err, PM_CORRUPT, "moments blob: truncated or damaged");
  else
    rc =
        decode_rows(p + 24, p + len, g, n,
                    version == GRAM_VERSION ? PM__SPARSE_TABLE : PM__SPARSE_F32,
                    from_sample, ctx, err);
  if (rc != PM_OK) {
    pm__gram_free(g);
    return rc;
  }
  g->n = n;
  return PM_OK;
}
