/* A sender's strongest habits, in words (see pm_sender_habits in score.h).
 *
 * From the raw named-feature statistics of every sender of the tenant: the
 * greeting and sign-off the sender uses most, then the features where the
 * sender's mean stands furthest from the tenant's, in tenant spreads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/features.h"
#include "penmark/model.h"
#include "penmark/score.h"

typedef struct {
  double *sum, *sumsq; /* raw named, summed over the tenant */
  double *mine_sum, *mine_sq;
  uint64_t n, mine_n;
} tally;

static void tally_free(tally *t) {
  free(t->sum);
  free(t->sumsq);
  free(t->mine_sum);
  free(t->mine_sq);
}

static pm_status gather(pm_store *st, const char *sender, uint32_t d,
                        uint32_t nn, tally *t, bool *found, pm_error *err) {
  pm_store_sender *list;
  size_t n;
  pm_status rc = pm_store_senders(st, &list, &n, err);
  if (rc != PM_OK)
    return rc;
  *found = false;
  for (size_t i = 0; i < n && rc == PM_OK; i++) {
    void *blob = NULL;
    size_t len = 0;
    rc = pm_store_get(st, PM_KIND_SSTAT, list[i].id, &blob, &len, err);
    if (rc == PM_NOTFOUND) {
      rc = PM_OK;
      continue;
    }
    if (rc != PM_OK)
      break;
    pm__stats s;
    rc = pm__stats_decode(blob, len, pm__sstat_dim(d, nn), d, &s, err);
    free(blob);
    if (rc != PM_OK)
      break;
    bool mine = strcmp(list[i].address, sender) == 0;
    *found |= mine;
    for (uint32_t j = 0; j < nn; j++) {
      t->sum[j] += s.sum[d + j];
      t->sumsq[j] += s.sumsq[j];
      if (mine) {
        t->mine_sum[j] = s.sum[d + j];
        t->mine_sq[j] = s.sumsq[j];
      }
    }
    t->n += s.n;
    if (mine)
      t->mine_n = s.n;
    pm__stats_free(&s);
  }
  pm_store_senders_free(list, n);
  return rc;
}

/* The most used form of a group ("greeting:" or "signoff:"), as a habit. */
static void group_habit(const tally *t, const char *prefix, const char *what,
                        pm_habit *h) {
  size_t plen = strlen(prefix);
  long best = -1;
  for (size_t j = 0; j < pm_named_count(); j++)
    if (!strncmp(pm_named_name(j), prefix, plen) &&
        (best < 0 || t->mine_sum[j] > t->mine_sum[best]))
      best = (long)j;
  double share = t->mine_n ? t->mine_sum[best] / (double)t->mine_n : 0;
  double tenant = t->n ? t->sum[best] / (double)t->n : 0;
  snprintf(h->feature, sizeof h->feature, "%s", prefix);
  h->feature[plen - 1] = '\0';
  const char *name = pm_named_name((size_t)best);
  if (!strcmp(name + plen, "none"))
    snprintf(h->text, sizeof h->text,
             "no %s in %.0f%% of %llu mails (tenant: %.0f%%)", what,
             100 * share, (unsigned long long)t->mine_n, 100 * tenant);
  else
    snprintf(h->text, sizeof h->text,
             "%s in %.0f%% of %llu mails (tenant: %.0f%%)",
             pm_named_label((size_t)best), 100 * share,
             (unsigned long long)t->mine_n, 100 * tenant);
  h->value = share;
  h->tenant = tenant;
}

pm_status pm_sender_habits(pm_store *st, const char *sender, pm_habit *out,
                           size_t max, size_t *n_out, pm_error *err) {
  *n_out = 0;
  const char *json = pm_store_config_json(st);
  pm_config *cfg = NULL;
  pm_status rc = pm_config_parse(json, strlen(json), &cfg, err);
  if (rc != PM_OK)
    return rc;
  uint32_t d = pm_config_vector_dim(cfg), nn = (uint32_t)pm_named_count();
  pm_config_free(cfg);
  tally t = {0};
  t.sum = calloc(nn, sizeof *t.sum);
  t.sumsq = calloc(nn, sizeof *t.sumsq);
  t.mine_sum = calloc(nn, sizeof *t.mine_sum);
  t.mine_sq = calloc(nn, sizeof *t.mine_sq);
  bool found = false;
  if (!t.sum || !t.sumsq || !t.mine_sum || !t.mine_sq)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  else
    rc = gather(st, sender, d, nn, &t, &found, err);
  if (rc == PM_OK && (!found || t.mine_n == 0))
    rc = pm_error_set(err, PM_NOTFOUND, "no sender %s in store %s", sender,
                      pm_store_file(st));
  if (rc != PM_OK || max == 0) {
    tally_free(&t);
    return rc;
  }
  size_t k = 0;
  group_habit(&t, "greeting:", "greeting", &out[k++]);
  if (k < max)
    group_habit(&t, "signoff:", "sign-off", &out[k++]);
  /* then the features where the sender stands out most: how many tenant
   * spreads the sender's mean is from the tenant's */
  while (k < max) {
    long best = -1;
    double best_z = 1.0; /* less than one spread is no habit */
    for (size_t j = 0; j < nn; j++) {
      const char *nm = pm_named_name(j);
      if (!strncmp(nm, "greeting:", 9) || !strncmp(nm, "signoff:", 8))
        continue;
      bool taken = false;
      for (size_t q = 2; q < k && !taken; q++)
        taken = !strcmp(out[q].feature, nm);
      if (taken)
        continue;
      double mu = t.sum[j] / (double)t.n;
      double var = t.sumsq[j] / (double)t.n - mu * mu;
      double mine = t.mine_sum[j] / (double)t.mine_n;
      if (!(var > 1e-12))
        continue;
      double z = fabs(mine - mu) / sqrt(var);
      if (z > best_z) {
        best_z = z;
        best = (long)j;
      }
    }
    if (best < 0)
      break;
    pm_habit *h = &out[k++];
    size_t j = (size_t)best;
    double mu = t.sum[j] / (double)t.n;
    double mine = t.mine_sum[j] / (double)t.mine_n;
    snprintf(h->feature, sizeof h->feature, "%s", pm_named_name(j));
    const char *dir = mine > mu ? "more" : "less";
    if (pm_named_kind_of(j) == PM_NK_SHARE)
      snprintf(h->text, sizeof h->text,
               "%s: in %.0f%% of mails (tenant: %.0f%%)", pm_named_label(j),
               100 * mine, 100 * mu);
    else
      snprintf(h->text, sizeof h->text,
               "%s: %.3g, %s than the tenant's %.3g (%.1f spreads)",
               pm_named_label(j), mine, dir, mu, best_z);
    h->value = mine;
    h->tenant = mu;
  }
  *n_out = k;
  tally_free(&t);
  return PM_OK;
}
