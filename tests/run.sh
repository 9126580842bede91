#!/bin/sh
# Runs the Check suites (unit, then integration) and ends with the summary
# line of every suite. Usage: tests/run.sh BUILD PENMARK [unit|integration]
set -u
build=$1
PENMARK_BIN=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
what=${3:-all}
export PENMARK_BIN
export PM_FIXTURES="$(pwd)/tests/fixtures"
export PM_DATA="$(pwd)/data"
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
failed=0
run_dir() {
  for t in "$build"/tests/"$1"/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    echo "== $1/$name"
    "$t" > "$summary.out" 2>&1
    rc=$?
    cat "$summary.out"
    line=$(grep -E '^[0-9]+%: Checks: ' "$summary.out" | tail -n 1)
    [ -n "$line" ] || line="no summary (exit $rc)"
    printf '%-34s %s\n' "$1/$name" "$line" >> "$summary"
    [ "$rc" -eq 0 ] || failed=1
  done
  rm -f "$summary.out"
}
[ "$what" = integration ] || run_dir unit
[ "$what" = unit ] || run_dir integration
echo
echo "== summary"
cat "$summary"
if [ "$failed" -ne 0 ]; then
  echo "FAILED"
  exit 1
fi
echo "all suites passed"
