/* penmark feedback: what the mail admin learned about scored mail, fed back
 * into the tenant's store. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "penmark/store.h"
#include "penmark/train.h"

static void usage(FILE *out) {
  fputs("usage: penmark feedback --tenant T --store DIR [--config FILE]\n"
        "                        [--min-mails N] [--threads N] [--json]\n"
        "                        (--genuine | --impostor) MAIL...\n"
        "\n"
        "  --genuine    each MAIL is a released false positive: it is learned\n"
        "               as mail of its claimed sender (From:), exactly as\n"
        "               training would learn it\n"
        "  --impostor   each MAIL is a confirmed attack: kept as numbers only\n"
        "               (its style vector, never its text), it teaches every\n"
        "               profile of the tenant to score it and mail like it\n"
        "               low, and joins the calibration's impostors\n"
        "\n"
        "MAIL is a mail file, a maildir, an mbox or a directory tree, as for\n"
        "'penmark train', or '-' for a list of paths on standard input. The\n"
        "store DIR/T.db must exist. Mail fed back before, or trained before,\n"
        "is a duplicate and changes nothing. A run that is stopped leaves the\n"
        "store as it was (--impostor) or at its last batch (--genuine, as\n"
        "training).\n"
        "\n"
        "  --tenant T       tenant name: [a-z0-9][a-z0-9._-]{0,63}\n"
        "  --store DIR      where tenant stores live\n"
        "  --config FILE    feature configuration (JSON); default built in\n"
        "  --min-mails N    mails a sender needs for a profile (default: what\n"
        "                   the store's profiles were made with, else 20)\n"
        "  --threads N      extraction threads (default: the cores)\n"
        "  --json           print the summary as JSON on standard output\n",
        out);
}

/* The min_mails the store's published profiles were made with (training
 * records it as "model_current"), or 0 when unknown. */
static unsigned store_min_mails(const char *dir, const char *tenant) {
  pm_store *st = NULL;
  pm_error err;
  pm_error_clear(&err);
  unsigned v = 0;
  if (pm_store_open(dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) == PM_OK) {
    char *cur = NULL;
    if (pm_store_meta_get(st, "model_current", &cur, &err) == PM_OK) {
      char *end;
      unsigned long n = strtoul(cur, &end, 10);
      if (*end == '\0' && n > 0 && n <= 1000000)
        v = (unsigned)n;
      free(cur);
    }
    pm_store_close(st);
  }
  return v;
}

static void print_summary(const pm_train_summary *s, const char *tenant,
                          bool impostor) {
  printf("tenant %s\n", tenant);
  printf("  mails read        %llu\n", (unsigned long long)s->mails_read);
  printf("  %-17s %llu\n", impostor ? "attacks recorded" : "learned",
         (unsigned long long)s->mails_trained);
  printf("  duplicates        %llu (fed back or trained before, skipped)\n",
         (unsigned long long)s->mails_duplicate);
  printf("  rejected          %llu\n", (unsigned long long)s->mails_rejected);
  for (int r = 0; r < PM_REJECT__COUNT; r++)
    if (s->rejected[r])
      printf("    %-15s %llu\n", pm_reject_reason_name((pm_reject_reason)r),
             (unsigned long long)s->rejected[r]);
  for (size_t i = 0; i < s->n_examples; i++)
    printf("    e.g. %s\n", s->examples[i]);
  printf("  senders           %llu (%llu ready)\n",
         (unsigned long long)s->senders, (unsigned long long)s->senders_ready);
}

static void print_json(const pm_train_summary *s, const char *tenant,
                       bool impostor) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return;
  cJSON_AddStringToObject(o, "tenant", tenant);
  cJSON_AddStringToObject(o, "feedback", impostor ? "impostor" : "genuine");
  cJSON_AddNumberToObject(o, "mails_read", (double)s->mails_read);
  cJSON_AddNumberToObject(o, "mails_learned", (double)s->mails_trained);
  cJSON_AddNumberToObject(o, "mails_duplicate", (double)s->mails_duplicate);
  cJSON_AddNumberToObject(o, "mails_rejected", (double)s->mails_rejected);
  cJSON *ex = cJSON_AddArrayToObject(o, "rejected_examples");
  for (size_t i = 0; ex && i < s->n_examples; i++)
    cJSON_AddItemToArray(ex, cJSON_CreateString(s->examples[i]));
  cJSON_AddNumberToObject(o, "input_errors", (double)s->input_errors);
  cJSON_AddNumberToObject(o, "senders", (double)s->senders);
  cJSON_AddNumberToObject(o, "senders_ready", (double)s->senders_ready);
  pm_cli_add_number(o, "elapsed_s", s->elapsed_s);
  pm_cli_print_json(stdout, o);
}

typedef struct {
  pm_train_opts *o;
  bool json;
  int genuine, impostor;
} own_args;

static bool own_option(int c, const char *arg, void *ctx) {
  own_args *a = ctx;
  long v;
  switch (c) {
  case 'm':
    if (!pm_cli_parse_count("--min-mails", arg, 1, 1000000, &v))
      return false;
    a->o->min_mails = (unsigned)v;
    return true;
  case 'J':
    a->json = true;
    return true;
  case 'G':
    a->genuine = 1;
    return true;
  default: /* 'I' */
    a->impostor = 1;
    return true;
  }
}

int pm_cmd_feedback(int argc, char **argv) {
  static const struct option own[] = {
      {"min-mails", required_argument, 0, 'm'},
      {"json", no_argument, 0, 'J'},
      {"genuine", no_argument, 0, 'G'},
      {"impostor", no_argument, 0, 'I'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {"tscj", 256, "m:J", own, own_option, usage};
  pm_train_opts o;
  pm_train_opts_default(&o);
  o.min_mails = 0;
  own_args a = {&o, false, 0, 0};
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &a);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  o.tenant = co.tenant;
  o.store_dir = co.store;
  o.threads = co.threads;
  bool json = a.json, impostor = a.impostor;
  if (!o.tenant || !o.store_dir || optind >= argc ||
      a.genuine + a.impostor != 1) {
    pm_cli_err("feedback: --tenant, --store, one of --genuine or --impostor "
               "and at least one MAIL are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!pm_cli_tenant_ok(o.tenant))
    return PM_EXIT_USAGE;
  pm_error err;
  pm_error_clear(&err);
  /* feedback is about mail that was scored: a store that does not exist
   * is a mistake in the command line, never a new tenant */
  char *path = pm_store_path(o.store_dir, o.tenant);
  if (!path || access(path, F_OK) != 0) {
    pm_cli_err("feedback: no store %s (train the tenant first)",
               path ? path : o.store_dir);
    free(path);
    return PM_EXIT_FAIL;
  }
  free(path);
  if (o.min_mails == 0)
    o.min_mails = store_min_mails(o.store_dir, o.tenant);
  if (o.min_mails == 0)
    o.min_mails = 20;
  pm_config *cfg = pm_cli_config(co.config);
  if (!cfg)
    return PM_EXIT_FAIL;
  o.cfg = cfg;
  pm_train_summary sum;
  const char *const *inputs = (const char *const *)argv + optind;
  size_t n = (size_t)(argc - optind);
  pm_cli_blas_threads(o.threads);
  pm_status rc = impostor ? pm_train_impostor(&o, inputs, n, &sum, &err)
                          : pm_train(&o, inputs, n, &sum, &err);
  for (size_t i = 0; i < sum.n_input_error_examples; i++)
    pm_cli_err("%s", sum.input_error_examples[i]);
  if (rc != PM_OK)
    pm_cli_err("feedback: %s", pm_error_message(&err));
  if (json)
    print_json(&sum, o.tenant, impostor);
  else if (rc == PM_OK)
    print_summary(&sum, o.tenant, impostor);
  /* a mail that could not be used is an input the admin meant to count */
  int exit_code = rc != PM_OK || sum.input_errors || sum.mails_rejected
                      ? PM_EXIT_FAIL
                      : PM_EXIT_OK;
  pm_train_summary_free(&sum);
  pm_config_free(cfg);
  return exit_code;
}
