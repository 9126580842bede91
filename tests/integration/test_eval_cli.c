/* penmark eval, the real command on the sample corpus (data/sample/corpus):
 * the trials file, the report, the plot, failures and unscorable mail. */
#include "penmark/eval.h"

#include "tests/support.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *tmp;

static void setup(void) {
  tmp = pm_test_tmpdir();
}

static void teardown(void) {
  pm_test_rmtree(tmp);
  free(tmp);
  tmp = NULL;
}

static char *sample_corpus(void) {
  const char *data = getenv("PM_DATA");
  return pm_test_fmt("%s/sample/corpus", data ? data : "data");
}

/* The number of trials of a corpus by this module's protocol functions. */
static size_t protocol_trials(const char *corpus) {
  pm_eval_corpus *c = NULL;
  ck_assert_int_eq(pm_eval_corpus_open(corpus, &c, NULL), PM_OK);
  size_t n;
  pm_eval_corpus_trials(c, &n);
  pm_eval_corpus_free(c);
  return n;
}

/* Runs `penmark eval ARGS` with TMPDIR set to a fresh directory, which must
 * be empty again afterwards (the temporary store is removed). */
static int run_eval(const char *args, char **out, char **err) {
  char *t = pm_test_fmt("%s/tmp", tmp);
  mkdir(t, 0700);
  char *cmd =
      pm_test_fmt("TMPDIR='%s' '%s' eval %s", t, pm_test_penmark(), args);
  int rc = pm_test_run(cmd, out, err);
  ck_assert_msg(pm_test_count_entries(t) == 0, "temporary store left in %s", t);
  free(cmd);
  free(t);
  return rc;
}

static const char *const report_keys[] = {
    "n_genuine",  "n_impostor",      "auc",
    "eer",        "tpr_at_fpr_1pct", "tpr_at_fpr_0.1pct",
    "brier",      "abstain_rate",    "insider",
    "short",      "senders",         "profiled",
    "outsiders",  "mails",           "trials",
    "unscorable", "training",        "scoring"};

START_TEST(sample_corpus_eval) {
  char *corpus = sample_corpus();
  char *tsv = pm_test_fmt("%s/trials.tsv", tmp),
       *rep = pm_test_fmt("%s/report.json", tmp),
       *svg = pm_test_fmt("%s/roc.svg", tmp);
  char *args = pm_test_fmt("'%s' --trials-out '%s' --report '%s' --plot '%s'",
                           corpus, tsv, rep, svg);
  char *out, *err;
  int rc = run_eval(args, &out, &err);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);

  /* The trials file: header and the protocol's trials. protocol.py gives
   * 159 for the sample corpus (32 genuine, 52 impostor, 75 insider). */
  char *t = pm_test_read_file(tsv, NULL);
  const char head[] = "mail\tclaimed\tlabel\tscore\tabstained\n";
  ck_assert_int_eq(strncmp(t, head, sizeof head - 1), 0);
  ck_assert_uint_eq(pm_test_count_lines(t) - 1, protocol_trials(corpus));
  ck_assert_uint_eq(pm_test_count_lines(t) - 1, 159);

  /* The report, in the file and on stdout. */
  char *r = pm_test_read_file(rep, NULL);
  cJSON *j = cJSON_Parse(r), *jo = cJSON_Parse(out);
  ck_assert_msg(j != NULL, "report is not JSON: %s", r);
  ck_assert_msg(jo != NULL, "stdout is not JSON: %s", out);
  for (size_t i = 0; i < sizeof report_keys / sizeof report_keys[0]; i++) {
    ck_assert_msg(cJSON_HasObjectItem(j, report_keys[i]), "no %s",
                  report_keys[i]);
    ck_assert_msg(cJSON_HasObjectItem(jo, report_keys[i]), "no %s",
                  report_keys[i]);
  }
  ck_assert_double_eq(cJSON_GetObjectItem(j, "n_genuine")->valuedouble, 32);
  ck_assert_double_eq(cJSON_GetObjectItem(j, "n_impostor")->valuedouble, 52);
  ck_assert_double_eq(cJSON_GetObjectItem(j, "trials")->valuedouble, 159);
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(j, "auc")));
  ck_assert(cJSON_IsObject(cJSON_GetObjectItem(j, "insider")));
  /* The summary table on stderr. */
  ck_assert_ptr_nonnull(strstr(err, "impostor"));
  ck_assert_ptr_nonnull(strstr(err, "AUC"));

  char *s = pm_test_read_file(svg, NULL);
  ck_assert_int_eq(strncmp(s, "<svg", 4), 0);
  ck_assert_ptr_nonnull(strstr(s, "</svg>"));
  ck_assert_ptr_nonnull(strstr(s, "impostor vs genuine (AUC"));

  cJSON_Delete(j);
  cJSON_Delete(jo);
  free(s);
  free(r);
  free(t);
  free(out);
  free(err);
  free(args);
  free(svg);
  free(rep);
  free(tsv);
  free(corpus);
}
END_TEST

START_TEST(threads_do_not_change_scores) {
  char *corpus = sample_corpus();
  char *t1 = pm_test_fmt("%s/t1.tsv", tmp), *t2 = pm_test_fmt("%s/t2.tsv", tmp);
  char *a1 = pm_test_fmt("'%s' --threads 1 --trials-out '%s'", corpus, t1);
  char *a2 = pm_test_fmt("'%s' --threads 3 --trials-out '%s'", corpus, t2);
  ck_assert_int_eq(run_eval(a1, NULL, NULL), 0);
  ck_assert_int_eq(run_eval(a2, NULL, NULL), 0);
  char *s1 = pm_test_read_file(t1, NULL), *s2 = pm_test_read_file(t2, NULL);
  ck_assert_str_eq(s1, s2);
  free(s1);
  free(s2);
  free(a1);
  free(a2);
  free(t1);
  free(t2);
  free(corpus);
}
END_TEST

START_TEST(curve_and_ablation) {
  char *corpus = sample_corpus();
  char *args = pm_test_fmt("'%s' --learning-curve --ablation", corpus);
  char *out, *err;
  int rc = run_eval(args, &out, &err);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
  cJSON *j = cJSON_Parse(out);
  ck_assert_ptr_nonnull(j);
  /* the four profiled senders have 30 to 32 training mails: k = 10 and 20
   * are run, 50 and more are skipped. */
  cJSON *lc = cJSON_GetObjectItem(j, "learning_curve");
  ck_assert(cJSON_IsArray(lc));
  ck_assert_int_eq(cJSON_GetArraySize(lc), 2);
  ck_assert_double_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(lc, 0), "k")->valuedouble, 10);
  ck_assert_double_eq(
      cJSON_GetObjectItem(cJSON_GetArrayItem(lc, 1), "senders_with_k")
          ->valuedouble,
      4);
  cJSON *ab = cJSON_GetObjectItem(j, "ablation");
  ck_assert(cJSON_IsArray(ab));
  ck_assert_int_ge(cJSON_GetArraySize(ab), 1);
  ck_assert(cJSON_IsString(
      cJSON_GetObjectItem(cJSON_GetArrayItem(ab, 0), "family_removed")));
  ck_assert_ptr_nonnull(strstr(err, "ablation"));
  cJSON_Delete(j);
  free(out);
  free(err);
  free(args);
  free(corpus);
}
END_TEST

/* A copy of two senders of the sample corpus, the last mail of the
 * outsider emptied: it cannot be parsed, its trial must still be there. */
START_TEST(unscorable_mail) {
  char *src = sample_corpus();
  char *corpus = pm_test_fmt("%s/corpus", tmp);
  ck_assert_int_eq(mkdir(corpus, 0755), 0);
  static const char *senders[] = {"shota.yamamoto@harborpine.example",
                                  "dana.whitfield@harborpine.example"};
  char *last = NULL;
  for (size_t i = 0; i < 2; i++) {
    char *sd = pm_test_fmt("%s/%s", src, senders[i]),
         *dd = pm_test_fmt("%s/%s", corpus, senders[i]);
    ck_assert_int_eq(mkdir(dd, 0755), 0);
    DIR *d = opendir(sd);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.')
        continue;
      char *from = pm_test_fmt("%s/%s", sd, e->d_name),
           *to = pm_test_fmt("%s/%s", dd, e->d_name);
      char *body = pm_test_read_file(from, NULL);
      pm_test_write_file(to, body, strlen(body));
      if (i == 1 && (!last || strcmp(to, last) > 0)) {
        free(last);
        last = strdup(to);
      }
      free(body);
      free(from);
      free(to);
    }
    closedir(d);
    free(sd);
    free(dd);
  }
  pm_test_write_file(last, "", 0);
  char *tsv = pm_test_fmt("%s/t.tsv", tmp);
  char *args = pm_test_fmt("'%s' --trials-out '%s'", corpus, tsv);
  char *out, *err;
  int rc = run_eval(args, &out, &err);
  ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
  cJSON *j = cJSON_Parse(out);
  ck_assert_ptr_nonnull(j);
  cJSON *u = cJSON_GetObjectItem(j, "unscorable");
  ck_assert_double_eq(cJSON_GetObjectItem(u, "mails")->valuedouble, 1);
  ck_assert_double_eq(cJSON_GetObjectItem(u, "trials")->valuedouble, 1);
  char *t = pm_test_read_file(tsv, NULL);
  const char *base = strrchr(last, '/') + 1;
  char *row = pm_test_fmt(
      "dana.whitfield@harborpine.example/%s\tshota.yamamoto@harborpine."
      "example\timpostor\t0.500000\t1\n",
      base);
  ck_assert_msg(strstr(t, row) != NULL, "no abstained row %s in\n%s", row, t);
  ck_assert_uint_eq(pm_test_count_lines(t) - 1, protocol_trials(corpus));
  cJSON_Delete(j);
  free(row);
  free(t);
  free(out);
  free(err);
  free(args);
  free(tsv);
  free(last);
  free(corpus);
  free(src);
}
END_TEST

START_TEST(missing_corpus) {
  char *missing = pm_test_fmt("%s/no-such-corpus", tmp);
  char *args = pm_test_fmt("'%s'", missing);
  char *err;
  int rc = run_eval(args, NULL, &err);
  ck_assert_int_ne(rc, 0);
  ck_assert_msg(strstr(err, missing) != NULL, "message: %s", err);
  free(err);
  free(args);
  free(missing);
}
END_TEST

START_TEST(no_profiled_sender) {
  /* One enrolled sender with 10 mails: no profile, nothing to evaluate. */
  char *corpus = pm_test_fmt("%s/small", tmp),
       *d = pm_test_fmt("%s/small/dave", tmp);
  ck_assert_int_eq(mkdir(corpus, 0755), 0);
  ck_assert_int_eq(mkdir(d, 0755), 0);
  for (int i = 1; i <= 10; i++) {
    char *f = pm_test_fmt("%s/%02d.txt", d, i);
    pm_test_write_file(f, "Fictional.\n", 11);
    free(f);
  }
  char *args = pm_test_fmt("'%s'", corpus), *err;
  int rc = run_eval(args, NULL, &err);
  ck_assert_int_ne(rc, 0);
  ck_assert_msg(strstr(err, "no sender has a profile") != NULL, "%s", err);
  free(err);
  free(args);
  free(d);
  free(corpus);
}
END_TEST

START_TEST(usage_errors) {
  char *err;
  ck_assert_int_eq(run_eval("", NULL, &err), 2);
  free(err);
  ck_assert_int_eq(run_eval("a b", NULL, &err), 2);
  free(err);
  ck_assert_int_eq(run_eval("--threads 0 x", NULL, &err), 2);
  free(err);
  char *corpus = sample_corpus(),
       *args = pm_test_fmt("'%s' --plot x.png", corpus);
  ck_assert_int_eq(run_eval(args, NULL, &err), 2);
  ck_assert_ptr_nonnull(strstr(err, "SVG"));
  free(err);
  free(args);
  free(corpus);
  char *out;
  ck_assert_int_eq(run_eval("--help", &out, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "--trials-out"));
  free(out);
}
END_TEST

/* Starts an evaluation of the sample corpus with TMPDIR=tmpdir, sends it
 * SIGINT after delay_ms, and returns its wait status. */
static int interrupted_eval(const char *tmpdir, long delay_ms) {
  char *corpus = sample_corpus();
  /* The child must meet SIGINT with the default action until it runs
   * penmark, not with the test framework's handler (which would kill the
   * whole test): blocked across fork, reset, then let through. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    setenv("TMPDIR", tmpdir, 1);
    execl(pm_test_penmark(), pm_test_penmark(), "eval", corpus, (char *)NULL);
    _exit(127);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  ck_assert_int_ge(pid, 0);
  struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
  kill(pid, SIGINT);
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  free(corpus);
  return status;
}

/* An interrupted evaluation takes its temporary store with it, at any
 * moment: right at the start, during training and during scoring. */
START_TEST(interrupt_leaves_no_store) {
  char *tdir = pm_test_fmt("%s/tmp", tmp);
  ck_assert_int_eq(mkdir(tdir, 0700), 0);
  static const long delays[] = {0, 5, 30, 200, 700, 1200};
  int interrupted = 0;
  for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
    int st = interrupted_eval(tdir, delays[i]);
    /* 128 + SIGINT once the guard is up; before it, killed by the signal
     * with nothing made yet; after the run, a normal exit */
    bool ok = (WIFEXITED(st) &&
               (WEXITSTATUS(st) == 128 + SIGINT || WEXITSTATUS(st) == 0)) ||
              (WIFSIGNALED(st) && WTERMSIG(st) == SIGINT);
    ck_assert_msg(ok, "delay %ld ms: wait status %d", delays[i], st);
    interrupted += WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGINT;
    ck_assert_msg(pm_test_count_entries(tdir) == 0,
                  "delay %ld ms: the temporary store was left in %s", delays[i],
                  tdir);
  }
  /* the run takes seconds: the later signals did come in mid-run */
  ck_assert_int_ge(interrupted, 1);
  free(tdir);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval_cli");
  TCase *c = tcase_create("eval");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_add_test(c, sample_corpus_eval);
  tcase_add_test(c, threads_do_not_change_scores);
  tcase_add_test(c, curve_and_ablation);
  tcase_add_test(c, unscorable_mail);
  tcase_add_test(c, missing_corpus);
  tcase_add_test(c, no_profiled_sender);
  tcase_add_test(c, usage_errors);
  tcase_add_test(c, interrupt_leaves_no_store);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) != 0;
}
