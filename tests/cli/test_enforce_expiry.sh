#!/bin/bash
# A variance's expiry takes effect by itself: `port25 enforce sync --wait`
# running in a gateway namespace (forwarding between "inside" and "outside"
# namespaces this test creates and removes itself; the host's ruleset is
# never touched) removes a permit from the kernel at the second it expires,
# without anyone running sync.  Checks: the permitted host connects on 25
# before the expiry, is rejected within a second after it, the loop logs the
# change with UTC times, and SIGTERM ends it with exit 0.  A variance added
# while the loop sleeps (its next wake a minute away), with --enforce, is
# also out within a second of its expiry; a permit added without --enforce
# is in force within a second.  Bounded to ~30 s.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_enforce_expiry.sh needs root (ip netns, nft, netlink)"
for tool in nft ip socat jq; do
	command -v "$tool" >/dev/null || fail "test_enforce_expiry.sh needs $tool"
done

tmp=$(mktemp -d)
gw=p25x$$g; in=p25x$$i; out=p25x$$o
loop=
cleanup() {
	[ -n "$loop" ] && kill "$loop" 2>/dev/null || true
	for n in "$gw" "$in" "$out"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db"
export PORT25_ACTOR=test
export PORT25_RUN_DIR="$tmp/run"
# the loop follows the real clock: no PORT25_NOW here
unset PORT25_NOW
p() { "$PORT25" "$@"; }
g() { ip netns exec "$gw" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

p init >/dev/null
p org add acme --name Acme --mode outbound --action reject >/dev/null
p contact add acme --name Sec --email sec@acme.example --role security >/dev/null
p prefix add acme 10.1.0.0/16 >/dev/null
p permit add acme 10.1.0.25 --kind mail --description mx >/dev/null
p org set acme --enrollment active >/dev/null

for n in "$gw" "$in" "$out"; do
	ip netns add "$n"
	ip netns exec "$n" ip link set lo up
done
g sysctl -qw net.ipv4.ip_forward=1
ip link add gi netns "$gw" type veth peer name eth0 netns "$in"
ip link add go netns "$gw" type veth peer name eth0 netns "$out"
g ip addr add 10.1.0.1/16 dev gi
g ip addr add 192.0.2.1/24 dev go
ip netns exec "$in" ip addr add 10.1.0.50/16 dev eth0
ip netns exec "$out" ip addr add 192.0.2.10/24 dev eth0
for n in "$gw" "$in" "$out"; do ip netns exec "$n" bash -c 'for l in $(ls /sys/class/net); do ip link set $l up; done'; done
ip netns exec "$in" ip route add default via 10.1.0.1
ip netns exec "$out" ip route add default via 192.0.2.1
ip netns exec "$out" socat TCP4-LISTEN:25,fork,reuseaddr SYSTEM:'echo hello' &

# connect [FROM]: "ok", "reset" or "timeout"
connect() {
	local r
	r=$(ip netns exec "$in" socat -T1 - "TCP4:192.0.2.10:25,bind=${1:-10.1.0.50},connect-timeout=1" </dev/null 2>&1) || true
	case "$r" in
	*hello*) echo ok ;;
	*refused*) echo reset ;;
	*) echo timeout ;;
	esac
}
# the listener is up (nothing loaded yet, so everything passes)
t=$(ms); until [ "$(connect)" = ok ]; do [ $(( $(ms) - t )) -lt 3000 ] || fail "listener not up"; sleep 0.05; done

# a variance with a real expiry, 3 s ahead (whole seconds: start of the next one + 3)
exp_s=$(( $(date +%s) + 4 ))
exp_iso=$(date -u -d "@$exp_s" +%Y-%m-%dT%H:%M:%SZ)
p permit add acme 10.1.0.50 --kind app --description variance --expires "$exp_iso" >/dev/null

# the loop: its first sync loads the table with the variance in it
# ip netns exec execs port25 in place: $! is the loop itself, signals reach it
ip netns exec "$gw" "$PORT25" enforce sync --wait --interval 60 2>"$tmp/loop.log" &
loop=$!
t=$(ms)
until grep -q 'next expiry' "$tmp/loop.log"; do
	kill -0 "$loop" 2>/dev/null || fail "loop exited: $(cat "$tmp/loop.log")"
	[ $(( $(ms) - t )) -lt 3000 ] || fail "loop did not sync within 3 s: $(cat "$tmp/loop.log")"
	sleep 0.05
done
grep -q "next expiry $exp_iso" "$tmp/loop.log" || fail "loop does not wait for $exp_iso: $(cat "$tmp/loop.log")"
g nft list table inet port25 >/dev/null ||
	fail "loop did not load the table"

# before the expiry: permitted (only attempts that end well before it count)
n_ok=0
while [ $(( $(ms) + 1200 )) -lt $(( exp_s * 1000 )) ]; do
	r=$(connect)
	[ $(ms) -lt $(( exp_s * 1000 )) ] || break
	[ "$r" = ok ] || fail "variance not in force before its expiry: $r"
	n_ok=$((n_ok + 1))
	sleep 0.2
done
[ $n_ok -ge 1 ] || fail "no connection attempt before the expiry"

# after it: rejected within a second, nobody having run sync
while [ $(ms) -lt $(( exp_s * 1000 )) ]; do sleep 0.02; done
while :; do
	r=$(connect)
	[ "$r" = reset ] && break
	[ $(( $(ms) - exp_s * 1000 )) -lt 3000 ] || fail "variance still in force 3 s after its expiry (aim: 1 s): $r; $(cat "$tmp/loop.log")"
	sleep 0.05
done
lag=$(( $(ms) - exp_s * 1000 ))
echo "variance expired at $exp_iso; rejected ${lag} ms later (loop: sync --wait)"
# The loop logs after the kernel has acked; under sanitizers that can trail the rejection.
logged=0
for _ in $(seq 60); do
	if grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z enforce sync: update, .*\(\+0 -1\)' "$tmp/loop.log" &&
		grep -q 'next expiry none' "$tmp/loop.log"; then
		logged=1
		break
	fi
	sleep 0.05
done
[ "$logged" = 1 ] || fail "the expiry was not logged as one element removed: $(cat "$tmp/loop.log")"
grep -q 'next expiry none' "$tmp/loop.log" || fail "no expiry left, not logged: $(cat "$tmp/loop.log")"
# the registered server is untouched
ip netns exec "$in" ip addr add 10.1.0.25/16 dev eth0
r=$(ip netns exec "$in" socat -T1 - "TCP4:192.0.2.10:25,bind=10.1.0.25,connect-timeout=1" </dev/null 2>&1) || true
[[ $r == *hello* ]] || fail "registered server blocked: $r"

# A variance added after the loop went to sleep: nothing expires any more, so
# it sleeps for its interval (60 s); the registry change must wake it, and
# the new expiry be enforced within a second of its instant.
ip netns exec "$in" ip addr add 10.1.0.51/16 dev eth0
grep -q 'next expiry none' "$tmp/loop.log" || fail "the loop is not idle: $(cat "$tmp/loop.log")"
exp2_s=$(( $(date +%s) + 4 ))
exp2_iso=$(date -u -d "@$exp2_s" +%Y-%m-%dT%H:%M:%SZ)
t=$(ms)
g "$PORT25" --enforce permit add acme 10.1.0.51 --kind app --description late --expires "$exp2_iso" >"$tmp/late" 2>&1 ||
	fail "permit add --enforce: $(cat "$tmp/late")"
[ "$(connect 10.1.0.51)" = ok ] || fail "the late variance is not in force: $(cat "$tmp/late")"
until grep -q "next expiry $exp2_iso" "$tmp/loop.log"; do
	[ $(( $(ms) - t )) -lt 3000 ] || fail "the loop did not notice the new expiry within 3 s (aim: 1 s): $(cat "$tmp/loop.log")"
	sleep 0.05
done
while [ $(ms) -lt $(( exp2_s * 1000 )) ]; do sleep 0.02; done
while :; do
	r=$(connect 10.1.0.51)
	[ "$r" = reset ] && break
	[ $(( $(ms) - exp2_s * 1000 )) -lt 3000 ] || fail "late variance still in force 3 s after its expiry (aim: 1 s): $r; $(cat "$tmp/loop.log")"
	sleep 0.05
done
echo "variance added while the loop slept expired at $exp2_iso; rejected $(( $(ms) - exp2_s * 1000 )) ms later"
# A permit added without --enforce (as any other writer of the registry
# would): the loop loads it within a second, nobody signalling it.
ip netns exec "$in" ip addr add 10.1.0.52/16 dev eth0
[ "$(connect 10.1.0.52)" = reset ] || fail "10.1.0.52 not blocked before its permit"
t=$(ms)
p permit add acme 10.1.0.52 --kind app --description quiet >/dev/null
until [ "$(connect 10.1.0.52)" = ok ]; do
	[ $(( $(ms) - t )) -lt 3000 ] || fail "a permit added without --enforce not in force within 3 s (aim: 1 s): $(cat "$tmp/loop.log")"
	sleep 0.05
done
echo "permit added without --enforce in force $(( $(ms) - t )) ms later (loop: sync --wait)"

# SIGHUP: a change made without --enforce is picked up at once
id=$(p --json permit list --org acme | jq -r '.[] | select(.address == "10.1.0.50") | .id')
p permit set "$id" --expires never >/dev/null
kill -HUP "$loop"
t=$(ms)
until [ "$(connect)" = ok ]; do
	[ $(( $(ms) - t )) -lt 2000 ] || fail "SIGHUP did not sync: $(cat "$tmp/loop.log")"
	sleep 0.05
done

# SIGTERM: a clean exit 0
kill -TERM "$loop"
# every wait in this test is bounded, this one too: a loop ignoring SIGTERM fails
t=$(ms)
while kill -0 "$loop" 2>/dev/null && [ "$(ps -o stat= -p "$loop" 2>/dev/null)" != Z ]; do
	[ $(( $(ms) - t )) -lt 3000 ] || fail "loop still running 3 s after SIGTERM"
	sleep 0.05
done
set +e
wait "$loop"
rc=$?
set -e
loop=
[ $rc = 0 ] || fail "loop exited $rc on SIGTERM: $(cat "$tmp/loop.log")"
grep -q 'stopping' "$tmp/loop.log" || fail "no stop line: $(cat "$tmp/loop.log")"
# the kernel keeps enforcing once the loop is gone
g nft list table inet port25 >/dev/null || fail "table gone with the loop"
sed 's/^/  loop: /' "$tmp/loop.log"

# usage
set +e
p enforce apply --wait >/dev/null 2>&1; [ $? = 2 ] || fail "apply --wait: want exit 2"
p enforce sync --wait --interval 0 >/dev/null 2>&1; [ $? = 2 ] || fail "--interval 0: want exit 2"
set -e
echo ok
