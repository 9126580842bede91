/* Faults during training and scoring, with the real command:
 *   - an allocation that fails (tests/integration/failmalloc.c, preloaded),
 *     swept over the allocations of `penmark train` and `penmark score`;
 *     under `make asan`, LeakSanitizer checks every one of those runs;
 *   - a full disk (a small tmpfs when the test runs as root, otherwise a
 *     file-size limit);
 *   - SIGKILL at several moments of a run (tests/integration/test_train_cli.c
 *     kills a 3,000-mail run; this one a small run, right at its start too);
 *   - a second writer holding the store.
 * Each time: no crash, a non-zero exit with a message naming the store when
 * the run fails, the store whole and at its last good state (the state
 * before the run or after it, as a probe mail's score shows), and the next
 * run without the fault ending where a clean run ends. */
#include "penmark/config.h"
#include "penmark/store.h"

#include "tests/support.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Short hashed slices: cheap runs. */
#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}\n"

typedef struct {
  char *dir;        /* the test's temporary directory */
  char *cfg;        /* SMALL_CONFIG */
  char *in_a;       /* first night's mail */
  char *in_b;       /* second night's mail */
  char *probe;      /* the mail scored to tell states apart */
  char *base;       /* a store trained on in_a: the last good state */
  char *score_a;    /* the probe's score on base */
  char *score_ab;   /* ... after in_a, then in_b */
  char *failmalloc; /* the preload library */
} world;

static world W;

/* ---- helpers ---- */

static void copy_file(const char *from, const char *to) {
  size_t len = 0;
  char *d = pm_test_slurp(from, &len);
  if (!d)
    return; /* a -wal that is not there */
  pm_test_write_file(to, d, len);
  free(d);
}

/* A copy of the base store in a new directory DIR/<name>. */
static char *fresh_store(const char *name) {
  char *s = pm_test_fmt("%s/%s", W.dir, name);
  ck_assert_int_eq(mkdir(s, 0700), 0);
  char *from = pm_test_fmt("%s/t.db", W.base), *to = pm_test_fmt("%s/t.db", s);
  copy_file(from, to);
  free(from);
  free(to);
  return s;
}

/* The trainer's command line, with an optional environment prefix. */
static int train(const char *env, const char *store, const char *in,
                 char **err) {
  return pm_test_runf(NULL, err,
                      "%s '%s' train --tenant t --store '%s' --config '%s' "
                      "--min-mails 2 --threads 1 '%s'",
                      env, pm_test_penmark(), store, W.cfg, in);
}

/* Cuts the timing field off a score line and zeroes the time of the last
 * training (the rerun after a fault trains at another second). */
static void normalise(char *out) {
  char *e = strstr(out, ",\"elapsed_us\"");
  ck_assert_ptr_nonnull(e);
  *e = '\0';
  char *t = strstr(out, "\"last_trained\":");
  if (t)
    for (t += 15; *t >= '0' && *t <= '9'; t++)
      *t = '0';
}

/* The probe's score on store, normalised. malloc'd. */
static char *probe_score(const char *store) {
  char *out = NULL, *err = NULL;
  int rc = pm_test_runf(&out, &err, "'%s' score --tenant t --store '%s' '%s'",
                        pm_test_penmark(), store, W.probe);
  ck_assert_msg(rc == 0, "score on %s exited %d: %s", store, rc, err);
  normalise(out);
  free(err);
  return out;
}

/* The store opens, passes SQLite's integrity check, and scores the probe
 * as it did before the run or as it does after a whole run. */
static void check_last_good(const char *store, const char *what) {
  pm_store *st = NULL;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_msg(pm_store_open(store, "t", PM_STORE_READ, NULL, 0, &st, &err) ==
                    PM_OK,
                "%s: %s", what, pm_error_message(&err));
  ck_assert_msg(pm_store_verify(st, &err) == PM_OK, "%s: %s", what,
                pm_error_message(&err));
  pm_store_close(st);
  char *s = probe_score(store);
  ck_assert_msg(strcmp(s, W.score_a) == 0 || strcmp(s, W.score_ab) == 0,
                "%s: the store is at neither the state before the run nor "
                "after it:\n%s",
                what, s);
  free(s);
}

/* The next run without the fault ends where a clean run ends. */
static void check_next_run(const char *store, const char *what) {
  char *err = NULL;
  int rc = train("", store, W.in_b, &err);
  ck_assert_msg(rc == 0, "%s: the next run exited %d: %s", what, rc, err);
  free(err);
  char *s = probe_score(store);
  ck_assert_msg(strcmp(s, W.score_ab) == 0, "%s: after the next run:\n%s\n%s",
                what, s, W.score_ab);
  free(s);
}

/* A failed run: status 1 and a message naming the store (or, when memory
 * ran out before the store was named, saying so); never a signal. */
static void check_failure(int rc, const char *err, const char *store,
                          const char *what) {
  ck_assert_msg(rc == 0 || rc == 1, "%s: exit %d (a crash or a leak?): %s",
                what, rc, err);
  if (rc == 1)
    ck_assert_msg(strstr(err, "penmark") &&
                      (strstr(err, store) || strstr(err, "out of memory")),
                  "%s: the message names neither the store nor the "
                  "problem: %s",
                  what, err);
}

static void write_mail(const char *dir, const char *name, const char *from,
                       const char *subject, const char *body) {
  char *p = pm_test_fmt("%s/%s", dir, name);
  char *m = pm_test_fmt("From: %s\nSubject: %s\nMessage-ID: <%s@x.example>\n"
                        "Date: Mon, 2 Nov 2026 09:00:00 +0000\n\n%s",
                        from, subject, name, body);
  pm_test_write_file(p, m, strlen(m));
  free(m);
  free(p);
}

/* Two senders of different habits, three mails each per night. */
static void write_corpus(const char *dir, int night) {
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  static const char *const topics[] = {"the budget",          "the offsite",
                                       "the vendor contract", "hiring",
                                       "the audit",           "the roadmap"};
  for (int i = 0; i < 3; i++) {
    const char *t = topics[night * 3 + i];
    char *a = pm_test_fmt(
        "Hi team,\n\nQuick note on %s: I'd like everyone to review the "
        "numbers before Thursday. Let me know if anything looks off.\n\n"
        "Thanks,\nAnn\n",
        t);
    char *b = pm_test_fmt(
        "Dear colleagues,\n\nPlease find attached the latest update "
        "regarding %s. Kindly confirm receipt at your earliest "
        "convenience.\n\nBest regards,\nRobert Smith\nFinance\n",
        t);
    char *na = pm_test_fmt("ann%d.eml", night * 3 + i),
         *nb = pm_test_fmt("rob%d.eml", night * 3 + i);
    write_mail(dir, na, "Ann <ann@x.example>", t, a);
    write_mail(dir, nb, "Robert Smith <rob@x.example>", t, b);
    free(a);
    free(b);
    free(na);
    free(nb);
  }
}

static void setup(void) {
  memset(&W, 0, sizeof W);
  W.dir = pm_test_tmpdir();
  W.cfg = pm_test_fmt("%s/small.json", W.dir);
  pm_test_write_file(W.cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  W.in_a = pm_test_fmt("%s/a", W.dir);
  W.in_b = pm_test_fmt("%s/b", W.dir);
  write_corpus(W.in_a, 0);
  write_corpus(W.in_b, 1);
  W.probe = pm_test_fmt("%s/probe.eml", W.dir);
  write_mail(W.dir, "probe.eml", "Ann <ann@x.example>", "numbers",
             "Dear colleagues,\n\nKindly find the figures attached and "
             "confirm receipt.\n\nBest regards,\nAnn\n");
  W.base = pm_test_fmt("%s/base", W.dir);
  char *err = NULL;
  ck_assert_msg(train("", W.base, W.in_a, &err) == 0, "%s", err);
  free(err);
  W.score_a = probe_score(W.base);
  char *full = pm_test_fmt("%s/full", W.dir);
  char *from = pm_test_fmt("%s/t.db", W.base),
       *to = pm_test_fmt("%s/t.db", full);
  ck_assert_int_eq(mkdir(full, 0700), 0);
  copy_file(from, to);
  ck_assert_msg(train("", full, W.in_b, &err) == 0, "%s", err);
  free(err);
  W.score_ab = probe_score(full);
  ck_assert_str_ne(W.score_a, W.score_ab); /* the probe tells them apart */
  free(from);
  free(to);
  free(full);
  /* the preload library sits beside the test programs */
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  ck_assert_int_gt(n, 0);
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  *slash = '\0';
  W.failmalloc = pm_test_fmt("%s/../failmalloc.so", exe);
}

static void teardown(void) {
  pm_test_rmtree(W.dir);
  free(W.dir);
  free(W.cfg);
  free(W.in_a);
  free(W.in_b);
  free(W.probe);
  free(W.base);
  free(W.score_a);
  free(W.score_ab);
  free(W.failmalloc);
}

#ifdef __SANITIZE_ADDRESS__
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* The environment of a run with the allocation-failure library: failing
 * allocation k (0: none), and all after it when `from`. Under
 * AddressSanitizer (make asan) the library forwards to the sanitizer's
 * allocator and LeakSanitizer checks each run: a leak exits 23 with its
 * report, which check_failure and check_no_leak catch. malloc'd. */
static char *alloc_env(unsigned long k, bool from) {
  char *san = NULL;
  if (UNDER_ASAN) {
    const char *a = getenv("ASAN_OPTIONS"), *l = getenv("LSAN_OPTIONS");
    /* tests/lsan.supp (GLib's one-time allocations) when make did not
     * say; PM_DATA is the repository's data/ */
    char *supp = l && *l ? strdup(l)
                         : pm_test_fmt("suppressions=%s/../tests/lsan.supp",
                                       pm_test_data_dir());
    san = pm_test_fmt("ASAN_OPTIONS='%s%sverify_asan_link_order=0:"
                      "detect_leaks=1:exitcode=23' LSAN_OPTIONS='%s' ",
                      a ? a : "", a && *a ? ":" : "", supp);
    free(supp);
  }
  char *env =
      pm_test_fmt("%sLD_PRELOAD='%s' PM_FAIL_ALLOC=%lu%s", san ? san : "",
                  W.failmalloc, k, from ? " PM_FAIL_ALLOC_FROM=1" : "");
  free(san);
  return env;
}

/* No sanitizer report in a run's standard error. */
static void check_no_leak(const char *err, const char *what) {
  ck_assert_msg(!err || (!strstr(err, "LeakSanitizer") &&
                         !strstr(err, "AddressSanitizer")),
                "%s: %s", what, err);
}

/* The allocations `penmark ARGS` makes from penmark's own code. */
static unsigned long count_allocs(const char *args) {
  char *count = pm_test_fmt("%s/allocs.count", W.dir);
  char *env = alloc_env(0, false);
  char *err = NULL;
  int rc = pm_test_runf(NULL, &err, "%s PM_FAIL_ALLOC_COUNT='%s' '%s' %s", env,
                        count, pm_test_penmark(), args);
  ck_assert_msg(rc == 0, "counting allocations: exit %d: %s", rc, err);
  check_no_leak(err, "counting allocations");
  free(err);
  free(env);
  char *c = pm_test_read_file(count, NULL);
  unsigned long n = strtoul(c, NULL, 10);
  free(c);
  free(count);
  return n;
}

/* About `points` allocation numbers spread over 1..n: every one of the
 * first few (set-up paths), then evenly. PM_FAULT_SWEEP=full takes all. */
static size_t sweep_points(unsigned long n, size_t points, unsigned long *out) {
  const char *full = getenv("PM_FAULT_SWEEP");
  size_t k = 0;
  if (full && strcmp(full, "full") == 0) {
    for (unsigned long i = 1; i <= n; i++)
      out[k++] = i;
    return k;
  }
  for (unsigned long i = 1; i <= n && i <= 8; i++)
    out[k++] = i;
  for (size_t j = 1; n > 8 && j <= points - 8; j++) {
    unsigned long v = 8 + (unsigned long)((double)(n - 8) * j / (points - 8));
    if (v > out[k - 1])
      out[k++] = v;
  }
  return k;
}

/* ---- allocation failure ---- */

START_TEST(alloc_failure_train) {
  char *probe = fresh_store("alloc-count");
  char *args = pm_test_fmt("train --tenant t --store '%s' --config '%s' "
                           "--min-mails 2 --threads 1 '%s'",
                           probe, W.cfg, W.in_b);
  unsigned long n = count_allocs(args);
  ck_assert_uint_gt(n, 10);
  unsigned long *pts = malloc((n + 64) * sizeof *pts);
  size_t np = sweep_points(n, 24, pts);
  size_t failed = 0;
  for (size_t i = 0; i < np; i++) {
    /* the last three stay out of memory from their allocation on */
    bool from = i + 3 >= np;
    char *name = pm_test_fmt("alloc%zu", i);
    char *store = fresh_store(name);
    char *env = alloc_env(pts[i], from);
    char *what = pm_test_fmt("train, allocation %lu of %lu failing%s", pts[i],
                             n, from ? " (and all after)" : "");
    char *err = NULL;
    int rc = train(env, store, W.in_b, &err);
    check_failure(rc, err, store, what);
    check_no_leak(err, what);
    failed += rc != 0;
    check_last_good(store, what);
    check_next_run(store, what);
    pm_test_rmtree(store);
    free(err);
    free(what);
    free(env);
    free(store);
    free(name);
  }
  /* the runs out of memory for good cannot all have succeeded */
  ck_assert_uint_gt(failed, 0);
  printf("alloc_failure_train: %zu of %zu runs failed cleanly, %lu "
         "allocations\n",
         failed, np, n);
  free(pts);
  free(args);
  free(probe);
}
END_TEST

START_TEST(alloc_failure_score) {
  char *args =
      pm_test_fmt("score --tenant t --store '%s' '%s'", W.base, W.probe);
  unsigned long n = count_allocs(args);
  ck_assert_uint_gt(n, 10);
  unsigned long *pts = malloc((n + 64) * sizeof *pts);
  size_t np = sweep_points(n, 40, pts);
  size_t failed = 0;
  for (size_t i = 0; i < np; i++) {
    bool from = i + 3 >= np;
    char *out = NULL, *err = NULL;
    char *env = alloc_env(pts[i], from);
    int rc =
        pm_test_runf(&out, &err, "%s '%s' %s", env, pm_test_penmark(), args);
    free(env);
    char *what = pm_test_fmt("score, allocation %lu of %lu failing%s", pts[i],
                             n, from ? " (and all after)" : "");
    ck_assert_msg(rc == 0 || rc == 1, "%s: exit %d (a crash or a leak?): %s",
                  what, rc, err);
    check_no_leak(err, what);
    if (rc == 1) {
      ck_assert_msg(strstr(err, "penmark"), "%s: no message: %s", what, err);
      failed++;
    } else {
      /* a run that succeeds despite the failure must say the same */
      normalise(out);
      ck_assert_msg(strcmp(out, W.score_a) == 0, "%s: a wrong answer:\n%s",
                    what, out);
    }
    free(what);
    free(out);
    free(err);
  }
  ck_assert_uint_gt(failed, 0);
  printf("alloc_failure_score: %zu of %zu runs failed cleanly, %lu "
         "allocations\n",
         failed, np, n);
  free(pts);
  free(args);
}
END_TEST

/* ---- full disk ---- */

/* A directory on a filesystem of a few MB (a tmpfs, as root), or NULL. */
static char *small_fs(void) {
  if (geteuid() != 0)
    return NULL;
  char *m = pm_test_fmt("%s/tmpfs", W.dir);
  ck_assert_int_eq(mkdir(m, 0700), 0);
  if (mount("penmark-test", m, "tmpfs", MS_NOSUID | MS_NODEV,
            "size=8m,mode=0700") != 0) {
    rmdir(m);
    free(m);
    return NULL;
  }
  return m;
}

/* Fills the filesystem of dir until `leave` bytes are free. */
static void fill(const char *path, const char *dir, unsigned long long leave) {
  struct statvfs sv;
  ck_assert_int_eq(statvfs(dir, &sv), 0);
  unsigned long long avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  static char block[65536];
  unsigned long long left = avail > leave ? avail - leave : 0;
  while (left) {
    size_t n = left < sizeof block ? (size_t)left : sizeof block;
    ssize_t w = write(fd, block, n);
    if (w <= 0)
      break;
    left -= (unsigned long long)w;
  }
  close(fd);
}

START_TEST(full_disk) {
  char *fs = small_fs();
  char *store;
  char *env;
  char *filler = NULL;
  if (fs) {
    store = pm_test_fmt("%s/store", fs);
    ck_assert_int_eq(mkdir(store, 0700), 0);
    char *from = pm_test_fmt("%s/t.db", W.base),
         *to = pm_test_fmt("%s/t.db", store);
    copy_file(from, to);
    free(from);
    free(to);
    filler = pm_test_fmt("%s/filler", fs);
    fill(filler, fs, 32 * 1024);
    env = strdup("");
  } else {
    /* not root: a file-size limit just above the store's size (and
     * SIGXFSZ ignored, so that a write past it fails with EFBIG) */
    store = fresh_store("fsize");
    char *db = pm_test_fmt("%s/t.db", store);
    struct stat st;
    ck_assert_int_eq(stat(db, &st), 0);
    env = pm_test_fmt("trap '' XFSZ; ulimit -f %lld;",
                      (long long)(st.st_size / 512 + 8));
    free(db);
  }
  char *err = NULL;
  int rc = train(env, store, W.in_b, &err);
  ck_assert_msg(rc == 1, "a run on a full disk exited %d: %s", rc, err);
  check_failure(rc, err, store, "full disk");
  check_last_good(store, "full disk");
  if (filler)
    ck_assert_int_eq(unlink(filler), 0);
  check_next_run(store, "full disk, then space");
  printf("full_disk: %s: %s", fs ? "tmpfs" : "ulimit -f", err);
  free(err);
  free(env);
  free(filler);
  free(store);
  if (fs) {
    ck_assert_int_eq(umount2(fs, MNT_DETACH), 0);
    free(fs);
  }
}
END_TEST

/* ---- SIGKILL ---- */

static pid_t start_train(const char *store) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    execl(pm_test_penmark(), "penmark", "train", "--tenant", "t", "--store",
          store, "--config", W.cfg, "--min-mails", "2", "--threads", "1",
          W.in_b, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(killed_runs) {
  /* how long a run takes here, to spread the kills over it */
  char *s0 = fresh_store("kill-timing");
  double t0 = now_s();
  int status = 0;
  pid_t pid = start_train(s0);
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  double run_s = now_s() - t0;
  free(s0);
  static const double at[] = {0.0, 0.2, 0.45, 0.7, 0.9};
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    char *name = pm_test_fmt("kill%zu", i);
    char *store = fresh_store(name);
    char *what = pm_test_fmt("SIGKILL at %.0f%% of a run", at[i] * 100);
    pid = start_train(store);
    struct timespec d = {
        .tv_sec = (time_t)(at[i] * run_s),
        .tv_nsec =
            (long)((at[i] * run_s - (double)(time_t)(at[i] * run_s)) * 1e9)};
    nanosleep(&d, NULL);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFSIGNALED(status) ||
              (WIFEXITED(status) && WEXITSTATUS(status) == 0));
    check_last_good(store, what);
    check_next_run(store, what);
    free(what);
    free(store);
    free(name);
  }
}
END_TEST

/* ---- a second writer ---- */

START_TEST(second_writer) {
  char *store = fresh_store("busy");
  pm_config *cfg = NULL;
  pm_error e;
  pm_error_clear(&e);
  ck_assert_int_eq(pm_config_load(W.cfg, &cfg, &e), PM_OK);
  char *json = pm_config_to_json(cfg);
  pm_store *st = NULL;
  ck_assert_int_eq(pm_store_open(store, "t", PM_STORE_WRITE, json,
                                 pm_config_hash(cfg), &st, &e),
                   PM_OK);
  ck_assert_int_eq(pm_store_begin(st, &e), PM_OK); /* holds the lock */
  char *err = NULL;
  double t0 = now_s();
  int rc = train("", store, W.in_b, &err);
  double waited = now_s() - t0;
  ck_assert_msg(rc == 1, "a run against a held store exited %d: %s", rc, err);
  ck_assert_msg(strstr(err, store) && strstr(err, "busy"),
                "the message does not say the store is busy: %s", err);
  /* bounded: the 10 s busy timeout, not forever (generous for slow
   * machines; no speed is asserted, only that it gives up) */
  ck_assert_msg(waited < 120, "waited %.0f s", waited);
  pm_store_rollback(st);
  pm_store_close(st);
  check_last_good(store, "second writer");
  check_next_run(store, "second writer gone");

  /* two runs at once on one store: both end well (one waits for the
   * other) or one says the store is busy; the store ends whole */
  char *s2 = fresh_store("two");
  pid_t a = start_train(s2), b = start_train(s2);
  int sa = 0, sb = 0;
  ck_assert_int_eq(waitpid(a, &sa, 0), a);
  ck_assert_int_eq(waitpid(b, &sb, 0), b);
  ck_assert(WIFEXITED(sa) && WEXITSTATUS(sa) <= 1);
  ck_assert(WIFEXITED(sb) && WEXITSTATUS(sb) <= 1);
  ck_assert(WEXITSTATUS(sa) == 0 || WEXITSTATUS(sb) == 0);
  char *s = probe_score(s2);
  ck_assert_str_eq(s, W.score_ab);
  free(s);
  free(s2);
  free(err);
  free(json);
  pm_config_free(cfg);
  free(store);
}
END_TEST

static Suite *faults_suite(void) {
  Suite *s = suite_create("faults");
  TCase *c = tcase_create("faults");
  tcase_add_unchecked_fixture(c, setup, teardown);
  tcase_set_timeout(c, 900);
  tcase_add_test(c, alloc_failure_train);
  tcase_add_test(c, alloc_failure_score);
  tcase_add_test(c, full_disk);
  tcase_add_test(c, killed_runs);
  tcase_add_test(c, second_writer);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(faults_suite()) != 0;
}
