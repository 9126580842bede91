/* The daemon's request layer without the daemon (see serve_route.h). */
#include "score/serve/serve_route.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "penmark/store.h"

void pm__route_request(const char *method, const char *path,
                       pm__route_match *m) {
  static const struct {
    const char *path;
    pm__route route;
    bool post; /* POST only; otherwise GET and HEAD */
  } table[] = {{"/v1/score", PM__ROUTE_SCORE, true},
               {"/v1/health", PM__ROUTE_HEALTH, false},
               {"/metrics", PM__ROUTE_METRICS, false}};
  m->route = PM__ROUTE_NONE;
  m->status = 404;
  m->allow = NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(path, table[i].path) != 0)
      continue;
    m->allow = table[i].post ? "POST" : "GET, HEAD";
    bool ok = table[i].post
                  ? strcmp(method, "POST") == 0
                  : strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (ok) {
      m->route = table[i].route;
      m->status = 0;
    } else {
      m->status = 405;
    }
    return;
  }
}

/* Whether s holds a byte a mail address never has unquoted here. */
static bool bad_address_bytes(const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c <= 0x20 || c == 0x7f)
      return true;
  }
  return false;
}

int pm__score_args_parse(const pm__kv *kv, size_t n, pm__score_args *out,
                         char *msg, size_t cap) {
  out->tenant = NULL;
  out->sender = NULL;
  bool seen_tenant = false, seen_sender = false;
  if (n > PM__MAX_QUERY_ARGS) {
    snprintf(msg, cap, "too many query parameters (%zu; at most %d)", n,
             PM__MAX_QUERY_ARGS);
    return 400;
  }
  for (size_t i = 0; i < n; i++) {
    const char *v = kv[i].value ? kv[i].value : "";
    bool *seen;
    if (strcmp(kv[i].key, "tenant") == 0) {
      seen = &seen_tenant;
      out->tenant = v;
    } else if (strcmp(kv[i].key, "sender") == 0) {
      seen = &seen_sender;
      out->sender = *v ? v : NULL;
    } else {
      /* Refused rather than ignored: "sendr=ceo@..." must not quietly
       * fall back to the From: address. */
      snprintf(msg, cap,
               "unknown query parameter \"%.64s\" (expected tenant and "
               "optionally sender)",
               kv[i].key);
      return 400;
    }
    if (*seen) {
      snprintf(msg, cap, "query parameter \"%s\" given twice", kv[i].key);
      return 400;
    }
    *seen = true;
  }
  if (!out->tenant || !*out->tenant) {
    snprintf(msg, cap, "missing tenant: POST /v1/score?tenant=NAME");
    return 400;
  }
  pm_error err;
  pm_error_clear(&err);
  if (pm_tenant_check(out->tenant, &err) != PM_OK) {
    snprintf(msg, cap, "%s", pm_error_message(&err));
    return 400;
  }
  if (out->sender && (strlen(out->sender) > PM__MAX_SENDER_BYTES ||
                      bad_address_bytes(out->sender))) {
    snprintf(msg, cap,
             "bad sender: an address of at most %d bytes without spaces or "
             "control characters",
             PM__MAX_SENDER_BYTES);
    return 400;
  }
  return 0;
}

bool pm__parse_content_length(const char *s, uint64_t *out) {
  if (!s || !*s)
    return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

char *pm__json_error(const char *msg, size_t *len) {
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "error", msg)) {
    cJSON_Delete(o);
    return NULL;
  }
  char *s = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!s)
    return NULL;
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (!t) {
    free(s);
    return NULL;
  }
  t[n] = '\n';
  t[n + 1] = '\0';
  if (len)
    *len = n + 1;
  return t;
}
