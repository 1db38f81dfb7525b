#!/bin/bash
# How many router deny lines `port25 watch` counts of those sent over UDP
# syslog, at several rates, against the kernel's own counters.  In a network
# namespace this script creates and removes (loopback only): watch listens
# on 127.0.0.1:5514 with a 2 s flush interval; bench/syslog_flood.c sends
# Cisco IOS deny lines from HOSTS hosts (5,000), one a datagram, paced at
# each RATE (lines/s; 0: as fast as the sender can).  Per rate: lines sent,
# lines watch counted (its statistics at stop, and the packets summed over
# the registry's host summaries), the ratio, the kernel's UDP RcvbufErrors
# (/proc/net/snmp of the namespace) and the drops watch learnt from
# SO_RXQ_OVFL.  COUNT lines per rate (default: 8 s worth, at most 200,000).
#
#   bench/bench_watch_syslog.sh [RATE...]     (root; default rates 5000 50000 0)
# Needs ip, jq, cc; PORT25 names the binary.  About a minute.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
PORT25=${PORT25:-$top/${BUILD:-build-bench}/port25}
[ -x "$PORT25" ] || PORT25=$top/build/port25
hosts=${HOSTS:-5000}
fail() { echo "bench_watch_syslog: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (a network namespace)"
[ -x "$PORT25" ] || fail "no port25 binary (set PORT25, or make)"
for t in ip jq cc; do command -v $t >/dev/null || fail "needs $t"; done

tmp=$(mktemp -d)
ns=p25ws$$
watch_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill -TERM "$watch_pid" 2>/dev/null && wait "$watch_pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_ACTOR=bench PORT25_RUN_DIR="$tmp/run"
unset PORT25_NOW PORT25_ENFORCE
cc -std=c17 -O2 -o "$tmp/flood" "$top/bench/syslog_flood.c"

# One org owns the senders' hosts, as on a gateway: each line costs watch a policy lookup too.
PORT25_DB="$tmp/template.db"
export PORT25_DB
"$PORT25" init >/dev/null
"$PORT25" org add big --name Big --mode outbound --action reject >/dev/null
"$PORT25" contact add big --name Sec --email sec@big.example --role security >/dev/null
"$PORT25" prefix add big 10.250.0.0/16 >/dev/null
"$PORT25" org set big --enrollment active >/dev/null

ip netns add "$ns"
ip -n "$ns" link set lo up
udp() { # FIELD -> the namespace's Udp counter
	ip netns exec "$ns" awk -v f="$1" '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c[f] }' /proc/net/snmp
}

printf '%-10s %9s %9s %9s %9s %8s %13s %12s\n' rate achieved sent counted registry ratio RcvbufErrors SO_RXQ_OVFL
for rate in ${@:-5000 50000 0}; do
	count=${COUNT:-$((rate > 0 && rate * 8 < 200000 ? rate * 8 : 200000))}
	cp "$tmp/template.db" "$tmp/run.db"
	export PORT25_DB="$tmp/run.db"
	: >"$tmp/watch.log"
	rb0=$(udp RcvbufErrors)
	ip netns exec "$ns" "$PORT25" watch --nflog-group off --syslog-listen 127.0.0.1:5514 \
		--flush-interval 2 >"$tmp/watch.log" 2>&1 &
	watch_pid=$!
	for _ in $(seq 200); do grep -q started "$tmp/watch.log" && break; sleep 0.05; done
	grep -q started "$tmp/watch.log" || fail "watch did not start: $(cat "$tmp/watch.log")"
	ip netns exec "$ns" "$tmp/flood" 127.0.0.1 5514 "$count" "$rate" "$hosts" >"$tmp/flood.out"
	# Until the socket is empty (what is left there is read, not dropped), then stop: the final flush.
	for _ in $(seq 100); do
		q=$(ip netns exec "$ns" ss -H -u -l -n 'sport = :5514' | awk '{ s += $2 } END { print s + 0 }')
		[ "$q" = 0 ] && break
		sleep 0.1
	done
	sleep 0.5
	kill -TERM "$watch_pid"
	wait "$watch_pid" || fail "watch failed: $(cat "$tmp/watch.log")"
	watch_pid=
	rb1=$(udp RcvbufErrors)
	read -r _ sent _ _ _ achieved _ <"$tmp/flood.out"
	achieved=${achieved#(}
	counted=$(sed -n 's/.*syslog udp: \([0-9]*\) lines.*/\1/p' "$tmp/watch.log" | tail -1)
	ovfl=$(sed -n 's/.*dropped:.* \([0-9]*\) by the kernel.*/\1/p' "$tmp/watch.log" | tail -1)
	reg=$("$PORT25" watch hosts --json | jq '[.[].packets] | add // 0')
	printf '%-10s %9s %9s %9s %9s %8.4f %13s %12s\n' "${rate/#0/max}" "$achieved" "$sent" "${counted:-0}" "$reg" \
		"$(awk -v c="${counted:-0}" -v s="$sent" 'BEGIN { print c / s }')" $((rb1 - rb0)) "${ovfl:-n/a}"
done
echo "($hosts hosts; watch flushes every 2 s; ratio = lines counted by watch / lines sent)"
