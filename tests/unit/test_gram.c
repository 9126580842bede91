/* The tenant moments' row form (train/gram.c): replaying the stored rows
 * gives the same Gram matrix and sums to the bit as adding them did, across
 * commits and with rows referring to samples; the dense triangle takes over
 * once it is the smaller; damaged blobs are refused. */
#include "train/gram.h"

#include "tests/support.h"

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
  ck_assert_int_eq(pm__gram_blob_count(blob = pm__gram_encode(&g, NULL, NULL,
                                                              &len),
                                       len, &n, &err),
                   PM_OK);
  ck_assert_uint_eq(n, 1000);
  free(blob);
  pm__gram_free(&ref);
  pm__gram_free(&g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gram");
  TCase *tc = tcase_create("rows");
  tcase_add_test(tc, rows_replay_exactly);
  tcase_add_test(tc, dense_when_smaller);
  suite_add_tcase(s, tc);
  return pm_test_run_suite(s) != 0;
}
