/* What the milter decides for one mail: which tenant, whether the policy
 * judges the claimed sender at all, and the verdict. Runs on a worker. */
#include <stdlib.h>
#include <string.h>

#include "penmark/mail.h"
#include "penmark/serve.h"
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

/* The host's lines (loads, reloads, their failures) in the milter's log. */
static void host_log(pm_log_level level, const char *msg, void *ctx) {
  pm__mfilter *f = ctx;
  pm__mlog(f->log, "%s%s",
           level == PM_LOG_ERROR  ? "error: "
           : level == PM_LOG_WARN ? "warning: "
                                  : "",
           msg);
}

/* A tenant's first load, at start: a store that cannot be read shows in
 * the log at once rather than with the first mail (which fails open). */
static void load_tenant(pm__mfilter *f, const pm__mtenant *t) {
  pm_error err;
  pm_error_clear(&err);
  if (pm_serve_host_load(f->host, t->name, NULL, &err) != PM_OK)
    pm__mlog(f->log, "tenant %s: store unavailable: %s", t->name,
             pm_error_message(&err));
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
  pm_status st = pm_serve_host_new(pol->store, 0.0, host_log, f, &f->host, err);
  if (st == PM_OK && pol->tenant)
    st = add_tenant(f, pol->tenant, &cap, err);
  for (size_t i = 0; st == PM_OK && i < pol->map.n; i++)
    st = add_tenant(f, pol->map.e[i].tenant, &cap, err);
  for (size_t i = 0; st == PM_OK && i < f->n_tenants; i++)
    load_tenant(f, &f->tenants[i]);
  return st;
}

void pm__mfilter_free(pm__mfilter *f) {
  pm_serve_host_free(f->host);
  free(f->tenants);
  pm__ratelimit *rl[] = {&f->rl_unmapped, &f->rl_unprotected, &f->rl_busy};
  for (size_t i = 0; i < 3; i++)
    pthread_mutex_destroy(&rl[i]->lock);
  memset(f, 0, sizeof *f);
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

/* The tenant of a sender, NULL when the policy maps none. */
static const char *tenant_of(const pm__mfilter *f, const char *sender) {
  if (f->pol->tenant)
    return f->pol->tenant;
  const char *at = strrchr(sender, '@');
  return at ? pm__tenant_map_find(&f->pol->map, at + 1) : NULL;
}

static void scored(const char *tenant, const pm_score_result *r,
                   pm__mdecision *d) {
  memset(d, 0, sizeof *d);
  d->out = PM__OUT_SCORED;
  d->impersonation = r->verdict == PM_VERDICT_IMPERSONATION;
  pm_milter_verdict_value(r, tenant, d->verdict, sizeof d->verdict);
  pm_milter_reasons_value(r, d->reasons, sizeof d->reasons);
  snprintf(d->log, sizeof d->log, "verdict=%s p=%.4f us=%lld tenant=%s",
           pm_verdict_name(r->verdict), r->probability,
           (long long)r->elapsed_us, tenant);
}

/* Scores with the tenant's current profiles; a tenant whose store cannot be
 * read (or is being replaced by a broken one) fails open. */
static void judge_tenant(pm__mfilter *f, const char *tenant,
                         const pm_mail *mail, pm__mdecision *d) {
  pm_error err;
  pm_error_clear(&err);
  pm_score_result r;
  pm_status st = pm_serve_host_score(f->host, tenant, mail, NULL, &r, &err);
  if (st == PM_OK) {
    scored(tenant, &r, d);
    return;
  }
  char why[700];
  snprintf(why, sizeof why, "%s%s",
           st == PM_NOMEM ? "" : "store unavailable: ", pm_error_message(&err));
  pm__mdecision_error(d, why);
}

void pm__mfilter_judge(pm__mfilter *f, const char *raw, size_t len,
                       pm__mdecision *d) {
  pm_error err;
  pm_error_clear(&err);
  pm_mail *mail = NULL;
  if (pm_mail_parse(raw ? raw : "", len, NULL, &mail, &err) != PM_OK) {
    pm__mdecision_error(d, "mail not parsed");
    return;
  }
  const char *sender = pm_mail_sender(mail);
  const char *tenant = tenant_of(f, sender ? sender : "");
  if (!tenant)
    skip_logged(f, &f->rl_unmapped, d, "no tenant for the sender's domain");
  else if (f->pol->protected_senders.n &&
           !pm__senders_has(&f->pol->protected_senders, sender))
    skip_logged(f, &f->rl_unprotected, d, "not a protected sender");
  else
    judge_tenant(f, tenant, mail, d);
  pm_mail_free(mail);
}
