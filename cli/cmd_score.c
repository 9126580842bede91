/* penmark score: score mail against the claimed sender's profile. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
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

typedef struct {
  const char *sender, *socket_path;
  bool label_by_dir;
  double flag_rate;
} own_args;

static bool own_option(int c, const char *arg, void *ctx) {
  own_args *a = ctx;
  switch (c) {
  case 'S':
    a->sender = arg;
    return true;
  case 'l':
    a->label_by_dir = true;
    return true;
  case 'u':
    a->socket_path = arg;
    return true;
  default: /* 'F' */
    return pm_cli_parse_flag_rate("score: --flag-rate", arg, &a->flag_rate);
  }
}

int pm_cmd_score(int argc, char **argv) {
  static const struct option own[] = {
      {"sender", required_argument, 0, 'S'},
      {"label-by-dir", no_argument, 0, 'l'},
      {"socket", required_argument, 0, 'u'},
      {"flag-rate", required_argument, 0, 'F'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {
      "tsc-", 0, "S:lu:F:", own, own_option, usage};
  own_args a = {NULL, NULL, false, PM_DEFAULT_FLAG_RATE};
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &a);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  const char *tenant = co.tenant, *store_dir = co.store;
  const char *sender = a.sender, *socket_path = a.socket_path;
  if (!tenant || (!store_dir && !socket_path) || optind >= argc) {
    pm_cli_err("score: --tenant, --store (or --socket) and at least one "
               "MAIL are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!pm_cli_tenant_ok(tenant))
    return PM_EXIT_USAGE;
  if (socket_path)
    return pm_cli_score_remote(socket_path, tenant, sender, argv + optind,
                               argc - optind);
  pm_config *cfg = NULL;
  if (co.config && !(cfg = pm_cli_config(co.config)))
    return PM_EXIT_FAIL;
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_scorer *sc = NULL;
  int exit_code = PM_EXIT_FAIL;
  pm_error err;
  pm_error_clear(&err);
  if (pm_store_open(store_dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) !=
          PM_OK ||
      pm_profiles_load(st, cfg, &prof, &err) != PM_OK ||
      pm_scorer_new(pm_profiles_config(prof), &sc, &err) != PM_OK ||
      pm_scorer_set_flag_rate(sc, a.flag_rate, &err) != PM_OK) {
    pm_cli_err("score: %s", pm_error_message(&err));
    goto out;
  }
  pm_store_close(st);
  st = NULL;
  job jb = {sc, prof, sender, a.label_by_dir};
  int failed = pm_cli_each_mail(argv + optind, argc - optind, score_one, &jb);
  exit_code = failed ? PM_EXIT_FAIL : PM_EXIT_OK;
out:
  pm_scorer_free(sc);
  pm_profiles_free(prof);
  pm_store_close(st);
  pm_config_free(cfg);
  return exit_code;
}
