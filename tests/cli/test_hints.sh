#!/bin/bash
# End-to-end: the library's messages name no command; the command line puts
# in its own words where the library left a hint (here: an alert that is not
# there, whose list is `port25 alerts`).
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
export PORT25_CONFIG=$tmp/none.conf
unset PORT25_ENFORCE 2>/dev/null || true

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
# expect CODE TEXT CMD...: exit CODE, and stderr is exactly "port25: TEXT".
expect() {
	local code=$1 text=$2 out rc=0
	shift 2
	out=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq "$code" ] || fail "exit $rc, wanted $code: $*"$'\n'"$out"
	[ "$out" = "port25: $text" ] || fail "'$*' said '$out', wanted 'port25: $text'"
}
P=$PORT25

$P init >/dev/null
for verb in show draft dismiss; do
	expect 1 "no alert 999 (see port25 alerts)" $P alerts $verb 999
done

if [ "$failures" -ne 0 ]; then
	echo "$failures failure(s)" >&2
	exit 1
fi
echo ok
