/* Growable byte buffer and whole-file reading (see common/buf.h). */
#include "common/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool pm__buf_reserve(pm__buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1)
    return false;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p)
    return false;
  b->data = p;
  b->cap = cap;
  return true;
}

bool pm__grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return true;
  size_t c = *cap ? *cap : 256;
  while (c < need) {
    if (c > SIZE_MAX / 2 / elem)
      return false;
    c *= 2;
  }
  void *np = realloc(*p, c * elem);
  if (!np)
    return false;
  *p = np;
  *cap = c;
  return true;
}

bool pm__buf_append(pm__buf *b, const void *data, size_t n) {
  if (!pm__buf_reserve(b, n))
    return false;
  if (n)
    memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return true;
}

bool pm__buf_putc(pm__buf *b, char c) {
  return pm__buf_append(b, &c, 1);
}

bool pm__buf_puts(pm__buf *b, const char *s) {
  return pm__buf_append(b, s, strlen(s));
}

bool pm__buf_printf(pm__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return false;
  if ((size_t)n < sizeof small)
    return pm__buf_append(b, small, (size_t)n);
  if (!pm__buf_reserve(b, (size_t)n))
    return false;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

void pm__buf_clear(pm__buf *b) {
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

void pm__buf_free(pm__buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

char *pm__buf_steal(pm__buf *b) {
  if (!b->data && !pm__buf_reserve(b, 0))
    return NULL;
  if (b->len == 0)
    b->data[0] = '\0';
  char *p = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

pm_status pm__read_file(const char *path, size_t max_bytes, pm__buf *out,
                        pm_error *err) {
  pm__buf_clear(out);
  bool is_stdin = strcmp(path, "-") == 0;
  int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return pm_error_set(err, PM_IO, "%s: cannot open: %s", path,
                        strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (!is_stdin)
        close(fd);
      return pm_error_set(err, PM_IO, "%s: is a directory", path);
    }
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
      if (!is_stdin)
        close(fd);
      return pm_error_set(err, PM_TOOBIG,
                          "%s: %lld bytes, over the limit of %zu bytes", path,
                          (long long)st.st_size, max_bytes);
    }
    if (S_ISREG(st.st_mode) && !pm__buf_reserve(out, (size_t)st.st_size)) {
      if (!is_stdin)
        close(fd);
      return pm_error_set(err, PM_NOMEM, "%s: out of memory", path);
    }
  }
  pm_status rc = PM_OK;
  for (;;) {
    if (!pm__buf_reserve(out, 65536)) {
      rc = pm_error_set(err, PM_NOMEM, "%s: out of memory", path);
      break;
    }
    ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      rc =
          pm_error_set(err, PM_IO, "%s: read error: %s", path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    out->len += (size_t)n;
    out->data[out->len] = '\0';
    if (out->len > max_bytes) {
      rc = pm_error_set(err, PM_TOOBIG, "%s: over the limit of %zu bytes", path,
                        max_bytes);
      break;
    }
  }
  if (!is_stdin)
    close(fd);
  if (rc != PM_OK)
    pm__buf_clear(out);
  return rc;
}
