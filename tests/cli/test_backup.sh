#!/bin/bash
# Records (issue 14): `port25 backup` copies the registry while another
# process keeps writing to it (WAL), as one consistent snapshot; `port25
# restore` brings it back after its checks, and refuses a file that is not a
# port25 registry, one of a newer schema, a corrupt one, or the registry
# itself, changing nothing; `audit` names the organization and address of
# each change and filters by --org, --since, --actor and --kind.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
tmp=$(mktemp -d)
writer=
cleanup() {
	[ -n "$writer" ] && kill "$writer" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=dana
unset PORT25_ENFORCE 2>/dev/null || true

. "$(dirname "$0")/lib/expect.sh"
P=$PORT25
sql() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"; }

$P init >/dev/null
$P org add k12 --name K12 >/dev/null
$P prefix add k12 10.0.0.0/8 >/dev/null
$P org add county --name County >/dev/null
$P prefix add county 198.51.100.0/24 >/dev/null
PORT25_ACTOR=bob $P permit add county 198.51.100.25 --kind mail --description mx >/dev/null

# A writer adds permits as fast as it can while the backup is taken.
(
	i=0
	while :; do
		i=$((i + 1))
		PORT25_ACTOR=writer "$P" permit add k12 "10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256))" \
			--kind mail --description "w$i" >/dev/null 2>&1 || true
	done
) &
writer=$!
t=0
until [ "$(sql "$PORT25_DB" 'SELECT count(*) FROM permit')" -gt 20 ]; do
	t=$((t + 1)); [ "$t" -lt 200 ] || { fail "the writer wrote nothing"; break; }
	sleep 0.05
done
ok "backed up .* to $tmp/b1.db" $P backup "$tmp/b1.db"
ok "backed up" $P backup "$tmp/b2.db"
kill "$writer"; wait "$writer" 2>/dev/null || true; writer=
[ "$(stat -c %a "$tmp/b1.db")" = 600 ] || fail "backup mode $(stat -c %a "$tmp/b1.db"), wanted 600"
[ -e "$tmp/b1.db-wal" ] && fail "the backup left a -wal beside it"
for b in b1 b2; do
	[ "$(sql "$tmp/$b.db" 'PRAGMA integrity_check')" = ok ] || fail "$b: integrity check"
	# A consistent snapshot: every permit with its audit record and change record, no half transaction.
	np=$(sql "$tmp/$b.db" "SELECT count(*) FROM permit")
	na=$(sql "$tmp/$b.db" "SELECT count(*) FROM audit WHERE action = 'permit.add'")
	nc=$(sql "$tmp/$b.db" "SELECT count(*) FROM change WHERE kind = 'permit-added'")
	[ "$np" = "$na" ] && [ "$na" = "$nc" ] || fail "$b: $np permits, $na audit records, $nc changes"
done
[ "$(sql "$tmp/b2.db" 'SELECT count(*) FROM permit')" -ge "$(sql "$tmp/b1.db" 'SELECT count(*) FROM permit')" ] ||
	fail "the second backup is older than the first"

# Restore: what was there is back; the restore is audited; the stream goes on.
n1=$(sql "$tmp/b1.db" 'SELECT count(*) FROM permit')
seq_before=$(sql "$PORT25_DB" 'SELECT max(seq) FROM change')
$P org remove county --force >/dev/null
ok "restored .* from $tmp/b1.db: schema version [0-9]+, 2 organizations, $n1 permits" $P restore "$tmp/b1.db"
ok 'county' $P org list
[ "$(sql "$PORT25_DB" 'SELECT count(*) FROM permit')" = "$n1" ] || fail "restore did not bring back $n1 permits"
[ "$(sql "$PORT25_DB" 'SELECT max(seq) FROM change')" -gt "$seq_before" ] || fail "the change stream went back"
ok "dana +import .*b1.db" $P audit --limit 1
[ "$(sql "$PORT25_DB" 'PRAGMA journal_mode')" = wal ] || fail "the registry left WAL mode"

# Refused, changing nothing.
before=$(sql "$PORT25_DB" 'SELECT count(*) FROM audit')
echo 'org,address' >"$tmp/not.db"
refused "not.db: not a port25 registry" $P restore "$tmp/not.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$tmp/other.db"
refused "other.db: not a port25 registry \(no table 'org'" $P restore "$tmp/other.db"
cp "$tmp/b1.db" "$tmp/newer.db"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA user_version = 999"); c.commit()' "$tmp/newer.db"
refused "newer.db: its schema version 999 is newer than this port25 understands" $P restore "$tmp/newer.db"
cp "$tmp/b1.db" "$tmp/torn.db"
truncate -s 8192 "$tmp/torn.db"
refused "torn.db" $P restore "$tmp/torn.db"
refused "cannot read the backup" $P restore "$tmp/missing.db"
refused "is the registry itself" $P restore "$PORT25_DB"
refused "is the registry itself" $P backup "$PORT25_DB"
[ "$(sql "$PORT25_DB" 'SELECT count(*) FROM audit')" = "$before" ] || fail "a refused restore changed the registry"
# A backup restores onto a new machine: a registry that does not exist yet.
PORT25_DB=$tmp/new/reg.db ok "restored" $P restore "$tmp/b1.db"
PORT25_DB=$tmp/new/reg.db ok 'county' $P org list

# audit: the organization and address of each change, and the filters.
$P permit add k12 10.250.0.1 --kind mail --description mx >/dev/null
PORT25_NOW=2026-11-25T10:00:00Z PORT25_ACTOR=carol $P permit add county 198.51.100.26 --kind mail --description mx2 >/dev/null
ok '^[0-9]+ +2026-11-25T10:00:00Z +carol +permit.add +county +198\.51\.100\.26 ' $P audit --limit 1
out=$($P audit --org county --limit 0)
grep -q ' k12 ' <<<"$out" && fail "audit --org county lists k12: $out"
grep -q '198.51.100.25' <<<"$out" || fail "audit --org county lacks bob's permit: $out"
out=$(PORT25_NOW=2026-11-25T12:00:00Z $P audit --since 1d --limit 0)
[ "$(grep -c 'permit.add' <<<"$out")" = 1 ] || fail "audit --since 1d: $out"
ok 'carol' $P audit --since 2026-11-25
out=$($P audit --actor bob --limit 0)
grep -q 'carol\|dana' <<<"$out" && fail "audit --actor bob lists others: $out"
grep -q '198.51.100.25' <<<"$out" || fail "audit --actor bob: $out"
out=$($P audit --kind org --limit 0)
grep -q 'permit.add' <<<"$out" && fail "audit --kind org lists permits: $out"
grep -qE 'org.add +county' <<<"$out" || fail "audit --kind org: $out"
$P org add gone --name Gone >/dev/null
$P org remove gone >/dev/null
ok 'org.remove +gone' $P audit --kind org-removed
refused "unknown kind 'permits'" $P audit --kind permits
expect 2 "--since 'yesterday'" $P audit --since yesterday

# The tables of serve and the mail loop: a backup keeps accounts, tokens,
# sessions, the outbox and the analyses; a restore brings them back but does
# not undo what happened since the backup: a token revoked or an account
# disabled stays so, a notice sent is not sent again, and every login ends.
export PORT25_DB=$tmp/mail.db
$P init >/dev/null
$P org add k12 --name K12 >/dev/null
echo 'correct horse battery' | $P user add ops --role operator --password-stdin >/dev/null
echo 'correct horse battery' | $P user add aud --role auditor --password-stdin >/dev/null
$P token add --user ops --description one >/dev/null
$P token add --user ops --description two >/dev/null
sqlite3 "$PORT25_DB" "INSERT INTO session (account_id, hash, csrf, source, created, last_seen, expires)
	SELECT id, 'h1', 'c1', '127.0.0.1', '2026-11-23T10:00:00Z', '2026-11-23T10:00:00Z', '2026-11-24T10:00:00Z' FROM account WHERE name = 'ops';
INSERT INTO notice (message_id, template, org, recipient, data, state, created)
	VALUES ('<m1@t>', 'request-applied', 'k12', 'a@k12.example', '{}', 'queued', '2026-11-23T10:00:00Z'),
	       ('<m2@t>', 'request-applied', 'k12', 'a@k12.example', '{}', 'queued', '2026-11-23T10:00:00Z');
INSERT INTO analysis (org_id, at, actor, hosts, unregistered)
	SELECT id, '2026-11-23T10:00:00Z', 'dana', 3, '[\"10.0.0.5\"]' FROM org WHERE handle = 'k12';"
ok 'backed up' $P backup "$tmp/mail-b.db"
for t in account api_token session notice analysis; do
	[ "$(sql "$tmp/mail-b.db" "SELECT count(*) FROM $t")" -gt 0 ] || fail "the backup lacks the $t rows"
done
# Since the backup: token 1 revoked, aud disabled, notice m1 sent.
$P token revoke 1 >/dev/null
$P user set aud --disable >/dev/null
sqlite3 "$PORT25_DB" "UPDATE notice SET state = 'sent', sent = '2026-11-23T10:05:00Z', smtp_code = 250, attempts = 1 WHERE message_id = '<m1@t>'"
ok '"sessions_ended": 1' $P restore "$tmp/mail-b.db" --json
$P --json restore "$tmp/mail-b.db" | jq -e '.tokens_revoked_since == 1 and .accounts_disabled_since == 1 and .notices_settled_since == 1' >/dev/null ||
	fail "restore: what happened since the backup was not carried over: $($P --json restore "$tmp/mail-b.db")"
$P --json token list | jq -e '(map(select(.id == 1))[0].revoked != null) and (map(select(.id == 2))[0].revoked == null)' >/dev/null ||
	fail "restore: token 1 is valid again: $($P --json token list)"
$P --json user show aud | jq -e '.disabled == true' >/dev/null || fail "restore: aud is enabled again"
[ "$(sql "$PORT25_DB" "SELECT state || ' ' || smtp_code FROM notice WHERE message_id = '<m1@t>'")" = "sent 250" ] ||
	fail "restore: the sent notice is queued again"
[ "$(sql "$PORT25_DB" "SELECT state FROM notice WHERE message_id = '<m2@t>'")" = queued ] ||
	fail "restore: the unsent notice is not queued"
[ "$(sql "$PORT25_DB" 'SELECT count(*) FROM session')" = 0 ] || fail "restore: the backup's sessions are live"
[ "$(sql "$PORT25_DB" 'SELECT count(*) FROM analysis')" = 1 ] || fail "restore: the analysis is gone"
[ "$(sql "$PORT25_DB" 'SELECT count(*) FROM account')" = 2 ] || fail "restore: the accounts are gone"
# audit --kind names serve's records too (they were refused as unknown kinds).
# (The restore took the audit log back to the backup; its own record counts what it kept.)
ok '"tokens_revoked_since": 1' $P audit --limit 1 --json
$P token revoke 2 >/dev/null
$P user set ops --name Ops >/dev/null
ok 'token\.revoke +- +- +2' $P audit --kind token
ok 'token\.revoke +- +- +2' $P audit --kind token.revoke
out=$($P audit --kind token --limit 0)
grep -q 'user\.' <<<"$out" && fail "audit --kind token lists users: $out"
ok 'user\.set +- +- +ops' $P audit --kind user
refused "unknown kind 'tokens'" $P audit --kind tokens
# export is not a backup: it says nothing of accounts, tokens or the outbox.
$P export --json | jq -e 'has("accounts") or has("tokens") or has("notices") | not' >/dev/null ||
	fail "export carries serve's or the mail loop's tables"

finish "backup: all passed"
