/* Confirmed attacks (penmark feedback --impostor), kept as numbers: each
 * attack's model vector, in a calibration-sample blob of kind
 * PM__KIND_ATTACK owned by the claimed sender's id (0 when the tenant does
 * not know the sender). The same vectors are in the tenant's moments as mail
 * of nobody, so that every sender's discriminant learns to score them low;
 * finalize reads them back (pm__attacks_load) as held-out impostor scores
 * for the normalisation and the calibration. Scoring never reads them. */
#ifndef PM_TRAIN_FEEDBACK_H
#define PM_TRAIN_FEEDBACK_H

#include <stdint.h>

#include "penmark/error.h"
#include "penmark/store.h"
#include "train/sample.h"

#define PM__KIND_ATTACK "attack"
/* Attack vectors kept per claimed sender (those of the smallest keys); the
 * tenant's moments keep every attack whatever this bound. */
#define PM__ATTACK_K 256

/* Every stored attack vector of dimension d, in one sample (key order
 * within each claimed sender); an empty sample when there are none. Free it
 * with pm__sample_free, also on failure. */
pm_status pm__attacks_load(pm_store *st, uint32_t d, pm__sample *out,
                           pm_error *err);

#endif
