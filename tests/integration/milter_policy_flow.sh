# Part of milter_flow.sh (sourced: its functions, $tmp, $sock, $mails and the
# trained $tmp/store): the policy of the milter, through miltertest.
# $tmp/plan holds "MAIL accept|reject" by `penmark score`'s verdicts.
imp=$(awk '$2 == "reject" { print $1; exit }' "$tmp/plan")
gen=$(awk '$2 == "accept" && /genuine/ { print $1; exit }' "$tmp/plan")
addr() { grep -i -m1 '^from:' "$1" | sed 's/.*<\([^>]*\)>.*/\1/' | tr -d '\r'; }
imp2=""
for m in $(awk '$2 == "reject" { print $1 }' "$tmp/plan"); do
  [ "$(addr "$m")" != "$(addr "$imp")" ] && { imp2=$m; break; }
done
[ -n "$imp" ] && [ -n "$gen" ] && [ -n "$imp2" ] ||
  fail "the sample lacks two flagged impostors of different senders"

# tenant map: the mapped domain is judged; another is not, logged once
printf '# domain tenant\nharborpine.example demo\n' >"$tmp/tenants.map"
sed 's/@harborpine\.example/@elsewhere.example/' "$imp" >"$tmp/other.eml"
start_with --tenant-map "$tmp/tenants.map" --store "$tmp/store" --action reject
mt "$imp" reject 0 0
for _ in 1 2 3; do
  mtv "not_judged; no tenant for the sender's domain" "$tmp/other.eml" accept 2 0
done
[ "$(grep -c 'not judged: no tenant' "$log")" -eq 1 ] ||
  fail "unmapped domains: not one log line: $(cat "$log")"

# protected senders: only the listed one is judged
addr "$imp2" >"$tmp/protected"
start reject "$tmp/store" --protected "$tmp/protected"
mtv "not_judged; not a protected sender" "$imp" accept 1 0
mt "$imp2" reject 0 0

# trusted networks (IPv4, IPv6) and authenticated submission
start reject "$tmp/store" --trusted-networks "10.0.0.0/8, 2001:db8::/32"
mtv "not_judged; trusted network" "$imp" accept 2 0 IP=10.1.2.3
mtv "not_judged; trusted network" "$imp" accept 0 0 IP=2001:db8::25
mt "$imp" reject 0 0 IP=192.0.2.1
mt "$imp" reject 0 0 IP=2001:db9::1
start reject "$tmp/store" --skip-authenticated
mtv "not_judged; authenticated submission" "$imp" accept 1 0 AUTH=dana
mt "$imp" reject 0 0
start reject "$tmp/store" # authenticated mail is judged unless asked
mt "$imp" reject 0 0 AUTH=dana

# a policy file (relative paths from its folder), the command line over it
mkdir -p "$tmp/pol"
cp "$tmp/tenants.map" "$tmp/pol/"
cat >"$tmp/pol/milter.conf" <<CONF
# penmark milter policy
socket = $sock
store = ../store
tenant_map = tenants.map
action = reject
tag = "[suspect] "
protected = profiled
trusted_networks = 10.0.0.0/8
skip_authenticated = yes
time_limit_ms = 5000
max_connections = 4
CONF
start_with --policy "$tmp/pol/milter.conf"
mt "$imp" reject 0 0
mtv "not_judged; trusted network" "$imp" accept 0 0 IP=10.9.9.9
mtv "not_judged; authenticated submission" "$imp" accept 0 0 AUTH=dana
start_with --policy "$tmp/pol/milter.conf" --action tag
mt "$imp" accept 0 0 TAGGED=1

# policy errors: refused at start, naming the file and line
bad() { # EXIT_CODE MESSAGE POLICY_TEXT...
  want=$1 msg=$2
  shift 2
  printf '%s\n' "$@" >"$tmp/pol/bad.conf"
  timeout 20 "$penmark" milter --policy "$tmp/pol/bad.conf" \
    >/dev/null 2>"$tmp/bad.err"
  rc=$?
  [ "$rc" -eq "$want" ] && grep -qF "$msg" "$tmp/bad.err" ||
    fail "policy '$*': exit $rc, '$(cat "$tmp/bad.err")', wanted $want '$msg'"
}
ok="socket = $sock"
bad 2 "bad.conf:3: unknown setting 'bogus'" "$ok" "store = /x" "bogus = 1"
bad 2 "bad.conf:2: action 'drop': not report" "$ok" "action = drop"
bad 2 "bad.conf:2: time_limit_ms 'fast'" "$ok" "time_limit_ms = fast"
bad 2 "bad.conf:2: max_connections '0'" "$ok" "max_connections = 0"
bad 2 "bad.conf:3: tenant and tenant_map (line 2): give one" "$ok" \
  "tenant = demo" "tenant_map = x.map"
bad 2 "bad.conf:2: '10.0.0.1/8' has bits set" "$ok" "trusted_networks = 10.0.0.1/8"
bad 2 "bad.conf:2: expected \"key = value\"" "$ok" "action report"
bad 2 "bad.conf:3: action given twice (line 2 too)" "$ok" "action = tag" \
  "action = reject"
bad 2 "bad.conf:2: skip_authenticated 'maybe'" "$ok" "skip_authenticated = maybe"
bad 2 "no tenant" "$ok" "store = /x"
printf 'harborpine.example demo\nexample.org\n' >"$tmp/pol/tenants.bad"
bad 2 "tenants.bad:2: expected \"domain tenant\"" "$ok" "store = /x" \
  "tenant_map = tenants.bad"
printf 'anna@harborpine.example\nnot-an-address\n' >"$tmp/pol/protected.bad"
bad 2 "protected.bad:2: 'not-an-address' is not an address" "$ok" \
  "store = /x" "tenant = demo" "protected = protected.bad"
bad 1 "missing.map" "$ok" "store = /x" "tenant_map = missing.map"

# the time limit: a long mail fails open at once; the worker it occupies
# still counts, so with one mail at most the next is refused fast
# long mails: the body of a genuine mail 512 and 4096 times over (330 KB,
# 2.6 MB: tens of milliseconds of scoring)
sed '1,/^\r\{0,1\}$/d' "$gen" >"$tmp/body"
for _ in 1 2 3 4 5 6 7 8 9; do cat "$tmp/body" "$tmp/body" >"$tmp/b2"; mv "$tmp/b2" "$tmp/body"; done
big=$tmp/big.eml huge=$tmp/huge.eml
{ sed '/^\r\{0,1\}$/q' "$gen"; cat "$tmp/body"; } >"$big"
{ sed '/^\r\{0,1\}$/q' "$gen"; for _ in 1 2 3 4 5 6 7 8; do cat "$tmp/body"; done; } >"$huge"
start report "$tmp/store" --time-limit 1 --max-connections 1
VERDICT2="error; too many mails being scored"
mtv "error; time limit" "$big" accept 1 0 MAIL2="$gen"
VERDICT2=""
grep -q 'error: time limit; accepted' "$log" || fail "no time-limit log line"
# no thread per slow mail: the threads stay as many after more of them
sleep 1
threads=$(ls "/proc/$mpid/task" | wc -l)
for _ in 1 2 3 4 5; do
  mtv "error; time limit" "$big" accept 0 0
  sleep 0.3
done
sleep 1
[ "$(ls "/proc/$mpid/task" | wc -l)" -le "$threads" ] ||
  fail "threads grew from $threads to $(ls "/proc/$mpid/task" | wc -l)"

# graceful stop: SIGTERM while a long mail is scored; the mail is still
# answered with its verdict, then the milter ends by itself
start report "$tmp/store"
mt "$huge" accept 0 0 KILLPID="$mpid"
grep -q 'verdict=' "$log" || fail "the mail being scored at SIGTERM was not judged"
for _ in $(seq 150); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$mpid" 2>/dev/null && fail "the milter did not stop after SIGTERM"
wait "$mpid"
rc=$?
mpid=""
[ "$rc" -eq 0 ] || fail "the milter exited $rc after SIGTERM"
grep -q 'stopped$' "$log" || fail "no 'stopped' log line"
# whether the signal did come during the scoring (timing: told, not asserted)
awk '/signal 15: stopping/ { s = NR } /verdict=/ { v = NR }
  END { if (s && s < v) print "graceful stop: SIGTERM came while the mail was scored"
        else print "graceful stop: SIGTERM came after the scoring (a fast machine)" }' "$log"
