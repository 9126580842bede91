/* The inside of pm_profiles, shared by the scoring files. */
#ifndef PM_SCORE_PROFILES_INTERNAL_H
#define PM_SCORE_PROFILES_INTERNAL_H

#include "penmark/score.h"
#include "penmark/model.h"

/* The greeting or the sign-off forms, resolved once when the profiles are
 * loaded so that scoring a mail does no string work. */
typedef struct {
  uint32_t *forms; /* named indices of the forms, ascending, "none" left out;
                      owned */
  size_t n_forms;
  long none;   /* the named index of "<group>:none", or -1 */
  long *habit; /* per ready row: the sender's most used form (none
                  included), or -1; owned */
} pm__group;

enum {
  PM_GROUP_NONE = 0,
  PM_GROUP_GREETING,
  PM_GROUP_SIGNOFF,
  PM_GROUP__COUNT
};

/* A mail's model vector in 8 bits, a scale for each block of 64 values
 * (score/rows8.c): what the cohort's rows are multiplied by. Reused from
 * mail to mail; empty ({0}) at first. */
typedef struct {
  int8_t *q;    /* blocks x 64, owned */
  float *scale; /* per block: the value of a unit of q (0: all zeros) */
  size_t cap;   /* blocks allocated */
} pm__rows8_query;

typedef struct pm__rows8 pm__rows8;
/* The weight rows W in 8 bits, a scale for each block of 64 weights of a
 * row (score/rows8.c): what the cohort's dot products read, a quarter of
 * the float32 rows' bytes. */
struct pm__rows8 {
  int8_t *q;    /* n x blocks x 64 (a row's tail padded with zeros), owned */
  float *scale; /* n x blocks: the weight of a unit of q, owned */
  size_t d, blocks;
  bool avx2; /* the processor's AVX2 and FMA are used */
};

/* Fills *out from the n x d rows W (not kept); PM_NOMEM when out of memory,
 * *out then empty. Free with pm__rows8_free (also of an empty one). */
pm_status pm__rows8_make(const float *W, size_t n, size_t d, pm__rows8 *out,
                         pm_error *err);
void pm__rows8_free(pm__rows8 *r);
/* x = the d floats v in 8 bits, blocked as r's rows; PM_NOMEM when out of
 * memory (x then as before). Free with pm__rows8_query_free. */
pm_status pm__rows8_query_set(pm__rows8_query *x, const pm__rows8 *r,
                              const float *v, pm_error *err);
void pm__rows8_query_free(pm__rows8_query *x);
/* out[i] = row rows[i] of r times x, for i < k: the float32 product of the
 * rows and the vector x was set from, within what rounding both to 8 bits
 * in blocks of 64 changes (tests/unit/test_rows8.c bounds it). */
void pm__rows8_dots(const pm__rows8 *r, const pm__rows8_query *x,
                    const uint32_t *rows, size_t k, float *out);

struct pm_profiles {
  pm__model m;    /* the published model (empty when never trained) */
  pm_config *cfg; /* the configuration it was built with, owned */
  uint64_t hash;  /* pm_config_hash(cfg) */
  const pm__model_sender **by_row; /* the ready senders by row */
  uint8_t *named_group;            /* per named feature: PM_GROUP_*, owned */
  float *tenant_named; /* the mean over ready senders of their raw named
                          means: the prior of a sender's habits, owned */
  pm__group groups[PM_GROUP__COUNT]; /* [GREETING] and [SIGNOFF] are used */
  pm__rows8 w8;                      /* m.W in 8 bits, for the cohort */
  size_t memory;
};

/* Fills the per-profile constants of the reasons (named_group, groups) from
 * p->m; PM_NOMEM when out of memory. What it allocates is freed by
 * pm__reasons_release, also after a failure. */
pm_status pm__reasons_prepare(pm_profiles *p, pm_error *err);
void pm__reasons_release(pm_profiles *p);

/* Fills r->reasons: the habits of sender (ready row) that the mail breaks
 * most, from the per-feature contributions to its score. x: the mail's model
 * vector; named: its raw named values. */
void pm__reasons(const pm_profiles *p, const pm__model_sender *s,
                 const float *x, const float *named, pm_score_result *r);

#endif
