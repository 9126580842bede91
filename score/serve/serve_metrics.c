/* The daemon's counters and their OpenMetrics text (see serve_metrics.h). */
#include "score/serve/serve_metrics.h"

#include <stdio.h>
#include <string.h>

static const double latency_bounds[PM__LATENCY_BUCKETS] = PM__LATENCY_BOUNDS;

/* The names of score.h's pm_verdict values, in enum order. Spelled out here
 * so that rendering needs nothing of the scorer (and stays testable alone). */
static const char *const verdict_names[PM__VERDICT_COUNT] = {
    "genuine", "impersonation", "unknown_sender", "profile_not_ready",
    "too_little_text"};

void pm__metrics_init(pm__metrics *m) {
  for (int i = 0; i < PM__CODE_COUNT; i++)
    atomic_init(&m->by_code[i], 0);
  for (int i = 0; i < PM__VERDICT_COUNT; i++)
    atomic_init(&m->by_verdict[i], 0);
  for (int i = 0; i <= PM__LATENCY_BUCKETS; i++)
    atomic_init(&m->latency[i], 0);
  atomic_init(&m->aborted, 0);
  atomic_init(&m->latency_sum_us, 0);
  atomic_init(&m->reloads_ok, 0);
  atomic_init(&m->reloads_failed, 0);
  atomic_init(&m->tenants_loaded, 0);
  atomic_init(&m->tenant_loads, 0);
  atomic_init(&m->tenant_load_us, 0);
  atomic_init(&m->tenant_load_max_us, 0);
  atomic_init(&m->evictions, 0);
  atomic_init(&m->profile_bytes, 0);
  m->max_memory = 0;
  atomic_init(&m->in_flight, 0);
  atomic_init(&m->body_bytes, 0);
  atomic_init(&m->connections, 0);
}

int pm__metrics_code_index(int status) {
  switch (status) {
#define PM__CODE_CASE(c)                                                       \
  case c:                                                                      \
    return PM__CODE_##c;
    PM__METRIC_CODES(PM__CODE_CASE)
#undef PM__CODE_CASE
  default:
    return PM__CODE_OTHER;
  }
}

void pm__metrics_request(pm__metrics *m, int status, uint64_t elapsed_us) {
  /* Relaxed: these are statistics; nothing is ordered by them. */
  atomic_fetch_add_explicit(&m->by_code[pm__metrics_code_index(status)], 1,
                            memory_order_relaxed);
  int b = 0;
  while (b < PM__LATENCY_BUCKETS &&
         (double)elapsed_us > latency_bounds[b] * 1e6)
    b++;
  atomic_fetch_add_explicit(&m->latency[b], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->latency_sum_us, elapsed_us,
                            memory_order_relaxed);
}

void pm__metrics_verdict(pm__metrics *m, int verdict) {
  if (verdict >= 0 && verdict < PM__VERDICT_COUNT)
    atomic_fetch_add_explicit(&m->by_verdict[verdict], 1, memory_order_relaxed);
}

void pm__metrics_snapshot(pm__metrics *m, pm__metrics_view *v) {
  memset(v, 0, sizeof *v);
  for (int i = 0; i < PM__CODE_COUNT; i++)
    v->by_code[i] = atomic_load(&m->by_code[i]);
  for (int i = 0; i < PM__VERDICT_COUNT; i++)
    v->by_verdict[i] = atomic_load(&m->by_verdict[i]);
  for (int i = 0; i <= PM__LATENCY_BUCKETS; i++)
    v->latency[i] = atomic_load(&m->latency[i]);
  v->aborted = atomic_load(&m->aborted);
  v->latency_sum_us = atomic_load(&m->latency_sum_us);
  v->reloads_ok = atomic_load(&m->reloads_ok);
  v->reloads_failed = atomic_load(&m->reloads_failed);
  v->tenants_loaded = atomic_load(&m->tenants_loaded);
  v->tenant_loads = atomic_load(&m->tenant_loads);
  v->tenant_load_us = atomic_load(&m->tenant_load_us);
  v->tenant_load_max_us = atomic_load(&m->tenant_load_max_us);
  v->evictions = atomic_load(&m->evictions);
  v->profile_bytes = atomic_load(&m->profile_bytes);
  v->max_memory = m->max_memory;
  v->in_flight = atomic_load(&m->in_flight);
  v->body_bytes = atomic_load(&m->body_bytes);
  v->connections = atomic_load(&m->connections);
}

static const char *const code_labels[PM__CODE_COUNT] = {
#define PM__CODE_LABEL(c) #c,
    PM__METRIC_CODES(PM__CODE_LABEL)
#undef PM__CODE_LABEL
        "other"};

/* A bucket bound as OpenMetrics' canonical number: "%g", with ".0" added to
 * whole numbers ("1.0", not "1"). */
static bool put_bound(pm__buf *out, double b) {
  char s[32];
  snprintf(s, sizeof s, "%g", b);
  return pm__buf_puts(out, s) && (strpbrk(s, ".e") || pm__buf_puts(out, ".0"));
}

/* Each section appends to out while ok; P prints one line of it. */
#define P(...) (ok = ok && pm__buf_printf(out, __VA_ARGS__))

/* The build, and the requests by status code, error class and verdict. */
static bool render_requests(const pm__metrics_view *v, pm__buf *out) {
  bool ok = true;
  if (v->version) {
    P("# TYPE penmark_build info\n");
    P("# HELP penmark_build The running penmark.\n");
    P("penmark_build_info{version=\"%s\"} 1\n", v->version);
  }
  P("# TYPE penmark_http_requests counter\n");
  P("# HELP penmark_http_requests HTTP requests answered, by status code.\n");
  for (int i = 0; i < PM__CODE_COUNT; i++)
    P("penmark_http_requests_total{code=\"%s\"} %llu\n", code_labels[i],
      (unsigned long long)v->by_code[i]);
  uint64_t client = 0, server = 0;
  for (int i = 0; i < PM__CODE_COUNT; i++) {
    if (i == PM__CODE_OTHER)
      continue;
    int code = 0;
    sscanf(code_labels[i], "%d", &code);
    if (code >= 500)
      server += v->by_code[i];
    else if (code >= 400)
      client += v->by_code[i];
  }
  P("# TYPE penmark_errors counter\n");
  P("# HELP penmark_errors Requests that failed: answered 4xx (client), "
    "5xx (server), or cut off by the client before an answer (aborted).\n");
  P("penmark_errors_total{class=\"client\"} %llu\n",
    (unsigned long long)client);
  P("penmark_errors_total{class=\"server\"} %llu\n",
    (unsigned long long)server);
  P("penmark_errors_total{class=\"aborted\"} %llu\n",
    (unsigned long long)v->aborted);
  P("# TYPE penmark_score_verdicts counter\n");
  P("# HELP penmark_score_verdicts Mails scored, by verdict.\n");
  for (int i = 0; i < PM__VERDICT_COUNT; i++)
    P("penmark_score_verdicts_total{verdict=\"%s\"} %llu\n", verdict_names[i],
      (unsigned long long)v->by_verdict[i]);
  return ok;
}

/* The request duration histogram. */
static bool render_latency(const pm__metrics_view *v, pm__buf *out) {
  bool ok = true;
  P("# TYPE penmark_request_duration_seconds histogram\n");
  P("# UNIT penmark_request_duration_seconds seconds\n");
  P("# HELP penmark_request_duration_seconds Time from a request's headers "
    "to its answer.\n");
  uint64_t cum = 0;
  for (int i = 0; i <= PM__LATENCY_BUCKETS; i++) {
    cum += v->latency[i];
    if (i < PM__LATENCY_BUCKETS) {
      P("penmark_request_duration_seconds_bucket{le=\"");
      ok = ok && put_bound(out, latency_bounds[i]);
      P("\"} %llu\n", (unsigned long long)cum);
    } else {
      P("penmark_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
        (unsigned long long)cum);
    }
  }
  P("penmark_request_duration_seconds_count %llu\n", (unsigned long long)cum);
  P("penmark_request_duration_seconds_sum %llu.%06llu\n",
    (unsigned long long)(v->latency_sum_us / 1000000),
    (unsigned long long)(v->latency_sum_us % 1000000));
  return ok;
}

/* The tenants: loaded, loads, evictions, memory, reloads. */
static bool render_tenants(const pm__metrics_view *v, pm__buf *out) {
  bool ok = true;
  P("# TYPE penmark_tenants_loaded gauge\n");
  P("# HELP penmark_tenants_loaded Tenants whose profiles are in memory.\n");
  P("penmark_tenants_loaded %lld\n", (long long)v->tenants_loaded);
  P("# TYPE penmark_tenant_loads counter\n");
  P("# HELP penmark_tenant_loads Tenants loaded on demand (first use or "
    "after an eviction).\n");
  P("penmark_tenant_loads_total %llu\n", (unsigned long long)v->tenant_loads);
  P("# TYPE penmark_tenant_load_seconds summary\n");
  P("# HELP penmark_tenant_load_seconds Time to load a tenant's profiles on "
    "demand (a cold load).\n");
  P("penmark_tenant_load_seconds_count %llu\n",
    (unsigned long long)v->tenant_loads);
  P("penmark_tenant_load_seconds_sum %llu.%06llu\n",
    (unsigned long long)(v->tenant_load_us / 1000000),
    (unsigned long long)(v->tenant_load_us % 1000000));
  P("# TYPE penmark_tenant_load_seconds_max gauge\n");
  P("# HELP penmark_tenant_load_seconds_max The slowest load so far.\n");
  P("penmark_tenant_load_seconds_max %llu.%06llu\n",
    (unsigned long long)(v->tenant_load_max_us / 1000000),
    (unsigned long long)(v->tenant_load_max_us % 1000000));
  P("# TYPE penmark_tenant_evictions counter\n");
  P("# HELP penmark_tenant_evictions Tenants dropped, least recently used "
    "first, to stay within --max-memory.\n");
  P("penmark_tenant_evictions_total %llu\n", (unsigned long long)v->evictions);
  P("# TYPE penmark_profile_bytes gauge\n");
  P("# HELP penmark_profile_bytes Bytes of the loaded tenants' profiles.\n");
  P("penmark_profile_bytes %lld\n", (long long)v->profile_bytes);
  P("# TYPE penmark_max_memory_bytes gauge\n");
  P("# HELP penmark_max_memory_bytes The profiles' budget (--max-memory; 0: "
    "none).\n");
  P("penmark_max_memory_bytes %llu\n", (unsigned long long)v->max_memory);
  P("# TYPE penmark_reloads counter\n");
  P("# HELP penmark_reloads Profile reloads after a store changed.\n");
  P("penmark_reloads_total{result=\"ok\"} %llu\n",
    (unsigned long long)v->reloads_ok);
  P("penmark_reloads_total{result=\"failed\"} %llu\n",
    (unsigned long long)v->reloads_failed);
  return ok;
}

/* What is in flight now, and the end of the text. */
static bool render_connections(const pm__metrics_view *v, pm__buf *out) {
  bool ok = true;
  P("# TYPE penmark_requests_in_flight gauge\n");
  P("# HELP penmark_requests_in_flight Requests being received or "
    "answered.\n");
  P("penmark_requests_in_flight %lld\n", (long long)v->in_flight);
  P("# TYPE penmark_connections gauge\n");
  P("# HELP penmark_connections Open client connections.\n");
  P("penmark_connections %lld\n", (long long)v->connections);
  P("# TYPE penmark_request_body_bytes gauge\n");
  P("# HELP penmark_request_body_bytes Bytes of request bodies held in "
    "memory.\n");
  P("penmark_request_body_bytes %llu\n", (unsigned long long)v->body_bytes);
  P("# EOF\n");
  return ok;
}

#undef P

bool pm__metrics_render(const pm__metrics_view *v, pm__buf *out) {
  size_t before = out->len;
  bool ok = render_requests(v, out) && render_latency(v, out) &&
            render_tenants(v, out) && render_connections(v, out);
  if (!ok) {
    out->len = before;
    if (out->data)
      out->data[before] = '\0';
  }
  return ok;
}
