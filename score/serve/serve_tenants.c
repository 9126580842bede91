/* The daemon's tenant cache and its reloader (see serve_tenants.h). */
#include "score/serve/serve_tenants.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "penmark/serve.h"
#include "penmark/store.h"

/* A store that changed is reloaded once it has been quiet for one check
 * interval (a training run commits batch after batch: no reload per batch),
 * but at the latest this long after its first unhandled change. */
#define SETTLE_MAX_MS 2000
/* A failed load is retried at most this often (first loads: the failure is
 * served from memory meanwhile, so a broken store is not reopened per
 * request). */
#define RETRY_MS 1000

/* The configuration loads use, shared with loads in progress while SIGHUP
 * replaces it. */
typedef struct {
  atomic_uint refs;
  pm_config *cfg;
} cfgref;

typedef struct {
  char *name;
  /* load_lock: the store handle, loading and the reload bookkeeping. Held
   * through a load; requests take it only for a tenant's first load. */
  pthread_mutex_t load_lock;
  /* swap_lock: `current` only, held for a pointer copy and an increment. */
  pthread_mutex_t swap_lock;
  pm__snap *current; /* NULL: not loaded (or dropped by SIGHUP) */
  pm_store *store;   /* the handle `current` came from */
  dev_t dev;         /* the file that handle reads */
  ino_t ino;
  bool pending;          /* a commit seen, reload not done yet */
  int64_t pending_since; /* ms, first unhandled change */
  int64_t last_attempt;  /* ms, last failed reload */
  char last_error[512];  /* last reload error logged (logged once) */
  int fail_status;       /* first load: last failure, served for RETRY_MS */
  int64_t fail_ms;
  char fail_msg[512];
  atomic_uint_fast64_t last_used; /* tick of the last acquire: LRU order */
  size_t bytes;                   /* pm_profiles_memory of `current` */
} tenant;

struct pm__tenants {
  char *dir;
  const pm__log *log;
  pm__metrics *metrics;
  pthread_mutex_t lock; /* the table and cfg */
  tenant **v;           /* never shrinks: entries live until free */
  size_t n, cap;
  cfgref *cfg; /* NULL: each store's own configuration */
  pthread_t checker;
  pthread_cond_t wake;
  bool stop, started;
  size_t budget;             /* bytes of profiles; 0: no limit */
  atomic_uint_fast64_t tick; /* acquires so far */
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void cfgref_release(cfgref *c) {
  if (c && atomic_fetch_sub(&c->refs, 1) == 1) {
    pm_config_free(c->cfg);
    free(c);
  }
}

static cfgref *cfgref_new(pm_config *cfg) {
  if (!cfg)
    return NULL;
  cfgref *c = malloc(sizeof *c);
  if (!c) {
    pm_config_free(cfg);
    return NULL;
  }
  atomic_init(&c->refs, 1);
  c->cfg = cfg;
  return c;
}

static cfgref *cfg_acquire(pm__tenants *tc) {
  pthread_mutex_lock(&tc->lock);
  cfgref *c = tc->cfg;
  if (c)
    atomic_fetch_add(&c->refs, 1);
  pthread_mutex_unlock(&tc->lock);
  return c;
}

void pm__snap_release(pm__snap *s) {
  if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
    pm_profiles_free(s->profiles);
    free(s);
  }
}

/* The HTTP status for a failed open or load. */
static int status_of(pm_status st) {
  switch (st) {
  case PM_NOTFOUND:
    return 404;
  case PM_MISMATCH:
    return 409;
  case PM_BUSY:
    return 503;
  default:
    return 500;
  }
}

/* Opens the tenant's store read-only and records which file it reads. The
 * file is stat'ed before and after the open: if training replaced it in
 * between, the identity would be the wrong file's, so open again. */
static pm_status open_store(pm__tenants *tc, const char *name, pm_store **out,
                            dev_t *dev, ino_t *ino, pm_error *err) {
  char *path = pm_store_path(tc->dir, name);
  if (!path)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = PM_INTERNAL;
  for (int attempt = 0; attempt < 3; attempt++) {
    struct stat a, b;
    if (stat(path, &a) != 0) {
      rc = errno == ENOENT
               ? pm_error_set(err, PM_NOTFOUND,
                              "unknown tenant \"%s\": no store %s", name, path)
               : pm_error_set(err, PM_IO, "%s: %s", path, strerror(errno));
      break;
    }
    pm_store *st = NULL;
    rc = pm_store_open(tc->dir, name, PM_STORE_READ, NULL, 0, &st, err);
    if (rc != PM_OK)
      break;
    if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      *out = st;
      *dev = b.st_dev;
      *ino = b.st_ino;
      break;
    }
    pm_store_close(st);
    rc = pm_error_set(err, PM_BUSY, "%s: replaced while being opened", path);
  }
  free(path);
  return rc;
}

/* Loads a snap from an open store with the current configuration. */
static pm_status load_snap(pm__tenants *tc, pm_store *st, pm__snap **out,
                           pm_error *err) {
  cfgref *c = cfg_acquire(tc);
  pm_profiles *p = NULL;
  pm_status rc = pm_profiles_load(st, c ? c->cfg : NULL, &p, err);
  cfgref_release(c);
  /* the handle stays open to watch the file; its page cache is not needed
   * until the next load */
  pm_store_release_memory(st);
  if (rc != PM_OK)
    return rc;
  pm__snap *s = malloc(sizeof *s);
  if (!s) {
    pm_profiles_free(p);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  atomic_init(&s->refs, 1);
  s->profiles = p;
  s->cfg_hash = pm_config_hash(pm_profiles_config(p));
  *out = s;
  return PM_OK;
}

/* Publishes s (may be NULL) as the tenant's current snap; drops the table's
 * reference to the old one. */
static void publish(pm__tenants *tc, tenant *t, pm__snap *s) {
  size_t bytes = s ? pm_profiles_memory(s->profiles) : 0;
  pthread_mutex_lock(&t->swap_lock);
  pm__snap *old = t->current;
  t->current = s;
  atomic_fetch_add(&tc->metrics->profile_bytes,
                   (int64_t)bytes - (int64_t)t->bytes);
  t->bytes = bytes;
  pthread_mutex_unlock(&t->swap_lock);
  if (!old && s)
    atomic_fetch_add(&tc->metrics->tenants_loaded, 1);
  else if (old && !s)
    atomic_fetch_sub(&tc->metrics->tenants_loaded, 1);
  pm__snap_release(old);
}

static pm__snap *current_ref(tenant *t) {
  pthread_mutex_lock(&t->swap_lock);
  pm__snap *s = t->current;
  if (s)
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  pthread_mutex_unlock(&t->swap_lock);
  return s;
}

pm_status pm__tenants_new(const char *dir, pm_config *cfg, const pm__log *log,
                          pm__metrics *metrics, pm__tenants **out,
                          pm_error *err) {
  pm__tenants *tc = calloc(1, sizeof *tc);
  if (!tc || !(tc->dir = strdup(dir))) {
    free(tc);
    pm_config_free(cfg);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  if (cfg && !(tc->cfg = cfgref_new(cfg))) {
    free(tc->dir);
    free(tc);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  tc->log = log;
  tc->metrics = metrics;
  pthread_mutex_init(&tc->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&tc->wake, &ca);
  pthread_condattr_destroy(&ca);
  *out = tc;
  return PM_OK;
}

/* The entry of `name`, created when DIR/<name>.db exists. NULL with errno
 * ENOENT when it does not (no entry is made for names without a store, so
 * that requests for made-up tenants cannot grow the table), ENOMEM. */
static tenant *find_or_add(pm__tenants *tc, const char *name) {
  pthread_mutex_lock(&tc->lock);
  tenant *t = NULL;
  for (size_t i = 0; i < tc->n; i++)
    if (strcmp(tc->v[i]->name, name) == 0) {
      t = tc->v[i];
      break;
    }
  if (t) {
    pthread_mutex_unlock(&tc->lock);
    return t;
  }
  char *path = pm_store_path(tc->dir, name);
  struct stat sb;
  int e = !path ? ENOMEM : stat(path, &sb) != 0 ? errno : 0;
  free(path);
  if (!e && tc->n == tc->cap) {
    size_t cap = tc->cap ? tc->cap * 2 : 16;
    tenant **v = realloc(tc->v, cap * sizeof *v);
    if (v) {
      tc->v = v;
      tc->cap = cap;
    } else {
      e = ENOMEM;
    }
  }
  if (!e && (t = calloc(1, sizeof *t)) && (t->name = strdup(name))) {
    pthread_mutex_init(&t->load_lock, NULL);
    pthread_mutex_init(&t->swap_lock, NULL);
    tc->v[tc->n++] = t;
  } else if (!e) {
    free(t);
    t = NULL;
    e = ENOMEM;
  }
  pthread_mutex_unlock(&tc->lock);
  errno = e;
  return t;
}

static void drop_locked(pm__tenants *tc, tenant *t);

/* Whether a request holds t's profiles: the table's is the only reference
 * otherwise. */
static bool in_use(tenant *t) {
  pthread_mutex_lock(&t->swap_lock);
  bool busy = t->current && atomic_load(&t->current->refs) > 1;
  pthread_mutex_unlock(&t->swap_lock);
  return busy;
}

/* While the loaded profiles are over the budget, drops the least recently
 * used tenant that is loaded, not `keep`, not in use and not being loaded
 * (a trylock: a tenant another thread is loading or checking is passed over,
 * and no two threads wait on each other's tenants). */
static void evict(pm__tenants *tc, tenant *keep) {
  if (!tc->budget)
    return;
  while ((size_t)atomic_load(&tc->metrics->profile_bytes) > tc->budget) {
    pthread_mutex_lock(&tc->lock);
    tenant *victim = NULL;
    uint64_t oldest = UINT64_MAX;
    for (size_t i = 0; i < tc->n; i++) {
      tenant *t = tc->v[i];
      uint64_t used = atomic_load(&t->last_used);
      if (t == keep || !t->bytes || used >= oldest || in_use(t))
        continue;
      victim = t;
      oldest = used;
    }
    if (victim && pthread_mutex_trylock(&victim->load_lock) != 0)
      victim = NULL;
    pthread_mutex_unlock(&tc->lock);
    if (!victim)
      return; /* all the others are in use: over the budget for now */
    if (in_use(victim) || !victim->current) {
      pthread_mutex_unlock(&victim->load_lock);
      return;
    }
    size_t bytes = victim->bytes;
    drop_locked(tc, victim);
    pthread_mutex_unlock(&victim->load_lock);
    atomic_fetch_add(&tc->metrics->evictions, 1);
    pm__log_printf(tc->log, PM_LOG_INFO,
                   "tenant %s evicted (least recently used, %.1f MB) to stay "
                   "within --max-memory",
                   victim->name, (double)bytes / 1e6);
  }
}

void pm__tenants_set_budget(pm__tenants *tc, size_t bytes) {
  tc->budget = bytes;
  tc->metrics->max_memory = bytes;
}

int pm__tenants_acquire(pm__tenants *tc, const char *name, pm__snap **out,
                        char *msg, size_t cap) {
  *out = NULL;
  tenant *t = find_or_add(tc, name);
  if (!t) {
    if (errno == ENOENT) {
      snprintf(msg, cap, "unknown tenant \"%s\"", name);
      return 404;
    }
    snprintf(msg, cap, "tenant \"%s\": %s", name, strerror(errno));
    return 500;
  }
  atomic_store(&t->last_used, atomic_fetch_add(&tc->tick, 1) + 1);
  if ((*out = current_ref(t)))
    return 0;
  /* First use (or first after SIGHUP): load, once, while the other
   * requests for this tenant wait for it. */
  pthread_mutex_lock(&t->load_lock);
  int status = 0;
  bool loaded = false;
  if ((*out = current_ref(t)))
    goto done;
  int64_t now = now_ms(), now_us0 = now_us();
  if (t->fail_status && now - t->fail_ms < RETRY_MS) {
    status = t->fail_status;
    snprintf(msg, cap, "%s", t->fail_msg);
    goto done;
  }
  pm_error err;
  pm_error_clear(&err);
  pm_store *st = NULL;
  pm__snap *s = NULL;
  dev_t dev = 0;
  ino_t ino = 0;
  pm_status rc = open_store(tc, name, &st, &dev, &ino, &err);
  if (rc == PM_OK)
    rc = load_snap(tc, st, &s, &err);
  if (rc != PM_OK) {
    pm_store_close(st);
    status = status_of(rc);
    snprintf(msg, cap, "%s", pm_error_message(&err));
    t->fail_status = status;
    t->fail_ms = now;
    snprintf(t->fail_msg, sizeof t->fail_msg, "%s", msg);
    if (status != 404)
      pm__log_printf(tc->log, PM_LOG_ERROR, "tenant %s: load failed: %s", name,
                     msg);
    goto done;
  }
  t->fail_status = 0;
  t->store = st;
  t->dev = dev;
  t->ino = ino;
  t->pending = false;
  t->last_error[0] = '\0';
  atomic_fetch_add(&s->refs, 1); /* the caller's, beside the table's */
  publish(tc, t, s);
  *out = s;
  uint64_t us = (uint64_t)(now_us() - now_us0);
  atomic_fetch_add(&tc->metrics->tenant_loads, 1);
  atomic_fetch_add(&tc->metrics->tenant_load_us, us);
  uint64_t mx = atomic_load(&tc->metrics->tenant_load_max_us);
  while (us > mx && !atomic_compare_exchange_weak(
                        &tc->metrics->tenant_load_max_us, &mx, us))
    ;
  pm__log_printf(
      tc->log, PM_LOG_INFO, "tenant %s loaded: %zu senders, %.1f MB, %.1f ms",
      name, pm_profiles_count(s->profiles),
      (double)pm_profiles_memory(s->profiles) / 1e6, (double)us / 1000.0);
  loaded = true;
done:
  pthread_mutex_unlock(&t->load_lock);
  if (loaded)
    evict(tc, t);
  return status;
}

/* Logs a reload problem once: the checker retries every interval, and the
 * same complaint each time would drown the log. */
static void reload_failed(pm__tenants *tc, tenant *t, const char *what) {
  atomic_fetch_add(&tc->metrics->reloads_failed, 1);
  if (strcmp(t->last_error, what) == 0)
    return;
  snprintf(t->last_error, sizeof t->last_error, "%s", what);
  pm__log_printf(tc->log, PM_LOG_ERROR,
                 "tenant %s: reload failed, keeping the loaded profiles: %s",
                 t->name, what);
}

/* Loads the tenant's new profiles and publishes them; reopens the store
 * first when the file was replaced (or an earlier reopen failed). Called
 * with load_lock held. */
static void reload(pm__tenants *tc, tenant *t, bool reopen, int64_t now) {
  pm_error err;
  pm_error_clear(&err);
  if (reopen && t->store) {
    /* Let go of the old file before opening the new one: SQLite pairs a
     * database with its -wal and -shm files by name, and the last
     * connection to the old file may clean those up when it closes; it
     * must not do so under a connection to the new file. The loaded
     * profiles do not need the handle. */
    pm_store_close(t->store);
    t->store = NULL;
  }
  if (!t->store) {
    pm_store *st = NULL;
    dev_t dev = 0;
    ino_t ino = 0;
    if (open_store(tc, t->name, &st, &dev, &ino, &err) != PM_OK) {
      t->pending = true; /* the checker retries after RETRY_MS */
      t->last_attempt = now;
      reload_failed(tc, t, pm_error_message(&err));
      return;
    }
    t->store = st;
    t->dev = dev;
    t->ino = ino;
    reopen = true;
  }
  pm__snap *s = NULL;
  if (load_snap(tc, t->store, &s, &err) != PM_OK) {
    t->pending = true;
    t->last_attempt = now;
    reload_failed(tc, t, pm_error_message(&err));
    return;
  }
  size_t before = 0;
  pm__snap *old = current_ref(t);
  if (old)
    before = pm_profiles_count(old->profiles);
  pm__snap_release(old);
  publish(tc, t, s);
  t->pending = false;
  t->pending_since = 0;
  t->last_error[0] = '\0';
  atomic_fetch_add(&tc->metrics->reloads_ok, 1);
  pm__log_printf(tc->log, PM_LOG_INFO,
                 "tenant %s reloaded%s: %zu senders (were %zu), %lld ms",
                 t->name, reopen ? " (store file replaced)" : "",
                 pm_profiles_count(s->profiles), before,
                 (long long)(now_ms() - now));
}

/* One look at a loaded tenant's store. Called with load_lock held. */
static void check(pm__tenants *tc, tenant *t) {
  int64_t now = now_ms();
  if (!t->store) { /* a reopen failed: try again */
    if (now - t->last_attempt >= RETRY_MS)
      reload(tc, t, true, now);
    return;
  }
  bool changed = false;
  pm_error err;
  pm_error_clear(&err);
  if (pm_store_changed(t->store, &changed, &err) != PM_OK) {
    reload_failed(tc, t, pm_error_message(&err));
    return;
  }
  struct stat sb;
  const char *path = pm_store_file(t->store);
  if (stat(path, &sb) != 0) {
    /* Removed (or being replaced by a rename that has not landed): keep
     * serving what is loaded. */
    char what[sizeof t->last_error];
    snprintf(what, sizeof what, "%.300s: %.100s", path, strerror(errno));
    if (strcmp(t->last_error, what) != 0) {
      snprintf(t->last_error, sizeof t->last_error, "%s", what);
      pm__log_printf(tc->log, PM_LOG_WARN,
                     "tenant %s: store file gone, keeping the loaded "
                     "profiles: %s",
                     t->name, what);
    }
    return;
  }
  if (sb.st_dev != t->dev || sb.st_ino != t->ino) {
    /* Replaced by another file: a finished store moved into place. */
    if (!t->pending || now - t->last_attempt >= RETRY_MS)
      reload(tc, t, true, now);
    return;
  }
  if (changed) {
    if (!t->pending)
      t->pending_since = now;
    t->pending = true;
    if (now - t->pending_since < SETTLE_MAX_MS)
      return; /* still being written: wait for a quiet interval */
  }
  if (t->pending && now - t->last_attempt >= RETRY_MS)
    reload(tc, t, false, now);
}

static void *checker_main(void *arg) {
  pm__tenants *tc = arg;
  pthread_mutex_lock(&tc->lock);
  while (!tc->stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)PM_SERVE_CHECK_INTERVAL_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&tc->wake, &tc->lock, &ts);
    /* Entries are never freed while the thread runs and the table only
     * grows, so each can be used after the table lock is let go. */
    for (size_t i = 0; !tc->stop && i < tc->n; i++) {
      tenant *t = tc->v[i];
      pthread_mutex_unlock(&tc->lock);
      /* trylock: a tenant whose first load is under way is looked at next
       * time, and the other tenants do not wait for it. */
      if (pthread_mutex_trylock(&t->load_lock) == 0) {
        /* Loaded, or loaded and its store lost in a failed reopen; not a
         * tenant dropped by SIGHUP (its next request loads it). */
        if (t->store || t->current)
          check(tc, t);
        pthread_mutex_unlock(&t->load_lock);
        evict(tc, t); /* a reload may have grown the profiles */
      }
      pthread_mutex_lock(&tc->lock);
    }
  }
  pthread_mutex_unlock(&tc->lock);
  return NULL;
}

pm_status pm__tenants_start(pm__tenants *tc, pm_error *err) {
  int e = pthread_create(&tc->checker, NULL, checker_main, tc);
  if (e)
    return pm_error_set(err, PM_INTERNAL,
                        "cannot start the store checker thread: %s",
                        strerror(e));
  tc->started = true;
  return PM_OK;
}

/* Lets go of t's profiles and store. Called with t->load_lock held. */
static void drop_locked(pm__tenants *tc, tenant *t) {
  publish(tc, t, NULL);
  pm_store_close(t->store);
  t->store = NULL;
  t->pending = false;
  t->fail_status = 0;
  t->last_error[0] = '\0';
}

static void drop(pm__tenants *tc, tenant *t) {
  pthread_mutex_lock(&t->load_lock);
  drop_locked(tc, t);
  pthread_mutex_unlock(&t->load_lock);
}

void pm__tenants_reset(pm__tenants *tc, bool replace_cfg, pm_config *cfg) {
  if (replace_cfg) {
    cfgref *c = cfgref_new(cfg);
    pthread_mutex_lock(&tc->lock);
    cfgref *old = tc->cfg;
    tc->cfg = c;
    pthread_mutex_unlock(&tc->lock);
    cfgref_release(old);
  }
  pthread_mutex_lock(&tc->lock);
  size_t n = tc->n;
  pthread_mutex_unlock(&tc->lock);
  for (size_t i = 0; i < n; i++) {
    pthread_mutex_lock(&tc->lock);
    tenant *t = tc->v[i];
    pthread_mutex_unlock(&tc->lock);
    drop(tc, t);
  }
}

void pm__tenants_free(pm__tenants *tc) {
  if (!tc)
    return;
  if (tc->started) {
    pthread_mutex_lock(&tc->lock);
    tc->stop = true;
    pthread_cond_signal(&tc->wake);
    pthread_mutex_unlock(&tc->lock);
    pthread_join(tc->checker, NULL);
  }
  for (size_t i = 0; i < tc->n; i++) {
    tenant *t = tc->v[i];
    drop(tc, t);
    pthread_mutex_destroy(&t->load_lock);
    pthread_mutex_destroy(&t->swap_lock);
    free(t->name);
    free(t);
  }
  free(tc->v);
  cfgref_release(tc->cfg);
  pthread_mutex_destroy(&tc->lock);
  pthread_cond_destroy(&tc->wake);
  free(tc->dir);
  free(tc);
}
