#!/bin/sh
# Who may include what (README, Layout). A module is a folder holding .c
# files; its private headers are the .h files in that folder, its public
# header include/penmark/<folder name>.h. A file may include its own
# folder's headers, any public header (penmark/...), common/ and system
# headers; never another module's private header. Tests and benchmarks test
# the insides and are not checked.
#
# Prints file:line for every include that breaks the rule; exit 1 if any.
# Exceptions, one "file include" a line, are in tests/layout_exceptions.
cd "$(dirname "$0")/.." || exit 2
dirs=$(find common features train score eval cli -name '*.c' -exec dirname {} \; | sort -u)
exc=tests/layout_exceptions
files=$(for d in $dirs; do ls "$d"/*.c "$d"/*.h 2>/dev/null; done)
# shellcheck disable=SC2086
awk -v exc="$exc" '
  BEGIN { while ((getline l < exc) > 0) if (l !~ /^#/ && l != "") ok[l] = 1 }
  /^[ \t]*#[ \t]*include[ \t]*"/ {
    inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
    dir = FILENAME; sub(/\/[^\/]*$/, "", dir)
    idir = inc; if (idir !~ /\//) next; sub(/\/[^\/]*$/, "", idir)
    if (inc ~ /^penmark\// || idir == "common" || idir == dir) next
    if ((FILENAME " " inc) in ok) next
    name = idir; sub(/.*\//, "", name)
    printf "%s:%d: includes %s, a private header of %s/ (use include/penmark/%s.h)\n", FILENAME, FNR, inc, idir, name
    bad = 1
  }
  END { exit bad }
' $files
