/* A background: the style of writers who are not the tenant's, kept as
 * numbers only (the moments and calibration samples of a store trained on
 * other mail). Training adds its moments to the tenant's scatter, so that
 * each sender's discriminant is learned against the tenant and the
 * background alike, and uses its samples as held-out outsiders for the
 * per-sender normalisation and the calibration. A tenant of one sender thus
 * still gets a profile. The file is a penmark store (built by `penmark
 * background`), shared read-only by the tenants of a store directory. */
#ifndef PM_TRAIN_BACKGROUND_H
#define PM_TRAIN_BACKGROUND_H

#include <stddef.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "train/gram.h"
#include "train/sample.h"

typedef struct {
  pm__gram gram;       /* its moments, owned */
  pm__sample *samples; /* one per background sender, owned */
  size_t n_samples;
  char id[96]; /* names its content: its file and mail count */
} pm__background;

/* Loads the background store at path (DIR/NAME.db) for vectors of cfg.
 * PM_MISMATCH when it was built with another configuration, PM_NOTFOUND
 * when the file is missing, PM_INVAL when it holds no trained mail. *bg is
 * zeroed first and must be freed (pm__background_free) even on failure. */
pm_status pm__background_load(const char *path, const pm_config *cfg,
                              pm__background *bg, pm_error *err);
void pm__background_free(pm__background *bg);

/* Writes into out (size n) a short identity of the background file at path
 * (its path, size and modification time), "" for none: a model made with
 * another background is out of date. */
void pm__background_peek_id(const char *path, char *out, size_t n);

#endif
