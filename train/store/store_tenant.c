/* Tenant names and the store path made from them. A name is checked before
 * any file is touched and is never put in a path otherwise. */
#include "train/store/store_internal.h"

#include "common/buf.h"

#include <stdio.h>
#include <string.h>

#define TENANT_MAX 64

static bool tenant_char(unsigned char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
    return true;
  return !first && (c == '.' || c == '_' || c == '-');
}

/* The name for a message: printable ASCII kept, other bytes as \xNN, cut
 * after 70 bytes; a bad name must not inject control characters into a log. */
static void quote_name(char *out, size_t cap, const char *name) {
  size_t o = 0;
  for (size_t i = 0; name[i] && i < 70 && o + 5 < cap; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
      out[o++] = (char)c;
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
  }
  out[o] = '\0';
}

pm_status pm_tenant_check(const char *tenant, pm_error *err) {
  if (!tenant || !*tenant)
    return pm_error_set(err, PM_INVAL, "empty tenant name");
  size_t i = 0;
  for (; tenant[i] && i <= TENANT_MAX; i++)
    if (!tenant_char((unsigned char)tenant[i], i == 0))
      break;
  if (i <= TENANT_MAX && tenant[i] == '\0')
    return PM_OK;
  char shown[400];
  quote_name(shown, sizeof shown, tenant);
  return pm_error_set(err, PM_INVAL, "bad tenant name \"%s\": %s", shown,
                      i > TENANT_MAX ? "longer than 64 bytes"
                                     : "must match [a-z0-9][a-z0-9._-]{0,63}");
}

pm_status pm_store_path_split(const char *path, char **dir, char **name,
                              pm_error *err) {
  *dir = *name = NULL;
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t bl = strlen(base);
  if (bl < 4 || strcmp(base + bl - 3, ".db") != 0)
    return pm_error_set(err, PM_INVAL, "%s: expected a store file DIR/NAME.db",
                        path);
  if (!slash)
    *dir = strdup(".");
  else /* "/x.db": the root */
    *dir = strndup(path, slash > path ? (size_t)(slash - path) : 1);
  *name = strndup(base, bl - 3);
  if (!*dir || !*name)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

char *pm_store_path(const char *dir, const char *tenant) {
  if (!dir || !*dir || pm_tenant_check(tenant, NULL) != PM_OK)
    return NULL;
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') /* "models/" and "models" alike */
    n--;
  pm__buf b = {0};
  if (!pm__buf_append(&b, dir, n) ||
      !pm__buf_printf(&b, "%s%s.db", dir[n - 1] == '/' ? "" : "/", tenant)) {
    pm__buf_free(&b);
    return NULL;
  }
  return pm__buf_steal(&b);
}
