/* penmark serve end to end: the real daemon on a temporary socket and
 * store, driven with curl, with `penmark score --socket`, and with threads
 * of keep-alive clients; compared with in-process scoring. No timing is
 * asserted: the timeouts below only keep a broken daemon from hanging the
 * suite. */
#include "score/serve/client.h"

#include "tests/support.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_TIMEOUT_MS 120000
#define LOAD_REQUESTS 20000
#define LOAD_CLIENTS 16
#define MAX_BYTES 2000000
/* all bodies at once in the main daemon: one largest body and a half */
#define MAX_BUFFERED 3000000
#define PM_STR_(x) #x
#define PM_STR(x) PM_STR_(x)

/* ---- small helpers ---- */

#define need(cond, ...)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      ck_abort_msg(__VA_ARGS__);                                               \
  } while (0)

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Runs cmd; fails the test (with its stderr) unless it exits 0. stdout is
 * returned (malloc'd). */
static char *run_ok(const char *cmd) {
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  need(rc == 0, "`%.300s` exited %d: %s", cmd, rc, err ? err : "");
  free(err);
  return out;
}

/* run_ok on a formatted command. */
static char *run_okf(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *run_okf(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *cmd = NULL;
  int n = vasprintf(&cmd, f, ap);
  va_end(ap);
  need(n >= 0, "out of memory");
  char *out = run_ok(cmd);
  free(cmd);
  return out;
}

/* What must match between the daemon and in-process scoring. The
 * probability is kept as text: byte-identical means the same digits. */
typedef struct {
  char verdict[32];
  char prob[48];
  long long pmails; /* profile.mails */
} outcome;

static bool outcome_eq(const outcome *a, const outcome *b) {
  return strcmp(a->verdict, b->verdict) == 0 && strcmp(a->prob, b->prob) == 0 &&
         a->pmails == b->pmails;
}

/* The outcome in one JSON object (a line of `penmark score` or a daemon
 * answer); false when it is not a score result. */
static bool outcome_of(const char *json, size_t len, outcome *o) {
  memset(o, 0, sizeof *o);
  cJSON *j = cJSON_ParseWithLength(json, len);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "verdict");
  const cJSON *pr = cJSON_GetObjectItemCaseSensitive(j, "profile");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(pr, "mails");
  bool ok = cJSON_IsString(v) && cJSON_IsNumber(m);
  if (ok) {
    snprintf(o->verdict, sizeof o->verdict, "%s", v->valuestring);
    o->pmails = (long long)m->valuedouble;
  }
  cJSON_Delete(j);
  const char *p = ok ? memmem(json, len, "\"probability\":", 14) : NULL;
  if (!p)
    return false;
  p += 14;
  size_t n = strcspn(p, ",}");
  if (n == 0 || n >= sizeof o->prob)
    return false;
  memcpy(o->prob, p, n);
  o->prob[n] = '\0';
  return true;
}

/* ---- the inbound sample mail ---- */

typedef struct {
  char *path;
  char *bytes;
  size_t len;
} mail_t;

static mail_t *mails;
static size_t n_mails;

static int by_name(const void *a, const void *b) {
  return strcmp(((const mail_t *)a)->path, ((const mail_t *)b)->path);
}

static void load_mails(void) {
  char *dir = pm_test_fmt("%s/sample/inbound", pm_test_data_dir());
  DIR *d = opendir(dir);
  need(d != NULL, "%s: %s", dir, strerror(errno));
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".eml") != 0)
      continue;
    mails = realloc(mails, (n_mails + 1) * sizeof *mails);
    mail_t *m = &mails[n_mails++];
    m->path = pm_test_fmt("%s/%s", dir, e->d_name);
    FILE *f = fopen(m->path, "rb");
    need(f != NULL, "%s: %s", m->path, strerror(errno));
    fseek(f, 0, SEEK_END);
    m->len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    m->bytes = malloc(m->len + 1);
    need(fread(m->bytes, 1, m->len, f) == m->len, "%s: short read", m->path);
    fclose(f);
  }
  closedir(d);
  need(n_mails >= 4, "%s: too few mails", dir);
  free(dir);
  qsort(mails, n_mails, sizeof *mails, by_name);
}

static char *all_mail_args(void) {
  size_t n = 1;
  for (size_t i = 0; i < n_mails; i++)
    n += strlen(mails[i].path) + 3;
  char *s = calloc(1, n);
  for (size_t i = 0; i < n_mails; i++) {
    strcat(s, " '");
    strcat(s, mails[i].path);
    strcat(s, "'");
  }
  return s;
}

/* In-process `penmark score` of every inbound mail: the outcomes (in
 * mails[] order) and the output lines (malloc'd array). */
static void score_in_process(const char *store, const char *tenant,
                             const char *sender, outcome *out, char ***lines) {
  char *args = all_mail_args();
  char *cmd =
      pm_test_fmt("'%s' score --tenant %s --store '%s' %s%s%s %s",
                  pm_test_penmark(), tenant, store, sender ? "--sender '" : "",
                  sender ? sender : "", sender ? "'" : "", args);
  char *text = run_ok(cmd);
  free(cmd);
  free(args);
  char **ls = calloc(n_mails, sizeof *ls);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(text, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    need(i < n_mails, "more lines than mails");
    need(outcome_of(l, strlen(l), &out[i]), "not a result: %s", l);
    need(strstr(l, mails[i].path) != NULL, "line %zu is not %s: %s", i,
         mails[i].path, l);
    ls[i] = strdup(l);
  }
  need(i == n_mails, "%zu lines for %zu mails", i, n_mails);
  free(text);
  if (lines)
    *lines = ls;
  else {
    for (i = 0; i < n_mails; i++)
      free(ls[i]);
    free(ls);
  }
}

/* ---- the daemon ---- */

typedef struct {
  pid_t pid;
  char *sock;
  char *log;
} daemon_t;

static int http_once(const char *sock, const char *method, const char *target,
                     const char *body, size_t len, pm__http_response *r) {
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__http_init(&c, sock, CLIENT_TIMEOUT_MS, &err), PM_OK);
  pm_status rc = pm__http_request(
      &c, method, target, body ? "message/rfc822" : NULL, body, len, r, &err);
  pm__http_free(&c);
  return rc == PM_OK ? r->status : -1;
}

static int health(const char *sock) {
  pm__http_response r;
  int st = http_once(sock, "GET", "/v1/health", NULL, 0, &r);
  if (st >= 0)
    pm__http_response_free(&r);
  return st;
}

/* A daemon's log so far; "" before it has one. */
static char *slurp(const char *path) {
  char *s = pm_test_slurp(path, NULL);
  return s ? s : strdup("");
}

/* Waits up to timeout_s for the daemon to exit; its exit status, or -1 (and
 * a SIGKILL) when it did not. */
static int daemon_wait(daemon_t *d, int timeout_s) {
  for (int i = 0; i < timeout_s * 50; i++) {
    int st;
    pid_t p = waitpid(d->pid, &st, WNOHANG);
    if (p == d->pid) {
      d->pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    sleep_ms(20);
  }
  kill(d->pid, SIGKILL);
  waitpid(d->pid, NULL, 0);
  d->pid = 0;
  return -1;
}

/* Starts `penmark serve` and waits (generously) until it answers. */
static void daemon_start(daemon_t *d, const char *sock, const char *store,
                         const char *extra) {
  d->sock = strdup(sock);
  d->log = pm_test_fmt("%s.log", sock);
  char *cmd = pm_test_fmt(
      "exec '%s' serve --socket '%s' --store '%s' --max-bytes %d "
      "%s 2>>'%s'",
      pm_test_penmark(), sock, store, MAX_BYTES, extra ? extra : "", d->log);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    /* Dies with the test, whatever happens to the test. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  d->pid = pid;
  for (int i = 0; i < 3000; i++) {
    if (health(sock) == 200)
      return;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      d->pid = 0;
      char *log = slurp(d->log);
      ck_abort_msg("penmark serve exited (%d) at start: %s", st, log);
    }
    sleep_ms(20);
  }
  ck_abort_msg("penmark serve on %s never answered", sock);
}

static int daemon_stop(daemon_t *d) {
  if (d->pid <= 0)
    return -1;
  kill(d->pid, SIGTERM);
  return daemon_wait(d, 120);
}

static void daemon_free(daemon_t *d) {
  if (d->pid > 0) {
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
  }
  free(d->sock);
  free(d->log);
  memset(d, 0, sizeof *d);
}

static char *score_target(const char *tenant) {
  return pm_test_fmt("/v1/score?tenant=%s", tenant);
}

/* ---- fixture: the sample tenant, its in-process results, one daemon ---- */

static char *root;      /* everything temporary */
static char *store;     /* root/store: tenant demo, the whole sample corpus */
static outcome *expect; /* in-process outcome of each inbound mail */
static char **expect_lines;
static daemon_t main_d;

/* Once, in the parent (from the first unchecked fixture): every forked
 * test inherits it. */
static void suite_setup(void) {
  if (root)
    return;
  root = pm_test_tmpdir();
  store = pm_test_fmt("%s/store", root);
  load_mails();
  free(run_okf("'%s' train --tenant demo --store '%s' '%s/sample/corpus'",
               pm_test_penmark(), store, pm_test_data_dir()));
  expect = calloc(n_mails, sizeof *expect);
  score_in_process(store, "demo", NULL, expect, &expect_lines);
}

static void suite_teardown(void) {
  if (root)
    pm_test_rmtree(root);
}

static void main_setup(void) {
  suite_setup();
  char *sock = pm_test_fmt("%s/main.sock", root);
  daemon_start(&main_d, sock, store,
               "--threads 4 --max-buffered-bytes " PM_STR(MAX_BUFFERED));
  free(sock);
}

static void main_teardown(void) {
  ck_assert_int_eq(daemon_stop(&main_d), 0);
  daemon_free(&main_d);
}

/* ---- results match in-process scoring ---- */

START_TEST(curl_matches_in_process) {
  for (size_t i = 0; i < n_mails; i++) {
    char *cmd = pm_test_fmt("curl -sS --unix-socket '%s' --data-binary @'%s' "
                            "'http://localhost/v1/score?tenant=demo'",
                            main_d.sock, mails[i].path);
    char *out = run_ok(cmd);
    outcome o;
    ck_assert_msg(outcome_of(out, strlen(out), &o), "%s: %s", cmd, out);
    ck_assert_msg(outcome_eq(&o, &expect[i]),
                  "%s: daemon %s %s %lld, in-process %s %s %lld", mails[i].path,
                  o.verdict, o.prob, o.pmails, expect[i].verdict,
                  expect[i].prob, expect[i].pmails);
    ck_assert_ptr_nonnull(strstr(out, "\"tenant\":\"demo\""));
    ck_assert_ptr_null(strstr(out, "\"file\""));
    free(out);
    free(cmd);
  }
}
END_TEST

/* A line with its elapsed_us value blanked: the one field that differs
 * between two runs. */
static char *without_elapsed(const char *line) {
  char *s = strdup(line);
  char *p = strstr(s, "\"elapsed_us\":");
  if (p) {
    p += 13;
    size_t n = strspn(p, "0123456789");
    memmove(p, p + n, strlen(p + n) + 1);
  }
  return s;
}

START_TEST(client_matches_in_process) {
  char *args = all_mail_args();
  char *cmd = pm_test_fmt("'%s' score --socket '%s' --tenant demo %s",
                          pm_test_penmark(), main_d.sock, args);
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0,
                "`penmark score --socket` exited %d: %s(cli/cmd_score.c "
                "calls pm_cli_score_remote, cli/score_remote.h, for "
                "--socket)",
                rc, err);
  free(err);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    ck_assert_uint_lt(i, n_mails);
    char *a = without_elapsed(l), *b = without_elapsed(expect_lines[i]);
    ck_assert_msg(strcmp(a, b) == 0, "client:     %s\nin-process: %s", a, b);
    free(a);
    free(b);
  }
  ck_assert_uint_eq(i, n_mails);
  free(out);
  free(cmd);
  free(args);
}
END_TEST

START_TEST(claimed_sender_parameter) {
  /* Every mail scored as if it claimed to be the first mail's sender. */
  cJSON *j = cJSON_Parse(expect_lines[0]);
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "sender");
  ck_assert(cJSON_IsString(s));
  char *sender = strdup(s->valuestring);
  cJSON_Delete(j);
  outcome *exp = calloc(n_mails, sizeof *exp);
  char **lines = NULL;
  score_in_process(store, "demo", sender, exp, &lines);
  char *enc = pm__url_encode(sender);
  char *target = pm_test_fmt("/v1/score?tenant=demo&sender=%s", enc);
  for (size_t i = 0; i < n_mails; i++) {
    pm__http_response r;
    ck_assert_int_eq(http_once(main_d.sock, "POST", target, mails[i].bytes,
                               mails[i].len, &r),
                     200);
    outcome o;
    ck_assert(outcome_of(r.body, r.body_len, &o));
    ck_assert_msg(outcome_eq(&o, &exp[i]), "%s with sender=%s", mails[i].path,
                  sender);
    pm__http_response_free(&r);
  }
  char *args = all_mail_args();
  char *cmd =
      pm_test_fmt("'%s' score --socket '%s' --tenant demo --sender '%s' %s",
                  pm_test_penmark(), main_d.sock, sender, args);
  char *out = run_ok(cmd);
  size_t i = 0;
  for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
       l = strtok_r(NULL, "\n", &save), i++) {
    char *a = without_elapsed(l), *b = without_elapsed(lines[i]);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
  }
  ck_assert_uint_eq(i, n_mails);
  for (i = 0; i < n_mails; i++)
    free(lines[i]);
  free(lines);
  free(out);
  free(cmd);
  free(args);
  free(target);
  free(enc);
  free(exp);
  free(sender);
}
END_TEST

START_TEST(client_reports_daemon_errors) {
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("'%s' score --socket '%s' --tenant nosuchtenant '%s'",
                          pm_test_penmark(), main_d.sock, mails[0].path);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 1);
  ck_assert_msg(strstr(err, "404") && strstr(err, "nosuchtenant"), "%s", err);
  ck_assert_str_eq(out, "");
  free(out);
  free(err);
  free(cmd);
  cmd = pm_test_fmt("'%s' score --socket '%s/absent.sock' --tenant demo '%s'",
                    pm_test_penmark(), root, mails[0].path);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 1);
  ck_assert_msg(strstr(err, "absent.sock") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
}
END_TEST

START_TEST(health_and_metrics) {
  pm__http_response r;
  ck_assert_int_eq(http_once(main_d.sock, "GET", "/v1/health", NULL, 0, &r),
                   200);
  cJSON *j = cJSON_ParseWithLength(r.body, r.body_len);
  ck_assert_str_eq(cJSON_GetObjectItem(j, "status")->valuestring, "ok");
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "uptime_s")));
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "tenants_loaded")));
  ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "version")));
  cJSON_Delete(j);
  pm__http_response_free(&r);
  /* One scored mail, so that the counters have something. */
  char *t = score_target("demo");
  ck_assert_int_eq(
      http_once(main_d.sock, "POST", t, mails[0].bytes, mails[0].len, &r), 200);
  pm__http_response_free(&r);
  free(t);
  ck_assert_int_eq(http_once(main_d.sock, "GET", "/metrics", NULL, 0, &r), 200);
  char ct[128];
  ck_assert(pm__http_header(&r, "Content-Type", ct, sizeof ct));
  ck_assert_msg(
      strncmp(ct, "application/openmetrics-text; version=1.0.0", 43) == 0, "%s",
      ct);
  ck_assert_uint_ge(r.body_len, 6);
  ck_assert_str_eq(r.body + r.body_len - 6, "# EOF\n");
  ck_assert_ptr_nonnull(strstr(r.body, "# TYPE penmark_http_requests counter"));
  ck_assert_ptr_nonnull(
      strstr(r.body, "# TYPE penmark_request_duration_seconds histogram"));
  ck_assert_ptr_nonnull(strstr(r.body, "penmark_tenants_loaded 1\n"));
  ck_assert_ptr_nonnull(strstr(r.body, "penmark_score_verdicts_total{"));
  ck_assert_ptr_null(
      strstr(r.body, "penmark_http_requests_total{code=\"200\"} 0\n"));
  pm__http_response_free(&r);
}
END_TEST

START_TEST(second_daemon_on_live_socket_refused) {
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s'",
                          pm_test_penmark(), main_d.sock, store);
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "another daemon") != NULL, "%s", err);
  ck_assert_int_eq(health(main_d.sock), 200);
  struct stat sb;
  ck_assert_int_eq(lstat(main_d.sock, &sb), 0);
  ck_assert(S_ISSOCK(sb.st_mode));
  ck_assert_uint_eq(sb.st_mode & 0777, 0660); /* the default mode */
  free(out);
  free(err);
  free(cmd);
}
END_TEST

START_TEST(sighup_reloads_and_keeps_serving) {
  ck_assert_int_eq(kill(main_d.pid, SIGHUP), 0);
  char *t = score_target("demo");
  /* Served throughout; the tenant loads again on its next request. */
  for (size_t i = 0; i < n_mails; i++) {
    pm__http_response r;
    ck_assert_int_eq(
        http_once(main_d.sock, "POST", t, mails[i].bytes, mails[i].len, &r),
        200);
    outcome o;
    ck_assert(outcome_of(r.body, r.body_len, &o));
    ck_assert(outcome_eq(&o, &expect[i]));
    pm__http_response_free(&r);
  }
  free(t);
  char *log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = slurp(main_d.log);
    if (strstr(log, "reload:"))
      break;
    sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "reload:") != NULL, "%s", log);
  free(log);
}
END_TEST

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
  ck_assert_int_eq(health(main_d.sock), 200);
  pm__http_response r;
  char *t = score_target("demo");
  ck_assert_int_eq(
      http_once(main_d.sock, "POST", t, mails[0].bytes, mails[0].len, &r), 200);
  outcome o;
  ck_assert(outcome_of(r.body, r.body_len, &o));
  ck_assert(outcome_eq(&o, &expect[0]));
  pm__http_response_free(&r);
  free(t);
}

/* The status of one request, with its JSON error checked when it is one. */
static int status_of(const char *method, const char *target, const char *body,
                     size_t len, const char *allow) {
  pm__http_response r;
  int st = http_once(main_d.sock, method, target, body, len, &r);
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
    int st = raw_exchange(main_d.sock, bad[i], strlen(bad[i]), true, &reply);
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
  memcpy(req + strlen(head), mails[0].bytes,
         mails[0].len < 1000 ? mails[0].len : 1000);
  if (mails[0].len < 1000)
    n = strlen(head) + mails[0].len;
  char *reply = NULL;
  int st = raw_exchange(main_d.sock, req, n, true, &reply);
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
  ck_assert_int_eq(raw_exchange(main_d.sock, head, strlen(head), false, NULL),
                   413);
  free(head);
  /* Sent in full with its length. */
  size_t big = MAX_BYTES + 1;
  char *body = malloc(big);
  memset(body, 'a', big);
  char *t = score_target("demo");
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
  ck_assert_int_eq(raw_exchange(main_d.sock, req.data, req.len, false, NULL),
                   413);
  pm__buf_free(&req);
  free(body);
  free(t);
  still_serving();
}
END_TEST

/* The gauge of request-body bytes held, from /metrics. */
static long long body_bytes(void) {
  pm__http_response r;
  ck_assert_int_eq(http_once(main_d.sock, "GET", "/metrics", NULL, 0, &r), 200);
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
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", main_d.sock);
  ck_assert_int_eq(connect(a, (struct sockaddr *)&sa, sizeof sa), 0);
  ck_assert_int_eq(send(a, head, strlen(head), MSG_NOSIGNAL),
                   (ssize_t)strlen(head));
  ck_assert_int_eq(send(a, mails[0].bytes, 100, MSG_NOSIGNAL), 100);
  ck_assert_int_ge(body_bytes_wait(MAX_BYTES, false), MAX_BYTES);

  /* B: as big again as what is left: refused with a JSON error. */
  size_t big = MAX_BUFFERED - MAX_BYTES + 1000;
  char *body = malloc(big);
  memcpy(body, mails[0].bytes, mails[0].len);
  memset(body + mails[0].len, '\n', big - mails[0].len);
  char *t = score_target("demo");
  pm__http_response r;
  ck_assert_int_eq(http_once(main_d.sock, "POST", t, body, big, &r), 503);
  ck_assert_msg(strstr(r.body, "busy") != NULL, "%s", r.body);
  pm__http_response_free(&r);
  /* a mail that fits is still scored */
  ck_assert_int_eq(
      http_once(main_d.sock, "POST", t, mails[0].bytes, mails[0].len, &r), 200);
  pm__http_response_free(&r);

  /* A goes away: its share comes back, and B is taken. */
  close(a);
  ck_assert_int_eq(body_bytes_wait(0, true), 0);
  ck_assert_int_eq(http_once(main_d.sock, "POST", t, body, big, &r), 200);
  pm__http_response_free(&r);
  ck_assert_int_eq(body_bytes_wait(0, true), 0);
  free(t);
  free(body);
  free(head);
  still_serving();
}
END_TEST

START_TEST(request_errors) {
  const char *m = mails[0].bytes;
  size_t ml = mails[0].len;
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
  char *t = score_target("demo");
  int st = status_of("POST", t, junk, n, NULL);
  ck_assert_msg(st == 200 || st == 422, "random bytes: %d", st);
  free(junk);
  free(t);
  still_serving();
}
END_TEST

/* ---- load, with a retrain in the middle ---- */

typedef struct {
  const char *sock;
  const char *target;
  int id;
  int n;                /* requests to send */
  unsigned short *mail; /* which mail each request sent */
  outcome *got;         /* what came back */
  int errors;
  char first_error[256];
  atomic_int *done; /* answered, across all clients */
} load_client;

static void *load_main(void *arg) {
  load_client *lc = arg;
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  pm__http_init(&c, lc->sock, CLIENT_TIMEOUT_MS, &err);
  for (int i = 0; i < lc->n; i++) {
    size_t m = ((size_t)lc->id * 7 + (size_t)i) % n_mails;
    lc->mail[i] = (unsigned short)m;
    pm__http_response r;
    pm_status rc = pm__http_request(&c, "POST", lc->target, "message/rfc822",
                                    mails[m].bytes, mails[m].len, &r, &err);
    if (rc != PM_OK || r.status != 200 ||
        !outcome_of(r.body, r.body_len, &lc->got[i])) {
      if (!lc->errors++)
        snprintf(lc->first_error, sizeof lc->first_error, "%s",
                 rc != PM_OK ? pm_error_message(&err)
                 : r.body    ? r.body
                             : "no body");
      lc->got[i].verdict[0] = '\0';
    }
    if (rc == PM_OK)
      pm__http_response_free(&r);
    atomic_fetch_add(lc->done, 1);
  }
  pm__http_free(&c);
  return NULL;
}

/* Copies the first `keep` mails of each sender folder of the sample corpus
 * into dst. */
static void partial_corpus(const char *dst, int keep) {
  char *cmd = pm_test_fmt(
      "set -e; mkdir -p '%s'; cd '%s/sample/corpus'; for d in */; do "
      "mkdir -p '%s'/\"$d\"; ls \"$d\" | sort | head -n %d | while read "
      "f; do cp \"$d$f\" '%s'/\"$d\"; done; done",
      dst, pm_test_data_dir(), dst, keep, dst);
  free(run_ok(cmd));
  free(cmd);
}

START_TEST(load_with_retrain) {
  char *lstore = pm_test_fmt("%s/load-store", root);
  char *part = pm_test_fmt("%s/corpus-part", root);
  partial_corpus(part, 28);
  free(run_okf("'%s' train --tenant demo --store '%s' '%s'", pm_test_penmark(),
               lstore, part));
  outcome *old = calloc(n_mails, sizeof *old);
  score_in_process(lstore, "demo", NULL, old, NULL);

  char *sock = pm_test_fmt("%s/load.sock", root);
  daemon_t d = {0};
  daemon_start(&d, sock, lstore, NULL);
  char *target = score_target("demo");
  atomic_int done;
  atomic_init(&done, 0);
  load_client lc[LOAD_CLIENTS];
  pthread_t th[LOAD_CLIENTS];
  for (int i = 0; i < LOAD_CLIENTS; i++) {
    lc[i] = (load_client){.sock = sock,
                          .target = target,
                          .id = i,
                          .n = LOAD_REQUESTS / LOAD_CLIENTS,
                          .done = &done};
    lc[i].mail = calloc((size_t)lc[i].n, sizeof *lc[i].mail);
    lc[i].got = calloc((size_t)lc[i].n, sizeof *lc[i].got);
    ck_assert_int_eq(pthread_create(&th[i], NULL, load_main, &lc[i]), 0);
  }
  /* Retrain (the whole corpus: more mail per sender) while it runs. */
  while (atomic_load(&done) < LOAD_REQUESTS / 10)
    sleep_ms(5);
  free(run_okf("'%s' train --tenant demo --store '%s' '%s/sample/corpus'",
               pm_test_penmark(), lstore, pm_test_data_dir()));
  int at_retrain_end = atomic_load(&done);
  for (int i = 0; i < LOAD_CLIENTS; i++)
    pthread_join(th[i], NULL);
  printf("load: %d requests, retrain finished after %d\n", LOAD_REQUESTS,
         at_retrain_end);

  outcome *now = calloc(n_mails, sizeof *now);
  score_in_process(lstore, "demo", NULL, now, NULL);
  bool differs = false;
  for (size_t i = 0; i < n_mails; i++)
    differs |= old[i].pmails != now[i].pmails;
  ck_assert_msg(differs, "the retrain changed no profile");

  /* Every answer is whole and from one profiles object: the old one or the
   * new one, never a mix. */
  int errors = 0, from_old = 0, from_new = 0;
  for (int t = 0; t < LOAD_CLIENTS; t++) {
    ck_assert_msg(lc[t].errors == 0, "client %d: %d errors, first: %s", t,
                  lc[t].errors, lc[t].first_error);
    for (int i = 0; i < lc[t].n; i++) {
      size_t m = lc[t].mail[i];
      bool o = outcome_eq(&lc[t].got[i], &old[m]);
      bool n = outcome_eq(&lc[t].got[i], &now[m]);
      from_old += o;
      from_new += n && !o;
      if (!o && !n && errors++ < 5)
        fprintf(stderr, "answer %d of client %d (%s): %s %s %lld\n", i, t,
                mails[m].path, lc[t].got[i].verdict, lc[t].got[i].prob,
                lc[t].got[i].pmails);
    }
    free(lc[t].mail);
    free(lc[t].got);
  }
  ck_assert_int_eq(errors, 0);
  printf("load: %d answers from the old profiles, %d from the new\n", from_old,
         from_new);

  /* Afterwards (the daemon looks every 250 ms): the new profiles. */
  bool all_new = false;
  for (int tries = 0; tries < 600 && !all_new; tries++) {
    all_new = true;
    for (size_t i = 0; i < n_mails && all_new; i++) {
      pm__http_response r;
      ck_assert_int_eq(
          http_once(sock, "POST", target, mails[i].bytes, mails[i].len, &r),
          200);
      outcome o;
      ck_assert(outcome_of(r.body, r.body_len, &o));
      all_new = outcome_eq(&o, &now[i]);
      pm__http_response_free(&r);
    }
    if (!all_new)
      sleep_ms(100);
  }
  ck_assert_msg(all_new, "the daemon never served the retrained profiles");
  char *log = slurp(d.log);
  ck_assert_msg(strstr(log, "tenant demo reloaded") != NULL, "%s", log);
  free(log);
  ck_assert_int_eq(daemon_stop(&d), 0);
  daemon_free(&d);
  free(old);
  free(now);
  free(target);
  free(sock);
  free(part);
  free(lstore);
}
END_TEST

START_TEST(store_file_replaced) {
  /* A tenant whose file is replaced by another (moved into place), as a
   * restore from backup does: the daemon reopens it. */
  char *sdir = pm_test_fmt("%s/swap-store", root);
  char *other = pm_test_fmt("%s/swap-other", root);
  char *part = pm_test_fmt("%s/corpus-swap", root);
  partial_corpus(part, 25);
  free(run_okf("'%s' train --tenant swap --store '%s' '%s'", pm_test_penmark(),
               sdir, part));
  free(run_okf("'%s' train --tenant swap --store '%s' '%s/sample/corpus'",
               pm_test_penmark(), other, pm_test_data_dir()));
  outcome *before = calloc(n_mails, sizeof *before);
  outcome *after = calloc(n_mails, sizeof *after);
  score_in_process(sdir, "swap", NULL, before, NULL);
  score_in_process(other, "swap", NULL, after, NULL);
  char *sock = pm_test_fmt("%s/swap.sock", root);
  daemon_t d = {0};
  daemon_start(&d, sock, sdir, "--threads 2");
  char *target = score_target("swap");
  pm__http_response r;
  outcome o;
  ck_assert_int_eq(
      http_once(sock, "POST", target, mails[0].bytes, mails[0].len, &r), 200);
  ck_assert(outcome_of(r.body, r.body_len, &o));
  ck_assert(outcome_eq(&o, &before[0]));
  pm__http_response_free(&r);
  char *from = pm_test_fmt("%s/swap.db", other),
       *to = pm_test_fmt("%s/swap.db", sdir);
  ck_assert_int_eq(rename(from, to), 0);
  bool swapped = false;
  for (int tries = 0; tries < 600 && !swapped; tries++) {
    ck_assert_int_eq(
        http_once(sock, "POST", target, mails[0].bytes, mails[0].len, &r), 200);
    ck_assert(outcome_of(r.body, r.body_len, &o));
    pm__http_response_free(&r);
    swapped = outcome_eq(&o, &after[0]);
    if (!swapped) {
      ck_assert(outcome_eq(&o, &before[0]));
      sleep_ms(50);
    }
  }
  ck_assert(swapped);
  char *log = slurp(d.log);
  ck_assert_msg(strstr(log, "store file replaced") != NULL, "%s", log);
  free(log);
  /* Replaced by a file that is not a store: the reload fails, is logged,
   * and the loaded profiles go on serving. */
  char *junk = pm_test_fmt("%s/junk.db", other);
  pm_test_write_file(junk, "this is not an SQLite file", 26);
  ck_assert_int_eq(rename(junk, to), 0);
  log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = slurp(d.log);
    if (strstr(log, "reload failed"))
      break;
    sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "reload failed, keeping the loaded profiles"), "%s",
                log);
  free(log);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(
        http_once(sock, "POST", target, mails[0].bytes, mails[0].len, &r), 200);
    ck_assert(outcome_of(r.body, r.body_len, &o));
    ck_assert(outcome_eq(&o, &after[0]));
    pm__http_response_free(&r);
  }
  free(junk);
  ck_assert_int_eq(daemon_stop(&d), 0);
  daemon_free(&d);
  free(from);
  free(to);
  free(target);
  free(sock);
  free(before);
  free(after);
  free(part);
  free(other);
  free(sdir);
}
END_TEST

/* ---- stopping ---- */

typedef struct {
  const char *sock;
  const char *target;
  int id;
  atomic_int *ok;
  atomic_int *term_sent;
  int answered, unavailable, not_started, bad;
  long after_term;
  char first_bad[256];
} stop_client;

static void *stop_main(void *arg) {
  stop_client *sc = arg;
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  pm__http_init(&c, sc->sock, CLIENT_TIMEOUT_MS, &err);
  for (int i = 0;; i++) {
    if (atomic_load(sc->term_sent) && ++sc->after_term > 1000000) {
      snprintf(sc->first_bad, sizeof sc->first_bad,
               "still served long "
               "after SIGTERM");
      sc->bad++;
      break;
    }
    size_t m = ((size_t)sc->id * 5 + (size_t)i) % n_mails;
    pm__http_response r;
    bool term = atomic_load(sc->term_sent);
    pm_status rc = pm__http_request(&c, "POST", sc->target, "message/rfc822",
                                    mails[m].bytes, mails[m].len, &r, &err);
    if (rc == PM_OK) {
      outcome o;
      if (r.status == 200 && outcome_of(r.body, r.body_len, &o) &&
          outcome_eq(&o, &expect[m])) {
        sc->answered++;
        atomic_fetch_add(sc->ok, 1);
      } else if (r.status == 503) {
        sc->unavailable++;
      } else if (!sc->bad++) {
        snprintf(sc->first_bad, sizeof sc->first_bad, "%d %s", r.status,
                 r.body);
      }
      pm__http_response_free(&r);
      continue;
    }
    /* No answer at all: fine only once the stop began, and only when no
     * byte of an answer came (a request the daemon never started, or no
     * daemon to connect to). */
    if (!(term || atomic_load(sc->term_sent)) || c.got_bytes) {
      if (!sc->bad++)
        snprintf(sc->first_bad, sizeof sc->first_bad, "%s",
                 pm_error_message(&err));
      break;
    }
    sc->not_started++;
    if (strstr(pm_error_message(&err), "cannot connect"))
      break; /* the socket is gone: the daemon has stopped accepting */
  }
  pm__http_free(&c);
  return NULL;
}

START_TEST(sigterm_during_load) {
  char *sock = pm_test_fmt("%s/stop.sock", root);
  daemon_t d = {0};
  daemon_start(&d, sock, store, "--threads 4");
  char *target = score_target("demo");
  atomic_int ok, term_sent;
  atomic_init(&ok, 0);
  atomic_init(&term_sent, 0);
  enum { N = 8 };
  stop_client sc[N];
  pthread_t th[N];
  for (int i = 0; i < N; i++) {
    sc[i] = (stop_client){.sock = sock,
                          .target = target,
                          .id = i,
                          .ok = &ok,
                          .term_sent = &term_sent};
    ck_assert_int_eq(pthread_create(&th[i], NULL, stop_main, &sc[i]), 0);
  }
  while (atomic_load(&ok) < 500)
    sleep_ms(5);
  atomic_store(&term_sent, 1);
  ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
  int rc = daemon_wait(&d, 120);
  for (int i = 0; i < N; i++)
    pthread_join(th[i], NULL);
  char *log = slurp(d.log);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, log);
  int answered = 0, unavailable = 0, not_started = 0;
  for (int i = 0; i < N; i++) {
    ck_assert_msg(sc[i].bad == 0, "client %d: %d bad, first: %s", i, sc[i].bad,
                  sc[i].first_bad);
    answered += sc[i].answered;
    unavailable += sc[i].unavailable;
    not_started += sc[i].not_started;
  }
  printf("stop: %d answered, %d got 503, %d never started\n", answered,
         unavailable, not_started);
  struct stat sb;
  ck_assert_msg(lstat(sock, &sb) != 0 && errno == ENOENT,
                "socket file left behind");
  ck_assert_msg(strstr(log, "stopped after") != NULL, "%s", log);
  free(log);
  daemon_free(&d);
  free(target);
  free(sock);
}
END_TEST

START_TEST(stale_socket_replaced) {
  char *sock = pm_test_fmt("%s/stale.sock", root);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  close(fd); /* the file stays; nobody listens: stale */
  daemon_t d = {0};
  daemon_start(&d, sock, store, "--threads 1 --socket-mode 0600");
  struct stat sb;
  ck_assert_int_eq(lstat(sock, &sb), 0);
  ck_assert_uint_eq(sb.st_mode & 0777, 0600);
  char *log = slurp(d.log);
  ck_assert_msg(strstr(log, "stale socket") != NULL, "%s", log);
  free(log);
  ck_assert_int_eq(daemon_stop(&d), 0);
  ck_assert_int_ne(lstat(sock, &sb), 0);
  daemon_free(&d);
  free(sock);
}
END_TEST

/* A cJSON number at a.b (b may be NULL); the test fails when missing. */
static double json_number(const cJSON *j, const char *a, const char *b) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
  if (b)
    v = cJSON_GetObjectItemCaseSensitive(v, b);
  ck_assert_msg(cJSON_IsNumber(v), "%s%s%s missing", a, b ? "." : "",
                b ? b : "");
  return v->valuedouble;
}

/* --flag-rate reaches every verdict the daemon gives: the same threshold
 * and verdict as `penmark score --flag-rate` in-process; a rate out of
 * (0, 0.5] is a usage error before anything starts. */
START_TEST(flag_rate_reaches_the_verdicts) {
  char *sock = pm_test_fmt("%s/rate.sock", root);
  daemon_t d = {0};
  daemon_start(&d, sock, store, "--threads 1 --flag-rate 0.3");
  for (size_t i = 0; i < n_mails; i++) {
    char *local = run_okf("'%s' score --tenant demo --store '%s' "
                          "--flag-rate 0.3 '%s'",
                          pm_test_penmark(), store, mails[i].path);
    char *target = score_target("demo");
    pm__http_response r;
    ck_assert_int_eq(
        http_once(sock, "POST", target, mails[i].bytes, mails[i].len, &r), 200);
    cJSON *a = cJSON_ParseWithLength(r.body, r.body_len);
    cJSON *b = cJSON_Parse(local);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert(json_number(a, "rarity", "flag_rate") == 0.3);
    ck_assert(json_number(a, "threshold", NULL) ==
              json_number(b, "threshold", NULL));
    ck_assert_str_eq(
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a, "verdict")),
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "verdict")));
    cJSON_Delete(a);
    cJSON_Delete(b);
    pm__http_response_free(&r);
    free(target);
    free(local);
  }
  ck_assert_int_eq(daemon_stop(&d), 0);
  daemon_free(&d);
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s' "
                          "--flag-rate 0.9",
                          pm_test_penmark(), sock, store);
  ck_assert_int_eq(pm_test_run(cmd, &out, &err), 2);
  ck_assert_msg(strstr(err, "--flag-rate") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
  free(sock);
}
END_TEST

START_TEST(bad_socket_paths_refused) {
  char *plain = pm_test_fmt("%s/plain.sock", root);
  pm_test_write_file(plain, "not a socket", 12);
  char *out = NULL, *err = NULL;
  char *cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s' --store '%s'",
                          pm_test_penmark(), plain, store);
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "not a socket") != NULL, "%s", err);
  struct stat sb;
  ck_assert_int_eq(stat(plain, &sb), 0);
  ck_assert_int_eq(sb.st_size, 12);
  free(out);
  free(err);
  free(cmd);
  char longp[200];
  memset(longp, 'x', sizeof longp);
  longp[sizeof longp - 1] = '\0';
  cmd = pm_test_fmt("timeout 60 '%s' serve --socket '%s/%s' --store '%s'",
                    pm_test_penmark(), root, longp, store);
  rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc != 0 && rc != 124, "exit %d", rc);
  ck_assert_msg(strstr(err, "too long") != NULL, "%s", err);
  free(out);
  free(err);
  free(cmd);
  free(plain);
}
END_TEST

START_TEST(sighup_rereads_config) {
  /* --config: the stores must match it. A changed file takes effect at
   * SIGHUP: a mismatching configuration gives 409 (with the store's
   * message), the matching one scores again. */
  char *cfg = pm_test_fmt("%s/config.json", root);
  pm_test_write_file(cfg, "{}", 2); /* the defaults: what the store has */
  char *sock = pm_test_fmt("%s/cfg.sock", root);
  char *extra = pm_test_fmt("--threads 2 --config '%s'", cfg);
  daemon_t d = {0};
  daemon_start(&d, sock, store, extra);
  char *t = score_target("demo");
  pm__http_response r;
  ck_assert_int_eq(http_once(sock, "POST", t, mails[0].bytes, mails[0].len, &r),
                   200);
  outcome o;
  ck_assert(outcome_of(r.body, r.body_len, &o));
  ck_assert(outcome_eq(&o, &expect[0]));
  pm__http_response_free(&r);
  const char *other = "{\"families\": {\"words\": {\"enabled\": false}}}";
  pm_test_write_file(cfg, other, strlen(other));
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  int st = 200;
  for (int i = 0; i < 500 && st == 200; i++) {
    st = http_once(sock, "POST", t, mails[0].bytes, mails[0].len, &r);
    if (st == 409) {
      ck_assert_msg(strstr(r.body, "configuration") != NULL, "%s", r.body);
    }
    pm__http_response_free(&r);
    if (st == 200)
      sleep_ms(20);
  }
  ck_assert_int_eq(st, 409);
  pm_test_write_file(cfg, "{}", 2);
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  for (int i = 0; i < 500 && st != 200; i++) {
    st = http_once(sock, "POST", t, mails[0].bytes, mails[0].len, &r);
    if (st == 200) {
      ck_assert(outcome_of(r.body, r.body_len, &o));
      ck_assert(outcome_eq(&o, &expect[0]));
    }
    pm__http_response_free(&r);
    if (st != 200)
      sleep_ms(20);
  }
  ck_assert_int_eq(st, 200);
  /* A configuration file that does not parse is refused at SIGHUP: the
   * old one stays. */
  pm_test_write_file(cfg, "{not json", 9);
  ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
  char *log = NULL;
  for (int i = 0; i < 500; i++) {
    free(log);
    log = slurp(d.log);
    if (strstr(log, "keeping the current configuration"))
      break;
    sleep_ms(20);
  }
  ck_assert_msg(strstr(log, "keeping the current configuration") != NULL, "%s",
                log);
  free(log);
  ck_assert_int_eq(http_once(sock, "POST", t, mails[0].bytes, mails[0].len, &r),
                   200);
  pm__http_response_free(&r);
  ck_assert_int_eq(daemon_stop(&d), 0);
  daemon_free(&d);
  free(t);
  free(extra);
  free(sock);
  free(cfg);
}
END_TEST

static Suite *serve_suite(void) {
  Suite *s = suite_create("serve");
  TCase *c = tcase_create("results");
  tcase_set_timeout(c, 1200);
  tcase_add_unchecked_fixture(c, main_setup, main_teardown);
  tcase_add_test(c, curl_matches_in_process);
  tcase_add_test(c, client_matches_in_process);
  tcase_add_test(c, claimed_sender_parameter);
  tcase_add_test(c, client_reports_daemon_errors);
  tcase_add_test(c, health_and_metrics);
  tcase_add_test(c, second_daemon_on_live_socket_refused);
  tcase_add_test(c, malformed_http);
  tcase_add_test(c, truncated_body);
  tcase_add_test(c, oversize_body_413);
  tcase_add_test(c, request_errors);
  tcase_add_test(c, body_budget_503);
  tcase_add_test(c, random_megabyte_is_not_a_crash);
  tcase_add_test(c, sighup_reloads_and_keeps_serving);
  suite_add_tcase(s, c);
  c = tcase_create("load");
  tcase_set_timeout(c, 3600);
  tcase_add_unchecked_fixture(c, suite_setup, NULL);
  tcase_add_test(c, load_with_retrain);
  tcase_add_test(c, store_file_replaced);
  suite_add_tcase(s, c);
  c = tcase_create("lifecycle");
  tcase_set_timeout(c, 1200);
  tcase_add_unchecked_fixture(c, suite_setup, NULL);
  tcase_add_test(c, sigterm_during_load);
  tcase_add_test(c, sighup_rereads_config);
  tcase_add_test(c, stale_socket_replaced);
  tcase_add_test(c, flag_rate_reaches_the_verdicts);
  tcase_add_test(c, bad_socket_paths_refused);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(serve_suite());
  suite_teardown();
  return failed != 0;
}
