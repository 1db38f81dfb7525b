#!/bin/bash
# Output that says what to do next (issue 14): --help lists every command;
# global options work after the command (the README's `permit add ...
# --enforce`); enforce apply/sync --dry-run name the organizations and
# addresses that would change; a date without a time is the end of that day
# in the operator's time zone (`timezone` in port25.conf), shown in UTC; a
# missing input file is bad input (exit 1); permit remove takes an address.
# The kernel parts run in a network namespace of our own.
# Needs root: without it this test fails, never skips.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
[ "$(id -u)" = 0 ] || { echo "FAIL: test_next_steps.sh needs root (ip netns, netlink)" >&2; exit 1; }
command -v nft >/dev/null || { echo "FAIL: test_next_steps.sh needs nft" >&2; exit 1; }
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
ns=p25next$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester PORT25_RUN_DIR=$tmp/run
export PORT25_CONFIG=$tmp/port25.conf
unset PORT25_ENFORCE 2>/dev/null || true
: >"$PORT25_CONFIG"

. "$(dirname "$0")/lib/expect.sh"
P=$PORT25

# --help lists every command the program has (main.c's table).
help=$($P --help)
n=0
for c in $(grep -o '{"[a-z]*", cmd_' "$top/src/cli/main.c" | cut -d'"' -f2); do
	n=$((n + 1))
	grep -qE "^  $c " <<<"$help" || fail "--help does not list '$c'"
done
[ "$n" -ge 19 ] || fail "only $n commands found in main.c"
for c in init org prefix contact permit request import export backup restore audit explain compile enforce analyze collect watch alerts verify; do
	grep -qE "^  $c " <<<"$help" || fail "--help does not list '$c'"
done
grep -q 'cancel' <<<"$help" || fail "--help does not list request cancel"

$P init >/dev/null
$P org add k12 --name K12 >/dev/null
$P contact add k12 --name Sec --email sec@k12.example --role security >/dev/null
$P prefix add k12 192.0.2.0/26 >/dev/null
$P prefix add k12 2001:db8:100::/48 >/dev/null
$P permit add k12 192.0.2.10 --kind mail --description mx1 >/dev/null
$P org set k12 --enrollment active >/dev/null

# Global options after the command, a command's own option of that name winning.
ok 'added permit 2' $P permit add k12 192.0.2.11 --kind mail --description mx2 --actor zed
ok '^[0-9]+ +[0-9TZ:-]+ +zed +permit.add +k12 +192\.0\.2\.11 ' $P audit --limit 1 --actor zed
PORT25_DB=$tmp/nope.db ok 'k12' $P org list --db "$PORT25_DB"

ip netns add "$ns"
g() { ip netns exec "$ns" "$@"; }
ok 'enforce apply \(dry run' g "$P" enforce apply --dry-run
ok '\+ enforce organization k12 \(chain out_k12\)' g "$P" enforce apply --dry-run
ok '\+ permit 192\.0\.2\.10/31 \(organization k12\)' g "$P" enforce apply --dry-run
ok '\+ blocked outbound 192\.0\.2\.0/26 \(organization k12\)' g "$P" enforce apply --dry-run
g "$P" enforce apply >/dev/null
# The README's form: --enforce after the command puts the permit into the kernel at once.
ok 'added permit' g "$P" permit add k12 192.0.2.12 --kind mail --description mx3 --enforce
# A host next to other permits may sit in the interval set as part of a range.
in_kernel() {
	g nft get element inet port25 permit_hosts_v4 "{ $1 }" >/dev/null 2>&1 ||
		g nft get element inet port25 permit_v4 "{ $1 }" >/dev/null 2>&1
}
in_kernel 192.0.2.13 && fail "192.0.2.13 in the kernel before it was permitted"
in_kernel 192.0.2.12 || fail "permit add ... --enforce did not reach the kernel"
$P permit add k12 2001:db8:100::25 --kind mail --description mx6 >/dev/null
$P permit remove 192.0.2.11 >/dev/null
out=$(g "$P" enforce sync --dry-run)
grep -q '+ permit 2001:db8:100::25 (organization k12)' <<<"$out" || fail "sync --dry-run does not name the new permit: $out"
grep -qE '^  - permit 192\.0\.2\.1[01]' <<<"$out" || fail "sync --dry-run does not name the removed permit: $out"
out=$(g "$P" enforce sync --dry-run --json)
grep -q '"org": "k12"' <<<"$out" || fail "sync --dry-run --json has no org: $out"
g "$P" enforce sync >/dev/null
ok 'in sync, nothing would change' g "$P" enforce sync --dry-run

# The operator's time zone: a bare date is the end of that day there, shown in UTC.
ok 'expires 2026-12-31T23:59:59Z \(the end of 2026-12-31 in UTC\)' $P permit add k12 192.0.2.20 --kind app --description a --expires 2026-12-31
echo 'timezone = MST7MDT,M3.2.0,M11.1.0' >"$PORT25_CONFIG"
ok 'expires 2027-01-01T06:59:59Z \(the end of 2026-12-31 in MST7MDT' $P permit add k12 192.0.2.21 --kind app --description b --expires 2026-12-31
ok 'expires 2027-07-05T05:59:59Z \(the end of 2027-07-04' $P permit set 1 --expires 2027-07-04
ok 'expires 2026-12-31T18:00:00Z$' $P permit set 1 --expires 2026-12-31T18:00:00Z
printf 'address,expires\n192.0.2.22,2026-12-31\n' >"$tmp/tz.csv"
$P import "$tmp/tz.csv" --org k12 >/dev/null
ok '192\.0\.2\.22 .*2027-01-01T06:59:59Z' $P permit list
echo 'timezone = Mars/Olympus' >"$PORT25_CONFIG"
expect 2 "timezone 'Mars/Olympus': no such zone" $P permit add k12 192.0.2.23 --kind app --description c --expires 2026-12-31
ok 'added permit' $P permit add k12 192.0.2.23 --kind app --description c --expires 2026-12-31T23:59:59Z
: >"$PORT25_CONFIG"

# A missing input file is bad input, not a system error.
refused 'nope.csv: cannot open' $P import "$tmp/nope.csv"
refused 'nope.csv: cannot open' $P request submit k12 --type add-permit --file "$tmp/nope.csv"
refused 'cannot read the backup' $P restore "$tmp/nope.db"
refused 'nope.ios' $P compile --target cisco-ios --diff "$tmp/nope.ios"

# permit remove takes the address as well as the id, and says which permit holds one.
ok 'removed permit [0-9]+ \(192\.0\.2\.23\)' $P permit remove 192.0.2.23
$P permit add k12 192.0.2.32/29 --kind app --description block >/dev/null
refused 'no permit for 192\.0\.2\.33: it lies inside permit [0-9]+ \(192\.0\.2\.32/29' $P permit remove 192.0.2.33
refused "'192\.0\.2\.300' is not a valid" $P permit remove 192.0.2.300

finish "next steps: all passed"
