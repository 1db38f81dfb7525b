#!/bin/bash
# port25 user and port25 token: accounts of port25 serve and their API tokens
# at the shell (the operator's), bad input refused with a message naming it
# and nothing changed, a token shown once and kept only as a hash.
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
$P org add county --name County >/dev/null

expect 0 'user alice added \(member\)' sh -c "echo 'correct horse battery' | $P user add alice --role member --org k12 --password-stdin"
expect 1 "orgs: a member acts for one or more organizations" $P user add bob --role member
expect 1 "organizations are for members only" $P user add aud --role auditor --org k12
expect 1 "no organization 'nope'" $P user add bob --role member --org nope
expect 1 "role: 'admin' is not operator, member or auditor" $P user add bob --role admin
expect 1 "not a valid user name" $P user add --role auditor -- -bob
expect 1 "user 'alice' already exists" $P user add alice --role auditor
expect 1 "password: 5 characters; it takes 10 to 1024" sh -c "echo short | $P user add bob --role auditor --password-stdin"
expect 2 "--role is required" $P user add bob
[ "$($P --json user list | jq length)" = 1 ] || fail "a refused user add changed something"
expect 0 'user aud added' $P user add aud --role auditor
# the hash is kept, never the password
$P --json user show alice | jq -e '.password == true and .orgs == ["k12"]' >/dev/null || fail "user show alice"
sqlite3 "$PORT25_DB" "SELECT password FROM account WHERE name = 'alice'" | grep -q '^\$argon2id\$' || fail "no Argon2id hash stored"
sqlite3 "$PORT25_DB" "SELECT password FROM account" | grep -q 'correct horse' && fail "password stored in the clear"
expect 0 'user alice changed' $P user set alice --org k12 --org county
$P --json user show alice | jq -e '.orgs == ["county", "k12"]' >/dev/null || fail "orgs not replaced"
expect 1 "nothing to change" $P user set alice
expect 1 "no user 'nobody'" $P user set nobody --disable

# tokens: printed once, stored as a hash, revocable once
out=$($P token add --user alice --read-only --allow 192.0.2.0/24 --allow 2001:db8::/32 --expires 30d --description ci)
secret=$(grep -o 'p25_[A-Za-z0-9_-]*' <<<"$out")
[ ${#secret} = 47 ] || fail "token is not p25_ and 43 characters: $out"
sqlite3 "$PORT25_DB" .dump | grep -q "${secret:4}" && fail "token secret stored"
$P --json token list | jq -e '.[0] | .read_only and .status == "active" and .allowed_sources == ["192.0.2.0/24", "2001:db8::/32"] and .expires == "2026-12-23T10:00:00Z"' >/dev/null || fail "token list"
expect 1 "allowed_sources: " $P token add --user alice --allow 192.0.2.0/33
expect 1 "expires: the time is past" $P token add --user alice --expires 2020-01-01
expect 1 "no user 'nobody'" $P token add --user nobody
expect 2 "--user is required" $P token add
expect 0 'token 1 revoked' $P token revoke 1
expect 1 'token 1 is already revoked' $P token revoke 1
expect 1 'no token 9' $P token revoke 9
expect 2 'not a token id' $P token revoke x
$P --json token list | jq -e '.[0].status == "revoked" and .[0].revoked_by == "tester"' >/dev/null || fail "revoked token listed"
expect 0 'token\.revoke' $P audit --limit 1
expect 0 'removed, with its sessions and tokens' $P user remove alice
[ "$($P --json token list | jq length)" = 0 ] || fail "tokens outlived their user"
expect 0 'user\.remove' $P audit --limit 1

# The global options after the command work for the commands of serve and
# the mail loop too (issue 14's rule; these parsed their own options and
# refused --db and --actor as unknown).
other=$tmp/other.db
PORT25_DB=$other $P init >/dev/null
expect 0 'user zed added' sh -c "echo 'correct horse battery' | $P user add zed --role operator --password-stdin --db $other --actor ann"
PORT25_DB=$other expect 0 'ann +user\.add +- +- +zed' $P audit --limit 1
$P --json user list | jq -e 'map(.name) | index("zed") == null' >/dev/null || fail "user add --db wrote to \$PORT25_DB"
expect 0 'zed' $P user list --db "$other"
expect 0 'zed' $P user show zed --db "$other"
expect 0 'token 1 for zed' $P token add --user zed --db "$other" --actor ann
expect 0 '"id": 1' $P token list --json --db "$other"
expect 0 '\(none\)' $P notices list --db "$other"
expect 0 '' $P campaign list --db "$other"
expect 0 '\(none\)' $P verify-inbox list --db "$other"
# A bare date of the mail loop and of tokens is read in the operator's time
# zone like --expires of a permit, shown back in UTC, and refused while the
# zone is unusable (it was taken as UTC without a word).
echo 'timezone = MST7MDT,M3.2.0,M11.1.0' >"$tmp/tz.conf"
PORT25_CONFIG=$tmp/tz.conf expect 0 'expires 2027-01-01T06:59:59Z \(the end of 2026-12-31 in MST7MDT' \
	$P token add --user zed --expires 2026-12-31 --db "$other"
PORT25_DB=$other $P org add k12 --name K12 >/dev/null
PORT25_DB=$other $P contact add k12 --name Sec --email sec@k12.example --role security >/dev/null
PORT25_CONFIG=$tmp/tz.conf expect 0 'campaign 1 started: 1 organizations, deadline 2027-01-01T06:59:59Z \(the end of 2026-12-31 in MST7MDT' \
	$P campaign start --template campaign-reminder --deadline 2026-12-31 --db "$other"
echo 'timezone = Mars/Olympus' >"$tmp/tz.conf"
PORT25_CONFIG=$tmp/tz.conf expect 2 "--expires 2026-12-31: a date without a time is read in the operator's time zone, which is not usable" \
	$P token add --user zed --expires 2026-12-31 --db "$other"
PORT25_CONFIG=$tmp/tz.conf expect 2 "--deadline 2026-12-31: a date without a time" \
	$P campaign start --template campaign-reminder --deadline 2026-12-31 --db "$other"
[ "$($P --json token list --db "$other" | jq length)" = 2 ] || fail "a refused token add made a token"
[ "$($P --json campaign list --db "$other" | jq length)" = 1 ] || fail "a refused campaign start made a campaign"
PORT25_CONFIG=$tmp/tz.conf expect 0 'expires 2026-12-31T18:00:00Z$' \
	$P token add --user zed --expires 2026-12-31T18:00:00Z --db "$other"
# serve reads --db and goes on to its own settings (refusing this one) instead of --db.
expect 2 "serve-listen: 'nope' is not ADDRESS:PORT" $P serve --listen nope --db "$other"

finish "ok"
