/* penmark features: the style features of mail, one JSON object per mail. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "common/buf.h"
#include "penmark/features.h"
#include "penmark/mail.h"

static void usage(FILE *out) {
  fputs("usage: penmark features [--show-text] [--config FILE] MAIL...\n"
        "\n"
        "Prints one JSON object per mail (one per line): the claimed sender,\n"
        "the language, the length of the sender's own text and the named\n"
        "style features. '-' reads a mail from standard input.\n"
        "\n"
        "  --show-text    include own_text: what the sender wrote, as cut\n"
        "  --config FILE  feature configuration (JSON)\n",
        out);
}

static cJSON *flags_json(unsigned flags) {
  static const struct {
    unsigned bit;
    const char *name;
  } names[] = {{PM_MAIL_HTML, "html"},
               {PM_MAIL_NO_HEADERS, "no_headers"},
               {PM_MAIL_CHARSET_GUESSED, "charset_guessed"},
               {PM_MAIL_INVALID_UTF8, "invalid_utf8"},
               {PM_MAIL_QUOTE_CUT, "quote_cut"},
               {PM_MAIL_DISCLAIMER_CUT, "disclaimer_cut"},
               {PM_MAIL_TRUNCATED, "truncated"},
               {PM_MAIL_PARTS_LIMIT, "parts_limit"},
               {PM_MAIL_NO_TEXT_PART, "no_text_part"}};
  cJSON *a = cJSON_CreateArray();
  for (size_t i = 0; a && i < sizeof names / sizeof names[0]; i++)
    if (flags & names[i].bit)
      cJSON_AddItemToArray(a, cJSON_CreateString(names[i].name));
  return a;
}

static cJSON *mail_json(const char *file, const pm_mail *m,
                        const pm_features *f, bool show_text) {
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "file", file);
  cJSON_AddStringToObject(o, "sender", pm_mail_sender(m));
  cJSON_AddStringToObject(o, "display_name", pm_mail_display_name(m));
  cJSON_AddStringToObject(o, "language",
                          pm_language_name(pm_features_language(f)));
  cJSON_AddNumberToObject(o, "own_chars", (double)pm_features_own_chars(f));
  cJSON_AddNumberToObject(o, "words", (double)pm_features_words(f));
  cJSON_AddItemToObject(o, "flags", flags_json(pm_mail_flags(m)));
  cJSON_AddNumberToObject(o, "hashed_nonzero", (double)pm_features_nnz(f));
  cJSON *named = cJSON_AddObjectToObject(o, "features");
  const float *v = pm_features_named(f);
  for (size_t i = 0; named && i < pm_named_count(); i++)
    pm_cli_add_number(named, pm_named_name(i), v[i]);
  if (show_text) {
    size_t len;
    const char *t = pm_mail_own_text(m, &len);
    cJSON_AddStringToObject(o, "own_text", t);
  }
  return o;
}

typedef struct {
  pm_extractor *x;
  pm_features *f;
  bool show_text;
} job;

/* One mail's line (pm_cli_mail_fn). */
static bool print_one(const char *path, const char *name, const pm_mail *m,
                      void *ctx) {
  (void)path;
  job *jb = ctx;
  pm_error err;
  pm_error_clear(&err);
  if (pm_extract_mail(jb->x, m, jb->f, &err) != PM_OK) {
    pm_cli_err("%s: %s", name, pm_error_message(&err));
    return false;
  }
  cJSON *j = mail_json(name, m, jb->f, jb->show_text);
  if (!j) {
    pm_cli_err("out of memory");
    return false;
  }
  pm_cli_print_json(stdout, j);
  return true;
}

static bool own_option(int c, const char *arg, void *ctx) {
  (void)c; /* 't' */
  (void)arg;
  *(bool *)ctx = true;
  return true;
}

int pm_cmd_features(int argc, char **argv) {
  static const struct option own[] = {
      {"show-text", no_argument, 0, 't'},
      {0, 0, 0, 0},
  };
  static const pm_cli_spec spec = {"--c-", 0, "t", own, own_option, usage};
  bool show_text = false;
  pm_cli_common co;
  pm_cli_parsed p = pm_cli_parse(&spec, argc, argv, &co, &show_text);
  if (p != PM_CLI_GO)
    return p == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  if (optind >= argc) {
    pm_cli_err("features: no mail given");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  pm_config *cfg = pm_cli_config(co.config);
  if (!cfg)
    return PM_EXIT_FAIL;
  pm_error err;
  pm_error_clear(&err);
  pm_extractor *x = NULL;
  pm_features *f = pm_features_new();
  if (!f || pm_extractor_new(cfg, &x, &err) != PM_OK) {
    pm_cli_err("%s", f ? pm_error_message(&err) : "out of memory");
    pm_features_free(f);
    pm_config_free(cfg);
    return PM_EXIT_FAIL;
  }
  job jb = {x, f, show_text};
  int failed = pm_cli_each_mail(argv + optind, argc - optind, print_one, &jb);
  pm_features_free(f);
  pm_extractor_free(x);
  pm_config_free(cfg);
  return failed ? PM_EXIT_FAIL : PM_EXIT_OK;
}
