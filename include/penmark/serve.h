/* penmark: the scoring daemon (HTTP/1.1 over a unix socket).
 *
 *   POST /v1/score?tenant=T[&sender=ADDR]  body: the raw RFC 5322 message
 *   GET  /v1/health                        {status, uptime_s, tenants_loaded,
 *                                           version}
 *   GET  /metrics                          OpenMetrics text
 *
 * A tenant's profiles are loaded from STORE/<tenant>.db on its first request
 * and cached. A background thread looks at every loaded store about every
 * 250 ms (pm_store_changed) and, when training committed to it or replaced
 * the file, loads the new profiles and swaps them in; a request holds a
 * reference to one profiles object from start to end, so it is answered
 * from the old profiles or the new, never a mix, and never waits for a
 * reload. A reload that fails keeps the old profiles.
 *
 * Threads: a pool of workers (libmicrohttpd's thread pool); each worker has
 * its own scorer (MeCab tagger, ICU iterator), created on its first request.
 * BLAS threads are the caller's to set, and should be 1 (the workers are
 * the parallelism: a BLAS call fanned out over OpenBLAS's own threads would
 * fight them for the cores); pm_serve_run never changes them, and
 * `penmark serve` sets 1 before it starts.
 *
 * The same tenant cache, without the HTTP side, serves other front ends
 * that take mail another way (the milter): pm_serve_host, below.
 *
 * This module logs (one line per event, timestamped, never mail content)
 * through pm_serve_opts.log, standard error by default; the milter, the
 * other front end, logs through its own sink.
 */
#ifndef PENMARK_SERVE_H
#define PENMARK_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "penmark/error.h"
#include "penmark/mail.h"
#include "penmark/score.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_serve pm_serve;

typedef enum { PM_LOG_ERROR = 0, PM_LOG_WARN, PM_LOG_INFO } pm_log_level;

/* A log sink: msg is one line without its newline, borrowed for the call.
 * Called from any thread (serialise inside if needed). */
typedef void (*pm_serve_log_fn)(pm_log_level level, const char *msg, void *ctx);

/* The default sink: "2026-11-23T08:22:38.123Z penmark[123] info: msg" on
 * stderr, one write per line. */
void pm_serve_log_stderr(pm_log_level level, const char *msg, void *ctx);

/* Defaults, as stated in `penmark serve --help` and docs/daemon.md. */
#define PM_SERVE_MAX_BYTES_DEFAULT ((size_t)25 * 1000 * 1000)
#define PM_SERVE_MAX_CONNECTIONS_DEFAULT 1024u
/* All request bodies held in memory at once (never less than max_bytes). */
#define PM_SERVE_MAX_BUFFERED_DEFAULT ((size_t)256 * 1024 * 1024)
#define PM_SERVE_TIMEOUT_DEFAULT 30u /* seconds */
#define PM_SERVE_SOCKET_MODE_DEFAULT 0660u
/* How often a loaded store is looked at for changes. */
#define PM_SERVE_CHECK_INTERVAL_MS 250u

typedef struct {
  const char *socket_path;  /* required; at most 107 bytes (sockaddr_un) */
  const char *store_dir;    /* required: DIR of DIR/<tenant>.db */
  const char *config_path;  /* feature configuration (JSON); NULL = each
                               store's own configuration */
  unsigned threads;         /* workers; 0 = the number of cores */
  size_t max_bytes;         /* largest request body; 0 = default */
  size_t max_buffered;      /* all request bodies held at once; a request
                               that would go over gets 503; 0 = default,
                               raised to max_bytes when below */
  unsigned socket_mode;     /* permissions of the socket file */
  unsigned max_connections; /* open connections at once */
  unsigned timeout_s;       /* a connection idle (or a request stalled) this
                               long is closed */
  unsigned drain_s;         /* on stop: how long idle keep-alive connections
                               are waited for (in-flight requests are always
                               finished, up to timeout_s) */
  pm_serve_log_fn log;      /* NULL = pm_serve_log_stderr */
  void *log_ctx;
  size_t max_memory; /* bytes of tenant profiles held at once: past it the
                        least recently used tenant not in use is let go
                        (and loaded again on its next request); 0 = no
                        limit. A tenant larger than the budget alone is
                        still served. */
  double flag_rate;  /* the false-alarm rate verdicts keep to
                        (pm_scorer_set_flag_rate), in (0, 0.5]; 0 = the
                        default, PM_DEFAULT_FLAG_RATE */
} pm_serve_opts;

/* Fills opts with the defaults; socket_path and store_dir stay NULL. */
void pm_serve_opts_default(pm_serve_opts *opts);

/* Checks the options, loads the configuration file, binds the socket
 * (replacing a stale one; refusing a live one, a non-socket file and a path
 * too long for sockaddr_un) and starts serving. *out is owned by the caller:
 * pm_serve_stop, then pm_serve_free. opts is copied. */
pm_status pm_serve_start(const pm_serve_opts *opts, pm_serve **out,
                         pm_error *err);

/* What SIGHUP does: reloads the configuration file (if any; a bad file is
 * logged and the old configuration kept) and drops every cached tenant so
 * that the next request loads it again. Requests in flight finish with the
 * profiles they hold. Call from one thread at a time. */
void pm_serve_reload(pm_serve *srv);

/* Graceful stop: stops accepting, removes the socket file, answers new
 * requests on open connections with 503, finishes every request in flight,
 * then closes. Returns when done. Idempotent. */
void pm_serve_stop(pm_serve *srv);

/* Stops (if not yet) and frees; NULL is a no-op. */
void pm_serve_free(pm_serve *srv);

/* The daemon's main: start, then wait for signals (SIGTERM and SIGINT stop
 * gracefully, SIGHUP reloads; handled through a self-pipe, no work in the
 * handler), stop, free. Installs those signal handlers and ignores SIGPIPE
 * for the process. Returns PM_OK after a clean stop. */
pm_status pm_serve_run(const pm_serve_opts *opts, pm_error *err);

/* ---- scoring from a store directory, for other front ends ----
 *
 * The daemon's tenant cache and reload rules without its HTTP side: a
 * tenant's profiles are loaded from STORE/<tenant>.db on its first mail,
 * swapped for new ones when training commits to the store or replaces the
 * file (looked at every PM_SERVE_CHECK_INTERVAL_MS, by a thread of the
 * host's own; a mail is scored with the old profiles or the new, never
 * waits for a reload, and a reload that fails keeps the old ones), and
 * dropped by pm_serve_host_reload. Any thread may score at once: each
 * keeps its own scorers, freed when the thread ends. */
typedef struct pm_serve_host pm_serve_host;

/* store_dir is copied; log NULL = pm_serve_log_stderr, log_ctx borrowed
 * until pm_serve_host_free (loads, reloads and their failures are logged,
 * repeated warnings limited as the daemon's). flag_rate as in
 * pm_serve_opts (0: the default). *out is the caller's: pm_serve_host_free. */
pm_status pm_serve_host_new(const char *store_dir, double flag_rate,
                            pm_serve_log_fn log, void *log_ctx,
                            pm_serve_host **out, pm_error *err);

/* Scores mail for tenant (claimed: as pm_score_mail). A mail that cannot be
 * judged is a verdict, as pm_score_mail's. Errors, with a message that
 * names the tenant or the store, never the mail: PM_NOTFOUND no store for
 * the tenant, PM_MISMATCH a store of another schema, PM_BUSY the store held
 * by a writer, PM_NOMEM, PM_INTERNAL anything else. A failed load is
 * retried at most once a second; the mails meanwhile get its error. */
pm_status pm_serve_host_score(pm_serve_host *h, const char *tenant,
                              const pm_mail *mail, const char *claimed,
                              pm_score_result *out, pm_error *err);

/* Loads tenant now, as its first mail would (a front end's start shows a
 * broken store at once); *senders (may be NULL): its profiled senders.
 * Errors as pm_serve_host_score. */
pm_status pm_serve_host_load(pm_serve_host *h, const char *tenant,
                             size_t *senders, pm_error *err);

/* Makes the calling thread's scorer for tenant's configuration now (a
 * worker's start: its first mail then costs the scoring alone, not the
 * making of a MeCab tagger). The scorer lives until the thread ends.
 * Errors as pm_serve_host_score. */
pm_status pm_serve_host_prepare(pm_serve_host *h, const char *tenant,
                                pm_error *err);

/* As SIGHUP for the daemon: every tenant is read again on its next mail;
 * mails being scored finish with the profiles they hold. */
void pm_serve_host_reload(pm_serve_host *h);

/* Stops the store checker and frees everything. No mail may be under way,
 * and the threads that scored must have ended (their scorers are freed as
 * each ends; a thread still alive keeps its own until it ends, and must
 * never score through h again). NULL is a no-op. */
void pm_serve_host_free(pm_serve_host *h);

#ifdef __cplusplus
}
#endif
#endif
