/* The daemon's log limiter: a kind of warning goes out PM__LOG_BURST times
 * per window, the rest are counted and summed up in one line; info lines
 * are never held back; kinds are told apart by their call site. */
#include <stdio.h>
#include <string.h>

#include "score/serve/serve_log.h"
#include "tests/support.h"

typedef struct {
  int lines;
  int summaries;
  char last[1024];
} sink;

static void collect(pm_log_level level, const char *msg, void *ctx) {
  (void)level;
  sink *s = ctx;
  s->lines++;
  if (strstr(msg, "similar messages suppressed"))
    s->summaries++;
  snprintf(s->last, sizeof s->last, "%s", msg);
}

static void warn_closed(const pm__log *log, int i) {
  pm__log_printf(log, PM_LOG_WARN, "connection %d closed", i);
}

START_TEST(flood_is_summed_up) {
  sink s = {0};
  pm__log log = {collect, &s, pm__log_limit_new()};
  ck_assert_ptr_nonnull(log.limit);
  for (int i = 0; i < 1000; i++)
    warn_closed(&log, i);
  ck_assert_int_eq(s.lines, PM__LOG_BURST);
  /* another call site is another kind; info always goes out */
  pm__log_printf(&log, PM_LOG_WARN, "other %d", 1);
  for (int i = 0; i < 20; i++)
    pm__log_printf(&log, PM_LOG_INFO, "reload %d", i);
  ck_assert_int_eq(s.lines, PM__LOG_BURST + 1 + 20);
  /* the window is not over: nothing yet; at stop, the summary */
  pm__log_flush(&log, false);
  ck_assert_int_eq(s.summaries, 0);
  pm__log_flush(&log, true);
  ck_assert_int_eq(s.summaries, 1);
  ck_assert_msg(strstr(s.last, "995 similar messages suppressed") &&
                    strstr(s.last, "connection 999 closed"),
                "%s", s.last);
  /* once summed up, nothing is summed up twice */
  pm__log_flush(&log, true);
  ck_assert_int_eq(s.summaries, 1);
  pm__log_limit_free(log.limit);
}
END_TEST

START_TEST(no_limiter_no_limit) {
  sink s = {0};
  pm__log log = {collect, &s, NULL};
  for (int i = 0; i < 100; i++)
    warn_closed(&log, i);
  ck_assert_int_eq(s.lines, 100);
  pm__log_flush(&log, true);
  ck_assert_int_eq(s.lines, 100);
}
END_TEST

static Suite *serve_log_suite(void) {
  Suite *s = suite_create("serve_log");
  TCase *c = tcase_create("core");
  tcase_add_test(c, flood_is_summed_up);
  tcase_add_test(c, no_limiter_no_limit);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(serve_log_suite()) != 0;
}
