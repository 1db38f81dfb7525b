#!/bin/bash
# port25 verify --request / --applied: an applied request is verified against
# a test exchanger and marked verified only when every check passes.  Runs in
# a network namespace of its own (a small SMTP responder on 25, 465 and 587,
# the members' addresses on its loopback, an nft rule playing the gateway's
# block for one address), so it touches nothing on the host.
# Needs root (ip netns, nft): without it this test fails, never skips.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
PORT25=$(readlink -f "$PORT25")
if [ "$(id -u)" != 0 ]; then
	echo "FAIL: test_verify_request.sh needs root (ip netns, nft)" >&2
	exit 1
fi
for tool in ip nft python3; do
	command -v "$tool" >/dev/null || { echo "FAIL: needs $tool" >&2; exit 1; }
done
tmp=$(mktemp -d)
ns=p25vr$$
SMTP_PID=
cleanup() {
	set +e
	[ -n "$SMTP_PID" ] && kill "$SMTP_PID" 2>/dev/null && wait "$SMTP_PID" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
unset PORT25_JSON 2>/dev/null || true

failures=0
checks=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}
# expect CODE REGEX CMD...: exit CODE and output (stdout and stderr) matching REGEX.
expect() {
	local code=$1 pattern=$2 out rc=0
	shift 2
	checks=$((checks + 1))
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "exit $rc, wanted $code: $*"$'\n'"$out"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
		fail "output of '$*' lacks /$pattern/:"$'\n'"$out"
	fi
}
ok() { expect 0 "$@"; }
refused() { expect 1 "$@"; }
usage() { expect 2 "$@"; }
# status ID WANT: the request's status in the registry.
status() {
	local got
	checks=$((checks + 1))
	got=$($P request show "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
	[ "$got" = "$2" ] || fail "request $1 is $got, wanted $2"
}
P=$PORT25
# verify inside the namespace, where the exchanger and the members' addresses are.
V() { ip netns exec "$ns" "$PORT25" "$@"; }
# applied ORG ARGS...: submit, approve and apply a request; prints its id.
applied() {
	local id
	id=$($P request submit "$@" | sed -n 's/^submitted request \([0-9]*\).*/\1/p')
	[ -n "$id" ] || { echo "FAIL: request submit $* printed no id" >&2; exit 1; }
	$P request approve "$id" >/dev/null
	$P request apply "$id" >/dev/null
	echo "$id"
}

# --- the namespace: exchanger addresses and member addresses on lo
MX4=198.51.100.25 MX6=2001:db8:ff::25
ip netns add "$ns"
ip -n "$ns" link set lo up
for a in "$MX4/32" 192.0.2.80/32 192.0.2.81/32; do ip -n "$ns" addr add "$a" dev lo; done
for a in "$MX6/128" 2001:db8:1::80/128; do ip -n "$ns" addr add "$a" dev lo nodad; done
# The gateway's block, as the sending host sees it: 25 from 192.0.2.81 is reset.
ip netns exec "$ns" nft -f - <<'EOF'
table inet p25vr {
	chain out {
		type filter hook output priority 0;
		ip saddr 192.0.2.81 tcp dport 25 reject with tcp reset
	}
}
EOF

# A small SMTP responder on MX4 and MX6, ports 25, 465 and 587 (and 127.0.0.1:25):
# accepts every message and appends it to a log.
cat >"$tmp/smtpd.py" <<'EOF'
import socket, socketserver, sys, threading
log = open(sys.argv[1], "ab", buffering=0)
class H(socketserver.StreamRequestHandler):
    def handle(self):
        w = lambda s: self.wfile.write(s.encode() + b"\r\n")
        w("220 test ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.strip().upper()
            if cmd.startswith(b"EHLO"):
                w("250-test\r\n250 8BITMIME")
            elif cmd.startswith(b"DATA"):
                w("354 go on")
                data = b""
                while not data.endswith(b"\r\n.\r\n"):
                    chunk = self.rfile.readline()
                    if not chunk:
                        return
                    data += chunk
                log.write(data)
                w("250 queued")
            elif cmd.startswith(b"QUIT"):
                w("221 bye")
                return
            else:
                w("250 ok")
class S4(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
class S6(S4):
    address_family = socket.AF_INET6
servers = []
for host in sys.argv[2:]:
    for port in (25, 465, 587):
        servers.append((S6 if ":" in host else S4)((host, port), H))
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
EOF
ip netns exec "$ns" python3 "$tmp/smtpd.py" "$tmp/mail.log" "$MX4" "$MX6" 127.0.0.1 >"$tmp/smtpd.out" 2>&1 &
SMTP_PID=$!
for _ in $(seq 100); do
	grep -q ready "$tmp/smtpd.out" 2>/dev/null && break
	kill -0 "$SMTP_PID" 2>/dev/null || { echo "FAIL: smtp responder: $(cat "$tmp/smtpd.out")" >&2; exit 1; }
	sleep 0.05
done
grep -q ready "$tmp/smtpd.out" || { echo "FAIL: smtp responder did not start" >&2; exit 1; }
touch "$tmp/mail.log"

# --- the registry
$P init >/dev/null
$P org add acme --name Acme >/dev/null
$P contact add acme --name Sec --email sec@acme.example --role security >/dev/null
# Active before any server is registered: the requests below add them.
$P org set acme --enrollment active --no-servers >/dev/null
$P prefix add acme 192.0.2.0/24 >/dev/null
$P prefix add acme 2001:db8:1::/48 >/dev/null
$P org add beta --name Beta >/dev/null
$P contact add beta --name Sec --email sec@beta.example --role security >/dev/null
$P prefix add beta 203.0.113.0/24 >/dev/null

MX=(--mx "$MX4" --mx "[$MX6]" --rcpt user@test.example --timeout 3)

# --- usage and refusals
ok 'port25 verify \[--json\] --request ID' $P verify --help
ok 'without --mx only the policy is checked, nothing is marked' $P verify --help
usage "--request 'abc'" $P verify --request abc
usage "--request '0'" $P verify --request 0
usage 'no ADDRESS or --expect-blocked' $P verify --request 1 192.0.2.5
usage 'no ADDRESS or --expect-blocked' $P verify --applied --expect-blocked 192.0.2.5
refused 'no request 99' $P verify --request 99
ok 'no requests in status applied' $P verify --applied
ok '"requests": \[\]' $P --json verify --applied

# --- an add-permit request, submitted -> approved -> applied, verified by a real message
r1=$(applied acme --type add-permit --server 192.0.2.77,mail,mx77 --server 2001:db8:1::77,mail,mx77v6)
status "$r1" applied
ok "request $r1 verified: 2 of 2 passed" V verify --request "$r1" "${MX[@]}"
status "$r1" verified
$P audit --limit 1 --json >"$tmp/audit.json"
python3 - "$tmp/audit.json" "$r1" <<'EOF' || fail "audit: no request.verify of $r1 by tester: $(cat "$tmp/audit.json")"
import json, sys
a = json.load(open(sys.argv[1]))[0]
assert a["action"] == "request.verify" and a["actor"] == "tester" and a["object"] == sys.argv[2], a
assert a["before"]["status"] == "applied" and a["after"]["status"] == "verified", a
assert a["after"]["verified_by"] == "tester", a
EOF
checks=$((checks + 1))
[ "$(grep -c '^X-Port25-Verify: port25-verify-' "$tmp/mail.log")" = 2 ] ||
	fail "the exchanger did not receive two test messages: $(cat "$tmp/mail.log")"
checks=$((checks + 1))
# A second run: no longer applied, refused, nothing checked.
refused "request $r1 is verified, not applied: it is verified already; nothing checked" \
	V verify --request "$r1" "${MX[@]}"
out=$(V verify --request "$r1" "${MX[@]}" 2>&1) || true
grep -q PASS <<<"$out" && fail "a refused request was checked: $out"
checks=$((checks + 1))

# --- a failing exchanger (closed port): stays applied, exit 1 naming request, server, check
r2=$(applied acme --type add-permit --server 192.0.2.78,app,vendor)
refused "request $r2 not verified: 192.0.2.78: smtp/25 failed" \
	V verify --request "$r2" --mx 127.0.0.1:2526 --rcpt user@test.example --timeout 3
refused "request $r2 NOT verified, stays applied: 192.0.2.78 smtp/25 failed$" \
	V verify --request "$r2" --mx 127.0.0.1:2526 --rcpt user@test.example --timeout 3
status "$r2" applied
# Without --mx: the policy passes, nothing is marked, exit 0, and it says so.
ok "request $r2 not marked verified: 1 of 1 passed the policy check, but no --mx, no test message sent" \
	$P verify --request "$r2"
$P --json verify --request "$r2" >"$tmp/nomx.json"
python3 - "$tmp/nomx.json" <<'EOF' || fail "verify --json without --mx: $(cat "$tmp/nomx.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["requests"][0]
assert d["pass"] and d["verified"] == 0, d
assert not r["verified"] and r["status_before"] == r["status_after"] == "applied", r
assert r["reason"] == "no --mx, no test message sent", r
assert r["servers"][0]["address"] == "192.0.2.78" and r["servers"][0]["smtp"]["status"] == "skipped", r
EOF
checks=$((checks + 1))
status "$r2" applied

# --- a request only approved is refused, and so is a whole run that names it
r3=$($P request submit acme --type add-permit --server 192.0.2.79,app,x | sed -n 's/^submitted request \([0-9]*\).*/\1/p')
$P request approve "$r3" >/dev/null
refused "request $r3 is approved, not applied: apply it first" V verify --request "$r3" "${MX[@]}"
refused "request $r3 is approved, not applied" V verify --request "$r2" --request "$r3" "${MX[@]}"
status "$r3" approved
status "$r2" applied

# --- a remove-permit request: the removed address must now be blocked.  Removing
# the permit request r2 created also makes r2 fail from now on (its server is blocked).
r4=$(applied acme --type remove-permit --permit 192.0.2.78)
# Port 25 closed at the exchanger, 465/587 open: what a block looks like from the host.
ok "request $r4 verified: 1 of 1 passed" V verify --request "$r4" --mx "$MX4:2526" --rcpt user@test.example --timeout 3
status "$r4" verified

# --- --applied: every applied request, each marked or not on its own.  With
# --from-bind each check comes from the member's own address (on lo here):
#   r5 add-permit 192.0.2.80 + 2001:db8:1::80   passes, verified
#   r6 remove-permit 192.0.2.81 (reset by nft)  passes as blocked, verified
#   r7 signup of beta, 203.0.113.0/24 is not local: cannot send from it, fails
#   r2 its permit removed by r4: policy blocks, fails
#   r3 approved only: not picked up
$P permit add acme 192.0.2.81 --kind mail --description 'old relay' >/dev/null
r5=$(applied acme --type add-permit --server 192.0.2.80,mail,new-mx --server 2001:db8:1::80,mail,new-mx6)
r6=$(applied acme --type remove-permit --permit 192.0.2.81)
r7=$(applied beta --type signup --server 203.0.113.10,mail,beta-mx)
n0=$(grep -c '^X-Port25-Verify: ' "$tmp/mail.log")
checks=$((checks + 1))
rc=0
V --json verify --applied "${MX[@]}" --from-bind >"$tmp/applied.json" 2>"$tmp/applied.err" || rc=$?
[ "$rc" = 1 ] || fail "verify --applied: exit $rc, wanted 1: $(cat "$tmp/applied.json" "$tmp/applied.err")"
python3 - "$tmp/applied.json" "$r2" "$r5" "$r6" "$r7" <<'EOF' || fail "verify --applied --json: $(cat "$tmp/applied.json")"
import json, sys
d = json.load(open(sys.argv[1]))
r2, r5, r6, r7 = map(int, sys.argv[2:])
by = {r["id"]: r for r in d["requests"]}
assert sorted(by) == sorted([r2, r5, r6, r7]), list(by)
assert d["verified"] == 2 and not d["pass"], d
for i in (r5, r6):
    assert by[i]["verified"] and by[i]["status_before"] == "applied", by[i]
    assert by[i]["status_after"] == "verified" and by[i]["failed"] == 0, by[i]
assert [s["address"] for s in by[r5]["servers"]] == ["192.0.2.80", "2001:db8:1::80"], by[r5]
assert all(s["smtp"]["status"] == "pass" and s["smtp"]["message_id"] for s in by[r5]["servers"])
assert all(s["permit"]["description"].startswith("new-mx") for s in by[r5]["servers"])
s6 = by[r6]["servers"][0]
assert s6["address"] == "192.0.2.81" and s6["expect"] == "blocked" and s6["pass"], s6
assert s6["policy"]["verdict"] == "block" and "blocked" in s6["smtp"]["detail"], s6
assert s6["tcp587"]["status"] == "pass", s6
for i, addr, check in ((r2, "192.0.2.78", "policy"), (r7, "203.0.113.10", "smtp/25")):
    r = by[i]
    assert not r["verified"] and r["status_after"] == "applied", r
    assert r["failures"][0]["address"] == addr and check in r["failures"][0]["checks"], r
EOF
checks=$((checks + 1))
grep -q "request $r2 not verified: 192.0.2.78: policy" "$tmp/applied.err" ||
	fail "verify --applied: no message naming request $r2: $(cat "$tmp/applied.err")"
grep -q "request $r7 not verified: 203.0.113.10: smtp/25" "$tmp/applied.err" ||
	fail "verify --applied: no message naming request $r7: $(cat "$tmp/applied.err")"
checks=$((checks + 1))
[ "$(grep -c '^X-Port25-Verify: ' "$tmp/mail.log")" = $((n0 + 2)) ] ||
	fail "verify --applied: want 2 more test messages (r5), got $(( $(grep -c '^X-Port25-Verify: ' "$tmp/mail.log") - n0 ))"
grep -q 'Test message sent by port25 verify from 2001:db8:1::80' "$tmp/mail.log" ||
	fail "no test message from 2001:db8:1::80 (--from-bind)"
status "$r5" verified
status "$r6" verified
status "$r7" applied
status "$r2" applied
status "$r3" approved
# Text: one line per request after its servers, and the summary.
out=$(V verify --applied "${MX[@]}" --from-bind 2>/dev/null) || true
checks=$((checks + 1))
grep -q "^request $r2 NOT verified, stays applied: 192.0.2.78 policy, smtp/25, tcp/465, tcp/587 failed" <<<"$out" &&
	grep -q "^request $r7 NOT verified, stays applied: 203.0.113.10 smtp/25, tcp/465, tcp/587 failed" <<<"$out" &&
	grep -q "^2 requests checked: 0 verified, 2 not" <<<"$out" ||
	fail "verify --applied text: $out"
# The audit log has each marking by the actor.
checks=$((checks + 1))
n=$($P audit --json | python3 -c 'import json,sys; print(sum(1 for a in json.load(sys.stdin) if a["action"] == "request.verify" and a["actor"] == "tester"))')
[ "$n" = 4 ] || fail "audit: $n request.verify records, wanted 4 (r1, r4, r5, r6)"

if [ "$failures" -gt 0 ]; then
	echo "$failures of $checks checks failed"
	exit 1
fi
echo "ok: $checks checks"
