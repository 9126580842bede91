/* The policy file (key = value lines) and the completeness check that
 * reads the files the policy names. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "score/milter/milter_internal.h"

/* Policy files are a screen long; a larger one is a wrong path. */
#define POLICY_MAX_BYTES ((size_t)1 << 20)

/* Keys whose value is a path: relative ones are taken from the policy
 * file's folder, so that a policy and its lists can move together. */
static bool is_path_key(const char *k) {
  return !strcmp(k, "store") || !strcmp(k, "log") || !strcmp(k, "tenant_map") ||
         !strcmp(k, "protected");
}

static const char *const keys[] = {"socket",
                                   "store",
                                   "tenant",
                                   "tenant_map",
                                   "action",
                                   "tag",
                                   "protected",
                                   "trusted_networks",
                                   "skip_authenticated",
                                   "time_limit_ms",
                                   "max_connections",
                                   "timeout_s",
                                   "log"};
enum { N_KEYS = sizeof keys / sizeof keys[0] };

static int key_index(const char *k) {
  for (int i = 0; i < N_KEYS; i++)
    if (!strcmp(k, keys[i]))
      return i;
  return -1;
}

/* Splits "key = value" (value maybe in double quotes) into k and v. */
static pm_status split_line(const char *s, size_t n, char *k, size_t kcap,
                            char *v, size_t vcap, const char *where,
                            pm_error *err) {
  const char *eq = memchr(s, '=', n);
  if (!eq)
    return pm_error_set(err, PM_CONFIG, "%s: expected \"key = value\"", where);
  size_t kn = (size_t)(eq - s);
  while (kn && isspace((unsigned char)s[kn - 1]))
    kn--;
  const char *val = eq + 1, *end = s + n;
  while (val < end && isspace((unsigned char)*val))
    val++;
  if (kn == 0 || kn >= kcap)
    return pm_error_set(err, PM_CONFIG, "%s: no key before '='", where);
  if (end > val && *val == '"') {
    if (end - val < 2 || end[-1] != '"')
      return pm_error_set(err, PM_CONFIG, "%s: a quoted value must end with \"",
                          where);
    val++;
    end--;
  }
  size_t vn = (size_t)(end - val);
  if (vn >= vcap)
    return pm_error_set(err, PM_CONFIG, "%s: the value is too long", where);
  if (memchr(val, '\0', vn))
    return pm_error_set(err, PM_CONFIG, "%s: a NUL byte in the value", where);
  memcpy(k, s, kn);
  k[kn] = '\0';
  memcpy(v, val, vn);
  v[vn] = '\0';
  return PM_OK;
}

/* v, made relative to the folder of path when it is a relative path. */
static char *resolve(const char *path, const char *v) {
  const char *slash = strrchr(path, '/');
  if (v[0] == '/' || v[0] == '\0' || !slash)
    return strdup(v);
  size_t dn = (size_t)(slash - path) + 1;
  char *r = malloc(dn + strlen(v) + 1);
  if (r) {
    memcpy(r, path, dn);
    strcpy(r + dn, v);
  }
  return r;
}

static pm_status load_line(pm_milter_policy *p, const char *path, unsigned line,
                           const char *s, size_t n, unsigned seen[N_KEYS],
                           pm_error *err) {
  char where[1100], k[64], v[4096];
  snprintf(where, sizeof where, "%s:%u", path, line);
  pm_status st = split_line(s, n, k, sizeof k, v, sizeof v, where, err);
  if (st != PM_OK)
    return st;
  int ki = key_index(k);
  if (ki < 0)
    return pm_error_set(err, PM_CONFIG, "%s: unknown setting '%s'", where, k);
  if (seen[ki])
    return pm_error_set(err, PM_CONFIG, "%s: %s given twice (line %u too)",
                        where, k, seen[ki]);
  int other = !strcmp(k, "tenant")       ? key_index("tenant_map")
              : !strcmp(k, "tenant_map") ? key_index("tenant")
                                         : -1;
  if (other >= 0 && seen[other])
    return pm_error_set(err, PM_CONFIG,
                        "%s: tenant and tenant_map (line %u): give one", where,
                        seen[other]);
  seen[ki] = line;
  if (!is_path_key(k) || !strcmp(v, "profiled"))
    return pm_milter_policy_set(p, k, v, where, err);
  char *r = resolve(path, v);
  if (!r)
    return pm_error_set(err, PM_NOMEM, "%s: out of memory", where);
  st = pm_milter_policy_set(p, k, r, where, err);
  free(r);
  return st;
}

pm_status pm_milter_policy_load(pm_milter_policy *p, const char *path,
                                pm_error *err) {
  pm__buf b = {0};
  pm_status st = pm__read_file(path, POLICY_MAX_BYTES, &b, err);
  if (st != PM_OK) {
    pm__buf_free(&b);
    return st;
  }
  unsigned seen[N_KEYS] = {0};
  pm__lines it = {b.data ? b.data : "", (b.data ? b.data : "") + b.len, 0};
  const char *s;
  size_t n;
  while (st == PM_OK && pm__lines_next(&it, &s, &n))
    st = load_line(p, path, it.line, s, n, seen, err);
  pm__buf_free(&b);
  return st;
}

pm_status pm_milter_policy_check(pm_milter_policy *p, pm_error *err) {
  if (p->checked)
    return PM_OK;
  if (!p->socket)
    return pm_error_set(err, PM_CONFIG,
                        "milter: no socket (--socket, or "
                        "socket = in the policy)");
  if (!p->store)
    return pm_error_set(err, PM_CONFIG,
                        "milter: no store (--store, or "
                        "store = in the policy)");
  if (!p->tenant && !p->tenant_map_path)
    return pm_error_set(err, PM_CONFIG,
                        "milter: no tenant (--tenant or --tenant-map, or "
                        "tenant = / tenant_map = in the policy)");
  pm_status st = PM_OK;
  if (p->tenant_map_path)
    st = pm__tenant_map_read(&p->map, p->tenant_map_path, err);
  if (st == PM_OK && p->protected_path)
    st = pm__senders_read(&p->protected_senders, p->protected_path, err);
  if (st == PM_OK)
    p->checked = true;
  return st;
}
