#!/bin/bash
# Run every benchmark binary in turn; arguments are passed to each of them.
# `make bench` builds them into build-bench/bench; BUILD overrides the tree.
# Then, as root only, the shell benchmarks bench/bench_*.sh (with PORT25 set
# to $BUILD/port25 and no arguments), except bench_analyze.sh: it generates
# and reads a gigabyte of capture for minutes, so it is run on its own.
# Without root they are skipped with a note (they need network namespaces).
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
	extra=()
	# The analysis stage needs a capture: the demo's three days of members' traffic.
	[ "$(basename "$b")" = bench_an_stage ] && extra=(--file data/demo/traffic.pcap.gz)
	"$b" ${extra[@]+"${extra[@]}"} "$@" || { echo "FAIL $(basename "$b")"; status=1; }
	echo
done
[ $found -eq 1 ] || { echo "no benchmarks in $BUILD/bench" >&2; exit 1; }
for s in bench/bench_*.sh; do
	[ "$(basename "$s")" = bench_analyze.sh ] && continue
	if [ "$(id -u)" != 0 ]; then
		echo "== $(basename "$s"): skipped, needs root"
		continue
	fi
	echo "== $(basename "$s")"
	PORT25=${PORT25:-$top/$BUILD/port25} BUILD=$BUILD "$s" || { echo "FAIL $(basename "$s")"; status=1; }
	echo
done
exit $status
