/* Where training mail comes from: maildirs, mbox files, directory trees of
 * .eml/.txt files, single files, or a list of paths on standard input. The
 * inputs are enumerated up front (sorted, so that every run sees the same
 * order) into a list of items that worker threads then read by index. */
#ifndef PM_TRAIN_SOURCE_H
#define PM_TRAIN_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "penmark/error.h"

typedef struct {
  char *path;   /* the file (owned by the source) */
  uint64_t off; /* the message's bytes within it (an mbox holds many) */
  uint64_t len;
  uint32_t index; /* message number within an mbox, 0 for plain files */
  bool mbox;
} pm__source_item;

typedef struct {
  pm__source_item *items;
  size_t n, cap;
  uint64_t total_bytes;
  /* inputs that could not be enumerated, counted apart */
  size_t n_errors;
  char *first_errors[4];
} pm__source;

/* Enumerates the inputs ("-" = read paths from stdin, one per line). An
 * input that does not exist or cannot be read is recorded in n_errors and
 * first_errors (messages naming it), not fatal. Fails only when out of
 * memory. The source owns everything; pm__source_free. */
pm_status pm__source_open(const char *const *inputs, size_t n_inputs,
                          pm__source *src, pm_error *err);
void pm__source_free(pm__source *src);

/* Reads item i's bytes into out (mbox escaping undone). The message
 * names the item. */
pm_status pm__source_read(const pm__source *src, size_t i, size_t max_bytes,
                          pm__buf *out, pm_error *err);

/* A printable name for item i: the path, or "path#N" inside an mbox.
 * Written into buf (always NUL-terminated). */
void pm__source_name(const pm__source *src, size_t i, char *buf, size_t cap);

/* The label of item i for --label-by-dir: the name of the directory that
 * holds the file ("" when the path names none: no directory part, or "."
 * or ".."). Written into buf. */
void pm__source_label(const pm__source *src, size_t i, char *buf, size_t cap);

#endif
