/* penmark inspect (placeholder until the module lands). */
#include "cli/cli.h"

int pm_cmd_inspect(int argc, char **argv) {
  (void)argc;
  (void)argv;
  pm_cli_err("inspect: not available in this build");
  return PM_EXIT_FAIL;
}
