/* The learning curve: how the scores improve with the training mail per
 * sender. Same trials and same P as the protocol; only the amount of
 * training mail changes. */
#include <stdio.h>
#include <stdlib.h>

#include "eval/run.h"

static const unsigned ks[] = {10, 20, 50, 100, 200};
enum { NK = sizeof ks / sizeof ks[0] };

pm_status pm_eval_learning_curve(const pm_eval_corpus *c, const pm_eval_opts *o,
                                 pm_eval_curve_point **out, size_t *n,
                                 pm_error *err) {
  *out = NULL;
  *n = 0;
  pm_eval_opts def;
  if (!o) {
    pm_eval_opts_default(&def);
    o = &def;
  }
  size_t most = 0;
  for (size_t i = 0; i < c->n_senders; i++)
    if (c->senders[i].profiled && c->senders[i].n_train > most)
      most = c->senders[i].n_train;
  pm_eval_curve_point *pts = calloc(NK, sizeof *pts);
  if (!pts)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  size_t np = 0;
  pm_status rc = PM_OK;
  for (size_t i = 0; i < NK && rc == PM_OK; i++) {
    unsigned k = ks[i];
    if (k > most) /* no sender has k training mails */
      continue;
    pm_eval_opts ko = *o;
    ko.max_train = k;
    /* So that a profile of k < 20 mails is ready and scored. */
    ko.min_mails = k < PM_EVAL_MIN_TRAIN ? k : PM_EVAL_MIN_TRAIN;
    char step[32];
    snprintf(step, sizeof step, "k=%u", k);
    pm_eval_run *r = NULL;
    if ((rc = pm__eval_run_step(c, &ko, step, &r, err)) != PM_OK)
      break;
    pm_eval_curve_point *p = &pts[np];
    p->k = k;
    for (size_t j = 0; j < c->n_senders; j++)
      p->senders_with_k += c->senders[j].profiled && c->senders[j].n_train >= k;
    p->train_s = r->info.train_s;
    p->score_s = r->info.score_s;
    rc = pm_eval_metrics_compute(c->trials, r->scores, c->n_trials,
                                 PM_EVAL_IMPOSTOR, NULL, &p->impostor, err);
    if (rc == PM_OK)
      rc = pm_eval_metrics_compute(c->trials, r->scores, c->n_trials,
                                   PM_EVAL_INSIDER, NULL, &p->insider, err);
    pm_eval_run_free(r);
    np++;
  }
  if (rc != PM_OK || np == 0) {
    free(pts);
    return rc;
  }
  *out = pts;
  *n = np;
  return PM_OK;
}
