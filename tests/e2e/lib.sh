# Helpers for the end-to-end mail test (sourced by tests/cli/test_e2e_mail.sh):
# the namespace topology and Postfix instances of our own.  Everything here
# creates things under $E2E_TMP or in namespaces named $NS_*, so the caller's
# trap can remove it all.
#
# Topology (documentation ranges only; nothing leaves these namespaces):
#
#   $NS_ORG  org0 192.0.2.25 2001:db8:1::25   (the registered mail server)
#                 192.0.2.50 2001:db8:1::50   (a workstation: a second address)
#      |  veth
#   $NS_GW   gw-org 192.0.2.1 2001:db8:1::1 | gw-out 198.51.100.1 2001:db8:2::1
#      |  veth                                (forwards; runs port25's ruleset)
#   $NS_OUT  out0 198.51.100.7 2001:db8:2::7  (the outside receiver: 25, 465, 587)

ORG_MX4=192.0.2.25
ORG_MX6=2001:db8:1::25
ORG_WS4=192.0.2.50
ORG_WS6=2001:db8:1::50
OUT_MX4=198.51.100.7
OUT_MX6=2001:db8:2::7

# Addresses become usable at once: with duplicate address detection on, the
# first connections fail while an IPv6 address is still tentative.
#
# swaks looks its own host name up at every start: on a machine whose /etc/hosts
# does not name it, that is a DNS query from inside a namespace with no way out,
# and 5 s of timeout.  `ip netns exec` mounts /etc/netns/NAME/hosts over
# /etc/hosts, so each namespace of ours gets one that names this host.
e2e_ns_add() {
	ip netns add "$1"
	mkdir -p "/etc/netns/$1"
	printf '127.0.0.1 localhost\n::1 localhost\n127.0.1.1 %s\n' "$(hostname)" >"/etc/netns/$1/hosts"
	ip netns exec "$1" ip link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

e2e_topology_up() {
	e2e_ns_add "$NS_ORG"
	e2e_ns_add "$NS_GW"
	e2e_ns_add "$NS_OUT"
	# Both ends are created inside their namespaces, so concurrent runs on
	# the host never clash on interface names.
	ip link add org0 netns "$NS_ORG" type veth peer name gw-org netns "$NS_GW"
	ip link add out0 netns "$NS_OUT" type veth peer name gw-out netns "$NS_GW"

	ip -n "$NS_ORG" addr add "$ORG_MX4/24" dev org0
	ip -n "$NS_ORG" addr add "$ORG_WS4/24" dev org0
	ip -n "$NS_ORG" addr add "$ORG_MX6/64" dev org0 nodad
	ip -n "$NS_ORG" addr add "$ORG_WS6/64" dev org0 nodad
	ip -n "$NS_ORG" link set org0 up
	ip -n "$NS_ORG" route add default via 192.0.2.1
	ip -n "$NS_ORG" -6 route add default via 2001:db8:1::1

	ip -n "$NS_GW" addr add 192.0.2.1/24 dev gw-org
	ip -n "$NS_GW" addr add 2001:db8:1::1/64 dev gw-org nodad
	ip -n "$NS_GW" addr add 198.51.100.1/24 dev gw-out
	ip -n "$NS_GW" addr add 2001:db8:2::1/64 dev gw-out nodad
	ip -n "$NS_GW" link set gw-org up
	ip -n "$NS_GW" link set gw-out up
	ip netns exec "$NS_GW" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

	ip -n "$NS_OUT" addr add "$OUT_MX4/24" dev out0
	ip -n "$NS_OUT" addr add "$OUT_MX6/64" dev out0 nodad
	ip -n "$NS_OUT" link set out0 up
	ip -n "$NS_OUT" route add default via 198.51.100.1
	ip -n "$NS_OUT" -6 route add default via 2001:db8:2::1
}

e2e_topology_down() {
	local ns
	for ns in "$NS_ORG" "$NS_GW" "$NS_OUT"; do
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
	done
}

# `postfix -c DIR` accepts DIR only when the default main.cf lists it in
# alternate_config_directories.  Keep the original file to put it back.
e2e_postfix_prepare() {
	local dirs=$*
	if [ -e /etc/postfix/main.cf ]; then
		cp -p /etc/postfix/main.cf "$E2E_TMP/etc-main.cf.orig"
	else
		cp /etc/postfix/main.cf.proto /etc/postfix/main.cf
		: >"$E2E_TMP/etc-main.cf.created"
	fi
	local old
	old=$(postconf -h alternate_config_directories 2>/dev/null || true)
	postconf -e "alternate_config_directories = ${old:+$old }$dirs"
}

e2e_postfix_restore() {
	if [ -e "$E2E_TMP/etc-main.cf.orig" ]; then
		cp -p "$E2E_TMP/etc-main.cf.orig" /etc/postfix/main.cf
	elif [ -e "$E2E_TMP/etc-main.cf.created" ]; then
		rm -f /etc/postfix/main.cf
	fi
}

# e2e_postfix_config NAME HOSTNAME: a config, queue and data directory of
# its own under $E2E_TMP/NAME, every service unchrooted (the queue directory
# is not a prepared chroot), logging to stdout.  Callers add their own lines.
e2e_postfix_config() {
	local name=$1 host=$2 dir=$E2E_TMP/$1
	mkdir -p "$dir/conf" "$dir/queue" "$dir/data"
	cp /etc/postfix/master.cf "$dir/conf/master.cf"
	cat >"$dir/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = $host
mydomain = ${host#*.}
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = all
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
maillog_file = /dev/stdout
# No resolver exists in the namespaces: never look anything up.
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_host_lookup = native
biff = no
# Retry quickly: a message deferred while blocked must not hide for minutes.
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
smtp_connect_timeout = 5s
EOF
	postconf -c "$dir/conf" -F '*/*/chroot = n'
	chown -R postfix "$dir/data"
}

# e2e_postfix_start NAME NAMESPACE: run master in the foreground inside the
# namespace, log to $E2E_TMP/NAME.log; wait until it answers on port 25.
e2e_postfix_start() {
	local name=$1 ns=$2 dir=$E2E_TMP/$1 i
	postfix -c "$dir/conf" check >>"$E2E_TMP/$name.log" 2>&1 || return 1
	ip netns exec "$ns" postfix -c "$dir/conf" start-fg >>"$E2E_TMP/$name.log" 2>&1 &
	echo $! >"$E2E_TMP/$name.pid"
	for i in $(seq 1 100); do
		if ip netns exec "$ns" socat -u /dev/null TCP:127.0.0.1:25,connect-timeout=0.2 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

e2e_postfix_stop() {
	local name=$1 dir=$E2E_TMP/$1 pid
	[ -e "$E2E_TMP/$name.pid" ] || return 0
	postfix -c "$dir/conf" stop >/dev/null 2>&1 || true
	pid=$(cat "$E2E_TMP/$name.pid")
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	rm -f "$E2E_TMP/$name.pid"
}

# e2e_connect NS SRC DST PORT [TIMEOUT]: does a TCP connection from SRC succeed?
e2e_connect() {
	local ns=$1 src=$2 dst=$3 port=$4 t=${5:-2}
	if [[ $dst == *:* ]]; then
		ip netns exec "$ns" socat -u /dev/null "TCP6:[$dst]:$port,bind=[$src],connect-timeout=$t" 2>/dev/null
	else
		ip netns exec "$ns" socat -u /dev/null "TCP4:$dst:$port,bind=$src,connect-timeout=$t" 2>/dev/null
	fi
}

# e2e_now_ms: wall clock in milliseconds, for timings.
e2e_now_ms() {
	echo $(($(date +%s%N) / 1000000))
}
