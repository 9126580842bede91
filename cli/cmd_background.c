/* penmark background: a store of other writers' style, for training. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "penmark/store.h"
#include "penmark/train.h"

static void usage(FILE *out) {
  fputs("usage: penmark background --out DIR/NAME.db [--config FILE]\n"
        "                          [--label-by-dir] [--threads N] INPUT...\n"
        "\n"
        "Builds a background: the style of writers who are not a tenant's,\n"
        "learned from the mail in INPUT (as for penmark train) and kept as\n"
        "numbers only, in a store of its own. `penmark train --background`\n"
        "learns each sender against the tenant and the background alike,\n"
        "and measures its scores on the background's writers, so that small\n"
        "tenants get sharper profiles and a tenant of one sender gets one at\n"
        "all. One background serves every tenant of a store directory; it\n"
        "must be built with the tenants' feature configuration. Running it\n"
        "again with more mail adds that mail (mail seen before is skipped).\n"
        "\n"
        "  --out DIR/NAME.db  the background store (created if missing)\n"
        "  --config FILE      feature configuration (JSON); default built in\n"
        "  --label-by-dir     writers are the mails' directories, not From:\n"
        "  --threads N        extraction threads (default: the cores)\n",
        out);
}

/* DIR/NAME.db -> DIR, NAME; false (with a message) when it is not one. */
static bool split_out(const char *out, char **dir, char **name) {
  pm_status rc = pm_store_path_split(out, dir, name, NULL);
  if (rc == PM_INVAL) {
    pm_cli_err("background: --out %s: expected a store file DIR/NAME.db", out);
    return false;
  }
  pm_error err;
  if (*name && pm_tenant_check(*name, &err) != PM_OK) {
    pm_cli_err("background: --out %s: %s", out, pm_error_message(&err));
    return false;
  }
  return *dir && *name;
}

typedef struct {
  pm_train_opts *o;
  const char *out;
} own_args;

static bool own_option(int c, const char *arg, void *ctx) {
  own_args *a = ctx;
  if (c == 'o')
    a->out = arg;
  else /* 'l' */
    a->o->label_by_dir = true;
  return true;
}

int pm_cmd_background(int argc, char **argv) {
  static const struct option own[] = {
      {"out", required_argument, 0, 'o'},
      {"label-by-dir", no_argument, 0, 'l'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {"--cj", 256, "o:l", own, own_option, usage};
  pm_train_opts o;
  pm_train_opts_default(&o);
  /* a background publishes no profiles of its own: nobody is ready */
  o.min_mails = UINT_MAX;
  own_args a = {&o, NULL};
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &a);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  const char *out = a.out;
  o.threads = co.threads;
  if (!out || optind >= argc) {
    pm_cli_err("background: --out and at least one INPUT are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  char *dir = NULL, *name = NULL;
  if (!split_out(out, &dir, &name)) {
    free(dir);
    free(name);
    return PM_EXIT_USAGE;
  }
  pm_config *cfg = pm_cli_config(co.config);
  int exit_code = PM_EXIT_FAIL;
  if (cfg) {
    o.cfg = cfg;
    o.store_dir = dir;
    o.tenant = name;
    pm_train_summary sum;
    pm_error err;
    pm_error_clear(&err);
    pm_cli_blas_threads(o.threads);
    pm_status rc = pm_train(&o, (const char *const *)argv + optind,
                            (size_t)(argc - optind), &sum, &err);
    for (size_t i = 0; i < sum.n_input_error_examples; i++)
      pm_cli_err("%s", sum.input_error_examples[i]);
    if (rc != PM_OK) {
      pm_cli_err("background: %s", pm_error_message(&err));
    } else {
      printf("background %s\n  mails read        %llu\n  trained           "
             "%llu\n  duplicates        %llu\n  rejected          %llu\n  "
             "writers           %llu\n",
             out, (unsigned long long)sum.mails_read,
             (unsigned long long)sum.mails_trained,
             (unsigned long long)sum.mails_duplicate,
             (unsigned long long)sum.mails_rejected,
             (unsigned long long)sum.senders);
      exit_code = sum.input_errors ? PM_EXIT_FAIL : PM_EXIT_OK;
    }
    pm_train_summary_free(&sum);
    pm_config_free(cfg);
  }
  free(dir);
  free(name);
  return exit_code;
}
