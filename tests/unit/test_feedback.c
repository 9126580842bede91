/* Feedback through the library: pm_train_impostor (a confirmed attack) and
 * pm_train on a released false positive, on a store trained from the sample
 * corpus. A near-copy of an attack must score as more suspicious once the
 * attack is fed back, a false positive fed back as less suspicious, the same
 * feedback twice must change nothing, and the attack must be kept as
 * numbers, never as text. The near-copy is made here from the sample's
 * impostor mail (fictional). */
#include "penmark/model.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/train.h"

#include "tests/support.h"
#include "train/feedback.h"
#include "train/gram.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Short hashed slices under valgrind, where the default is too slow. */
#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}"

#define ATTACK "impostor-margaret.osei-1.eml"
#define RELEASED "genuine-dana.whitfield-1.eml"

typedef struct {
  char *dir;
  pm_config *cfg;
  pm_train_opts o;
} fx;

static char *inbound(const char *name) {
  return pm_test_fmt("%s/sample/inbound/%s", pm_test_data_dir(), name);
}

static void fx_open(fx *f) {
  f->dir = pm_test_tmpdir();
  pm_error err;
  pm_error_clear(&err);
  if (RUNNING_ON_VALGRIND)
    ck_assert_int_eq(
        pm_config_parse(SMALL_CONFIG, strlen(SMALL_CONFIG), &f->cfg, &err),
        PM_OK);
  else
    f->cfg = pm_config_default();
  ck_assert_ptr_nonnull(f->cfg);
  pm_train_opts_default(&f->o);
  f->o.store_dir = f->dir;
  f->o.tenant = "demo";
  f->o.cfg = f->cfg;
  f->o.threads = 2;
  char *corpus = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  const char *in[] = {corpus};
  pm_train_summary sum;
  pm_status rc = pm_train(&f->o, in, 1, &sum, &err);
  ck_assert_msg(rc == PM_OK, "training the sample: %s", pm_error_message(&err));
  ck_assert_uint_gt(sum.mails_trained, 100);
  pm_train_summary_free(&sum);
  free(corpus);
}

static void fx_close(fx *f) {
  pm_config_free(f->cfg);
  pm_test_rmtree(f->dir);
  free(f->dir);
}

static pm_store *open_read(const fx *f) {
  pm_store *st = NULL;
  pm_error err;
  ck_assert_int_eq(
      pm_store_open(f->dir, "demo", PM_STORE_READ, NULL, 0, &st, &err), PM_OK);
  return st;
}

/* The probability that `data` was not written by its From: sender, by the
 * store's current profiles. */
static double prob(const fx *f, const char *data, size_t len) {
  pm_store *st = open_read(f);
  pm_profiles *p = NULL;
  pm_scorer *sc = NULL;
  pm_mail *m = NULL;
  pm_error err;
  ck_assert_int_eq(pm_profiles_load(st, NULL, &p, &err), PM_OK);
  pm_store_close(st);
  ck_assert_int_eq(pm_scorer_new(pm_profiles_config(p), &sc, &err), PM_OK);
  ck_assert_int_eq(pm_mail_parse(data, len, NULL, &m, &err), PM_OK);
  pm_score_result r;
  ck_assert_int_eq(pm_score_mail(sc, p, m, NULL, &r, &err), PM_OK);
  ck_assert_msg(r.verdict == PM_VERDICT_GENUINE ||
                    r.verdict == PM_VERDICT_IMPERSONATION,
                "abstained: %s", pm_verdict_name(r.verdict));
  double pr = r.probability;
  pm_mail_free(m);
  pm_scorer_free(sc);
  pm_profiles_free(p);
  return pr;
}

static double prob_file(const fx *f, const char *path) {
  size_t len;
  char *data = pm_test_read_file(path, &len);
  double p = prob(f, data, len);
  free(data);
  return p;
}

/* The attack with another Message-ID and a few words changed: what the
 * same attacker sends next. */
static char *near_copy(size_t *len) {
  char *path = inbound(ATTACK);
  char *data = pm_test_read_file(path, NULL);
  free(path);
  const char *swaps[][2] = {{"Message-ID: <", "Message-ID: <next-"},
                            {"Hope all is good", "Hope all is well"},
                            {"quite urgent", "rather urgent"}};
  for (size_t i = 0; i < sizeof swaps / sizeof swaps[0]; i++) {
    char *at = strstr(data, swaps[i][0]);
    ck_assert_msg(at != NULL, "'%s' not in the sample attack", swaps[i][0]);
    *at = '\0';
    char *next =
        pm_test_fmt("%s%s%s", data, swaps[i][1], at + strlen(swaps[i][0]));
    free(data);
    data = next;
  }
  *len = strlen(data);
  return data;
}

static pm_status impostor(fx *f, const char *path, pm_train_summary *sum,
                          pm_error *err) {
  const char *in[] = {path};
  return pm_train_impostor(&f->o, in, 1, sum, err);
}

static void *blob(const fx *f, const char *kind, int64_t owner, size_t *len) {
  pm_store *st = open_read(f);
  void *data = NULL;
  pm_error err;
  pm_status rc = pm_store_get(st, kind, owner, &data, len, &err);
  pm_store_close(st);
  return rc == PM_OK ? data : NULL;
}

static uint64_t moments_n(const fx *f) {
  size_t len;
  void *b = blob(f, "moments", 0, &len);
  ck_assert_ptr_nonnull(b);
  pm_error err;
  uint64_t n = 0;
  ck_assert_int_eq(pm__gram_blob_count(b, len, &n, &err), PM_OK);
  free(b);
  return n;
}

START_TEST(attack_makes_near_copy_suspicious) {
  fx f;
  fx_open(&f);
  size_t len;
  char *near = near_copy(&len);
  double before = prob(&f, near, len);
  uint64_t n0 = moments_n(&f);
  char *attack = inbound(ATTACK);
  pm_train_summary sum;
  pm_error err;
  pm_status rc = impostor(&f, attack, &sum, &err);
  ck_assert_msg(rc == PM_OK, "%s", pm_error_message(&err));
  ck_assert_uint_eq(sum.mails_read, 1);
  ck_assert_uint_eq(sum.mails_trained, 1);
  ck_assert_uint_eq(sum.senders, 6); /* no sender made of the attack */
  pm_train_summary_free(&sum);
  /* in the tenant's moments as one more mail, kept for the calibration */
  ck_assert_uint_eq(moments_n(&f), n0 + 1);
  pm_store *st = open_read(&f);
  pm__sample a;
  rc = pm__attacks_load(st, pm_config_vector_dim(f.cfg), &a, &err);
  ck_assert_int_eq(rc, PM_OK);
  ck_assert_uint_eq(a.n, 1);
  ck_assert_uint_gt(a.e[0].nnz, 10);
  ck_assert_uint_gt(a.e[0].chars, 100);
  pm__sample_free(&a);
  pm_store_close(st);
  double after = prob(&f, near, len);
  ck_assert_msg(after > before,
                "near-copy of a confirmed attack: p %.6g before, %.6g after",
                before, after);
  free(near);
  free(attack);
  fx_close(&f);
}
END_TEST

START_TEST(attack_twice_changes_nothing) {
  fx f;
  fx_open(&f);
  char *attack = inbound(ATTACK);
  pm_train_summary sum;
  pm_error err;
  ck_assert_int_eq(impostor(&f, attack, &sum, &err), PM_OK);
  pm_train_summary_free(&sum);
  size_t l1, l2, m1, m2;
  void *model1 = blob(&f, PM_KIND_MODEL, 0, &l1);
  void *mom1 = blob(&f, "moments", 0, &m1);
  ck_assert_int_eq(impostor(&f, attack, &sum, &err), PM_OK);
  ck_assert_uint_eq(sum.mails_trained, 0);
  ck_assert_uint_eq(sum.mails_duplicate, 1);
  pm_train_summary_free(&sum);
  void *model2 = blob(&f, PM_KIND_MODEL, 0, &l2);
  void *mom2 = blob(&f, "moments", 0, &m2);
  ck_assert(model1 && model2 && mom1 && mom2);
  ck_assert_msg(l1 == l2 && memcmp(model1, model2, l1) == 0,
                "the model changed on the same feedback");
  ck_assert_msg(m1 == m2 && memcmp(mom1, mom2, m1) == 0,
                "the moments changed on the same feedback");
  /* nor is the attack learned as the claimed sender's mail afterwards */
  const char *in[] = {attack};
  ck_assert_int_eq(pm_train(&f.o, in, 1, &sum, &err), PM_OK);
  ck_assert_uint_eq(sum.mails_trained, 0);
  ck_assert_uint_eq(sum.mails_duplicate, 1);
  pm_train_summary_free(&sum);
  free(model1);
  free(model2);
  free(mom1);
  free(mom2);
  free(attack);
  fx_close(&f);
}
END_TEST

/* Words of the attack's text must not be in the store's files. */
static bool file_has(const char *path, const char *word) {
  size_t len;
  char *data = pm_test_slurp(path, &len);
  if (!data)
    return false;
  bool found = memmem(data, len, word, strlen(word)) != NULL;
  free(data);
  return found;
}

START_TEST(attack_kept_as_numbers) {
  fx f;
  fx_open(&f);
  char *attack = inbound(ATTACK);
  pm_train_summary sum;
  pm_error err;
  ck_assert_int_eq(impostor(&f, attack, &sum, &err), PM_OK);
  pm_train_summary_free(&sum);
  const char *words[] = {"Crestline", "remittance", "auditors", "01234567",
                         "fin-ledger"};
  const char *suffix[] = {"", "-wal"};
  for (size_t s = 0; s < 2; s++) {
    char *db = pm_test_fmt("%s/demo.db%s", f.dir, suffix[s]);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
      ck_assert_msg(!file_has(db, words[i]), "'%s' found in %s", words[i], db);
    free(db);
  }
  free(attack);
  fx_close(&f);
}
END_TEST

START_TEST(released_false_positive_less_suspicious) {
  fx f;
  fx_open(&f);
  char *mail = inbound(RELEASED);
  double before = prob_file(&f, mail);
  const char *in[] = {mail};
  pm_train_summary sum;
  pm_error err;
  ck_assert_int_eq(pm_train(&f.o, in, 1, &sum, &err), PM_OK);
  ck_assert_uint_eq(sum.mails_trained, 1);
  pm_train_summary_free(&sum);
  double after = prob_file(&f, mail);
  ck_assert_msg(after < before, "released mail: p %.6g before, %.6g after",
                before, after);
  /* the same release again: a duplicate, the same score */
  ck_assert_int_eq(pm_train(&f.o, in, 1, &sum, &err), PM_OK);
  ck_assert_uint_eq(sum.mails_duplicate, 1);
  pm_train_summary_free(&sum);
  ck_assert(prob_file(&f, mail) == after);
  free(mail);
  fx_close(&f);
}
END_TEST

START_TEST(missing_store_refused) {
  fx f;
  fx_open(&f);
  f.o.tenant = "other";
  char *attack = inbound(ATTACK);
  pm_train_summary sum;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = impostor(&f, attack, &sum, &err);
  ck_assert_int_eq(rc, PM_NOTFOUND);
  pm_train_summary_free(&sum);
  char *path = pm_test_fmt("%s/other.db", f.dir);
  struct stat sb;
  ck_assert_msg(stat(path, &sb) != 0, "feedback created %s", path);
  free(path);
  /* a mail that is not there is counted, the store left as it was */
  f.o.tenant = "demo";
  size_t l1, l2;
  void *m1 = blob(&f, PM_KIND_MODEL, 0, &l1);
  ck_assert_int_eq(impostor(&f, "/nonexistent/attack.eml", &sum, &err), PM_OK);
  ck_assert_uint_eq(sum.input_errors, 1);
  ck_assert_uint_eq(sum.mails_trained, 0);
  pm_train_summary_free(&sum);
  void *m2 = blob(&f, PM_KIND_MODEL, 0, &l2);
  ck_assert(m1 && m2 && l1 == l2 && memcmp(m1, m2, l1) == 0);
  free(m1);
  free(m2);
  free(attack);
  fx_close(&f);
}
END_TEST

static Suite *feedback_suite(void) {
  Suite *s = suite_create("feedback");
  TCase *tc = tcase_create("feedback");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, attack_makes_near_copy_suspicious);
  tcase_add_test(tc, attack_twice_changes_nothing);
  tcase_add_test(tc, attack_kept_as_numbers);
  tcase_add_test(tc, released_false_positive_less_suspicious);
  tcase_add_test(tc, missing_store_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(feedback_suite()) != 0;
}
