#!/bin/bash
# End-to-end: a request withdrawn (request cancel) and what the command line
# says where the library gives a hint rather than naming an option.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
unset PORT25_ENFORCE 2>/dev/null || true

. "$(dirname "$0")/lib/expect.sh"
P=$PORT25

$P init >/dev/null
$P org add k12 --name K12 >/dev/null
$P prefix add k12 192.0.2.0/24 >/dev/null
$P contact add k12 --name Sec --email sec@k12.example --role security >/dev/null

# submitted, then approved: both may be withdrawn; nothing of them is applied
ok 'submitted request 1' $P request submit k12 --type add-permit --server 192.0.2.10
ok 'request 1 cancelled' $P request cancel 1
ok 'submitted request 2' $P request submit k12 --type add-permit --server 192.0.2.11
ok 'request 2 approved' $P request approve 2
ok 'request 2 cancelled' $P --actor alice request cancel 2
refused 'request 2 is cancelled and cannot be applied' $P request apply 2
refused 'request 1 is cancelled and cannot be cancelled' $P request cancel 1
refused 'no request 9 \(see port25 request list\)' $P request cancel 9
usage 'missing argument' $P request cancel
[ "$($P --json permit list)" = "[]" ] || fail "a cancelled request created permits"
out=$($P --json request show 2)
grep -q '"status": "cancelled"' <<<"$out" || fail "request 2 not cancelled: $out"
grep -q '"cancelled_by": "alice"' <<<"$out" || fail "request 2: cancelled_by: $out"
ok '^2 +k12 +add-permit +cancelled' $P request list --status cancelled
ok 'request.cancel' $P audit --limit 1
# an applied request is past withdrawing
$P request submit k12 --type add-permit --server 192.0.2.12 >/dev/null
$P request approve 3 >/dev/null
$P request apply 3 >/dev/null
refused 'request 3 is applied and cannot be cancelled' $P request cancel 3
refused 'request 2 is cancelled, not applied: it was cancelled; nothing checked' $P verify --request 2

# an export keeps the cancellation, and its import restores it
$P export --json >"$tmp/export.json"
grep -q '"cancelled_by": "alice"' "$tmp/export.json" || fail "export lost the cancellation"
PORT25_DB=$tmp/copy.db ok 'imported' $P import "$tmp/export.json"
PORT25_DB=$tmp/copy.db $P export --json >"$tmp/export2.json"
# the same registry, the audit history as it was and then the import's own record
python3 - "$tmp/export.json" "$tmp/export2.json" <<'PY' || fail "export of the import differs: $(diff "$tmp/export.json" "$tmp/export2.json")"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
ha, hb = a.pop("audit"), b.pop("audit")
sys.exit(not (a == b and hb[:len(ha)] == ha and len(hb) == len(ha) + 1))
PY

# the library's hints, worded as this command line's options
refused 'a remove-permit request names permits \(--permit ID or ADDRESS\), not servers' \
	$P request submit k12 --type remove-permit --server 192.0.2.9
refused 'a add-permit request lists servers \(--server\), not permits' \
	$P request submit k12 --type add-permit --permit 1
refused "a remove-permit request for 'k12' needs at least one permit \(--permit ID or ADDRESS\)" \
	$P request submit k12 --type remove-permit
refused "organization 'k12' has no permit 42 \(see port25 permit list --org k12\)" \
	$P request submit k12 --type remove-permit --permit 42
refused "no contact 42 \(see port25 contact list\)" $P contact remove 42
refused "'10.1.2.3/16' has host bits set \(the network is 10.1.0.0/16\) \(use --normalize to accept it\)" \
	$P prefix add k12 10.1.2.3/16
refused "organization 'k12' still has 1 prefix\(es\) and 1 permit\(s\); remove them first or use --force" \
	$P org remove k12
printf 'address,kind,description\n192.0.2.20,mail,x\n' >"$tmp/noorg.csv"
refused 'noorg.csv: no organization for its servers \(add an org column or use --org\)' $P import "$tmp/noorg.csv"
printf 'org,address,kind,description\nk12,192.0.2.20,mail,x\n' >"$tmp/k12.csv"
refused "k12.csv: line 2: the row is for organization 'k12' but --org is 'other'" \
	$P import "$tmp/k12.csv" --org other
printf 'address,description\n192.0.2.20,x\n' >"$tmp/nokind.csv"
# a list without kinds: mail servers, as members mean (issue 14)
$P import "$tmp/nokind.csv" --org k12 >/dev/null || { echo "FAIL: a list without a kind column refused"; failures=$((failures + 1)); }
$P permit list --org k12 | grep -qE '192\.0\.2\.20 +mail-server' || { echo "FAIL: the kind did not default to mail-server"; failures=$((failures + 1)); }
usage "verify: --mx '198.51.100.7:0': bad port '0'" $P verify --mx 198.51.100.7:0 --rcpt a@b.example

finish "ok"
