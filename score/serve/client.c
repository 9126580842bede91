/* A small HTTP/1.1 client over a unix socket (see score/serve/client.h). */
#include "score/serve/client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* A response head larger than this is refused as malformed. */
#define MAX_HEAD (64 * 1024)

void pm__http_response_free(pm__http_response *r) {
  if (!r)
    return;
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof *r);
}

bool pm__http_header(const pm__http_response *r, const char *name, char *out,
                     size_t cap) {
  size_t nlen = strlen(name);
  for (const char *p = r->headers; p && *p;) {
    const char *eol = strstr(p, "\r\n");
    size_t line = eol ? (size_t)(eol - p) : strlen(p);
    if (line > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
      const char *v = p + nlen + 1;
      const char *end = p + line;
      while (v < end && (*v == ' ' || *v == '\t'))
        v++;
      while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
      size_t n = (size_t)(end - v);
      if (cap) {
        if (n >= cap)
          n = cap - 1;
        memcpy(out, v, n);
        out[n] = '\0';
      }
      return true;
    }
    p = eol ? eol + 2 : p + line;
  }
  return false;
}

/* Whether a comma-separated header value holds token (case-insensitive). */
static bool has_token(const char *value, const char *token) {
  size_t tl = strlen(token);
  for (const char *p = value; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    const char *t = e;
    while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
      t--;
    if ((size_t)(t - p) == tl && strncasecmp(p, token, tl) == 0)
      return true;
    p = e;
  }
  return false;
}

static bool parse_size(const char *s, int base, uint64_t *out) {
  uint64_t v = 0;
  int digits = 0;
  for (; *s; s++, digits++) {
    int d;
    if (*s >= '0' && *s <= '9')
      d = *s - '0';
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      d = *s - 'a' + 10;
    else if (base == 16 && *s >= 'A' && *s <= 'F')
      d = *s - 'A' + 10;
    else
      break;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
      return false;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  if (!digits)
    return false;
  *out = v;
  return true;
}

/* Decodes a chunked body starting at p; 1 done (*used up to the end of the
 * trailer), 0 need more, -1 bad. */
static int dechunk(const char *p, size_t len, pm__buf *body, size_t *used,
                   pm_error *err) {
  size_t pos = 0;
  pm__buf_clear(body);
  for (;;) {
    const char *eol = memmem(p + pos, len - pos, "\r\n", 2);
    if (!eol)
      return len - pos > 1024
                 ? (pm_error_set(err, PM_CORRUPT, "chunk size line too long"),
                    -1)
                 : 0;
    char line[32];
    size_t ll = (size_t)(eol - (p + pos));
    if (ll >= sizeof line)
      ll = sizeof line - 1; /* a chunk extension: the size comes first */
    memcpy(line, p + pos, ll);
    line[ll] = '\0';
    uint64_t size;
    if (!parse_size(line, 16, &size)) {
      pm_error_set(err, PM_CORRUPT, "bad chunk size");
      return -1;
    }
    pos = (size_t)(eol - p) + 2;
    if (size == 0) {
      /* Trailer fields, then an empty line. */
      for (;;) {
        const char *e = memmem(p + pos, len - pos, "\r\n", 2);
        if (!e)
          return 0;
        size_t l = (size_t)(e - (p + pos));
        pos += l + 2;
        if (l == 0) {
          *used = pos;
          return 1;
        }
      }
    }
    if (size > len - pos || len - pos - size < 2)
      return 0;
    if (memcmp(p + pos + size, "\r\n", 2) != 0) {
      pm_error_set(err, PM_CORRUPT, "chunk not followed by CRLF");
      return -1;
    }
    if (!pm__buf_append(body, p + pos, (size_t)size)) {
      pm_error_set(err, PM_NOMEM, "out of memory");
      return -1;
    }
    pos += (size_t)size + 2;
  }
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" then a space or the line's end, read from p[0..n) only
 * (n covers the line and its CRLF). sscanf is not used: it reads to the
 * next NUL, past the bytes it was given, and takes signs ("-12", "+99")
 * as part of a number. The status is 100 to 599 (RFC 9110, 15): "037"
 * has three digits but is no status. */
static bool parse_status_line(const char *p, size_t n, int *minor,
                              int *status) {
  if (n < 14 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) ||
      p[8] != ' ' || p[9] < '1' || p[9] > '5' || !is_digit(p[10]) ||
      !is_digit(p[11]) || (p[12] != ' ' && p[12] != '\r'))
    return false;
  *minor = p[7] - '0';
  *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  return true;
}

/* The head of the final response (interim 1xx ones skipped): from
 * data + *start to *end (its "\r\n\r\n"). 1 when found, 0 when more bytes
 * are needed, -1 on a bad response (err says why). */
static int final_head(const char *data, size_t len, bool eof, size_t *start,
                      const char **end, int *minor, int *status,
                      pm_error *err) {
  for (;;) {
    *end = memmem(data + *start, len - *start, "\r\n\r\n", 4);
    if (!*end) {
      if (len - *start > MAX_HEAD) {
        pm_error_set(err, PM_CORRUPT, "response head over %d bytes", MAX_HEAD);
        return -1;
      }
      if (eof && len > *start) {
        pm_error_set(err, PM_CORRUPT,
                     "connection closed inside a response "
                     "head");
        return -1;
      }
      return 0;
    }
    const char *p = data + *start;
    if (!parse_status_line(p, (size_t)(*end - p) + 2, minor, status)) {
      pm_error_set(err, PM_CORRUPT, "not an HTTP/1.x status line");
      return -1;
    }
    if (*status >= 100 && *status < 200) { /* interim: skip */
      *start += (size_t)(*end - p) + 4;
      continue;
    }
    return 1;
  }
}

/* The header lines of the head p..end into out, and whether the
 * connection closes after the response. False when out of memory. */
static bool take_headers(pm__http_response *out, const char *p, const char *end,
                         int minor) {
  size_t head_len = (size_t)(end - p) + 4;
  const char *h = memmem(p, head_len, "\r\n", 2) + 2;
  size_t hl = (size_t)(end + 2 - h);
  if (!(out->headers = malloc(hl + 1)))
    return false;
  memcpy(out->headers, h, hl);
  out->headers[hl] = '\0';
  char v[128];
  out->close = minor == 0;
  if (pm__http_header(out, "Connection", v, sizeof v)) {
    if (has_token(v, "close"))
      out->close = true;
    else if (has_token(v, "keep-alive"))
      out->close = false;
  }
  return true;
}

/* The body that starts at b (avail bytes there): chunked, of a
 * Content-Length, or up to the end of the connection. 1 when complete
 * (*used: its bytes on the wire), 0 when more are needed, -1 on error. */
static int take_body(pm__http_response *out, const char *b, size_t avail,
                     bool eof, pm__buf *body, size_t *used, pm_error *err) {
  char v[128];
  uint64_t clen;
  int rc;
  if (out->status == 204 || out->status == 304)
    return 1;
  if (pm__http_header(out, "Transfer-Encoding", v, sizeof v) &&
      has_token(v, "chunked")) {
    rc = dechunk(b, avail, body, used, err);
    if (rc == 0 && eof) {
      pm_error_set(err, PM_CORRUPT,
                   "connection closed inside a chunked "
                   "body");
      rc = -1;
    }
    return rc;
  }
  if (pm__http_header(out, "Content-Length", v, sizeof v)) {
    if (!parse_size(v, 10, &clen) || v[strspn(v, "0123456789")]) {
      pm_error_set(err, PM_CORRUPT, "bad Content-Length in response");
      return -1;
    }
    if (clen > avail) {
      if (!eof)
        return 0;
      pm_error_set(err, PM_CORRUPT,
                   "connection closed after %zu of %llu body bytes", avail,
                   (unsigned long long)clen);
      return -1;
    }
    *used = (size_t)clen;
    if (pm__buf_append(body, b, (size_t)clen))
      return 1;
    pm_error_set(err, PM_NOMEM, "out of memory");
    return -1;
  }
  /* Delimited by the end of the connection. */
  out->close = true;
  *used = avail;
  if (!eof)
    return 0;
  if (pm__buf_append(body, b, avail))
    return 1;
  pm_error_set(err, PM_NOMEM, "out of memory");
  return -1;
}

int pm__http_parse_response(const char *data, size_t len, bool eof,
                            pm__http_response *out, size_t *used,
                            pm_error *err) {
  memset(out, 0, sizeof *out);
  size_t start = 0;
  const char *end;
  int minor, status;
  int rc = final_head(data, len, eof, &start, &end, &minor, &status, err);
  if (rc != 1)
    return rc;
  const char *p = data + start;
  size_t head_len = (size_t)(end - p) + 4;
  out->status = status;
  if (!take_headers(out, p, end, minor)) {
    pm_error_set(err, PM_NOMEM, "out of memory");
    return -1;
  }
  pm__buf body = {0};
  size_t body_used = 0;
  rc = take_body(out, p + head_len, len - start - head_len, eof, &body,
                 &body_used, err);
  if (rc != 1) {
    pm__buf_free(&body);
    pm__http_response_free(out);
    return rc;
  }
  out->body_len = body.len;
  out->body = pm__buf_steal(&body);
  if (!out->body) {
    pm__http_response_free(out);
    pm_error_set(err, PM_NOMEM, "out of memory");
    return -1;
  }
  *used = start + head_len + body_used;
  return 1;
}

char *pm__url_encode(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1), *o = out;
  if (!out)
    return NULL;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      *o++ = (char)c;
    } else {
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o = '\0';
  return out;
}

pm_status pm__http_init(pm__http_conn *c, const char *path, int timeout_ms,
                        pm_error *err) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->timeout_ms = timeout_ms;
  if (!(c->path = strdup(path)))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

void pm__http_close(pm__http_conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  pm__buf_clear(&c->in);
}

void pm__http_free(pm__http_conn *c) {
  pm__http_close(c);
  pm__buf_free(&c->in);
  free(c->path);
  c->path = NULL;
}

pm_status pm__http_connect(pm__http_conn *c, pm_error *err) {
  if (c->fd >= 0)
    return PM_OK;
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  size_t len = strlen(c->path);
  if (len >= sizeof sa.sun_path)
    return pm_error_set(err, PM_INVAL,
                        "socket path too long: %zu bytes, a unix socket path "
                        "holds at most %zu: %s",
                        len, sizeof sa.sun_path - 1, c->path);
  memcpy(sa.sun_path, c->path, len + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = errno;
    close(fd);
    return pm_error_set(
        err, PM_IO, "cannot connect to %s: %s%s", c->path, strerror(e),
        e == ENOENT || e == ECONNREFUSED ? " (is `penmark serve` running?)"
                                         : "");
  }
  c->fd = fd;
  pm__buf_clear(&c->in);
  return PM_OK;
}

/* Waits until fd is ready for events; false on timeout (errno ETIMEDOUT). */
static bool wait_fd(int fd, short events, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = events};
  for (;;) {
    int rc = poll(&p, 1, timeout_ms > 0 ? timeout_ms : -1);
    if (rc > 0)
      return true;
    if (rc == 0) {
      errno = ETIMEDOUT;
      return false;
    }
    if (errno != EINTR)
      return false;
  }
}

static bool send_all(pm__http_conn *c, struct iovec *iov, int n) {
  while (n > 0) {
    if (!wait_fd(c->fd, POLLOUT, c->timeout_ms))
      return false;
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return false;
    }
    size_t left = (size_t)w;
    while (n > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (char *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return true;
}

/* One attempt: send, then read until a whole response is in. */
static pm_status attempt(pm__http_conn *c, const char *head, size_t head_len,
                         const void *body, size_t len, pm__http_response *resp,
                         pm_error *err) {
  struct iovec iov[2] = {{(void *)head, head_len}, {(void *)body, len}};
  c->got_bytes = false;
  if (!send_all(c, iov, len ? 2 : 1)) {
    int e = errno;
    /* The server may have answered early (413, 404) and stopped reading:
     * its answer is worth more than the write error. */
    if (e != EPIPE && e != ECONNRESET)
      return pm_error_set(err, PM_IO, "sending to %s: %s", c->path,
                          strerror(e));
  }
  for (;;) {
    size_t used = 0;
    pm_error perr;
    pm_error_clear(&perr);
    int rc = c->in.len ? pm__http_parse_response(c->in.data, c->in.len, false,
                                                 resp, &used, &perr)
                       : 0;
    if (rc < 0) {
      if (err)
        *err = perr;
      return perr.code == PM_NOMEM ? PM_NOMEM : PM_CORRUPT;
    }
    if (rc == 1) {
      memmove(c->in.data, c->in.data + used, c->in.len - used);
      c->in.len -= used;
      c->in.data[c->in.len] = '\0';
      return PM_OK;
    }
    if (!pm__buf_reserve(&c->in, 16384))
      return pm_error_set(err, PM_NOMEM, "out of memory");
    if (!wait_fd(c->fd, POLLIN, c->timeout_ms))
      return pm_error_set(err, PM_IO, "waiting for %s: %s", c->path,
                          strerror(errno));
    ssize_t r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len - 1,
                     MSG_DONTWAIT);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (r < 0 && errno != ECONNRESET)
      return pm_error_set(err, PM_IO, "reading from %s: %s", c->path,
                          strerror(errno));
    if (r <= 0) {
      if (c->in.len) {
        rc = pm__http_parse_response(c->in.data, c->in.len, true, resp, &used,
                                     &perr);
        if (rc == 1) {
          pm__buf_clear(&c->in);
          resp->close = true;
          return PM_OK;
        }
        return pm_error_set(err, PM_IO,
                            "%s: connection closed in the "
                            "middle of the response: %s",
                            c->path, pm_error_message(&perr));
      }
      return pm_error_set(err, PM_IO, "%s: connection closed before a response",
                          c->path);
    }
    c->got_bytes = true;
    c->in.len += (size_t)r;
    c->in.data[c->in.len] = '\0';
  }
}

pm_status pm__http_request(pm__http_conn *c, const char *method,
                           const char *target, const char *content_type,
                           const void *body, size_t len,
                           pm__http_response *resp, pm_error *err) {
  memset(resp, 0, sizeof *resp);
  c->got_bytes = false;
  pm__buf head = {0};
  bool ok = pm__buf_printf(&head, "%s %s HTTP/1.1\r\nHost: localhost\r\n",
                           method, target);
  if (content_type)
    ok = ok &&
         pm__buf_printf(&head, "Content-Type: %s\r\nContent-Length: %zu\r\n",
                        content_type, len);
  ok = ok && pm__buf_puts(&head, "\r\n");
  if (!ok) {
    pm__buf_free(&head);
    return pm_error_set(err, PM_NOMEM, "out of memory");
  }
  pm_status rc = PM_OK;
  for (int tries = 0; tries < 2; tries++) {
    bool reused = c->fd >= 0;
    if ((rc = pm__http_connect(c, err)) != PM_OK)
      break;
    rc = attempt(c, head.data, head.len, body, len, resp, err);
    if (rc == PM_OK) {
      if (resp->close)
        pm__http_close(c);
      break;
    }
    pm__http_close(c);
    /* A kept-alive connection the server had already closed: nothing was
     * read, so sending again cannot answer twice. */
    if (!(c->retry_idle && reused && !c->got_bytes && rc == PM_IO))
      break;
  }
  pm__buf_free(&head);
  return rc;
}
