#!/bin/bash
# port25 compile end to end: a registry built through the CLI, compiled for
# every target, and the nftables and iptables output checked by the real
# tools (nft -c; ipset restore and iptables-restore --test in a network
# namespace of our own).  Needs root: without it this test fails, never skips.
set -euo pipefail

: "${PORT25:?PORT25 must name the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	fail "test_compile.sh needs root (nft -c, ip netns, ipset, iptables-restore --test)"
fi
for tool in nft ip ipset mknod iptables-restore ip6tables-restore iptables ip6tables; do
	command -v "$tool" >/dev/null || fail "test_compile.sh needs $tool"
done

tmp=$(mktemp -d)
ns=p25test$$
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

export PORT25_DB="$tmp/reg.db"
export PORT25_NOW=2026-11-23T10:00:00Z
export PORT25_ACTOR=test

p() { "$PORT25" "$@"; }

p init >/dev/null
p org add acme --name 'Acme "Corp" */ } ; # evil' --mode both --action reject >/dev/null
p contact add acme --name 'Sec acme' --email sec@acme.example --role security >/dev/null
p org add beta --name 'Beta' --mode outbound --action drop >/dev/null
p contact add beta --name 'Sec beta' --email sec@beta.example --role security >/dev/null
p org add gamma --name 'Gamma' --mode both --action drop >/dev/null
p contact add gamma --name 'Sec gamma' --email sec@gamma.example --role security >/dev/null
p prefix add acme 192.0.2.0/24 >/dev/null
p prefix add acme 2001:db8:1::/48 >/dev/null
p prefix add beta 198.51.100.0/25 >/dev/null
p prefix add beta 198.51.100.128/25 >/dev/null
p prefix add gamma 203.0.113.0/24 >/dev/null
p permit add acme 192.0.2.25 --kind mail --description 'mx "one"' >/dev/null
p permit add acme 192.0.2.26 --kind mail --description 'mx two' >/dev/null
p permit add acme 2001:db8:1::25 --kind mail --description 'mx six' >/dev/null
p permit add beta 198.51.100.10 --kind app --description 'crm' --expires 2026-12-31 >/dev/null
p permit add beta 198.51.100.11 --kind device --description 'old' --expires 2026-12-31 >/dev/null
p permit add gamma 203.0.113.25 --kind mail --description 'pending org' >/dev/null
# activated once their servers are registered (activation wants them first)
p org set acme --enrollment active >/dev/null
p org set beta --enrollment active >/dev/null
p org set gamma --enrollment pending >/dev/null

# --- every target compiles, reports its entry count, and is deterministic
for t in nftables iptables cisco-ios junos pf; do
	p compile --target "$t" >"$tmp/$t.out" 2>"$tmp/$t.err" || fail "$t: compile failed: $(cat "$tmp/$t.err")"
	# an informational line on stderr (stdout carries the configuration), not shaped like an error
	grep -Eq "^compiled $t: [0-9]+ entries( in [0-9] parts)? \(policy at 2026-11-23T10:00:00Z; (valid until [0-9TZ:-]+|no expiry)\)$" "$tmp/$t.err" ||
		fail "$t: no entry count: $(cat "$tmp/$t.err")"
	grep -q '^port25:' "$tmp/$t.err" && fail "$t: the entry count looks like an error: $(cat "$tmp/$t.err")"
	p compile --target "$t" 2>/dev/null | cmp -s - "$tmp/$t.out" || fail "$t: output differs between runs"
	grep -q '203\.0\.113' "$tmp/$t.out" && fail "$t: pending organization gamma was compiled"
	grep -q 'evil' "$tmp/$t.out" && ! grep -q '"Corp"' "$tmp/$t.out" || fail "$t: org name not inert"
done
# two /25 spaces of beta aggregate into one /24; the adjacent permits .25/.26 are not siblings
grep -q '198.51.100.0/24 : jump out_beta' "$tmp/nftables.out" || fail "nftables: beta's space not aggregated"
grep -q '198.51.100.10/31' "$tmp/nftables.out" || fail "nftables: sibling permits not aggregated"

# --- nftables: checked by nft itself, then loaded twice in a namespace (atomic replace)
nft -c -f "$tmp/nftables.out" || fail "nft -c rejected the nftables output"
ip netns add "$ns"
ip netns exec "$ns" nft -f "$tmp/nftables.out" || fail "nft -f failed"
ip netns exec "$ns" nft -f "$tmp/nftables.out" || fail "nft -f failed on reload"
[ "$(ip netns exec "$ns" nft list tables | grep -c 'table inet port25')" = 1 ] || fail "nft: table not replaced"

# --- iptables: parts written with -o, validated and loaded in the namespace
p compile --target iptables -o "$tmp/ipt" 2>/dev/null || fail "iptables -o failed"
for part in ipset rules.v4 rules.v6 hook; do
	[ -s "$tmp/ipt.$part" ] || fail "iptables: part $part not written"
done
ls "$tmp" | grep -q 'tmp' && fail "temporary files left behind"
ip netns exec "$ns" ipset restore -file "$tmp/ipt.ipset" || fail "ipset restore failed"
ip netns exec "$ns" ipset restore -file "$tmp/ipt.ipset" || fail "ipset restore failed on reload"
ip netns exec "$ns" iptables-restore --test --noflush "$tmp/ipt.rules.v4" || fail "iptables-restore --test rejected rules.v4"
ip netns exec "$ns" ip6tables-restore --test --noflush "$tmp/ipt.rules.v6" || fail "ip6tables-restore --test rejected rules.v6"
for i in 1 2; do
	ip netns exec "$ns" iptables-restore --noflush "$tmp/ipt.rules.v4" || fail "iptables-restore failed"
	ip netns exec "$ns" ip6tables-restore --noflush "$tmp/ipt.rules.v6" || fail "ip6tables-restore failed"
	ip netns exec "$ns" sh "$tmp/ipt.hook" || fail "hook failed"
done
[ "$(ip netns exec "$ns" iptables -S FORWARD | grep -c 'PORT25')" = 1 ] || fail "hook not idempotent (v4)"
[ "$(ip netns exec "$ns" ip6tables -S FORWARD | grep -c 'PORT25')" = 1 ] || fail "hook not idempotent (v6)"
[ "$(ip netns exec "$ns" iptables -S PORT25 | grep -c '^-A')" = 3 ] || fail "PORT25 v4 rules not replaced on reload"
ip netns exec "$ns" ipset test port25-permit4 192.0.2.25 2>/dev/null || fail "ipset: permit missing"
ip netns exec "$ns" ipset test port25-out-drop4 198.51.100.77 2>/dev/null || fail "ipset: beta space missing"
if ip netns exec "$ns" ipset list -n | grep -q -- '-new$'; then fail "ipset: temporary set left"; fi

# --- -o over something that is not a regular file: written in place, never replaced.
# A copy of the null device made here (never the system's /dev/null), a symbolic link
# to a regular file, and "-" for standard output.
mknod "$tmp/null" c 1 3
chmod 666 "$tmp/null"
p compile --target nftables -o "$tmp/null" 2>/dev/null || fail "-o on a device node failed"
[ -c "$tmp/null" ] || fail "-o replaced a device node with a regular file"
[ "$(stat -c %t:%T "$tmp/null")" = 1:3 ] || fail "-o changed the device node"
printf 'old\n' >"$tmp/real.nft"
ln -s real.nft "$tmp/link.nft"
p compile --target nftables -o "$tmp/link.nft" 2>/dev/null || fail "-o on a symbolic link failed"
[ -L "$tmp/link.nft" ] || fail "-o replaced a symbolic link with a regular file"
cmp -s "$tmp/real.nft" "$tmp/nftables.out" || fail "-o through a symbolic link: target not written"
p compile --target nftables -o - 2>/dev/null | cmp -s - "$tmp/nftables.out" || fail "-o - is not standard output"
ls "$tmp" | grep -q 'tmp' && fail "temporary files left behind"
# the analyzer's output files go through the same writer
mkdir "$tmp/an"
mknod "$tmp/an/null" c 1 3
p analyze --internal 0.0.0.0/0 --internal ::/0 "$top/tests/data/capture/mix.pcapng" \
	--suggest "$tmp/an/null" --html "$tmp/an/null" >/dev/null 2>&1 || fail "analyze --suggest/--html on a device node failed"
[ -c "$tmp/an/null" ] || fail "analyze replaced a device node with a regular file"
[ "$(ls "$tmp/an")" = null ] || fail "analyze left files beside its output: $(ls "$tmp/an")"

# --- multi-part on stdout: a header per part; --part selects one
p compile --target iptables 2>/dev/null >"$tmp/all"
[ "$(grep -c '^# ==== port25 iptables part' "$tmp/all")" = 4 ] || fail "multi-part headers missing"
p compile --target iptables --part rules.v6 2>/dev/null | cmp -s - "$tmp/ipt.rules.v6" || fail "--part rules.v6 differs from -o output"
p compile --target iptables --part rules.v4 -o "$tmp/only4" 2>/dev/null
cmp -s "$tmp/only4" "$tmp/ipt.rules.v4" || fail "--part with -o must write FILE itself"

# --- --max-entries: refused with exit 1 and nothing written
n=$(sed -n 's/^compiled pf: \([0-9]*\) entries .*/\1/p' "$tmp/pf.err")
[ -n "$n" ] || fail "no entry count for pf"
p compile --target pf --max-entries "$n" -o "$tmp/pf.ok" 2>/dev/null || fail "--max-entries equal to the count refused"
set +e
p compile --target pf --max-entries $((n - 1)) -o "$tmp/pf.big" 2>"$tmp/big.err"; rc=$?
set -e
[ $rc = 1 ] || fail "--max-entries over the limit: exit $rc, want 1"
[ ! -e "$tmp/pf.big" ] || fail "--max-entries over the limit wrote output"
grep -q 'exceed' "$tmp/big.err" || fail "--max-entries: no clear message"

# --- the report with -o: on stdout, stderr silent; --json: target, entries, generated, parts
p compile --target nftables -o "$tmp/r.nft" >"$tmp/r.out" 2>"$tmp/r.err" || fail "compile -o failed"
[ ! -s "$tmp/r.err" ] || fail "compile -o wrote on stderr: $(cat "$tmp/r.err")"
grep -Eq "^compiled nftables: [0-9]+ entries, wrote $tmp/r.nft \(policy at 2026-11-23T10:00:00Z; valid until 2026-12-31T23:59:59Z\)$" "$tmp/r.out" ||
	fail "compile -o: no report on stdout: $(cat "$tmp/r.out")"
nft_n=$(sed -n 's/^compiled nftables: \([0-9]*\) entries.*/\1/p' "$tmp/nftables.err")
p compile --target iptables -o "$tmp/j" --json >"$tmp/j.json" 2>"$tmp/j.err" || fail "compile --json -o failed"
[ ! -s "$tmp/j.err" ] || fail "compile --json wrote on stderr: $(cat "$tmp/j.err")"
jq -e --arg d "$tmp/j" '.target == "iptables" and (.entries | type) == "number" and
	.generated == "2026-11-23T10:00:00Z" and
	[.parts[].file] == [$d + ".ipset", $d + ".rules.v4", $d + ".rules.v6", $d + ".hook"] and
	[.parts[].name] == ["ipset", "rules.v4", "rules.v6", "hook"]' "$tmp/j.json" >/dev/null ||
	fail "compile --json -o: unexpected object: $(cat "$tmp/j.json")"
for part in ipset rules.v4 rules.v6 hook; do
	cmp -s "$tmp/j.$part" "$tmp/ipt.$part" || fail "compile --json -o: $part differs"
	[ "$(jq --arg p "$part" '.parts[] | select(.name == $p) | .bytes' "$tmp/j.json")" = "$(stat -c %s "$tmp/j.$part")" ] ||
		fail "compile --json: bytes of $part"
done
# without -o the parts' text is in the object and stdout carries nothing else (global --json too)
"$PORT25" --json compile --target nftables >"$tmp/g.json" 2>"$tmp/g.err" || fail "--json compile failed"
[ ! -s "$tmp/g.err" ] || fail "--json compile wrote on stderr: $(cat "$tmp/g.err")"
[ "$(jq .entries "$tmp/g.json")" = "$nft_n" ] || fail "--json entries differ from the report line"
jq -j '.parts[0].text' "$tmp/g.json" | cmp -s - "$tmp/nftables.out" || fail "--json compile: text differs from the configuration"

# --- usage errors exit 2, --help exits 0
set +e
p compile >/dev/null 2>&1; [ $? = 2 ] || fail "missing --target: want exit 2"
p compile --target bogus >/dev/null 2>&1; [ $? = 2 ] || fail "unknown target: want exit 2"
p compile --target iptables --part nope >/dev/null 2>&1; [ $? = 2 ] || fail "unknown part: want exit 2"
p compile --target pf --max-entries x >/dev/null 2>&1; [ $? = 2 ] || fail "bad --max-entries: want exit 2"
set -e
p compile --help | grep -q 'usage: port25 compile' || fail "--help"

# --- expired permits leave the output once their time has passed
PORT25_NOW=2027-01-01T00:00:00Z p compile --target pf 2>/dev/null >"$tmp/pf.later"
grep -q '198.51.100.10' "$tmp/pf.later" && fail "expired permit still compiled"
grep -q '198.51.100.10' "$tmp/pf.out" || fail "valid permit missing"

echo "ok"
