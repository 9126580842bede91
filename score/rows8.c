/* The profiles' weight rows in 8 bits, for the cohort's dot products (see
 * score/profiles_internal.h). A tenant of thousands of senders keeps its
 * rows in main memory, not in the caches: a mail's 32 cohort rows of
 * float32 are most of what it reads (d x 4 bytes each). In 8 bits they are
 * a quarter of that, and with the mail in 8 bits too the products are
 * integer ones, 32 a step, so that the cohort costs about what fetching it
 * costs. The claimed sender's own row, on which the verdict rests, stays
 * float32. Each block of 64 weights (and of the mail) has its own scale:
 * the families' weights and values differ in size, and a block lies within
 * one family or two. */
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "score/profiles_internal.h"

enum { BLOCK = 64 };

static size_t blocks_of(size_t d) {
  return (d + BLOCK - 1) / BLOCK;
}

/* v[0..len) in 8 bits, rounded to nearest: its largest magnitude maps to
 * 127; the rest of the block (to BLOCK) is zeros. Returns the weight of a
 * unit; 0 for a block of zeros, or with a non-finite value (never produced
 * so). */
static float quantize_plain(const float *v, size_t len, int8_t *q) {
  float top = 0.0f;
  bool bad = false;
  for (size_t j = 0; j < len; j++) {
    float a = fabsf(v[j]);
    top = a > top ? a : top;
    bad |= !isfinite(a);
  }
  memset(q, 0, BLOCK);
  if (bad || top == 0.0f)
    return 0.0f;
  float inv = 127.0f / top;
  for (size_t j = 0; j < len; j++)
    q[j] = (int8_t)lrintf(v[j] * inv);
  return top / 127.0f;
}

/* The same for a whole block, 8 values a step: a mail's vector is
 * quantised for every mail. */
__attribute__((target("avx2,fma"))) static float quantize_avx2(const float *v,
                                                               int8_t *q) {
  const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 huge = _mm256_set1_ps(3.4e38f);
  __m256 top = _mm256_setzero_ps(), bad = _mm256_setzero_ps();
  for (size_t i = 0; i < BLOCK; i += 8) {
    __m256 a = _mm256_and_ps(_mm256_loadu_ps(v + i), abs);
    top = _mm256_max_ps(top, a);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(a, huge, _CMP_NLE_UQ));
  }
  __m128 h =
      _mm_max_ps(_mm256_castps256_ps128(top), _mm256_extractf128_ps(top, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
  float t = _mm_cvtss_f32(h);
  if (_mm256_movemask_ps(bad) || t == 0.0f) {
    memset(q, 0, BLOCK);
    return 0.0f;
  }
  const __m256 inv = _mm256_set1_ps(127.0f / t);
  /* 32 values a step, packed 32 -> 16 -> 8 bits; packing works within
   * 128-bit lanes, the permutation puts the 8 groups of 4 back in order */
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (size_t i = 0; i < BLOCK; i += 32) {
    __m256i r[4];
    for (size_t k = 0; k < 4; k++)
      r[k] = _mm256_cvtps_epi32(
          _mm256_mul_ps(_mm256_loadu_ps(v + i + 8 * k), inv));
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]),
                                   _mm256_packs_epi32(r[2], r[3]));
    _mm256_storeu_si256((__m256i *)(void *)(q + i),
                        _mm256_permutevar8x32_epi32(p, order));
  }
  return t / 127.0f;
}

static float quantize(bool avx2, const float *v, size_t len, int8_t *q) {
  return avx2 && len == BLOCK ? quantize_avx2(v, q) : quantize_plain(v, len, q);
}

/* The integer product of two blocks. */
static int32_t block_plain(const int8_t *w, const int8_t *x) {
  int32_t t = 0;
  for (size_t i = 0; i < BLOCK; i++)
    t += (int32_t)w[i] * x[i];
  return t;
}

static float dot_plain(const int8_t *w, const float *ws, const int8_t *next,
                       const pm__rows8_query *x, size_t nb) {
  (void)next;
  float a = 0.0f;
  for (size_t b = 0; b < nb; b++)
    if (x->scale[b] != 0.0f)
      a += ws[b] * x->scale[b] *
           (float)block_plain(w + b * BLOCK, x->q + b * BLOCK);
  return a;
}

/* 32 products a step: maddubs multiplies unsigned by signed bytes, so the
 * weight's sign moves to the mail's byte (|w| * sign(w) x); pairs of
 * products (at most 2 x 127 x 127) fit in 16 bits, and madd sums them into
 * 32. A row to come (next) is fetched meanwhile, a cache line a block:
 * rows spread over main memory would otherwise each start with a string of
 * misses. */
__attribute__((target("avx2,fma"))) static float
dot_avx2(const int8_t *w, const float *ws, const int8_t *next,
         const pm__rows8_query *x, size_t nb) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 a = _mm256_setzero_ps();
  for (size_t b = 0; b < nb; b++) {
    if (next)
      _mm_prefetch((const char *)(next + b * BLOCK), _MM_HINT_T1);
    if (x->scale[b] == 0.0f)
      continue;
    const int8_t *wb = w + b * BLOCK, *xb = x->q + b * BLOCK;
    __m256i t = _mm256_setzero_si256();
    for (size_t i = 0; i < BLOCK; i += 32) {
      __m256i wv = _mm256_loadu_si256((const __m256i *)(const void *)(wb + i));
      __m256i xv = _mm256_loadu_si256((const __m256i *)(const void *)(xb + i));
      __m256i p =
          _mm256_maddubs_epi16(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
      t = _mm256_add_epi32(t, _mm256_madd_epi16(p, ones));
    }
    a = _mm256_fmadd_ps(_mm256_set1_ps(ws[b] * x->scale[b]),
                        _mm256_cvtepi32_ps(t), a);
  }
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
  return _mm_cvtss_f32(h);
}

pm_status pm__rows8_make(const float *W, size_t n, size_t d, pm__rows8 *out,
                         pm_error *err) {
  size_t nb = blocks_of(d);
  memset(out, 0, sizeof *out);
  out->q = malloc(n > 0 && nb > 0 ? n * nb * BLOCK : 1);
  out->scale = malloc(n > 0 && nb > 0 ? n * nb * sizeof *out->scale : 1);
  out->d = d;
  out->blocks = nb;
  out->avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!out->q || !out->scale) {
    pm__rows8_free(out);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  for (size_t r = 0; r < n; r++)
    for (size_t b = 0; b < nb; b++) {
      size_t len = d - b * BLOCK < BLOCK ? d - b * BLOCK : BLOCK;
      /* once per load: the plain path, the one the tests read */
      out->scale[r * nb + b] = quantize_plain(W + r * d + b * BLOCK, len,
                                              out->q + (r * nb + b) * BLOCK);
    }
  return PM_OK;
}

void pm__rows8_free(pm__rows8 *r) {
  free(r->q);
  free(r->scale);
  r->q = NULL;
  r->scale = NULL;
}

pm_status pm__rows8_query_set(pm__rows8_query *x, const pm__rows8 *r,
                              const float *v, pm_error *err) {
  size_t nb = r->blocks;
  if (x->cap < nb) {
    int8_t *q = malloc(nb * BLOCK);
    float *s = malloc(nb * sizeof *s);
    if (!q || !s) {
      free(q);
      free(s);
      return pm_error_set(err, PM_NOMEM, "out of memory");
    }
    pm__rows8_query_free(x);
    x->q = q;
    x->scale = s;
    x->cap = nb;
  }
  for (size_t b = 0; b < nb; b++) {
    size_t len = r->d - b * BLOCK < BLOCK ? r->d - b * BLOCK : BLOCK;
    x->scale[b] = quantize(r->avx2, v + b * BLOCK, len, x->q + b * BLOCK);
  }
  return PM_OK;
}

void pm__rows8_query_free(pm__rows8_query *x) {
  free(x->q);
  free(x->scale);
  x->q = NULL;
  x->scale = NULL;
  x->cap = 0;
}

void pm__rows8_dots(const pm__rows8 *r, const pm__rows8_query *x,
                    const uint32_t *rows, size_t k, float *out) {
  size_t stride = r->blocks * BLOCK;
  /* two rows ahead: the first two fetched before, each later one while the
   * one two before it is multiplied */
  for (size_t i = 0; i < k && i < 2; i++)
    for (size_t j = 0; j < stride; j += BLOCK)
      __builtin_prefetch(r->q + (size_t)rows[i] * stride + j);
  for (size_t i = 0; i < k; i++) {
    const int8_t *next = i + 2 < k ? r->q + (size_t)rows[i + 2] * stride : NULL;
    const int8_t *w = r->q + (size_t)rows[i] * stride;
    const float *ws = r->scale + (size_t)rows[i] * r->blocks;
    out[i] = r->avx2 ? dot_avx2(w, ws, next, x, r->blocks)
                     : dot_plain(w, ws, next, x, r->blocks);
  }
}
