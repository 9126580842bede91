/* A small HTTP/1.1 client over a unix socket, for talking to `penmark
 * serve`: the client mode of `penmark score`, the integration tests and the
 * load generator. One request at a time per connection, keep-alive, bodies
 * with Content-Length; responses with Content-Length, chunked, or up to the
 * end of the connection. Not a general HTTP client (no TLS, no redirects,
 * no proxies), and not meant to be one. Internal: pm__ names. */
#ifndef PM_SCORE_CLIENT_H
#define PM_SCORE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "penmark/error.h"

typedef struct {
  int status;    /* 200, 404, ... */
  char *headers; /* the header lines, "\r\n"-separated, NUL-terminated */
  char *body;    /* NUL-terminated (the NUL is not counted in body_len) */
  size_t body_len;
  bool close; /* the server closes the connection after this */
} pm__http_response;

void pm__http_response_free(pm__http_response *r); /* fields only */

/* The value of header `name` (case-insensitive) in r, copied into out
 * (cap bytes, NUL-terminated); false when absent. */
bool pm__http_header(const pm__http_response *r, const char *name, char *out,
                     size_t cap);

/* Parses one response from data[0..len). Returns 1 with *out filled and
 * *used = the bytes it took; 0 when more bytes are needed (eof: there will
 * be none, which completes a response delimited by the end of the
 * connection); -1 on a malformed response (message in err). 1xx interim
 * responses (100 Continue) are skipped. */
int pm__http_parse_response(const char *data, size_t len, bool eof,
                            pm__http_response *out, size_t *used,
                            pm_error *err);

/* "%XX" for every byte but unreserved ones (RFC 3986); malloc'd. */
char *pm__url_encode(const char *s);

typedef struct {
  int fd;          /* -1 when not connected */
  char *path;      /* the socket */
  int timeout_ms;  /* per read or write; 0 = none */
  bool retry_idle; /* resend once when a reused connection turns out to
                      have been closed by the server before it read
                      anything (the keep-alive race); off by default */
  bool got_bytes;  /* the last request got at least one response byte */
  pm__buf in;      /* bytes read and not yet used */
} pm__http_conn;

/* Sets up c for the socket at path (copied); connects on first use. */
pm_status pm__http_init(pm__http_conn *c, const char *path, int timeout_ms,
                        pm_error *err);
void pm__http_close(pm__http_conn *c); /* closes the socket, keeps setup */
void pm__http_free(pm__http_conn *c);  /* closes and frees */

/* Connects now (the socket path's limit and a missing daemon are reported
 * here). */
pm_status pm__http_connect(pm__http_conn *c, pm_error *err);

/* Sends one request and reads its response (*resp: free with
 * pm__http_response_free). content_type may be NULL (no body: len 0). The
 * connection is kept for the next request unless the server closes it.
 * Errors: PM_IO (connection refused, reset, timed out, closed early: the
 * message says which; c->got_bytes tells whether any of the response
 * came), PM_CORRUPT (malformed response), PM_NOMEM. */
pm_status pm__http_request(pm__http_conn *c, const char *method,
                           const char *target, const char *content_type,
                           const void *body, size_t len,
                           pm__http_response *resp, pm_error *err);

#endif
