/* Per-worker scorers (see serve_worker.h). */
#include "score/serve/serve_worker.h"

#include <stdint.h>
#include <stdlib.h>

/* Configurations kept per thread; past this the least recently used goes
 * (after SIGHUP changed the configuration, the old scorer is not needed). */
enum { SLOTS = 4 };

typedef struct {
  uint64_t hash;
  pm_config *cfg; /* own copy: the scorer must not borrow from profiles
                     that a reload may free while the scorer lives on */
  pm_scorer *scorer;
  uint64_t used;
} slot;

typedef struct {
  slot slots[SLOTS];
  int n;
  uint64_t tick;
} worker;

static void slot_free(slot *s) {
  pm_scorer_free(s->scorer);
  pm_config_free(s->cfg);
  s->scorer = NULL;
  s->cfg = NULL;
}

static void worker_free(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->n; i++)
    slot_free(&w->slots[i]);
  free(w);
}

int pm__worker_key_create(pthread_key_t *key) {
  return pthread_key_create(key, worker_free);
}

pm_status pm__worker_scorer(pthread_key_t key, const pm__snap *snap,
                            double flag_rate, pm_scorer **out, pm_error *err) {
  worker *w = pthread_getspecific(key);
  if (!w) {
    if (!(w = calloc(1, sizeof *w)))
      return pm_error_set(err, PM_NOMEM, "out of memory");
    if (pthread_setspecific(key, w) != 0) {
      free(w);
      return pm_error_set(err, PM_NOMEM, "out of memory");
    }
  }
  w->tick++;
  for (int i = 0; i < w->n; i++)
    if (w->slots[i].hash == snap->cfg_hash) {
      w->slots[i].used = w->tick;
      *out = w->slots[i].scorer;
      return PM_OK;
    }
  int at = w->n;
  if (at == SLOTS) {
    at = 0;
    for (int i = 1; i < SLOTS; i++)
      if (w->slots[i].used < w->slots[at].used)
        at = i;
    slot_free(&w->slots[at]);
  }
  slot s = {.hash = snap->cfg_hash, .used = w->tick};
  if (!(s.cfg = pm_config_clone(pm_profiles_config(snap->profiles))))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = pm_scorer_new(s.cfg, &s.scorer, err);
  if (rc == PM_OK && flag_rate > 0.0 &&
      (rc = pm_scorer_set_flag_rate(s.scorer, flag_rate, err)) != PM_OK) {
    pm_scorer_free(s.scorer);
    s.scorer = NULL;
  }
  if (rc != PM_OK) {
    pm_config_free(s.cfg);
    if (at < w->n) /* the evicted slot stays empty: move the last one in */
      w->slots[at] = w->slots[--w->n];
    return rc;
  }
  w->slots[at] = s;
  if (at == w->n)
    w->n++;
  *out = s.scorer;
  return PM_OK;
}
