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

struct pm_profiles {
  pm__model m;    /* the published model (empty when never trained) */
  pm_config *cfg; /* the configuration it was built with, owned */
  uint64_t hash;  /* pm_config_hash(cfg) */
  const pm__model_sender **by_row;   /* the ready senders by row */
  uint8_t *named_group;              /* per named feature: PM_GROUP_*, owned */
  float *tenant_named; /* the mean over ready senders of their raw named
                          means: the prior of a sender's habits, owned */
  pm__group groups[PM_GROUP__COUNT]; /* [GREETING] and [SIGNOFF] are used */
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
