/* The daemon's counters and their OpenMetrics text. Counters are atomics,
 * bumped by the workers without a lock; rendering works on a plain copy
 * (pm__metrics_view), so that it can be tested without a daemon. */
#ifndef PM_SCORE_SERVE_METRICS_H
#define PM_SCORE_SERVE_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* Status codes counted by name; any other lands in "other". */
#define PM__METRIC_CODES(X)                                                    \
  X(200) X(400) X(404) X(405) X(409) X(413) X(422) X(500) X(503)
enum {
#define PM__CODE_ENUM(c) PM__CODE_##c,
  PM__METRIC_CODES(PM__CODE_ENUM)
#undef PM__CODE_ENUM
      PM__CODE_OTHER,
  PM__CODE_COUNT
};

/* The verdicts of score.h, in the order of pm_verdict. */
enum { PM__VERDICT_COUNT = 5 };

/* Upper bounds of the latency buckets, seconds; +Inf follows. */
#define PM__LATENCY_BOUNDS                                                     \
  { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5 }
enum { PM__LATENCY_BUCKETS = 13 };

typedef struct {
  _Atomic uint64_t by_code[PM__CODE_COUNT];
  _Atomic uint64_t by_verdict[PM__VERDICT_COUNT];
  _Atomic uint64_t aborted; /* requests the client cut off */
  _Atomic uint64_t latency[PM__LATENCY_BUCKETS + 1]; /* not cumulative */
  _Atomic uint64_t latency_sum_us;
  _Atomic uint64_t reloads_ok, reloads_failed;
  _Atomic int64_t tenants_loaded;
  /* the tenant cache under --max-memory (serve_tenants.c): loads (first
   * loads and loads after an eviction, not reloads), their time, evictions
   * and the bytes of profiles held */
  _Atomic uint64_t tenant_loads, tenant_load_us, tenant_load_max_us;
  _Atomic uint64_t evictions;
  _Atomic int64_t profile_bytes;
  uint64_t max_memory; /* set once at start; 0: no budget */
  _Atomic int64_t in_flight;
  _Atomic int64_t connections;
  /* bytes of request bodies held by all requests: a gauge, and the budget
   * that --max-buffered-bytes caps (serve_http.c) */
  atomic_size_t body_bytes;
} pm__metrics;

/* A plain copy, what rendering reads. */
typedef struct {
  uint64_t by_code[PM__CODE_COUNT];
  uint64_t by_verdict[PM__VERDICT_COUNT];
  uint64_t aborted;
  uint64_t latency[PM__LATENCY_BUCKETS + 1];
  uint64_t latency_sum_us;
  uint64_t reloads_ok, reloads_failed;
  int64_t tenants_loaded, in_flight, connections;
  uint64_t tenant_loads, tenant_load_us, tenant_load_max_us, evictions;
  int64_t profile_bytes;
  uint64_t max_memory;
  uint64_t body_bytes;
  const char *version;
} pm__metrics_view;

void pm__metrics_init(pm__metrics *m);
/* One answered request: its status and how long it took. */
void pm__metrics_request(pm__metrics *m, int status, uint64_t elapsed_us);
void pm__metrics_verdict(pm__metrics *m, int verdict);
void pm__metrics_snapshot(pm__metrics *m, pm__metrics_view *v);

/* Index of a status code in by_code. */
int pm__metrics_code_index(int status);

/* The OpenMetrics text of v appended to out (ends with "# EOF\n").
 * false when out of memory. */
bool pm__metrics_render(const pm__metrics_view *v, pm__buf *out);

#define PM__OPENMETRICS_TYPE                                                   \
  "application/openmetrics-text; version=1.0.0; charset=utf-8"

#endif
