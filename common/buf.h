/* Growable byte buffer and whole-file reading, for the library's own use. */
#ifndef PM_COMMON_BUF_H
#define PM_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "penmark/error.h"

/* A byte buffer. data is owned by the buffer and always NUL-terminated when
 * non-NULL (len excludes the NUL). Zero-initialise, then free with
 * pm__buf_free. */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
} pm__buf;

/* Make room for `extra` more bytes plus the NUL. Returns false (and leaves
 * the buffer as it was) when the allocation fails or the size overflows. */
bool pm__buf_reserve(pm__buf *b, size_t extra);
bool pm__buf_append(pm__buf *b, const void *data, size_t n);
bool pm__buf_putc(pm__buf *b, char c);
bool pm__buf_puts(pm__buf *b, const char *s);
bool pm__buf_printf(pm__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pm__buf_clear(pm__buf *b); /* keeps the allocation */
void pm__buf_free(pm__buf *b);
/* Hands the data over to the caller (free() it); the buffer is left empty.
 * Never NULL on success: an empty buffer gives an allocated "". */
char *pm__buf_steal(pm__buf *b);

/* Grows the array *p of elem-sized items so that it holds at least need
 * items (doubling; *cap counts items). false, with *p untouched, when out
 * of memory or the size overflows. */
bool pm__grow(void **p, size_t *cap, size_t need, size_t elem);

/* Reads the whole of `path` ("-" is standard input) into out (cleared first).
 * Refuses, with PM_TOOBIG, a file over max_bytes; the message names the file.
 */
pm_status pm__read_file(const char *path, size_t max_bytes, pm__buf *out,
                        pm_error *err);

#endif
