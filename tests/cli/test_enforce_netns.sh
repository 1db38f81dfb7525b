#!/bin/bash
# The cache of the loaded state must never vouch for a table that is not
# there.  A namespace is deleted and another created in its place (the
# kernel reuses the freed inode, which names the cache file, and a fresh
# namespace counts its ruleset generations from the same start), its
# generation brought to the cached one by a foreign commit; the state
# directory is shared, as /run/port25 is by every container and test rig on a
# host.  `enforce sync` must then load the table, not say "in sync"; a
# targeted update must not trust the cache either.  Only namespaces this test
# creates are touched, and no traffic is sent.  Needs root: without it this
# test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_enforce_netns.sh needs root (ip netns, nft, netlink)"
for tool in nft ip jq stat; do
	command -v "$tool" >/dev/null || fail "test_enforce_netns.sh needs $tool"
done

tmp=$(mktemp -d)
pfx=p25n$$
cleanup() {
	for n in $(ip netns list | awk '{print $1}' | grep "^$pfx" || true); do
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db"
export PORT25_ACTOR=test
export PORT25_NOW=2026-11-23T10:00:00Z
export PORT25_RUN_DIR="$tmp/run"
p() { "$PORT25" "$@"; }
ino() { stat -L -c %i "/run/netns/$1"; }
gen() { # NS: its ruleset generation (status exits 5 where nothing is loaded)
	local rc=0
	ip netns exec "$1" "$PORT25" --json enforce status >"$tmp/gen.json" || rc=$?
	case $rc in 0 | 4 | 5) ;; *) return 1 ;; esac
	jq -er .ruleset_generation "$tmp/gen.json"
}

p init >/dev/null
p org add acme --name Acme --mode outbound --action reject >/dev/null
p contact add acme --name Sec --email sec@acme.example --role security >/dev/null
p prefix add acme 10.9.0.0/24 >/dev/null
p permit add acme 10.9.0.25 --kind mail --description mx >/dev/null
p org set acme --enrollment active >/dev/null

# --- the first namespace: applied, cached
ip netns add "${pfx}a"
ip netns exec "${pfx}a" "$PORT25" enforce apply >/dev/null
ino1=$(ino "${pfx}a")
gen1=$(gen "${pfx}a") || fail "status --json: no ruleset_generation"
ls "$PORT25_RUN_DIR"/enforce-"$ino1".state >/dev/null || fail "no cache written for inode $ino1"

# --- a new namespace on the same inode.  The kernel frees a namespace's
# inode number (and those of its /proc entries) a moment after `ip netns
# del`, and a namespace made the same way then gets the same numbers back:
# try again until it does.
renew() { # NAME INODE: delete NAME, re-create it until it has INODE again
	ip netns del "$1"
	# Another process making namespaces meanwhile can take the number:
	# keep trying (on an otherwise quiet machine the first tries succeed).
	for _ in $(seq 1 400); do
		sleep 0.05
		ip netns add "$1"
		[ "$(ino "$1")" = "$2" ] && return 0
		ip netns del "$1"
	done
	fail "no new namespace got inode $2 back in 400 tries"
}
ns=${pfx}a
renew "$ns" "$ino1"
# its generation brought to the cached one by commits not ours
k=0
while [ "$(gen "$ns")" -lt "$gen1" ]; do
	k=$((k + 1))
	ip netns exec "$ns" nft add table inet foreign$k
done
[ "$(gen "$ns")" = "$gen1" ] ||
	fail "could not bring the new namespace to generation $gen1 (at $(gen "$ns"))"
ip netns exec "$ns" "$PORT25" --json enforce status >"$tmp/st.json" || true
[ "$(jq -r .loaded "$tmp/st.json")" = false ] || fail "status: a table in a fresh namespace?"

# --- sync must load the table, not trust the cache
ip netns exec "$ns" "$PORT25" enforce sync >"$tmp/sync" 2>&1 || fail "sync: $(cat "$tmp/sync")"
grep -q 'in sync' "$tmp/sync" && fail "sync trusted a stale cache: $(cat "$tmp/sync")"
grep -q 'full table' "$tmp/sync" || fail "sync did not load the table: $(cat "$tmp/sync")"
{ ip netns exec "$ns" nft list set inet port25 permit_hosts_v4; ip netns exec "$ns" nft list set inet port25 permit_v4; } | grep -w 10.9.0.25 >/dev/null ||
	fail "10.9.0.25 not loaded after sync"
ip netns exec "$ns" "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null ||
	fail "status after sync"

# --- the same for a targeted update: a namespace on the cached inode again,
# at the cached generation, without the table
ino2=$(ino "$ns")
gen2=$(gen "$ns")
renew "$ns" "$ino2"
k=0
while [ "$(gen "$ns")" -lt "$gen2" ]; do
	k=$((k + 1))
	ip netns exec "$ns" nft add table inet foreign$k
done
[ "$(gen "$ns")" = "$gen2" ] || fail "could not bring the namespace to generation $gen2"
ip netns exec "$ns" "$PORT25" --enforce permit add acme 10.9.0.26 --kind app --description x >"$tmp/upd" 2>&1 ||
	fail "permit add --enforce: $(cat "$tmp/upd")"
grep -q 'enforce: targeted update' "$tmp/upd" && fail "targeted update on a stale cache: $(cat "$tmp/upd")"
grep -q 'enforce: no targeted update (' "$tmp/upd" || fail "why the cache was not used, not said: $(cat "$tmp/upd")"
for a in 10.9.0.25 10.9.0.26; do
	ip netns exec "$ns" nft list set inet port25 permit_hosts_v4 2>/dev/null | grep -w "$a" >/dev/null ||
		ip netns exec "$ns" nft list set inet port25 permit_v4 2>/dev/null | grep -w "$a" >/dev/null ||
		fail "$a not loaded after permit add --enforce: $(cat "$tmp/upd")"
done
ip netns exec "$ns" "$PORT25" --json enforce status | jq -e .matches_registry >/dev/null ||
	fail "status after permit add --enforce"
echo ok
