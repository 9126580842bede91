/* Worker threads of a training run (see train/pipeline.h). */
#include "train/pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "common/buf.h"
#include "penmark/model.h"
#include "penmark/features.h"
#include "penmark/mail.h"

/* How far workers may run ahead of the writer, per worker. */
#define WINDOW_PER_THREAD 16
/* The longest sender name kept (an address is at most 320 bytes). */
#define MAX_SENDER 320

typedef struct {
  pm__item item;
  bool ready;
} slot;

typedef struct worker worker;

struct pm__pipeline {
  const pm__source *src;
  const pm_train_opts *opts;
  size_t window;
  slot *slots;
  pthread_mutex_t mu;
  pthread_cond_t filled, freed;
  size_t next;     /* next item a worker takes */
  size_t released; /* items the writer is done with: [0, released) */
  bool stop;
  uint32_t d;
  size_t nn;
  worker *workers;
  unsigned nworkers;
};

struct worker {
  pm__pipeline *p;
  pthread_t thread;
  bool started;
  pm_extractor *x;
  pm_features *f;
  pm_store *st; /* read-only: skips mails trained in earlier runs */
  pm__buf buf;
};

void pm__raw_fingerprint(const char *data, size_t len, pm_fingerprint *out) {
  XXH128_hash_t h = XXH3_128bits(data, len);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  memcpy(out->bytes, c.digest, 16);
  out->bytes[0] |= 0x80;
}

/* Message-ID, a NUL, the own text: what makes two copies the same mail. A
 * mail without a Message-ID is known by its bytes instead, so that two
 * different mails with the same short text ("Thanks!") stay two. */
static void content_fingerprint(const pm_mail *m, const pm_fingerprint *raw,
                                pm_fingerprint *out) {
  const char *id = pm_mail_message_id(m);
  if (!id[0]) {
    *out = *raw;
    out->bytes[0] &= 0x7f;
    return;
  }
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  XXH3_128bits_update(&st, id, strlen(id) + 1);
  size_t len;
  const char *t = pm_mail_own_text(m, &len);
  XXH3_128bits_update(&st, t, len);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&st));
  memcpy(out->bytes, c.digest, 16);
  out->bytes[0] &= 0x7f;
}

/* The calibration sample's key: from the own text alone, so that the sample
 * (and with it the model) depends on no header at all. */
static uint64_t text_key(const pm_mail *m) {
  size_t len;
  const char *t = pm_mail_own_text(m, &len);
  return XXH3_64bits(t, len);
}

static void reject(pm__item *it, pm_reject_reason r, const char *name,
                   const char *msg) {
  it->kind = PM__ITEM_REJECT;
  it->reason = r;
  size_t n = strlen(name) + strlen(msg) + 3;
  it->message = malloc(n);
  if (it->message)
    snprintf(it->message, n, "%s: %s", name, msg);
}

/* Memory ran out on item it (named name): see PM__ITEM_NOMEM. */
static void out_of_memory(pm__item *it, const char *name) {
  it->kind = PM__ITEM_NOMEM;
  free(it->message);
  it->message = strdup(name);
}

static bool valid_sender(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > MAX_SENDER)
    return false;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return false;
  return true;
}

/* Reads item i (named name) and parses it, unless its bytes were trained
 * before. NULL when there is no mail to extract: it says why. */
static pm_mail *read_mail(worker *w, size_t i, const char *name, pm__item *it) {
  pm__pipeline *p = w->p;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc =
      pm__source_read(p->src, i, p->opts->limits.max_bytes, &w->buf, &err);
  it->bytes = p->src->items[i].len;
  if (rc == PM_NOMEM) {
    out_of_memory(it, name);
    return NULL;
  }
  if (rc != PM_OK) {
    /* the message already names the file */
    it->kind = PM__ITEM_REJECT;
    it->reason = rc == PM_TOOBIG ? PM_REJECT_TOO_BIG : PM_REJECT_UNREADABLE;
    it->message = strdup(pm_error_message(&err));
    return NULL;
  }
  pm__raw_fingerprint(w->buf.data ? w->buf.data : "", w->buf.len, &it->raw);
  bool seen = false;
  if (w->st && pm_store_seen(w->st, &it->raw, &seen, NULL) == PM_OK && seen) {
    it->kind = PM__ITEM_SEEN;
    return NULL;
  }
  pm_mail *m = NULL;
  rc = pm_mail_parse(w->buf.data ? w->buf.data : "", w->buf.len,
                     &p->opts->limits, &m, &err);
  if (rc == PM_NOMEM) {
    out_of_memory(it, name);
    return NULL;
  }
  if (rc != PM_OK) {
    reject(it, rc == PM_TOOBIG ? PM_REJECT_TOO_BIG : PM_REJECT_NOT_MAIL, name,
           pm_error_message(&err));
    return NULL;
  }
  return m;
}

/* Reads, parses and extracts item i into it. */
static void process(worker *w, size_t i, pm__item *it) {
  pm__pipeline *p = w->p;
  char name[4200];
  pm__source_name(p->src, i, name, sizeof name);
  it->kind = PM__ITEM_TRAIN;
  it->message = NULL;
  it->sender = NULL;
  pm_mail *m = read_mail(w, i, name, it);
  if (!m)
    return;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc;
  char label[MAX_SENDER + 2];
  const char *sender = pm_mail_sender(m);
  if (p->opts->label_by_dir) {
    pm__source_label(p->src, i, label, sizeof label);
    sender = label;
  }
  if (!valid_sender(sender)) {
    reject(it, PM_REJECT_NO_SENDER, name,
           p->opts->label_by_dir ? "no usable directory name"
                                 : "no From: address");
    pm_mail_free(m);
    return;
  }
  size_t own;
  pm_mail_own_text(m, &own);
  if (own == 0) {
    reject(it, PM_REJECT_NO_TEXT, name,
           "no text of the sender's own (only quoted or forwarded text)");
    pm_mail_free(m);
    return;
  }
  content_fingerprint(m, &it->raw, &it->fp);
  it->sample_key = text_key(m);
  it->date = pm_mail_date(m);
  it->sender = strdup(sender); /* borrowed from the mail until it is freed */
  rc = pm_extract_mail(w->x, m, w->f, &err);
  pm_mail_free(m);
  if (rc != PM_OK || !it->sender) {
    bool nomem = rc == PM_NOMEM || !it->sender;
    free(it->sender);
    it->sender = NULL;
    if (nomem)
      out_of_memory(it, name);
    else
      reject(it, PM_REJECT_NOT_MAIL, name, pm_error_message(&err));
    return;
  }
  pm__model_vector(w->f, it->vec);
  it->chars = (uint32_t)pm_features_own_chars(w->f);
  memcpy(it->named, pm_features_named(w->f), p->nn * sizeof *it->named);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  pm__pipeline *p = w->p;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->next < p->src->n &&
           p->next >= p->released + p->window)
      pthread_cond_wait(&p->freed, &p->mu);
    if (p->stop || p->next >= p->src->n) {
      pthread_mutex_unlock(&p->mu);
      return NULL;
    }
    size_t i = p->next++;
    pthread_mutex_unlock(&p->mu);
    slot *s = &p->slots[i % p->window];
    process(w, i, &s->item);
    pthread_mutex_lock(&p->mu);
    s->ready = true;
    pthread_cond_broadcast(&p->filled);
    pthread_mutex_unlock(&p->mu);
  }
}

pm_status pm__pipeline_start(const pm__source *src, const pm_train_opts *opts,
                             unsigned threads, pm__pipeline **out,
                             pm_error *err) {
  *out = NULL;
  pm__pipeline *p = calloc(1, sizeof *p);
  if (!p)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  p->src = src;
  p->opts = opts;
  p->d = pm_config_vector_dim(opts->cfg);
  p->nn = pm_named_count();
  p->window = (size_t)threads * WINDOW_PER_THREAD;
  p->slots = calloc(p->window, sizeof *p->slots);
  p->workers = calloc(threads, sizeof *p->workers);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->filled, NULL);
  pthread_cond_init(&p->freed, NULL);
  pm_status rc = PM_OK;
  if (!p->slots || !p->workers)
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
  for (size_t k = 0; rc == PM_OK && k < p->window; k++) {
    p->slots[k].item.vec = malloc(p->d * sizeof(float));
    p->slots[k].item.named = malloc((p->nn ? p->nn : 1) * sizeof(float));
    if (!p->slots[k].item.vec || !p->slots[k].item.named)
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
  }
  for (unsigned k = 0; rc == PM_OK && k < threads; k++) {
    worker *w = &p->workers[k];
    w->p = p;
    p->nworkers = k + 1;
    rc = pm_extractor_new(opts->cfg, &w->x, err);
    if (rc == PM_OK && !(w->f = pm_features_new()))
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
    /* a store that does not exist yet has nothing seen: no handle needed */
    if (rc == PM_OK &&
        pm_store_open(opts->store_dir, opts->tenant, PM_STORE_READ, NULL, 0,
                      &w->st, NULL) != PM_OK)
      w->st = NULL;
  }
  for (unsigned k = 0; rc == PM_OK && k < threads; k++) {
    if (pthread_create(&p->workers[k].thread, NULL, worker_main,
                       &p->workers[k]) != 0)
      rc = pm_error_set(err, PM_INTERNAL, "cannot start a worker thread");
    else
      p->workers[k].started = true;
  }
  if (rc != PM_OK) {
    pm__pipeline_stop(p);
    return rc;
  }
  *out = p;
  return PM_OK;
}

pm__item *pm__pipeline_next(pm__pipeline *p, size_t i) {
  slot *s = &p->slots[i % p->window];
  pthread_mutex_lock(&p->mu);
  while (!s->ready)
    pthread_cond_wait(&p->filled, &p->mu);
  pthread_mutex_unlock(&p->mu);
  return &s->item;
}

void pm__pipeline_release(pm__pipeline *p, size_t i) {
  slot *s = &p->slots[i % p->window];
  free(s->item.message);
  free(s->item.sender);
  s->item.message = s->item.sender = NULL;
  pthread_mutex_lock(&p->mu);
  s->ready = false;
  p->released = i + 1;
  pthread_cond_broadcast(&p->freed);
  pthread_mutex_unlock(&p->mu);
}

void pm__pipeline_stop(pm__pipeline *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->freed);
  pthread_mutex_unlock(&p->mu);
  for (unsigned k = 0; k < p->nworkers; k++) {
    worker *w = &p->workers[k];
    if (w->started)
      pthread_join(w->thread, NULL);
    pm_extractor_free(w->x);
    pm_features_free(w->f);
    pm_store_close(w->st);
    pm__buf_free(&w->buf);
  }
  for (size_t k = 0; p->slots && k < p->window; k++) {
    free(p->slots[k].item.vec);
    free(p->slots[k].item.named);
    free(p->slots[k].item.message);
    free(p->slots[k].item.sender);
  }
  free(p->slots);
  free(p->workers);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->filled);
  pthread_cond_destroy(&p->freed);
  free(p);
}
