/* The result of a run: its scores and what it did. Apart from run.c so that
 * reading a result never pulls training and scoring into a program. */
#include <stdlib.h>

#include "eval/internal.h"

void pm_eval_opts_default(pm_eval_opts *o) {
  *o = (pm_eval_opts){0};
  o->min_mails = PM_EVAL_MIN_TRAIN;
}

void pm_eval_run_free(pm_eval_run *r) {
  if (!r)
    return;
  for (size_t i = 0; i < PM_EVAL_EXAMPLES; i++)
    free(r->examples[i]);
  free(r->scores);
  free(r);
}

const pm_eval_score *pm_eval_run_scores(const pm_eval_run *r) {
  return r->scores;
}

const pm_eval_run_info *pm_eval_run_info_of(const pm_eval_run *r) {
  return &r->info;
}
