/* Mimicry (EVAL.md): the careful attacker pastes the claimed sender's
 * habitual greeting line and closing block over the impostor mail's own.
 * Greeting and closing block are what penmark's layout features read
 * (pm_features_surface), so the attack removes exactly the surface the
 * scorer looks at. The rewritten mail is a new raw message (the impostor
 * mail's headers, a text/plain UTF-8 body) scored like any other mail, so
 * the scorer reads it as it would read a real one. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "eval/internal.h"
#include "penmark/mail.h"

/* ---- the rewrite ---- */

/* Whether the line at p (length n) starts a header field "Name:". */
static bool header_field(const char *p, size_t n) {
  size_t i = 0;
  while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
    i++;
  return i > 0 && i < n && p[i] == ':';
}

/* Fields that describe the old body, dropped: the new body has its own. */
static bool body_field(const char *p, size_t n) {
  static const char *const drop[] = {"content-", "mime-version:"};
  for (size_t k = 0; k < 2; k++) {
    size_t l = strlen(drop[k]);
    if (n >= l && strncasecmp(p, drop[k], l) == 0)
      return true;
  }
  return false;
}

static bool put_headers(pm__buf *b, const char *raw, size_t len) {
  size_t eol = 0;
  while (eol < len && raw[eol] != '\n')
    eol++;
  if (!header_field(raw, eol))
    return true; /* no header block: the body alone */
  bool dropping = false;
  for (size_t i = 0; i < len;) {
    size_t e = i;
    while (e < len && raw[e] != '\n')
      e++;
    size_t n = e - i;
    if (n && raw[i + n - 1] == '\r')
      n--;
    if (n == 0)
      break; /* the blank line ends the header block */
    bool cont = raw[i] == ' ' || raw[i] == '\t';
    if (!cont)
      dropping = body_field(raw + i, n);
    if (!dropping && (!pm__buf_append(b, raw + i, n) || !pm__buf_putc(b, '\n')))
      return false;
    i = e < len ? e + 1 : e;
  }
  return true;
}

pm_status pm_eval_mimicry_rewrite(const char *raw, size_t raw_len,
                                  const char *own, size_t own_len,
                                  const pm_layout_surface *surf,
                                  const char *greeting, const char *closing,
                                  char **out, size_t *out_len,
                                  unsigned *replaced, pm_error *err) {
  pm__buf b = {0};
  *replaced = 0;
  bool g = surf->has_greeting && greeting && surf->greeting_end <= own_len;
  bool k = surf->has_closing && closing && surf->closing_end <= own_len;
  size_t pos = 0;
  bool ok = put_headers(&b, raw, raw_len) &&
            pm__buf_puts(&b, "MIME-Version: 1.0\n"
                             "Content-Type: text/plain; charset=UTF-8\n"
                             "Content-Transfer-Encoding: 8bit\n\n");
  if (ok && g) {
    ok = pm__buf_append(&b, own, surf->greeting_start) &&
         pm__buf_puts(&b, greeting);
    pos = surf->greeting_end;
    ++*replaced;
  }
  if (ok && k && surf->closing_start >= pos) {
    ok = pm__buf_append(&b, own + pos, surf->closing_start - pos) &&
         pm__buf_puts(&b, closing);
    pos = surf->closing_end;
    ++*replaced;
  }
  if (ok)
    ok = pm__buf_append(&b, own + pos, own_len - pos) && pm__buf_putc(&b, '\n');
  if (!ok) {
    pm__buf_free(&b);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  *out_len = b.len;
  *out = pm__buf_steal(&b);
  return PM_OK;
}

/* ---- the habits of the profiled senders ---- */

/* Reads and parses a corpus mail and extracts its own text; false when it
 * cannot be read or parsed (it then has no surface). */
static bool surface_of(const pm_eval_corpus *c, const char *relpath,
                       pm_extractor *x, pm_features *f, pm__buf *buf,
                       pm_mail **mail, pm_layout_surface *s) {
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  char *path = pm__eval_path(c, relpath);
  pm_error e;
  pm_error_clear(&e);
  *mail = NULL;
  bool ok = path && pm__read_file(path, lim.max_bytes, buf, &e) == PM_OK &&
            pm_mail_parse(buf->data ? buf->data : "", buf->len, &lim, mail,
                          &e) == PM_OK &&
            pm_extract_mail(x, *mail, f, &e) == PM_OK;
  free(path);
  if (ok)
    pm_features_surface(f, s);
  return ok;
}

typedef struct {
  char *text;
  size_t count;
} tally;

static int cmp_text(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The most frequent string of v (n of them), ties to the byte-wise
 * smallest; NULL when n is 0. Sorts v. */
static char *most_frequent(char **v, size_t n) {
  if (n == 0)
    return NULL;
  qsort(v, n, sizeof *v, cmp_text);
  size_t best = 0, best_n = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && strcmp(v[j], v[i]) == 0)
      j++;
    if (j - i > best_n) { /* strictly more: the first (smallest) wins ties */
      best = i;
      best_n = j - i;
    }
    i = j;
  }
  return strdup(v[best]);
}

static void free_strs(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
}

static pm_status habits(pm_eval_corpus *c, pm__eval_sender *s, pm_extractor *x,
                        pm_features *f, pm__buf *buf) {
  char **gv = calloc(s->n_train ? s->n_train : 1, sizeof *gv);
  char **cv = calloc(s->n_train ? s->n_train : 1, sizeof *cv);
  size_t ng = 0, nc = 0;
  bool ok = gv && cv;
  for (size_t j = 0; ok && j < s->n_train; j++) {
    pm_mail *mail = NULL;
    pm_layout_surface sf;
    if (surface_of(c, s->files[j], x, f, buf, &mail, &sf)) {
      const char *own = pm_mail_own_text(mail, NULL);
      if (sf.has_greeting &&
          !(gv[ng++] = strndup(own + sf.greeting_start,
                               sf.greeting_end - sf.greeting_start)))
        ok = false;
      if (ok && sf.has_closing &&
          !(cv[nc++] = strndup(own + sf.closing_start,
                               sf.closing_end - sf.closing_start)))
        ok = false;
    }
    pm_mail_free(mail);
  }
  if (ok) {
    s->greeting = most_frequent(gv, ng);
    s->closing = most_frequent(cv, nc);
    ok = (!ng || s->greeting) && (!nc || s->closing);
  }
  if (gv)
    free_strs(gv, ng);
  if (cv)
    free_strs(cv, nc);
  free(gv);
  free(cv);
  return ok ? PM_OK : PM_NOMEM;
}

static pm_status surfaces(pm_eval_corpus *c, pm__eval_sender *s,
                          pm_extractor *x, pm_features *f, pm__buf *buf) {
  size_t n = s->n_train + s->n_test;
  if (!(s->surf = calloc(n ? n : 1, 1)))
    return PM_NOMEM;
  for (size_t j = s->n_train; j < n; j++) {
    pm_mail *mail = NULL;
    pm_layout_surface sf;
    if (surface_of(c, s->files[j], x, f, buf, &mail, &sf))
      s->surf[j] =
          (unsigned char)((sf.has_greeting ? 1 : 0) | (sf.has_closing ? 2 : 0));
    pm_mail_free(mail);
  }
  return PM_OK;
}

pm_status pm_eval_corpus_add_mimicry(pm_eval_corpus *c, const pm_config *cfg,
                                     pm_error *err) {
  if (c->mimicry)
    return PM_OK;
  pm_config *own_cfg = NULL;
  if (!cfg && !(cfg = own_cfg = pm_config_default()))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm_extractor *x = NULL;
  pm_features *f = NULL;
  pm__buf buf = {0};
  pm_status rc = pm_extractor_new(cfg, &x, err);
  if (rc == PM_OK && !(f = pm_features_new()))
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  for (size_t i = 0; rc == PM_OK && i < c->n_senders; i++) {
    pm__eval_sender *s = &c->senders[i];
    if (s->profiled && (rc = habits(c, s, x, f, &buf)) != PM_OK)
      rc = pm_error_set(err, rc, "out of memory");
    if (rc == PM_OK && s->outsider &&
        (rc = surfaces(c, s, x, f, &buf)) != PM_OK)
      rc = pm_error_set(err, rc, "out of memory");
  }
  if (rc == PM_OK) {
    c->mimicry = true;
    rc = pm__eval_make_trials(c, err);
  }
  pm__buf_free(&buf);
  pm_features_free(f);
  pm_extractor_free(x);
  pm_config_free(own_cfg);
  return rc;
}

bool pm_eval_corpus_has_mimicry(const pm_eval_corpus *c) {
  return c->mimicry;
}
