/* The inside of pm_profiles, shared by the scoring files. */
#ifndef PM_SCORE_PROFILES_INTERNAL_H
#define PM_SCORE_PROFILES_INTERNAL_H

#include "penmark/score.h"
#include "train/model_blob.h"

struct pm_profiles {
  pm__model m;     /* the published model (empty when never trained) */
  pm_config *cfg;  /* the configuration it was built with, owned */
  uint64_t hash;   /* pm_config_hash(cfg) */
  const pm__model_sender **by_row; /* the ready senders by row */
  size_t memory;
};

/* Fills r->reasons: the habits of sender (ready row) that the mail breaks
 * most, from the per-feature contributions to its score. x: the mail's model
 * vector; named: its raw named values. */
void pm__reasons(const pm_profiles *p, const pm__model_sender *s,
                 const float *x, const float *named, pm_score_result *r);

#endif
