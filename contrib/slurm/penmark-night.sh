#!/bin/sh
# Submits a night of training: one array task per tenant of TENANTS_FILE
# (penmark-train.sbatch), then a summary step that runs once every task has
# ended, however it ended (afterany), and writes SUMMARY_DIR/night.json and
# night.txt (penmark train-all --summarize). Prints the two job ids.
#
# Usage: penmark-night.sh TENANTS_FILE STORE_DIR SUMMARY_DIR [SBATCH_OPTION...]
# With PENMARK_WAIT=1 it waits for the summary step and exits 0 when every
# tenant was published, 1 otherwise. PENMARK_MAX_PARALLEL (default 0, no
# limit) caps the tasks running at once (--array=1-N%M). Other settings: see
# penmark-train.sbatch.
set -eu
tenants=${1:?usage: penmark-night.sh TENANTS_FILE STORE_DIR SUMMARY_DIR}
store=$2 sumdir=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
penmark=${PENMARK:-penmark}
# tenant lines, as train-all counts them: not blank, not a comment
n=$(grep -cv '^[[:space:]]*\(#.*\)\{0,1\}$' "$tenants" || true)
[ "$n" -gt 0 ] || { echo "penmark-night: no tenants in $tenants" >&2; exit 2; }
mkdir -p "$sumdir/tasks"
rm -f "$sumdir"/tasks/*.json
range=1-$n
[ "${PENMARK_MAX_PARALLEL:-0}" -gt 0 ] && range=$range%$PENMARK_MAX_PARALLEL
array=$(sbatch --parsable --array="$range" --output="$sumdir/task-%a.log" \
  "$@" "$here/penmark-train.sbatch" "$tenants" "$store" "$sumdir")
array=${array%%;*}
wait=""
[ "${PENMARK_WAIT:-0}" = 1 ] && wait=--wait
summary=$(sbatch --parsable $wait --dependency=afterany:"$array" \
  --job-name=penmark-summary --output="$sumdir/night.txt" "$@" \
  --wrap "'$penmark' train-all --summarize '$sumdir/tasks' --summary '$sumdir/night.json'") ||
  status=$?
echo "array $array summary ${summary%%;*}"
[ -z "$wait" ] && exit 0
exit "${status:-0}"
