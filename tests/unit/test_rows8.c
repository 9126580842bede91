/* Check suite: the cohort's weight rows in 8 bits (score/rows8.c). The
 * products stay within what rounding weights and mail to 8 bits in blocks
 * of 64 can change, also where the families' magnitudes differ by 10^4 and
 * d is no multiple of 64 (the vectors are allocated to d exactly, so that a
 * read past a row's or the mail's end shows under AddressSanitizer); the
 * AVX2 path and the plain one quantise alike and agree; non-finite weights
 * and an empty mail give no NaN. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score/profiles_internal.h"
#include "tests/support.h"

enum { N = 40, D = 1000, B = 64 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

/* Weights whose size changes from block to block by up to 10^4, as the
 * families' do; a few large ones in each block. */
static float *weights(void) {
  float *w = malloc((size_t)N * D * sizeof *w);
  ck_assert_ptr_nonnull(w);
  for (size_t r = 0; r < N; r++)
    for (size_t j = 0; j < D; j++) {
      double size = pow(10.0, (double)((j / B) % 5) - 2.0);
      double v = (uniform() - 0.5) * size;
      if (uniform() < 0.02)
        v *= 8.0;
      w[r * D + j] = (float)v;
    }
  return w;
}

/* A mail's vector: sparse, signed, with a dense tail of larger values (the
 * named features). */
static float *mail_vector(void) {
  float *x = calloc(D, sizeof *x);
  ck_assert_ptr_nonnull(x);
  for (int k = 0; k < 90; k++)
    x[(size_t)(uniform() * (D - 80))] = (float)((uniform() - 0.4) * 0.3);
  for (size_t j = D - 80; j < D; j++)
    x[j] = (float)(uniform() * 8.0);
  return x;
}

/* The float product, and the most rounding both sides in blocks of B to
 * 8 bits can change it by (half a unit of each, per element). */
static void exact(const float *w, const float *x, double *dot, double *bound) {
  *dot = 0.0;
  *bound = 0.0;
  for (size_t b = 0; b * B < D; b++) {
    size_t end = (b + 1) * B < D ? (b + 1) * B : D;
    double wt = 0.0, xt = 0.0, sx = 0.0, sw = 0.0;
    for (size_t j = b * B; j < end; j++) {
      *dot += (double)w[j] * x[j];
      wt = fmax(wt, fabs(w[j]));
      xt = fmax(xt, fabs(x[j]));
      sx += fabs(x[j]);
      sw += fabs(w[j]);
    }
    double uw = wt / 127.0, ux = xt / 127.0;
    *bound += uw / 2 * sx + ux / 2 * (sw + (double)(end - b * B) * uw / 2);
  }
  *bound = *bound * 1.001 + 1e-6;
}

static uint32_t all_rows[N];

static void fill_rows(void) {
  for (uint32_t i = 0; i < N; i++)
    all_rows[i] = N - 1 - i; /* any order: the cohort is not sorted by row */
}

START_TEST(products_within_the_rounding_bound) {
  float *w = weights(), *x = mail_vector();
  pm__rows8 r;
  ck_assert_int_eq(pm__rows8_make(w, N, D, &r, NULL), PM_OK);
  pm__rows8_query q = {0};
  ck_assert_int_eq(pm__rows8_query_set(&q, &r, x, NULL), PM_OK);
  fill_rows();
  float out[N];
  pm__rows8_dots(&r, &q, all_rows, N, out);
  double worst = 0.0, spread = 0.0;
  for (size_t i = 0; i < N; i++) {
    double dot, bound;
    exact(w + (size_t)all_rows[i] * D, x, &dot, &bound);
    ck_assert_msg(fabs(out[i] - dot) <= bound, "row %u: %g, float %g, bound %g",
                  all_rows[i], out[i], dot, bound);
    worst = fmax(worst, fabs(out[i] - dot));
    spread = fmax(spread, fabs(dot));
  }
  /* and the bound is not what lets it pass: the error is small beside the
   * products themselves */
  ck_assert_msg(worst < 0.02 * spread, "error %g beside products up to %g",
                worst, spread);
  pm__rows8_query_free(&q);
  pm__rows8_free(&r);
  free(w);
  free(x);
}
END_TEST

START_TEST(avx2_and_plain_agree) {
  if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
    return; /* only the plain path exists here */
  float *w = weights(), *x = mail_vector();
  pm__rows8 r;
  ck_assert_int_eq(pm__rows8_make(w, N, D, &r, NULL), PM_OK);
  ck_assert(r.avx2);
  pm__rows8_query qf = {0}, qp = {0};
  ck_assert_int_eq(pm__rows8_query_set(&qf, &r, x, NULL), PM_OK);
  fill_rows();
  float of[N], op[N];
  pm__rows8_dots(&r, &qf, all_rows, N, of);
  r.avx2 = false;
  ck_assert_int_eq(pm__rows8_query_set(&qp, &r, x, NULL), PM_OK);
  pm__rows8_dots(&r, &qp, all_rows, N, op);
  /* the same bytes (both round to nearest, ties to even), the same sums
   * up to the order of float additions */
  ck_assert_int_eq(memcmp(qf.q, qp.q, r.blocks * B), 0);
  ck_assert_int_eq(memcmp(qf.scale, qp.scale, r.blocks * sizeof(float)), 0);
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabsf(of[i] - op[i]) <= 1e-5f * (fabsf(op[i]) + 1e-3f),
                  "row %zu: avx2 %g, plain %g", i, of[i], op[i]);
  pm__rows8_query_free(&qf);
  pm__rows8_query_free(&qp);
  pm__rows8_free(&r);
  free(w);
  free(x);
}
END_TEST

START_TEST(rows_are_rounded_weights) {
  float *w = weights();
  pm__rows8 a;
  ck_assert_int_eq(pm__rows8_make(w, N, D, &a, NULL), PM_OK);
  ck_assert_uint_eq(a.blocks, (D + B - 1) / B);
  for (size_t r = 0; r < N; r++)
    for (size_t b = 0; b < a.blocks; b++) {
      const int8_t *q = a.q + (r * a.blocks + b) * B;
      float s = a.scale[r * a.blocks + b], top = 0.0f;
      size_t end = (b + 1) * B < D ? (b + 1) * B : D;
      for (size_t j = b * B; j < end; j++)
        top = fmaxf(top, fabsf(w[r * D + j]));
      ck_assert_float_eq(s, top / 127.0f);
      int peak = 0;
      for (size_t j = b * B; j < end; j++) {
        ck_assert_int_eq(q[j - b * B], lrintf(w[r * D + j] * (127.0f / top)));
        peak = abs(q[j - b * B]) > peak ? abs(q[j - b * B]) : peak;
      }
      ck_assert_int_eq(peak, 127); /* the range is used */
      for (size_t j = end; j < (b + 1) * B; j++)
        ck_assert_int_eq(q[j - b * B], 0); /* the short block's padding */
    }
  pm__rows8_free(&a);
  free(w);
}
END_TEST

START_TEST(non_finite_weights_and_empty_mail) {
  float *w = weights(), *x = mail_vector();
  w[3 * D + 70] = NAN;       /* row 3, block 1 */
  w[5 * D + 999] = INFINITY; /* row 5, the last (short) block */
  pm__rows8 r;
  ck_assert_int_eq(pm__rows8_make(w, N, D, &r, NULL), PM_OK);
  ck_assert(r.scale[3 * r.blocks + 1] == 0.0f);
  ck_assert(r.scale[5 * r.blocks + r.blocks - 1] == 0.0f);
  ck_assert(r.scale[3 * r.blocks] > 0.0f);
  pm__rows8_query q = {0};
  ck_assert_int_eq(pm__rows8_query_set(&q, &r, x, NULL), PM_OK);
  uint32_t rows[2] = {3, 5};
  float out[2];
  pm__rows8_dots(&r, &q, rows, 2, out);
  ck_assert(isfinite(out[0]) && isfinite(out[1]));
  /* row 3 without its bad block is what it is worth */
  double dot = 0.0;
  for (size_t j = 0; j < D; j++)
    if (j / B != 1)
      dot += (double)w[3 * D + j] * x[j];
  ck_assert_msg(fabs(out[0] - dot) < 0.02 * fabs(dot) + 1e-3, "%g vs %g",
                out[0], dot);
  /* a mail of zeros: every product exactly 0 */
  memset(x, 0, D * sizeof *x);
  ck_assert_int_eq(pm__rows8_query_set(&q, &r, x, NULL), PM_OK);
  fill_rows();
  float all[N];
  pm__rows8_dots(&r, &q, all_rows, N, all);
  for (size_t i = 0; i < N; i++)
    ck_assert(all[i] == 0.0f);
  /* no rows: nothing written */
  all[0] = 42.0f;
  pm__rows8_dots(&r, &q, all_rows, 0, all);
  ck_assert(all[0] == 42.0f);
  pm__rows8_query_free(&q);
  pm__rows8_free(&r);
  free(w);
  free(x);
}
END_TEST

START_TEST(empty_rows_and_reuse) {
  pm__rows8 r;
  ck_assert_int_eq(pm__rows8_make(NULL, 0, 0, &r, NULL), PM_OK);
  pm__rows8_free(&r);
  pm__rows8_free(&r); /* freeing twice is harmless: emptied */
  /* a query grows for a wider model and is kept for a narrower one */
  float *w = weights(), *x = mail_vector();
  pm__rows8 wide, narrow;
  ck_assert_int_eq(pm__rows8_make(w, N, D, &wide, NULL), PM_OK);
  ck_assert_int_eq(pm__rows8_make(w, N / 2, B, &narrow, NULL), PM_OK);
  pm__rows8_query q = {0};
  ck_assert_int_eq(pm__rows8_query_set(&q, &narrow, x, NULL), PM_OK);
  ck_assert_uint_eq(q.cap, 1);
  ck_assert_int_eq(pm__rows8_query_set(&q, &wide, x, NULL), PM_OK);
  ck_assert_uint_eq(q.cap, wide.blocks);
  uint32_t row = 0;
  float out;
  ck_assert_int_eq(pm__rows8_query_set(&q, &narrow, x, NULL), PM_OK);
  ck_assert_uint_eq(q.cap, wide.blocks);
  pm__rows8_dots(&narrow, &q, &row, 1, &out);
  double dot = 0.0;
  for (size_t j = 0; j < B; j++)
    dot += (double)w[j] * x[j];
  ck_assert_msg(fabs(out - dot) < 0.02 * fabs(dot) + 1e-4, "%g vs %g", out,
                dot);
  pm__rows8_query_free(&q);
  pm__rows8_free(&wide);
  pm__rows8_free(&narrow);
  free(w);
  free(x);
}
END_TEST

static Suite *rows8_suite(void) {
  Suite *s = suite_create("rows8");
  TCase *c = tcase_create("core");
  tcase_add_test(c, products_within_the_rounding_bound);
  tcase_add_test(c, avx2_and_plain_agree);
  tcase_add_test(c, rows_are_rounded_weights);
  tcase_add_test(c, non_finite_weights_and_empty_mail);
  tcase_add_test(c, empty_rows_and_reuse);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(rows8_suite()) != 0;
}
