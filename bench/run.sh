#!/bin/bash
# Run every benchmark binary in turn; arguments are passed to each of them.
# `make bench` builds them into build-bench/bench; BUILD overrides the tree.
set -u
BUILD=${BUILD:-build-bench}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
status=0
found=0
for b in "$BUILD"/bench/bench_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	found=1
	echo "== $(basename "$b")"
	"$b" "$@" || { echo "FAIL $(basename "$b")"; status=1; }
	echo
done
[ $found -eq 1 ] || { echo "no benchmarks in $BUILD/bench" >&2; exit 1; }
exit $status
