/* The GMime side of the mail module (see pm__mime_extract in
 * features/mail/mail_internal.h): parse, read the sender, subject, Message-ID
 * and date, pick the text part and decode it to UTF-8.
 *
 * GMime objects never leave this file: everything handed back is a copy
 * in malloc'd memory, so that a pm_mail owes nothing to GLib. */
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "features/mail/charset.h"
#include "features/mail/html.h"
#include "features/mail/mail_internal.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_gmime(void) {
  g_mime_init();
}

void pm__mime_init(void) {
  pthread_once(&init_once, init_gmime);
}

void pm__mime_shutdown(void) {
  /* Completes the init first (if it never ran, it runs now: cheap, and it
   * keeps init and shutdown paired), so that a later pm__mime_init never
   * initialises a shut-down GMime again. */
  static pthread_once_t shut_once = PTHREAD_ONCE_INIT;
  pthread_once(&init_once, init_gmime);
  pthread_once(&shut_once, g_mime_shutdown);
}

/* Charsets GMime tries, in order, on header text sent as raw 8-bit bytes
 * instead of RFC 2047 words: the Japanese ones come before windows-1252,
 * which accepts anything and so must come last. */
static const char *FALLBACK_CHARSETS[] = {"utf-8", "cp932", "euc-jp",
                                          "windows-1252", NULL};

/* A malloc'd, valid UTF-8 copy of s (may be NULL: gives ""), with folded
 * lines unfolded and the ends trimmed. NULL when memory runs out. */
static char *clean_copy(const char *s) {
  pm__buf raw = {0}, out = {0};
  s = s ? s : "";
  for (; *s; s++)
    if (*s != '\r' && *s != '\n' && !pm__buf_putc(&raw, *s == '\t' ? ' ' : *s))
      goto fail;
  size_t a = 0, b = raw.len;
  while (a < b && raw.data[a] == ' ')
    a++;
  while (b > a && raw.data[b - 1] == ' ')
    b--;
  if (!pm__utf8_sanitize(raw.data ? raw.data + a : "", b - a, &out, NULL))
    goto fail;
  pm__buf_free(&raw);
  char *r = pm__buf_steal(&out);
  if (r)
    return r;
fail:
  pm__buf_free(&raw);
  pm__buf_free(&out);
  return NULL;
}

static void ascii_lower(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      *s = (char)(*s + 32);
}

/* The first mailbox of an address list, looking one level into groups. */
static InternetAddressMailbox *first_mailbox(InternetAddressList *list) {
  int n = list ? internet_address_list_length(list) : 0;
  for (int i = 0; i < n; i++) {
    InternetAddress *ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia))
      return INTERNET_ADDRESS_MAILBOX(ia);
    if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      InternetAddressList *m =
          internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));
      int k = m ? internet_address_list_length(m) : 0;
      for (int j = 0; j < k; j++) {
        InternetAddress *x = internet_address_list_get_address(m, j);
        if (INTERNET_ADDRESS_IS_MAILBOX(x))
          return INTERNET_ADDRESS_MAILBOX(x);
      }
    }
  }
  return NULL;
}

/* When GMime finds no mailbox in From: (archives mask addresses as
 * "name@d..."), the raw value still says who claims to write: the part in
 * angle brackets, else the first word holding '@', else the whole value. */
static char *raw_sender(const char *v) {
  if (!v)
    return clean_copy("");
  const char *lt = strchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;
  const char *a = v, *b = v + strlen(v);
  if (lt && gt) {
    a = lt + 1;
    b = gt;
  } else {
    const char *at = strchr(v, '@');
    if (at) {
      a = at;
      while (a > v && a[-1] != ' ' && a[-1] != '\t' && a[-1] != '"')
        a--;
      b = at;
      while (*b && *b != ' ' && *b != '\t' && *b != '"')
        b++;
    }
  }
  char *tmp = malloc((size_t)(b - a) + 1);
  if (!tmp)
    return NULL;
  memcpy(tmp, a, (size_t)(b - a));
  tmp[b - a] = '\0';
  char *r = clean_copy(tmp);
  free(tmp);
  return r;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

/* "2014-07-07", "2014-07-07 12:34[:56]", "2014/07/07": archives write
 * dates this way and GMime only reads RFC 5322 dates. Taken as UTC. */
static int64_t iso_date(const char *v) {
  if (!v)
    return 0;
  while (*v == ' ' || *v == '\t')
    v++;
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char sep1, sep2;
  int used = 0;
  if (sscanf(v, "%4u%c%2u%c%2u%n", &y, &sep1, &mo, &sep2, &d, &used) != 5 ||
      sep1 != sep2 || (sep1 != '-' && sep1 != '/') || y < 1970 || mo < 1 ||
      mo > 12 || d < 1 || d > 31)
    return 0;
  const char *t = v + used;
  if (*t == 'T' || *t == ' ') {
    int used2 = 0;
    if (sscanf(t + 1, "%2u:%2u%n", &h, &mi, &used2) == 2 && h < 24 && mi < 60) {
      t += 1 + used2;
      if (*t == ':' && sscanf(t + 1, "%2u", &s) == 1 && s > 60)
        s = 0;
    } else {
      h = mi = 0;
    }
  }
  return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static pm_status read_headers(GMimeMessage *msg, pm_mail *m) {
  GMimeObject *obj = GMIME_OBJECT(msg);
  InternetAddressMailbox *mb = first_mailbox(g_mime_message_get_from(msg));
  const char *addr = mb ? internet_address_mailbox_get_addr(mb) : NULL;
  if (addr && strchr(addr, '@')) {
    m->sender = clean_copy(addr);
    m->display = clean_copy(internet_address_get_name(INTERNET_ADDRESS(mb)));
  } else {
    m->sender = raw_sender(g_mime_object_get_header(obj, "From"));
    m->display =
        clean_copy(mb ? internet_address_get_name(INTERNET_ADDRESS(mb)) : NULL);
  }
  if (m->sender)
    ascii_lower(m->sender);
  m->subject = clean_copy(g_mime_message_get_subject(msg));
  const char *id = g_mime_message_get_message_id(msg);
  if (id) {
    m->message_id = clean_copy(id);
  } else {
    /* A Message-ID GMime could not read (no '@', say): strip it by hand. */
    const char *raw = g_mime_object_get_header(obj, "Message-ID");
    char *c = clean_copy(raw);
    if (c) {
      size_t n = strlen(c), a = 0;
      if (n && c[n - 1] == '>')
        c[--n] = '\0';
      if (c[0] == '<')
        a = 1;
      memmove(c, c + a, n - a + 1);
    }
    m->message_id = c;
  }
  GDateTime *dt = g_mime_message_get_date(msg);
  m->date = dt ? (int64_t)g_date_time_to_unix(dt)
               : iso_date(g_mime_object_get_header(obj, "Date"));
  if (!m->sender || !m->display || !m->subject || !m->message_id)
    return PM_NOMEM;
  return PM_OK;
}

static bool is_attachment(GMimeObject *o) {
  GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
  return d && g_mime_content_disposition_is_attachment(d);
}

/* Walks the MIME tree without recursion (the guard already bounds its
 * depth; the walk does not rely on it) and returns the first inline
 * text/plain part and the first inline text/html part. Attached messages
 * (message/rfc822) are someone else's mail and are not entered. */
static void find_text_parts(GMimeObject *top, unsigned max_parts,
                            GMimePart **plain, GMimePart **html,
                            unsigned *flags) {
  *plain = *html = NULL;
  GPtrArray *stack = g_ptr_array_new();
  if (top)
    g_ptr_array_add(stack, top);
  unsigned seen = 0;
  while (stack->len && !*plain) {
    GMimeObject *o = g_ptr_array_remove_index(stack, stack->len - 1);
    if (++seen > max_parts) {
      *flags |= PM_MAIL_PARTS_LIMIT;
      break;
    }
    if (GMIME_IS_MULTIPART(o)) {
      GMimeMultipart *mp = GMIME_MULTIPART(o);
      /* Children pushed last-first, so that they are visited in order. */
      for (int i = g_mime_multipart_get_count(mp); i-- > 0;)
        g_ptr_array_add(stack, g_mime_multipart_get_part(mp, i));
    } else if (GMIME_IS_PART(o) && !is_attachment(o)) {
      GMimeContentType *ct = g_mime_object_get_content_type(o);
      if (ct && g_mime_content_type_is_type(ct, "text", "plain"))
        *plain = GMIME_PART(o);
      else if (ct && !*html && g_mime_content_type_is_type(ct, "text", "html"))
        *html = GMIME_PART(o);
    }
  }
  g_ptr_array_free(stack, TRUE);
}

/* The transfer-decoded bytes of a part: a new memory stream (unref it),
 * its bytes in *data, *len. */
static GMimeStream *part_bytes(GMimePart *part, const char **data,
                               size_t *len) {
  GMimeStream *mem = g_mime_stream_mem_new();
  GMimeDataWrapper *w = g_mime_part_get_content(part);
  if (w)
    g_mime_data_wrapper_write_to_stream(w, mem);
  GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
  *data = a && a->len ? (const char *)a->data : "";
  *len = a ? a->len : 0;
  return mem;
}

/* The charset an HTML part declares in a <meta> tag, for parts whose MIME
 * header names none: copied into name (empty when none is found in the
 * first 4 KB). */
static void meta_charset(const char *s, size_t n, char *name, size_t cap) {
  name[0] = '\0';
  if (n > 4096)
    n = 4096;
  const char *p = memmem(s, n, "charset=", 8);
  if (!p)
    p = memmem(s, n, "CHARSET=", 8);
  if (!p)
    return;
  p += 8;
  while (p < s + n && (*p == '"' || *p == '\'' || *p == ' '))
    p++;
  size_t k = 0;
  while (p < s + n && k + 1 < cap &&
         ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' ||
          *p == ':'))
    name[k++] = *p++;
  name[k] = '\0';
}

static bool all_blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return false;
  return true;
}

/* Decodes one text part into body; html says whether to de-tag it. */
static bool decode_part(GMimePart *part, bool html, pm__buf *body,
                        unsigned *flags) {
  pm__buf text = {0};
  const char *raw;
  size_t raw_len;
  GMimeStream *mem = part_bytes(part, &raw, &raw_len);
  const char *label =
      g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  char meta[48];
  if (html && (!label || !*label)) {
    meta_charset(raw, raw_len, meta, sizeof meta);
    if (meta[0])
      label = meta;
  }
  bool ok = pm__charset_decode(raw, raw_len, label, html ? &text : body, flags);
  g_object_unref(mem);
  if (ok && html) {
    ok = pm__html_to_text(text.data ? text.data : "", text.len, body);
    *flags |= PM_MAIL_HTML;
  }
  pm__buf_free(&text);
  return ok;
}

/* Raw 8-bit header text (no RFC 2047 words) is decoded by GMime word by
 * word, each word with the first fallback charset it fits: "caf\xe9
 * cr\xe8me" comes out half Latin-1, half Shift_JIS. When the mail's header
 * block is not valid UTF-8, it is decoded here as one text instead (the
 * charset guess sees all of it), and GMime gets UTF-8. Fills out (left
 * empty when nothing had to change) with the new header block and the rest
 * of the message. False on no memory. */
static bool utf8_headers(const char *data, size_t len, pm__buf *out) {
  size_t end = len;
  for (const char *p = data; p < data + len;) {
    const char *nl = memchr(p, '\n', (size_t)(data + len - p));
    if (!nl)
      break;
    const char *q = nl + 1;
    if (q < data + len && *q == '\r')
      q++;
    if (q < data + len && *q == '\n') {
      end = (size_t)(nl + 1 - data);
      break;
    }
    p = nl + 1;
  }
  bool high = false;
  for (size_t i = 0; i < end && !high; i++)
    high = (unsigned char)data[i] >= 0x80;
  if (!high || pm__utf8_valid(data, end))
    return true;
  return pm__charset_decode(data, end, NULL, out, NULL) &&
         pm__buf_append(out, data + end, len - end);
}

/* The stream GMime parses: the input within the guard's bounds, with its
 * 8-bit headers as UTF-8. NULL when out of memory. */
static GMimeStream *guarded_stream(const char *data, size_t len,
                                   const pm_mail_limits *lim, pm_mail *m) {
  char *copy = NULL;
  const char *view;
  size_t view_len;
  if (!pm__mime_guard(data, len, lim->max_depth, lim->max_parts, &copy, &view,
                      &view_len, &m->flags))
    return NULL;
  pm__buf hdr8 = {0};
  if (!utf8_headers(view, view_len, &hdr8)) {
    free(copy);
    pm__buf_free(&hdr8);
    return NULL;
  }
  GMimeStream *stream =
      hdr8.data ? g_mime_stream_mem_new_with_buffer(hdr8.data, hdr8.len)
                : g_mime_stream_mem_new_with_buffer(view, view_len);
  free(copy);
  pm__buf_free(&hdr8);
  return stream;
}

/* GMime gave up on the headers: what follows the first blank line is the
 * body, with nothing known about the sender. */
static pm_status body_after_blank_line(const char *data, size_t len, pm_mail *m,
                                       pm__buf *body, pm_error *err) {
  const char *p = data, *end = data + len, *b = end;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      break;
    const char *q = nl + 1;
    if (q < end && *q == '\r')
      q++;
    if (q < end && *q == '\n') {
      b = q + 1;
      break;
    }
    p = nl + 1;
  }
  if (!pm__charset_decode(b, (size_t)(end - b), NULL, body, &m->flags))
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

/* The text of the message: its text/plain part, or its HTML part as text
 * when there is no plain one or the plain one is blank. */
static pm_status text_body(GMimeMessage *msg, const pm_mail_limits *lim,
                           pm_mail *m, pm__buf *body, pm_error *err) {
  GMimePart *plain, *html;
  find_text_parts(g_mime_message_get_mime_part(msg), lim->max_parts, &plain,
                  &html, &m->flags);
  if (!plain && !html) {
    m->flags |= PM_MAIL_NO_TEXT_PART;
    return PM_OK;
  }
  size_t start = body->len;
  unsigned fl = 0;
  bool ok = decode_part(plain ? plain : html, !plain, body, &fl);
  /* Some clients send an empty text/plain beside the real HTML. */
  if (ok && plain && html &&
      all_blank(body->data ? body->data + start : "", body->len - start)) {
    body->len = start;
    fl = 0;
    ok = decode_part(html, true, body, &fl);
  }
  m->flags |= fl;
  if (!ok)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  return PM_OK;
}

pm_status pm__mime_extract(const char *data, size_t len,
                           const pm_mail_limits *lim, pm_mail *m, pm__buf *body,
                           pm_error *err) {
  pm__mime_init();
  GMimeStream *stream = guarded_stream(data, len, lim, m);
  if (!stream)
    return pm_error_set(err, PM_NOMEM, "out of memory");
  GMimeParser *parser = g_mime_parser_new_with_stream(stream);
  g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
  GMimeParserOptions *opts = g_mime_parser_options_new();
  g_mime_parser_options_set_fallback_charsets(opts, FALLBACK_CHARSETS);
  GMimeMessage *msg = g_mime_parser_construct_message(parser, opts);
  pm_status rc;
  if (!msg) {
    rc = body_after_blank_line(data, len, m, body, err);
  } else {
    rc = read_headers(msg, m);
    if (rc != PM_OK)
      pm_error_set(err, rc, "out of memory");
    else
      rc = text_body(msg, lim, m, body, err);
    g_object_unref(msg);
  }
  g_mime_parser_options_free(opts);
  g_object_unref(parser);
  g_object_unref(stream);
  return rc;
}
