#!/bin/bash
# End-to-end: every registry subcommand through the CLI, with exit codes and messages.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
unset PORT25_JSON 2>/dev/null || true

. "$(dirname "$0")/lib/expect.sh"

P=$PORT25

# init and help
ok 'schema version 10' $P init
ok 'schema version 10' $P init
for c in init org prefix contact permit request import export audit; do
	ok 'usage: port25' $P $c --help
done
for c in "org add" "org list" "org show" "org set" "org remove" "prefix add" "prefix list" \
	"prefix remove" "contact add" "contact list" "contact remove" "permit add" "permit list" \
	"permit show" "permit set" "permit remove" "request submit" "request list" "request show" \
	"request approve" "request reject" "request apply" "request verify"; do
	# shellcheck disable=SC2086
	ok "usage: port25 $c" $P $c --help
done
usage 'unknown command' $P org frobnicate
usage 'usage: port25 org' $P org
usage 'unknown option' $P org list --bogus

# organizations
ok "added organization 'k12'" $P org add k12 --name "Springfield Schools"
ok "added organization 'county'" $P org add county --name "Shelby County" --mode both --action drop
refused "organization 'k12' already exists" $P org add k12 --name Again
refused "'Bad_Handle' is not a valid organization handle" $P org add Bad_Handle --name X
usage '--name is required' $P org add lib
usage "--mode 'sideways'" $P org add lib --name L --mode sideways
usage "--action 'bounce'" $P org add lib --name L --action bounce
usage 'missing argument' $P org add --name L
ok 'county +Shelby County +none +both +drop' $P org list
ok '"handle": "county"' $P org list --json
ok '"handle": "k12"' $P --json org list
refused "no organization 'nobody'" $P org show nobody
ok 'updated organization' $P org set k12 --name "Springfield Public Schools" --action drop
usage 'nothing to change' $P org set k12
usage "--enrollment 'done'" $P org set k12 --enrollment done
refused "'k12' cannot become active without a security contact" $P org set k12 --enrollment active

# address space
ok 'added 192.0.2.0/25' $P prefix add k12 192.0.2.0/25 --description "District office"
ok 'added' $P prefix add k12 2001:db8:1::/48
refused "192.0.2.64/26 \(for organization 'county'\) overlaps 192.0.2.0/25 of organization 'k12'" \
	$P prefix add county 192.0.2.64/26
refused "2001:db8:1:5::/64 \(for organization 'county'\) overlaps 2001:db8:1::/48 of organization 'k12'" \
	$P prefix add county 2001:db8:1:5::/64
refused 'must not nest' $P prefix add k12 192.0.2.0/26
refused 'already registered' $P prefix add k12 192.0.2.0/25
refused "'10.1.2.3/16' has host bits set \(the network is 10.1.0.0/16\)" $P prefix add k12 10.1.2.3/16
expect 0 "warning: '10.1.2.3/16' has host bits set; using 10.1.0.0/16" \
	$P prefix add k12 10.1.2.3/16 --normalize
refused "not a valid IPv4 address" $P prefix add k12 300.1.2.0/24
refused "expected a prefix with a length" $P prefix add k12 192.0.2.200
ok 'added' $P prefix add county 192.0.2.128/25
ok 'added' $P prefix add county 2001:db8:2::/48
ok '10.1.0.0/16' $P prefix list --org k12
out=$($P prefix list --org county --json)
grep -q '"prefix": "192.0.2.128/25"' <<<"$out" || fail "prefix list --json: $out"
grep -q '10.1.0.0' <<<"$out" && fail "prefix list --org county shows k12's space"
refused "no organization 'nobody'" $P prefix list --org nobody
ok 'removed prefix 10.1.0.0/16' $P prefix remove 10.1.0.0/16
refused 'prefix 10.1.0.0/16 is not registered' $P prefix remove 10.1.0.0/16

# contacts
ok 'added contact 1' $P contact add k12 --name "Dana W" --email dana@k12.example --role technical
ok 'added contact 2' $P contact add k12 --name "Sec Desk" --email sec@k12.example --phone 555-0100 --role security
refused "'not-an-email' is not an email address" $P contact add k12 --name X --email not-an-email --role security
usage "--role 'boss'" $P contact add k12 --name X --email x@k12.example --role boss
usage 'required' $P contact add k12 --name X
ok 'Sec Desk' $P contact list --org k12
ok '"role": "security"' $P contact list --json
# k12 has no permit yet: activating it would block all its hosts, so it takes a
# confirmation (the permits come below; this part is about its contacts).
refused "organization 'k12' has no valid permit: .*confirm with --no-servers" $P org set k12 --enrollment active
ok 'updated' $P org set k12 --enrollment active --no-servers
refused 'last security contact of active organization' $P contact remove 2
ok 'removed contact 1' $P contact remove 1
refused 'no contact 99' $P contact remove 99
usage "'x' is not a contact id" $P contact remove x

# permits
ok 'added permit 1 for 192.0.2.25' $P permit add k12 192.0.2.25 --kind mail --description "Exchange edge"
refused "192.0.2.25 is already permitted for organization 'k12' \(permit 1\)" \
	$P permit add k12 192.0.2.25 --kind mail --description again
refused "198.51.100.7 is outside the address space of organization 'k12' \(192.0.2.0/25, 2001:db8:1::/48\)" \
	$P permit add k12 198.51.100.7 --kind mail --description x
refused 'wider than /48' $P permit add k12 2001:db8::/40 --kind mail --description x
refused 'outside the address space' $P permit add k12 2001:db8::/40 --kind mail --description x --force
refused 'wider than /24' $P permit add k12 192.0.2.0/23 --kind mail --description x
ok 'added permit 2 for 2001:db8:1:100::/56' $P permit add k12 2001:db8:1:100::/56 --kind mail --description "v6 relays"
refused "has host bits set \(the network is 2001:db8:1:100::/56\)" $P permit add k12 2001:db8:1:101::/56 --kind mail --description x
usage "kind 'printer'" $P permit add k12 192.0.2.26 --kind printer --description x
usage '--kind and --description are required' $P permit add k12 192.0.2.26 --kind mail
usage '--expires' $P permit add k12 192.0.2.26 --kind mail --description x --expires soonish
refused 'already past' $P permit add k12 192.0.2.26 --kind mail --description x --expires 2026-11-01
ok 'added permit 3' $P permit add k12 192.0.2.26 --kind app --description "Student records" \
	--requested-by "Dana W" --expires 7d
ok 'added permit 4' $P permit add k12 192.0.2.27 --kind device --description UPS --approved-by boss \
	--expires 2027-06-30
ok '"approved_by": "boss"' $P permit show 4 --json
ok 'approved_by +tester' $P permit show 1
refused 'no permit 99' $P permit show 99
ok '192.0.2.26 +application-server +expiring +2026-11-30T10:00:00Z' $P permit list
# --expiring: only those, with one warning per permit on stderr.
out=$($P permit list --expiring 14d 2>"$tmp/warn")
grep -q '192.0.2.26' <<<"$out" || fail "permit list --expiring lacks 192.0.2.26: $out"
grep -q '192.0.2.25' <<<"$out" && fail "permit list --expiring shows a permanent permit: $out"
[ "$(grep -c 'warning: permit 3 (192.0.2.26' "$tmp/warn")" = 1 ] || fail "expiring warning: $(cat "$tmp/warn")"
usage '--expiring' $P permit list --expiring fortnight
# A week and a day later the variance has expired by itself.
PORT25_NOW=2026-12-01T10:00:00Z ok '192.0.2.26 +application-server +expired' $P permit list --expired
out=$(PORT25_NOW=2026-12-01T10:00:00Z $P permit list --expired --json)
grep -q '"status": "expired"' <<<"$out" || fail "permit list --expired --json: $out"
grep -q '192.0.2.25' <<<"$out" && fail "permit list --expired shows an active permit"
ok 'updated permit 3' $P permit set 3 --expires 2027-01-31
ok '"expires": "2027-01-31T23:59:59Z"' $P permit show 3 --json
ok 'updated permit 3' $P permit set 3 --expires never
ok '"expires": null' $P permit show 3 --json
usage '--expires is required' $P permit set 3
refused 'no permit 42' $P permit set 42 --expires 30d
ok 'removed permit 4' $P permit remove 4
refused 'no permit 4' $P permit remove 4
refused 'still holds permit' $P prefix remove 192.0.2.0/25
ok 'Exchange edge' $P org show k12
ok '"permits": \[' $P org show k12 --json

# requests
# --server is one CSV record: a description holding commas is quoted, and a
# fourth field is an expiry, never the rest of the description.
usage "--server '192.0.2.130,mail,Relay, north wing': expires: 'north wing': expected an expiry date" \
	$P request submit county --type signup --server "192.0.2.130,mail,Relay, north wing"
ok 'submitted request 1 \(signup for .county.\): agree a time with the member, then port25 request apply 1 --at WHEN' \
	$P request submit county --type signup --server '192.0.2.130,mail,"Relay, north wing"' \
	--server 192.0.2.131 --requested-by "County IT" --note "ticket 42"
ok '"enrollment": "pending"' $P org show county --json
printf 'address,kind,description\n192.0.2.140,app,"Permits system, new"\n' >"$tmp/servers.csv"
ok 'submitted request 2' $P request submit county --type add-permit --file "$tmp/servers.csv"
ok 'submitted request 3' $P request submit k12 --type remove-permit --permit 3 --permit 192.0.2.25
refused 'outside the address space' $P request submit county --type add-permit --server 198.51.100.1,mail,x
refused "organization 'k12' has no permit 77" $P request submit k12 --type remove-permit --permit 77
refused 'needs at least one server' $P request submit county --type add-permit
refused 'already enrolled' $P request submit k12 --type signup --server 192.0.2.30
usage "--type 'upgrade'" $P request submit k12 --type upgrade
usage '--type is required' $P request submit k12 --server 192.0.2.30
refused "no organization 'nobody'" $P request submit nobody --type signup --server 192.0.2.30
ok '2 +county +add-permit +submitted +2026-11-23T10:00:00Z +2026-11-25T10:00:00Z +no +48' $P request list
# Three days later both variances are overdue by 24 hours; the sign-up is
# scheduled with the member, never overdue (issue 14).
PORT25_NOW=2026-11-26T10:00:00Z ok '2 +county +add-permit +submitted .* +yes +-24' $P request list --overdue
out=$(PORT25_NOW=2026-11-26T10:00:00Z $P request list --overdue)
grep -q signup <<<"$out" && fail "a sign-up is listed as overdue: $out"
ok '1 +county +signup +submitted +2026-11-23T10:00:00Z +- +no +-' $P request list
out=$(PORT25_NOW=2026-11-26T10:00:00Z $P request list --overdue --org k12 --json)
grep -q '"overdue": true' <<<"$out" || fail "request list --overdue --json: $out"
grep -q '"org": "county"' <<<"$out" && fail "request list --org k12 shows county"
out=$($P request list --overdue)
grep -q '^(none)' <<<"$out" || fail "nothing is overdue yet: $out"
usage "--status 'done'" $P request list --status done
ok 'Relay, north wing' $P request show 1
ok '"due": null' $P request show 1 --json
ok '"hours_left": 48' $P request show 2 --json
refused 'no request 9' $P request show 9
refused 'request 1 is submitted and cannot be applied' $P request apply 1
ok 'request 1 approved' $P request approve 1
refused 'request 1 is approved and cannot be approved' $P request approve 1
# No security contact: the sign-up is not applied, and nothing changes.
refused "applying request 1: organization 'county' cannot become active without a security contact" \
	$P request apply 1
out=$($P permit list --org county --json)
[ "$out" = "[]" ] || fail "a refused apply created permits: $out"
ok 'added contact' $P contact add county --name "County SOC" --email soc@county.example --role security
ok 'request 1 applied' $P request apply 1
ok '"enrollment": "active"' $P org show county --json
ok '"request_id": 1' $P permit list --org county --json
ok 'request 1 verified' $P request verify 1
ok '1 +county +signup +verified' $P request list --status verified
usage '--reason is required' $P request reject 2
ok 'request 2 rejected' $P request reject 2 --reason "not a mail server"
refused 'request 2 is rejected' $P request approve 2
ok 'approved' $P request approve 3
ok 'applied' $P request apply 3
out=$($P permit list --org k12)
grep -qE '192\.0\.2\.2[56] ' <<<"$out" && fail "remove-permit request left permits: $out"

# import: all or nothing, with the file and line named
cat >"$tmp/good.csv" <<'CSV'
org,address,kind,description,requested_by,approved_by,expires
k12,192.0.2.40,mail,"Relay, ""east""",Dana W,,
k12,192.0.2.41,app,"Grades
notifier",,,30d
CSV
ok 'imported .*good.csv: 0 organizations, 0 prefixes, 0 contacts, 2 permits' $P import "$tmp/good.csv"
ok 'Relay, "east"' $P permit list --org k12
before=$($P export --json)
audit_before=$($P audit --limit 0 --json | grep -c '"id"')
printf 'address,kind,description\n192.0.2.50,mail,ok\n192.0.2.51,mail,ok\n198.51.100.9,mail,bad\n' >"$tmp/bad.csv"
refused "bad.csv: line 4: 198.51.100.9 is outside the address space of organization 'k12'" \
	$P import "$tmp/bad.csv" --org k12
[ "$($P export --json)" = "$before" ] || fail "a rejected import changed the registry"
[ "$($P audit --limit 0 --json | grep -c '"id"')" = "$audit_before" ] || fail "a rejected import was audited"
printf 'address,kind,description\n192.0.2.50,mail,"unterminated\n' >"$tmp/quote.csv"
refused 'quote.csv: line 2: a quoted field is never closed' $P import "$tmp/quote.csv" --org k12
refused 'no organization' $P import "$tmp/bad.csv"
printf '{"org": "k12", "servers": [{"address": "192.0.2.60", "kind": "mail", "description": "x"}]}' >"$tmp/form.txt"
ok '1 permits' $P import "$tmp/form.txt"
printf 'org,address,kind,description\nk12,192.0.2.61,mail,x\n' >"$tmp/form.data"
refused 'form.data: line 1' $P import "$tmp/form.data" --format json
ok 'checked \(nothing written\)' $P import "$tmp/form.data" --format csv --dry-run
ok '1 permits' $P import "$tmp/form.data" --format csv
usage "--format 'xml'" $P import "$tmp/form.data" --format xml
# a missing input file is bad input, not a system error (issue 14)
refused 'cannot open' $P import "$tmp/missing.csv"
usage 'missing argument' $P import

# audit
ok 'permit.add' $P audit --limit 3
out=$($P audit --limit 1 --json)
grep -q '"actor": "tester"' <<<"$out" || fail "audit --json lacks the actor: $out"
grep -q '"action": "import"' <<<"$out" || fail "audit --json: $out"
$P --actor alice org set county --name "Shelby County Government" >/dev/null
out=$($P audit --limit 1 --json)
grep -q '"actor": "alice"' <<<"$out" || fail "audit --actor: $out"
grep -q '"name": "Shelby County"' <<<"$out" || fail "audit before: $out"
grep -q '"name": "Shelby County Government"' <<<"$out" || fail "audit after: $out"
usage "--limit 'many'" $P audit --limit many

# org remove
refused 'still has 2 prefix\(es\)' $P org remove county
ok "removed organization 'county'" $P org remove county --force
refused "no organization 'county'" $P org show county

# the demo registry imports, and export round-trips byte for byte (with the
# audit history the import wrote: the file has none); an export imported
# elsewhere keeps that history record by record, then audits its own import
export PORT25_DB=$tmp/demo.db
ok 'imported .*: 5 organizations' $P import "$top/data/demo/registry.json"
$P export --json >"$tmp/export1.json"
python3 - "$tmp/export1.json" "$top/data/demo/registry.json" <<'PY' || fail "demo export differs from the demo file"
import json, sys
doc = json.load(open(sys.argv[1]))
assert len(doc.pop("audit")) > 10
text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
sys.exit(text != open(sys.argv[2]).read())
PY
PORT25_DB=$tmp/copy.db PORT25_ACTOR=restorer ok 'imported' $P import "$tmp/export1.json"
PORT25_DB=$tmp/copy.db $P export --json >"$tmp/export2.json"
python3 - "$tmp/export1.json" "$tmp/export2.json" <<'PY' || fail "export of the import of an export differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ha, hb = a.pop("audit"), b.pop("audit")
assert a == b, "the registry differs"
assert hb[:len(ha)] == ha, "the audit history was not kept as it was"
assert len(hb) == len(ha) + 1 and hb[-1]["action"] == "import" and hb[-1]["actor"] == "restorer", hb[-1]
PY
refused 'already exists' $P import "$tmp/export1.json"
ok 'valley-libraries +signup +submitted .* +- +no' $P request list
ok '192.0.2.41 .* expired' $P permit list --expired
out=$($P permit list --expiring 14d 2>&1 >/dev/null)
grep -q '192.0.2.40' <<<"$out" || fail "demo: no warning for the expiring variance: $out"

# One set of rules for every way in: a whole-registry document is held to the
# /24 width rule like a CSV row and permit add (issue 5).
export PORT25_DB=$tmp/rules.db
cat >"$tmp/wide.json" <<'JSON'
{"version": 1, "organizations": [{"handle": "a1", "name": "A One", "prefixes": [{"prefix": "10.0.0.0/16"}],
 "permits": [{"address": "10.0.0.0/20", "kind": "mail-server", "description": "whole floor"}]}]}
JSON
refused 'wide.json: organizations\[0\].permits\[0\]: permit 10.0.0.0/20 is wider than /24' $P import "$tmp/wide.json"
[ ! -s "$PORT25_DB" ] || [ "$($P org list --json)" = "[]" ] || fail "a refused document import left organizations"
ok 'imported .*wide.json: 1 organizations, 1 prefixes, 0 contacts, 1 permits' $P import "$tmp/wide.json" --force
ok '10.0.0.0/20' $P permit list --org a1
printf 'org,address,kind,description\na1,10.0.16.0/20,mail,next floor\n' >"$tmp/wide.csv"
refused 'wide.csv: line 2: permit 10.0.16.0/20 is wider than /24' $P import "$tmp/wide.csv"
refused 'permit 10.0.16.0/20 is wider than /24' $P permit add a1 10.0.16.0/20 --kind mail --description x

# An expired variance does not block issuing the address again (issue 6): the
# new permit supersedes it, the audit log keeps it, --expired lists it no more.
export PORT25_DB=$tmp/renew.db
$P init >/dev/null
$P org add lib --name Library >/dev/null
$P prefix add lib 10.9.0.0/24 >/dev/null
ok 'added permit 1 for 10.9.0.177' $P permit add lib 10.9.0.177 --kind app --description temp --expires 2026-11-30
refused "10.9.0.177 is already permitted for organization 'lib' \(permit 1, until 2026-11-30T23:59:59Z; to keep it longer: port25 permit set 1 --expires WHEN\)" \
	$P permit add lib 10.9.0.177 --kind app --description renewed
PORT25_NOW=2026-12-05T10:00:00Z ok '10.9.0.177 .* expired' $P permit list --expired
PORT25_NOW=2026-12-05T10:00:00Z ok 'added permit 2 for 10.9.0.177' $P permit add lib 10.9.0.177 --kind app --description renewed
PORT25_NOW=2026-12-05T10:00:00Z ok '^\(none\)' $P permit list --expired
PORT25_NOW=2026-12-05T10:00:00Z ok '2 +lib +10.9.0.177 +application-server +active +- +renewed' $P permit list
ok 'permit.supersede +lib +10\.9\.0\.177 +1' $P audit --limit 2
out=$($P audit --limit 2 --json)
grep -q '"superseded_by": 2' <<<"$out" || fail "audit: the superseded permit does not name its successor: $out"
grep -q '"expires": "2026-11-30T23:59:59Z"' <<<"$out" || fail "audit: the superseded permit is not kept whole: $out"

# A temporary variance requested stays temporary (issue 11): the expiry of each
# server goes with the request into the permit; what a request does not
# understand is refused, named with the file and line.
export PORT25_DB=$tmp/variance.db
$P init >/dev/null
$P org add springfield-k12 --name Springfield >/dev/null
$P prefix add springfield-k12 192.0.2.0/24 >/dev/null
printf 'address,kind,description,expires\n192.0.2.77,app,Yearbook vendor,2026-12-31\n' >"$tmp/tmpvar.csv"
ok 'submitted request 1' $P request submit springfield-k12 --type add-permit --file "$tmp/tmpvar.csv"
ok '192.0.2.77 +application-server +2026-12-31T23:59:59Z +Yearbook vendor' $P request show 1
ok '"expires": "2026-12-31T23:59:59Z"' $P request show 1 --json
ok 'submitted request 2' $P request submit springfield-k12 --type add-permit --server 192.0.2.15,app,temp,2026-12-31
$P request approve 1 >/dev/null
$P request approve 2 >/dev/null
ok 'applied' $P request apply 1
ok 'applied' $P request apply 2
ok '192.0.2.77 +application-server +active +2026-12-31T23:59:59Z +Yearbook vendor' $P permit list
ok '192.0.2.15 +application-server +active +2026-12-31T23:59:59Z +temp$' $P permit list
PORT25_NOW=2027-01-01T00:00:00Z ok '192.0.2.15 .* expired' $P permit list --expired
printf 'address,kind,description,colour\n192.0.2.78,app,x,red\n' >"$tmp/colour.csv"
refused "colour.csv: line 1: unknown column 'colour' in the header \(expected org \(or organization\), address \(or IP, IP Address, Host\), kind \(or Type\), description \(or Server Name, Purpose, Notes\), expires" \
	$P request submit springfield-k12 --type add-permit --file "$tmp/colour.csv"
printf 'address,kind,description,expires\n192.0.2.78,app,x,\n192.0.2.79,app,y,someday\n' >"$tmp/someday.csv"
refused "someday.csv: line 3: expires: 'someday'" \
	$P request submit springfield-k12 --type add-permit --file "$tmp/someday.csv"
usage "--server '192.0.2.16,app,temp,someday': expires: 'someday'" \
	$P request submit springfield-k12 --type add-permit --server 192.0.2.16,app,temp,someday
usage "one CSV record" $P request submit springfield-k12 --type add-permit --server 192.0.2.16,app,a,30d,extra
refused 'already past' $P request submit springfield-k12 --type add-permit --server 192.0.2.16,app,old,2026-11-01
[ "$($P request list --json | grep -c '"id"')" = 2 ] || fail "a refused request submit was recorded"

# Activation without any permitted server is refused unless confirmed, and warns
# about the unregistered servers the latest analysis of the org found (issue 12).
export PORT25_DB=$tmp/activate.db
$P import "$top/data/demo/registry.json" >/dev/null
$P org add maple-library --name "Maple Library" >/dev/null
$P prefix add maple-library 10.77.0.0/24 >/dev/null
$P contact add maple-library --name Sec --email sec@maple.example --role security >/dev/null
refused "organization 'maple-library' has no valid permit: becoming active would block port 25 for every host of it, its mail servers too .*--no-servers" \
	$P org set maple-library --enrollment active
ok '"enrollment": "none"' $P org show maple-library --json
ok "updated organization 'maple-library'" $P org set maple-library --enrollment active --no-servers
# The demo's traffic: valley-libraries (pending, no permit) runs 203.0.113.140;
# springfield-k12 runs the unregistered 192.0.2.12 and 2001:db8:100::12.
ok 'unregistered-server' $P analyze "$top/data/demo/traffic.pcap.gz" --org valley-libraries
out=$($P org show valley-libraries --json)
python3 - "$out" <<'EOF' || fail "org show: the analysis of valley-libraries is not kept: $out"
import json, sys
a = json.loads(sys.argv[1])["analysis"]
assert a["unregistered"] == ["203.0.113.140"] and a["at"] == "2026-11-23T10:00:00Z", a
EOF
# ... with its report per host, as analyze --json has it, for the member's portal
report=$(sqlite3 "$PORT25_DB" "SELECT report FROM analysis ORDER BY id DESC LIMIT 1")
python3 - "$report" <<'EOF' || fail "the analysis of valley-libraries keeps no report per host: $report"
import json, sys
hosts = {h["address"]: h for h in json.loads(sys.argv[1])}
h = hosts["203.0.113.140"]
assert h["organization"] == "valley-libraries" and h["class"] == "unregistered-server", h
assert h["reasons"] and h["first_seen"] and "smtp_out" in h and "hourly" in h, h
assert all(x["organization"] == "valley-libraries" for x in hosts.values()), hosts.keys()
EOF
ok 'unregistered-server' $P analyze "$top/data/demo/traffic.pcap.gz"
$P request approve 2 >/dev/null
ok 'updated' $P org set springfield-k12 --enrollment suspended
out=$($P org set springfield-k12 --enrollment active 2>&1 >/dev/null) ||
	fail "org set springfield-k12 --enrollment active failed: $out"
grep -qE "^port25: warning: the analysis of organization 'springfield-k12' at 2026-11-23T10:00:00Z found 2 unregistered mail server\(s\) that no valid permit covers, now blocked: 192.0.2.12, 2001:db8:100::12" <<<"$out" ||
	fail "activation without a warning about the analysed servers: $out"
$P permit add springfield-k12 192.0.2.12 --kind mail --description mail3 >/dev/null
$P permit add springfield-k12 2001:db8:100::12 --kind mail --description mail3 >/dev/null
out=$($P org set springfield-k12 --enrollment active 2>&1 >/dev/null) || fail "org set: $out"
[ -z "$out" ] || fail "a warning once every analysed server is permitted: $out"
# A sign-up applied covers what the analysis found (203.0.113.140): no warning.
ok 'Hosted ILS mail relay' $P request show 2
out=$($P request apply 2 2>&1) || fail "request apply 2: $out"
grep -q warning <<<"$out" && fail "a warning though the sign-up permits the analysed server: $out"
ok '"enrollment": "active"' $P org show valley-libraries --json

# The registry holds personal data (issue 15): under umask 022 init makes it
# 0600 and the directories it needs 0750 (issue 13: mkdir -p, not "unable to
# open database file"); a registry others can read is reported on every open.
(
	umask 022
	export PORT25_DB=$tmp/private/var/lib/port25/registry.db
	ok 'ready \(schema version 10\)' $P init
	[ "$(stat -c %a "$PORT25_DB")" = 600 ] || fail "registry mode $(stat -c %a "$PORT25_DB"), wanted 600"
	for d in "$tmp/private/var/lib/port25" "$tmp/private/var/lib" "$tmp/private/var" "$tmp/private"; do
		[ "$(stat -c %a "$d")" = 750 ] || fail "directory $d mode $(stat -c %a "$d"), wanted 750"
	done
	out=$($P org list 2>&1 >/dev/null)
	[ -z "$out" ] || fail "a private registry warned: $out"
	chmod 644 "$PORT25_DB"
	out=$($P org list 2>&1 >/dev/null) || fail "org list on a readable registry failed: $out"
	grep -q "^port25: warning: .*registry.db can be read by every user (mode 0644)" <<<"$out" ||
		fail "no warning about a world-readable registry: $out"
	[ "$failures" = 0 ] || exit 1
) || fail "registry file modes"
# import creates its registry the same way
(umask 022; PORT25_DB=$tmp/imported/reg.db $P import "$top/data/demo/registry.json" >/dev/null) ||
	fail "import into a new directory"
[ "$(stat -c %a "$tmp/imported/reg.db")" = 600 ] || fail "imported registry mode $(stat -c %a "$tmp/imported/reg.db")"

# a registry file that is not one
echo "not a database" >"$tmp/junk.db"
PORT25_DB=$tmp/junk.db expect 3 'junk.db' $P org list
# a mistyped path is an error, never a new empty registry that blocks nothing
PORT25_DB=$tmp/nonesuch.db expect 3 'no registry at .*nonesuch.db' $P org list
PORT25_DB=$tmp/nonesuch.db expect 3 'no registry' $P explain 192.0.2.1
[ ! -e "$tmp/nonesuch.db" ] || fail "org list created $tmp/nonesuch.db"

finish "registry CLI: all passed"
