#!/bin/bash
# port25 serve over TLS natively (serve-tls-cert, serve-tls-key: GnuTLS through
# libmicrohttpd): a certificate made here for 127.0.0.1, a real HTTPS client
# that verifies it, HSTS on the answers, plain HTTP refused on the TLS port,
# settings from the configuration file, and bad TLS settings refused at start
# naming the key.  Loopback only, a port picked free by the server.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in openssl curl; do command -v "$tool" >/dev/null || fail "test_serve_tls.sh needs $tool"; done
tmp=$(mktemp -d)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB=$tmp/reg.db PORT25_ACTOR=setup PORT25_CONFIG=$tmp/port25.conf
unset PORT25_NOW PORT25_ENFORCE
P=$PORT25

$P init >/dev/null
$P user add oscar --role operator >/dev/null
tok=$($P token add --user oscar | grep -o 'p25_[A-Za-z0-9_-]*')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
cat >"$tmp/port25.conf" <<EOF2
registry = $tmp/reg.db
serve-listen = 127.0.0.1:0
serve-tls-cert = $tmp/cert.pem
serve-tls-key = $tmp/key.pem
EOF2

"$P" serve 2>"$tmp/serve.log" &
srv=$!
for _ in $(seq 200); do grep -q 'listening on' "$tmp/serve.log" && break; kill -0 "$srv" 2>/dev/null || break; sleep 0.05; done
grep -q 'listening on https://127.0.0.1:' "$tmp/serve.log" || fail "no HTTPS listener: $(cat "$tmp/serve.log")"
port=$(grep -o 'listening on https://127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$')

out=$(curl -sS --cacert "$tmp/cert.pem" -D "$tmp/head" -H "Authorization: Bearer $tok" "https://127.0.0.1:$port/api/v1/session")
grep -q '"user":"oscar"' <<<"$out" || fail "session over TLS: $out"
grep -qi '^strict-transport-security: max-age=' "$tmp/head" || fail "no HSTS: $(cat "$tmp/head")"
# a client that does not trust the certificate refuses it; plain HTTP gets no answer
curl -sS -o /dev/null "https://127.0.0.1:$port/api/v1/openapi.json" 2>/dev/null && fail "an unverified certificate was accepted"
code=$(curl -sS -m 3 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/openapi.json" 2>/dev/null || true)
[ "$code" != 200 ] || fail "plain HTTP answered on the TLS port"
kill -TERM "$srv"
wait "$srv" || fail "serve exited $? on SIGTERM"
srv=

# bad settings: refused at start, naming what is wrong (options first, without the file)
mv "$tmp/port25.conf" "$tmp/tls.conf"
rc=0; "$P" serve --listen 127.0.0.1:0 --tls-cert "$tmp/cert.pem" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 3 ] && grep -q 'serve-tls-key' "$tmp/err" || fail "a certificate without its key: exit $rc $(cat "$tmp/err")"
rc=0; "$P" serve --tls-cert "$tmp/nope.pem" --tls-key "$tmp/key.pem" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 3 ] && grep -q "serve-tls-cert: $tmp/nope.pem: No such file" "$tmp/err" || fail "a missing certificate: exit $rc $(cat "$tmp/err")"
echo 'not a key' >"$tmp/bad.pem"
rc=0; "$P" serve --tls-cert "$tmp/cert.pem" --tls-key "$tmp/bad.pem" >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 3 ] && grep -q 'serve-tls-key: .*not a PEM file' "$tmp/err" || fail "a key that is no PEM: exit $rc $(cat "$tmp/err")"
rc=0; "$P" serve --listen 300.0.0.1:80 >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] && grep -q 'serve-listen' "$tmp/err" || fail "a bad listen address: exit $rc $(cat "$tmp/err")"
rc=0; "$P" serve --proxy-user-header X-Remote-User >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] && grep -q 'needs serve-trusted-proxies' "$tmp/err" || fail "a user header without proxies: exit $rc $(cat "$tmp/err")"
mv "$tmp/tls.conf" "$tmp/port25.conf"
echo 'serve-max-body = lots' >>"$tmp/port25.conf"
rc=0; "$P" serve >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] && grep -q "port25.conf:5: serve-max-body: 'lots'" "$tmp/err" || fail "a bad key in the file: exit $rc $(cat "$tmp/err")"
# A typo of a serve- key is refused too, and [serve] takes the keys without "serve-".
sed -i '$d' "$tmp/port25.conf"
echo 'serve-max-bodi = 1M' >>"$tmp/port25.conf"
rc=0; "$P" serve >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] && grep -q "port25.conf:5: unknown setting 'serve-max-bodi'" "$tmp/err" || fail "a typo in the file: exit $rc $(cat "$tmp/err")"
sed -i '$d' "$tmp/port25.conf"
printf '[serve]\nmax-body = lots\n' >>"$tmp/port25.conf"
rc=0; "$P" serve >/dev/null 2>"$tmp/err" || rc=$?
[ $rc = 2 ] && grep -q "port25.conf:6: serve-max-body: 'lots'" "$tmp/err" || fail "a bad key in [serve]: exit $rc $(cat "$tmp/err")"
echo ok
