/* Per-worker scorers. A pm_scorer holds a MeCab tagger and an ICU break
 * iterator: never shared between threads. Each worker thread keeps its own,
 * made on its first request, one per feature configuration it has met (a
 * tenant built with another configuration needs another extractor), and
 * freed when the thread ends. */
#ifndef PM_SCORE_SERVE_WORKER_H
#define PM_SCORE_SERVE_WORKER_H

#include <pthread.h>

#include "score/serve/serve_tenants.h"

/* Creates the thread-specific key whose destructor frees a thread's
 * scorers. Delete it (pthread_key_delete) after the workers are gone. */
int pm__worker_key_create(pthread_key_t *key);

/* This thread's scorer for the configuration of snap's profiles, keeping
 * verdicts to flag_rate (0: the default); borrowed until the thread ends. */
pm_status pm__worker_scorer(pthread_key_t key, const pm__snap *snap,
                            double flag_rate, pm_scorer **out, pm_error *err);

#endif
