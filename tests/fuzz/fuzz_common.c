/* See fuzz_common.h. */
#include "tests/fuzz/fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tmpdir.h"
#include "penmark/config.h"
#include "penmark/train.h"

static char *store_dir;

static void remove_store(void) {
  pm__rmtree(store_dir);
  free(store_dir);
  store_dir = NULL;
}

static void die(const char *what, const pm_error *err) {
  fprintf(stderr, "fuzz set-up: %s: %s\n", what,
          err ? pm_error_message(err) : "failed");
  abort();
}

const char *pm_fuzz_store_dir(void) {
  if (store_dir)
    return store_dir;
  if (!(store_dir = pm__make_tmpdir(NULL, "fuzz", NULL)))
    die("cannot make a temporary directory", NULL);
  atexit(remove_store);
  const char *data = getenv("PM_DATA");
  char corpus[4096];
  snprintf(corpus, sizeof corpus, "%s/sample/corpus", data ? data : "data");
  pm_config *cfg = pm_config_default();
  if (!cfg)
    die("out of memory", NULL);
  pm_train_opts o;
  pm_train_opts_default(&o);
  o.store_dir = store_dir;
  o.tenant = PM_FUZZ_TENANT;
  o.cfg = cfg;
  o.threads = 1;
  o.min_mails = 5;
  const char *inputs[] = {corpus};
  pm_train_summary sum;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_train(&o, inputs, 1, &sum, &err);
  if (rc != PM_OK || sum.senders_ready == 0)
    die(corpus, &err);
  pm_train_summary_free(&sum);
  pm_config_free(cfg);
  return store_dir;
}

static pm_fuzz_model model;
static int model_loaded;

const pm_fuzz_model *pm_fuzz_model_get(void) {
  if (model_loaded)
    return &model;
  pm_error err;
  pm_error_clear(&err);
  if (pm_store_open(pm_fuzz_store_dir(), PM_FUZZ_TENANT, PM_STORE_READ, NULL, 0,
                    &model.store, &err) != PM_OK)
    die("cannot open the trained store", &err);
  if (pm_profiles_load(model.store, NULL, &model.profiles, &err) != PM_OK)
    die("cannot load the profiles", &err);
  if (pm_scorer_new(pm_profiles_config(model.profiles), &model.scorer, &err) !=
      PM_OK)
    die("cannot make a scorer", &err);
  model_loaded = 1;
  return &model;
}

uint8_t pm_fuzz_byte(const uint8_t **data, size_t *size) {
  if (!*size)
    return 0;
  uint8_t b = **data;
  (*data)++;
  (*size)--;
  return b;
}

char *pm_fuzz_exact_copy(const uint8_t *data, size_t len) {
  char *p = malloc(len ? len : 1);
  if (!p)
    abort();
  if (len)
    memcpy(p, data, len);
  return p;
}
