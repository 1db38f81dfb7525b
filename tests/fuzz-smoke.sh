#!/bin/bash
# Run each libFuzzer target for a bounded time on its seed corpus; any crash fails.
set -euo pipefail
secs=${FUZZ_SECONDS:-20}
passed=0
failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	seeds="fuzz/corpus/$name"
	work=$(mktemp -d)
	[ -d "$seeds" ] && cp -r "$seeds/." "$work/"
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/" "$work" >"$work.log" 2>&1; then
		passed=$((passed + 1)); echo "ok   fuzz $name ($(grep -o 'stat::number_of_executed_runs: *[0-9]*' "$work.log" | grep -o '[0-9]*$' || tail -1 "$work.log"))"
	else
		failed=$((failed + 1)); echo "FAIL fuzz $name"; tail -40 "$work.log"
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null || true
	fi
	rm -rf "$work" "$work.log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
