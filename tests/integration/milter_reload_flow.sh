# Part of milter_flow.sh (sourced: its functions, $tmp, $data, $penmark and
# $tmp/plan): the milter follows the daemon's reload rules. A store that
# is missing at start fails open, then is picked up once it is published;
# a store replaced by an atomic rename (what `penmark train-all` and the
# Slurm night do) is read again and swapped in, every mail meanwhile is
# scored by the old profiles or the new (none fails open); SIGUSR1 makes
# every tenant be read again.
rl_mail=$(awk '$2 == "reject" { print $1; exit }' "$tmp/plan")
rl_from=$(grep -i -m1 '^from:' "$rl_mail" | sed 's/.*<\([^>]*\)>.*/\1/' | tr -d '\r')
last_verdict() { # the verdict (or "error") of the last mail logged
  sed -n 's/.*\(verdict=[a-z_]*\|error: store unavailable\).*/\1/p' "$log" | tail -1
}
publish() { # CORPUS...: trains on scratch, renames into $tmp/pub
  rm -rf "$tmp/scratch" && mkdir -p "$tmp/scratch" "$tmp/pub"
  "$penmark" train --tenant demo --store "$tmp/scratch" "$@" >/dev/null 2>&1 ||
    fail "training for the reload checks"
  mv "$tmp/scratch/demo.db" "$tmp/pub/demo.db.new" &&
    mv "$tmp/pub/demo.db.new" "$tmp/pub/demo.db" || fail "publishing"
}
# a corpus without the claimed sender: its mail is then unknown_sender
mkdir -p "$tmp/without"
for d in "$data"/sample/corpus/*; do
  [ "$(basename "$d")" = "$rl_from" ] || ln -s "$d" "$tmp/without/"
done
[ "$(ls "$tmp/without" | wc -l)" -lt "$(ls "$data/sample/corpus" | wc -l)" ] ||
  fail "the claimed sender $rl_from has no folder in the sample corpus"

# missing at start: fails open; published: judged within the retry interval
rm -rf "$tmp/pub" && mkdir -p "$tmp/pub"
start report "$tmp/pub"
mt "$rl_mail" accept 0 0
[ "$(last_verdict)" = "error: store unavailable" ] ||
  fail "a missing store did not fail open: $(last_verdict)"
publish "$data/sample/corpus"
got=""
for _ in $(seq 30); do
  sleep 0.2
  mt "$rl_mail" accept 0 0
  got=$(last_verdict)
  [ "$got" = "verdict=impersonation" ] && break
done
[ "$got" = "verdict=impersonation" ] ||
  fail "a store published after the start was not picked up: $got"

# replaced by a store without the sender: swapped in, no mail fails open
publish "$tmp/without"
seen=""
for _ in $(seq 40); do
  mt "$rl_mail" accept 0 0
  got=$(last_verdict)
  case $got in
  verdict=impersonation) ;;
  verdict=unknown_sender) seen=1 && break ;;
  *) fail "a mail during the reload was not scored by old or new: $got" ;;
  esac
  sleep 0.2
done
[ -n "$seen" ] || fail "the replaced store was not swapped in"
grep -q 'tenant demo loaded\|reload' "$log" || fail "no reload log line"

# SIGUSR1: every tenant read again on its next mail; the milter lives on
publish "$data/sample/corpus"
kill -USR1 "$mpid"
sleep 0.3
kill -0 "$mpid" 2>/dev/null || fail "the milter died of SIGUSR1"
grep -q 'signal 10: reloading every tenant' "$log" || fail "no SIGUSR1 log line"
mt "$rl_mail" accept 0 0
[ "$(last_verdict)" = "verdict=impersonation" ] ||
  fail "after SIGUSR1 the new store was not read: $(last_verdict)"
