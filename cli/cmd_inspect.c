/* penmark inspect: a tenant store, its senders, and a sender's habits. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "penmark/score.h"
#include "penmark/store.h"

static void usage(FILE *out) {
  fputs("usage: penmark inspect --tenant T --store DIR [--sender ADDR]\n"
        "\n"
        "Prints JSON: the store's schema and feature configuration, the\n"
        "published model, and every sender (mails, ready, first and last\n"
        "mail dates). With --sender, that sender's strongest habits in\n"
        "words (greeting, sign-off, punctuation, politeness, ...).\n",
        out);
}

/* "2025-06-02T09:14:00Z", or JSON null for 0. */
static void add_date(cJSON *o, const char *key, int64_t t) {
  if (t <= 0) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  time_t tt = (time_t)t;
  struct tm tm;
  char buf[32];
  if (gmtime_r(&tt, &tm) &&
      strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
    cJSON_AddStringToObject(o, key, buf);
  else
    cJSON_AddNullToObject(o, key);
}

static cJSON *sender_json(const pm_store_sender *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "sender", s->address);
  cJSON_AddNumberToObject(o, "mails", (double)s->mails);
  cJSON_AddBoolToObject(o, "ready", s->ready);
  add_date(o, "first_date", s->first_date);
  add_date(o, "last_date", s->last_date);
  add_date(o, "last_trained", s->last_trained);
  return o;
}

static cJSON *store_json(pm_store *st, const pm_profiles *prof) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "tenant", pm_store_tenant(st));
  cJSON_AddStringToObject(o, "store", pm_store_file(st));
  char *v = NULL;
  if (pm_store_meta_get(st, "schema_version", &v, NULL) == PM_OK)
    cJSON_AddNumberToObject(o, "schema_version", atof(v));
  free(v);
  v = NULL;
  if (pm_store_meta_get(st, "created", &v, NULL) == PM_OK)
    add_date(o, "created", (int64_t)atoll(v));
  free(v);
  char hash[20];
  snprintf(hash, sizeof hash, "%016llx",
           (unsigned long long)pm_store_config_hash(st));
  cJSON_AddStringToObject(o, "config_hash", hash);
  cJSON *cfg = cJSON_Parse(pm_store_config_json(st));
  if (cfg)
    cJSON_AddItemToObject(o, "config", cfg);
  cJSON *model = cJSON_AddObjectToObject(o, "model");
  if (model && prof) {
    cJSON_AddNumberToObject(model, "senders", (double)pm_profiles_count(prof));
    pm_cli_add_number(model, "threshold", pm_profiles_threshold(prof));
  }
  return o;
}

/* The one sender asked for, with their strongest habits, into arr; false
 * after a message when there is no such sender or the habits cannot be
 * read. */
static bool add_habits(pm_store *st, const char *sender,
                       const pm_store_sender *found, cJSON *arr) {
  pm_habit habits[12];
  size_t nh = 0;
  pm_error err;
  pm_error_clear(&err);
  if (!found || pm_sender_habits(st, sender, habits, 12, &nh, &err) != PM_OK) {
    if (found)
      pm_cli_err("inspect: %s", pm_error_message(&err));
    else
      pm_cli_err("inspect: no sender %s in store %s", sender,
                 pm_store_file(st));
    return false;
  }
  cJSON *so = sender_json(found);
  cJSON_AddItemToArray(arr, so);
  cJSON *ha = cJSON_AddArrayToObject(so, "habits");
  for (size_t i = 0; ha && i < nh; i++) {
    cJSON *h = cJSON_CreateObject();
    if (!h)
      break;
    cJSON_AddStringToObject(h, "feature", habits[i].feature);
    cJSON_AddStringToObject(h, "text", habits[i].text);
    pm_cli_add_number(h, "value", habits[i].value);
    pm_cli_add_number(h, "tenant", habits[i].tenant);
    cJSON_AddItemToArray(ha, h);
  }
  return true;
}

static bool own_option(int c, const char *arg, void *ctx) {
  (void)c; /* 'S' */
  *(const char **)ctx = arg;
  return true;
}

int pm_cmd_inspect(int argc, char **argv) {
  static const struct option own[] = {
      {"sender", required_argument, 0, 'S'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {"ts--", 0, "S:", own, own_option, usage};
  const char *sender = NULL;
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &sender);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  const char *tenant = co.tenant, *dir = co.store;
  if (!tenant || !dir || optind < argc) {
    pm_cli_err("inspect: --tenant and --store are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  if (!pm_cli_tenant_ok(tenant))
    return PM_EXIT_USAGE;
  pm_error err;
  pm_error_clear(&err);
  pm_store *st = NULL;
  pm_profiles *prof = NULL;
  pm_store_sender *list = NULL;
  size_t n = 0;
  int rc = PM_EXIT_FAIL;
  if (pm_store_open(dir, tenant, PM_STORE_READ, NULL, 0, &st, &err) != PM_OK ||
      pm_store_senders(st, &list, &n, &err) != PM_OK) {
    pm_cli_err("inspect: %s", pm_error_message(&err));
    goto out;
  }
  if (pm_profiles_load(st, NULL, &prof, &err) != PM_OK) {
    pm_cli_err("inspect: %s (showing the statistics only)",
               pm_error_message(&err));
    prof = NULL;
  }
  cJSON *o = store_json(st, prof);
  if (!o)
    goto out;
  cJSON *arr = cJSON_AddArrayToObject(o, "senders");
  size_t ready = 0;
  const pm_store_sender *found = NULL;
  for (size_t i = 0; arr && i < n; i++) {
    ready += list[i].ready;
    if (sender && !strcmp(list[i].address, sender))
      found = &list[i];
    if (!sender)
      cJSON_AddItemToArray(arr, sender_json(&list[i]));
  }
  cJSON_AddNumberToObject(o, "senders_total", (double)n);
  cJSON_AddNumberToObject(o, "senders_ready", (double)ready);
  if (sender && !add_habits(st, sender, found, arr)) {
    cJSON_Delete(o);
    goto out;
  }
  char *s = cJSON_Print(o);
  cJSON_Delete(o);
  if (s) {
    puts(s);
    free(s);
    rc = PM_EXIT_OK;
  }
out:
  pm_store_senders_free(list, n);
  pm_profiles_free(prof);
  pm_store_close(st);
  return rc;
}
