#!/bin/sh
# The daemon's numbers (printed, never asserted): requests/s and latency of
# `penmark serve` under 1, 4 and 16 keep-alive clients, on English and
# Japanese mail, beside the in-process scoring rate of the same mails (the
# ceiling: no HTTP, no socket) and the ratio; then the daemon's peak RSS
# with 10 tenants of 100 senders loaded.
#
# Usage: bench/serve.sh BUILD PENMARK
#   BUILD: the build directory (holds bench/loadgen, from `make bench`)
#   PENMARK: the command
# Environment: REQUESTS (default 20000), SHARED_DATA (default
# /work/shared/data: enron-dev and asakusarb-ja-dev are used when there).
set -eu
build=$1
penmark=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
loadgen=$build/bench/loadgen
requests=${REQUESTS:-20000}
shared=${SHARED_DATA:-/work/shared/data}
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
data=$(pwd)/data
[ -x "$loadgen" ] || { echo "serve.sh: $loadgen missing (make bench)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# start STORE: starts the daemon on $tmp/s.sock, waits until it answers.
start() {
  "$penmark" serve --socket "$tmp/s.sock" --store "$1" 2>>"$tmp/daemon.log" &
  pid=$!
  i=0
  until curl -sf --unix-socket "$tmp/s.sock" http://localhost/v1/health \
      >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 600 ] || { echo "serve.sh: daemon did not start" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
    sleep 0.1
  done
}
stop() {
  kill "$pid"
  wait "$pid" || true
  pid=
}

# The daemon's verdict counters, "genuine=N impersonation=N ...".
verdicts() {
  curl -sf --unix-socket "$tmp/s.sock" http://localhost/metrics |
    sed -n 's/^penmark_score_verdicts_total{verdict="\([a-z_]*\)"} \([0-9]*\)$/\1=\2/p' |
    tr '\n' ' '
}

# run NAME TENANT STORE LIST: in-process ceiling and the daemon at 1/4/16.
run() {
  name=$1 tenant=$2 store=$3 list=$4
  n=$(wc -l < "$list")
  [ "$n" -gt 0 ] || { echo "$name: no mail"; return; }
  echo "== $name: $n mails, tenant $tenant"
  # The ceiling: the same mails scored in-process, one thread, then one
  # thread per core (what the daemon's workers can reach at most).
  "$loadgen" --in-process "$store" --tenant "$tenant" --clients 1 \
    --requests "$requests" "@$list" | tee "$tmp/in1"
  "$loadgen" --in-process "$store" --tenant "$tenant" --clients "$cores" \
    --requests "$requests" "@$list" | tee "$tmp/inN"
  ceil1=$(sed -n 's/.* s: \([0-9]*\) req\/s.*/\1/p' "$tmp/in1")
  ceilN=$(sed -n 's/.* s: \([0-9]*\) req\/s.*/\1/p' "$tmp/inN")
  before=$(verdicts)
  for c in 1 4 16; do
    "$loadgen" --socket "$tmp/s.sock" --tenant "$tenant" --clients $c \
      --requests "$requests" "@$list" | tee "$tmp/d$c"
    rate=$(sed -n 's/.* s: \([0-9]*\) req\/s.*/\1/p' "$tmp/d$c")
    if [ $c -eq 1 ]; then ceil=$ceil1; else ceil=$ceilN; fi
    awk -v r="$rate" -v c="$ceil" -v n=$c 'BEGIN {
      if (c > 0) printf "  ratio daemon/in-process at %d clients: %.2f\n", n, r / c }'
  done
  # What the answers were (abstentions cost less than a full score).
  echo "$before|$(verdicts)" | awk -F'|' '{
    n = split($1, a, " "); for (i = 1; i <= n; i++) { split(a[i], kv, "="); b[kv[1]] = kv[2] }
    n = split($2, a, " "); out = ""
    for (i = 1; i <= n; i++) { split(a[i], kv, "="); out = out " " kv[1] "=" kv[2] - b[kv[1]] }
    print "  verdicts:" out }'
}

# Picks mails: list DIR PATTERN MAX > file (sorted, at most MAX).
pick() {
  find "$1" -type f -name "$2" | sort | head -n "$3"
}

echo "== penmark serve: $cores cores, $requests requests per run"

# ---- the sample tenant ----
"$penmark" train --tenant demo --store "$tmp/store" "$data/sample/corpus" \
  >/dev/null 2>"$tmp/train.log" || { cat "$tmp/train.log" >&2; exit 1; }
start "$tmp/store"
ls "$data"/sample/inbound/*-dana.whitfield-*.eml \
   "$data"/sample/inbound/*-margaret.osei-*.eml \
   "$data"/sample/inbound/*-tomas.reyes-*.eml > "$tmp/en.list"
ls "$data"/sample/inbound/*-makoto.takahashi-*.eml \
   "$data"/sample/inbound/*-shota.yamamoto-*.eml \
   "$data"/sample/inbound/*-misaki.sato-*.eml > "$tmp/ja.list"
run "sample English" demo "$tmp/store" "$tmp/en.list"
run "sample Japanese" demo "$tmp/store" "$tmp/ja.list"
stop

# ---- real corpora, when present ----
# Trained on each sender's first 80% (by file name, as EVAL.md splits),
# scored on up to 500 of the rest.
real() {
  corpus=$1 tenant=$2 name=$3
  [ -d "$shared/$corpus" ] || { echo "== $name: $shared/$corpus not found, skipped"; return; }
  mkdir -p "$tmp/c-$tenant"
  : > "$tmp/$tenant.list"
  for d in "$shared/$corpus"/*/; do
    s=$(basename "$d")
    n=$(ls "$d" | wc -l)
    k=$((n * 8 / 10))
    mkdir -p "$tmp/c-$tenant/$s"
    ls "$d" | sort | head -n $k | sed "s|^|$d|" |
      xargs -r -d '\n' cp -t "$tmp/c-$tenant/$s"
    # Scored: the later mail of senders with enough training mail for a
    # profile (20, as EVAL.md says), so that the daemon does the full work
    # rather than abstain on an unknown sender.
    [ "$k" -ge 20 ] &&
      ls "$d" | sort | tail -n +$((k + 1)) | sed "s|^|$d|" >> "$tmp/$tenant.list"
  done
  shuf -n 500 --random-source=/dev/zero "$tmp/$tenant.list" > "$tmp/$tenant.pick" 2>/dev/null ||
    head -n 500 "$tmp/$tenant.list" > "$tmp/$tenant.pick"
  # Keyed by the From: address (the mailbox owner's own, in these corpora),
  # so that the daemon finds the profile from the mail as it would in use.
  "$penmark" train --tenant "$tenant" --store "$tmp/real" \
    "$tmp/c-$tenant" >/dev/null 2>"$tmp/train.log" ||
    { echo "== $name: training failed:"; cat "$tmp/train.log"; return; }
  start "$tmp/real"
  run "$name" "$tenant" "$tmp/real" "$tmp/$tenant.pick"
  stop
}
real enron-dev enron "enron-dev (English)"
real asakusarb-ja-dev asakusa "asakusarb-ja-dev (Japanese)"

# ---- memory: 10 tenants of 100 senders ----
# Synthetic corpora written here: 100 senders x 25 short mails per tenant,
# each sender with a few habits (greeting, sign-off, punctuation) drawn from
# its number, over a small vocabulary.
echo "== memory: 10 tenants x 100 senders x 25 mails (synthetic)"
awk -v root="$tmp/synth" 'BEGIN {
  split("shipment budget invoice meeting report warehouse schedule customer " \
        "contract payment review delivery team plan order quarter forecast " \
        "update request approval project office freight depot", w, " ")
  nw = 24
  split("Hi|Hello|Dear team,|Hey|Good morning|", g, "|")
  split("Thanks|Best regards|Cheers|Regards|-|Kind regards", so, "|")
  srand(7)
  for (t = 1; t <= 10; t++) {
    for (s = 1; s <= 100; s++) {
      dir = sprintf("%s/t%02d/s%03d", root, t, s)
      system("mkdir -p " dir)
      for (m = 1; m <= 25; m++) {
        f = sprintf("%s/%04d.eml", dir, m)
        printf "From: Sender %d <s%03d@t%02d.example>\n", s, s, t > f
        printf "To: team@t%02d.example\nSubject: %s %s\n", t, w[1 + int(rand() * nw)], w[1 + int(rand() * nw)] > f
        printf "Message-ID: <%d.%d.%d@t%02d.example>\n", t, s, m, t > f
        printf "Date: Mon, %d Jun 2025 10:%02d:00 +0000\n\n", 1 + m % 28, m > f
        printf "%s\n\n", g[1 + s % 6] > f
        lines = 2 + int(rand() * 4)
        for (l = 0; l < lines; l++) {
          n = 6 + int(rand() * 10); line = ""
          for (k = 0; k < n; k++) line = line (k ? " " : "") w[1 + int(rand() * nw)]
          if (s % 3 == 0) line = toupper(substr(line, 1, 1)) substr(line, 2)
          printf "%s%s\n", line, (s % 4 == 0 ? "!" : (s % 4 == 1 ? "." : "")) > f
        }
        printf "\n%s\n%d\n", so[1 + s % 6], s > f
        close(f)
      }
    }
  }
}'
for t in 01 02 03 04 05 06 07 08 09 10; do
  "$penmark" train --tenant "t$t" --store "$tmp/mem" "$tmp/synth/t$t" \
    >/dev/null 2>"$tmp/train.log" || { cat "$tmp/train.log" >&2; exit 1; }
done
start "$tmp/mem"
rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
for t in 01 02 03 04 05 06 07 08 09 10; do
  curl -sf --unix-socket "$tmp/s.sock" --data-binary "@$tmp/synth/t$t/s001/0001.eml" \
    "http://localhost/v1/score?tenant=t$t" >/dev/null
done
curl -sf --unix-socket "$tmp/s.sock" http://localhost/v1/health; echo
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
grep -o 'tenant t[0-9]* loaded: .*' "$tmp/daemon.log" | head -n 3
echo "daemon RSS: $((rss0 / 1024)) MB at start, $((rss / 1024)) MB with 10 tenants loaded, peak $((hwm / 1024)) MB"
stop
