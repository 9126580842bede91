/* `penmark background` and its use by `penmark train --background` and
 * `penmark eval --background`, the real command: a tenant of one sender
 * gets a profile only with a background, the background keeps numbers and
 * no text, and a background of another configuration, or one holding the
 * corpus's own mail, is refused with a message naming it. The sample
 * corpus is split: four writers make the background, the others are the
 * tenants. */
#include "tests/support.h"

#include <cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Short hashed slices: the profile computation stays cheap. */
#define SMALL_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":256},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64},\"surface\":{\"dim\":64}}}\n"
#define OTHER_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":512},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64},\"surface\":{\"dim\":64}}}\n"

static const char *const bg_writers[] = {
    "makoto.takahashi@harborpine.example", "margaret.osei@harborpine.example",
    "shota.yamamoto@harborpine.example", "tomas.reyes@harborpine.example"};
#define DANA "dana.whitfield@harborpine.example"

static char *tmp, *cfg, *other_cfg, *bg;

static char *corpus_dir(const char *writer) {
  return pm_test_fmt("%s/sample/corpus/%s", pm_test_data_dir(), writer);
}

static void build_background(void) {
  char *dirs[4];
  for (int i = 0; i < 4; i++)
    dirs[i] = corpus_dir(bg_writers[i]);
  char *err = NULL;
  int rc = pm_test_runf(
      NULL, &err,
      "%s background --out %s --config %s --label-by-dir %s %s %s %s",
      pm_test_penmark(), bg, cfg, dirs[0], dirs[1], dirs[2], dirs[3]);
  ck_assert_msg(rc == 0, "background failed (%d): %s", rc, err);
  free(err);
  for (int i = 0; i < 4; i++)
    free(dirs[i]);
}

static void setup(void) {
  tmp = pm_test_tmpdir();
  cfg = pm_test_fmt("%s/small.json", tmp);
  other_cfg = pm_test_fmt("%s/other.json", tmp);
  bg = pm_test_fmt("%s/bg/background.db", tmp);
  pm_test_write_file(cfg, SMALL_CONFIG, strlen(SMALL_CONFIG));
  pm_test_write_file(other_cfg, OTHER_CONFIG, strlen(OTHER_CONFIG));
  build_background();
}

static void teardown(void) {
  pm_test_rmtree(tmp);
  free(tmp);
  free(cfg);
  free(other_cfg);
  free(bg);
}

/* Trains tenant `t` on dana's mail alone, with the background or not;
 * returns the exit status. */
static int train_dana(const char *t, bool with_bg, char **err) {
  char *dir = corpus_dir(DANA);
  int rc = pm_test_runf(NULL, err,
                        "%s train --tenant %s --store %s/stores --config %s "
                        "--label-by-dir %s%s %s",
                        pm_test_penmark(), t, tmp, cfg,
                        with_bg ? "--background " : "", with_bg ? bg : "", dir);
  free(dir);
  return rc;
}

/* Scores an inbound sample mail as dana's: the parsed result. */
static cJSON *score_as_dana(const char *t, const char *mail) {
  char *out = NULL, *err = NULL;
  int rc =
      pm_test_runf(&out, &err,
                   "%s score --tenant %s --store %s/stores --sender %s "
                   "%s/sample/inbound/%s",
                   pm_test_penmark(), t, tmp, DANA, pm_test_data_dir(), mail);
  ck_assert_msg(rc == 0, "score failed (%d): %s", rc, err);
  cJSON *j = cJSON_Parse(out);
  ck_assert_msg(j != NULL, "not JSON: %s", out);
  free(out);
  free(err);
  return j;
}

static const char *verdict(const cJSON *j) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "verdict");
  ck_assert(cJSON_IsString(v));
  return v->valuestring;
}

static double probability(const cJSON *j) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "probability");
  ck_assert(cJSON_IsNumber(v));
  return v->valuedouble;
}

START_TEST(single_sender_needs_background) {
  char *err = NULL;
  ck_assert_int_eq(train_dana("alone", false, &err), 0);
  free(err);
  cJSON *j = score_as_dana("alone", "genuine-dana.whitfield-1.eml");
  ck_assert_str_eq(verdict(j), "profile_not_ready");
  cJSON_Delete(j);

  err = NULL;
  ck_assert_msg(train_dana("withbg", true, &err) == 0, "%s", err);
  free(err);
  cJSON *g1 = score_as_dana("withbg", "genuine-dana.whitfield-1.eml");
  cJSON *g2 = score_as_dana("withbg", "genuine-dana.whitfield-2.eml");
  cJSON *i1 = score_as_dana("withbg", "impostor-dana.whitfield-1.eml");
  cJSON *i2 = score_as_dana("withbg", "impostor-dana.whitfield-2.eml");
  /* a profile now: real verdicts, and the impostors read less like dana */
  ck_assert_str_ne(verdict(g1), "profile_not_ready");
  ck_assert_str_ne(verdict(i1), "profile_not_ready");
  double g =
      probability(g1) > probability(g2) ? probability(g1) : probability(g2);
  double i =
      probability(i1) < probability(i2) ? probability(i1) : probability(i2);
  ck_assert_msg(i > g, "impostors %g not above genuine %g", i, g);
  cJSON_Delete(g1);
  cJSON_Delete(g2);
  cJSON_Delete(i1);
  cJSON_Delete(i2);
}
END_TEST

START_TEST(background_keeps_no_text) {
  /* phrases of the background writers' mail never appear in its file */
  size_t len;
  char *db = pm_test_read_file(bg, &len);
  char *dir = corpus_dir(bg_writers[1]);
  char *path = pm_test_fmt("%s/0001.eml", dir);
  char *mail = pm_test_read_file(path, NULL);
  /* the body: after the blank line ending the header */
  char *body = strstr(mail, "\n\n");
  ck_assert_ptr_nonnull(body);
  body += 2;
  size_t checked = 0;
  for (char *line = strtok(body, "\n"); line; line = strtok(NULL, "\n")) {
    if (strlen(line) < 24)
      continue;
    ck_assert_msg(memmem(db, len, line, 24) == NULL,
                  "background holds the text \"%.24s\"", line);
    checked++;
  }
  ck_assert_uint_gt(checked, 0);
  free(db);
  free(dir);
  free(path);
  free(mail);
}
END_TEST

START_TEST(other_configuration_refused) {
  char *dir = corpus_dir(DANA);
  char *err = NULL;
  int rc = pm_test_runf(NULL, &err,
                        "%s train --tenant t --store %s/stores --config %s "
                        "--label-by-dir --background %s %s",
                        pm_test_penmark(), tmp, other_cfg, bg, dir);
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, bg) && strstr(err, "configuration"), "%s", err);
  free(err);
  free(dir);
}
END_TEST

START_TEST(missing_background_refused) {
  char *dir = corpus_dir(DANA);
  char *err = NULL;
  int rc = pm_test_runf(NULL, &err,
                        "%s train --tenant t --store %s/stores --config %s "
                        "--label-by-dir --background %s/nope.db %s",
                        pm_test_penmark(), tmp, cfg, tmp, dir);
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, "nope.db") != NULL, "%s", err);
  free(err);
  free(dir);
}
END_TEST

START_TEST(eval_refuses_own_mail) {
  char *err = NULL;
  int rc = pm_test_runf(NULL, &err,
                        "%s eval --config %s --background %s %s/sample/corpus",
                        pm_test_penmark(), cfg, bg, pm_test_data_dir());
  ck_assert_int_eq(rc, 1);
  ck_assert_msg(strstr(err, "holds") && strstr(err, bg), "%s", err);
  free(err);
}
END_TEST

/* --flag-rate moves the threshold to that share of the genuine table and
 * is reported with the rarity; a bad rate is a usage error. */
START_TEST(flag_rate_sets_threshold) {
  char *err = NULL;
  ck_assert_msg(train_dana("withbg", true, &err) == 0, "%s", err);
  free(err);
  cJSON *def = score_as_dana("withbg", "impostor-dana.whitfield-1.eml");
  char *out = NULL;
  err = NULL;
  int rc = pm_test_runf(
      &out, &err,
      "%s score --tenant withbg --store %s/stores --sender %s "
      "--flag-rate 0.3 %s/sample/inbound/impostor-dana.whitfield-1.eml",
      pm_test_penmark(), tmp, DANA, pm_test_data_dir());
  ck_assert_msg(rc == 0, "%s", err);
  cJSON *wide = cJSON_Parse(out);
  ck_assert_ptr_nonnull(wide);
  ck_assert(pm_test_json_number(def, "rarity", "flag_rate") == 0.01);
  ck_assert(pm_test_json_number(wide, "rarity", "flag_rate") == 0.3);
  ck_assert(pm_test_json_number(wide, "threshold", NULL) <=
            pm_test_json_number(def, "threshold", NULL));
  /* the same score, whatever the rate */
  ck_assert(pm_test_json_number(wide, "probability", NULL) ==
            pm_test_json_number(def, "probability", NULL));
  ck_assert(pm_test_json_number(def, "rarity", "one_in") >= 1);
  free(out);
  free(err);
  cJSON_Delete(def);
  cJSON_Delete(wide);
  err = NULL;
  rc = pm_test_runf(
      NULL, &err, "%s score --tenant withbg --store %s/stores --flag-rate 2 %s",
      pm_test_penmark(), tmp, bg);
  ck_assert_int_eq(rc, 2);
  ck_assert_msg(strstr(err, "--flag-rate") != NULL, "%s", err);
  free(err);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("background");
  TCase *tc = tcase_create("background");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, single_sender_needs_background);
  tcase_add_test(tc, background_keeps_no_text);
  tcase_add_test(tc, other_configuration_refused);
  tcase_add_test(tc, missing_background_refused);
  tcase_add_test(tc, eval_refuses_own_mail);
  tcase_add_test(tc, flag_rate_sets_threshold);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) ? 1 : 0;
}
