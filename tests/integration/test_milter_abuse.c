/* `penmark milter` under abuse, spoken to in the milter protocol itself
 * (4-byte big-endian length, command byte, data: libmilter/mfdef.h):
 *   - a crowd of 1,000 slow clients (each sends the option negotiation
 *     and the start of its connect command, then a byte a second; each one
 *     closed is replaced at once) while the sample inbound mails come one
 *     every 250 ms on new connections: each gets the X-Penmark-Verdict it
 *     got before the crowd, whose verdict is `penmark score`'s; then 20
 *     stalled peers, held by the front without a thread of libmilter's,
 *     while mails beside them are answered at once;
 *   - mails past --max-connections: many mails ending at once, more than
 *     the milter scores at once, each answered and accepted, with its
 *     right verdict or the busy error (fails open); new mails right after
 *     get their right verdicts;
 *   - a mail of 10,000 header lines, a 1 MB header value (past what a
 *     milter command may hold), a 1 MB body and a 17 MB body: each answered
 *     (scored or failing open) or, for the command too big, its connection
 *     closed; the milter alive, the next mail scored;
 *   - 16 clients sending mails for 60 s (PM_ABUSE_SECONDS) with a SIGUSR1
 *     (every tenant read again) each second: every mail its right verdict.
 * The milter's peak RSS is printed and held under a bound, its log must
 * stay short (no line per connection). PM_ABUSE_SECONDS (11) lengthens the
 * crowd. No speed is asserted. */
#include "tests/support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* the crowd: a thousand clients sending a byte a second */
#define SLOW_CLIENTS 1000
#define MAX_MAILS 64
/* the milter's peak RSS must stay under this (kB): the profiles and the
 * scorers take about 20 MB, each connection a thread of libmilter's */
#if defined(__SANITIZE_ADDRESS__)
/* make asan: the milter is built as this test is, and AddressSanitizer
 * keeps freed memory in its quarantine (256 MB by default) beside its
 * shadow memory; the bound takes them in (measured: 292 MB past
 * --max-connections, against about 115 MB in the plain build) */
#define RSS_BOUND_KB ((256 + 512) * 1024)
#else
#define RSS_BOUND_KB (256 * 1024)
#endif

/* ---- the milter protocol (libmilter/mfdef.h) ---- */
#define SMFIC_ABORT 'A'
#define SMFIC_BODY 'B'
#define SMFIC_CONNECT 'C'
#define SMFIC_BODYEOB 'E'
#define SMFIC_HEADER 'L'
#define SMFIC_MAIL 'M'
#define SMFIC_EOH 'N'
#define SMFIC_OPTNEG 'O'
#define SMFIC_QUIT 'Q'
#define SMFIR_ACCEPT 'a'
#define SMFIR_CONTINUE 'c'
#define SMFIR_ADDHEADER 'h'
#define SMFIR_INSHEADER 'i'
#define SMFIR_CHGHEADER 'm'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT 'r'
#define SMFIR_TEMPFAIL 't'
#define SMFIR_REPLYCODE 'y'
#define SMFIR_DISCARD 'd'
#define SMFI_PROT_VERSION 6
#define SMFI_CURR_ACTS 0x1FFu
#define SMFI_CURR_PROT 0x1FFFFFu

typedef struct {
  char *name[MAX_MAILS];
  char *head[MAX_MAILS], *body[MAX_MAILS]; /* unfolded headers, CRLF body */
  char *expected[MAX_MAILS]; /* X-Penmark-Verdict before the abuse */
  char *verdict[MAX_MAILS];  /* `penmark score`'s verdict */
  int n;
} mail_set;

static char *root, *store, *sock_path, *log_path;
static pid_t milter_pid;
static mail_set mails;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int connect_milter(bool nonblock) {
  int fd = socket(
      AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (!nonblock) {
    struct timeval tv = {30, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}

static bool write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    c += w;
    n -= (size_t)w;
  }
  return true;
}

/* One command: length (the command byte and data), command, data. */
static bool send_cmd(int fd, char cmd, const void *data, size_t len) {
  unsigned char h[5];
  uint32_t n = htonl((uint32_t)len + 1);
  memcpy(h, &n, 4);
  h[4] = (unsigned char)cmd;
  return write_all(fd, h, 5) && (len == 0 || write_all(fd, data, len));
}

static bool read_all(int fd, void *p, size_t n) {
  char *c = p;
  while (n > 0) {
    ssize_t r = recv(fd, c, n, 0);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return false;
    c += r;
    n -= (size_t)r;
  }
  return true;
}

/* One reply: its command byte, or 0 when the milter closed the connection
 * (or did not answer within the socket's timeout). *data (malloc'd, NUL
 * after its *len bytes) when data is not NULL. */
static char read_reply(int fd, char **data, size_t *len) {
  unsigned char h[5];
  if (!read_all(fd, h, 5))
    return 0;
  uint32_t n;
  memcpy(&n, h, 4);
  n = ntohl(n);
  ck_assert_msg(n >= 1 && n <= 1 << 20, "a reply of %u bytes", n);
  char *d = malloc(n);
  ck_assert_ptr_nonnull(d);
  if (n > 1 && !read_all(fd, d, n - 1)) {
    free(d);
    return 0;
  }
  d[n - 1] = '\0';
  if (data) {
    *data = d;
    *len = n - 1;
  } else {
    free(d);
  }
  return (char)h[4];
}

/* The start of every exchange: option negotiation (as Postfix offers
 * it) and the connect command. */
static size_t optneg_data(unsigned char *b) {
  uint32_t v[3] = {htonl(SMFI_PROT_VERSION), htonl(SMFI_CURR_ACTS),
                   htonl(SMFI_CURR_PROT)};
  memcpy(b, v, sizeof v);
  return sizeof v;
}

static const char connect_data[] = "client.example\0"
                                   "4\x00\x19"
                                   "127.0.0.1";

/* What the milter answered to a mail. */
typedef struct {
  char final;    /* 'a', 'c', 'r', 'y', ...; 0: the connection closed */
  char *verdict; /* the X-Penmark-Verdict added, malloc'd; NULL: none */
  bool quarantined;
} outcome;

static void outcome_free(outcome *o) {
  free(o->verdict);
  memset(o, 0, sizeof *o);
}

/* Reads the replies to the end of the message up to the final one. */
static void read_eom(int fd, outcome *o) {
  for (;;) {
    char *d = NULL;
    size_t len = 0;
    char c = read_reply(fd, &d, &len);
    if (c == SMFIR_ADDHEADER && !strcmp(d, "X-Penmark-Verdict")) {
      free(o->verdict);
      o->verdict = strdup(d + strlen(d) + 1);
    } else if (c == SMFIR_QUARANTINE) {
      o->quarantined = true;
    }
    free(d);
    if (c != SMFIR_ADDHEADER && c != SMFIR_INSHEADER && c != SMFIR_CHGHEADER &&
        c != SMFIR_QUARANTINE) {
      o->final = c;
      return;
    }
  }
}

/* Sends a command and reads its reply; false when the reply is not
 * "continue" (then o->final says what it was). */
static bool step(int fd, char cmd, const void *data, size_t len, outcome *o) {
  if (!send_cmd(fd, cmd, data, len)) {
    o->final = 0;
    return false;
  }
  o->final = read_reply(fd, NULL, NULL);
  return o->final == SMFIR_CONTINUE;
}

/* The envelope of a mail: negotiation, connect, MAIL FROM. */
static bool start_mail(int fd, outcome *o) {
  unsigned char b[12];
  size_t n = optneg_data(b);
  if (!send_cmd(fd, SMFIC_OPTNEG, b, n) ||
      read_reply(fd, NULL, NULL) != SMFIC_OPTNEG) {
    o->final = 0;
    return false;
  }
  static const char from[] = "<x@example.org>";
  return step(fd, SMFIC_CONNECT, connect_data, sizeof connect_data, o) &&
         step(fd, SMFIC_MAIL, from, sizeof from, o);
}

/* Headers as "Name: value" lines (unfolded), one command each. */
static bool send_headers(int fd, const char *head, outcome *o) {
  for (const char *l = head; *l;) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    const char *colon = memchr(l, ':', n);
    if (colon) {
      size_t nl = (size_t)(colon - l);
      const char *v = colon + 1 + (colon + 1 < l + n && colon[1] == ' ');
      size_t vl = (size_t)(l + n - v);
      char *d = malloc(nl + vl + 2);
      memcpy(d, l, nl);
      d[nl] = '\0';
      memcpy(d + nl + 1, v, vl);
      d[nl + 1 + vl] = '\0';
      bool ok = step(fd, SMFIC_HEADER, d, nl + vl + 2, o);
      free(d);
      if (!ok)
        return false;
    }
    l += n + (e != NULL);
  }
  return step(fd, SMFIC_EOH, NULL, 0, o);
}

/* The body in chunks of 60,000 bytes, as an MTA sends it. */
static bool send_body(int fd, const char *body, size_t len, outcome *o) {
  for (size_t at = 0; at < len; at += 60000) {
    size_t n = len - at < 60000 ? len - at : 60000;
    if (!step(fd, SMFIC_BODY, body + at, n, o))
      return false;
  }
  return true;
}

/* One whole mail on a new connection. */
static void send_mail(const char *head, const char *body, size_t blen,
                      outcome *o) {
  memset(o, 0, sizeof *o);
  int fd = connect_milter(false);
  ck_assert_msg(fd >= 0, "connect: %s", strerror(errno));
  if (start_mail(fd, o) && send_headers(fd, head, o) &&
      send_body(fd, body, blen, o) && send_cmd(fd, SMFIC_BODYEOB, NULL, 0))
    read_eom(fd, o);
  send_cmd(fd, SMFIC_QUIT, NULL, 0);
  close(fd);
}

/* ---- the mails ---- */

/* The mail split as an MTA hands it over: headers unfolded, one a line;
 * the body with CRLF line ends. */
static void split_mail(const char *m, char **head, char **body) {
  const char *sep = strstr(m, "\n\n");
  ck_assert_ptr_nonnull(sep);
  size_t hl = (size_t)(sep - m) + 1;
  char *h = malloc(hl + 1), *o = h;
  for (size_t i = 0; i < hl; i++) {
    if (m[i] == '\r')
      continue;
    if (m[i] == '\n' && i + 1 < hl && (m[i + 1] == ' ' || m[i + 1] == '\t')) {
      *o++ = ' ';
      while (i + 1 < hl && (m[i + 1] == ' ' || m[i + 1] == '\t'))
        i++;
      continue;
    }
    *o++ = m[i];
  }
  *o = '\0';
  *head = h;
  const char *b = sep + 2;
  char *bd = malloc(2 * strlen(b) + 1);
  o = bd;
  for (; *b; b++) {
    if (*b == '\n' && (b == sep + 2 || b[-1] != '\r'))
      *o++ = '\r';
    *o++ = *b;
  }
  *o = '\0';
  *body = bd;
}

/* The verdict word of `penmark score` for every sample inbound mail, and
 * each mail's X-Penmark-Verdict through the milter before any abuse. */
static void load_mails(void) {
  pm_test_strlist files = {0};
  pm_test_inbound_files(&files);
  ck_assert_int_gt(files.n, 0);
  ck_assert_int_le(files.n, MAX_MAILS);
  memset(&mails, 0, sizeof mails);
  for (size_t i = 0; i < files.n; i++) {
    char *out = NULL;
    int rc = pm_test_runf(&out, NULL, "'%s' score --tenant t --store '%s' '%s'",
                          pm_test_penmark(), store, files.v[i]);
    char *v = out ? strstr(out, "\"verdict\":\"") : NULL;
    ck_assert_msg(rc == 0 && v, "penmark score %s: %s", files.v[i], out);
    v += 11;
    mails.verdict[i] = strndup(v, strcspn(v, "\""));
    free(out);
    char *m = pm_test_read_file(files.v[i], NULL);
    split_mail(m, &mails.head[i], &mails.body[i]);
    free(m);
    const char *slash = strrchr(files.v[i], '/');
    mails.name[i] = strdup(slash ? slash + 1 : files.v[i]);
  }
  mails.n = (int)files.n;
  pm_test_strlist_free(&files);
}

static void mails_free(void) {
  for (int i = 0; i < mails.n; i++) {
    free(mails.name[i]);
    free(mails.head[i]);
    free(mails.body[i]);
    free(mails.expected[i]);
    free(mails.verdict[i]);
  }
  memset(&mails, 0, sizeof mails);
}

/* The verdict word of an X-Penmark-Verdict value. */
static bool verdict_is(const char *header, const char *word) {
  size_t n = strlen(word);
  return header && !strncmp(header, word, n) && header[n] == ';';
}

/* Mail i on a new connection: true when it got its expected header and
 * was accepted; else why, in why[0..n). Safe on any thread. */
static bool mail_check(int i, char *why, size_t n) {
  outcome o;
  send_mail(mails.head[i], mails.body[i], strlen(mails.body[i]), &o);
  bool ok = o.final == SMFIR_ACCEPT && o.verdict &&
            !strcmp(o.verdict, mails.expected[i]);
  if (!ok)
    snprintf(why, n, "%s: reply '%c', verdict %s (expected %s)", mails.name[i],
             o.final ? o.final : '0', o.verdict ? o.verdict : "(none)",
             mails.expected[i]);
  outcome_free(&o);
  return ok;
}

/* mail_check with the reason in *why (static: the main thread's). */
static bool mail_right(int i, const char **why) {
  static char buf[700];
  buf[0] = '\0';
  *why = buf;
  return mail_check(i, buf, sizeof buf);
}

/* ---- the milter ---- */

static bool milter_alive(void) {
  return milter_pid > 0 && waitpid(milter_pid, NULL, WNOHANG) == 0;
}

static void start_milter(const char *extra) {
  char *cmd = pm_test_fmt("exec '%s' milter --socket 'unix:%s' --tenant t "
                          "--store '%s' --log '%s' %s 2>>'%s'",
                          pm_test_penmark(), sock_path, store, log_path, extra,
                          log_path);
  unlink(sock_path);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  milter_pid = pid;
  for (int i = 0; i < 3000; i++) {
    int fd = connect_milter(false);
    if (fd >= 0) {
      close(fd);
      return;
    }
    ck_assert_msg(milter_alive(), "penmark milter exited");
    sleep_ms(20);
  }
  ck_abort_msg("penmark milter never listened");
}

/* SIGTERM, then its exit status (libmilter looks at its stop flag every
 * 5 s); -1 when it had to be killed. */
static int stop_milter(void) {
  if (milter_pid <= 0)
    return -1;
  kill(milter_pid, SIGTERM);
  for (int i = 0; i < 1500; i++) {
    int st;
    if (waitpid(milter_pid, &st, WNOHANG) == milter_pid) {
      milter_pid = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    sleep_ms(20);
  }
  kill(milter_pid, SIGKILL);
  waitpid(milter_pid, NULL, 0);
  milter_pid = 0;
  return -1;
}

/* A number of the milter's /proc status ("VmHWM:", "Threads:"); 0 when
 * unknown. */
static long proc_status(const char *field) {
  char *st_path = pm_test_fmt("/proc/%ld/status", (long)milter_pid);
  char *st = pm_test_slurp(st_path, NULL);
  char *f = st ? strstr(st, field) : NULL;
  long v = f ? strtol(f + strlen(field), NULL, 10) : 0;
  free(st);
  free(st_path);
  return v;
}

/* The milter's peak memory (VmHWM) and its threads now, printed; kB. */
static long peak_rss(const char *what) {
  long kb = proc_status("VmHWM:");
  printf("%s: milter peak RSS (VmHWM) %ld kB, %ld threads now\n", what, kb,
         proc_status("Threads:"));
  ck_assert_msg(kb > 0, "no VmHWM for the milter");
  return kb;
}

static size_t count_lines(const char *path) {
  char *s = pm_test_slurp(path, NULL);
  size_t n = s ? pm_test_count_lines(s) : 0;
  free(s);
  return n;
}

static size_t count_in_log(const char *needle) {
  char *log = pm_test_slurp(log_path, NULL);
  size_t n = 0;
  for (const char *p = log; p && (p = strstr(p, needle)); p++)
    n++;
  free(log);
  return n;
}

/* Every mail's header before any abuse; its verdict must be `penmark
 * score`'s. */
static void baseline(void) {
  for (int i = 0; i < mails.n; i++) {
    outcome o;
    send_mail(mails.head[i], mails.body[i], strlen(mails.body[i]), &o);
    ck_assert_msg(o.final == SMFIR_ACCEPT && o.verdict,
                  "%s before the abuse: reply '%c', no verdict", mails.name[i],
                  o.final ? o.final : '0');
    ck_assert_msg(verdict_is(o.verdict, mails.verdict[i]),
                  "%s: the milter's %s, penmark score's %s", mails.name[i],
                  o.verdict, mails.verdict[i]);
    mails.expected[i] = o.verdict;
    o.verdict = NULL;
  }
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
  sock_path = pm_test_fmt("%s/m.sock", root);
  log_path = pm_test_fmt("%s/milter.log", root);
  char *cfg = pm_test_fmt("%s/small.json", root);
  pm_test_write_file(cfg, PM_TEST_SMALL_CONFIG, strlen(PM_TEST_SMALL_CONFIG));
  char *err = NULL;
  int rc = pm_test_runf(NULL, &err,
                        "'%s' train --tenant t --store '%s' --config '%s' "
                        "--min-mails 2 --threads 1 '%s/sample/corpus'",
                        pm_test_penmark(), store, cfg, pm_test_data_dir());
  ck_assert_msg(rc == 0, "train: %s", err);
  free(err);
  free(cfg);
  load_mails();
}

static void teardown(void) {
  if (milter_pid > 0) {
    kill(milter_pid, SIGKILL);
    waitpid(milter_pid, NULL, 0);
    milter_pid = 0;
  }
  mails_free();
  pm_test_rmtree(root);
  free(root);
  free(store);
  free(sock_path);
  free(log_path);
}

/* ---- 1,000 slow clients ---- */

/* A connection that has negotiated and sent the start of its connect
 * command (its length says 1,000 bytes); -1 when refused. */
static int slow_client(void) {
  int fd = connect_milter(true);
  if (fd < 0)
    return -1;
  unsigned char b[32];
  uint32_t n = htonl(13);
  memcpy(b, &n, 4);
  b[4] = SMFIC_OPTNEG;
  optneg_data(b + 5);
  n = htonl(1000);
  memcpy(b + 17, &n, 4);
  b[21] = SMFIC_CONNECT;
  ssize_t w = send(fd, b, 22, MSG_NOSIGNAL);
  (void)w;
  return fd;
}

/* A byte more from each slow client; the ones the milter closed are
 * replaced. Returns how many were closed. */
static size_t drip(int *fds, size_t *refused) {
  size_t closed = 0;
  for (int i = 0; i < SLOW_CLIENTS; i++) {
    if (fds[i] < 0 && (fds[i] = slow_client()) < 0) {
      (*refused)++;
      continue;
    }
    char c[64];
    ssize_t r;
    while ((r = recv(fds[i], c, sizeof c, MSG_DONTWAIT)) > 0)
      ; /* the negotiation's answer */
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
        send(fds[i], "x", 1, MSG_NOSIGNAL) < 0) {
      close(fds[i]);
      closed++;
      fds[i] = -1;
    }
  }
  return closed;
}

#define TIMEOUT_S 3
/* peers that send the start of a command and then nothing */
#define STALLED 20

/* True while fd is open at the milter's end (nothing to read, no end). */
static bool still_open(int fd) {
  char c[64];
  ssize_t r;
  while ((r = recv(fd, c, sizeof c, MSG_DONTWAIT)) > 0)
    ; /* the negotiation's answer */
  return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Stalled peers hold no thread of libmilter's: the front keeps their
 * commands until whole, so none reaches libmilter, and a mail sent while
 * they are held is answered at once, not behind them (libmilter's pool
 * used to hand a new connection to a worker stalled on one of them: up to
 * a timeout each). The front closes them all a timeout after their
 * commands began. */
static void stalled_clients(void) {
  static int fds[STALLED];
  long threads_before = proc_status("Threads:");
  for (int i = 0; i < STALLED; i++)
    ck_assert_int_ge(fds[i] = slow_client(), 0);
  sleep_ms(500);
  long threads_held = proc_status("Threads:");
  double t0 = now_s();
  const char *why;
  for (int k = 0; k < 4; k++)
    ck_assert_msg(mail_right(k % mails.n, &why), "beside stalled peers: %s",
                  why);
  double mails_took = now_s() - t0;
  int held_after_mails = 0;
  for (int i = 0; i < STALLED; i++)
    held_after_mails += still_open(fds[i]);
  int open = STALLED;
  while (open > 0 && now_s() - t0 < 2 * TIMEOUT_S + 5) {
    for (int i = 0; i < STALLED; i++)
      if (fds[i] >= 0 && !still_open(fds[i])) {
        close(fds[i]);
        fds[i] = -1;
        open--;
      }
    sleep_ms(100);
  }
  double took = now_s() - t0;
  long threads_after = proc_status("Threads:");
  printf("stalled clients: %d; 4 mails beside them in %.2f s, %d of them "
         "still held after; all closed by the milter within %.1f s "
         "(--timeout %d); milter threads %ld before, %ld while held, %ld "
         "after\n",
         STALLED, mails_took, held_after_mails, took + 0.5, TIMEOUT_S,
         threads_before, threads_held, threads_after);
  for (int i = 0; i < STALLED; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  ck_assert_int_eq(open, 0);
  /* the mails were answered while every stalled peer was still held: not
   * one of them had to time out first */
  ck_assert_int_eq(held_after_mails, STALLED);
  /* no thread per stalled peer (libmilter's pool may grow by a few for
   * the mails) */
  ck_assert_int_lt(threads_held, threads_before + 4);
  ck_assert_int_lt(threads_after, threads_before + 10);
}

START_TEST(slow_clients) {
  const char *env = getenv("PM_ABUSE_SECONDS");
  double seconds = env && *env ? strtod(env, NULL) : 11;
  ck_assert_msg(seconds > 0, "PM_ABUSE_SECONDS=%s is not a duration", env);
  char *opt = pm_test_fmt("--timeout %d", TIMEOUT_S);
  start_milter(opt);
  free(opt);
  baseline();
  size_t lines_before = count_lines(log_path);
  static int fds[SLOW_CLIENTS];
  size_t refused = 0, closed = 0;
  for (int i = 0; i < SLOW_CLIENTS; i++)
    if ((fds[i] = slow_client()) < 0)
      refused++;
  size_t asked = 0, right = 0;
  double t0 = now_s(), next_drip = t0 + 1;
  while (now_s() - t0 < seconds) {
    if (now_s() >= next_drip) {
      next_drip += 1.0;
      closed += drip(fds, &refused);
    }
    const char *why;
    if (mail_right((int)(asked % (size_t)mails.n), &why))
      right++;
    else
      fprintf(stderr, "during the crowd: %s\n", why);
    asked++;
    ck_assert_msg(milter_alive(), "the milter died");
    sleep_ms(250);
  }
  long rss = peak_rss("slow clients");
  size_t lines = count_lines(log_path) - lines_before;
  printf("slow clients: %d open at once for %.0f s, %zu closed by the milter, "
         "%zu refused; well-formed mails: %zu of %zu with their right "
         "verdict; %zu log lines meanwhile\n",
         SLOW_CLIENTS, now_s() - t0, closed, refused, right, asked, lines);
  for (int i = 0; i < SLOW_CLIENTS; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  ck_assert_uint_eq(right, asked);
  ck_assert_uint_gt(asked, 0);
  ck_assert_uint_eq(refused, 0);
  /* one line per mail scored, none per slow connection */
  ck_assert_msg(lines <= asked + 10, "%zu log lines for %zu mails", lines,
                asked);
  ck_assert_msg(rss < RSS_BOUND_KB, "peak RSS %ld kB", rss);
  const char *why;
  ck_assert_msg(mail_right(0, &why), "after the crowd: %s", why);
  sleep_ms(500); /* the crowd's threads see their connections closed */
  stalled_clients();
  ck_assert_msg(mail_right(1, &why), "after the stalled clients: %s", why);
  ck_assert_int_eq(stop_milter(), 0);
}
END_TEST

/* ---- past --max-connections ---- */

#define AT_ONCE 32
#define BUSY_LIMIT 2

/* A mail of about `size` bytes: mail i's body repeated. malloc'd. */
static char *long_body(int i, size_t size) {
  size_t bl = strlen(mails.body[i]);
  size_t n = size / bl + 1;
  char *b = malloc(n * bl + 1);
  for (size_t k = 0; k < n; k++)
    memcpy(b + k * bl, mails.body[i], bl);
  b[n * bl] = '\0';
  return b;
}

START_TEST(past_max_connections) {
  start_milter("--max-connections 2 --time-limit 20000");
  baseline();
  /* the same long mail on AT_ONCE connections, ended all at once */
  char *lb = long_body(0, 1 << 20);
  size_t lbl = strlen(lb);
  outcome one;
  send_mail(mails.head[0], lb, lbl, &one);
  ck_assert_msg(one.final == SMFIR_ACCEPT && one.verdict, "the long mail");
  int fds[AT_ONCE];
  for (int i = 0; i < AT_ONCE; i++) {
    outcome o = {0};
    fds[i] = connect_milter(false);
    ck_assert_int_ge(fds[i], 0);
    ck_assert(start_mail(fds[i], &o) &&
              send_headers(fds[i], mails.head[0], &o) &&
              send_body(fds[i], lb, lbl, &o));
  }
  for (int i = 0; i < AT_ONCE; i++)
    ck_assert(send_cmd(fds[i], SMFIC_BODYEOB, NULL, 0));
  size_t scored = 0, busy = 0;
  for (int i = 0; i < AT_ONCE; i++) {
    outcome o = {0};
    read_eom(fds[i], &o);
    ck_assert_msg(o.final == SMFIR_ACCEPT, "mail %d: reply '%c'", i,
                  o.final ? o.final : '0');
    if (o.verdict && !strcmp(o.verdict, one.verdict))
      scored++;
    else if (o.verdict &&
             !strcmp(o.verdict, "error; too many mails being scored"))
      busy++;
    else
      ck_abort_msg("mail %d: verdict %s (expected %s or busy)", i,
                   o.verdict ? o.verdict : "(none)", one.verdict);
    outcome_free(&o);
    send_cmd(fds[i], SMFIC_QUIT, NULL, 0);
    close(fds[i]);
  }
  free(lb);
  printf("past --max-connections %d: %d mails ended at once: %zu scored "
         "rightly, %zu failed open as busy\n",
         BUSY_LIMIT, AT_ONCE, scored, busy);
  ck_assert_uint_ge(scored, 1);
  ck_assert_uint_ge(busy, 1);
  /* the busy line is rate-limited: one for the burst */
  ck_assert_uint_le(count_in_log("too many mails being scored"), 1);
  /* and right after, every mail is scored again */
  for (int i = 0; i < mails.n; i++) {
    const char *why;
    ck_assert_msg(mail_right(i, &why), "after the burst: %s", why);
  }
  outcome_free(&one);
  ck_assert(milter_alive());
  long rss = peak_rss("past max connections");
  ck_assert_msg(rss < RSS_BOUND_KB, "peak RSS %ld kB", rss);
  ck_assert_int_eq(stop_milter(), 0);
}
END_TEST

/* ---- huge mails ---- */

/* 10,000 header lines before the mail's own (150 KB: under the 256 KiB
 * of header block the parser keeps, so that From: counts). malloc'd. */
static char *many_headers(int i) {
  size_t hl = strlen(mails.head[i]);
  char *h = malloc(10000 * 16 + hl + 1), *o = h;
  for (int k = 0; k < 10000; k++)
    o += sprintf(o, "X-H%d: %d\n", k, k);
  memcpy(o, mails.head[i], hl + 1);
  return h;
}

/* One command of `size` bytes of header: past libmilter's limit on a
 * command (64 KiB), so the connection is closed. True when it was closed
 * or answered (not left hanging). */
static bool huge_header_value(size_t size) {
  int fd = connect_milter(false);
  ck_assert_int_ge(fd, 0);
  outcome o = {0};
  ck_assert(start_mail(fd, &o));
  char *d = malloc(size + 16);
  memcpy(d, "X-Big", 6);
  memset(d + 6, 'a', size);
  d[6 + size] = '\0';
  bool sent = send_cmd(fd, SMFIC_HEADER, d, size + 7);
  free(d);
  char c = read_reply(fd, NULL, NULL);
  printf("a %zu-byte header value: %s, reply '%c'\n", size,
         sent ? "sent" : "cut short", c ? c : '0');
  close(fd);
  return c == 0 || c == SMFIR_CONTINUE;
}

/* `penmark score`'s verdict on the mail as the milter puts it together
 * (headers one a line, CRLF, blank line, body). malloc'd. */
static char *score_as_milter(const char *head, const char *body) {
  size_t hl = strlen(head), bl = strlen(body);
  char *raw = malloc(2 * hl + bl + 3), *o = raw;
  for (const char *c = head; *c; c++) {
    if (*c == '\n')
      *o++ = '\r';
    *o++ = *c;
  }
  memcpy(o, "\r\n", 2);
  memcpy(o + 2, body, bl + 1);
  char *path = pm_test_fmt("%s/as_milter.eml", root);
  pm_test_write_file(path, raw, strlen(raw));
  free(raw);
  char *out = NULL;
  int rc = pm_test_runf(&out, NULL, "'%s' score --tenant t --store '%s' '%s'",
                        pm_test_penmark(), store, path);
  char *v = out ? strstr(out, "\"verdict\":\"") : NULL;
  ck_assert_msg(rc == 0 && v, "penmark score: %s", out);
  char *verdict = strndup(v + 11, strcspn(v + 11, "\""));
  free(out);
  free(path);
  return verdict;
}

START_TEST(huge_mails) {
  start_milter("");
  baseline();
  /* 10,000 header lines: answered, accepted */
  char *h = many_headers(0);
  outcome o;
  send_mail(h, mails.body[0], strlen(mails.body[0]), &o);
  char *want = score_as_milter(h, mails.body[0]);
  printf("10,000 header lines: reply '%c', verdict %s (penmark score: %s)\n",
         o.final ? o.final : '0', o.verdict ? o.verdict : "(none)", want);
  ck_assert_int_eq(o.final, SMFIR_ACCEPT);
  ck_assert_msg(verdict_is(o.verdict, want), "%s, not %s", o.verdict, want);
  outcome_free(&o);
  free(want);
  free(h);
  ck_assert(milter_alive());
  /* a 1 MB header value in one command */
  ck_assert(huge_header_value(1 << 20));
  ck_assert(milter_alive());
  /* a 1 MB body: scored as `penmark score` does; a 17 MB one: past the
   * 16 MiB the milter keeps, it fails open */
  static const size_t sizes[] = {1 << 20, 17u << 20};
  for (size_t k = 0; k < 2; k++) {
    char *lb = long_body(0, sizes[k]);
    want = score_as_milter(mails.head[0], lb);
    send_mail(mails.head[0], lb, strlen(lb), &o);
    printf("a %zu-byte body: reply '%c', verdict %s (penmark score: %s)\n",
           strlen(lb), o.final ? o.final : '0',
           o.verdict ? o.verdict : "(none)", want);
    ck_assert_int_eq(o.final, SMFIR_ACCEPT);
    ck_assert_ptr_nonnull(o.verdict);
    if (k == 1)
      ck_assert_str_eq(o.verdict, "error; mail too big to score");
    else
      ck_assert_msg(verdict_is(o.verdict, want), "%s, not %s", o.verdict, want);
    outcome_free(&o);
    free(lb);
    free(want);
  }
  for (int i = 0; i < mails.n; i++) {
    const char *why;
    ck_assert_msg(mail_right(i, &why), "after the huge mails: %s", why);
  }
  long rss = peak_rss("huge mails");
  ck_assert_msg(rss < RSS_BOUND_KB, "peak RSS %ld kB", rss);
  ck_assert_int_eq(stop_milter(), 0);
}
END_TEST

/* ---- 16 clients, a SIGUSR1 every second ---- */

#define STORM_CLIENTS 16

typedef struct {
  int id;
  atomic_bool *stop;
  size_t asked, right;
  char problem[700];
} storm_client;

static void *storm_client_main(void *arg) {
  storm_client *c = arg;
  for (size_t k = 0; !atomic_load(c->stop); k++) {
    int i = (int)(((size_t)c->id + k) % (size_t)mails.n);
    char why[700];
    c->asked++;
    if (mail_check(i, why, sizeof why))
      c->right++;
    else if (!c->problem[0])
      snprintf(c->problem, sizeof c->problem, "%s", why);
  }
  return NULL;
}

/* Every SIGUSR1 drops every tenant's profiles; the next mail loads them
 * again. Mails meanwhile must keep their verdicts: none fails open, none
 * is judged on half-loaded profiles. */
START_TEST(reload_under_load) {
  const char *env = getenv("PM_ABUSE_SECONDS");
  double seconds = env && *env ? strtod(env, NULL) : 60;
  ck_assert_msg(seconds > 0, "PM_ABUSE_SECONDS=%s is not a duration", env);
  start_milter("");
  baseline();
  size_t reloads_before = count_in_log("reloading every tenant");
  size_t loads_before = count_in_log("tenant t loaded");
  atomic_bool stop;
  atomic_init(&stop, false);
  storm_client cl[STORM_CLIENTS];
  pthread_t th[STORM_CLIENTS];
  for (int i = 0; i < STORM_CLIENTS; i++) {
    memset(&cl[i], 0, sizeof cl[i]);
    cl[i].id = i;
    cl[i].stop = &stop;
    ck_assert_int_eq(pthread_create(&th[i], NULL, storm_client_main, &cl[i]),
                     0);
  }
  size_t sigs = 0;
  bool alive = true;
  double t0 = now_s(), next_sig = t0 + 1;
  while (now_s() - t0 < seconds && (alive = milter_alive())) {
    if (now_s() >= next_sig) {
      kill(milter_pid, SIGUSR1);
      sigs++;
      next_sig += 1;
    }
    sleep_ms(100);
  }
  atomic_store(&stop, true);
  size_t asked = 0, right = 0;
  for (int i = 0; i < STORM_CLIENTS; i++) {
    pthread_join(th[i], NULL);
    asked += cl[i].asked;
    right += cl[i].right;
    if (cl[i].problem[0])
      fprintf(stderr, "client %d: %s\n", i, cl[i].problem);
  }
  ck_assert_msg(alive, "the milter died");
  long rss = peak_rss("reload under load");
  sleep_ms(300); /* the last signal's line */
  size_t reloads = count_in_log("reloading every tenant") - reloads_before;
  size_t loads = count_in_log("tenant t loaded") - loads_before;
  printf("reload under load: %.0f s, %d clients, %zu SIGUSR1, %zu reloads "
         "logged, %zu tenant loads; %zu mails: %zu with their right "
         "verdict; peak RSS %ld kB\n",
         now_s() - t0, STORM_CLIENTS, sigs, reloads, loads, asked, right, rss);
  ck_assert_uint_gt(asked, 0);
  ck_assert_uint_eq(right, asked);
  /* every signal dropped the profiles, and a mail loaded them again (the
   * last signal may have come after the last mail) */
  ck_assert_uint_ge(reloads + 1, sigs);
  ck_assert_uint_ge(loads + 1, sigs);
  ck_assert_msg(rss < RSS_BOUND_KB, "peak RSS %ld kB", rss);
  const char *why;
  ck_assert_msg(mail_right(0, &why), "after the storm: %s", why);
  ck_assert_int_eq(stop_milter(), 0);
}
END_TEST

static Suite *abuse_suite(void) {
  Suite *s = suite_create("milter_abuse");
  TCase *c = tcase_create("abuse");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_set_timeout(c, 600);
  tcase_add_test(c, slow_clients);
  tcase_add_test(c, past_max_connections);
  tcase_add_test(c, huge_mails);
  tcase_add_test(c, reload_under_load);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  return pm_test_run_suite(abuse_suite()) != 0;
}
