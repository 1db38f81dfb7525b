#!/bin/bash
# End-to-end: the one reader of port25.conf as the commands meet it.  The
# registry commands read [enforce] (or the flat enforce key) and refuse a
# configuration they cannot read, naming the file and the line; watch reads
# [watch] and the flat keys, and says nothing about enforce = yes.
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PORT25_DB=$tmp/reg.db PORT25_NOW=2026-11-23T10:00:00Z PORT25_ACTOR=tester
export PORT25_CONFIG=$tmp/port25.conf PORT25_RUN_DIR=$tmp/run
unset PORT25_ENFORCE 2>/dev/null || true

. "$(dirname "$0")/lib/expect.sh"
P=$PORT25

$P init >/dev/null
$P org add k12 --name K12 >/dev/null

# The flat keys of configurations before sections still work ...
printf 'registry = %s\nenforce = no\nnflog-group = 25\n' "$PORT25_DB" >"$PORT25_CONFIG"
expect 0 'k12' $P org list
# ... and so does the section.
printf 'registry = %s\n[enforce]\nenabled = no\n[watch]\nnflog-group = off\n' "$PORT25_DB" >"$PORT25_CONFIG"
expect 0 'k12' $P org list
# A value enforce cannot read, a key its section does not have, a section nobody has:
# refused before anything changes, with the file and the line.
printf '# gateway\n[enforce]\nenabled = maybe\n' >"$PORT25_CONFIG"
expect 2 "port25.conf:3: enabled: bad value 'maybe'" $P org add city --name City
printf '[enforce]\nenabeld = yes\n' >"$PORT25_CONFIG"
expect 2 "port25.conf:2: unknown setting 'enabeld' in \[enforce\]" $P org add city --name City
printf 'registry = x\n[enforcement]\n' >"$PORT25_CONFIG"
expect 2 'port25.conf:2: unknown section \[enforcement\]' $P org add city --name City
expect 2 'unknown section' $P org list
printf 'enforce = no\n' >"$PORT25_CONFIG"
$P org list | grep -q city && fail "a refused command changed the registry"

# watch: enforce = yes is another command's key, not a mistake to warn about.
: >"$tmp/acl.log"
printf 'enforce = yes\nflush-interval = 60\ndrop-privileges = no\n' >"$tmp/watch.conf"
out=$($P watch --once --config "$tmp/watch.conf" --syslog-file "$tmp/acl.log" --nflog-group off 2>&1) ||
	fail "watch --once failed: $out"
grep -q "not watch's" <<<"$out" && fail "watch warned about enforce = yes: $out"
# A key of nobody's at the top level is still a warning; in [watch] an error.
printf 'enforce = yes\nflush-intervall = 60\n' >"$tmp/watch.conf"
expect 0 "watch.conf:2: setting 'flush-intervall' is not watch's, ignored" \
	$P watch --once --config "$tmp/watch.conf" --syslog-file "$tmp/acl.log" --nflog-group off
printf '[watch]\nflush-intervall = 60\n' >"$tmp/watch.conf"
expect 2 "watch.conf:2: unknown setting 'flush-intervall' in \[watch\]" \
	$P watch --once --config "$tmp/watch.conf" --syslog-file "$tmp/acl.log" --nflog-group off

finish "ok"
