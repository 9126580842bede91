/* What the milter decides for one mail: which tenant, whether the policy
 * judges the claimed sender at all, and the verdict. Runs on a worker. */
#include <stdlib.h>
#include <string.h>

#include "penmark/mail.h"
#include "penmark/store.h"
#include "score/milter/milter_internal.h"

/* Unmapped domains and a full pool can come with every mail: one log line
 * a minute at most for each. */
#define RATE_LIMIT_SECONDS 60

static pm_status add_tenant(pm__mfilter *f, const char *name, size_t *cap,
                            pm_error *err) {
  for (size_t i = 0; i < f->n_tenants; i++)
    if (!strcmp(f->tenants[i].name, name))
      return PM_OK;
  if (!pm__grow((void **)&f->tenants, cap, f->n_tenants + 1,
                sizeof *f->tenants))
    return pm_error_set(err, PM_NOMEM, "milter: out of memory");
  pm__mtenant *t = &f->tenants[f->n_tenants++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  return PM_OK;
}

/* The profiles of one tenant; on failure the reason, logged once here and
 * carried by the error header of each of its mails. */
static void load_tenant(pm__mfilter *f, pm__mtenant *t) {
  pm_error err;
  pm_error_clear(&err);
  pm_store *st = NULL;
  if (pm_store_open(f->pol->store, t->name, PM_STORE_READ, NULL, 0, &st,
                    &err) != PM_OK ||
      pm_profiles_load(st, NULL, &t->prof, &err) != PM_OK) {
    snprintf(t->error, sizeof t->error, "store unavailable: %s",
             pm_error_message(&err));
    pm__mlog(f->log, "tenant %s: %s", t->name, t->error);
    pm_profiles_free(t->prof);
    t->prof = NULL;
  } else {
    pm__mlog(f->log, "tenant %s: %zu senders", t->name,
             pm_profiles_count(t->prof));
  }
  pm_store_close(st);
}

pm_status pm__mfilter_load(pm__mfilter *f, const pm_milter_policy *pol,
                           FILE *log, pm_error *err) {
  memset(f, 0, sizeof *f);
  f->pol = pol;
  f->log = log;
  pm__ratelimit *rl[] = {&f->rl_unmapped, &f->rl_unprotected, &f->rl_busy};
  for (size_t i = 0; i < 3; i++) {
    pthread_mutex_init(&rl[i]->lock, NULL);
    rl[i]->interval = RATE_LIMIT_SECONDS;
  }
  size_t cap = 0;
  pm_status st = PM_OK;
  if (pol->tenant)
    st = add_tenant(f, pol->tenant, &cap, err);
  for (size_t i = 0; st == PM_OK && i < pol->map.n; i++)
    st = add_tenant(f, pol->map.e[i].tenant, &cap, err);
  for (size_t i = 0; st == PM_OK && i < f->n_tenants; i++)
    load_tenant(f, &f->tenants[i]);
  return st;
}

void pm__mfilter_free(pm__mfilter *f) {
  for (size_t i = 0; i < f->n_tenants; i++)
    pm_profiles_free(f->tenants[i].prof);
  free(f->tenants);
  pm__ratelimit *rl[] = {&f->rl_unmapped, &f->rl_unprotected, &f->rl_busy};
  for (size_t i = 0; i < 3; i++)
    pthread_mutex_destroy(&rl[i]->lock);
  memset(f, 0, sizeof *f);
}

pm_scorer **pm__mfilter_scorers_new(const pm__mfilter *f) {
  pm_scorer **sc = calloc(f->n_tenants ? f->n_tenants : 1, sizeof *sc);
  for (size_t i = 0; sc && i < f->n_tenants; i++) {
    const pm__mtenant *t = &f->tenants[i];
    pm_error err;
    if (t->prof &&
        pm_scorer_new(pm_profiles_config(t->prof), &sc[i], &err) != PM_OK) {
      pm__mlog(f->log, "tenant %s: no scorer: %s", t->name,
               pm_error_message(&err));
      sc[i] = NULL;
    }
  }
  return sc;
}

void pm__mfilter_scorers_free(const pm__mfilter *f, pm_scorer **sc) {
  for (size_t i = 0; sc && i < f->n_tenants; i++)
    pm_scorer_free(sc[i]);
  free(sc);
}

void pm__mdecision_error(pm__mdecision *d, const char *why) {
  memset(d, 0, sizeof *d);
  d->out = PM__OUT_ERROR;
  pm_milter_error_value(why, d->verdict, sizeof d->verdict);
  snprintf(d->log, sizeof d->log, "error: %.500s; accepted", why);
}

void pm__mdecision_skip(pm__mdecision *d, const char *why) {
  memset(d, 0, sizeof *d);
  d->out = PM__OUT_SKIPPED;
  pm_milter_skip_value(why, d->verdict, sizeof d->verdict);
}

/* A not-judged mail whose kind may be logged, at most once a minute. */
static void skip_logged(pm__mfilter *f, pm__ratelimit *rl, pm__mdecision *d,
                        const char *why) {
  pm__mdecision_skip(d, why);
  unsigned long left_out;
  if (pm__ratelimit_pass(rl, time(NULL), &left_out))
    snprintf(d->log, sizeof d->log,
             "not judged: %s (%lu more since the last "
             "line)",
             why, left_out);
}

/* The tenant index of a sender, -1 when the policy maps none. */
static long tenant_of(const pm__mfilter *f, const char *sender) {
  const char *name = f->pol->tenant;
  if (!name) {
    const char *at = strrchr(sender, '@');
    name = at ? pm__tenant_map_find(&f->pol->map, at + 1) : NULL;
  }
  for (size_t i = 0; name && i < f->n_tenants; i++)
    if (!strcmp(f->tenants[i].name, name))
      return (long)i;
  return -1;
}

static void scored(const pm__mtenant *t, const pm_score_result *r,
                   pm__mdecision *d) {
  memset(d, 0, sizeof *d);
  d->out = PM__OUT_SCORED;
  d->impersonation = r->verdict == PM_VERDICT_IMPERSONATION;
  pm_milter_verdict_value(r, t->name, d->verdict, sizeof d->verdict);
  pm_milter_reasons_value(r, d->reasons, sizeof d->reasons);
  snprintf(d->log, sizeof d->log, "verdict=%s p=%.4f us=%lld tenant=%s",
           pm_verdict_name(r->verdict), r->probability,
           (long long)r->elapsed_us, t->name);
}

void pm__mfilter_judge(pm__mfilter *f, pm_scorer **scorers, const char *raw,
                       size_t len, pm__mdecision *d) {
  pm_error err;
  pm_error_clear(&err);
  pm_mail *mail = NULL;
  if (pm_mail_parse(raw ? raw : "", len, NULL, &mail, &err) != PM_OK) {
    pm__mdecision_error(d, "mail not parsed");
    return;
  }
  const char *sender = pm_mail_sender(mail);
  long ti = tenant_of(f, sender ? sender : "");
  if (ti < 0) {
    skip_logged(f, &f->rl_unmapped, d, "no tenant for the sender's domain");
  } else if (f->pol->protected_senders.n &&
             !pm__senders_has(&f->pol->protected_senders, sender)) {
    skip_logged(f, &f->rl_unprotected, d, "not a protected sender");
  } else if (!f->tenants[ti].prof) {
    pm__mdecision_error(d, f->tenants[ti].error);
  } else if (!scorers || !scorers[ti]) {
    pm__mdecision_error(d, "no scorer");
  } else {
    pm_score_result r;
    if (pm_score_mail(scorers[ti], f->tenants[ti].prof, mail, NULL, &r, &err) !=
        PM_OK)
      pm__mdecision_error(d, pm_error_message(&err));
    else
      scored(&f->tenants[ti], &r, d);
  }
  pm_mail_free(mail);
}
