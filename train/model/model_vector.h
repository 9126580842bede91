/* The model view of a feature vector: what training accumulates and scoring
 * multiplies. The hashed slices as extracted; the named block compressed by
 * a square root (rates and lengths have long tails; the model standardises
 * the block per tenant afterwards). Dense, pm_config_vector_dim floats. */
#ifndef PM_FEATURES_MODEL_VECTOR_H
#define PM_FEATURES_MODEL_VECTOR_H

#include "penmark/config.h"
#include "penmark/features.h"

/* Writes the model vector of f into out (pm_features_dim(f) floats). */
void pm__model_vector(const pm_features *f, float *out);

#endif
