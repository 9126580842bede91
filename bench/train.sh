#!/bin/sh
# Training throughput on enron-dev (every mail, labelled by directory, a
# fresh store each time), with 1 and 2 extraction threads, beside the
# extraction-alone time of bench/extract (target: training at most 1.2x the
# time of extraction on one core); the peak RSS; the store size per sender;
# and a second run over the same input (every mail a duplicate) as a
# fraction of the first. Numbers only; nothing is asserted.
#
# Usage: bench/train.sh BUILD PENMARK
# Environment: PM_SHARED_DATA (default ../shared/data); PM_BENCH_EXTRACT, a
# summary file written by `extract --summary` (else extract runs here).
set -eu
build=$1
penmark=$2
shared=${PM_SHARED_DATA:-../shared/data}
corpus=$shared/enron-dev
if [ ! -d "$corpus" ]; then
  echo "== train enron-dev: $corpus not found, skipped"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# run NAME STORE THREADS: one `penmark train --json`, its peak RSS in
# $tmp/NAME.rss (kB, "?" when it cannot be measured).
run() {
  name=$1 store=$2 threads=$3
  set -- "$penmark" train --tenant bench --store "$store" --label-by-dir \
    --threads "$threads" --json "$corpus"
  if [ -x "$build/bench/rss" ]; then
    "$build/bench/rss" "$tmp/$name.rss" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
  elif [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M -o "$tmp/$name.rss" "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
  else
    echo "?" >"$tmp/$name.rss"
    "$@" >"$tmp/$name.json" 2>"$tmp/$name.err"
  fi || {
    echo "train.sh: penmark train failed:" >&2
    cat "$tmp/$name.err" >&2
    exit 1
  }
}

# field KEY FILE: a number from the one-line JSON summary.
field() {
  sed -n "s/.*\"$1\":\([-0-9.e+]*\).*/\1/p" "$2"
}

# The extraction-alone time of the same mails, on one core.
ext=${PM_BENCH_EXTRACT:-}
if [ -z "$ext" ] || ! grep -q '^enron-dev ' "$ext" 2>/dev/null; then
  ext=$tmp/extract.txt
  "$build/bench/extract" --summary "$ext" enron-dev >/dev/null
fi
ext_s=$(awk '$1 == "enron-dev" { print $4 }' "$ext")

for t in 1 2; do
  run "first$t" "$tmp/store$t" "$t"
  run "second$t" "$tmp/store$t" "$t"
done

mails=$(field mails_read "$tmp/first1.json")
mb=$(awk -v b="$(field bytes_read "$tmp/first1.json")" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "== train enron-dev: $mails mails, $mb MB, labelled by directory, fresh store"
printf '  %-26s %7s %8s %8s %7s %8s %10s\n' run threads seconds mails/s MB/s "RSS MB" "vs extract"
row() {
  label=$1 name=$2 threads=$3
  j=$tmp/$name.json
  awk -v label="$label" -v t="$threads" -v s="$(field elapsed_s "$j")" \
    -v n="$(field mails_read "$j")" -v b="$(field bytes_read "$j")" \
    -v rss="$(cat "$tmp/$name.rss")" -v ext="$ext_s" 'BEGIN {
      r = rss == "?" ? "?" : sprintf("%.0f", rss / 1024)
      printf "  %-26s %7d %8.2f %8.0f %7.2f %8s %9.2fx\n", label, t, s,
        (s > 0 ? n / s : 0), (s > 0 ? b / 1e6 / s : 0), r, (ext > 0 ? s / ext : 0) }'
}
row "first run" first1 1
row "first run" first2 2
row "second run (all duplicate)" second1 1
row "second run (all duplicate)" second2 2
awk -v e="$ext_s" -v n="$mails" 'BEGIN {
  printf "  %-26s %7d %8.2f %8.0f   (bench/extract: parse + features)\n",
    "extraction alone", 1, e, (e > 0 ? n / e : 0) }'
awk -v a="$(field elapsed_s "$tmp/first1.json")" -v b="$(field elapsed_s "$tmp/second1.json")" \
  -v c="$(field elapsed_s "$tmp/first2.json")" -v d="$(field elapsed_s "$tmp/second2.json")" \
  -v e="$ext_s" 'BEGIN {
  if (e > 0) printf "  training / extraction time, 1 thread: %.2fx (target <= 1.2x)\n", a / e
  printf "  second run / first run: %.3f (1 thread), %.3f (2 threads)\n",
    (a > 0 ? b / a : 0), (c > 0 ? d / c : 0) }'
dup=$(field mails_duplicate "$tmp/second1.json")
echo "  second run: $dup of $mails mails recognised as trained before"
senders=$(field senders "$tmp/first1.json")
bytes=0
for f in "$tmp/store1/bench.db" "$tmp/store1/bench.db-wal"; do
  [ -f "$f" ] && bytes=$((bytes + $(wc -c <"$f")))
done
awk -v b="$bytes" -v s="$senders" 'BEGIN {
  printf "  store: %.1f MB for %d senders: %.0f kB per sender\n",
    b / 1e6, s, (s > 0 ? b / 1e3 / s : 0) }'
# The end of a run alone (the Cholesky solve and the calibration of every
# profile): the same mail again, all duplicate, with another --min-mails so
# that the model is computed again; the duplicate run's time taken off.
"$penmark" train --tenant bench --store "$tmp/store2" --label-by-dir \
  --threads 2 --min-mails 21 --json "$corpus" >"$tmp/final.json" 2>/dev/null
awk -v f="$(field elapsed_s "$tmp/final.json")" -v d="$(field elapsed_s "$tmp/second2.json")" \
  -v s="$senders" 'BEGIN {
  printf "  computing the profiles (finalize), 2 threads: %.2f s for %d senders (%.0f ms per sender)\n",
    f - d, s, (s > 0 ? (f - d) * 1000 / s : 0) }'
# A small tenant: the sample corpus (6 senders), fresh store.
"$penmark" train --tenant small --store "$tmp/small" --threads 2 --json \
  data/sample/corpus >"$tmp/small.json" 2>/dev/null
awk -v b="$(wc -c <"$tmp/small/small.db")" -v s="$(field senders "$tmp/small.json")" \
  -v t="$(field elapsed_s "$tmp/small.json")" 'BEGIN {
  printf "  small tenant (sample corpus): %.2f MB for %d senders, trained in %.2f s\n",
    b / 1e6, s, t }'
