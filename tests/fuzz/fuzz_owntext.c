/* The own-text step alone (quote, forward, reply-header and disclaimer
 * cuts) on arbitrary bytes: the output must be valid UTF-8 of the length
 * it claims. */
#include <stdlib.h>
#include <string.h>

#include "features/mail/charset.h"
#include "penmark/mail.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = pm_fuzz_exact_copy(data, size);
  char *out = NULL;
  size_t n = 0;
  unsigned flags = 0;
  if (pm_own_text(copy, size, &out, &n, &flags) == PM_OK) {
    if (!out || strlen(out) != n || !pm__utf8_valid(out, n))
      abort();
    if (flags & ~(unsigned)(PM_MAIL_QUOTE_CUT | PM_MAIL_DISCLAIMER_CUT |
                            PM_MAIL_TRUNCATED))
      abort();
  }
  free(out);
  free(copy);
  return 0;
}
