/* The published model's blob format (see penmark/model.h). */
#include "penmark/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MODEL_MAGIC 0x444d4d50u /* "PMMD" */
#define MODEL_VERSION 3u
#define HEADER (40 + 8 * PM_CALIB_N + 8)
#define SENDER_FIXED 44 /* a sender's fields after the address */

void pm__model_free(pm__model *m) {
  for (uint32_t i = 0; m->senders && i < m->n_senders; i++)
    free(m->senders[i].address);
  free(m->senders);
  free(m->W);
  free(m->mean);
  free(m->named_mean);
  free(m->named_sd);
  free(m->genuine);
  free(m->cohort);
  memset(m, 0, sizeof *m);
}

static void put_f64(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  pm__put_u64(p, u);
}

static double get_f64(const unsigned char *p) {
  uint64_t u = pm__get_u64(p);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

static void put_floats(unsigned char **p, const float *v, size_t n) {
  for (size_t i = 0; i < n; i++, *p += 4)
    pm__put_f32(*p, v[i]);
}

void *pm__model_encode(const pm__model *m, size_t *len) {
  size_t n = HEADER;
  for (uint32_t i = 0; i < m->n_senders; i++)
    n += 4 + strlen(m->senders[i].address) + SENDER_FIXED;
  n += (size_t)m->n_ready * (2 * (size_t)m->d + 2 * (size_t)m->n_named) * 4;
  n += 4 + (size_t)m->n_genuine * 4;
  n += 4 + (size_t)m->n_ready * m->cohort_k * 4;
  unsigned char *b = malloc(n), *p = b;
  if (!b)
    return NULL;
  pm__put_u32(p, MODEL_MAGIC);
  pm__put_u32(p + 4, MODEL_VERSION);
  pm__put_u32(p + 8, m->d);
  pm__put_u32(p + 12, m->n_named);
  pm__put_u64(p + 16, m->config_hash);
  pm__put_u64(p + 24, m->mails);
  pm__put_u32(p + 32, m->n_senders);
  pm__put_u32(p + 36, m->n_ready);
  for (int k = 0; k < PM_CALIB_N; k++)
    put_f64(p + 40 + 8 * k, m->calib[k]);
  put_f64(p + 40 + 8 * PM_CALIB_N, m->threshold);
  p += HEADER;
  for (uint32_t i = 0; i < m->n_senders; i++) {
    const pm__model_sender *s = &m->senders[i];
    uint32_t al = (uint32_t)strlen(s->address);
    pm__put_u32(p, al);
    memcpy(p + 4, s->address, al);
    p += 4 + al;
    pm__put_u64(p, s->mails);
    pm__put_u64(p + 8, (uint64_t)s->last_trained);
    pm__put_u32(p + 16, (uint32_t)s->row);
    pm__put_f32(p + 20, s->bias);
    pm__put_f32(p + 24, s->imp_mean);
    pm__put_f32(p + 28, s->norm_sd);
    pm__put_f32(p + 32, s->gen_mean);
    pm__put_f32(p + 36, s->surf_mean);
    pm__put_f32(p + 40, s->surf_sd);
    p += SENDER_FIXED;
  }
  size_t r = m->n_ready;
  put_floats(&p, m->W, r * m->d);
  put_floats(&p, m->mean, r * m->d);
  put_floats(&p, m->named_mean, r * m->n_named);
  put_floats(&p, m->named_sd, r * m->n_named);
  pm__put_u32(p, m->n_genuine);
  p += 4;
  put_floats(&p, m->genuine, m->n_genuine);
  pm__put_u32(p, m->cohort_k);
  p += 4;
  for (size_t i = 0; i < (size_t)m->n_ready * m->cohort_k; i++, p += 4)
    pm__put_u32(p, m->cohort[i]);
  *len = (size_t)(p - b);
  return b;
}

static bool get_floats(const unsigned char **p, const unsigned char *end,
                       float **out, size_t n) {
  if ((size_t)(end - *p) < n * 4)
    return false;
  *out = malloc((n ? n : 1) * sizeof **out);
  if (!*out)
    return false;
  for (size_t i = 0; i < n; i++, *p += 4)
    (*out)[i] = pm__get_f32(*p);
  return true;
}

static pm_status corrupt_error(pm_error *err) {
  return pm_error_set(err, PM_CORRUPT, "model blob: truncated or damaged");
}

static pm_status nomem_error(pm_error *err) {
  return pm_error_set(err, PM_NOMEM, "out of memory");
}

/* One sender's entry at *p (its address, then SENDER_FIXED bytes), moving
 * *p past it. 1 when read, 0 when truncated or damaged, -1 when out of
 * memory. */
static int get_sender(const unsigned char **p, const unsigned char *end,
                      pm__model_sender *s, uint32_t n_ready) {
  const unsigned char *q = *p;
  if (end - q < 4)
    return 0;
  uint32_t al = pm__get_u32(q);
  q += 4;
  if ((size_t)(end - q) < (size_t)al + SENDER_FIXED)
    return 0;
  s->address = malloc(al + 1);
  if (!s->address)
    return -1;
  memcpy(s->address, q, al);
  s->address[al] = '\0';
  q += al;
  s->mails = pm__get_u64(q);
  s->last_trained = (int64_t)pm__get_u64(q + 8);
  s->row = (int32_t)pm__get_u32(q + 16);
  s->bias = pm__get_f32(q + 20);
  s->imp_mean = pm__get_f32(q + 24);
  s->norm_sd = pm__get_f32(q + 28);
  s->gen_mean = pm__get_f32(q + 32);
  s->surf_mean = pm__get_f32(q + 36);
  s->surf_sd = pm__get_f32(q + 40);
  *p = q + SENDER_FIXED;
  return s->row >= -1 && s->row < (int32_t)n_ready;
}

pm_status pm__model_decode(const void *blob, size_t len, pm__model *m,
                           pm_error *err) {
  const unsigned char *p = blob, *end = p + len;
  memset(m, 0, sizeof *m);
  if (len < HEADER || pm__get_u32(p) != MODEL_MAGIC)
    return pm_error_set(err, PM_CORRUPT, "model blob: bad header");
  if (pm__get_u32(p + 4) != MODEL_VERSION)
    return pm_error_set(err, PM_MISMATCH,
                        "model blob: version %u, this penmark reads %u "
                        "(train the tenant again)",
                        pm__get_u32(p + 4), MODEL_VERSION);
  m->d = pm__get_u32(p + 8);
  m->n_named = pm__get_u32(p + 12);
  m->config_hash = pm__get_u64(p + 16);
  m->mails = pm__get_u64(p + 24);
  m->n_senders = pm__get_u32(p + 32);
  m->n_ready = pm__get_u32(p + 36);
  for (int k = 0; k < PM_CALIB_N; k++)
    m->calib[k] = get_f64(p + 40 + 8 * k);
  m->threshold = get_f64(p + 40 + 8 * PM_CALIB_N);
  p += HEADER;
  if (m->n_ready > m->n_senders || m->n_senders > len / 40)
    goto corrupt;
  m->senders = calloc(m->n_senders ? m->n_senders : 1, sizeof *m->senders);
  if (!m->senders)
    goto nomem;
  for (uint32_t i = 0; i < m->n_senders; i++) {
    int got = get_sender(&p, end, &m->senders[i], m->n_ready);
    if (got <= 0) {
      pm__model_free(m);
      return got < 0 ? nomem_error(err) : corrupt_error(err);
    }
  }
  size_t r = m->n_ready;
  if (!get_floats(&p, end, &m->W, r * m->d) ||
      !get_floats(&p, end, &m->mean, r * m->d) ||
      !get_floats(&p, end, &m->named_mean, r * m->n_named) ||
      !get_floats(&p, end, &m->named_sd, r * m->n_named) || end - p < 4)
    goto corrupt;
  m->n_genuine = pm__get_u32(p);
  p += 4;
  if (m->n_genuine > PM_GENUINE_TABLE ||
      !get_floats(&p, end, &m->genuine, m->n_genuine) || end - p < 4)
    goto corrupt;
  m->cohort_k = pm__get_u32(p);
  p += 4;
  size_t nc = (size_t)m->n_ready * m->cohort_k;
  if (m->cohort_k > PM_COHORT || m->cohort_k >= (m->n_ready ? m->n_ready : 1) ||
      (size_t)(end - p) != nc * 4)
    goto corrupt;
  m->cohort = malloc((nc ? nc : 1) * sizeof *m->cohort);
  if (!m->cohort)
    goto nomem;
  for (size_t i = 0; i < nc; i++, p += 4) {
    m->cohort[i] = pm__get_u32(p);
    if (m->cohort[i] >= m->n_ready || m->cohort[i] == i / m->cohort_k)
      goto corrupt;
  }
  for (uint32_t i = 1; i < m->n_genuine; i++)
    if (!(m->genuine[i - 1] <= m->genuine[i]))
      goto corrupt;
  return PM_OK;
corrupt:
  pm__model_free(m);
  return corrupt_error(err);
nomem:
  pm__model_free(m);
  return nomem_error(err);
}

double pm__model_probability(const pm__model *m, double u, uint32_t chars,
                             double forms_against, double text_against) {
  double L = log1p((double)chars);
  double t = m->calib[0] + m->calib[1] * u + m->calib[2] * u * L +
             m->calib[3] * L + m->calib[4] * forms_against +
             m->calib[5] * text_against;
  double p = 1.0 / (1.0 + exp(-t));
  return isfinite(p) ? p : 0.5;
}

double pm__model_genuine_tail(const pm__model *m, double p) {
  /* the first genuine probability >= p */
  size_t lo = 0, hi = m->n_genuine;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if ((double)m->genuine[mid] < p)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (double)(m->n_genuine - lo + 1) / (double)(m->n_genuine + 1);
}

double pm__model_threshold_at(const pm__model *m, double rate) {
  if (m->n_genuine == 0)
    return m->threshold;
  double at = floor((1.0 - rate) * (double)m->n_genuine);
  size_t i = at < 0 ? 0 : (size_t)at;
  return m->genuine[i < m->n_genuine ? i : m->n_genuine - 1];
}

const pm__model_sender *pm__model_find(const pm__model *m, const char *addr) {
  size_t lo = 0, hi = m->n_senders;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(m->senders[mid].address, addr);
    if (c == 0)
      return &m->senders[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}
