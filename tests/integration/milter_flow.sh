#!/bin/sh
# The milter alone, through miltertest (no Postfix): every sample inbound
# mail gets an X-Penmark-Verdict whose verdict equals `penmark score`'s, a
# forged incoming X-Penmark-Verdict is deleted, `reject` refuses the
# impersonations, `quarantine` holds them, and a missing store fails open.
# Then the policy: a tenant map (an unmapped domain is not judged, logged
# once), protected senders, trusted networks (IPv4, IPv6) and authenticated
# submission left alone, a policy file (and its errors, named FILE:LINE)
# with command-line overrides, the time limit and the limit on mails being
# scored (both fail open), and the graceful stop on SIGTERM. Last, the
# reloads: a store published or replaced while the milter runs, SIGUSR1.
# Usage: milter_flow.sh PENMARK DATA_DIR SCRIPT_DIR. Prints "milter-flow ok"
# at the end; any failure exits non-zero with a message. A missing
# miltertest is a failure (CI installs it), never a silent pass.
set -u
penmark=$1 data=$2 here=$3
command -v miltertest >/dev/null || { echo "FAIL: miltertest missing (make deps)"; exit 1; }
tmp=$(mktemp -d)
mpid="" old="" n=0
# A milter takes up to 5 s to end after SIGTERM (libmilter's accept loop
# looks at its stop flag that often): each start has its own socket and log,
# and the stopped ones are waited for at the end, not one by one.
stop() {
  [ -n "$mpid" ] && kill "$mpid" 2>/dev/null && old="$old $mpid"
  mpid=""
}
reap() {
  stop
  for p in $old; do
    for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  old=""
}
trap 'reap; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "${log:-/nonexistent}" ] && tail -5 "$log"; exit 1; }
start() { # ACTION STORE [OPTION...]
  act=$1 store=$2
  shift 2
  start_with --tenant demo --store "$store" --action "$act" "$@"
}
start_with() { # OPTION...
  stop
  n=$((n + 1))
  path=$tmp/milter.$n.sock sock=unix:$tmp/milter.$n.sock log=$tmp/log.$n
  : >"$log"
  "$penmark" milter --socket "$sock" --log "$log" "$@" &
  mpid=$!
  i=0
  while [ ! -S "$path" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -S "$path" ] || fail "milter did not start"
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
VERDICT="" VERDICT2=""
mt() { # MAIL EXPECT FORGE QUARANTINE [NAME=VALUE...]: more -D definitions
  m=$1 e=$2 fo=$3 q=$4
  shift 4
  defs=""
  for d in "$@"; do defs="$defs -D $d"; done
  # shellcheck disable=SC2086 # the definitions hold no spaces but VERDICT's
  miltertest -s "$here/milter_mail.lua" -D SOCK="$sock" -D MAIL="$m" \
    -D EXPECT="$e" -D FORGE="$fo" -D QUARANTINE="$q" $defs ${VERDICT:+-D "VERDICT=$VERDICT"} \
    ${VERDICT2:+-D "VERDICT2=$VERDICT2"} >"$tmp/mt.out" 2>&1 ||
    fail "$(basename "$m") ($e $*): $(cat "$tmp/mt.out")"
}

# the socket's permissions come from the umask (the unit's UMask=0007,
# docs/postfix.md): owner and group may connect, nobody else (libmilter
# makes it 0777 less the umask; the execute bit means nothing on a socket)
mask=$(umask)
umask 0007
start report "$tmp/store"
umask "$mask"
mode=$(stat -c %a "$path")
[ "$mode" = 770 ] || fail "milter socket mode $mode under umask 0007, not 770"
for m in $mails; do mt "$m" accept 1 0; done
grep 'verdict=' "$log" | sed 's/.*verdict=\([a-z_]*\).*/\1/' >"$tmp/got"
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
grep -q 'error: store unavailable' "$log" || fail "no fail-open log line"
mtv() { VERDICT=$1; shift; mt "$@"; VERDICT=""; } # VERDICT MAIL ...
. "$here/milter_policy_flow.sh"
. "$here/milter_reload_flow.sh"
reap
echo "milter-flow ok: $(echo "$mails" | wc -l) mails," \
  "$(grep -c impersonation "$tmp/expected") impersonations; policy and reload checks ok"
