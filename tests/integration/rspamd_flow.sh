#!/bin/bash
# The rspamd plugin of contrib/rspamd against a real rspamd of this test's
# own configuration (loopback port, its own db/run/log directories, the
# plugin installed into its own LOCAL_CONFDIR as docs/rspamd.md says) and a
# `penmark serve` on a store trained on the sample corpus. Checks, by rspamc
# and by POST /checkv2: each sample inbound mail gets the symbol of
# `penmark score`'s verdict (PENMARK_GENUINE, PENMARK_IMPERSONATION) with
# p=<its probability> and its first reason in the options; a sender penmark
# does not know gets PENMARK_ABSTAIN; penmark hanging (SIGSTOP) gives
# PENMARK_FAIL after the timeout and penmark stopped gives PENMARK_FAIL at
# once, the mail scanned all the same; penmark started again scores again.
# rspamd and penmark are stopped on every exit. Needs root, rspamd, rspamc
# and curl: their absence is a failure. Usage: rspamd_flow.sh PENMARK
# DATA_DIR CONTRIB_DIR. Prints "rspamd-flow ok" at the end.
set -u
penmark=$1 data=$2 contrib=$3
tmp="" spid="" rpid=""
fail() {
  echo "FAIL: $*"
  [ -f "$tmp/log/rspamd.log" ] && grep -i 'penmark\|error' "$tmp/log/rspamd.log" | tail -5
  [ -f "$tmp/serve.log" ] && tail -3 "$tmp/serve.log"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (rspamd drops to _rspamd)"
for c in rspamd rspamc curl; do
  command -v $c >/dev/null || fail "$c missing (make deps)"
done
id _rspamd >/dev/null 2>&1 || fail "no _rspamd user (the rspamd package makes it)"
tmp=$(mktemp -d /tmp/penmark-rspamd.XXXXXX)
chmod 755 "$tmp"
sock=$tmp/penmark.sock
stop_serve() {
  if [ -n "$spid" ]; then
    kill -CONT "$spid" 2>/dev/null
    kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
  fi
  spid=""
}
stop_all() {
  stop_serve
  if [ -n "$rpid" ]; then
    kids=$(pgrep -P "$rpid")
    kill "$rpid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$rpid" $kids 2>/dev/null
    wait "$rpid" 2>/dev/null
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap stop_all EXIT
start_serve() {
  "$penmark" serve --socket "$sock" --store "$tmp/store" --socket-mode 0666 \
    --threads 1 2>>"$tmp/serve.log" &
  spid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.1; done
  fail "penmark serve did not start"
}
port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 30000))
  (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || fail "no free port"

# rspamd's own directories, written by its workers (user _rspamd)
mkdir -p "$tmp/local/local.d" "$tmp/local/plugins.d" "$tmp/db" "$tmp/run" "$tmp/log"
chown _rspamd: "$tmp/db" "$tmp/run" "$tmp/log"
# The plugin installed as docs/rspamd.md says, with this test's socket and
# tenant; a short timeout so that the hanging case is quick.
cp "$contrib/rspamd/penmark.lua" "$tmp/local/plugins.d/" || fail "no plugin"
cp "$contrib/rspamd/rspamd.conf.local" "$tmp/local/" || fail "no rspamd.conf.local"
sed -e "s|^socket = .*|socket = \"$sock\";|" -e 's/^tenant = .*/tenant = "demo";/' \
  -e 's/^timeout = .*/timeout = 1.5;/' \
  "$contrib/rspamd/penmark.conf" >"$tmp/local/local.d/penmark.conf"
grep -q "$sock" "$tmp/local/local.d/penmark.conf" || fail "penmark.conf has no socket line"
# No network here: DNS goes to a closed local port so that lookups fail at
# once instead of timing out.
cat >"$tmp/local/local.d/options.inc" <<EOF
dns { nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }
EOF
# The distribution's configuration (common.conf: modules, local.d,
# rspamd.conf.local) with one scanning worker on the test's port.
cat >"$tmp/rspamd.conf" <<EOF
.include "\$CONFDIR/common.conf"
options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging { type = "file"; filename = "\$LOGDIR/rspamd.log"; level = "info"; }
worker "normal" {
  bind_socket = "127.0.0.1:$port";
  count = 1;
  .include "\$CONFDIR/worker-normal.inc"
}
EOF

"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" \
  >/dev/null 2>&1 || fail "training the sample corpus"
start_serve
rspamd -f -u _rspamd -g _rspamd -c "$tmp/rspamd.conf" \
  "--var=LOCAL_CONFDIR=$tmp/local" "--var=DBDIR=$tmp/db" "--var=RUNDIR=$tmp/run" \
  "--var=LOGDIR=$tmp/log" >"$tmp/rspamd.out" 2>&1 &
rpid=$!
# start-up compiles the rules: tens of seconds on two cores
up=""
for _ in $(seq 1200); do
  kill -0 "$rpid" 2>/dev/null || fail "rspamd exited: $(tail -3 "$tmp/rspamd.out")"
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && { up=1; break; }
  sleep 0.1
done
[ -n "$up" ] || fail "rspamd did not listen on 127.0.0.1:$port"
grep -q 'penmark: scoring with penmark serve' "$tmp/log/rspamd.log" ||
  fail "the penmark plugin was not loaded"

scan() { # MAIL -> rspamc's symbols in $tmp/scan.out
  rspamc -h "127.0.0.1:$port" -t 30 symbols "$1" >"$tmp/scan.out" 2>&1 ||
    fail "rspamc on $(basename "$1"): $(tail -3 "$tmp/scan.out")"
  grep -q '^Action: ' "$tmp/scan.out" || fail "$(basename "$1") was not scanned"
}
penmark_line() { grep '^Symbol: PENMARK_' "$tmp/scan.out"; }

# 1. every sample mail: the symbol of penmark score's verdict, p= and reason
n=0 imps=0 gens=0
for m in "$data"/sample/inbound/*.eml; do
  name=$(basename "$m")
  "$penmark" score --tenant demo --store "$tmp/store" "$m" >"$tmp/score.json" ||
    fail "penmark score $name"
  v=$(sed 's/.*"verdict":"\([a-z_]*\)".*/\1/' "$tmp/score.json")
  p=$(sed 's/.*"probability":\([-0-9.eE+]*\).*/\1/' "$tmp/score.json")
  case $v in
  impersonation) sym=PENMARK_IMPERSONATION imps=$((imps + 1)) ;;
  genuine) sym=PENMARK_GENUINE gens=$((gens + 1)) ;;
  *) sym=PENMARK_ABSTAIN ;;
  esac
  scan "$m"
  line=$(penmark_line)
  [ "$(echo "$line" | grep -c .)" -eq 1 ] || fail "$name: not one penmark symbol: $line"
  echo "$line" | grep -q "^Symbol: $sym " || fail "$name: penmark score says $v, rspamd: $line"
  want_p=$(printf 'p=%.4f' "$p")
  echo "$line" | grep -qF "[$want_p" || fail "$name: options lack $want_p: $line"
  # the first reason's first 30 bytes, its \" unescaped
  reason=$(sed -e 's/\\"/"/g' "$tmp/score.json" | LC_ALL=C sed -n \
    's/.*"reasons":\[{[^}]*"text":"\(.\{1,30\}\).*/\1/p')
  [ -z "$reason" ] || echo "$line" | LC_ALL=C grep -qF "$reason" ||
    fail "$name: options lack the first reason '$reason': $line"
  case $name in
  genuine-*) [ "$sym" = PENMARK_GENUINE ] || echo "note: $name scored $v" ;;
  esac
  n=$((n + 1))
done
[ "$imps" -gt 0 ] && [ "$gens" -gt 0 ] ||
  fail "the sample gave $imps impersonations and $gens genuine mails"
# the score of the impersonation symbol is the configured one (10)
grep -q 'Symbol: PENMARK_IMPERSONATION (10.00)' <(for m in "$data"/sample/inbound/impostor-*.eml; do
  rspamc -h "127.0.0.1:$port" symbols "$m"
done) || fail "PENMARK_IMPERSONATION does not carry its configured score"

# 2. /checkv2 JSON: symbol and options as an array
imp=$(ls "$data"/sample/inbound/impostor-*.eml | head -1)
curl -s --max-time 30 --data-binary "@$imp" "http://127.0.0.1:$port/checkv2" \
  >"$tmp/check.json" || fail "POST /checkv2"
grep -q '"PENMARK_IMPERSONATION":{[^}]*"options":\["p=[01]\.[0-9]\{4\}"' "$tmp/check.json" ||
  fail "/checkv2 lacks PENMARK_IMPERSONATION with options: $(head -c 300 "$tmp/check.json")"

# 3. a sender the tenant does not know: PENMARK_ABSTAIN
cat >"$tmp/stranger.eml" <<'EOF'
From: Pat Stranger <pat.stranger@harborpine.example>
To: accounts@harborpine.example
Subject: Quick favour
Date: Tue, 01 Dec 2026 09:00:00 +0000
Message-ID: <stranger-1@harborpine.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello team,

I am new in the finance office and need the supplier list with the bank
details of each supplier before the end of today, please. Send it to me as
a spreadsheet when you have a moment; the auditors asked for it this
morning and I would like to have it ready for them.

Many thanks,
Pat
EOF
scan "$tmp/stranger.eml"
penmark_line | grep -q '^Symbol: PENMARK_ABSTAIN .*unknown_sender' ||
  fail "unknown sender: $(penmark_line)"

# 4. penmark hanging: PENMARK_FAIL after the timeout, mail scanned
kill -STOP "$spid"
scan "$imp"
penmark_line | grep -q '^Symbol: PENMARK_FAIL .*timeout' || fail "hanging: $(penmark_line)"
kill -CONT "$spid"

# 5. penmark stopped: PENMARK_FAIL at once, mail scanned (no reject)
stop_serve
scan "$imp"
penmark_line | grep -q '^Symbol: PENMARK_FAIL .*cannot connect' || fail "stopped: $(penmark_line)"
grep -q '^Action: reject' "$tmp/scan.out" && fail "rejected with penmark down"

# 6. started again: scored again
start_serve
ok=""
for _ in $(seq 20); do
  scan "$imp"
  penmark_line | grep -q '^Symbol: PENMARK_IMPERSONATION ' && { ok=1; break; }
  sleep 1
done
[ -n "$ok" ] || fail "not scored again after a restart: $(penmark_line)"
echo "rspamd-flow ok: $n sample mails ($imps impersonation, $gens genuine) with" \
  "the symbols of penmark score, abstain for an unknown sender, PENMARK_FAIL" \
  "on a hang and with penmark stopped, scored again after a restart"
