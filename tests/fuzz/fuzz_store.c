/* Opening a store file whose bytes come from the input (seeds: a real
 * store; the mutations: a torn header, foreign pages, broken blobs): open,
 * verify, list the senders, load the profiles and score one mail. Each step
 * may refuse, none may crash. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tmpdir.h"
#include "penmark/config.h"
#include "penmark/mail.h"
#include "penmark/score.h"
#include "penmark/store.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dir;
static char path[4200], wal[4300], shm[4300];
static pm_mail *mail;
/* One scorer, for stores of the default configuration: making one per
 * input (a MeCab tagger, an ICU iterator) would cost more than the rest. */
static pm_config *def_cfg;
static pm_scorer *def_scorer;

static void cleanup(void) {
  pm_mail_free(mail);
  pm_scorer_free(def_scorer);
  pm_config_free(def_cfg);
  pm__rmtree(dir);
  free(dir);
}

static void setup(void) {
  if (!(dir = pm__make_tmpdir(NULL, "fuzz-store", NULL)))
    abort();
  atexit(cleanup);
  snprintf(path, sizeof path, "%s/t.db", dir);
  snprintf(wal, sizeof wal, "%s-wal", path);
  snprintf(shm, sizeof shm, "%s-shm", path);
  static const char m[] =
      "From: Dana Whitfield <dana.whitfield@harborpine.example>\n"
      "Subject: invoices\n\nHi all,\n\nPlease send the invoices for the "
      "quarter by Friday so that we can close the books on time.\n\n-d\n";
  if (pm_mail_parse(m, sizeof m - 1, NULL, &mail, NULL) != PM_OK)
    abort();
  if (!(def_cfg = pm_config_default()) ||
      pm_scorer_new(def_cfg, &def_scorer, NULL) != PM_OK)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir)
    setup();
  unlink(wal);
  unlink(shm);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size)
    abort();
  close(fd);
  pm_store *st = NULL;
  pm_error err;
  pm_error_clear(&err);
  if (pm_store_open(dir, "t", PM_STORE_READ, NULL, 0, &st, &err) != PM_OK) {
    if (st || !err.msg[0])
      abort();
    return 0;
  }
  (void)pm_store_verify(st, &err);
  pm_store_sender *list = NULL;
  size_t n = 0;
  if (pm_store_senders(st, &list, &n, &err) == PM_OK)
    pm_store_senders_free(list, n);
  pm_profiles *p = NULL;
  if (pm_profiles_load(st, NULL, &p, &err) == PM_OK) {
    if (pm_config_hash(pm_profiles_config(p)) == pm_config_hash(def_cfg)) {
      pm_score_result r;
      if (pm_score_mail(def_scorer, p, mail, NULL, &r, &err) == PM_OK &&
          !(r.probability >= 0.0 && r.probability <= 1.0))
        abort();
    }
    pm_profiles_free(p);
  }
  pm_store_close(st);
  return 0;
}
