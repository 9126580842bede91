/* pm_mail_parse and the accessors (see include/penmark/mail.h).
 *
 * The order of the steps: refuse what is too big, empty or binary; parse
 * the MIME structure (or take the whole input as a body when it has no
 * header block); decode the text part to UTF-8; cut it down to the own
 * text; bound the own text's size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "features/mail/charset.h"
#include "features/mail/mail_internal.h"
#include "features/mail/owntext.h"

#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
#define DEFAULT_MAX_TEXT_BYTES ((size_t)1 << 20)
#define DEFAULT_MAX_PARTS 1000u
#define DEFAULT_MAX_DEPTH 32u
#define OWN_INPUT_FACTOR 16u

void pm_mail_limits_default(pm_mail_limits *lim) {
  if (!lim)
    return;
  lim->max_bytes = DEFAULT_MAX_BYTES;
  lim->max_text_bytes = DEFAULT_MAX_TEXT_BYTES;
  lim->max_parts = DEFAULT_MAX_PARTS;
  lim->max_depth = DEFAULT_MAX_DEPTH;
}

/* The limits to use: the defaults, with every non-zero field of lim. */
static pm_mail_limits effective_limits(const pm_mail_limits *lim) {
  pm_mail_limits l;
  pm_mail_limits_default(&l);
  if (lim) {
    if (lim->max_bytes)
      l.max_bytes = lim->max_bytes;
    if (lim->max_text_bytes)
      l.max_text_bytes = lim->max_text_bytes;
    if (lim->max_parts)
      l.max_parts = lim->max_parts;
    if (lim->max_depth)
      l.max_depth = lim->max_depth;
  }
  if (l.max_depth > PM_MAIL_MAX_DEPTH_CAP)
    l.max_depth = PM_MAIL_MAX_DEPTH_CAP;
  return l;
}

void pm_mail_free(pm_mail *m) {
  if (!m)
    return;
  free(m->own);
  free(m->body);
  free(m->sender);
  free(m->display);
  free(m->subject);
  free(m->message_id);
  free(m);
}

static bool fill_empty(char **s) {
  if (!*s)
    *s = calloc(1, 1);
  return *s != NULL;
}

/* Cuts the own text at max bytes, on a character boundary. */
static void truncate_text(pm__buf *b, size_t max, unsigned *flags) {
  if (b->len <= max)
    return;
  size_t n = max;
  while (n > 0 && ((unsigned char)b->data[n] & 0xC0) == 0x80)
    n--;
  b->len = n;
  b->data[n] = '\0';
  *flags |= PM_MAIL_TRUNCATED;
}

pm_status pm_mail_parse(const char *data, size_t len, const pm_mail_limits *lim,
                        pm_mail **out, pm_error *err) {
  pm_error_clear(err);
  if (!out || (!data && len))
    return pm_error_set(err, PM_INVAL, "pm_mail_parse: no %s",
                        out ? "data" : "output pointer");
  *out = NULL;
  pm_mail_limits l = effective_limits(lim);
  if (len > l.max_bytes)
    return pm_error_set(err, PM_TOOBIG,
                        "%zu bytes, over the limit of %zu bytes", len,
                        l.max_bytes);
  size_t skip;
  unsigned pct;
  pm__input_kind kind = pm__mail_sniff(data ? data : "", len, &skip, &pct);
  if (kind == PM__INPUT_EMPTY)
    return pm_error_set(err, PM_NOTMAIL, "empty input");
  if (kind == PM__INPUT_BINARY)
    return pm_error_set(err, PM_NOTMAIL,
                        "binary data (%u%% control bytes), not a mail", pct);

  pm_mail *m = calloc(1, sizeof *m);
  if (!m)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  pm__buf body = {0}, own = {0};
  pm_status rc = PM_OK;
  if (kind == PM__INPUT_BODY) {
    m->flags |= PM_MAIL_NO_HEADERS;
    if (!pm__charset_decode(data + skip, len - skip, NULL, &body, &m->flags))
      rc = pm_error_set(err, PM_NOMEM, "out of memory");
  } else {
    rc = pm__mime_extract(data + skip, len - skip, &l, m, &body, err);
  }
  if (rc != PM_OK)
    goto fail;
  /* The own-text step reads at most OWN_INPUT_FACTOR times the own text it
   * may return: a body of many megabytes is an attachment pasted inline or
   * a forwarded archive, not what its sender wrote, and its lines would
   * cost memory for nothing. Cut at a line end. */
  size_t own_in = body.len;
  if (l.max_text_bytes <= SIZE_MAX / OWN_INPUT_FACTOR &&
      own_in > l.max_text_bytes * OWN_INPUT_FACTOR) {
    own_in = l.max_text_bytes * OWN_INPUT_FACTOR;
    while (own_in > 0 && body.data[own_in - 1] != '\n')
      own_in--;
    m->flags |= PM_MAIL_TRUNCATED;
  }
  rc = pm__own_text_buf(body.data ? body.data : "", own_in, &own, &m->flags);
  if (rc != PM_OK) {
    pm_error_set(err, rc, "out of memory");
    goto fail;
  }
  truncate_text(&own, l.max_text_bytes, &m->flags);
  m->body_len = body.len;
  m->body = pm__buf_steal(&body);
  m->own_len = own.len;
  m->own = pm__buf_steal(&own);
  if (!m->body || !m->own || !fill_empty(&m->sender) ||
      !fill_empty(&m->display) || !fill_empty(&m->subject) ||
      !fill_empty(&m->message_id)) {
    rc = pm_error_set(err, PM_NOMEM, "out of memory");
    goto fail;
  }
  *out = m;
  return PM_OK;
fail:
  pm__buf_free(&body);
  pm__buf_free(&own);
  pm_mail_free(m);
  return rc;
}

const char *pm_mail_own_text(const pm_mail *m, size_t *len) {
  if (len)
    *len = m ? m->own_len : 0;
  return m && m->own ? m->own : "";
}

const char *pm_mail_body_text(const pm_mail *m, size_t *len) {
  if (len)
    *len = m ? m->body_len : 0;
  return m && m->body ? m->body : "";
}

const char *pm_mail_sender(const pm_mail *m) {
  return m && m->sender ? m->sender : "";
}

const char *pm_mail_display_name(const pm_mail *m) {
  return m && m->display ? m->display : "";
}

const char *pm_mail_subject(const pm_mail *m) {
  return m && m->subject ? m->subject : "";
}

const char *pm_mail_message_id(const pm_mail *m) {
  return m && m->message_id ? m->message_id : "";
}

int64_t pm_mail_date(const pm_mail *m) {
  return m ? m->date : 0;
}

unsigned pm_mail_flags(const pm_mail *m) {
  return m ? m->flags : 0;
}

void pm_mail_library_shutdown(void) {
  pm__mime_shutdown();
}
