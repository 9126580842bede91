/* The systemd units of contrib/ (the daemon, the milter, nightly training):
 * systemd_units.sh checks their hardening and runs `systemd-analyze
 * verify` on them. */
#include "tests/support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(units_verify) {
  char *cmd = pm_test_fmt("sh tests/integration/systemd_units.sh '%s' contrib",
                          pm_test_penmark());
  char *out = NULL, *err = NULL;
  int rc = pm_test_run(cmd, &out, &err);
  ck_assert_msg(rc == 0 && strstr(out, "systemd-units ok"),
                "systemd_units.sh exited %d:\n%s\n%s", rc, out, err);
  printf("%s", out);
  free(out);
  free(err);
  free(cmd);
}
END_TEST

static Suite *units_suite(void) {
  Suite *s = suite_create("units");
  TCase *tc = tcase_create("systemd");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, units_verify);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return pm_test_run_suite(units_suite()) != 0;
}
