/* Check suite: the mail module (pm_mail_parse and its accessors).
 *
 * Fixtures under tests/fixtures/mail/ are mails written for these tests
 * (make_fixtures.py there says how their bytes were made); the bad inputs
 * are generated here. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "penmark/mail.h"
#include "support.h"

/* ---- helpers ---- */

/* An independent UTF-8 check (not the library's): strict, no NUL. */
static int utf8_ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t k;
    unsigned min;
    if (c == 0)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      k = 1, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, min = 0x10000;
    } else {
      return 0;
    }
    unsigned v = c & (0x3F >> k);
    for (size_t j = 1; j <= k; j++) {
      if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
        return 0;
      v = (v << 6) | (p[i + j] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return 0;
    i += k + 1;
  }
  return 1;
}

/* Checks the invariants every parsed mail keeps. */
static void check_mail(const pm_mail *m) {
  size_t n, bn;
  const char *own = pm_mail_own_text(m, &n);
  const char *body = pm_mail_body_text(m, &bn);
  ck_assert_ptr_nonnull(own);
  ck_assert_ptr_nonnull(body);
  ck_assert_uint_eq(strlen(own), n);
  ck_assert_uint_eq(strlen(body), bn);
  ck_assert_msg(utf8_ok(own, n), "own text is not valid UTF-8");
  ck_assert_msg(utf8_ok(body, bn), "body text is not valid UTF-8");
  const char *strs[] = {pm_mail_sender(m), pm_mail_display_name(m),
                        pm_mail_subject(m), pm_mail_message_id(m)};
  for (size_t i = 0; i < 4; i++) {
    ck_assert_ptr_nonnull(strs[i]);
    ck_assert(utf8_ok(strs[i], strlen(strs[i])));
  }
  /* Own text never ends in whitespace, never starts with a blank line. */
  if (n) {
    ck_assert(own[n - 1] != '\n' && own[n - 1] != ' ' && own[n - 1] != '\t');
    ck_assert(own[0] != '\n');
  }
}

static pm_mail *parse_bytes(const char *data, size_t len) {
  pm_mail *m = NULL;
  pm_error err;
  pm_status rc = pm_mail_parse(data, len, NULL, &m, &err);
  ck_assert_msg(rc == PM_OK, "parse: %s", pm_error_message(&err));
  ck_assert_ptr_nonnull(m);
  check_mail(m);
  return m;
}

static pm_mail *parse_fixture(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "mail/%s", name);
  size_t len;
  char *data = pm_test_read_fixture(path, &len);
  pm_mail *m = parse_bytes(data, len);
  free(data);
  return m;
}

static pm_status parse_status(const char *data, size_t len,
                              const pm_mail_limits *lim, pm_error *err) {
  pm_mail *m = NULL;
  pm_status rc = pm_mail_parse(data, len, lim, &m, err);
  if (rc == PM_OK) {
    check_mail(m);
    pm_mail_free(m);
  } else {
    ck_assert_ptr_null(m);
  }
  return rc;
}

#define OWN(m) pm_mail_own_text((m), NULL)
#define HAS(hay, needle) (strstr((hay), (needle)) != NULL)

/* ---- charsets ---- */

START_TEST(iso2022jp_with_nec_extension) {
  pm_mail *m = parse_fixture("iso2022jp.eml");
  ck_assert_str_eq(OWN(m),
                   "山田様\n\nいつもお世話になっております。\n"
                   "来週の打ち合わせは水曜日の午後でいかがでしょうか。\n"
                   "資料は①の順にお送りします。\n\n"
                   "よろしくお願いいたします。\n\n鈴木 花子");
  ck_assert_str_eq(pm_mail_sender(m), "hanako.suzuki@kumo-shoji.example.jp");
  ck_assert_str_eq(pm_mail_display_name(m), "鈴木 花子");
  ck_assert_str_eq(pm_mail_subject(m), "打ち合わせの日程");
  ck_assert_str_eq(pm_mail_message_id(m),
                   "20230314100500.4711@kumo-shoji.example.jp");
  ck_assert_int_eq(pm_mail_date(m), 1678755900); /* 2023-03-14 01:05 UTC */
  ck_assert_uint_eq(pm_mail_flags(m), 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(shift_jis_base64_crlf) {
  pm_mail *m = parse_fixture("sjis_base64.eml");
  ck_assert_str_eq(OWN(m), "佐藤さん\n\n見積書を確認しました。"
                           "①の項目だけ修正をお願いします。\n\n高橋");
  ck_assert_str_eq(pm_mail_display_name(m), "高橋 次郎");
  ck_assert_str_eq(pm_mail_subject(m), "見積書の件");
  ck_assert_uint_eq(pm_mail_flags(m), 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(euc_jp_8bit) {
  pm_mail *m = parse_fixture("eucjp.eml");
  ck_assert_str_eq(OWN(m), "皆様\n\n明日の会議は十時からです。"
                           "会議室は三階に変更になりました。\n\n総務部 中村");
  ck_assert_str_eq(pm_mail_subject(m), "会議室の変更");
  ck_assert_str_eq(pm_mail_display_name(m), "");
  pm_mail_free(m);
}
END_TEST

START_TEST(windows1252_quoted_printable) {
  pm_mail *m = parse_fixture("cp1252_qp.eml");
  ck_assert_str_eq(OWN(m), "Hi Tom,\n\nThe \u201cnew\u201d pricing sheet is "
                           "attached \u2013 it\u2019s the one we discussed "
                           "at the caf\u00e9.  Let me know.\n\nRen\u00e9e");
  ck_assert_str_eq(pm_mail_display_name(m), "Ren\u00e9e Dupont");
  ck_assert_str_eq(pm_mail_subject(m), "Pricing \u201cv2\u201d");
  ck_assert_int_eq(pm_mail_date(m), 1677849300);
  pm_mail_free(m);
}
END_TEST

START_TEST(us_ascii_label_read_as_1252) {
  pm_mail *m = parse_fixture("ascii_label_1252.eml");
  ck_assert_str_eq(OWN(m), "That\u2019s fine \u2013 see you Monday.");
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_INVALID_UTF8, 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(shift_jis_labelled_utf8) {
  pm_mail *m = parse_fixture("sjis_as_utf8.eml");
  ck_assert_str_eq(OWN(m), "小川です。明日はお休みをいただきます。");
  ck_assert(pm_mail_flags(m) & PM_MAIL_CHARSET_GUESSED);
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_INVALID_UTF8, 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(utf8_labelled_latin1) {
  pm_mail *m = parse_fixture("utf8_as_latin1.eml");
  ck_assert_str_eq(OWN(m), "Cr\u00e8me br\u00fbl\u00e9e for dessert "
                           "\u2014 Zo\u00eb");
  ck_assert(pm_mail_flags(m) & PM_MAIL_CHARSET_GUESSED);
  pm_mail_free(m);
}
END_TEST

START_TEST(rfc2047_q_and_folded_b) {
  pm_mail *m = parse_fixture("rfc2047.eml");
  ck_assert_str_eq(pm_mail_sender(m), "j.mueller@example.de");
  ck_assert_str_eq(pm_mail_display_name(m), "J\u00fcrgen M\u00fcller");
  ck_assert_str_eq(pm_mail_subject(m), "\u00dcber das Projekt and more");
  ck_assert_str_eq(pm_mail_message_id(m), "abc.123@example.de");
  ck_assert_str_eq(OWN(m), "Hallo zusammen,\n\nkurzer Stand zum Projekt.\n\n"
                           "Gru\u00df\nJ\u00fcrgen");
  pm_mail_free(m);
}
END_TEST

START_TEST(raw_8bit_headers) {
  /* No RFC 2047 words: the header block is decoded as one text. */
  const char latin[] = "From: Jos\xe9 Ruiz <jose@example.com>\n"
                       "Subject: caf\xe9 cr\xe8me\n\nhola\n";
  pm_mail *m = parse_bytes(latin, sizeof latin - 1);
  ck_assert_str_eq(pm_mail_display_name(m), "Jos\u00e9 Ruiz");
  ck_assert_str_eq(pm_mail_subject(m), "caf\u00e9 cr\u00e8me");
  pm_mail_free(m);
  const char sjis[] = "From: \x8d\x82\x8b\xb4 <t@example.jp>\n"
                      "Subject: \x8c\xa9\x90\xcf\x8f\x91\x82\xcc\x8c\x8f\n"
                      "Content-Type: text/plain; charset=shift_jis\n\n"
                      "\x82\xb1\x82\xf1\n";
  m = parse_bytes(sjis, sizeof sjis - 1);
  ck_assert_str_eq(pm_mail_display_name(m), "高橋");
  ck_assert_str_eq(pm_mail_subject(m), "見積書の件");
  ck_assert_str_eq(OWN(m), "こん");
  pm_mail_free(m);
}
END_TEST

START_TEST(invalid_utf8_becomes_replacement) {
  const char mail[] = "From: a@example.com\nContent-Type: text/plain; "
                      "charset=utf-8\n\nna\xc3\xafve caf\xc3\xa9 \xe2\x82 "
                      "ok \xc0\xaf \xed\xa0\x80 end\n";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "na\u00efve caf\u00e9 \ufffd ok \ufffd\ufffd "
                           "\ufffd\ufffd\ufffd end");
  ck_assert(pm_mail_flags(m) & PM_MAIL_INVALID_UTF8);
  pm_mail_free(m);
}
END_TEST

START_TEST(nul_bytes_in_text) {
  const char mail[] = "From: a@example.com\nSubject: n\0l\n\nbefore\0after\n"
                      "second line\0\n";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "before\ufffdafter\nsecond line\ufffd");
  ck_assert(pm_mail_flags(m) & PM_MAIL_INVALID_UTF8);
  pm_mail_free(m);
}
END_TEST

/* ---- structure ---- */

START_TEST(html_only_detagged) {
  pm_mail *m = parse_fixture("html_only.eml");
  ck_assert_str_eq(OWN(m), "Hi Sam,\n\nThe numbers look right.  Two things:\n"
                           "Q3 travel is \u20ac1,200 & not \u20ac2,100\n"
                           "Caf\u00e9 costs go under \"other\" \u2014 ok?\n"
                           "Thanks,\nPriya");
  unsigned f = pm_mail_flags(m);
  ck_assert(f & PM_MAIL_HTML);
  ck_assert(f & PM_MAIL_QUOTE_CUT);
  const char *body = pm_mail_body_text(m, NULL);
  ck_assert(!HAS(body, "not text") && !HAS(body, "hidden") &&
            !HAS(body, "margin"));
  ck_assert(HAS(body, "> Can you check the budget before Friday?"));
  pm_mail_free(m);
}
END_TEST

START_TEST(alternative_prefers_plain) {
  pm_mail *m = parse_fixture("alternative.eml");
  ck_assert_str_eq(OWN(m), "Team,\n\nDock 4 is closed Tuesday.  Use dock 2."
                           "\n\nOwen");
  ck_assert_str_eq(pm_mail_sender(m),
                   "owen.blake@harbor-freight-lines.example");
  ck_assert_str_eq(pm_mail_display_name(m), "Owen Blake");
  ck_assert_str_eq(pm_mail_message_id(m), "dock-2023-03-06@harbor.example");
  ck_assert_uint_eq(pm_mail_flags(m), 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(nested_mixed_skips_attachments) {
  pm_mail *m = parse_fixture("mixed_nested.eml");
  ck_assert_str_eq(OWN(m), "Hello,\n\nplease find invoice 2023-114 attached "
                           "(\u20ac 4.250,00).\n\nBest regards,\nLena");
  ck_assert(!HAS(pm_mail_body_text(m, NULL), "ATTACHED TEXT"));
  pm_mail_free(m);
}
END_TEST

START_TEST(truncated_multipart) {
  const char mail[] = "From: a@example.com\nContent-Type: multipart/mixed; "
                      "boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\n"
                      "first part text\n--XYZ\nContent-Type: text/html\n\n<p>"
                      "cut off here";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "first part text");
  pm_mail_free(m);
  /* Cut inside the only text part: what is there is read. */
  const char mail2[] = "From: a@example.com\nContent-Type: multipart/mixed; "
                       "boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\n"
                       "no closing boundary at all";
  m = parse_bytes(mail2, sizeof mail2 - 1);
  ck_assert_str_eq(OWN(m), "no closing boundary at all");
  pm_mail_free(m);
}
END_TEST

START_TEST(no_text_part) {
  const char mail[] =
      "From: a@example.com\nContent-Type: multipart/mixed; "
      "boundary=B\n\n--B\nContent-Type: image/png\n"
      "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--B--\n";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "");
  ck_assert(pm_mail_flags(m) & PM_MAIL_NO_TEXT_PART);
  pm_mail_free(m);
}
END_TEST

START_TEST(headers_only_mail) {
  const char mail[] = "From: Ann Lee <ann@example.com>\nSubject: (empty)\n";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "");
  ck_assert_str_eq(pm_mail_sender(m), "ann@example.com");
  ck_assert_str_eq(pm_mail_subject(m), "(empty)");
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_NO_HEADERS, 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(mbox_from_line_and_crlf) {
  const char mail[] = "From ann@example.com Mon Jan  2 10:00:00 2023\r\n"
                      "From: ann@example.com\r\nSubject: hi\r\n\r\n"
                      "Line one\r\nLine two\r\n\r\n";
  pm_mail *m = parse_bytes(mail, sizeof mail - 1);
  ck_assert_str_eq(OWN(m), "Line one\nLine two");
  ck_assert_str_eq(pm_mail_sender(m), "ann@example.com");
  pm_mail_free(m);
}
END_TEST

/* ---- reply formats ---- */

START_TEST(outlook_reply) {
  pm_mail *m = parse_fixture("outlook_reply.eml");
  ck_assert_str_eq(OWN(m), "Victor,\n\nI'm fine with the revised numbers.  "
                           "Send them to Dana when ready.\n\nGwen");
  ck_assert_str_eq(pm_mail_display_name(m), "Carter, Gwen");
  ck_assert(pm_mail_flags(m) & PM_MAIL_QUOTE_CUT);
  pm_mail_free(m);
}
END_TEST

START_TEST(gmail_reply_wrapped_attribution) {
  pm_mail *m = parse_fixture("gmail_reply.eml");
  ck_assert_str_eq(OWN(m), "Hi Maria,\n\nBadge is ready; pick it up at the "
                           "front desk.\n\nCheers,\nJonah\n\n-- \n"
                           "Jonah Weiss | Fernhill Labs\n555-0142");
  pm_mail_free(m);
}
END_TEST

START_TEST(lotus_notes_reply) {
  pm_mail *m = parse_fixture("notes_reply.eml");
  ck_assert_str_eq(OWN(m), "Ellen,\n\nThursday works.  I'll bring the survey "
                           "maps.\n\nWalt");
  ck_assert_int_eq(pm_mail_date(m), 972588600);
  pm_mail_free(m);
}
END_TEST

START_TEST(forwarded_blocks) {
  pm_mail *m = parse_fixture("forwarded.eml");
  ck_assert_str_eq(OWN(m), "FYI - see below.  Can you handle it?\n\nAda");
  pm_mail_free(m);
  m = parse_fixture("notes_forward.eml");
  ck_assert_str_eq(OWN(m), "Rain,\n\nPlease sign me up for the Friday class.  "
                           "Thanks,\n\nHal");
  pm_mail_free(m);
}
END_TEST

START_TEST(signature_kept_disclaimer_cut) {
  pm_mail *m = parse_fixture("disclaimer.eml");
  ck_assert_str_eq(OWN(m), "Dear Mr. Pike,\n\nThe filing went in this "
                           "morning.  We expect a reply within 30 days.\n\n"
                           "Kind regards,\nIrene Holt\nCalder & Holt LLP\n"
                           "Tel. 555-0199");
  ck_assert(pm_mail_flags(m) & PM_MAIL_DISCLAIMER_CUT);
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_QUOTE_CUT, 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(japanese_reply) {
  pm_mail *m = parse_fixture("ja_reply.eml");
  ck_assert_str_eq(OWN(m), "田中さん\n\nご連絡ありがとうございます。\n"
                           "承知しました。金曜日までに対応します。\n\n小林");
  ck_assert_str_eq(pm_mail_display_name(m), "小林 誠");
  ck_assert_str_eq(pm_mail_subject(m), "Re: 先日の件");
  unsigned f = pm_mail_flags(m);
  ck_assert(f & PM_MAIL_QUOTE_CUT);
  ck_assert(f & PM_MAIL_DISCLAIMER_CUT);
  pm_mail_free(m);
}
END_TEST

START_TEST(japanese_outlook_header_block) {
  pm_mail *m = parse_fixture("ja_outlook.eml");
  ck_assert_str_eq(OWN(m), "各位\n\n了解です。資料は共有フォルダに置きました。"
                           "\n\n伊藤");
  ck_assert_str_eq(pm_mail_subject(m), "RE: 資料の場所");
  pm_mail_free(m);
}
END_TEST

START_TEST(interleaved_reply) {
  pm_mail *m = parse_fixture("interleaved.eml");
  ck_assert_str_eq(OWN(m), "Yes, 10am.\n\nNo, I have two.\n\nBring snacks "
                           "only.\n\nNora");
  pm_mail_free(m);
}
END_TEST

/* ---- plain-text inputs ---- */

START_TEST(list_archive_header_block) {
  pm_mail *m = parse_fixture("list_archive.txt");
  ck_assert_str_eq(OWN(m), "はじめまして。  \n青木と申します。Rubyは初心者"
                           "ですが、参加させてください。\n\n"
                           "よろしくお願いします。");
  ck_assert_str_eq(pm_mail_sender(m), "mika\\_aoki@e...");
  ck_assert_int_eq(pm_mail_date(m), 1404691200); /* 2014-07-07 UTC */
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_NO_HEADERS, 0);
  pm_mail_free(m);
}
END_TEST

START_TEST(body_without_headers) {
  pm_mail *m = parse_fixture("body_only.txt");
  ck_assert_str_eq(OWN(m), "春の朝\n\n窓を開けると、冷たい風が部屋に入って"
                           "きた。\n彼女は黙って外を見ていた。");
  ck_assert(pm_mail_flags(m) & PM_MAIL_NO_HEADERS);
  ck_assert_str_eq(pm_mail_sender(m), "");
  ck_assert_int_eq(pm_mail_date(m), 0);
  pm_mail_free(m);
  /* Prose whose first line happens to look like a field is still prose. */
  const char text[] = "Note: this is a memo\nwith a second line\n\nand more\n";
  m = parse_bytes(text, sizeof text - 1);
  ck_assert(pm_mail_flags(m) & PM_MAIL_NO_HEADERS);
  ck_assert_str_eq(OWN(m), "Note: this is a memo\nwith a second line\n\n"
                           "and more");
  pm_mail_free(m);
}
END_TEST

/* ---- refusals and limits ---- */

START_TEST(empty_and_whitespace_refused) {
  pm_error err;
  ck_assert_int_eq(parse_status("", 0, NULL, &err), PM_NOTMAIL);
  ck_assert_str_eq(err.msg, "empty input");
  ck_assert_int_eq(parse_status(" \r\n\t\n ", 6, NULL, &err), PM_NOTMAIL);
  ck_assert_str_eq(err.msg, "empty input");
  ck_assert_int_eq(parse_status(NULL, 0, NULL, &err), PM_NOTMAIL);
}
END_TEST

START_TEST(bad_arguments) {
  pm_error err;
  pm_mail *m = NULL;
  ck_assert_int_eq(pm_mail_parse("x", 1, NULL, NULL, &err), PM_INVAL);
  ck_assert_int_eq(pm_mail_parse(NULL, 5, NULL, &m, &err), PM_INVAL);
  ck_assert_int_eq(pm_mail_parse("x", 1, NULL, NULL, NULL), PM_INVAL);
  pm_mail_free(NULL);
  ck_assert_str_eq(pm_mail_own_text(NULL, NULL), "");
  ck_assert_str_eq(pm_mail_sender(NULL), "");
  ck_assert_int_eq(pm_mail_date(NULL), 0);
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  ck_assert_uint_eq(lim.max_bytes, (size_t)64 << 20);
  ck_assert_uint_eq(lim.max_text_bytes, (size_t)1 << 20);
  ck_assert_uint_eq(lim.max_parts, 1000);
  ck_assert_uint_eq(lim.max_depth, 32);
  pm_mail_limits_default(NULL);
}
END_TEST

static char *random_bytes(size_t n, unsigned seed) {
  char *b = malloc(n);
  ck_assert_ptr_nonnull(b);
  uint64_t x = 0x9E3779B97F4A7C15ull ^ seed;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    b[i] = (char)(x >> 24);
  }
  return b;
}

START_TEST(random_binary_refused) {
  size_t n = 1u << 20;
  char *b = random_bytes(n, 42);
  pm_error err;
  ck_assert_int_eq(parse_status(b, n, NULL, &err), PM_NOTMAIL);
  ck_assert_msg(HAS(err.msg, "binary data") && HAS(err.msg, "control bytes"),
                "%s", err.msg);
  /* The same junk behind a header block is a (strange) mail: no crash,
   * valid UTF-8 out. */
  const char hdr[] = "From: x@example.com\nSubject: junk\n\n";
  char *mail = malloc(sizeof hdr - 1 + n);
  ck_assert_ptr_nonnull(mail);
  memcpy(mail, hdr, sizeof hdr - 1);
  memcpy(mail + sizeof hdr - 1, b, n);
  ck_assert_int_eq(parse_status(mail, sizeof hdr - 1 + n, NULL, &err), PM_OK);
  free(mail);
  free(b);
}
END_TEST

START_TEST(too_big_refused) {
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  lim.max_bytes = 100;
  char buf[200];
  memset(buf, 'a', sizeof buf);
  memcpy(buf, "From: a@b.example\n\n", 19);
  pm_error err;
  ck_assert_int_eq(parse_status(buf, sizeof buf, &lim, &err), PM_TOOBIG);
  ck_assert_msg(HAS(err.msg, "200 bytes") && HAS(err.msg, "100"), "%s",
                err.msg);
}
END_TEST

START_TEST(own_text_truncated_on_char_boundary) {
  pm_mail_limits lim;
  pm_mail_limits_default(&lim);
  lim.max_text_bytes = 100;
  char mail[4096] = "From: a@example.com\nContent-Type: text/plain; "
                    "charset=utf-8\n\n";
  for (int i = 0; i < 60; i++)
    strcat(mail, "あ"); /* 3 bytes each: 100 is not a boundary */
  pm_mail *m = NULL;
  pm_error err;
  ck_assert_int_eq(pm_mail_parse(mail, strlen(mail), &lim, &m, &err), PM_OK);
  check_mail(m);
  size_t n;
  pm_mail_own_text(m, &n);
  ck_assert_uint_eq(n, 99);
  ck_assert(pm_mail_flags(m) & PM_MAIL_TRUNCATED);
  pm_mail_free(m);
}
END_TEST

/* A 30 MB mail: bounded time, no crash, truncated own text. */
START_TEST(thirty_megabyte_mail) {
  size_t target = (size_t)30 << 20, n = 0;
  char *mail = malloc(target + 256);
  ck_assert_ptr_nonnull(mail);
  n += (size_t)sprintf(mail, "From: big@example.com\nSubject: big\n"
                             "Content-Type: text/plain; charset=utf-8\n\n");
  const char *line = "The quick brown fox jumps over the lazy dog, "
                     "\xe7\x8a\xac\xe3\x81\xa8\xe7\x8c\xab.\n";
  size_t ll = strlen(line);
  while (n + ll < target) {
    memcpy(mail + n, line, ll);
    n += ll;
  }
  time_t t0 = time(NULL);
  pm_mail *m = parse_bytes(mail, n);
  size_t own;
  pm_mail_own_text(m, &own);
  ck_assert_uint_le(own, (size_t)1 << 20);
  ck_assert(pm_mail_flags(m) & PM_MAIL_TRUNCATED);
  size_t body;
  pm_mail_body_text(m, &body);
  ck_assert_uint_ge(body, target - 1024);
  pm_mail_free(m);
  ck_assert_int_lt(time(NULL) - t0, 120);
  free(mail);
}
END_TEST

START_TEST(huge_single_line_and_blank_lines) {
  size_t n = (size_t)20 << 20;
  const char hdr[] = "From: a@example.com\nSubject: x\n\nstart\n";
  char *mail = malloc(sizeof hdr + n);
  ck_assert_ptr_nonnull(mail);
  memcpy(mail, hdr, sizeof hdr - 1);
  memset(mail + sizeof hdr - 1, 'x', n); /* one line, no "\n" */
  pm_mail *m = parse_bytes(mail, sizeof hdr - 1 + n);
  ck_assert(pm_mail_flags(m) & PM_MAIL_TRUNCATED);
  pm_mail_free(m);
  memset(mail + sizeof hdr - 1, '\n', n); /* twenty million blank lines */
  m = parse_bytes(mail, sizeof hdr - 1 + n);
  ck_assert_str_eq(OWN(m), "start");
  pm_mail_free(m);
  free(mail);
}
END_TEST

/* n nested multiparts, the text at the bottom. */
static char *nested_multipart(int n, size_t *len) {
  size_t cap = (size_t)n * 120 + 256, k = 0;
  char *b = malloc(cap);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "From: deep@example.com\nSubject: deep\n"
                          "MIME-Version: 1.0\n");
  for (int i = 0; i < n; i++)
    k += (size_t)sprintf(b + k,
                         "Content-Type: multipart/mixed; "
                         "boundary=\"b%d\"\n\n--b%d\n",
                         i, i);
  k += (size_t)sprintf(b + k, "Content-Type: text/plain\n\nbottom text\n");
  for (int i = n - 1; i >= 0; i--)
    k += (size_t)sprintf(b + k, "--b%d--\n", i);
  *len = k;
  return b;
}

START_TEST(ten_thousand_nested_parts) {
  size_t len;
  char *mail = nested_multipart(10000, &len);
  pm_mail *m = parse_bytes(mail, len);
  ck_assert(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT);
  pm_mail_free(m);
  free(mail);
  /* Within the depth limit the text at the bottom is found. */
  mail = nested_multipart(20, &len);
  m = parse_bytes(mail, len);
  ck_assert_str_eq(OWN(m), "bottom text");
  ck_assert_uint_eq(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT, 0);
  pm_mail_free(m);
  free(mail);
}
END_TEST

START_TEST(ten_thousand_nested_messages) {
  size_t cap = 10000 * 64 + 256, k = 0;
  char *b = malloc(cap);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "From: deep@example.com\nSubject: outer\n");
  for (int i = 0; i < 10000; i++)
    k += (size_t)sprintf(b + k, "Content-Type: message/rfc822\n\n"
                                "Subject: inner\n");
  k += (size_t)sprintf(b + k, "Content-Type: text/plain\n\nbottom\n");
  pm_mail *m = parse_bytes(b, k);
  ck_assert(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT);
  ck_assert_str_eq(pm_mail_subject(m), "outer");
  pm_mail_free(m);
  free(b);
}
END_TEST

START_TEST(ten_thousand_flat_parts) {
  size_t cap = 10000 * 48 + 512, k = 0;
  char *b = malloc(cap);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "From: many@example.com\nContent-Type: "
                          "multipart/mixed; boundary=P\n\n--P\nContent-Type: "
                          "text/plain\n\nfirst\n");
  for (int i = 0; i < 10000; i++)
    k += (size_t)sprintf(b + k, "--P\nContent-Type: text/plain\n\n%d\n", i);
  k += (size_t)sprintf(b + k, "--P--\n");
  pm_mail *m = parse_bytes(b, k);
  ck_assert_str_eq(OWN(m), "first");
  ck_assert(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT);
  pm_mail_free(m);
  free(b);
}
END_TEST

START_TEST(huge_header_block) {
  size_t n = (size_t)8 << 20, k = 0;
  char *b = malloc(n + 256);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "From: h@example.com\nSubject: many fields\n");
  while (k < n)
    k += (size_t)sprintf(b + k, "X-Junk: %zu\n", k);
  k += (size_t)sprintf(b + k, "\nthe body\n");
  pm_mail *m = parse_bytes(b, k);
  ck_assert_str_eq(OWN(m), "the body");
  ck_assert_str_eq(pm_mail_subject(m), "many fields");
  ck_assert(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT);
  pm_mail_free(m);
  free(b);
}
END_TEST

/* A mail padded with header fields so that its From: comes after the
 * 256 KiB that are read: the claimed sender must survive the cut, or an
 * impostor could pad the headers to be left unjudged. */
#define PLAIN "\nthe body\n"
static char *padded_headers(const char *before, const char *after,
                            const char *body, size_t *len) {
  size_t n = (size_t)1 << 20, k = 0;
  char *b = malloc(n + 1024);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "%sSubject: padded\n", before);
  while (k < n)
    k += (size_t)sprintf(b + k, "X-Pad: %zu\n", k);
  k += (size_t)sprintf(b + k, "%sX-After: 1\n%s", after, body);
  *len = k;
  return b;
}

START_TEST(from_after_header_padding) {
  size_t len;
  char *b = padded_headers("", "From: \"Ann Lee\" <Ann.Lee@Example.com>\n",
                           PLAIN, &len);
  pm_mail *m = parse_bytes(b, len);
  ck_assert_str_eq(pm_mail_sender(m), "ann.lee@example.com");
  ck_assert_str_eq(pm_mail_display_name(m), "Ann Lee");
  ck_assert_str_eq(OWN(m), "the body");
  ck_assert(pm_mail_flags(m) & PM_MAIL_PARTS_LIMIT);
  pm_mail_free(m);
  free(b);
  /* Behind a multipart Content-Type. */
  b = padded_headers("MIME-Version: 1.0\n"
                     "Content-Type: multipart/mixed; boundary=b\n",
                     "From: ann@example.com\n",
                     "\n--b\nContent-Type: text/plain\n\n"
                     "the body\n--b--\n",
                     &len);
  m = parse_bytes(b, len);
  ck_assert_str_eq(pm_mail_sender(m), "ann@example.com");
  ck_assert_str_eq(OWN(m), "the body");
  pm_mail_free(m);
  free(b);
  /* Folded, with blanks before the colon. */
  b = padded_headers("", "FROM :\n  ann@example.com\n", PLAIN, &len);
  m = parse_bytes(b, len);
  ck_assert_str_eq(pm_mail_sender(m), "ann@example.com");
  pm_mail_free(m);
  free(b);
}
END_TEST

START_TEST(padding_keeps_the_first_from) {
  /* The kept part has a From: a second one behind the padding must not
   * replace it. */
  size_t len;
  char *b = padded_headers("From: first@example.com\n",
                           "From: second@example.com\n", PLAIN, &len);
  pm_mail *m = parse_bytes(b, len);
  ck_assert_str_eq(pm_mail_sender(m), "first@example.com");
  pm_mail_free(m);
  free(b);
  /* A From: line in an attached part's padded block is not the mail's. */
  size_t n = (size_t)1 << 20, k = 0;
  b = malloc(n + 1024);
  ck_assert_ptr_nonnull(b);
  k += (size_t)sprintf(b, "Subject: s\nMIME-Version: 1.0\n"
                          "Content-Type: multipart/mixed; boundary=b\n\n"
                          "--b\nContent-Type: text/plain\n");
  while (k < n)
    k += (size_t)sprintf(b + k, "X-Pad: %zu\n", k);
  k += (size_t)sprintf(b + k, "From: part@example.com\n\nthe body\n--b--\n");
  m = parse_bytes(b, k);
  ck_assert_str_eq(pm_mail_sender(m), "");
  pm_mail_free(m);
  free(b);
}
END_TEST

/* Deep nesting parsed on a thread with a small stack: GMime's recursion
 * must stay within the depth limit. */
static void *parse_deep(void *arg) {
  size_t len;
  char *mail = nested_multipart(10000, &len);
  pm_mail *m = NULL;
  pm_status rc = pm_mail_parse(mail, len, NULL, &m, NULL);
  pm_mail_free(m);
  free(mail);
  *(pm_status *)arg = rc;
  return NULL;
}

START_TEST(deep_nesting_on_small_stack) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_t t;
  pm_status rc = PM_INTERNAL;
  ck_assert_int_eq(pthread_create(&t, &attr, parse_deep, &rc), 0);
  pthread_join(t, NULL);
  pthread_attr_destroy(&attr);
  ck_assert_int_eq(rc, PM_OK);
}
END_TEST

/* ---- threads ---- */

static const char *const FIXTURES[] = {
    "iso2022jp.eml",     "sjis_base64.eml",      "eucjp.eml",
    "cp1252_qp.eml",     "ascii_label_1252.eml", "html_only.eml",
    "alternative.eml",   "mixed_nested.eml",     "outlook_reply.eml",
    "gmail_reply.eml",   "notes_reply.eml",      "forwarded.eml",
    "notes_forward.eml", "disclaimer.eml",       "ja_reply.eml",
    "ja_outlook.eml",    "sjis_as_utf8.eml",     "utf8_as_latin1.eml",
    "rfc2047.eml",       "interleaved.eml",      "list_archive.txt",
    "body_only.txt"};
#define NFIX (sizeof FIXTURES / sizeof FIXTURES[0])

typedef struct {
  char *data[NFIX];
  size_t len[NFIX];
  char *result[NFIX]; /* own text + header fields, one string */
  int rounds;
  int failed;
} thread_job;

static char *describe(const char *data, size_t len) {
  pm_mail *m = NULL;
  if (pm_mail_parse(data, len, NULL, &m, NULL) != PM_OK)
    return NULL;
  const char *own = pm_mail_own_text(m, NULL);
  size_t n = strlen(own) + 512 + strlen(pm_mail_subject(m));
  char *s = malloc(n);
  if (s)
    snprintf(s, n, "%s|%s|%s|%s|%lld|%u|%s", pm_mail_sender(m),
             pm_mail_display_name(m), pm_mail_subject(m), pm_mail_message_id(m),
             (long long)pm_mail_date(m), pm_mail_flags(m), own);
  pm_mail_free(m);
  return s;
}

static void *thread_main(void *arg) {
  thread_job *job = arg;
  for (int r = 0; r < job->rounds; r++)
    for (size_t i = 0; i < NFIX; i++) {
      char *s = describe(job->data[i], job->len[i]);
      if (!s || strcmp(s, job->result[i]) != 0)
        job->failed++;
      free(s);
    }
  return NULL;
}

START_TEST(two_threads_same_results) {
  thread_job job = {.rounds = 20};
  for (size_t i = 0; i < NFIX; i++) {
    char path[256];
    snprintf(path, sizeof path, "mail/%s", FIXTURES[i]);
    job.data[i] = pm_test_read_fixture(path, &job.len[i]);
    job.result[i] = describe(job.data[i], job.len[i]);
    ck_assert_ptr_nonnull(job.result[i]);
  }
  thread_job a = job, b = job;
  pthread_t ta, tb;
  ck_assert_int_eq(pthread_create(&ta, NULL, thread_main, &a), 0);
  ck_assert_int_eq(pthread_create(&tb, NULL, thread_main, &b), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  ck_assert_int_eq(a.failed, 0);
  ck_assert_int_eq(b.failed, 0);
  for (size_t i = 0; i < NFIX; i++) {
    free(job.data[i]);
    free(job.result[i]);
  }
}
END_TEST

static Suite *mail_suite(void) {
  Suite *s = suite_create("mail");
  TCase *c = tcase_create("charsets");
  tcase_add_test(c, iso2022jp_with_nec_extension);
  tcase_add_test(c, shift_jis_base64_crlf);
  tcase_add_test(c, euc_jp_8bit);
  tcase_add_test(c, windows1252_quoted_printable);
  tcase_add_test(c, us_ascii_label_read_as_1252);
  tcase_add_test(c, shift_jis_labelled_utf8);
  tcase_add_test(c, utf8_labelled_latin1);
  tcase_add_test(c, rfc2047_q_and_folded_b);
  tcase_add_test(c, raw_8bit_headers);
  tcase_add_test(c, invalid_utf8_becomes_replacement);
  tcase_add_test(c, nul_bytes_in_text);
  suite_add_tcase(s, c);

  c = tcase_create("structure");
  tcase_add_test(c, html_only_detagged);
  tcase_add_test(c, alternative_prefers_plain);
  tcase_add_test(c, nested_mixed_skips_attachments);
  tcase_add_test(c, truncated_multipart);
  tcase_add_test(c, no_text_part);
  tcase_add_test(c, headers_only_mail);
  tcase_add_test(c, mbox_from_line_and_crlf);
  suite_add_tcase(s, c);

  c = tcase_create("replies");
  tcase_add_test(c, outlook_reply);
  tcase_add_test(c, gmail_reply_wrapped_attribution);
  tcase_add_test(c, lotus_notes_reply);
  tcase_add_test(c, forwarded_blocks);
  tcase_add_test(c, signature_kept_disclaimer_cut);
  tcase_add_test(c, japanese_reply);
  tcase_add_test(c, japanese_outlook_header_block);
  tcase_add_test(c, interleaved_reply);
  suite_add_tcase(s, c);

  c = tcase_create("plain text");
  tcase_add_test(c, list_archive_header_block);
  tcase_add_test(c, body_without_headers);
  suite_add_tcase(s, c);

  c = tcase_create("limits");
  /* Generous: the big inputs run for minutes under valgrind. */
  tcase_set_timeout(c, 1800);
  tcase_add_test(c, empty_and_whitespace_refused);
  tcase_add_test(c, bad_arguments);
  tcase_add_test(c, random_binary_refused);
  tcase_add_test(c, too_big_refused);
  tcase_add_test(c, own_text_truncated_on_char_boundary);
  tcase_add_test(c, thirty_megabyte_mail);
  tcase_add_test(c, huge_single_line_and_blank_lines);
  tcase_add_test(c, ten_thousand_nested_parts);
  tcase_add_test(c, ten_thousand_nested_messages);
  tcase_add_test(c, ten_thousand_flat_parts);
  tcase_add_test(c, huge_header_block);
  tcase_add_test(c, from_after_header_padding);
  tcase_add_test(c, padding_keeps_the_first_from);
  tcase_add_test(c, deep_nesting_on_small_stack);
  suite_add_tcase(s, c);

  c = tcase_create("threads");
  tcase_set_timeout(c, 1800);
  tcase_add_test(c, two_threads_same_results);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  int failed = pm_test_run_suite(mail_suite());
  pm_mail_library_shutdown();
  return failed != 0;
}
