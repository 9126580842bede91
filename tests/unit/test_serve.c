/* The daemon's parts that need no daemon: routing and query checks, the
 * OpenMetrics text, the client's response parsing, the listening socket. */
#include "score/serve/client.h"
#include "score/serve/serve_metrics.h"
#include "score/serve/serve_route.h"
#include "score/serve/serve_socket.h"

#include "tests/support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- routing ---- */

START_TEST(routes) {
  pm__route_match m;
  pm__route_request("POST", "/v1/score", &m);
  ck_assert_int_eq(m.route, PM__ROUTE_SCORE);
  ck_assert_int_eq(m.status, 0);
  pm__route_request("GET", "/v1/health", &m);
  ck_assert_int_eq(m.route, PM__ROUTE_HEALTH);
  pm__route_request("HEAD", "/v1/health", &m);
  ck_assert_int_eq(m.route, PM__ROUTE_HEALTH);
  pm__route_request("GET", "/metrics", &m);
  ck_assert_int_eq(m.route, PM__ROUTE_METRICS);
}
END_TEST

START_TEST(wrong_method_405_with_allow) {
  pm__route_match m;
  pm__route_request("GET", "/v1/score", &m);
  ck_assert_int_eq(m.route, PM__ROUTE_NONE);
  ck_assert_int_eq(m.status, 405);
  ck_assert_str_eq(m.allow, "POST");
  pm__route_request("DELETE", "/v1/health", &m);
  ck_assert_int_eq(m.status, 405);
  ck_assert_str_eq(m.allow, "GET, HEAD");
  pm__route_request("POST", "/metrics", &m);
  ck_assert_int_eq(m.status, 405);
  /* Method names are case-sensitive (RFC 9110). */
  pm__route_request("post", "/v1/score", &m);
  ck_assert_int_eq(m.status, 405);
}
END_TEST

START_TEST(unknown_path_404) {
  static const char *paths[] = {"/",          "/v1/score/", "/v1",
                                "/v1/scorex", "/V1/score",  "/metrics/",
                                "",           "/v1//score", "/../v1/score",
                                "/v2/score",  "/v1/health?"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    pm__route_match m;
    pm__route_request("POST", paths[i], &m);
    ck_assert_msg(m.status == 404, "%s: %d", paths[i], m.status);
    ck_assert_int_eq(m.route, PM__ROUTE_NONE);
  }
}
END_TEST

static int parse(const pm__kv *kv, size_t n, pm__score_args *a, char *msg) {
  return pm__score_args_parse(kv, n, a, msg, 256);
}

START_TEST(score_args_ok) {
  char msg[256];
  pm__score_args a;
  pm__kv kv1[] = {{"tenant", "acme"}};
  ck_assert_int_eq(parse(kv1, 1, &a, msg), 0);
  ck_assert_str_eq(a.tenant, "acme");
  ck_assert_ptr_null(a.sender);
  pm__kv kv2[] = {{"sender", "ceo@acme.example"}, {"tenant", "acme-2.x_y"}};
  ck_assert_int_eq(parse(kv2, 2, &a, msg), 0);
  ck_assert_str_eq(a.tenant, "acme-2.x_y");
  ck_assert_str_eq(a.sender, "ceo@acme.example");
  /* An empty sender means the From: address. */
  pm__kv kv3[] = {{"tenant", "acme"}, {"sender", ""}};
  ck_assert_int_eq(parse(kv3, 2, &a, msg), 0);
  ck_assert_ptr_null(a.sender);
  pm__kv kv4[] = {{"tenant", "acme"}, {"sender", NULL}};
  ck_assert_int_eq(parse(kv4, 2, &a, msg), 0);
  ck_assert_ptr_null(a.sender);
}
END_TEST

START_TEST(score_args_refused) {
  char msg[256];
  pm__score_args a;
  pm__kv none[1] = {{"tenant", "unused"}};
  ck_assert_int_eq(parse(none, 0, &a, msg), 400);
  ck_assert_ptr_nonnull(strstr(msg, "missing tenant"));
  pm__kv empty[] = {{"tenant", ""}};
  ck_assert_int_eq(parse(empty, 1, &a, msg), 400);
  pm__kv novalue[] = {{"tenant", NULL}};
  ck_assert_int_eq(parse(novalue, 1, &a, msg), 400);
  static const char *bad[] = {"../x",
                              "ACME",
                              "-acme",
                              ".",
                              "a/b",
                              "a b",
                              "x\ny",
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaa"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm__kv kv[] = {{"tenant", bad[i]}};
    ck_assert_msg(parse(kv, 1, &a, msg) == 400, "%s accepted", bad[i]);
  }
  pm__kv twice[] = {{"tenant", "a"}, {"tenant", "b"}};
  ck_assert_int_eq(parse(twice, 2, &a, msg), 400);
  ck_assert_ptr_nonnull(strstr(msg, "twice"));
  pm__kv unknown[] = {{"tenant", "a"}, {"sendr", "x@y"}};
  ck_assert_int_eq(parse(unknown, 2, &a, msg), 400);
  ck_assert_ptr_nonnull(strstr(msg, "sendr"));
  pm__kv space[] = {{"tenant", "a"}, {"sender", "a b@c"}};
  ck_assert_int_eq(parse(space, 2, &a, msg), 400);
  char longs[400];
  memset(longs, 'a', sizeof longs - 1);
  longs[sizeof longs - 1] = '\0';
  pm__kv toolong[] = {{"tenant", "a"}, {"sender", longs}};
  ck_assert_int_eq(parse(toolong, 2, &a, msg), 400);
  pm__kv many[PM__MAX_QUERY_ARGS + 1];
  for (size_t i = 0; i < PM__MAX_QUERY_ARGS + 1; i++)
    many[i] = (pm__kv){"tenant", "a"};
  ck_assert_int_eq(parse(many, PM__MAX_QUERY_ARGS + 1, &a, msg), 400);
}
END_TEST

START_TEST(content_length) {
  uint64_t v;
  ck_assert(pm__parse_content_length("0", &v) && v == 0);
  ck_assert(pm__parse_content_length("25000000", &v) && v == 25000000);
  ck_assert(pm__parse_content_length("18446744073709551615", &v) &&
            v == UINT64_MAX);
  ck_assert(!pm__parse_content_length("18446744073709551616", &v));
  ck_assert(!pm__parse_content_length("", &v));
  ck_assert(!pm__parse_content_length(NULL, &v));
  ck_assert(!pm__parse_content_length("-1", &v));
  ck_assert(!pm__parse_content_length("+1", &v));
  ck_assert(!pm__parse_content_length("1 ", &v));
  ck_assert(!pm__parse_content_length("0x10", &v));
}
END_TEST

START_TEST(json_error_escapes) {
  size_t len;
  char *s = pm__json_error("bad \"x\"\n\\", &len);
  ck_assert_ptr_nonnull(s);
  ck_assert_str_eq(s, "{\"error\":\"bad \\\"x\\\"\\n\\\\\"}\n");
  ck_assert_uint_eq(len, strlen(s));
  free(s);
}
END_TEST

/* ---- OpenMetrics ---- */

/* The line of out that starts with prefix, or NULL. */
static const char *line_of(const char *out, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = out; p && *p;
       p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, prefix, n) == 0)
      return p;
  return NULL;
}

START_TEST(metrics_render) {
  pm__metrics m;
  pm__metrics_init(&m);
  pm__metrics_request(&m, 200, 300);     /* 0.3 ms */
  pm__metrics_request(&m, 200, 1500);    /* 1.5 ms */
  pm__metrics_request(&m, 404, 700);     /* 0.7 ms */
  pm__metrics_request(&m, 503, 9000000); /* 9 s: only +Inf */
  pm__metrics_request(&m, 418, 100);
  pm__metrics_verdict(&m, 0);
  pm__metrics_verdict(&m, 1);
  pm__metrics_verdict(&m, 1);
  pm__metrics_verdict(&m, 99); /* ignored */
  atomic_store(&m.tenants_loaded, 3);
  atomic_store(&m.in_flight, 2);
  atomic_store(&m.reloads_ok, 4);
  pm__metrics_view v;
  pm__metrics_snapshot(&m, &v);
  v.version = "9.9.9";
  pm__buf b = {0};
  ck_assert(pm__metrics_render(&v, &b));
  const char *t = b.data;
  /* Ends with exactly one "# EOF" line. */
  ck_assert_uint_ge(b.len, 6);
  ck_assert_str_eq(t + b.len - 6, "# EOF\n");
  ck_assert_ptr_eq(strstr(t, "# EOF"), t + b.len - 6);
  ck_assert_ptr_nonnull(line_of(t, "# TYPE penmark_http_requests counter\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_http_requests_total{code=\"200\"} 2\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_http_requests_total{code=\"404\"} 1\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_http_requests_total{code=\"other\"} 1\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_errors_total{class=\"client\"} 1\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_errors_total{class=\"server\"} 1\n"));
  ck_assert_ptr_nonnull(line_of(
      t, "penmark_score_verdicts_total{verdict=\"impersonation\"} 2\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_score_verdicts_total{verdict=\"genuine\"} 1\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "# TYPE penmark_request_duration_seconds histogram\n"));
  /* Cumulative buckets, canonical bounds, +Inf = count. */
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_bucket{le=\"0.0005\"} 2\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_bucket{le=\"0.001\"} 3\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_bucket{le=\"0.002\"} 4\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_bucket{le=\"5.0\"} 4\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_bucket{le=\"+Inf\"} 5\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_count 5\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_request_duration_seconds_sum 9.002600\n"));
  ck_assert_ptr_nonnull(line_of(t, "penmark_tenants_loaded 3\n"));
  ck_assert_ptr_nonnull(line_of(t, "penmark_requests_in_flight 2\n"));
  ck_assert_ptr_nonnull(line_of(t, "penmark_reloads_total{result=\"ok\"} 4\n"));
  ck_assert_ptr_nonnull(
      line_of(t, "penmark_build_info{version=\"9.9.9\"} 1\n"));
  /* Every sample belongs to a family declared before it. */
  for (const char *p = t; *p; p = strchr(p, '\n') + 1) {
    if (*p == '#')
      continue;
    char name[128];
    ck_assert_int_eq(sscanf(p, "%127[a-z_]", name), 1);
    char decl[160];
    bool found = false;
    static const char *suffixes[] = {"_total", "_bucket", "_count",
                                     "_sum",   "_info",   ""};
    for (size_t i = 0; !found && i < 6; i++) {
      size_t nl = strlen(name), sl = strlen(suffixes[i]);
      if (nl < sl || strcmp(name + nl - sl, suffixes[i]) != 0)
        continue;
      snprintf(decl, sizeof decl, "# TYPE %.*s ", (int)(nl - sl), name);
      const char *d = strstr(t, decl);
      found = d && d < p;
    }
    ck_assert_msg(found, "sample without a TYPE before it: %.60s", p);
  }
  pm__buf_free(&b);
}
END_TEST

START_TEST(metrics_code_index) {
  ck_assert_int_eq(pm__metrics_code_index(200), PM__CODE_200);
  ck_assert_int_eq(pm__metrics_code_index(413), PM__CODE_413);
  ck_assert_int_eq(pm__metrics_code_index(0), PM__CODE_OTHER);
  ck_assert_int_eq(pm__metrics_code_index(201), PM__CODE_OTHER);
}
END_TEST

/* ---- the client's response parsing ---- */

static int parse_resp(const char *s, bool eof, pm__http_response *r,
                      size_t *used) {
  pm_error err;
  pm_error_clear(&err);
  return pm__http_parse_response(s, strlen(s), eof, r, used, &err);
}

START_TEST(response_content_length) {
  const char *s = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  "Content-Length: 7\r\n\r\n{\"a\":1}HTTP/1.1 404";
  pm__http_response r;
  size_t used;
  ck_assert_int_eq(parse_resp(s, false, &r, &used), 1);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "{\"a\":1}");
  ck_assert_uint_eq(r.body_len, 7);
  ck_assert(!r.close);
  ck_assert_str_eq(s + used, "HTTP/1.1 404"); /* the next response stays */
  char v[64];
  ck_assert(pm__http_header(&r, "content-type", v, sizeof v));
  ck_assert_str_eq(v, "application/json");
  ck_assert(!pm__http_header(&r, "Allow", v, sizeof v));
  pm__http_response_free(&r);
}
END_TEST

START_TEST(response_incomplete_needs_more) {
  const char *full = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
  pm__http_response r;
  size_t used;
  /* Every proper prefix asks for more; the whole parses. */
  for (size_t n = 0; n < strlen(full); n++) {
    char *part = strndup(full, n);
    ck_assert_int_eq(parse_resp(part, false, &r, &used), 0);
    free(part);
  }
  ck_assert_int_eq(parse_resp(full, false, &r, &used), 1);
  ck_assert_str_eq(r.body, "hello");
  pm__http_response_free(&r);
  /* Cut by the end of the connection: an error, not a short body. */
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(
      pm__http_parse_response(full, strlen(full) - 2, true, &r, &used, &err),
      -1);
}
END_TEST

START_TEST(response_chunked) {
  const char *s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "4\r\nWiki\r\n6;ext=1\r\npedia \r\nE\r\nin \r\n\r\nchunks."
                  "\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT";
  pm__http_response r;
  size_t used;
  ck_assert_int_eq(parse_resp(s, false, &r, &used), 1);
  ck_assert_str_eq(r.body, "Wikipedia in \r\n\r\nchunks.");
  ck_assert_str_eq(s + used, "NEXT");
  pm__http_response_free(&r);
  ck_assert_int_eq(
      parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi",
                 false, &r, &used),
      0);
  ck_assert_int_eq(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                              "chunked\r\n\r\nzz\r\nWiki\r\n",
                              false, &r, &used),
                   -1);
}
END_TEST

START_TEST(response_interim_and_close) {
  const char *s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 413 Content Too "
                  "Large\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}";
  pm__http_response r;
  size_t used;
  ck_assert_int_eq(parse_resp(s, false, &r, &used), 1);
  ck_assert_int_eq(r.status, 413);
  ck_assert(r.close);
  ck_assert_str_eq(r.body, "{}");
  ck_assert_uint_eq(used, strlen(s));
  pm__http_response_free(&r);
  /* HTTP/1.0 closes unless kept alive; no length: until the end. */
  const char *s10 = "HTTP/1.0 200 OK\r\n\r\nuntil the end";
  ck_assert_int_eq(parse_resp(s10, false, &r, &used), 0);
  ck_assert_int_eq(parse_resp(s10, true, &r, &used), 1);
  ck_assert(r.close);
  ck_assert_str_eq(r.body, "until the end");
  pm__http_response_free(&r);
}
END_TEST

START_TEST(response_malformed) {
  static const char *bad[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "GARBAGE GARBAGE\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm__http_response r;
    size_t used;
    ck_assert_msg(parse_resp(bad[i], false, &r, &used) == -1, "%s", bad[i]);
  }
  /* A head that never ends is refused past 64 KiB, not buffered forever. */
  size_t n = 70 * 1024;
  char *big = malloc(n + 1);
  memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
  memset(big + 20, 'a', n - 20);
  big[n] = '\0';
  pm__http_response r;
  size_t used;
  ck_assert_int_eq(parse_resp(big, false, &r, &used), -1);
  free(big);
}
END_TEST

START_TEST(url_encode) {
  char *s = pm__url_encode("a.b-c_d~e");
  ck_assert_str_eq(s, "a.b-c_d~e");
  free(s);
  s = pm__url_encode("../x y&z=@+\xe3\x81\x82");
  ck_assert_str_eq(s, "..%2Fx%20y%26z%3D%40%2B%E3%81%82");
  free(s);
}
END_TEST

/* ---- the listening socket ---- */

static char *dir;

static void sock_setup(void) {
  dir = pm_test_tmpdir();
}
static void sock_teardown(void) {
  pm_test_rmtree(dir);
  free(dir);
}

static char *in_dir(const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static void quiet(pm_log_level level, const char *msg, void *ctx) {
  (void)level;
  (void)msg;
  (*(int *)ctx)++;
}

START_TEST(socket_mode_and_remove) {
  char *path = in_dir("s.sock");
  int logged = 0;
  pm__log log = {quiet, &logged, NULL};
  int fd = -1;
  struct stat id;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__socket_listen(path, 0640, 16, &log, &fd, &id, &err),
                   PM_OK);
  struct stat sb;
  ck_assert_int_eq(lstat(path, &sb), 0);
  ck_assert(S_ISSOCK(sb.st_mode));
  ck_assert_uint_eq(sb.st_mode & 0777, 0640);
  /* Live: a second listener is refused, and the file stays. */
  int fd2 = -1;
  struct stat id2;
  ck_assert_int_eq(pm__socket_listen(path, 0660, 16, &log, &fd2, &id2, &err),
                   PM_BUSY);
  ck_assert_ptr_nonnull(strstr(err.msg, "another daemon"));
  ck_assert_int_eq(lstat(path, &sb), 0);
  close(fd);
  /* Stale now (nobody accepts): replaced, with a log line. */
  ck_assert_int_eq(pm__socket_listen(path, 0600, 16, &log, &fd2, &id2, &err),
                   PM_OK);
  ck_assert_int_eq(logged, 1);
  ck_assert_int_eq(lstat(path, &sb), 0);
  ck_assert_uint_eq(sb.st_mode & 0777, 0600);
  /* remove() leaves a file that is not ours alone: move ours aside (its
   * inode stays in use, so the new file cannot reuse its number) and put
   * another socket in its place. */
  char *aside = in_dir("aside.sock");
  ck_assert_int_eq(rename(path, aside), 0);
  int fd3 = -1;
  struct stat id3;
  ck_assert_int_eq(pm__socket_listen(path, 0600, 16, &log, &fd3, &id3, &err),
                   PM_OK);
  pm__socket_remove(path, &id2);
  ck_assert_int_eq(lstat(path, &sb), 0);
  pm__socket_remove(path, &id3);
  ck_assert_int_ne(lstat(path, &sb), 0);
  close(fd3);
  free(aside);
  close(fd2);
  free(path);
}
END_TEST

START_TEST(socket_refuses_non_socket_and_long_path) {
  char *path = in_dir("plain");
  pm_test_write_file(path, "keep me", 7);
  pm__log log = {quiet, &(int){0}, NULL};
  int fd = -1;
  struct stat id;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__socket_listen(path, 0660, 16, &log, &fd, &id, &err),
                   PM_INVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "not a socket"));
  size_t len;
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  char buf[16];
  len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  ck_assert_uint_eq(len, 7); /* untouched */
  free(path);
  char longp[300];
  memset(longp, 'x', sizeof longp - 1);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  ck_assert_int_eq(pm__socket_listen(longp, 0660, 16, &log, &fd, &id, &err),
                   PM_INVAL);
  ck_assert_ptr_nonnull(strstr(err.msg, "too long"));
}
END_TEST

START_TEST(client_reports_missing_daemon) {
  char *path = in_dir("none.sock");
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__http_init(&c, path, 1000, &err), PM_OK);
  pm__http_response r;
  ck_assert_int_eq(
      pm__http_request(&c, "GET", "/v1/health", NULL, NULL, 0, &r, &err),
      PM_IO);
  ck_assert_ptr_nonnull(strstr(err.msg, "penmark serve"));
  pm__http_free(&c);
  free(path);
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve");
  TCase *c = tcase_create("routing");
  tcase_add_test(c, routes);
  tcase_add_test(c, wrong_method_405_with_allow);
  tcase_add_test(c, unknown_path_404);
  tcase_add_test(c, score_args_ok);
  tcase_add_test(c, score_args_refused);
  tcase_add_test(c, content_length);
  tcase_add_test(c, json_error_escapes);
  suite_add_tcase(s, c);
  c = tcase_create("metrics");
  tcase_add_test(c, metrics_render);
  tcase_add_test(c, metrics_code_index);
  suite_add_tcase(s, c);
  c = tcase_create("client");
  tcase_add_test(c, response_content_length);
  tcase_add_test(c, response_incomplete_needs_more);
  tcase_add_test(c, response_chunked);
  tcase_add_test(c, response_interim_and_close);
  tcase_add_test(c, response_malformed);
  tcase_add_test(c, url_encode);
  suite_add_tcase(s, c);
  c = tcase_create("socket");
  tcase_add_checked_fixture(c, sock_setup, sock_teardown);
  tcase_add_test(c, socket_mode_and_remove);
  tcase_add_test(c, socket_refuses_non_socket_and_long_path);
  tcase_add_test(c, client_reports_missing_daemon);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(serve_suite()) != 0;
}
