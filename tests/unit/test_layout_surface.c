/* The copyable surface as the layout features read it (pm_features_surface)
 * and the mimicry rewrite built on it (pm_eval_mimicry_rewrite). Fixture
 * mails are written here; names and companies are fictional. */
#include "penmark/eval.h"
#include "penmark/features.h"
#include "penmark/mail.h"

#include "tests/support.h"

#include <stdlib.h>
#include <string.h>

static pm_config *cfg;
static pm_extractor *x;
static pm_features *f;

static void setup(void) {
  pm_error err;
  pm_error_clear(&err);
  cfg = pm_config_default();
  ck_assert_ptr_nonnull(cfg);
  ck_assert_int_eq(pm_extractor_new(cfg, &x, &err), PM_OK);
  f = pm_features_new();
  ck_assert_ptr_nonnull(f);
}

static void teardown(void) {
  pm_features_free(f);
  pm_extractor_free(x);
  pm_config_free(cfg);
}

static pm_layout_surface read_surface(const char *text) {
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_extract_text(x, text, strlen(text), f, &err), PM_OK);
  pm_layout_surface s;
  pm_features_surface(f, &s);
  return s;
}

static char *part(const char *text, size_t a, size_t b) {
  return strndup(text + a, b - a);
}

/* The greeting is exactly that line; the closing block runs from the
 * sign-off to the last non-blank character. */
static void expect(const char *text, const char *greeting,
                   const char *closing) {
  pm_layout_surface s = read_surface(text);
  ck_assert_msg(s.has_greeting == (greeting != NULL), "greeting of <%s>", text);
  ck_assert_msg(s.has_closing == (closing != NULL), "closing of <%s>", text);
  if (greeting) {
    char *g = part(text, s.greeting_start, s.greeting_end);
    ck_assert_str_eq(g, greeting);
    free(g);
  }
  if (closing) {
    char *c = part(text, s.closing_start, s.closing_end);
    ck_assert_str_eq(c, closing);
    free(c);
  }
}

START_TEST(english) {
  expect("Hi Tom,\n\nThe quarterly figures are attached; please check the "
         "second table.\n\nBest regards,\nAnna Berg\nFinance, Example Corp\n",
         "Hi Tom,", "Best regards,\nAnna Berg\nFinance, Example Corp");
  /* no greeting, a "Thanks, Name" sign-off */
  expect("The meeting moved to Thursday at ten.\nBring the draft.\n\n"
         "Thanks, Jo\n",
         NULL, "Thanks, Jo");
  /* a bare name ends the mail: that line is the closing block */
  expect("Dear team,\nThe office is closed on Monday for the move.\n"
         "Pack your desks by Friday.\n-d\n",
         "Dear team,", "-d");
  /* neither */
  expect("The report is late because the numbers changed twice this week, "
         "and it goes out tomorrow.\n",
         NULL, NULL);
}
END_TEST

START_TEST(japanese) {
  expect("山田様\n\nいつも大変お世話になっております。\n"
         "来週の打ち合わせの件でご連絡いたしました。\n"
         "資料を添付いたします。\n\nよろしくお願いいたします。\n"
         "佐藤\n株式会社サンプル 営業部\n",
         "いつも大変お世話になっております。",
         "よろしくお願いいたします。\n佐藤\n株式会社サンプル 営業部");
  expect("各位\n\n明日の会議は中止です。\n以上\n", "各位", "以上");
}
END_TEST

START_TEST(mixed) {
  /* English greeting, Japanese body and sign-off */
  expect("Hi Ken,\n\n先日の件、ありがとうございました。\n"
         "The contract draft is attached.\n\nよろしくお願いします。\n"
         "Mary\n",
         "Hi Ken,", "よろしくお願いします。\nMary");
  /* Japanese greeting, English sign-off */
  expect("お世話になっております。\nPlease find the invoice attached; the "
         "amount changed.\n\nBest,\nKenji\n",
         "お世話になっております。", "Best,\nKenji");
}
END_TEST

/* Feature values stay as they were: the surface is only read. */
START_TEST(surface_does_not_change_features) {
  const char *t = "Hi Tom,\n\nSee the notes below.\n\nThanks,\nAnna\n";
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_extract_text(x, t, strlen(t), f, &err), PM_OK);
  size_t nn = pm_named_count();
  float *a = malloc(nn * sizeof *a);
  memcpy(a, pm_features_named(f), nn * sizeof *a);
  pm_layout_surface s;
  pm_features_surface(f, &s);
  ck_assert_int_eq(pm_extract_text(x, t, strlen(t), f, &err), PM_OK);
  ck_assert_int_eq(memcmp(a, pm_features_named(f), nn * sizeof *a), 0);
  ck_assert_float_eq(a[pm_named_find("greeting:none")], 0.0f);
  free(a);
}
END_TEST

static const char raw[] = "From: someone@example.org\n"
                          "Subject: the invoice\n"
                          "MIME-Version: 1.0\n"
                          "Content-Type: text/plain;\n"
                          " charset=iso-8859-1\n"
                          "Content-Transfer-Encoding: quoted-printable\n"
                          "\n"
                          "ignored body\n";

static char *rewrite(const char *own, const char *g, const char *c,
                     unsigned *replaced) {
  pm_layout_surface s = read_surface(own);
  char *out = NULL;
  size_t len = 0;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_eval_mimicry_rewrite(raw, strlen(raw), own, strlen(own),
                                           &s, g, c, &out, &len, replaced,
                                           &err),
                   PM_OK);
  ck_assert_uint_eq(strlen(out), len);
  return out;
}

/* The own text of a rewritten message, as the scorer will read it. */
static char *own_of(const char *msg) {
  pm_mail *m = NULL;
  pm_error err;
  pm_error_clear(&err);
  ck_assert_int_eq(pm_mail_parse(msg, strlen(msg), NULL, &m, &err), PM_OK);
  char *t = strdup(pm_mail_own_text(m, NULL));
  pm_mail_free(m);
  return t;
}

START_TEST(rewrite_both) {
  unsigned n;
  char *msg = rewrite("Hello Bob,\nThe payment must go out today, to the new "
                      "account.\nCheers,\nMax\n",
                      "Dear Ms. Lee,", "Kind regards,\nSusan Lee\nCFO", &n);
  ck_assert_uint_eq(n, 2);
  /* headers kept, the old body's MIME fields dropped, one new set */
  ck_assert_ptr_nonnull(strstr(msg, "Subject: the invoice\n"));
  ck_assert_ptr_null(strstr(msg, "quoted-printable"));
  ck_assert_ptr_null(strstr(msg, "iso-8859-1"));
  ck_assert_ptr_null(strstr(msg, "ignored body"));
  ck_assert_ptr_nonnull(strstr(msg, "charset=UTF-8"));
  char *own = own_of(msg);
  ck_assert_ptr_nonnull(strstr(own, "Dear Ms. Lee,\nThe payment must go out "
                                    "today, to the new account.\nKind "
                                    "regards,\nSusan Lee\nCFO"));
  ck_assert_ptr_null(strstr(own, "Hello Bob"));
  ck_assert_ptr_null(strstr(own, "Max"));
  free(own);
  free(msg);
}
END_TEST

START_TEST(rewrite_one_part) {
  unsigned n;
  /* the claimed sender has no habitual greeting: only the closing goes */
  char *msg = rewrite("Hello Bob,\nWire the money today please.\nCheers,\n"
                      "Max\n",
                      NULL, "田中\n営業部", &n);
  ck_assert_uint_eq(n, 1);
  char *own = own_of(msg);
  ck_assert_ptr_nonnull(strstr(own, "Hello Bob,\nWire the money today "
                                    "please.\n田中\n営業部"));
  free(own);
  free(msg);
  /* the mail has no closing block: only the greeting goes */
  msg = rewrite("Hi Bob,\nWire the money today, the supplier is waiting for "
                "it.\n",
                "お世話になっております。", "Thanks,\nSue", &n);
  ck_assert_uint_eq(n, 1);
  own = own_of(msg);
  ck_assert_ptr_nonnull(strstr(own, "お世話になっております。\nWire the "
                                    "money today"));
  ck_assert_ptr_null(strstr(own, "Sue"));
  free(own);
  free(msg);
  /* nothing to replace */
  msg = rewrite("Wire the money today, the supplier is waiting for it.\n",
                "Hi,", "Thanks,\nSue", &n);
  ck_assert_uint_eq(n, 0);
  free(msg);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("layout_surface");
  TCase *r = tcase_create("recognition");
  tcase_add_checked_fixture(r, setup, teardown);
  tcase_add_test(r, english);
  tcase_add_test(r, japanese);
  tcase_add_test(r, mixed);
  tcase_add_test(r, surface_does_not_change_features);
  suite_add_tcase(s, r);
  TCase *w = tcase_create("rewrite");
  tcase_add_checked_fixture(w, setup, teardown);
  tcase_add_test(w, rewrite_both);
  tcase_add_test(w, rewrite_one_part);
  suite_add_tcase(s, w);
  return s;
}

int main(void) {
  return pm_test_run_suite(suite()) != 0;
}
