/* One message as libmilter hands it over, header by header and body chunk
 * by chunk: the copy that is scored (without any X-Penmark-* header: a
 * forged verdict is neither scored nor kept), the names of the
 * X-Penmark-* headers to remove, and the subject for the tag. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score/milter/milter_internal.h"

static void append(pm__mmsg *m, const void *s, size_t n) {
  if (m->no_copy || m->too_big)
    return;
  if (m->raw.len + n > PM__MILTER_MAX_BYTES || !pm__buf_append(&m->raw, s, n)) {
    m->too_big = true; /* out of memory counts as too big: fail open */
    pm__buf_free(&m->raw);
  }
}

/* Counts one more X-Penmark-* header of that name (any case). */
static void note_own(pm__mmsg *m, const char *name) {
  for (size_t i = 0; i < m->n_own; i++)
    if (!strcasecmp(m->own[i].name, name)) {
      m->own[i].n++;
      return;
    }
  char *copy = strdup(name);
  if (!copy ||
      !pm__grow((void **)&m->own, &m->cap_own, m->n_own + 1, sizeof *m->own)) {
    free(copy);
    return;
  }
  m->own[m->n_own++] = (pm__own_header){copy, 1};
}

void pm__mmsg_header(pm__mmsg *m, const char *name, const char *value) {
  if (pm_milter_is_own_header(name)) {
    note_own(m, name);
    return;
  }
  if (!m->subject && !strcasecmp(name, "Subject"))
    m->subject = strdup(value);
  append(m, name, strlen(name));
  append(m, ": ", 2);
  append(m, value, strlen(value));
  append(m, "\r\n", 2);
}

void pm__mmsg_eoh(pm__mmsg *m) {
  append(m, "\r\n", 2);
}

void pm__mmsg_body(pm__mmsg *m, const void *chunk, size_t len) {
  append(m, chunk, len);
}

bool pm__mmsg_settled(const pm__mmsg *m, pm__mdecision *d) {
  if (m->skip_why)
    pm__mdecision_skip(d, m->skip_why);
  else if (m->too_big)
    pm__mdecision_error(d, "mail too big to score");
  else
    return false;
  return true;
}

char *pm__mmsg_tagged_subject(const pm__mmsg *m, const char *tag) {
  const char *old = m->subject ? m->subject : "";
  size_t n = strlen(tag) + strlen(old) + 1;
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "%s%s", tag, old);
  return s;
}

void pm__mmsg_free(pm__mmsg *m) {
  if (!m)
    return;
  pm__buf_free(&m->raw);
  for (size_t i = 0; i < m->n_own; i++)
    free(m->own[i].name);
  free(m->own);
  free(m->subject);
  free(m);
}
