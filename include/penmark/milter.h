/* penmark: the header values the mail-flow integrations (the milter) add.
 *
 * Pure text work, no libmilter: the milter command builds its headers with
 * these, and tests check them without a mail server. Every value written is
 * 7-bit ASCII, as RFC 5322 header values must be; reason texts that are not
 * ASCII are RFC 2047 encoded (UTF-8, base64 words).
 */
#ifndef PENMARK_MILTER_H
#define PENMARK_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "penmark/score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The prefix of every header penmark adds; incoming ones are removed. */
#define PM_MILTER_HEADER_PREFIX "X-Penmark-"

/* True when a header name starts with X-Penmark- (any case). */
bool pm_milter_is_own_header(const char *name);

/* X-Penmark-Verdict value: "<verdict>; p=<prob>; tenant=<t>" (tenant
 * omitted when NULL). Written into buf (cap bytes, always NUL-terminated). */
void pm_milter_verdict_value(const pm_score_result *r, const char *tenant,
                             char *buf, size_t cap);

/* X-Penmark-Verdict value for a mail that could not be scored:
 * "error; <why>" with non-ASCII and control bytes replaced by '?'. */
void pm_milter_error_value(const char *why, char *buf, size_t cap);

/* X-Penmark-Reasons value: the reason texts joined by "; ", each RFC 2047
 * encoded when not ASCII, folded between words. "" when there are none. */
void pm_milter_reasons_value(const pm_score_result *r, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
