/* Scoring a mail against its claimed sender (see include/penmark/score.h). */
#include <cblas.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "penmark/model.h"
#include "score/profiles_internal.h"

/* Own text shorter than this (characters) is too little to judge: a name, a
 * "thanks". BEC openers ("are you at your desk?") are longer, and the
 * evaluation reports short mails apart. */
#define PM_MIN_OWN_CHARS 8

struct pm_scorer {
  const pm_config *cfg;
  uint64_t hash;
  pm_extractor *x;
  pm_features *f;
  float *vec;         /* the mail's model vector */
  pm__rows8_query xq; /* vec in 8 bits, for the cohort */
  float *scores;      /* the claimed sender's raw score, then its cohort's */
  size_t scores_cap;
  double flag_rate;
};

pm_status pm_scorer_set_flag_rate(pm_scorer *s, double rate, pm_error *err) {
  if (!(rate > 0.0 && rate <= 0.5))
    return pm_error_set(err, PM_INVAL,
                        "false-alarm rate %g: expected a share in (0, 0.5]",
                        rate);
  s->flag_rate = rate;
  return PM_OK;
}

const char *pm_verdict_name(pm_verdict v) {
  switch (v) {
  case PM_VERDICT_GENUINE:
    return "genuine";
  case PM_VERDICT_IMPERSONATION:
    return "impersonation";
  case PM_VERDICT_UNKNOWN_SENDER:
    return "unknown_sender";
  case PM_VERDICT_PROFILE_NOT_READY:
    return "profile_not_ready";
  case PM_VERDICT_TOO_LITTLE_TEXT:
    return "too_little_text";
  }
  return "unknown";
}

bool pm_verdict_abstains(pm_verdict v) {
  return v != PM_VERDICT_GENUINE && v != PM_VERDICT_IMPERSONATION;
}

pm_status pm_scorer_new(const pm_config *cfg, pm_scorer **out, pm_error *err) {
  *out = NULL;
  pm_scorer *s = calloc(1, sizeof *s);
  if (!s)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  s->cfg = cfg;
  s->hash = pm_config_hash(cfg);
  s->flag_rate = PM_DEFAULT_FLAG_RATE;
  pm_status rc = pm_extractor_new(cfg, &s->x, err);
  if (rc == PM_OK) {
    s->f = pm_features_new();
    s->vec = malloc(pm_config_vector_dim(cfg) * sizeof *s->vec);
    if (!s->f || !s->vec)
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
  }
  if (rc != PM_OK) {
    pm_scorer_free(s);
    return rc;
  }
  *out = s;
  return PM_OK;
}

void pm_scorer_free(pm_scorer *s) {
  if (!s)
    return;
  pm_extractor_free(s->x);
  pm_features_free(s->f);
  free(s->vec);
  free(s->scores);
  pm__rows8_query_free(&s->xq);
  free(s);
}

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static size_t utf8_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += ((unsigned char)s[i] & 0xC0) != 0x80;
  return c;
}

/* The claimed sender as stored: exactly, or lower-cased (addresses are kept
 * lower-cased; corpus labels as their directories are named). */
static const pm__model_sender *find_sender(const pm__model *m, char *claimed) {
  const pm__model_sender *s = pm__model_find(m, claimed);
  if (s)
    return s;
  for (char *c = claimed; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  return pm__model_find(m, claimed);
}

/* The claimed sender's raw score in s->scores[0], and its cohort's after
 * it, for the closest other sender of the explanation: a fixed cost,
 * whatever the tenant's size. False when out of memory. */
static bool cohort_scores(pm_scorer *s, const pm_profiles *p,
                          const pm__model_sender *snd) {
  const pm__model *m = &p->m;
  uint32_t k = m->cohort_k;
  if (s->scores_cap < (size_t)k + 1) {
    float *ns = realloc(s->scores, ((size_t)k + 1) * sizeof *ns);
    if (!ns)
      return false;
    s->scores = ns;
    s->scores_cap = (size_t)k + 1;
  }
  const uint32_t *cohort = m->cohort + (size_t)snd->row * k;
  s->scores[0] =
      cblas_sdot((int)m->d, m->W + (size_t)snd->row * m->d, 1, s->vec, 1);
  /* the cohort only names the closest other sender: 8 bits do */
  if (k > 0) {
    if (pm__rows8_query_set(&s->xq, &p->w8, s->vec, NULL) != PM_OK)
      return false;
    pm__rows8_dots(&p->w8, &s->xq, cohort, k, s->scores + 1);
  }
  return true;
}

/* The surface (greeting, closing block) only as evidence against: its
 * named features and its text against the sender's habits. */
static void surface_evidence(const pm_scorer *s, const pm_profiles *p,
                             const pm__model_sender *snd,
                             pm_score_result *out) {
  const pm__model *m = &p->m;
  out->surface_against = pm__model_surface_against(
      pm_features_named(s->f), m->named_mean + (size_t)snd->row * m->n_named,
      p->tenant_named, (double)snd->mails, false);
  uint32_t so = pm_config_hashed_offset(s->cfg, PM_FAM_SURFACE);
  uint32_t sd = pm_config_hashed_dim(s->cfg, PM_FAM_SURFACE);
  double cosine =
      pm__model_cosine(s->vec + so, s->vec + so, sd) > 0
          ? pm__model_cosine(s->vec + so,
                             m->mean + (size_t)snd->row * m->d + so, sd)
          : NAN;
  out->surface_text_against =
      pm__model_surface_text_against(cosine, snd->surf_mean, snd->surf_sd);
}

/* The cohort sender the mail reads most like, on the same scale as the
 * claimed sender's z; none when no one reads more like it. */
static void closest_in_cohort(const pm_scorer *s, const pm_profiles *p,
                              const pm__model_sender *snd, double z,
                              pm_score_result *out) {
  const pm__model *m = &p->m;
  uint32_t k = m->cohort_k;
  const uint32_t *cohort = m->cohort + (size_t)snd->row * k;
  double best = z;
  for (uint32_t i = 0; i < k; i++) {
    const pm__model_sender *o = p->by_row[cohort[i]];
    double zo = ((double)s->scores[i + 1] + o->bias - o->imp_mean) / o->norm_sd;
    if (zo > best) {
      best = zo;
      snprintf(out->closest, sizeof out->closest, "%s", o->address);
      out->closest_score = -zo;
    }
  }
}

pm_status pm_score_mail(pm_scorer *s, const pm_profiles *p, const pm_mail *mail,
                        const char *claimed, pm_score_result *out,
                        pm_error *err) {
  int64_t t0 = now_us();
  memset(out, 0, sizeof *out);
  if (s->hash != p->hash)
    return pm_error_set(err, PM_MISMATCH,
                        "the scorer's configuration differs from the "
                        "profiles'");
  const pm__model *m = &p->m;
  out->flag_rate = s->flag_rate;
  out->threshold = s->flag_rate == PM_DEFAULT_FLAG_RATE
                       ? m->threshold
                       : pm__model_threshold_at(m, s->flag_rate);
  out->probability = 0.5;
  out->genuine_share = 1.0;
  out->one_in = 1;
  snprintf(out->sender, sizeof out->sender, "%s",
           claimed && claimed[0] ? claimed : pm_mail_sender(mail));
  size_t len;
  const char *text = pm_mail_own_text(mail, &len);
  out->own_chars = utf8_chars(text, len);
  const pm__model_sender *snd = find_sender(m, out->sender);
  if (!snd) {
    out->verdict = PM_VERDICT_UNKNOWN_SENDER;
    goto done;
  }
  out->profile_mails = snd->mails;
  out->profile_last_trained = snd->last_trained;
  if (snd->row < 0) {
    out->verdict = PM_VERDICT_PROFILE_NOT_READY;
    goto done;
  }
  pm_status rc = pm_extract_mail(s->x, mail, s->f, err);
  if (rc != PM_OK)
    return rc;
  out->language = pm_features_language(s->f);
  if (out->own_chars < PM_MIN_OWN_CHARS) {
    out->verdict = PM_VERDICT_TOO_LITTLE_TEXT;
    goto done;
  }
  pm__model_vector(s->f, s->vec);
  if (!cohort_scores(s, p, snd))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  double r = (double)s->scores[0] + snd->bias;
  double z = (r - snd->imp_mean) / snd->norm_sd;
  out->score = -z;
  surface_evidence(s, p, snd, out);
  /* calibrated on the length of the body, which is what the score read */
  out->probability = pm__model_probability(
      m, out->score, (uint32_t)pm_features_own_chars(s->f),
      out->surface_against, out->surface_text_against);
  out->verdict = out->probability >= out->threshold ? PM_VERDICT_IMPERSONATION
                                                    : PM_VERDICT_GENUINE;
  out->genuine_share = pm__model_genuine_tail(m, out->probability);
  out->one_in = (uint64_t)llround(1.0 / out->genuine_share);
  closest_in_cohort(s, p, snd, z, out);
  pm__reasons(p, snd, s->vec, pm_features_named(s->f), out);
done:
  out->elapsed_us = now_us() - t0;
  return PM_OK;
}
