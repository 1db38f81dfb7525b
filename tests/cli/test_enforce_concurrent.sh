#!/bin/bash
# Registry commands with --enforce running at the same time, in a gateway
# namespace this test creates and removes itself (no traffic is sent; only
# the namespace's own ruleset is read and changed).  Each command reads the
# audit entries committed since it opened the registry, its own and its
# neighbours', so twenty of them in parallel see up to twenty changes each.
# Checks: every command exits 0 and reports what it sent; the kernel ends up
# exactly as the registry says, also when the same permits are added and
# removed again by racing commands (the order in which the kernel receives
# the changes must be the order in which the registry committed them).
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_enforce_concurrent.sh needs root (ip netns, nft, netlink)"
for tool in nft ip jq; do
	command -v "$tool" >/dev/null || fail "test_enforce_concurrent.sh needs $tool"
done

tmp=$(mktemp -d)
gw=p25c$$g
cleanup() {
	ip netns pids "$gw" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$gw" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db"
export PORT25_ACTOR=test
export PORT25_RUN_DIR="$tmp/run"
unset PORT25_NOW PORT25_ENFORCE
p() { "$PORT25" "$@"; }
g() { ip netns exec "$gw" "$@"; }

p init >/dev/null
p org add acme --name Acme --mode outbound --action reject >/dev/null
p contact add acme --name Sec --email sec@acme.example --role security >/dev/null
# active before any server: the permits are what the concurrent commands add
p org set acme --enrollment active --no-servers >/dev/null
p prefix add acme 10.9.0.0/24 >/dev/null
p prefix add acme 2001:db8:9::/48 >/dev/null
ip netns add "$gw"
g "$PORT25" enforce apply >/dev/null

# The permitted hosts as the kernel holds them, one per line, sorted.
loaded() {
	{
		g nft -j list set inet port25 permit_hosts_v4
		g nft -j list set inet port25 permit_hosts_v6
		g nft -j list set inet port25 permit_v4
		g nft -j list set inet port25 permit_v6
	} | jq -r '.nftables[] | select(.set) | .set.elem // [] | .[] |
		if type == "string" then . elif .prefix then "\(.prefix.addr)/\(.prefix.len)"
		else tostring end' | sort
}
# ... and as the registry says (hosts only here, none adjacent to another after the run)
wanted() { p --json permit list --org acme | jq -r '.[].address' | sort; }
check_consistent() { # WHAT
	g "$PORT25" --json enforce status >"$tmp/st.json" 2>&1 || true
	jq -e .matches_registry "$tmp/st.json" >/dev/null ||
		fail "$1: the kernel differs from the registry: $(cat "$tmp/st.json")"
}

# run N commands in parallel; every one must exit 0 and print its enforce line
parallel_ok() { # WHAT, then the commands' files in $tmp/cmd.*
	local pids=() files=() rc bad=0
	for f in "$tmp"/cmd.*; do
		bash "$f" >"$f.out" 2>&1 &
		pids+=($!)
		files+=("$f")
	done
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		if [ "$rc" != 0 ]; then
			echo "  $1: $(cat "${files[$i]}") exited $rc: $(head -c 2000 "${files[$i]}.out")" >&2
			bad=$((bad + 1))
		elif grep -q 'enforce: ' "${files[$i]}.out" && ! grep -Eq 'enforce: (targeted update|.*sync|nothing to change)' "${files[$i]}.out"; then
			echo "  $1: $(cat "${files[$i]}"): unexpected output: $(cat "${files[$i]}.out")" >&2
			bad=$((bad + 1))
		fi
	done
	rm -f "$tmp"/cmd.*
	[ "$bad" = 0 ] || fail "$1: $bad of ${#pids[@]} commands failed"
}

# --- twenty permit adds at once, IPv4 and IPv6
for i in $(seq 1 20); do
	if [ $((i % 2)) = 0 ]; then a=10.9.0.$((i * 3)); else a=2001:db8:9::$((i * 3)); fi
	echo "ip netns exec $gw $PORT25 --enforce permit add acme $a --kind app --description x$i" >"$tmp/cmd.$i"
done
parallel_ok "20 parallel permit add --enforce"
[ "$(wanted | wc -l)" = 20 ] || fail "not all 20 permits committed: $(wanted)"
check_consistent "after 20 parallel adds"
diff <(wanted) <(loaded) >/dev/null || fail "loaded hosts differ from the registry: $(diff <(wanted) <(loaded))"

# --- racing changes of the same addresses: each add is removed right away
# by the same worker, while other workers do the same; the kernel must end
# with none of them (a stale add applied after its removal would leave one)
for round in 1 2 3; do
	for w in $(seq 1 10); do
		a=10.9.0.$((100 + w))
		cat >"$tmp/cmd.$w" <<-EOF
			set -e
			ip netns exec $gw $PORT25 --enforce permit add acme $a --kind app --description r$round >/dev/null 2>&1
			id=\$($PORT25 --json permit list --org acme | jq -r '.[] | select(.address == "$a") | .id')
			ip netns exec $gw $PORT25 --enforce permit remove "\$id"
		EOF
	done
	parallel_ok "round $round of 10 parallel add-then-remove workers"
	check_consistent "round $round of add-then-remove"
	diff <(wanted) <(loaded) >/dev/null ||
		fail "round $round: loaded hosts differ from the registry: $(diff <(wanted) <(loaded))"
done

# --- the same race made certain: A adds a permit and waits for the
# enforcers' lock (which this test holds); B removes it and waits too; B is
# let through first while A is stopped.  A must not send its add after B's
# removal: what it read of the registry before the lock is stale by then.
lock="$PORT25_RUN_DIR/enforce-$(stat -L -c %i "/run/netns/$gw").lock"
[ -e "$lock" ] || fail "no lock file $lock"
blocked_on_lock() { # PID: waiting for a flock (a "->" line of /proc/locks)
	grep -Eq "^[0-9]+: +-> FLOCK +ADVISORY +WRITE +$1 " /proc/locks
}
wait_for() { # WHAT, then a command that becomes true within 5 s
	local what=$1 t=0
	shift
	until "$@"; do
		t=$((t + 1))
		[ $t -lt 250 ] || fail "waiting for $what: $(cat "$tmp"/a.out "$tmp"/b.out 2>/dev/null; cat /proc/locks)"
		sleep 0.02
	done
}
stopped() { # PID: in state T (stopped by a signal)
	[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ]
}
in_registry() { p --json permit list --org acme | jq -e --arg a "$1" 'any(.[]; .address == $a)' >/dev/null; }
not_in_registry() { ! in_registry "$1"; }
for k in 1 2 3; do
	a=10.9.0.$((200 + k))
	exec 9>>"$lock"
	flock -x 9
	# ip netns exec execs port25 in place: $! is port25 itself
	ip netns exec "$gw" "$PORT25" --enforce permit add acme "$a" --kind app --description held$k >"$tmp/a.out" 2>&1 9>&- &
	pa=$!
	wait_for "permit add $a to commit" in_registry "$a"
	wait_for "permit add $a to wait for the lock" blocked_on_lock "$pa"
	id=$(p --json permit list --org acme | jq -r --arg a "$a" '.[] | select(.address == $a) | .id')
	ip netns exec "$gw" "$PORT25" --enforce permit remove "$id" >"$tmp/b.out" 2>&1 9>&- &
	pb=$!
	wait_for "permit remove $id to commit" not_in_registry "$a"
	wait_for "permit remove $id to wait for the lock" blocked_on_lock "$pb"
	kill -STOP "$pa"
	# Only once A has stopped has it left its flock() wait: unlocking before
	# that can hand the lock to A on its way out, and it then stops holding it.
	wait_for "permit add $a to stop" stopped "$pa"
	flock -u 9
	exec 9>&-
	rc=0; wait "$pb" || rc=$?
	[ $rc = 0 ] || fail "permit remove --enforce (let through first) exited $rc: $(cat "$tmp/b.out")"
	kill -CONT "$pa"
	rc=0; wait "$pa" || rc=$?
	[ $rc = 0 ] || fail "permit add --enforce (let through last) exited $rc: $(cat "$tmp/a.out")"
	loaded | grep -x "$a" >/dev/null && fail "$a loaded after its permit was removed: add: $(cat "$tmp/a.out"); remove: $(cat "$tmp/b.out")"
	check_consistent "add and remove let through in reverse order ($a)"
done

# --- and removing the first twenty, all at once
for id in $(p --json permit list --org acme | jq -r '.[].id'); do
	echo "ip netns exec $gw $PORT25 --enforce permit remove $id" >"$tmp/cmd.$id"
done
parallel_ok "20 parallel permit remove --enforce"
[ -z "$(wanted)" ] || fail "permits left in the registry: $(wanted)"
[ -z "$(loaded)" ] || fail "permits left in the kernel: $(loaded)"
check_consistent "after 20 parallel removes"
echo ok
