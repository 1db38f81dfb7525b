#!/bin/bash
# port25 analyze against its peers on one generated capture, in one script, ratios printed.
# Every tool extracts the same thing, the port-25 SYNs (SYN without ACK) per source host,
# and the script checks that they all agree before it prints a ratio:
#
#   port25 analyze --csv           (column out_syn_packets; the whole analysis runs)
#   plain libpcap loop             (bench_capture's pcap_next_ex loop with a minimal parse)
#   tcpdump -nr F 'FILTER' | awk | sort | uniq -c
#   tshark -r F -Y '...' -T fields -e ip.src -e ipv6.src | sort | uniq -c
#
#   bench/bench_analyze.sh [SIZE_MB] [TSHARK_MB]
#
# SIZE_MB (default 1024) of scripts/gen-pcap traffic: mostly web, DNS and QUIC among
# thousands of hosts, ~3% SMTP, 10% VLAN/QinQ, 15% IPv6.  tshark reads ~10 MB/s, so it
# runs on a TSHARK_MB (default 100) capture from the same generator (the generator is
# deterministic: that file is the first TSHARK_MB of the big one) and ratios are per byte.
# The file is read once first so every tool reads from the page cache; each time is
# the best of 3 wall-clock runs (tshark: 1).  Peers from `scripts/install-deps.sh bench`;
# a missing one is skipped with a note.  Then the analyzer's memory for 1k, 10k and
# 100k hosts (bench/gen_hosts.py) and for the two capture sizes.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
size=${1:-1024}
tsize=${2:-100}
B=build-bench
file=$B/analyze-$size.pcap
small=$B/analyze-$tsize.pcap
P=$B/port25
make -s BUILD=$B OPT="-O3 -march=native" $B/port25 $B/bench/bench_capture || exit 1
[ -f "$file" ] || $B/bench/bench_capture --gen-only --out "$file" --size-mb "$size" >/dev/null || exit 1
[ -f "$small" ] || $B/bench/bench_capture --gen-only --out "$small" --size-mb "$tsize" >/dev/null || exit 1
bytes=$(stat -c %s "$file")
sbytes=$(stat -c %s "$small")
# Read into the page cache afresh: pages that were evicted and faulted back one by one
# come back as small folios that cost mapping readers (port25) 3x more to map than
# the large folios a sequential read leaves; every tool then reads the same cache.
for f in "$file" "$small"; do
	dd if="$f" iflag=nocache count=0 status=none 2>/dev/null
	cat "$f" >/dev/null
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s.%N; }
declare -A secs per_byte
# best NAME RUNS BYTES command...: best wall time of RUNS; output of the last run in $tmp/NAME.out
best() {
	local name=$1 runs=$2 n=$3 t0 t1 d b=
	shift 3
	for _ in $(seq "$runs"); do
		t0=$(now)
		"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || { echo "$name failed: $(tail -3 "$tmp/$name.err")"; return 1; }
		t1=$(now)
		d=$(echo "$t1 - $t0" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$d < $b" | bc -l)" = 1 ]; then b=$d; fi
	done
	secs[$name]=$b
	per_byte[$name]=$(echo "$b / $n" | bc -l)
	printf '%-16s %8.3f s on %5d MB  %7.3f GB/s\n' "$name" "$b" $((n / 1000000)) "$(echo "$n / $b / 1000000000" | bc -l)"
}

# Per-host counts as "COUNT ADDRESS" lines, sorted by address: the out_syn_packets column,
# by its name through a CSV reader (quoted reasons and replies hold commas).
p25_counts() {
	python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    if int(r["out_syn_packets"]) > 0:
        print(r["out_syn_packets"], r["address"])' "$1" | sort -k2
}
uniq_counts() { awk '{ print $1, $2 }' "$1" | sort -k2; }

echo "input: $file, $((bytes / 1000000)) MB; tshark on $small, $((sbytes / 1000000)) MB"
run_p25() { "$P" analyze --internal 0.0.0.0/0 --internal ::/0 --csv "$1"; }
best port25 3 "$bytes" run_p25 "$file"
run_p25_1() { "$P" analyze --threads 1 --internal 0.0.0.0/0 --internal ::/0 --csv "$1"; }
best port25_1thread 3 "$bytes" run_p25_1 "$file"
cmp -s "$tmp/port25.out" "$tmp/port25_1thread.out" && echo "  same report with one thread" ||
	echo "  REPORTS DIFFER between one thread and two"
p25_counts "$tmp/port25.out" >"$tmp/port25.counts"
hosts=$(wc -l <"$tmp/port25.counts")
syns=$(awk '{ s += $1 } END { print s }' "$tmp/port25.counts")
echo "  $hosts hosts sent $syns port-25 SYNs"

# bench_capture times its own libpcap loop (best of 3) and checks its per-host table
# against port25's decoder; its totals must match ours.
$B/bench/bench_capture --file "$file" --runs 3 >"$tmp/libpcap.out" 2>&1
lp=$(awk '/libpcap pcap_next_ex loop/ { print $4 }' "$tmp/libpcap.out")
if [ -n "$lp" ]; then
	secs[libpcap]=$lp
	per_byte[libpcap]=$(echo "$lp / $bytes" | bc -l)
	printf '%-16s %8.3f s on %5d MB  %7.3f GB/s\n' "libpcap loop" "$lp" $((bytes / 1000000)) "$(echo "$bytes / $lp / 1000000000" | bc -l)"
	grep -q "$hosts hosts sent $syns port-25 SYNs" "$tmp/libpcap.out" && grep -q 'counts identical' "$tmp/libpcap.out" &&
		echo "  same per-host counts" || echo "  COUNTS DIFFER: $(head -1 "$tmp/libpcap.out")"
fi

# tcp[] reaches IPv4 only; IPv6 SYNs by offset (no extension headers here); vlan twice for QinQ.
f4='ip and tcp dst port 25 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn'
f6='ip6 and ip6[6] == 6 and tcp dst port 25 and ip6[53] & 0x12 == 0x02'
f="($f4) or ($f6)"
filter="($f) or (vlan and (($f) or (vlan and ($f))))"
run_tcpdump() {
	tcpdump -nr "$1" "$filter" 2>/dev/null | awk '{ a = $3; sub(/\.[0-9]+$/, "", a); print a }' | sort | uniq -c
}
if command -v tcpdump >/dev/null; then
	best tcpdump 3 "$bytes" run_tcpdump "$file"
	uniq_counts "$tmp/tcpdump.out" | cmp -s - "$tmp/port25.counts" && echo "  same per-host counts" ||
		echo "  COUNTS DIFFER from port25"
else
	echo "tcpdump: not installed (scripts/install-deps.sh bench)"
fi

run_tshark() {
	tshark -n -r "$1" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==25' \
		-T fields -e ip.src -e ipv6.src | awk '{ print $1 }' | sort | uniq -c
}
if command -v tshark >/dev/null; then
	best tshark 1 "$sbytes" run_tshark "$small"
	run_p25 "$small" >"$tmp/small.csv"
	uniq_counts "$tmp/tshark.out" | cmp -s - <(p25_counts "$tmp/small.csv") &&
		echo "  same per-host counts as port25 on that file" || echo "  COUNTS DIFFER from port25"
else
	echo "tshark: not installed (scripts/install-deps.sh bench)"
fi

echo
for peer in libpcap tcpdump tshark; do
	[ -n "${per_byte[$peer]:-}" ] &&
		printf 'port25 analyze is %6.1fx %s (per byte); with one thread %6.1fx\n' \
			"$(echo "${per_byte[$peer]} / ${per_byte[port25]}" | bc -l)" "$peer" \
			"$(echo "${per_byte[$peer]} / ${per_byte[port25_1thread]}" | bc -l)"
done

# ---- flows: port25 decoding raw NetFlow v9 export packets vs nfdump on its own files ----
# softflowd turns the capture into v9 export packets sent to nfcapd on loopback, while
# tcpdump records the same datagrams into a pcap: nfdump then aggregates its stored
# (pre-decoded) records, port25 analyze --flows decodes and aggregates the raw packets.
echo
if command -v softflowd >/dev/null && command -v softflowctl >/dev/null && command -v nfcapd >/dev/null &&
	command -v nfdump >/dev/null && command -v tcpdump >/dev/null; then
	fport=$((20000 + RANDOM % 20000))
	mkdir -p "$tmp/nf"
	nfcapd -p $fport -b 127.0.0.1 -w "$tmp/nf" -B 134217728 -t 86400 >"$tmp/nfcapd.log" 2>&1 &
	ncpid=$!
	tcpdump -i lo -n -B 131072 -w "$tmp/exports.pcap" "udp port $fport" >"$tmp/tcpdump-lo.log" 2>&1 &
	tdpid=$!
	sleep 1
	softflowd -d -r "$file" -n 127.0.0.1:$fport -v 9 -c "$tmp/sf.ctl" -p "$tmp/sf.pid" >"$tmp/sf.log" 2>&1 &
	sfpid=$!
	# softflowd reading a file only advances when its control socket is poked.
	while kill -0 $sfpid 2>/dev/null; do
		softflowctl -c "$tmp/sf.ctl" statistics >/dev/null 2>&1 || true
		sleep 0.05
	done
	sleep 1
	kill $tdpid $ncpid 2>/dev/null
	wait $tdpid $ncpid 2>/dev/null
	nf=$(ls "$tmp"/nf/nfcapd.* 2>/dev/null | head -1)
	recs=$(nfdump -r "$nf" -I 2>/dev/null | awk '/^Flows:/ { print $2 }')
	echo "flows: softflowd made $recs NetFlow v9 records of $file"
	run_nfdump() { nfdump -r "$1" -q -A srcip -o csv 'proto tcp and dst port 25 and flags S and not flags A'; }
	run_nfdump_all() { nfdump -r "$1" -q -A srcip -o csv; }
	run_flows() { "$P" analyze --internal 0.0.0.0/0 --internal ::/0 --csv --flows "$1"; }
	best nfdump 3 "$recs" run_nfdump "$nf" >/dev/null
	best nfdump_all 3 "$recs" run_nfdump_all "$nf" >/dev/null
	best p25flows 3 "$recs" run_flows "$tmp/exports.pcap" >/dev/null
	printf '%-40s %6.3f s  %6.1f M records/s\n' "nfdump, port-25 SYN flows per srcip" "${secs[nfdump]}" "$(echo "$recs / ${secs[nfdump]} / 1000000" | bc -l)"
	printf '%-40s %6.3f s  %6.1f M records/s\n' "nfdump, every flow per srcip" "${secs[nfdump_all]}" "$(echo "$recs / ${secs[nfdump_all]} / 1000000" | bc -l)"
	printf '%-40s %6.3f s  %6.1f M records/s\n' "port25 analyze --flows (raw v9 packets)" "${secs[p25flows]}" "$(echo "$recs / ${secs[p25flows]} / 1000000" | bc -l)"
	awk -F, '{ print $12, $4 }' "$tmp/nfdump.out" | sort -k2 | cmp -s - <(p25_counts "$tmp/p25flows.out") &&
		echo "  same per-host counts (flows with SYN per source)" || echo "  COUNTS DIFFER between nfdump and port25"
	printf 'port25 on raw export packets is %.2fx nfdump on its own files (filtered), %.2fx (everything)\n' \
		"$(echo "${secs[nfdump]} / ${secs[p25flows]}" | bc -l)" "$(echo "${secs[nfdump_all]} / ${secs[p25flows]}" | bc -l)"
	[ -x $B/bench/bench_flow ] || make -s BUILD=$B OPT="-O3 -march=native" $B/bench/bench_flow
	echo "decoder alone, packets in memory (bench_flow):"
	$B/bench/bench_flow --records 5000000 | grep 'decode+agg' | sed 's/^/  /'
else
	echo "flows: needs softflowd, nfcapd, nfdump and tcpdump (scripts/install-deps.sh bench)"
fi

echo
echo "memory: analyzer state (memory_bytes) and the process's max RSS"
mem() { # label file internal...
	local label=$1 f=$2
	shift 2
	/usr/bin/time -f "%M" -o "$tmp/rss" "$P" analyze "$@" --json "$f" >"$tmp/m.json" 2>/dev/null
	printf '%-24s %6d MB input  %7s hosts  state %8.1f MB  max RSS %7.1f MB\n' "$label" \
		$(($(stat -c %s "$f") / 1000000)) "$(grep -o '"hosts": [0-9]*' "$tmp/m.json" | head -1 | grep -o '[0-9]*$')" \
		"$(echo "$(grep -o '"memory_bytes": [0-9]*' "$tmp/m.json" | grep -o '[0-9]*$') / 1000000" | bc -l)" \
		"$(echo "$(tail -1 "$tmp/rss") / 1000" | bc -l)"
}
if [ -x /usr/bin/time ] && command -v python3 >/dev/null; then
	for n in 1000 10000 100000; do
		python3 bench/gen_hosts.py "$tmp/h$n.pcap" $n
		mem "$n hosts" "$tmp/h$n.pcap" --internal 10.0.0.0/8
		rm -f "$tmp/h$n.pcap"
	done
	mem "generated, small" "$small" --internal 0.0.0.0/0 --internal ::/0
	mem "generated, large" "$file" --internal 0.0.0.0/0 --internal ::/0
else
	echo "(needs /usr/bin/time and python3)"
fi
exit 0
