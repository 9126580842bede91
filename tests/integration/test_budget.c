/* `penmark serve --max-memory` end to end (tests/integration/budget_flow.sh):
 * more tenants than the budget holds, requests to all of them, every answer
 * equal to `penmark score`'s, evictions and loads counted, the daemon's RSS
 * under the budget plus a stated margin. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(more_tenants_than_fit) {
  char *cmd = pm_test_fmt("bash tests/integration/budget_flow.sh '%s' '%s'",
                          pm_test_penmark(), pm_test_data_dir());
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, "budget-flow ok"),
                "budget_flow.sh exited %d:\n%s\n%s", rc, out, err);
  printf("%s", out);
  free(out);
  free(err);
  free(cmd);
}
END_TEST

int main(void) {
  Suite *s = suite_create("budget");
  TCase *tc = tcase_create("flow");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, more_tenants_than_fit);
  suite_add_tcase(s, tc);
  return pm_test_run_suite(s) != 0;
}
