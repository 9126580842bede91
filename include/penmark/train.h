/* penmark: training, the nightly job of a tenant.
 *
 * pm_train() reads mail (maildirs, mbox files, trees of .eml/.txt files, or
 * single files), extracts each mail's style vector on several threads (one
 * extractor per thread), and adds it to its sender's statistics in the
 * tenant's store. A mail trained before (same fingerprint: a hash of its
 * Message-ID and own text) is skipped, so running the same input twice
 * changes nothing. Statistics are sums, so training on A then B equals
 * training on A and B at once.
 *
 * The store is written by this one thread, in batched transactions; each
 * batch holds its mails' fingerprints and statistics together, so a run that
 * is killed leaves the store at its last committed batch, and the next run
 * picks up the rest. The profiles that scorers read (statistics, profile
 * matrix inputs and calibration) change together, in the final transaction
 * of a run, never half-way.
 *
 * BLAS threads are the caller's to set (openblas_set_num_threads, once,
 * before the call): pm_train and pm_train_impostor never change them. The
 * writing thread's BLAS calls (the Gram matrix, the model at the end of a
 * run) use as many as are set; the penmark command sets its --threads.
 */
#ifndef PENMARK_TRAIN_H
#define PENMARK_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/mail.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Progress of a run, reported to the callback (from the writing thread, at
 * most about ten times a second, and once at the end). */
typedef struct {
  uint64_t mails_done, mails_total; /* mails handled of those enumerated */
  uint64_t bytes_done, bytes_total;
  double elapsed_s;
  bool finalizing; /* all mail is in; computing the profiles */
} pm_train_progress;

typedef void (*pm_train_progress_fn)(const pm_train_progress *p, void *ctx);

typedef struct {
  const char *store_dir;         /* DIR: the store is DIR/<tenant>.db */
  const char *tenant;            /* checked: [a-z0-9][a-z0-9._-]{0,63} */
  const pm_config *cfg;          /* borrowed for the call */
  const char *background;        /* a background store (`penmark
                                    background`) or NULL; borrowed */
  unsigned threads;              /* extraction threads; 0 = the cores */
  unsigned min_mails;            /* a sender with fewer is not ready (20) */
  bool label_by_dir;             /* sender = the mail's directory name */
  size_t batch_mails;            /* mails per transaction (10000) */
  pm_mail_limits limits;         /* per mail */
  pm_train_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} pm_train_opts;

/* Fills opts with the defaults; store_dir, tenant and cfg stay NULL. */
void pm_train_opts_default(pm_train_opts *opts);

/* Why a mail was not trained. */
typedef enum {
  PM_REJECT_UNREADABLE = 0, /* could not be read */
  PM_REJECT_TOO_BIG,        /* over limits.max_bytes */
  PM_REJECT_NOT_MAIL,       /* empty or binary */
  PM_REJECT_NO_SENDER,      /* no From: address (and no --label-by-dir) */
  PM_REJECT_NO_TEXT,        /* no own text left after quotes were cut */
  PM_REJECT__COUNT
} pm_reject_reason;

/* "unreadable", "too_big", "not_mail", "no_sender", "no_text". */
const char *pm_reject_reason_name(pm_reject_reason r);

enum { PM_TRAIN_EXAMPLES = 5 };

typedef struct {
  uint64_t mails_read;      /* mails enumerated and looked at */
  uint64_t mails_trained;   /* added to a profile */
  uint64_t mails_duplicate; /* skipped: trained before */
  uint64_t mails_rejected;  /* see rejected[] */
  uint64_t rejected[PM_REJECT__COUNT];
  /* the first few rejected mails, "name: problem"; owned by the summary */
  char *examples[PM_TRAIN_EXAMPLES];
  size_t n_examples;
  uint64_t input_errors; /* inputs that could not be listed at all */
  char *input_error_examples[PM_TRAIN_EXAMPLES];
  size_t n_input_error_examples;
  uint64_t bytes_read;
  uint64_t senders_updated; /* senders that got mail in this run */
  uint64_t senders;         /* senders in the store after the run */
  uint64_t senders_ready;
  double elapsed_s;
} pm_train_summary;

/* Frees what the summary owns (not the struct itself). */
void pm_train_summary_free(pm_train_summary *sum);

/* Trains opts->tenant from the inputs ("-" = a list of paths on stdin).
 * Mails that cannot be used are counted in the summary, never fatal. Fails
 * (with the store at its last committed state) on a bad tenant name, a
 * store that is corrupt, foreign or of another configuration, or an I/O
 * error of the store. The summary is filled even on failure, as far as the
 * run got; free it with pm_train_summary_free either way. */
pm_status pm_train(const pm_train_opts *opts, const char *const *inputs,
                   size_t n_inputs, pm_train_summary *sum, pm_error *err);

/* How many of the n files in paths a background store (pm_train_opts
 * background) holds, byte for byte: a background must be built from other
 * mail than the mail it is measured on. *first gets the index of the first
 * one found (when *found > 0). Files that cannot be read are skipped.
 * Errors: the background cannot be opened (PM_NOTFOUND, PM_CORRUPT...). */
pm_status pm_background_overlap(const char *background,
                                const char *const *paths, size_t n,
                                size_t *found, size_t *first, pm_error *err);
/* ---- feedback (penmark feedback) ----
 * A released false positive is learned as its claimed sender's mail: that
 * is pm_train on the mail (idempotent like any training). A confirmed
 * attack is pm_train_impostor. */

/* Records each mail of the inputs as a confirmed attack on its claimed
 * sender (From:, or the directory with label_by_dir), as numbers only: its
 * model vector joins the tenant's moments as mail of nobody, so that every
 * sender's profile learns to score it (and mail like it) low, and is kept
 * as a held-out impostor for the calibration; then the profiles are
 * computed again. One transaction: a run that is killed changes nothing. A
 * mail seen before (as an attack or as training mail) is a duplicate; a run
 * of duplicates only leaves the store as it was. The store must exist and
 * hold trained mail. The summary counts as pm_train's, mails_trained being
 * the attacks recorded; free it with pm_train_summary_free. */
pm_status pm_train_impostor(const pm_train_opts *opts,
                            const char *const *inputs, size_t n_inputs,
                            pm_train_summary *sum, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
