/* Scoring every trial of a corpus on worker threads (eval/score_pool.c). */
#ifndef PM_EVAL_SCORE_POOL_H
#define PM_EVAL_SCORE_POOL_H

#include "eval/internal.h"
#include "penmark/score.h"

typedef struct {
  const pm_eval_corpus *corpus;
  const pm_config *cfg;         /* the profiles' configuration */
  const pm_profiles *profiles;  /* shared by the workers, read-only */
  unsigned threads;             /* >= 1 */
  pm_eval_progress_fn progress; /* may be NULL; called from this thread */
  void *progress_ctx;
  const char *step;
} pm__score_job;

/* Scores every trial into run->scores (allocated by the caller, one per
 * trial) and fills run->info's scoring fields and run->examples. Fails on
 * the first error of pm_scorer_new or pm_score_mail (the scores are then
 * partial); unreadable or unparseable mails are not errors. */
pm_status pm__eval_score_all(const pm__score_job *job, pm_eval_run *run,
                             pm_error *err);

#endif
