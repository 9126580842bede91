/* penmark: the milter (libmilter, for Postfix and Sendmail).
 *
 * Two parts. The header values the milter adds (pure text work: every
 * value is 7-bit ASCII, as RFC 5322 header values must be; reason texts
 * that are not ASCII are RFC 2047 encoded, UTF-8 base64 words). And the
 * filter itself: a policy (which mail is judged, what is done with an
 * impersonation, the limits), read from a key = value file and the command
 * line, and pm_milter_run, which scores mail in-process from the tenants'
 * stores on a pool of workers until SIGTERM or SIGINT, picking up what
 * training publishes as the daemon does.
 *
 * The filter logs one line per event (timestamped, never mail text or
 * addresses) to the policy's log file, standard error by default.
 */
#ifndef PENMARK_MILTER_H
#define PENMARK_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "penmark/error.h"
#include "penmark/score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The prefix of every header penmark adds; incoming ones are removed. */
#define PM_MILTER_HEADER_PREFIX "X-Penmark-"

/* True when a header name starts with X-Penmark- (any case). */
bool pm_milter_is_own_header(const char *name);

/* X-Penmark-Verdict value: "<verdict>; p=<prob>; tenant=<t>" (tenant
 * omitted when NULL). Written into buf (cap bytes, always NUL-terminated). */
void pm_milter_verdict_value(const pm_score_result *r, const char *tenant,
                             char *buf, size_t cap);

/* X-Penmark-Verdict value for a mail that could not be scored:
 * "error; <why>" with non-ASCII and control bytes replaced by '?'. */
void pm_milter_error_value(const char *why, char *buf, size_t cap);

/* X-Penmark-Reasons value: the reason texts joined by "; ", each RFC 2047
 * encoded when not ASCII, folded between words. "" when there are none. */
void pm_milter_reasons_value(const pm_score_result *r, char *buf, size_t cap);

/* X-Penmark-Verdict value for a mail the policy leaves alone (no scoring):
 * "not_judged; <why>", ASCII-cleaned as pm_milter_error_value. */
void pm_milter_skip_value(const char *why, char *buf, size_t cap);

/* ---- the policy ---- */

typedef enum {
  PM_MILTER_REPORT = 0, /* headers only (a trial period) */
  PM_MILTER_TAG,        /* subject prefix */
  PM_MILTER_QUARANTINE, /* the MTA's hold queue */
  PM_MILTER_REJECT      /* 550 5.7.1 at the end of DATA */
} pm_milter_action;

/* Defaults, as stated in `penmark milter --help` and docs/postfix.md. */
#define PM_MILTER_TIME_LIMIT_MS_DEFAULT 5000u
#define PM_MILTER_MAX_CONNECTIONS_DEFAULT 32u
/* libmilter's wait for the MTA, in seconds (its own default is 7210) */
#define PM_MILTER_TIMEOUT_S_DEFAULT 600u
#define PM_MILTER_TAG_DEFAULT "[penmark] "

typedef struct pm_milter_policy pm_milter_policy;

/* A policy with the defaults: report, every profiled sender protected, no
 * skipping, the default limits, no socket, store or tenant. NULL when out
 * of memory. Free with pm_milter_policy_free (NULL is a no-op). */
pm_milter_policy *pm_milter_policy_new(void);
void pm_milter_policy_free(pm_milter_policy *p);

/* Sets one setting by its key, as in the policy file: socket, store,
 * tenant, tenant_map, action, tag, protected, trusted_networks,
 * skip_authenticated, time_limit_ms, max_connections, timeout_s, log
 * (docs/postfix.md).
 * tenant and tenant_map replace each other. origin names where the value
 * came from in messages ("--action", "milter.conf:3"). PM_CONFIG for an
 * unknown key or a bad value; the message names origin, key and value.
 * Files named (tenant_map, protected) are read by pm_milter_policy_check. */
pm_status pm_milter_policy_set(pm_milter_policy *p, const char *key,
                               const char *value, const char *origin,
                               pm_error *err);

/* Reads a policy file: one "key = value" a line, '#' starts a comment
 * line, blank lines are skipped, a value may be in double quotes (to keep
 * spaces, as the tag's). A relative path in a value is taken from the
 * policy file's folder. The first error stops it, named "FILE:LINE: ...";
 * settings before it stay set. */
pm_status pm_milter_policy_load(pm_milter_policy *p, const char *path,
                                pm_error *err);

/* Checks that the policy is complete (socket, store, and a tenant or a
 * tenant map) and reads the tenant map and the protected senders' file;
 * errors name the file and line. Call once, after the last set or load. */
pm_status pm_milter_policy_check(pm_milter_policy *p, pm_error *err);

/* The filter's main: loads every tenant's profiles (a tenant whose store
 * cannot be read makes its mail fail open, and is tried again at most once
 * a second), starts the workers and libmilter on the policy's socket, and
 * returns after SIGTERM, SIGINT or SIGHUP once the mails being decided are
 * answered (each within the time limit); libmilter drops the connections of
 * mails still being transferred (the MTA applies its milter_default_action).
 * Stores follow the daemon's reload rules (pm_serve_host): a store that
 * training commits to or replaces is read again and swapped in without
 * holding up a mail; SIGUSR1 makes every tenant be read again on its next
 * mail. Once per process: p must have passed pm_milter_policy_check and,
 * like the log file, is still read by libmilter's last threads until the
 * process ends (free it just before exit, or not at all). PM_IO when the
 * socket or the log cannot be used. */
pm_status pm_milter_run(const pm_milter_policy *p, pm_error *err);

#ifdef __cplusplus
}
#endif
#endif
