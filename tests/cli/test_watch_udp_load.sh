#!/bin/bash
# port25 watch keeps reading UDP syslog while it writes its summaries.
# 20,000 Cisco IOS deny lines from 5,000 hosts, one a datagram, at a modest
# 5,000 lines/s (bench/syslog_flood.c) to watch on a namespace's loopback,
# with a flush every second: each flush writes thousands of hosts, hundreds
# of milliseconds in which a single poll loop reads nothing while the
# socket's buffer overflows (before the intake thread: 4-12% of the lines
# lost, and nothing said).  Every line sent must be counted by watch, summed
# in the registry, and neither the kernel (/proc/net/snmp Udp RcvbufErrors)
# nor watch (SO_RXQ_OVFL) may have seen one dropped.  No time is asserted:
# the rate is low enough for a loaded machine, the waits are bounded.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() {
	echo "FAIL: $*" >&2
	[ -f "${tmp:-/nonexistent}/watch.log" ] && sed 's/^/  watch: /' "$tmp/watch.log" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || fail "test_watch_udp_load.sh needs root (ip netns)"
for tool in ip cc python3; do
	command -v "$tool" >/dev/null || fail "test_watch_udp_load.sh needs $tool"
done

tmp=$(mktemp -d)
ns=p25wu$$
watch_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill -TERM "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB="$tmp/reg.db" PORT25_ACTOR=test PORT25_RUN_DIR="$tmp/run"
p() { "$PORT25" "$@"; }
lines=20000 hosts=5000 rate=5000

p init >/dev/null
p org add big --name Big --mode outbound --action reject >/dev/null
p contact add big --name Sec --email sec@big.example --role security >/dev/null
p prefix add big 10.250.0.0/16 >/dev/null
p org set big --enrollment active --no-servers >/dev/null
cc -std=c17 -O2 -o "$tmp/flood" "$top/bench/syslog_flood.c" || fail "cannot build bench/syslog_flood.c"

ip netns add "$ns"
ip -n "$ns" link set lo up
rcvbuf_errors() {
	ip netns exec "$ns" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp
}

ip netns exec "$ns" "$PORT25" watch --nflog-group off --syslog-listen 127.0.0.1:5514 \
	--flush-interval 1 >"$tmp/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 200); do
	grep -q 'started' "$tmp/watch.log" && break
	kill -0 "$watch_pid" 2>/dev/null || fail "watch exited at start"
	sleep 0.05
done
grep -q 'started' "$tmp/watch.log" || fail "watch did not start"
rb0=$(rcvbuf_errors)
ip netns exec "$ns" "$tmp/flood" 127.0.0.1 5514 $lines $rate $hosts >"$tmp/flood.out" || fail "the sender failed"
read -r _ sent _ <"$tmp/flood.out"
[ "$sent" = $lines ] || fail "sent $sent lines, not $lines"
# The socket empty again (ss: Recv-Q), then stop: watch reads what intake queued, and flushes.
for _ in $(seq 300); do
	q=$(ip netns exec "$ns" ss -H -u -l -n 'sport = :5514' | awk '{ s += $2 } END { print s + 0 }')
	[ "$q" = 0 ] && break
	sleep 0.1
done
kill -TERM "$watch_pid"
wait "$watch_pid" || fail "watch exited with an error on SIGTERM"
watch_pid=
rb1=$(rcvbuf_errors)

counted=$(sed -n 's/.*syslog udp: \([0-9]*\) lines, \([0-9]*\) attempts.*/\2/p' "$tmp/watch.log")
p watch hosts --json >"$tmp/hosts.json"
python3 - "$tmp/hosts.json" "$lines" "$hosts" <<'EOF' || fail "the registry's summaries do not add up to the lines sent"
import json, sys
rows = json.load(open(sys.argv[1]))
want, hosts = int(sys.argv[2]), int(sys.argv[3])
packets = sum(r["packets"] for r in rows)
print(f"registry: {len(rows)} hosts, {packets} attempts summed")
assert packets == want, f"{packets} of {want} lines in the summaries"
assert len(rows) == hosts, f"{len(rows)} hosts, want {hosts}"
assert all(r["org"] == "big" for r in rows)
EOF
echo "lines sent $sent, counted by watch ${counted:-none}; kernel RcvbufErrors +$((rb1 - rb0))"
[ "${counted:-0}" = "$lines" ] || fail "watch counted ${counted:-no} lines of $lines sent"
[ $((rb1 - rb0)) = 0 ] || fail "the kernel dropped $((rb1 - rb0)) datagrams (RcvbufErrors)"
grep -Eq 'syslog udp: [0-9]+ datagrams read; dropped: 0 from senders not allowed, 0 by the kernel' "$tmp/watch.log" ||
	fail "watch's statistics report drops"
grep -q 'syslog udp: receive buffer 8192 KiB' "$tmp/watch.log" || fail "the 8 MiB receive buffer was not granted"

# A receive buffer too small for the burst: what the kernel drops is counted and logged.
: >"$tmp/watch.log"
cp "$tmp/reg.db" "$tmp/small.db"
PORT25_DB="$tmp/small.db" ip netns exec "$ns" "$PORT25" watch --nflog-group off \
	--syslog-listen 127.0.0.1:5515 --set syslog-rcvbuf=4K --set syslog-queue=256 \
	--flush-interval 1 >"$tmp/watch.log" 2>&1 &
watch_pid=$!
for _ in $(seq 200); do grep -q 'started' "$tmp/watch.log" && break; sleep 0.05; done
grep -q 'started' "$tmp/watch.log" || fail "watch (small buffer) did not start"
rb0=$(rcvbuf_errors)
ip netns exec "$ns" "$tmp/flood" 127.0.0.1 5515 $lines 0 $hosts >/dev/null || fail "the sender failed"
for _ in $(seq 100); do
	grep -q 'the kernel dropped' "$tmp/watch.log" && break
	sleep 0.1
done
kill -TERM "$watch_pid"
wait "$watch_pid" || fail "watch (small buffer) exited with an error on SIGTERM"
watch_pid=
rb1=$(rcvbuf_errors)
grep -Eq 'the kernel dropped [0-9]+ datagrams?: the receive buffer was full' "$tmp/watch.log" ||
	fail "kernel drops were not logged"
read -r read_lines kdrops < <(sed -n 's/.*syslog udp: \([0-9]*\) lines,.*/\1/p; s/.*dropped: [0-9]* from senders not allowed, \([0-9]*\) by the kernel.*/\1/p' "$tmp/watch.log" | paste -sd' ')
echo "small buffer: $read_lines lines read, $kdrops dropped by the kernel as watch counted it, RcvbufErrors +$((rb1 - rb0))"
[ "$kdrops" -gt 0 ] || fail "no kernel drops counted"
[ "$kdrops" = $((rb1 - rb0)) ] || fail "watch counted $kdrops kernel drops, the kernel $((rb1 - rb0))"
[ $((read_lines + kdrops)) = $lines ] || fail "$read_lines read + $kdrops dropped is not the $lines sent"
grep -q 'warning: syslog udp: receive buffer' "$tmp/watch.log" && fail "4K asked and granted is no shortfall"
echo "ok"
