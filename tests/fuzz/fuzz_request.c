/* The daemon's request layer as functions: the request line is routed, its
 * query (percent-decoded as libmicrohttpd decodes it) checked as score
 * parameters, every Content-Length header value parsed, and an error body
 * built from the message. Input: "METHOD TARGET\r\nName: value\r\n...". */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score/serve/serve_route.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* In place: '+' is a space, %XX a byte (as MHD_http_unescape). */
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    int h, l;
    if (*r == '+') {
      *w++ = ' ';
    } else if (*r == '%' && (h = hexval(r[1])) >= 0 &&
               (l = hexval(r[2])) >= 0) {
      *w++ = (char)(h * 16 + l);
      r += 2;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  char *save = NULL;
  char *line = strtok_r(s, "\r\n", &save);
  if (!line) {
    free(s);
    return 0;
  }
  char *sp = strchr(line, ' ');
  const char *method = line;
  char empty[1] = "";
  char *target = empty;
  if (sp) {
    *sp = '\0';
    target = sp + 1;
    char *sp2 = strchr(target, ' ');
    if (sp2)
      *sp2 = '\0'; /* " HTTP/1.1" */
  }
  char *query = strchr(target, '?');
  if (query)
    *query++ = '\0';
  unescape(target);
  pm__route_match m;
  pm__route_request(method, target, &m);
  if (m.status != 0 && m.status != 404 && m.status != 405)
    abort();
  if ((m.status == 0) != (m.route != PM__ROUTE_NONE))
    abort();

  pm__kv kv[PM__MAX_QUERY_ARGS + 1];
  size_t n = 0;
  char *qsave = NULL;
  for (char *a = query ? strtok_r(query, "&", &qsave) : NULL;
       a && n < PM__MAX_QUERY_ARGS + 1; a = strtok_r(NULL, "&", &qsave)) {
    char *eq = strchr(a, '=');
    if (eq)
      *eq++ = '\0';
    unescape(a);
    if (eq)
      unescape(eq);
    kv[n].key = a;
    kv[n].value = eq;
    n++;
  }
  pm__score_args args;
  char msg[600];
  int st = pm__score_args_parse(kv, n, &args, msg, sizeof msg);
  if (st == 0) {
    if (!args.tenant || !*args.tenant)
      abort();
    if (args.sender && strlen(args.sender) > PM__MAX_SENDER_BYTES)
      abort();
  } else {
    if (st != 400 || memchr(msg, '\0', sizeof msg) == NULL)
      abort();
    size_t len = 0;
    char *body = pm__json_error(msg, &len);
    if (body) {
      cJSON *j = cJSON_Parse(body);
      if (!j)
        abort(); /* the error body is always JSON */
      cJSON_Delete(j);
    }
    free(body);
  }

  for (char *h = strtok_r(NULL, "\r\n", &save); h;
       h = strtok_r(NULL, "\r\n", &save)) {
    char *colon = strchr(h, ':');
    if (!colon)
      continue;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    if (strcasecmp(h, "Content-Length") == 0) {
      uint64_t len = 0;
      if (pm__parse_content_length(v, &len)) {
        for (const char *p = v; *p; p++)
          if (*p < '0' || *p > '9')
            abort();
      }
    }
  }
  free(s);
  return 0;
}
