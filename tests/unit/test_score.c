/* Scoring through the library: pm_profiles_load and pm_score_mail on the
 * sample corpus, trained once with the default configuration (the small
 * one under valgrind) in the parent process (an unchecked fixture): the
 * accuracy on the inbound sample mails, and the verdicts of a claimed
 * sender that is unknown, overridden, or has too little text to judge.
 * Generated mails are fictional. */
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/train.h"

#include "tests/support.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Some ASCII letters in a row: the text says something in words. */
static bool has_word(const char *s) {
  int run = 0;
  for (; *s; s++) {
    run = isalpha((unsigned char)*s) ? run + 1 : 0;
    if (run >= 3)
      return true;
  }
  return false;
}

START_TEST(sample_accuracy) {
  pm_test_need_sample();
  pm_test_model m;
  pm_test_model_open(pm_test_sample_store, "demo", &m);
  ck_assert_uint_eq(pm_profiles_count(m.p), 6);
  double th = pm_profiles_threshold(m.p);
  ck_assert_msg(th > 0.0 && th < 1.0, "threshold %g", th);
  pm_test_strlist files = {0};
  pm_test_inbound_files(&files);
  int genuine = 0, genuine_ok = 0, impostors = 0, flagged = 0;
  for (size_t i = 0; i < files.n; i++) {
    const char *base = strrchr(files.v[i], '/') + 1;
    bool is_genuine = strncmp(base, "genuine-", 8) == 0;
    ck_assert(is_genuine || strncmp(base, "impostor-", 9) == 0);
    pm_score_result r;
    pm_test_score_file(&m, files.v[i], NULL, &r);
    /* the claimed sender is the From: address: <local> of the file name */
    const char *local = strchr(base, '-') + 1;
    const char *end = strrchr(base, '-');
    char *addr =
        pm_test_fmt("%.*s@harborpine.example", (int)(end - local), local);
    ck_assert_str_eq(r.sender, addr);
    free(addr);
    ck_assert_msg(r.probability >= 0.0 && r.probability <= 1.0,
                  "%s: probability %g", base, r.probability);
    ck_assert_double_eq(r.threshold, th);
    ck_assert_uint_ge(r.profile_mails, 38);
    ck_assert_int_gt(r.profile_last_trained, 0);
    ck_assert_msg(!pm_verdict_abstains(r.verdict), "%s: %s", base,
                  pm_verdict_name(r.verdict));
    /* the verdict is the probability against the threshold */
    ck_assert_int_eq(r.verdict == PM_VERDICT_IMPERSONATION,
                     r.probability >= th);
    if (is_genuine) {
      genuine++;
      ck_assert_msg(r.verdict == PM_VERDICT_GENUINE,
                    "%s: %s (p %.4f, threshold %.4f)", base,
                    pm_verdict_name(r.verdict), r.probability, th);
      genuine_ok++;
    } else {
      impostors++;
      if (r.verdict == PM_VERDICT_IMPERSONATION) {
        flagged++;
        ck_assert_msg(r.n_reasons > 0, "%s: flagged without reasons", base);
      }
    }
    ck_assert_uint_le(r.n_reasons, PM_MAX_REASONS);
    for (size_t k = 0; k < r.n_reasons; k++) {
      ck_assert_msg(r.reasons[k].feature[0] != '\0', "%s: reason %zu", base, k);
      ck_assert_msg(has_word(r.reasons[k].text), "%s: reason %zu: \"%s\"", base,
                    k, r.reasons[k].text);
    }
  }
  ck_assert_int_eq(genuine, 12);
  ck_assert_int_eq(genuine_ok, 12);
  ck_assert_int_eq(impostors, 12);
  ck_assert_msg(flagged >= 9, "only %d of 12 impostors flagged", flagged);
  pm_test_strlist_free(&files);
  pm_test_model_close(&m);
}
END_TEST

START_TEST(sample_verdicts) {
  pm_test_need_sample();
  pm_test_model m;
  pm_test_model_open(pm_test_sample_store, "demo", &m);
  char *genuine = pm_test_fmt("%s/sample/inbound/genuine-dana.whitfield-2.eml",
                              pm_test_data_dir());
  pm_score_result own, r;
  pm_test_score_file(&m, genuine, NULL, &own);
  ck_assert_int_eq(own.verdict, PM_VERDICT_GENUINE);
  ck_assert_str_eq(own.sender, "dana.whitfield@harborpine.example");

  /* nobody of that name in the tenant */
  pm_test_score_file(&m, genuine, "ceo@elsewhere.example", &r);
  ck_assert_int_eq(r.verdict, PM_VERDICT_UNKNOWN_SENDER);
  ck_assert_double_eq(r.probability, 0.5);
  ck_assert_uint_eq(r.profile_mails, 0);
  ck_assert_str_eq(r.sender, "ceo@elsewhere.example");

  /* the claimed sender overrides From:, in any case */
  pm_test_score_file(&m, genuine, "makoto.takahashi@harborpine.example", &r);
  ck_assert_str_eq(r.sender, "makoto.takahashi@harborpine.example");
  ck_assert_uint_eq(r.profile_mails, 38);
  ck_assert_int_eq(r.verdict, PM_VERDICT_IMPERSONATION);
  ck_assert_double_gt(r.probability, own.probability);
  pm_score_result upper;
  pm_test_score_file(&m, genuine, "Makoto.Takahashi@HarborPine.EXAMPLE",
                     &upper);
  ck_assert_int_eq(upper.verdict, r.verdict);
  ck_assert_double_eq(upper.probability, r.probability);
  /* "" means the From: address */
  pm_test_score_file(&m, genuine, "", &r);
  ck_assert_str_eq(r.sender, own.sender);
  ck_assert_double_eq(r.probability, own.probability);

  /* "ok" is too little to judge */
  char *t = pm_test_mail_text(
      "Dana Whitfield <dana.whitfield@harborpine.example>",
      "ok.1@harborpine.example", "Mon, 02 Mar 2026 09:15:00 +0000", "ok\n");
  pm_test_score_bytes(&m, t, strlen(t), NULL, &r);
  ck_assert_int_eq(r.verdict, PM_VERDICT_TOO_LITTLE_TEXT);
  ck_assert_double_eq(r.probability, 0.5);
  ck_assert_uint_eq(r.profile_mails, 40);
  ck_assert_uint_eq(r.own_chars, 2);
  free(t);
  free(genuine);
  pm_test_model_close(&m);
}
END_TEST

static Suite *score_suite(void) {
  Suite *s = suite_create("score");
  TCase *tc = tcase_create("sample");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, pm_test_sample_setup, NULL);
  tcase_add_test(tc, sample_accuracy);
  tcase_add_test(tc, sample_verdicts);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(score_suite());
  pm_test_sample_teardown();
  pm_library_shutdown();
  return failed != 0;
}
