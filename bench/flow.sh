#!/bin/sh
# Per-mail latency in the mail flow (printed, never asserted), on the sample
# inbound mail (24 mails, English and Japanese) and a store trained on the
# sample corpus:
#   - in-process scoring: the elapsed_us that `penmark score` reports (the
#     scoring alone: parse, features, profile);
#   - `penmark serve`: one HTTP request per mail over the unix socket, timed
#     by curl (connection, upload, scoring, answer);
#   - `penmark milter`: one milter conversation per mail (connect,
#     headers, body, end of message, reply) by build/bench/milterload, which
#     scores the same mails in its own process with the library in turn, so
#     that the milter's cost over in-process scoring is read off one run;
#     and the scoring part from the milter's own log (us=).
# Usage: bench/flow.sh PENMARK [BUILD]   Environment: ROUNDS (default 10).
set -eu
penmark=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
rounds=${ROUNDS:-10}
milterload=$(cd "${2:-build}" && pwd)/bench/milterload
here=$(cd "$(dirname "$0")" && pwd)
data=$(pwd)/data
tmp=$(mktemp -d)
spid="" mpid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
  [ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# p50, p99 and mean of the numbers on standard input (one a line)
stats() {
  sort -n | awk '{ v[NR] = $1; s += $1 }
    END { if (!NR) { print "no data"; exit }
      i50 = int(0.50 * NR + 0.5); if (i50 < 1) i50 = 1
      i99 = int(0.99 * NR + 0.5); if (i99 < 1) i99 = 1; if (i99 > NR) i99 = NR
      printf "p50 %8.0f us   p99 %8.0f us   mean %8.0f us   (%d mails)\n",
        v[i50], v[i99], s / NR, NR }'
}

"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" >/dev/null 2>&1
ls "$data"/sample/inbound/*.eml >"$tmp/list"
echo "mail flow latency per mail: $(wc -l <"$tmp/list") sample mails x $rounds rounds"

# 1. in-process
i=0
while [ $i -lt "$rounds" ]; do
  xargs "$penmark" score --tenant demo --store "$tmp/store" <"$tmp/list"
  i=$((i + 1))
done | sed 's/.*"elapsed_us":\([0-9]*\).*/\1/' >"$tmp/inproc"
printf '%-34s ' "penmark score (fresh process)"
stats <"$tmp/inproc"

# 2. penmark serve over its unix socket
"$penmark" serve --socket "$tmp/s.sock" --store "$tmp/store" --threads 1 2>"$tmp/serve.log" &
spid=$!
until curl -sf --unix-socket "$tmp/s.sock" http://localhost/v1/health >/dev/null 2>&1; do sleep 0.1; done
# the tenant's first request loads it: not counted
curl -s --unix-socket "$tmp/s.sock" --data-binary "@$(head -1 "$tmp/list")" \
  'http://localhost/v1/score?tenant=demo' >/dev/null
i=0
while [ $i -lt "$rounds" ]; do
  while read -r m; do
    curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$tmp/s.sock" \
      --data-binary "@$m" 'http://localhost/v1/score?tenant=demo'
  done <"$tmp/list"
  i=$((i + 1))
done | awk '{ printf "%.0f\n", $1 * 1e6 }' >"$tmp/serve"
printf '%-34s ' "penmark serve (curl, per request)"
stats <"$tmp/serve"
kill "$spid"
wait "$spid" 2>/dev/null || true
spid=""

# 3. penmark milter through its protocol, against the library in this
# process on the same mails (build/bench/milterload)
"$penmark" milter --socket "unix:$tmp/m.sock" --tenant demo --store "$tmp/store" \
  --log "$tmp/milter.log" &
mpid=$!
for _ in $(seq 100); do [ -S "$tmp/m.sock" ] && break; sleep 0.1; done
# shellcheck disable=SC2046
"$milterload" --socket "unix:$tmp/m.sock" --store "$tmp/store" --tenant demo \
  --rounds "$rounds" $(cat "$tmp/list")
printf '%-44s ' "  the milter's own scoring (its log's us=)"
sed -n 's/.* us=\([0-9]*\).*/\1/p' "$tmp/milter.log" | stats
