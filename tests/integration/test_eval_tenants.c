/* penmark eval --tenant-size, the real command on the sample corpus
 * (data/sample/corpus, 6 senders): the pooled trials file checked by the
 * protocol's rules, the report's tenant facts. When python3 and the
 * protocol's reference (protocol.py: $PM_PROTOCOL, else
 * ../shared/peers/protocol.py) are there, it must accept the file too. */
#include "tests/support.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
  return pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
}

/* Runs `penmark eval --mimicry ARGS CORPUS --trials-out TSV`; the report
 * (stdout) parsed, the trials file read. No temporary store may be left. */
static cJSON *run_eval(const char *args, const char *corpus, const char *tsv,
                       char **trials) {
  char *t = pm_test_fmt("%s/tmp", tmp);
  mkdir(t, 0700);
  char *cmd = pm_test_fmt("TMPDIR='%s' '%s' eval --mimicry %s '%s' "
                          "--trials-out '%s'",
                          t, pm_test_penmark(), args, corpus, tsv);
  char *out, *err;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0, "%s: exit %d: %s", cmd, rc, err);
  ck_assert_msg(pm_test_count_entries(t) == 0, "temporary store left in %s", t);
  cJSON *j = cJSON_Parse(out);
  ck_assert_msg(j != NULL, "report is not JSON: %s", out);
  *trials = pm_test_read_file(tsv, NULL);
  free(out);
  free(err);
  free(cmd);
  free(t);
  return j;
}

static double num(const cJSON *j, const char *key) {
  const cJSON *v = cJSON_GetObjectItem(j, key);
  ck_assert_msg(cJSON_IsNumber(v), "no number %s", key);
  return v->valuedouble;
}

/* The sample corpus in groups of 3 (byte order): dana, makoto (outsiders)
 * and margaret; misaki, shota, tomas. */
static int group3(const char *sender, size_t len) {
  static const char *g0[] = {"dana.whitfield", "makoto.takahashi",
                             "margaret.osei"};
  for (size_t i = 0; i < 3; i++)
    if (len >= strlen(g0[i]) && !strncmp(sender, g0[i], strlen(g0[i])))
      return 0;
  return 1;
}

typedef struct {
  size_t genuine, impostor, insider, mimicry;
} counts;

/* Checks every row of a pooled trials file: five fields, a known label, a
 * score in [0, 1], the mail's sender and the claimed sender in the same
 * group (group NULL: one group), no pair listed twice under one label,
 * each mimicry trial following its impostor trial. */
static counts check_rows(char *t, int (*group)(const char *, size_t)) {
  counts n = {0};
  const char head[] = "mail\tclaimed\tlabel\tscore\tabstained\n";
  ck_assert_int_eq(strncmp(t, head, sizeof head - 1), 0);
  char *prev = NULL, *save = NULL;
  for (char *ln = strtok_r(t + sizeof head - 1, "\n", &save); ln;
       ln = strtok_r(NULL, "\n", &save)) {
    char *f[5], *fs = NULL, *row = strdup(ln);
    int nf = 0;
    for (char *p = strtok_r(row, "\t", &fs); p && nf < 5;
         p = strtok_r(NULL, "\t", &fs))
      f[nf++] = p;
    ck_assert_msg(nf == 5, "row %s", ln);
    const char *slash = strchr(f[0], '/');
    ck_assert_msg(slash != NULL, "mail %s", f[0]);
    if (group)
      ck_assert_msg(group(f[0], (size_t)(slash - f[0])) ==
                        group(f[1], strlen(f[1])),
                    "%s claimed as %s from another group", f[0], f[1]);
    double s = strtod(f[3], NULL);
    ck_assert_msg(s >= 0.0 && s <= 1.0, "score %s", f[3]);
    if (!strcmp(f[2], "genuine")) {
      n.genuine++;
      ck_assert_int_eq(strncmp(f[0], f[1], (size_t)(slash - f[0])), 0);
    } else if (!strcmp(f[2], "impostor")) {
      n.impostor++;
    } else if (!strcmp(f[2], "insider")) {
      n.insider++;
    } else {
      ck_assert_str_eq(f[2], "mimicry");
      n.mimicry++;
      /* The impostor trial of the same pair comes right before. */
      char *want = pm_test_fmt("%s\t%s\timpostor\t", f[0], f[1]);
      ck_assert_msg(prev && !strncmp(prev, want, strlen(want)),
                    "mimicry %s %s without its impostor trial", f[0], f[1]);
      free(want);
    }
    free(row);
    prev = ln;
  }
  return n;
}

/* protocol.py metrics TSV --corpus C --group N: exit 0 when the file holds
 * exactly the protocol's trials. Skipped (true) without python3 or the
 * reference. */
static bool protocol_accepts(const char *tsv, const char *corpus, int n) {
  const char *ref = getenv("PM_PROTOCOL");
  if (!ref)
    ref = "../shared/peers/protocol.py";
  if (access(ref, R_OK) != 0 ||
      pm_test_run("python3 -c 'import sys'", NULL, NULL) != 0)
    return true;
  char *cmd = pm_test_fmt("python3 '%s' metrics '%s' --corpus '%s' --group %d",
                          ref, tsv, corpus, n);
  char *err;
  int rc = pm_test_run(cmd, NULL, &err);
  if (rc)
    fprintf(stderr, "%s: %s\n", cmd, err);
  free(err);
  free(cmd);
  return rc == 0;
}

/* Groups of 3: two tenants, each its own P, so the claims stay inside.
 * protocol.py trials --group 3 gives 32 genuine, 16 impostor, 40 insider
 * (the whole corpus as one tenant: 32, 52, 75). */
START_TEST(two_tenants) {
  char *corpus = sample_corpus(), *tsv = pm_test_fmt("%s/t3.tsv", tmp), *t;
  cJSON *j = run_eval("--tenant-size 3", corpus, tsv, &t);
  counts n = check_rows(t, group3);
  ck_assert_uint_eq(n.genuine, 32);
  ck_assert_uint_eq(n.impostor, 16);
  ck_assert_uint_eq(n.insider, 40);
  ck_assert_uint_gt(n.mimicry, 0);
  ck_assert_uint_le(n.mimicry, n.impostor);
  ck_assert_double_eq(num(j, "tenant_size"), 3);
  ck_assert_double_eq(num(j, "tenants"), 2);
  /* margaret is the one profile of the first group */
  ck_assert_double_eq(num(j, "tenants_under_2_profiled"), 1);
  ck_assert_double_eq(num(j, "trials"), 32 + 16 + 40 + (double)n.mimicry);
  ck_assert_double_eq(num(j, "n_impostor"), 16);
  ck_assert_double_eq(num(cJSON_GetObjectItem(j, "mimicry"), "n_mimicry"),
                      (double)n.mimicry);
  /* Each group trained apart: the stores together hold the four
   * profiled senders' training mail and no more. */
  cJSON *tr = cJSON_GetObjectItem(j, "training");
  ck_assert_double_eq(num(tr, "mails"), 120);
  ck_assert_msg(protocol_accepts(tsv, corpus, 3), "protocol.py refused %s",
                tsv);
  cJSON_Delete(j);
  free(t);
  free(tsv);
  free(corpus);
}
END_TEST

/* Groups of 8 on 6 senders: one tenant, the whole corpus; the pooled file
 * is the plain run's, byte for byte. */
START_TEST(one_tenant_is_plain_run) {
  char *corpus = sample_corpus(), *t8f = pm_test_fmt("%s/t8.tsv", tmp),
       *pf = pm_test_fmt("%s/plain.tsv", tmp), *t8, *plain;
  cJSON *j8 = run_eval("--tenant-size 8", corpus, t8f, &t8);
  cJSON *jp = run_eval("", corpus, pf, &plain);
  ck_assert_str_eq(t8, plain);
  ck_assert_double_eq(num(j8, "tenant_size"), 8);
  ck_assert_double_eq(num(j8, "tenants"), 1);
  ck_assert_double_eq(num(j8, "tenants_under_2_profiled"), 0);
  ck_assert_ptr_null(cJSON_GetObjectItem(jp, "tenant_size"));
  counts n = check_rows(t8, NULL);
  ck_assert_uint_eq(n.genuine, 32);
  ck_assert_uint_eq(n.impostor, 52);
  ck_assert_uint_eq(n.insider, 75);
  ck_assert_msg(protocol_accepts(t8f, corpus, 8), "protocol.py refused %s",
                t8f);
  cJSON_Delete(j8);
  cJSON_Delete(jp);
  free(t8);
  free(plain);
  free(t8f);
  free(pf);
  free(corpus);
}
END_TEST

START_TEST(bad_size) {
  char *corpus = sample_corpus();
  static const char *bad[] = {"0", "-1", "x", "8x"};
  for (size_t i = 0; i < 4; i++) {
    char *cmd = pm_test_fmt("'%s' eval --tenant-size %s '%s'",
                            pm_test_penmark(), bad[i], corpus);
    char *err;
    ck_assert_int_eq(pm_test_run(cmd, NULL, &err), 2);
    ck_assert_msg(strstr(err, "--tenant-size") != NULL, "%s", err);
    free(err);
    free(cmd);
  }
  char *out;
  char *help = pm_test_fmt("'%s' eval --help", pm_test_penmark());
  ck_assert_int_eq(pm_test_run(help, &out, NULL), 0);
  ck_assert_ptr_nonnull(strstr(out, "--tenant-size N"));
  free(out);
  free(help);
  free(corpus);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("eval_tenants_cli");
  TCase *c = tcase_create("tenants");
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_add_test(c, two_tenants);
  tcase_add_test(c, one_tenant_is_plain_run);
  tcase_add_test(c, bad_size);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) != 0;
}
