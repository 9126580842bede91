/* HTML de-tagging on arbitrary bytes; the result then goes through the
 * UTF-8 sanitizer, as the mail module does with it. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "features/mail/charset.h"
#include "features/mail/html.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = pm_fuzz_exact_copy(data, size);
  pm__buf out = {0}, clean = {0};
  if (pm__html_to_text(copy, size, &out)) {
    /* text is never longer than a small multiple of the markup */
    if (out.len > 8 * size + 64)
      abort();
    size_t bad = 0;
    if (pm__utf8_sanitize(out.data ? out.data : "", out.len, &clean, &bad) &&
        !pm__utf8_valid(clean.data ? clean.data : "", clean.len))
      abort();
  }
  pm__buf_free(&out);
  pm__buf_free(&clean);
  free(copy);
  return 0;
}
