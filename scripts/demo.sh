#!/bin/bash
# The README's demo: load the bundled sample registry, show the operator's
# daily views, explain a few decisions, examine a capture of the members'
# SMTP traffic before blocking, and compile every target.
# Results land in demo-out/.  PORT25_NOW fixes "now" so the demo reads the
# same on any day; unset it (PORT25_NOW= make demo) to use the clock.
set -euo pipefail
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
port25="$top/$BUILD/port25"
out="$top/demo-out"
export PORT25_NOW=${PORT25_NOW-2026-11-23T12:00:00Z}
export PORT25_DB="$out/port25.db"
export PORT25_ACTOR=demo
rm -rf "$out"
mkdir -p "$out"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ port25 %s\n' "$*"; "$port25" "$@"; }

step "Create the registry and load the sample members"
run init
run import data/demo/registry.json
run request submit shelby-county --type add-permit \
	--server '198.51.100.77,application-server,tax office statement mailer' \
	--requested-by 'Dana Ortiz' --note 'missed server found by the pre-block review'

step "Organizations and their enrollment"
run org list
step "Permitted senders"
run permit list
step "Temporary variances ending within 14 days (and expired ones)"
run permit list --expiring 14d
step "Requests past the 48-hour promise (variances; a sign-up is scheduled instead)"
run request list --overdue
step "A sign-up, approved and applied: its servers now, its block at the time agreed with the member"
run request approve 2
run request apply 2 --at 2026-11-24T06:00:00Z
run org list --upcoming
step "Why is an address blocked or not?"
run explain 192.0.2.10 192.0.2.50 192.0.2.41 2001:db8:300::99 203.0.113.140 192.0.2.200

step "Examine the SMTP traffic before blocking"
# Three days of edge traffic (data/demo/traffic.pcap.gz, made by
# tests/tools/gen_demo_traffic.c): who speaks SMTP, what the block would do
# to each host, and which blocked hosts look like mail servers to register first.
run analyze data/demo/traffic.pcap.gz --html "$out/analysis.html" \
	--suggest "$out/suggested-permits.csv"
echo "(report page: $out/analysis.html)"
step "The servers to register, as an import file for review"
cat "$out/suggested-permits.csv"
run import --dry-run "$out/suggested-permits.csv"

step "Compile every target"
for t in nftables iptables cisco-ios junos pf; do
	run compile --target "$t" -o "$out/port25.$t"
done
ls -l "$out"
step "nftables ruleset (first 40 lines of $out/port25.nftables)"
head -40 "$out/port25.nftables"
echo
echo "demo: done; registry in $PORT25_DB, configurations in $out/"
