/* The daemon's listening unix socket: binding with the requested mode,
 * replacing a stale socket file, refusing a live one or a non-socket. */
#ifndef PM_SCORE_SERVE_SOCKET_H
#define PM_SCORE_SERVE_SOCKET_H

#include <sys/stat.h>

#include "score/serve/serve_log.h"

/* Binds and listens on `path` (non-blocking, close-on-exec), the file made
 * with permissions `mode`. An existing path is replaced only when it is a
 * socket nobody accepts on (connect() gets ECONNREFUSED). *id gets the
 * socket file's identity, for pm__socket_remove. */
pm_status pm__socket_listen(const char *path, unsigned mode, int backlog,
                            const pm__log *log, int *fd, struct stat *id,
                            pm_error *err);

/* Removes the socket file when it is still the one we made (another daemon
 * may have replaced it since). */
void pm__socket_remove(const char *path, const struct stat *id);

#endif
