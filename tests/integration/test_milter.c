/* penmark milter end to end: the shell drivers under tests/integration run
 * the real milter against miltertest (milter_flow.sh) and against a Postfix
 * of their own configuration (postfix_flow.sh). A missing package or root
 * is a failure: CI runs as root and installs them. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_driver(const char *script, const char *want) {
  char *cmd = pm_test_fmt("sh tests/integration/%s '%s' '%s' tests/integration",
                          script, pm_test_penmark(), pm_test_data_dir());
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, want), "%s exited %d:\n%s\n%s", script,
                rc, out, err);
  printf("%s", out);
  free(out);
  free(err);
  free(cmd);
}

START_TEST(milter_alone) {
  run_driver("milter_flow.sh", "milter-flow ok");
}
END_TEST

START_TEST(through_postfix) {
  run_driver("postfix_flow.sh", "postfix-flow ok");
}
END_TEST

static Suite *milter_suite(void) {
  Suite *s = suite_create("milter");
  TCase *tc = tcase_create("flow");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, milter_alone);
  tcase_add_test(tc, through_postfix);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(milter_suite()) != 0;
}
