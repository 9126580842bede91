/* Reasons: the sender's habits that a mail breaks, in words.
 *
 * A sender's score is a sum over the model vector, so each feature's part in
 * pulling the mail away from the sender is exact: the weight times the
 * mail's distance from the sender's mean. The features (or groups: the
 * greeting forms, the sign-off forms, each hashed family) that pull the
 * most are the reasons, phrased from the raw named values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "score/profiles_internal.h"

typedef struct {
  double pull;  /* negative: towards "not this sender" */
  long feature; /* named index, or -1 - family for a hashed family */
  int group;    /* 0 none, 1 greeting, 2 sign-off */
} candidate;

static int group_of(const char *name) {
  if (!strncmp(name, "greeting:", 9))
    return PM_GROUP_GREETING;
  if (!strncmp(name, "signoff:", 8))
    return PM_GROUP_SIGNOFF;
  return PM_GROUP_NONE;
}

/* The sender's most used form of a group: the first form with the highest
 * mean, unless "none" is used more still. Depends on the profile only. */
static long habit_of(const pm__group *g, const float *mu) {
  long habit = -1;
  for (size_t k = 0; k < g->n_forms; k++) {
    uint32_t j = g->forms[k];
    if (habit < 0 || mu[j] > mu[habit])
      habit = (long)j;
  }
  if (g->none >= 0 && (habit < 0 || mu[g->none] > mu[habit]))
    habit = g->none;
  return habit;
}

static pm_status prepare_group(pm_profiles *p, int group) {
  const pm__model *m = &p->m;
  pm__group *g = &p->groups[group];
  const char *prefix = group == PM_GROUP_GREETING ? "greeting:" : "signoff:";
  size_t plen = strlen(prefix);
  g->forms = malloc((m->n_named ? m->n_named : 1) * sizeof *g->forms);
  g->habit = malloc((m->n_ready ? m->n_ready : 1) * sizeof *g->habit);
  if (!g->forms || !g->habit)
    return PM_NOMEM;
  g->none = -1;
  for (uint32_t j = 0; j < m->n_named; j++) {
    if (p->named_group[j] != group)
      continue;
    if (!strcmp(pm_named_name(j) + plen, "none"))
      g->none = (long)j;
    else
      g->forms[g->n_forms++] = j;
  }
  for (uint32_t row = 0; row < m->n_ready; row++)
    g->habit[row] = habit_of(g, m->named_mean + (size_t)row * m->n_named);
  return PM_OK;
}

pm_status pm__reasons_prepare(pm_profiles *p, pm_error *err) {
  const pm__model *m = &p->m;
  p->named_group = calloc(m->n_named ? m->n_named : 1, 1);
  if (!p->named_group)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  for (uint32_t j = 0; j < m->n_named; j++)
    p->named_group[j] = (uint8_t)group_of(pm_named_name(j));
  if (prepare_group(p, PM_GROUP_GREETING) != PM_OK ||
      prepare_group(p, PM_GROUP_SIGNOFF) != PM_OK)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

void pm__reasons_release(pm_profiles *p) {
  free(p->named_group);
  for (int g = 0; g < PM_GROUP__COUNT; g++) {
    free(p->groups[g].forms);
    free(p->groups[g].habit);
  }
}

/* The quoted form inside a label ('greeting "Hi"' gives Hi), or the label. */
static void form_of(const char *label, char *out, size_t cap) {
  const char *a = strchr(label, '"');
  const char *b = a ? strchr(a + 1, '"') : NULL;
  if (a && b)
    snprintf(out, cap, "\"%.*s\"", (int)(b - a - 1), a + 1);
  else
    snprintf(out, cap, "%s", label);
}

/* Greeting or sign-off: the form this mail uses against the sender's
 * habitual one. */
static void group_reason(const pm_profiles *p, const pm__model_sender *s,
                         int group, const float *named, pm_reason *out) {
  const pm__model *m = &p->m;
  const float *mu = m->named_mean + (size_t)s->row * m->n_named;
  const pm__group *g = &p->groups[group];
  long seen = -1, habit = g->habit[s->row], none = g->none;
  for (size_t k = 0; k < g->n_forms && seen < 0; k++)
    if (named[g->forms[k]] > 0.5f)
      seen = (long)g->forms[k];
  char used[96], usual[96];
  const char *what = group == PM_GROUP_GREETING ? "greeting" : "sign-off";
  if (seen >= 0)
    form_of(pm_named_label((size_t)seen), used, sizeof used);
  if (habit >= 0 && habit != none)
    form_of(pm_named_label((size_t)habit), usual, sizeof usual);
  double share = habit >= 0 ? 100.0 * mu[habit] : 0.0;
  snprintf(out->feature, sizeof out->feature, "%s",
           group == PM_GROUP_GREETING ? "greeting" : "signoff");
  if (habit == none)
    snprintf(out->text, sizeof out->text,
             "%s %s — this sender uses no %s in %.0f%% of %llu mails", what,
             seen >= 0 ? used : "(none)", what, share,
             (unsigned long long)s->mails);
  else if (seen < 0)
    snprintf(out->text, sizeof out->text,
             "no %s — this sender uses %s in %.0f%% of %llu mails", what, usual,
             share, (unsigned long long)s->mails);
  else
    snprintf(out->text, sizeof out->text,
             "%s %s — this sender uses %s in %.0f%% of %llu mails", what, used,
             usual, share, (unsigned long long)s->mails);
  out->observed = habit >= 0 ? named[habit] : 0.0;
  out->typical = habit >= 0 ? mu[habit] : 0.0;
}

static void feature_reason(const pm_profiles *p, const pm__model_sender *s,
                           size_t j, const float *named, pm_reason *out) {
  const pm__model *m = &p->m;
  double mu = m->named_mean[(size_t)s->row * m->n_named + j];
  double sd = m->named_sd[(size_t)s->row * m->n_named + j];
  const char *label = pm_named_label(j);
  snprintf(out->feature, sizeof out->feature, "%s", pm_named_name(j));
  out->observed = named[j];
  out->typical = mu;
  if (pm_named_kind_of(j) == PM_NK_SHARE)
    snprintf(out->text, sizeof out->text,
             "%s: %s — this sender does so in %.0f%% of %llu mails", label,
             named[j] > 0.5f ? "yes" : "no", 100.0 * mu,
             (unsigned long long)s->mails);
  else
    snprintf(out->text, sizeof out->text,
             "%s: %.3g — this sender's typical is %.3g (±%.2g, over %llu "
             "mails)",
             label, (double)named[j], mu, sd, (unsigned long long)s->mails);
}

static void family_reason(pm_hashed_family f, pm_reason *out) {
  static const char *const text[PM_FAM__HASHED_COUNT] = {
      "character patterns (spelling, punctuation, spacing) differ from this "
      "sender's",
      "word choice differs from this sender's",
      "sentence construction (function words, word order) differs from this "
      "sender's",
      "how words begin and end (prefixes, endings, punctuation around them) "
      "differs from this sender's",
      "greeting and closing block differ from every one this sender uses"};
  snprintf(out->feature, sizeof out->feature, "%s", pm_hashed_family_name(f));
  snprintf(out->text, sizeof out->text, "%s", text[f]);
  out->observed = out->typical = 0.0;
}

/* w[j] times the mail's distance from the sender's mean at j: feature j's
 * part in the sender's score, less its part at the sender's mean. */
static inline double term(const float *w, const float *x, const float *mean,
                          uint32_t j) {
  return (double)w[j] * (x[j] - mean[j]);
}

/* Each hashed family's pull, summed in index order. The surface has no
 * weight in the model space (train/finalize.c): its pull is 0. */
static void family_pulls(const pm_config *cfg, const float *w, const float *x,
                         const float *mean, double pull[PM_FAM__HASHED_COUNT]) {
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    pull[f] = 0.0;
    if (f == PM_FAM_SURFACE)
      continue;
    uint32_t a = pm_config_hashed_offset(cfg, (pm_hashed_family)f);
    uint32_t n = pm_config_hashed_dim(cfg, (pm_hashed_family)f);
    double sum = 0.0;
    for (uint32_t k = 0; k < n; k++)
      sum += term(w, x, mean, a + k);
    pull[f] = sum;
  }
}

/* Inserts c into best (nbest worst pulls, worst first), keeping at most
 * PM_MAX_REASONS; a tie goes after what is already there. */
static inline void keep_worst(candidate *best, size_t *nbest,
                              const candidate *c) {
  size_t at = *nbest;
  /* most features pull less than the fifth worst so far: rejected here */
  if (at == PM_MAX_REASONS && !(best[at - 1].pull > c->pull))
    return;
  while (at > 0 && best[at - 1].pull > c->pull)
    at--;
  if (*nbest < PM_MAX_REASONS)
    (*nbest)++;
  memmove(&best[at + 1], &best[at], (*nbest - 1 - at) * sizeof *best);
  best[at] = *c;
}

void pm__reasons(const pm_profiles *p, const pm__model_sender *s,
                 const float *x, const float *named, pm_score_result *r) {
  const pm__model *m = &p->m;
  const float *w = m->W + (size_t)s->row * m->d;
  const float *mean = m->mean + (size_t)s->row * m->d;
  uint32_t off = pm_config_named_offset(p->cfg);
  candidate best[PM_MAX_REASONS + 3];
  size_t nbest = 0;
  double group_pull[PM_GROUP__COUNT] = {0, 0, 0};
  double fam_pull[PM_FAM__HASHED_COUNT];
  family_pulls(p->cfg, w, x, mean, fam_pull);
  /* the worst named features first, then the families and the groups, as
   * candidates in that order (ties keep the earlier one) */
  for (uint32_t j = 0; j < m->n_named; j++) {
    double pull = term(w, x, mean, off + j);
    int g = p->named_group[j];
    if (g) {
      group_pull[g] += pull;
      continue;
    }
    candidate c = {pull, (long)j, 0};
    keep_worst(best, &nbest, &c);
  }
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    candidate c = {fam_pull[f], -1 - f, 0};
    keep_worst(best, &nbest, &c);
  }
  for (int g = PM_GROUP_GREETING; g <= PM_GROUP_SIGNOFF; g++) {
    candidate c = {group_pull[g], -100, g};
    keep_worst(best, &nbest, &c);
  }
  /* only what pulls away noticeably: a hundredth of the normalising spread */
  double floor_pull = -0.01 * s->norm_sd;
  r->n_reasons = 0;
  for (size_t k = 0; k < nbest; k++) {
    const candidate *c = &best[k];
    if (!(c->pull < floor_pull))
      break;
    pm_reason *out = &r->reasons[r->n_reasons++];
    if (c->group)
      group_reason(p, s, c->group, named, out);
    else if (c->feature <= -1 && c->feature > -1 - PM_FAM__HASHED_COUNT)
      family_reason((pm_hashed_family)(-1 - c->feature), out);
    else
      feature_reason(p, s, (size_t)c->feature, named, out);
  }
}
