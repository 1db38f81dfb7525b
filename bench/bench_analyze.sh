#!/bin/bash
# The analyzer against its peers on one generated capture, ratios printed:
#   port25 analyze  vs  tshark  vs  tcpdump | awk | sort | uniq -c  vs  a plain libpcap loop
# (bench_capture's pcap_next_ex loop doing the same per-host SYN counting).
#
#   bench/bench_analyze.sh [SIZE_MB] [FILE]
#
# SIZE_MB defaults to 1024 (about 1 GB: mostly web, DNS and QUIC among thousands of
# hosts, a few per cent SMTP; scripts/gen-pcap).  The file is generated once into
# build-bench/ and reused.  The peers come from `scripts/install-deps.sh bench`;
# a missing one is skipped with a note.  Times are wall clock of one warm run each
# (the file is read once first so every tool reads from the page cache).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
size=${1:-1024}
file=${2:-build-bench/analyze-$size.pcap}
P=build-bench/port25
# -O3 if the whole CLI builds with it, else -O2 (the analyzer is in the library either way).
[ -x "$P" ] || make -s BUILD=build-bench OPT="-O3 -march=native" build-bench/port25 2>/dev/null ||
	make -s BUILD=build-bench OPT="-O2 -march=native" build-bench/port25 || exit 1
[ -x build-bench/bench/bench_capture ] ||
	make -s BUILD=build-bench OPT="-O3 -march=native" build-bench/bench/bench_capture || exit 1
[ -f "$file" ] || scripts/gen-pcap "$file" "$size" >/dev/null || exit 1
bytes=$(stat -c %s "$file")
cat "$file" >/dev/null

now() { date +%s.%N; }
declare -A secs
run() { # name command...
	local t0 t1
	t0=$(now)
	"${@:2}" >"build-bench/$1.out" 2>"build-bench/$1.err" || { echo "$1 failed: $(tail -3 "build-bench/$1.err")"; return 1; }
	t1=$(now)
	secs[$1]=$(echo "$t1 - $t0" | bc -l)
	printf '%-26s %8.3f s  %7.2f GB/s\n' "$1" "${secs[$1]}" "$(echo "$bytes / ${secs[$1]} / 1000000000" | bc -l)"
}

echo "input: $file, $((bytes / 1000000)) MB"
# CSV: the same per-host figures; rendering thousands of hosts as indented JSON costs more than the analysis.
run port25 "$P" analyze --internal 0.0.0.0/0 --internal ::/0 --csv "$file"
"$P" analyze --internal 0.0.0.0/0 --internal ::/0 --json "$file" >build-bench/port25.json
mem=$(grep -o '"memory_bytes": [0-9]*' build-bench/port25.json | grep -o "[0-9]*$")
hosts=$(grep -c '"address"' build-bench/port25.json)
echo "  port25: $hosts hosts, analyzer state $((mem / 1000)) kB (follows hosts, not file size)"
# bench_capture times its own libpcap loop; take its line.
build-bench/bench/bench_capture --file "$file" --runs 1 >build-bench/libpcap.out 2>&1
lp=$(awk '/libpcap pcap_next_ex loop/ {print $4}' build-bench/libpcap.out)
[ -n "$lp" ] && secs[libpcap]=$lp && printf '%-26s %8.3f s\n' "libpcap loop" "$lp"
if command -v tcpdump >/dev/null; then
	run tcpdump sh -c "tcpdump -nr '$file' 'tcp dst port 25 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null | awk '{print \$3}' | sed 's/\.[0-9]*\$//' | sort | uniq -c"
else
	echo "tcpdump: not installed (scripts/install-deps.sh bench)"
fi
if command -v tshark >/dev/null; then
	run tshark sh -c "tshark -n -r '$file' -Y 'tcp.dstport==25 && tcp.flags.syn==1 && tcp.flags.ack==0' -T fields -e ip.src -e ipv6.src | sort | uniq -c"
else
	echo "tshark: not installed (scripts/install-deps.sh bench)"
fi
echo
for peer in libpcap tcpdump tshark; do
	[ -n "${secs[$peer]:-}" ] && printf 'port25 is %.1fx %s\n' "$(echo "${secs[$peer]} / ${secs[port25]}" | bc -l)" "$peer"
done
exit 0
