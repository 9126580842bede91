/* penmark serve (placeholder until the module lands). */
#include "cli/cli.h"

int pm_cmd_serve(int argc, char **argv) {
  (void)argc;
  (void)argv;
  pm_cli_err("serve: not available in this build");
  return PM_EXIT_FAIL;
}
