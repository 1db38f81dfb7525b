#!/bin/bash
# End-to-end: port25 analyze and collect on real captures, a generated capture with
# known answers, and NetFlow v9 / IPFIX made from it by a real exporter (softflowd).
#
# The real captures in tests/data/real come from the public repository
# chrissanders/packets (Chris Sanders), used with credit as the author asks.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
caps=${P25_CAPTURES:-$top/tests/data/real}
tmp=$(mktemp -d)
sfpid=
trap '[ -n "$sfpid" ] && kill "$sfpid" 2>/dev/null; rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2023-11-20T00:00:00Z PORT25_ACTOR=tester
P=$PORT25
. "$(dirname "$0")/lib/expect.sh"
ALL=(--internal 0.0.0.0/0 --internal ::/0)
NET=(--internal 10.0.0.0/8 --internal 2001:db8:1::/48)

# Per-host figures that flows carry too: address, connections and outcomes, destinations,
# bytes and packets sent, inbound and submission connections.
hosts() {
	python3 -c '
import json, sys
d = json.load(sys.stdin)
for h in d["hosts"]:
    o = h["smtp_out"]
    print(h["address"], o["connections"], o["established"], o["reset"], o["no_answer"],
          o["distinct_destinations"], o["bytes_sent"], o["packets_sent"], o["bytes_received"],
          h["smtp_in"]["connections"], h["submission"]["connections"])'
}

# ---- usage and bad input ----
expect 0 'usage: port25 analyze' $P analyze --help
expect 2 'no input' $P analyze "${ALL[@]}"
expect 1 'nosuch.pcap: No such file' $P analyze "${ALL[@]}" "$tmp/nosuch.pcap"
# A missing input file is bad input (1), not a usage (2) or system (3) error: every input.
expect 1 'nosuch.flows: No such file' $P analyze "${ALL[@]}" --flows "$tmp/nosuch.flows"
expect 1 '--config .*nosuch.conf: No such file' $P analyze "${ALL[@]}" --config "$tmp/nosuch.conf" "$caps/mail_sender_client_1.pcapng"
expect 2 "unknown setting 'frobs'" $P analyze "${ALL[@]}" --set frobs=1 "$caps/mail_sender_client_1.pcapng"
expect 2 "fanout_min = 'x'" $P analyze "${ALL[@]}" --set fanout_min=x "$caps/mail_sender_client_1.pcapng"
expect 2 '--internal' $P analyze --internal 10.0.0.300/8 "$caps/mail_sender_client_1.pcapng"
expect 3 'no registry' $P analyze "$caps/mail_sender_client_1.pcapng"
expect 2 'listen' $P collect "${ALL[@]}"
echo "bogus = 1" >"$tmp/bad.conf"
expect 2 'bad.conf:1: unknown setting' $P analyze "${ALL[@]}" --config "$tmp/bad.conf" "$caps/mail_sender_client_1.pcapng"

# ---- the real captures: exactly the hosts tshark sees opening port-25 connections ----
check_real() {
	local file=$1 want=$2 out got
	out=$($P analyze "${ALL[@]}" --json "$caps/$file") || { fail "analyze $file"; return; }
	got=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%s" % (h["address"], (h["smtp"]["helo_names"] or ["-"])[0])
                      for h in d["hosts"] if h["smtp_out"]["connections"])))' <<<"$out")
	[ "$got" = "$want" ] || fail "$file: senders '$got', wanted '$want'"
}
check_real mail_sender_client_1.pcapng '172.16.16.225:[172.16.16.225]'
check_real mail_sender_attachment.pcapng '172.16.16.225:[172.16.16.225]'
check_real mail_sender_server_2.pcapng '172.16.16.221:mail01 172.16.16.225:[172.16.16.225]'
check_real mail_receiver_server_3.pcapng '172.16.16.221:mail01'
expect 0 'banner .mail02 ESMTP Postfix' $P analyze "${ALL[@]}" "$caps/mail_receiver_server_3.pcapng"
expect 0 '2 hosts send SMTP, 0 are permitted, 2 would be blocked' $P analyze "${ALL[@]}" \
	"$caps/mail_sender_server_2.pcapng"
# Several files at once, one of them gzip-compressed.
gzip -c "$caps/mail_sender_client_1.pcapng" >"$tmp/client.pcapng.gz"
expect 0 '^172.16.16.231 ' $P analyze "${ALL[@]}" "$tmp/client.pcapng.gz" "$caps/mail_receiver_server_3.pcapng"

# ---- the generated capture with a registry ----
"$top/$BUILD/tests/test_analyze" --write "$tmp"
syn=$tmp/synthetic.pcap
$P init >/dev/null
$P org add campus --name Campus >/dev/null
$P prefix add campus 10.0.0.0/24 >/dev/null
$P prefix add campus 2001:db8:1::/48 >/dev/null
$P permit add campus 10.0.0.11 --kind mail-server --description relay --requested-by t \
	--approved-by t >/dev/null
out=$($P analyze --json "$syn" --html "$tmp/r.html" --suggest "$tmp/s.csv")
cls=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s=%s" % (h["address"], h["class"]) for h in d["hosts"]))' <<<"$out")
[ "$cls" = "10.0.0.10=unregistered-server 10.0.0.11=permitted 10.0.0.20=client-only 10.0.0.66=suspected-bot 10.0.0.99=unknown 2001:db8:1::10=unregistered-server 2001:db8:1::20=client-only" ] ||
	fail "classes: $cls"
# Recipient fan-out: the bot's recipients are of another domain each, the server's of one.
rcpt=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
for h in d["hosts"]:
    f = h["features"]
    if h["address"] in ("10.0.0.10", "10.0.0.66"):
        print(h["address"], f["recipients_window_max"] >= 50,
              f["recipient_domains_window_max"] >= 0.9 * f["recipients_window_max"],
              any(r.startswith("recipient fan-out") for r in h["reasons"]))' <<<"$out")
[ "$rcpt" = $'10.0.0.10 False True False\n10.0.0.66 True True True' ] || fail "recipient fan-out: $rcpt"
grep -q '5 hosts send SMTP, 1 is permitted, 4 would be blocked, of which 2 look like servers' <<<"$out" ||
	fail "summary: $(grep summary <<<"$out")"
grep -q '<svg' "$tmp/r.html" || fail "no chart in the HTML report"
grep -qE '<(script|link|img)|src=' "$tmp/r.html" && fail "the HTML report loads external resources"
grep -q '^campus,10.0.0.10,mail-server,' "$tmp/s.csv" || fail "suggest: $(cat "$tmp/s.csv")"
expect 0 '' $P import "$tmp/s.csv" --dry-run
expect 0 'suspected-bot' $P analyze --org campus "$syn"
expect 1 "no organization 'nope'" $P analyze --org nope "$syn"
expect 0 '^address,organization,class' $P analyze --csv "$syn"
# The score is a bot likelihood (0..100) and an estimated destination count reads as one.
# Then the confidence: a bot with every sign, a server with every sign, a client's ports.
expect 0 '^10\.0\.0\.66 +campus +suspected-bot +([5-9][0-9]|100) +100 +300 +100 +100 +100 +~[0-9]+ ' $P analyze --wide "$syn"
expect 0 '^10\.0\.0\.10 +campus +unregistered-server +[0-9] +100 +221 +216 +0 +5 +21 ' $P analyze --wide "$syn"
expect 0 '^10\.0\.0\.20 +campus +client-only +0 +100 ' $P analyze "$syn"
# CSV: the confidence, the blocklist refusals, then the recipient fan-out.
expect 0 'out_syn_packets,confidence,blocklist_listed,blocklist_reply,recipients_window_max,recipient_domains_window_max,next_step,same_server_as$' $P analyze --csv "$syn"
# Issue 14: the default table fits 100 columns (not a terminal here), with the next step and
# the reasons wrapped under each host; --wide is the full table, one line per host.
out=$($P analyze "$syn")
long=$(awk '/^ADDRESS/ {t=1} /^$/ {t=0} t && length($0) > 100' <<<"$out")
[ -z "$long" ] || fail "default table wider than 100 columns:"$'\n'"$long"
grep -qE '^ADDRESS +ORG +CLASS +BOT% +CONF +OUT25 +DESTS +HELO$' <<<"$out" || fail "default table header: $(head -1 <<<"$out")"
grep -A1 '^10\.0\.0\.10 ' <<<"$out" | grep -qE '^    next: register it: port25 permit add campus 10\.0\.0\.10 --kind mail' ||
	fail "next step of 10.0.0.10: $(grep -A1 '^10\.0\.0\.10 ' <<<"$out")"
grep -A1 '^10\.0\.0\.66 ' <<<"$out" | grep -qF 'next: tell campus: it has no security contact in the registry' ||
	fail "next step of the bot without a security contact"
grep -qF 'BOT%: bot likelihood 0-100, one scale in every class' <<<"$out" || fail "the text report does not say what BOT% is"
grep -q 'Reasons are cut at three lines' <<<"$out" || fail "the bot's reasons were not cut at three lines"
# On a terminal, its width: 80 and 120 columns (script(1) gives the command a terminal).
for cols in 80 120; do
	tty_out=$(script -qec "stty cols $cols; $P analyze $syn" "$tmp/typescript" | tr -d '\r')
	grep -q '^ADDRESS ' <<<"$tty_out" || fail "no table on a terminal of $cols columns"
	long=$(awk -v w="$cols" '/^ADDRESS/ {t=1} /^$/ {t=0} t && length($0) > w' <<<"$tty_out")
	[ -z "$long" ] || fail "table wider than the $cols-column terminal:"$'\n'"$long"
done
wide=$($P analyze --wide "$syn")
[ "$(awk '/^ADDRESS/ {t=1} /^$/ {t=0} t && length($0) > 100' <<<"$wide" | wc -l)" -gt 0 ] || fail "--wide is not the full table"
grep -qE '^ADDRESS .* REASONS +NEXT STEP *$' <<<"$wide" || fail "--wide header: $(head -1 <<<"$wide")"
# The registry's security contact is named (quoted in CSV, escaped in HTML); --suggest is named.
$P contact add campus --name 'Sam "Sec", Ops' --email 'sec@campus.example' --role security >/dev/null
out=$($P analyze "$syn" --suggest "$tmp/s2.csv" --html "$tmp/r2.html")
grep -A1 '^10\.0\.0\.66 ' <<<"$out" | grep -qF 'next: tell the security contact Sam "Sec", Ops <sec@campus.example>' ||
	fail "the bot's next step: $(grep -A1 '^10\.0\.0\.66 ' <<<"$out")"
grep -A1 '^10\.0\.0\.10 ' <<<"$out" | grep -qF "next: register it: port25 import $tmp/s2.csv" || fail "next step does not name the --suggest file"
grep -qF 'tell the security contact Sam &quot;Sec&quot;, Ops &lt;sec@campus.example&gt;' "$tmp/r2.html" || fail "HTML next step not escaped"
expect 0 ',"tell the security contact Sam ""Sec"", Ops <sec@campus.example>",' $P analyze --csv "$syn"
expect 0 '"next_step": "tell the security contact Sam \\"Sec\\", Ops <sec@campus.example>"' $P analyze --json "$syn"

# ---- refusals naming a blocklist: counted when they name the host; the remote's text escaped ----
bl=$tmp/blocklist.pcap
out=$($P analyze "${NET[@]}" --json "$bl" --html "$tmp/bl.html") || fail "analyze $bl"
got=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
for h in d["hosts"]:
    b = h["smtp"]["blocklist"]
    print(h["address"], h["bot_score"], b["listed"], b["range_listed"], b["not_naming_host"],
          ",".join(b["lists"]), b["reply"])' <<<"$out")
want="10.0.0.66 3 3 0 0 Spamhaus 554 5.7.1 Service unavailable; Client host [10.0.0.66] blocked using zen.spamhaus.org; <script>alert(\"x\")</script>, 'q' & https://www.spamhaus.org/query/ip/10.0.0.66
10.0.0.67 0 0 0 3 Spamhaus 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org; <script>alert(\"x\")</script>, 'q' & https://www.spamhaus.org/query/ip/198.51.100.7
10.0.0.68 0 0 3 0 Spamhaus PBL 554 5.7.1 Client host [10.0.0.68] blocked using pbl.spamhaus.org; 10.0.0.68
2001:db8:1::66 3 3 0 0 Spamhaus 554 5.7.1 Service unavailable; Client host [2001:db8:1::66] blocked using zen.spamhaus.org; <script>alert(\"x\")</script>, 'q' & https://www.spamhaus.org/query/ip/2001:db8:1::66"
[ "$got" = "$want" ] || fail "blocklist JSON:"$'\n'"$got"
grep -q '<script' "$tmp/bl.html" && fail "the HTML report carries a reply's <script> unescaped"
grep -q '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, &#39;q&#39; &amp; https://www.spamhaus.org/query/ip/10.0.0.66' "$tmp/bl.html" ||
	fail "the HTML report lacks the escaped reply"
# CSV: one field, quotes doubled, read back by a CSV reader as sent.
$P analyze "${NET[@]}" --csv "$bl" >"$tmp/bl.csv" || fail "analyze --csv $bl"
got=$(python3 -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["address"], r["blocklist_listed"], r["blocklist_reply"])
    break' "$tmp/bl.csv")
[ "$got" = "10.0.0.66 3 554 5.7.1 Service unavailable; Client host [10.0.0.66] blocked using zen.spamhaus.org; <script>alert(\"x\")</script>, 'q' & https://www.spamhaus.org/query/ip/10.0.0.66" ] ||
	fail "blocklist CSV: $got"
expect 0 '10\.0\.0\.66 .*3 refusals by blocklists naming its address \(Spamhaus\)' $P analyze --wide "${NET[@]}" "$bl"
# Thresholds: demand more evidence and the bot is no longer called one.
expect 0 '10.0.0.66 +campus +unknown' $P analyze --set bot_score=50 "$syn"

# ---- a capture cut short: an error naming it, and the report of what was read ----
head -c 400000 "$syn" >"$tmp/cut.pcap"
expect 1 'cut.pcap.*what was read before is reported' $P analyze "${NET[@]}" "$tmp/cut.pcap"
expect 1 '10.0.0.10 ' $P analyze "${NET[@]}" "$tmp/cut.pcap"

# ---- one thread or two: the same report, also for a cut file ----
for f in "$syn" "$tmp/cut.pcap"; do
	one=$($P analyze "${NET[@]}" --json --threads 1 "$f" 2>&1 || echo "exit $?")
	two=$($P analyze "${NET[@]}" --json --threads 2 "$f" 2>&1 || echo "exit $?")
	[ -n "$one" ] && [ "$one" = "$two" ] || fail "$f: --threads 1 and --threads 2 differ"
done
expect 2 "threads '3': expected 1 or 2" $P analyze "${NET[@]}" --threads 3 "$syn"

# ---- flows from a real exporter must give the same per-host figures ----
direct=$($P analyze "${NET[@]}" --json "$syn" | hosts)
if ! command -v softflowd >/dev/null || ! command -v softflowctl >/dev/null; then
	fail "softflowd is not installed (scripts/install-deps.sh installs it)"
else
	for v in 9 10; do
		rm -f "$tmp/sf.ctl"
		$P collect --listen 127.0.0.1:0 --duration 10 "${NET[@]}" --json >"$tmp/c$v.json" \
			2>"$tmp/c$v.err" &
		cpid=$!
		for _ in $(seq 50); do grep -q 'collecting on' "$tmp/c$v.err" && break; sleep 0.1; done
		port=$(grep -o 'port [0-9]*' "$tmp/c$v.err" | awk '{print $2}')
		softflowd -d -6 -r "$syn" -n "127.0.0.1:$port" -v $v -c "$tmp/sf.ctl" \
			-p "$tmp/sf.pid" >/dev/null 2>&1 &
		sfpid=$!
		# softflowd reading a file advances when its control socket is poked; it
		# exports every flow and exits at the end of the file.
		for _ in $(seq 300); do
			kill -0 $sfpid 2>/dev/null || break
			softflowctl -c "$tmp/sf.ctl" statistics >/dev/null 2>&1 || true
			sleep 0.1
		done
		wait $sfpid || true
		sfpid=
		wait $cpid || fail "collect v$v exited non-zero: $(cat "$tmp/c$v.err")"
		viaflow=$(hosts <"$tmp/c$v.json")
		[ "$viaflow" = "$direct" ] ||
			fail "NetFlow v$v from softflowd differs from the capture:"$'\n'"$(diff <(echo "$direct") <(echo "$viaflow"))"
		grep -q '"records": [1-9]' "$tmp/c$v.json" || fail "v$v: no records decoded"
		# Never a server as a bot, with or without the dialogue.
		python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for h in d["hosts"]:
    if h["address"] in ("10.0.0.10", "2001:db8:1::10", "10.0.0.11") and h["class"] == "suspected-bot":
        sys.exit(h["address"] + " called a bot from flows")' "$tmp/c$v.json" || fail "v$v classes"
	done
fi

# ---- the same exports read back from a capture of them (--flows FILE.pcap) ----
# A tiny recorder stands in for tcpdump: it receives softflowd's datagrams and writes
# each as a raw-IPv4 pcap record with the exporter's address and ports, until the
# exporter has been quiet for two seconds after it exited.
record_exports() { # PCAP PORTFILE DONEFILE
	python3 -c '
import socket, struct, sys, os, time
out, portfile, done = sys.argv[1:4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
s.bind(("127.0.0.1", 0))
open(portfile, "w").write(str(s.getsockname()[1]))
s.settimeout(0.2)
recs, quiet = [], 0.0
while True:
    try:
        data, (ip, port) = s.recvfrom(65535)
    except socket.timeout:
        quiet = quiet + 0.2 if os.path.exists(done) else 0.0
        if quiet >= 2:
            break
        continue
    quiet = 0.0
    udp = struct.pack("!HHHH", port, s.getsockname()[1], 8 + len(data), 0)
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(data), 0, 0, 64, 17, 0,
                      socket.inet_aton(ip), socket.inet_aton("127.0.0.1"))
    t = time.time()
    frame = iph + udp + data
    recs.append(struct.pack("<IIII", int(t), int(t % 1 * 1e6), len(frame), len(frame)) + frame)
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 101))
    f.write(b"".join(recs))' "$@"
}
if command -v softflowd >/dev/null && command -v softflowctl >/dev/null; then
	for v in 9 10; do
		rm -f "$tmp/sf.ctl" "$tmp/rec.port" "$tmp/rec.done"
		record_exports "$tmp/exp$v.pcap" "$tmp/rec.port" "$tmp/rec.done" &
		rpid=$!
		for _ in $(seq 50); do [ -s "$tmp/rec.port" ] && break; sleep 0.1; done
		softflowd -d -6 -r "$syn" -n "127.0.0.1:$(cat "$tmp/rec.port")" -v $v -c "$tmp/sf.ctl" \
			-p "$tmp/sf.pid" >/dev/null 2>&1 &
		sfpid=$!
		for _ in $(seq 300); do
			kill -0 $sfpid 2>/dev/null || break
			softflowctl -c "$tmp/sf.ctl" statistics >/dev/null 2>&1 || true
			sleep 0.1
		done
		wait $sfpid || true
		sfpid=
		touch "$tmp/rec.done"
		wait $rpid || fail "v$v: the export recorder failed"
		fromfile=$($P analyze "${NET[@]}" --json --flows "$tmp/exp$v.pcap" | hosts)
		[ -n "$fromfile" ] && [ "$fromfile" = "$direct" ] ||
			fail "--flows of a capture of NetFlow v$v exports differs from the capture:"$'\n'"$(diff <(echo "$direct") <(echo "$fromfile"))"
		# The decode thread changes nothing, down to the decoder's statistics.
		cmp -s <($P analyze "${NET[@]}" --json --threads 1 --flows "$tmp/exp$v.pcap") \
			<($P analyze "${NET[@]}" --json --threads 2 --flows "$tmp/exp$v.pcap") ||
			fail "--flows v$v: the report with --threads 1 differs from --threads 2"
	done
fi

# ---- the labelled corpus: bots found from packets and from softflowd's v9 and IPFIX ----
# tests/unit/test_corpus.c generates it from documented behaviours (see there); the bar:
# precision >= 0.97 and recall >= 0.96 for bots, and no server or appliance called a bot.
"$top/$BUILD/tests/test_corpus" --write "$tmp"
CORPUS=(--internal 10.50.0.0/16 --internal 2001:db8:50::/48)
judge() { # REPORT.json WHAT
	python3 - "$1" "$2" "$tmp/labels.txt" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
what = sys.argv[2]
label = {l.split()[0]: l.split()[1] for l in open(sys.argv[3])}
cls = {h["address"]: h["class"] for h in d["hosts"]}
bots = [a for a, l in label.items() if l == "bot"]
called = [a for a, c in cls.items() if c == "suspected-bot"]
tp = sum(1 for a in called if label.get(a) == "bot")
legit = [a for a in called if label.get(a) in ("server", "appliance")]
precision = tp / len(called) if called else 0.0
recall = tp / len(bots)
print("%s: %d of %d bots, %d others called bots: precision %.3f, recall %.3f" %
      (what, tp, len(bots), len(called) - tp, precision, recall))
bad = []
if legit:
    bad.append("servers called bots: %s" % legit)
if precision < 0.97 or recall < 0.96:
    bad.append("below the bar")
if bad:
    sys.exit(what + ": " + "; ".join(bad))
PYEOF
}
$P analyze "${CORPUS[@]}" --json "$tmp/corpus.pcap" >"$tmp/corpus.json" || fail "analyze corpus.pcap"
judge "$tmp/corpus.json" packets || fail "corpus from packets"
if command -v softflowd >/dev/null && command -v softflowctl >/dev/null; then
	for v in 9 10; do
		rm -f "$tmp/sf.ctl"
		$P collect --listen 127.0.0.1:0 --duration 30 "${CORPUS[@]}" --json \
			>"$tmp/cc$v.json" 2>"$tmp/cc$v.err" &
		cpid=$!
		for _ in $(seq 50); do grep -q 'collecting on' "$tmp/cc$v.err" && break; sleep 0.1; done
		port=$(grep -o 'port [0-9]*' "$tmp/cc$v.err" | awk '{print $2}')
		softflowd -d -6 -r "$tmp/corpus.pcap" -n "127.0.0.1:$port" -v $v -c "$tmp/sf.ctl" \
			-p "$tmp/sf.pid" >/dev/null 2>&1 &
		sfpid=$!
		for _ in $(seq 300); do
			kill -0 $sfpid 2>/dev/null || break
			softflowctl -c "$tmp/sf.ctl" statistics >/dev/null 2>&1 || true
			sleep 0.1
		done
		wait $sfpid || true
		sfpid=
		# Every record is in once softflowd has exited: stop collecting now.
		sleep 1
		kill -INT $cpid 2>/dev/null || true
		wait $cpid || fail "collect of the corpus (v$v) exited non-zero: $(cat "$tmp/cc$v.err")"
		judge "$tmp/cc$v.json" "softflowd v$v" || fail "corpus from softflowd v$v"
		grep -q 'from flow records: no SMTP dialogue evidence' "$tmp/cc$v.json" ||
			fail "v$v: flow-judged hosts do not say they lack the dialogue"
	done
fi
rm -f "$tmp/corpus.pcap"

finish "analyze: all passed"
