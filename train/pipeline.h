/* The extraction side of a training run: worker threads that read, parse
 * and extract mail by index, and hand results to the single writer in input
 * order through a bounded window. Each worker has its own extractor and its
 * own read-only store handle (to skip mails trained in earlier runs without
 * extracting them). */
#ifndef PM_TRAIN_PIPELINE_H
#define PM_TRAIN_PIPELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "penmark/config.h"
#include "penmark/store.h"
#include "penmark/train.h"
#include "train/source.h"

typedef enum {
  PM__ITEM_TRAIN = 0, /* a mail to train */
  PM__ITEM_REJECT,    /* could not be used: reason and message */
  PM__ITEM_SEEN,      /* trained in an earlier run (raw bytes seen) */
  PM__ITEM_NOMEM      /* memory ran out on the way: not the mail's fault,
                         so the run fails rather than count it rejected
                         (message: the mail's name, may be NULL) */
} pm__item_kind;

typedef struct {
  pm__item_kind kind;
  pm_reject_reason reason;
  char *message;       /* for rejections: "name: problem", owned */
  char *sender;        /* owned */
  pm_fingerprint fp;   /* of Message-ID and own text */
  pm_fingerprint raw;  /* of the raw bytes */
  uint64_t sample_key; /* of the own text: orders the calibration sample */
  int64_t date;
  uint32_t chars; /* own text, characters */
  uint64_t bytes;
  float *vec;   /* model vector, d floats (owned, reused) */
  float *named; /* raw named values, n_named floats (owned, reused) */
} pm__item;

typedef struct pm__pipeline pm__pipeline;

/* Starts `threads` workers over src. Fails when an extractor or a store
 * handle cannot be made (message in err). */
pm_status pm__pipeline_start(const pm__source *src, const pm_train_opts *opts,
                             unsigned threads, pm__pipeline **out,
                             pm_error *err);

/* The result for item i, in order (blocks until a worker has it). Borrowed
 * until pm__pipeline_release(p, i). */
pm__item *pm__pipeline_next(pm__pipeline *p, size_t i);
void pm__pipeline_release(pm__pipeline *p, size_t i);

/* Stops and joins the workers, frees everything. */
void pm__pipeline_stop(pm__pipeline *p);

/* The fingerprint of raw bytes: marked apart from content fingerprints (top
 * bit of the first byte set) in the same table. */
void pm__raw_fingerprint(const char *data, size_t len, pm_fingerprint *out);

#endif
