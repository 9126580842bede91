/* penmark train: the nightly job of a tenant. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "penmark/store.h"
#include "penmark/train.h"

static void usage(FILE *out) {
  fputs("usage: penmark train --tenant T --store DIR [--config FILE]\n"
        "                     [--label-by-dir] [--min-mails N] [--threads N]\n"
        "                     [--background FILE] [--json] INPUT...\n"
        "\n"
        "Adds the sent mail in INPUT to the sender profiles of tenant T, kept\n"
        "in DIR/T.db. INPUT is a maildir, an mbox file, a directory tree of\n"
        ".eml/.txt files, a single mail, or '-' for a list of paths on\n"
        "standard input. Mail trained before is skipped, so a run can be\n"
        "repeated; a run that is stopped leaves the store at its last batch.\n"
        "\n"
        "  --tenant T       tenant name: [a-z0-9][a-z0-9._-]{0,63}\n"
        "  --store DIR      where tenant stores live (created if missing)\n"
        "  --config FILE    feature configuration (JSON); default built in\n"
        "  --label-by-dir   the sender is the name of the mail's directory\n"
        "                   (labeled corpora), not its From: address\n"
        "  --min-mails N    mails a sender needs for a profile (default 20)\n"
        "  --threads N      extraction threads (default: the cores)\n"
        "  --background FILE  a background store (penmark background): the\n"
        "                   style of other writers, learned against too; with\n"
        "                   it a tenant of one sender gets a profile\n"
        "  --json           print the summary as JSON on standard output\n",
        out);
}

/* The progress bar, on a terminal only. */
static void progress(const pm_train_progress *p, void *ctx) {
  (void)ctx;
  if (p->finalizing) {
    fprintf(stderr, "\r\033[K%llu mails read; computing the profiles...",
            (unsigned long long)p->mails_done);
    return;
  }
  double frac = p->mails_total ? (double)p->mails_done / p->mails_total : 1;
  int width = 24, fill = (int)(frac * width);
  double mb = p->bytes_done / 1e6,
         rate = p->elapsed_s > 0 ? mb / p->elapsed_s : 0;
  double eta = frac > 0 ? p->elapsed_s * (1 - frac) / frac : 0;
  fprintf(stderr,
          "\r\033[K[%.*s%*s] %llu/%llu mails  %.1f MB  %.1f MB/s  ETA %d:%02d",
          fill, "========================", width - fill, "",
          (unsigned long long)p->mails_done, (unsigned long long)p->mails_total,
          mb, rate, (int)eta / 60, (int)eta % 60);
}

static void print_summary(const pm_train_summary *s, const char *tenant) {
  double mb = s->bytes_read / 1e6;
  printf("tenant %s\n", tenant);
  printf("  mails read        %llu (%.1f MB)\n",
         (unsigned long long)s->mails_read, mb);
  printf("  trained           %llu\n", (unsigned long long)s->mails_trained);
  printf("  duplicates        %llu (trained before, skipped)\n",
         (unsigned long long)s->mails_duplicate);
  printf("  rejected          %llu\n", (unsigned long long)s->mails_rejected);
  for (int r = 0; r < PM_REJECT__COUNT; r++)
    if (s->rejected[r])
      printf("    %-15s %llu\n", pm_reject_reason_name((pm_reject_reason)r),
             (unsigned long long)s->rejected[r]);
  for (size_t i = 0; i < s->n_examples; i++)
    printf("    e.g. %s\n", s->examples[i]);
  printf("  senders updated   %llu\n", (unsigned long long)s->senders_updated);
  printf("  senders           %llu (%llu ready)\n",
         (unsigned long long)s->senders, (unsigned long long)s->senders_ready);
  printf("  elapsed           %.2f s (%.1f MB/s)\n", s->elapsed_s,
         s->elapsed_s > 0 ? mb / s->elapsed_s : 0.0);
}

static void print_json(const pm_train_summary *s, const char *tenant) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return;
  cJSON_AddStringToObject(o, "tenant", tenant);
  cJSON_AddNumberToObject(o, "mails_read", (double)s->mails_read);
  cJSON_AddNumberToObject(o, "mails_trained", (double)s->mails_trained);
  cJSON_AddNumberToObject(o, "mails_duplicate", (double)s->mails_duplicate);
  cJSON_AddNumberToObject(o, "mails_rejected", (double)s->mails_rejected);
  cJSON *rej = cJSON_AddObjectToObject(o, "rejected");
  for (int r = 0; rej && r < PM_REJECT__COUNT; r++)
    cJSON_AddNumberToObject(rej, pm_reject_reason_name((pm_reject_reason)r),
                            (double)s->rejected[r]);
  cJSON *ex = cJSON_AddArrayToObject(o, "rejected_examples");
  for (size_t i = 0; ex && i < s->n_examples; i++)
    cJSON_AddItemToArray(ex, cJSON_CreateString(s->examples[i]));
  cJSON_AddNumberToObject(o, "input_errors", (double)s->input_errors);
  cJSON_AddNumberToObject(o, "bytes_read", (double)s->bytes_read);
  cJSON_AddNumberToObject(o, "senders_updated", (double)s->senders_updated);
  cJSON_AddNumberToObject(o, "senders", (double)s->senders);
  cJSON_AddNumberToObject(o, "senders_ready", (double)s->senders_ready);
  pm_cli_add_number(o, "elapsed_s", s->elapsed_s);
  pm_cli_add_number(o, "mb_per_s",
                    s->elapsed_s > 0 ? s->bytes_read / 1e6 / s->elapsed_s : 0);
  pm_cli_print_json(stdout, o);
}

typedef struct {
  pm_train_opts *o;
  bool json;
} own_args;

static bool own_option(int c, const char *arg, void *ctx) {
  own_args *a = ctx;
  long v;
  switch (c) {
  case 'l':
    a->o->label_by_dir = true;
    return true;
  case 'm':
    if (!pm_cli_parse_count("--min-mails", arg, 1, 1000000, &v))
      return false;
    a->o->min_mails = (unsigned)v;
    return true;
  case 'J':
    a->json = true;
    return true;
  case 'b':
    a->o->background = arg;
    return true;
  default: /* 'B' */
    if (!pm_cli_parse_count("--batch-mails", arg, 1, 100000000, &v))
      return false;
    a->o->batch_mails = (size_t)v;
    return true;
  }
}

int pm_cmd_train(int argc, char **argv) {
  static const struct option own[] = {
      {"label-by-dir", no_argument, 0, 'l'},
      {"min-mails", required_argument, 0, 'm'},
      {"json", no_argument, 0, 'J'},
      {"background", required_argument, 0, 'b'},
      /* hidden: mails per transaction, for the crash-safety tests */
      {"batch-mails", required_argument, 0, 'B'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {"tscj", 256, "lm:J", own, own_option, usage};
  pm_train_opts o;
  pm_train_opts_default(&o);
  own_args a = {&o, false};
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &a);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  o.tenant = co.tenant;
  o.store_dir = co.store;
  o.threads = co.threads;
  bool json = a.json;
  if (!o.tenant || !o.store_dir || optind >= argc) {
    pm_cli_err("train: --tenant, --store and at least one INPUT are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!pm_cli_tenant_ok(o.tenant))
    return PM_EXIT_USAGE;
  pm_error err;
  pm_error_clear(&err);
  pm_config *cfg = pm_cli_config(co.config);
  if (!cfg)
    return PM_EXIT_FAIL;
  o.cfg = cfg;
  if (isatty(STDERR_FILENO))
    o.progress = progress;
  pm_train_summary sum;
  pm_cli_blas_threads(o.threads);
  pm_status rc = pm_train(&o, (const char *const *)argv + optind,
                          (size_t)(argc - optind), &sum, &err);
  if (o.progress)
    fputs("\r\033[K", stderr);
  for (size_t i = 0; i < sum.n_input_error_examples; i++)
    pm_cli_err("%s", sum.input_error_examples[i]);
  if (rc != PM_OK)
    pm_cli_err("train: %s", pm_error_message(&err));
  if (json)
    print_json(&sum, o.tenant);
  else if (rc == PM_OK)
    print_summary(&sum, o.tenant);
  int exit_code = rc != PM_OK        ? PM_EXIT_FAIL
                  : sum.input_errors ? PM_EXIT_FAIL
                                     : PM_EXIT_OK;
  pm_train_summary_free(&sum);
  pm_config_free(cfg);
  return exit_code;
}
