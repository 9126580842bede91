/* The daemon's request layer, the parts that need no daemon: which handler
 * a method and path go to, what the score parameters say, the
 * Content-Length header, the JSON error body. Unit-tested on their own. */
#ifndef PM_SCORE_SERVE_ROUTE_H
#define PM_SCORE_SERVE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  PM__ROUTE_NONE = 0, /* no handler: see status */
  PM__ROUTE_SCORE,    /* POST /v1/score */
  PM__ROUTE_HEALTH,   /* GET /v1/health */
  PM__ROUTE_METRICS   /* GET /metrics */
} pm__route;

typedef struct {
  pm__route route;
  int status;        /* 0 when routed; 404 unknown path; 405 wrong method */
  const char *allow; /* with 405 (and always for a known path): the methods */
} pm__route_match;

/* path is the request target without its query (as libmicrohttpd gives it).
 * HEAD is accepted wherever GET is. */
void pm__route_request(const char *method, const char *path,
                       pm__route_match *m);

/* One query parameter; value NULL for "?key" without '='. */
typedef struct {
  const char *key;
  const char *value;
} pm__kv;

/* The parameters of POST /v1/score, borrowed from the pm__kv array. */
typedef struct {
  const char *tenant;
  const char *sender; /* NULL when absent or empty: the From: address */
} pm__score_args;

enum { PM__MAX_QUERY_ARGS = 8, PM__MAX_SENDER_BYTES = 319 };

/* Checks the query of a score request: tenant required and valid
 * (pm_tenant_check), each parameter at most once, no unknown parameter,
 * sender at most 319 bytes without spaces or control characters. Returns 0,
 * or 400 with a message in msg (cap bytes). */
int pm__score_args_parse(const pm__kv *kv, size_t n, pm__score_args *out,
                         char *msg, size_t cap);

/* A Content-Length value: digits only, no sign, no overflow. */
bool pm__parse_content_length(const char *s, uint64_t *out);

/* {"error":"<msg>"} followed by a newline; malloc'd, NULL when out of
 * memory. *len gets the length. */
char *pm__json_error(const char *msg, size_t *len);

#endif
