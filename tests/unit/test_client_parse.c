/* Check suite: the client's HTTP response parser reads data[0..len) and no
 * further, and takes a status of three digits only. The bytes are placed
 * just before a PROT_NONE page, so any read past the end faults (sscanf used
 * to read to the next NUL there); "-12" and "+99" used to pass as
 * statuses. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "score/serve/client.h"
#include "tests/support.h"

/* Two pages, the second made inaccessible; s is copied to end exactly at
 * the boundary (no NUL after it). */
typedef struct {
  char *map;
  size_t page;
  const char *data;
} guarded;

static guarded guard(const char *s, size_t n) {
  guarded g;
  g.page = (size_t)sysconf(_SC_PAGESIZE);
  ck_assert_uint_le(n, g.page);
  g.map = mmap(NULL, 2 * g.page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ck_assert_ptr_ne(g.map, MAP_FAILED);
  ck_assert_int_eq(mprotect(g.map + g.page, g.page, PROT_NONE), 0);
  char *at = g.map + g.page - n;
  memcpy(at, s, n);
  g.data = at;
  return g;
}

static void unguard(guarded *g) {
  munmap(g->map, 2 * g->page);
}

/* Parses s (placed before the guard page) with eof as given. */
static int parse_guarded(const char *s, bool eof, pm__http_response *r) {
  size_t n = strlen(s);
  guarded g = guard(s, n);
  pm_error err;
  pm_error_clear(&err);
  size_t used = 0;
  int rc = pm__http_parse_response(g.data, n, eof, r, &used, &err);
  if (rc == 1)
    ck_assert_uint_le(used, n);
  unguard(&g);
  return rc;
}

START_TEST(head_that_fills_the_buffer_is_read_within_it) {
  static const char *const heads[] = {
      "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 200\r\n\r\n",
      "HTTP/1.1 204 \r\nX: y\r\n\r\n",
      "HTTP/1.1 100 Continue\r\n\r\n", /* interim, then nothing: more */
      "HTTP/1.1 2",
      "HTTP/1.",
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"};
  for (size_t i = 0; i < sizeof heads / sizeof *heads; i++)
    for (int eof = 0; eof < 2; eof++) {
      pm__http_response r;
      int rc = parse_guarded(heads[i], eof, &r);
      if (rc == 1)
        pm__http_response_free(&r);
    }
  pm__http_response r;
  ck_assert_int_eq(parse_guarded("HTTP/1.1 204 No Content\r\n\r\n", false, &r),
                   1);
  ck_assert_int_eq(r.status, 204);
  pm__http_response_free(&r);
  ck_assert_int_eq(
      parse_guarded("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", false, &r),
      1);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "ok");
  pm__http_response_free(&r);
}
END_TEST

START_TEST(every_prefix_is_read_within_it) {
  const char *full = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t n = 0; n < strlen(full); n++) {
    char *part = strndup(full, n);
    pm__http_response r;
    ck_assert_int_eq(parse_guarded(part, false, &r), 0);
    free(part);
  }
}
END_TEST

START_TEST(status_digits_only) {
  static const char *const bad[] = {
      "HTTP/1.1 -12 X\r\n\r\n", "HTTP/1.1 +99 X\r\n\r\n",
      "HTTP/1.1  99 X\r\n\r\n", "HTTP/1.1 2x0 X\r\n\r\n",
      "HTTP/1.1 20 X\r\n\r\n", "HTTP/1.1 2000 X\r\n\r\n",
      "HTTP/2.0 200 X\r\n\r\n", "HTTP/1.x 200 X\r\n\r\n",
      "HTTP/1.1\t200 X\r\n\r\n", "http/1.1 200 X\r\n\r\n",
      "HTTP/1.1 200X\r\n\r\n",
      /* found by tests/fuzz/fuzz_client: three digits, but no status */
      "HTTP/1.1 037 1\n\r\n\r\n", "HTTP/1.1 099 X\r\n\r\n",
      "HTTP/1.1 000 X\r\n\r\n", "HTTP/1.1 600 X\r\n\r\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    pm__http_response r;
    int rc = parse_guarded(bad[i], false, &r);
    ck_assert_msg(rc == -1, "\"%s\": %d, wanted -1", bad[i], rc);
  }
  pm__http_response r;
  ck_assert_int_eq(parse_guarded("HTTP/1.0 503 Busy\r\n\r\n", true, &r), 1);
  ck_assert_int_eq(r.status, 503);
  ck_assert(r.close); /* HTTP/1.0 */
  pm__http_response_free(&r);
}
END_TEST

static Suite *client_parse_suite(void) {
  Suite *s = suite_create("client_parse");
  TCase *c = tcase_create("core");
  tcase_add_test(c, head_that_fills_the_buffer_is_read_within_it);
  tcase_add_test(c, every_prefix_is_read_within_it);
  tcase_add_test(c, status_digits_only);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(client_parse_suite()) != 0;
}
