/* One evaluation run: train a temporary store on the enrolled senders'
 * training mail, load its profiles, score every trial, remove the store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tmpdir.h"
#include "eval/run.h"
#include "eval/score_pool.h"
#include "penmark/store.h"
#include "penmark/train.h"

/* The tenant of the temporary store: any valid name does, the directory
 * is private to the run. */
static const char tenant[] = "eval";

static unsigned cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

static void free_inputs(char **v, size_t n) {
  if (!v)
    return;
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* The training files: each enrolled sender's first min(n_train, max_train)
 * files, as paths under the corpus directory. */
static pm_status training_inputs(const pm_eval_corpus *c, size_t max_train,
                                 char ***out, size_t *n, pm_error *err) {
  size_t total = 0;
  for (size_t i = 0; i < c->n_senders; i++) {
    const pm__eval_sender *s = &c->senders[i];
    if (!s->outsider)
      total += max_train && s->n_train > max_train ? max_train : s->n_train;
  }
  char **v = calloc(total ? total : 1, sizeof *v);
  if (!v)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  size_t k = 0;
  size_t dl = strlen(c->dir);
  for (size_t i = 0; i < c->n_senders; i++) {
    const pm__eval_sender *s = &c->senders[i];
    if (s->outsider)
      continue;
    size_t m = max_train && s->n_train > max_train ? max_train : s->n_train;
    for (size_t j = 0; j < m; j++) {
      size_t fl = strlen(s->files[j]);
      char *p = malloc(dl + fl + 2);
      if (!p) {
        free_inputs(v, k);
        return pm_error_set(err, PM_NOMEM, "out of memory");
      }
      memcpy(p, c->dir, dl);
      p[dl] = '/';
      memcpy(p + dl + 1, s->files[j], fl + 1);
      v[k++] = p;
    }
  }
  *out = v;
  *n = k;
  return PM_OK;
}

typedef struct {
  const pm_eval_opts *o;
  const char *step;
} train_ctx;

static void train_progress(const pm_train_progress *tp, void *arg) {
  const train_ctx *t = arg;
  pm_eval_progress p = {"train", t->step, tp->mails_done, tp->mails_total,
                        tp->elapsed_s};
  t->o->progress(&p, t->o->progress_ctx);
}

/* Trains the store in dir; fills the training fields of info. */
static pm_status train(const pm_eval_corpus *c, const pm_eval_opts *o,
                       const pm_config *cfg, unsigned threads, const char *dir,
                       const char *step, pm_eval_run_info *info,
                       pm_error *err) {
  char **inputs = NULL;
  size_t n = 0;
  pm_status rc = training_inputs(c, o->max_train, &inputs, &n, err);
  if (rc != PM_OK)
    return rc;
  pm_train_opts to;
  pm_train_opts_default(&to);
  to.store_dir = dir;
  to.tenant = tenant;
  to.cfg = cfg;
  to.threads = threads;
  to.min_mails = o->min_mails ? o->min_mails : PM_EVAL_MIN_TRAIN;
  to.label_by_dir = true; /* the sender is the directory's name */
  to.background = o->background;
  train_ctx tc = {o, step};
  if (o->progress) {
    to.progress = train_progress;
    to.progress_ctx = &tc;
  }
  pm_train_summary sum;
  memset(&sum, 0, sizeof sum);
  double t0 = pm__eval_now();
  rc = pm_train(&to, (const char *const *)inputs, n, &sum, err);
  info->train_s = pm__eval_now() - t0;
  info->train_mails = n;
  info->mails_trained = sum.mails_trained;
  info->mails_rejected = sum.mails_rejected;
  info->senders_ready = sum.senders_ready;
  pm_train_summary_free(&sum);
  free_inputs(inputs, n);
  return rc;
}

pm_status pm__eval_run_step(const pm_eval_corpus *c, const pm_eval_opts *o,
                            const char *step, pm_eval_run **out,
                            pm_error *err) {
  *out = NULL;
  if (c->tenant_size && c->n_profiled)
    return pm__eval_tenants_run(c, o, step, out, err);
  if (c->n_profiled == 0)
    return pm_error_set(err, PM_INVAL,
                        "corpus %s: no sender has a profile (an enrolled "
                        "sender needs at least %d training mails, the first "
                        "80%% of its files)",
                        c->dir, PM_EVAL_MIN_TRAIN);
  pm_config *own_cfg = NULL;
  const pm_config *cfg = o->cfg;
  if (!cfg && !(cfg = own_cfg = pm_config_default()))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  unsigned threads = o->threads ? o->threads : cores();
  pm_eval_run *r = calloc(1, sizeof *r);
  char *dir = NULL;
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_status rc = PM_OK;
  if (!r ||
      !(r->scores = calloc(c->n_trials ? c->n_trials : 1, sizeof *r->scores))) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto out;
  }
  r->n_scores = c->n_trials;
  if ((rc = pm__eval_tmpdir(o->tmp_dir, &dir, err)) != PM_OK)
    goto out;
  if ((rc = train(c, o, cfg, threads, dir, step, &r->info, err)) != PM_OK)
    goto out;
  if ((rc = pm_store_open(dir, tenant, PM_STORE_READ, NULL, 0, &st, err)) !=
      PM_OK)
    goto out;
  if ((rc = pm_profiles_load(st, cfg, &prof, err)) != PM_OK)
    goto out;
  pm__score_job job = {c,   cfg, prof, threads, o->progress, o->progress_ctx,
                       step};
  rc = pm__eval_score_all(&job, r, err);
out:
  pm_profiles_free(prof);
  pm_store_close(st);
  /* The store goes, whatever happened: it holds the corpus's statistics. */
  pm__rmtree(dir);
  free(dir);
  pm_config_free(own_cfg);
  if (rc != PM_OK) {
    pm_eval_run_free(r);
    return rc;
  }
  *out = r;
  return PM_OK;
}

/* A background that holds any mail of the corpus would let the measure see
 * its own test mail: refused before any work. */
static pm_status check_background(const pm_eval_corpus *c, const char *bg,
                                  pm_error *err) {
  size_t total = 0, k = 0, dl = strlen(c->dir);
  for (size_t i = 0; i < c->n_senders; i++)
    total += c->senders[i].n_train + c->senders[i].n_test;
  char **v = calloc(total ? total : 1, sizeof *v);
  if (!v)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_status rc = PM_OK;
  for (size_t i = 0; rc == PM_OK && i < c->n_senders; i++) {
    const pm__eval_sender *s = &c->senders[i];
    for (size_t j = 0; rc == PM_OK && j < s->n_train + s->n_test; j++) {
      size_t fl = strlen(s->files[j]);
      if (!(v[k] = malloc(dl + fl + 2))) {
        rc = pm_error_set(err, PM_NOMEM, "out of memory");
        break;
      }
      memcpy(v[k], c->dir, dl);
      v[k][dl] = '/';
      memcpy(v[k] + dl + 1, s->files[j], fl + 1);
      k++;
    }
  }
  size_t found = 0, first = 0;
  if (rc == PM_OK)
    rc = pm_background_overlap(bg, (const char *const *)v, k, &found, &first,
                               err);
  if (rc == PM_OK && found)
    rc = pm_error_set(err, PM_INVAL,
                      "background %s holds %zu mails of the corpus %s (first: "
                      "%s): build it from other mail",
                      bg, found, c->dir, v[first] + dl + 1);
  free_inputs(v, k);
  return rc;
}

pm_status pm_eval_run_new(const pm_eval_corpus *c, const pm_eval_opts *o,
                          pm_eval_run **out, pm_error *err) {
  pm_eval_opts def;
  if (!o) {
    pm_eval_opts_default(&def);
    o = &def;
  }
  if (o->background) {
    pm_status rc = check_background(c, o->background, err);
    if (rc != PM_OK)
      return rc;
  }
  return pm__eval_run_step(c, o, NULL, out, err);
}
