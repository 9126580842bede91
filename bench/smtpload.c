/* smtpload: mail through an SMTP server (bench/postfix.sh's Postfix).
 *
 *   smtpload --port P [--clients N] [--mails M] MAIL...
 *
 * N clients (threads) send M mails in all, taking the files in turn, one
 * SMTP connection per mail (EHLO, MAIL, RCPT, DATA, the mail dot-stuffed
 * with CRLF line ends, ".", QUIT) to 127.0.0.1:P. Prints mails/s accepted
 * (first connect to the last 250) and, per mail, p50/p99/mean of the time
 * from the end of data (".") to the 250 reply, where a milter does its
 * work, and of the whole session. Numbers only; nothing is asserted. */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench.h"

typedef struct {
  char *data; /* dot-stuffed, CRLF, ending in CRLF.CRLF */
  size_t len;
} mail_t;

static mail_t *mails;
static size_t n_mails;
static int port;
static long total;
static atomic_long next_mail, failures;
static double *eod_us, *session_us;

static void die(const char *what) {
  fprintf(stderr, "smtpload: %s\n", what);
  exit(2);
}

static mail_t wire(const char *raw, size_t len) {
  mail_t m = {malloc(2 * len + 8), 0};
  bool bol = true;
  for (size_t i = 0; i < len; i++) {
    if (raw[i] == '\r')
      continue;
    if (bol && raw[i] == '.')
      m.data[m.len++] = '.';
    if (raw[i] == '\n')
      m.data[m.len++] = '\r';
    m.data[m.len++] = raw[i];
    bol = raw[i] == '\n';
  }
  if (!bol) {
    memcpy(m.data + m.len, "\r\n", 2);
    m.len += 2;
  }
  memcpy(m.data + m.len, ".\r\n", 3);
  m.len += 3;
  return m;
}

/* Reads one reply (all its lines); its code, 0 on a lost connection. */
static int reply(int fd) {
  char buf[4096];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      return 0;
    n += (size_t)r;
    buf[n] = '\0';
    /* the last line is "DDD text\r\n": find a complete one */
    char *line = buf, *end;
    while ((end = strstr(line, "\r\n"))) {
      if (end - line >= 4 && line[3] == ' ')
        return atoi(line);
      line = end + 2;
    }
    if (n == sizeof buf - 1) { /* keep the unfinished line only */
      n = strlen(line);
      memmove(buf, line, n);
    }
  }
}

static bool say(int fd, const char *s, size_t len, int want) {
  if (write(fd, s, len) != (ssize_t)len)
    return false;
  return want == 0 || reply(fd) / 100 == want / 100;
}

/* One mail; false when the server refused it or the connection broke. */
static bool one_mail(const mail_t *m, double *eod, double *session) {
  int64_t t0 = pm_bench_now_ns();
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0)
      close(fd);
    return false;
  }
  /* as an MTA does: otherwise the "." waits for the ACK of the mail's last
   * segment (Nagle against delayed ACK, 40 ms here), on both paths alike */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static const char ehlo[] = "EHLO bench.example\r\n",
                    from[] = "MAIL FROM:<sender@example.org>\r\n",
                    rcpt[] = "RCPT TO:<root@localhost>\r\n",
                    data[] = "DATA\r\n", quit[] = "QUIT\r\n";
  bool ok = reply(fd) == 220 && say(fd, ehlo, sizeof ehlo - 1, 250) &&
            say(fd, from, sizeof from - 1, 250) &&
            say(fd, rcpt, sizeof rcpt - 1, 250) &&
            say(fd, data, sizeof data - 1, 354) &&
            say(fd, m->data, m->len - 3, 0);
  int64_t t1 = pm_bench_now_ns();
  ok = ok && say(fd, ".\r\n", 3, 250);
  int64_t t2 = pm_bench_now_ns();
  if (ok)
    say(fd, quit, sizeof quit - 1, 221);
  close(fd);
  *eod = (double)(t2 - t1) / 1e3;
  *session = (double)(t2 - t0) / 1e3;
  return ok;
}

static void *client(void *arg) {
  (void)arg;
  for (;;) {
    long i = atomic_fetch_add(&next_mail, 1);
    if (i >= total)
      return NULL;
    if (!one_mail(&mails[(size_t)i % n_mails], &eod_us[i], &session_us[i]))
      atomic_fetch_add(&failures, 1);
  }
}

static void show(const char *what, double *v, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += v[i];
  double p50 = pm_bench_quantile(v, n, 0.50),
         p99 = pm_bench_quantile(v, n, 0.99);
  printf("  %-26s p50 %7.0f us   p99 %7.0f us   mean %7.0f us\n", what, p50,
         p99, sum / (double)n);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"port", required_argument, 0, 'p'},
      {"clients", required_argument, 0, 'c'},
      {"mails", required_argument, 0, 'n'},
      {0, 0, 0, 0},
  };
  int clients = 1, o;
  total = 100;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'p')
      port = atoi(optarg);
    else if (o == 'c')
      clients = atoi(optarg);
    else if (o == 'n')
      total = atol(optarg);
    else
      die("usage: smtpload --port P [--clients N] [--mails M] MAIL...");
  }
  n_mails = (size_t)(argc - optind);
  if (!port || clients < 1 || total < 1 || !n_mails)
    die("usage: smtpload --port P [--clients N] [--mails M] MAIL...");
  mails = calloc(n_mails, sizeof *mails);
  for (size_t i = 0; i < n_mails; i++) {
    size_t len;
    char *raw = pm_bench_read(argv[optind + (int)i], &len);
    mails[i] = wire(raw, len);
    free(raw);
  }
  eod_us = calloc((size_t)total, sizeof *eod_us);
  session_us = calloc((size_t)total, sizeof *session_us);
  pthread_t *th = calloc((size_t)clients, sizeof *th);
  int64_t t0 = pm_bench_now_ns();
  for (int i = 0; i < clients; i++)
    if (pthread_create(&th[i], NULL, client, NULL) != 0)
      die("cannot start a client thread");
  for (int i = 0; i < clients; i++)
    pthread_join(th[i], NULL);
  double s = (double)(pm_bench_now_ns() - t0) / 1e9;
  printf("%ld mails, %d client%s: %.1f mails/s accepted (%.2f s), %ld refused "
         "or failed\n",
         total, clients, clients > 1 ? "s" : "", (double)total / s, s,
         atomic_load(&failures));
  show("end of data -> 250", eod_us, (size_t)total);
  show("whole SMTP session", session_us, (size_t)total);
  return atomic_load(&failures) ? 1 : 0;
}
