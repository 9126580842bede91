/* The milter's side of one mail as libmilter drives it: the input is a
 * policy byte, then events (headers, X-Penmark-* headers in any case, the
 * end of the headers, body chunks of any size, one that brings the copy to
 * the size limit), fed to the real assembly (milter_msg.c); the copy is
 * then judged by a filter of four policies on the store trained at start
 * (tenant map, protected senders, a tenant without a store) and the header
 * values built. Checked against a model of the mail kept here: the copy is
 * the concatenation of the events (or dropped when over the limit), no
 * X-Penmark-* header is in it, every one is counted for removal under the
 * spelling it first came with, the Subject is the first one, the decision
 * is scored, skipped or error and its header values are 7-bit ASCII,
 * NUL-terminated.
 *
 * Input: byte 0 chooses the policy (bits 0-1) and the skip (bits 2-3:
 * trusted network, authenticated submission). Then events, one byte each:
 *   'H' name NUL value NUL      a header
 *   'X' m1 m2 suffix NUL value NUL   X-Penmark-<suffix>, case from m1 m2
 *   'S' m value NUL             Subject, case from m
 *   'E'                         end of the headers
 *   'B' n bytes[n]              a body chunk (n < 256)
 *   'C' n1 n2 bytes[n1*256+n2]  a larger body chunk
 *   'P' d                       a chunk bringing the copy to the limit
 *                               plus d % 7 - 3 bytes
 * other bytes are skipped. As libmilter does, the end of the headers comes
 * once, before the first body chunk (or at the end); headers after it are
 * skipped. Names keep only field-name bytes (RFC 5322: 33-126 but ':'), a
 * line break in a value is a fold (CR dropped, LF followed by a space),
 * since an MTA hands over nothing else. */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/milter.h"
#include "score/milter/milter_internal.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_BYTES PM__MILTER_MAX_BYTES
/* Copies past this are assembled and checked but not judged: parsing
 * megabytes on every such input would take most of the run. */
#define JUDGE_MAX ((size_t)64 << 10)
#define PAD_LINE 78

typedef struct {
  pm_milter_policy *pol;
  pm__mfilter f;
  bool scores; /* its tenant has a store: a judged mail may be scored */
} filter;

static filter filters[4];
static char *pad; /* MAX_BYTES + 8 bytes of body lines */

static void die(const char *what, const pm_error *err) {
  fprintf(stderr, "fuzz_milter_msg set-up: %s: %s\n", what,
          err ? pm_error_message(err) : "failed");
  abort();
}

static void set(pm_milter_policy *p, const char *key, const char *v) {
  pm_error err;
  if (pm_milter_policy_set(p, key, v, "fuzz", &err) != PM_OK)
    die(key, &err);
}

/* The map and the protected senders go straight into the policy: the
 * files pm_milter_policy_check reads are not what is fuzzed here. */
static void filter_new(filter *fl, const char *tenant, const char *map,
                       const char *protected_list, const char *tag, FILE *log) {
  pm_error err;
  pm_error_clear(&err);
  if (!(fl->pol = pm_milter_policy_new()))
    die("out of memory", NULL);
  set(fl->pol, "store", pm_fuzz_store_dir());
  set(fl->pol, "tag", tag);
  if (tenant)
    set(fl->pol, "tenant", tenant);
  if (map && pm__tenant_map_parse(&fl->pol->map, map, strlen(map), "map",
                                  &err) != PM_OK)
    die("tenant map", &err);
  if (protected_list &&
      pm__senders_parse(&fl->pol->protected_senders, protected_list,
                        strlen(protected_list), "protected", &err) != PM_OK)
    die("protected senders", &err);
  if (pm__mfilter_load(&fl->f, fl->pol, log, &err) != PM_OK)
    die("filter", &err);
  fl->scores = tenant == NULL || !strcmp(tenant, PM_FUZZ_TENANT);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  FILE *log = fopen("/dev/null", "w");
  if (!log)
    die("/dev/null", NULL);
  static const char map[] = "harborpine.example fuzz\n.example.org fuzz\n"
                            "broken.example nostore\n";
  static const char prot[] = "dana.whitfield@harborpine.example\n"
                             "<Makoto.Takahashi@harborpine.example>\n";
  filter_new(&filters[0], PM_FUZZ_TENANT, NULL, NULL, PM_MILTER_TAG_DEFAULT,
             log);
  filter_new(&filters[1], NULL, map, NULL, "", log);
  filter_new(&filters[2], NULL, map, prot, "[SUSPECT] ", log);
  filter_new(&filters[3], "nostore", NULL, NULL, "[x]", log);
  if (!(pad = malloc(MAX_BYTES + 8)))
    die("out of memory", NULL);
  for (size_t i = 0; i < MAX_BYTES + 8; i++)
    pad[i] = i % PAD_LINE == PAD_LINE - 2   ? '\r'
             : i % PAD_LINE == PAD_LINE - 1 ? '\n'
                                            : (char)('a' + i % 26);
  return 0;
}

/* ---- the model: what the assembly must come to, kept independently ---- */

typedef struct {
  char *name; /* first spelling */
  unsigned n;
} own_name;

typedef struct {
  char *copy; /* what the copy must hold, while total <= MAX_BYTES */
  size_t len, cap, total;
  size_t head_end; /* where the header block ends (after its blank line) */
  bool eoh;
  char *subject;
  own_name *own;
  size_t n_own;
} model;

static void *xrealloc(void *p, size_t n) {
  if (!(p = realloc(p, n ? n : 1)))
    abort();
  return p;
}

static void model_put(model *md, const void *s, size_t n) {
  md->total += n;
  if (md->total > MAX_BYTES)
    return;
  if (md->len + n > md->cap) {
    md->cap = (md->len + n) * 2;
    md->copy = xrealloc(md->copy, md->cap);
  }
  if (n)
    memcpy(md->copy + md->len, s, n);
  md->len += n;
}

static bool same_ci(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
      return false;
  return *a == *b;
}

static bool is_own(const char *name) {
  static const char pre[] = "x-penmark-";
  for (size_t i = 0; i < sizeof pre - 1; i++)
    if (tolower((unsigned char)name[i]) != pre[i])
      return false; /* the NUL of a short name stops it too */
  return true;
}

static void model_header(model *md, const char *name, const char *value) {
  if (is_own(name)) {
    for (size_t i = 0; i < md->n_own; i++)
      if (same_ci(md->own[i].name, name)) {
        md->own[i].n++;
        return;
      }
    md->own = xrealloc(md->own, (md->n_own + 1) * sizeof *md->own);
    md->own[md->n_own].name = strdup(name);
    md->own[md->n_own++].n = 1;
    return;
  }
  if (!md->subject && same_ci(name, "subject"))
    md->subject = strdup(value);
  model_put(md, name, strlen(name));
  model_put(md, ": ", 2);
  model_put(md, value, strlen(value));
  model_put(md, "\r\n", 2);
}

static void model_free(model *md) {
  for (size_t i = 0; i < md->n_own; i++)
    free(md->own[i].name);
  free(md->own);
  free(md->subject);
  free(md->copy);
}

/* ---- the events ---- */

typedef struct {
  const uint8_t *data;
  size_t size;
  pm__mmsg *m;
  model md;
} run;

/* The next bytes up to a NUL (or the end), as a name or a value. */
static char *piece(run *r, bool is_name) {
  size_t n = 0;
  while (n < r->size && r->data[n])
    n++;
  char *s = xrealloc(NULL, 2 * n + 1), *w = s;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = r->data[i];
    if (is_name && (c < 33 || c > 126 || c == ':'))
      continue;
    if (!is_name && c == '\r')
      continue;
    *w++ = (char)c;
    if (!is_name && c == '\n' &&
        (i + 1 == n || (r->data[i + 1] != ' ' && r->data[i + 1] != '\t')))
      *w++ = ' '; /* a fold */
  }
  *w = '\0';
  r->data += n;
  r->size -= n;
  pm_fuzz_byte(&r->data, &r->size); /* the NUL */
  return s;
}

static void header(run *r, const char *name, const char *value) {
  pm__mmsg_header(r->m, name, value);
  model_header(&r->md, name, value);
}

static void eoh(run *r) {
  if (r->md.eoh)
    return;
  pm__mmsg_eoh(r->m);
  model_put(&r->md, "\r\n", 2);
  r->md.eoh = true;
  r->md.head_end = r->md.total;
}

static void body(run *r, const void *chunk, size_t n) {
  eoh(r);
  pm__mmsg_body(r->m, chunk, n);
  model_put(&r->md, chunk, n);
}

/* name with its letters upper-cased where mask has a bit set */
static void recase(char *name, unsigned mask) {
  for (unsigned i = 0; name[i] && i < 16; i++)
    if (mask >> i & 1)
      name[i] = (char)toupper((unsigned char)name[i]);
    else
      name[i] = (char)tolower((unsigned char)name[i]);
}

static void own_event(run *r) {
  unsigned mask = pm_fuzz_byte(&r->data, &r->size);
  mask |= (unsigned)pm_fuzz_byte(&r->data, &r->size) << 8;
  char *suffix = piece(r, true), *value = piece(r, false);
  size_t n = strlen(suffix);
  char *name = xrealloc(NULL, n + 11);
  memcpy(name, "x-penmark-", 10);
  memcpy(name + 10, suffix, n + 1);
  recase(name, mask);
  if (!r->md.eoh)
    header(r, name, value);
  free(name);
  free(suffix);
  free(value);
}

static void header_event(run *r, bool subject) {
  char name[8] = "subject";
  char *nm = NULL;
  if (subject)
    recase(name, pm_fuzz_byte(&r->data, &r->size));
  else
    nm = piece(r, true);
  char *value = piece(r, false);
  if (!r->md.eoh)
    header(r, nm ? nm : name, value);
  free(nm);
  free(value);
}

static void chunk_event(run *r, bool large) {
  size_t n = pm_fuzz_byte(&r->data, &r->size);
  if (large)
    n = n << 8 | pm_fuzz_byte(&r->data, &r->size);
  if (n > r->size)
    n = r->size;
  /* an exact copy: a read past the chunk is caught */
  char *c = pm_fuzz_exact_copy(r->data, n);
  body(r, c, n);
  free(c);
  r->data += n;
  r->size -= n;
}

static void pad_event(run *r) {
  int d = pm_fuzz_byte(&r->data, &r->size) % 7 - 3;
  eoh(r);
  long n = (long)MAX_BYTES - (long)r->md.total + d;
  if (n > 0 && (size_t)n <= MAX_BYTES + 8)
    body(r, pad, (size_t)n);
}

static void events(run *r) {
  while (r->size) {
    switch (pm_fuzz_byte(&r->data, &r->size)) {
    case 'H':
      header_event(r, false);
      break;
    case 'S':
      header_event(r, true);
      break;
    case 'X':
      own_event(r);
      break;
    case 'E':
      eoh(r);
      break;
    case 'B':
      chunk_event(r, false);
      break;
    case 'C':
      chunk_event(r, true);
      break;
    case 'P':
      pad_event(r);
      break;
    default:
      break;
    }
  }
  eoh(r);
}

/* ---- the checks ---- */

static void check_copy(const pm__mmsg *m, const model *md) {
  if (m->no_copy || md->total > MAX_BYTES) {
    if (m->raw.len || m->raw.data || m->too_big != !m->no_copy)
      abort(); /* nothing kept; too big only when copying */
    return;
  }
  if (m->too_big || m->raw.len != md->total ||
      memcmp(m->raw.data, md->copy, md->total))
    abort(); /* the copy is the events' concatenation */
  /* no line of the header block starts an X-Penmark-* header */
  for (size_t at = 0; at < md->head_end;) {
    if (is_own(m->raw.data + at))
      abort();
    const char *nl = memchr(m->raw.data + at, '\n', md->head_end - at);
    at = nl ? (size_t)(nl - m->raw.data) + 1 : md->head_end;
  }
}

static void check_own(const pm__mmsg *m, const model *md) {
  if (m->n_own != md->n_own)
    abort();
  for (size_t i = 0; i < md->n_own; i++) {
    size_t hits = 0;
    for (size_t j = 0; j < m->n_own; j++)
      if (same_ci(m->own[j].name, md->own[i].name)) {
        hits++;
        if (strcmp(m->own[j].name, md->own[i].name) ||
            m->own[j].n != md->own[i].n ||
            !pm_milter_is_own_header(m->own[j].name))
          abort(); /* its first spelling, every occurrence counted */
      }
    if (hits != 1)
      abort();
  }
}

static void check_subject(const pm__mmsg *m, const model *md, const char *tag) {
  if (!md->subject != !m->subject ||
      (md->subject && strcmp(md->subject, m->subject)))
    abort(); /* the first Subject, as it came */
  char *t = pm__mmsg_tagged_subject(m, tag);
  const char *s = md->subject ? md->subject : "";
  size_t n = strlen(tag);
  if (!t || strncmp(t, tag, n) || strcmp(t + n, s))
    abort();
  free(t);
}

/* NUL-terminated within cap, printable ASCII; folds ("\n ") allowed. */
static void check_value(const char *v, size_t cap, bool folds) {
  const char *end = memchr(v, '\0', cap);
  if (!end)
    abort();
  for (const char *p = v; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (folds && c == '\n' && p[1] == ' ')
      continue;
    if (c < 0x20 || c > 0x7e)
      abort();
  }
}

static bool starts(const char *s, const char *pre) {
  return !strncmp(s, pre, strlen(pre));
}

static void check_decision(const pm__mdecision *d, const filter *fl) {
  check_value(d->verdict, sizeof d->verdict, false);
  check_value(d->reasons, sizeof d->reasons, true);
  if (!memchr(d->log, '\0', sizeof d->log))
    abort();
  switch (d->out) {
  case PM__OUT_SCORED:
    if (!fl->scores || !strstr(d->verdict, "; p=") ||
        !strstr(d->verdict, "; tenant=" PM_FUZZ_TENANT) ||
        d->impersonation != starts(d->verdict, "impersonation;"))
      abort();
    break;
  case PM__OUT_SKIPPED:
  case PM__OUT_ERROR:
    if (!starts(d->verdict,
                d->out == PM__OUT_SKIPPED ? "not_judged; " : "error; ") ||
        d->reasons[0] || d->impersonation)
      abort();
    break;
  default:
    abort(); /* scored, skipped or error: nothing else */
  }
}

static void judge(filter *fl, pm__mmsg *m, const model *md) {
  pm__mdecision *d = xrealloc(NULL, sizeof *d);
  memset(d, 0x55, sizeof *d); /* no NUL unless the code writes one */
  if (pm__mmsg_settled(m, d)) {
    if (m->skip_why
            ? d->out != PM__OUT_SKIPPED || !strstr(d->verdict, m->skip_why)
            : d->out != PM__OUT_ERROR || !m->too_big)
      abort();
  } else {
    if (m->no_copy || m->too_big)
      abort();
    if (md->total > JUDGE_MAX) {
      free(d);
      return;
    }
    char *raw = pm_fuzz_exact_copy((const uint8_t *)m->raw.data, m->raw.len);
    pm__mfilter_judge(&fl->f, raw, m->raw.len, d);
    free(raw);
  }
  check_decision(d, fl);
  free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run r = {data, size, NULL, {0}};
  unsigned policy = pm_fuzz_byte(&r.data, &r.size);
  filter *fl = &filters[policy & 3];
  if (!(r.m = calloc(1, sizeof *r.m)))
    abort();
  static const char *const skips[] = {NULL, "trusted network",
                                      "authenticated submission", NULL};
  r.m->skip_why = skips[policy >> 2 & 3];
  r.m->no_copy = r.m->skip_why != NULL;
  events(&r);
  check_copy(r.m, &r.md);
  check_own(r.m, &r.md);
  check_subject(r.m, &r.md, fl->pol->tag);
  judge(fl, r.m, &r.md);
  pm__mmsg_free(r.m);
  model_free(&r.md);
  return 0;
}
