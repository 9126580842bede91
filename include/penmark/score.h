/* penmark: scoring a mail against the profile of the sender it claims.
 *
 * pm_profiles is a tenant's model, loaded once from its store and then
 * read-only: every sender's discriminant (the profile matrix), the
 * per-sender score normalisation, the tenant's calibration and the named
 * feature habits used for reasons. It may be shared by any number of
 * threads. pm_scorer is the per-thread part (a feature extractor and
 * buffers): one per thread.
 *
 * A score is the probability that the claimed sender did NOT write the mail,
 * calibrated per tenant. The verdict is `impersonation` at or above the
 * tenant threshold, `genuine` below it, or an abstention: `unknown_sender`,
 * `profile_not_ready`, `too_little_text` (probability 0.5).
 */
#ifndef PENMARK_SCORE_H
#define PENMARK_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/features.h"
#include "penmark/mail.h"
#include "penmark/store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_profiles pm_profiles;
typedef struct pm_scorer pm_scorer;

/* Loads the tenant's profiles from an open store (read mode is enough).
 * cfg: the configuration the caller will score with; NULL adopts the
 * store's own. A different configuration gives PM_MISMATCH. A store that has
 * never been trained gives profiles with no senders (every mail is then
 * `unknown_sender`). *out is owned by the caller: pm_profiles_free. */
pm_status pm_profiles_load(pm_store *st, const pm_config *cfg,
                           pm_profiles **out, pm_error *err);
void pm_profiles_free(pm_profiles *p); /* NULL is a no-op */

/* The configuration the profiles were built with (borrowed). */
const pm_config *pm_profiles_config(const pm_profiles *p);
/* Senders with a profile (ready or not). */
size_t pm_profiles_count(const pm_profiles *p);
/* The tenant's threshold on the probability. */
double pm_profiles_threshold(const pm_profiles *p);
/* Memory held by the profiles, bytes (for the daemon's accounting). */
size_t pm_profiles_memory(const pm_profiles *p);

/* cfg must equal the configuration of the profiles scored with it (same
 * hash); borrowed, must outlive the scorer. */
pm_status pm_scorer_new(const pm_config *cfg, pm_scorer **out, pm_error *err);
void pm_scorer_free(pm_scorer *s); /* NULL is a no-op */
/* The tenant false-alarm rate the verdicts keep to: a mail is
 * `impersonation` when at most this share of the senders' own held-out
 * mail scores as high (default PM_DEFAULT_FLAG_RATE, 1%). PM_INVAL outside
 * (0, 0.5]. */
#define PM_DEFAULT_FLAG_RATE 0.01
pm_status pm_scorer_set_flag_rate(pm_scorer *s, double rate, pm_error *err);

typedef enum {
  PM_VERDICT_GENUINE = 0,
  PM_VERDICT_IMPERSONATION,
  PM_VERDICT_UNKNOWN_SENDER,
  PM_VERDICT_PROFILE_NOT_READY,
  PM_VERDICT_TOO_LITTLE_TEXT
} pm_verdict;

/* "genuine", "impersonation", "unknown_sender", "profile_not_ready",
 * "too_little_text". */
const char *pm_verdict_name(pm_verdict v);
/* True for the three abstentions. */
bool pm_verdict_abstains(pm_verdict v);

enum { PM_MAX_REASONS = 5 };

/* One habit of the sender that the mail breaks. */
typedef struct {
  char feature[64]; /* named feature, e.g. "greeting:hi" */
  char text[256];   /* in words, e.g. greeting "Hello" — this sender uses
                       "Hi" in 92% of 340 mails */
  double observed;  /* the mail's value */
  double typical;   /* the sender's mean */
} pm_reason;

typedef struct {
  pm_verdict verdict;
  double probability; /* impersonation probability, [0, 1]; 0.5 abstaining */
  double threshold;   /* the threshold on probability that keeps the
                         false-alarm rate (pm_scorer_set_flag_rate) */
  double flag_rate;   /* that rate */
  /* how rare the score is among the senders' own mail: the share of their
   * held-out genuine mail that scores at least as high (about 1 / one_in);
   * 1 when abstaining. The verdict is impersonation when the probability
   * reaches the threshold that flags flag_rate of that mail, so flagged
   * mail has a genuine_share of about flag_rate or less, whatever its
   * probability: the probability is calibrated at even odds of
   * impersonation, not at how rare attacks are. */
  double genuine_share;
  uint64_t one_in;
  double score;                /* the normalised score of the body behind the
                                  probability (higher: less like the sender) */
  double surface_against;      /* the greeting's and sign-off's forms' evidence
                                  against the claim, >= 0 (0: the sender's usual
                                  forms) */
  double surface_text_against; /* the greeting line's and closing block's
                                  text's, in spreads below the sender's
                                  usual, >= 0 */
  char sender[320];            /* the claimed sender, lower-cased */
  pm_reason reasons[PM_MAX_REASONS];
  size_t n_reasons;
  /* the sender of the claimed sender's cohort (the PM_COHORT others who
   * could best pass for them) whose profile the mail matches best, when it
   * matches better than the claimed sender's ("" otherwise), and its
   * normalised score. An explanation, read from 8-bit copies of the
   * cohort's rows (the verdict and probability come from the claimed
   * sender's float32 row alone): in a near tie it may name another cohort
   * sender than exact arithmetic would, its score within a few hundredths */
  char closest[320];
  double closest_score;
  uint64_t profile_mails;       /* mails in the claimed sender's profile */
  int64_t profile_last_trained; /* epoch seconds, 0 when unknown */
  size_t own_chars;
  pm_language language;
  int64_t elapsed_us; /* time spent in pm_score_mail */
} pm_score_result;

/* Scores a parsed mail. claimed: the sender it claims to be; NULL or "" takes
 * the mail's From: address. Fills *out (never fails for a bad mail: that is a
 * verdict); errors are PM_MISMATCH (scorer and profiles of different
 * configurations) and PM_NOMEM. */
pm_status pm_score_mail(pm_scorer *s, const pm_profiles *p, const pm_mail *mail,
                        const char *claimed, pm_score_result *out,
                        pm_error *err);

/* The result as one JSON object (no newline): file (omitted when NULL),
 * tenant (omitted when NULL), sender, verdict, probability, threshold,
 * reasons [{feature, text, observed, typical}], closest (only when
 * another sender matches better), profile {mails, last_trained}, language,
 * own_chars, elapsed_us. malloc'd; free it. NULL
 * when out of memory. */
char *pm_score_result_json(const pm_score_result *r, const char *file,
                           const char *tenant);

/* ---- a sender's habits, for `penmark inspect` ---- */

/* A habit: a named feature where the sender differs most from the tenant. */
typedef struct {
  char feature[64]; /* named feature, or "greeting" / "signoff" */
  char text[256];   /* in words */
  double value;     /* the sender's mean */
  double tenant;    /* the tenant's mean */
} pm_habit;

/* The strongest habits of `sender` (as stored: lower-cased address or
 * corpus label), at most max, strongest first, from the statistics in the
 * store: the greeting and sign-off forms the sender uses most, then the
 * features on which the sender stands furthest from the tenant's average.
 * PM_NOTFOUND for an unknown sender. */
pm_status pm_sender_habits(pm_store *st, const char *sender, pm_habit *out,
                           size_t max, size_t *n, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
