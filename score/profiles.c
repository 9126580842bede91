/* Loading a tenant's published model (see include/penmark/score.h). */
#include <stdlib.h>
#include <string.h>

#include "score/profiles_internal.h"

static pm_status no_model(pm_store *st, pm__model *m, pm_error *err) {
  /* Never finalized (a first run killed early): the senders exist, none is
   * ready. */
  pm_store_sender *list;
  size_t n;
  pm_status rc = pm_store_senders(st, &list, &n, err);
  if (rc != PM_OK)
    return rc;
  m->senders = calloc(n ? n : 1, sizeof *m->senders);
  if (!m->senders) {
    pm_store_senders_free(list, n);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  m->n_senders = (uint32_t)n;
  for (size_t i = 0; i < n; i++) {
    m->senders[i].address = list[i].address;
    list[i].address = NULL;
    m->senders[i].mails = (uint64_t)list[i].mails;
    m->senders[i].last_trained = list[i].last_trained;
    m->senders[i].row = -1;
  }
  pm_store_senders_free(list, n);
  m->threshold = 0.5;
  return PM_OK;
}

/* The configuration to score with: cfg when it is the store's (a copy),
 * else the store's own. */
static pm_status load_config(pm_store *st, const pm_config *cfg, pm_profiles *p,
                             pm_error *err) {
  if (cfg) {
    if (pm_config_hash(cfg) != pm_store_config_hash(st))
      return pm_error_set(err, PM_MISMATCH,
                          "store %s was built with another feature "
                          "configuration (hash %016llx, this scorer uses "
                          "%016llx); score with the store's configuration or "
                          "train again",
                          pm_store_file(st),
                          (unsigned long long)pm_store_config_hash(st),
                          (unsigned long long)pm_config_hash(cfg));
    p->cfg = pm_config_clone(cfg);
  } else {
    const char *json = pm_store_config_json(st);
    pm_error inner;
    if (pm_config_parse(json, strlen(json), &p->cfg, &inner) != PM_OK)
      return pm_error_set(err, PM_CORRUPT, "store %s: its configuration: %s",
                          pm_store_file(st), pm_error_message(&inner));
  }
  if (!p->cfg)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  p->hash = pm_config_hash(p->cfg);
  return PM_OK;
}

/* The published model, checked against the configuration; a store without
 * one has profiles of nobody ready. */
static pm_status load_model(pm_store *st, pm_profiles *p, pm_error *err) {
  void *blob = NULL;
  size_t len = 0;
  pm_status rc = pm_store_get(st, PM_KIND_MODEL, 0, &blob, &len, err);
  if (rc == PM_NOTFOUND) {
    rc = no_model(st, &p->m, err);
  } else if (rc == PM_OK) {
    pm_error inner;
    rc = pm__model_decode(blob, len, &p->m, &inner);
    if (rc != PM_OK)
      pm_error_set(err, rc, "store %s: %s", pm_store_file(st),
                   pm_error_message(&inner));
    else if (p->m.config_hash != p->hash ||
             p->m.d != pm_config_vector_dim(p->cfg) ||
             p->m.n_named != pm_named_count())
      rc = pm_error_set(err, PM_MISMATCH,
                        "store %s: its model was built by another version of "
                        "penmark (train the tenant again)",
                        pm_store_file(st));
  }
  free(blob);
  return rc;
}

/* The tenant's mean of each named feature over the ready senders, as
 * training's calibration computes it (train/finalize.c). */
static bool tenant_named_means(pm_profiles *p) {
  size_t nn = p->m.n_named, R = p->m.n_ready;
  p->tenant_named = calloc(nn ? nn : 1, sizeof *p->tenant_named);
  if (!p->tenant_named)
    return false;
  for (size_t j = 0; j < nn; j++) {
    double t = 0;
    for (size_t r = 0; r < R; r++)
      t += p->m.named_mean[r * nn + j];
    p->tenant_named[j] = R ? (float)(t / (double)R) : 0.0f;
  }
  return true;
}

pm_status pm_profiles_load(pm_store *st, const pm_config *cfg,
                           pm_profiles **out, pm_error *err) {
  *out = NULL;
  pm_profiles *p = calloc(1, sizeof *p);
  if (!p)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = load_config(st, cfg, p, err);
  if (rc == PM_OK)
    rc = load_model(st, p, err);
  if (rc != PM_OK)
    goto fail;
  size_t R = p->m.n_ready;
  p->by_row = calloc(R ? R : 1, sizeof *p->by_row);
  if (!p->by_row) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto fail;
  }
  for (uint32_t i = 0; i < p->m.n_senders; i++)
    if (p->m.senders[i].row >= 0)
      p->by_row[p->m.senders[i].row] = &p->m.senders[i];
  rc = pm__reasons_prepare(p, err);
  if (rc != PM_OK)
    goto fail;
  if (!tenant_named_means(p)) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto fail;
  }
  rc = pm__rows8_make(p->m.W, R, p->m.d, &p->w8, err);
  if (rc != PM_OK)
    goto fail;
  p->memory = sizeof *p + p->m.n_senders * (sizeof(pm__model_sender) + 32) +
              R * (2 * (size_t)p->m.d + 2 * (size_t)p->m.n_named) * 4 +
              R * p->w8.blocks * (64 + 4);
  *out = p;
  return PM_OK;
fail:
  pm_profiles_free(p);
  return rc;
}

void pm_profiles_free(pm_profiles *p) {
  if (!p)
    return;
  pm__model_free(&p->m);
  free(p->by_row);
  free(p->tenant_named);
  pm__reasons_release(p);
  pm__rows8_free(&p->w8);
  pm_config_free(p->cfg);
  free(p);
}

const pm_config *pm_profiles_config(const pm_profiles *p) {
  return p->cfg;
}
size_t pm_profiles_count(const pm_profiles *p) {
  return p->m.n_senders;
}
double pm_profiles_threshold(const pm_profiles *p) {
  return p->m.threshold;
}
size_t pm_profiles_memory(const pm_profiles *p) {
  return p->memory;
}
