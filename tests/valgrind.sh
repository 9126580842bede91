#!/bin/sh
# `make valgrind`: every Check suite of BUILD/tests/unit under valgrind's
# memcheck, in one process (CK_FORK=no: valgrind follows no forked test),
# with definite and indirect leaks counted as errors. Suppressions are for
# third-party code only (tests/valgrind.supp). Prints a line per suite and
# exits non-zero when any suite fails or valgrind reports any error.
#
# Usage: tests/valgrind.sh BUILD
set -u
build=$1
command -v valgrind >/dev/null 2>&1 || {
  echo "valgrind.sh: valgrind is not installed (make deps)" >&2
  exit 1
}
# The fixtures and data, as tests/run.sh gives them (the unit suites do
# not run the command).
PM_FIXTURES=$(pwd)/tests/fixtures
PM_DATA=$(pwd)/data
export PM_FIXTURES PM_DATA
export CK_FORK=no
# valgrind is 20-50x slower: the Check timeouts do not apply without fork,
# but keep them generous in case a suite forks by itself.
CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-3600}
export CK_DEFAULT_TIMEOUT
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT INT TERM
summary=$logdir/summary
failed=0
found=0
for t in "$build"/tests/unit/test_*; do
  [ -x "$t" ] || continue
  found=1
  name=$(basename "$t")
  log=$logdir/$name.log
  echo "== valgrind unit/$name"
  start=$(date +%s)
  valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=1 --suppressions=tests/valgrind.supp \
    --num-callers=30 "$t" >"$log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  checks=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -n 1)
  definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
  indirect=$(sed -n 's/.*indirectly lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -n 1)
  if [ "$rc" -ne 0 ]; then
    failed=1
    # The reports themselves, and the failing checks: enough to act on.
    grep -E '^==[0-9]+== ' "$log" | grep -vE '^==[0-9]+== +(Memcheck|Copyright|Using Valgrind|Command|$)' | head -n 200
    grep -E ':[EF]:' "$log" | head -n 50
  fi
  printf '%-26s %-8s errors=%-4s definitely_lost=%-6s indirectly_lost=%-6s %5ss  %s\n' \
    "unit/$name" "$([ "$rc" -eq 0 ] && echo ok || echo FAIL)" "${errors:-?}" \
    "${definite:-0}" "${indirect:-0}" "$secs" "${checks:-no Check summary (exit $rc)}" \
    >>"$summary"
done
echo
echo "== valgrind summary"
[ "$found" -eq 1 ] || { echo "no suites under $build/tests/unit (make valgrind builds them)"; exit 1; }
cat "$summary"
if [ "$failed" -ne 0 ]; then
  echo "valgrind: FAILED"
  exit 1
fi
echo "valgrind: all suites clean"
