/* The daemon's tenant cache for other front ends (see pm_serve_host in
 * penmark/serve.h): the same loading, reload and per-thread scorers as the
 * daemon's requests use, so that a mail through the milter and the same
 * mail through `penmark serve` meet the same profiles and the same rules. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/serve.h"
#include "score/serve/serve_log.h"
#include "score/serve/serve_metrics.h"
#include "score/serve/serve_tenants.h"
#include "score/serve/serve_worker.h"

struct pm_serve_host {
  pm__log log;
  pm__metrics metrics; /* the cache keeps its counts here; nobody reads them
                          yet but the cache's own budget */
  pm__tenants *tenants;
  pthread_key_t worker_key;
  bool key_made;
  double flag_rate;
};

/* The cache's HTTP-like statuses as the library's. */
static pm_status status_of(int http) {
  switch (http) {
  case 404:
    return PM_NOTFOUND;
  case 409:
    return PM_MISMATCH;
  case 503:
    return PM_BUSY;
  default:
    return PM_INTERNAL;
  }
}

pm_status pm_serve_host_new(const char *store_dir, double flag_rate,
                            pm_serve_log_fn log, void *log_ctx,
                            pm_serve_host **out, pm_error *err) {
  *out = NULL;
  if (!store_dir || !*store_dir)
    return pm_error_set(err, PM_INVAL, "no store directory");
  if (flag_rate < 0.0 || flag_rate > 0.5)
    return pm_error_set(err, PM_INVAL, "flag rate %g is not in (0, 0.5]",
                        flag_rate);
  pm_serve_host *h = calloc(1, sizeof *h);
  if (!h)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  h->log.fn = log ? log : pm_serve_log_stderr;
  h->log.ctx = log_ctx;
  h->log.limit = pm__log_limit_new(); /* NULL: unlimited, still correct */
  h->flag_rate = flag_rate;
  pm__metrics_init(&h->metrics);
  pm_status rc =
      pm__tenants_new(store_dir, NULL, &h->log, &h->metrics, &h->tenants, err);
  if (rc == PM_OK && pm__worker_key_create(&h->worker_key) != 0)
    rc = pm_error_set(err, PM_NOMEM, "cannot create the worker key");
  else if (rc == PM_OK)
    h->key_made = true;
  if (rc == PM_OK)
    rc = pm__tenants_start(h->tenants, err);
  if (rc != PM_OK) {
    pm_serve_host_free(h);
    return rc;
  }
  *out = h;
  return PM_OK;
}

/* The tenant's current profiles, or the reason there are none. */
static pm_status acquire(pm_serve_host *h, const char *tenant, pm__snap **snap,
                         pm_error *err) {
  char msg[600];
  int http = pm__tenants_acquire(h->tenants, tenant, snap, msg, sizeof msg);
  if (http)
    return pm_error_set(err, status_of(http), "%s", msg);
  return PM_OK;
}

pm_status pm_serve_host_score(pm_serve_host *h, const char *tenant,
                              const pm_mail *mail, const char *claimed,
                              pm_score_result *out, pm_error *err) {
  pm__snap *snap = NULL;
  pm_status rc = acquire(h, tenant, &snap, err);
  if (rc != PM_OK)
    return rc;
  pm_scorer *scorer = NULL;
  rc = pm__worker_scorer(h->worker_key, snap, h->flag_rate, &scorer, err);
  if (rc == PM_OK)
    rc = pm_score_mail(scorer, snap->profiles, mail, claimed, out, err);
  pm__snap_release(snap);
  return rc;
}

pm_status pm_serve_host_load(pm_serve_host *h, const char *tenant,
                             size_t *senders, pm_error *err) {
  pm__snap *snap = NULL;
  pm_status rc = acquire(h, tenant, &snap, err);
  if (rc == PM_OK && senders)
    *senders = pm_profiles_count(snap->profiles);
  pm__snap_release(snap);
  return rc;
}

pm_status pm_serve_host_prepare(pm_serve_host *h, const char *tenant,
                                pm_error *err) {
  pm__snap *snap = NULL;
  pm_status rc = acquire(h, tenant, &snap, err);
  pm_scorer *scorer = NULL;
  if (rc == PM_OK)
    rc = pm__worker_scorer(h->worker_key, snap, h->flag_rate, &scorer, err);
  pm__snap_release(snap);
  return rc;
}

void pm_serve_host_reload(pm_serve_host *h) {
  pm__tenants_reset(h->tenants, false, NULL);
}

void pm_serve_host_free(pm_serve_host *h) {
  if (!h)
    return;
  pm__tenants_free(h->tenants);
  if (h->key_made)
    pthread_key_delete(h->worker_key);
  pm__log_flush(&h->log, true);
  pm__log_limit_free(h->log.limit);
  free(h);
}
