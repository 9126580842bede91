/* penmark: evaluation on a labeled corpus (the protocol of EVAL.md).
 *
 * A corpus is a directory with one sub-directory per sender; each file in it
 * is one mail that sender wrote, file names in date order. The protocol:
 *   - split: a sender's first floor(0.8 n) files (byte order) are training
 *     mail, the rest test mail;
 *   - outsiders: sender s is an outsider when the first byte of
 *     SHA-256("outsider:<s>") is below 77; they are never trained on;
 *   - P: the enrolled senders with at least 20 training mails, byte order;
 *   - trials, in a fixed order: for each sender (byte order), each test mail
 *     m: genuine (m, own sender) when the sender is in P; then for k in 0..4
 *     the claim P[h(m, k) mod |P|] (h: first 8 bytes, big-endian, of
 *     SHA-256("<relpath>:<k>")), labelled impostor for an outsider's mail and
 *     insider for an enrolled sender's mail, where a draw of the mail's own
 *     sender moves to the next entry of P (wrapping); a (mail, claimed) pair
 *     already listed is not listed again.
 * The reference is shared/peers/protocol.py: this module gives the same
 * trials in the same order and the same metrics.
 *
 * The layers, each usable alone:
 *   - pm_eval_corpus: the split, P and the trials of a directory (no mail is
 *     read, only listed);
 *   - pm_eval_run: train a temporary store on the enrolled senders' training
 *     mail (pm_train), score every trial (pm_score_mail, on worker threads),
 *     remove the store; gives one pm_eval_score per trial;
 *   - metrics (AUC, EER, TPR at 1% and 0.1% FPR, Brier, abstention rate) of
 *     any list of trials and scores;
 *   - learning curve and ablation: more runs with less training mail or one
 *     feature family switched off;
 *   - outputs: the trials TSV, the report JSON, the ROC plot as SVG.
 *
 * Library code: nothing is printed; progress goes to a callback. Objects are
 * immutable once built and may be read by several threads.
 */
#ifndef PENMARK_EVAL_H
#define PENMARK_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/features.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the protocol ---- */

enum {
  PM_EVAL_MIN_TRAIN = 20,      /* training mails for a profile */
  PM_EVAL_DRAWS = 5,           /* claims drawn per non-genuine test mail */
  PM_EVAL_OUTSIDER_BELOW = 77, /* first hash byte below this: outsider */
  PM_EVAL_SHORT_CHARS = 200    /* own text below this is a "short" mail */
};

/* Whether sender (a directory name, compared as bytes) is an outsider. */
bool pm_eval_is_outsider(const char *sender);

/* Training mails of a sender with n files: floor(0.8 n). */
size_t pm_eval_train_count(size_t n);

/* h(relpath, k): the first 8 bytes, big-endian, of SHA-256("<relpath>:<k>"). */
uint64_t pm_eval_draw(const char *relpath, unsigned k);

typedef enum {
  PM_EVAL_GENUINE = 0, /* the sender's own test mail, claimed as the sender */
  PM_EVAL_IMPOSTOR,    /* an outsider's mail claimed as a profiled sender */
  PM_EVAL_INSIDER,     /* an enrolled colleague's mail claimed as another */
  PM_EVAL_MIMICRY      /* an impostor trial's mail with the claimed sender's
                          habitual greeting and closing block pasted in */
} pm_eval_label;

/* "genuine", "impostor", "insider", "mimicry". */
const char *pm_eval_label_name(pm_eval_label l);

/* One trial. The strings are borrowed from the corpus that made the trial
 * (valid until pm_eval_corpus_free); hand-made trials (for the metrics) may
 * leave them NULL. */
typedef struct {
  const char *mail;    /* relative path "SENDER/FILE" */
  const char *claimed; /* an entry of P */
  pm_eval_label label;
  size_t sender; /* index of the mail's sender in the corpus */
  size_t file;   /* index of the mail in that sender's files */
} pm_eval_trial;

/* ---- the corpus: split, P, trials ---- */

typedef struct pm_eval_corpus pm_eval_corpus;

/* One sender of a corpus. Everything is borrowed from the corpus. */
typedef struct {
  const char *name; /* the directory name */
  bool outsider;
  bool profiled;  /* enrolled with >= PM_EVAL_MIN_TRAIN training mails */
  size_t n_train; /* floor(0.8 n) */
  size_t n_test;  /* the rest */
  const char *const *files; /* "SENDER/FILE", n_train + n_test, byte order:
                               training mail first */
} pm_eval_sender;

/* Lists the corpus at dir (sub-directories and their regular files,
 * following symbolic links; every other entry is ignored) and computes the
 * split, P and the trials. Errors: PM_NOTFOUND when dir does not exist,
 * PM_IO when it cannot be read, PM_INVAL when it has no sender
 * directories, PM_NOMEM; the message names the directory. A corpus where
 * no sender has a profile opens (it has no trials); pm_eval_run refuses it.
 * *out is owned by the caller: pm_eval_corpus_free. */
pm_status pm_eval_corpus_open(const char *dir, pm_eval_corpus **out,
                              pm_error *err);
void pm_eval_corpus_free(pm_eval_corpus *c); /* NULL is a no-op */

/* The directory as given (borrowed). */
const char *pm_eval_corpus_dir(const pm_eval_corpus *c);
/* Senders, byte order of their names. */
size_t pm_eval_corpus_n_senders(const pm_eval_corpus *c);
/* Sender i (i < pm_eval_corpus_n_senders) into *out. */
void pm_eval_corpus_sender(const pm_eval_corpus *c, size_t i,
                           pm_eval_sender *out);
/* P: the profiled senders, byte order; *n gets their number. Borrowed. */
const char *const *pm_eval_corpus_profiled(const pm_eval_corpus *c, size_t *n);
/* Counts over the senders. */
size_t pm_eval_corpus_n_outsiders(const pm_eval_corpus *c);
size_t pm_eval_corpus_n_mails(const pm_eval_corpus *c);
/* The trials in protocol order; *n gets their number. Borrowed. */
const pm_eval_trial *pm_eval_corpus_trials(const pm_eval_corpus *c, size_t *n);

/* ---- mimicry (EVAL.md, "Mimicry") ---- */

/* Adds the mimicry trials to c: each profiled sender's habitual greeting
 * line and closing block (the most frequent ones, as exact text, over its
 * training mail; ties to the byte-wise smallest) and each outsider's test
 * mail's surface are read with penmark's own layout reading
 * (pm_features_surface, under cfg; NULL: the defaults); then every impostor
 * trial (m, S) is followed by a mimicry trial (m, S) unless neither part can
 * be replaced (m or S without a greeting, and m or S without a closing
 * block). Unreadable mail simply has no surface. Errors: PM_NOMEM, errors of
 * pm_extractor_new. Calling it twice is a no-op. */
pm_status pm_eval_corpus_add_mimicry(pm_eval_corpus *c, const pm_config *cfg,
                                     pm_error *err);
/* Whether c holds mimicry trials (pm_eval_corpus_add_mimicry ran). */
bool pm_eval_corpus_has_mimicry(const pm_eval_corpus *c);

/* The attack on one mail: a new raw message made of raw's header block
 * (everything before the first blank line, when the first line is a header
 * field; MIME-Version and Content-* fields dropped) with a text/plain UTF-8
 * body: own (the mail's own text) with the greeting line replaced by
 * greeting and the closing block replaced by closing, where surf has that
 * part and the replacement is not NULL. *out malloc'd, NUL-terminated (free
 * it), *replaced the number of parts replaced (0, 1 or 2). PM_NOMEM only.
 * The message is scored as any mail is: parsed, own text cut again. */
pm_status pm_eval_mimicry_rewrite(const char *raw, size_t raw_len,
                                  const char *own, size_t own_len,
                                  const pm_layout_surface *surf,
                                  const char *greeting, const char *closing,
                                  char **out, size_t *out_len,
                                  unsigned *replaced, pm_error *err);

/* ---- small tenants (EVAL.md, "Small tenants") ---- */

/* The number of groups when n_senders senders (byte order) are cut into
 * consecutive groups of size: group g holds senders g * size up to
 * (g + 1) * size, except the last, which holds the rest; a last group of
 * fewer than size / 2 senders (integer division, as protocol.py's
 * n // 2) joins the one before it. 1 when size >= n_senders > 0; 0 when
 * n_senders or size is 0. */
size_t pm_eval_tenant_count(size_t n_senders, size_t size);

/* One small tenant of a corpus. */
typedef struct {
  size_t first_sender, n_senders; /* senders of the corpus, byte order */
  size_t n_profiled;              /* its P: profiled senders of the group */
  size_t n_outsiders;
  size_t first_trial, n_trials; /* its part of pm_eval_corpus_trials */
} pm_eval_tenant;

/* Makes c a corpus of small tenants of size senders: each group is a
 * corpus of its own (its own outsiders, P and trials, the claims drawn
 * from its own P), and c's trials become the groups' trials pooled, in
 * group order, mail paths relative to the whole corpus (mimicry trials
 * too, whether pm_eval_corpus_add_mimicry ran before or runs after).
 * pm_eval_run_new, the learning curve and the ablation then train and
 * score each group apart, on a store of that group's training mail alone;
 * a group without a profile has no trials and is not run. Errors:
 * PM_INVAL when size is 0, PM_NOMEM. Calling it again regroups. */
pm_status pm_eval_corpus_set_tenants(pm_eval_corpus *c, size_t size,
                                     pm_error *err);
/* The tenant size (0: the corpus is one tenant) and the groups. */
size_t pm_eval_corpus_tenant_size(const pm_eval_corpus *c);
size_t pm_eval_corpus_n_tenants(const pm_eval_corpus *c); /* 0: none */
/* Group g (g < pm_eval_corpus_n_tenants) into *out. */
void pm_eval_corpus_tenant(const pm_eval_corpus *c, size_t g,
                           pm_eval_tenant *out);

/* ---- scores and metrics ---- */

/* The outcome of one trial. */
typedef struct {
  /* The impersonation probability, rounded to the 6 decimals of the trials
   * file (so that metrics computed here equal those computed from the
   * file); 0.5 when abstained. */
  double score;
  bool abstained;   /* the verdict abstained, or the mail was unscorable */
  bool unscorable;  /* the mail could not be read or parsed */
  size_t own_chars; /* own text of the mail, code points (0: unscorable) */
} pm_eval_score;

/* The metrics of one positive class against the genuine trials, as
 * protocol.py computes them (but not rounded): abstained trials count with
 * score 0.5; AUC with ties counted half; EER interpolated between
 * thresholds; TPR at the threshold that flags at most 1% (0.1%) of genuine
 * trials; Brier score of the probabilities (positive = 1). */
typedef struct {
  size_t n_genuine;  /* negatives */
  size_t n_positive; /* impostor (or insider) trials */
  bool defined;      /* both classes present; otherwise the rates are NAN */
  double auc, eer, tpr_1pct;
  double tpr_01pct; /* NAN with fewer than 1,000 genuine trials */
  double brier;
  double abstain_rate; /* over the trials of both classes */
} pm_eval_metrics;

/* Metrics of the trials labelled `positive` against the genuine ones, over
 * trials i with mask[i] true (mask NULL: all). scores[i] belongs to
 * trials[i]. Errors: PM_INVAL (positive is PM_EVAL_GENUINE), PM_NOMEM. */
pm_status pm_eval_metrics_compute(const pm_eval_trial *trials,
                                  const pm_eval_score *scores, size_t n,
                                  pm_eval_label positive, const bool *mask,
                                  pm_eval_metrics *out, pm_error *err);

/* The metrics of a set of trials: impostors and insiders apart. */
typedef struct {
  size_t n_trials;     /* trials in the set */
  double abstain_rate; /* over every trial of the set (0 when empty) */
  pm_eval_metrics impostor, insider;
  pm_eval_metrics mimicry; /* n_positive 0 when the run had no mimicry */
} pm_eval_group;

pm_status pm_eval_group_compute(const pm_eval_trial *trials,
                                const pm_eval_score *scores, size_t n,
                                const bool *mask, pm_eval_group *out,
                                pm_error *err);

/* ---- running the evaluation ---- */

/* Progress of a run, for a display. stage is "train" or "score"; step names
 * the run within a learning curve or an ablation ("k=50", "-layout"), NULL
 * for the main run. Strings borrowed for the call. */
typedef struct {
  const char *stage;
  const char *step;
  uint64_t done, total;
  double elapsed_s;
} pm_eval_progress;

/* Called from the thread that started the run (or, during training, from
 * pm_train's writing thread), never from two threads at once, about ten
 * times a second at most. */
typedef void (*pm_eval_progress_fn)(const pm_eval_progress *p, void *ctx);

/* BLAS threads are the caller's to set, as for pm_train (penmark/train.h):
 * a run never changes them; `penmark eval` sets its --threads. */
typedef struct {
  const pm_config *cfg; /* borrowed; NULL: the built-in defaults */
  unsigned threads;     /* training and scoring threads; 0: the cores */
  const char *tmp_dir;  /* parent of the temporary store; NULL: $TMPDIR or
                           /tmp */
  size_t max_train;     /* 0: all; else each enrolled sender's first
                           max_train training mails only */
  unsigned min_mails;   /* training mails for a ready profile (20) */
  const char *background; /* a background store for training, or NULL;
                             refused when it holds any of the corpus's
                             mail */
  pm_eval_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} pm_eval_opts;

/* The defaults: everything 0 / NULL but min_mails = PM_EVAL_MIN_TRAIN. */
void pm_eval_opts_default(pm_eval_opts *o);

typedef struct pm_eval_run pm_eval_run;

enum { PM_EVAL_EXAMPLES = 5 };

/* What a run did. Strings are owned by the run. */
typedef struct {
  size_t train_mails;       /* training files handed to pm_train */
  uint64_t mails_trained;   /* that it added to a profile */
  uint64_t mails_rejected;  /* that it could not use */
  uint64_t senders_ready;   /* ready profiles in the store */
  size_t test_mails;        /* mails scored (each against all its claims) */
  size_t unscorable_mails;  /* could not be read or parsed */
  size_t unscorable_trials; /* their trials (abstained, score 0.5) */
  const char *examples[PM_EVAL_EXAMPLES]; /* "relpath: problem" */
  size_t n_examples;
  unsigned threads;
  double train_s, score_s; /* wall clock */
  /* Mean time of one test mail (read, parse, score against every claim),
   * summed over the threads: the cost of a mail on one core, µs. */
  double us_per_mail;
  double us_per_trial; /* mean time in pm_score_mail, µs */
} pm_eval_run_info;

/* Trains a temporary store (a fresh directory made with mkdtemp under
 * o->tmp_dir, removed before returning, on success or failure) on the
 * enrolled senders' training mail, with the sender taken from the
 * directory name, then scores every trial of the corpus: each test mail is
 * read and parsed once and scored against each sender it is claimed as, on
 * o->threads threads (one scorer each; the profiles are shared). The
 * scores do not depend on the number of threads. A mail that cannot be read
 * or parsed gives abstained trials and is counted. Errors: PM_INVAL when
 * no sender has a profile (the message says so), errors of pm_train,
 * pm_store_open, pm_profiles_load, pm_scorer_new and pm_score_mail, PM_IO
 * for the temporary directory. *out owned by the caller: pm_eval_run_free. */
pm_status pm_eval_run_new(const pm_eval_corpus *c, const pm_eval_opts *o,
                          pm_eval_run **out, pm_error *err);
void pm_eval_run_free(pm_eval_run *r); /* NULL is a no-op */

/* One score per trial of the corpus, in trial order. Borrowed. */
const pm_eval_score *pm_eval_run_scores(const pm_eval_run *r);
/* Borrowed until pm_eval_run_free. */
const pm_eval_run_info *pm_eval_run_info_of(const pm_eval_run *r);

/* The learning curve: for k in 10, 20, 50, 100, 200 (skipping a k larger
 * than every profiled sender's training count), a run where each enrolled
 * sender contributes its first k training mails (min_mails = min(k, 20)),
 * scored on the same trials. o->max_train and o->min_mails are ignored. */
typedef struct {
  unsigned k;
  size_t senders_with_k; /* profiled senders that had k training mails */
  pm_eval_metrics impostor, insider;
  double train_s, score_s;
} pm_eval_curve_point;

/* *out is malloc'd (free it), *n points; NULL and 0 when every k is
 * skipped. */
pm_status pm_eval_learning_curve(const pm_eval_corpus *c, const pm_eval_opts *o,
                                 pm_eval_curve_point **out, size_t *n,
                                 pm_error *err);

/* The ablation: one run per feature family that is enabled in o->cfg, with
 * that family switched off (pm_config_with_hashed / pm_config_with_named). */
typedef struct {
  const char *family; /* static name ("char_ngrams", "layout", ...) */
  bool hashed;        /* a hashed family (else a named one) */
  pm_eval_metrics impostor, insider;
  double train_s, score_s;
} pm_eval_ablation_row;

/* *out is malloc'd (free it), *n rows. */
pm_status pm_eval_ablation(const pm_eval_corpus *c, const pm_eval_opts *o,
                           pm_eval_ablation_row **out, size_t *n,
                           pm_error *err);

/* ---- outputs ---- */

/* Writes the trials TSV: the header "mail\tclaimed\tlabel\tscore\tabstained",
 * then one line per trial in protocol order, scores with "%.6f". PM_IO when
 * a write fails. */
pm_status pm_eval_write_trials(FILE *out, const pm_eval_corpus *c,
                               const pm_eval_run *r, pm_error *err);

/* What goes into the report; everything borrowed. curve and ablation may
 * be NULL (n 0): their keys are then left out. */
typedef struct {
  const pm_eval_corpus *corpus;
  const pm_eval_run *run;
  const pm_eval_group *all;        /* every trial */
  const pm_eval_group *short_text; /* trials of mails under 200 characters */
  const pm_eval_curve_point *curve;
  size_t n_curve;
  const pm_eval_ablation_row *ablation;
  size_t n_ablation;
} pm_eval_report;

/* The report as JSON: the metrics of protocol.py at the top level
 * (n_genuine, n_impostor, auc, eer, tpr_at_fpr_1pct, tpr_at_fpr_0.1pct,
 * brier, abstain_rate; rounded to 4 decimals as it does; null where
 * undefined), "insider" and "short" objects, the corpus facts, the timings,
 * and "learning_curve" / "ablation" when given. pretty: indented, else one
 * line. malloc'd (free it); NULL when out of memory. */
char *pm_eval_report_json(const pm_eval_report *rep, bool pretty);

/* The ROC curves (impostor and insider against genuine) of trials and their
 * scores as a self-contained SVG document: log-scale false-positive rate,
 * the 1% FPR line, the chance line, a legend with each curve's AUC. A class
 * with no trials is left out. title may be NULL. malloc'd (free it); NULL
 * when out of memory. */
char *pm_eval_roc_svg(const pm_eval_trial *trials, const pm_eval_score *scores,
                      size_t n, const char *title);

#ifdef __cplusplus
}
#endif
#endif
