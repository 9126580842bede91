/* LEB128 unsigned varints for the sparse blobs of train/: the gaps between
 * ascending indices of a folded vector are mostly under 128, one byte each
 * instead of four. */
#ifndef PM_TRAIN_VARINT_H
#define PM_TRAIN_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* Writes v at p, returns the bytes written (at most 10). */
static inline size_t pm__varint_put(unsigned char *p, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (unsigned char)v;
  return n;
}

/* The bytes pm__varint_put would write. */
static inline size_t pm__varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

/* Reads a varint from *p (not past end) and advances *p; 0 when truncated or
 * longer than 64 bits. */
static inline int pm__varint_get(const unsigned char **p,
                                 const unsigned char *end, uint64_t *v) {
  uint64_t r = 0;
  for (unsigned shift = 0; *p < end && shift < 64; shift += 7) {
    unsigned char b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return 1;
    }
  }
  return 0;
}

#endif
