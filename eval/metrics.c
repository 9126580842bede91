/* The metrics of EVAL.md over trials and their scores, as protocol.py's
 * _one() and metrics() compute them. */
#include <math.h>
#include <stdlib.h>

#include "eval/internal.h"

/* A trial's score as the metrics see it: 0.5 when abstained. */
static double value(const pm_eval_score *s) {
  return s->abstained ? 0.5 : s->score;
}

static bool selected(const bool *mask, size_t i) {
  return !mask || mask[i];
}

pm_status pm_eval_metrics_compute(const pm_eval_trial *trials,
                                  const pm_eval_score *scores, size_t n,
                                  pm_eval_label positive, const bool *mask,
                                  pm_eval_metrics *out, pm_error *err) {
  *out = (pm_eval_metrics){0};
  out->auc = out->eer = out->tpr_1pct = out->tpr_01pct = NAN;
  out->brier = out->abstain_rate = NAN;
  if (positive == PM_EVAL_GENUINE)
    return pm_error_set(err, PM_INVAL,
                        "metrics: the positive class cannot be genuine");
  size_t np = 0, nn = 0, abstained = 0;
  for (size_t i = 0; i < n; i++) {
    if (!selected(mask, i))
      continue;
    if (trials[i].label == positive)
      np++;
    else if (trials[i].label == PM_EVAL_GENUINE)
      nn++;
    else
      continue;
    abstained += scores[i].abstained;
  }
  out->n_positive = np;
  out->n_genuine = nn;
  if (np + nn > 0)
    out->abstain_rate = (double)abstained / (double)(np + nn);
  if (np == 0 || nn == 0)
    return PM_OK;

  double *pos = malloc(np * sizeof *pos), *neg = malloc(nn * sizeof *neg);
  pm__roc_point *pts = NULL;
  size_t npts = 0;
  if (!pos || !neg) {
    free(pos);
    free(neg);
    return pm_error_set(err, PM_NOMEM, "metrics: out of memory");
  }
  /* Brier in trial order: the order of protocol.py's sum. */
  double sq = 0.0;
  size_t ip = 0, in = 0;
  for (size_t i = 0; i < n; i++) {
    if (!selected(mask, i))
      continue;
    double v = value(&scores[i]);
    if (trials[i].label == positive) {
      pos[ip++] = v;
      sq += (v - 1.0) * (v - 1.0);
    } else if (trials[i].label == PM_EVAL_GENUINE) {
      neg[in++] = v;
      sq += v * v;
    }
  }
  double auc;
  if (!pm__auc(pos, np, neg, nn, &auc) ||
      !pm__roc_points(pos, np, neg, nn, &pts, &npts)) {
    free(pos);
    free(neg);
    return pm_error_set(err, PM_NOMEM, "metrics: out of memory");
  }
  out->defined = true;
  out->auc = auc;
  out->eer = pm__eer(pts, npts);
  out->tpr_1pct = pm__tpr_at(pts, npts, 0.01);
  if (nn >= 1000)
    out->tpr_01pct = pm__tpr_at(pts, npts, 0.001);
  out->brier = sq / (double)(np + nn);
  free(pts);
  free(pos);
  free(neg);
  return PM_OK;
}

pm_status pm_eval_group_compute(const pm_eval_trial *trials,
                                const pm_eval_score *scores, size_t n,
                                const bool *mask, pm_eval_group *out,
                                pm_error *err) {
  *out = (pm_eval_group){0};
  size_t abstained = 0;
  for (size_t i = 0; i < n; i++)
    /* protocol.py: the top level is over the plain (non-mimicry) rows */
    if (selected(mask, i) && trials[i].label != PM_EVAL_MIMICRY) {
      out->n_trials++;
      abstained += scores[i].abstained;
    }
  /* protocol.py: sum(abstained) / max(1, len(rows)). */
  out->abstain_rate =
      (double)abstained / (double)(out->n_trials ? out->n_trials : 1);
  pm_status rc = pm_eval_metrics_compute(trials, scores, n, PM_EVAL_IMPOSTOR,
                                         mask, &out->impostor, err);
  if (rc == PM_OK)
    rc = pm_eval_metrics_compute(trials, scores, n, PM_EVAL_INSIDER, mask,
                                 &out->insider, err);
  if (rc == PM_OK)
    rc = pm_eval_metrics_compute(trials, scores, n, PM_EVAL_MIMICRY, mask,
                                 &out->mimicry, err);
  return rc;
}
