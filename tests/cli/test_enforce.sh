#!/bin/bash
# port25 enforce end to end, in network namespaces this test creates and
# removes itself (never the host's ruleset): a gateway namespace forwarding
# between an "inside" namespace (org acme: 10.1.0.0/16, 2001:db8:1::/48) and
# an "outside" one with listeners on 25 and 587, IPv4 and IPv6.  Checks the
# loaded table, idempotent apply, flush touching only our table, live sync
# after permit add/remove, expiry and suspension (elements only, rules
# untouched), status JSON and counters, and real connections.  Needs root:
# without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_enforce.sh needs root (ip netns, nft, netlink)"
for tool in nft ip socat jq; do
	command -v "$tool" >/dev/null || fail "test_enforce.sh needs $tool"
done

tmp=$(mktemp -d)
gw=p25e$$g; in=p25e$$i; out=p25e$$o
cleanup() {
	for n in "$gw" "$in" "$out"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db"
export PORT25_NOW=2026-11-23T10:00:00Z
export PORT25_ACTOR=test
# the cache of the loaded state: here, never the host's /run/port25
export PORT25_RUN_DIR="$tmp/run"
p() { "$PORT25" "$@"; }
g() { ip netns exec "$gw" "$@"; }
# enforce status [--json] with the exit code monitoring relies on: 0 in sync,
# 4 differs, 5 not loaded; the output in $tmp/st.out
status_rc() { # WANT_RC [--json]
	local rc=0 want=$1
	shift
	g "$PORT25" "$@" enforce status >"$tmp/st.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "enforce status $*: exit $rc, want $want: $(cat "$tmp/st.out")"
}

p init >/dev/null
p org add acme --name Acme --mode outbound --action reject >/dev/null
p contact add acme --name Sec --email sec@acme.example --role security >/dev/null
p prefix add acme 10.1.0.0/16 >/dev/null
p prefix add acme 2001:db8:1::/48 >/dev/null
p permit add acme 10.1.0.25 --kind mail --description mx >/dev/null
p permit add acme 2001:db8:1::25 --kind mail --description mx6 >/dev/null
p org set acme --enrollment active >/dev/null

# --- topology: in <-> gw <-> out
for n in "$gw" "$in" "$out"; do
	ip netns add "$n"
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	ip netns exec "$n" ip link set lo up
done
g sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip link add gi netns "$gw" type veth peer name eth0 netns "$in"
ip link add go netns "$gw" type veth peer name eth0 netns "$out"
g ip addr add 10.1.0.1/16 dev gi
g ip addr add 2001:db8:1::1/64 dev gi
g ip addr add 192.0.2.1/24 dev go
g ip addr add 2001:db8:ff::1/64 dev go
for a in 10.1.0.25/16 10.1.0.50/16; do ip netns exec "$in" ip addr add "$a" dev eth0; done
for a in 2001:db8:1::25/64 2001:db8:1::50/64; do ip netns exec "$in" ip addr add "$a" dev eth0 nodad; done
ip netns exec "$out" ip addr add 192.0.2.10/24 dev eth0
ip netns exec "$out" ip addr add 2001:db8:ff::10/64 dev eth0 nodad
for n in "$gw" "$in" "$out"; do ip netns exec "$n" bash -c 'for l in $(ls /sys/class/net); do ip link set $l up; done'; done
ip netns exec "$in" ip route add default via 10.1.0.1
ip netns exec "$in" ip -6 route add default via 2001:db8:1::1
ip netns exec "$out" ip route add default via 192.0.2.1
ip netns exec "$out" ip -6 route add default via 2001:db8:ff::1
for port in 25 587; do
	ip netns exec "$out" socat TCP4-LISTEN:$port,fork,reuseaddr SYSTEM:'echo hello' &
	ip netns exec "$out" socat TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=1 SYSTEM:'echo hello' &
done
sleep 0.5

# connect FROM DST PORT: prints "ok", "reset" or "timeout"
connect() {
	local r
	if [[ $2 == *:* ]]; then
		r=$(ip netns exec "$in" socat -T2 - "TCP6:[$2]:$3,bind=[$1],connect-timeout=2" </dev/null 2>&1) || true
	else
		r=$(ip netns exec "$in" socat -T2 - "TCP4:$2:$3,bind=$1,connect-timeout=2" </dev/null 2>&1) || true
	fi
	case "$r" in
	*hello*) echo ok ;;
	*refused*) echo reset ;;
	*) echo timeout ;;
	esac
}
expect() { # FROM DST PORT WANT
	local got
	got=$(connect "$1" "$2" "$3")
	[ "$got" = "$4" ] || fail "$1 -> $2 port $3: $got, want $4"
}

# --- before anything is loaded, everything passes
expect 10.1.0.50 192.0.2.10 25 ok
status_rc 5
grep -q 'not loaded' "$tmp/st.out" || fail "status before apply: $(cat "$tmp/st.out")"
status_rc 5 --json
jq -e '.state == "not_loaded" and .loaded == false' "$tmp/st.out" >/dev/null || fail "status --json before apply: $(cat "$tmp/st.out")"

# --- an unrelated table that must survive everything we do
g nft add table inet other
g nft add chain inet other c '{ type filter hook forward priority 10; policy accept; }'

# --- apply: the expected sets and maps
p enforce apply --dry-run | grep -q 'dry run' || fail "--dry-run"
g nft list tables | grep -q port25 && fail "--dry-run loaded something"
g "$PORT25" enforce apply >"$tmp/apply1" || fail "apply: $(cat "$tmp/apply1")"
g nft list table inet port25 >"$tmp/t1"
grep -q 'elements = { 10.1.0.25 }' "$tmp/t1" || fail "permit_v4 element missing"
grep -q 'elements = { 2001:db8:1::25 }' "$tmp/t1" || fail "permit_v6 element missing"
grep -q '10.1.0.0/16 : jump out_acme' "$tmp/t1" || fail "out_v4 map element missing"
grep -q '2001:db8:1::/48 : jump out_acme' "$tmp/t1" || fail "out_v6 map element missing"
grep -q 'log prefix "port25 out acme " group 25' "$tmp/t1" || fail "NFLOG rule missing"
grep -q 'counter out_acme_block' "$tmp/t1" || fail "named counter missing"

# --- apply twice: same table but for the generation
g "$PORT25" enforce apply >/dev/null
g nft list table inet port25 >"$tmp/t2"
diff <(grep -v comment "$tmp/t1") <(grep -v comment "$tmp/t2") >/dev/null || fail "apply is not idempotent"
grep -q 'generation 2 ' "$tmp/t2" || fail "generation not counted"
g nft list table inet other >/dev/null || fail "apply touched table inet other"

# --- traffic: unpermitted host reset on 25, allowed on 587; the server passes
expect 10.1.0.50 192.0.2.10 25 reset
expect 10.1.0.50 192.0.2.10 587 ok
expect 10.1.0.25 192.0.2.10 25 ok
expect 2001:db8:1::50 2001:db8:ff::10 25 reset
expect 2001:db8:1::50 2001:db8:ff::10 587 ok
expect 2001:db8:1::25 2001:db8:ff::10 25 ok

# --- status JSON: matches, counters per org
g "$PORT25" --json enforce status >"$tmp/st.json" || fail "status after apply: exit $?"
[ "$(jq -r .matches_registry "$tmp/st.json")" = true ] || fail "status: does not match after apply"
[ "$(jq -r .state "$tmp/st.json")" = in_sync ] || fail "status: state after apply: $(cat "$tmp/st.json")"
status_rc 0
[ "$(jq -r .counters.acme.out_block "$tmp/st.json")" -ge 2 ] || fail "status: blocked attempts not counted"
[ "$(jq -r .counters.acme.out_permit "$tmp/st.json")" -ge 2 ] || fail "status: permitted attempts not counted"

# --- sync after permit add: only elements change, rules keep their handles
rules_before=$(g nft -a list chain inet port25 out_acme | grep -o 'handle [0-9]*' | tr '\n' ' ')
p permit add acme 10.1.0.50 --kind app --description crm >/dev/null
status_rc 4 --json
jq -e '.matches_registry == false and .state == "differs" and .sets.permit_hosts_v4.to_add == 1' "$tmp/st.out" >/dev/null ||
	fail "status: pending permit not reported: $(cat "$tmp/st.out")"
status_rc 4
grep -q 'DIFFERS' "$tmp/st.out" || fail "status: pending permit not reported: $(cat "$tmp/st.out")"
t0=$(date +%s%N)
g "$PORT25" enforce sync >"$tmp/sync1"
until [ "$(connect 10.1.0.50 192.0.2.10 25)" = ok ]; do
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ] || fail "permit not in force 3 s after sync"
done
t1=$(date +%s%N)
echo "one permit change in force after $(( (t1 - t0) / 1000 )) us (sync + first connection): $(cat "$tmp/sync1")"
grep -q '(+1 -0), chains +0 ~0 -0' "$tmp/sync1" || fail "sync did more than one element: $(cat "$tmp/sync1")"
rules_after=$(g nft -a list chain inet port25 out_acme | grep -o 'handle [0-9]*' | tr '\n' ' ')
[ "$rules_before" = "$rules_after" ] || fail "sync rewrote rules"
g "$PORT25" enforce sync | grep -q 'in sync' || fail "second sync not empty"

# --- permit remove: blocked again
id=$(p --json permit list --org acme | jq -r '.[] | select(.address == "10.1.0.50") | .id')
p permit remove "$id" >/dev/null
g "$PORT25" enforce sync >/dev/null
expect 10.1.0.50 192.0.2.10 25 reset

# --- expiry: a variance leaves the kernel when sync runs after it expires
p permit add acme 2001:db8:1::50 --kind app --description variance --expires 2026-12-01 >/dev/null
g "$PORT25" enforce sync >/dev/null
expect 2001:db8:1::50 2001:db8:ff::10 25 ok
PORT25_NOW=2026-12-02T00:00:00Z g "$PORT25" enforce sync >"$tmp/sync2"
grep -q '(+0 -1)' "$tmp/sync2" || fail "expiry: $(cat "$tmp/sync2")"
expect 2001:db8:1::50 2001:db8:ff::10 25 reset

# --- suspension removes the org's map elements and chains; activation brings them back
p org set acme --enrollment suspended >/dev/null
g "$PORT25" enforce sync >/dev/null
expect 10.1.0.50 192.0.2.10 25 ok
g nft list table inet port25 | grep -q 'chain out_acme' && fail "suspended org's chain left"
p org set acme --enrollment active >/dev/null
g "$PORT25" enforce sync >/dev/null
expect 10.1.0.50 192.0.2.10 25 reset
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after resync"

# --- live enforcement: permit add --enforce sends its own element, nothing else
g "$PORT25" enforce sync >/dev/null
rules_before=$(g nft -a list chain inet port25 out_acme | grep -o 'handle [0-9]*' | tr '\n' ' ')
count_hosts() { g nft -j list set inet port25 permit_hosts_v4 | jq '[.nftables[] | select(.set) | .set.elem // [] | length] | add'; }
hosts_before=$(count_hosts)
t0=$(date +%s%N)
g "$PORT25" --enforce permit add acme 10.1.0.50 --kind app --description live >"$tmp/live1" 2>&1 ||
	fail "permit add --enforce: $(cat "$tmp/live1")"
until [ "$(connect 10.1.0.50 192.0.2.10 25)" = ok ]; do
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ] || fail "live permit not in force 3 s after permit add"
done
echo "permit add --enforce: $(grep 'enforce:' "$tmp/live1")"
grep -q 'enforce: targeted update, +1 -0 elements in 1 messages' "$tmp/live1" ||
	fail "permit add --enforce was not one targeted element: $(cat "$tmp/live1")"
[ "$(count_hosts)" = $((hosts_before + 1)) ] || fail "permit add --enforce: want exactly one element more"
rules_after=$(g nft -a list chain inet port25 out_acme | grep -o 'handle [0-9]*' | tr '\n' ' ')
[ "$rules_before" = "$rules_after" ] || fail "permit add --enforce rewrote rules"
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after live add"
# a neighbour merges with it into one interval (what compile's aggregation makes)
PORT25_ENFORCE=1 g "$PORT25" permit add acme 10.1.0.51 --kind app --description live2 >"$tmp/live2" 2>&1 ||
	fail "PORT25_ENFORCE=1 permit add: $(cat "$tmp/live2")"
grep -q 'targeted update, +1 -1' "$tmp/live2" || fail "neighbour merge: $(cat "$tmp/live2")"
g nft list set inet port25 permit_v4 >"$tmp/merged" 2>&1 || true
grep -q '10.1.0.50/31' "$tmp/merged" || fail "10.1.0.50/31 not merged: $(cat "$tmp/merged" "$tmp/live2")"
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after merge"
# removing one splits it again; blocked at once
id=$(p --json permit list --org acme | jq -r '.[] | select(.address == "10.1.0.50") | .id')
g "$PORT25" --enforce permit remove "$id" >"$tmp/live3" 2>&1 || fail "permit remove --enforce: $(cat "$tmp/live3")"
grep -q 'targeted update, +1 -1' "$tmp/live3" || fail "split: $(cat "$tmp/live3")"
expect 10.1.0.50 192.0.2.10 25 reset
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after live remove"
# the cache makes sync skip the read-back; a change by someone else makes it read back
g "$PORT25" enforce sync 2>&1 | grep -q 'in sync' || fail "sync after live changes"
g "$PORT25" enforce apply >/dev/null
g "$PORT25" enforce sync >"$tmp/sync3" 2>&1
g nft add table inet other2
PORT25_NOW=2026-11-23T10:00:01Z g "$PORT25" --enforce permit add acme 10.1.0.60 --kind app --description after-foreign-commit >"$tmp/live4" 2>&1 ||
	fail "permit add after a foreign commit: $(cat "$tmp/live4")"
grep -q 'no targeted update (the ruleset changed since' "$tmp/live4" || fail "foreign commit not noticed: $(cat "$tmp/live4")"
grep -q 'read back' "$tmp/live4" || fail "fallback did not read back: $(cat "$tmp/live4")"
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after fallback"
# org-level changes sync against the cache (chains come and go)
g "$PORT25" --enforce org set acme --enrollment suspended >"$tmp/live5" 2>&1 || fail "org set --enforce: $(cat "$tmp/live5")"
grep -q 'diffed against the cache' "$tmp/live5" || fail "org set --enforce: $(cat "$tmp/live5")"
expect 10.1.0.50 192.0.2.10 25 ok
g "$PORT25" --enforce org set acme --enrollment active >/dev/null 2>&1
expect 10.1.0.50 192.0.2.10 25 reset
g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null || fail "status after org set --enforce"
# enforcement off: the registry changes, the kernel does not
g "$PORT25" permit add acme 10.1.0.61 --kind app --description quiet >"$tmp/live6" 2>&1
grep -q 'enforce:' "$tmp/live6" && fail "enforced without --enforce"
status_rc 4 --json
jq -e '.matches_registry == false' "$tmp/st.out" >/dev/null || fail "changed without --enforce"

# --- an expired permit removed with --enforce: no sync ran since its expiry,
# so its element is still loaded, and the removal must take it out (the hook
# acts on what is loaded, not on whether the registry thinks it is in force)
g "$PORT25" enforce sync >/dev/null
in_hosts() { g nft list set inet port25 permit_hosts_v4 | grep -w "$1" >/dev/null; }
g "$PORT25" --enforce permit add acme 10.1.0.70 --kind app --description variance --expires 2026-11-24 >"$tmp/exp1" 2>&1 ||
	fail "permit add --expires --enforce: $(cat "$tmp/exp1")"
in_hosts 10.1.0.70 || fail "variance not loaded: $(cat "$tmp/exp1")"
id=$(p --json permit list --org acme | jq -r '.[] | select(.address == "10.1.0.70") | .id')
PORT25_NOW=2026-11-25T00:00:00Z g "$PORT25" --enforce permit remove "$id" >"$tmp/exp2" 2>&1 ||
	fail "permit remove --enforce of an expired permit: $(cat "$tmp/exp2")"
in_hosts 10.1.0.70 && fail "expired permit removed, its element still loaded: $(cat "$tmp/exp2")"
grep -q 'targeted update, +0 -1' "$tmp/exp2" || fail "expired permit's removal: $(cat "$tmp/exp2")"
grep -Eq -- '-[0-9]+(\.[0-9]+)? ms' "$tmp/exp2" && fail "a negative duration: $(cat "$tmp/exp2")"
PORT25_NOW=2026-11-25T00:00:00Z g "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null ||
	fail "status after removing an expired permit"
# removed again by someone else's sync first: nothing left to do, and said so
g "$PORT25" --enforce permit add acme 10.1.0.71 --kind app --description v2 --expires 2026-11-24 >/dev/null 2>&1
id=$(p --json permit list --org acme | jq -r '.[] | select(.address == "10.1.0.71") | .id')
PORT25_NOW=2026-11-25T00:00:00Z g "$PORT25" enforce sync >/dev/null
in_hosts 10.1.0.71 && fail "sync after the expiry left 10.1.0.71"
PORT25_NOW=2026-11-25T00:00:00Z g "$PORT25" --enforce permit remove "$id" >"$tmp/exp3" 2>&1 ||
	fail "permit remove --enforce of an expired, unloaded permit: $(cat "$tmp/exp3")"
grep -q 'enforce: nothing to change' "$tmp/exp3" || fail "expected nothing to change: $(cat "$tmp/exp3")"
grep -Eq -- '-[0-9]+(\.[0-9]+)? ms' "$tmp/exp3" && fail "a negative duration: $(cat "$tmp/exp3")"

# --- flush removes only ours; the unrelated table survives
g "$PORT25" enforce flush | grep -q removed || fail "flush"
g nft list tables | grep -q 'inet port25' && fail "flush left table port25"
g nft list table inet other >/dev/null || fail "flush removed table inet other"
g "$PORT25" enforce flush | grep -q 'was not loaded' || fail "second flush"
status_rc 5 --json
jq -e '.state == "not_loaded"' "$tmp/st.out" >/dev/null || fail "status --json after flush: $(cat "$tmp/st.out")"
expect 10.1.0.50 192.0.2.10 25 ok

# --- usage
set +e
p enforce >/dev/null 2>&1; [ $? = 2 ] || fail "enforce without action: want exit 2"
p enforce bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown action: want exit 2"
set -e
echo ok
