#!/bin/bash
# Mail with members, end to end, with real Postfix instances in namespaces of
# our own (tests/e2e/lib.sh: an organization, a gateway running port25's
# ruleset, and the outside).  Outside runs the operator's Postfix: the relay
# that delivers port25's notices into the contacts' Maildirs, and the MX of
# ops.example that hands the verification address to `port25 verify-inbox`
# over LMTP.  Checked, with Python's email package:
#   - request notices: headers, parts, an org name that tries header
#     injection and HTML, the verification address and deadline;
#   - the verification loop, IPv4 and IPv6: the member's Postfix server sends
#     to verify+TOKEN@ through the gateway, the request is verified within
#     seconds and the confirmation reaches the member; a workstation that
#     forges a Received header naming the server verifies nothing and is
#     reported as a policy failure;
#   - the sender killed mid-batch (while the relay holds a message at DATA)
#     and restarted: every notice delivered exactly once;
#   - the relay stopped: notices wait, and go out when it returns;
#   - an org without contacts: an undeliverable notice, shown;
#   - abuse reports: ARF (multipart/report, feedback-report) with XARF v4
#     records valid against the published schema, and a CSV; aggregated;
#   - the campaign: three orgs announced, one answers by signing up, status
#     lists the other two, and a reminder goes to those two only.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

if [ "$(id -u)" != 0 ]; then
	fail "test_notify_mail.sh needs root (ip netns, nft, postfix)"
fi
for tool in ip nft postfix postconf swaks socat flock python3 sqlite3; do
	command -v "$tool" >/dev/null || fail "test_notify_mail.sh needs $tool (scripts/install-deps.sh installs it)"
done
python3 -c 'import jsonschema' 2>/dev/null || fail "test_notify_mail.sh needs python3-jsonschema (scripts/install-deps.sh)"
PORT25=$(readlink -f "$PORT25")
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/e2e/lib.sh"
check() { python3 "$top/tests/e2e/mailcheck.py" "$@"; }

# The runs that edit /etc/postfix/main.cf (alternate_config_directories) take turns.
exec 9>/run/lock/port25-e2e-mail.lock
flock -w 900 9 || fail "another Postfix test holds /run/lock/port25-e2e-mail.lock"

NS_ORG=p25m$$o
NS_GW=p25m$$g
NS_OUT=p25m$$x
E2E_TMP=$(mktemp -d /tmp/port25-notify.XXXXXX)
chmod 755 "$E2E_TMP"
INBOX_PID=
NOTIFY_PID=

cleanup() {
	set +e
	[ -n "$NOTIFY_PID" ] && kill -KILL "$NOTIFY_PID" 2>/dev/null && wait "$NOTIFY_PID" 2>/dev/null
	[ -n "$INBOX_PID" ] && kill "$INBOX_PID" 2>/dev/null && wait "$INBOX_PID" 2>/dev/null
	e2e_postfix_stop out
	e2e_postfix_stop org
	e2e_postfix_restore
	e2e_topology_down
	if [ -n "${KEEP_E2E:-}" ]; then echo "kept $E2E_TMP"; else rm -rf "$E2E_TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

export PORT25_DB="$E2E_TMP/reg.db"
export PORT25_CONFIG="$E2E_TMP/port25.conf"
export PORT25_ACTOR=e2e
export NOTIFY_FROM=port25@ops.example
unset PORT25_NOW
p() { "$PORT25" "$@"; }
pout() { ip netns exec "$NS_OUT" "$PORT25" "$@"; }
pgw() { ip netns exec "$NS_GW" "$PORT25" "$@"; }
mail_of() { echo "$E2E_TMP/out/mail/$1"; }

# --- topology; the operator's Postfix outside, the member's inside
e2e_topology_up
e2e_postfix_prepare "$E2E_TMP/org/conf" "$E2E_TMP/out/conf"

# verify-inbox listens on a loopback port of the outside namespace, picked free there.
LPORT=$(ip netns exec "$NS_OUT" python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

e2e_postfix_config out mx.ops.example
mkdir -p "$E2E_TMP/out/mail"
chown postfix:postfix "$E2E_TMP/out/mail"
cat >>"$E2E_TMP/out/conf/main.cf" <<EOF
virtual_mailbox_domains = acme.example beta.example gamma.example delta.example noc.example
virtual_mailbox_base = $E2E_TMP/out/mail
virtual_mailbox_maps = texthash:$E2E_TMP/out/conf/vmailbox
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
relay_domains = ops.example ops6.example
transport_maps = texthash:$E2E_TMP/out/conf/transport
recipient_delimiter = +
lmtp_destination_concurrency_limit = 1
EOF
cat >"$E2E_TMP/out/conf/vmailbox" <<EOF
sec@acme.example acme-sec/
tech@acme.example acme-tech/
sec@beta.example beta/
sec@gamma.example gamma/
sec@delta.example delta/
noc@noc.example noc/
EOF
printf 'ops.example lmtp:inet:[127.0.0.1]:%s\nops6.example lmtp:inet:[127.0.0.1]:%s\n' "$LPORT" "$LPORT" >"$E2E_TMP/out/conf/transport"

e2e_postfix_config org mx.acme.example
cat >>"$E2E_TMP/org/conf/main.cf" <<EOF
smtp_bind_address = $ORG_MX4
smtp_bind_address6 = $ORG_MX6
transport_maps = texthash:$E2E_TMP/org/conf/transport
EOF
printf 'ops.example smtp:[%s]:25\nops6.example smtp:[%s]:25\n' "$OUT_MX4" "$OUT_MX6" >"$E2E_TMP/org/conf/transport"

e2e_postfix_start out "$NS_OUT" || fail "operator's postfix did not start: $(tail -5 "$E2E_TMP/out.log")"
e2e_postfix_start org "$NS_ORG" || fail "member's postfix did not start: $(tail -5 "$E2E_TMP/org.log")"

cat >"$PORT25_CONFIG" <<EOF
registry = $PORT25_DB
notify-relay = smtp://127.0.0.1:25
notify-from = $NOTIFY_FROM
notify-from-name = Ops "port25" Notices
notify-operator = noc@noc.example
operator-name = Example Regional Network
notify-templates = $top/data/templates
verify-address = verify@ops.example
verify-within = 7d
verify-inbox-mx = mx.ops.example
verify-inbox-listen = 127.0.0.1:$LPORT
notify-retry-min = 1s
notify-retry-max = 2s
notify-lease = 60s
notify-poll = 1s
notify-timeout = 10s
EOF

# --- the registry: acme's name tries header injection and HTML
p init >/dev/null
p org add acme --name $'Acme <b>"&"</b> S\xc3\xb6hne\r\nBcc: evil@example.net' --mode outbound --action reject >/dev/null
p contact add acme --name 'Sec Acme' --email sec@acme.example --role security >/dev/null
p contact add acme --name 'Tech "T" Acme' --email tech@acme.example --role technical >/dev/null
p prefix add acme 192.0.2.0/24 >/dev/null
p prefix add acme 2001:db8:1::/48 >/dev/null

notices_json() { p notices list --json "$@"; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d = d[int(k)] if k.lstrip("-").isdigit() else d[k]
print(d)' "$1"; }
notify_once() { pout notify --once >>"$E2E_TMP/notify.log" 2>&1 || fail "notify --once: $(tail -3 "$E2E_TMP/notify.log")"; }
# wait_mail DIR TEMPLATE N: up to 15 s for N messages of TEMPLATE in DIR.
wait_mail() {
	for _ in $(seq 150); do
		check count "$1" "$2" "$3" 2>/dev/null && return 0
		sleep 0.1
	done
	check count "$1" "$2" "$3" || fail "$2 in $1"
}
req_status() { p request show "$1" --json | json_field status; }
# wait_status REQ STATUS: up to 15 s.
wait_status() {
	local s=
	for _ in $(seq 150); do
		s=$(req_status "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# The token of the latest applied notice.
latest_token() {
	local id
	id=$(notices_json --template request-applied | json_field -1.id)
	p notices show "$id" --json | json_field data.verify.token
}
submit() { p request submit "$@" | sed -n 's/^submitted request \([0-9]*\).*/\1/p'; }

say "request notices: queued with each step, delivered through the relay"
req=$(submit acme --type signup --server "$ORG_MX4,mail,mx v4" --server "$ORG_MX6,mail,mx v6")
[ -n "$req" ] || fail "request submit printed no id"
p request approve "$req" >/dev/null
p request apply "$req" >/dev/null
n=$(notices_json --org acme | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 6 ] || fail "want 6 notices (received, approved, applied to 2 contacts), got $n"
notify_once
for who in acme-sec acme-tech; do
	for t in request-received request-approved request-applied; do
		wait_mail "$(mail_of $who)" $t 1
	done
done
for id in $(notices_json --org acme | python3 -c 'import json,sys; [print(n["id"]) for n in json.load(sys.stdin)]'); do
	p notices show "$id" --json >"$E2E_TMP/n$id.json"
	read -r t who st < <(python3 -c 'import json,sys; n=json.load(open(sys.argv[1])); print(n["template"], n["recipient"].split("@")[0], n["state"])' "$E2E_TMP/n$id.json")
	[ "$st" = sent ] || fail "notice $id is $st, want sent"
	check request_mail "$(mail_of "acme-$who")" "$t" "$E2E_TMP/n$id.json" || fail "notice $id ($t)"
done
TOKEN=$(latest_token)
[ -n "$TOKEN" ] || fail "the applied notice carries no token"

say "the verification loop: the member's server writes to verify+TOKEN@"
pgw enforce apply >>"$E2E_TMP/enforce.log" 2>&1 || fail "enforce apply: $(tail -3 "$E2E_TMP/enforce.log")"
ip netns exec "$NS_OUT" "$PORT25" verify-inbox >>"$E2E_TMP/inbox.log" 2>&1 &
INBOX_PID=$!
for _ in $(seq 100); do
	grep -q listening "$E2E_TMP/inbox.log" && break
	kill -0 "$INBOX_PID" 2>/dev/null || fail "verify-inbox exited: $(tail -3 "$E2E_TMP/inbox.log")"
	sleep 0.05
done
t0=$(e2e_now_ms)
ip netns exec "$NS_ORG" swaks --server 127.0.0.1 --port 25 --timeout 5 --from postmaster@acme.example \
	--to "verify+$TOKEN@ops.example" --header "Subject: verification of request $req" \
	--body "sent by our mail server" >>"$E2E_TMP/swaks.log" 2>&1 || fail "the member's Postfix refused the message"
wait_status "$req" verified ||
	fail "request $req is $(req_status "$req") 15 s after the member's message: $(tail -3 "$E2E_TMP/inbox.log"; grep status= "$E2E_TMP/org.log" | tail -2)"
t1=$(e2e_now_ms)
echo "TIMING IPv4: verified $((t1 - t0)) ms after the member's server was handed the message"
p verify-inbox list --json >"$E2E_TMP/inbound.json"
python3 - "$E2E_TMP/inbound.json" "$ORG_MX4" "$req" <<'PY' || fail "the inbound record: $(cat "$E2E_TMP/inbound.json")"
import json, sys
r = json.load(open(sys.argv[1]))[0]
assert r["outcome"] == "verified" and r["connecting"] == sys.argv[2] and r["request_id"] == int(sys.argv[3]), r
PY
p audit --json | python3 -c 'import json,sys; a=[r for r in json.load(sys.stdin) if r["action"]=="request.verify"]; assert a and a[0]["actor"]=="e2e", a' ||
	fail "the verification is not audited"
notify_once
wait_mail "$(mail_of acme-sec)" request-verified 1
python3 - "$(mail_of acme-sec)" "$ORG_MX4" <<'PY' || fail "the confirmation does not name the server"
import email, email.policy, os, sys
d = os.path.join(sys.argv[1], "new")
for f in os.listdir(d):
    m = email.message_from_bytes(open(os.path.join(d, f), "rb").read(), policy=email.policy.default)
    if m["X-Port25-Notice"] == "request-verified":
        assert sys.argv[2] in m.get_body(("plain",)).get_content()
        break
else:
    sys.exit(1)
PY

say "IPv6: a second request verified by the member's server over IPv6"
req6=$(submit acme --type add-permit --server "2001:db8:1::26,mail,mx2 v6")
p request approve "$req6" >/dev/null
p request apply "$req6" >/dev/null
tok6=$(latest_token)
ip -n "$NS_ORG" addr add 2001:db8:1::26/64 dev org0 nodad
postconf -c "$E2E_TMP/org/conf" -e "smtp_bind_address6 = 2001:db8:1::26"
postfix -c "$E2E_TMP/org/conf" reload >/dev/null 2>&1
sleep 0.5
pgw enforce apply >>"$E2E_TMP/enforce.log" 2>&1 || fail "enforce apply: $(tail -3 "$E2E_TMP/enforce.log")"
t0=$(e2e_now_ms)
ip netns exec "$NS_ORG" swaks --server 127.0.0.1 --port 25 --timeout 5 --from postmaster@acme.example \
	--to "verify+$tok6@ops6.example" --header "Subject: v6" --body v6 >>"$E2E_TMP/swaks.log" 2>&1 ||
	fail "the member's Postfix refused the IPv6 message"
wait_status "$req6" verified || fail "IPv6 request $req6 is $(req_status "$req6"): $(tail -3 "$E2E_TMP/inbox.log")"
t1=$(e2e_now_ms)
echo "TIMING IPv6: verified $((t1 - t0)) ms after the member's server was handed the message"
p verify-inbox list --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; assert r["connecting"]=="2001:db8:1::26" and r["outcome"]=="verified", r' ||
	fail "the IPv6 inbound record"

say "a workstation forging a Received header naming the server verifies nothing"
req3=$(submit acme --type add-permit --server "192.0.2.27,mail,mx3")
p request approve "$req3" >/dev/null
p request apply "$req3" >/dev/null
tok3=$(latest_token)
# The block is broken (the gateway's ruleset flushed): the workstation reaches the MX on 25.
ip netns exec "$NS_GW" nft flush ruleset
forged="Received: from mx3.acme.example (mx3.acme.example [192.0.2.27]) by mx.ops.example (Postfix) with ESMTP id FORGED; Mon, 23 Nov 2026 10:00:00 +0000"
ip netns exec "$NS_ORG" swaks --server "$OUT_MX4" --port 25 --local-interface "$ORG_WS4" --timeout 5 \
	--from bot@acme.example --to "verify+$tok3@ops.example" --add-header "$forged" \
	--header "Subject: forged" --body forged >>"$E2E_TMP/swaks.log" 2>&1 ||
	fail "the workstation could not reach the MX with the block flushed"
out=
for _ in $(seq 150); do
	out=$(p verify-inbox list --json | json_field 0.outcome)
	[ "$out" = policy-failure ] && break
	sleep 0.1
done
[ "$out" = policy-failure ] || fail "the forged message's outcome is $out, want policy-failure: $(tail -3 "$E2E_TMP/inbox.log")"
[ "$(req_status "$req3")" = applied ] || fail "the forged Received header verified request $req3"
[ "$(p verify-inbox list --json | json_field 0.connecting)" = "$ORG_WS4" ] ||
	fail "the policy failure does not name the workstation"
notify_once
wait_mail "$(mail_of noc)" policy-failure 1
pgw enforce apply >>"$E2E_TMP/enforce.log" 2>&1 || fail "enforce apply: $(tail -3 "$E2E_TMP/enforce.log")"

say "an organization without contacts: its notice is undeliverable, and shown"
p org add lonely --name 'Lonely' >/dev/null
p prefix add lonely 203.0.113.0/24 >/dev/null
p request submit lonely --type signup --server 203.0.113.25,mail,mx >/dev/null
p notices list --state undeliverable | grep -q "lonely.*no technical or security contact" ||
	fail "no undeliverable notice shown for the org without contacts: $(p notices list)"

say "the relay stopped: notices wait, and go out when it returns"
e2e_postfix_stop out
req4=$(submit acme --type add-permit --server "192.0.2.28,mail,mx4")
p request reject "$req4" --reason 'not a <server> of "ours"' >/dev/null
pout notify --once >>"$E2E_TMP/notify.log" 2>&1 || fail "notify --once with the relay down: $(tail -3 "$E2E_TMP/notify.log")"
notices_json --template request-rejected >"$E2E_TMP/rej.json"
notices_json --state queued >"$E2E_TMP/waiting.json"
python3 - "$E2E_TMP/rej.json" <<'PY' || fail "rejected notices with the relay down: $(cat "$E2E_TMP/rej.json")"
import json, sys
ns = json.load(open(sys.argv[1]))
assert len(ns) == 2, ns
for n in ns:
    assert n["state"] == "queued" and n["attempts"] == 1 and n["last_error"], n
PY
e2e_postfix_start out "$NS_OUT" || fail "operator's postfix did not restart: $(tail -5 "$E2E_TMP/out.log")"
sleep 2.2 # the backoff (notify-retry-min 1s)
notify_once
wait_mail "$(mail_of acme-sec)" request-rejected 1
wait_mail "$(mail_of acme-tech)" request-rejected 1
python3 -c 'import json,sys; w=json.load(open(sys.argv[1])); assert len(w)==4, w' "$E2E_TMP/waiting.json" ||
	fail "want 4 notices waiting (received and rejected, 2 contacts each)"
for id in $(python3 -c 'import json,sys; [print(n["id"]) for n in json.load(open(sys.argv[1]))]' "$E2E_TMP/waiting.json"); do
	[ "$(p notices show "$id" --json | json_field state)" = sent ] || fail "notice $id is not sent after the relay returned"
done
rid=$(python3 -c 'import json,sys; print([n["id"] for n in json.load(open(sys.argv[1])) if n["recipient"].startswith("sec")][0])' "$E2E_TMP/rej.json")
p notices show "$rid" --json >"$E2E_TMP/rej1.json"
[ "$(json_field state <"$E2E_TMP/rej1.json")" = sent ] || fail "the rejection notice is not sent after the relay returned"
EXPECT_WORDS='not a <server> of "ours"' check request_mail "$(mail_of acme-sec)" request-rejected "$E2E_TMP/rej1.json" ||
	fail "the rejection notice"

say "abuse reports: ARF with XARF v4 records, aggregated per member"
now_iso=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ev66='{"reason":"fan-out to 60 destinations","attempts":240,"packets":250,"destinations":60,"destinations_approx":false,"peak_per_minute":70,"active_hours":2,"first_seen":"2026-11-22T08:00:00Z","last_seen":"2026-11-22T09:30:00Z","recent_destinations":[{"destination":"203.0.113.5","attempts":4,"last":"2026-11-22T09:30:00Z","intervals_s":[1,1]},{"destination":"2001:db8:9::5","attempts":3,"last":"2026-11-22T09:29:00Z","intervals_s":[2]}]}'
ev77='{"reason":"retries 1 of 1 destinations on a queue schedule (growing backoff) over 3.0 h","attempts":6,"packets":6,"destinations":1,"destinations_approx":false,"peak_per_minute":1,"active_hours":3,"first_seen":"2026-11-22T06:00:00Z","last_seen":"2026-11-22T09:00:00Z","schedule":[{"destination":"198.51.100.99","attempts":6,"last":"2026-11-22T09:00:00Z","intervals_s":[300,600,1200],"pattern":"growing backoff"}]}'
sqlite3 "$PORT25_DB" "INSERT INTO alert (kind, host, direction, org, status, raised, updated, evidence) VALUES
  ('infected', '192.0.2.66', 'out', 'acme', 'open', '$now_iso', '$now_iso', '$ev66'),
  ('missed-server', '192.0.2.77', 'out', 'acme', 'open', '$now_iso', '$now_iso', '$ev77');"
notify_once
wait_mail "$(mail_of acme-sec)" abuse-report 1
check count "$(mail_of acme-tech)" abuse-report 0 || fail "an abuse report went to the technical contact"
check arf "$(mail_of acme-sec)" "$top/tests/data/xarf" 192.0.2.66,192.0.2.77 || fail "the ARF report"
# A third alert soon after: no second report within the interval; one after it, with the new alert only.
sqlite3 "$PORT25_DB" "INSERT INTO alert (kind, host, direction, org, status, raised, updated, evidence) VALUES
  ('infected', '192.0.2.88', 'out', 'acme', 'open', '$now_iso', '$now_iso', '$ev66');"
notify_once
sleep 1
check count "$(mail_of acme-sec)" abuse-report 1 || fail "a second report within the interval"
PORT25_NOW=$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ) pout notify --once >>"$E2E_TMP/notify.log" 2>&1
wait_mail "$(mail_of acme-sec)" abuse-report 2
check arf "$(mail_of acme-sec)" "$top/tests/data/xarf" 192.0.2.88 || fail "the second ARF report"

say "the sender killed mid-batch and restarted: every notice exactly once"
for o in beta gamma delta; do
	p org add $o --name "Org $o" >/dev/null
	p contact add $o --name "Sec $o" --email "sec@$o.example" --role security >/dev/null
done
p prefix add beta 198.18.1.0/24 >/dev/null
p prefix add gamma 198.18.2.0/24 >/dev/null
p prefix add delta 198.18.3.0/24 >/dev/null
deadline=$(date -u -d '+20 days' +%Y-%m-%d)
# The relay holds every message 2 s at DATA: the kill lands while one is being sent.
postconf -c "$E2E_TMP/out/conf" -e 'smtpd_data_restrictions = sleep 2'
postfix -c "$E2E_TMP/out/conf" reload >/dev/null 2>&1
sleep 0.5
p campaign start --template security-change --deadline "$deadline" --orgs beta,gamma,delta --reminders 14 --json >"$E2E_TMP/campaign.json" ||
	fail "campaign start"
ip netns exec "$NS_OUT" "$PORT25" notify >>"$E2E_TMP/notify-daemon.log" 2>&1 &
NOTIFY_PID=$!
# One message through, the next held at DATA: kill then.
n=0
for _ in $(seq 100); do
	n=$(cat "$(mail_of beta)"/new/* "$(mail_of gamma)"/new/* "$(mail_of delta)"/new/* 2>/dev/null | grep -c '^X-Port25-Notice: security-change' || true)
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
[ "$n" -ge 1 ] || fail "no announcement delivered by the daemon: $(tail -3 "$E2E_TMP/notify-daemon.log")"
sleep 1
kill -KILL "$NOTIFY_PID"
wait "$NOTIFY_PID" 2>/dev/null || true
NOTIFY_PID=
sending=$(p notices list --state sending --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "killed with $sending notice(s) being sent, $n delivered"
[ "$sending" -ge 1 ] || fail "the kill did not land during a send (nothing left sending)"
postconf -c "$E2E_TMP/out/conf" -e 'smtpd_data_restrictions ='
postfix -c "$E2E_TMP/out/conf" reload >/dev/null 2>&1
sleep 0.5
notify_once
for o in beta gamma delta; do wait_mail "$(mail_of $o)" security-change 1; done
notices_json --template security-change >"$E2E_TMP/sc.json"
check exactly_once "$E2E_TMP/sc.json" "$(mail_of beta)" "$(mail_of gamma)" "$(mail_of delta)" || fail "not exactly once"
# Everything the whole run sent, too.
notices_json >"$E2E_TMP/all.json"
python3 -c 'import json,sys; print(json.dumps([n for n in json.load(open(sys.argv[1])) if n["recipient"] and n["state"] != "cancelled"]))' \
	"$E2E_TMP/all.json" >"$E2E_TMP/sent.json"
check exactly_once "$E2E_TMP/sent.json" "$E2E_TMP"/out/mail/* || fail "a notice of the run was not delivered exactly once"

say "the campaign: one answers by signing up; status lists the others; the reminder goes to them only"
p campaign status --json >"$E2E_TMP/cstatus.json"
for o in beta gamma delta; do
	check campaign "$(mail_of $o)" security-change "$E2E_TMP/cstatus.json" $o || fail "the announcement to $o"
done
p request submit beta --type signup --server 198.18.1.25,mail,mx >/dev/null
p campaign status --json >"$E2E_TMP/cstatus.json"
python3 - "$E2E_TMP/cstatus.json" <<'PY' || fail "campaign status: $(cat "$E2E_TMP/cstatus.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["not_responded"] == ["delta", "gamma"], s["not_responded"]
assert 19 <= s["days_remaining"] <= 21, s["days_remaining"]
PY
p campaign status | grep -q 'not responded: gamma' || fail "campaign status does not list gamma"
# Ten days before the deadline: past the 14-day reminder.
PORT25_NOW=$(date -u -d "$deadline - 10 days" +%Y-%m-%dT12:00:00Z) pout notify --once >>"$E2E_TMP/notify.log" 2>&1 ||
	fail "notify --once for the reminders"
wait_mail "$(mail_of gamma)" campaign-reminder 1
wait_mail "$(mail_of delta)" campaign-reminder 1
sleep 1
check count "$(mail_of beta)" campaign-reminder 0 || fail "a reminder went to beta, which answered"
# Reminders go once.
PORT25_NOW=$(date -u -d "$deadline - 9 days" +%Y-%m-%dT12:00:00Z) pout notify --once >>"$E2E_TMP/notify.log" 2>&1
sleep 1
check count "$(mail_of gamma)" campaign-reminder 1 || fail "the reminder went twice"

say "all checks passed"
echo "ok"
