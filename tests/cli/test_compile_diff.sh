#!/bin/bash
# Router changes an engineer can ticket (issue 14): `compile --diff PREVIOUS`
# prints exactly the lines to remove and add against the file compiled last
# time (comments left out, each under its section); every file says until
# when it is the policy; a temporary permit carries its expiry and
# description in a comment, made inert (hostile text never reaches the
# configuration: nft -c, ipset restore and iptables-restore --test accept it
# in a network namespace of our own); --org writes one member's part and
# --log adds the target's deny logging.
# Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "test_compile_diff.sh needs root (nft -c, ip netns, iptables-restore --test)"
for tool in nft ip ipset iptables-restore ip6tables-restore; do
	command -v "$tool" >/dev/null || fail "test_compile_diff.sh needs $tool"
done

tmp=$(mktemp -d)
ns=p25diff$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db" PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=test
unset PORT25_ENFORCE 2>/dev/null || true
p() { "$PORT25" "$@"; }

p init >/dev/null
p org add k12 --name 'Springfield' >/dev/null
p contact add k12 --name Sec --email sec@k12.example --role security >/dev/null
p prefix add k12 192.0.2.0/26 >/dev/null
p prefix add k12 2001:db8:100::/48 >/dev/null
p permit add k12 192.0.2.10 --kind mail --description 'mx1' >/dev/null
p permit add k12 192.0.2.20 --kind mail --description 'mx2' >/dev/null
p org set k12 --enrollment active >/dev/null
p org add county --name 'County' --action drop >/dev/null
p contact add county --name Sec --email sec@county.example --role security >/dev/null
p prefix add county 198.51.100.0/25 >/dev/null
p permit add county 198.51.100.25 --kind mail --description 'mx' >/dev/null
p org set county --enrollment active >/dev/null

# The file on the router: no expiry yet.
out=$(p compile --target cisco-ios -o "$tmp/edge1.ios")
grep -q 'no expiry' <<<"$out" || fail "report: $out"
grep -q '^! No expiry: no permit in it expires and no activation is scheduled' "$tmp/edge1.ios" ||
	fail "header without its validity: $(head -8 "$tmp/edge1.ios")"

# The week's changes: a server gone, a variance with a hostile description, an IPv6 server.
p permit remove 2 >/dev/null
p permit add k12 192.0.2.30 --kind app --expires 2026-12-31 --description 'Yearbook
end
no ip access-list extended PORT25-OUTBOUND "x" */ } ; # $(reboot)' >/dev/null
p permit add k12 2001:db8:100::25 --kind mail --description 'mx6' >/dev/null

p compile --target cisco-ios --diff "$tmp/edge1.ios" >"$tmp/diff.out" 2>"$tmp/diff.err" || fail "compile --diff: $(cat "$tmp/diff.err")"
cat >"$tmp/want" <<EOF_WANT
# port25 compile --diff $tmp/edge1.ios: lines to remove (-) and add (+), comments left out
@@ ip access-list extended PORT25-OUTBOUND
-  permit tcp host 192.0.2.20 any eq smtp
+  remark temporary 192.0.2.30 (org k12) until 2026-12-31T23:59:59Z: Yearbook_end_no ip access-list extended
+  permit tcp host 192.0.2.30 any eq smtp
@@ ipv6 access-list PORT25-OUTBOUND-V6
+  permit tcp host 2001:db8:100::25 any eq smtp
# 1 to remove, 3 to add
EOF_WANT
diff -u "$tmp/want" "$tmp/diff.out" || fail "compile --diff did not print exactly the lines to remove and add"
[ ! -s "$tmp/diff.err" ] || fail "compile --diff wrote on stderr: $(cat "$tmp/diff.err")"
cmp -s "$tmp/edge1.ios" <(p compile --target cisco-ios --diff "$tmp/edge1.ios" >/dev/null; cat "$tmp/edge1.ios") ||
	fail "--diff without -o changed the previous file"

# With -o the new file replaces the old one, and a second diff is empty.
p compile --target cisco-ios --diff "$tmp/edge1.ios" -o "$tmp/edge1.ios" >"$tmp/d2.out"
grep -q '^+  permit tcp host 192.0.2.30 any eq smtp$' "$tmp/d2.out" || fail "diff with -o: $(cat "$tmp/d2.out")"
grep -q 'compiled cisco-ios: .* wrote .*edge1.ios (policy at 2026-11-23T10:00:00Z; valid until 2026-12-31T23:59:59Z)' "$tmp/d2.out" ||
	fail "diff with -o did not report the file: $(cat "$tmp/d2.out")"
grep -q '^! Valid until 2026-12-31T23:59:59Z: recompile before then (a temporary permit expires)\.$' "$tmp/edge1.ios" ||
	fail "header without its validity: $(head -8 "$tmp/edge1.ios")"
out=$(p compile --target cisco-ios --diff "$tmp/edge1.ios")
grep -q '^# 0 to remove, 0 to add: the configuration is unchanged$' <<<"$out" || fail "an unchanged registry diffs: $out"
# a missing previous file is bad input, not a system error
rc=0; p compile --target cisco-ios --diff "$tmp/nope.ios" >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--diff of a missing file: exit $rc, wanted 1"
# --json: the same lines
out=$(p compile --target junos --diff "$tmp/edge1.ios" --json)
grep -q '"op": "remove"' <<<"$out" || fail "--json diff: $out"

# Multi-part targets diff part by part (PREVIOUS.PART), against files written last time.
p permit remove 5 >/dev/null
p compile --target iptables -o "$tmp/gw" >/dev/null
p permit add k12 192.0.2.41 --kind mail --description 'mx4' >/dev/null
out=$(p compile --target iptables --diff "$tmp/gw")
grep -q '^# ==== part ipset$' <<<"$out" || fail "iptables diff has no ipset part: $out"
grep -q '^+ add port25-permit4-new 192.0.2.41/32$' <<<"$out" || fail "iptables diff: $out"

# Hostile text is inert in every target, which the real tools accept.
ip netns add "$ns"
for t in nftables iptables cisco-ios junos pf; do
	p compile --target "$t" --log -o "$tmp/all.$t" >/dev/null
done
for f in "$tmp"/all.*; do
	grep -q 'reboot)' "$f" && fail "$f: registry text reached the configuration raw"
	grep -qE '^(end|no ip access-list)' "$f" && [ "$(basename "$f")" != all.cisco-ios ] && fail "$f: injected line"
	true
done
[ "$(grep -c '^end$' "$tmp/all.cisco-ios")" = 1 ] || fail "cisco-ios: an injected end"
grep -q '^ deny tcp 192.0.2.0 0.0.0.63 any eq smtp log$' "$tmp/all.cisco-ios" || fail "cisco-ios --log: no deny log"
grep -q 'syslog;' "$tmp/all.junos" || fail "junos --log: no syslog"
grep -q '^block return-rst log quick' "$tmp/all.pf" || fail "pf --log: no log"
grep -q -- '-j NFLOG --nflog-group 25' "$tmp/all.iptables.rules.v4" || fail "iptables --log: no NFLOG"
grep -q '# temporary 192.0.2.30 (org k12) until 2026-12-31T23:59:59Z: Yearbook_end_no' "$tmp/all.nftables" ||
	fail "nftables: no note for the temporary permit"
ip netns exec "$ns" nft -c -f "$tmp/all.nftables" || fail "nft -c refused the output"
ip netns exec "$ns" ipset restore -file "$tmp/all.iptables.ipset" || fail "ipset restore refused the output"
ip netns exec "$ns" iptables-restore --test --noflush "$tmp/all.iptables.rules.v4" || fail "iptables-restore refused the output"
ip netns exec "$ns" ip6tables-restore --test --noflush "$tmp/all.iptables.rules.v6" || fail "ip6tables-restore refused the output"

# One member's part, for the interface its traffic crosses.
out=$(p compile --target cisco-ios --org county 2>/dev/null)
grep -q '^ip access-list extended PORT25-OUTBOUND-COUNTY$' <<<"$out" || fail "--org: ACL not named after the org: $out"
grep -q '192.0.2' <<<"$out" && fail "--org county includes k12's space: $out"
grep -q 'Only the part of organization county' <<<"$out" || fail "--org: header does not say whose part"
rc=0; p compile --target cisco-ios --org nobody >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "--org nobody: exit $rc, wanted 1"

echo "compile diff: ok"
