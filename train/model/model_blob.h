/* The published model of a tenant: what a scorer needs and nothing else.
 * Written by training in the last transaction of a run (train/finalize.c),
 * read by scorers (score/profiles.c). Everything in it comes from the
 * statistics of the store at that moment, so scorers never see a half-
 * trained tenant.
 *
 * Blob "PMMD": u32 version, u32 d, u32 n_named, u64 config hash, u64 mails,
 * u32 senders, u32 ready, f64 calib[4], f64 threshold, then per
 * sender (sorted by address): u32 address length, address bytes, u64 mails,
 * i64 last trained, i32 row (-1 when not ready), f32 bias, imp_mean, norm_sd,
 * gen_mean; then for each ready row: d float32 weights, d float32 model-space
 * mean, n_named float32 raw named means, n_named raw named deviations.
 * Little-endian throughout. */
#ifndef PM_TRAIN_MODEL_BLOB_H
#define PM_TRAIN_MODEL_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "penmark/error.h"

typedef struct {
  char *address; /* owned */
  uint64_t mails;
  int64_t last_trained;
  int32_t row; /* row in the matrices, -1 when not ready */
  float bias;  /* r(x) = W[row] . x + bias */
  float imp_mean, norm_sd, gen_mean; /* z = (r - imp_mean) / norm_sd */
} pm__model_sender;

typedef struct {
  uint32_t d, n_named;
  uint64_t config_hash;
  uint64_t mails;
  uint32_t n_senders, n_ready;
  /* p = 1 / (1 + exp(-t)), t = c0 + c1 u + c2 u L + c3 L, where u = -z is
   * the normalised impersonation score and L = log(1 + own characters):
   * how far a score can be trusted depends on how much text there is. */
  double calib[4];
  double threshold;          /* on p */
  pm__model_sender *senders; /* n_senders, sorted by address (byte order) */
  float *W;                  /* n_ready x d */
  float *mean;               /* n_ready x d: each sender's mean model vector */
  float *named_mean;         /* n_ready x n_named: raw named means */
  float *named_sd;           /* n_ready x n_named */
} pm__model;

void pm__model_free(pm__model *m);
void *pm__model_encode(const pm__model *m, size_t *len);
pm_status pm__model_decode(const void *blob, size_t len, pm__model *m,
                           pm_error *err);

/* The calibrated probability of a normalised score u for a mail of `chars`
 * characters of own text. */
double pm__model_probability(const pm__model *m, double u, uint32_t chars);

/* The sender with this address, or NULL (binary search). */
const pm__model_sender *pm__model_find(const pm__model *m, const char *addr);

#endif
