#!/bin/sh
# `make bench`: every benchmark in turn, each under a header line. Numbers
# are printed, never asserted; the run fails only when a benchmark program
# itself fails. Corpora come from $PM_SHARED_DATA (default ../shared/data);
# where they are absent (CI machines), those parts say so and are skipped.
#
# Usage: bench/run.sh BUILD PENMARK
# Environment: PM_SHARED_DATA; PM_BENCH_PEERS=1 also times the best peer
# baseline in bench/score (about two minutes more).
set -u
build=$1
penmark=$2
PM_SHARED_DATA=${PM_SHARED_DATA:-../shared/data}
export PM_SHARED_DATA
# bench/serve.sh reads the same corpora under its own variable name.
SHARED_DATA=${SHARED_DATA:-$PM_SHARED_DATA}
export SHARED_DATA
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# bench/train.sh compares training with extract's numbers of the same mails.
PM_BENCH_EXTRACT=$tmp/extract.txt
export PM_BENCH_EXTRACT

failed=""
step() {
  name=$1
  shift
  echo
  echo "######## $name ($(date -u +%H:%M:%S), $(getconf _NPROCESSORS_ONLN) cores)"
  "$@" || failed="$failed $name"
}

echo "penmark benchmarks: $("$penmark" --version), corpora in $PM_SHARED_DATA"
step "extract: feature extraction throughput" \
  "$build/bench/extract" --summary "$PM_BENCH_EXTRACT"
step "train: training throughput" sh bench/train.sh "$build" "$penmark"
step "score: in-process scoring latency" "$build/bench/score"
step "senders: scoring cost against the tenant's size (10 to 10,000 senders)" \
  "$build/bench/senders"
step "serve: the daemon" sh bench/serve.sh "$build" "$penmark"
step "flow: per-mail latency of the milter and the daemon" sh bench/flow.sh "$penmark" "$build"
step "postfix: mail through Postfix with and without the milter" \
  bash bench/postfix.sh "$build" "$penmark"
step "tenants: 1,000 tenants in one daemon" sh bench/tenants.sh "$penmark"
echo
if [ -n "$failed" ]; then
  echo "bench: failed:$failed"
  exit 1
fi
echo "bench: done"
