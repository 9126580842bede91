/* Inside the milter: the policy's fields, the running filter (tenants,
 * workers, log), what is decided for one mail, and the per-message
 * assembly. Nothing here knows libmilter but milter_glue.c. */
#ifndef PM_SCORE_MILTER_INTERNAL_H
#define PM_SCORE_MILTER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "common/buf.h"
#include "penmark/milter.h"
#include "penmark/score.h"
#include "penmark/serve.h"
#include "score/milter/milter_lists.h"

struct pm_milter_policy {
  char *socket, *store, *tenant, *tenant_map_path, *protected_path, *log_path;
  char *tag; /* never NULL; "" for no prefix */
  pm_milter_action action;
  bool skip_authenticated;
  unsigned time_limit_ms, max_connections;
  unsigned timeout_s; /* libmilter's wait for the MTA (smfi_settimeout) */
  pm__netlist trusted;
  /* read by pm_milter_policy_check */
  pm__tenant_map map;
  pm__senders protected_senders; /* n == 0: every profiled sender */
  bool checked;
};

/* Mail over this is not scored (fails open). */
#define PM__MILTER_MAX_BYTES ((size_t)16 << 20)

/* ---- the front (milter_front.c) ---- */

/* A thread that owns the public socket `spec` (libmilter's syntax:
 * unix:PATH, local:PATH, inet:PORT@HOST, inet6:PORT@HOST) and relays to
 * libmilter listening on the unix socket inner_path: only whole commands
 * reach libmilter, a peer whose command is not whole within timeout_s of
 * its first byte (or that sends nothing that long) is closed, at most
 * max_conns peers are held (past that, and at the descriptor limit, a new
 * one is closed at once; logged at most once a minute on log). */
typedef struct pm__mfront pm__mfront;
pm_status pm__mfront_start(const char *spec, const char *inner_path,
                           unsigned timeout_s, size_t max_conns, FILE *log,
                           pm__mfront **out, pm_error *err);
/* Closes every connection and the public socket (a unix one is unlinked);
 * NULL is a no-op. */
void pm__mfront_stop(pm__mfront *f);

/* ---- the log ---- */

/* One line "TIME penmark-milter: message" on out, whole (never mail text). */
void pm__mlog(FILE *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* At most one line per interval for a kind of event; the next line says
 * how many were left out. Zero-initialise (then set interval). */
typedef struct {
  pthread_mutex_t lock;
  time_t last;
  unsigned long suppressed;
  unsigned interval; /* seconds */
} pm__ratelimit;

/* True when a line may be written now; *left_out gets the count of lines
 * held back since the last one (and is reset). */
bool pm__ratelimit_pass(pm__ratelimit *r, time_t now, unsigned long *left_out);

/* ---- the filter ---- */

typedef struct {
  char name[80];
} pm__mtenant;

typedef struct pm__pool pm__pool;

typedef struct {
  const pm_milter_policy *pol;
  FILE *log;
  pm_serve_host *host;  /* the tenants' profiles, with the daemon's reloads */
  pm__mtenant *tenants; /* the policy's tenants, loaded at start */
  size_t n_tenants;
  pm__ratelimit rl_unmapped, rl_unprotected, rl_busy;
  pm__pool *pool;
} pm__mfilter;

/* Starts the tenant cache on the policy's store directory and loads every
 * tenant of the policy (one, or those of the map); a store that cannot be
 * read is logged (its mail fails open, and it is tried again). Stores
 * that training changes are picked up as the daemon does (pm_serve_host).
 * PM_NOMEM only (and what pm_serve_host_new returns). */
pm_status pm__mfilter_load(pm__mfilter *f, const pm_milter_policy *pol,
                           FILE *log, pm_error *err);
void pm__mfilter_free(pm__mfilter *f);

/* What the milter does with one mail. */
typedef enum {
  PM__OUT_SCORED = 0, /* verdict holds the score's header */
  PM__OUT_SKIPPED,    /* not judged by the policy */
  PM__OUT_ERROR       /* fails open */
} pm__mout;

typedef struct {
  pm__mout out;
  bool impersonation;
  char verdict[512];  /* X-Penmark-Verdict value */
  char reasons[4096]; /* X-Penmark-Reasons value; "" for none */
  char log[600];      /* the log line ("" for none) */
} pm__mdecision;

/* Judges one mail as received (headers without X-Penmark-*, blank line,
 * body): tenant from the From: domain, protected senders, scoring. */
void pm__mfilter_judge(pm__mfilter *f, const char *raw, size_t len,
                       pm__mdecision *d);

/* Fills d for a mail that fails open / is not judged (the log line too). */
void pm__mdecision_error(pm__mdecision *d, const char *why);
void pm__mdecision_skip(pm__mdecision *d, const char *why);

/* ---- the workers ---- */

typedef enum {
  PM__POOL_DONE = 0, /* *d filled */
  PM__POOL_BUSY,     /* max_connections mails being scored already */
  PM__POOL_TIMEOUT,  /* not done within the time limit */
  PM__POOL_NOMEM
} pm__pool_result;

/* Starts `workers` threads, each with its own scorers; at most max_jobs
 * mails queued or being scored at once. The signals SIGTERM, SIGINT and
 * SIGHUP are blocked in the workers (libmilter's own thread takes them). */
pm_status pm__pool_start(pm__mfilter *f, unsigned workers, unsigned max_jobs,
                         pm__pool **out, pm_error *err);
/* Judges raw (taken over: the pool frees it) on a worker and waits at most
 * limit_ms for the decision. A mail past its time limit goes on on its
 * worker (scoring cannot be cut short) and still counts against max_jobs
 * until it is done; its result is dropped. */
pm__pool_result pm__pool_judge(pm__pool *p, char *raw, size_t len,
                               unsigned limit_ms, pm__mdecision *d);
/* Lets the queued and running mails finish, joins the workers, frees. */
void pm__pool_stop(pm__pool *p);

/* ---- one message as received ---- */

typedef struct {
  char *name; /* an X-Penmark-* header name as it came */
  unsigned n; /* how many times (any case) */
} pm__own_header;

typedef struct {
  pm__buf raw; /* headers (ours left out), blank line, body */
  pm__own_header *own;
  size_t n_own, cap_own;
  char *subject;        /* the first Subject: value, NULL when none */
  bool too_big;         /* over PM__MILTER_MAX_BYTES: not kept */
  bool no_copy;         /* not judged (skip): headers noted, nothing copied */
  const char *skip_why; /* static text, NULL unless skipped */
} pm__mmsg;

void pm__mmsg_header(pm__mmsg *m, const char *name, const char *value);
void pm__mmsg_eoh(pm__mmsg *m);
void pm__mmsg_body(pm__mmsg *m, const void *chunk, size_t len);
/* Fills d and returns true when the mail is decided without scoring:
 * skipped by the policy, or too big (fails open). False: judge m->raw. */
bool pm__mmsg_settled(const pm__mmsg *m, pm__mdecision *d);
/* The subject with the tag before it, malloc'd; NULL when out of memory. */
char *pm__mmsg_tagged_subject(const pm__mmsg *m, const char *tag);
void pm__mmsg_free(pm__mmsg *m); /* NULL is a no-op */

#endif
