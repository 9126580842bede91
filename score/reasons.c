/* Reasons: the sender's habits that a mail breaks, in words.
 *
 * A sender's score is a sum over the model vector, so each feature's part in
 * pulling the mail away from the sender is exact: the weight times the
 * mail's distance from the sender's mean. The features (or groups: the
 * greeting forms, the sign-off forms, each hashed family) that pull the
 * most are the reasons, phrased from the raw named values. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "score/profiles_internal.h"

typedef struct {
  double pull;    /* negative: towards "not this sender" */
  long feature;   /* named index, or -1 - family for a hashed family */
  int group;      /* 0 none, 1 greeting, 2 sign-off */
} candidate;

static int group_of(const char *name) {
  if (!strncmp(name, "greeting:", 9))
    return 1;
  if (!strncmp(name, "signoff:", 8))
    return 2;
  return 0;
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
  const char *prefix = group == 1 ? "greeting:" : "signoff:";
  size_t plen = strlen(prefix);
  long seen = -1, habit = -1;
  for (size_t j = 0; j < m->n_named; j++) {
    const char *nm = pm_named_name(j);
    if (strncmp(nm, prefix, plen) || !strcmp(nm + plen, "none"))
      continue;
    if (named[j] > 0.5f && seen < 0)
      seen = (long)j;
    if (habit < 0 || mu[j] > mu[habit])
      habit = (long)j;
  }
  long none = pm_named_find(group == 1 ? "greeting:none" : "signoff:none");
  if (none >= 0 && (habit < 0 || mu[none] > mu[habit]))
    habit = none;
  char used[96], usual[96];
  const char *what = group == 1 ? "greeting" : "sign-off";
  if (seen >= 0)
    form_of(pm_named_label((size_t)seen), used, sizeof used);
  if (habit >= 0 && habit != none)
    form_of(pm_named_label((size_t)habit), usual, sizeof usual);
  double share = habit >= 0 ? 100.0 * mu[habit] : 0.0;
  snprintf(out->feature, sizeof out->feature, "%s",
           group == 1 ? "greeting" : "signoff");
  if (habit == none)
    snprintf(out->text, sizeof out->text,
             "%s %s — this sender uses no %s in %.0f%% of %llu mails", what,
             seen >= 0 ? used : "(none)", what, share,
             (unsigned long long)s->mails);
  else if (seen < 0)
    snprintf(out->text, sizeof out->text,
             "no %s — this sender uses %s in %.0f%% of %llu mails", what,
             usual, share, (unsigned long long)s->mails);
  else
    snprintf(out->text, sizeof out->text,
             "%s %s — this sender uses %s in %.0f%% of %llu mails", what,
             used, usual, share, (unsigned long long)s->mails);
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
      "sender's"};
  snprintf(out->feature, sizeof out->feature, "%s", pm_hashed_family_name(f));
  snprintf(out->text, sizeof out->text, "%s", text[f]);
  out->observed = out->typical = 0.0;
}

void pm__reasons(const pm_profiles *p, const pm__model_sender *s,
                 const float *x, const float *named, pm_score_result *r) {
  const pm__model *m = &p->m;
  const float *w = m->W + (size_t)s->row * m->d;
  const float *mean = m->mean + (size_t)s->row * m->d;
  uint32_t off = pm_config_named_offset(p->cfg);
  candidate best[PM_MAX_REASONS + 3];
  size_t nbest = 0;
  double group_pull[3] = {0, 0, 0};
  /* keep the most negative pulls, worst first */
  candidate all[PM_FAM__HASHED_COUNT + 2];
  size_t nall = 0;
  for (int f = 0; f < PM_FAM__HASHED_COUNT; f++) {
    uint32_t a = pm_config_hashed_offset(p->cfg, (pm_hashed_family)f);
    uint32_t b = a + pm_config_hashed_dim(p->cfg, (pm_hashed_family)f);
    double pull = 0;
    for (uint32_t j = a; j < b; j++)
      pull += (double)w[j] * (x[j] - mean[j]);
    all[nall++] = (candidate){pull, -1 - f, 0};
  }
  for (uint32_t j = 0; j < m->n_named; j++) {
    double pull = (double)w[off + j] * (x[off + j] - mean[off + j]);
    int g = group_of(pm_named_name(j));
    if (g) {
      group_pull[g] += pull;
      continue;
    }
    candidate c = {pull, (long)j, 0};
    /* insertion into the short list of the worst named features */
    size_t at = nbest;
    while (at > 0 && best[at - 1].pull > c.pull)
      at--;
    if (at < PM_MAX_REASONS) {
      if (nbest < PM_MAX_REASONS)
        nbest++;
      memmove(&best[at + 1], &best[at], (nbest - 1 - at) * sizeof *best);
      best[at] = c;
    }
  }
  for (int g = 1; g <= 2; g++)
    all[nall++] = (candidate){group_pull[g], -100, g};
  for (size_t k = 0; k < nall; k++) {
    size_t at = nbest;
    while (at > 0 && best[at - 1].pull > all[k].pull)
      at--;
    if (at < PM_MAX_REASONS) {
      if (nbest < PM_MAX_REASONS)
        nbest++;
      memmove(&best[at + 1], &best[at], (nbest - 1 - at) * sizeof *best);
      best[at] = all[k];
    }
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
