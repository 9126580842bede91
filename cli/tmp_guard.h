/* A private temporary directory that outlives nothing: removed when the
 * command is done, and also when it is interrupted (SIGINT, SIGTERM,
 * SIGHUP), so that an interrupted evaluation leaves no store of the
 * corpus's statistics behind. */
#ifndef PM_CLI_TMP_GUARD_H
#define PM_CLI_TMP_GUARD_H

typedef struct pm_cli_tmp_guard pm_cli_tmp_guard;

/* Makes "$TMPDIR/penmark-<what>.XXXXXX" (mode 0700; /tmp when TMPDIR is
 * unset) and takes over SIGINT, SIGTERM and SIGHUP: on any of them, a
 * watcher thread removes the directory, says so on stderr and exits the
 * process with 128 + the signal number. NULL (after a message) on failure.
 * One guard at a time per process. */
pm_cli_tmp_guard *pm_cli_tmp_guard_new(const char *what);

/* The directory (owned by the guard). */
const char *pm_cli_tmp_guard_dir(const pm_cli_tmp_guard *g);

/* Stops the watcher, gives the signals back their previous handlers and
 * removes the directory with everything in it. NULL is ignored. */
void pm_cli_tmp_guard_free(pm_cli_tmp_guard *g);

#endif
