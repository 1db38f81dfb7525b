#!/bin/sh
# Install the Debian packages port25 needs to build and test, only those missing.
set -e
pkgs="build-essential pkg-config clang libclang-rt-14-dev libsqlite3-dev sqlite3 libjansson-dev
      libcmocka-dev libpcap-dev zlib1g-dev libnetfilter-log-dev nftables iptables ipset iproute2 python3
      tzdata
      libmnl-dev libnftnl-dev socat iperf3 jq libcurl4-openssl-dev postfix swaks softflowd
      libio-socket-inet6-perl libnet-ssleay-perl libio-socket-ssl-perl
      libmicrohttpd-dev libsodium-dev openssl curl python3-jsonschema"
# python3-jsonschema: test_notify_mail.sh validates the XARF records against the XARF v4 schema.
# swaks speaks IPv6 and STARTTLS only with these Perl modules, which are merely its Recommends.
# `install-deps.sh bench`: the peers the analyzer benchmark compares against, not needed by tests.
# wrk and nginx: the load generator and the static-file upper bound of bench_serve.sh.
[ "${1:-}" = bench ] && pkgs="$pkgs tshark tcpdump nfdump wrk nginx-light"
# port25 serve's tests run Node's test runner with the validators pinned in tests/api
# (npm ci).  Debian's nodejs and npm, unless a node with its own npm is there already
# (NodeSource's nodejs provides npm and conflicts with Debian's package of it).
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
# The portal's browser tests drive Debian's Chromium with playwright-core (tests/browser).
pkgs="$pkgs chromium"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "port25: missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "port25: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix must not configure a system mail server: the tests run instances of their own.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
