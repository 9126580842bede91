#!/bin/bash
# Mail through a real Postfix with and without `penmark milter` (printed,
# never asserted). One Postfix of the bench's own configuration (own config,
# queue and mail directories, local delivery to an mbox) listens on two
# loopback ports: one smtpd without a milter, one with the milter (action
# report, a store trained on the sample corpus). The sample inbound mails
# (24) are sent in turn by build/bench/smtpload, one SMTP connection per
# mail:
#   - one client at a time: the time from the end of data (".") to the 250
#     reply, p50/p99, with and without the milter (the milter's added
#     latency is the difference), and the whole session;
#   - CLIENTS clients at once: mails/s accepted, and mails/s delivered
#     (first connect to the last mail in the mbox).
# Postfix and the milter are stopped on every exit. Needs root, postfix.
# Usage: bench/postfix.sh BUILD PENMARK   Environment: ROUNDS (default 20,
# ROUNDS x 24 mails per measurement), CLIENTS (default 4).
set -u
build=$1
penmark=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
rounds=${ROUNDS:-20}
clients=${CLIENTS:-4}
data=$(pwd)/data
load=$build/bench/smtpload
if [ "$(id -u)" -ne 0 ] || ! command -v postfix >/dev/null; then
  echo "postfix: needs root and postfix (make deps), skipped"
  exit 0
fi
tmp=$(mktemp -d /tmp/penmark-bench-postfix.XXXXXX)
chmod 755 "$tmp"
conf=$tmp/etc sock=$tmp/milter.sock mpid=""
stop_all() {
  [ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
  if [ -f "$tmp/queue/pid/master.pid" ]; then
    postfix -c "$conf" stop >/dev/null 2>&1
    pid=$(tr -dc 0-9 <"$tmp/queue/pid/master.pid")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap stop_all EXIT
trap 'exit 1' INT TERM
fail() {
  echo "postfix bench: $*"
  [ -f "$tmp/maillog" ] && tail -5 "$tmp/maillog"
  exit 1
}
free_port() {
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}
plain=$(free_port) milt=$(free_port)
[ -n "$plain" ] && [ -n "$milt" ] && [ "$plain" != "$milt" ] || fail "no free port"
mkdir -p "$conf" "$tmp/mail" "$tmp/data" "$tmp/queue"
chmod 1777 "$tmp/mail"
chown postfix "$tmp/data"
# no service chrooted (a chroot would need copies of /etc in the queue)
awk '/^[a-z0-9]/ && NF >= 8 { $5 = "n" } { print }' /etc/postfix/master.cf |
  grep -v '^smtp *inet' >"$conf/master.cf"
{
  echo "127.0.0.1:$plain inet n - n - - smtpd"
  echo "127.0.0.1:$milt inet n - n - - smtpd -o smtpd_milters=unix:$sock"
} >>"$conf/master.cf"
: >"$conf/main.cf"
postconf -c "$conf" -e compatibility_level=3.6 \
  "queue_directory=$tmp/queue" "data_directory=$tmp/data" \
  inet_interfaces=loopback-only inet_protocols=ipv4 myhostname=localhost \
  mydestination=localhost mynetworks=127.0.0.0/8 alias_maps= \
  alias_database= "mail_spool_directory=$tmp/mail" \
  "maillog_file=$tmp/maillog" "maillog_file_prefixes=$tmp" smtpd_milters= \
  non_smtpd_milters= milter_default_action=accept smtpd_banner=penmark-bench ||
  fail "postconf"
"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" \
  >/dev/null 2>&1 || fail "training the sample corpus"
"$penmark" milter --socket "unix:$sock" --tenant demo --store "$tmp/store" \
  --action report --log "$tmp/milter.log" &
mpid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "milter did not start"
chmod 666 "$sock"
postfix -c "$conf" start >"$tmp/start.out" 2>&1 || fail "postfix start: $(cat "$tmp/start.out")"
for p in $plain $milt; do
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break
    sleep 0.1
  done
done
mails=$(ls "$data"/sample/inbound/*.eml)
n=$((rounds * $(echo "$mails" | wc -l)))
delivered() { grep -c '^From ' "$tmp/mail/root" 2>/dev/null || echo 0; }
wait_delivered() { # N: a bound, not a timing
  for _ in $(seq 3000); do [ "$(delivered)" -ge "$1" ] && return 0; sleep 0.05; done
  fail "only $(delivered) of $1 mails delivered"
}
# warm-up, not counted: the smtpd processes, the milter's first mails
for p in $plain $milt; do
  # shellcheck disable=SC2086
  "$load" --port "$p" --mails 24 $mails >/dev/null || fail "warm-up on port $p"
done
wait_delivered 48
echo "Postfix $(postconf -d -h mail_version), $n mails per line (the 24 sample mails in turn)"
for what in "without the milter:$plain" "with penmark milter:$milt"; do
  echo "-- one client, $what" | sed 's/:[0-9]*$//'
  # shellcheck disable=SC2086
  "$load" --port "${what##*:}" --mails "$n" $mails || fail "sending"
done
wait_delivered $((48 + 2 * n))
for what in "without the milter:$plain" "with penmark milter:$milt"; do
  echo "-- $clients clients, $what" | sed 's/:[0-9]*$//'
  before=$(delivered)
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  "$load" --port "${what##*:}" --clients "$clients" --mails "$n" $mails || fail "sending"
  wait_delivered $((before + n))
  t1=$(date +%s%N)
  awk -v n="$n" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "  delivered to the mbox: %.1f mails/s (%.2f s)\n", n / ((t1 - t0) / 1e9), (t1 - t0) / 1e9 }'
done
v=$(grep -c '^X-Penmark-Verdict:' "$tmp/mail/root")
echo "mails delivered with an X-Penmark-Verdict: $v of $(delivered) (expected $((24 + 2 * n)))"
printf 'milter log, scoring per mail: '
sed -n 's/.* us=\([0-9]*\).*/\1/p' "$tmp/milter.log" | sort -n |
  awk '{ v[NR] = $1; s += $1 } END { printf "p50 %d us, p99 %d us, mean %.0f us (%d mails)\n",
    v[int(0.5 * NR + 0.5)], v[int(0.99 * NR + 0.5)], s / NR, NR }'
