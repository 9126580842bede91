/* The trials file: every trial with its score, from which anyone can
 * recompute the metrics (protocol.py metrics TRIALS). */
#include <errno.h>
#include <string.h>

#include "eval/internal.h"

pm_status pm_eval_write_trials(FILE *out, const pm_eval_corpus *c,
                               const pm_eval_run *r, pm_error *err) {
  if (r->n_scores != c->n_trials)
    return pm_error_set(err, PM_INVAL,
                        "trials file: the run has %zu scores for %zu trials",
                        r->n_scores, c->n_trials);
  if (fputs("mail\tclaimed\tlabel\tscore\tabstained\n", out) == EOF)
    goto io;
  for (size_t i = 0; i < c->n_trials; i++) {
    const pm_eval_trial *t = &c->trials[i];
    const pm_eval_score *s = &r->scores[i];
    /* An abstention is written as 0.5 whatever the scorer said, so that the
     * file alone gives the metrics. */
    if (fprintf(out, "%s\t%s\t%s\t%.6f\t%d\n", t->mail, t->claimed,
                pm_eval_label_name(t->label), s->abstained ? 0.5 : s->score,
                s->abstained ? 1 : 0) < 0)
      goto io;
  }
  if (fflush(out) == EOF)
    goto io;
  return PM_OK;
io:
  return pm_error_set(err, PM_IO, "trials file: write error: %s",
                      strerror(errno));
}
