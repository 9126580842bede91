/* The rspamd plugin of contrib/rspamd end to end: rspamd_flow.sh starts a
 * real rspamd of its own configuration and a `penmark serve`, and scans the
 * sample mail with rspamc. A missing package or root is a failure: CI runs
 * as root and installs them. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(through_rspamd) {
  char *cmd =
      pm_test_fmt("bash tests/integration/rspamd_flow.sh '%s' '%s' contrib",
                  pm_test_penmark(), pm_test_data_dir());
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, "rspamd-flow ok"),
                "rspamd_flow.sh exited %d:\n%s\n%s", rc, out, err);
  printf("%s", out);
  free(out);
  free(err);
  free(cmd);
}
END_TEST

static Suite *rspamd_suite(void) {
  Suite *s = suite_create("rspamd");
  TCase *tc = tcase_create("flow");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, through_rspamd);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(rspamd_suite()) != 0;
}
