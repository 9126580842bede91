/* Check suite: the mail module's text helpers, charset decoding
 * (features/mail/charset.h) and HTML de-tagging (features/mail/html.h), on their
 * edge cases. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "features/mail/charset.h"
#include "features/mail/html.h"
#include "penmark/mail.h"
#include "support.h"

/* Decodes and checks the text and the flags. */
static void dec(const char *bytes, size_t n, const char *label,
                const char *want, unsigned want_flags) {
  pm__buf out = {0};
  unsigned flags = 0;
  ck_assert(pm__charset_decode(bytes, n, label, &out, &flags));
  const char *got = out.data ? out.data : "";
  ck_assert_msg(strcmp(got, want) == 0, "label %s: got [%s] want [%s]",
                label ? label : "(none)", got, want);
  ck_assert_msg(flags == want_flags, "label %s: flags %#x want %#x",
                label ? label : "(none)", flags, want_flags);
  ck_assert(pm__utf8_valid(got, out.len));
  pm__buf_free(&out);
}

#define DEC(lit, label, want, flags)                                           \
  dec(lit, sizeof lit - 1, label, want, flags)
#define G PM_MAIL_CHARSET_GUESSED
#define I PM_MAIL_INVALID_UTF8

START_TEST(utf8_and_ascii) {
  DEC("plain ascii", "utf-8", "plain ascii", 0);
  DEC("plain ascii", NULL, "plain ascii", 0);
  DEC("plain ascii", "x-no-such-charset", "plain ascii", 0);
  DEC("caf\xc3\xa9", "UTF-8", "caf\u00e9", 0);
  DEC("caf\xc3\xa9", NULL, "caf\u00e9", G); /* no label: a guess */
  /* Overlong, surrogate, cut short: one U+FFFD per maximal subpart. */
  DEC("\xc3\xa9 \xc0\x80 \xed\xa0\x80 \xf0\x9f\x98", "utf-8",
      "\u00e9 \ufffd\ufffd \ufffd\ufffd\ufffd \ufffd", I);
}
END_TEST

START_TEST(latin_labels) {
  DEC("\x93quoted\x94 \x85 \xe9t\xe9", "iso-8859-1",
      "\u201cquoted\u201d \u2026 \u00e9t\u00e9", 0);
  DEC("\x80 \x9f", "windows-1252", "\u20ac \u0178", 0);
  /* The five bytes windows-1252 leaves undefined. */
  DEC("a\x81"
      "b",
      "cp1252", "a\ufffdb", I);
  /* Latin-1 with no label: not mistaken for Shift_JIS ("M\xfcller" is a
   * valid Shift_JIS pair), not for UTF-8. */
  DEC("M\xfcller und Gr\xfc\xdf"
      "e",
      NULL, "M\u00fcller und Gr\u00fc\u00dfe", G);
  /* Latin-1 labelled UTF-8: no valid UTF-8 sequence at all. */
  DEC("Jos\xe9 Mar\xed"
      "a",
      "utf-8", "Jos\u00e9 Mar\u00eda", G);
}
END_TEST

START_TEST(japanese_charsets) {
  /* こんにちは、世界 in Shift_JIS and EUC-JP, no label. */
  DEC("\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd\x81\x41\x90\xa2\x8a\x45", NULL,
      "こんにちは、世界", G);
  DEC("\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf\xa1\xa2\xc0\xa4\xb3\xa6", NULL,
      "こんにちは、世界", G);
  DEC("\xa4\xb3\xa4\xf3\xa4\xcb\xa4\xc1\xa4\xcf", "euc-jp", "こんにちは", 0);
  DEC("\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", "x-sjis", "こんにちは", 0);
  /* Unknown label, ISO-2022-JP bytes. */
  DEC("\x1b$B$3$s$K$A$O\x1b(B!", "x-unknown", "こんにちは!", G);
  /* A line that forgot ESC ( B: the next line is ASCII again. */
  DEC("\x1b$B$3$s\nnext line", "iso-2022-jp", "こん\nnext line", 0);
  /* Junk inside JIS text becomes U+FFFD, the rest survives. */
  DEC("\x1b$B$3\x1b(B \x1b$B$s\x1b(B", "iso-2022-jp", "こ ん", 0);
  DEC("\x1b$B$3\xff$s\x1b(B", "iso-2022-jp", "こ\ufffdん", I);
  /* Shift_JIS labelled EUC-JP. */
  DEC("\x82\xb1\x82\xf1\x82\xc9\x82\xbf\x82\xcd", "euc-jp", "こんにちは", G);
}
END_TEST

START_TEST(other_labels) {
  DEC("\xff\xfeh\0i\0", "utf-16", "hi", 0);
  DEC("\xd0\xd2\xc9\xd7\xc5\xd4", "koi8-r", "привет", 0);
  /* Option syntax is not passed to iconv: the label is unknown. */
  DEC("caf\xc3\xa9", "utf-8//TRANSLIT", "caf\u00e9", G);
  DEC("x\0y", "us-ascii", "x\ufffdy", I);
}
END_TEST

/* ---- HTML ---- */

static void html(const char *in, const char *want) {
  pm__buf out = {0};
  ck_assert(pm__html_to_text(in, strlen(in), &out));
  const char *got = out.data ? out.data : "";
  ck_assert_msg(strcmp(got, want) == 0, "html [%s]:\ngot  [%s]\nwant [%s]", in,
                got, want);
  pm__buf_free(&out);
}

START_TEST(html_blocks_and_whitespace) {
  html("<p>one\n two</p><p>three</p>", "one two\nthree\n");
  html("a<br>b<br/><br />c", "a\nb\n\nc\n");
  html("<div>x</div>\n\n<div><br></div>\n<div>y</div>", "x\n\ny\n");
  html("<ul><li>a</li><li>b</li></ul><h2>T</h2>tail", "a\nb\nT\ntail\n");
  html("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>",
       "1 2\n3\n");
  html("<pre>  keep   this\n    too</pre>after", "  keep   this\n    too\n"
                                                 "after\n");
  html("word &nbsp; &nbsp;word", "word    word\n");
}
END_TEST

START_TEST(html_hidden_content) {
  html("<head><title>T</title><style>p{}</style></head><body>x</body>", "x\n");
  html("a<script>if (a<b) document.write('<p>no</p>')</script>b", "ab\n");
  html("a<SCRIPT type=x>hidden</ScRiPt >b", "ab\n");
  html("a<!-- <p>hidden</p> -->b<!-- unterminated", "ab\n");
  html("a<script>never closed", "a\n");
  html("<head>an unclosed head is ignored", "an unclosed head is ignored\n");
  html("<!DOCTYPE html><?xml x?>ok", "ok\n");
}
END_TEST

START_TEST(html_entities) {
  html("&amp; &lt; &gt; &quot; &apos; &eacute; &euro; &hellip;",
       "& < > \" ' \u00e9 \u20ac \u2026\n");
  html("&#65;&#x42;&#X43; &#8217; &#150; &#0; &#xD800; &#99999999;",
       "ABC \u2019 \u2013 \ufffd \ufffd \ufffd\n");
  html("&amp &lt3 &copy2023 &nosuch; & alone &#;", "& <3 \u00a92023 &nosuch; "
                                                   "& alone &#;\n");
}
END_TEST

START_TEST(html_tags_and_quotes) {
  html("<a href=\"x>y\" title='a>b'>link</a> after", "link after\n");
  html("<img alt=\"unbalanced>text", "text\n");
  html("1 < 2 and 3 <4", "1 < 2 and 3 <4\n");
  html("<blockquote>q1<blockquote>q2</blockquote>back</blockquote>mine",
       "> q1\n> > q2\n> back\nmine\n");
  html("<blockquote>a<br><br>b</blockquote>", "> a\n>\n> b\n");
  html("", "");
}
END_TEST

START_TEST(html_invalid_utf8) {
  pm__buf out = {0};
  const char in[] = "<p>a\xff\xfe"
                    "b</p>";
  ck_assert(pm__html_to_text(in, sizeof in - 1, &out));
  ck_assert_str_eq(out.data, "a\ufffd\ufffdb\n");
  pm__buf_free(&out);
}
END_TEST

static Suite *text_suite(void) {
  Suite *s = suite_create("mail_text");
  TCase *c = tcase_create("charset");
  tcase_add_test(c, utf8_and_ascii);
  tcase_add_test(c, latin_labels);
  tcase_add_test(c, japanese_charsets);
  tcase_add_test(c, other_labels);
  suite_add_tcase(s, c);
  c = tcase_create("html");
  tcase_add_test(c, html_blocks_and_whitespace);
  tcase_add_test(c, html_hidden_content);
  tcase_add_test(c, html_entities);
  tcase_add_test(c, html_tags_and_quotes);
  tcase_add_test(c, html_invalid_utf8);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(text_suite()) != 0;
}
