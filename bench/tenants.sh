#!/bin/sh
# Many tenants in one daemon (printed, never asserted): 1,000 synthetic
# tenants (900 with the sample corpus's 6 senders, 100 with 20 senders of
# enron-dev when the corpus is there; hard links of two trained stores, so
# no disk is spent), each asked once cold, then the most recent 100 again,
# under `--max-memory 512M` and under `--max-memory 64M` (evictions). Prints
# the cold-load latency (the daemon's load time, and the client's request
# time of a cold and of a warm request), loads, evictions, the profiles'
# bytes and the daemon's peak RSS.
#
# Usage: bench/tenants.sh PENMARK
# Environment: TENANTS (default 1000), SHARED_DATA (default ../shared/data).
set -eu
penmark=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
n=${TENANTS:-1000}
shared=${SHARED_DATA:-../shared/data}
data=$(pwd)/data
tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -p "$tmp/base" "$tmp/store"
"$penmark" train --tenant small --store "$tmp/base" --threads 2 \
  "$data/sample/corpus" >/dev/null
big=small
if [ -d "$shared/enron-dev" ]; then
  ls -d "$shared/enron-dev"/*/ | head -20 | xargs -I{} find {} -type f |
    "$penmark" train --tenant big --store "$tmp/base" --threads 2 \
      --label-by-dir - >/dev/null
  big=big
else
  echo "(enron-dev not found in $shared: every tenant is the sample's)"
fi
for f in "$tmp/base"/*.db; do
  echo "store $(basename "$f" .db): $(stat -c %s "$f") bytes"
done
i=1
while [ $i -le "$n" ]; do
  k=small
  [ $((i % 10)) -eq 0 ] && k=$big
  ln "$tmp/base/$k.db" "$tmp/store/t$i.db"
  i=$((i + 1))
done
mail=$data/sample/inbound/impostor-dana.whitfield-2.eml
sock=$tmp/s.sock
quantile() { # q, from the sorted numbers on stdin
  awk -v q="$1" '{ v[NR] = $1 } END { i = int(q * NR); if (i < 1) i = 1; printf "%.2f", v[i] * 1000 }'
}
for budget in 512M 64M; do
  "$penmark" serve --socket "$sock" --store "$tmp/store" --threads 2 \
    --max-memory $budget 2>"$tmp/serve.log" &
  pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  peak=0
  : >"$tmp/cold"
  : >"$tmp/warm"
  t0=$(date +%s.%N)
  i=1
  while [ $i -le "$n" ]; do
    curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" \
      --data-binary @"$mail" "http://localhost/v1/score?tenant=t$i" >>"$tmp/cold"
    if [ $((i % 50)) -eq 0 ]; then
      r=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
      [ "$r" -gt "$peak" ] && peak=$r
    fi
    i=$((i + 1))
  done
  t1=$(date +%s.%N)
  i=$((n - 99))
  while [ $i -le "$n" ]; do
    curl -s -o /dev/null -w '%{time_total}\n' --unix-socket "$sock" \
      --data-binary @"$mail" "http://localhost/v1/score?tenant=t$i" >>"$tmp/warm"
    i=$((i + 1))
  done
  m=$(curl -s --unix-socket "$sock" http://localhost/metrics)
  metric() { echo "$m" | awk -v k="$1" '$1 == k { print $2 }'; }
  peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
  loads=$(metric penmark_tenant_loads_total)
  sum=$(metric penmark_tenant_load_seconds_sum)
  echo "--max-memory $budget, $n tenants asked once in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s:"
  echo "  loads $loads, evictions $(metric penmark_tenant_evictions_total), loaded $(metric penmark_tenants_loaded), profiles $(metric penmark_profile_bytes) bytes"
  echo "  cold load in the daemon: mean $(awk -v s="$sum" -v n="$loads" 'BEGIN { printf "%.2f", s * 1000 / n }') ms, max $(awk -v s="$(metric penmark_tenant_load_seconds_max)" 'BEGIN { printf "%.2f", s * 1000 }') ms"
  echo "  request, cold: p50 $(sort -n "$tmp/cold" | quantile 0.5) ms, p99 $(sort -n "$tmp/cold" | quantile 0.99) ms; warm: p50 $(sort -n "$tmp/warm" | quantile 0.5) ms (curl, a process per request)"
  echo "  peak RSS $((peak / 1024)) MB"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
done
