/* penmark: writing-style verification of mail senders.
 *
 * The umbrella header: every module's API, the version, and the process-wide
 * shutdown. Modules: error (codes), config (feature configuration), mail
 * (MIME to own text), features (style vectors), store (per-tenant SQLite),
 * train (profiles), score (verdicts and reasons), eval (EVAL protocol),
 * serve (the daemon).
 */
#ifndef PENMARK_H
#define PENMARK_H

#include "penmark/config.h"
#include "penmark/error.h"
#include "penmark/eval.h"
#include "penmark/features.h"
#include "penmark/mail.h"
#include "penmark/score.h"
#include "penmark/serve.h"
#include "penmark/store.h"
#include "penmark/train.h"

#define PM_VERSION "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Releases process-wide state (MIME library, ICU, lexicons) for clean leak
 * reports at exit. Call once, last, when no penmark object is in use. */
void pm_library_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
