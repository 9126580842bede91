/* The milter's header values from a score result whose strings (verdict
 * number, sender, tenant, reason texts, the error text) and numbers come
 * from the input: every value is 7-bit ASCII, NUL-terminated within cap. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/milter.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies the next piece (up to a 0xff byte) into out (cap bytes, NUL). */
static void piece(const uint8_t **data, size_t *size, char *out, size_t cap) {
  size_t n = 0;
  while (*size) {
    uint8_t b = pm_fuzz_byte(data, size);
    if (b == 0xff)
      break;
    if (b && n + 1 < cap)
      out[n++] = (char)b;
  }
  out[n] = '\0';
}

static void check(const char *v, size_t cap) {
  size_t n = strnlen(v, cap);
  if (n == cap)
    abort();
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    /* folded lines are "\r\n\t" or "\n\t"; nothing else below 0x20 */
    if (c >= 0x7f || (c < 0x20 && c != '\r' && c != '\n' && c != '\t'))
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pm_score_result r;
  memset(&r, 0, sizeof r);
  r.verdict = (pm_verdict)(pm_fuzz_byte(&data, &size) % 5);
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++)
    bits = bits << 8 | pm_fuzz_byte(&data, &size);
  memcpy(&r.probability, &bits, sizeof bits);
  r.threshold = (double)pm_fuzz_byte(&data, &size) / 255.0;
  size_t cap = 1 + pm_fuzz_byte(&data, &size) * 8u;
  r.n_reasons = pm_fuzz_byte(&data, &size) % (PM_MAX_REASONS + 1);
  char tenant[80], why[300];
  piece(&data, &size, tenant, sizeof tenant);
  piece(&data, &size, why, sizeof why);
  piece(&data, &size, r.sender, sizeof r.sender);
  for (size_t i = 0; i < r.n_reasons; i++) {
    piece(&data, &size, r.reasons[i].feature, sizeof r.reasons[i].feature);
    piece(&data, &size, r.reasons[i].text, sizeof r.reasons[i].text);
  }
  char *buf = malloc(cap);
  if (!buf)
    abort();
  pm_milter_verdict_value(&r, tenant[0] ? tenant : NULL, buf, cap);
  check(buf, cap);
  pm_milter_error_value(why[0] ? why : NULL, buf, cap);
  check(buf, cap);
  pm_milter_reasons_value(&r, buf, cap);
  check(buf, cap);
  (void)pm_milter_is_own_header(why);
  free(buf);
  return 0;
}
