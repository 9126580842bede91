/* `penmark serve` under abuse: a crowd of slow clients (each sends the start
 * of a request, then a byte a second) past --max-connections, while
 * well-formed requests keep coming; then a 1 MB request line and 10,000
 * header lines. Every well-formed request is answered, the daemon stays up,
 * slow clients are closed, and its log stays short: the per-connection
 * warnings are summed up ("N similar messages suppressed"), not written
 * one per connection. No speed is asserted. */
#include "score/serve/client.h"

#include "tests/support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}\n"
#define MAX_CONN 64
#define SLOW_CLIENTS 300
#define TIMEOUT_S 3

static char *root, *store, *sock, *log_path, *mail;
static size_t mail_len;
static pid_t daemon_pid;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One request on a new connection: the status, or -1. */
static int request(const char *method, const char *target, const char *body,
                   size_t len, char **out) {
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm__http_init(&c, sock, 30000, &err), PM_OK);
  pm__http_response r;
  pm_status rc = pm__http_request(
      &c, method, target, body ? "message/rfc822" : NULL, body, len, &r, &err);
  pm__http_free(&c);
  if (rc != PM_OK) {
    fprintf(stderr, "request %s %s: %s\n", method, target,
            pm_error_message(&err));
    return -1;
  }
  if (out)
    *out = strdup(r.body);
  int st = r.status;
  pm__http_response_free(&r);
  return st;
}

static void start_daemon(void) {
  char *cmd = pm_test_fmt("exec '%s' serve --socket '%s' --store '%s' "
                          "--threads 2 --max-connections %d --timeout %d "
                          "2>>'%s'",
                          pm_test_penmark(), sock, store, MAX_CONN, TIMEOUT_S,
                          log_path);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  daemon_pid = pid;
  for (int i = 0; i < 3000; i++) {
    pm__http_conn c;
    pm_error err;
    pm__http_init(&c, sock, 2000, &err);
    pm__http_response r;
    bool ok = pm__http_request(&c, "GET", "/v1/health", NULL, NULL, 0, &r,
                               &err) == PM_OK;
    pm__http_free(&c);
    if (ok) {
      pm__http_response_free(&r);
      return;
    }
    ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "penmark serve exited");
    sleep_ms(20);
  }
  ck_abort_msg("penmark serve never answered");
}

static bool daemon_alive(void) {
  return daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0;
}

static int stop_daemon(void) {
  if (daemon_pid <= 0)
    return -1;
  kill(daemon_pid, SIGTERM);
  for (int i = 0; i < 6000; i++) {
    int st;
    if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
      daemon_pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    sleep_ms(20);
  }
  kill(daemon_pid, SIGKILL);
  waitpid(daemon_pid, NULL, 0);
  daemon_pid = 0;
  return -1;
}

static void setup(void) {
  root = pm_test_tmpdir();
  store = pm_test_fmt("%s/store", root);
  sock = pm_test_fmt("%s/s.sock", root);
  log_path = pm_test_fmt("%s/serve.log", root);
  char *cfg = pm_test_fmt("%s/small.json", root);
  pm_test_write_file(cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  const char *data = pm_test_data_dir();
  char *out = NULL, *err = NULL;
  char *cmd =
      pm_test_fmt("'%s' train --tenant t --store '%s' --config '%s' "
                  "--min-mails 2 --threads 1 "
                  "'%s/sample/corpus/dana.whitfield@harborpine.example' "
                  "'%s/sample/corpus/tomas.reyes@harborpine.example'",
                  pm_test_penmark(), store, cfg, data, data);
  int rc = pm_test_run(cmd, &out, &err);
  free(cmd);
  ck_assert_msg(rc == 0, "train: %s", err);
  free(out);
  free(err);
  free(cfg);
  char *mp =
      pm_test_fmt("%s/sample/inbound/genuine-dana.whitfield-1.eml", data);
  mail = pm_test_read_file(mp, &mail_len);
  free(mp);
  start_daemon();
}

static void teardown(void) {
  if (daemon_pid > 0) {
    kill(daemon_pid, SIGKILL);
    waitpid(daemon_pid, NULL, 0);
  }
  pm_test_rmtree(root);
  free(root);
  free(store);
  free(sock);
  free(log_path);
  free(mail);
}

/* A connection that has sent the start of a request; -1 when the daemon
 * (or its queue) refused it. */
static int slow_client(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  static const char head[] = "POST /v1/score?tenant=t HTTP/1.1\r\nHost: x\r\n"
                             "X-Slow: ";
  ssize_t w = send(fd, head, sizeof head - 1, MSG_NOSIGNAL);
  (void)w;
  return fd;
}

static size_t count_lines(const char *path) {
  char *s = pm_test_slurp(path, NULL);
  size_t n = s ? pm_test_count_lines(s) : 0;
  free(s);
  return n;
}

START_TEST(slow_clients_do_not_starve) {
  int fds[SLOW_CLIENTS];
  size_t refused = 0, closed_by_daemon = 0;
  for (int i = 0; i < SLOW_CLIENTS; i++)
    if ((fds[i] = slow_client()) < 0)
      refused++;
  size_t asked = 0, answered = 0;
  double t0 = now_s(), next_drip = t0;
  /* three timeouts and then some: every slow client has been cut at
   * least once by its deadline, and new ones keep coming */
  while (now_s() - t0 < 3 * TIMEOUT_S + 2) {
    if (now_s() >= next_drip) {
      next_drip += 1.0;
      for (int i = 0; i < SLOW_CLIENTS; i++) {
        if (fds[i] < 0)
          continue;
        char c;
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
            send(fds[i], "a", 1, MSG_NOSIGNAL) < 0) {
          close(fds[i]);
          closed_by_daemon++;
          fds[i] = slow_client(); /* the crowd never thins */
          if (fds[i] < 0)
            refused++;
        }
      }
    }
    char *body = NULL;
    int st = request("POST", "/v1/score?tenant=t", mail, mail_len, &body);
    asked++;
    if (st == 200 && body && strstr(body, "\"verdict\":\"genuine\""))
      answered++;
    else
      fprintf(stderr, "well-formed request %zu: status %d: %s\n", asked, st,
              body ? body : "");
    free(body);
    ck_assert(daemon_alive());
    sleep_ms(250);
  }
  printf("slow clients: %d open at once, %zu closed by the daemon, %zu "
         "refused; well-formed: %zu of %zu answered\n",
         SLOW_CLIENTS, closed_by_daemon, refused, answered, asked);
  ck_assert_uint_eq(answered, asked);
  ck_assert_uint_gt(closed_by_daemon, SLOW_CLIENTS / 2);
  char *h = NULL;
  ck_assert_int_eq(request("GET", "/v1/health", NULL, 0, &h), 200);
  free(h);
  for (int i = 0; i < SLOW_CLIENTS; i++)
    if (fds[i] >= 0)
      close(fds[i]);

  /* a 1 MB request line and 10,000 header lines: refused, nothing else */
  size_t big = 1024 * 1024;
  char *line = malloc(big + 64);
  memcpy(line, "GET /", 5);
  memset(line + 5, 'a', big);
  memcpy(line + 5 + big, " HTTP/1.1\r\n\r\n", 14);
  int fd = slow_client();
  ck_assert_int_ge(fd, 0);
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  struct timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t w = send(fd, line, big + 19, MSG_NOSIGNAL);
  (void)w;
  close(fd);
  free(line);
  fd = slow_client();
  ck_assert_int_ge(fd, 0);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  for (int i = 0; i < 10000; i++) {
    char hl[64];
    int n = snprintf(hl, sizeof hl, "\r\nX-Header-%d: value", i);
    if (send(fd, hl, (size_t)n, MSG_NOSIGNAL) < 0)
      break; /* closed by the daemon: refused, as it should */
  }
  close(fd);
  ck_assert(daemon_alive());
  char *body = NULL;
  ck_assert_int_eq(request("POST", "/v1/score?tenant=t", mail, mail_len, &body),
                   200);
  free(body);

  /* the daemon's peak memory, for the record (not asserted) */
  char *st_path = pm_test_fmt("/proc/%ld/status", (long)daemon_pid);
  char *st = pm_test_slurp(st_path, NULL);
  char *hwm = st ? strstr(st, "VmHWM:") : NULL;
  if (hwm) {
    char *e = strchr(hwm, '\n');
    if (e)
      *e = '\0';
    printf("daemon peak RSS: %s\n", hwm + 6);
  }
  free(st);
  free(st_path);

  /* the log: bounded, whatever the number of slow connections */
  size_t during = count_lines(log_path);
  ck_assert_int_eq(stop_daemon(), 0);
  size_t lines = count_lines(log_path);
  char *log = pm_test_slurp(log_path, NULL);
  printf("log: %zu lines during the run, %zu after the stop, for %zu "
         "connections closed\n",
         during, lines, closed_by_daemon);
  ck_assert_msg(lines < 60, "the log has %zu lines:\n%s", lines, log);
  ck_assert_msg(strstr(log, "similar messages suppressed"),
                "no summary line:\n%s", log);
  free(log);
}
END_TEST

static Suite *abuse_suite(void) {
  Suite *s = suite_create("serve_abuse");
  TCase *c = tcase_create("abuse");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_set_timeout(c, 600);
  tcase_add_test(c, slow_clients_do_not_starve);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  return pm_test_run_suite(abuse_suite()) != 0;
}
