/* One message as the milter assembles it from libmilter's events: the copy
 * that is scored, the X-Penmark-* headers to remove, the first Subject,
 * the size limit, and the decisions made without scoring.
 * (tests/fuzz/fuzz_milter_msg.c drives the same code with any events.) */
#include "penmark/milter.h"
#include "score/milter/milter_internal.h"
#include "tests/support.h"

#include <stdlib.h>
#include <string.h>

static pm__mmsg *msg_new(void) {
  pm__mmsg *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  return m;
}

START_TEST(copy_without_own_headers) {
  pm__mmsg *m = msg_new();
  pm__mmsg_header(m, "X-Penmark-Verdict", "genuine; forged");
  pm__mmsg_header(m, "From", "ann@example.org");
  pm__mmsg_header(m, "x-penmark-verdict", "genuine; again");
  pm__mmsg_header(m, "Subject", "first");
  pm__mmsg_header(m, "X-PENMARK-Reasons", "none");
  pm__mmsg_header(m, "subject", "second");
  pm__mmsg_header(m, "X-Penmarked", "not ours");
  pm__mmsg_eoh(m);
  pm__mmsg_body(m, "Hi,\r\n", 5);
  pm__mmsg_body(m, "X-Penmark-Verdict: body text\r\n", 30);
  const char *want = "From: ann@example.org\r\nSubject: first\r\n"
                     "subject: second\r\nX-Penmarked: not ours\r\n\r\n"
                     "Hi,\r\nX-Penmark-Verdict: body text\r\n";
  ck_assert_uint_eq(m->raw.len, strlen(want));
  ck_assert_mem_eq(m->raw.data, want, strlen(want));
  ck_assert(!m->too_big);
  /* counted for removal (any case), under the first spelling */
  ck_assert_uint_eq(m->n_own, 2);
  ck_assert_str_eq(m->own[0].name, "X-Penmark-Verdict");
  ck_assert_uint_eq(m->own[0].n, 2);
  ck_assert_str_eq(m->own[1].name, "X-PENMARK-Reasons");
  ck_assert_uint_eq(m->own[1].n, 1);
  ck_assert_str_eq(m->subject, "first");
  char *t = pm__mmsg_tagged_subject(m, "[x] ");
  ck_assert_str_eq(t, "[x] first");
  free(t);
  pm__mdecision d;
  ck_assert(!pm__mmsg_settled(m, &d)); /* to be judged */
  pm__mmsg_free(m);
  pm__mmsg_free(NULL);
}
END_TEST

/* A copy of exactly the limit is kept; one byte more drops it. */
START_TEST(size_limit) {
  size_t n = PM__MILTER_MAX_BYTES;
  char *body = malloc(n);
  ck_assert_ptr_nonnull(body);
  memset(body, 'a', n);
  for (int over = 0; over <= 1; over++) {
    pm__mmsg *m = msg_new();
    pm__mmsg_header(m, "Subject", "big");
    pm__mmsg_eoh(m);
    size_t head = strlen("Subject: big\r\n\r\n");
    pm__mmsg_body(m, body, n - head - 10);
    pm__mmsg_body(m, body, 10 + (size_t)over);
    pm__mdecision d;
    if (over) {
      ck_assert(m->too_big);
      ck_assert_uint_eq(m->raw.len, 0);
      ck_assert_ptr_null(m->raw.data);
      pm__mmsg_header(m, "X-Penmark-Late", "x"); /* still counted */
      ck_assert_uint_eq(m->n_own, 1);
      ck_assert(pm__mmsg_settled(m, &d));
      ck_assert_int_eq(d.out, PM__OUT_ERROR);
      ck_assert_str_eq(d.verdict, "error; mail too big to score");
    } else {
      ck_assert(!m->too_big);
      ck_assert_uint_eq(m->raw.len, n);
      ck_assert(!pm__mmsg_settled(m, &d));
    }
    ck_assert_str_eq(m->subject, "big");
    pm__mmsg_free(m);
  }
  free(body);
}
END_TEST

/* Skipped by the policy: headers noted, nothing copied. */
START_TEST(skipped_mail) {
  pm__mmsg *m = msg_new();
  m->skip_why = "trusted network";
  m->no_copy = true;
  pm__mmsg_header(m, "Subject", "s");
  pm__mmsg_header(m, "X-Penmark-Verdict", "forged");
  pm__mmsg_eoh(m);
  pm__mmsg_body(m, "text", 4);
  ck_assert_uint_eq(m->raw.len, 0);
  ck_assert(!m->too_big);
  ck_assert_uint_eq(m->n_own, 1);
  ck_assert_str_eq(m->subject, "s");
  pm__mdecision d;
  ck_assert(pm__mmsg_settled(m, &d));
  ck_assert_int_eq(d.out, PM__OUT_SKIPPED);
  ck_assert_str_eq(d.verdict, "not_judged; trusted network");
  ck_assert_str_eq(d.reasons, "");
  ck_assert(!d.impersonation);
  pm__mmsg_free(m);
}
END_TEST

static Suite *msg_suite(void) {
  Suite *s = suite_create("milter_msg");
  TCase *tc = tcase_create("assembly");
  tcase_add_test(tc, copy_without_own_headers);
  tcase_add_test(tc, size_limit);
  tcase_add_test(tc, skipped_mail);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(msg_suite()) != 0;
}
