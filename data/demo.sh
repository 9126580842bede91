#!/bin/sh
# `make demo`: trains tenant "demo" from the sample corpus into models/,
# shows one sender's profile, then scores the sample inbound mail and prints
# one line per mail. Can be run again: training skips mail it has seen.
#
# Usage: data/demo.sh PENMARK   (run from the top of the repository)
set -eu
penmark=$1
store=models
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.err"' EXIT INT TERM

echo "== 1. training tenant 'demo' from data/sample/corpus (6 senders) into $store/"
"$penmark" train --tenant demo --store "$store" data/sample/corpus
echo

echo "== 2. what penmark learned about margaret.osei@harborpine.example"
echo "   (penmark inspect --tenant demo --store $store --sender margaret.osei@harborpine.example)"
if "$penmark" inspect --tenant demo --store "$store" \
  --sender margaret.osei@harborpine.example >"$tmp" 2>"$tmp.err"; then
  # The sender's entry of the JSON, one fact per line; the whole document
  # when its shape is not the expected one.
  LC_ALL=C awk '
    /"senders":/ { in_senders = 1 }
    !in_senders { next }
    /^[ \t]*"(mails|ready|first_date|last_date|text)":/ {
      line = $0
      sub(/^[ \t]*"/, "", line)
      key = line; sub(/".*/, "", key)
      val = line; sub(/^[^:]*:[ \t]*/, "", val); sub(/,[ \t]*$/, "", val)
      if (val ~ /^".*"$/) val = substr(val, 2, length(val) - 2)
      gsub(/\\"/, "\"", val)
      if (key == "text") print "   - " val; else print "   " key ": " val
      shown++
    }
    END { exit shown ? 0 : 1 }' "$tmp" || cat "$tmp"
else
  echo "(penmark inspect gave no profile: $(sed -n '1s/^penmark: //p' "$tmp.err"))"
fi
rm -f "$tmp.err"
echo

echo "== 3. scoring data/sample/inbound/*.eml against the claimed senders"
# The score command exits 1 when some mail could not be scored; the table
# shows what was.
"$penmark" score --tenant demo --store "$store" data/sample/inbound/*.eml \
  >"$tmp" || echo "(some mail could not be scored; see the messages above)"
# One JSON object per line (penmark score); the fields are picked out with
# awk so that the demo needs nothing beyond POSIX tools. Byte semantics
# (LC_ALL=C) on every awk, so that cutting a long reason is the same
# everywhere; the cut is moved back to a character boundary.
LC_ALL=C awk '
  # The string value of "key" in the object line s, unescaped.
  function str(s, key,   i, out, c) {
    i = index(s, "\"" key "\":\"")
    if (!i) return ""
    s = substr(s, i + length(key) + 4)
    out = ""
    while (length(s)) {
      c = substr(s, 1, 1)
      if (c == "\"") break
      if (c == "\\") { c = substr(s, 2, 1); s = substr(s, 2)
        if (c == "n") c = " "; else if (c == "t") c = " " }
      out = out c
      s = substr(s, 2)
    }
    return out
  }
  # The number value of "key".
  function num(s, key,   i) {
    i = index(s, "\"" key "\":")
    if (!i) return ""
    s = substr(s, i + length(key) + 3)
    match(s, /^[-0-9.eE+]+/)
    return substr(s, 1, RLENGTH)
  }
  # At most n bytes of s, not ending inside a UTF-8 sequence.
  function cut(s, n) {
    if (length(s) <= n) return s
    s = substr(s, 1, n - 3)
    sub(/[\300-\367][\200-\277]*$/, "", s)
    return s "..."
  }
  BEGIN {
    printf "%-34s %-36s %-14s %5s %5s %9s  %s\n", "file", "claimed sender",
      "verdict", "prob.", "flag", "rarity", "first reason"
  }
  {
    file = str($0, "file"); sub(/.*\//, "", file)
    r = index($0, "\"reasons\":[{")
    reason = r ? str(substr($0, r), "text") : "-"
    verdict = str($0, "verdict")
    if (verdict != "impersonation") reason = "-"
    one_in = num($0, "one_in")
    printf "%-34s %-36s %-14s %5.2f %5.2f %9s  %s\n", file, str($0, "sender"),
      verdict, num($0, "probability"), num($0, "threshold"),
      one_in == "" ? "-" : "1 in " one_in, cut(reason, 60)
  }' "$tmp"
echo
echo "prob. is the probability that the claimed sender did not write the mail;"
echo "a mail is flagged at or above 'flag', the tenant's threshold, set so that"
echo "1% of each sender's own mail would be flagged. 'rarity': how few of the"
echo "senders' own mails read this unlike their sender (1 in N)."
echo "Files named genuine-* were written by the claimed sender, impostor-*"
echo "by someone else (see data/sample/inbound/README.md). The store is"
echo "$store/demo.db; 'penmark score --tenant demo --store $store MAIL' scores more."
