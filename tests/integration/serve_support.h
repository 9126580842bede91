/* The helpers of the daemon's integration suites (test_serve_results,
 * test_serve_refusals, test_serve_load, test_serve_stop; the daemon part in
 * test_serve_abuse and test_no_mail_in_logs too): the inbound
 * sample mail, its in-process scores, starting and stopping `penmark
 * serve`, and the fixture they share (the sample tenant trained once, and
 * one daemon on it). Test code only. */
#ifndef PM_TESTS_SERVE_SUPPORT_H
#define PM_TESTS_SERVE_SUPPORT_H

#include "score/serve/client.h"

#include "tests/support.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CLIENT_TIMEOUT_MS 120000
#define MAX_BYTES 2000000
/* all bodies at once in the main daemon: one largest body and a half */
#define MAX_BUFFERED 3000000
#define PM_STR_(x) #x
#define PM_STR(x) PM_STR_(x)

#define need(cond, ...)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      ck_abort_msg(__VA_ARGS__);                                               \
  } while (0)

/* What must match between the daemon and in-process scoring. The
 * probability is kept as text: byte-identical means the same digits. */
typedef struct {
  char verdict[32];
  char prob[48];
  long long pmails; /* profile.mails */
} outcome;

bool srv_outcome_eq(const outcome *a, const outcome *b);
/* The outcome in one JSON object (a line of `penmark score` or a daemon
 * answer); false when it is not a score result. */
bool srv_outcome_of(const char *json, size_t len, outcome *o);

void srv_sleep_ms(int ms);
/* Runs cmd; fails the test (with its stderr) unless it exits 0. stdout is
 * returned (malloc'd). */
char *srv_run_ok(const char *cmd);
char *srv_run_okf(const char *f, ...) __attribute__((format(printf, 1, 2)));

/* ---- the inbound sample mail ---- */
typedef struct {
  char *path;
  char *bytes;
  size_t len;
} mail_t;

extern mail_t *srv_mails; /* sorted by path */
extern size_t srv_n_mails;
void srv_load_mails(void);
/* The paths of all of them, each quoted, for a command line (malloc'd). */
char *srv_all_mail_args(void);
/* In-process `penmark score` of every inbound mail: the outcomes (in
 * srv_mails[] order) and the output lines (malloc'd array; lines may be
 * NULL). */
void srv_score_in_process(const char *store_dir, const char *tenant,
                          const char *sender, outcome *out, char ***lines);

/* ---- the daemon ---- */
typedef struct {
  pid_t pid;
  char *sock;
  char *log;
} daemon_t;

/* One request on a new connection; the status, or -1. */
int srv_http_once(const char *sock, const char *method, const char *target,
                  const char *body, size_t len, pm__http_response *r);
int srv_health(const char *sock); /* GET /v1/health: the status, or -1 */
/* A daemon's log so far; "" before it has one. */
char *srv_slurp(const char *path);
/* Waits up to timeout_s for the daemon to exit; its exit status, or -1
 * (and a SIGKILL) when it did not. */
int srv_daemon_wait(daemon_t *d, int timeout_s);
/* Starts `penmark serve` (--max-bytes MAX_BYTES, then extra's options,
 * which win over it) with its log in SOCK.log (d->log), and waits
 * (generously) until it answers. */
void srv_daemon_start(daemon_t *d, const char *sock, const char *store_dir,
                      const char *extra);
int srv_daemon_stop(daemon_t *d); /* SIGTERM, then its exit status */
void srv_daemon_free(daemon_t *d);
char *srv_score_target(const char *tenant);

/* ---- the fixture: the sample tenant, its in-process results, a daemon ---- */
extern char *srv_root;  /* everything temporary */
extern char *srv_store; /* root/store: tenant demo, the whole sample corpus */
extern outcome *srv_expect; /* in-process outcome of each inbound mail */
extern char **srv_expect_lines;
extern daemon_t srv_main_d; /* the daemon of srv_main_setup */
/* Once, in the parent (from the first unchecked fixture): every forked
 * test inherits it. */
void srv_suite_setup(void);
void srv_suite_teardown(void);
/* srv_suite_setup and srv_main_d started on it. */
void srv_main_setup(void);
void srv_main_teardown(void);

#endif
