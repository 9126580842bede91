/* The tenant map and the protected senders: parsing and look-up. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "penmark/store.h"
#include "score/milter/milter_lists.h"

/* List files are small; anything larger is a wrong path. */
#define LIST_MAX_BYTES ((size_t)64 << 20)

bool pm__lines_next(pm__lines *it, const char **s, size_t *n) {
  while (it->p < it->end) {
    const char *a = it->p;
    const char *nl = memchr(a, '\n', (size_t)(it->end - a));
    const char *b = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    it->line++;
    while (a < b && isspace((unsigned char)*a))
      a++;
    while (b > a && isspace((unsigned char)b[-1]))
      b--;
    if (a == b || *a == '#')
      continue;
    *s = a;
    *n = (size_t)(b - a);
    return true;
  }
  return false;
}

static char *lower_dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (!d)
    return NULL;
  for (size_t i = 0; i < n; i++)
    d[i] = (char)tolower((unsigned char)s[i]);
  d[n] = '\0';
  return d;
}

/* A domain: letters, digits, '-' and '.', no empty label; a leading '.'
 * (subdomains) only when allowed. */
static bool domain_ok(const char *d, bool leading_dot) {
  size_t n = strlen(d);
  if (n == 0 || n > 253)
    return false;
  if (d[0] == '.') {
    if (!leading_dot)
      return false;
    d++;
    n--;
  }
  if (n == 0 || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
    return false;
  for (; *d; d++)
    if (!isalnum((unsigned char)*d) && *d != '-' && *d != '.')
      return false;
  return true;
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const pm__map_entry *)a)->domain,
                ((const pm__map_entry *)b)->domain);
}

/* One "domain tenant" line into the map. */
static pm_status map_line(pm__tenant_map *m, const char *s, size_t n,
                          const char *name, unsigned line, pm_error *err) {
  size_t d = 0;
  while (d < n && !isspace((unsigned char)s[d]))
    d++;
  size_t t = d;
  while (t < n && isspace((unsigned char)s[t]))
    t++;
  size_t te = t;
  while (te < n && !isspace((unsigned char)s[te]))
    te++;
  if (t == n || te != n)
    return pm_error_set(err, PM_CONFIG,
                        "%s:%u: expected \"domain tenant\" (two fields)", name,
                        line);
  if (!pm__grow((void **)&m->e, &m->cap, m->n + 1, sizeof *m->e))
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", name);
  char *dom = lower_dup(s, d), *ten = lower_dup(s + t, te - t);
  if (!dom || !ten) {
    free(dom);
    free(ten);
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", name);
  }
  pm_error terr;
  pm_status st = PM_OK;
  if (!domain_ok(dom, true))
    st = pm_error_set(err, PM_CONFIG, "%s:%u: '%s' is not a domain", name, line,
                      dom);
  else if (pm_tenant_check(ten, &terr) != PM_OK)
    st = pm_error_set(err, PM_CONFIG, "%s:%u: %s", name, line,
                      pm_error_message(&terr));
  if (st != PM_OK) {
    free(dom);
    free(ten);
    return st;
  }
  m->e[m->n++] = (pm__map_entry){dom, ten, line};
  return PM_OK;
}

pm_status pm__tenant_map_parse(pm__tenant_map *m, const char *text, size_t len,
                               const char *name, pm_error *err) {
  pm__lines it = {text, text + len, 0};
  const char *s;
  size_t n;
  while (pm__lines_next(&it, &s, &n)) {
    pm_status st = map_line(m, s, n, name, it.line, err);
    if (st != PM_OK)
      return st;
  }
  if (m->n == 0)
    return pm_error_set(err, PM_CONFIG, "%s: no \"domain tenant\" line", name);
  qsort(m->e, m->n, sizeof *m->e, entry_cmp);
  for (size_t i = 1; i < m->n; i++)
    if (!strcmp(m->e[i].domain, m->e[i - 1].domain)) {
      unsigned a = m->e[i].line, b = m->e[i - 1].line;
      return pm_error_set(err, PM_CONFIG,
                          "%s:%u: domain '%s' given twice (line %u too)", name,
                          a > b ? a : b, m->e[i].domain, a > b ? b : a);
    }
  return PM_OK;
}

/* Reads a whole list file and hands it to parse. */
static pm_status read_list(const char *path, void *list,
                           pm_status (*parse)(void *, const char *, size_t,
                                              const char *, pm_error *),
                           pm_error *err) {
  pm__buf b = {0};
  pm_status st = pm__read_file(path, LIST_MAX_BYTES, &b, err);
  if (st == PM_OK)
    st = parse(list, b.data ? b.data : "", b.len, path, err);
  pm__buf_free(&b);
  return st;
}

static pm_status map_parse_v(void *l, const char *t, size_t n, const char *nm,
                             pm_error *err) {
  return pm__tenant_map_parse(l, t, n, nm, err);
}

pm_status pm__tenant_map_read(pm__tenant_map *m, const char *path,
                              pm_error *err) {
  return read_list(path, m, map_parse_v, err);
}

static const char *map_exact(const pm__tenant_map *m, const char *d) {
  pm__map_entry key = {(char *)d, NULL, 0};
  const pm__map_entry *e = bsearch(&key, m->e, m->n, sizeof *m->e, entry_cmp);
  return e ? e->tenant : NULL;
}

const char *pm__tenant_map_find(const pm__tenant_map *m, const char *domain) {
  if (!m || !domain || !domain[0])
    return NULL;
  char low[256];
  size_t n = strlen(domain);
  if (n >= sizeof low)
    return NULL;
  for (size_t i = 0; i <= n; i++)
    low[i] = (char)tolower((unsigned char)domain[i]);
  const char *t = map_exact(m, low);
  /* then ".example.com" for "eu.example.com", nearest parent first */
  for (const char *dot = strchr(low, '.'); !t && dot;
       dot = strchr(dot + 1, '.'))
    t = map_exact(m, dot);
  return t;
}

void pm__tenant_map_free(pm__tenant_map *m) {
  for (size_t i = 0; m && i < m->n; i++) {
    free(m->e[i].domain);
    free(m->e[i].tenant);
  }
  if (m) {
    free(m->e);
    *m = (pm__tenant_map){0};
  }
}

/* ---- protected senders ---- */

static bool address_ok(const char *a) {
  const char *at = strchr(a, '@');
  if (!at || at == a || strchr(at + 1, '@') || !domain_ok(at + 1, false))
    return false;
  for (; *a; a++) {
    unsigned char c = (unsigned char)*a;
    if (c <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == ',')
      return false;
  }
  return true;
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

pm_status pm__senders_parse(pm__senders *s, const char *text, size_t len,
                            const char *name, pm_error *err) {
  pm__lines it = {text, text + len, 0};
  const char *l;
  size_t n;
  while (pm__lines_next(&it, &l, &n)) {
    if (n >= 2 && l[0] == '<' && l[n - 1] == '>') {
      l++;
      n -= 2;
    }
    char *a = lower_dup(l, n);
    if (!a ||
        !pm__grow((void **)&s->addr, &s->cap, s->n + 1, sizeof *s->addr)) {
      free(a);
      return pm_error_set(err, PM_NOMEM, "%s: out of memory", name);
    }
    if (!address_ok(a)) {
      pm_status st = pm_error_set(
          err, PM_CONFIG, "%s:%u: '%.*s' is not an address (one a line)", name,
          it.line, (int)(n > 200 ? 200 : n), l);
      free(a);
      return st;
    }
    s->addr[s->n++] = a;
  }
  if (s->n == 0)
    return pm_error_set(err, PM_CONFIG, "%s: no address", name);
  qsort(s->addr, s->n, sizeof *s->addr, str_cmp);
  size_t w = 1; /* drop duplicates */
  for (size_t i = 1; i < s->n; i++) {
    if (!strcmp(s->addr[i], s->addr[w - 1]))
      free(s->addr[i]);
    else
      s->addr[w++] = s->addr[i];
  }
  s->n = w;
  return PM_OK;
}

static pm_status senders_parse_v(void *l, const char *t, size_t n,
                                 const char *nm, pm_error *err) {
  return pm__senders_parse(l, t, n, nm, err);
}

pm_status pm__senders_read(pm__senders *s, const char *path, pm_error *err) {
  return read_list(path, s, senders_parse_v, err);
}

bool pm__senders_has(const pm__senders *s, const char *addr) {
  if (!s || !addr || !s->n)
    return false;
  char *low = lower_dup(addr, strlen(addr));
  if (!low)
    return false;
  bool found = bsearch(&low, s->addr, s->n, sizeof *s->addr, str_cmp) != NULL;
  free(low);
  return found;
}

void pm__senders_free(pm__senders *s) {
  for (size_t i = 0; s && i < s->n; i++)
    free(s->addr[i]);
  if (s) {
    free(s->addr);
    *s = (pm__senders){0};
  }
}
