#!/bin/bash
# Intake as members really send it (issue 14): a messy spreadsheet export with
# five mistakes is refused in one run that names every bad row with its line
# (a repeated row names the line it repeats) and imports nothing; the list put
# right goes in; a bare list of addresses, the header names members use, and
# the template all import; a request reads files the same way.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
unset PORT25_ENFORCE 2>/dev/null || true

. "$(dirname "$0")/lib/expect.sh"
P=$PORT25

$P init >/dev/null
$P org add springfield-k12 --name "Springfield Public Schools" >/dev/null
$P prefix add springfield-k12 192.0.2.0/26 >/dev/null
$P prefix add springfield-k12 2001:db8:100::/48 >/dev/null

# What a member sent: their spreadsheet's own headers, CRLF line ends, a
# typo'd address, a server outside their space, an unknown type, a row typed
# twice, a row cut short.
printf '%s\r\n' \
	'IP Address,Server Name,Purpose,Type' \
	'192.0.2.10,mx1.springfield.example,Outbound relay,Mail Server' \
	'192.0.2.11,mx2.springfield.example,Backup relay,mail' \
	'192.0.2.300,mx3.springfield.example,New relay,mail' \
	'198.51.100.7,web.springfield.example,Web forms,Application Server' \
	'192.0.2.12,sis.springfield.example,SIS notices,fax machine' \
	'2001:db8:100::25,mx6.springfield.example,IPv6 relay,' \
	'192.0.2.10,mx1 again,Typed twice,mail' \
	'192.0.2.13,copier' >"$tmp/members.csv"
out=$($P import "$tmp/members.csv" --org springfield-k12 2>&1) && fail "the messy list was imported: $out"
rc=0; $P import "$tmp/members.csv" --org springfield-k12 >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "exit $rc for a bad list, wanted 1"
for want in \
	"members.csv: line 4: .*192\\.0\\.2\\.300" \
	"members.csv: line 5: .*198\\.51\\.100\\.7.*outside" \
	"members.csv: line 6: kind 'fax machine'" \
	"members.csv: line 8: 192\\.0\\.2\\.10 repeats line 2" \
	"members.csv: line 9: expected 4 fields, found 2" \
	"members.csv: 5 rows refused; nothing imported"; do
	grep -qE "^port25: .*$want" <<<"$out" || fail "the run did not report /$want/:"$'\n'"$out"
done
[ "$(grep -c '^port25: ' <<<"$out")" = 6 ] || fail "not one line per bad row and a summary:"$'\n'"$out"
[ "$($P permit list --json | grep -c '"id"' || true)" = 0 ] || fail "a refused list imported something"

# Put right (the member's fixes), it goes in whole; descriptions join the name and purpose.
printf '%s\n' \
	'IP Address,Server Name,Purpose,Type' \
	'192.0.2.10,mx1.springfield.example,Outbound relay,Mail Server' \
	'192.0.2.11,mx2.springfield.example,Backup relay,mail' \
	'192.0.2.30,mx3.springfield.example,New relay,mail' \
	'192.0.2.12,sis.springfield.example,SIS notices,Application Server' \
	'2001:db8:100::25,mx6.springfield.example,IPv6 relay,' >"$tmp/fixed.csv"
ok 'imported .*fixed.csv: .* 5 permits' $P import "$tmp/fixed.csv" --org springfield-k12
ok '192\.0\.2\.10 +mail-server +active +- +mx1\.springfield\.example - Outbound relay' $P permit list
ok '192\.0\.2\.12 +application-server' $P permit list
ok '2001:db8:100::25 +mail-server .*mx6\.springfield\.example - IPv6 relay' $P permit list

# A bare list: one per line or comma-separated, what it is after the address.
printf '# from the help desk ticket\n192.0.2.40, 192.0.2.41\n192.0.2.42 Exchange edge 2\n\n2001:db8:100::26\n' >"$tmp/list.txt"
ok 'imported .*list.txt: .* 4 permits' $P import "$tmp/list.txt" --org springfield-k12
ok '192\.0\.2\.42 +mail-server .*Exchange edge 2' $P permit list
ok '192\.0\.2\.40 +mail-server .*mail-server' $P permit list
printf '192.0.2.43,192.0.2.43\n' >"$tmp/twice.txt"
refused 'twice.txt: line 1: 192\.0\.2\.43 repeats line 1' $P import "$tmp/twice.txt" --org springfield-k12

# The template prints a list to fill in, which imports as it stands.
$P import --template >"$tmp/template.csv"
head -1 "$tmp/template.csv" | grep -q '^address,kind,description,expires$' || fail "template header: $(head -1 "$tmp/template.csv")"
PORT25_DB=$tmp/t.db $P init >/dev/null
PORT25_DB=$tmp/t.db $P org add springfield-k12 --name S >/dev/null
PORT25_DB=$tmp/t.db $P prefix add springfield-k12 192.0.2.0/26 >/dev/null
PORT25_DB=$tmp/t.db $P prefix add springfield-k12 2001:db8:100::/48 >/dev/null
PORT25_DB=$tmp/t.db ok 'imported .* 3 permits' $P import "$tmp/template.csv" --org springfield-k12

# A request reads files through the same mapping.
printf 'Host,Type,Notes\n192.0.2.50,SMTP relay,New relay\n' >"$tmp/req.csv"
ok 'submitted request 1' $P request submit springfield-k12 --type add-permit --file "$tmp/req.csv"
ok '192\.0\.2\.50 +mail-server .*New relay' $P request show 1

finish "intake: all passed"
