#!/bin/bash
# The demo's analysis step: port25 analyze on data/demo/traffic.pcap.gz against the demo
# registry (data/demo/registry.json) gives the answers the capture was made to have.
#
# The capture comes from tests/tools/gen_demo_traffic.c (who is in it and why: see there);
# this test first checks that the committed file is exactly what the generator writes.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
cap=$top/data/demo/traffic.pcap.gz
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T12:00:00Z PORT25_ACTOR=tester
P=$PORT25
failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# ---- the committed capture is the generator's output, and small ----
size=$(stat -c %s "$cap")
[ "$size" -lt 300000 ] || fail "$cap is $size bytes, keep it under 300 kB"
if ${CC:-cc} -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -o "$tmp/gen" "$top/tests/tools/gen_demo_traffic.c"; then
	"$tmp/gen" >"$tmp/gen.pcap"
	gzip -dc "$cap" | cmp -s - "$tmp/gen.pcap" ||
		fail "$cap differs from what tests/tools/gen_demo_traffic.c writes: regenerate it"
else
	fail "tests/tools/gen_demo_traffic.c does not build"
fi

$P init >/dev/null
$P import "$top/data/demo/registry.json" >/dev/null

# ---- the JSON report: every telling host's class and figures ----
rc=0
$P analyze --json "$cap" >"$tmp/a.json" 2>"$tmp/a.err" || rc=$?
[ "$rc" -eq 0 ] || fail "analyze --json exited $rc: $(cat "$tmp/a.err")"
python3 - "$tmp/a.json" >"$tmp/check.out" 2>&1 <<'EOF' || fail "$(cat "$tmp/check.out")"
import json, sys
d = json.load(open(sys.argv[1]))
hosts = {h["address"]: h for h in d["hosts"]}
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
def host(addr, cls, org):
    h = hosts.get(addr)
    if h is None:
        bad.append("%s not reported" % addr)
        return None
    want(h["class"] == cls, "%s: class %s, wanted %s (%s)" % (addr, h["class"], cls, "; ".join(h["reasons"])))
    want(h["organization"] == org, "%s: organization %s, wanted %s" % (addr, h["organization"], org))
    return h
def reason(h, text):
    if h:
        want(any(text in r for r in h["reasons"]), "%s: no reason with '%s' in %s" % (h["address"], text, h["reasons"]))

# The registered servers: permitted, never blocked.
for a, org in (("192.0.2.10", "springfield-k12"), ("192.0.2.11", "springfield-k12"),
               ("2001:db8:100::25", "springfield-k12"), ("198.51.100.25", "shelby-county")):
    h = host(a, "permitted", org)
    if h:
        want(not h["would_block_outbound"], a + ": permitted yet would be blocked")
        want(h["smtp"]["tls_ok"] > 0, a + ": no STARTTLS seen")
        want(h["smtp"]["helo_distinct"] == 1, a + ": HELO not stable")
h = hosts.get("192.0.2.10")
if h:
    want(h["permit"] == 1, "192.0.2.10: permit %s, wanted #1" % h.get("permit"))
    want(h["smtp"]["helo_names"] == ["edge1.springfield-k12.example"], "192.0.2.10: HELO %s" % h["smtp"]["helo_names"])

# The unregistered Postfix server that the block would cut off, on both protocols.
h = host("192.0.2.12", "unregistered-server", "springfield-k12")
if h:
    o = h["smtp_out"]
    want((o["connections"], o["established"], o["reset"], o["no_answer"]) == (73, 48, 0, 25),
         "192.0.2.12: outbound %s" % o)
    want(h["smtp_in"]["connections"] == 10, "192.0.2.12: inbound %d" % h["smtp_in"]["connections"])
    want(h["smtp"]["helo_names"] == ["mail3.springfield.example"], "192.0.2.12: HELO %s" % h["smtp"]["helo_names"])
    want(h["smtp"]["banner"].startswith("mail3.springfield.example ESMTP Postfix"), "192.0.2.12: banner %r" % h["smtp"]["banner"])
    want(h["smtp"]["replies"]["4xx"] > 0, "192.0.2.12: no 4xx (greylisting) seen")
    want(h["would_block_outbound"] and not h["would_block_inbound"], "192.0.2.12: blocking %s/%s" % (h["would_block_outbound"], h["would_block_inbound"]))
    want(h["bot_score"] == 0, "192.0.2.12: bot score %d" % h["bot_score"])
reason(h, "steady")
reason(h, "retries after failures")
reason(h, "accepts SMTP")
h = host("2001:db8:100::12", "unregistered-server", "springfield-k12")
if h:
    want(h["smtp_out"]["connections"] == 11, "2001:db8:100::12: outbound %d" % h["smtp_out"]["connections"])
    want(h["smtp"]["helo_names"] == ["mail3.springfield.example"], "2001:db8:100::12: HELO %s" % h["smtp"]["helo_names"])
    want(h["would_block_outbound"], "2001:db8:100::12: not blocked")

# The bot: 420 addresses in two bursts, failures, 5xx, a bare IP in HELO, on VLAN 120.
h = host("10.20.33.7", "suspected-bot", "springfield-k12")
if h:
    o = h["smtp_out"]
    want((o["connections"], o["established"], o["reset"], o["no_answer"]) == (420, 159, 126, 135),
         "10.20.33.7: outbound %s" % o)
    # Past 32 destinations the count is an estimate (about 1%).
    want(410 <= o["distinct_destinations"] <= 430, "10.20.33.7: %d destinations, wanted about 420" % o["distinct_destinations"])
    want(h["smtp"]["helo_bare_ip"] > 0, "10.20.33.7: no bare-IP HELO")
    want(h["smtp"]["replies"]["5xx"] > h["smtp"]["replies"]["2xx"] / 4, "10.20.33.7: replies %s" % h["smtp"]["replies"])
    want(h["server_score"] < 3, "10.20.33.7: server score %d" % h["server_score"])
    want(h["would_block_outbound"], "10.20.33.7: not blocked")
reason(h, "fan-out")
reason(h, "reset or unanswered")
reason(h, "bare IP")

# Submission only: 465 and 587, nothing the block touches.
h = host("10.20.5.5", "client-only", "springfield-k12")
if h:
    want(h["smtp_out"]["connections"] == 0, "10.20.5.5: port-25 connections")
    want(h["submission"]["connections"] == 21, "10.20.5.5: %d submission connections" % h["submission"]["connections"])
    want(not h["would_block_outbound"], "10.20.5.5: would be blocked")

# Two port-25 tries of a misconfigured client: too little to call either way.
host("10.20.8.44", "unknown", "springfield-k12")

# state-university (mode both): the list server would lose its inbound mail too.
h = host("203.0.113.20", "unregistered-server", "state-university")
if h:
    want(h["would_block_outbound"] and h["would_block_inbound"], "203.0.113.20: blocking %s/%s" % (h["would_block_outbound"], h["would_block_inbound"]))
    want(h["smtp_in"]["connections"] == 8, "203.0.113.20: inbound %d" % h["smtp_in"]["connections"])

# valley-libraries is pending: nothing is blocked today (explain, below); the analyzer
# judges as if the enrollment were active and names the notices server to register first.
h = host("203.0.113.140", "unregistered-server", "valley-libraries")
if h:
    want(h["smtp_out"]["connections"] == 35, "203.0.113.140: outbound %d" % h["smtp_out"]["connections"])
    want(not h["permitted"], "203.0.113.140: permitted")

# Only SMTP speakers are reported: web/DNS-only desks are not.
for a in ("192.0.2.30", "10.20.12.101", "198.51.100.44", "203.0.113.77", "10.64.3.9"):
    want(a not in hosts, a + " reported without any SMTP traffic")
want(len(hosts) == 11, "%d hosts reported, wanted 11: %s" % (len(hosts), sorted(hosts)))
want(d["counts"] == {"hosts": 11, "send_smtp": 10, "permitted": 4, "would_block": 6,
                     "servers_to_register": 4, "suspected_bots": 1, "client_only": 1,
                     "inbound_servers": 0},
     "counts %s" % d["counts"])
inp = d["input"]
want(inp["decode"]["packets"] == 8649, "packets %s" % inp["decode"]["packets"])
want(inp["connections"] == 749 and inp["connections_midstream"] == 0, "connections %d (%d mid-stream)" % (inp["connections"], inp["connections_midstream"]))
want(inp["decode"].get("truncated TCP header", 0) > 0, "the truncated packets were not seen: %s" % inp["decode"])
want(inp["decode"].get("not TCP", 0) > 0, "no DNS (UDP) background seen: %s" % inp["decode"])
want(inp["smtp_gaps"] > 0, "the packets cut by the snap length left no gap")
if bad:
    sys.exit("\n".join(bad))
EOF

# ---- the table, the summary line, the HTML page and the import file ----
summary='10 hosts send SMTP, 4 are permitted, 6 would be blocked, of which 4 look like servers to register before activation (1 suspected bot).'
rc=0
$P analyze "$cap" --html "$tmp/analysis.html" --suggest "$tmp/suggest.csv" >"$tmp/table" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "analyze exited $rc: $(cat "$tmp/table")"
grep -qxF "$summary" "$tmp/table" || fail "summary line: wanted '$summary', got:"$'\n'"$(cat "$tmp/table")"
grep -qE '^input: 8649 packets, 7983 segments on SMTP ports, 0 flow records \(0 on SMTP ports\), 749 connections \(0 joined mid-stream\)$' "$tmp/table" ||
	fail "input line: $(grep '^input' "$tmp/table")"
for row in '192.0.2.10 +springfield-k12 +permitted ' '192.0.2.12 +springfield-k12 +unregistered-server ' \
	'10.20.33.7 +springfield-k12 +suspected-bot ' '10.20.5.5 +springfield-k12 +client-only ' \
	'\+ 2001:db8:100::12 +springfield-k12 +unregistered-server ' '203.0.113.140 +valley-libraries +unregistered-server '; do
	grep -qE "^$row" "$tmp/table" || fail "table lacks a row /^$row/"
done

# Issue 14: the next step per host, one server on two families grouped, the table in 100 columns.
grep -A1 -E '^192\.0\.2\.12 ' "$tmp/table" | grep -qF "next: register it: port25 import $tmp/suggest.csv" ||
	fail "192.0.2.12's next step does not name the --suggest file"
grep -A1 -E '^10\.20\.33\.7 ' "$tmp/table" | grep -qF 'next: tell the security contact Dana Whitfield <security@springfield-k12.example>' ||
	fail "the bot's next step does not name the security contact"
grep -A1 -E '^192\.0\.2\.10 ' "$tmp/table" | grep -qF 'next: nothing to do: registered' ||
	fail "the permitted server's next step"
grep -A6 -E '^192\.0\.2\.12 ' "$tmp/table" | grep -qE '^\+ 2001:db8:100::12 ' ||
	fail "2001:db8:100::12 is not listed under 192.0.2.12 as the same server"
awk -v f="$tmp/table" '/^ADDRESS/ {t=1} /^$/ {t=0} t && length($0) > 100 {print "FAIL: line of " length($0) " columns: " $0; bad=1} END {exit bad}' "$tmp/table" ||
	fail "the default table is wider than 100 columns"
$P analyze "$cap" --json >"$tmp/g.json"
python3 - "$tmp/g.json" <<'PY' || fail "JSON: same_server_as / next_step"
import json, sys
d = {h["address"]: h for h in json.load(open(sys.argv[1]))["hosts"]}
assert d["192.0.2.12"]["same_server_as"] == ["2001:db8:100::12"], d["192.0.2.12"]["same_server_as"]
assert d["2001:db8:100::12"]["same_server_as"] == ["192.0.2.12"]
assert d["203.0.113.140"]["same_server_as"] == []
assert d["10.20.33.7"]["next_step"].startswith("tell the security contact Dana Whitfield"), d["10.20.33.7"]["next_step"]
PY
wide=$($P analyze "$cap" --wide)
grep -qE '^10\.20\.33\.7 .*suspected-bot .*fan-out.*tell the security contact' <<<"$wide" ||
	fail "--wide: the bot's row lacks its reasons and next step on one line"

# HTML: one self-contained page; the only URL allowed is SVG's namespace name (an
# identifier, never fetched).
html=$tmp/analysis.html
if [ -s "$html" ]; then
	grep -q '<svg' "$html" || fail "HTML page has no <svg> chart"
	refs=$(sed 's#xmlns="http://www.w3.org/2000/svg"##g' "$html" | grep -oiE 'https?://[^"<> ]*' || true)
	[ -z "$refs" ] || fail "HTML page references outside resources: $refs"
	! grep -qiE '<script|<link|<img|<iframe|@import|src=' "$html" || fail "HTML page loads something"
	for a in 192.0.2.12 10.20.33.7 2001:db8:100::12; do
		grep -qF "$a" "$html" || fail "HTML page does not name $a"
	done
else
	fail "--html wrote nothing"
fi

# --suggest: the servers to register, no bot, nothing already permitted, a valid import.
sug=$tmp/suggest.csv
head -1 "$sug" | grep -qx 'org,address,kind,description,requested_by,approved_by,expires' ||
	fail "suggest header: $(head -1 "$sug")"
grep -qE '^springfield-k12,192\.0\.2\.12,mail-server,.*mail3\.springfield\.example.*,tester,,$' "$sug" ||
	fail "suggest lacks 192.0.2.12:"$'\n'"$(cat "$sug")"
for a in 2001:db8:100::12 203.0.113.20 203.0.113.140; do
	grep -qF ",$a,mail-server," "$sug" || fail "suggest lacks $a"
done
for a in 10.20.33.7 192.0.2.10 192.0.2.11 10.20.5.5 10.20.8.44; do
	! grep -qF ",$a," "$sug" || fail "suggest names $a"
done
[ "$(wc -l <"$sug")" -eq 5 ] || fail "suggest has $(($(wc -l <"$sug") - 1)) rows, wanted 4"
out=$($P import --dry-run "$sug" 2>&1) || fail "import --dry-run of the suggestions: $out"
grep -q '4 permits' <<<"$out" || fail "import --dry-run: $out"

# The valley host is not blocked today: its organization is pending.
out=$($P explain 203.0.113.140)
grep -qE "outbound +not-covered organization's enrollment is not active" <<<"$out" ||
	fail "explain 203.0.113.140:"$'\n'"$out"

# Once the suggestions are imported, nothing is left to register and only the bot and the
# misconfigured client would be blocked.
$P import "$sug" >/dev/null || fail "import of the suggestions failed"
out=$($P analyze "$cap" 2>&1) || fail "analyze after the import: $out"
grep -qxF '10 hosts send SMTP, 8 are permitted, 2 would be blocked, of which 0 look like servers to register before activation (1 suspected bot).' <<<"$out" ||
	fail "after importing the suggestions: $(grep 'hosts send' <<<"$out")"

[ $failures -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "demo analysis: all passed"
