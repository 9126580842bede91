/* The whole path of an inbound mail: raw bytes -> MIME parse (with the
 * depth, part and header guards) -> charsets -> own text -> features ->
 * score against a store trained at start -> the result's JSON and the
 * milter's header values. */
#include <stdlib.h>
#include <string.h>

#include "penmark/mail.h"
#include "penmark/milter.h"
#include "penmark/score.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  pm_fuzz_model_get();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const pm_fuzz_model *m = pm_fuzz_model_get();
  char *copy = pm_fuzz_exact_copy(data, size);
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  /* small limits, so that the guards' edges are reached by short inputs */
  lim.max_parts = 50;
  lim.max_depth = 8;
  lim.max_text_bytes = 2048;
  pm_mail *mail = NULL;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_mail_parse(copy, size, &lim, &mail, &err);
  if (rc == PM_OK) {
    size_t n;
    const char *own = pm_mail_own_text(mail, &n);
    if (strlen(own) != n || n > lim.max_text_bytes)
      abort(); /* the contract: NUL-terminated, no NUL inside, cut */
    pm_score_result r;
    memset(&r, 0, sizeof r);
    if (pm_score_mail(m->scorer, m->profiles, mail, NULL, &r, &err) != PM_OK)
      abort(); /* a bad mail is a verdict, never an error */
    if (!(r.probability >= 0.0 && r.probability <= 1.0))
      abort();
    char *json = pm_score_result_json(&r, "fuzz.eml", PM_FUZZ_TENANT);
    free(json);
    char v[512], reasons[2048];
    pm_milter_verdict_value(&r, PM_FUZZ_TENANT, v, sizeof v);
    pm_milter_reasons_value(&r, reasons, sizeof reasons);
    pm_mail_free(mail);
  } else if (mail) {
    abort();
  }
  free(copy);
  return 0;
}
