#!/bin/bash
# A night of training for 20 small tenants and one broken one, published
# into the store directory of a running `penmark serve` that answers
# requests for every tenant all along. MODE slurm: a one-node Slurm cluster
# of this test's own (munged, slurmctld, slurmd; tests/slurm/slurm.conf.in)
# runs the night as one array job (contrib/slurm/penmark-night.sh); MODE
# local: `penmark train-all` alone. Checks: the broken tenant fails alone,
# every other store is published (rollback journal, no -wal beside it) and
# the daemon serves the new profiles, and no request failed. Every daemon
# this test started is stopped on every exit.
# Usage: night_flow.sh PENMARK DATA_DIR MODE. Prints "night-flow MODE ok".
set -u
penmark=$(realpath "$1") data=$(realpath "$2") mode=$3
repo=$(pwd)
fail() {
  echo "FAIL: $*"
  for f in slurmctld.log slurmd.log serve.log; do
    [ -f "${tmp:-/nonexistent}/$f" ] && { echo "== $f"; tail -15 "$tmp/$f"; }
  done
  exit 1
}
tmp=$(mktemp -d /tmp/penmark-night.XXXXXX)
chmod 755 "$tmp"
serve_pid="" load_pid="" munged_pid="" ctld_pid="" slurmd_pid=""
stop_pid() { # pid: TERM, wait up to 10 s, KILL
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null
}
stop_all() {
  stop_pid "$load_pid"
  stop_pid "$serve_pid"
  [ -n "$ctld_pid" ] && scontrol shutdown >/dev/null 2>&1
  stop_pid "$slurmd_pid"
  stop_pid "$ctld_pid"
  stop_pid "$munged_pid"
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap stop_all EXIT

# ---- the tenants: 20 small ones from the sample corpus, three senders each
senders=($(ls "$data/sample/corpus"))
store=$tmp/store list=$tmp/tenants.tsv
mkdir -p "$store"
: >"$list"
for t in $(seq -w 1 20); do
  dir=$tmp/mail/t$t
  for k in 0 1 2; do
    s=${senders[$(((10#$t + k) % ${#senders[@]}))]}
    mkdir -p "$dir/$s"
    # night 1: the first 24 mails of each sender
    ls "$data/sample/corpus/$s" | sort | head -24 |
      while read -r f; do cp "$data/sample/corpus/$s/$f" "$dir/$s/"; done
  done
  printf 't%s\t%s\n' "$t" "$dir" >>"$list"
done
printf 'broken\t%s\n' "$tmp/no-such-mail" >>"$list"
"$penmark" train-all "$list" --store "$store" --threads 1 >"$tmp/night1.txt" 2>&1
grep -q "tenants 21: 20 published, 1 failed" "$tmp/night1.txt" ||
  fail "night 1: $(head -3 "$tmp/night1.txt")"

# ---- the daemon, and requests for every tenant all night
sock=$tmp/penmark.sock
"$penmark" serve --socket "$sock" --store "$store" --threads 2 \
  >"$tmp/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "the daemon did not start"
mail=$data/sample/inbound/impostor-dana.whitfield-2.eml
ask() { # tenant -> HTTP status and the profile's mail count
  curl -s --max-time 10 --unix-socket "$sock" --data-binary @"$mail" \
    -w ' %{http_code}' "http://localhost/v1/score?tenant=$1&sender=$2"
}
first=${senders[1]}
(
  while :; do
    for t in $(seq -w 1 20); do
      s=${senders[$(((10#$t) % ${#senders[@]}))]}
      out=$(ask "t$t" "$s")
      echo "t$t ${out##* }"
    done
  done
) >"$tmp/requests.log" 2>&1 &
load_pid=$!

# ---- night 2: the rest of the mail
for t in $(seq -w 1 20); do
  dir=$tmp/mail/t$t
  for s in $(ls "$dir"); do cp "$data/sample/corpus/$s"/*.eml "$dir/$s/"; done
done
if [ "$mode" = slurm ]; then
  [ "$(id -u)" -eq 0 ] || fail "needs root (a Slurm cluster of its own)"
  for c in munged slurmctld slurmd sbatch scontrol; do
    command -v $c >/dev/null || fail "$c missing (make deps)"
  done
  host=$(hostname -s)
  port() { # a free TCP port
    for _ in $(seq 50); do
      p=$((20000 + RANDOM % 30000))
      (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
    done
  }
  mkdir -p "$tmp/state" "$tmp/spool" "$tmp/munge"
  sed -e "s|@HOST@|$host|g" -e "s|@DIR@|$tmp|g" -e "s|@CTLD_PORT@|$(port)|" \
    -e "s|@SLURMD_PORT@|$(port)|" "$repo/tests/slurm/slurm.conf.in" \
    >"$tmp/slurm.conf"
  export SLURM_CONF=$tmp/slurm.conf
  # munged at its usual socket (the system's key); started here unless one
  # runs already, and then stopped here too
  if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge: /run/munge
    runuser -u munge -- munged || fail "munged did not start"
    munged_pid=$(cat /run/munge/munged.pid 2>/dev/null)
  fi
  slurmctld -D -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
  ctld_pid=$!
  slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/slurmd.out" 2>&1 &
  slurmd_pid=$!
  up=""
  for _ in $(seq 100); do
    sinfo -h -o %T 2>/dev/null | grep -Eq '^(idle|mixed|allocated)' && { up=1; break; }
    sleep 0.2
  done
  [ -n "$up" ] || fail "the Slurm node did not come up: $(sinfo 2>&1 | tail -2)"
  PENMARK=$penmark PENMARK_WAIT=1 PENMARK_RETRIES=2 PENMARK_RETRY_DELAY=1 \
    PENMARK_SCRATCH=$tmp PENMARK_TRAIN_OPTS= \
    sh "$repo/contrib/slurm/penmark-night.sh" "$list" "$store" "$tmp/night" \
    --cpus-per-task=1 --mem=200M >"$tmp/submit.txt" 2>&1
  rc=$?
  [ $rc -eq 1 ] || fail "the night's summary step exited $rc (want 1: one tenant fails): $(cat "$tmp/submit.txt")"
  array=$(sed -n 's/^array \([0-9]*\) .*/\1/p' "$tmp/submit.txt")
  for t in $(seq 1 21); do
    st=$(scontrol show job "${array}_$t" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
    want=COMPLETED
    [ "$t" = 21 ] && want=FAILED
    [ "$st" = "$want" ] || fail "task $t: state '$st', want $want"
  done
  summary=$tmp/night/night.json
else
  "$penmark" train-all "$list" --store "$store" --threads 1 \
    --summary "$tmp/night.json" >"$tmp/night2.txt" 2>&1
  [ $? -eq 1 ] || fail "train-all: want exit 1 (one tenant fails): $(head -3 "$tmp/night2.txt")"
  summary=$tmp/night.json
fi
sum=$(cat "$summary" 2>/dev/null)
case $sum in
*'"tenants":21,"published":20,"failed":1,'*) ;;
*) fail "summary: $sum" ;;
esac
[ "$(grep -o '"mails_trained":[1-9][0-9]*,"mails_duplicate":72,' "$summary" | wc -l)" -eq 20 ] ||
  fail "summary: not the new mails only per tenant (72 known): $sum"
grep -q '"tenant":"broken".*"status":"failed","error":"[^"]*no-such-mail' "$summary" ||
  fail "summary: the broken tenant's failure is not named: $sum"
for t in $(seq -w 1 20); do
  [ -f "$store/t$t.db" ] && [ ! -e "$store/t$t.db-wal" ] || fail "t$t: not published alone"
done
[ ! -e "$store/broken.db" ] || fail "the broken tenant has a store"
# the daemon serves the new stores: every mail of the sender, not 24
for t in $(seq -w 1 20); do
  s=${senders[$(((10#$t) % ${#senders[@]}))]}
  want=$(ls "$data/sample/corpus/$s" | wc -l)
  ok=""
  for _ in $(seq 100); do
    ask "t$t" "$s" | grep -q "\"profile\":{\"mails\":$want," && { ok=1; break; }
    sleep 0.2
  done
  [ -n "$ok" ] || fail "t$t: the daemon still serves the old profile: $(ask "t$t" "$s" | head -c 300)"
done
stop_pid "$load_pid"
load_pid=""
n=$(wc -l <"$tmp/requests.log")
bad=$(grep -vc ' 200$' "$tmp/requests.log")
[ "$n" -gt 20 ] || fail "only $n requests made"
[ "$bad" -eq 0 ] || fail "$bad of $n requests failed: $(grep -v ' 200$' "$tmp/requests.log" | head -3)"
grep -q "store file replaced" "$tmp/serve.log" || fail "no reload logged"
echo "night-flow $mode ok: 20 published, 1 failed alone, $n requests all answered"
