/* `penmark serve` under abuse:
 *   - a crowd of slow clients (each sends the start of a request, then a
 *     byte a second) past --max-connections, while well-formed requests
 *     keep coming; then a 1 MB request line and 10,000 header lines. Every
 *     well-formed request is answered, the daemon stays up, slow clients
 *     are closed, and its log stays short: the per-connection warnings are
 *     summed up ("N similar messages suppressed"), not written one per
 *     connection;
 *   - connections past --max-connections (idle ones, three times the
 *     limit) arriving while requests are in: the requests already in are
 *     answered, the extra connections are queued or closed without an
 *     answer, the daemon never holds more than the limit, and new
 *     well-formed requests are still answered;
 *   - PM_ABUSE_SECONDS (60) of 16 clients scoring while the daemon gets a
 *     SIGHUP (reload) every second: every answer is the one the same mail
 *     got before the load, health and metrics answer throughout.
 * The daemon's peak RSS is printed. No speed is asserted. */
#include "tests/integration/serve_support.h"

#include "tests/support.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}\n"
#define MAX_CONN 64
/* the crowd: a thousand clients sending a byte a second */
#define SLOW_CLIENTS 1000
#define TIMEOUT_S 3

static char *root, *store, *sock, *mail;
static size_t mail_len;
static daemon_t d; /* its log: d.log */

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

/* The default body limit (25 MB: over the 2 MB mails of
 * past_max_connections), not the suites' MAX_BYTES. */
static void start_daemon(void) {
  srv_daemon_start(&d, sock, store,
                   "--threads 2 --max-bytes 25000000 --max-connections " PM_STR(
                       MAX_CONN) " --timeout " PM_STR(TIMEOUT_S));
}

static bool daemon_alive(void) {
  return d.pid > 0 && waitpid(d.pid, NULL, WNOHANG) == 0;
}

static int stop_daemon(void) {
  return srv_daemon_stop(&d);
}

static void setup(void) {
  /* a thousand sockets of our own: past the usual soft limit of 1024 */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
    rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  root = pm_test_tmpdir();
  store = pm_test_fmt("%s/store", root);
  sock = pm_test_fmt("%s/s.sock", root);
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
  srv_daemon_free(&d);
  pm_test_rmtree(root);
  free(root);
  free(store);
  free(sock);
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

/* The daemon's peak memory (VmHWM), printed for the record (not
 * asserted); in kB, 0 when unknown. */
static long print_peak_rss(const char *what) {
  char *st_path = pm_test_fmt("/proc/%ld/status", (long)d.pid);
  char *st = pm_test_slurp(st_path, NULL);
  char *hwm = st ? strstr(st, "VmHWM:") : NULL;
  long kb = hwm ? strtol(hwm + 6, NULL, 10) : 0;
  printf("%s: daemon peak RSS (VmHWM) %ld kB\n", what, kb);
  free(st);
  free(st_path);
  return kb;
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
    srv_sleep_ms(250);
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

  print_peak_rss("slow clients");

  /* the log: bounded, whatever the number of slow connections */
  size_t during = count_lines(d.log);
  ck_assert_int_eq(stop_daemon(), 0);
  size_t lines = count_lines(d.log);
  char *log = pm_test_slurp(d.log, NULL);
  printf("log: %zu lines during the run, %zu after the stop, for %zu "
         "connections closed\n",
         during, lines, closed_by_daemon);
  ck_assert_msg(lines < 60, "the log has %zu lines:\n%s", lines, log);
  ck_assert_msg(strstr(log, "similar messages suppressed"),
                "no summary line:\n%s", log);
  free(log);
}
END_TEST

/* The answer without its timing: what must not change between two
 * requests for the same mail. malloc'd. */
static char *answer_key(const char *body) {
  const char *e = strstr(body, ",\"elapsed_us\"");
  return strndup(body, e ? (size_t)(e - body) : strlen(body));
}

/* The value of the metric line `name value` in an OpenMetrics text; -1
 * when absent. */
static double metric(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : l)
    if (strncmp(l, name, n) == 0 && l[n] == ' ')
      return strtod(l + n + 1, NULL);
  return -1;
}

/* The daemon's open connections, from /metrics; -1 when it did not
 * answer. */
static double open_connections(void) {
  char *m = NULL;
  double v = request("GET", "/metrics", NULL, 0, &m) == 200
                 ? metric(m, "penmark_connections")
                 : -1;
  free(m);
  return v;
}

/* A connection that sends nothing; -1 when refused (errno says why). */
static int idle_client(void) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

/* The sample mail with its body repeated to about `size` bytes: a mail
 * that takes a while to read and score. malloc'd. */
static char *long_mail(size_t size, size_t *len) {
  const char *b = strstr(mail, "\n\n");
  ck_assert_ptr_nonnull(b);
  b += 2;
  size_t head = (size_t)(b - mail), blen = mail_len - head;
  size_t n = (size - head) / blen + 1;
  char *m = malloc(head + n * blen);
  memcpy(m, mail, head);
  for (size_t i = 0; i < n; i++)
    memcpy(m + head + i * blen, b, blen);
  *len = head + n * blen;
  return m;
}

/* A score request being sent on an open connection, as fast as the
 * daemon reads it. */
typedef struct {
  int fd;
  char *data;
  size_t len, off;
} sender;

static void sender_init(sender *o, int fd, const char *m, size_t m_len) {
  char *head = pm_test_fmt("POST /v1/score?tenant=t HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: message/rfc822\r\n"
                           "Content-Length: %zu\r\n\r\n",
                           m_len);
  size_t hl = strlen(head);
  o->fd = fd;
  o->len = hl + m_len;
  o->off = 0;
  o->data = malloc(o->len);
  memcpy(o->data, head, hl);
  memcpy(o->data + hl, m, m_len);
  free(head);
}

/* Sends what the socket takes now; true when all is sent. */
static bool sender_pump(sender *o) {
  while (o->off < o->len) {
    ssize_t w = send(o->fd, o->data + o->off, o->len - o->off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w <= 0) {
      ck_assert_msg(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
                    "the daemon closed a connection whose request it was "
                    "reading (%zu of %zu bytes sent): %s",
                    o->off, o->len, strerror(errno));
      return false;
    }
    o->off += (size_t)w;
  }
  return true;
}

/* The answer on fd: 1 with *status and *body (malloc'd), 0 when the
 * daemon closed the connection without one, -1 when none came within
 * timeout_ms. */
static int read_answer(int fd, int timeout_ms, int *status, char **body) {
  pm__buf in = {0};
  int rc = -1;
  double end = now_s() + timeout_ms / 1000.0;
  while (now_s() < end) {
    if (poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 100) <= 0)
      continue;
    char b[4096];
    ssize_t r = recv(fd, b, sizeof b, 0);
    if (r < 0 && errno == EAGAIN)
      continue;
    bool eof = r <= 0;
    if (r > 0)
      ck_assert(pm__buf_append(&in, b, (size_t)r));
    pm__http_response resp;
    size_t used;
    pm_error err;
    int p = in.len ? pm__http_parse_response(in.data, in.len, eof, &resp, &used,
                                             &err)
                   : 0;
    if (p == 1) {
      *status = resp.status;
      *body = strdup(resp.body);
      pm__http_response_free(&resp);
      rc = 1;
      break;
    }
    ck_assert_msg(p == 0, "a malformed answer: %s", pm_error_message(&err));
    if (eof) {
      rc = 0;
      break;
    }
  }
  pm__buf_free(&in);
  return rc;
}

#define EARLY 4
#define CROWD (3 * MAX_CONN)

START_TEST(past_max_connections) {
  char *body = NULL;
  ck_assert_int_eq(request("POST", "/v1/score?tenant=t", mail, mail_len, &body),
                   200);
  char *expected = answer_key(body);
  free(body);

  /* The oldest connections send long mails (each takes a while to read
   * and score) while a crowd of idle connections three times the limit
   * comes: the crowd pushes the daemon past its high-water mark, and the
   * connection closed to make room must be an idle one, never one whose
   * request is arriving or being answered. */
  size_t long_len;
  char *lm = long_mail(2 * 1024 * 1024, &long_len);
  body = NULL;
  ck_assert_int_eq(request("POST", "/v1/score?tenant=t", lm, long_len, &body),
                   200);
  char *long_expected = answer_key(body);
  free(body);
  int early[EARLY], crowd[CROWD];
  sender snd[EARLY];
  for (int i = 0; i < EARLY; i++) {
    early[i] = idle_client();
    ck_assert_int_ge(early[i], 0);
    sender_init(&snd[i], early[i], lm, long_len);
  }
  srv_sleep_ms(100); /* accepted: they are the oldest */
  size_t refused = 0;
  for (int i = 0; i < CROWD; i++) {
    if (i == MAX_CONN / 2) /* half the limit in: the mails start */
      for (int j = 0; j < EARLY; j++)
        sender_pump(&snd[j]);
    if ((crowd[i] = idle_client()) < 0) {
      ck_assert_msg(errno == EAGAIN, "connect: %s", strerror(errno));
      refused++;
    }
    for (int j = 0; i > MAX_CONN / 2 && j < EARLY; j++)
      sender_pump(&snd[j]);
  }
  for (bool all = false; !all;) {
    all = true;
    for (int j = 0; j < EARLY; j++)
      all &= sender_pump(&snd[j]);
    if (!all)
      srv_sleep_ms(1);
  }
  for (int j = 0; j < EARLY; j++)
    free(snd[j].data);
  /* every request that was in is answered, and rightly */
  for (int i = 0; i < EARLY; i++) {
    int st = 0;
    body = NULL;
    int got = read_answer(early[i], 30000, &st, &body);
    ck_assert_msg(got == 1, "request %d sent before the crowd: %s", i,
                  got == 0 ? "closed without an answer" : "no answer");
    ck_assert_int_eq(st, 200);
    char *k = answer_key(body);
    ck_assert_str_eq(k, long_expected);
    free(k);
    free(body);
    close(early[i]);
  }
  free(lm);
  free(long_expected);
  /* while the crowd holds its connections, new requests are answered and
   * the daemon never holds more than the limit */
  double most = 0;
  size_t answered = 0, asked = 0;
  for (int i = 0; i < 20; i++) {
    body = NULL;
    int st = request("POST", "/v1/score?tenant=t", mail, mail_len, &body);
    asked++;
    char *k = body ? answer_key(body) : NULL;
    if (st == 200 && strcmp(k, expected) == 0)
      answered++;
    else
      fprintf(stderr, "request %zu during the crowd: %d %s\n", asked, st,
              body ? body : "");
    free(k);
    free(body);
    double c = open_connections();
    ck_assert_msg(c >= 0, "/metrics did not answer during the crowd");
    if (c > most)
      most = c;
  }
  ck_assert_uint_eq(answered, asked);
  ck_assert_msg(most <= MAX_CONN, "%.0f connections open, the limit is %d",
                most, MAX_CONN);
  ck_assert(daemon_alive());
  /* the crowd's connections: still open (held or queued) or closed by the
   * daemon, never answered (they asked nothing) */
  size_t open = 0, closed = 0, answered_idle = 0;
  for (int i = 0; i < CROWD; i++) {
    if (crowd[i] < 0)
      continue;
    char c;
    ssize_t r = recv(crowd[i], &c, 1, MSG_DONTWAIT);
    if (r > 0)
      answered_idle++;
    else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      open++;
    else
      closed++;
    close(crowd[i]);
  }
  printf("past --max-connections %d: %d long requests sent while a crowd "
         "of %d idle connections came, all answered; crowd: %zu refused at "
         "connect, "
         "%zu closed by the daemon, %zu still open or queued; %zu of %zu "
         "requests during the crowd answered; at most %.0f connections "
         "open\n",
         MAX_CONN, EARLY, CROWD, refused, closed, open, answered, asked, most);
  ck_assert_uint_eq(answered_idle, 0);
  ck_assert_uint_gt(closed, 0); /* room was made */
  /* the crowd gone, the daemon's count comes back down: no slot is kept
   * by a connection that has gone (only the /metrics one is left) */
  double left = -1;
  for (int i = 0; i < 100 && (left = open_connections()) > 1; i++)
    srv_sleep_ms(50);
  ck_assert_msg(left == 1, "%.0f connections still counted open", left);
  char *h = NULL;
  ck_assert_int_eq(request("GET", "/v1/health", NULL, 0, &h), 200);
  free(h);
  print_peak_rss("past max connections");
  ck_assert_int_eq(stop_daemon(), 0);
  free(expected);
}
END_TEST

/* ---- 16 clients, a SIGHUP every second ---- */

#define RELOAD_CLIENTS 16
#define RELOAD_MAILS 6

typedef struct {
  char *mail[RELOAD_MAILS];
  size_t len[RELOAD_MAILS];
  char *expected[RELOAD_MAILS]; /* answer_key of the first answer */
  atomic_bool stop;
} reload_world;

typedef struct {
  reload_world *w;
  int id;
  size_t asked, right, wrong, failed;
  char first_problem[600];
} reload_client;

static void *reload_client_main(void *arg) {
  reload_client *c = arg;
  pm__http_conn conn;
  pm_error err;
  pm_error_clear(&err);
  if (pm__http_init(&conn, sock, 30000, &err) != PM_OK)
    return NULL;
  conn.retry_idle = true; /* a keep-alive connection the timeout closed */
  for (size_t k = 0; !atomic_load(&c->w->stop); k++) {
    size_t m = ((size_t)c->id + k) % RELOAD_MAILS;
    pm__http_response r;
    pm_status rc =
        pm__http_request(&conn, "POST", "/v1/score?tenant=t", "message/rfc822",
                         c->w->mail[m], c->w->len[m], &r, &err);
    c->asked++;
    if (rc != PM_OK) {
      c->failed++;
      if (!c->first_problem[0])
        snprintf(c->first_problem, sizeof c->first_problem, "no answer: %s",
                 pm_error_message(&err));
      pm__http_close(&conn);
      continue;
    }
    char *key = r.status == 200 ? answer_key(r.body) : NULL;
    if (key && strcmp(key, c->w->expected[m]) == 0) {
      c->right++;
    } else {
      c->wrong++;
      if (!c->first_problem[0])
        snprintf(c->first_problem, sizeof c->first_problem,
                 "mail %zu: status %d: %.300s (expected %.200s)", m, r.status,
                 r.body, c->w->expected[m]);
    }
    free(key);
    pm__http_response_free(&r);
  }
  pm__http_free(&conn);
  return NULL;
}

static size_t count_in_log(const char *needle) {
  char *log = pm_test_slurp(d.log, NULL);
  size_t n = 0;
  for (const char *p = log; p && (p = strstr(p, needle)); p++)
    n++;
  free(log);
  return n;
}

START_TEST(reload_under_load) {
  const char *env = getenv("PM_ABUSE_SECONDS");
  double seconds = env && *env ? strtod(env, NULL) : 60;
  ck_assert_msg(seconds > 0, "PM_ABUSE_SECONDS=%s is not a duration", env);
  static const char *const names[RELOAD_MAILS] = {
      "genuine-dana.whitfield-1",  "genuine-dana.whitfield-2",
      "impostor-dana.whitfield-1", "genuine-tomas.reyes-1",
      "impostor-tomas.reyes-1",    "genuine-misaki.sato-1"};
  reload_world w;
  memset(&w, 0, sizeof w);
  atomic_init(&w.stop, false);
  for (int i = 0; i < RELOAD_MAILS; i++) {
    char *p =
        pm_test_fmt("%s/sample/inbound/%s.eml", pm_test_data_dir(), names[i]);
    w.mail[i] = pm_test_read_file(p, &w.len[i]);
    free(p);
    char *body = NULL;
    ck_assert_int_eq(
        request("POST", "/v1/score?tenant=t", w.mail[i], w.len[i], &body), 200);
    w.expected[i] = answer_key(body);
    free(body);
  }
  size_t loads_before = count_in_log("tenant t loaded");
  reload_client cl[RELOAD_CLIENTS];
  pthread_t th[RELOAD_CLIENTS];
  for (int i = 0; i < RELOAD_CLIENTS; i++) {
    memset(&cl[i], 0, sizeof cl[i]);
    cl[i].w = &w;
    cl[i].id = i;
    ck_assert_int_eq(pthread_create(&th[i], NULL, reload_client_main, &cl[i]),
                     0);
  }
  size_t hups = 0, health_ok = 0, health_asked = 0, metrics_ok = 0,
         metrics_asked = 0;
  bool alive = true;
  double t0 = now_s(), next_hup = t0 + 1;
  while (now_s() - t0 < seconds && (alive = daemon_alive())) {
    if (now_s() >= next_hup) {
      kill(d.pid, SIGHUP);
      hups++;
      next_hup += 1;
    }
    char *b = NULL;
    health_asked++;
    if (request("GET", "/v1/health", NULL, 0, &b) == 200 &&
        strstr(b, "\"status\":\"ok\""))
      health_ok++;
    free(b);
    b = NULL;
    metrics_asked++;
    if (request("GET", "/metrics", NULL, 0, &b) == 200 &&
        metric(b, "penmark_connections") >= 0)
      metrics_ok++;
    free(b);
    srv_sleep_ms(200);
  }
  atomic_store(&w.stop, true);
  size_t asked = 0, right = 0, wrong = 0, failed = 0;
  for (int i = 0; i < RELOAD_CLIENTS; i++) {
    pthread_join(th[i], NULL);
    asked += cl[i].asked;
    right += cl[i].right;
    wrong += cl[i].wrong;
    failed += cl[i].failed;
    if (cl[i].first_problem[0])
      fprintf(stderr, "client %d: %s\n", i, cl[i].first_problem);
  }
  ck_assert_msg(alive, "the daemon died");
  long rss = print_peak_rss("reload under load");
  size_t reloads = count_in_log("reload: ");
  size_t loads = count_in_log("tenant t loaded") - loads_before;
  printf("reload under load: %.0f s, %d clients, %zu SIGHUPs, %zu reloads "
         "logged, %zu tenant loads; %zu answers: %zu right, %zu wrong, %zu "
         "not answered; health %zu/%zu, metrics %zu/%zu; peak RSS %ld kB\n",
         now_s() - t0, RELOAD_CLIENTS, hups, reloads, loads, asked, right,
         wrong, failed, health_ok, health_asked, metrics_ok, metrics_asked,
         rss);
  ck_assert_uint_eq(wrong, 0);
  ck_assert_uint_eq(failed, 0);
  ck_assert_uint_gt(right, 0);
  ck_assert_uint_eq(health_ok, health_asked);
  ck_assert_uint_eq(metrics_ok, metrics_asked);
  /* every SIGHUP dropped the profiles, and they came back (one signal may
   * still be in the pipe when the loop ends) */
  ck_assert_uint_ge(reloads + 1, hups);
  ck_assert_uint_ge(loads + 1, hups);
  ck_assert_int_eq(stop_daemon(), 0);
  for (int i = 0; i < RELOAD_MAILS; i++) {
    free(w.mail[i]);
    free(w.expected[i]);
  }
}
END_TEST

static Suite *abuse_suite(void) {
  Suite *s = suite_create("serve_abuse");
  TCase *c = tcase_create("abuse");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_set_timeout(c, 600);
  tcase_add_test(c, slow_clients_do_not_starve);
  tcase_add_test(c, past_max_connections);
  tcase_add_test(c, reload_under_load);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  return pm_test_run_suite(abuse_suite()) != 0;
}
