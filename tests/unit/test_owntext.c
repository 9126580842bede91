/* Check suite: the own-text step alone (pm_own_text), on the quoting forms
 * real clients write. Every text here is made up. */
#include <stdlib.h>
#include <string.h>

#include "penmark/mail.h"
#include "support.h"

/* Runs pm_own_text on s and checks the result and the flags it sets. */
static void expect(const char *in, const char *want, unsigned want_flags) {
  char *out = NULL;
  size_t n = 0;
  unsigned flags = 0xFFFF;
  ck_assert_int_eq(pm_own_text(in, strlen(in), &out, &n, &flags), PM_OK);
  ck_assert_ptr_nonnull(out);
  ck_assert_uint_eq(strlen(out), n);
  ck_assert_msg(strcmp(out, want) == 0, "own text:\n[%s]\nwanted:\n[%s]", out,
                want);
  ck_assert_msg(flags == want_flags, "flags %#x, wanted %#x", flags,
                want_flags);
  free(out);
}

#define Q PM_MAIL_QUOTE_CUT
#define D PM_MAIL_DISCLAIMER_CUT

/* ---- layout ---- */

START_TEST(layout_is_kept) {
  expect("Hi Bo,\n\n  Indented line.  Two spaces.\n\n\nThree blanks above."
         "\n\nBye,\nAl\n",
         "Hi Bo,\n\n  Indented line.  Two spaces.\n\n\nThree blanks above."
         "\n\nBye,\nAl",
         0);
}
END_TEST

START_TEST(line_ends_and_edges_normalised) {
  expect("\r\n\n  \r\nfirst\r\nsecond\rthird\r\n\r\n \t\n\n",
         "first\nsecond\n"
         "third",
         0);
  expect("", "", 0);
  expect(" \n\n\t", "", 0);
}
END_TEST

START_TEST(invalid_input_made_valid) {
  char *out = NULL;
  size_t n;
  const char in[] = "ok \xff\xfe and \xe3\x81 end";
  ck_assert_int_eq(pm_own_text(in, sizeof in - 1, &out, &n, NULL), PM_OK);
  ck_assert_str_eq(out, "ok \ufffd\ufffd and \ufffd end");
  free(out);
  const char nul[] = "a\0b";
  ck_assert_int_eq(pm_own_text(nul, 3, &out, &n, NULL), PM_OK);
  ck_assert_str_eq(out, "a\ufffdb");
  free(out);
  ck_assert_int_eq(pm_own_text(NULL, 0, &out, &n, NULL), PM_OK);
  ck_assert_str_eq(out, "");
  free(out);
  ck_assert_int_eq(pm_own_text("x", 1, NULL, &n, NULL), PM_INVAL);
  ck_assert_int_eq(pm_own_text(NULL, 3, &out, &n, NULL), PM_INVAL);
}
END_TEST

/* ---- Outlook ---- */

START_TEST(outlook_original_message) {
  expect("Sounds good.\n\nKim\n\n    -----Original Message-----\n"
         "From: \tLee, Pat  \nSent:\tMonday, May 1, 2023 9:00 AM\n"
         "To:\tKim, Jo\nSubject:\tlunch\n\nLunch at noon?\n",
         "Sounds good.\n\nKim", Q);
  expect("Yes.\n----- Original Message -----\nFrom: a\nTo: b\n\nq?\n", "Yes.",
         Q);
}
END_TEST

START_TEST(outlook_header_block_without_marker) {
  expect("Will do.\n\n________________________________\nFrom: Pat Lee "
         "<pat@example.com>\nSent: Monday, May 1, 2023 9:00 AM\nTo: Kim Jo "
         "<kim@example.com>\nCc: Ray Dunn <ray@example.com>; Ida Chu\n"
         "<ida@example.com>\nSubject: RE: report\n\nPlease send it.\n",
         "Will do.", Q);
  /* Indented with spaces, as some clients quote it. */
  expect("Thanks\n\n   From: Pat Lee\n   Sent: Monday\n   To: Kim\n"
         "   Subject: x\n\nold text\n",
         "Thanks", Q);
}
END_TEST

START_TEST(header_like_prose_kept) {
  expect("Date: Friday\nTime: 3pm\nPlace: room 4\n\nSee you.",
         "Date: Friday\nTime: 3pm\nPlace: room 4\n\nSee you.", 0);
  expect("From: the desk of Ann\n\nHello all.",
         "From: the desk of Ann\n\n"
         "Hello all.",
         0);
  expect("The meeting is on 5/12.\nBob wrote:\nnothing yet",
         "The meeting is on "
         "5/12.\nBob wrote:\n"
         "nothing yet",
         0);
}
END_TEST

/* ---- Lotus Notes ---- */

START_TEST(notes_reply_header) {
  expect("Fine by me.\n\nDG\n\n\n\nJo Tran@QSC\n10/26/2000 12:06 PM\n"
         "To: Dan Gee/HOU/QSC@QSC\ncc: Al Ray/HOU/QSC@QSC, Bea \n"
         "Cruz/HOU/QSC@QSC\nSubject: Re: dinner\n\nAre we on?\n",
         "Fine by me.\n\nDG", Q);
  /* Name and date indented, To:/cc:/Subject: indented further. */
  expect("Noted.\n\n\n\n\tJo Tran\n\t10/26/2000 12:06 PM\n\t\t\n"
         "\t\t To: Dan Gee/HOU/QSC@QSC\n\t\t cc: \n\t\t Subject: plan\n\n"
         "Old text.\n",
         "Noted.", Q);
  /* "address on date" and "Please respond to" above To:. */
  expect("ok\n\n\"Kim Ode\" <kim@example.com> on 04/03/2001 12:53:24 PM\n"
         "Please respond to kim@example.com\nTo: Dan Gee/HOU/QSC@QSC\ncc:  \n"
         "Subject: girl?\n\nold\n",
         "ok", Q);
  /* The whole header on one line. */
  expect("Thanks.  Al\n\n\t\"Ode, Kim\" <kim@example.com> 06/01/2001 10:36 AM "
         "\t   To: \"Dan\" <dan@example.com>  cc:   Subject: x\t\n\nold\n",
         "Thanks.  Al", Q);
  /* A company line and "From: ... date" above. */
  expect("See you then.\n\n   \n\tQuarry Stone Corp.\n\t\n\tFrom:  Jo Tran "
         "@ QSC                06/12/2000 09:23 \nAM\n\t\n\nTo: Dan Gee/HOU/"
         "QSC@QSC\ncc: \nSubject: visit\n\nold\n",
         "See you then.", Q);
}
END_TEST

START_TEST(notes_forwarded_by) {
  expect("Please file.\n\n---------------------- Forwarded by Dan Gee/HOU/QSC "
         "on 01/25/2001 \n05:51 PM ---------------------------\n\nJo Tran\n\n"
         "01/23/2001 04:27 PM\n\nTo: Dan Gee/HOU/QSC@QSC\ncc:\nSubject: memo"
         "\n\nText.\n",
         "Please file.", Q);
  expect("fyi\n----- Forwarded by Dan Gee/HOU/QSC on 12/07/2000 01:26 PM -----"
         "\n\nold\n",
         "fyi", Q);
}
END_TEST

/* ---- forwards ---- */

START_TEST(forward_markers) {
  expect("See below.\n\n---------- Forwarded message ---------\nFrom: X\n\n"
         "old\n",
         "See below.", Q);
  expect("FYI\n\n-------- Original Message --------\nSubject: x\n\nold\n",
         "FYI", Q);
  expect("Look.\n\nBegin forwarded message:\n\n> From: X\n> old\n", "Look.", Q);
  expect("見てください。\n\n-----Original Message-----\n差出人: 森\n\n古い\n",
         "見てください。", Q);
  expect("転送します。\n\n---------- 転送メッセージ ----------\n古い\n",
         "転送します。", Q);
}
END_TEST

/* ---- attributions and quotes ---- */

START_TEST(on_wrote_forms) {
  expect("Great!\n\nOn Tue, May 2, 2023 at 10:00 AM Pat Lee <pat@example.com> "
         "wrote:\n> Done.\n",
         "Great!", Q);
  /* Wrapped before "wrote:" and inside the address. */
  expect("Great!\n\nOn Tue, May 2, 2023 at 10:00 AM Pat Lee "
         "<pat@example.com>\nwrote:\n\n> Done.\n",
         "Great!", Q);
  expect("Great!\n\nOn Tue, May 2, 2023 at 10:00 AM Pat Lee <\n"
         "pat@example.com> wrote:\n> Done.\n",
         "Great!", Q);
  /* Quotes lost, the original pasted plain: cut all the same. */
  expect("Agreed.\n\nOn 2023-05-02 10:00, Pat Lee wrote:\nDone.\nPat\n",
         "Agreed.", Q);
}
END_TEST

START_TEST(interleaved_quotes) {
  expect("Pat Lee <pat@example.com> wrote:\n> Q1?\nA1.\n> Q2?\n\nA2.\n\n> Q3?"
         "\n\nA3.\n",
         "A1.\n\nA2.\n\nA3.", Q);
  /* The wrapped tail of a long quoted line is not the author's. */
  expect("> This is a long quoted line that the client wrapped badly for "
         "us\nhere.\n> and it goes on\n\nMy answer.\n",
         "My answer.", Q);
}
END_TEST

START_TEST(japanese_attributions) {
  expect("了解です。\n\n2023年4月10日(月) 9:00 田中 一郎 <ichiro@example.jp>"
         "さんは書きました:\n> 先日の件\n",
         "了解です。", Q);
  expect("了解です。\n\n田中さんは書きました：\n\n＞ 先日の件\n", "了解です。",
         Q);
  expect("はい。\n\n2015/04/28 19:27、Akane Mori <akane@example.jp> "
         "のメッセージ:\n\n> 行きますか\n",
         "はい。", Q);
  /* Gmail in Japanese: date, name, address, colon. */
  expect("参加します。\n\n2014年1月29日 12:13 Ko Sasa <ko@example.jp>:\n\n"
         "> 締め切りは土曜です\n",
         "参加します。", Q);
  /* Sparrow. */
  expect(
      "了解。\n\n日付：2012年5月21日月曜日、時刻：14:37、差出人：Rika Ko：\n\n"
      "> 明日？\n",
      "了解。", Q);
  /* Mew: "In <id>", then subject and date, then "wrote:". */
  expect(
      "なるほど。\n\nIn <abc@example.jp>\n  \"[ml:12] Re: x\" on Tue, 22 Oct "
      "2013 10:00:00 +0900,\n  Aki Ito <aki@example.jp> wrote:\n\n> 質問です"
      "\n\n答えです。\n",
      "なるほど。\n\n答えです。", Q);
}
END_TEST

START_TEST(japanese_header_block) {
  expect("了解です。\n\n伊藤\n\n差出人: 森 由美 <yumi@example.jp>\n"
         "送信日時: 2023年4月11日 15:02\n宛先: 伊藤 健\n件名: 資料\n\n古い\n",
         "了解です。\n\n伊藤", Q);
  /* Full-width colons. */
  expect("はい\n\n差出人： 森\n送信日時： 2023年4月11日\n件名： 資料\n\n古い\n",
         "はい", Q);
}
END_TEST

/* ---- disclaimers ---- */

START_TEST(english_disclaimers) {
  expect("See attached.\n\nAnn\n\nCONFIDENTIALITY NOTICE: This message is "
         "for the named recipient only and may be privileged.\n",
         "See attached.\n\nAnn", D);
  expect("Call me.\n\nThe information contained in this email is "
         "confidential and intended solely for the addressee.  If you "
         "received it in error, delete it.\n",
         "Call me.", D);
  expect("Done.\n\n*****************************\nThis e-mail (and any "
         "attachments) is confidential and may be privileged.  Any "
         "unauthorized use is prohibited.\n*****************************\n",
         "Done.", D);
  /* Ordinary sentences that merely mention these words stay. */
  expect("This message is about the confidential budget.\n\nAnn",
         "This message is about the confidential budget.\n\nAnn", 0);
}
END_TEST

START_TEST(japanese_disclaimers) {
  expect("よろしくお願いします。\n\n本メールは機密情報を含む場合があります。"
         "誤って受信された場合は削除してください。\n",
         "よろしくお願いします。", D);
  expect("以上です。\n\n※このメールは送信専用です。機密情報が含まれるため、"
         "第三者への開示を禁止します。\n",
         "以上です。", D);
}
END_TEST

/* ---- placeholders ---- */

START_TEST(placeholders_dropped) {
  expect("See the chart.\n<Embedded StdOleLink>\n<Embedded Picture (Device "
         "Independent Bitmap)>\n << File: plan.xls >> \n[image: logo.png]\n"
         " - budget.doc\n\nAl",
         "See the chart.\n\nAl", 0);
}
END_TEST

static Suite *owntext_suite(void) {
  Suite *s = suite_create("owntext");
  TCase *c = tcase_create("layout");
  tcase_add_test(c, layout_is_kept);
  tcase_add_test(c, line_ends_and_edges_normalised);
  tcase_add_test(c, invalid_input_made_valid);
  suite_add_tcase(s, c);
  c = tcase_create("outlook");
  tcase_add_test(c, outlook_original_message);
  tcase_add_test(c, outlook_header_block_without_marker);
  tcase_add_test(c, header_like_prose_kept);
  suite_add_tcase(s, c);
  c = tcase_create("notes");
  tcase_add_test(c, notes_reply_header);
  tcase_add_test(c, notes_forwarded_by);
  suite_add_tcase(s, c);
  c = tcase_create("replies");
  tcase_add_test(c, forward_markers);
  tcase_add_test(c, on_wrote_forms);
  tcase_add_test(c, interleaved_quotes);
  tcase_add_test(c, japanese_attributions);
  tcase_add_test(c, japanese_header_block);
  suite_add_tcase(s, c);
  c = tcase_create("disclaimers");
  tcase_add_test(c, english_disclaimers);
  tcase_add_test(c, japanese_disclaimers);
  tcase_add_test(c, placeholders_dropped);
  suite_add_tcase(s, c);
  return s;
}

int main(void) {
  return pm_test_run_suite(owntext_suite()) != 0;
}
