#!/bin/bash
# The demo registry compiles to the reviewed golden file of every target, and
# explain gives the reviewed answers.  After a deliberate change, regenerate with
# UPDATE_GOLDEN=1 tests/cli/test_golden.sh, review the diff, and commit it.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
golden=$top/tests/golden
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/demo.db PORT25_NOW=2026-11-23T12:00:00Z PORT25_ACTOR=golden
"$PORT25" import "$top/data/demo/registry.json" >/dev/null

failures=0
for t in nftables iptables cisco-ios junos pf; do
	"$PORT25" compile --target "$t" -o "$tmp/demo.$t" >"$tmp/$t.out"
	grep -qE "^compiled $t: [0-9]+ entries, wrote " "$tmp/$t.out" || { echo "FAIL: $t entry count line: $(cat "$tmp/$t.out")"; failures=$((failures + 1)); }
done
if [ "${UPDATE_GOLDEN:-}" = 1 ]; then
	rm -f "$golden"/demo.*
	cp "$tmp"/demo.* "$golden"/
	rm -f "$golden"/demo.db*
	echo "golden files updated: review git diff tests/golden"
	exit 0
fi
for f in "$golden"/demo.*; do
	name=$(basename "$f")
	if ! diff -u "$f" "$tmp/$name"; then
		echo "FAIL: $name differs from its golden file"
		failures=$((failures + 1))
	fi
done
for f in "$tmp"/demo.*; do
	name=$(basename "$f")
	case $name in demo.db*) continue ;; esac
	[ -e "$golden/$name" ] || { echo "FAIL: $name has no golden file"; failures=$((failures + 1)); }
done

# explain: reviewed answers for the demo's telling addresses (address outbound inbound org)
while read -r addr out in org; do
	got=$("$PORT25" explain --json "$addr" | python3 -c '
import json,sys
a=json.load(sys.stdin)["addresses"][0]
o=a["organization"]
print(a["outbound"]["verdict"], a["inbound"]["verdict"], o["handle"] if o else "-")')
	if [ "$got" != "$out $in $org" ]; then
		echo "FAIL: explain $addr: got '$got', want '$out $in $org'"
		failures=$((failures + 1))
	fi
done <<'EOF_CASES'
192.0.2.10 permit not-covered springfield-k12
192.0.2.11 permit not-covered springfield-k12
192.0.2.50 block not-covered springfield-k12
192.0.2.41 block not-covered springfield-k12
192.0.2.40 permit not-covered springfield-k12
198.51.100.25 permit not-covered shelby-county
198.51.100.99 block not-covered shelby-county
198.51.100.140 not-covered not-covered riverside-water
203.0.113.70 permit permit state-university
203.0.113.99 block block state-university
2001:db8:300::25 permit permit state-university
2001:db8:30f::1 block block state-university
2001:db8:100::25 permit not-covered springfield-k12
2001:db8:100::26 block not-covered springfield-k12
203.0.113.140 not-covered not-covered valley-libraries
192.0.2.200 not-covered not-covered -
::ffff:192.0.2.10 permit not-covered springfield-k12
EOF_CASES

# the expired variance is named, and after the temporary one ends it blocks too
"$PORT25" explain 192.0.2.41 | grep -q 'permit #7 192.0.2.41/32 expired at 2026-11-10' || { echo "FAIL: explain does not name the expired permit"; failures=$((failures + 1)); }
PORT25_NOW=2026-12-02T00:00:00Z "$PORT25" explain --json 192.0.2.40 | grep -q '"verdict": "block"' || { echo "FAIL: variance 192.0.2.40 still counts after its expiry"; failures=$((failures + 1)); }
# bad input names itself and exits 1
out=$("$PORT25" explain 10.1.2 2>&1) && { echo "FAIL: explain accepted 10.1.2"; failures=$((failures + 1)); }
grep -q "'10.1.2'" <<<"$out" || { echo "FAIL: explain error does not name the input: $out"; failures=$((failures + 1)); }

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "golden: all targets and explain answers match"
