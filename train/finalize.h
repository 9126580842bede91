/* The end of a training run: from the store's statistics to the published
 * model (penmark/model.h).
 *
 * The model is a linear discriminant computed in closed form from the
 * sufficient statistics: ridge regression of one-hot sender targets on the
 * model vectors, which needs only the tenant's Gram matrix (second moments)
 * and each sender's sum. Each sender's score is then normalised against
 * held-out scores: leave-one-out scores of the calibration samples (exact for
 * ridge regression), the sender's own as genuine and the other senders' as
 * impostors; and one logistic (Platt) calibration for the tenant maps the
 * normalised score to a probability. */
#ifndef PM_TRAIN_FINALIZE_H
#define PM_TRAIN_FINALIZE_H

#include <stdint.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/model.h"
#include "penmark/store.h"
#include "train/background.h"
#include "train/gram.h"

/* Tuned on the development corpora (see README, Accuracy). */
#define PM_RIDGE_LAMBDA 4.0 /* ridge penalty on the scatter matrix */
#define PM_NAMED_WEIGHT 1.0 /* weight of the standardised named block */
#define PM_SAMPLE_K 40      /* calibration sample per sender */
#define PM_FLAG_RATE 0.01   /* default threshold: flags 1% of genuine */
/* Background samples used as held-out outsiders, at most: each costs a
 * solve of the tenant's system, and a thousand spread over the background's
 * writers pin its impostor scores down well enough. */
#define PM_BACKGROUND_SAMPLES 1000

/* Computes the model from the statistics in the store (inside the caller's
 * transaction) and the tenant moments g, marks senders ready (at least
 * min_mails mails), and writes the "model" blob. bg (may be NULL): a
 * background, whose moments are added to g (g is consumed: do not store it
 * afterwards) and whose samples serve as held-out outsiders; with one, a
 * tenant of a single sender gets a profile. */
pm_status pm__finalize(pm_store *st, const pm_config *cfg, pm__gram *g,
                       unsigned min_mails, const pm__background *bg,
                       pm_error *err);

#endif
