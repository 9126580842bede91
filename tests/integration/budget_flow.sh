#!/bin/bash
# `penmark serve --max-memory` with more tenants than fit: 40 tenants (copies
# of two stores of different senders, so that a mix-up between tenants
# shows), a budget that holds a handful, three rounds of requests to every
# tenant. Checks: every answer is 200 and equal to `penmark score` on that
# tenant's store; tenants were evicted and loaded again (metrics); the
# loaded profiles stay within the budget plus one tenant; the daemon's RSS
# stays under the budget plus a margin of 96 MB (the process without any
# tenant: libraries, MeCab's dictionary, ICU, threads, SQLite handles; 512
# MB under AddressSanitizer). The
# daemon is stopped on every exit. Usage: budget_flow.sh PENMARK DATA_DIR.
# Prints "budget-flow ok".
set -u
penmark=$(realpath "$1") data=$(realpath "$2")
budget=$((1024 * 1024)) margin=$((96 * 1024 * 1024))
# Under AddressSanitizer (make asan: ASAN_OPTIONS set) its shadow memory and
# the quarantine of freed blocks (256 MB by default) count in RSS too.
[ -n "${ASAN_OPTIONS:-}" ] && margin=$((512 * 1024 * 1024))
tmp=$(mktemp -d /tmp/penmark-budget.XXXXXX)
pid=""
fail() {
  echo "FAIL: $*"
  [ -f "$tmp/serve.log" ] && tail -10 "$tmp/serve.log"
  exit 1
}
stop() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap stop EXIT
c=$data/sample/corpus
mkdir -p "$tmp/base" "$tmp/store"
"$penmark" train --tenant all --store "$tmp/base" "$c" >/dev/null 2>&1 ||
  fail "training the first store"
ls -d "$c"/*/ | head -3 | xargs -I{} find {} -name '*.eml' |
  "$penmark" train --tenant half --store "$tmp/base" - >/dev/null 2>&1 ||
  fail "training the second store"
mail=$data/sample/inbound/impostor-dana.whitfield-2.eml
sender=dana.whitfield@harborpine.example
for k in all half; do
  "$penmark" score --tenant $k --store "$tmp/base" --sender $sender "$mail" |
    grep -o '"probability":[0-9.e-]*' >"$tmp/want.$k" || fail "penmark score $k"
done
cmp -s "$tmp/want.all" "$tmp/want.half" && fail "the two stores answer alike"
for i in $(seq -w 1 40); do
  k=all
  [ $((10#$i % 2)) -eq 0 ] && k=half
  cp "$tmp/base/$k.db" "$tmp/store/t$i.db"
  echo $k >"$tmp/kind.t$i"
done
sock=$tmp/s.sock
"$penmark" serve --socket "$sock" --store "$tmp/store" --threads 2 \
  --max-memory $budget >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || fail "the daemon did not start"
max_rss=0
for round in 1 2 3; do
  for i in $(seq -w 1 40); do
    out=$(curl -s --max-time 10 --unix-socket "$sock" --data-binary @"$mail" \
      -w ' %{http_code}' "http://localhost/v1/score?tenant=t$i&sender=$sender")
    [ "${out##* }" = 200 ] || fail "t$i round $round: ${out:0:300}"
    got=$(echo "$out" | grep -o '"probability":[0-9.e-]*')
    [ "$got" = "$(cat "$tmp/want.$(cat "$tmp/kind.t$i")")" ] ||
      fail "t$i round $round: $got, want $(cat "$tmp/want.$(cat "$tmp/kind.t$i")")"
    rss=$(awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$pid/status")
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
  done
done
m=$(curl -s --unix-socket "$sock" http://localhost/metrics)
metric() { echo "$m" | awk -v k="$1" '$1 == k { print $2 }'; }
ev=$(metric penmark_tenant_evictions_total)
loads=$(metric penmark_tenant_loads_total)
bytes=$(metric penmark_profile_bytes)
one=$(stat -c %s "$tmp/base/all.db")
[ "${ev:-0}" -gt 0 ] || fail "no evictions: $m"
[ "${loads:-0}" -gt 40 ] || fail "evicted tenants were not loaded again: $loads loads"
[ "$bytes" -le $((budget + one)) ] || fail "profiles of $bytes bytes held, budget $budget"
[ "$max_rss" -le $((budget + margin)) ] ||
  fail "RSS $max_rss bytes, over the budget $budget + margin $margin"
echo "budget-flow ok: 120 answers right, $loads loads, $ev evictions, profiles $bytes bytes, max RSS $((max_rss / 1024 / 1024)) MB (budget 1 MB + margin $((margin / 1024 / 1024)) MB)"
