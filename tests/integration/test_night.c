/* The night of many tenants end to end (tests/integration/night_flow.sh):
 * `penmark train-all` alone, and as one Slurm array job on a one-node
 * cluster of the test's own, each publishing 20 tenants' stores into the
 * directory of a running daemon while it answers requests, with one broken
 * tenant failing alone. A missing package or root is a failure: CI runs as
 * root and installs them. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_driver(const char *mode) {
  char *cmd = pm_test_fmt("bash tests/integration/night_flow.sh '%s' '%s' %s",
                          pm_test_penmark(), pm_test_data_dir(), mode);
  char *want = pm_test_fmt("night-flow %s ok", mode);
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, want),
                "night_flow.sh %s exited %d:\n%s\n%s", mode, rc, out, err);
  printf("%s", out);
  free(out);
  free(err);
  free(want);
  free(cmd);
}

START_TEST(train_all_alone) {
  run_driver("local");
}
END_TEST

START_TEST(slurm_array) {
  run_driver("slurm");
}
END_TEST

static Suite *night_suite(void) {
  Suite *s = suite_create("night");
  TCase *tc = tcase_create("flow");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, train_all_alone);
  tcase_add_test(tc, slurm_array);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(night_suite()) != 0;
}
