/* The evaluation module's internals, shared by the files of eval/. */
#ifndef PM_EVAL_INTERNAL_H
#define PM_EVAL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "penmark/eval.h"

typedef struct {
  char *name;
  bool outsider, profiled;
  size_t n_train, n_test;
  char **files; /* "SENDER/FILE", owned */
  /* mimicry: the habitual surface (profiled senders; NULL: none), and per
   * file bit 0 "has a greeting", bit 1 "has a closing block" (outsiders'
   * test mail; NULL before pm_eval_corpus_add_mimicry) */
  char *greeting, *closing;
  unsigned char *surf;
} pm__eval_sender;

struct pm_eval_corpus {
  char *dir;
  pm__eval_sender *senders;
  size_t n_senders;
  const char **profiled; /* P: borrowed from senders[].name */
  size_t n_profiled;
  pm_eval_trial *trials;
  size_t n_trials;
  size_t n_outsiders, n_mails;
  bool mimicry; /* mimicry trials listed */
  /* small tenants (eval/groups.c): 0, or the group size; then the trials
   * are the groups' trials pooled, and a run runs each group apart */
  size_t tenant_size;
  pm_eval_tenant *tenants; /* pm_eval_tenant_count of them */
  size_t n_tenants;
};

struct pm_eval_run {
  pm_eval_score *scores; /* one per trial of the corpus */
  size_t n_scores;
  pm_eval_run_info info;
  char *examples[PM_EVAL_EXAMPLES]; /* owned; info.examples borrows them */
};

/* Appends the trials of the protocol to c (c->senders and c->profiled set).
 * PM_NOMEM only. */
pm_status pm__eval_make_trials(pm_eval_corpus *c, pm_error *err);

/* The pooled trials of the small tenants of c->tenant_size senders into
 * c->trials (eval/groups.c). PM_NOMEM only. */
pm_status pm__eval_tenant_trials(pm_eval_corpus *c, pm_error *err);

/* A run of a corpus of small tenants: each group trained and scored as a
 * corpus of its own (pm__eval_run_step on it), the scores pooled in trial
 * order (eval/groups.c). */
pm_status pm__eval_tenants_run(const pm_eval_corpus *c, const pm_eval_opts *o,
                               const char *step, pm_eval_run **out,
                               pm_error *err);

/* The index of the sender called name, or n_senders. */
size_t pm__eval_sender_index(const pm_eval_corpus *c, const char *name);

/* The path of relpath under the corpus directory, malloc'd; NULL: no memory. */
char *pm__eval_path(const pm_eval_corpus *c, const char *relpath);

/* ---- ROC points, as protocol.py's roc_points() ---- */
typedef struct {
  double fpr, tpr;
} pm__roc_point;

/* The points for every threshold, thresholds descending, starting at (0, 0):
 * flag when score >= threshold. pos and neg are sorted here (descending).
 * *pts malloc'd (free it); false when out of memory. */
bool pm__roc_points(double *pos, size_t np, double *neg, size_t nn,
                    pm__roc_point **pts, size_t *npts);

/* AUC with ties counted half; sorts pos and neg. NAN when either is empty.
 * false when out of memory. */
bool pm__auc(double *pos, size_t np, double *neg, size_t nn, double *auc);

double pm__eer(const pm__roc_point *pts, size_t n);
double pm__tpr_at(const pm__roc_point *pts, size_t n, double max_fpr);

/* A score rounded to the trials file's precision ("%.6f" read back). */
double pm__eval_quantize(double score);

/* ---- the temporary store ---- */

/* Makes a fresh directory under parent (NULL: $TMPDIR or /tmp); *out
 * malloc'd. PM_IO naming the parent when it fails. */
pm_status pm__eval_tmpdir(const char *parent, char **out, pm_error *err);

/* Seconds on the monotonic clock. */
double pm__eval_now(void);

#endif
