#!/bin/sh
# The milter alone, through miltertest (no Postfix): every sample inbound
# mail gets an X-Penmark-Verdict whose verdict equals `penmark score`'s, a
# forged incoming X-Penmark-Verdict is deleted, `reject` refuses the
# impersonations, `quarantine` holds them, and a missing store fails open.
# Usage: milter_flow.sh PENMARK DATA_DIR SCRIPT_DIR. Prints "milter-flow ok"
# at the end; any failure exits non-zero with a message. A missing
# miltertest is a failure (CI installs it), never a silent pass.
set -u
penmark=$1 data=$2 here=$3
command -v miltertest >/dev/null || { echo "FAIL: miltertest missing (make deps)"; exit 1; }
tmp=$(mktemp -d)
mpid=""
stop() {
  [ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
  mpid=""
  rm -f "$tmp/milter.sock"
}
trap 'stop; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -5 "$tmp/log"; exit 1; }
sock="unix:$tmp/milter.sock"
start() { # ACTION STORE
  stop
  : >"$tmp/log"
  "$penmark" milter --socket "$sock" --tenant demo --store "$2" \
    --action "$1" --log "$tmp/log" &
  mpid=$!
  i=0
  while [ ! -S "$tmp/milter.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$tmp/milter.sock" ] || fail "milter did not start"
}
"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" \
  >/dev/null 2>&1 || fail "training the sample corpus"
mails=$(ls "$data"/sample/inbound/*.eml)
# verdicts from penmark score, one per line, same order
"$penmark" score --tenant demo --store "$tmp/store" $mails |
  sed 's/.*"verdict":"\([a-z_]*\)".*/\1/' >"$tmp/expected"
[ "$(wc -l <"$tmp/expected")" -eq "$(echo "$mails" | wc -l)" ] ||
  fail "penmark score did not score every mail"
grep -q impersonation "$tmp/expected" || fail "no impersonation in the sample"
mt() { miltertest -s "$here/milter_mail.lua" -D SOCK="$sock" -D MAIL="$1" \
  -D EXPECT="$2" -D FORGE="$3" -D QUARANTINE="$4" >"$tmp/mt.out" 2>&1 ||
  fail "$(basename "$1") ($2): $(cat "$tmp/mt.out")"; }

start report "$tmp/store"
for m in $mails; do mt "$m" accept 1 0; done
grep 'verdict=' "$tmp/log" | sed 's/.*verdict=\([a-z_]*\).*/\1/' >"$tmp/got"
cmp -s "$tmp/expected" "$tmp/got" || fail "milter verdicts differ from penmark score"
n=0
for m in $mails; do
  n=$((n + 1))
  v=$(sed -n "${n}p" "$tmp/expected")
  if [ "$v" = impersonation ]; then exp=reject; else exp=accept; fi
  echo "$m $exp" >>"$tmp/plan"
done
start reject "$tmp/store"
while read -r m exp; do mt "$m" "$exp" 0 0; done <"$tmp/plan"
start quarantine "$tmp/store"
while read -r m exp; do
  if [ "$exp" = reject ]; then mt "$m" accept 0 1; else mt "$m" accept 0 0; fi
done <"$tmp/plan"
# fails open: no store -> accepted, with an error verdict and a log line
start reject "$tmp/nostore"
mt "$(echo "$mails" | grep impostor | head -1)" accept 1 0
grep -q 'error: store unavailable' "$tmp/log" || fail "no fail-open log line"
stop
echo "milter-flow ok: $(echo "$mails" | wc -l) mails," \
  "$(grep -c impersonation "$tmp/expected") impersonations"
