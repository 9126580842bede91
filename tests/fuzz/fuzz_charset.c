/* Charset decoding: the first byte picks a label (the ones mail carries,
 * wrong ones, none), the rest is the text. Whatever the bytes, the output
 * is valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "features/mail/charset.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const labels[] = {NULL,
                                     "",
                                     "utf-8",
                                     "UTF8",
                                     "us-ascii",
                                     "iso-8859-1",
                                     "windows-1252",
                                     "iso-2022-jp",
                                     "ISO-2022-JP-2",
                                     "shift_jis",
                                     "Shift-JIS",
                                     "cp932",
                                     "euc-jp",
                                     "x-sjis",
                                     "utf-16",
                                     "utf-16le",
                                     "utf-7",
                                     "gb2312",
                                     "big5",
                                     "koi8-r",
                                     "iso-8859-15",
                                     "bogus",
                                     "utf-32",
                                     "\"utf-8\"",
                                     "ebcdic-cp-us",
                                     "windows-31j",
                                     "unicode-1-1-utf-7",
                                     "UTF-8//IGNORE",
                                     "iso-2022-kr"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t nl = sizeof labels / sizeof labels[0];
  const char *label = labels[pm_fuzz_byte(&data, &size) % nl];
  char *copy = pm_fuzz_exact_copy(data, size);
  pm__buf out = {0};
  unsigned flags = 0;
  if (pm__charset_decode(copy, size, label, &out, &flags)) {
    if (!pm__utf8_valid(out.data ? out.data : "", out.len))
      abort();
  }
  pm__buf_free(&out);
  /* the sanitizer on the raw bytes: valid output, and valid input kept */
  pm__buf clean = {0};
  size_t bad = 0;
  if (pm__utf8_sanitize(copy, size, &clean, &bad)) {
    if (!pm__utf8_valid(clean.data ? clean.data : "", clean.len))
      abort();
    if (bad == 0 &&
        (clean.len != size || (size && memcmp(clean.data, copy, size))))
      abort();
    if (pm__utf8_valid(copy, size) != (bad == 0))
      abort();
  }
  pm__buf_free(&clean);
  free(copy);
  return 0;
}
