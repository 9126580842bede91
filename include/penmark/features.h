/* penmark: stylometric features of a mail's own text.
 *
 * An extractor turns own text (see mail.h) into a feature vector: hashed
 * families (character n-grams, words, syntax n-grams), each in its own slice,
 * weighted and L2-normalised, then a dense block of named features (function
 * words, punctuation, layout, case, lengths, Japanese habits) whose names and
 * plain-language labels a scorer can show.
 *
 * The vector is deterministic: the same text always gives the same vector,
 * bit for bit, on any IEEE-754 machine (no transcendental functions; sums in
 * a fixed order; no fused multiply-add).
 *
 * Threads: an extractor holds an ICU word break iterator and a MeCab tagger,
 * created once and reused; use one extractor per thread. A pm_features is a
 * reusable result buffer, also one per thread.
 */
#ifndef PENMARK_FEATURES_H
#define PENMARK_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/mail.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pm_extractor pm_extractor;
typedef struct pm_features pm_features;

typedef enum {
  PM_LANG_OTHER = 0,
  PM_LANG_EN,
  PM_LANG_JA,
  PM_LANG_MIXED
} pm_language;

/* "other", "en", "ja", "mixed". */
const char *pm_language_name(pm_language lang);

/* How a named feature's value reads (see features/named.h). */
typedef enum {
  PM_NK_SHARE,    /* 1 or 0 per mail */
  PM_NK_RATE,     /* per 1,000 characters */
  PM_NK_FRACTION, /* 0..1 within the mail */
  PM_NK_VALUE     /* a number */
} pm_named_kind;

/* The named features, the same for every configuration (a family that is
 * switched off keeps its places, at zero). Names and labels are static
 * strings. pm_named_count() is 0 only when the shipped lexicons could not be
 * loaded (then pm_extractor_new fails with PM_DICT). */
size_t pm_named_count(void);
const char *pm_named_name(size_t i);  /* "greeting:hi", "fw:the", ... */
const char *pm_named_label(size_t i); /* "greeting \"Hi\"", ... */
pm_named_kind pm_named_kind_of(size_t i);
pm_named_family pm_named_family_of(size_t i);
/* The index of a named feature, or -1. */
long pm_named_find(const char *name);
/* true for the features of the copyable surface: the greeting, the sign-off
 * and the signature block, read on the whole own text. An attacker copies
 * them for free, so the model never counts them as evidence that the
 * claimed sender wrote a mail; scoring reads them only as evidence against
 * (a habit the mail breaks). */
bool pm_named_is_surface(size_t i);
/* The choices among the surface features: PM_SURFACE_GREETING for the
 * greeting forms (one of them, or "none", is set per mail),
 * PM_SURFACE_SIGNOFF for the sign-off forms, PM_SURFACE_OTHER otherwise. */
typedef enum {
  PM_SURFACE_OTHER = 0,
  PM_SURFACE_GREETING,
  PM_SURFACE_SIGNOFF
} pm_surface_group;
pm_surface_group pm_named_surface_group(size_t i);

/* cfg is borrowed and must outlive the extractor. Fails with PM_DICT when
 * MeCab's dictionary or ICU's break iterator cannot be opened. *out is owned
 * by the caller: pm_extractor_free. */
pm_status pm_extractor_new(const pm_config *cfg, pm_extractor **out,
                           pm_error *err);
void pm_extractor_free(pm_extractor *x); /* NULL is a no-op */

/* A result buffer, owned by the caller: pm_features_free. NULL when out of
 * memory. */
pm_features *pm_features_new(void);
void pm_features_free(pm_features *f); /* NULL is a no-op */

/* Extracts the features of own text (UTF-8; invalid bytes are read as
 * U+FFFD) into out, replacing what it held. */
pm_status pm_extract_text(pm_extractor *x, const char *text, size_t len,
                          pm_features *out, pm_error *err);
/* The same on a parsed mail's own text. */
pm_status pm_extract_mail(pm_extractor *x, const pm_mail *mail,
                          pm_features *out, pm_error *err);

/* ---- the result (borrowed from f until the next extraction) ---- */
/* The full vector dimension (pm_config_vector_dim of the extractor's cfg). */
uint32_t pm_features_dim(const pm_features *f);
/* The hashed part, sparse: nnz entries, indices ascending, all below
 * pm_config_named_offset(cfg). */
size_t pm_features_nnz(const pm_features *f);
const uint32_t *pm_features_indices(const pm_features *f);
const float *pm_features_values(const pm_features *f);
/* The named block: pm_named_count() values. */
const float *pm_features_named(const pm_features *f);
/* The whole vector written dense into out (pm_features_dim floats). */
void pm_features_to_dense(const pm_features *f, float *out);

pm_language pm_features_language(const pm_features *f);
size_t pm_features_own_chars(const pm_features *f); /* code points */
size_t pm_features_words(const pm_features *f);

/* The copyable surface as the layout features read it, byte offsets into
 * the text last extracted (pm_extract_text's text, or the mail's own
 * text): the greeting line (without its line end; when the greeting opens
 * a line of more than six words, only its first clause, up to the first
 * comma, colon or exclamation mark) and the closing block (sign-off line,
 * or the bare name ending the mail, through the last non-blank character).
 * The greeting is one of the first three non-blank lines matching the
 * greeting lexicons (or a short "Name," / "田中様" line); the sign-off is
 * one of the last ten non-blank lines matching the sign-off lexicons. A
 * closing block never starts at or before the greeting. The text between
 * them, the body, is what the style families read; the surface itself is
 * read only by the greeting and sign-off features and the surface family. */
typedef struct {
  bool has_greeting, has_closing;
  size_t greeting_start, greeting_end;
  size_t closing_start, closing_end;
} pm_layout_surface;
void pm_features_surface(const pm_features *f,
                         pm_layout_surface *out); /* words and morphemes */

#ifdef __cplusplus
}
#endif
#endif
