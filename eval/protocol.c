/* The protocol of EVAL.md: who is an outsider, the split, the claims drawn
 * for each test mail, and the trials in protocol.py's order. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "eval/internal.h"

/* SHA-256 of "<a><b>" into digest (32 bytes). GLib's implementation is
 * used rather than a hand-written one: it is the tested one. */
static void sha256_two(const char *a, const char *b, guint8 digest[32]) {
  GChecksum *h = g_checksum_new(G_CHECKSUM_SHA256);
  g_checksum_update(h, (const guchar *)a, (gssize)strlen(a));
  g_checksum_update(h, (const guchar *)b, (gssize)strlen(b));
  gsize len = 32;
  g_checksum_get_digest(h, digest, &len);
  g_checksum_free(h);
}

bool pm_eval_is_outsider(const char *sender) {
  guint8 d[32];
  sha256_two("outsider:", sender, d);
  return d[0] < PM_EVAL_OUTSIDER_BELOW;
}

size_t pm_eval_train_count(size_t n) {
  /* (8 n) / 10 as protocol.py does it, without overflow for huge n. */
  return n / 10 * 8 + (n % 10) * 8 / 10;
}

uint64_t pm_eval_draw(const char *relpath, unsigned k) {
  char suffix[16];
  snprintf(suffix, sizeof suffix, ":%u", k);
  guint8 d[32];
  sha256_two(relpath, suffix, d); /* the bytes of "<relpath>:<k>" */
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | d[i];
  return v;
}

const char *pm_eval_label_name(pm_eval_label l) {
  switch (l) {
  case PM_EVAL_GENUINE:
    return "genuine";
  case PM_EVAL_IMPOSTOR:
    return "impostor";
  case PM_EVAL_INSIDER:
    return "insider";
  case PM_EVAL_MIMICRY:
    return "mimicry";
  }
  return "unknown";
}

/* The claim of draw k for mail m of sender own: P[h mod |P|], moved to the
 * next entry (wrapping) when it is the mail's own sender. */
static size_t claimed_index(const pm_eval_corpus *c, const char *m,
                            const char *own, unsigned k) {
  size_t i = (size_t)(pm_eval_draw(m, k) % c->n_profiled);
  if (strcmp(c->profiled[i], own) == 0)
    i = (i + 1) % c->n_profiled;
  return i;
}

static bool push(pm_eval_corpus *c, size_t *cap, const pm_eval_trial *t) {
  if (c->n_trials == *cap) {
    size_t ncap = *cap ? *cap * 2 : 256;
    pm_eval_trial *nt = realloc(c->trials, ncap * sizeof *nt);
    if (!nt)
      return false;
    c->trials = nt;
    *cap = ncap;
  }
  c->trials[c->n_trials++] = *t;
  return true;
}

/* Whether (mail, claimed) is listed already. A mail's trials are listed
 * together (at most 1 + PM_EVAL_DRAWS of them), so only the trials since
 * `first` need a look: protocol.py's set of seen pairs, kept local. */
static bool seen(const pm_eval_corpus *c, size_t first, const char *claimed) {
  for (size_t i = first; i < c->n_trials; i++)
    if (c->trials[i].claimed == claimed)
      return true;
  return false;
}

/* Whether the pair (m, S) has a part to replace: both have a greeting, or
 * both have a closing block. */
static bool mimicry_possible(const pm_eval_corpus *c, const pm__eval_sender *s,
                             size_t fi, const char *claimed) {
  size_t ci = pm__eval_sender_index(c, claimed);
  if (!s->surf || ci == c->n_senders)
    return false;
  const pm__eval_sender *cs = &c->senders[ci];
  return ((s->surf[fi] & 1) && cs->greeting) ||
         ((s->surf[fi] & 2) && cs->closing);
}

size_t pm__eval_sender_index(const pm_eval_corpus *c, const char *name) {
  size_t lo = 0, hi = c->n_senders;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int k = strcmp(c->senders[mid].name, name);
    if (k == 0)
      return mid;
    if (k < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return c->n_senders;
}

pm_status pm__eval_make_trials(pm_eval_corpus *c, pm_error *err) {
  if (c->tenant_size)
    return pm__eval_tenant_trials(c, err);
  size_t cap = 0;
  free(c->trials);
  c->trials = NULL;
  c->n_trials = 0;
  for (size_t si = 0; si < c->n_senders; si++) {
    const pm__eval_sender *s = &c->senders[si];
    /* Only the sender's profile in P: no one else to claim. */
    bool no_claims =
        c->n_profiled == 0 ||
        (c->n_profiled == 1 && strcmp(c->profiled[0], s->name) == 0);
    pm_eval_label label = s->outsider ? PM_EVAL_IMPOSTOR : PM_EVAL_INSIDER;
    for (size_t fi = s->n_train; fi < s->n_train + s->n_test; fi++) {
      const char *m = s->files[fi];
      size_t first = c->n_trials;
      if (s->profiled) {
        pm_eval_trial t = {m, s->name, PM_EVAL_GENUINE, si, fi};
        if (!push(c, &cap, &t))
          goto nomem;
      }
      if (no_claims)
        continue;
      for (unsigned k = 0; k < PM_EVAL_DRAWS; k++) {
        /* P's strings are the senders' names, so pointers compare. */
        const char *claimed = c->profiled[claimed_index(c, m, s->name, k)];
        if (seen(c, first, claimed))
          continue;
        pm_eval_trial t = {m, claimed, label, si, fi};
        if (!push(c, &cap, &t))
          goto nomem;
        if (c->mimicry && label == PM_EVAL_IMPOSTOR &&
            mimicry_possible(c, s, fi, claimed)) {
          t.label = PM_EVAL_MIMICRY;
          if (!push(c, &cap, &t))
            goto nomem;
        }
      }
    }
  }
  return PM_OK;
nomem:
  return pm_error_set(err, PM_NOMEM, "%s: out of memory listing the trials",
                      c->dir);
}
