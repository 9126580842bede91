/* milterload: the milter's cost over in-process scoring, on the same mails.
 *
 *   milterload --socket unix:PATH|inet:PORT@HOST --store DIR --tenant T
 *              [--rounds N] MAIL...
 *
 * Each round, in turn (so that both see the same load of a noisy machine):
 *   - in-process: every mail parsed and scored by the library in this
 *     process (pm_mail_parse + pm_score_mail, one warm scorer, the claimed
 *     sender from From:), which is what the milter does on its worker;
 *   - milter: every mail through the milter protocol, one connection per
 *     mail as Postfix makes it (negotiate, connect, MAIL, RCPT, each header,
 *     end of headers, body, end of message, QUIT), timed from connect to the
 *     final reply; the end-of-message step (where the milter scores and
 *     answers) is timed apart.
 * A first pass of each is not counted (caches, the milter's first mail).
 * Prints p50, p99 and mean per mail of each and the differences. Numbers
 * only; nothing is asserted. */
#include <arpa/inet.h>
#include <cblas.h>
#include <getopt.h>
#include <libmilter/mfdef.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench/bench.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/store.h"

typedef struct {
  char *raw;
  size_t len;
} mail_t;

static void die(const char *what) {
  fprintf(stderr, "milterload: %s\n", what);
  exit(2);
}

/* One milter packet: length (command byte included), command, data. */
static void put(int fd, char cmd, const void *data, size_t len) {
  uint32_t n = htonl((uint32_t)len + 1);
  char head[5];
  memcpy(head, &n, 4);
  head[4] = cmd;
  if (write(fd, head, 5) != 5 || (len && write(fd, data, len) != (ssize_t)len))
    die("write to the milter failed");
}

static void read_all(int fd, void *p, size_t len) {
  for (size_t got = 0; got < len;) {
    ssize_t r = read(fd, (char *)p + got, len - got);
    if (r <= 0)
      die("the milter closed the connection");
    got += (size_t)r;
  }
}

/* The next reply that is not "progress"; its data in buf (cap 64 KiB). */
static char get(int fd, char *buf, uint32_t *len) {
  for (;;) {
    uint32_t n;
    read_all(fd, &n, 4);
    n = ntohl(n);
    if (n < 1 || n > 65536)
      die("bad packet length from the milter");
    char cmd;
    read_all(fd, &cmd, 1);
    *len = n - 1;
    read_all(fd, buf, *len);
    if (cmd != SMFIR_PROGRESS)
      return cmd;
  }
}

static int dial(const char *spec) {
  int fd;
  if (!strncmp(spec, "unix:", 5)) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", spec + 5);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
      die("cannot connect to the milter");
  } else if (!strncmp(spec, "inet:", 5)) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_port = htons((uint16_t)atoi(spec + 5));
    const char *at = strchr(spec, '@');
    inet_pton(AF_INET, at ? at + 1 : "127.0.0.1", &a.sin_addr);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
      die("cannot connect to the milter");
  } else {
    die("--socket: unix:PATH or inet:PORT@HOST");
  }
  return fd;
}

/* A step the milter did not ask to skip, and its reply unless it asked for
 * none; an early accept or reject ends the mail (false). */
static bool step(int fd, uint32_t pf, uint32_t no, uint32_t nr, char cmd,
                 const void *data, size_t len, char *buf) {
  if (pf & no)
    return true;
  put(fd, cmd, data, len);
  if (pf & nr)
    return true;
  uint32_t n;
  char r = get(fd, buf, &n);
  return r == SMFIR_CONTINUE || r == SMFIR_SKIP;
}

/* Sends the headers one packet each (name NUL value NUL, folded lines
 * joined, as Postfix does), returns where the body starts. */
static size_t send_headers(int fd, uint32_t pf, const mail_t *m, char *buf,
                           bool *go) {
  size_t i = 0, len = m->len;
  char *pkt = malloc(len + 2);
  while (*go && i < len && m->raw[i] != '\n' && m->raw[i] != '\r') {
    size_t o = 0, colon = 0;
    while (i < len) {
      char c = m->raw[i++];
      if (c == '\r')
        continue;
      if (c == '\n') {
        if (i < len && (m->raw[i] == ' ' || m->raw[i] == '\t'))
          continue; /* a folded line: the value goes on */
        break;
      }
      if (c == ':' && !colon) {
        colon = o + 1;
        pkt[o++] = '\0';
        while (i < len && (m->raw[i] == ' ' || m->raw[i] == '\t'))
          i++;
        continue;
      }
      pkt[o++] = c;
    }
    pkt[o++] = '\0';
    if (colon)
      *go = step(fd, pf, SMFIP_NOHDRS, SMFIP_NR_HDR, SMFIC_HEADER, pkt, o, buf);
  }
  free(pkt);
  while (i < len && (m->raw[i] == '\r' || m->raw[i] == '\n'))
    if (m->raw[i++] == '\n')
      break;
  return i;
}

/* The body with CRLF line ends, in chunks of at most 65535 bytes. */
static void send_body(int fd, uint32_t pf, const mail_t *m, size_t from,
                      char *buf, bool *go) {
  char *chunk = malloc(65535);
  size_t o = 0;
  for (size_t i = from; *go && i <= m->len; i++) {
    bool end = i == m->len;
    if (!end && m->raw[i] == '\n')
      chunk[o++] = '\r';
    if (!end && m->raw[i] != '\r')
      chunk[o++] = m->raw[i];
    if (o && (end || o >= 65533)) {
      *go =
          step(fd, pf, SMFIP_NOBODY, SMFIP_NR_BODY, SMFIC_BODY, chunk, o, buf);
      o = 0;
    }
  }
  free(chunk);
}

/* One mail through the milter; returns the whole conversation's ns and
 * the end-of-message step's in *eom_ns. */
static int64_t one_mail(const char *spec, const mail_t *m, int64_t *eom_ns) {
  char buf[65536];
  uint32_t n;
  int64_t t0 = pm_bench_now_ns();
  int fd = dial(spec);
  uint32_t neg[3] = {htonl(6), htonl(0x1ff), htonl(0x1fffff)};
  put(fd, SMFIC_OPTNEG, neg, sizeof neg);
  if (get(fd, buf, &n) != SMFIC_OPTNEG || n < 12)
    die("no option negotiation from the milter");
  uint32_t pf;
  memcpy(&pf, buf + 8, 4);
  pf = ntohl(pf);
  static const char conn[] = "localhost\0"
                             "4\0\0"
                             "127.0.0.1";
  bool go = step(fd, pf, SMFIP_NOCONNECT, SMFIP_NR_CONN, SMFIC_CONNECT, conn,
                 sizeof conn, buf);
  if (go)
    go = step(fd, pf, SMFIP_NOHELO, SMFIP_NR_HELO, SMFIC_HELO, "localhost", 10,
              buf);
  if (go)
    go = step(fd, pf, SMFIP_NOMAIL, SMFIP_NR_MAIL, SMFIC_MAIL,
              "<x@example.org>", 16, buf);
  if (go)
    go = step(fd, pf, SMFIP_NORCPT, SMFIP_NR_RCPT, SMFIC_RCPT,
              "<root@localhost>", 17, buf);
  if (go)
    go = step(fd, pf, SMFIP_NODATA, SMFIP_NR_DATA, SMFIC_DATA, NULL, 0, buf);
  size_t body = go ? send_headers(fd, pf, m, buf, &go) : 0;
  if (go)
    go = step(fd, pf, SMFIP_NOEOH, SMFIP_NR_EOH, SMFIC_EOH, NULL, 0, buf);
  if (go)
    send_body(fd, pf, m, body, buf, &go);
  int64_t t1 = pm_bench_now_ns();
  if (go) {
    put(fd, SMFIC_BODYEOB, NULL, 0);
    /* header changes, quarantine..., then the final answer */
    for (;;) {
      char r = get(fd, buf, &n);
      if (strchr("acrtdy", r))
        break;
    }
  }
  int64_t t2 = pm_bench_now_ns();
  put(fd, SMFIC_QUIT, NULL, 0);
  close(fd);
  *eom_ns = go ? t2 - t1 : 0;
  return t2 - t0;
}

static int64_t score_one(pm_scorer *s, const pm_profiles *p, const mail_t *m) {
  pm_error err;
  pm_error_clear(&err);
  pm_mail *mail = NULL;
  pm_score_result res;
  int64_t t0 = pm_bench_now_ns();
  if (pm_mail_parse(m->raw, m->len, NULL, &mail, &err) != PM_OK ||
      pm_score_mail(s, p, mail, NULL, &res, &err) != PM_OK)
    fprintf(stderr, "milterload: in-process: %s\n", pm_error_message(&err));
  int64_t t = pm_bench_now_ns() - t0;
  pm_mail_free(mail);
  return t;
}

static void show(const char *what, double *v, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += v[i];
  double p50 = pm_bench_quantile(v, n, 0.50),
         p99 = pm_bench_quantile(v, n, 0.99);
  printf("%-44s p50 %7.0f us   p99 %7.0f us   mean %7.0f us   (%zu mails)\n",
         what, p50, p99, sum / (double)n, n);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"socket", required_argument, 0, 's'},
      {"store", required_argument, 0, 'd'},
      {"tenant", required_argument, 0, 't'},
      {"rounds", required_argument, 0, 'r'},
      {0, 0, 0, 0},
  };
  const char *spec = NULL, *store = NULL, *tenant = NULL;
  int rounds = 10, o;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 's')
      spec = optarg;
    else if (o == 'd')
      store = optarg;
    else if (o == 't')
      tenant = optarg;
    else if (o == 'r')
      rounds = atoi(optarg);
    else
      die("usage: milterload --socket S --store DIR --tenant T [--rounds N] "
          "MAIL...");
  }
  size_t nm = (size_t)(argc - optind);
  if (!spec || !store || !tenant || !nm || rounds < 1)
    die("usage: milterload --socket S --store DIR --tenant T [--rounds N] "
        "MAIL...");
  mail_t *mails = calloc(nm, sizeof *mails);
  for (size_t i = 0; i < nm; i++)
    mails[i].raw = pm_bench_read(argv[optind + (int)i], &mails[i].len);

  openblas_set_num_threads(1); /* as the milter's workers do */
  pm_error err;
  pm_error_clear(&err);
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_scorer *sc = NULL;
  if (pm_store_open(store, tenant, PM_STORE_READ, NULL, 0, &st, &err) !=
          PM_OK ||
      pm_profiles_load(st, NULL, &prof, &err) != PM_OK ||
      pm_scorer_new(pm_profiles_config(prof), &sc, &err) != PM_OK)
    die(pm_error_message(&err));

  size_t total = nm * (size_t)rounds, k = 0;
  double *inproc = malloc(total * sizeof *inproc);
  double *whole = malloc(total * sizeof *whole);
  double *eom = malloc(total * sizeof *eom);
  for (int r = -1; r < rounds; r++) { /* round -1: warm-up, not counted */
    for (size_t i = 0; i < nm; i++) {
      int64_t t = score_one(sc, prof, &mails[i]);
      if (r >= 0)
        inproc[k + i] = (double)t / 1e3;
    }
    for (size_t i = 0; i < nm; i++) {
      int64_t e, t = one_mail(spec, &mails[i], &e);
      if (r >= 0) {
        whole[k + i] = (double)t / 1e3;
        eom[k + i] = (double)e / 1e3;
      }
    }
    if (r >= 0)
      k += nm;
  }
  double m_in = 0, m_whole = 0;
  for (size_t i = 0; i < total; i++) {
    m_in += inproc[i];
    m_whole += whole[i];
  }
  show("in-process (parse + score, library)", inproc, total);
  show("milter protocol, whole conversation", whole, total);
  show("  of which end of message -> final reply", eom, total);
  printf("milter cost over in-process scoring: %.0f us per mail (mean), "
         "%.0f us (p50)\n",
         (m_whole - m_in) / (double)total,
         pm_bench_quantile(whole, total, 0.5) -
             pm_bench_quantile(inproc, total, 0.5));
  pm_scorer_free(sc);
  pm_profiles_free(prof);
  pm_store_close(st);
  return 0;
}
