/* The tenant moments' row form (train/gram.c): replaying the stored rows
 * gives the same Gram matrix and sums to the bit as adding them did, across
 * commits and with rows referring to samples; the dense triangle takes over
 * once it is the smaller; damaged blobs are refused. The sparse vectors of
 * rows and samples (train/sparse.c): the values' table gives the same bits
 * back, in fewer bytes than a float32 per slot; the float32 coding of older
 * blobs is read; damaged codes are refused. */
#include "train/gram.h"
#include "penmark/model.h"
#include "train/sparse.h"

#include "tests/support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define D 1024

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* A sparse row: about one slot in `every` set. */
static unsigned every = 50;
static void make_row(float *x) {
  for (int j = 0; j < D; j++)
    x[j] = next() % every == 0 ? (float)((int)(next() % 2001) - 1000) / 997.0f
                               : 0.0f;
}

static void same(pm__gram *a, pm__gram *b) {
  pm__gram_flush(a);
  pm__gram_flush(b);
  ck_assert_uint_eq(a->n, b->n);
  ck_assert(memcmp(a->sum, b->sum, D * sizeof *a->sum) == 0);
  for (int i = 0; i < D; i++)
    ck_assert_msg(memcmp(a->G + i * D + i, b->G + i * D + i,
                         (size_t)(D - i) * sizeof(float)) == 0,
                  "row %d of G differs", i);
}

/* Every even row "is in its sender's sample": written as a reference,
 * resolved from the copy kept here. */
static float kept[2000][D];
static int even_in_sample(void *ctx, const pm__gram_row *r) {
  (void)ctx;
  return r->key % 2 == 0;
}
static pm_status from_kept(void *ctx, pm__gram_row *r, pm_error *err) {
  (void)ctx;
  (void)err;
  const float *x = kept[r->key];
  r->nnz = 0;
  r->idx = malloc(D * sizeof *r->idx);
  r->val = malloc(D * sizeof *r->val);
  for (uint32_t j = 0; j < D; j++)
    if (x[j] != 0.0f) {
      r->idx[r->nnz] = j;
      r->val[r->nnz++] = x[j];
    }
  return PM_OK;
}

START_TEST(rows_replay_exactly) {
  pm__gram ref, g;
  pm_error err;
  ck_assert(pm__gram_init(&ref, D));
  ck_assert(pm__gram_init(&g, D));
  uint64_t key = 0;
  /* three commits of uneven sizes: blocks of 256 and shorter ones */
  const int sizes[] = {300, 7, 129};
  for (int c = 0; c < 3; c++) {
    for (int i = 0; i < sizes[c]; i++, key++) {
      make_row(kept[key]);
      ck_assert(pm__gram_add(&ref, kept[key], 1 + (int64_t)(key % 3), key));
      ck_assert(pm__gram_add(&g, kept[key], 1 + (int64_t)(key % 3), key));
    }
    size_t len;
    void *blob = pm__gram_encode(&g, even_in_sample, NULL, &len);
    ck_assert_ptr_nonnull(blob);
    ck_assert(g.rows_on);
    pm__gram_free(&g);
    ck_assert_int_eq(pm__gram_decode(blob, len, D, &g, from_kept, NULL, &err),
                     PM_OK);
    /* without a way to the samples, references cannot be resolved */
    pm__gram bad;
    ck_assert_int_eq(pm__gram_decode(blob, len, D, &bad, NULL, NULL, &err),
                     PM_CORRUPT);
    /* a cut blob is refused, never read past its end */
    for (size_t cut = 1; cut < 200; cut += 37)
      ck_assert_int_ne(
          pm__gram_decode(blob, len - cut, D, &bad, from_kept, NULL, &err),
          PM_OK);
    free(blob);
    same(&ref, &g);
  }
  pm__gram_free(&ref);
  pm__gram_free(&g);
}
END_TEST

START_TEST(dense_when_smaller) {
  pm__gram ref, g;
  pm_error err;
  ck_assert(pm__gram_init(&ref, D));
  ck_assert(pm__gram_init(&g, D));
  /* the dense triangle of D=1024 is about 2.1 MB: 1,000 half-full rows of
   * about 2.6 kB each pass it */
  every = 2;
  for (uint64_t key = 0; key < 1000; key++) {
    make_row(kept[key]);
    ck_assert(pm__gram_add(&ref, kept[key], 1, key));
    ck_assert(pm__gram_add(&g, kept[key], 1, key));
  }
  ck_assert(!g.rows_on);
  size_t len;
  void *blob = pm__gram_encode(&g, NULL, NULL, &len);
  ck_assert_uint_eq(len, 24 + D * 8 + D * (D + 1) / 2 * 4);
  pm__gram_free(&g);
  ck_assert_int_eq(pm__gram_decode(blob, len, D, &g, NULL, NULL, &err), PM_OK);
  free(blob);
  same(&ref, &g);
  uint64_t n = 0;
  ck_assert_int_eq(
      pm__gram_blob_count(blob = pm__gram_encode(&g, NULL, NULL, &len), len, &n,
                          &err),
      PM_OK);
  ck_assert_uint_eq(n, 1000);
  free(blob);
  pm__gram_free(&ref);
  pm__gram_free(&g);
}
END_TEST

/* A folded vector: most values one of a few (+-w, +-w sqrt 2, ...), a named
 * block of distinct ones at the end. */
static uint32_t sp_idx[600];
static float sp_val[600];
static uint32_t folded(void) {
  uint32_t n = 0;
  const float w[4] = {0.0659380481f, -0.0659380481f, 0.0932515f, 1.0f};
  for (uint32_t j = 0; j < 500; j++)
    if (next() % 3 == 0) {
      sp_idx[n] = j;
      sp_val[n++] = w[next() % 4];
    }
  for (uint32_t j = 500; j < 600; j += 2) {
    sp_idx[n] = j;
    sp_val[n++] = sqrtf((float)j / 7.0f);
  }
  return n;
}

static void decode_same(const unsigned char *blob, size_t len, uint32_t nnz,
                        pm__sparse_coding coding) {
  const unsigned char *p = blob;
  uint32_t n, *idx;
  float *val;
  bool oom;
  ck_assert(pm__sparse_get(&p, blob + len, D, coding, &n, &idx, &val, &oom));
  ck_assert(p == blob + len);
  ck_assert_uint_eq(n, nnz);
  ck_assert(memcmp(idx, sp_idx, nnz * sizeof *idx) == 0);
  ck_assert(memcmp(val, sp_val, nnz * sizeof *val) == 0);
  free(idx);
  free(val);
}

START_TEST(sparse_table_same_bits) {
  unsigned char blob[8192];
  uint32_t nnz = folded();
  size_t len = pm__sparse_len(sp_idx, sp_val, nnz);
  ck_assert_uint_eq(pm__sparse_put(blob, sp_idx, sp_val, nnz), len);
  decode_same(blob, len, nnz, PM__SPARSE_TABLE);
  /* a float32 per slot would take nnz * 4 bytes for the values alone; the
   * table takes 4 per distinct value and about one per slot */
  ck_assert_uint_lt(len, (size_t)nnz * 2 + 55 * 4 + 16);
  /* every value distinct: no codes, a float32 and the count */
  for (uint32_t k = 0; k < nnz; k++)
    sp_val[k] = (float)(k + 1) / 3.0f;
  len = pm__sparse_len(sp_idx, sp_val, nnz);
  ck_assert_uint_eq(pm__sparse_put(blob, sp_idx, sp_val, nnz), len);
  ck_assert_uint_le(len, (size_t)nnz * 4 + nnz * 2 + 4);
  decode_same(blob, len, nnz, PM__SPARSE_TABLE);
  /* the empty vector */
  ck_assert_uint_eq(pm__sparse_put(blob, sp_idx, sp_val, 0), 2);
  decode_same(blob, 2, 0, PM__SPARSE_TABLE);
}
END_TEST

START_TEST(sparse_f32_read) {
  /* as blobs were written before the table: gaps, then a float32 each */
  unsigned char blob[64];
  uint32_t nnz = 3;
  sp_idx[0] = 2, sp_idx[1] = 3, sp_idx[2] = 200;
  sp_val[0] = 0.5f, sp_val[1] = 0.5f, sp_val[2] = -1.25f;
  unsigned char *p = blob;
  *p++ = 3, *p++ = 2, *p++ = 1, *p++ = 0x80 | (197 & 0x7f), *p++ = 197 >> 7;
  for (uint32_t k = 0; k < nnz; k++, p += 4)
    pm__put_f32(p, sp_val[k]);
  decode_same(blob, (size_t)(p - blob), nnz, PM__SPARSE_F32);
}
END_TEST

static bool get_fails(const unsigned char *blob, size_t len) {
  const unsigned char *p = blob;
  uint32_t n, *idx;
  float *val;
  bool oom;
  bool ok =
      pm__sparse_get(&p, blob + len, D, PM__SPARSE_TABLE, &n, &idx, &val, &oom);
  free(idx);
  free(val);
  return !ok && !oom;
}

START_TEST(sparse_damaged_refused) {
  /* 3 slots at 1, 2, 3; two values a, b; codes 0 (a), 0 (b), 1 (a) */
  unsigned char good[] = {3,    1, 1, 1, 2,    0, 0, 0x80,
                          0x3f, 0, 0, 0, 0x40, 0, 0, 1};
  size_t len = sizeof good;
  sp_idx[0] = 1, sp_idx[1] = 2, sp_idx[2] = 3;
  sp_val[0] = 1.0f, sp_val[1] = 2.0f, sp_val[2] = 1.0f;
  decode_same(good, len, 3, PM__SPARSE_TABLE);
  unsigned char bad[sizeof good];
  for (size_t cut = 0; cut < len; cut++)
    ck_assert_msg(get_fails(good, cut), "truncated at %zu read", cut);
  memcpy(bad, good, len);
  bad[len - 1] = 3; /* a value not used before */
  ck_assert(get_fails(bad, len));
  memcpy(bad, good, len);
  bad[len - 2] = 1; /* b never used: a table value left over */
  ck_assert(get_fails(bad, len));
  memcpy(bad, good, len);
  bad[4] = 4; /* more values than slots */
  ck_assert(get_fails(bad, len));
  memcpy(bad, good, len);
  bad[len - 3] = 1; /* a value "again" before any first use */
  ck_assert(get_fails(bad, len));
}
END_TEST

int main(void) {
  Suite *s = suite_create("gram");
  TCase *tc = tcase_create("rows");
  tcase_add_test(tc, rows_replay_exactly);
  tcase_add_test(tc, dense_when_smaller);
  suite_add_tcase(s, tc);
  TCase *sp = tcase_create("sparse");
  tcase_add_test(sp, sparse_table_same_bits);
  tcase_add_test(sp, sparse_f32_read);
  tcase_add_test(sp, sparse_damaged_refused);
  suite_add_tcase(s, sp);
  return pm_test_run_suite(s) != 0;
}
