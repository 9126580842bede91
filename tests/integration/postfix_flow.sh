#!/bin/bash
# penmark milter in front of a real Postfix of this test's own configuration
# (own config, queue and mail directories; SMTP on 127.0.0.1 at a free
# port). Sends the sample inbound mail with swaks and checks the delivered
# mail: an X-Penmark-Verdict on every mail equal to `penmark score`'s, a
# forged incoming one gone; `reject` gives 550 5.7.1 for impersonations;
# `quarantine` puts them in the hold queue; with the milter stopped mail is
# still delivered (milter_default_action=accept). Postfix and the milter are
# stopped on every exit. Needs root, postfix and swaks: their absence is a
# failure, never a silent pass. Usage: postfix_flow.sh PENMARK DATA_DIR DIR.
# Prints "postfix-flow ok" at the end.
set -u
penmark=$1 data=$2
fail() {
  echo "FAIL: $*"
  [ -f "${tmp:-/nonexistent}/maillog" ] && tail -5 "$tmp/maillog"
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (a Postfix instance)"
for c in postfix postconf swaks; do
  command -v $c >/dev/null || fail "$c missing (make deps)"
done
tmp=$(mktemp -d /tmp/penmark-postfix.XXXXXX)
chmod 755 "$tmp"
conf=$tmp/etc mpid=""
stop_milter() {
  [ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
  mpid=""
  rm -f "$sock"
}
stop_all() {
  stop_milter
  if [ -f "$tmp/queue/pid/master.pid" ]; then
    postfix -c "$conf" stop >/dev/null 2>&1
    pid=$(tr -dc 0-9 <"$tmp/queue/pid/master.pid")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap stop_all EXIT
port=""
for _ in $(seq 50); do
  p=$((20000 + RANDOM % 30000))
  (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { port=$p; break; }
done
[ -n "$port" ] || fail "no free port"
sock=$tmp/milter.sock
mkdir -p "$conf" "$tmp/mail" "$tmp/data" "$tmp/queue"
chmod 1777 "$tmp/mail"
chown postfix "$tmp/data"
cp /etc/postfix/master.cf "$conf/"
: >"$conf/main.cf"
# SMTP on the loopback port only; no service chrooted (a chroot would need
# copies of /etc files inside this test's queue directory)
sed -i "s|^smtp      inet .*|127.0.0.1:$port inet n - n - - smtpd|" "$conf/master.cf"
awk '/^[a-z0-9]/ && NF >= 8 { $5 = "n" } { print }' "$conf/master.cf" >"$conf/m" &&
  mv "$conf/m" "$conf/master.cf"
postconf -c "$conf" -e compatibility_level=3.6 \
  "queue_directory=$tmp/queue" "data_directory=$tmp/data" \
  inet_interfaces=loopback-only inet_protocols=ipv4 myhostname=localhost \
  mydestination=localhost mynetworks=127.0.0.0/8 alias_maps= \
  alias_database= "mail_spool_directory=$tmp/mail" \
  "maillog_file=$tmp/maillog" "maillog_file_prefixes=$tmp" "smtpd_milters=unix:$sock" \
  'non_smtpd_milters=$smtpd_milters' milter_default_action=accept \
  smtpd_banner=penmark-test || fail "postconf"
"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" \
  >/dev/null 2>&1 || fail "training the sample corpus"
postfix -c "$conf" start >"$tmp/start.out" 2>&1 || fail "postfix start: $(cat "$tmp/start.out")"
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
  sleep 0.1
done

start_milter() { # ACTION
  stop_milter
  "$penmark" milter --socket "unix:$sock" --tenant demo --store "$tmp/store" \
    --action "$1" --log "$tmp/milter.log" &
  mpid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || fail "milter did not start"
  chmod 666 "$sock"
}
send() { # MAIL [extra swaks args]
  m=$1
  shift
  swaks --server 127.0.0.1:$port --from sender@example.org \
    --to root@localhost --data "@$m" "$@" >"$tmp/swaks.out" 2>&1
}
delivered() { grep -c '^From ' "$tmp/mail/root" 2>/dev/null || echo 0; }
wait_delivered() { # N
  # a bound, not a timing: loaded machines deliver late
  for _ in $(seq 1200); do [ "$(delivered)" -ge "$1" ] && return 0; sleep 0.1; done
  fail "only $(delivered) of $1 mails delivered"
}

mails=$(ls "$data"/sample/inbound/*.eml)
n_mails=$(echo "$mails" | wc -l)
# Message-ID -> verdict from penmark score
for m in $mails; do
  id=$(grep -i -m1 '^message-id:' "$m" | sed 's/^[^:]*: *//' | tr -d '\r')
  v=$("$penmark" score --tenant demo --store "$tmp/store" "$m" |
    sed 's/.*"verdict":"\([a-z_]*\)".*/\1/')
  echo "$id $v"
done | sort >"$tmp/expected"

# 1. report: every mail delivered with a verdict; forged headers gone
start_milter report
for m in $mails; do
  { printf 'X-Penmark-Verdict: genuine; p=0.0000; forged\r\n'; cat "$m"; } >"$tmp/forged.eml"
  send "$tmp/forged.eml" || fail "sending $(basename "$m"): $(tail -3 "$tmp/swaks.out")"
done
wait_delivered "$n_mails"
grep -q forged "$tmp/mail/root" && fail "a forged X-Penmark-Verdict was delivered"
awk '/^From /{if(id!="")print id, v; id=""; v=""}
     tolower($0) ~ /^message-id:/ && id=="" {sub(/^[^:]*: */, ""); id=$0}
     /^X-Penmark-Verdict:/ {v=$2; sub(/;$/, "", v)}
     END{if(id!="")print id, v}' "$tmp/mail/root" | sort >"$tmp/got"
diff "$tmp/expected" "$tmp/got" >"$tmp/diff" ||
  fail "delivered verdicts differ from penmark score: $(cat "$tmp/diff")"
imps=$(grep -c ' impersonation$' "$tmp/expected")
[ "$imps" -gt 0 ] || fail "no impersonation among the sample mail"

# 2. reject: 550 5.7.1 for the impersonations, others delivered
start_milter reject
before=$(delivered)
rejected=0
for m in $mails; do
  id=$(grep -i -m1 '^message-id:' "$m" | sed 's/^[^:]*: *//' | tr -d '\r')
  if grep -q "^$id impersonation$" "$tmp/expected"; then
    send "$m" && fail "$(basename "$m") was not rejected"
    grep -q '550 5.7.1' "$tmp/swaks.out" || fail "no 550 5.7.1 for $(basename "$m")"
    rejected=$((rejected + 1))
  else
    send "$m" || fail "$(basename "$m") refused under reject"
  fi
done
wait_delivered $((before + n_mails - imps))

# 3. quarantine: impersonations held, the rest delivered
start_milter quarantine
before=$(delivered)
for m in $mails; do send "$m" || fail "sending $(basename "$m") (quarantine)"; done
wait_delivered $((before + n_mails - imps))
held=0
for _ in $(seq 100); do
  held=$(find "$tmp/queue/hold" -type f | wc -l)
  [ "$held" -ge "$imps" ] && break
  sleep 0.1
done
[ "$held" -eq "$imps" ] || fail "$held mails held, expected $imps"

# 4. milter stopped: mail still delivered (milter_default_action=accept)
stop_milter
rm -f "$sock"
before=$(delivered)
send "$(echo "$mails" | head -1)" || fail "not accepted with the milter down"
wait_delivered $((before + 1))
echo "postfix-flow ok: $n_mails mails delivered with verdicts, $rejected" \
  "rejected (550 5.7.1), $held held, delivered with the milter down"
