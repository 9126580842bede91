/* An LD_PRELOAD library that makes one allocation fail, for the fault
 * tests (tests/integration/test_faults.c).
 *
 *   PM_FAIL_ALLOC=N      the N-th counted allocation returns NULL (ENOMEM);
 *                        0 or unset: none fails
 *   PM_FAIL_ALLOC_FROM=1 with N: every counted allocation from the N-th on
 *                        fails (memory that stays gone)
 *   PM_FAIL_ALLOC_COUNT=PATH  at exit, the number of counted allocations is
 *                        written to PATH (to size a sweep)
 *
 * Counted are the malloc, calloc and realloc calls made directly from the
 * program itself (penmark and the library linked into it), not those made
 * inside shared libraries: GLib, which GMime uses, aborts by design when an
 * allocation fails (g_malloc), and that is not penmark's to handle. The
 * real allocator is glibc's, reached through its __libc_ names so that
 * nothing here allocates; in a program built with AddressSanitizer it is
 * the sanitizer's (its __interceptor_ names), so that LeakSanitizer still
 * sees every allocation and reports what a failing run leaks. There the
 * library must come before the sanitizer's runtime:
 *   LD_PRELOAD=failmalloc.so ASAN_OPTIONS=verify_asan_link_order=0 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t m);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
/* AddressSanitizer's allocator (GCC's libasan), when the program has it */
void *__interceptor_malloc(size_t n) __attribute__((weak));
void *__interceptor_calloc(size_t n, size_t m) __attribute__((weak));
void *__interceptor_realloc(void *p, size_t n) __attribute__((weak));
void __interceptor_free(void *p) __attribute__((weak));

static uintptr_t exe_lo, exe_hi; /* the program's loaded segments */
static unsigned long fail_at;
static int fail_from;
static atomic_ulong counted;
static const char *count_path;

static int find_exe(struct dl_phdr_info *info, size_t size, void *ctx) {
  (void)size;
  (void)ctx;
  /* the first object is the program itself */
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD)
      continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (!exe_lo || lo < exe_lo)
      exe_lo = lo;
    if (hi > exe_hi)
      exe_hi = hi;
  }
  return 1;
}

static void write_count(void) {
  if (!count_path)
    return;
  int fd = open(count_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lu\n", atomic_load(&counted));
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
  close(fd);
}

__attribute__((constructor)) static void init(void) {
  dl_iterate_phdr(find_exe, NULL);
  const char *s = getenv("PM_FAIL_ALLOC");
  fail_at = s ? strtoul(s, NULL, 10) : 0;
  s = getenv("PM_FAIL_ALLOC_FROM");
  fail_from = s && *s == '1';
  count_path = getenv("PM_FAIL_ALLOC_COUNT");
  atexit(write_count);
}

/* Whether this call (made from `caller`) is to fail. */
static int should_fail(void *caller) {
  uintptr_t a = (uintptr_t)caller;
  if (!exe_hi || a < exe_lo || a >= exe_hi)
    return 0;
  unsigned long k = atomic_fetch_add(&counted, 1) + 1;
  if (!fail_at)
    return 0;
  return fail_from ? k >= fail_at : k == fail_at;
}

void *malloc(size_t n) {
  if (should_fail(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n);
}

void *calloc(size_t n, size_t m) {
  if (should_fail(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __interceptor_calloc ? __interceptor_calloc(n, m)
                              : __libc_calloc(n, m);
}

void *realloc(void *p, size_t n) {
  if (n && should_fail(__builtin_return_address(0))) {
    errno = ENOMEM;
    return NULL;
  }
  return __interceptor_realloc ? __interceptor_realloc(p, n)
                               : __libc_realloc(p, n);
}

void free(void *p) {
  if (__interceptor_free)
    __interceptor_free(p);
  else
    __libc_free(p);
}
