#!/bin/sh
# Runs each libFuzzer harness for SECONDS on its seeds (tests/fuzz/seeds.sh)
# and dictionary; the corpus each run grows is kept in BUILD/corpus/<name>
# for the next run. Fails on the first harness that finds a crash, a leak or
# a timeout (its log and the input that did it are named). One line per
# harness: executions and coverage (libFuzzer's cov: and ft:).
#
# Usage: tests/fuzz/run.sh BUILD SECONDS [HARNESS...]   (from the top)
set -eu
build=$1
seconds=$2
shift 2
names=${*:-$(cd "$build/fuzzers" && ls fuzz_* | sort)}
top=$(pwd)
seeds="$build/seeds"
sh tests/fuzz/seeds.sh "$seeds" "$build/bin/penmark"
mkdir -p "$build/corpus" "$build/logs" "$build/artifacts"
export PM_DATA="$top/data"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fail=0
for n in $names; do
  bin="$build/fuzzers/$n"
  [ -x "$bin" ] || { echo "fuzz: no harness $bin" >&2; exit 2; }
  dict=""
  max_len=4096
  case $n in
  fuzz_pipeline | fuzz_owntext) dict=tests/fuzz/dict/mail.dict ;;
  fuzz_mail) dict=tests/fuzz/dict/mail.dict; max_len=400000 ;;
  fuzz_html) dict=tests/fuzz/dict/html.dict ;;
  fuzz_charset) max_len=16384 ;;
  fuzz_config) dict=tests/fuzz/dict/config.dict ;;
  fuzz_request | fuzz_client) dict=tests/fuzz/dict/http.dict ;;
  fuzz_serve) dict=tests/fuzz/dict/http.dict; max_len=8192 ;;
  fuzz_milter_msg) dict=tests/fuzz/dict/milter_msg.dict; max_len=8192 ;;
  fuzz_store) max_len=1000000 ;;
  esac
  corpus="$build/corpus/$n"
  mkdir -p "$corpus"
  log="$build/logs/$n.log"
  set -- -max_total_time="$seconds" -max_len="$max_len" -timeout=20 \
    -rss_limit_mb=3072 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$n-"
  [ -n "$dict" ] && set -- "$@" -dict="$dict"
  if "$bin" "$@" "$corpus" "$seeds/$n" >"$log" 2>&1; then
    st=ok
  else
    st=FAILED
    fail=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  printf '%-16s %-6s %10s execs  %s\n' "$n" "$st" "${execs:-?}" "${cov:-}"
  if [ $st = FAILED ]; then
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2
    echo "fuzz: $n failed; see $log" >&2
  fi
done
exit $fail
