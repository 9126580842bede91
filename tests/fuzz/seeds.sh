#!/bin/sh
# Writes the seed corpora of the harnesses under OUT/<harness>/: small mails
# and documents written here for the purpose (never third-party mail), and
# the shapes that only hand-made input reaches: multiparts nested 40 and 300
# deep, 1,200 parts, a header block over 256 KiB, broken and Japanese
# charsets, invalid UTF-8, HTML. The store seed is a store trained by
# PENMARK on a few sample mails.
#
# Usage: tests/fuzz/seeds.sh OUT PENMARK   (from the top of the repository)
set -eu
out=$1
penmark=$2
rm -rf "$out"
for h in pipeline mail owntext html charset config request serve client milter milter_msg store; do
  mkdir -p "$out/fuzz_$h"
done
m="$out/fuzz_mail"

hdr() { # From, Subject and the MIME header of a plain text part
  printf 'From: Ann Example <ann@example.org>\nTo: bob@example.org\n'
  printf 'Subject: %s\nMessage-ID: <%s@example.org>\n' "$1" "$1"
  printf 'Date: Mon, 2 Nov 2026 09:00:00 +0000\nMIME-Version: 1.0\n'
}

{ hdr plain; printf 'Content-Type: text/plain; charset=utf-8\n\n'
  printf 'Hi Bob,\n\nThe figures are in the shared folder; could you check them\n'
  printf 'before Friday?\n\nThanks,\nAnn\n\nOn Sun, Nov 1, 2026 at 10:00 Bob wrote:\n'
  printf '> Where are the figures?\n> -- \n> Bob\n'; } > "$m/plain.eml"

{ hdr reply; printf 'Content-Type: text/plain\n\nSounds good.\n\n-----Original Message-----\n'
  printf 'From: Bob\nSent: Monday\nTo: Ann\nSubject: RE: plan\n\nplan?\n\n'
  printf 'This e-mail and any attachments are confidential and may be privileged.\n'; } > "$m/outlook.eml"

{ hdr html; printf 'Content-Type: text/html; charset=windows-1252\n\n'
  printf '<html><head><style>p{x:1}</style><title>t</title><script>a<b</script></head>'
  printf '<body><p>Hello&nbsp;&nbsp;Bob &amp; team,</p><div>caf\351 &#x1F600; &#99999999; &bogus;'
  printf '<br><pre>  two  spaces</pre><blockquote><blockquote>quoted</blockquote></blockquote>'
  printf '<!-- c --><ul><li>one<li>two</ul><table><tr><td>x</td></tr></table>'
  printf '<img alt="x"></body></html>\n'; } > "$m/html.eml"

{ hdr alt; printf 'Content-Type: multipart/alternative; boundary="b1"\n\n--b1\n'
  printf 'Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n'
  printf 'Gr=FC=DFe aus M=FCnchen=\n soft break\n--b1\nContent-Type: text/html\n\n<p>x</p>\n--b1--\n'; } > "$m/alternative.eml"

{ printf 'From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <taro@example.jp>\n'
  printf 'Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\nMIME-Version: 1.0\n'
  printf 'Content-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n'
  printf '田中様\n\nお世話になっております。\n資料をお送りいたします。\n\nよろしくお願いいたします。\n山田\n' |
    iconv -f UTF-8 -t ISO-2022-JP; } > "$m/iso2022jp.eml"

{ printf 'From: hanako@example.jp\nSubject: sjis\nMIME-Version: 1.0\n'
  printf 'Content-Type: text/plain; charset=Shift_JIS\n\n'
  printf '各位\n\n会議は１５時からです。ｶﾀｶﾅ半角も。\n\n以上\n' | iconv -f UTF-8 -t SHIFT_JIS; } > "$m/sjis.eml"

{ printf 'From: hanako@example.jp\nSubject: sjis-unlabelled\n\n'
  printf 'お疲れ様です。\n明日の件、承知しました。\n' | iconv -f UTF-8 -t CP932; } > "$m/sjis_nolabel.eml"

{ printf 'From: hanako@example.jp\nSubject: euc\nContent-Type: text/plain; charset=euc-jp\n\n'
  printf '佐藤です。\n確認しました。\n' | iconv -f UTF-8 -t EUC-JP; } > "$m/eucjp.eml"

{ hdr broken; printf 'Content-Type: text/plain; charset=x-unknown-42\n\n'
  printf 'bytes \377\376 and \300\200 overlong, \355\240\200 surrogate, \364\220\200\200 too big,\n'
  printf 'cut \342\202 sequence, NUL \000 here\n'; } > "$m/broken_charset.eml"

{ hdr wronglabel; printf 'Content-Type: text/plain; charset=utf-8\n\n'
  printf 'labelled utf-8, but latin-1: caf\351 na\357ve\n'; } > "$m/wrong_label.eml"

{ hdr b64; printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n'
  printf 'Hi Bob,\n\nbase64 body.\n\nAnn\n' | base64; printf '!!!not base64===\n'; } > "$m/base64.eml"

printf 'Just a body, no header block at all.\nSecond line.\n' > "$m/body_only.txt"

# 40 and 300 nested multiparts, with the text at the bottom
nested() {
  n=$1
  hdr "nested$n"
  i=0
  while [ $i -lt "$n" ]; do
    printf 'Content-Type: multipart/mixed; boundary="n%d"\n\n--n%d\n' $i $i
    i=$((i + 1))
  done
  printf 'Content-Type: text/plain\n\nDeep text.\n'
  while [ $i -gt 0 ]; do
    i=$((i - 1))
    printf '\n--n%d--\n' $i
  done
}
nested 40 > "$m/nested40.eml"
nested 300 > "$m/nested300.eml"
nested 6 > "$out/fuzz_pipeline/nested6.eml"
nested 12 > "$out/fuzz_pipeline/nested12.eml"

# 1,200 parts (and 60 for the pipeline, past its limit of 50)
parts() {
  hdr "parts$1"
  printf 'Content-Type: multipart/mixed; boundary="p"\n\n'
  i=0
  while [ $i -lt "$1" ]; do
    printf -- '--p\nContent-Type: text/plain\n\npart %d\n' $i
    i=$((i + 1))
  done
  printf -- '--p--\n'
}
parts 1200 > "$m/parts1200.eml"
parts 60 > "$out/fuzz_pipeline/parts60.eml"

# a header block of about 300 KB
{ hdr bigheader
  i=0
  while [ $i -lt 4000 ]; do
    printf 'X-Filler-%d: %s\n' $i 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
    i=$((i + 1))
  done
  printf '\nBody after the long header block.\n'; } > "$m/bigheader.eml"

{ hdr rfc822; printf 'Content-Type: multipart/mixed; boundary="o"\n\n--o\nContent-Type: text/plain\n\n'
  printf 'See below.\n--o\nContent-Type: message/rfc822\n\n'
  printf 'From: c@example.org\nSubject: inner\n\ninner text\n--o--\n'; } > "$m/rfc822.eml"

{ hdr truncated; printf 'Content-Type: multipart/mixed; boundary="t"\n\n--t\n'
  printf 'Content-Type: text/plain\n\nno closing boundary\n'; } > "$m/truncated.eml"

{ hdr rfc2231; printf "Content-Type: multipart/mixed; boundary*=utf-8''x%%20y\n\n"
  printf -- '--x y\nContent-Type: text/plain\n\nt\n--x y--\n'; } > "$m/rfc2231.eml"

printf '\211PNG\r\n\032\n\000\000\000\rIHDR' > "$m/binary.bin"
cp "$m"/*.eml "$m/body_only.txt" "$out/fuzz_pipeline/" 2>/dev/null || true
# the pipeline keeps inputs short: drop what is over 4 KB from its seeds
find "$out/fuzz_pipeline" -type f -size +4k -exec rm -f {} +

# own text, HTML and charset seeds: the bodies of the mails
for f in "$m"/*.eml; do
  sed '1,/^$/d' "$f" > "$out/fuzz_owntext/$(basename "$f" .eml).txt"
done
find "$out/fuzz_owntext" -type f -size +16k -exec rm -f {} +
o="$out/fuzz_owntext"
printf 'Thanks!\n\nOn 2026/11/01 10:00, Bob wrote:\n> quoted\n>> twice\n' > "$o/quote.txt"
printf 'ok\n\n---------- Forwarded message ---------\nFrom: x\nDate: y\n\nfwd\n' > "$o/forward.txt"
printf '了解です。\n\n2026年11月1日(日) 10:00 田中 <t@example.jp>:\n> 元のメール\n' > "$o/ja_quote.txt"
printf 'text\n\nCONFIDENTIALITY NOTICE: This message is intended only for the addressee.\n' > "$o/disclaimer.txt"
printf '%s\n' '<p>a</p>' '<P CLASS=x>b<BR/>c</P>' '<script>x</script>y' '<!-- unterminated' \
  '<pre>  a  </pre>' '&lt;&gt;&amp;&quot;&#39;&#x41;&#65;&nbsp;&copy;&euro;' \
  '<blockquote>q<blockquote>qq</blockquote></blockquote>' '<a href="x>y">z</a>' \
  '<style>' '<title>t</title>' '<table><tr><td>1<td>2</table>' > "$out/fuzz_html/tags.html"
sed '1,/^$/d' "$m/html.eml" > "$out/fuzz_html/mail.html"
printf '<div>%s</div>' 'x' 'y' 'z' > "$out/fuzz_html/divs.html"
# charset: the first byte picks the label (see fuzz_charset.c)
c="$out/fuzz_charset"
{ printf '\007'; printf 'お世話になっております' | iconv -f UTF-8 -t ISO-2022-JP; } > "$c/iso2022jp"
{ printf '\011'; printf '会議は１５時ｶﾀｶﾅ' | iconv -f UTF-8 -t SHIFT_JIS; } > "$c/sjis"
{ printf '\014'; printf '確認しました' | iconv -f UTF-8 -t EUC-JP; } > "$c/eucjp"
{ printf '\000'; printf 'caf\351 \223quoted\224'; } > "$c/guess1252"
{ printf '\002'; printf 'ok \342\202 bad \300\200 \355\240\200 \000'; } > "$c/badutf8"
{ printf '\017'; printf 'h\000i\000'; } > "$c/utf16"
{ printf '\020'; printf '+ZeVnLIqe-'; } > "$c/utf7"
{ printf '\007'; printf '\033$B$3\033(J\033$@\033(I\033'; } > "$c/iso2022_broken"

# configuration JSON
j="$out/fuzz_config"
printf '{}' > "$j/empty.json"
printf '{"families":{"char_ngrams":{"dim":16384,"max_n":3},"words":{"enabled":false}},"mecab_dicdir":"/var/lib/mecab/dic/ipadic-utf8"}' > "$j/example.json"
printf '{"families":{"words":{"dim":-1}}}' > "$j/dim_neg.json"
printf '{"families":{"syntax":{"dim":1e30,"min_n":1,"max_n":4,"weight":0.5}}}' > "$j/dim_big.json"
printf '{"families":{"layout":{"enabled":true},"case":{"enabled":false},"lengths":{"weight":2}}}' > "$j/named.json"
cp tests/fuzz/store_config.json "$j/small.json"

# requests (as fuzz_request reads them) and raw HTTP for fuzz_serve
q="$out/fuzz_request"
printf 'POST /v1/score?tenant=acme&sender=ceo%%40acme.example HTTP/1.1\r\nContent-Length: 120\r\nHost: x\r\n\r\n' > "$q/score"
printf 'GET /v1/health HTTP/1.1\r\n\r\n' > "$q/health"
printf 'HEAD /metrics HTTP/1.1\r\n\r\n' > "$q/metrics"
printf 'POST /v1/score?tenant=a&tenant=b&x&sender=\r\nContent-Length: -1\r\nContent-Length: 99999999999999999999999\r\n\r\n' > "$q/bad"
s="$out/fuzz_serve"
body='From: Dana Whitfield <dana.whitfield@harborpine.example>
Subject: invoices

Hi all,

Please send the invoices for the quarter by Friday.

-d
'
n=$(printf '%s' "$body" | wc -c)
{ printf 'POST /v1/score?tenant=fuzz HTTP/1.1\r\nHost: x\r\nContent-Type: message/rfc822\r\nContent-Length: %d\r\n\r\n' "$n"
  printf '%s' "$body"; } > "$s/score"
{ printf 'POST /v1/score?tenant=fuzz&sender=tomas.reyes%%40harborpine.example HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
  printf '%x\r\n%s\r\n0\r\n\r\n' "$n" "$body"; } > "$s/chunked"
printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' > "$s/pipelined"
printf 'POST /v1/score?tenant=nosuch HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nHello' > "$s/unknown_tenant"
printf 'POST /v1/score?tenant=fuzz HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n' > "$s/too_big"
printf 'DELETE /v1/score HTTP/1.1\r\nHost: x\r\n\r\n' > "$s/method"
printf 'POST /v1/score?tenant=fuzz HTTP/1.0\r\nContent-Length: 4\r\n\r\n\000\001\002\003' > "$s/binary"

# HTTP responses for the client parser
r="$out/fuzz_client"
printf 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}' > "$r/length"
printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\nX: y\r\n\r\n' > "$r/chunked"
printf 'HTTP/1.0 503 Busy\r\nConnection: close\r\n\r\nuntil the end' > "$r/close"
printf 'HTTP/1.1 204 No Content\r\nConnection: keep-alive, close\r\n\r\n' > "$r/nocontent"

# milter: verdict byte, 8 probability bytes, threshold, cap/8, reasons, then pieces
printf '\001\077\357\377\377\377\377\377\377\200\040\002acme\377why \342\200\224\377ceo@acme.example\377fw:the\377greeting "Hello" \342\200\224 this sender uses "Hi"\377signoff\377\347\275\262\345\220\215\377' > "$out/fuzz_milter/reasons"

# a store: a few sample mails of two senders, with the small vector of
# tests/fuzz/store_config.json (the default one makes a 30 MB file)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$penmark" train --tenant t --store "$tmp" --min-mails 2 \
  --config tests/fuzz/store_config.json \
  data/sample/corpus/dana.whitfield@harborpine.example/000[1-4].eml \
  data/sample/corpus/misaki.sato@harborpine.example/000[1-4].eml >/dev/null 2>&1
cp "$tmp/t.db" "$out/fuzz_store/t.db"

sh tests/fuzz/seeds_milter_msg.sh "$out/fuzz_milter_msg"
