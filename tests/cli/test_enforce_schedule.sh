#!/bin/bash
# A sign-up activated at the time agreed with the member (issue 14):
# `org set --enrollment active --at WHEN` schedules it, `org list --upcoming`
# lists it, and `port25 enforce sync --wait`, running in a gateway namespace
# this test creates and removes (the host's ruleset is never touched),
# activates the organization and loads its block within a second of the
# agreed time, not before, in the name of whoever scheduled it.  A second
# org whose only permit expired before its time is not activated: the rules
# are checked again when it is due, and the loop says why.  Bounded to ~20 s.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_enforce_schedule.sh needs root (ip netns, nft, netlink)"
for tool in nft jq; do
	command -v "$tool" >/dev/null || fail "test_enforce_schedule.sh needs $tool"
done

tmp=$(mktemp -d)
gw=p25s$$g
loop=
cleanup() {
	[ -n "$loop" ] && kill "$loop" 2>/dev/null || true
	ip netns pids "$gw" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$gw" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db" PORT25_RUN_DIR="$tmp/run"
# the loop follows the real clock: no PORT25_NOW here
unset PORT25_NOW PORT25_ENFORCE
p() { PORT25_ACTOR=tester "$PORT25" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
has_chain() { ip netns exec "$gw" nft list chain inet port25 "out_$1" >/dev/null 2>&1; }

p init >/dev/null
for o in acme beta; do
	p org add $o --name "$o" >/dev/null
	p contact add $o --name Sec --email sec@$o.example --role security >/dev/null
done
p prefix add acme 10.1.0.0/16 >/dev/null
p prefix add beta 10.2.0.0/16 >/dev/null
p permit add acme 10.1.0.25 --kind mail --description mx >/dev/null
# beta's only permit ends before beta's agreed time
now_s=$(date +%s)
p permit add beta 10.2.0.25 --kind mail --description mx --expires "$(date -u -d "@$((now_s + 3))" +%Y-%m-%dT%H:%M:%SZ)" >/dev/null

ip netns add "$gw"
ip netns exec "$gw" ip link set lo up
ip netns exec "$gw" "$PORT25" enforce sync --wait --interval 60 2>"$tmp/loop.log" &
loop=$!
t=$(ms)
until grep -q 'next expiry' "$tmp/loop.log"; do
	kill -0 "$loop" 2>/dev/null || fail "loop exited: $(cat "$tmp/loop.log")"
	[ $(( $(ms) - t )) -lt 3000 ] || fail "loop did not sync within 3 s: $(cat "$tmp/loop.log")"
	sleep 0.05
done

# Scheduled while the loop sleeps (its next wake is beta's permit expiry, then a minute).
at_s=$(( $(date +%s) + 4 ))
at=$(date -u -d "@$at_s" +%Y-%m-%dT%H:%M:%SZ)
out=$(PORT25_ACTOR=dana "$PORT25" org set acme --enrollment active --at "$at")
grep -q "will be activated at $at" <<<"$out" || fail "org set --at did not say when: $out"
PORT25_ACTOR=dana "$PORT25" org set beta --enrollment active --at "$at" >/dev/null
out=$(p org list --upcoming)
grep -qE "^acme .* $at" <<<"$out" || fail "not listed as upcoming: $out"
out=$(p org show acme --json)
grep -q '"enrollment": "none"' <<<"$out" || fail "activated before its time: $out"

# Not before its time; within a second after it.
while [ "$(ms)" -lt $(( at_s * 1000 - 300 )) ]; do
	has_chain acme && fail "acme's block loaded before its agreed time ($at)"
	sleep 0.1
done
while ! has_chain acme; do
	[ $(( $(ms) - at_s * 1000 )) -lt 3000 ] || fail "acme not activated 3 s after $at (aim: 1 s): $(cat "$tmp/loop.log")"
	sleep 0.02
done
lag=$(( $(ms) - at_s * 1000 ))
echo "scheduled activation at $at; acme's block loaded ${lag} ms later (loop: sync --wait)"
[ "$lag" -le 1000 ] || fail "acme's block loaded ${lag} ms after its time, more than a second"
out=$(p org show acme --json)
grep -q '"enrollment": "active"' <<<"$out" || fail "acme not active in the registry: $out"
grep -q '"activation": null' <<<"$out" || fail "acme's schedule left behind: $out"
audit=$(p audit --json --limit 0)
jq -e '[.[] | select(.object == "acme" and .after.scheduled == true and .actor == "dana" and .after.enrollment == "active")] | length == 1' <<<"$audit" >/dev/null ||
	fail "the activation is not audited in the scheduler's name: $audit"

# beta: refused when due, its schedule dropped, the loop saying why.
for _ in $(seq 40); do grep -q "'beta' NOT activated" "$tmp/loop.log" && break; sleep 0.05; done
grep -q "organization 'beta' NOT activated as scheduled for $at by dana: organization 'beta' has no valid permit" "$tmp/loop.log" ||
	fail "beta's refusal not logged: $(cat "$tmp/loop.log")"
grep -q "organization 'acme' activated as scheduled for $at by dana" "$tmp/loop.log" ||
	fail "acme's activation not logged: $(cat "$tmp/loop.log")"
has_chain beta && fail "beta was activated without a valid permit"
out=$(p org show beta --json)
grep -q '"enrollment": "none"' <<<"$out" || fail "beta's enrollment changed: $out"
[ "$(p org list --upcoming --json)" = "[]" ] || fail "schedules left: $(p org list --upcoming)"

kill "$loop"
wait "$loop" || fail "the loop did not exit 0 on SIGTERM"
loop=

# Without the daemon, the next `enforce sync` (a timer) carries it out; a dry
# run only names it.
p org add gamma --name gamma >/dev/null
p contact add gamma --name Sec --email sec@gamma.example --role security >/dev/null
p prefix add gamma 10.3.0.0/16 >/dev/null
p permit add gamma 10.3.0.25 --kind mail --description mx >/dev/null
later=$(date -u -d "@$(( $(date +%s) + 3600 ))" +%Y-%m-%dT%H:%M:%SZ)
after=$(date -u -d "@$(( $(date +%s) + 7200 ))" +%Y-%m-%dT%H:%M:%SZ)
p org set gamma --enrollment active --at "$later" >/dev/null
out=$(PORT25_NOW=$after ip netns exec "$gw" "$PORT25" enforce sync --dry-run 2>&1)
grep -q "organization 'gamma' is due to be activated (scheduled for $later by tester): not in a dry run" <<<"$out" ||
	fail "dry run does not name the due activation: $out"
out=$(p org show gamma --json)
grep -q '"enrollment": "none"' <<<"$out" || fail "a dry run activated gamma"
out=$(PORT25_NOW=$after ip netns exec "$gw" "$PORT25" enforce sync 2>&1) || fail "enforce sync: $out"
grep -q "organization 'gamma' activated as scheduled for $later by tester" <<<"$out" || fail "enforce sync: $out"
has_chain gamma || fail "enforce sync did not load gamma's block"
echo "enforce schedule: ok"
