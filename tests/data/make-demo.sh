#!/bin/bash
# Rebuilds the demo registry through the CLI, with the times each change happened.
set -euo pipefail
# usage: tests/data/make-demo.sh DB && PORT25_DB=DB build/port25 export > data/demo/registry.json
P=${PORT25:-build/port25}
export PORT25_DB=${1:?usage: make-demo.sh DB}
at() { PORT25_NOW=$1 PORT25_ACTOR=$2 "${@:3}"; }
at 2026-09-01T14:00:00Z noc-jsmith $P init >/dev/null
# Springfield Public Schools: enrolled in October through a sign-up request.
at 2026-09-01T14:05:00Z noc-jsmith $P org add springfield-k12 --name "Springfield Public Schools"
at 2026-09-01T14:06:00Z noc-jsmith $P prefix add springfield-k12 192.0.2.0/26 --description "District office and data center"
at 2026-09-01T14:06:00Z noc-jsmith $P prefix add springfield-k12 10.20.0.0/16 --description "School buildings (NAT inside)"
at 2026-09-01T14:07:00Z noc-jsmith $P prefix add springfield-k12 2001:db8:100::/48 --description "District IPv6"
at 2026-09-01T14:08:00Z noc-jsmith $P contact add springfield-k12 --name "Dana Whitfield" --email security@springfield-k12.example --phone "+1-555-0100" --role security
at 2026-09-01T14:08:00Z noc-jsmith $P contact add springfield-k12 --name "Luis Ortega" --email lortega@springfield-k12.example --phone "+1-555-0101" --role technical
at 2026-10-05T09:12:00Z dwhitfield $P request submit springfield-k12 --type signup --requested-by "Dana Whitfield" --note "Ticket 41187: GNN phase 2 sign-up" \
  --server "192.0.2.10,mail-server,Exchange edge transport 1" --server "192.0.2.11,mail-server,Exchange edge transport 2" \
  --server "10.20.4.15,application-server,Student information system notices" --server "2001:db8:100::25,mail-server,Exchange edge transport (IPv6)"
at 2026-10-05T15:00:00Z noc-jsmith $P request approve 1
at 2026-10-06T10:30:00Z noc-jsmith $P request apply 1
at 2026-10-07T08:45:00Z noc-jsmith $P request verify 1
at 2026-10-20T11:00:00Z noc-jsmith $P permit add springfield-k12 10.20.9.2 --kind network-device --description "Data center UPS alerts" --requested-by "Luis Ortega"
# Temporary variances: one runs out soon after 2026-11-23, one already ran out.
at 2026-11-16T13:00:00Z noc-akim $P permit add springfield-k12 192.0.2.40 --kind application-server --description "Yearbook vendor bulk mailer (temporary)" --requested-by "Luis Ortega" --expires 2026-12-01T00:00:00Z
at 2026-10-27T13:00:00Z noc-akim $P permit add springfield-k12 192.0.2.41 --kind mail-server --description "Mail migration test relay (temporary)" --requested-by "Luis Ortega" --expires 2026-11-10T00:00:00Z

# Shelby County Government: enrolled, drops rather than rejects.
at 2026-09-02T10:00:00Z noc-jsmith $P org add shelby-county --name "Shelby County Government" --action drop
at 2026-09-02T10:01:00Z noc-jsmith $P prefix add shelby-county 198.51.100.0/25 --description "County campus"
at 2026-09-02T10:01:00Z noc-jsmith $P prefix add shelby-county 2001:db8:200::/48 --description "County IPv6"
at 2026-09-02T10:02:00Z noc-jsmith $P contact add shelby-county --name "County IT Security Desk" --email itsec@shelby-county.example --phone "+1-555-0140" --role security
at 2026-09-02T10:02:00Z noc-jsmith $P contact add shelby-county --name "Marta Reyes" --email mreyes@shelby-county.example --phone "+1-555-0141" --role administrative
at 2026-09-02T10:03:00Z noc-jsmith $P permit add shelby-county 198.51.100.25 --kind mail --description "Postfix relay 1" --requested-by "County IT Security Desk"
at 2026-09-02T10:03:00Z noc-jsmith $P permit add shelby-county 198.51.100.26 --kind mail --description "Postfix relay 2" --requested-by "County IT Security Desk"
at 2026-09-02T10:04:00Z noc-jsmith $P permit add shelby-county 198.51.100.120 --kind device --description "Jail door controller alerts" --requested-by "County IT Security Desk"
at 2026-09-02T10:04:00Z noc-jsmith $P permit add shelby-county 2001:db8:200:1::25 --kind mail --description "Postfix relay (IPv6)" --requested-by "County IT Security Desk"
at 2026-09-02T10:05:00Z noc-jsmith $P org set shelby-county --enrollment active

# State University: blocks both directions.
at 2026-09-03T16:00:00Z noc-akim $P org add state-university --name "State University" --mode both
at 2026-09-03T16:01:00Z noc-akim $P prefix add state-university 203.0.113.0/25 --description "Campus servers"
at 2026-09-03T16:01:00Z noc-akim $P prefix add state-university 10.64.0.0/14 --description "Campus NAT"
at 2026-09-03T16:01:00Z noc-akim $P prefix add state-university 2001:db8:300::/44 --description "Campus IPv6"
at 2026-09-03T16:02:00Z noc-akim $P contact add state-university --name "University CSIRT" --email csirt@state-university.example --phone "+1-555-0170" --role security
at 2026-09-03T16:02:00Z noc-akim $P contact add state-university --name "Priya Natarajan" --email pnatarajan@state-university.example --role technical
at 2026-09-03T16:03:00Z noc-akim $P permit add state-university 203.0.113.5 --kind mail --description "Inbound/outbound MX 1" --requested-by "University CSIRT"
at 2026-09-03T16:03:00Z noc-akim $P permit add state-university 203.0.113.6 --kind mail --description "Inbound/outbound MX 2" --requested-by "University CSIRT"
at 2026-09-03T16:04:00Z noc-akim $P permit add state-university 203.0.113.64/28 --kind mail --description "Mailing list cluster" --requested-by "University CSIRT"
at 2026-09-03T16:04:00Z noc-akim $P permit add state-university 10.64.12.30 --kind app --description "Learning management system notifications" --requested-by "Priya Natarajan"
at 2026-09-03T16:05:00Z noc-akim $P permit add state-university 10.65.0.8 --kind device --description "Chiller plant controller" --requested-by "Priya Natarajan"
at 2026-09-03T16:05:00Z noc-akim $P permit add state-university 2001:db8:300::25 --kind mail --description "MX (IPv6)" --requested-by "University CSIRT"
at 2026-09-03T16:06:00Z noc-akim $P org set state-university --enrollment active

# Valley Library Consortium: signed up on 2026-11-01, still waiting (overdue).
at 2026-09-10T12:00:00Z noc-jsmith $P org add valley-libraries --name "Valley Library Consortium"
at 2026-09-10T12:01:00Z noc-jsmith $P prefix add valley-libraries 203.0.113.128/26 --description "Branch libraries"
at 2026-09-10T12:01:00Z noc-jsmith $P prefix add valley-libraries 2001:db8:400::/48 --description "Consortium IPv6"
at 2026-09-10T12:02:00Z noc-jsmith $P contact add valley-libraries --name "Grace Holloway" --email gholloway@valley-libraries.example --phone "+1-555-0190" --role security
at 2026-11-01T15:30:00Z gholloway $P request submit valley-libraries --type signup --requested-by "Grace Holloway" --note "Ticket 42310: please activate the block" \
  --server "203.0.113.130,mail-server,Hosted ILS mail relay" --server "203.0.113.140,application-server,Overdue notices"

# Riverside Water District: suspended while its mail server is rebuilt.
at 2026-09-12T09:00:00Z noc-akim $P org add riverside-water --name "Riverside Water District"
at 2026-09-12T09:01:00Z noc-akim $P prefix add riverside-water 198.51.100.128/26 --description "District office"
at 2026-09-12T09:01:00Z noc-akim $P prefix add riverside-water 2001:db8:500::/48 --description "District IPv6"
at 2026-09-12T09:02:00Z noc-akim $P contact add riverside-water --name "Tom Becker" --email tbecker@riverside-water.example --phone "+1-555-0120" --role security
at 2026-09-12T09:03:00Z noc-akim $P permit add riverside-water 198.51.100.130 --kind mail --description "Exchange 2016" --requested-by "Tom Becker"
at 2026-09-12T09:04:00Z noc-akim $P org set riverside-water --enrollment active
at 2026-11-02T08:00:00Z noc-akim $P org set riverside-water --enrollment suspended

# A variance applied this week, and one that has just arrived.
at 2026-11-19T14:20:00Z mreyes $P request submit shelby-county --type add-permit --requested-by "Marta Reyes" --note "New building permits system" \
  --server "198.51.100.80,application-server,Building permit notifications"
at 2026-11-20T09:00:00Z noc-jsmith $P request approve 3
at 2026-11-20T16:40:00Z noc-jsmith $P request apply 3
at 2026-11-22T16:00:00Z pnatarajan $P request submit state-university --type add-permit --requested-by "Priya Natarajan" \
  --server "203.0.113.20,mail-server,Research group list server"
