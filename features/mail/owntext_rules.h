/* Line-level rules of the own-text step: what a reply header, a quote, a
 * forward marker, an attribution or a disclaimer looks like, in the forms
 * Outlook, Lotus Notes, Gmail, Apple Mail, Thunderbird and Japanese clients
 * write them. features/mail/owntext.c decides what to cut with them.
 *
 * Internal to the library. Every predicate looks at one line (or one
 * paragraph) and reads at most a bounded prefix of it, so that the
 * own-text step stays linear on huge single lines. */
#ifndef PM_FEATURES_OWNTEXT_RULES_H
#define PM_FEATURES_OWNTEXT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line of normalised text, without its "\n"; borrowed. */
typedef struct {
  const char *s;
  size_t n;
} pm__line;

/* A text cut into lines: line i runs from s + off[i] to s + off[i + 1] - 1
 * (off has n + 1 entries); borrowed. */
typedef struct {
  const char *s;
  const uint32_t *off;
  size_t n;
} pm__lines;

static inline pm__line pm__lines_at(const pm__lines *t, size_t i) {
  pm__line l = {t->s + t->off[i], (size_t)(t->off[i + 1] - t->off[i] - 1)};
  return l;
}

/* Reply-header field names (bits, so that a block can collect them). */
enum {
  PM__KEY_FROM = 1u << 0,    /* From:, 差出人:, 送信者: */
  PM__KEY_SENT = 1u << 1,    /* Sent:, 送信日時: */
  PM__KEY_DATE = 1u << 2,    /* Date:, 日付:, 日時: */
  PM__KEY_TO = 1u << 3,      /* To:, 宛先: */
  PM__KEY_CC = 1u << 4,      /* Cc:, Bcc: */
  PM__KEY_SUBJECT = 1u << 5, /* Subject:, 件名: */
  PM__KEY_SENTBY = 1u << 6   /* Sent by: (Lotus Notes) */
};

/* Only whitespace (ASCII, U+00A0, U+3000). */
bool pm__line_blank(pm__line l);
/* Holds a Notes date and time somewhere: "06/01/2001 10:36 AM". */
bool pm__line_notes_datetime(pm__line l);
/* A whole Notes reply header on one line: a date and time, "To:", and
 * "cc:" or "Subject:". */
bool pm__line_notes_oneline(pm__line l);
/* "Subject:" followed by a tab: how Outlook writes its header fields; a
 * lone one is what is left of a forwarded header. */
bool pm__line_subject_tab(pm__line l);
/* Starts (after spaces) with a lower-case ASCII letter. */
bool pm__line_lowercase_start(pm__line l);
/* A quoted line: first non-space character '>' or '＞'. */
bool pm__line_quote(pm__line l);
/* Only '-', '_', '=', '*', '~' (five or more) and spaces. */
bool pm__line_separator(pm__line l);
/* A Lotus Notes date line such as "10/26/2000 12:06 PM". */
bool pm__line_notes_date(pm__line l);
/* "-----Original Message-----", "---------- Forwarded message ---------",
 * "----- Forwarded by ...", "Begin forwarded message:",
 * "-----元のメッセージ-----" and the like: everything from here on is someone
 * else's. */
bool pm__line_cut_marker(pm__line l);
/* The PM__KEY_* of a reply-header line ("From: ...", "\tSent:\t...",
 * "差出人： ..."), or 0. */
unsigned pm__line_header_key(pm__line l);
/* A line that may continue a wrapped reply-header field (addresses, a
 * Notes date): holds '@', ',', ';', '/', '<' or '[', or is indented. */
bool pm__line_header_cont(pm__line l);
/* Could be the name line of a Lotus Notes reply header: short, not ending
 * like a sentence. */
bool pm__line_notes_name(pm__line l);
/* An indented Lotus Notes header line that holds "From:" after a company
 * name ("\tEnron Corp.  From:  Jane Doe   10/26/2000 12:06 PM"). */
bool pm__line_notes_from(pm__line l);
/* Notes' "Please respond to ..." line, between the date and To:. */
bool pm__line_notes_respond(pm__line l);
/* Length in bytes of the line without surrounding whitespace. */
size_t pm__line_notes_name_len(pm__line l);
/* Indented (tab or two spaces). */
bool pm__line_indented(pm__line l);
/* An attribution line ("On ... wrote:", "... さんは書きました:",
 * "...のメッセージ:"): 0 none, 1 weak ("Bob wrote:"), 2 strong (has a date, an
 * address or the "On ..." form, so it cannot be ordinary prose). */
int pm__line_attribution(pm__line l);
/* Could be the first half of an attribution wrapped over two lines (starts
 * with "On ", or holds a date or an address, and does not end like a
 * sentence). */
bool pm__line_attribution_head(pm__line l);
/* Starts with "On " / "Le " / "Am ": an attribution that does not continue
 * the line before it. */
bool pm__line_attribution_self(pm__line l);
/* "In <message-id>": the first line of a Mew or Wanderlust attribution
 * (then '"Subject" on date,' and 'Name <addr> wrote:'). */
bool pm__line_mew_in(pm__line l);
/* Reads like an attribution whose "wrote:" was lost or never written
 * (Gmail's Japanese "2014年1月29日 12:13 Name <addr>:"): short, with a date
 * and an address. Only trusted when quoted lines follow. */
bool pm__line_attribution_loose(pm__line l);
/* "<Embedded StdOleLink>", "<< File: x.ppt >>", "[image: ...]",
 * " - report.xls"... */
bool pm__line_placeholder(pm__line l);

/* Disclaimer test for the paragraph of lines [a, b) of t (none blank):
 * true when it opens like a legal notice and holds enough of its
 * vocabulary. */
bool pm__para_disclaimer(const pm__lines *t, size_t a, size_t b);
/* Whether a paragraph that follows a disclaimer continues it (holds its
 * vocabulary, or is only separators). */
bool pm__para_disclaimer_tail(const pm__lines *t, size_t a, size_t b);

#endif
