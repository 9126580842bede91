/* The client's HTTP response parser, on a buffer of exactly the input's
 * length (no NUL after it: a read past the end is caught), with and without
 * end of stream. */
#include <stdlib.h>
#include <string.h>

#include "score/serve/client.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = pm_fuzz_exact_copy(data, size);
  for (int eof = 0; eof < 2; eof++) {
    pm__http_response r;
    memset(&r, 0, sizeof r);
    size_t used = 0;
    pm_error err;
    pm_error_clear(&err);
    int rc = pm__http_parse_response(copy, size, eof, &r, &used, &err);
    if (rc == 1) {
      if (used > size || used == 0)
        abort();
      if (r.status < 100 || r.status > 999)
        abort();
      if (!r.body || r.body[r.body_len] != '\0')
        abort();
      char v[64];
      pm__http_header(&r, "Content-Type", v, sizeof v);
      pm__http_header(&r, "Connection", v, 1);
    } else if (rc != 0 && rc != -1) {
      abort();
    }
    pm__http_response_free(&r);
  }
  free(copy);
  return 0;
}
