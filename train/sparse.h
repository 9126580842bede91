/* The sparse vectors of the calibration samples and of the tenant's moments
 * in a blob: the nonzero count, the gaps between ascending indices as
 * varints (one byte for most), then the values.
 *
 * The values are coded losslessly by a table (PM__SPARSE_TABLE). A folded
 * vector holds few distinct values: most slots hold one n-gram of the mail,
 * so the same +-weight/norm of its family (about 80 distinct values in the
 * 700 nonzero slots of a mail of the sample corpus). The distinct float32
 * values are written once, in order of first use, and each slot gets a
 * varint code, one byte for most: about half the bytes of a float32 per
 * slot, and the same bits back, so that what is replayed from a blob (the
 * Gram matrix, the calibration) is what was trained. Blobs written before
 * carry a float32 per slot (PM__SPARSE_F32) and are read too.
 *
 * PM__SPARSE_TABLE: varint nnz, nnz varint gaps, varint nt (distinct
 * values; 0 only when nnz is 0), nt float32 values in order of first use,
 * then nnz varint codes: 0 for the table's next value (its first use), c > 0
 * for value c - 1 again. No codes when nt is nnz (every value distinct, each
 * the table's next), so a vector never takes more than a float32 per slot
 * and a varint. First uses are all coded 0, not as a run of ascending
 * indices that could read as digits or letters in the file.
 * PM__SPARSE_F32: varint nnz, nnz varint gaps, nnz float32 values.
 * Little-endian. */
#ifndef PM_TRAIN_SPARSE_H
#define PM_TRAIN_SPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PM__SPARSE_F32, PM__SPARSE_TABLE } pm__sparse_coding;

/* Bytes pm__sparse_put writes for this vector (nnz ascending indices and
 * their values); 0 when out of memory. */
size_t pm__sparse_len(const uint32_t *idx, const float *val, uint32_t nnz);
/* Writes the vector at p (PM__SPARSE_TABLE); returns the bytes written, 0
 * when out of memory (nothing usable written). */
size_t pm__sparse_put(unsigned char *p, const uint32_t *idx, const float *val,
                      uint32_t nnz);
/* Reads a vector of dimension d, written with `coding`, from *p (not past
 * end) into freshly allocated *idx and *val (freed by the caller, also on
 * failure) and advances *p. false when damaged (indices not ascending or
 * past d, codes out of the table, truncated) or out of memory (*oom set). */
bool pm__sparse_get(const unsigned char **p, const unsigned char *end,
                    uint32_t d, pm__sparse_coding coding, uint32_t *nnz,
                    uint32_t **idx, float **val, bool *oom);

#endif
