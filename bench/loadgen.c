/* loadgen: load on `penmark serve` over its unix socket, or the same mails
 * scored in this process (the ceiling the daemon is measured against).
 *
 *   loadgen --socket PATH --tenant T [--clients N] [--requests M]
 *           [--sender ADDR] MAIL|DIR|@LIST...
 *   loadgen --in-process STORE_DIR --tenant T [--clients N] [--requests M]
 *           [--sender ADDR] MAIL|DIR|@LIST...
 *
 * N clients (threads), each on its own keep-alive connection, send M
 * requests in all, taking the mails in turn. Prints one line: requests/s and
 * the p50, p99 and p99.9 latency. With --in-process, each thread has its own
 * scorer on one shared profiles object and "latency" is the time of parse +
 * score. Numbers only; nothing is asserted. */
#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "score/serve/client.h"

typedef struct {
  char *data;
  size_t len;
} mail_t;

static mail_t *mails;
static size_t n_mails;

static void die(const char *fmt, const char *arg) {
  fprintf(stderr, "loadgen: ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(2);
}

static void add_file(const char *path) {
  pm__buf b = {0};
  pm_error err;
  pm_error_clear(&err);
  if (pm__read_file(path, (size_t)64 << 20, &b, &err) != PM_OK)
    die("%s", pm_error_message(&err));
  mails = realloc(mails, (n_mails + 1) * sizeof *mails);
  if (!mails)
    die("%s", "out of memory");
  mails[n_mails].len = b.len;
  mails[n_mails].data = pm__buf_steal(&b);
  n_mails++;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file, a directory (its regular files, recursively, in name order), or
 * @LIST (one path per line). */
static void add_input(const char *arg) {
  if (arg[0] == '@') {
    FILE *f = fopen(arg + 1, "r");
    if (!f)
      die("cannot read list %s", arg + 1);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
      while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
      if (n)
        add_input(line);
    }
    free(line);
    fclose(f);
    return;
  }
  struct stat sb;
  if (stat(arg, &sb) != 0)
    die("cannot read %s", arg);
  if (!S_ISDIR(sb.st_mode)) {
    add_file(arg);
    return;
  }
  DIR *d = opendir(arg);
  if (!d)
    die("cannot list %s", arg);
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    names = realloc(names, (n + 1) * sizeof *names);
    size_t l = strlen(arg) + strlen(e->d_name) + 2;
    names[n] = malloc(l);
    snprintf(names[n++], l, "%s/%s", arg, e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    add_input(names[i]);
    free(names[i]);
  }
  free(names);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What every client shares. */
static const char *socket_path;
static const char *target;
static const char *sender;
static const pm_profiles *profiles;
static atomic_long next_request;
static long total_requests;
static int64_t *latency_ns; /* one per request */
static atomic_long errors;
static char first_error[512];
static atomic_flag error_noted = ATOMIC_FLAG_INIT;

static void note_error(const char *msg) {
  atomic_fetch_add(&errors, 1);
  if (!atomic_flag_test_and_set(&error_noted))
    snprintf(first_error, sizeof first_error, "%s", msg);
}

static void *http_client(void *arg) {
  (void)arg;
  pm__http_conn c;
  pm_error err;
  pm_error_clear(&err);
  if (pm__http_init(&c, socket_path, 120000, &err) != PM_OK) {
    note_error(pm_error_message(&err));
    return NULL;
  }
  long i;
  while ((i = atomic_fetch_add(&next_request, 1)) < total_requests) {
    const mail_t *m = &mails[(size_t)i % n_mails];
    pm__http_response r;
    int64_t t0 = now_ns();
    pm_status rc = pm__http_request(&c, "POST", target, "message/rfc822",
                                    m->data, m->len, &r, &err);
    latency_ns[i] = now_ns() - t0;
    if (rc != PM_OK) {
      note_error(pm_error_message(&err));
      continue;
    }
    if (r.status != 200) {
      char msg[300];
      snprintf(msg, sizeof msg, "HTTP %d: %.200s", r.status, r.body);
      note_error(msg);
    }
    pm__http_response_free(&r);
  }
  pm__http_free(&c);
  return NULL;
}

static void *local_client(void *arg) {
  (void)arg;
  pm_error err;
  pm_error_clear(&err);
  pm_scorer *s = NULL;
  if (pm_scorer_new(pm_profiles_config(profiles), &s, &err) != PM_OK) {
    note_error(pm_error_message(&err));
    return NULL;
  }
  long i;
  while ((i = atomic_fetch_add(&next_request, 1)) < total_requests) {
    const mail_t *m = &mails[(size_t)i % n_mails];
    int64_t t0 = now_ns();
    pm_mail *mail = NULL;
    pm_score_result res;
    pm_status rc = pm_mail_parse(m->data, m->len, NULL, &mail, &err);
    if (rc == PM_OK)
      rc = pm_score_mail(s, profiles, mail, sender, &res, &err);
    pm_mail_free(mail);
    latency_ns[i] = now_ns() - t0;
    if (rc != PM_OK)
      note_error(pm_error_message(&err));
  }
  pm_scorer_free(s);
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static double pct_ms(const int64_t *sorted, long n, double p) {
  long i = (long)(p * (double)(n - 1) + 0.5);
  return (double)sorted[i] / 1e6;
}

static void usage(void) {
  fputs("usage: loadgen (--socket PATH | --in-process STORE_DIR) --tenant T\n"
        "               [--clients N] [--requests M] [--sender ADDR]\n"
        "               MAIL|DIR|@LIST...\n",
        stderr);
  exit(2);
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"socket", required_argument, 0, 's'},
      {"in-process", required_argument, 0, 'i'},
      {"tenant", required_argument, 0, 't'},
      {"sender", required_argument, 0, 'S'},
      {"clients", required_argument, 0, 'c'},
      {"requests", required_argument, 0, 'n'},
      {0, 0, 0, 0},
  };
  const char *tenant = NULL, *store_dir = NULL;
  int clients = 1, o;
  total_requests = 1000;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 's':
      socket_path = optarg;
      break;
    case 'i':
      store_dir = optarg;
      break;
    case 't':
      tenant = optarg;
      break;
    case 'S':
      sender = optarg;
      break;
    case 'c':
      clients = atoi(optarg);
      break;
    case 'n':
      total_requests = atol(optarg);
      break;
    default:
      usage();
    }
  }
  if (!tenant || (!socket_path == !store_dir) || optind >= argc ||
      clients < 1 || clients > 1024 || total_requests < 1)
    usage();
  for (int i = optind; i < argc; i++)
    add_input(argv[i]);
  if (!n_mails)
    die("%s", "no mail given");
  size_t bytes = 0;
  for (size_t i = 0; i < n_mails; i++)
    bytes += mails[i].len;

  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  if (store_dir) {
    openblas_set_num_threads(1); /* as the daemon does */
    pm_error err;
    pm_error_clear(&err);
    if (pm_store_open(store_dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) !=
            PM_OK ||
        pm_profiles_load(st, NULL, &prof, &err) != PM_OK)
      die("%s", pm_error_message(&err));
    profiles = prof;
  } else {
    char *t = pm__url_encode(tenant);
    char *s = sender ? pm__url_encode(sender) : NULL;
    pm__buf b = {0};
    pm__buf_printf(&b, "/v1/score?tenant=%s", t);
    if (s)
      pm__buf_printf(&b, "&sender=%s", s);
    target = pm__buf_steal(&b);
    free(t);
    free(s);
  }
  latency_ns = calloc((size_t)total_requests, sizeof *latency_ns);
  pthread_t *th = calloc((size_t)clients, sizeof *th);
  if (!latency_ns || !th)
    die("%s", "out of memory");
  int64_t t0 = now_ns();
  for (int i = 0; i < clients; i++)
    pthread_create(&th[i], NULL, store_dir ? local_client : http_client, NULL);
  for (int i = 0; i < clients; i++)
    pthread_join(th[i], NULL);
  double secs = (double)(now_ns() - t0) / 1e9;
  qsort(latency_ns, (size_t)total_requests, sizeof *latency_ns, cmp_i64);
  printf("%-10s clients %3d: %ld requests (%zu mails, %.1f KB avg) in %.2f "
         "s: %.0f req/s, latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, "
         "%ld errors\n",
         store_dir ? "in-process" : "daemon", clients, total_requests, n_mails,
         (double)bytes / (double)n_mails / 1024.0, secs,
         (double)total_requests / secs, pct_ms(latency_ns, total_requests, 0.5),
         pct_ms(latency_ns, total_requests, 0.99),
         pct_ms(latency_ns, total_requests, 0.999), atomic_load(&errors));
  if (atomic_load(&errors))
    fprintf(stderr, "loadgen: first error: %s\n", first_error);
  pm_profiles_free(prof);
  pm_store_close(st);
  for (size_t i = 0; i < n_mails; i++)
    free(mails[i].data);
  free(mails);
  free(latency_ns);
  free(th);
  free((char *)target);
  pm_library_shutdown();
  return atomic_load(&errors) ? 1 : 0;
}
