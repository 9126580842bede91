/* The ablation: what each feature family is worth, measured by switching it
 * off and running the whole evaluation again. */
#include <stdlib.h>
#include <string.h>

#include "eval/run.h"

/* One run with cfg; fills the row's numbers. */
static pm_status run_without(const pm_eval_corpus *c, const pm_eval_opts *o,
                             const pm_config *cfg, pm_eval_ablation_row *row,
                             pm_error *err) {
  pm_eval_opts ao = *o;
  ao.cfg = cfg;
  /* a background holds vectors of the full configuration only: the
   * ablation measures the families, each run without it */
  ao.background = NULL;
  char step[80];
  snprintf(step, sizeof step, "-%s", row->family);
  pm_eval_run *r = NULL;
  pm_status rc = pm__eval_run_step(c, &ao, step, &r, err);
  if (rc != PM_OK)
    return rc;
  row->train_s = r->info.train_s;
  row->score_s = r->info.score_s;
  rc = pm_eval_metrics_compute(c->trials, r->scores, c->n_trials,
                               PM_EVAL_IMPOSTOR, NULL, &row->impostor, err);
  if (rc == PM_OK)
    rc = pm_eval_metrics_compute(c->trials, r->scores, c->n_trials,
                                 PM_EVAL_INSIDER, NULL, &row->insider, err);
  pm_eval_run_free(r);
  return rc;
}

pm_status pm_eval_ablation(const pm_eval_corpus *c, const pm_eval_opts *o,
                           pm_eval_ablation_row **out, size_t *n,
                           pm_error *err) {
  *out = NULL;
  *n = 0;
  pm_eval_opts def;
  if (!o) {
    pm_eval_opts_default(&def);
    o = &def;
  }
  pm_config *own = NULL;
  const pm_config *base = o->cfg;
  if (!base && !(base = own = pm_config_default()))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  size_t cap = PM_FAM__HASHED_COUNT + PM_FAM__NAMED_COUNT, nr = 0;
  pm_eval_ablation_row *rows = calloc(cap, sizeof *rows);
  pm_status rc = rows ? PM_OK : pm_error_set(err, PM_NOMEM, "out of memory");
  /* A family that is off already has nothing to remove: no row. */
  for (int f = 0; rc == PM_OK && f < PM_FAM__HASHED_COUNT; f++) {
    if (!pm_config_hashed_enabled(base, (pm_hashed_family)f))
      continue;
    pm_config *cfg = pm_config_with_hashed(base, (pm_hashed_family)f, false);
    if (!cfg) {
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
      break;
    }
    rows[nr] = (pm_eval_ablation_row){
        .family = pm_hashed_family_name((pm_hashed_family)f), .hashed = true};
    rc = run_without(c, o, cfg, &rows[nr], err);
    pm_config_free(cfg);
    nr += rc == PM_OK;
  }
  for (int f = 0; rc == PM_OK && f < PM_FAM__NAMED_COUNT; f++) {
    if (!pm_config_named_enabled(base, (pm_named_family)f))
      continue;
    pm_config *cfg = pm_config_with_named(base, (pm_named_family)f, false);
    if (!cfg) {
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
      break;
    }
    rows[nr] = (pm_eval_ablation_row){
        .family = pm_named_family_name((pm_named_family)f), .hashed = false};
    rc = run_without(c, o, cfg, &rows[nr], err);
    pm_config_free(cfg);
    nr += rc == PM_OK;
  }
  pm_config_free(own);
  if (rc != PM_OK || nr == 0) {
    free(rows);
    return rc;
  }
  *out = rows;
  *n = nr;
  return PM_OK;
}
