#!/bin/bash
# The member portal and the operator's console in Debian's headless Chromium
# (tests/browser/portal.mjs, playwright-core pinned in tests/browser): a
# member signs up with three servers (a pasted typo refused next to its line),
# the operator approves and applies the request from the top of the queue, the
# member's dashboard shows the org active, and the registered server's real
# SMTP dialogue through the gateway in this test's namespaces succeeds while a
# workstation's is refused; a member of another org sees none of it ("not
# found" for the first org's request), and that org's name, a script tag,
# renders as text.  Screenshots go to $PORT25_SHOTS/portal-*.png: a temporary
# directory unless set (`make screenshots` sets it to docs/img, so a test run
# never touches the tree).
# Needs root, nft, swaks, chromium, node and `make node-deps`: fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }
here=$(cd "$(dirname "$0")/../.." && pwd)

[ "$(id -u)" = 0 ] || fail "test_portal_browser.sh needs root (ip netns, nft)"
for tool in ip nft swaks node python3 /usr/bin/chromium; do
	command -v "$tool" >/dev/null || fail "test_portal_browser.sh needs $tool (scripts/install-deps.sh installs it)"
done
[ -d "$here/tests/browser/node_modules/playwright-core" ] ||
	fail "tests/browser/node_modules is missing: run make node-deps"

tmp=$(mktemp -d)
export E2E_TMP=$tmp NS_ORG=p25p$$o NS_GW=p25p$$g NS_OUT=p25p$$x
# shellcheck source=tests/e2e/lib.sh
. "$here/tests/e2e/lib.sh"
loop= srv= sink=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	[ -n "$loop" ] && kill "$loop" 2>/dev/null || true
	[ -n "$sink" ] && kill "$sink" 2>/dev/null || true
	for n in "$NS_ORG" "$NS_GW" "$NS_OUT"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	e2e_topology_down
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db" PORT25_ACTOR=setup PORT25_RUN_DIR="$tmp/run" PORT25_CONFIG="$tmp/port25.conf"
unset PORT25_NOW PORT25_ENFORCE
p() { "$PORT25" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- setup: the registry, the accounts (no request, no permit: the pages make them) ----
p init >/dev/null
p org add springfield-k12 --name "Springfield K-12 schools" --mode outbound --action reject >/dev/null
p prefix add springfield-k12 192.0.2.0/24 >/dev/null
p prefix add springfield-k12 2001:db8:1::/64 >/dev/null
p contact add springfield-k12 --name "Pat Doe" --email pat@springfield.example --role security >/dev/null
evil='<img src=x onerror=alert(1)><script>alert(2)</script>'
p org add shelbyville --name "$evil" --mode outbound --action reject >/dev/null
p prefix add shelbyville 203.0.113.0/24 >/dev/null
p contact add shelbyville --name "$evil" --email sec@shelbyville.example --role security >/dev/null
pw='correct horse battery staple'
p user add oscar --role operator --password-stdin <<<"$pw" >/dev/null
p user add mia --role member --org springfield-k12 --password-stdin <<<"$pw" >/dev/null
p user add bob --role member --org shelbyville --password-stdin <<<"$pw" >/dev/null
# the operator's pre-block analysis of the org, on real captures (Chris Sanders'
# chrissanders/packets, tests/data/real/README.md) of its 172.16.16.0/24 hosts:
# a mail server to register (.221), a client (.225), a receiving server (.231)
p prefix add springfield-k12 172.16.16.0/24 >/dev/null
p analyze "$here/tests/data/real/mail_sender_server_2.pcapng" "$here/tests/data/real/mail_receiver_server_3.pcapng" \
	>"$tmp/analyze.txt" 2>&1 || fail "analyze failed: $(cat "$tmp/analyze.txt")"
# blocked attempts of a workstation, as a router logged them (today and two days ago, UTC):
# watch counts them per day for the dashboard's chart
today=$(date -u +%Y-%m-%d) day2=$(date -u -d '2 days ago' +%Y-%m-%d)
sport=40000
for t in "${today}T00:00:30Z" "${day2}T10:00:00Z" "${day2}T10:05:00Z"; do
	printf '<190>1 %s gw1 - - - - %%SEC-6-IPACCESSLOGP: list PORT25-OUT denied tcp 192.0.2.50(%d) -> 198.51.100.25(25), 1 packet\n' \
		"$t" $((++sport))
done >"$tmp/router.log"
p watch --once --from-start --syslog-file "$tmp/router.log" --nflog-group off >"$tmp/watch.log" 2>&1 ||
	fail "watch --once failed: $(cat "$tmp/watch.log")"

# ---- the network: the org's hosts, the gateway, the outside receiver ----
e2e_topology_up
ip netns exec "$NS_OUT" python3 "$here/tests/browser/smtp-sink.py" "$OUT_MX4" 25 "$tmp/sink.log" &
sink=$!
ip netns exec "$NS_GW" "$PORT25" enforce sync --wait --interval 60 2>"$tmp/loop.log" &
loop=$!
"$PORT25" serve --listen 127.0.0.1:0 --access-log 2>"$tmp/serve.log" &
srv=$!
t=$(ms)
until grep -q 'next expiry' "$tmp/loop.log" && grep -q 'listening on' "$tmp/serve.log"; do
	kill -0 "$loop" 2>/dev/null || fail "enforce loop exited: $(cat "$tmp/loop.log")"
	kill -0 "$srv" 2>/dev/null || fail "serve exited: $(cat "$tmp/serve.log")"
	kill -0 "$sink" 2>/dev/null || fail "the SMTP sink exited"
	[ $(( $(ms) - t )) -lt 10000 ] || fail "not up within 10 s: $(cat "$tmp/loop.log" "$tmp/serve.log")"
	sleep 0.05
done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$')

# ---- every answer carries the security headers; pages allow no inline script ----
hdr() { curl -sS -o /dev/null -D - -X "${2:-GET}" "http://127.0.0.1:$port$1" | tr -d '\r'; }
for path in / /app.js /style.css /dashboard/springfield-k12 /no/such/page /api/v1/session /api/v1/openapi.json; do
	h=$(hdr "$path")
	grep -qi "^x-content-type-options: nosniff$" <<<"$h" || fail "$path: no nosniff: $h"
	grep -qi "^referrer-policy: no-referrer$" <<<"$h" || fail "$path: no Referrer-Policy: $h"
	grep -qi "^content-security-policy: .*frame-ancestors 'none'" <<<"$h" || fail "$path: no frame-ancestors 'none': $h"
	if grep -qi '^content-type: text/html' <<<"$h"; then
		csp=$(grep -i '^content-security-policy:' <<<"$h")
		grep -q "script-src 'self';" <<<"$csp" || fail "$path: script-src is not 'self' only: $csp"
		grep -q "unsafe-inline\|unsafe-eval" <<<"$csp" && fail "$path: the CSP allows inline script: $csp"
	fi
done
grep -q '^HTTP/1.1 200' <<<"$(hdr /queue)" || fail "a page's address is not 200"
grep -q '^HTTP/1.1 404' <<<"$(hdr /no/such/page)" || fail "an unknown address is not 404"
grep -q '^HTTP/1.1 404' <<<"$(hdr /index.html)" || fail "/index.html is served under its own name"
grep -q '^HTTP/1.1 405' <<<"$(hdr /app.js POST)" || fail "POST to a page is not 405"
grep -qi '^content-type: text/javascript' <<<"$(hdr /app.js)" || fail "app.js is not served as JavaScript"
grep -q '^HTTP/1.1 404' <<<"$(hdr /api/v1/nope)" || fail "the API's unknown resource is not its 404"
grep -qi '^content-type: application/json' <<<"$(hdr /api/v1/nope)" || fail "the API's 404 is not JSON"
# the pages hold no inline script and load nothing from another host
grep -q '<script>' "$here/web/index.html" && fail "web/index.html has an inline script"
grep -rqE '(src|href)="(https?:)?//' "$here/web" && fail "web/ loads something from another host"
grep -rn 'innerHTML\|outerHTML\|insertAdjacentHTML\|document.write' "$here/web" && fail "web/ builds HTML from strings"

# swaks from an org address to the outside receiver: "ok" or "refused".
cat >"$tmp/smtp.sh" <<SH
#!/bin/bash
ip netns exec "$NS_ORG" swaks --server "$OUT_MX4" --port 25 --local-interface "\$1" --timeout 3 \
	--from it@springfield.example --to postmaster@out.example --body "portal test from \$1" \
	>>"$tmp/swaks.log" 2>&1 && echo ok || echo refused
SH
chmod +x "$tmp/smtp.sh"
# before any sign-up nothing is blocked (the receiver may still be starting)
t=$(ms)
until [ "$("$tmp/smtp.sh" "$ORG_WS4")" = ok ]; do
	[ $(( $(ms) - t )) -lt 10000 ] || fail "before any sign-up the workstation's mail should pass: $(tail -5 "$tmp/swaks.log")"
	sleep 0.2
done

shots=${PORT25_SHOTS:-$tmp/shots}
mkdir -p "$shots" || fail "PORT25_SHOTS=$shots: cannot create it"
TODAY=$today DAY2=$day2 BASE="http://127.0.0.1:$port" PASSWORD="$pw" EVIL="$evil" SMTP="$tmp/smtp.sh" MX="$ORG_MX4" WS="$ORG_WS4" \
	SHOTS="$shots" node "$here/tests/browser/portal.mjs" ||
	fail "the browser journeys failed (serve log: $(tail -20 "$tmp/serve.log"))"
for name in dashboard signup request queue explain analysis orgs not-found phone; do
	[ -s "$shots/portal-$name.png" ] || fail "no screenshot $shots/portal-$name.png"
done
grep -q "^from $ORG_MX4" "$tmp/sink.log" || fail "the registered server's message did not arrive: $(cat "$tmp/sink.log")"
grep -q "^from $ORG_WS4" "$tmp/sink.log" || fail "the workstation's message before the sign-up did not arrive"
[ "$(grep -c "^from $ORG_WS4" "$tmp/sink.log")" = 1 ] || fail "a workstation's message got through after the block"
# every change was made over the API by the people in the browser
for who in "mia POST /api/v1/requests 201" "oscar POST /api/v1/requests/1/approve 200" "oscar POST /api/v1/requests/1/apply 200"; do
	grep -q " $who " "$tmp/serve.log" || fail "access log lacks '$who'"
done
echo ok
