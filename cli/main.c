/* penmark: the command. Each subcommand lives in cli/cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "penmark/penmark.h"

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *help;
} commands[] = {
    {"train", pm_cmd_train, "learn sender profiles from sent mail"},
    {"background", pm_cmd_background,
     "build a background of other writers' style, for training"},
    {"train-all", pm_cmd_train_all,
     "train many tenants and publish their stores (nightly)"},
    {"score", pm_cmd_score, "score mail against the claimed sender's profile"},
    {"serve", pm_cmd_serve, "the scoring daemon (HTTP over a unix socket)"},
    {"milter", pm_cmd_milter, "a libmilter filter for Postfix and Sendmail"},
    {"eval", pm_cmd_eval, "evaluate on a labeled corpus (EVAL protocol)"},
    {"features", pm_cmd_features, "print the style features of mail"},
    {"inspect", pm_cmd_inspect, "show a tenant store and its senders"},
    {"feedback", pm_cmd_feedback, "learn from released and confirmed mail"},
};

static void usage(FILE *out) {
  fprintf(out, "usage: penmark COMMAND [OPTIONS] ...\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
  fprintf(out, "\n'penmark COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
      !strcmp(argv[1], "help")) {
    usage(stdout);
    return PM_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("penmark %s\n", PM_VERSION);
    return PM_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name)) {
      int rc = commands[i].run(argc - 1, argv + 1);
      fflush(stdout);
      pm_library_shutdown();
      return rc;
    }
  pm_cli_err("unknown command '%s' (see 'penmark --help')", argv[1]);
  return PM_EXIT_USAGE;
}
