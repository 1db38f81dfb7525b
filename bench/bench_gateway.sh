#!/bin/bash
# The per-packet cost of port25's ruleset on a forwarding gateway, in network
# namespaces this script creates and removes itself (never the host's
# ruleset): client -- gateway -- server over veth pairs.
#
#   1. TCP throughput (iperf3, port 5201: ordinary, non-SMTP traffic) across
#      the gateway with no ruleset, then with table inet port25 holding
#      100,000 permits (one org, 10.0.0.0/8, permits none adjacent so
#      100,000 set intervals, imported as CSV), ~5 s each, and without it
#      again after a flush (the two bare runs bracket the noise); Gbit/s, ratio.
#   2. SYNs to port 25 from an unpermitted source in that org (a bounded
#      raw-socket burst, bench/synflood.c, source ports cycling): how many
#      per second the gateway rejects, counted by the org's block counter in
#      `port25 enforce status --json`.  On 2 shared cores the sender and the
#      gateway compete, so this is a floor of what the gateway can absorb.
#
#   bench/bench_gateway.sh [PERMITS]     (root; PORT25 names the binary)
# Needs ip, iperf3 (scripts/install-deps.sh), jq, cc.  About 30 s
# (BENCH_SECONDS changes the 5 s per throughput run).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
permits=${1:-100000}
secs=${BENCH_SECONDS:-5}
PORT25=${PORT25:-$top/${BUILD:-build-bench}/port25}
[ -x "$PORT25" ] || PORT25=$top/build/port25
fail() { echo "bench_gateway: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, nftables)"
[ -x "$PORT25" ] || fail "no port25 binary (set PORT25, or make)"
for t in ip iperf3 jq cc; do command -v $t >/dev/null || fail "needs $t (scripts/install-deps.sh)"; done

tmp=$(mktemp -d)
c=p25b$$c; gw=p25b$$g; s=p25b$$s
cleanup() {
	for n in "$c" "$gw" "$s"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del "$n" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB="$tmp/reg.db" PORT25_ACTOR=bench PORT25_RUN_DIR="$tmp/run"
unset PORT25_NOW PORT25_ENFORCE
p() { "$PORT25" "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- the registry: one org over 10.0.0.0/8, PERMITS single addresses (even ones: none adjacent)
t0=$(now_ms)
p init >/dev/null
p org add big --name Big --mode outbound --action reject >/dev/null
p contact add big --name Sec --email sec@big.example --role security >/dev/null
p prefix add big 10.0.0.0/8 >/dev/null
awk -v n="$permits" 'BEGIN { print "address,kind,description";
	for (i = 0; i < n; i++) { a = 2 * i + 2;
		printf "10.%d.%d.%d,app,b%d\n", int(a / 65536), int(a / 256) % 256, a % 256, i } }' >"$tmp/p.csv"
p import "$tmp/p.csv" --org big >/dev/null
p org set big --enrollment active >/dev/null
cc -std=c17 -D_GNU_SOURCE -O2 -o "$tmp/synflood" "$top/bench/synflood.c"
echo "registry: $permits permits imported in $(( $(now_ms) - t0 )) ms"

# --- topology: client 10.200.0.2 (in org big, not permitted) -- gw -- server 192.0.2.10
for n in "$c" "$gw" "$s"; do ip netns add "$n"; ip netns exec "$n" ip link set lo up; done
ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1
ip link add gi netns "$gw" type veth peer name eth0 netns "$c"
ip link add go netns "$gw" type veth peer name eth0 netns "$s"
ip netns exec "$gw" ip addr add 10.200.0.1/16 dev gi
ip netns exec "$gw" ip addr add 192.0.2.1/24 dev go
ip netns exec "$c" ip addr add 10.200.0.2/16 dev eth0
ip netns exec "$s" ip addr add 192.0.2.10/24 dev eth0
for n in "$c" "$gw" "$s"; do ip netns exec "$n" bash -c 'for l in $(ls /sys/class/net); do ip link set $l up; done'; done
ip netns exec "$c" ip route add default via 10.200.0.1
ip netns exec "$s" ip route add default via 192.0.2.1
ip netns exec "$s" iperf3 -s -D >/dev/null
sleep 0.3

# iperf3 for SECS seconds, client -> server, through the gateway: Gbit/s
tput() {
	ip netns exec "$c" iperf3 -c 192.0.2.10 -t "$secs" -J 2>/dev/null |
		jq -r '.end.sum_received.bits_per_second / 1e9'
}

# --- 1. throughput without, then with, the ruleset
bare=$(tput)
[ -n "$bare" ] && [ "$bare" != null ] || fail "iperf3 across the gateway failed"
t0=$(now_ms)
ip netns exec "$gw" "$PORT25" enforce apply >/dev/null
apply_ms=$(( $(now_ms) - t0 ))
ip netns exec "$gw" "$PORT25" --json enforce status >"$tmp/st0.json"
[ "$(jq -r .matches_registry "$tmp/st0.json")" = true ] || fail "ruleset does not match the registry"
loaded=$(jq -r '.sets | [.[].loaded] | add' "$tmp/st0.json")
ruled=$(tput)

# --- 2. SYN burst to port 25 from the unpermitted client
ip netns exec "$c" "$tmp/synflood" 10.200.0.2 192.0.2.10 3 100000000 >"$tmp/flood"
sleep 0.2
ip netns exec "$gw" "$PORT25" --json enforce status >"$tmp/st1.json"
b0=$(jq -r '.counters.big.out_block' "$tmp/st0.json")
b1=$(jq -r '.counters.big.out_block' "$tmp/st1.json")
read -r _ sent _ fsecs _ <"$tmp/flood"
# no ruleset again: the two bare runs bracket the noise of shared cores
ip netns exec "$gw" "$PORT25" enforce flush >/dev/null
bare2=$(tput)

echo "gateway forwarding TCP (iperf3, ${secs} s each, 2 shared cores, veth):"
printf "  no ruleset (before, after):         %6.2f, %.2f Gbit/s\n" "$bare" "$bare2"
printf "  port25, %d set/map intervals: %6.2f Gbit/s  (apply %d ms)\n" "$loaded" "$ruled" "$apply_ms"
awk -v a="$bare" -v a2="$bare2" -v b="$ruled" \
	'BEGIN { printf "  ratio with/without (mean of both):  %6.3f\n", b / ((a + a2) / 2) }'
awk -v s="$sent" -v t="$fsecs" -v blk=$((b1 - b0)) 'BEGIN {
	printf "SYNs to port 25 from an unpermitted host: %d sent in %.2f s, %d rejected by the gateway\n", s, t, blk
	printf "  rejected per second:                %9.0f SYN/s (%.0f%% of those sent)\n", blk / t, 100 * blk / s }'
