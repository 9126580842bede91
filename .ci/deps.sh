#!/bin/sh
# Installs the Debian packages penmark builds and runs with. Quick when they
# are already there: apt-get runs only for what is missing.
set -eu
pkgs="build-essential pkg-config curl libopenblas-dev libicu-dev libmecab-dev mecab
mecab-ipadic mecab-ipadic-utf8 libsqlite3-dev libcjson-dev check libsubunit-dev
libgmime-3.0-dev libmicrohttpd-dev libxxhash-dev valgrind
libmilter-dev miltertest postfix swaks slurm-wlm munge
clang rspamd"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq || true
# postfix asks its mailer type at install: local only, and no system
# postfix is started (tests start their own instance with their own
# configuration; Debian containers also carry a policy-rc.d that forbids it).
echo 'postfix postfix/main_mailer_type select Local only' |
  $sudo debconf-set-selections
# mecab-ipadic named explicitly: otherwise apt may pick the Juman dictionary.
$sudo apt-get install -y -qq --no-install-recommends $missing
