/* penmark: the model, the contract between training and scoring.
 *
 * Training (train/) writes, in a tenant's store (penmark/store.h), typed
 * blobs of statistics and the published model; scoring (score/) reads them.
 * This header is everything both sides agree on: the stored kinds, the
 * model vector, the sender-statistics layout and codec, and the model blob
 * format. Its code lives in train/model/. Internal to the library (pm__
 * names): the blobs are not an API for other programs, only for the two
 * halves of penmark, which must change together.
 *
 * Returned pointers: pm__model_encode and pm__stats_encode return malloc'd
 * blobs the caller frees; a decoded pm__model or pm__stats owns its arrays
 * (pm__model_free, pm__stats_free). */
#ifndef PENMARK_MODEL_H
#define PENMARK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/features.h"

/* The kinds of blob in a store (pm_store_get/pm_store_put). */
#define PM_KIND_SSTAT "sstat"     /* a sender's statistics (owner: sender id) */
#define PM_KIND_SAMPLE "sample"   /* a sender's calibration sample */
#define PM_KIND_MODEL "model"     /* the published model (owner 0) */
#define PM_KIND_MOMENTS "moments" /* the tenant moments (owner 0) */

/* The model view of a feature vector: what training accumulates and scoring
 * multiplies. The hashed slices as extracted; the named block compressed by
 * a square root (rates and lengths have long tails; the model standardises
 * the block per tenant afterwards). Dense, pm_config_vector_dim floats. */
/* Writes the model vector of f into out (pm_features_dim(f) floats). */
void pm__model_vector(const pm_features *f, float *out);

/* Sufficient statistics of a set of feature vectors: count, sums and sums of
 * squares. Adding two sets' statistics gives the statistics of their union,
 * which is what makes training incremental (tonight's run adds tonight's
 * mail) and order-free (A then B equals A and B at once).
 *
 * Sums are kept in double while a run accumulates and stored as
 * little-endian float32 (sums of squares only over [sq_off, dim): a sender
 * keeps them for its named block, the tenant background for the whole
 * vector). */
typedef struct {
  uint32_t dim;    /* vector dimension */
  uint32_t sq_off; /* sums of squares cover [sq_off, dim) */
  uint64_t n;      /* vectors added */
  double *sum;     /* dim values, owned */
  double *sumsq;   /* dim - sq_off values, owned */
} pm__stats;

/* Allocates zeroed statistics. false when out of memory. */
bool pm__stats_init(pm__stats *s, uint32_t dim, uint32_t sq_off);
void pm__stats_free(pm__stats *s);

/* Adds one extracted vector. */
void pm__stats_add(pm__stats *s, const pm_features *f);
/* Adds a sparse vector (indices ascending) given directly. */
void pm__stats_add_sparse(pm__stats *s, const uint32_t *idx, const float *val,
                          size_t nnz);
/* s += t (same dim and sq_off). */
void pm__stats_merge(pm__stats *s, const pm__stats *t);

/* Encodes to a malloc'd blob (free it): sums in float32, sparse when that
 * is smaller. NULL when out of memory. */
void *pm__stats_encode(const pm__stats *s, size_t *len);
/* Decodes a blob into s (initialised here). PM_CORRUPT when the blob is not
 * statistics or does not match dim/sq_off. */
pm_status pm__stats_decode(const void *blob, size_t len, uint32_t dim,
                           uint32_t sq_off, pm__stats *s, pm_error *err);

/* Little-endian helpers for blob codecs. */
void pm__put_u32(unsigned char *p, uint32_t v);
void pm__put_u64(unsigned char *p, uint64_t v);
void pm__put_f32(unsigned char *p, float v);
uint32_t pm__get_u32(const unsigned char *p);
uint64_t pm__get_u64(const unsigned char *p);
float pm__get_f32(const unsigned char *p);

/* Statistics layout of a sender (PM_KIND_SSTAT blob): the model-space sum
 * (d), then the raw named values' sums (n_named), with sums of squares over
 * the raw named part only. */
static inline uint32_t pm__sstat_dim(uint32_t d, uint32_t n_named) {
  return d + n_named;
}

/* The published model of a tenant: what a scorer needs and nothing else.
 * Written by training in the last transaction of a run (train/finalize.c),
 * read by scorers (score/profiles.c). Everything in it comes from the
 * statistics of the store at that moment, so scorers never see a half-
 * trained tenant.
 *
 * Blob "PMMD": u32 version, u32 d, u32 n_named, u64 config hash, u64 mails,
 * u32 senders, u32 ready, f64 calib[5], f64 threshold, then per
 * sender (sorted by address): u32 address length, address bytes, u64 mails,
 * i64 last trained, i32 row (-1 when not ready), f32 bias, imp_mean, norm_sd,
 * gen_mean, surf_mean, surf_sd; then for each ready row: d float32 weights, d
 * float32 model-space mean, n_named float32 raw named means, n_named raw named
 * deviations; then u32 n_genuine and n_genuine float32 genuine
 * probabilities, ascending; then u32 cohort_k and n_ready x cohort_k u32
 * cohort rows. Little-endian throughout. */
#define PM_CALIB_N 6

typedef struct {
  char *address; /* owned */
  uint64_t mails;
  int64_t last_trained;
  int32_t row; /* row in the matrices, -1 when not ready */
  float bias;  /* r(x) = W[row] . x + bias */
  float imp_mean, norm_sd, gen_mean; /* z = (r - imp_mean) / norm_sd */
  /* how like the sender's usual surface their own mail's is: the mean and
   * spread of the held-out cosine of a mail's surface slice to the
   * sender's mean one (pm__model_surface_text_against) */
  float surf_mean, surf_sd;
} pm__model_sender;

typedef struct {
  uint32_t d, n_named;
  uint64_t config_hash;
  uint64_t mails;
  uint32_t n_senders, n_ready;
  /* p = 1 / (1 + exp(-t)), t = c0 + c1 u + c2 u L + c3 L + c4 a + c5 b,
   * where u = -z is the normalised impersonation score of the body, L =
   * log(1 + the body's characters) (how far a score can be trusted depends
   * on how much text there is), and a, b >= 0 the surface's evidence
   * against the claim: its forms (pm__model_surface_against) and its text
   * (pm__model_surface_text_against). c4, c5 >= 0, so a habitual greeting
   * or signature never lowers the probability below what the body says. */
  double calib[PM_CALIB_N];
  double threshold;          /* on p */
  pm__model_sender *senders; /* n_senders, sorted by address (byte order) */
  float *W;                  /* n_ready x d */
  float *mean;               /* n_ready x d: each sender's mean model vector */
  float *named_mean;         /* n_ready x n_named: raw named means */
  float *named_sd;           /* n_ready x n_named */
  /* the held-out genuine probabilities, ascending (every one, or an even
   * subsample of PM_GENUINE_TABLE): how rare a score is among the senders'
   * own mail, and the threshold of any false-alarm rate */
  uint32_t n_genuine;
  float *genuine;
  /* per ready row, the rows of the cohort_k other senders whose profiles
   * read that sender's typical mail best: a mail is scored against its
   * claimed sender and that cohort only (the closest other sender of the
   * explanation comes from it), so its cost does not grow with the tenant */
  uint32_t cohort_k;
  uint32_t *cohort; /* n_ready x cohort_k */
} pm__model;

#define PM_COHORT 32

#define PM_GENUINE_TABLE 4096

/* The share of held-out genuine mail whose probability is at least p: the
 * false-alarm rate of a threshold at p. (k + 1) / (n + 1), so never 0. */
double pm__model_genuine_tail(const pm__model *m, double p);
/* The threshold that flags `rate` of the held-out genuine mail (the
 * model's own threshold when the table is empty). */
double pm__model_threshold_at(const pm__model *m, double rate);

void pm__model_free(pm__model *m);
void *pm__model_encode(const pm__model *m, size_t *len);
pm_status pm__model_decode(const void *blob, size_t len, pm__model *m,
                           pm_error *err);

/* The calibrated probability of a normalised score u for a mail of `chars`
 * characters of body, with the surface's evidence against. */
double pm__model_probability(const pm__model *m, double u, uint32_t chars,
                             double forms_against, double text_against);

/* The surface's evidence against a claim: for the greeting and for the
 * sign-off, how much rarer the mail's form is in the sender's mail than the
 * sender's most usual form, log(p_usual / p_mail), summed; 0 when the mail
 * uses the sender's usual forms (a copy by an attacker costs nothing, so it
 * earns nothing). mail: the mail's raw named block; share: the sender's raw
 * named means over n mails; tenant: the tenant's means, the prior that
 * smooths a sender of few mails. With loo, the mail is one of the sender's
 * n and is left out of the shares first (calibration's held-out reading). */
double pm__model_surface_against(const float *mail, const float *share,
                                 const float *tenant, double n, bool loo);

/* The cosine of two slices of dim floats (0 when either is zero). */
double pm__model_cosine(const float *x, const float *y, uint32_t dim);
/* The surface text's evidence against a claim: how far below the sender's
 * usual cosine (sender mean, spread) the mail's surface reads, in spreads,
 * 0 at or above the usual; capped. A copied signature reads as usual, so
 * it earns nothing; a mail signed unlike any of the sender's reads far
 * below. */
double pm__model_surface_text_against(double cosine, double mean, double sd);

/* The sender with this address, or NULL (binary search). */
const pm__model_sender *pm__model_find(const pm__model *m, const char *addr);

#endif
