/* The daemon's HTTP handlers: libmicrohttpd calls pm__serve_on_request for
 * each request, first when its headers are in, then for each piece of the
 * body, then once more when the body is complete. The result documents are
 * built apart (pm_score_result_json, pm__metrics_render, the health object)
 * from writing the reply (respond()). */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/buf.h"
#include "penmark/mail.h"
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "score/serve/serve_internal.h"
#include "score/serve/serve_route.h"
#include "score/serve/serve_worker.h"

/* One request's state, from its headers to its completion. */
typedef struct {
  pm__route route;
  int64_t start_us;
  int status; /* the status queued; 0 until then */
  int error;  /* an error found in the headers, answered once the
                 body is read (answering before closes the
                 connection: libmicrohttpd will not read on) */
  const char *allow;
  char *error_msg;
  bool too_big; /* body went over max_bytes: discarded from then on */
  size_t held;  /* this request's share of metrics.body_bytes */
  uint64_t discarded;
  pm__buf body;
  pm__snap *snap; /* the tenant's profiles, held from headers to answer */
  char tenant[72];
  char *sender; /* NULL: the From: address */
} req;

int64_t pm__mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Who is on the other end, from the kernel: the only client identity the
 * log trusts (nothing the client sends is taken for it). */
static void peer(struct MHD_Connection *c, char *out, size_t cap) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (ci && getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
    snprintf(out, cap, "pid %ld uid %ld", (long)uc.pid, (long)uc.uid);
  else
    snprintf(out, cap, "peer unknown");
}

/* The guard's slot of a connection (see pm__serve_on_connection). */
static void *conn_slot(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

/* Queues body (malloc'd; taken over, freed by libmicrohttpd or here). */
static enum MHD_Result respond(pm_serve *s, struct MHD_Connection *c, req *r,
                               int status, const char *ctype, char *body,
                               size_t len, const char *allow) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO; /* out of memory: close the connection */
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  if (allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  /* While stopping, close each connection after its answer, so that the
   * drain does not wait on keep-alive clients. */
  if (atomic_load(&s->stopping))
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  if (ok == MHD_YES) {
    r->status = status;
    pm__guard_answering(s->guard, conn_slot(c));
  }
  return ok;
}

static enum MHD_Result respond_error(pm_serve *s, struct MHD_Connection *c,
                                     req *r, int status, const char *msg,
                                     const char *allow) {
  if (status != 404 && status != 405 && status != 503) {
    char who[64];
    peer(c, who, sizeof who);
    pm__log_printf(&s->log, status >= 500 ? PM_LOG_ERROR : PM_LOG_WARN,
                   "request failed (%d, %s%s%s): %s", status, who,
                   r->tenant[0] ? ", tenant " : "", r->tenant, msg);
  }
  size_t len;
  char *body = pm__json_error(msg, &len);
  if (!body)
    return MHD_NO;
  return respond(s, c, r, status, "application/json", body, len, allow);
}

static enum MHD_Result respond_health(pm_serve *s, struct MHD_Connection *c,
                                      req *r) {
  bool stopping = atomic_load(&s->stopping);
  int64_t up = (pm__mono_us() / 1000 - s->start_ms) / 1000;
  cJSON *o = cJSON_CreateObject();
  char *text = NULL;
  if (o && cJSON_AddStringToObject(o, "status", stopping ? "stopping" : "ok") &&
      cJSON_AddNumberToObject(o, "uptime_s", (double)up) &&
      cJSON_AddNumberToObject(
          o, "tenants_loaded",
          (double)atomic_load(&s->metrics.tenants_loaded)) &&
      cJSON_AddStringToObject(o, "version", PM_VERSION))
    text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  pm__buf b = {0};
  if (!text || !pm__buf_puts(&b, text) || !pm__buf_putc(&b, '\n')) {
    free(text);
    pm__buf_free(&b);
    return respond_error(s, c, r, 500, "out of memory", NULL);
  }
  free(text);
  size_t len = b.len;
  return respond(s, c, r, stopping ? 503 : 200, "application/json",
                 pm__buf_steal(&b), len, NULL);
}

static enum MHD_Result respond_metrics(pm_serve *s, struct MHD_Connection *c,
                                       req *r) {
  pm__metrics_view v;
  pm__metrics_snapshot(&s->metrics, &v);
  v.version = PM_VERSION;
  pm__buf b = {0};
  if (!pm__metrics_render(&v, &b)) {
    pm__buf_free(&b);
    return respond_error(s, c, r, 500, "out of memory", NULL);
  }
  size_t len = b.len;
  return respond(s, c, r, 200, PM__OPENMETRICS_TYPE, pm__buf_steal(&b), len,
                 NULL);
}

typedef struct {
  pm__kv kv[PM__MAX_QUERY_ARGS + 1];
  size_t n;
} query;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
  (void)kind;
  query *q = cls;
  if (q->n == PM__MAX_QUERY_ARGS + 1)
    return MHD_NO; /* enough to say "too many" */
  q->kv[q->n].key = key ? key : "";
  q->kv[q->n].value = value;
  q->n++;
  return MHD_YES;
}

/* Remembers an error to answer when the request is complete. */
static enum MHD_Result defer_error(req *r, int status, const char *msg,
                                   const char *allow) {
  r->error = status;
  r->allow = allow;
  r->error_msg = strdup(msg);
  return r->error_msg ? MHD_YES : MHD_NO;
}

/* Takes n more bytes of the daemon's budget for request bodies; false
 * (nothing taken) when that would go over --max-buffered-bytes. */
static bool budget_take(pm_serve *s, req *r, size_t n) {
  size_t cur = atomic_load(&s->metrics.body_bytes);
  do {
    if (n > s->opts.max_buffered || cur > s->opts.max_buffered - n)
      return false;
  } while (
      !atomic_compare_exchange_weak(&s->metrics.body_bytes, &cur, cur + n));
  r->held += n;
  return true;
}

static void budget_release(pm_serve *s, req *r) {
  atomic_fetch_sub(&s->metrics.body_bytes, r->held);
  r->held = 0;
}

/* The budget is spent: the body is read and dropped, then 503 (a mail
 * server retries later). */
static enum MHD_Result over_budget(pm_serve *s, req *r) {
  char msg[200];
  snprintf(msg, sizeof msg,
           "busy: request bodies in memory are at the limit of %zu bytes "
           "(--max-buffered-bytes); retry later",
           s->opts.max_buffered);
  pm__buf_free(&r->body);
  budget_release(s, r);
  return defer_error(r, 503, msg, NULL);
}

/* The headers of POST /v1/score are in: check everything that can be
 * checked before the body is read. A body over the limit is refused at
 * once, without reading it (and the connection closed); other errors are
 * answered after the body, which keeps the connection. */
static enum MHD_Result score_begin(pm_serve *s, struct MHD_Connection *c,
                                   req *r) {
  char msg[600];
  query q = {.n = 0};
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
  pm__score_args args;
  int status = pm__score_args_parse(q.kv, q.n, &args, msg, sizeof msg);
  if (status)
    return defer_error(r, status, msg, NULL);
  snprintf(r->tenant, sizeof r->tenant, "%s", args.tenant);
  if (args.sender && !(r->sender = strdup(args.sender)))
    return defer_error(r, 500, "out of memory", NULL);
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  uint64_t len = 0;
  if (cl && !pm__parse_content_length(cl, &len))
    return defer_error(r, 400, "bad Content-Length", NULL);
  if (cl && len > s->opts.max_bytes) {
    snprintf(msg, sizeof msg, "body of %llu bytes is over the limit of %zu",
             (unsigned long long)len, s->opts.max_bytes);
    return respond_error(s, c, r, 413, msg, NULL);
  }
  if (cl && len == 0)
    return defer_error(r, 400, "empty body: send the raw message", NULL);
  if ((status = pm__tenants_acquire(s->tenants, r->tenant, &r->snap, msg,
                                    sizeof msg)))
    return defer_error(r, status, msg, NULL);
  if (cl && !budget_take(s, r, (size_t)len))
    return over_budget(s, r);
  if (cl && !pm__buf_reserve(&r->body, (size_t)len))
    return defer_error(r, 500, "out of memory", NULL);
  return MHD_YES;
}

/* A piece of the body. Past max_bytes nothing more is kept; the rest is
 * read and dropped so that the client still gets its 413 (libmicrohttpd
 * cannot answer in the middle of an upload), but a body that goes on for
 * another max_bytes is cut off by closing the connection. */
static enum MHD_Result score_body(pm_serve *s, req *r, const char *data,
                                  size_t n) {
  if (r->error || r->too_big || r->body.len + n > s->opts.max_bytes) {
    if (!r->too_big) {
      r->discarded = r->body.len;
      pm__buf_free(&r->body);
      budget_release(s, r);
      r->too_big = true;
    }
    r->discarded += n;
    return r->discarded > 2 * (uint64_t)s->opts.max_bytes ? MHD_NO : MHD_YES;
  }
  /* a body without Content-Length takes its budget as it comes */
  if (r->body.len + n > r->held &&
      !budget_take(s, r, r->body.len + n - r->held))
    return over_budget(s, r);
  if (!pm__buf_append(&r->body, data, n)) {
    pm__buf_free(&r->body);
    r->too_big = true; /* answered 413: more than this server can hold */
  }
  return MHD_YES;
}

/* The body is complete: parse, score, answer. */
static enum MHD_Result score_end(pm_serve *s, struct MHD_Connection *c,
                                 req *r) {
  char msg[600];
  if (r->too_big) {
    snprintf(msg, sizeof msg, "body over the limit of %zu bytes",
             s->opts.max_bytes);
    return respond_error(s, c, r, 413, msg, NULL);
  }
  if (r->body.len == 0)
    return respond_error(s, c, r, 400, "empty body: send the raw message",
                         NULL);
  pm_error err;
  pm_error_clear(&err);
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  lim.max_bytes = s->opts.max_bytes;
  pm_mail *mail = NULL;
  pm_status rc = pm_mail_parse(r->body.data, r->body.len, &lim, &mail, &err);
  pm__buf_free(&r->body);
  if (rc != PM_OK) {
    int status = rc == PM_NOTMAIL ? 422 : rc == PM_TOOBIG ? 413 : 500;
    /* The mail module's message says what the body is ("binary data
     * (...), not a mail"); it never quotes the mail. */
    snprintf(msg, sizeof msg, "%s%s",
             rc == PM_NOTMAIL ? "" : "cannot read the mail: ",
             pm_error_message(&err));
    return respond_error(s, c, r, status, msg, NULL);
  }
  pm_scorer *scorer = NULL;
  pm_score_result res;
  memset(&res, 0, sizeof res);
  rc = pm__worker_scorer(s->worker_key, r->snap, s->opts.flag_rate, &scorer,
                         &err);
  if (rc == PM_OK)
    rc = pm_score_mail(scorer, r->snap->profiles, mail, r->sender, &res, &err);
  pm_mail_free(mail);
  if (rc != PM_OK)
    return respond_error(s, c, r, 500, pm_error_message(&err), NULL);
  char *json = pm_score_result_json(&res, NULL, r->tenant);
  pm__buf b = {0};
  if (!json || !pm__buf_puts(&b, json) || !pm__buf_putc(&b, '\n')) {
    free(json);
    pm__buf_free(&b);
    return respond_error(s, c, r, 500, "out of memory", NULL);
  }
  free(json);
  pm__metrics_verdict(&s->metrics, (int)res.verdict);
  size_t len = b.len;
  return respond(s, c, r, 200, "application/json", pm__buf_steal(&b), len,
                 NULL);
}

enum MHD_Result pm__serve_on_request(void *cls, struct MHD_Connection *c,
                                     const char *url, const char *method,
                                     const char *version,
                                     const char *upload_data,
                                     size_t *upload_data_size, void **con_cls) {
  (void)version;
  pm_serve *s = cls;
  req *r = *con_cls;
  if (!r) {
    if (!(r = calloc(1, sizeof *r)))
      return MHD_NO;
    r->start_us = pm__mono_us();
    *con_cls = r;
    pm__guard_headers_in(s->guard, conn_slot(c));
    atomic_fetch_add(&s->metrics.in_flight, 1);
    pm__route_match m;
    pm__route_request(method, url, &m);
    r->route = m.route;
    /* Stopping: answered at once, which also closes the connection. */
    if (atomic_load(&s->stopping) && m.route != PM__ROUTE_HEALTH)
      return respond_error(s, c, r, 503, "shutting down", NULL);
    if (m.status)
      return defer_error(
          r, m.status, m.status == 405 ? "method not allowed" : "unknown path",
          m.allow);
    return m.route == PM__ROUTE_SCORE ? score_begin(s, c, r) : MHD_YES;
  }
  if (r->status) {
    /* Answered early (413, 503): nothing more to read. */
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return score_body(s, r, upload_data, n);
  }
  /* The request is complete: from now on it is being answered, which the
   * guard never cuts (scoring a long mail takes a while). */
  pm__guard_answering(s->guard, conn_slot(c));
  if (r->error)
    return respond_error(s, c, r, r->error, r->error_msg, r->allow);
  switch (r->route) {
  case PM__ROUTE_HEALTH:
    return respond_health(s, c, r);
  case PM__ROUTE_METRICS:
    return respond_metrics(s, c, r);
  case PM__ROUTE_SCORE:
    return score_end(s, c, r);
  case PM__ROUTE_NONE:
    break;
  }
  return MHD_NO;
}

void pm__serve_on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                            enum MHD_RequestTerminationCode toe) {
  pm_serve *s = cls;
  req *r = *con_cls;
  if (!r)
    return;
  *con_cls = NULL;
  pm__guard_request_done(s->guard, conn_slot(c));
  if (r->status)
    pm__metrics_request(&s->metrics, r->status,
                        (uint64_t)(pm__mono_us() - r->start_us));
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->status)
    atomic_fetch_add(&s->metrics.aborted, 1);
  pm__snap_release(r->snap);
  pm__buf_free(&r->body);
  budget_release(s, r);
  free(r->sender);
  free(r->error_msg);
  free(r);
  atomic_fetch_sub(&s->metrics.in_flight, 1);
}

void pm__serve_on_connection(void *cls, struct MHD_Connection *c,
                             void **socket_context,
                             enum MHD_ConnectionNotificationCode toe) {
  pm_serve *s = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    atomic_fetch_add(&s->metrics.connections, 1);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    pm__guard_opened(s->guard, ci ? ci->connect_fd : -1, socket_context);
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    pm__guard_closed(s->guard, socket_context);
    atomic_fetch_sub(&s->metrics.connections, 1);
  }
}
