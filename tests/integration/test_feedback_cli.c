/* penmark feedback, the command: --impostor and --genuine on a store
 * trained by `penmark train` from the sample corpus, scored by `penmark
 * score` before and after; the command line's refusals. */
#include "penmark/config.h"
#include "penmark/store.h"
#include "tests/support.h"
#include "train/feedback.h"
#include "train/gram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static int run(const char *args, char **out, char **err) {
  char *cmd = pm_test_fmt("'%s' %s", pm_test_penmark(), args);
  int rc = pm_test_run(cmd, out, err);
  free(cmd);
  return rc;
}

static void setup(void) {
  dir = pm_test_tmpdir();
  char *args = pm_test_fmt("train --tenant demo --store '%s/store' "
                           "'%s/sample/corpus'",
                           dir, pm_test_data_dir());
  char *err = NULL;
  int rc = run(args, NULL, &err);
  ck_assert_msg(rc == 0, "train: %s", err);
  free(err);
  free(args);
}

static void teardown(void) {
  pm_test_rmtree(dir);
  free(dir);
}

/* The probability of `penmark score` on one mail. */
static double score(const char *mail) {
  char *args =
      pm_test_fmt("score --tenant demo --store '%s/store' '%s'", dir, mail);
  char *out = NULL, *err = NULL;
  int rc = run(args, &out, &err);
  ck_assert_msg(rc == 0, "score %s: %s", mail, err);
  char *p = strstr(out, "\"probability\":");
  ck_assert_ptr_nonnull(p);
  double v = strtod(p + 14, NULL);
  free(out);
  free(err);
  free(args);
  return v;
}

static char *sample(const char *name) {
  return pm_test_fmt("%s/sample/inbound/%s", pm_test_data_dir(), name);
}

START_TEST(impostor_then_near_copy) {
  char *attack = sample("impostor-margaret.osei-1.eml");
  char *near = pm_test_fmt("%s/near.eml", dir);
  char *cmd = pm_test_fmt("sed -e 's/^Message-ID: </Message-ID: <next-/' "
                          "-e 's/quite urgent/rather urgent/' '%s' > '%s'",
                          attack, near);
  ck_assert_int_eq(pm_test_run(cmd, NULL, NULL), 0);
  double before = score(near);
  char *args = pm_test_fmt(
      "feedback --tenant demo --store '%s/store' --impostor '%s'", dir, attack);
  char *out = NULL, *err = NULL;
  int rc = run(args, &out, &err);
  ck_assert_msg(rc == 0, "feedback: %s", err);
  ck_assert_msg(strstr(out, "attacks recorded  1"), "%s", out);
  free(out);
  free(err);
  double after = score(near);
  ck_assert_msg(after > before, "near-copy: p %g before, %g after", before,
                after);
  /* again: a duplicate, nothing changes */
  rc = run(args, &out, &err);
  ck_assert_msg(rc == 0, "feedback again: %s", err);
  ck_assert_msg(strstr(out, "attacks recorded  0") &&
                    strstr(out, "duplicates        1"),
                "%s", out);
  ck_assert(score(near) == after);
  free(out);
  free(err);
  free(args);
  free(cmd);
  free(near);
  free(attack);
}
END_TEST

START_TEST(genuine_released) {
  char *mail = sample("genuine-dana.whitfield-1.eml");
  double before = score(mail);
  char *args = pm_test_fmt(
      "feedback --tenant demo --store '%s/store' --json --genuine '%s'", dir,
      mail);
  char *out = NULL, *err = NULL;
  int rc = run(args, &out, &err);
  ck_assert_msg(rc == 0, "feedback: %s", err);
  ck_assert_msg(strstr(out, "\"feedback\":\"genuine\"") &&
                    strstr(out, "\"mails_learned\":1"),
                "%s", out);
  free(out);
  free(err);
  double after = score(mail);
  ck_assert_msg(after < before, "released: p %g before, %g after", before,
                after);
  rc = run(args, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, "\"mails_duplicate\":1"), "%s", out);
  ck_assert(score(mail) == after);
  free(out);
  free(err);
  free(args);
  free(mail);
}
END_TEST

START_TEST(refusals) {
  char *mail = sample("genuine-dana.whitfield-1.eml");
  char *out = NULL, *err = NULL;
  /* neither or both kinds: usage */
  char *args =
      pm_test_fmt("feedback --tenant demo --store '%s/store' '%s'", dir, mail);
  ck_assert_int_eq(run(args, &out, &err), 2);
  ck_assert_msg(strstr(err, "--genuine or --impostor"), "%s", err);
  free(out);
  free(err);
  free(args);
  args = pm_test_fmt(
      "feedback --tenant demo --store '%s/store' --genuine --impostor '%s'",
      dir, mail);
  ck_assert_int_eq(run(args, &out, &err), 2);
  free(out);
  free(err);
  free(args);
  /* a tenant without a store: named, and no store made */
  args = pm_test_fmt(
      "feedback --tenant nobody --store '%s/store' --genuine '%s'", dir, mail);
  ck_assert_int_eq(run(args, &out, &err), 1);
  ck_assert_msg(strstr(err, "nobody.db"), "%s", err);
  free(out);
  free(err);
  free(args);
  char *path = pm_test_fmt("%s/store/nobody.db", dir);
  struct stat sb;
  ck_assert_msg(stat(path, &sb) != 0, "%s was created", path);
  free(path);
  /* a file that is not a mail: counted, named, exit 1 */
  char *bin = pm_test_fmt("%s/binary.eml", dir);
  pm_test_write_file(bin,
                     "\x7f"
                     "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0",
                     16);
  args = pm_test_fmt(
      "feedback --tenant demo --store '%s/store' --impostor '%s'", dir, bin);
  ck_assert_int_eq(run(args, &out, &err), 1);
  ck_assert_msg(strstr(out, "binary.eml"), "%s\n%s", out, err);
  free(out);
  free(err);
  free(args);
  free(bin);
  free(mail);
}
END_TEST

/* Attacks stored and mails in the tenant's moments, read from the store. */
static void store_counts(size_t *attacks, uint64_t *moments) {
  char *sdir = pm_test_fmt("%s/store", dir);
  pm_store *st = NULL;
  pm_error err;
  pm_status rc = pm_store_open(sdir, "demo", PM_STORE_READ, NULL, 0, &st, &err);
  ck_assert_msg(rc == PM_OK, "open: %s", pm_error_message(&err));
  pm_config *cfg = pm_config_default();
  uint32_t d = pm_config_vector_dim(cfg);
  pm__sample a;
  rc = pm__attacks_load(st, d, &a, &err);
  ck_assert_msg(rc == PM_OK, "attacks: %s", pm_error_message(&err));
  *attacks = a.n;
  pm__sample_free(&a);
  void *blob = NULL;
  size_t len = 0;
  ck_assert_int_eq(pm_store_get(st, "moments", 0, &blob, &len, &err), PM_OK);
  uint64_t n = 0;
  ck_assert_int_eq(pm__gram_blob_count(blob, len, &n, &err), PM_OK);
  *moments = n;
  free(blob);
  pm_config_free(cfg);
  pm_store_close(st);
  free(sdir);
}

/* A run killed at any moment leaves the store as it was or with every
 * attack of the run: one transaction. The sample corpus's 240 mails stand
 * in for attacks on a store of its own (they are duplicates of the
 * training, so a copy under other Message-IDs is fed back). */
START_TEST(killed_run_leaves_store_whole) {
  char *cmd = pm_test_fmt(
      "cd '%s/sample/corpus' && for f in */*; do "
      "mkdir -p '%s/attacks/'\"$(dirname \"$f\")\" && "
      "sed 's/^Message-ID: </Message-ID: <attack-/I' \"$f\" > "
      "'%s/attacks/'\"$f\" || exit 1; done; find '%s/attacks' -type f | wc -l",
      pm_test_data_dir(), dir, dir, dir);
  char *out = NULL;
  ck_assert_int_eq(pm_test_run(cmd, &out, NULL), 0);
  int n_files = atoi(out);
  free(out);
  free(cmd);
  size_t a0;
  uint64_t n0;
  store_counts(&a0, &n0);
  ck_assert_uint_eq(a0, 0);
  ck_assert_int_gt(n_files, 100);
  const char *delays[] = {"0.5", "2", "5"};
  for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
    cmd = pm_test_fmt("'%s' feedback --tenant demo --store '%s/store' "
                      "--threads 1 --impostor '%s/attacks' >/dev/null 2>&1 & "
                      "p=$!; sleep %s; kill -9 $p 2>/dev/null; wait $p; true",
                      pm_test_penmark(), dir, dir, delays[i]);
    ck_assert_int_eq(pm_test_run(cmd, NULL, NULL), 0);
    free(cmd);
    size_t a;
    uint64_t n;
    store_counts(&a, &n);
    ck_assert_msg((a == 0 && n == n0) || (n == n0 + (uint64_t)n_files && a > 0),
                  "killed after %s s: %zu attacks stored, %llu mails in the "
                  "moments (before: %llu, attacks fed: %d)",
                  delays[i], a, (unsigned long long)n, (unsigned long long)n0,
                  n_files);
    if (a > 0)
      break; /* the run had committed: nothing more to kill */
  }
  /* run to its end: every attack stored, every one in the moments */
  cmd = pm_test_fmt("'%s' feedback --tenant demo --store '%s/store' "
                    "--threads 1 --impostor '%s/attacks'",
                    pm_test_penmark(), dir, dir);
  char *err = NULL;
  ck_assert_msg(pm_test_run(cmd, NULL, &err) == 0, "%s", err);
  free(err);
  free(cmd);
  size_t a;
  uint64_t n;
  store_counts(&a, &n);
  ck_assert_uint_eq(a, (size_t)n_files);
  ck_assert_uint_eq(n, n0 + (uint64_t)n_files);
}
END_TEST

static Suite *feedback_cli_suite(void) {
  Suite *s = suite_create("feedback_cli");
  TCase *tc = tcase_create("cli");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, impostor_then_near_copy);
  tcase_add_test(tc, genuine_released);
  tcase_add_test(tc, refusals);
  tcase_add_test(tc, killed_run_leaves_store_whole);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(feedback_cli_suite()) != 0;
}
