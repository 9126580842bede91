/* One evaluation run (eval/run.c), for the learning curve and the ablation
 * too. */
#ifndef PM_EVAL_RUN_H
#define PM_EVAL_RUN_H

#include "eval/internal.h"

/* pm_eval_run_new with a name for the progress display (NULL for the main
 * run). */
pm_status pm__eval_run_step(const pm_eval_corpus *c, const pm_eval_opts *o,
                            const char *step, pm_eval_run **out, pm_error *err);

#endif
