#!/bin/sh
# Writes the seeds of fuzz_milter_msg under OUT: event sequences (the
# format is described at the top of tests/fuzz/fuzz_milter_msg.c) made
# from the sample inbound mails of data/sample/inbound (senders the trained
# store knows, genuine and impostor) and by hand: forged X-Penmark-*
# headers in several cases, two Subjects, folded values, each policy and
# skip, senders of a mapped subdomain, of a tenant without a store and of
# no tenant, and copies ending one byte under, at and over the size limit.
#
# Usage: tests/fuzz/seeds_milter_msg.sh OUT   (from the top of the repository)
set -eu
out=$1
mkdir -p "$out"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

oct() { printf "\\$(printf %03o "$1")"; }
hdr() { printf 'H%s\000%s\000' "$1" "$2"; }
own() { printf 'X'; oct "$1"; oct "$2"; printf '%s\000%s\000' "$3" "$4"; }
subj() { printf 'S'; oct "$1"; printf '%s\000' "$2"; }
chunk() { n=$(printf '%s' "$1" | wc -c); printf 'B'; oct "$n"; printf '%s' "$1"; }

# A mail as libmilter hands it over: a header event per header (a folded
# one with its line breaks), the end of the headers, the body in chunks of
# SIZE bytes ('B', or 'C' when SIZE is over 255).
mail_events() { # FILE SIZE
  value='' name=''
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    case $line in
    '') break ;;
    ' '* | '	'*) value="$value
$line"; continue ;;
    esac
    [ -n "$name" ] && hdr "$name" "$value"
    name=${line%%:*}
    value=${line#*:}
    value=${value# }
  done < "$1"
  [ -n "$name" ] && hdr "$name" "$value"
  printf 'E'
  awk 'b { print } /^\r?$/ { b = 1 }' "$1" > "$tmp"
  len=$(wc -c < "$tmp")
  off=0
  while [ "$off" -lt "$len" ]; do
    n=$(($2 < len - off ? $2 : len - off))
    if [ "$2" -gt 255 ]; then
      printf 'C'; oct $((n / 256)); oct $((n % 256))
    else
      printf 'B'; oct "$n"
    fi
    tail -c +$((off + 1)) "$tmp" | head -c "$n"
    off=$((off + n))
  done
}

in=data/sample/inbound
# policies (byte 0): 0 one tenant, 1 a tenant map (tag ""), 2 the map and
# two protected senders, 3 a tenant without a store; +4 / +8 skipped
{ oct 0; mail_events "$in/genuine-dana.whitfield-1.eml" 64; } > "$out/genuine0"
{ oct 1; mail_events "$in/impostor-dana.whitfield-1.eml" 300; } > "$out/impostor1"
{ oct 2; mail_events "$in/impostor-makoto.takahashi-1.eml" 1; } > "$out/impostor2_bytes"
{ oct 2; mail_events "$in/genuine-tomas.reyes-1.eml" 200; } > "$out/unprotected2"
{ oct 3; mail_events "$in/genuine-misaki.sato-1.eml" 4000; } > "$out/nostore3"
{ oct 4; mail_events "$in/genuine-shota.yamamoto-1.eml" 100; } > "$out/trusted"
{ oct 9; mail_events "$in/impostor-margaret.osei-1.eml" 100; } > "$out/authenticated"

# forged verdicts in several cases around the real headers, two Subjects
{ oct 0
  own 255 3 'Verdict' 'genuine; p=0.0000; tenant=fuzz'
  hdr 'From' 'Dana Whitfield <dana.whitfield@harborpine.example>'
  own 0 0 'verdict' 'genuine'
  subj 1 'first subject'
  own 1 4 'Reasons' 'none
 folded'
  subj 0 'second subject'
  hdr 'To' 'tomas.reyes@harborpine.example'
  hdr 'X-Penmark' 'no dash: not ours'
  hdr 'X-Penmarked' 'not ours either'
  own 255 255 '' 'the prefix alone'
  printf 'E'
  chunk 'X-Penmark-Verdict: in the body, not a header
'
  chunk 'can we move the call to 4? -d
'; } > "$out/forged"

# a mapped subdomain, a tenant without a store, no tenant at all
{ oct 1; hdr 'From' 'Ann <ann@eu.example.org>'; subj 1 'sub'; printf 'E'
  chunk 'Hi, the report is attached. Ann
'; } > "$out/subdomain1"
{ oct 1; hdr 'From' 'x@broken.example'; printf 'E'; chunk 'text
'; } > "$out/nostore1"
{ oct 2; hdr 'From' 'x@unmapped.example'; printf 'E'; chunk 'text
'; } > "$out/unmapped2"

# the size limit: one under, at and one over (d % 7 - 3 = -1, 0, 1)
for d in 2 3 4; do
  { oct 0; hdr 'From' 'dana.whitfield@harborpine.example'; subj 1 limit
    own 0 0 'Verdict' x; printf 'P'; oct $d; } > "$out/limit$d"
done
{ oct 0; printf 'P'; oct 6; chunk 'after the limit'; } > "$out/over_limit"
printf '\000' > "$out/empty"
