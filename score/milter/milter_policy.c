/* The milter's policy: defaults, one setting by key, the key = value file,
 * the completeness check. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/store.h"
#include "score/milter/milter_internal.h"

pm_milter_policy *pm_milter_policy_new(void) {
  pm_milter_policy *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->tag = strdup(PM_MILTER_TAG_DEFAULT);
  if (!p->tag) {
    free(p);
    return NULL;
  }
  p->action = PM_MILTER_REPORT;
  p->time_limit_ms = PM_MILTER_TIME_LIMIT_MS_DEFAULT;
  p->max_connections = PM_MILTER_MAX_CONNECTIONS_DEFAULT;
  p->timeout_s = PM_MILTER_TIMEOUT_S_DEFAULT;
  return p;
}

void pm_milter_policy_free(pm_milter_policy *p) {
  if (!p)
    return;
  free(p->socket);
  free(p->store);
  free(p->tenant);
  free(p->tenant_map_path);
  free(p->protected_path);
  free(p->log_path);
  free(p->tag);
  pm__netlist_free(&p->trusted);
  pm__tenant_map_free(&p->map);
  pm__senders_free(&p->protected_senders);
  free(p);
}

/* Replaces *slot with a copy of v ("" clears it). */
static pm_status set_str(char **slot, const char *v, pm_error *err) {
  char *c = v[0] ? strdup(v) : NULL;
  if (v[0] && !c)
    return pm_error_set(err, PM_NOMEM, "policy: out of memory");
  free(*slot);
  *slot = c;
  return PM_OK;
}

static pm_status set_bool(bool *slot, const char *v, const char *origin,
                          const char *key, pm_error *err) {
  if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1"))
    *slot = true;
  else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0"))
    *slot = false;
  else
    return pm_error_set(err, PM_CONFIG, "%s: %s '%s': not yes or no", origin,
                        key, v);
  return PM_OK;
}

static pm_status set_uint(unsigned *slot, const char *v, unsigned min,
                          unsigned max, const char *origin, const char *key,
                          pm_error *err) {
  char *end;
  unsigned long n = isdigit((unsigned char)v[0]) ? strtoul(v, &end, 10) : 0;
  if (!isdigit((unsigned char)v[0]) || *end || n < min || n > max)
    return pm_error_set(err, PM_CONFIG,
                        "%s: %s '%s': not a whole number %u to %u", origin, key,
                        v, min, max);
  *slot = (unsigned)n;
  return PM_OK;
}

static pm_status set_action(pm_milter_policy *p, const char *v,
                            const char *origin, pm_error *err) {
  static const char *const names[] = {"report", "tag", "quarantine", "reject"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(v, names[i])) {
      p->action = (pm_milter_action)i;
      return PM_OK;
    }
  return pm_error_set(err, PM_CONFIG,
                      "%s: action '%s': not report, tag, quarantine or reject",
                      origin, v);
}

static pm_status set_tag(pm_milter_policy *p, const char *v, const char *origin,
                         pm_error *err) {
  for (const char *c = v; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
      return pm_error_set(err, PM_CONFIG,
                          "%s: tag: only printable ASCII (a subject prefix)",
                          origin);
  if (strlen(v) > 64)
    return pm_error_set(err, PM_CONFIG, "%s: tag: longer than 64 characters",
                        origin);
  /* not set_str: "" is no prefix, and the tag is never NULL (the tagged
   * subject is made from it) */
  char *c = strdup(v);
  if (!c)
    return pm_error_set(err, PM_NOMEM, "policy: out of memory");
  free(p->tag);
  p->tag = c;
  return PM_OK;
}

static pm_status set_tenant(pm_milter_policy *p, const char *v,
                            const char *origin, pm_error *err) {
  pm_error terr;
  if (pm_tenant_check(v, &terr) != PM_OK)
    return pm_error_set(err, PM_CONFIG, "%s: %s", origin,
                        pm_error_message(&terr));
  free(p->tenant_map_path); /* one or the other */
  p->tenant_map_path = NULL;
  return set_str(&p->tenant, v, err);
}

static pm_status set_trusted(pm_milter_policy *p, const char *v,
                             const char *origin, pm_error *err) {
  pm__netlist l = {0};
  pm_status st = pm__netlist_parse(&l, v, origin, err);
  if (st != PM_OK) {
    pm__netlist_free(&l);
    return st;
  }
  pm__netlist_free(&p->trusted); /* a later setting replaces the list */
  p->trusted = l;
  return PM_OK;
}

pm_status pm_milter_policy_set(pm_milter_policy *p, const char *key,
                               const char *v, const char *origin,
                               pm_error *err) {
  if (p->checked)
    return pm_error_set(err, PM_INVAL, "%s: the policy is checked already",
                        origin);
  if (!strcmp(key, "socket"))
    return set_str(&p->socket, v, err);
  if (!strcmp(key, "store"))
    return set_str(&p->store, v, err);
  if (!strcmp(key, "log"))
    return set_str(&p->log_path, v, err);
  if (!strcmp(key, "tenant"))
    return set_tenant(p, v, origin, err);
  if (!strcmp(key, "tenant_map")) {
    free(p->tenant);
    p->tenant = NULL;
    return set_str(&p->tenant_map_path, v, err);
  }
  if (!strcmp(key, "protected"))
    return set_str(&p->protected_path, strcmp(v, "profiled") ? v : "", err);
  if (!strcmp(key, "action"))
    return set_action(p, v, origin, err);
  if (!strcmp(key, "tag"))
    return set_tag(p, v, origin, err);
  if (!strcmp(key, "trusted_networks"))
    return set_trusted(p, v, origin, err);
  if (!strcmp(key, "skip_authenticated"))
    return set_bool(&p->skip_authenticated, v, origin, key, err);
  if (!strcmp(key, "time_limit_ms"))
    return set_uint(&p->time_limit_ms, v, 1, 600000, origin, key, err);
  if (!strcmp(key, "max_connections"))
    return set_uint(&p->max_connections, v, 1, 4096, origin, key, err);
  if (!strcmp(key, "timeout_s"))
    return set_uint(&p->timeout_s, v, 1, 7210, origin, key, err);
  return pm_error_set(err, PM_CONFIG, "%s: unknown setting '%s'", origin, key);
}
