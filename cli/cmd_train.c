/* penmark train (placeholder until the module lands). */
#include "cli/cli.h"

int pm_cmd_train(int argc, char **argv) {
  (void)argc;
  (void)argv;
  pm_cli_err("train: not available in this build");
  return PM_EXIT_FAIL;
}
