#!/bin/bash
# The README's Quick Start, run exactly as printed, step by step, each step
# required to succeed; then dist/'s units, run as systemd would, must load the
# registry it made, and the restore unit must fail (not succeed quietly) when
# that registry is missing, empty or damaged.  Needs root: the Quick Start ends
# with `port25 enforce apply`, run here inside a network namespace of our own.
#
# The one substitution: the gateway's directories /etc/port25 and
# /var/lib/port25 become directories under a temporary root, in
# dist/port25.conf.example (installed there as the configuration, which
# PORT25_CONFIG points at) and in the units' lines.  The README's commands name
# no path, so they run unchanged and find the registry through that
# configuration, as on a gateway.  servers.csv is the README's import-file
# example.  PORT25_RUN_DIR stands for /run/port25 (the units' RuntimeDirectory)
# and PORT25_NOW pins the clock, so dated examples keep working.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_quickstart.sh needs root (ip netns, nft)"
for tool in ip nft jq awk; do
	command -v "$tool" >/dev/null || fail "test_quickstart.sh needs $tool"
done

tmp=$(mktemp -d)
ns=p25qs$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

root=$tmp/root
mkdir -p "$root/etc/port25" "$root/var/lib/port25" "$tmp/run" "$tmp/work" "$tmp/bin"
sub() { sed -e "s|/etc/port25|$root/etc/port25|g" -e "s|/etc/default/port25|$root/etc/default/port25|g" \
	-e "s|/var/lib/port25|$root/var/lib/port25|g" -e "s|/usr/local/bin/port25|$PORT25|g"; }
sub <"$top/dist/port25.conf.example" >"$root/etc/port25/port25.conf"
ln -s "$PORT25" "$tmp/bin/port25"
unset PORT25_DB PORT25_ENFORCE
export PORT25_CONFIG=$root/etc/port25/port25.conf PORT25_RUN_DIR=$tmp/run
export PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=quickstart
export PATH="$tmp/bin:$PATH"
ip netns add "$ns"
g() { ip netns exec "$ns" "$@"; }

# --- the README's blocks: every ```sh block of "## Quick start", and the import-file example
awk '/^## Quick start/ { in_qs = 1; next }
     /^## / { in_qs = 0 }
     in_qs && /^```sh$/ { in_block = 1; next }
     in_block && /^```$/ { in_block = 0; next }
     in_block { print }' "$top/README.md" >"$tmp/steps"
awk '/^### Import file/ { in_sec = 1; next }
     /^##/ { in_sec = 0 }
     in_sec && /^```csv$/ { in_block = 1; next }
     in_block && /^```$/ { exit }
     in_block { print }' "$top/README.md" >"$tmp/work/servers.csv"
[ "$(grep -c . "$tmp/steps")" -ge 10 ] || fail "no Quick Start blocks found in README.md"
[ -s "$tmp/work/servers.csv" ] || fail "no import-file example found in README.md"
grep -q 'enforce apply' "$tmp/steps" || fail "the Quick Start does not end in enforce apply"
# A step naming a host path would write outside this test's directories.
if sed 's/ #.*//' "$tmp/steps" | grep -nE '(^|[ =])/(etc|var|run|usr)/'; then
	fail "a Quick Start step names a path on the host; the test cannot run it safely"
fi

# One step a line, each checked where it ran; variables carry from step to step.
{
	echo 'set -o pipefail'
	n=0
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in '' | '#'*) continue ;; esac
		printf '%s\n' "$line"
		printf 'rc=$?; if [ $rc != 0 ]; then echo "Quick Start step %d failed (exit $rc): $(sed -n %dp "%s")" >&2; exit 1; fi\n' \
			"$n" "$n" "$tmp/steps"
	done <"$tmp/steps"
} >"$tmp/quickstart.sh"
(cd "$tmp/work" && g bash "$tmp/quickstart.sh") >"$tmp/qs.log" 2>&1 || { cat "$tmp/qs.log" >&2; fail "the Quick Start does not run as printed"; }

# It did what it says: the block is in this namespace's kernel, with every permit.
[ -s "$root/var/lib/port25/port25.db" ] || fail "the Quick Start's registry is not where the configuration says"
g nft list table inet port25 >/dev/null || fail "no table inet port25 after the Quick Start"
for a in 192.0.2.10 192.0.2.40 192.0.2.41 192.0.2.45; do
	g nft get element inet port25 permit_v4 "{ $a }" >/dev/null 2>&1 ||
		g nft get element inet port25 permit_hosts_v4 "{ $a }" >/dev/null 2>&1 ||
		fail "permit $a is not in the kernel"
done
g nft get element inet port25 permit_hosts_v6 '{ 2001:db8:100::25 }' >/dev/null 2>&1 ||
	g nft get element inet port25 permit_v6 '{ 2001:db8:100::25 }' >/dev/null 2>&1 ||
	fail "permit 2001:db8:100::25 is not in the kernel"
g nft get element inet port25 permit_v4 '{ 192.0.2.50 }' >/dev/null 2>&1 && fail "192.0.2.50 is permitted in the kernel"
g port25 enforce status --json | jq -e '.loaded and .matches_registry' >/dev/null ||
	fail "enforce status: the kernel does not match the registry"
port25 request list --json | jq -e 'length == 1 and .[0].status == "applied"' >/dev/null ||
	fail "the Quick Start's request was not applied"

# --- dist/'s units as systemd runs them: a clean environment plus the unit's own
# Environment= lines, EnvironmentFile= ("-": may be absent), and its Exec lines in order.
run_unit() {
	local unit=$1 line key val cmd
	local -a envs=(PATH="$tmp/bin:/usr/sbin:/usr/bin:/sbin:/bin" PORT25_CONFIG="$PORT25_CONFIG"
		PORT25_RUN_DIR="$PORT25_RUN_DIR" PORT25_NOW="$PORT25_NOW")
	while IFS= read -r line; do
		key=${line%%=*}
		val=${line#*=}
		case $key in
		Environment) envs+=("$val") ;;
		EnvironmentFile)
			if [ -e "${val#-}" ]; then
				while IFS= read -r l; do [ -n "$l" ] && envs+=("$l"); done <"${val#-}"
			elif [ "${val:0:1}" != - ]; then
				echo "$unit: EnvironmentFile $val missing" >&2
				return 1
			fi
			;;
		ExecStartPre | ExecStart | ExecStartPost)
			case $val in -* | @* | :* | !*) fail "$unit: $key=$val ignores or changes how a failure counts" ;; esac
			# shellcheck disable=SC2086 # the unit's command line, split as systemd splits it
			g env -i "${envs[@]}" $val || return $?
			;;
		esac
	done < <(sub <"$top/dist/$unit" | grep -E '^(Environment|EnvironmentFile|ExecStartPre|ExecStart|ExecStartPost)=')
}

grep -l 'PORT25_DB=' "$top"/dist/*.service && fail "a unit sets its own registry path (PORT25_DB)"
g port25 enforce flush >/dev/null
run_unit port25-restore.service >"$tmp/unit.out" 2>&1 || { cat "$tmp/unit.out" >&2; fail "port25-restore.service failed on the Quick Start's registry"; }
g port25 enforce status --json | jq -e '.loaded and .matches_registry' >/dev/null ||
	fail "port25-restore.service did not load the Quick Start's registry"
run_unit port25-sync.service >"$tmp/unit.out" 2>&1 || { cat "$tmp/unit.out" >&2; fail "port25-sync.service failed"; }

# A restore that cannot load the registry fails the unit, naming why.
db=$root/var/lib/port25/port25.db
mv "$db" "$tmp/saved.db"
expect_unit_fails() {
	local what=$1 rc=0
	run_unit port25-restore.service >"$tmp/unit.out" 2>&1 || rc=$?
	[ $rc != 0 ] || fail "port25-restore.service succeeded with $what"
	grep -q "$2" "$tmp/unit.out" || fail "port25-restore.service with $what: no reason given: $(cat "$tmp/unit.out")"
}
expect_unit_fails "no registry" "no registry at $db"
: >"$db"
expect_unit_fails "an empty registry file" "$db is an empty file"
echo 'not a database' >"$db"
expect_unit_fails "a damaged registry" "not a usable registry"
mv "$tmp/saved.db" "$db"
mv "$PORT25_CONFIG" "$tmp/saved.conf"
mkdir "$PORT25_CONFIG"
expect_unit_fails "an unreadable configuration" "$PORT25_CONFIG"
rmdir "$PORT25_CONFIG"
mv "$tmp/saved.conf" "$PORT25_CONFIG"
run_unit port25-restore.service >/dev/null 2>&1 || fail "port25-restore.service fails with everything restored"

echo "ok"
