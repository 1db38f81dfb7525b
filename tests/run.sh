#!/bin/bash
# Run every unit test binary and every CLI end-to-end test; print one summary line.
# Tests that need root (nft -c, iptables-restore --test, namespaces) fail, not skip, without it.
set -u
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
passed=0
failed=0
failures=()
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	if "$t" >"$BUILD/$(basename "$t").log" 2>&1; then
		passed=$((passed + 1)); echo "ok   unit $(basename "$t")"
	else
		failed=$((failed + 1)); failures+=("$t"); echo "FAIL unit $(basename "$t")"
		sed 's/^/    /' "$BUILD/$(basename "$t").log" | tail -40
	fi
done
export PORT25="$top/$BUILD/port25"
for t in tests/cli/test_*.sh; do
	[ -f "$t" ] || continue
	log="$BUILD/$(basename "$t" .sh).log"
	if bash "$t" >"$log" 2>&1; then
		passed=$((passed + 1)); echo "ok   cli  $(basename "$t")"
	else
		failed=$((failed + 1)); failures+=("$t"); echo "FAIL cli  $(basename "$t")"
		sed 's/^/    /' "$log" | tail -40
	fi
done
echo
[ $failed -gt 0 ] && printf 'failed: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
