/* Sparse vectors in blobs (see train/sparse.h). */
#include "train/sparse.h"

#include <stdlib.h>
#include <string.h>

#include "penmark/model.h"
#include "train/varint.h"

static uint32_t f32_bits(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  return u;
}

/* Each value's index in the table of distinct values in order of first use
 * (malloc'd, nnz entries; NULL when out of memory); *nt gets the table's
 * size. An open-addressing hash of the bit patterns, at most half full. */
static uint32_t *codes_of(const float *val, uint32_t nnz, uint32_t *nt) {
  size_t cap = 16;
  while (cap < 2 * (size_t)nnz)
    cap *= 2;
  uint32_t *codes = malloc((nnz ? nnz : 1) * sizeof *codes);
  uint32_t *key = malloc(cap * sizeof *key);
  uint32_t *slot = calloc(cap, sizeof *slot); /* code + 1; 0 = empty */
  *nt = 0;
  if (!codes || !key || !slot) {
    free(codes);
    codes = NULL;
    goto out;
  }
  for (uint32_t k = 0; k < nnz; k++) {
    uint32_t b = f32_bits(val[k]);
    size_t h = (size_t)((b * 0x9E3779B1u) >> 7) & (cap - 1);
    while (slot[h] && key[h] != b)
      h = (h + 1) & (cap - 1);
    if (!slot[h]) {
      key[h] = b;
      slot[h] = ++*nt;
    }
    codes[k] = slot[h] - 1;
  }
out:
  free(key);
  free(slot);
  return codes;
}

static size_t gaps_len(const uint32_t *idx, uint32_t nnz) {
  size_t n = pm__varint_len(nnz);
  for (uint32_t k = 0, prev = 0; k < nnz; k++) {
    n += pm__varint_len(idx[k] - prev);
    prev = idx[k];
  }
  return n;
}

size_t pm__sparse_len(const uint32_t *idx, const float *val, uint32_t nnz) {
  uint32_t nt;
  uint32_t *codes = codes_of(val, nnz, &nt);
  if (!codes)
    return 0;
  size_t n = gaps_len(idx, nnz) + pm__varint_len(nt) + (size_t)nt * 4;
  for (uint32_t k = 0, used = 0; nt < nnz && k < nnz; k++) {
    bool first = codes[k] == used;
    used += first;
    n += first ? 1 : pm__varint_len(codes[k] + 1);
  }
  free(codes);
  return n;
}

size_t pm__sparse_put(unsigned char *p, const uint32_t *idx, const float *val,
                      uint32_t nnz) {
  uint32_t nt;
  uint32_t *codes = codes_of(val, nnz, &nt);
  if (!codes)
    return 0;
  unsigned char *s = p;
  p += pm__varint_put(p, nnz);
  for (uint32_t k = 0, prev = 0; k < nnz; k++) {
    p += pm__varint_put(p, idx[k] - prev);
    prev = idx[k];
  }
  p += pm__varint_put(p, nt);
  for (uint32_t k = 0, used = 0; k < nnz; k++)
    if (codes[k] == used) { /* first use: the table's next value */
      pm__put_f32(p, val[k]);
      p += 4;
      used++;
    }
  /* 0: the table's next value; c: its value c - 1 again */
  for (uint32_t k = 0, used = 0; nt < nnz && k < nnz; k++) {
    bool first = codes[k] == used;
    used += first;
    p += pm__varint_put(p, first ? 0 : codes[k] + 1);
  }
  free(codes);
  return (size_t)(p - s);
}

/* The values of PM__SPARSE_TABLE: the table, then a code per slot. */
static bool get_table_values(const unsigned char **p, const unsigned char *end,
                             uint32_t nnz, float *val, bool *oom) {
  uint64_t nt;
  if (!pm__varint_get(p, end, &nt) || nt > nnz || (nt == 0) != (nnz == 0) ||
      (size_t)(end - *p) / 4 < nt)
    return false;
  float *table = malloc((nt ? nt : 1) * sizeof *table);
  if (!table) {
    *oom = true;
    return false;
  }
  for (uint64_t t = 0; t < nt; t++, *p += 4)
    table[t] = pm__get_f32(*p);
  uint64_t used = 0;
  bool ok = true;
  for (uint32_t k = 0; ok && k < nnz; k++) {
    uint64_t c = 0; /* every value distinct: no codes, each the next */
    /* 0: the next value of the table; c: value c - 1, used before */
    ok = (nt == nnz || pm__varint_get(p, end, &c)) &&
         (c ? c <= used : used < nt);
    if (ok)
      val[k] = c ? table[c - 1] : table[used++];
  }
  free(table);
  return ok && used == nt;
}

bool pm__sparse_get(const unsigned char **p, const unsigned char *end,
                    uint32_t d, pm__sparse_coding coding, uint32_t *nnz,
                    uint32_t **idx, float **val, bool *oom) {
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
  if (coding == PM__SPARSE_TABLE)
    return get_table_values(p, end, *nnz, *val, oom);
  if ((size_t)(end - *p) < n * 4)
    return false;
  for (uint32_t k = 0; k < n; k++, *p += 4)
    (*val)[k] = pm__get_f32(*p);
  return true;
}
