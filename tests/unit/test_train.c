/* Training through the library: pm_train into a temporary store, the
 * store's rows and blobs, and what the store keeps of the mail (privacy).
 * Scoring has its suite in test_score.c.
 *
 * The sample corpus (data/sample/corpus) is trained once with the default
 * configuration (the small one below under valgrind), in the parent
 * process (an unchecked fixture), for the accuracy, verdict and privacy
 * checks. Everything else trains its own
 * store with a small configuration (short hashed slices), which keeps the
 * profile computation cheap: those tests are about counting, idempotence,
 * incremental sums and refusals, not accuracy. Generated mails are
 * fictional. */
#include "penmark/penmark.h"
#include "penmark/score.h"
#include "penmark/train.h"

#include "penmark/model.h"

#include "tests/support.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The same with another char_ngrams dimension. */
#define OTHER_CONFIG                                                           \
  "{\"families\":{\"char_ngrams\":{\"dim\":512},\"words\":{\"dim\":128},"      \
  "\"syntax\":{\"dim\":64}}}"

/* ---- small helpers ---- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void write_str(const char *path, const char *text) {
  pm_test_write_file(path, text, strlen(text));
}

static void make_dir(const char *path) {
  ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

/* The sample corpus: sender directories and, per sender, its files. */
typedef struct {
  char *root;
  pm_test_strlist senders;   /* directory names */
  pm_test_strlist files[16]; /* full paths, per sender */
  size_t total;              /* files */
  unsigned long long bytes;
} corpus;

static void corpus_load(corpus *c) {
  memset(c, 0, sizeof *c);
  c->root = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  pm_test_list_dir(c->root, &c->senders);
  ck_assert_uint_eq(c->senders.n, 6);
  for (size_t s = 0; s < c->senders.n; s++) {
    char *dir = pm_test_fmt("%s/%s", c->root, c->senders.v[s]);
    pm_test_strlist names = {0};
    pm_test_list_dir(dir, &names);
    ck_assert_uint_ge(names.n, 20);
    for (size_t i = 0; i < names.n; i++) {
      char *p = pm_test_fmt("%s/%s", dir, names.v[i]);
      struct stat st;
      ck_assert_int_eq(stat(p, &st), 0);
      c->bytes += (unsigned long long)st.st_size;
      pm_test_strlist_push(&c->files[s], p);
    }
    c->total += names.n;
    pm_test_strlist_free(&names);
    free(dir);
  }
}

static void corpus_free(corpus *c) {
  for (size_t s = 0; s < c->senders.n; s++)
    pm_test_strlist_free(&c->files[s]);
  pm_test_strlist_free(&c->senders);
  free(c->root);
}

/* The sample corpus's folders are named by their senders' addresses. */
static char *address_of(const char *dir) {
  return pm_test_fmt("%s", dir);
}

/* pm_train that must succeed; the summary is the caller's to free. */
static void train_ok(const pm_train_opts *o, const char *const *inputs,
                     size_t n, pm_train_summary *sum) {
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_train(o, inputs, n, sum, &err);
  ck_assert_msg(rc == PM_OK, "pm_train: %s (%s)", pm_strerror(rc),
                pm_error_message(&err));
  ck_assert_uint_eq(sum->mails_read, sum->mails_trained + sum->mails_duplicate +
                                         sum->mails_rejected);
}

/* The blob of `kind` owned by `address` (NULL: the tenant), malloc'd; NULL
 * when there is none. */
static void *get_blob(pm_store *st, const char *kind, const char *address,
                      size_t *len) {
  int64_t owner = 0;
  pm_error err;
  if (address) {
    pm_status rc = pm_store_sender_id(st, address, false, &owner, &err);
    ck_assert_msg(rc == PM_OK, "sender %s: %s", address,
                  pm_error_message(&err));
  }
  void *data = NULL;
  pm_status rc = pm_store_get(st, kind, owner, &data, len, &err);
  if (rc == PM_NOTFOUND)
    return NULL;
  ck_assert_msg(rc == PM_OK, "get %s/%lld: %s", kind, (long long)owner,
                pm_error_message(&err));
  return data;
}

static bool blobs_equal(pm_store *a, pm_store *b, const char *kind,
                        const char *address) {
  size_t la = 0, lb = 0;
  void *x = get_blob(a, kind, address, &la);
  void *y = get_blob(b, kind, address, &lb);
  ck_assert_msg(x && y, "%s of %s missing", kind, address ? address : "-");
  bool eq = la == lb && memcmp(x, y, la) == 0;
  free(x);
  free(y);
  return eq;
}

static void write_mail(const char *path, const char *from, const char *msgid,
                       const char *body) {
  char *t =
      pm_test_mail_text(from, msgid, "Mon, 02 Mar 2026 09:15:00 +0000", body);
  write_str(path, t);
  free(t);
}

/* Whether an example message names `what`. */
static bool examples_name(const pm_train_summary *s, const char *what) {
  for (size_t i = 0; i < s->n_examples; i++)
    if (strstr(s->examples[i], what))
      return true;
  return false;
}

/* ---- the sample corpus, trained once with the default configuration ---- */

START_TEST(sample_summary) {
  pm_test_need_sample();
  corpus c;
  corpus_load(&c);
  ck_assert_uint_eq(pm_test_sample_sum.mails_read, c.total);
  ck_assert_uint_eq(pm_test_sample_sum.mails_trained +
                        pm_test_sample_sum.mails_duplicate +
                        pm_test_sample_sum.mails_rejected,
                    pm_test_sample_sum.mails_read);
  /* the corpus is clean: every mail is trained, none is a copy */
  ck_assert_uint_eq(pm_test_sample_sum.mails_trained, c.total);
  ck_assert_uint_eq(pm_test_sample_sum.mails_rejected, 0);
  ck_assert_uint_eq(pm_test_sample_sum.n_examples, 0);
  ck_assert_uint_eq(pm_test_sample_sum.input_errors, 0);
  ck_assert_uint_eq(pm_test_sample_sum.bytes_read, c.bytes);
  ck_assert_uint_eq(pm_test_sample_sum.senders, 6);
  ck_assert_uint_eq(pm_test_sample_sum.senders_ready, 6);
  ck_assert_uint_eq(pm_test_sample_sum.senders_updated, 6);

  /* the rows agree: one per sender, with that sender's number of files */
  pm_store *st = pm_test_open_read(pm_test_sample_store, "demo");
  pm_store_sender *list = NULL;
  size_t n = 0;
  pm_error err;
  ck_assert_int_eq(pm_store_senders(st, &list, &n, &err), PM_OK);
  ck_assert_uint_eq(n, 6);
  for (size_t s = 0; s < n; s++) {
    char *addr = address_of(c.senders.v[s]);
    ck_assert_str_eq(list[s].address, addr);
    ck_assert_int_eq(list[s].mails, (int64_t)c.files[s].n);
    ck_assert(list[s].ready);
    ck_assert_int_gt(list[s].first_date, 0);
    ck_assert_int_ge(list[s].last_date, list[s].first_date);
    ck_assert_int_gt(list[s].last_trained, 0);
    free(addr);
  }
  pm_store_senders_free(list, n);
  int64_t seen = 0;
  ck_assert_int_eq(pm_store_count_seen(st, &seen, &err), PM_OK);
  ck_assert_int_ge(seen, (int64_t)c.total);
  ck_assert_int_eq(pm_store_verify(st, &err), PM_OK);
  pm_store_close(st);
  corpus_free(&c);
}
END_TEST

/* ---- privacy: no word of the training mail in the store file ---- */

static char *lower_dup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  ck_assert_ptr_nonnull(d);
  for (size_t i = 0; i < n; i++)
    d[i] = (char)tolower((unsigned char)s[i]);
  d[n] = '\0';
  return d;
}

/* A CJK character at p (3-byte UTF-8, U+3040..U+9FFF: kana and kanji, not
 * the CJK punctuation of U+3000..U+303F). */
static bool cjk_at(const unsigned char *p, const unsigned char *end) {
  return end - p >= 3 && p[0] >= 0xE3 && p[0] <= 0xE9 &&
         (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80 &&
         !(p[0] == 0xE3 && p[1] == 0x80);
}

/* Calls fn on every word of buf: maximal runs of 6 or more ASCII letters
 * (lower-cased) and maximal runs of 4 or more CJK characters. Stops and
 * returns the word when fn returns true. */
typedef bool (*word_fn)(const char *w, void *ctx);
static char *each_word(const char *buf, size_t len, word_fn fn, void *ctx) {
  const unsigned char *p = (const unsigned char *)buf, *end = p + len;
  char w[1024];
  while (p < end) {
    const unsigned char *q = p;
    size_t n = 0;
    if (isalpha(*p)) {
      while (q < end && isalpha(*q))
        q++;
      n = (size_t)(q - p);
      if (n < 6)
        n = 0;
      for (size_t i = 0; n && i < n && i < sizeof w; i++)
        w[i] = (char)tolower(p[i]);
    } else if (cjk_at(p, end)) {
      while (cjk_at(q, end))
        q += 3;
      n = (size_t)(q - p);
      if (n < 12)
        n = 0;
      if (n && n < sizeof w)
        memcpy(w, p, n);
    } else {
      q = p + 1;
    }
    if (n && n < sizeof w) {
      w[n] = '\0';
      if (fn(w, ctx))
        return strdup(w);
    }
    p = q;
  }
  return NULL;
}

/* Collects new words of a mail into a list, at most two per mail. */
typedef struct {
  pm_test_strlist *words;
  int taken;
} collect;

static bool collect_word(const char *w, void *ctx) {
  collect *c = ctx;
  for (size_t i = 0; i < c->words->n; i++)
    if (strcmp(c->words->v[i], w) == 0)
      return false;
  pm_test_strlist_push(c->words, strdup(w));
  return ++c->taken >= 2;
}

static bool in_sorted(const char *w, void *ctx) {
  const pm_test_strlist *l = ctx;
  return bsearch(&w, l->v, l->n, sizeof *l->v, cmp_str) != NULL;
}

START_TEST(sample_privacy) {
  pm_test_need_sample();
  corpus c;
  corpus_load(&c);
  /* what any trained store holds anyway (schema, configuration JSON, meta
   * keys, blob kinds) is not mail text: a store trained on two other
   * mails shows it */
  char *empty_dir = pm_test_fmt("%s/baseline", pm_test_sample_root);
  char *mails = pm_test_fmt("%s/baseline-mail", pm_test_sample_root);
  ck_assert_int_eq(mkdir(mails, 0755), 0);
  char *m1 = pm_test_fmt("%s/1.eml", mails),
       *m2 = pm_test_fmt("%s/2.eml", mails);
  write_mail(m1, "Ann Lee <ann.lee@example.org>", "b1@example.org",
             "Hi,\n\nThe printer is fixed.\n\nAnn\n");
  write_mail(m2, "Bo Ng <bo.ng@example.org>", "b2@example.org",
             "Hello,\n\nSee you at ten.\n\nBo\n");
  pm_config *cfg = pm_test_small_config();
  pm_train_opts o;
  pm_test_train_opts(&o, empty_dir, "demo", cfg);
  o.min_mails = 1;
  const char *binputs[] = {mails};
  pm_train_summary bsum;
  train_ok(&o, binputs, 1, &bsum);
  ck_assert_uint_eq(bsum.mails_trained, 2);
  pm_train_summary_free(&bsum);
  pm_error err;
  char *empty_path = pm_test_fmt("%s/demo.db", empty_dir);
  char *empty_wal = pm_test_fmt("%s/demo.db-wal", empty_dir);
  size_t elen, ewlen = 0;
  char *empty = pm_test_slurp(empty_path, &elen);
  ck_assert_ptr_nonnull(empty);
  char *ewal = pm_test_slurp(empty_wal, &ewlen);
  if (ewal) {
    empty = realloc(empty, elen + ewlen + 1);
    ck_assert_ptr_nonnull(empty);
    memcpy(empty + elen, ewal, ewlen + 1);
    elen += ewlen;
    free(ewal);
  }
  char *empty_lc = lower_dup(empty, elen);

  /* two words from the own text of every training mail, but none that a
   * store holds anyway: in an address, a display name, the schema */
  pm_test_strlist words = {0}, names = {0};
  for (size_t s = 0; s < c.senders.n; s++)
    for (size_t i = 0; i < c.files[s].n; i++) {
      size_t len;
      char *raw = pm_test_slurp(c.files[s].v[i], &len);
      pm_mail *m = NULL;
      ck_assert_int_eq(pm_mail_parse(raw, len, NULL, &m, &err), PM_OK);
      const char *sender = pm_mail_sender(m);
      const char *display = pm_mail_display_name(m);
      pm_test_strlist_push(&names, lower_dup(sender, strlen(sender)));
      pm_test_strlist_push(&names, lower_dup(display, strlen(display)));
      collect col = {&words, 0};
      size_t tlen;
      const char *text = pm_mail_own_text(m, &tlen);
      free(each_word(text, tlen, collect_word, &col));
      pm_mail_free(m);
      free(raw);
    }
  pm_test_strlist chosen = {0};
  for (size_t i = 0; i < words.n; i++) {
    const char *w = words.v[i];
    bool skip = memmem(empty_lc, elen, w, strlen(w)) != NULL;
    for (size_t k = 0; !skip && k < names.n; k++)
      skip = strstr(names.v[k], w) != NULL;
    if (!skip)
      pm_test_strlist_push(&chosen, strdup(w));
  }
  ck_assert_msg(chosen.n >= 100, "only %zu distinctive words found", chosen.n);
  qsort(chosen.v, chosen.n, sizeof *chosen.v, cmp_str);

  /* the store's bytes: the file and its write-ahead log, each scanned once
   * for any of the words */
  char *db = pm_test_fmt("%s/demo.db", pm_test_sample_store),
       *wal = pm_test_fmt("%s/demo.db-wal", pm_test_sample_store);
  size_t dlen = 0, wlen = 0;
  char *dbytes = pm_test_slurp(db, &dlen), *wbytes = pm_test_slurp(wal, &wlen);
  ck_assert_ptr_nonnull(dbytes);
  /* the file is read right: the addresses are in it, as they should be */
  static const char addr[] = "dana.whitfield@harborpine.example";
  ck_assert_msg(memmem(dbytes, dlen, addr, sizeof addr - 1) ||
                    (wbytes && memmem(wbytes, wlen, addr, sizeof addr - 1)),
                "the sender address is not in the store: bad read?");
  char *hit = each_word(dbytes, dlen, in_sorted, &chosen);
  ck_assert_msg(hit == NULL, "\"%s\" from a training mail is in %s", hit, db);
  if (wbytes) {
    hit = each_word(wbytes, wlen, in_sorted, &chosen);
    ck_assert_msg(hit == NULL, "\"%s\" from a training mail is in %s", hit,
                  wal);
  }
  free(dbytes);
  free(wbytes);
  free(db);
  free(wal);
  pm_test_strlist_free(&chosen);
  pm_test_strlist_free(&words);
  pm_test_strlist_free(&names);
  free(empty);
  free(empty_lc);
  free(empty_path);
  free(empty_wal);
  free(m1);
  free(m2);
  free(mails);
  pm_config_free(cfg);
  free(empty_dir);
  corpus_free(&c);
}
END_TEST

/* ---- tests with their own store (small configuration) ---- */

static char *dir;

static void setup(void) {
  dir = pm_test_tmpdir();
}

static void teardown(void) {
  pm_test_rmtree(dir);
  free(dir);
  dir = NULL;
}

START_TEST(idempotent) {
  pm_config *cfg = pm_test_small_config();
  char *store = pm_test_fmt("%s/store", dir);
  char *in = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  const char *inputs[] = {in};
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  pm_train_summary s1, s2, s3;
  /* the corpus given twice in one run: its second copy is all
   * duplicates */
  const char *twice[] = {in, in};
  train_ok(&o, twice, 2, &s1);
  ck_assert_uint_eq(s1.mails_trained, s1.mails_duplicate);
  ck_assert_uint_eq(s1.mails_read, 2 * s1.mails_trained);
  ck_assert_uint_gt(s1.mails_trained, 200);
  pm_store *st = pm_test_open_read(store, "acme");
  size_t mlen1;
  void *model1 = get_blob(st, "model", NULL, &mlen1);
  void *sstat1 = NULL;
  size_t slen1;
  sstat1 = get_blob(st, "sstat", "tomas.reyes@harborpine.example", &slen1);
  ck_assert_ptr_nonnull(model1);
  ck_assert_ptr_nonnull(sstat1);
  pm_store_close(st);

  /* the same input again: nothing new */
  train_ok(&o, inputs, 1, &s2);
  ck_assert_uint_eq(s2.mails_read, s1.mails_trained);
  ck_assert_uint_eq(s2.mails_trained, 0);
  ck_assert_uint_eq(s2.mails_duplicate, s2.mails_read);
  ck_assert_uint_eq(s2.senders, 6);
  ck_assert_uint_eq(s2.senders_ready, 6);
  ck_assert_uint_eq(s2.senders_updated, 0);

  /* the same mail in other bytes (an added header): still a duplicate */
  char *copy = pm_test_fmt("%s/copy.eml", dir);
  char *orig =
      pm_test_fmt("%s/sample/corpus/tomas.reyes@harborpine.example/0003.eml",
                  pm_test_data_dir());
  size_t olen;
  char *obytes = pm_test_slurp(orig, &olen);
  ck_assert_ptr_nonnull(obytes);
  char *changed = pm_test_fmt("X-Archived-By: mailstore 4.2\n%s", obytes);
  write_str(copy, changed);
  const char *copy_in[] = {copy};
  train_ok(&o, copy_in, 1, &s3);
  ck_assert_uint_eq(s3.mails_read, 1);
  ck_assert_uint_eq(s3.mails_trained, 0);
  ck_assert_uint_eq(s3.mails_duplicate, 1);

  st = pm_test_open_read(store, "acme");
  size_t mlen2, slen2;
  void *model2 = get_blob(st, "model", NULL, &mlen2);
  void *sstat2 =
      get_blob(st, "sstat", "tomas.reyes@harborpine.example", &slen2);
  ck_assert_uint_eq(mlen2, mlen1);
  ck_assert_msg(memcmp(model1, model2, mlen1) == 0,
                "a run of mail trained before changed the published model");
  ck_assert_uint_eq(slen2, slen1);
  ck_assert(memcmp(sstat1, sstat2, slen1) == 0);
  pm_store_sender snd;
  pm_error err;
  ck_assert_int_eq(
      pm_store_sender_get(st, "tomas.reyes@harborpine.example", &snd, &err),
      PM_OK);
  ck_assert_int_eq(snd.mails, 38);
  free(snd.address);
  pm_store_close(st);
  free(model1);
  free(model2);
  free(sstat1);
  free(sstat2);
  free(changed);
  free(obytes);
  free(orig);
  free(copy);
  pm_train_summary_free(&s1);
  pm_train_summary_free(&s2);
  pm_train_summary_free(&s3);
  free(in);
  free(store);
  pm_config_free(cfg);
}
END_TEST

static void expect_stats_close(pm_store *a, pm_store *b, const char *addr,
                               uint32_t dim, uint32_t sq_off) {
  size_t la, lb;
  void *x = get_blob(a, "sstat", addr, &la);
  void *y = get_blob(b, "sstat", addr, &lb);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  pm__stats sa, sb;
  pm_error err;
  ck_assert_int_eq(pm__stats_decode(x, la, dim, sq_off, &sa, &err), PM_OK);
  ck_assert_int_eq(pm__stats_decode(y, lb, dim, sq_off, &sb, &err), PM_OK);
  ck_assert_uint_eq(sa.n, sb.n);
  for (uint32_t j = 0; j < dim; j++) {
    double u = sa.sum[j], v = sb.sum[j];
    ck_assert_msg(fabs(u - v) <= 1e-4 * (fabs(u) + fabs(v)) + 1e-6,
                  "%s: sum[%u] %.9g vs %.9g", addr, j, u, v);
  }
  for (uint32_t j = 0; j < dim - sq_off; j++) {
    double u = sa.sumsq[j], v = sb.sumsq[j];
    ck_assert_msg(fabs(u - v) <= 1e-4 * (fabs(u) + fabs(v)) + 1e-6,
                  "%s: sumsq[%u] %.9g vs %.9g", addr, j, u, v);
  }
  pm__stats_free(&sa);
  pm__stats_free(&sb);
  free(x);
  free(y);
}

START_TEST(incremental_equals_batch) {
  pm_config *cfg = pm_test_small_config();
  corpus c;
  corpus_load(&c);
  /* A: each sender's odd files, B: the even ones */
  pm_test_strlist a = {0}, b = {0};
  for (size_t s = 0; s < c.senders.n; s++)
    for (size_t i = 0; i < c.files[s].n; i++)
      pm_test_strlist_push(i % 2 ? &a : &b, strdup(c.files[s].v[i]));
  pm_test_strlist ab = {0};
  for (size_t i = 0; i < a.n; i++)
    pm_test_strlist_push(&ab, strdup(a.v[i]));
  for (size_t i = 0; i < b.n; i++)
    pm_test_strlist_push(&ab, strdup(b.v[i]));

  char *s1 = pm_test_fmt("%s/one", dir), *s2 = pm_test_fmt("%s/two", dir);
  pm_train_opts o1, o2;
  pm_test_train_opts(&o1, s1, "acme", cfg);
  pm_test_train_opts(&o2, s2, "acme", cfg);
  pm_train_summary ra, rb, rab;
  train_ok(&o1, (const char *const *)a.v, a.n, &ra);
  train_ok(&o1, (const char *const *)b.v, b.n, &rb);
  train_ok(&o2, (const char *const *)ab.v, ab.n, &rab);
  ck_assert_uint_eq(ra.mails_trained, a.n);
  ck_assert_uint_eq(rb.mails_trained, b.n);
  ck_assert_uint_eq(rab.mails_trained, c.total);
  ck_assert_uint_eq(rb.senders_ready, 6);
  ck_assert_uint_eq(rab.senders_ready, 6);

  pm_store *st1 = pm_test_open_read(s1, "acme"),
           *st2 = pm_test_open_read(s2, "acme");
  uint32_t d = pm_config_vector_dim(cfg);
  uint32_t dim = d + (uint32_t)pm_named_count();
  for (size_t s = 0; s < c.senders.n; s++) {
    char *addr = address_of(c.senders.v[s]);
    pm_store_sender x, y;
    pm_error err;
    ck_assert_int_eq(pm_store_sender_get(st1, addr, &x, &err), PM_OK);
    ck_assert_int_eq(pm_store_sender_get(st2, addr, &y, &err), PM_OK);
    ck_assert_int_eq(x.mails, (int64_t)c.files[s].n);
    ck_assert_int_eq(x.mails, y.mails);
    ck_assert_int_eq(x.first_date, y.first_date);
    ck_assert_int_eq(x.last_date, y.last_date);
    ck_assert_int_eq(x.ready, y.ready);
    free(x.address);
    free(y.address);
    expect_stats_close(st1, st2, addr, dim, d);
    ck_assert_msg(blobs_equal(st1, st2, "sample", addr),
                  "%s: the calibration sample depends on the order", addr);
    free(addr);
  }
  pm_store_close(st1);
  pm_store_close(st2);

  pm_test_model m1, m2;
  pm_test_model_open(s1, "acme", &m1);
  pm_test_model_open(s2, "acme", &m2);
  ck_assert_double_eq_tol(pm_profiles_threshold(m1.p),
                          pm_profiles_threshold(m2.p), 1e-3);
  pm_test_strlist in = {0};
  pm_test_inbound_files(&in);
  for (size_t i = 0; i < in.n; i++) {
    pm_score_result r1, r2;
    pm_test_score_file(&m1, in.v[i], NULL, &r1);
    pm_test_score_file(&m2, in.v[i], NULL, &r2);
    ck_assert_msg(fabs(r1.probability - r2.probability) <= 1e-3,
                  "%s: %.6f incremental vs %.6f at once", in.v[i],
                  r1.probability, r2.probability);
    /* the normalised score too: it moves even where the probability is
     * pinned near 0 or 1 */
    ck_assert_msg(fabs(r1.score - r2.score) <= 1e-3,
                  "%s: score %.6f incremental vs %.6f at once", in.v[i],
                  r1.score, r2.score);
    ck_assert_uint_eq(r1.profile_mails, r2.profile_mails);
  }
  pm_test_strlist_free(&in);
  pm_test_model_close(&m1);
  pm_test_model_close(&m2);
  pm_train_summary_free(&ra);
  pm_train_summary_free(&rb);
  pm_train_summary_free(&rab);
  free(s1);
  free(s2);
  pm_test_strlist_free(&a);
  pm_test_strlist_free(&b);
  pm_test_strlist_free(&ab);
  corpus_free(&c);
  pm_config_free(cfg);
}
END_TEST

START_TEST(threads_same_result) {
  pm_config *cfg = pm_test_small_config();
  corpus c;
  corpus_load(&c);
  char *in = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  const char *inputs[] = {in};
  char *s1 = pm_test_fmt("%s/t1", dir), *s2 = pm_test_fmt("%s/t2", dir);
  pm_train_opts o1, o2;
  pm_test_train_opts(&o1, s1, "acme", cfg);
  pm_test_train_opts(&o2, s2, "acme", cfg);
  o1.threads = 1;
  o2.threads = 2;
  /* small batches: several commits, taken in input order either way */
  o1.batch_mails = o2.batch_mails = 50;
  pm_train_summary r1, r2;
  train_ok(&o1, inputs, 1, &r1);
  train_ok(&o2, inputs, 1, &r2);
  ck_assert_uint_eq(r1.mails_trained, c.total);
  ck_assert_uint_eq(r2.mails_trained, c.total);
  pm_store *st1 = pm_test_open_read(s1, "acme"),
           *st2 = pm_test_open_read(s2, "acme");
  for (size_t s = 0; s < c.senders.n; s++) {
    char *addr = address_of(c.senders.v[s]);
    ck_assert_msg(blobs_equal(st1, st2, "sstat", addr),
                  "%s: statistics differ between 1 and 2 threads", addr);
    ck_assert_msg(blobs_equal(st1, st2, "sample", addr),
                  "%s: sample differs between 1 and 2 threads", addr);
    free(addr);
  }
  ck_assert_msg(blobs_equal(st1, st2, "moments", NULL),
                "tenant moments differ between 1 and 2 threads");
  pm_store_close(st1);
  pm_store_close(st2);
  pm_train_summary_free(&r1);
  pm_train_summary_free(&r2);
  free(s1);
  free(s2);
  free(in);
  corpus_free(&c);
  pm_config_free(cfg);
}
END_TEST

START_TEST(min_mails_not_ready) {
  pm_config *cfg = pm_test_small_config();
  char *store = pm_test_fmt("%s/store", dir);
  char *in = pm_test_fmt("%s/sample/corpus", pm_test_data_dir());
  const char *inputs[] = {in};
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  o.min_mails = 1000;
  pm_train_summary s;
  train_ok(&o, inputs, 1, &s);
  ck_assert_uint_eq(s.senders, 6);
  ck_assert_uint_eq(s.senders_ready, 0);
  pm_test_model m;
  pm_test_model_open(store, "acme", &m);
  ck_assert_uint_eq(pm_profiles_count(m.p), 6);
  pm_test_strlist files = {0};
  pm_test_inbound_files(&files);
  for (size_t i = 0; i < files.n; i++) {
    pm_score_result r;
    pm_test_score_file(&m, files.v[i], NULL, &r);
    ck_assert_msg(r.verdict == PM_VERDICT_PROFILE_NOT_READY, "%s: %s",
                  files.v[i], pm_verdict_name(r.verdict));
    ck_assert_double_eq(r.probability, 0.5);
    ck_assert_uint_ge(r.profile_mails, 38);
    ck_assert_uint_eq(r.n_reasons, 0);
  }
  pm_test_strlist_free(&files);
  pm_test_model_close(&m);

  /* the next run (one new mail) with the default threshold: all ready.
   * (A run with no new mail keeps the published model, readiness
   * included, whatever its min_mails.) */
  o.min_mails = 20;
  char *extra = pm_test_fmt("%s/extra.eml", dir);
  write_mail(extra, "Dana Whitfield <dana.whitfield@harborpine.example>",
             "extra.1@harborpine.example",
             "fine by me, book the bigger room\n-d\n");
  const char *more[] = {extra};
  pm_train_summary s2;
  train_ok(&o, more, 1, &s2);
  ck_assert_uint_eq(s2.mails_trained, 1);
  ck_assert_uint_eq(s2.senders_ready, 6);
  pm_test_model_open(store, "acme", &m);
  pm_score_result r;
  pm_test_score_file(&m, extra, NULL, &r);
  ck_assert_msg(!pm_verdict_abstains(r.verdict), "%s",
                pm_verdict_name(r.verdict));
  ck_assert_uint_eq(r.profile_mails, 41);
  pm_test_model_close(&m);
  free(extra);
  pm_train_summary_free(&s);
  pm_train_summary_free(&s2);
  free(in);
  free(store);
  pm_config_free(cfg);
}
END_TEST

START_TEST(rejects_counted) {
  pm_config *cfg = pm_test_small_config();
  char *in = pm_test_fmt("%s/in", dir);
  make_dir(in);
  char *p;
  p = pm_test_fmt("%s/empty.eml", in);
  write_str(p, "");
  free(p);
  /* 1 KB of random bytes (a fixed seed) */
  unsigned char rnd[1024];
  unsigned x = 12345;
  for (size_t i = 0; i < sizeof rnd; i++) {
    x = x * 1103515245u + 12345u;
    rnd[i] = (unsigned char)(x >> 16);
  }
  p = pm_test_fmt("%s/random.eml", in);
  pm_test_write_file(p, rnd, sizeof rnd);
  free(p);
  p = pm_test_fmt("%s/headers-only.eml", in);
  write_str(p, "From: Ann Lee <ann.lee@example.org>\nTo: b@example.org\n"
               "Subject: (no body)\nMessage-ID: <h1@example.org>\n\n");
  free(p);
  p = pm_test_fmt("%s/no-from.eml", in);
  write_str(p, "To: b@example.org\nSubject: lost sender\n"
               "Message-ID: <nf1@example.org>\n\n"
               "Could you send the minutes of Tuesday's meeting?\n");
  free(p);
  p = pm_test_fmt("%s/good.eml", in);
  write_mail(p, "Ann Lee <ann.lee@example.org>", "g1@example.org",
             "Hi all,\n\nThe printer on floor two is fixed again.\n\nAnn\n");
  free(p);
  char *store = pm_test_fmt("%s/store", dir);
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  const char *inputs[] = {in};
  pm_train_summary s;
  train_ok(&o, inputs, 1, &s);
  ck_assert_uint_eq(s.mails_read, 5);
  ck_assert_uint_eq(s.mails_trained, 1);
  ck_assert_uint_eq(s.mails_rejected, 4);
  ck_assert_uint_eq(s.rejected[PM_REJECT_NOT_MAIL], 2);
  ck_assert_uint_eq(s.rejected[PM_REJECT_NO_TEXT], 1);
  ck_assert_uint_eq(s.rejected[PM_REJECT_NO_SENDER], 1);
  ck_assert_uint_eq(s.rejected[PM_REJECT_UNREADABLE], 0);
  ck_assert_uint_eq(s.rejected[PM_REJECT_TOO_BIG], 0);
  ck_assert_uint_eq(s.n_examples, 4);
  ck_assert(examples_name(&s, "empty.eml"));
  ck_assert(examples_name(&s, "random.eml"));
  ck_assert(examples_name(&s, "headers-only.eml"));
  ck_assert(examples_name(&s, "no-from.eml"));
  ck_assert(!examples_name(&s, "good.eml"));
  for (size_t i = 0; i < s.n_examples; i++)
    ck_assert_msg(strchr(s.examples[i], ':'), "example \"%s\"", s.examples[i]);
  ck_assert_str_eq(pm_reject_reason_name(PM_REJECT_NO_SENDER), "no_sender");
  ck_assert_uint_eq(s.senders, 1);
  pm_train_summary_free(&s);

  /* an over-size mail is too_big, not fatal */
  o.limits.max_bytes = 40;
  char *good = pm_test_fmt("%s/good.eml", in);
  const char *one[] = {good};
  char *store2 = pm_test_fmt("%s/store2", dir);
  o.store_dir = store2;
  train_ok(&o, one, 1, &s);
  ck_assert_uint_eq(s.rejected[PM_REJECT_TOO_BIG], 1);
  ck_assert_uint_eq(s.mails_trained, 0);
  pm_train_summary_free(&s);
  free(good);
  free(store2);
  free(store);
  free(in);
  pm_config_free(cfg);
}
END_TEST

START_TEST(label_by_dir) {
  pm_config *cfg = pm_test_small_config();
  char *in = pm_test_fmt("%s/corpus", dir),
       *alice = pm_test_fmt("%s/corpus/alice", dir);
  make_dir(in);
  make_dir(alice);
  char *p = pm_test_fmt("%s/1.eml", alice);
  write_str(p, "To: b@example.org\nSubject: lost sender\n"
               "Message-ID: <lb1@example.org>\n\n"
               "Could you send the minutes of Tuesday's meeting?\n");
  free(p);
  p = pm_test_fmt("%s/2.eml", alice);
  write_mail(p, "Bob Stone <bob.stone@example.org>", "lb2@example.org",
             "Morning,\n\nthe van is booked for Friday.\n\n-- A\n");
  free(p);
  p = pm_test_fmt("%s/3.txt", alice);
  write_str(p, "no headers at all, just a line of text from alice\n");
  free(p);
  char *store = pm_test_fmt("%s/store", dir);
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  o.label_by_dir = true;
  const char *inputs[] = {in};
  pm_train_summary s;
  train_ok(&o, inputs, 1, &s);
  ck_assert_uint_eq(s.mails_read, 3);
  ck_assert_uint_eq(s.mails_trained, 3);
  ck_assert_uint_eq(s.senders, 1);
  pm_store *st = pm_test_open_read(store, "acme");
  pm_store_sender snd;
  pm_error err;
  ck_assert_int_eq(pm_store_sender_get(st, "alice", &snd, &err), PM_OK);
  ck_assert_int_eq(snd.mails, 3);
  free(snd.address);
  ck_assert_int_eq(pm_store_sender_get(st, "bob.stone@example.org", &snd, &err),
                   PM_NOTFOUND);
  pm_store_close(st);
  pm_train_summary_free(&s);

  /* a path whose directory has no name ("." or "..") gives no label:
   * rejected, never trained as sender "." */
  for (int k = 4; k <= 5; k++) {
    char *f = pm_test_fmt("%s/%d.eml", alice, k),
         *id = pm_test_fmt("lb%d@example.org", k);
    write_mail(f, "Bob Stone <bob.stone@example.org>", id,
               "Morning,\n\nthe van is booked again.\n\n-- A\n");
    free(id);
    free(f);
  }
  char *dot = pm_test_fmt("%s/./4.eml", alice);
  char *sub = pm_test_fmt("%s/sub", alice);
  make_dir(sub);
  free(sub);
  char *dotdot = pm_test_fmt("%s/sub/../5.eml", alice);
  const char *dots[] = {dot, dotdot};
  train_ok(&o, dots, 2, &s);
  ck_assert_uint_eq(s.mails_read, 2);
  ck_assert_uint_eq(s.rejected[PM_REJECT_NO_SENDER], 2);
  ck_assert_uint_eq(s.senders, 1);
  pm_train_summary_free(&s);
  free(dot);
  free(dotdot);
  free(store);
  free(alice);
  free(in);
  pm_config_free(cfg);
}
END_TEST

/* A short fictional body, different per n. */
static char *body_n(int n) {
  static const char *const topics[] = {"the budget review", "the van rota",
                                       "the new badge readers",
                                       "Friday's stock count"};
  return pm_test_fmt(
      "Hello,\n\nA quick note %d about %s: it moves to %d o'clock.\n\n"
      "Thanks,\nKim\n",
      n, topics[n % 4], 9 + n % 8);
}

START_TEST(input_kinds) {
  pm_config *cfg = pm_test_small_config();
  const char *from = "Kim Park <kim.park@example.org>";
  /* a maildir: cur/ and new/ count, tmp/ does not */
  char *md = pm_test_fmt("%s/Maildir", dir);
  make_dir(md);
  const char *sub[] = {"cur", "new", "tmp"};
  for (int k = 0; k < 3; k++) {
    char *d = pm_test_fmt("%s/%s", md, sub[k]);
    make_dir(d);
    free(d);
  }
  const char *mfiles[] = {
      "cur/1709251200.M1P1.host:2,S", "cur/1709251300.M2P1.host:2,S",
      "new/1709251400.M3P1.host", "tmp/1709251500.M4P1.host"};
  for (int k = 0; k < 4; k++) {
    char *p = pm_test_fmt("%s/%s", md, mfiles[k]),
         *id = pm_test_fmt("md%d@example.org", k);
    char *b = body_n(k);
    write_mail(p, from, id, b);
    free(b);
    free(id);
    free(p);
  }
  /* an mbox of three messages; the second has a body line ">From " that
   * mboxrd escaping added */
  char *mbox = pm_test_fmt("%s/sent.mbox", dir);
  char *m1 = body_n(10), *m3 = body_n(12);
  char *second = pm_test_mail_text(
      from, "mb2@example.org", "Mon, 02 Mar 2026 10:00:00 +0000",
      "Hello,\n\n>From now on the invoices go out on Fridays.\n\nKim\n");
  char *first = pm_test_mail_text(from, "mb1@example.org",
                                  "Mon, 02 Mar 2026 09:00:00 +0000", m1);
  char *third = pm_test_mail_text(from, "mb3@example.org",
                                  "Mon, 02 Mar 2026 11:00:00 +0000", m3);
  char *mtext =
      pm_test_fmt("From kim.park@example.org Mon Mar  2 09:00:00 2026\n%s\n"
                  "From kim.park@example.org Mon Mar  2 10:00:00 2026\n%s\n"
                  "From kim.park@example.org Mon Mar  2 11:00:00 2026\n%s\n",
                  first, second, third);
  write_str(mbox, mtext);
  /* a tree: .eml and .txt files count, anything else is not mail */
  char *tree = pm_test_fmt("%s/tree", dir),
       *deep = pm_test_fmt("%s/tree/2026/march", dir);
  make_dir(tree);
  char *t2026 = pm_test_fmt("%s/tree/2026", dir);
  make_dir(t2026);
  make_dir(deep);
  char *p = pm_test_fmt("%s/a.eml", tree), *b = body_n(20);
  write_mail(p, from, "tr1@example.org", b);
  free(p);
  free(b);
  p = pm_test_fmt("%s/b.txt", deep);
  b = body_n(21);
  write_mail(p, from, "tr2@example.org", b);
  free(p);
  free(b);
  p = pm_test_fmt("%s/notes.pdf", deep);
  b = body_n(22);
  write_mail(p, from, "tr3@example.org", b);
  free(p);
  free(b);
  p = pm_test_fmt("%s/README", t2026);
  write_str(p, "From: kim.park@example.org\n\nnot a mail by its name\n");
  free(p);

  char *store = pm_test_fmt("%s/store", dir);
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  const char *inputs[] = {md, mbox, tree};
  pm_train_summary s;
  train_ok(&o, inputs, 3, &s);
  ck_assert_uint_eq(s.input_errors, 0);
  ck_assert_uint_eq(s.mails_read, 3 + 3 + 2);
  ck_assert_uint_eq(s.mails_trained, 8);
  ck_assert_uint_eq(s.senders, 1);
  pm_train_summary_free(&s);

  /* the second mbox message, unescaped, as its own file: the same mail,
   * so a duplicate (escaped, its own text would differ) */
  char *dup = pm_test_fmt("%s/dup.eml", dir);
  char *unesc = pm_test_mail_text(
      from, "mb2@example.org", "Mon, 02 Mar 2026 10:00:00 +0000",
      "Hello,\n\nFrom now on the invoices go out on Fridays.\n\nKim\n");
  write_str(dup, unesc);
  const char *dup_in[] = {dup};
  train_ok(&o, dup_in, 1, &s);
  ck_assert_uint_eq(s.mails_read, 1);
  ck_assert_msg(s.mails_duplicate == 1,
                "the mbox's \">From \" line was not unescaped");
  pm_train_summary_free(&s);

  /* a file given by name is read whatever its name */
  char *pdf = pm_test_fmt("%s/notes.pdf", deep);
  const char *pdf_in[] = {pdf};
  train_ok(&o, pdf_in, 1, &s);
  ck_assert_uint_eq(s.mails_read, 1);
  ck_assert_uint_eq(s.mails_trained, 1);
  pm_train_summary_free(&s);

  pm_store *st = pm_test_open_read(store, "acme");
  pm_store_sender snd;
  pm_error err;
  ck_assert_int_eq(pm_store_sender_get(st, "kim.park@example.org", &snd, &err),
                   PM_OK);
  ck_assert_int_eq(snd.mails, 9);
  free(snd.address);
  pm_store_close(st);
  free(pdf);
  free(unesc);
  free(dup);
  free(store);
  free(t2026);
  free(tree);
  free(deep);
  free(mtext);
  free(first);
  free(second);
  free(third);
  free(m1);
  free(m3);
  free(mbox);
  free(md);
  pm_config_free(cfg);
}
END_TEST

START_TEST(bad_tenant_refused) {
  pm_config *cfg = pm_test_small_config();
  char *store = pm_test_fmt("%s/store", dir);
  char *in = pm_test_fmt("%s/sample/corpus/dana.whitfield@harborpine.example",
                         pm_test_data_dir());
  const char *inputs[] = {in};
  const char *bad[] = {"../x", "Acme", "", ".hidden", "a/b", "acme\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pm_train_opts o;
    pm_test_train_opts(&o, store, bad[i], cfg);
    pm_train_summary s;
    pm_error err;
    pm_error_clear(&err);
    pm_status rc = pm_train(&o, inputs, 1, &s, &err);
    ck_assert_msg(rc == PM_INVAL, "tenant \"%s\": %s", bad[i], pm_strerror(rc));
    ck_assert_int_eq(err.code, PM_INVAL);
    if (bad[i][0] && !strchr(bad[i], '\n'))
      ck_assert_msg(strstr(err.msg, bad[i]), "message \"%s\" names no tenant",
                    err.msg);
    ck_assert_uint_eq(s.mails_read, 0);
    pm_train_summary_free(&s);
    ck_assert_msg(!exists(store), "tenant \"%s\": the store dir was created",
                  bad[i]);
  }
  char *escaped = pm_test_fmt("%s/x.db", dir);
  ck_assert(!exists(escaped));
  free(escaped);
  /* an existing store dir stays empty */
  make_dir(store);
  pm_train_opts o;
  pm_test_train_opts(&o, store, "../x", cfg);
  pm_train_summary s;
  ck_assert_int_eq(pm_train(&o, inputs, 1, &s, NULL), PM_INVAL);
  pm_train_summary_free(&s);
  pm_test_strlist entries = {0};
  pm_test_list_dir(store, &entries);
  ck_assert_uint_eq(entries.n, 0);
  pm_test_strlist_free(&entries);
  free(in);
  free(store);
  pm_config_free(cfg);
}
END_TEST

START_TEST(other_config_refused) {
  pm_config *cfg = pm_test_small_config(), *other = NULL;
  pm_error err;
  ck_assert_int_eq(
      pm_config_parse(OTHER_CONFIG, strlen(OTHER_CONFIG), &other, &err), PM_OK);
  char *store = pm_test_fmt("%s/store", dir);
  char *in = pm_test_fmt("%s/sample/corpus/dana.whitfield@harborpine.example",
                         pm_test_data_dir());
  const char *inputs[] = {in};
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  pm_train_summary s;
  train_ok(&o, inputs, 1, &s);
  ck_assert_uint_eq(s.mails_trained, 40);
  pm_train_summary_free(&s);
  char *db = pm_test_fmt("%s/acme.db", store);
  size_t len1;
  char *before = pm_test_slurp(db, &len1);

  o.cfg = other;
  pm_error_clear(&err);
  pm_status rc = pm_train(&o, inputs, 1, &s, &err);
  ck_assert_msg(rc == PM_MISMATCH, "%s: %s", pm_strerror(rc), err.msg);
  ck_assert_msg(strstr(err.msg, "char_ngrams") && strstr(err.msg, "dim"),
                "the message names no key: %s", err.msg);
  ck_assert_uint_eq(s.mails_trained, 0);
  pm_train_summary_free(&s);
  size_t len2;
  char *after = pm_test_slurp(db, &len2);
  ck_assert_uint_eq(len1, len2);
  ck_assert(memcmp(before, after, len1) == 0);

  /* scoring with the other configuration is refused the same way */
  pm_store *st = pm_test_open_read(store, "acme");
  pm_profiles *p = NULL;
  rc = pm_profiles_load(st, other, &p, &err);
  ck_assert_int_eq(rc, PM_MISMATCH);
  ck_assert_ptr_null(p);
  pm_store_close(st);

  /* and the store still trains with its own */
  o.cfg = cfg;
  train_ok(&o, inputs, 1, &s);
  ck_assert_uint_eq(s.mails_duplicate, 40);
  pm_train_summary_free(&s);
  free(before);
  free(after);
  free(db);
  free(in);
  free(store);
  pm_config_free(other);
  pm_config_free(cfg);
}
END_TEST

START_TEST(not_a_store_left_alone) {
  pm_config *cfg = pm_test_small_config();
  char *store = pm_test_fmt("%s/store", dir);
  make_dir(store);
  char *db = pm_test_fmt("%s/acme.db", store);
  static const char junk[] =
      "This is somebody's notes file that happens to be called acme.db.\n"
      "It must never be overwritten or turned into a database.\n";
  write_str(db, junk);
  char *in = pm_test_fmt("%s/sample/corpus/dana.whitfield@harborpine.example",
                         pm_test_data_dir());
  const char *inputs[] = {in};
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  pm_train_summary s;
  pm_error err;
  pm_error_clear(&err);
  pm_status rc = pm_train(&o, inputs, 1, &s, &err);
  ck_assert_msg(rc == PM_CORRUPT, "%s: %s", pm_strerror(rc), err.msg);
  ck_assert_msg(strstr(err.msg, "acme.db"), "message names no file: %s",
                err.msg);
  ck_assert_uint_eq(s.mails_trained, 0);
  pm_train_summary_free(&s);
  size_t len;
  char *now = pm_test_slurp(db, &len);
  ck_assert_uint_eq(len, sizeof junk - 1);
  ck_assert(memcmp(now, junk, len) == 0);
  pm_test_strlist entries = {0};
  pm_test_list_dir(store, &entries);
  ck_assert_msg(entries.n == 1, "%zu files in the store dir (%s...)", entries.n,
                entries.n > 1 ? entries.v[1] : "");
  pm_test_strlist_free(&entries);
  free(now);
  free(in);
  free(db);
  free(store);
  pm_config_free(cfg);
}
END_TEST

START_TEST(bad_opts_refused) {
  pm_train_summary s;
  pm_error err;
  pm_train_opts o;
  pm_train_opts_default(&o);
  ck_assert_uint_eq(o.min_mails, 20);
  ck_assert_uint_gt(o.batch_mails, 0);
  ck_assert_ptr_null(o.cfg);
  const char *inputs[] = {"nothing"};
  ck_assert_int_eq(pm_train(&o, inputs, 1, &s, &err), PM_INVAL);
  pm_train_summary_free(&s);
  ck_assert_int_eq(pm_train(NULL, inputs, 1, &s, &err), PM_INVAL);
  pm_train_summary_free(&s);
}
END_TEST

START_TEST(missing_input_counted) {
  pm_config *cfg = pm_test_small_config();
  char *store = pm_test_fmt("%s/store", dir);
  char *in = pm_test_fmt("%s/sample/corpus/dana.whitfield@harborpine.example",
                         pm_test_data_dir());
  char *missing = pm_test_fmt("%s/no-such-dir", dir);
  const char *inputs[] = {missing, in};
  pm_train_opts o;
  pm_test_train_opts(&o, store, "acme", cfg);
  pm_train_summary s;
  train_ok(&o, inputs, 2, &s);
  ck_assert_uint_eq(s.input_errors, 1);
  ck_assert_uint_eq(s.n_input_error_examples, 1);
  ck_assert_ptr_nonnull(strstr(s.input_error_examples[0], "no-such-dir"));
  ck_assert_uint_eq(s.mails_trained, 40);
  pm_train_summary_free(&s);
  free(missing);
  free(in);
  free(store);
  pm_config_free(cfg);
}
END_TEST

static Suite *train_suite(void) {
  Suite *s = suite_create("train");
  TCase *tc = tcase_create("sample");
  tcase_set_timeout(tc, 600);
  tcase_add_unchecked_fixture(tc, pm_test_sample_setup, NULL);
  tcase_add_test(tc, sample_summary);
  tcase_add_test(tc, sample_privacy);
  suite_add_tcase(s, tc);
  tc = tcase_create("store");
  tcase_set_timeout(tc, 600);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, idempotent);
  tcase_add_test(tc, incremental_equals_batch);
  tcase_add_test(tc, threads_same_result);
  tcase_add_test(tc, min_mails_not_ready);
  tcase_add_test(tc, rejects_counted);
  tcase_add_test(tc, label_by_dir);
  tcase_add_test(tc, input_kinds);
  tcase_add_test(tc, bad_tenant_refused);
  tcase_add_test(tc, other_config_refused);
  tcase_add_test(tc, not_a_store_left_alone);
  tcase_add_test(tc, bad_opts_refused);
  tcase_add_test(tc, missing_input_counted);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(train_suite());
  pm_test_sample_teardown();
  pm_library_shutdown();
  return failed != 0;
}
