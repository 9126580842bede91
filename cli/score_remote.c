/* penmark score --socket (see cli/score_remote.h). */
#include "cli/score_remote.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/buf.h"
#include "penmark/mail.h"
#include "score/serve/client.h"

/* How long one read or write on the socket may wait; generous, as a big
 * tenant's first load happens inside the first request. */
#define TIMEOUT_MS 120000

/* POST /v1/score?tenant=T[&sender=S], malloc'd. */
static char *target(const char *tenant, const char *sender) {
  char *t = pm__url_encode(tenant);
  char *s = sender ? pm__url_encode(sender) : NULL;
  pm__buf b = {0};
  bool ok = t && (!sender || s) &&
            pm__buf_printf(&b, "/v1/score?tenant=%s", t) &&
            (!s || pm__buf_printf(&b, "&sender=%s", s));
  free(t);
  free(s);
  if (!ok) {
    pm__buf_free(&b);
    return NULL;
  }
  return pm__buf_steal(&b);
}

/* The length of the JSON string token at s (which starts with '"'), or 0
 * when it does not end within len. */
static size_t json_string_len(const char *s, size_t len) {
  for (size_t i = 1; i < len; i++) {
    if (s[i] == '\\')
      i++;
    else if (s[i] == '"')
      return i + 1;
  }
  return 0;
}

/* The line in-process scoring prints, from the daemon's object: "file" put
 * first, and the daemon's leading "tenant" member dropped (in-process lines
 * have none): {"file":"F",<the rest>}. Done on the text, not by re-printing
 * parsed JSON, so that every number reads exactly as the daemon (and
 * in-process scoring) wrote it. */
static bool print_with_file(const char *name, const char *body, size_t len) {
  while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
                 body[len - 1] == ' '))
    len--;
  if (len < 2 || body[0] != '{' || body[len - 1] != '}')
    return false;
  /* The members, between the braces. */
  const char *rest = body + 1;
  size_t rest_len = len - 2;
  static const char key[] = "\"tenant\":";
  size_t kl = sizeof key - 1;
  if (rest_len > kl && memcmp(rest, key, kl) == 0 && rest[kl] == '"') {
    size_t n = json_string_len(rest + kl, rest_len - kl);
    if (!n)
      return false;
    n += kl;
    if (n < rest_len && rest[n] == ',')
      n++;
    rest += n;
    rest_len -= n;
  }
  cJSON *s = cJSON_CreateString(name);
  char *quoted = s ? cJSON_PrintUnformatted(s) : NULL;
  cJSON_Delete(s);
  if (!quoted)
    return false;
  printf("{\"file\":%s%s%.*s}\n", quoted, rest_len ? "," : "", (int)rest_len,
         rest);
  free(quoted);
  return true;
}

/* The "error" of a JSON error body, or the body itself. */
static void report(const char *name, const pm__http_response *r) {
  cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  if (cJSON_IsString(e))
    pm_cli_err("%s: %d: %s", name, r->status, e->valuestring);
  else
    pm_cli_err("%s: %d: %.200s", name, r->status, r->body);
  cJSON_Delete(j);
}

int pm_cli_score_remote(const char *socket, const char *tenant,
                        const char *sender, char **files, int n) {
  pm_error err;
  pm_error_clear(&err);
  char *path = target(tenant, sender && *sender ? sender : NULL);
  pm__http_conn conn;
  if (!path || pm__http_init(&conn, socket, TIMEOUT_MS, &err) != PM_OK) {
    pm_cli_err("out of memory");
    free(path);
    return PM_EXIT_FAIL;
  }
  /* Mails go one after another on one kept-alive connection; should the
   * daemon have closed it while idle, the mail is sent again once. */
  conn.retry_idle = true;
  if (pm__http_connect(&conn, &err) != PM_OK) {
    pm_cli_err("%s", pm_error_message(&err));
    pm__http_free(&conn);
    free(path);
    return PM_EXIT_FAIL;
  }
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  pm__buf mail = {0};
  int failed = 0;
  for (int i = 0; i < n; i++) {
    const char *name = pm_cli_input_name(files[i]);
    pm_error_clear(&err);
    if (pm__read_file(files[i], lim.max_bytes, &mail, &err) != PM_OK) {
      pm_cli_err("%s", pm_error_message(&err));
      failed++;
      continue;
    }
    pm__http_response r;
    pm_status rc =
        pm__http_request(&conn, "POST", path, "message/rfc822",
                         mail.data ? mail.data : "", mail.len, &r, &err);
    if (rc != PM_OK) {
      pm_cli_err("%s: %s", name, pm_error_message(&err));
      failed++;
      if (rc == PM_IO && !conn.got_bytes && conn.fd < 0 &&
          pm__http_connect(&conn, &err) != PM_OK) {
        pm_cli_err("%s", pm_error_message(&err));
        failed += n - i - 1;
        break; /* the daemon is gone: the other mails would fail alike */
      }
      continue;
    }
    if (r.status != 200) {
      report(name, &r);
      failed++;
    } else if (!print_with_file(name, r.body, r.body_len)) {
      pm_cli_err("%s: the daemon's answer is not a JSON object", name);
      failed++;
    }
    pm__http_response_free(&r);
  }
  fflush(stdout);
  pm__buf_free(&mail);
  pm__http_free(&conn);
  free(path);
  return failed ? PM_EXIT_FAIL : PM_EXIT_OK;
}
