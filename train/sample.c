/* Calibration samples (see train/sample.h). */
#include "train/sample.h"

#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"
#include "train/sparse.h"

#define SAMPLE_MAGIC 0x41534d50u /* "PMSA" */
/* 4: sparse vectors with varint index gaps and a table of the values
 * (train/sparse.h); read too: 3, the same with a float32 per value, and 2,
 * u32 indices then float32 values */
#define SAMPLE_VERSION 4u
#define SAMPLE_VERSION_F32 3u
#define SAMPLE_VERSION_U32 2u

void pm__sample_init(pm__sample *s, size_t k) {
  memset(s, 0, sizeof *s);
  s->k = k;
}

static void entry_free(pm__sample_entry *e) {
  free(e->idx);
  free(e->val);
}

void pm__sample_free(pm__sample *s) {
  for (size_t i = 0; i < s->n; i++)
    entry_free(&s->e[i]);
  free(s->e);
  memset(s, 0, sizeof *s);
}

bool pm__sample_offer(pm__sample *s, uint64_t key, const float *x, uint32_t d,
                      uint32_t chars) {
  if (s->k == 0)
    return true;
  if (s->n == s->k && key >= s->e[s->n - 1].key)
    return true;
  size_t at = 0;
  while (at < s->n && s->e[at].key < key)
    at++;
  if (at < s->n && s->e[at].key == key)
    return true;
  pm__sample_entry ne = {.key = key, .chars = chars};
  for (uint32_t j = 0; j < d; j++)
    ne.nnz += x[j] != 0.0f;
  ne.idx = malloc((ne.nnz ? ne.nnz : 1) * sizeof *ne.idx);
  ne.val = malloc((ne.nnz ? ne.nnz : 1) * sizeof *ne.val);
  if (!ne.idx || !ne.val) {
    entry_free(&ne);
    return false;
  }
  for (uint32_t j = 0, k = 0; j < d; j++)
    if (x[j] != 0.0f) {
      ne.idx[k] = j;
      ne.val[k++] = x[j];
    }
  if (!s->e) {
    s->e = calloc(s->k, sizeof *s->e);
    if (!s->e) {
      entry_free(&ne);
      return false;
    }
  }
  if (s->n == s->k)
    entry_free(&s->e[--s->n]); /* the largest key leaves */
  memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof *s->e);
  s->e[at] = ne;
  s->n++;
  return true;
}

void *pm__sample_encode(const pm__sample *s, uint32_t d, size_t *len) {
  size_t n = 16;
  for (size_t i = 0; i < s->n; i++) {
    size_t v = pm__sparse_len(s->e[i].idx, s->e[i].val, s->e[i].nnz);
    if (!v)
      return NULL;
    n += 12 + v;
  }
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  pm__put_u32(p, SAMPLE_MAGIC);
  pm__put_u32(p + 4, SAMPLE_VERSION);
  pm__put_u32(p + 8, d);
  pm__put_u32(p + 12, (uint32_t)s->n);
  p += 16;
  for (size_t i = 0; i < s->n; i++) {
    const pm__sample_entry *e = &s->e[i];
    pm__put_u64(p, e->key);
    pm__put_u32(p + 8, e->chars);
    p += 12;
    size_t v = pm__sparse_put(p, e->idx, e->val, e->nnz);
    if (!v) {
      free(b);
      return NULL;
    }
    p += v;
  }
  *len = n;
  return b;
}

pm_status pm__sample_decode(const void *blob, size_t len, uint32_t d, size_t k,
                            pm__sample *s, pm_error *err) {
  const unsigned char *p = blob, *end = p + len;
  pm__sample_init(s, k);
  if (len < 16 || pm__get_u32(p) != SAMPLE_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "sample blob: bad header");
  uint32_t version = pm__get_u32(p + 4);
  if ((version != SAMPLE_VERSION && version != SAMPLE_VERSION_F32 &&
       version != SAMPLE_VERSION_U32) ||
      pm__get_u32(p + 8) != d)
    return pm_error_set(err, PM_MISMATCH,
                        "sample blob: other version or "
                        "dimension");
  uint32_t n = pm__get_u32(p + 12);
  p += 16;
  s->e = calloc(n > k ? n : (k ? k : 1), sizeof *s->e);
  if (!s->e)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  if (n > k && k > 0)
    s->k = n; /* a store made with a larger sample keeps what it has */
  for (uint32_t i = 0; i < n; i++) {
    if (end - p < 12)
      goto corrupt;
    pm__sample_entry *e = &s->e[i];
    e->key = pm__get_u64(p);
    e->chars = pm__get_u32(p + 8);
    p += 12;
    if (version != SAMPLE_VERSION_U32) {
      bool oom;
      bool ok = pm__sparse_get(&p, end, d,
                               version == SAMPLE_VERSION ? PM__SPARSE_TABLE
                                                         : PM__SPARSE_F32,
                               &e->nnz, &e->idx, &e->val, &oom);
      s->n = i + 1;
      if (oom) {
        pm__sample_free(s);
        return pm_error_set(err, PM_NOMEM, "out of memory");
      }
      if (!ok)
        goto corrupt;
      continue;
    }
    if (end - p < 4)
      goto corrupt;
    e->nnz = pm__get_u32(p);
    p += 4;
    if (e->nnz > d || (size_t)(end - p) < (size_t)e->nnz * 8)
      goto corrupt;
    e->idx = malloc((e->nnz ? e->nnz : 1) * sizeof *e->idx);
    e->val = malloc((e->nnz ? e->nnz : 1) * sizeof *e->val);
    s->n = i + 1;
    if (!e->idx || !e->val) {
      pm__sample_free(s);
      return pm_error_set(err, PM_NOMEM, "out of memory");
    }
    for (uint32_t j = 0; j < e->nnz; j++, p += 4) {
      e->idx[j] = pm__get_u32(p);
      if (e->idx[j] >= d)
        goto corrupt;
    }
    for (uint32_t j = 0; j < e->nnz; j++, p += 4)
      e->val[j] = pm__get_f32(p);
  }
  if (p != end)
    goto corrupt;
  return PM_OK;
corrupt:
  pm__sample_free(s);
  return pm_error_set(err, PM_CORRUPT, "sample blob: truncated or damaged");
}

const pm__sample_entry *pm__sample_find(const pm__sample *s, uint64_t key) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->e[mid].key < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->n && s->e[lo].key == key ? &s->e[lo] : NULL;
}
