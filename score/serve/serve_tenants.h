/* The daemon's tenants: each tenant's profiles, loaded on first use and
 * swapped for new ones when training changes the store.
 *
 * Readers never wait for a load or a reload (except a tenant's very first
 * load, which they need): a request takes a reference to the tenant's
 * current pm__snap, an immutable profiles object, and keeps it to the end.
 * A background thread looks at each loaded store every
 * PM_SERVE_CHECK_INTERVAL_MS, loads the new profiles when it changed, and
 * swaps the pointer under a mutex held for nothing else; the old snap is
 * freed by whoever drops its last reference. */
#ifndef PM_SCORE_SERVE_TENANTS_H
#define PM_SCORE_SERVE_TENANTS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/score.h"
#include "score/serve/serve_log.h"
#include "score/serve/serve_metrics.h"

/* One loaded version of a tenant's profiles. Immutable once published;
 * shared by every request that acquired it. */
typedef struct {
  atomic_uint refs;
  pm_profiles *profiles;
  uint64_t cfg_hash; /* pm_config_hash of pm_profiles_config(profiles) */
} pm__snap;

void pm__snap_release(pm__snap *s); /* NULL is a no-op */

typedef struct pm__tenants pm__tenants;

/* dir: the store directory (copied). cfg: the configuration to score with,
 * owned by the cache from now on (NULL: each store's own). log and metrics
 * are borrowed and must outlive the cache. */
pm_status pm__tenants_new(const char *dir, pm_config *cfg, const pm__log *log,
                          pm__metrics *metrics, pm__tenants **out,
                          pm_error *err);

/* The memory budget of the loaded profiles (pm_serve_opts.max_memory;
 * 0: none). Set before the first request. After every load past it, the
 * least recently used tenants whose profiles no request holds are dropped
 * (their store closed too) until the loaded profiles fit again; the one
 * just loaded stays. */
void pm__tenants_set_budget(pm__tenants *tc, size_t bytes);

/* Starts the thread that looks for changed stores. */
pm_status pm__tenants_start(pm__tenants *tc, pm_error *err);

/* Stops the thread, drops every tenant. Every snap must have been released.
 * NULL is a no-op. */
void pm__tenants_free(pm__tenants *tc);

/* The current profiles of `tenant` (a valid name), loading them on first
 * use. Returns 0 and a reference in *out (pm__snap_release it), or an HTTP
 * status with a message: 404 no such store, 409 store built with another
 * configuration than --config, 503 store busy, 500 anything else. */
int pm__tenants_acquire(pm__tenants *tc, const char *tenant, pm__snap **out,
                        char *msg, size_t cap);

/* SIGHUP: drops every tenant's profiles and store handle (requests in flight
 * keep theirs); when replace_cfg, cfg (owned from now on, NULL = each
 * store's own) becomes the configuration for the loads that follow. */
void pm__tenants_reset(pm__tenants *tc, bool replace_cfg, pm_config *cfg);

#endif
