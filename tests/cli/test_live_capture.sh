#!/bin/bash
# Live capture and live flow collection end to end, over a veth pair between
# two network namespaces of our own:
#
#   org  o0  10.225.0.10  fd00:25::1:10   sends one whole SMTP dialogue each
#            10.225.0.20  fd00:25::1:20   knocks on port 25 where nothing listens
#            10.225.0.30                  submits one message on 587
#            10.225.0.99                  filler for softflowd (UDP to port 9)
#    | veth
#   mx   m0  10.225.0.200 fd00:25::2:200  a scripted SMTP responder on 25 and 587
#            10.225.0.201 fd00:25::2:201  no listener: every SYN gets a RST
#
# The internal space is 10.225.0.0/25 and fd00:25::1:0/112 (plus the VLAN 99
# space below); nothing is routed anywhere else.
#   1. port25 analyze --interface o0 --duration: each host's port-25 connections
#      and outcomes, EHLO names, messages and submission connections are exactly
#      what was sent, IPv4 and IPv6, plus 802.1Q-tagged frames written raw onto
#      the wire (the kernel moves the tag out of the frame on receive; libpcap
#      must put it back).
#   2. Ctrl-C right after a dialogue: the packets the kernel still holds in its
#      capture block are reported, not lost.
#   3. softflowd on o0 exporting NetFlow v9 and IPFIX to port25 collect in the
#      same namespace: the per-host counts equal what was sent.
#   4. collect --duration 1 lasts a second, not whatever is left of the current
#      second of the clock.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
say() { echo "== [+$((($(date +%s%N) - T0) / 1000000)) ms] $*"; }

[ "$(id -u)" = 0 ] || fail "test_live_capture.sh needs root (ip netns, packet capture)"
for tool in ip swaks socat jq python3 softflowd softflowctl; do
	command -v "$tool" >/dev/null || fail "test_live_capture.sh needs $tool (scripts/install-deps.sh installs it)"
done
PORT25=$(readlink -f "$PORT25")
T0=$(date +%s%N)

ORG=p25lc-org-$$
MX=p25lc-mx-$$
tmp=$(mktemp -d /tmp/port25-live.XXXXXX)
pids=()

cleanup() {
	set +e
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$ORG" 2>/dev/null
	ip netns del "$MX" 2>/dev/null
	rm -rf "/etc/netns/$ORG" "/etc/netns/$MX"
	if [ -n "${KEEP_LIVE:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

in_org() { ip netns exec "$ORG" "$@"; }
in_mx() { ip netns exec "$MX" "$@"; }
# bg NS CMD...: start CMD in namespace NS in the background; its pid is $!
# (ip netns exec execs the command) and is killed by the trap.
bg() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	pids+=($!)
}
# wait_for WHAT SECONDS CMD...: poll CMD every 20 ms until it succeeds.
wait_for() {
	local what=$1 n=$(($2 * 50))
	shift 2
	for _ in $(seq "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	fail "timed out waiting for $what"
}
# wait_exit PID SECONDS: wait for a background process to end; its exit status.
wait_exit() {
	local pid=$1 n=$(($2 * 50)) rc=0 p
	for _ in $(seq "$n"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -0 "$pid" 2>/dev/null && fail "process $pid still running after $2 s"
	wait "$pid" || rc=$?
	local -a rest=()
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
	pids=("${rest[@]}")
	return $rc
}
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- topology: two namespaces, one veth pair created inside them ----
for ns in "$ORG" "$MX"; do
	ip netns add "$ns"
	# swaks looks this host's name up at start: a hosts file naming it, or a
	# DNS timeout from a namespace with no way out (see tests/e2e/lib.sh).
	mkdir -p "/etc/netns/$ns"
	printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"/etc/netns/$ns/hosts"
	ip -n "$ns" link set lo up
	# Usable addresses at once: no duplicate address detection.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip link add o0 netns "$ORG" type veth peer name m0 netns "$MX"
for a in 10.225.0.10 10.225.0.20 10.225.0.30 10.225.0.99; do ip -n "$ORG" addr add "$a/24" dev o0; done
for a in fd00:25::1:10 fd00:25::1:20; do ip -n "$ORG" addr add "$a/64" dev o0 nodad; done
for a in 10.225.0.200 10.225.0.201; do ip -n "$MX" addr add "$a/24" dev m0; done
for a in fd00:25::2:200 fd00:25::2:201; do ip -n "$MX" addr add "$a/64" dev m0 nodad; done
ip -n "$ORG" link set o0 up
ip -n "$MX" link set m0 up
INTERNAL=(--internal 10.225.0.0/25 --internal fd00:25::1:0/112)

# ---- the mail exchanger: enough SMTP for swaks, on 25 and 587 of .200 only ----
cat >"$tmp/smtpd.py" <<'EOF'
import socket, sys, threading

# smtpd.py READYFILE ADDR:PORT...: answer SMTP on each address.
ready, binds = sys.argv[1], sys.argv[2:]


def session(c):
    f = c.makefile("rb")
    c.sendall(b"220 mx.example.test ESMTP p25test\r\n")
    data = False
    for line in f:
        if data:
            if line == b".\r\n":
                data = False
                c.sendall(b"250 2.0.0 queued\r\n")
            continue
        cmd = line[:4].upper()
        if cmd == b"EHLO":
            c.sendall(b"250-mx.example.test\r\n250 8BITMIME\r\n")
        elif cmd == b"HELO":
            c.sendall(b"250 mx.example.test\r\n")
        elif cmd == b"DATA":
            data = True
            c.sendall(b"354 end with .\r\n")
        elif cmd == b"QUIT":
            c.sendall(b"221 2.0.0 bye\r\n")
            break
        elif cmd in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            c.sendall(b"250 2.1.0 ok\r\n")
        else:
            c.sendall(b"502 5.5.2 unknown command\r\n")
    c.close()


def serve(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=session, args=(c,), daemon=True).start()


socks = []
for b in binds:
    host, port = b.rsplit(":", 1)
    host = host.strip("[]")
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port)))
    s.listen(16)
    socks.append(s)
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
open(ready, "w").write("ready\n")
threading.Event().wait()
EOF
bg "$MX" python3 "$tmp/smtpd.py" "$tmp/smtpd.ready" 10.225.0.200:25 '[fd00:25::2:200]:25' 10.225.0.200:587 \
	>"$tmp/smtpd.log" 2>&1
wait_for "the SMTP responder" 10 test -s "$tmp/smtpd.ready"

# ---- the traffic, the same for the capture and for the flows ----
swaks_ok() { # SRC DST PORT
	in_org swaks --server "$2" --port "$3" --local-interface "$1" --ehlo mail.example.test \
		--from sender@example.test --to rcpt@example.test --header "Subject: p25 live $$" \
		--timeout 5 >>"$tmp/swaks.log" 2>&1 || fail "swaks $1 -> $2:$3 failed: $(tail -5 "$tmp/swaks.log")"
}
refused() { # SRC DST: a port-25 connection that must be reset
	local dst=$2 addr
	if [[ $dst == *:* ]]; then addr="TCP6:[$dst]:25,bind=[$1]"; else addr="TCP4:$dst:25,bind=$1"; fi
	if in_org socat -u /dev/null "$addr,connect-timeout=2" 2>>"$tmp/socat.log"; then
		fail "$1 -> $dst:25 connected; want a reset"
	fi
	tail -1 "$tmp/socat.log" | grep -q 'Connection refused' || fail "$1 -> $dst:25: $(tail -1 "$tmp/socat.log")"
}
send_traffic() {
	swaks_ok 10.225.0.10 10.225.0.200 25
	swaks_ok fd00:25::1:10 fd00:25::2:200 25
	for _ in 1 2 3; do refused 10.225.0.20 10.225.0.201; done
	for _ in 1 2; do refused fd00:25::1:20 fd00:25::2:201; done
	swaks_ok 10.225.0.30 10.225.0.200 587
}
# Per host: port-25 connections, established, reset, no answer, submission
# connections, first EHLO name, messages ("-": not checked).
SENT="10.225.0.10 1 1 0 0 0 mail.example.test 1
10.225.0.20 3 0 3 0 0 - 0
10.225.0.30 0 0 0 0 1 - -
fd00:25::1:10 1 1 0 0 0 mail.example.test 1
fd00:25::1:20 2 0 2 0 0 - 0"

# check_hosts REPORT LABEL [EXPECTED]: the report has exactly these hosts
# with these figures.
check_hosts() {
	local report=$1 label=$2 want=${3:-$SENT}
	python3 - "$report" "$label" "$want" <<'EOF' || fail "$label: hosts differ from what was sent (KEEP_LIVE=1 keeps $report)"
import json, sys
report, label, want = sys.argv[1:4]
d = json.load(open(report))
got = {}
for h in d["hosts"]:
    o = h["smtp_out"]
    names = h["smtp"]["helo_names"] or ["-"]
    got[h["address"]] = [str(x) for x in (o["connections"], o["established"], o["reset"],
                                          o["no_answer"], h["submission"]["connections"],
                                          names[0], h["smtp"]["messages"])]
cols = ["out25", "established", "reset", "no_answer", "submission", "ehlo", "messages"]
bad = []
wanted = {}
for line in want.splitlines():
    f = line.split()
    wanted[f[0]] = f[1:]
for addr, w in sorted(wanted.items()):
    g = got.get(addr)
    if g is None:
        bad.append("%s: missing" % addr)
        continue
    for c, wv, gv in zip(cols, w, g):
        if wv != "-" and wv != gv:
            bad.append("%s: %s = %s, sent %s" % (addr, c, gv, wv))
for addr in sorted(set(got) - set(wanted)):
    bad.append("%s: not sent from, yet reported: %s" % (addr, got[addr]))
if bad:
    print("%s:\n  %s" % (label, "\n  ".join(bad)), file=sys.stderr)
    sys.exit(1)
print("%s: %d hosts as sent" % (label, len(wanted)))
EOF
}

# ---- 1. analyze --interface over the veth, with a duration ----
say "port25 analyze --interface o0 --duration 6"
# 802.1Q-tagged attempts (VLAN 99) written raw from the mx side: SYN from an
# internal address, RST back.  Nothing on either side has VLAN 99, so the
# frames go no further than the capture.
cat >"$tmp/vlan.py" <<'EOF'
import socket, struct, sys

ifname, vlan = sys.argv[1], int(sys.argv[2])


def csum(b):
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp(sport, dport, seq, ack, flags, pseudo):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    return h[:16] + struct.pack("!H", csum(pseudo + h)) + h[18:]


def v4(src, dst, *t):
    s, d = socket.inet_aton(src), socket.inet_aton(dst)
    seg = tcp(*t, s + d + struct.pack("!BBH", 0, 6, 20))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, s, d)
    return 0x0800, ip[:10] + struct.pack("!H", csum(ip)) + ip[12:] + seg


def v6(src, dst, *t):
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    seg = tcp(*t, s + d + struct.pack("!IxxxB", 20, 6))
    return 0x86DD, struct.pack("!IHBB16s16s", 6 << 28, 20, 6, 64, s, d) + seg


sk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sk.bind((ifname, 0))
a, b = bytes.fromhex("020000000a01"), bytes.fromhex("020000000a02")
for n, (mk, src, dst) in enumerate([(v4, "10.225.99.10", "192.0.2.25"),
                                    (v4, "10.225.99.10", "192.0.2.26"),
                                    (v6, "fd00:25:99::10", "2001:db8:25::25")]):
    for smac, dmac, (etype, body) in ((a, b, mk(src, dst, 40000 + n, 25, 1000, 0, 0x02)),
                                       (b, a, mk(dst, src, 25, 40000 + n, 0, 1001, 0x14))):
        sk.send(dmac + smac + struct.pack("!HHH", 0x8100, vlan, etype) + body)
EOF
t=$(date +%s%N)
bg "$ORG" "$PORT25" analyze --interface o0 --duration 6 "${INTERNAL[@]}" \
	--internal 10.225.99.0/24 --internal fd00:25:99::/64 --json >"$tmp/live.json" 2>"$tmp/live.err"
apid=$!
wait_for "analyze to start capturing" 5 grep -q 'capturing on o0' "$tmp/live.err"
send_traffic
in_mx python3 "$tmp/vlan.py" m0 99 || fail "could not write the VLAN-tagged frames"
sent_ms=$(ms_since "$t")
[ "$sent_ms" -lt 5500 ] || fail "the traffic took $sent_ms ms, too close to the end of the 6 s capture"
wait_exit "$apid" 15 || fail "analyze --interface exited $?: $(cat "$tmp/live.err")"
took=$(ms_since "$t")
echo "capture ran $took ms"
[ "$took" -ge 5900 ] || fail "--duration 6 ended after $took ms"
check_hosts "$tmp/live.json" "live capture" "$SENT
10.225.99.10 2 0 2 0 0 - 0
fd00:25:99::10 1 0 1 0 0 - 0"
jq -e '.input.decode.packets > 0 and .input.connections == 11' "$tmp/live.json" >/dev/null ||
	fail "live capture: input counters: $(jq -c .input "$tmp/live.json")"

# ---- 2. stopped by a signal right after the traffic: nothing held back ----
say "port25 analyze --interface o0, SIGINT right after a dialogue"
bg "$ORG" "$PORT25" analyze --interface o0 "${INTERNAL[@]}" --json >"$tmp/int.json" 2>"$tmp/int.err"
apid=$!
wait_for "analyze to start capturing" 5 grep -q 'capturing on o0' "$tmp/int.err"
swaks_ok 10.225.0.10 10.225.0.200 25
t=$(date +%s%N)
kill -INT "$apid"
wait_exit "$apid" 5 || fail "analyze --interface exited $? on SIGINT: $(cat "$tmp/int.err")"
took=$(ms_since "$t")
[ "$took" -lt 2000 ] || fail "analyze took $took ms to stop on SIGINT"
check_hosts "$tmp/int.json" "capture ended by SIGINT" "10.225.0.10 1 1 0 0 0 mail.example.test 1"

# ---- 3. live flows: softflowd on o0, NetFlow v9 and IPFIX, to port25 collect ----
say "softflowd on o0 (NetFlow v9 and IPFIX) to port25 collect"
# softflowd opens the interface with a read timeout of 0.  With TPACKET_V3
# (libpcap >= 1.5) the kernel then hands packets over only when a capture
# block fills up, so on a quiet link softflowd never sees them (its own
# statistics: "Packets processed: 0").  Filler datagrams to UDP port 9 fill
# the block; they are not SMTP, and their host must not be reported.
cat >"$tmp/filler.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(int(sys.argv[3])):
    s.sendto(b"x", (sys.argv[2], 9))
EOF
declare -A sfpid
for v in 9 10; do
	port=$((2050 + v)) # the namespace is ours: any port is free
	bg "$ORG" softflowd -d -6 -i o0 -v "$v" -n "127.0.0.1:$port" -c "$tmp/sf$v.ctl" -p "$tmp/sf$v.pid" \
		'tcp port 25 or tcp port 587 or udp port 9' >"$tmp/sf$v.log" 2>&1
	sfpid[$v]=$!
	wait_for "softflowd -v $v" 5 softflowctl -c "$tmp/sf$v.ctl" statistics
done
sfstat() { softflowctl -c "$tmp/sf$1.ctl" statistics | sed -n "s/^$2: \([0-9]*\).*/\1/p"; }
send_traffic
# Every packet of the traffic has reached the capture ring by now; wait until
# softflowd has processed as many as its ring had received.
declare -A ring
for v in 9 10; do ring[$v]=$(sfstat "$v" 'Packets received by libpcap'); done
for round in $(seq 30); do
	done_all=true
	for v in 9 10; do
		[ "$(sfstat "$v" 'Packets processed')" -ge "${ring[$v]}" ] || done_all=false
	done
	$done_all && break
	[ "$round" -lt 30 ] || fail "softflowd did not process the traffic: $(softflowctl -c "$tmp/sf9.ctl" statistics)"
	in_org python3 "$tmp/filler.py" 10.225.0.99 10.225.0.200 1000
done
# Both collectors listen before either exporter sends a thing.
declare -A cpid
for v in 9 10; do
	port=$((2050 + v))
	bg "$ORG" "$PORT25" collect --listen "127.0.0.1:$port" --duration 3 "${INTERNAL[@]}" --json \
		>"$tmp/collect$v.json" 2>"$tmp/collect$v.err"
	cpid[$v]=$!
done
for v in 9 10; do
	wait_for "collect on port $((2050 + v))" 5 grep -q "collecting on 127.0.0.1 port $((2050 + v))" "$tmp/collect$v.err"
done
t=$(date +%s%N)
for v in 9 10; do
	softflowctl -c "$tmp/sf$v.ctl" expire-all >>"$tmp/sfctl$v.log" 2>&1 || fail "softflowctl expire-all (v$v)"
	softflowctl -c "$tmp/sf$v.ctl" shutdown >>"$tmp/sfctl$v.log" 2>&1 || fail "softflowctl shutdown (v$v)"
done
for v in 9 10; do
	wait_exit "${sfpid[$v]}" 5 || true # softflowd exits 1 after a shutdown request
done
exported=$(ms_since "$t")
[ "$exported" -lt 2000 ] || fail "softflowd took $exported ms to export, too close to the end of collect's 3 s"
for v in 9 10; do
	wait_exit "${cpid[$v]}" 10 || fail "collect (v$v) exited $?: $(cat "$tmp/collect$v.err")"
	label=$([ "$v" = 9 ] && echo "NetFlow v9" || echo "IPFIX")
	# Flows carry no dialogue: no EHLO names and no messages.
	check_hosts "$tmp/collect$v.json" "collect, $label from softflowd" "$(awk '{ $7 = "-"; $8 = "-"; print }' <<<"$SENT")"
	jq -e '.flow_decoder | .records > 0 and .malformed_packets == 0 and .unknown_template_sets == 0' \
		"$tmp/collect$v.json" >/dev/null || fail "$label: decoder: $(jq -c .flow_decoder "$tmp/collect$v.json")"
	jq -e '.input.connections == 8' "$tmp/collect$v.json" >/dev/null ||
		fail "$label: $(jq .input.connections "$tmp/collect$v.json") connections, sent 8"
done

# ---- 4. collect --duration counts from its start, to the millisecond ----
say "port25 collect --duration 1"
for _ in 1 2 3; do
	t=$(date +%s%N)
	in_org "$PORT25" collect --listen 127.0.0.1:0 --duration 1 "${INTERNAL[@]}" --json >/dev/null 2>"$tmp/c1.err" ||
		fail "collect --duration 1: $(cat "$tmp/c1.err")"
	took=$(ms_since "$t")
	[ "$took" -ge 1000 ] || fail "collect --duration 1 stopped after $took ms"
	[ "$took" -lt 3000 ] || fail "collect --duration 1 took $took ms"
done

echo "live capture: all passed in $(ms_since "$T0") ms"
