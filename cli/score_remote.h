/* penmark score --socket: the client mode, which sends each mail to a
 * running `penmark serve` instead of scoring it in this process. */
#ifndef PM_CLI_SCORE_REMOTE_H
#define PM_CLI_SCORE_REMOTE_H

/* Posts each of files[0..n) ("-" = standard input) to the daemon on the
 * unix socket `socket` as POST /v1/score?tenant=T[&sender=ADDR], and prints
 * each answer as one JSON line on stdout: the daemon's object with "file"
 * put first, the same line as in-process scoring gives. A mail the daemon
 * refuses is reported on stderr ("penmark: FILE: 422: ...") and the rest go
 * on. sender may be NULL (the From: address). Returns a PM_EXIT_* code:
 * PM_EXIT_FAIL when any mail failed or the daemon cannot be reached. */
int pm_cli_score_remote(const char *socket, const char *tenant,
                        const char *sender, char **files, int n);

#endif
