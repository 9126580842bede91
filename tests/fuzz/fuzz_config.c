/* The configuration JSON (what --config and every store carry): parse;
 * when accepted, the canonical JSON must parse again to the same hash. */
#include <stdlib.h>
#include <string.h>

#include "penmark/config.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = pm_fuzz_exact_copy(data, size);
  pm_config *cfg = NULL;
  pm_error err;
  pm_error_clear(&err);
  if (pm_config_parse(copy, size, &cfg, &err) == PM_OK) {
    char *json = pm_config_to_json(cfg);
    if (!json)
      abort();
    pm_config *again = NULL;
    if (pm_config_parse(json, strlen(json), &again, &err) != PM_OK)
      abort();
    if (pm_config_hash(cfg) != pm_config_hash(again))
      abort();
    uint32_t sum = 0;
    for (int f = 0; f < PM_FAM__HASHED_COUNT; f++)
      sum += pm_config_hashed_dim(cfg, (pm_hashed_family)f);
    if (pm_config_named_offset(cfg) != sum)
      abort();
    free(json);
    pm_config_free(again);
    pm_config_free(cfg);
  } else if (!err.msg[0]) {
    abort(); /* a refusal always says why */
  }
  free(copy);
  return 0;
}
