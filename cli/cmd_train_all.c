/* penmark train-all: the nightly training of many tenants. Each tenant is
 * trained into a copy of its store on local scratch (SQLite's WAL never on
 * the serving directory, which may be a network file system), by a child
 * `penmark train` (a tenant that crashes or runs out of memory takes only
 * its own process down), and published into the serving directory by an
 * atomic rename. A failed tenant is reported and the next one taken. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "common/tmpdir.h"
#include "penmark/store.h"

extern char **environ;

static void usage(FILE *out) {
  fputs(
      "usage: penmark train-all TENANTS_FILE --store DIR [--scratch DIR]\n"
      "                         [--threads N] [--line K] [--summary FILE]\n"
      "                         [--json] [--config FILE] [--min-mails N]\n"
      "                         [--label-by-dir]\n"
      "       penmark train-all --summarize DIR [--summary FILE] [--json]\n"
      "\n"
      "Trains every tenant of TENANTS_FILE (one line per tenant:\n"
      "tenant<TAB>input<TAB>input...; blank lines and lines starting with #\n"
      "are skipped) as `penmark train` would, each into a copy of its store\n"
      "on local scratch, then publishes the store into DIR by an atomic\n"
      "rename (no WAL beside it; a running daemon picks it up). A tenant\n"
      "that fails is reported and left as it was in DIR; the others go on.\n"
      "Prints the night's summary (text, or JSON with --json).\n"
      "\n"
      "  --store DIR      the serving store directory\n"
      "  --scratch DIR    where stores are trained (default $TMPDIR or /tmp)\n"
      "  --threads N      extraction threads per tenant (default: the cores)\n"
      "  --line K         only the K-th tenant of the file (1 = first; for\n"
      "                   one task of a batch array job)\n"
      "  --summary FILE   also write the summary as JSON to FILE\n"
      "  --json           print the summary as JSON instead of text\n"
      "  --summarize DIR  merge the JSON summaries (*.json) in DIR, written\n"
      "                   by the tasks of an array job, into one\n"
      "  --config, --min-mails, --label-by-dir: as for penmark train\n"
      "\n"
      "Exit status: 0 every tenant published, 1 some failed, 2 usage.\n",
      out);
}

typedef struct {
  const char *store, *scratch_parent, *config, *summary_path;
  long threads, min_mails, line;
  bool label_by_dir, json;
} opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The last non-empty line of a file, without "penmark: ": the message a
 * failed child left. */
static void last_line(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    if (n)
      snprintf(out, cap, "%s",
               strncmp(line, "penmark: ", 9) == 0 ? line + 9 : line);
  }
  fclose(f);
}

/* The whole file (malloc'd), NULL when it cannot be read. */
static char *slurp(const char *path) {
  pm__buf b = {0};
  if (pm__read_file(path, 64u << 20, &b, NULL) != PM_OK) {
    pm__buf_free(&b);
    return NULL;
  }
  return pm__buf_steal(&b);
}

/* Runs `penmark train` for one tenant into scratch; the child's JSON
 * summary and messages go to scratch/<tenant>.json and .err. Returns its
 * exit status (128 + signal when killed; -1 when it could not start). */
static int run_child(const opts *o, const char *tenant, char **inputs,
                     size_t n_inputs, const char *scratch, const char *out,
                     const char *errf) {
  char threads[24], min_mails[24];
  const char *argv[32 + 1024];
  size_t a = 0;
  argv[a++] = "penmark";
  argv[a++] = "train";
  argv[a++] = "--tenant";
  argv[a++] = tenant;
  argv[a++] = "--store";
  argv[a++] = scratch;
  argv[a++] = "--json";
  if (o->threads) {
    snprintf(threads, sizeof threads, "%ld", o->threads);
    argv[a++] = "--threads";
    argv[a++] = threads;
  }
  if (o->min_mails) {
    snprintf(min_mails, sizeof min_mails, "%ld", o->min_mails);
    argv[a++] = "--min-mails";
    argv[a++] = min_mails;
  }
  if (o->config) {
    argv[a++] = "--config";
    argv[a++] = o->config;
  }
  if (o->label_by_dir)
    argv[a++] = "--label-by-dir";
  argv[a++] = "--";
  for (size_t i = 0; i < n_inputs && a < sizeof argv / sizeof *argv - 1; i++)
    argv[a++] = inputs[i];
  argv[a] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, errf,
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int e =
      posix_spawn(&pid, "/proc/self/exe", &fa, NULL, (char **)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (e != 0)
    return -1;
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void remove_store_files(const char *dir, const char *tenant) {
  static const char *const ext[] = {".db",         ".db-wal", ".db-shm",
                                    ".db-journal", ".json",   ".err"};
  for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s%s", dir, tenant, ext[i]);
    unlink(p);
  }
}

static void copy_num(cJSON *to, const cJSON *from, const char *key) {
  const cJSON *v = from ? cJSON_GetObjectItemCaseSensitive(from, key) : NULL;
  if (cJSON_IsNumber(v))
    cJSON_AddNumberToObject(to, key, v->valuedouble);
}

/* Trains and publishes one tenant; returns its entry of the summary. */
static cJSON *one_tenant(const opts *o, const char *scratch, char *line,
                         long lineno) {
  cJSON *t = cJSON_CreateObject();
  double t0 = now_s();
  char msg[1024] = "";
  char *fields[1024];
  size_t nf = 0;
  for (char *p = line, *tab; nf < sizeof fields / sizeof *fields; p = tab + 1) {
    fields[nf++] = p;
    if (!(tab = strchr(p, '\t')))
      break;
    *tab = '\0';
  }
  const char *tenant = fields[0];
  cJSON_AddStringToObject(t, "tenant", tenant);
  cJSON_AddNumberToObject(t, "line", (double)lineno);
  pm_error err;
  pm_error_clear(&err);
  int code = -1;
  if (pm_tenant_check(tenant, &err) != PM_OK) {
    snprintf(msg, sizeof msg, "line %ld: %s", lineno, pm_error_message(&err));
  } else if (nf < 2 || !*fields[1]) {
    snprintf(msg, sizeof msg, "line %ld: tenant %s has no input", lineno,
             tenant);
  } else {
    char out[4096], errf[4096];
    snprintf(out, sizeof out, "%s/%s.json", scratch, tenant);
    snprintf(errf, sizeof errf, "%s/%s.err", scratch, tenant);
    remove_store_files(scratch, tenant);
    /* last night's store, so that mail trained before is skipped */
    pm_status rc = pm_store_copy(o->store, scratch, tenant, &err);
    if (rc != PM_OK && rc != PM_NOTFOUND) {
      snprintf(msg, sizeof msg, "%s", pm_error_message(&err));
    } else {
      cJSON_AddBoolToObject(t, "incremental", rc == PM_OK);
      code = run_child(o, tenant, fields + 1, nf - 1, scratch, out, errf);
      char *js = slurp(out);
      cJSON *j = js ? cJSON_Parse(js) : NULL;
      free(js);
      static const char *const keys[] = {
          "mails_read",   "mails_trained", "mails_duplicate", "mails_rejected",
          "input_errors", "senders",       "senders_updated", "senders_ready"};
      for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
        copy_num(t, j, keys[k]);
      cJSON_Delete(j);
      cJSON_AddNumberToObject(t, "exit", code);
      if (code != 0) {
        last_line(errf, msg, sizeof msg);
        if (!*msg)
          snprintf(msg, sizeof msg,
                   code < 0     ? "penmark train could not be started"
                   : code > 128 ? "penmark train was killed by signal %d"
                                : "penmark train exited %d",
                   code > 128 ? code - 128 : code);
      } else {
        uint64_t bytes = 0;
        if (pm_store_publish(scratch, o->store, tenant, &bytes, &err) == PM_OK)
          cJSON_AddNumberToObject(t, "store_bytes", (double)bytes);
        else
          snprintf(msg, sizeof msg, "publishing: %s", pm_error_message(&err));
      }
    }
    remove_store_files(scratch, tenant);
  }
  bool ok = code == 0 && !*msg;
  cJSON_AddStringToObject(t, "status", ok ? "published" : "failed");
  if (!ok)
    cJSON_AddStringToObject(t, "error", msg);
  pm_cli_add_number(t, "elapsed_s", now_s() - t0);
  return t;
}

static int num_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valueint : 0;
}

/* The night: totals from the tenants' entries. */
static cJSON *night(cJSON *tenants, double elapsed) {
  cJSON *s = cJSON_CreateObject();
  int n = 0, pub = 0;
  double mails = 0, bytes = 0;
  const cJSON *t;
  cJSON_ArrayForEach(t, tenants) {
    n++;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "status");
    pub += cJSON_IsString(st) && strcmp(st->valuestring, "published") == 0;
    mails += num_of(t, "mails_trained");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(t, "store_bytes");
    if (cJSON_IsNumber(b))
      bytes += b->valuedouble;
  }
  cJSON_AddNumberToObject(s, "tenants", n);
  cJSON_AddNumberToObject(s, "published", pub);
  cJSON_AddNumberToObject(s, "failed", n - pub);
  cJSON_AddNumberToObject(s, "mails_trained", mails);
  cJSON_AddNumberToObject(s, "bytes_published", bytes);
  if (elapsed >= 0)
    pm_cli_add_number(s, "elapsed_s", elapsed);
  cJSON_AddItemToObject(s, "tenant_results", tenants);
  return s;
}

static void print_text(const cJSON *s) {
  printf("tenants %d: %d published, %d failed; %d mails trained, %.1f MB "
         "published\n",
         num_of(s, "tenants"), num_of(s, "published"), num_of(s, "failed"),
         num_of(s, "mails_trained"),
         cJSON_GetObjectItemCaseSensitive(s, "bytes_published")->valuedouble /
             1e6);
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(s, "tenant_results")) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "tenant");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "status");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(t, "error");
    printf("  %-24s %-9s %6d mails %5d senders%s%s\n",
           cJSON_IsString(name) ? name->valuestring : "?",
           cJSON_IsString(st) ? st->valuestring : "?",
           num_of(t, "mails_trained"), num_of(t, "senders"),
           cJSON_IsString(e) ? "  " : "",
           cJSON_IsString(e) ? e->valuestring : "");
  }
}

/* Writes the JSON summary to path by a rename: a reader never sees half. */
static bool write_summary(const char *path, const cJSON *s) {
  char *text = cJSON_PrintUnformatted(s);
  char *tmp = NULL;
  bool ok = text && asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) >= 0;
  FILE *f = ok ? fopen(tmp, "w") : NULL;
  ok = f && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
  if (f && fclose(f) != 0)
    ok = false;
  if (ok && rename(tmp, path) != 0)
    ok = false;
  if (!ok) {
    pm_cli_err("cannot write the summary %s: %s", path, strerror(errno));
    if (tmp)
      unlink(tmp);
  }
  free(tmp);
  free(text);
  return ok;
}

static int finish(const opts *o, cJSON *s) {
  bool ok = !o->summary_path || write_summary(o->summary_path, s);
  int failed = num_of(s, "failed");
  if (o->json)
    pm_cli_print_json(stdout, s);
  else {
    print_text(s);
    cJSON_Delete(s);
  }
  return failed || !ok ? PM_EXIT_FAIL : PM_EXIT_OK;
}

static int summarize(const opts *o, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    pm_cli_err("train-all: %s: %s", dir, strerror(errno));
    return PM_EXIT_FAIL;
  }
  cJSON *all = cJSON_CreateArray();
  struct dirent *e;
  int bad = 0;
  while ((e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    char *text = slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *ts =
        j ? cJSON_GetObjectItemCaseSensitive(j, "tenant_results") : NULL;
    if (!cJSON_IsArray(ts)) {
      pm_cli_err("train-all: %s: not a train-all summary", path);
      bad++;
    } else {
      cJSON *t;
      while ((t = cJSON_DetachItemFromArray(ts, 0)))
        cJSON_AddItemToArray(all, t);
    }
    cJSON_Delete(j);
  }
  closedir(d);
  int rc = finish(o, night(all, -1));
  return bad ? PM_EXIT_FAIL : rc;
}

/* Trains the tenant of each line of the file in turn (only line o->line
 * when given), adding each one's result to tenants. Returns the number of
 * tenant lines (blank lines and comments are none). */
static long train_lines(const opts *o, FILE *f, const char *scratch,
                        cJSON *tenants) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long k = 0;
  while ((len = getline(&line, &cap, f)) >= 0) {
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    const char *p = line;
    while (*p == ' ')
      p++;
    if (!*p || *p == '#')
      continue;
    k++;
    if (o->line && k != o->line)
      continue;
    cJSON *t = one_tenant(o, scratch, line, k);
    if (!o->json) {
      const cJSON *st = cJSON_GetObjectItemCaseSensitive(t, "status");
      const cJSON *e = cJSON_GetObjectItemCaseSensitive(t, "error");
      if (cJSON_IsString(e))
        pm_cli_err("tenant %s: %s: %s",
                   cJSON_GetObjectItemCaseSensitive(t, "tenant")->valuestring,
                   st->valuestring, e->valuestring);
    }
    cJSON_AddItemToArray(tenants, t);
  }
  free(line);
  return k;
}

typedef struct {
  opts *o;
  const char *merge;
} own_args;

static bool own_option(int c, const char *arg, void *ctx) {
  own_args *a = ctx;
  switch (c) {
  case 'S':
    a->o->scratch_parent = arg;
    return true;
  case 'L':
    return pm_cli_parse_count("--line", arg, 1, 100000000, &a->o->line);
  case 'o':
    a->o->summary_path = arg;
    return true;
  case 'M':
    a->merge = arg;
    return true;
  case 'J':
    a->o->json = true;
    return true;
  case 'm':
    return pm_cli_parse_count("--min-mails", arg, 1, 1000000, &a->o->min_mails);
  default: /* 'l' */
    a->o->label_by_dir = true;
    return true;
  }
}

int pm_cmd_train_all(int argc, char **argv) {
  static const struct option own[] = {
      {"scratch", required_argument, 0, 'S'},
      {"line", required_argument, 0, 'L'},
      {"summary", required_argument, 0, 'o'},
      {"summarize", required_argument, 0, 'M'},
      {"json", no_argument, 0, 'J'},
      {"min-mails", required_argument, 0, 'm'},
      {"label-by-dir", no_argument, 0, 'l'},
      {0, 0, 0, 0},
  };
  /* long options only */
  static const pm_cli_spec spec = {"-+++", 256, "", own, own_option, usage};
  opts o = {0};
  own_args a = {&o, NULL};
  pm_cli_common co;
  pm_cli_parsed parsed = pm_cli_parse(&spec, argc, argv, &co, &a);
  if (parsed != PM_CLI_GO)
    return parsed == PM_CLI_HELP ? PM_EXIT_OK : PM_EXIT_USAGE;
  o.store = co.store;
  o.config = co.config;
  o.threads = co.threads;
  const char *merge = a.merge;
  if (merge)
    return summarize(&o, merge);
  if (!o.store || optind != argc - 1) {
    pm_cli_err("train-all: a TENANTS_FILE and --store are needed");
    usage(stderr);
    return PM_EXIT_USAGE;
  }
  const char *file = argv[optind];
  FILE *f = fopen(file, "r");
  if (!f) {
    pm_cli_err("train-all: %s: %s", file, strerror(errno));
    return PM_EXIT_FAIL;
  }
  const char *used = NULL;
  char *scratch = pm__make_tmpdir(o.scratch_parent, "train-all", &used);
  if (!scratch) {
    pm_cli_err("train-all: cannot make a scratch directory in %s: %s", used,
               strerror(errno));
    fclose(f);
    return PM_EXIT_FAIL;
  }
  double t0 = now_s();
  cJSON *tenants = cJSON_CreateArray();
  long k = train_lines(&o, f, scratch, tenants);
  fclose(f);
  pm__rmtree(scratch);
  free(scratch);
  if (o.line && k < o.line) {
    pm_cli_err("train-all: %s has %ld tenants, no tenant %ld", file, k, o.line);
    cJSON_Delete(tenants);
    return PM_EXIT_USAGE;
  }
  return finish(&o, night(tenants, now_s() - t0));
}
