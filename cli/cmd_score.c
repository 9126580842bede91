/* penmark score: score mail against the claimed sender's profile. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/score_remote.h"
#include "common/buf.h"
#include "penmark/score.h"

static void usage(FILE *out) {
  fputs("usage: penmark score --tenant T --store DIR [--sender ADDR]\n"
        "                     [--label-by-dir] [--config FILE] MAIL...\n"
        "       penmark score --socket PATH --tenant T [--sender ADDR] "
        "MAIL...\n"
        "\n"
        "Prints one JSON object per mail: file, sender, verdict\n"
        "(impersonation, genuine, or unknown_sender / profile_not_ready /\n"
        "too_little_text), probability, threshold, reasons, profile,\n"
        "elapsed_us. '-' reads a mail from standard input.\n"
        "\n"
        "  --tenant T       the tenant whose profiles to use\n"
        "  --store DIR      where tenant stores live\n"
        "  --sender ADDR    the claimed sender (default: the From: address)\n"
        "  --label-by-dir   the claimed sender is the mail's directory name\n"
        "  --config FILE    score with this configuration (must be the "
        "store's)\n"
        "  --flag-rate R    the false-alarm rate verdicts keep to: the share\n"
        "                   of the senders' own mail flagged (default 0.01)\n"
        "  --socket PATH    ask a running 'penmark serve' instead\n",
        out);
}

/* The name of the directory holding path, for --label-by-dir. */
static void dir_label(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(buf, cap, "%s", "");
    return;
  }
  const char *start = slash;
  while (start > path && start[-1] != '/')
    start--;
  snprintf(buf, cap, "%.*s", (int)(slash - start), start);
}

typedef struct {
  pm_scorer *sc;
  const pm_profiles *prof;
  const char *sender; /* --sender, or NULL */
  bool label_by_dir;
} job;

/* One mail's result line (pm_cli_mail_fn). */
static bool score_one(const char *path, const char *name, const pm_mail *m,
                      void *ctx) {
  job *jb = ctx;
  char label[512];
  const char *claimed = jb->sender;
  if (jb->label_by_dir && !jb->sender) {
    dir_label(path, label, sizeof label);
    claimed = label;
  }
  pm_error err;
  pm_error_clear(&err);
  pm_score_result res;
  if (pm_score_mail(jb->sc, jb->prof, m, claimed, &res, &err) != PM_OK) {
    pm_cli_err("%s: %s", name, pm_error_message(&err));
    return false;
  }
  char *j = pm_score_result_json(&res, name, NULL);
  if (!j) {
    pm_cli_err("out of memory");
    return false;
  }
  puts(j);
  free(j);
  return true;
}

int pm_cmd_score(int argc, char **argv) {
  static const struct option opts[] = {
      {"tenant", required_argument, 0, 't'},
      {"store", required_argument, 0, 's'},
      {"sender", required_argument, 0, 'S'},
      {"label-by-dir", no_argument, 0, 'l'},
      {"config", required_argument, 0, 'c'},
      {"socket", required_argument, 0, 'u'},
      {"flag-rate", required_argument, 0, 'F'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  const char *tenant = NULL, *store_dir = NULL, *sender = NULL;
  const char *config_path = NULL, *socket_path = NULL;
  bool label_by_dir = false;
  double flag_rate = PM_DEFAULT_FLAG_RATE;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "t:s:S:lc:u:F:h", opts, NULL)) != -1) {
    switch (c) {
    case 't':
      tenant = optarg;
      break;
    case 's':
      store_dir = optarg;
      break;
    case 'S':
      sender = optarg;
      break;
    case 'l':
      label_by_dir = true;
      break;
    case 'c':
      config_path = optarg;
      break;
    case 'u':
      socket_path = optarg;
      break;
    case 'F':
      if (!pm_cli_parse_flag_rate("score: --flag-rate", optarg, &flag_rate))
        return PM_EXIT_USAGE;
      break;
    case 'h':
      usage(stdout);
      return PM_EXIT_OK;
    default:
      usage(stderr);
      return PM_EXIT_USAGE;
    }
  }
  if (!tenant || (!store_dir && !socket_path) || optind >= argc) {
    pm_cli_err("score: --tenant, --store (or --socket) and at least one "
               "MAIL are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  pm_error err;
  pm_error_clear(&err);
  if (pm_tenant_check(tenant, &err) != PM_OK) {
    pm_cli_err("%s", pm_error_message(&err));
    return PM_EXIT_USAGE;
  }
  if (socket_path)
    return pm_cli_score_remote(socket_path, tenant, sender, argv + optind,
                               argc - optind);
  pm_config *cfg = NULL;
  if (config_path && !(cfg = pm_cli_config(config_path)))
    return PM_EXIT_FAIL;
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_scorer *sc = NULL;
  int exit_code = PM_EXIT_FAIL;
  if (pm_store_open(store_dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) !=
          PM_OK ||
      pm_profiles_load(st, cfg, &prof, &err) != PM_OK ||
      pm_scorer_new(pm_profiles_config(prof), &sc, &err) != PM_OK ||
      pm_scorer_set_flag_rate(sc, flag_rate, &err) != PM_OK) {
    pm_cli_err("score: %s", pm_error_message(&err));
    goto out;
  }
  pm_store_close(st);
  st = NULL;
  job jb = {sc, prof, sender, label_by_dir};
  int failed = pm_cli_each_mail(argv + optind, argc - optind, score_one, &jb);
  exit_code = failed ? PM_EXIT_FAIL : PM_EXIT_OK;
out:
  pm_scorer_free(sc);
  pm_profiles_free(prof);
  pm_store_close(st);
  pm_config_free(cfg);
  return exit_code;
}
