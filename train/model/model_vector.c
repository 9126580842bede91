/* The model view of a feature vector (see penmark/model.h). */
#include "penmark/model.h"

#include <math.h>
#include <string.h>

void pm__model_vector(const pm_features *f, float *out) {
  uint32_t dim = pm_features_dim(f);
  size_t nn = pm_named_count();
  uint32_t off = dim - (uint32_t)nn;
  memset(out, 0, off * sizeof *out);
  const uint32_t *idx = pm_features_indices(f);
  const float *val = pm_features_values(f);
  for (size_t k = 0; k < pm_features_nnz(f); k++)
    out[idx[k]] = val[k];
  const float *named = pm_features_named(f);
  for (size_t j = 0; j < nn; j++)
    out[off + j] = named[j] > 0.0f ? sqrtf(named[j]) : 0.0f;
}
