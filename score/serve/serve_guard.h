/* The daemon's guard against slow and idle clients: every open connection
 * has a slot, and a connection that is reading a request (or waiting for
 * its next one) for longer than the timeout is closed, however slowly it
 * trickles bytes in, which libmicrohttpd's idle timeout alone does not do.
 * When the open connections near max_connections, the one that has been
 * reading longest is closed to make room, so that a crowd of slow clients
 * cannot keep new well-formed requests out. Requests being answered are
 * never cut. Internal to the serve module. */
#ifndef PM_SCORE_SERVE_GUARD_H
#define PM_SCORE_SERVE_GUARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "penmark/error.h"
#include "score/serve/serve_log.h"

typedef struct pm__guard pm__guard;

/* Connections are closed to make room from max_connections - headroom on,
 * headroom = max_connections / 8 (at least 1). log is borrowed. */
pm_status pm__guard_new(unsigned max_connections, unsigned timeout_s,
                        const pm__log *log, pm__guard **out, pm_error *err);

/* Starts the thread that closes timed-out connections (every 100 ms) and
 * flushes the log's suppressed-message summaries. */
pm_status pm__guard_start(pm__guard *g, pm_error *err);

/* Stops the thread and frees; NULL is a no-op. Every connection must have
 * been closed (libmicrohttpd stopped) before. */
void pm__guard_free(pm__guard *g);

/* A connection opened (socket fd): *slot gets its slot. Closes the
 * longest-reading connection when over the high-water mark: an idle one
 * (or one still sending headers) before one whose request is arriving
 * (its body, or bytes not read yet). */
void pm__guard_opened(pm__guard *g, int fd, void **slot);
/* It closed: the slot is freed, *slot set to NULL. */
void pm__guard_closed(pm__guard *g, void **slot);
/* Its request's headers are in: a body may be arriving (the deadline
 * still holds). */
void pm__guard_headers_in(pm__guard *g, void *slot);
/* Its request is in (read whole) and being answered: no deadline, and
 * never closed to make room, until it is done. */
void pm__guard_answering(pm__guard *g, void *slot);
/* Its request is done: the next one is read from now on. */
void pm__guard_request_done(pm__guard *g, void *slot);

/* Connections closed by the guard so far (for metrics and tests). */
uint64_t pm__guard_dropped(const pm__guard *g);

#endif
