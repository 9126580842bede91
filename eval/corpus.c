/* A corpus directory listed: senders, their files split, P, the trials. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eval/internal.h"

/* A growable list of malloc'd names. */
typedef struct {
  char **v;
  size_t n, cap;
} names;

static void names_free(names *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

static bool names_add(names *l, const char *s) {
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 32;
    char **nv = realloc(l->v, ncap * sizeof *nv);
    if (!nv)
      return false;
    l->v = nv;
    l->cap = ncap;
  }
  if (!(l->v[l->n] = strdup(s)))
    return false;
  l->n++;
  return true;
}

static int cmp_name(const void *a, const void *b) {
  /* strcmp compares as unsigned char: byte order, as protocol.py sorts. */
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 2);
  if (p) {
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
  }
  return p;
}

/* The entries of dir whose type (after symbolic links, as Python's
 * os.path.isdir / isfile) is `want` (S_IFDIR or S_IFREG), sorted. */
static pm_status list_dir(const char *dir, mode_t want, names *out,
                          pm_error *err) {
  DIR *d = opendir(dir);
  if (!d) {
    int e = errno;
    return pm_error_set(err, e == ENOENT ? PM_NOTFOUND : PM_IO,
                        "%s: cannot read the directory: %s", dir, strerror(e));
  }
  pm_status rc = PM_OK;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    char *p = join(dir, e->d_name);
    if (!p) {
      rc = pm_error_set(err, PM_NOMEM, "%s: out of memory", dir);
      break;
    }
    struct stat sb;
    bool keep = stat(p, &sb) == 0 && (sb.st_mode & S_IFMT) == want;
    free(p);
    if (keep && !names_add(out, e->d_name)) {
      rc = pm_error_set(err, PM_NOMEM, "%s: out of memory", dir);
      break;
    }
    errno = 0;
  }
  if (rc == PM_OK && errno)
    rc = pm_error_set(err, PM_IO, "%s: cannot read the directory: %s", dir,
                      strerror(errno));
  closedir(d);
  if (rc == PM_OK && out->n > 1)
    qsort(out->v, out->n, sizeof *out->v, cmp_name);
  return rc;
}

/* Lists sender s's files into relative paths "SENDER/FILE". */
static pm_status load_sender(pm_eval_corpus *c, pm__eval_sender *s,
                             pm_error *err) {
  char *sdir = join(c->dir, s->name);
  if (!sdir)
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", c->dir);
  names files = {0};
  pm_status rc = list_dir(sdir, S_IFREG, &files, err);
  free(sdir);
  if (rc != PM_OK) {
    names_free(&files);
    return rc;
  }
  s->files = calloc(files.n ? files.n : 1, sizeof *s->files);
  if (!s->files) {
    names_free(&files);
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", c->dir);
  }
  /* Every slot counts as training until the split, so that
   * pm_eval_corpus_free frees what a failure leaves (NULL slots included). */
  s->n_train = files.n;
  for (size_t i = 0; i < files.n; i++) {
    if (!(s->files[i] = join(s->name, files.v[i]))) {
      names_free(&files);
      return pm_error_set(err, PM_NOMEM, "%s: out of memory", c->dir);
    }
  }
  s->n_train = pm_eval_train_count(files.n);
  s->n_test = files.n - s->n_train;
  names_free(&files);
  s->outsider = pm_eval_is_outsider(s->name);
  s->profiled = !s->outsider && s->n_train >= PM_EVAL_MIN_TRAIN;
  return PM_OK;
}

pm_status pm_eval_corpus_open(const char *dir, pm_eval_corpus **out,
                              pm_error *err) {
  *out = NULL;
  if (!dir || !*dir)
    return pm_error_set(err, PM_INVAL, "no corpus directory given");
  pm_eval_corpus *c = calloc(1, sizeof *c);
  if (!c || !(c->dir = strdup(dir))) {
    free(c);
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", dir);
  }
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    int e = errno;
    pm_eval_corpus_free(c);
    return pm_error_set(err, e == ENOENT ? PM_NOTFOUND : PM_IO, "corpus %s: %s",
                        dir, strerror(e));
  }
  if (!S_ISDIR(sb.st_mode)) {
    pm_eval_corpus_free(c);
    return pm_error_set(err, PM_INVAL, "corpus %s: not a directory", dir);
  }
  names senders = {0};
  pm_status rc = list_dir(dir, S_IFDIR, &senders, err);
  if (rc == PM_OK && senders.n == 0)
    rc = pm_error_set(err, PM_INVAL,
                      "corpus %s: no sender directories (one sub-directory "
                      "per sender is expected)",
                      dir);
  if (rc == PM_OK && !(c->senders = calloc(senders.n, sizeof *c->senders)))
    rc = pm_error_set(err, PM_NOMEM, "%s: out of memory", dir);
  if (rc == PM_OK && !(c->profiled = calloc(senders.n, sizeof *c->profiled)))
    rc = pm_error_set(err, PM_NOMEM, "%s: out of memory", dir);
  for (size_t i = 0; rc == PM_OK && i < senders.n; i++) {
    /* The sender takes the name over from the list. */
    c->senders[i].name = senders.v[i];
    senders.v[i] = NULL;
    c->n_senders++;
    rc = load_sender(c, &c->senders[i], err);
  }
  names_free(&senders);
  if (rc != PM_OK) {
    pm_eval_corpus_free(c);
    return rc;
  }
  for (size_t i = 0; i < c->n_senders; i++) {
    const pm__eval_sender *s = &c->senders[i];
    c->n_mails += s->n_train + s->n_test;
    c->n_outsiders += s->outsider;
    /* Senders are in byte order, so P is too. */
    if (s->profiled)
      c->profiled[c->n_profiled++] = s->name;
  }
  if ((rc = pm__eval_make_trials(c, err)) != PM_OK) {
    pm_eval_corpus_free(c);
    return rc;
  }
  *out = c;
  return PM_OK;
}

void pm_eval_corpus_free(pm_eval_corpus *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n_senders; i++) {
    pm__eval_sender *s = &c->senders[i];
    if (s->files)
      for (size_t j = 0; j < s->n_train + s->n_test; j++)
        free(s->files[j]);
    free(s->files);
    free(s->name);
    free(s->greeting);
    free(s->closing);
    free(s->surf);
  }
  free(c->senders);
  free(c->profiled);
  free(c->trials);
  free(c->tenants);
  free(c->dir);
  free(c);
}

const char *pm_eval_corpus_dir(const pm_eval_corpus *c) {
  return c->dir;
}

size_t pm_eval_corpus_n_senders(const pm_eval_corpus *c) {
  return c->n_senders;
}

void pm_eval_corpus_sender(const pm_eval_corpus *c, size_t i,
                           pm_eval_sender *out) {
  const pm__eval_sender *s = &c->senders[i];
  out->name = s->name;
  out->outsider = s->outsider;
  out->profiled = s->profiled;
  out->n_train = s->n_train;
  out->n_test = s->n_test;
  out->files = (const char *const *)s->files;
}

const char *const *pm_eval_corpus_profiled(const pm_eval_corpus *c, size_t *n) {
  *n = c->n_profiled;
  return c->profiled;
}

size_t pm_eval_corpus_n_outsiders(const pm_eval_corpus *c) {
  return c->n_outsiders;
}

size_t pm_eval_corpus_n_mails(const pm_eval_corpus *c) {
  return c->n_mails;
}

const pm_eval_trial *pm_eval_corpus_trials(const pm_eval_corpus *c, size_t *n) {
  *n = c->n_trials;
  return c->trials;
}

char *pm__eval_path(const pm_eval_corpus *c, const char *relpath) {
  return join(c->dir, relpath);
}
