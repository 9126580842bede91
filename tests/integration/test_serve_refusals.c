/* penmark serve end to end, its refusals: malformed, truncated, oversize
 * and over-budget requests get the right status, and the daemon goes on
 * serving. No timing is asserted. */
#include "tests/integration/serve_support.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- refusals: the right status, and the daemon goes on ---- */

/* Sends raw bytes (then, if shut, half-closes) and reads whatever comes
 * back until the daemon closes or a generous timeout. The status of the
 * first response, 0 when none came. */
static int raw_exchange(const char *sock, const void *data, size_t len,
                        bool shut, char **reply) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  struct timeval tv = {60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t off = 0;
  while (off < len) {
    ssize_t w = send(fd, (const char *)data + off, len - off, MSG_NOSIGNAL);
    if (w <= 0)
      break; /* the daemon may answer and stop reading early */
    off += (size_t)w;
  }
  if (shut)
    shutdown(fd, SHUT_WR);
  pm__buf in = {0};
  int status = 0;
  for (;;) {
    pm__buf_reserve(&in, 65536);
    ssize_t r = recv(fd, in.data + in.len, in.cap - in.len - 1, 0);
    if (r <= 0)
      break;
    in.len += (size_t)r;
    in.data[in.len] = '\0';
    pm__http_response resp;
    size_t used;
    if (pm__http_parse_response(in.data, in.len, false, &resp, &used, NULL) ==
        1) {
      status = resp.status;
      pm__http_response_free(&resp);
      break;
    }
  }
  close(fd);
  if (reply)
    *reply = in.data ? in.data : strdup("");
  else
    pm__buf_free(&in);
  return status;
}

static void still_serving(void) {
  ck_assert_int_eq(srv_health(srv_main_d.sock), 200);
  pm__http_response r;
  char *t = srv_score_target("demo");
  ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t, srv_mails[0].bytes,
                                 srv_mails[0].len, &r),
                   200);
  outcome o;
  ck_assert(srv_outcome_of(r.body, r.body_len, &o));
  ck_assert(srv_outcome_eq(&o, &srv_expect[0]));
  pm__http_response_free(&r);
  free(t);
}

/* The status of one request, with its JSON error checked when it is one. */
static int status_of(const char *method, const char *target, const char *body,
                     size_t len, const char *allow) {
  pm__http_response r;
  int st = srv_http_once(srv_main_d.sock, method, target, body, len, &r);
  ck_assert_int_gt(st, 0);
  if (st >= 400) {
    cJSON *j = cJSON_ParseWithLength(r.body, r.body_len);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    ck_assert_msg(cJSON_IsString(e) && *e->valuestring,
                  "%d without a JSON error: %s", st, r.body);
    cJSON_Delete(j);
  }
  if (allow) {
    char v[64];
    ck_assert(pm__http_header(&r, "Allow", v, sizeof v));
    ck_assert_str_eq(v, allow);
  }
  pm__http_response_free(&r);
  return st;
}

START_TEST(malformed_http) {
  static const char *bad[] = {
      "BLAH\r\n\r\n",
      "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
      "GET /v1/health HTTP/1.1\r\nthis is not a header\r\n\r\n",
      "POST /v1/score?tenant=demo HTTP/1.1\r\nHost: x\r\nContent-Length: "
      "abc\r\n\r\n",
      "\x01\x02\x03\xff garbage \r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *reply = NULL;
    int st =
        raw_exchange(srv_main_d.sock, bad[i], strlen(bad[i]), true, &reply);
    /* An error status, or the connection closed without one. */
    ck_assert_msg(st == 0 || (st >= 400 && st < 600), "%zu: %d %s", i, st,
                  reply);
    free(reply);
    still_serving();
  }
}
END_TEST

START_TEST(truncated_body) {
  const char *head = "POST /v1/score?tenant=demo HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 100000\r\n\r\n";
  size_t n = strlen(head) + 1000;
  char *req = malloc(n);
  memcpy(req, head, strlen(head));
  memcpy(req + strlen(head), srv_mails[0].bytes,
         srv_mails[0].len < 1000 ? srv_mails[0].len : 1000);
  if (srv_mails[0].len < 1000)
    n = strlen(head) + srv_mails[0].len;
  char *reply = NULL;
  int st = raw_exchange(srv_main_d.sock, req, n, true, &reply);
  ck_assert_msg(st == 0 || st == 400, "%d %s", st, reply);
  free(reply);
  free(req);
  still_serving();
}
END_TEST

START_TEST(oversize_body_413) {
  /* Announced: refused from the headers, before any of the body. */
  char *head = pm_test_fmt("POST /v1/score?tenant=demo HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: %d\r\n\r\n",
                           3 * MAX_BYTES);
  ck_assert_int_eq(
      raw_exchange(srv_main_d.sock, head, strlen(head), false, NULL), 413);
  free(head);
  /* Sent in full with its length. */
  size_t big = MAX_BYTES + 1;
  char *body = malloc(big);
  memset(body, 'a', big);
  char *t = srv_score_target("demo");
  ck_assert_int_eq(status_of("POST", t, body, big, NULL), 413);
  /* Chunked, no length: counted as it comes, then refused. */
  pm__buf req = {0};
  pm__buf_puts(&req, "POST /v1/score?tenant=demo HTTP/1.1\r\nHost: x\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; i++) {
    pm__buf_printf(&req, "%zx\r\n", big / 2);
    pm__buf_append(&req, body, big / 2);
    pm__buf_puts(&req, "\r\n");
  }
  pm__buf_puts(&req, "0\r\n\r\n");
  ck_assert_int_eq(
      raw_exchange(srv_main_d.sock, req.data, req.len, false, NULL), 413);
  pm__buf_free(&req);
  free(body);
  free(t);
  still_serving();
}
END_TEST

/* The gauge of request-body bytes held, from /metrics. */
static long long body_bytes(void) {
  pm__http_response r;
  ck_assert_int_eq(
      srv_http_once(srv_main_d.sock, "GET", "/metrics", NULL, 0, &r), 200);
  const char *g = strstr(r.body, "\npenmark_request_body_bytes ");
  ck_assert_ptr_nonnull(g);
  long long v = strtoll(g + strlen("\npenmark_request_body_bytes "), NULL, 10);
  pm__http_response_free(&r);
  return v;
}

/* Waits up to 10 s for the gauge to satisfy want (>= at_least, or == 0). */
static long long body_bytes_wait(long long at_least, bool zero) {
  long long v = -1;
  for (int i = 0; i < 200; i++) {
    v = body_bytes();
    if (zero ? v == 0 : v >= at_least)
      break;
    usleep(50000);
  }
  return v;
}

/* Slow uploads cannot make the daemon hold more than --max-buffered-bytes
 * of bodies: past it, 503 (the body read and dropped), and the budget
 * comes back when the holder goes. */
START_TEST(body_budget_503) {
  /* A: announces a largest body, sends a little of it and stalls. */
  char *head = pm_test_fmt("POST /v1/score?tenant=demo HTTP/1.1\r\nHost: x\r\n"
                           "Content-Length: %d\r\n\r\n",
                           MAX_BYTES);
  int a = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(a, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", srv_main_d.sock);
  ck_assert_int_eq(connect(a, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(send(a, head, strlen(head), MSG_NOSIGNAL),
                   (ssize_t)strlen(head));
  ck_assert_int_eq(send(a, srv_mails[0].bytes, 100, MSG_NOSIGNAL), 100);
  ck_assert_int_ge(body_bytes_wait(MAX_BYTES, false), MAX_BYTES);

  /* B: as big again as what is left: refused with a JSON error. */
  size_t big = MAX_BUFFERED - MAX_BYTES + 1000;
  char *body = malloc(big);
  memcpy(body, srv_mails[0].bytes, srv_mails[0].len);
  memset(body + srv_mails[0].len, '\n', big - srv_mails[0].len);
  char *t = srv_score_target("demo");
  pm__http_response r;
  ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t, body, big, &r),
                   503);
  ck_assert_msg(strstr(r.body, "busy") != NULL, "%s", r.body);
  pm__http_response_free(&r);
  /* a mail that fits is still scored */
  ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t, srv_mails[0].bytes,
                                 srv_mails[0].len, &r),
                   200);
  pm__http_response_free(&r);

  /* A goes away: its share comes back, and B is taken. */
  close(a);
  ck_assert_int_eq(body_bytes_wait(0, true), 0);
  ck_assert_int_eq(srv_http_once(srv_main_d.sock, "POST", t, body, big, &r),
                   200);
  pm__http_response_free(&r);
  ck_assert_int_eq(body_bytes_wait(0, true), 0);
  free(t);
  free(body);
  free(head);
  still_serving();
}
END_TEST

START_TEST(request_errors) {
  const char *m = srv_mails[0].bytes;
  size_t ml = srv_mails[0].len;
  ck_assert_int_eq(status_of("POST", "/v1/score?tenant=..%2Fx", m, ml, NULL),
                   400);
  ck_assert_int_eq(status_of("POST", "/v1/score", m, ml, NULL), 400);
  ck_assert_int_eq(
      status_of("POST", "/v1/score?tenant=demo&bogus=1", m, ml, NULL), 400);
  ck_assert_int_eq(status_of("POST", "/v1/score?tenant=demo", "", 0, NULL),
                   400);
  ck_assert_int_eq(
      status_of("POST", "/v1/score?tenant=nosuchtenant", m, ml, NULL), 404);
  ck_assert_int_eq(status_of("POST", "/v1/nothing", m, ml, NULL), 404);
  ck_assert_int_eq(status_of("GET", "/v1/score?tenant=demo", NULL, 0, "POST"),
                   405);
  ck_assert_int_eq(status_of("PUT", "/v1/score?tenant=demo", m, ml, "POST"),
                   405);
  ck_assert_int_eq(status_of("DELETE", "/metrics", NULL, 0, "GET, HEAD"), 405);
  ck_assert_int_eq(status_of("POST", "/v1/health", m, ml, "GET, HEAD"), 405);
  still_serving();
}
END_TEST

START_TEST(random_megabyte_is_not_a_crash) {
  size_t n = 1000 * 1000;
  char *junk = malloc(n);
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    junk[i] = (char)(s >> 16);
  }
  char *t = srv_score_target("demo");
  int st = status_of("POST", t, junk, n, NULL);
  ck_assert_msg(st == 200 || st == 422, "random bytes: %d", st);
  free(junk);
  free(t);
  still_serving();
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve_refusals");
  TCase *c = tcase_create("refusals");
  tcase_set_timeout(c, 1200);
  tcase_add_unchecked_fixture(c, srv_main_setup, srv_main_teardown);
  tcase_add_test(c, malformed_http);
  tcase_add_test(c, truncated_body);
  tcase_add_test(c, oversize_body_413);
  tcase_add_test(c, request_errors);
  tcase_add_test(c, body_budget_503);
  tcase_add_test(c, random_megabyte_is_not_a_crash);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(serve_suite());
  srv_suite_teardown();
  return failed != 0;
}
