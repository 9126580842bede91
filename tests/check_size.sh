#!/bin/sh
# Functions over 80 lines (the standard: functions under ~80 lines, each
# doing the steps its comments name). Counts the lines of a function from
# the first line of its definition to its closing brace, in the library
# and the command (the layout clang-format gives: a definition starts at
# column 0 and its body ends with "}" at column 0). Tests and benchmarks
# are not checked.
#
# Prints "file:line: NAME is N lines" for every function over the limit
# that tests/size_exceptions does not list; exit 1 if any. An exception is
# one "file NAME" a line, with the reason in a comment above it.
cd "$(dirname "$0")/.." || exit 2
limit=${PM_SIZE_LIMIT:-80}
exc=tests/size_exceptions
files=$(find common features train score eval cli -name '*.c' | sort)
# shellcheck disable=SC2086
awk -v exc="$exc" -v limit="$limit" '
  BEGIN { while ((getline l < exc) > 0) if (l !~ /^#/ && l != "") ok[l] = 1 }
  FNR == 1 { cand = 0; infn = 0 }
  infn && /^}/ {
    n = FNR - start + 1
    if (n > limit && !((FILENAME " " name) in ok)) {
      printf "%s:%d: %s is %d lines (limit %d)\n", FILENAME, start, name, n, limit
      bad = 1
    }
    infn = 0; cand = 0; next
  }
  infn { next }
  /^[A-Za-z_]/ && /\(/ && !/;[ \t]*$/ && !/=/ && !/^(typedef|struct|enum|union)[ \t]/ {
    cand = 1; start = FNR
    name = $0; sub(/[ \t]*\(.*/, "", name); sub(/.*[ \t*]/, "", name)
  }
  cand && /\{[ \t]*$/ { infn = 1; next }
  cand && /;[ \t]*$/ { cand = 0 }
  END { exit bad }
' $files
