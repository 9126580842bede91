/* Helpers shared by the benchmark programs (bench/extract.c, bench/score.c):
 * the clock, medians and percentiles, finding and reading a corpus. Static
 * functions in a header because the Makefile builds each bench program
 * from its one .c file alone; nothing here is part of the library. */
#ifndef PM_BENCH_H
#define PM_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/buf.h"
#include "penmark/eval.h"

/* Every measurement is repeated this many times; the median is reported. */
#define PM_BENCH_REPEAT 3

static inline int64_t pm_bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int pm_bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of n values (sorts v in place). */
static inline double pm_bench_median(double *v, size_t n) {
  qsort(v, n, sizeof *v, pm_bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The q-quantile (0..1) of n values, nearest rank (sorts v in place). */
static inline double pm_bench_quantile(double *v, size_t n, double q) {
  if (!n)
    return 0;
  qsort(v, n, sizeof *v, pm_bench_cmp_double);
  size_t k = (size_t)(q * (double)n + 0.999999);
  return v[k ? (k > n ? n : k) - 1 : 0];
}

/* Where the development corpora are: $PM_SHARED_DATA, else ../shared/data
 * (relative to the repository, where `make bench` runs). */
static inline const char *pm_bench_shared_data(void) {
  const char *d = getenv("PM_SHARED_DATA");
  return d && *d ? d : "../shared/data";
}

/* DIR/NAME, malloc'd; exits on out of memory (a benchmark has no way on). */
static inline char *pm_bench_join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  if (!p) {
    fputs("bench: out of memory\n", stderr);
    exit(1);
  }
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Whether path is a directory: a missing corpus is skipped, not an error. */
static inline int pm_bench_is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Reads a whole file into a malloc'd buffer; exits with a message when it
 * cannot (a corpus that lists a file it cannot read is broken). */
static inline char *pm_bench_read(const char *path, size_t *len) {
  pm__buf b = {0};
  pm_error err;
  pm_error_clear(&err);
  if (pm__read_file(path, (size_t)64 << 20, &b, &err) != PM_OK) {
    fprintf(stderr, "bench: %s\n", pm_error_message(&err));
    exit(1);
  }
  *len = b.len;
  return pm__buf_steal(&b);
}

#endif
