/* Shared set-up for the libFuzzer harnesses in tests/fuzz/: a small store
 * trained once per process, and helpers to cut an input into pieces.
 * Test code only: never linked into the library. */
#ifndef PM_TESTS_FUZZ_COMMON_H
#define PM_TESTS_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>

#include "penmark/score.h"
#include "penmark/store.h"

/* The tenant store trained from data/sample/corpus ($PM_DATA/sample/corpus)
 * into a private temporary directory, removed at exit. Trains on the first
 * call; aborts (a harness cannot run without it) when training fails. */
const char *pm_fuzz_store_dir(void);
#define PM_FUZZ_TENANT "fuzz"

/* Loaded once: the store, its profiles and a scorer for this thread. */
typedef struct {
  pm_store *store;
  pm_profiles *profiles;
  pm_scorer *scorer;
} pm_fuzz_model;
const pm_fuzz_model *pm_fuzz_model_get(void);

/* Takes the next byte of the input (0 when none is left). */
uint8_t pm_fuzz_byte(const uint8_t **data, size_t *size);

/* A malloc'd copy of exactly len bytes (no NUL after them), so that
 * AddressSanitizer catches any read past the end. */
char *pm_fuzz_exact_copy(const uint8_t *data, size_t len);

#endif
