/* The blocked-attempt monitor: parsers, bounded aggregation, alerts, persistence, config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "watch/sources.h"
#include "watch/watch.h"

static p25_time at(const char *iso)
{
	char err[200];
	p25_time t = 0;
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

static const char *fmt_addr(const struct p25_addr *a)
{
	static char buf[4][P25_ADDR_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return p25_addr_format(a, buf[i], sizeof buf[i]);
}

static int parse(const char *line, p25_time now, struct p25_attempt *out)
{
	return p25_syslog_parse(line, strlen(line), now, out);
}

static void test_cisco_lines(void **state)
{
	p25_time now = at("2026-11-23T12:00:00Z");
	struct p25_attempt a;

	(void)state;
	assert_int_equal(parse("<190>1234: gw1: Nov 23 10:00:00.123 UTC: %SEC-6-IPACCESSLOGP: list "
			       "PORT25-OUT denied tcp 192.0.2.50(51234) -> 198.51.100.7(25), 1 packet",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "192.0.2.50");
	assert_string_equal(fmt_addr(&a.dst), "198.51.100.7");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.dport, 25);
	assert_int_equal(a.packets, 1);
	assert_int_equal(a.t, at("2026-11-23T10:00:00Z"));
	assert_int_equal(a.dir, P25_WDIR_UNKNOWN);

	/* log-input adds the interface and MAC; summaries count packets. */
	assert_int_equal(parse("*Mar  1 00:04:32.123: %SEC-6-IPACCESSLOGP: list 101 denied tcp "
			       "10.1.1.2(11001) (FastEthernet0/0 0001.0203.0405) -> 10.2.2.2(25), 5 packets",
			       now, &a),
			 1);
	assert_int_equal(a.packets, 5);
	assert_int_equal(a.t, at("2026-03-01T00:04:32Z"));

	/* A December line read in January belongs to last year. */
	assert_int_equal(parse("Dec 31 23:59:59: %SEC-6-IPACCESSLOGP: list X denied tcp 10.0.0.1(1) "
			       "-> 10.0.0.2(25), 1 packet",
			       at("2027-01-01T00:00:10Z"), &a),
			 1);
	assert_int_equal(a.t, at("2026-12-31T23:59:59Z"));

	assert_int_equal(parse("%IPV6_ACL-6-ACCESSLOGP: list PORT25-OUT6/20 denied tcp "
			       "2001:DB8:1::50(40000) -> 2001:DB8:FFFF::7(25), 1 packet",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "2001:db8:1::50");
	assert_int_equal(a.t, now); /* no timestamp in the line */

	/* Not blocked attempts to 25: ignored, not malformed. */
	assert_int_equal(parse("%SEC-6-IPACCESSLOGP: list 101 permitted tcp 10.1.1.2(11001) -> "
			       "10.2.2.2(25), 1 packet",
			       now, &a),
			 0);
	assert_int_equal(parse("%SEC-6-IPACCESSLOGP: list 101 denied udp 10.1.1.2(11001) -> "
			       "10.2.2.2(25), 1 packet",
			       now, &a),
			 0);
	assert_int_equal(parse("%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.2(11001) -> "
			       "10.2.2.2(80), 1 packet",
			       now, &a),
			 0);
	assert_int_equal(parse("%LINK-3-UPDOWN: Interface Gi0/1, changed state to up", now, &a), 0);

	/* Malformed: every field checked. */
	const char *bad[] = {
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.2(11001 -> 10.2.2.2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.2(99999) -> 10.2.2.2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.256(1) -> 10.2.2.2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.2(1) => 10.2.2.2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.2(1) -> 2001:db8::1(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 2001:db8::1(1) -> 2001:db8::2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp 10.0.0.0/8(1) -> 10.2.2.2(25), 1 packet",
	    "%SEC-6-IPACCESSLOGP: list 101 denied tcp",
	    "%SEC-6-IPACCESSLOGP:",
	    "%SEC-6-IPACCESSLOGP: list 101 dropped tcp 10.1.1.2(1) -> 10.2.2.2(25), 1 packet",
	    "%IPV6_ACL-6-ACCESSLOGP: list X denied tcp 10.1.1.2(1) -> 10.2.2.2(25), 1 packet",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse(bad[i], now, &a) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void test_junos_lines(void **state)
{
	p25_time now = at("2026-11-23T12:00:00Z");
	struct p25_attempt a;

	(void)state;
	assert_int_equal(parse("Nov 23 10:00:04 mx-edge fpc0 PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0    D "
			       "tcp 192.0.2.50 198.51.100.7 51234 25 (1 packets)",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "192.0.2.50");
	assert_string_equal(fmt_addr(&a.dst), "198.51.100.7");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.t, at("2026-11-23T10:00:04Z"));

	/* RFC 5424 with an offset; reject action R; bare "FW:" form; IPv6 labelled form. */
	assert_int_equal(parse("<134>1 2026-11-23T11:00:04.5+01:00 mx-edge - - - - FW: irb.100 R tcp "
			       "192.0.2.51 198.51.100.7 40000 25 (3 packets)",
			       now, &a),
			 1);
	assert_int_equal(a.t, at("2026-11-23T10:00:04Z"));
	assert_int_equal(a.packets, 3);
	assert_int_equal(parse("PFE_FW_SYSLOG_IP6_TCP_UDP: FW: ge-0/0/0.0 D tcp SA 2001:db8:1::50 DA "
			       "2001:db8:ffff::7 SP 40001 DP 25 (1 packets)",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.dst), "2001:db8:ffff::7");
	assert_int_equal(a.sport, 40001);

	assert_int_equal(parse("PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 A tcp 192.0.2.50 198.51.100.7 51234 "
			       "25 (1 packets)",
			       now, &a),
			 0);
	assert_int_equal(parse("PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 D udp 192.0.2.50 198.51.100.7 51234 "
			       "25 (1 packets)",
			       now, &a),
			 0);
	const char *bad[] = {
	    "PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 D tcp 192.0.2.50 198.51.100.7",
	    "PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 D tcp 192.0.2.50 198.51.100.7 x 25 (1 packets)",
	    "PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 D tcp 192.0.2.50 198.51.100.7 1 70000 (1 packets)",
	    "PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 X tcp 192.0.2.50 198.51.100.7 1 25 (1 packets)",
	    "PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0 D tcp 192.0.2.50 2001:db8::1 1 25 (1 packets)",
	    "PFE_FW_SYSLOG_IP6_TCP_UDP: FW: ge-0/0/0.0 D tcp SA 2001:db8::1 DA 2001:db8::2 1 25",
	    "FW:",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse(bad[i], now, &a) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void test_asa_lines(void **state)
{
	p25_time now = at("2026-11-23T12:00:00Z");
	struct p25_attempt a;

	(void)state;
	/* 106023, the default deny log: BSD header with the ASA's year. */
	assert_int_equal(parse("<164>Nov 23 2026 10:00:00: %ASA-4-106023: Deny tcp src "
			       "outside:192.0.2.10/51234 dst inside:198.51.100.25/25 by access-group "
			       "\"OUTSIDE_IN\" [0x8ed66b60, 0xf8852875]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "192.0.2.10");
	assert_string_equal(fmt_addr(&a.dst), "198.51.100.25");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.dport, 25);
	assert_int_equal(a.packets, 1);
	assert_int_equal(a.t, at("2026-11-23T10:00:00Z"));
	assert_int_equal(a.dir, P25_WDIR_UNKNOWN);
	assert_string_equal(a.org, "");

	/* IPv6: the port follows the last '/'; no timestamp in the line. */
	assert_int_equal(parse("%ASA-4-106023: Deny tcp src inside:2001:db8:1::10/40000 dst "
			       "outside:2001:DB8:FFFF::25/25 by access-group \"IN6\" [0x0, 0x0]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "2001:db8:1::10");
	assert_string_equal(fmt_addr(&a.dst), "2001:db8:ffff::25");
	assert_int_equal(a.sport, 40000);
	assert_int_equal(a.t, now);

	/* FTD, RFC 5424 with an offset, an interface name with '-', '_', '.' and digits. */
	assert_int_equal(parse("<164>1 2026-11-23T11:00:05.000+01:00 ftd1 - - - - %FTD-4-106023: Deny "
			       "tcp src in-side_2.vlan10:10.1.1.5/40001 dst outside:203.0.113.7/25 by "
			       "access-group \"CSM_FW_ACL_\" [0x97aa021a, 0x0]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "10.1.1.5");
	assert_int_equal(a.t, at("2026-11-23T10:00:05Z"));

	/* Identity firewall users after the port, attached or not; an interface called FW. */
	assert_int_equal(parse("%ASA-4-106023: Deny tcp src inside:10.1.1.5/40002(LOCAL\\alice) dst "
			       "outside:203.0.113.7/25 (any) by access-group \"IN\" [0x0, 0x0]",
			       now, &a),
			 1);
	assert_int_equal(a.sport, 40002);
	assert_int_equal(parse("Nov 23 10:00:00 asa1 : %ASA-4-106023: Deny tcp src FW:10.1.1.6/1 dst "
			       "WAN:203.0.113.7/25 by access-group \"X\" [0x0, 0x0]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "10.1.1.6");

	/* 106001: inbound SYN denied by the security levels; host name and colon before the tag. */
	assert_int_equal(parse("Nov 23 10:00:06 asa1 : %ASA-2-106001: Inbound TCP connection denied "
			       "from 192.0.2.10/51234 to 198.51.100.25/25 flags SYN on interface outside",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "192.0.2.10");
	assert_string_equal(fmt_addr(&a.dst), "198.51.100.25");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.t, at("2026-11-23T10:00:06Z"));
	assert_int_equal(parse("%FTD-2-106001: Inbound TCP connection denied from 2001:db8::10/51235 "
			       "to 2001:db8:100::25/25 flags SYN  on interface outside-2",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.dst), "2001:db8:100::25");
	assert_int_equal(a.sport, 51235);

	/* 106100: the per-ACE log, hit counts as packets; FTD; "->" with or without spaces. */
	assert_int_equal(parse("<166>Nov 23 2026 10:00:07: %ASA-6-106100: access-list INSIDE_OUT denied "
			       "tcp inside/10.1.1.5(51234) -> outside/203.0.113.7(25) hit-cnt 1 first "
			       "hit [0x4c7a4d48, 0x0]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "10.1.1.5");
	assert_string_equal(fmt_addr(&a.dst), "203.0.113.7");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.packets, 1);
	assert_int_equal(a.t, at("2026-11-23T10:00:07Z"));
	assert_int_equal(parse("%FTD-4-106100: access-list IN6 denied tcp inside/2001:db8::5(51236) -> "
			       "outside/2001:db8:ffff::7(25) hit-cnt 12 300-second interval [0x1, 0x2]",
			       now, &a),
			 1);
	assert_string_equal(fmt_addr(&a.src), "2001:db8::5");
	assert_string_equal(fmt_addr(&a.dst), "2001:db8:ffff::7");
	assert_int_equal(a.packets, 12);
	assert_int_equal(parse("%ASA-2-106100: access-list outside-acl denied tcp "
			       "outside/10.0.0.9(12345)->inside/192.168.1.1(25) hit-cnt 21 (300-second "
			       "interval)",
			       now, &a),
			 1);
	assert_int_equal(a.packets, 21);

	/* Not blocked TCP/25 attempts: ignored, not malformed. */
	const char *ignored[] = {
	    "%ASA-6-106100: access-list IN permitted tcp inside/10.1.1.5(51234) -> "
	    "outside/203.0.113.7(25) hit-cnt 1 first hit [0x0, 0x0]",
	    "%ASA-6-106100: access-list IN est-allowed tcp inside/10.1.1.5(51234) -> "
	    "outside/203.0.113.7(25) hit-cnt 1 first hit [0x0, 0x0]",
	    "%ASA-6-106100: access-list IN denied udp inside/10.1.1.5(51234) -> "
	    "outside/203.0.113.7(25) hit-cnt 1 first hit [0x0, 0x0]",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(51234) -> "
	    "outside/203.0.113.7(587) hit-cnt 1 first hit [0x0, 0x0]",
	    "%ASA-4-106023: Deny udp src outside:192.0.2.10/5353 dst inside:198.51.100.25/25 by "
	    "access-group \"OUTSIDE_IN\" [0x0, 0x0]",
	    "%ASA-4-106023: Deny icmp src outside:192.0.2.10 dst inside:198.51.100.25 (type 8, code 0) "
	    "by access-group \"OUTSIDE_IN\" [0x0, 0x0]",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/51234 dst inside:198.51.100.25/80 by "
	    "access-group \"OUTSIDE_IN\" [0x0, 0x0]",
	    "%ASA-2-106006: Deny inbound UDP from 192.0.2.10/5353 to 198.51.100.25/25 on interface "
	    "outside",
	    "%ASA-2-106007: Deny inbound UDP from 192.0.2.10/53 to 198.51.100.25/25 due to DNS Response",
	    "%FTD-2-106006: Deny inbound UDP from 2001:db8::10/5353 to 2001:db8::25/25 on interface "
	    "outside",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/25 to 198.51.100.25/51234 "
	    "flags SYN ACK on interface outside",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/51234 to 198.51.100.25/25 "
	    "flags RST on interface outside",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/51234 to 198.51.100.25/80 "
	    "flags SYN on interface outside",
	    "%ASA-6-302013: Built inbound TCP connection 991727 for pt:10.159.19.254/56310 "
	    "(10.159.19.254/56310) to gw:10.159.11.1/25 (10.159.11.1/25)",
	    "%ASA-x-106023: Deny tcp src outside:192.0.2.10/51234 dst inside:198.51.100.25/25 by",
	    "%ASA-4-10602: Deny tcp src outside:192.0.2.10/51234 dst inside:198.51.100.25/25 by",
	};
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		if (parse(ignored[i], now, &a) != 0)
			fail_msg("not ignored: %s", ignored[i]);

	/* Malformed: every field checked. */
	const char *bad[] = {
	    "%ASA-4-106023:",
	    "%ASA-4-106023: Deny tcp",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/51234 dst inside:198.51.100.25/25",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/51234 dst inside:2001:db8::25/25 by x",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10 dst inside:198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/70000 dst inside:198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/5x dst inside:198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.0/24/1 dst inside:198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src out$ide:192.0.2.10/1 dst inside:198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src 192.0.2.10/1 dst 198.51.100.25/25 by x",
	    "%ASA-4-106023: Deny tcp src outside:192.0.2.10/1(LOCAL\\alice dst inside:198.51.100.25/25 "
	    "by x",
	    "%ASA-4-106023: Deny tcp src outside:fe80::1%outside/1 dst inside:fe80::2/25 by x",
	    "%ASA-4-106023: Allow tcp src outside:192.0.2.10/1 dst inside:198.51.100.25/25 by x",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/1 to 198.51.100.25/25",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/1 to 198.51.100.25/25 flags "
	    "syn on interface outside",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/1 to 198.51.100.25/25 flags "
	    "SYN",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/1 to 198.51.100.25/25 flags "
	    "on interface outside",
	    "%ASA-2-106001: Inbound TCP connection denied from 192.0.2.10/1 to 2001:db8::25/25 flags "
	    "SYN on interface outside",
	    "%ASA-2-106001: Inbound UDP connection denied from 192.0.2.10/1 to 198.51.100.25/25 flags "
	    "SYN on interface outside",
	    "%ASA-6-106100:",
	    "%ASA-6-106100: access-list",
	    "%ASA-6-106100: access-list IN dropped tcp inside/10.1.1.5(1) -> outside/203.0.113.7(25) "
	    "hit-cnt 1 first hit",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(1) outside/203.0.113.7(25) "
	    "hit-cnt 1 first hit",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(1) -> outside/203.0.113.7(25)",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(1) -> outside/203.0.113.7(25) "
	    "hit-cnt x first hit",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(1 -> outside/203.0.113.7(25) "
	    "hit-cnt 1 first hit",
	    "%ASA-6-106100: access-list IN denied tcp 10.1.1.5(1) -> 203.0.113.7(25) hit-cnt 1 first "
	    "hit",
	    "%ASA-6-106100: access-list IN denied tcp inside/10.1.1.5(1) -> outside/2001:db8::7(25) "
	    "hit-cnt 1 first hit",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (parse(bad[i], now, &a) != -1)
			fail_msg("accepted: %s", bad[i]);
}

/* Every prefix of a good line: no crash, no read past the cut, no attempt but the line's own. */
static void test_asa_truncated(void **state)
{
	static const char *const good[] = {
	    "<164>Nov 23 2026 10:00:00: %ASA-4-106023: Deny tcp src outside:192.0.2.10/51234 dst "
	    "inside:198.51.100.25/25 by access-group \"OUTSIDE_IN\" [0x8ed66b60, 0xf8852875]",
	    "<164>1 2026-11-23T10:00:00Z ftd1 - - - - %FTD-4-106023: Deny tcp src "
	    "outside:2001:db8::10/51234(LOCAL\\bob) dst inside:2001:db8:1::25/25 by access-group "
	    "\"CSM_FW_ACL_\" [0x97aa021a, 0x0]",
	    "Nov 23 10:00:06 asa1 : %ASA-2-106001: Inbound TCP connection denied from "
	    "192.0.2.10/51234 to 198.51.100.25/25 flags SYN on interface outside",
	    "%FTD-2-106001: Inbound TCP connection denied from 2001:db8::10/51235 to "
	    "2001:db8:100::25/25 flags SYN on interface out.side",
	    "<166>Nov 23 2026 10:00:07: %ASA-6-106100: access-list INSIDE_OUT denied tcp "
	    "inside/10.1.1.5(51234) -> outside/203.0.113.7(25) hit-cnt 12 first hit [0x4c7a4d48, 0x0]",
	    "%ASA-6-106100: access-list IN6 denied tcp inside/2001:db8::5(51234)->"
	    "outside/2001:db8:ffff::7(25) hit-cnt 1 (first hit)",
	};
	p25_time now = at("2026-11-23T12:00:00Z");
	size_t ones = 0, cuts = 0;

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		size_t len = strlen(good[i]);
		struct p25_attempt whole, a;

		assert_int_equal(p25_syslog_parse(good[i], len, now, &whole), 1);
		for (size_t n = 0; n < len; n++) {
			/* Exactly n bytes on the heap, no NUL: ASan catches any read past them. */
			char *cut = malloc(n ? n : 1);
			int rc;

			assert_non_null(cut);
			memcpy(cut, good[i], n);
			rc = p25_syslog_parse(cut, n, now, &a);
			free(cut);
			cuts++;
			if (rc < -1 || rc > 1)
				fail_msg("rc %d for %zu bytes of %s", rc, n, good[i]);
			if (rc != 1) {
				assert_int_equal(a.dport, 0); /* nothing half-filled */
				continue;
			}
			ones++;
			if (!p25_addr_equal(&a.src, &whole.src) || !p25_addr_equal(&a.dst, &whole.dst) ||
			    a.sport != whole.sport || a.dport != whole.dport ||
			    a.packets != whole.packets || a.t != whole.t)
				fail_msg("wrong attempt from %zu bytes of %s", n, good[i]);
		}
	}
	print_message("ASA lines cut at every byte: %zu cuts, %zu still whole attempts\n", cuts,
		      ones);
}

struct collect {
	struct p25_attempt v[16];
	size_t n;
};

static void collect_fn(void *ctx, const struct p25_attempt *a)
{
	struct collect *c = ctx;
	if (c->n < 16)
		c->v[c->n++] = *a;
}

static void test_lines_keep_good_around_bad(void **state)
{
	static const char text[] =
	    "%SEC-6-IPACCESSLOGP: list A denied tcp 10.0.0.1(1) -> 10.9.9.9(25), 1 packet\n"
	    "%SEC-6-IPACCESSLOGP: list A denied tcp 10.0.0.2(1 -> 10.9.9.9(25), 1 packet\r\n"
	    "\n"
	    "binary \x01\x02 junk\n"
	    "%SEC-6-IPACCESSLOGP: list A denied tcp 10.0.0.3(1) -> 10.9.9.9(25), 1 packet\n"
	    "FW: ge-0/0/0.0 D tcp 10.0.0.4 10.9.9.9 1 25 (1 packets)";
	struct p25_syslog_stats st = {0};
	struct collect c = {0};
	struct p25_lines l;
	char *big = malloc(10000);

	(void)state;
	p25_lines_init(&l, collect_fn, &c, &st);
	/* Fed in awkward pieces: lines split across reads must come out whole. */
	for (size_t i = 0; i < sizeof text - 1; i += 7) {
		size_t n = sizeof text - 1 - i < 7 ? sizeof text - 1 - i : 7;
		p25_lines_feed(&l, text + i, n, 1000, false);
	}
	/* An overlong line in the middle is dropped whole. */
	memset(big, 'x', 9999);
	big[9999] = '\n';
	p25_lines_feed(&l, "\n", 1, 1000, false);
	p25_lines_feed(&l, big, 5000, 1000, false);
	p25_lines_feed(&l, big + 5000, 5000, 1000, false);
	p25_lines_feed(&l, "%SEC-6-IPACCESSLOGP: list A denied tcp 10.0.0.5(1) -> 10.9.9.9(25), 1 packet", 76, 1000, true);
	free(big);
	assert_int_equal(c.n, 4);
	assert_string_equal(fmt_addr(&c.v[0].src), "10.0.0.1");
	assert_string_equal(fmt_addr(&c.v[1].src), "10.0.0.3");
	assert_string_equal(fmt_addr(&c.v[2].src), "10.0.0.4");
	assert_string_equal(fmt_addr(&c.v[3].src), "10.0.0.5");
	assert_int_equal(st.malformed, 1);
	assert_int_equal(st.ignored, 1);
	assert_int_equal(st.overlong, 1);
}

/* One datagram to 127.0.0.1 or ::1 at port, from the address src. */
static void send_from(const char *src, uint16_t port, const char *line)
{
	struct sockaddr_storage from = {0}, to = {0};
	bool v6 = strchr(src, ':') != NULL;
	socklen_t len = v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (v6) {
		struct sockaddr_in6 *f = (struct sockaddr_in6 *)&from, *t = (struct sockaddr_in6 *)&to;
		f->sin6_family = t->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, src, &f->sin6_addr), 1);
		t->sin6_addr = in6addr_loopback;
		t->sin6_port = htons(port);
	} else {
		struct sockaddr_in *f = (struct sockaddr_in *)&from, *t = (struct sockaddr_in *)&to;
		f->sin_family = t->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, src, &f->sin_addr), 1);
		t->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		t->sin_port = htons(port);
	}
	assert_int_equal(bind(fd, (struct sockaddr *)&from, len), 0);
	assert_int_equal(sendto(fd, line, strlen(line), 0, (struct sockaddr *)&to, len),
			 (ssize_t)strlen(line));
	close(fd);
}

/* Reads until want datagrams (believed or not) were handled; a bounded wait, no timing asserted. */
static void udp_settle(struct p25_syslog_udp *u, uint64_t want, struct p25_syslog_udp_stats *st)
{
	for (int i = 0; i < 500; i++) {
		p25_syslog_udp_stats(u, st);
		/* Intake queues a datagram's attempts before it counts the datagram. */
		p25_syslog_udp_read(u, SIZE_MAX);
		if (st->datagrams + st->denied >= want)
			return;
		usleep(10000);
	}
	fail_msg("%llu of %llu datagrams handled", (unsigned long long)(st->datagrams + st->denied),
		 (unsigned long long)want);
}

#define DENY_LINE(host)                                                                        \
	"<190>1: %SEC-6-IPACCESSLOGP: list A denied tcp " host "(40000) -> 198.51.100.7(25), 1 " \
	"packet\n"

/* Plain UDP syslog is unauthenticated: only the allowed senders are believed, the rest counted. */
static void test_udp_allowed_senders(void **state)
{
	struct p25_watch_config c;
	struct p25_syslog_udp_opts o = {0};
	struct p25_syslog_udp_stats st;
	struct p25_syslog_udp *u;
	struct collect got = {0};
	char err[512];
	uint16_t port;

	(void)state;
	p25_watch_config_default(&c);
	assert_int_equal(c.nsyslog_senders, 0);
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", "127.0.0.2,  ::1", err,
					      sizeof err), 0);
	assert_int_equal(c.nsyslog_senders, 2);

	/* A dual-stack listener: IPv4 senders arrive IPv4-mapped and are matched as IPv4. */
	o.listen = "[::]:0";
	o.senders = c.syslog_senders;
	o.nsenders = c.nsyslog_senders;
	assert_int_equal(p25_syslog_udp_open(&o, collect_fn, &got, &u, err, sizeof err), 0);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	port = p25_syslog_udp_port(u);
	assert_true(port > 0);
	send_from("127.0.0.2", port, DENY_LINE("10.0.0.1"));
	send_from("127.0.0.3", port, DENY_LINE("10.0.0.66")); /* forged: not an allowed router */
	send_from("::1", port, DENY_LINE("10.0.0.2"));
	udp_settle(u, 3, &st);
	assert_int_equal(st.datagrams, 2);
	assert_int_equal(st.denied, 1);
	assert_string_equal(fmt_addr(&st.last_denied), "127.0.0.3");
	assert_int_equal(st.lines.attempts, 2);
	assert_int_equal(got.n, 2);
	assert_string_equal(fmt_addr(&got.v[0].src), "10.0.0.1");
	assert_string_equal(fmt_addr(&got.v[1].src), "10.0.0.2");
	p25_syslog_udp_close(u);

	/* None configured: loopback only. */
	o.listen = "127.0.0.1:0";
	o.senders = NULL;
	o.nsenders = 0;
	got.n = 0;
	assert_int_equal(p25_syslog_udp_open(&o, collect_fn, &got, &u, err, sizeof err), 0);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	send_from("127.0.0.5", p25_syslog_udp_port(u), DENY_LINE("10.0.0.3"));
	udp_settle(u, 1, &st);
	assert_int_equal(st.datagrams, 1);
	assert_int_equal(got.n, 1);
	p25_syslog_udp_close(u);

	/* An IPv6 sender outside the allowed prefix. */
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", "2001:db8::/64", err,
					      sizeof err), 0);
	o.listen = "[::1]:0";
	o.senders = c.syslog_senders;
	o.nsenders = c.nsyslog_senders;
	got.n = 0;
	assert_int_equal(p25_syslog_udp_open(&o, collect_fn, &got, &u, err, sizeof err), 0);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	send_from("::1", p25_syslog_udp_port(u), DENY_LINE("10.0.0.4"));
	udp_settle(u, 1, &st);
	assert_int_equal(st.denied, 1);
	assert_int_equal(st.datagrams, 0);
	assert_string_equal(fmt_addr(&st.last_denied), "::1");
	assert_int_equal(got.n, 0);
	p25_syslog_udp_close(u);

	/* Bad lists are refused, naming what is wrong; the list in force stays. */
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", "192.0.2.1/24", err,
					      sizeof err), -1);
	assert_non_null(strstr(err, "host bits"));
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", "192.0.2.1, router1",
					      err, sizeof err), -1);
	assert_non_null(strstr(err, "router1"));
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", " , ", err, sizeof err),
			 -1);
	assert_int_equal(c.nsyslog_senders, 1);

	/* A listener the network can reach needs senders named; loopback does not. */
	p25_watch_config_default(&c);
	strcpy(c.syslog_listen, "0.0.0.0:514");
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "syslog-allowed-senders"));
	strcpy(c.syslog_listen, "[::]:514");
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), -1);
	strcpy(c.syslog_listen, "127.0.0.1:514");
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), 0);
	strcpy(c.syslog_listen, "[::1]:514");
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), 0);
	strcpy(c.syslog_listen, "514");
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), -1);
	assert_non_null(strstr(err, "ADDR:PORT"));
	strcpy(c.syslog_listen, "[::]:514");
	assert_int_equal(p25_watch_config_set(&c, "syslog-allowed-senders", "192.0.2.1", err,
					      sizeof err), 0);
	assert_int_equal(p25_watch_config_check(&c, err, sizeof err), 0);
}

struct counter {
	uint64_t n, packets;
};

static void count_fn(void *ctx, const struct p25_attempt *a)
{
	struct counter *c = ctx;
	c->n++;
	c->packets += a->packets;
}

/* count deny lines from 5,000 hosts to 127.0.0.1:port, at most rate a millisecond, never catching up. */
static void send_lines(uint16_t port, int count, int per_ms, int first)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char line[200];

	assert_true(fd >= 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = first; i < first + count; i++) {
		int h = i % 5000;
		int n = snprintf(line, sizeof line,
				 "<190>%d: %%SEC-6-IPACCESSLOGP: list A denied tcp 10.250.%d.%d(%d) -> "
				 "198.51.100.7(25), 1 packet",
				 i, h / 256, h % 256, 1024 + i / 5000);
		assert_int_equal(sendto(fd, line, (size_t)n, 0, (struct sockaddr *)&to, sizeof to), n);
		if (per_ms && i % per_ms == per_ms - 1)
			usleep(1000);
	}
	close(fd);
}

static void wait_lines(struct p25_syslog_udp *u, uint64_t want, struct p25_syslog_udp_stats *st)
{
	for (int i = 0; i < 1000; i++) {
		p25_syslog_udp_stats(u, st);
		if (st->lines.lines + st->kernel_drops >= want)
			return;
		usleep(10000);
	}
	fail_msg("%llu lines read and %llu dropped of %llu", (unsigned long long)st->lines.lines,
		 (unsigned long long)st->kernel_drops, (unsigned long long)want);
}

/*
 * The aggregator stalls (a flush of thousands of hosts) while lines keep
 * coming: intake keeps reading into its queue, nothing is lost, and every
 * line reaches the aggregator once it drains.  The lines are paced (10 a
 * millisecond at most) so that only the consumer's stall is tested, not the
 * scheduler's.
 */
static void test_udp_burst_during_stall(void **state)
{
	struct p25_syslog_udp_opts o = {.listen = "127.0.0.1:0", .rcvbuf = P25_SYSLOG_RCVBUF_DEFAULT};
	struct p25_syslog_udp_stats st;
	struct p25_syslog_udp *u;
	struct counter got = {0};
	const int n = 20000;
	char err[512];

	(void)state;
	assert_int_equal(p25_syslog_udp_open(&o, count_fn, &got, &u, err, sizeof err), 0);
	assert_true(p25_syslog_udp_queue(u) >= (size_t)n);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	/* The consumer does not read at all while the lines arrive. */
	send_lines(p25_syslog_udp_port(u), n, 10, 0);
	wait_lines(u, n, &st);
	assert_int_equal(got.n, 0);
	assert_int_equal(st.kernel_drops, 0);
	assert_int_equal(st.lines.lines, n);
	assert_int_equal(st.lines.attempts, n);
	/* Then it drains: every line, once. */
	while (p25_syslog_udp_read(u, 1000) > 0)
		;
	assert_int_equal(got.n, n);
	assert_int_equal(got.packets, n);
	/* Stopping hands over what is still queued, and what the socket still held. */
	send_lines(p25_syslog_udp_port(u), 100, 0, n);
	p25_syslog_udp_stop(u);
	p25_syslog_udp_stats(u, &st);
	assert_int_equal(got.n, n + 100);
	assert_int_equal(st.lines.lines, n + 100);
	p25_syslog_udp_close(u);
}

/* What the kernel drops when the receive buffer is full is counted (SO_RXQ_OVFL, SO_MEMINFO). */
static void test_udp_kernel_drops_counted(void **state)
{
	struct p25_syslog_udp_opts o = {.listen = "127.0.0.1:0", .rcvbuf = 4096};
	struct p25_syslog_udp_stats st;
	struct p25_syslog_udp *u;
	struct counter got = {0};
	const int n = 2000;
	char err[512];

	(void)state;
	assert_int_equal(p25_syslog_udp_open(&o, count_fn, &got, &u, err, sizeof err), 0);
	assert_true(p25_syslog_udp_rcvbuf(u) < 64 << 10);
	/* Nothing reads yet: a small buffer overflows for certain. */
	send_lines(p25_syslog_udp_port(u), n, 0, 0);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	wait_lines(u, n, &st);
	print_message("%d lines into a %zu-byte buffer nobody read: %llu read, %llu dropped by the kernel\n",
		      n, p25_syslog_udp_rcvbuf(u), (unsigned long long)st.lines.lines,
		      (unsigned long long)st.kernel_drops);
	assert_true(st.kernel_drops > 0);
	assert_int_equal(st.lines.lines + st.kernel_drops, n);
	/* A datagram after the drops brings the count as of its arrival: the same drops, not more. */
	send_lines(p25_syslog_udp_port(u), 1, 0, n);
	wait_lines(u, n + 1, &st);
	assert_int_equal(st.lines.lines + st.kernel_drops, n + 1);
	p25_syslog_udp_stop(u);
	assert_int_equal(got.n, st.lines.lines);
	p25_syslog_udp_close(u);
}

struct sender {
	uint16_t port;
	int count;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	send_lines(s->port, s->count, 10, 0);
	return NULL;
}

/*
 * Intake and the consumer at once, with a queue far smaller than the burst:
 * intake waits for room while the consumer is slow, the socket holds what
 * comes meanwhile, and the consumer, woken through the fd, gets every line.
 */
static void test_udp_small_queue_concurrent(void **state)
{
	struct p25_syslog_udp_opts o = {.listen = "127.0.0.1:0",
					.rcvbuf = P25_SYSLOG_RCVBUF_DEFAULT,
					.queue = 256};
	struct p25_syslog_udp_stats st;
	struct p25_syslog_udp *u;
	struct counter got = {0};
	struct sender snd = {.count = 20000};
	pthread_t t;
	char err[512];

	(void)state;
	assert_int_equal(p25_syslog_udp_open(&o, count_fn, &got, &u, err, sizeof err), 0);
	assert_int_equal(p25_syslog_udp_queue(u), 256);
	assert_int_equal(p25_syslog_udp_start(u, err, sizeof err), 0);
	snd.port = p25_syslog_udp_port(u);
	assert_int_equal(pthread_create(&t, NULL, sender_main, &snd), 0);
	for (int i = 0; i < 3000 && got.n < (uint64_t)snd.count; i++) {
		struct pollfd pfd = {.fd = p25_syslog_udp_fd(u), .events = POLLIN};
		if (p25_syslog_udp_arm(u))
			poll(&pfd, 1, 100);
		p25_syslog_udp_read(u, SIZE_MAX);
		usleep(50000); /* a slow consumer: the queue fills between reads */
	}
	pthread_join(t, NULL);
	p25_syslog_udp_stop(u);
	p25_syslog_udp_stats(u, &st);
	print_message("20000 lines through a queue of 256: intake waited %llu times, %llu kernel drops\n",
		      (unsigned long long)st.queue_full, (unsigned long long)st.kernel_drops);
	assert_int_equal(got.n, snd.count);
	assert_int_equal(st.lines.attempts, snd.count);
	assert_int_equal(st.kernel_drops, 0);
	assert_true(st.queue_full > 0);
	p25_syslog_udp_close(u);
}

static size_t build_v4_syn(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport, uint8_t flags)
{
	memset(p, 0, 40);
	p[0] = 0x45;
	p[9] = 6;
	for (int i = 0; i < 4; i++) {
		p[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		p[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[23] = 25;
	p[33] = flags;
	return 40;
}

static void test_nflog_prefix_and_packet(void **state)
{
	uint8_t dir, pkt[80];
	char org[P25_ORG_HANDLE_MAX + 1];
	struct p25_attempt a;

	(void)state;
	assert_int_equal(p25_nflog_prefix_parse("port25 out acme ", 16, &dir, org), 1);
	assert_int_equal(dir, P25_WDIR_OUT);
	assert_string_equal(org, "acme");
	assert_int_equal(p25_nflog_prefix_parse("port25 in k12-district", 22, &dir, org), 1);
	assert_int_equal(dir, P25_WDIR_IN);
	assert_int_equal(p25_nflog_prefix_parse("DROP: ", 6, &dir, org), 0);
	assert_int_equal(p25_nflog_prefix_parse("port25 up acme ", 15, &dir, org), -1);
	assert_int_equal(p25_nflog_prefix_parse("port25 out Acme!", 16, &dir, org), -1);
	assert_int_equal(p25_nflog_prefix_parse("port25 out acme extra", 21, &dir, org), -1);
	assert_int_equal(p25_nflog_prefix_parse("port25 out ", 11, &dir, org), -1);

	memset(&a, 0, sizeof a);
	assert_int_equal(p25_packet_decode(pkt, build_v4_syn(pkt, 0xc0000232, 0xc6336407, 51234, 0x02), &a), 1);
	assert_string_equal(fmt_addr(&a.src), "192.0.2.50");
	assert_int_equal(a.sport, 51234);
	assert_int_equal(a.dport, 25);
	assert_int_equal(p25_packet_decode(pkt, build_v4_syn(pkt, 1, 2, 3, 0x12), &a), 0); /* SYN-ACK */
	assert_int_equal(p25_packet_decode(pkt, 30, &a), -1);				  /* truncated TCP */
	assert_int_equal(p25_packet_decode(pkt, 10, &a), -1);
	pkt[0] = 0x4f; /* header longer than the packet */
	assert_int_equal(p25_packet_decode(pkt, 40, &a), -1);

	/* IPv6 with a destination-options header before TCP. */
	memset(pkt, 0, sizeof pkt);
	pkt[0] = 0x60;
	pkt[6] = 60;
	pkt[8] = 0x20, pkt[9] = 0x01, pkt[10] = 0x0d, pkt[11] = 0xb8, pkt[23] = 0x50;
	pkt[24] = 0x20, pkt[25] = 0x01, pkt[26] = 0x0d, pkt[27] = 0xb8, pkt[39] = 0x07;
	pkt[40] = 6; /* next header TCP, length 0: 8 bytes */
	pkt[48] = 0x9c, pkt[49] = 0x40, pkt[51] = 25, pkt[61] = 0x02;
	assert_int_equal(p25_packet_decode(pkt, 68, &a), 1);
	assert_string_equal(fmt_addr(&a.src), "2001:db8::50");
	assert_string_equal(fmt_addr(&a.dst), "2001:db8::7");
	assert_int_equal(a.sport, 40000);
	pkt[41] = 200; /* an extension header running past the end */
	assert_int_equal(p25_packet_decode(pkt, 68, &a), -1);
}

static struct p25_attempt mk(uint32_t src, uint32_t dst, uint16_t sport, p25_time t)
{
	struct p25_attempt a = {0};
	p25_addr_from_v4(&a.src, src);
	p25_addr_from_v4(&a.dst, dst);
	a.sport = sport;
	a.dport = 25;
	a.t = t;
	a.dir = P25_WDIR_OUT;
	a.packets = 1;
	strcpy(a.org, "acme");
	return a;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void test_bounded_memory(void **state)
{
	const size_t budget = 16u << 20;
	char err[200];
	struct p25_agg *a = p25_agg_new(budget, err, sizeof err);
	const struct p25_agg_stats *st;
	long rss0, rss1;
	struct timespec t0, t1;

	(void)state;
	assert_non_null(a);
	assert_true(p25_agg_memory(a) <= budget);
	/* Touch every page up front so that RSS measures growth, not first use. */
	for (size_t i = 0; i < 200000; i++) {
		struct p25_attempt x = mk(0x0a000000 + (uint32_t)i, 0xc6336407, 1, 1000);
		p25_agg_record(a, &x);
	}
	rss0 = rss_kib();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 1M attempts from 100k hosts, each to a few of 1000 destinations. */
	for (uint32_t i = 0; i < 1000000; i++) {
		uint32_t host = (i * 2654435761u) % 100000;
		struct p25_attempt x = mk(0x0b000000 + host, 0xcb007100 + (i % 1000), (uint16_t)i,
					  2000 + i / 1000);
		assert_non_null(p25_agg_record(a, &x));
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rss1 = rss_kib();
	st = p25_agg_stats(a);
	print_message("table: %zu hosts in %zu KiB (budget %zu KiB); 1M attempts from 100k hosts in "
		      "%.0f ms; RSS growth %ld KiB; evictions %llu\n",
		      p25_agg_capacity(a), p25_agg_memory(a) >> 10, budget >> 10,
		      (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, rss1 - rss0,
		      (unsigned long long)st->evictions);
	assert_true(p25_agg_count(a) <= p25_agg_capacity(a));
	assert_true(p25_agg_capacity(a) < 100000); /* the budget forces evictions */
	assert_true(st->evictions > 0);
	assert_true(st->attempts == 1200000);
	/* Recording allocates nothing: resident memory does not grow with the flood. */
	assert_true(rss1 - rss0 < 1024);
	assert_true(p25_agg_memory(a) <= budget);
	/* The most recent host is still there; the oldest were evicted. */
	{
		struct p25_addr last;
		p25_addr_from_v4(&last, 0x0b000000 + (999999u * 2654435761u) % 100000);
		assert_non_null(p25_agg_find(a, &last, P25_WDIR_OUT));
	}
	assert_null(p25_agg_new(1000, err, sizeof err));
	p25_agg_free(a);
}

static void test_eviction_spills_unflushed(void **state)
{
	char err[200];
	struct p25_agg *a = p25_agg_new(64 << 10, err, sizeof err);
	size_t cap, nspill;
	const struct p25_spill *sp;

	(void)state;
	assert_non_null(a);
	cap = p25_agg_capacity(a);
	for (uint32_t i = 0; i < cap + 3; i++) {
		struct p25_attempt x = mk(0x0a000000 + i, 0xc6336407, 1, 1000 + i);
		p25_agg_record(a, &x);
	}
	sp = p25_agg_spill(a, &nspill);
	assert_int_equal(nspill, 3);
	assert_int_equal(p25_addr_v4(&sp[0].addr), 0x0a000000);
	assert_int_equal(sp[0].d_attempts, 1);
	assert_int_equal(p25_agg_stats(a)->lost, 0);
	p25_agg_free(a);
}

/* The day counts hold what the hosts and the spill hold, even once the spill overflows. */
static void test_days_follow_lost_evictions(void **state)
{
	char err[200];
	struct p25_agg *a = p25_agg_new(64 << 10, err, sizeof err);
	size_t cap, nspill, ndays, cursor = 0;
	uint64_t held = 0, counted = 0;
	const struct p25_spill *sp;
	const struct p25_day_count *d;
	struct p25_host *h;

	(void)state;
	assert_non_null(a);
	cap = p25_agg_capacity(a);
	/* every host twice, the second a day later: each host's delta spans two days */
	for (uint32_t i = 0; i < cap + 100; i++) {
		struct p25_attempt x = mk(0x0a000000 + i, 0xc6336407, 1, 1000 + i);
		p25_agg_record(a, &x);
		x = mk(0x0a000000 + i, 0xc6336407, 2, 1000 + 86400 + i);
		p25_agg_record(a, &x);
	}
	assert_true(p25_agg_stats(a)->lost > 0);
	while ((h = p25_agg_next(a, &cursor)) != NULL)
		held += h->d_attempts;
	sp = p25_agg_spill(a, &nspill);
	for (size_t i = 0; i < nspill; i++)
		held += sp[i].d_attempts;
	d = p25_agg_days(a, &ndays);
	assert_int_equal(ndays, 2);
	for (size_t i = 0; i < ndays; i++)
		counted += d[i].attempts;
	assert_int_equal(counted, held);
	assert_int_equal(counted + p25_agg_stats(a)->lost, 2 * (cap + 100));
	p25_agg_free(a);

	/* More days than the table holds before a flush: asked for, and none lost. */
	a = p25_agg_new(64 << 10, err, sizeof err);
	assert_non_null(a);
	assert_false(p25_agg_flush_wanted(a));
	for (uint32_t i = 0; i < 1000; i++) {
		struct p25_attempt x = mk(0x0a000001, 0xc6336407, (uint16_t)(1 + i), 1000 + (p25_time)i * 86400);
		p25_agg_record(a, &x);
	}
	assert_true(p25_agg_flush_wanted(a));
	d = p25_agg_days(a, &ndays);
	assert_true(ndays < 1000);
	counted = 0;
	for (size_t i = 0; i < ndays; i++)
		counted += d[i].attempts;
	assert_int_equal(counted, 1000);
	assert_int_equal(p25_agg_stats(a)->days_moved, 1000 - ndays);
	assert_int_equal(p25_agg_stats(a)->days_lost, 0);
	p25_agg_free(a);
}

/* Postfix defers: 300 s, then doubling to a 4000 s ceiling, to two MX hosts. */
static void feed_postfix(struct p25_agg *a, uint32_t host, p25_time t0)
{
	static const int iv[] = {0, 300, 600, 1200, 2400, 4000, 4000};
	p25_time t = t0;
	for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
		t += iv[i];
		struct p25_attempt x = mk(host, 0xc6336419, (uint16_t)(40000 + 2 * i), t);
		p25_agg_record(a, &x);
		x = mk(host, 0xc633641a, (uint16_t)(40001 + 2 * i), t + 1);
		p25_agg_record(a, &x);
	}
}

static void test_classify(void **state)
{
	char err[200];
	struct p25_agg *a = p25_agg_new(1 << 20, err, sizeof err);
	struct p25_thresholds th;
	struct p25_addr addr;
	struct p25_host *h;
	json_t *ev;
	p25_time t0 = at("2026-11-23T00:00:00Z");

	(void)state;
	p25_thresholds_default(&th);
	/* A missed server. */
	feed_postfix(a, 0xc0000219, t0);
	p25_addr_from_v4(&addr, 0xc0000219);
	h = p25_agg_find(a, &addr, P25_WDIR_OUT);
	assert_non_null(h);
	assert_int_equal(h->attempts, 14);
	assert_int_equal(p25_host_classify(a, h, &th, &ev), P25_ALERT_MISSED_SERVER);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "reason")), "growing backoff"));
	assert_int_equal(json_array_size(json_object_get(ev, "schedule")), 2);
	json_decref(ev);

	/* The same schedule squeezed into minutes is no queue. */
	for (int i = 0; i < 8; i++) {
		struct p25_attempt x = mk(0xc000021a, 0xc6336419, (uint16_t)(1000 + i), t0 + 5 * i);
		p25_agg_record(a, &x);
	}
	p25_addr_from_v4(&addr, 0xc000021a);
	assert_int_equal(p25_host_classify(a, p25_agg_find(a, &addr, P25_WDIR_OUT), &th, &ev),
			 P25_ALERT_NONE);
	assert_null(ev);

	/* A sendmail-like fixed 30 min queue run over hours: fixed interval. */
	for (int i = 0; i < 6; i++) {
		struct p25_attempt x = mk(0xc000021b, 0xc6336419, (uint16_t)(2000 + i), t0 + 1800 * i);
		p25_agg_record(a, &x);
	}
	p25_addr_from_v4(&addr, 0xc000021b);
	assert_int_equal(p25_host_classify(a, p25_agg_find(a, &addr, P25_WDIR_OUT), &th, &ev),
			 P25_ALERT_MISSED_SERVER);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "reason")), "fixed interval"));
	json_decref(ev);

	/* A bot: 500 destinations in a few minutes, retransmitted SYNs not double counted. */
	for (int i = 0; i < 500; i++) {
		struct p25_attempt x = mk(0xc0000266, 0xcb000000 + (uint32_t)i * 7, (uint16_t)(3000 + i),
					  t0 + i / 3);
		p25_agg_record(a, &x);
		x.t += 1; /* the kernel retransmits the SYN */
		p25_agg_record(a, &x);
	}
	p25_addr_from_v4(&addr, 0xc0000266);
	h = p25_agg_find(a, &addr, P25_WDIR_OUT);
	assert_int_equal(h->attempts, 500);
	assert_int_equal(h->packets, 1000);
	{
		bool approx;
		uint32_t nd = p25_host_destinations(h, &approx);
		assert_true(approx);
		print_message("500 destinations estimated as %u\n", nd);
		assert_true(nd > 350 && nd < 650);
	}
	assert_int_equal(p25_host_classify(a, h, &th, &ev), P25_ALERT_INFECTED);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "reason")), "fan-out"));
	json_decref(ev);

	/* A burst to one destination. */
	for (int i = 0; i < 100; i++) {
		struct p25_attempt x = mk(0xc0000267, 0xcb000001, (uint16_t)(5000 + i), t0 + i / 10);
		p25_agg_record(a, &x);
	}
	p25_addr_from_v4(&addr, 0xc0000267);
	assert_int_equal(p25_host_classify(a, p25_agg_find(a, &addr, P25_WDIR_OUT), &th, &ev),
			 P25_ALERT_INFECTED);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "reason")), "burst"));
	json_decref(ev);
	p25_agg_free(a);
}

static json_t *summary_of(struct p25_registry *reg, const char *host)
{
	json_t *rows, *row, *found = NULL;
	size_t i;
	assert_int_equal(p25_host_summary_list(reg, NULL, 0, &rows), 0);
	json_array_foreach(rows, i, row)
		if (!strcmp(json_string_value(json_object_get(row, "host")), host))
			found = json_incref(row);
	json_decref(rows);
	return found;
}

static void test_persistence_round_trip(void **state)
{
	char path[] = "/tmp/p25-watch-XXXXXX", err[512];
	struct p25_registry *reg;
	struct p25_agg *a;
	struct p25_thresholds th;
	struct p25_flush_result res;
	struct p25_actor who = {.name = "tester", .now = at("2026-11-23T10:00:00Z")};
	p25_time t0 = at("2026-11-23T00:00:00Z");
	struct p25_addr addr;
	struct p25_host *h;
	size_t loaded;
	json_t *row, *alerts;
	int64_t req;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_org_add(reg, &who, "acme", "Acme", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "acme", "192.0.2.0/24", "", 0), 0);
	p25_thresholds_default(&th);

	/* Run 1: the first half of a Postfix schedule; no alert yet (too few retries). */
	a = p25_agg_new(1 << 20, err, sizeof err);
	for (int i = 0; i < 3; i++) {
		static const int ts[] = {0, 300, 900};
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, (uint16_t)(100 + i), t0 + ts[i]);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 1000, &res), 0);
	assert_int_equal(res.hosts, 1);
	assert_int_equal(res.alerts_raised, 0);
	/* A second flush with nothing new writes nothing. */
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 1001, &res), 0);
	assert_int_equal(res.hosts, 0);
	p25_agg_free(a);
	row = summary_of(reg, "192.0.2.25");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 3);
	json_decref(row);

	/* Run 2: the state comes back, the schedule continues across the restart. */
	a = p25_agg_new(1 << 20, err, sizeof err);
	assert_int_equal(p25_watch_load(reg, a, &loaded), 0);
	assert_int_equal(loaded, 1);
	p25_addr_from_v4(&addr, 0xc0000219);
	h = p25_agg_find(a, &addr, P25_WDIR_OUT);
	assert_non_null(h);
	assert_int_equal(h->attempts, 3);
	assert_int_equal(h->dests[0].niv, 2);
	assert_string_equal(p25_agg_org(a, h->org), "acme");
	for (int i = 0; i < 3; i++) {
		static const int ts[] = {2100, 4500, 8500};
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, (uint16_t)(200 + i), t0 + ts[i]);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 9000, &res), 0);
	assert_int_equal(res.alerts_raised, 1);
	/* Re-evaluation updates the evidence of the same alert, never a second one. */
	{
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, 300, t0 + 12500);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 13000, &res), 0);
	assert_int_equal(res.alerts_raised, 0);
	assert_int_equal(res.alerts_updated, 1);
	p25_agg_free(a);

	row = summary_of(reg, "192.0.2.25");
	assert_int_equal(json_integer_value(json_object_get(row, "attempts")), 7);
	assert_string_equal(json_string_value(json_object_get(row, "first_seen")), "2026-11-23T00:00:00Z");
	assert_string_equal(json_string_value(json_object_get(row, "org")), "acme");
	json_decref(row);

	assert_int_equal(p25_alert_list(reg, NULL, &alerts), 0);
	assert_int_equal(json_array_size(alerts), 1);
	row = json_array_get(alerts, 0);
	assert_string_equal(json_string_value(json_object_get(row, "kind")), "missed-server");
	{
		json_t *iv = json_object_get(json_array_get(json_object_get(json_object_get(row, "evidence"), "schedule"), 0),
					     "intervals_s");
		assert_int_equal(json_array_size(iv), 6);
		assert_int_equal(json_integer_value(json_array_get(iv, 0)), 300);
		assert_int_equal(json_integer_value(json_array_get(iv, 5)), 4000);
	}
	/* Drafting: one add-permit request for the host, once. */
	assert_int_equal(p25_alert_draft(reg, &who, json_integer_value(json_object_get(row, "id")), &req), 0);
	assert_true(req > 0);
	assert_int_equal(p25_alert_draft(reg, &who, json_integer_value(json_object_get(row, "id")), &req),
			 P25_ECONFLICT);
	json_decref(alerts);
	{
		json_t *r;
		assert_int_equal(p25_request_show(reg, 1, who.now, &r), 0);
		char *s = json_dumps(r, 0);
		assert_non_null(strstr(s, "192.0.2.25"));
		assert_non_null(strstr(s, "add-permit"));
		free(s);
		json_decref(r);
	}
	p25_registry_close(reg);
	unlink(path);
	{
		char side[600];
		snprintf(side, sizeof side, "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof side, "%s-shm", path);
		unlink(side);
	}
}

/* The alerts of one host, oldest first. */
static json_t *alerts_of(struct p25_registry *reg, const char *host, const char *status)
{
	struct p25_alert_filter f = {.status = status};
	json_t *rows, *row, *found = json_array();
	size_t i;
	assert_int_equal(p25_alert_list(reg, &f, &rows), 0);
	json_array_foreach(rows, i, row)
		if (!strcmp(json_string_value(json_object_get(row, "host")), host))
			json_array_append(found, row);
	json_decref(rows);
	return found;
}

static const char *str_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "(null)";
}

/* The one alert of a host (asserted), with its status. */
static json_t *one_alert(struct p25_registry *reg, const char *host, const char *status)
{
	json_t *rows = alerts_of(reg, host, NULL), *row;
	if (json_array_size(rows) != 1)
		fail_msg("%s: %zu alerts, want 1", host, json_array_size(rows));
	row = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	if (strcmp(str_of(row, "status"), status) != 0)
		fail_msg("%s: alert %s, want %s", host, str_of(row, "status"), status);
	return row;
}

static void burst(struct p25_agg *a, uint32_t host, p25_time t)
{
	for (int i = 0; i < 80; i++) {
		struct p25_attempt x = mk(host, 0xcb000001 + (uint32_t)i, (uint16_t)(7000 + i), t + i / 4);
		p25_agg_record(a, &x);
	}
}

static size_t audits(struct p25_registry *reg, const char *action)
{
	json_t *rows, *row;
	size_t i, n = 0;
	assert_int_equal(p25_audit_list(reg, 0, &rows), 0);
	json_array_foreach(rows, i, row)
		n += !strcmp(str_of(row, "action"), action);
	json_decref(rows);
	return n;
}

/*
 * Alerts end: a valid permit resolves open and drafted alerts at the next
 * flush (hosts that did not change included), seven quiet days resolve an
 * open one, dismissed ones stay dismissed, and a host blocked again after a
 * quiet spell raises a new alert.
 */
/* One org's attempts on day (YYYY-MM-DD) in direction dir ("attempts": both), as the registry reads them. */
static json_int_t day_count(struct p25_registry *reg, const char *org, p25_time now, const char *day,
			    const char *dir)
{
	json_t *o, *row;
	json_int_t n = -1;
	size_t i;
	assert_int_equal(p25_attempts_daily_in(reg, org, 30, now, NULL, &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "days")), 30);
	json_array_foreach(json_object_get(o, "days"), i, row)
		if (!strcmp(json_string_value(json_object_get(row, "day")), day))
			n = json_integer_value(json_object_get(row, dir));
	json_decref(o);
	return n;
}

static int64_t sql_int1(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_run(const char *path, const char *sql)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/*
 * Blocked attempts per org and UTC day: counted on the attempt's own day
 * (not the host's last), added once per flush, moving with the summaries in
 * one transaction (a failed flush adds to neither), and neither a restart
 * nor an unflushed crash counts anything twice.
 */
static void test_daily_attempts(void **state)
{
	char path[] = "/tmp/p25-watch-XXXXXX", err[512];
	struct p25_registry *reg;
	struct p25_agg *a;
	struct p25_thresholds th;
	struct p25_flush_result res;
	struct p25_actor who = {.name = "tester", .now = at("2026-11-20T10:00:00Z")};
	p25_time d1 = at("2026-11-22T23:58:00Z"), d2 = at("2026-11-23T00:02:00Z");
	p25_time d3 = at("2026-11-24T08:00:00Z"), now = at("2026-11-24T12:00:00Z");
	uint16_t sport = 1000;
	size_t loaded;
	json_t *o;
	const char *total = "SELECT sum(attempts) FROM host_summary WHERE org = 'acme'";
	const char *daily = "SELECT sum(attempts) FROM attempts_daily";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_org_add(reg, &who, "acme", "Acme", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "acme", "192.0.2.0/24", "", 0), 0);
	assert_int_equal(p25_org_add(reg, &who, "beta", "Beta", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	p25_thresholds_default(&th);

	/* Run 1: one host across midnight, another inbound; flushed twice. */
	a = p25_agg_new(1 << 20, err, sizeof err);
	for (int i = 0; i < 2; i++) {
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, sport++, d1 + i);
		p25_agg_record(a, &x);
	}
	{
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, sport++, d2);
		struct p25_attempt in = mk(0xc633641a, 0xc000021a, sport++, d2);
		in.dir = P25_WDIR_IN;
		p25_agg_record(a, &x);
		p25_agg_record(a, &in);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, d2 + 60, &res), 0);
	assert_int_equal(p25_watch_flush(reg, a, &th, d2 + 61, &res), 0);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-22", "out"), 2);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "out"), 1);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "in"), 1);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "attempts"), 2);

	/* A flush that fails writes neither the summaries nor the days, and keeps both deltas. */
	for (int i = 0; i < 3; i++) {
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, sport++, d2 + 600 + i);
		p25_agg_record(a, &x);
	}
	sql_run(path, "ALTER TABLE attempts_daily RENAME TO attempts_daily_away");
	assert_true(p25_watch_flush(reg, a, &th, d2 + 700, &res) < 0);
	assert_int_equal(sql_int1(path, total), 4);
	sql_run(path, "ALTER TABLE attempts_daily_away RENAME TO attempts_daily");
	assert_int_equal(p25_watch_flush(reg, a, &th, d2 + 701, &res), 0);
	assert_int_equal(sql_int1(path, total), 7);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "out"), 4);

	/* A crash before the flush loses those attempts from both alike. */
	{
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, sport++, d2 + 900);
		p25_agg_record(a, &x);
	}
	p25_agg_free(a);
	assert_int_equal(sql_int1(path, total), sql_int1(path, daily));

	/* Run 2: the summaries come back, their counts are not counted again. */
	a = p25_agg_new(1 << 20, err, sizeof err);
	assert_int_equal(p25_watch_load(reg, a, &loaded), 0);
	assert_int_equal(loaded, 2);
	{
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, sport++, d3);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, d3 + 60, &res), 0);
	assert_int_equal(p25_watch_flush(reg, a, &th, d3 + 61, &res), 0);
	p25_agg_free(a);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-22", "out"), 2);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "out"), 4);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-23", "in"), 1);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-24", "out"), 1);
	assert_int_equal(day_count(reg, "acme", now, "2026-11-21", "attempts"), 0);
	assert_int_equal(sql_int1(path, total), 8);
	assert_int_equal(sql_int1(path, total), sql_int1(path, daily));

	/* The listing: the last days up to now's, zero-filled, oldest first; scoped. */
	assert_int_equal(p25_attempts_daily_in(reg, "acme", 3, now, NULL, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "from")), "2026-11-22");
	assert_string_equal(json_string_value(json_object_get(o, "to")), "2026-11-24");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(o, "days"), 0), "out")), 2);
	json_decref(o);
	{
		const char *beta[] = {"beta"};
		struct p25_scope sc = {.orgs = beta, .n = 1};
		assert_int_equal(p25_attempts_daily_in(reg, "acme", 30, now, &sc, &o), P25_ENOTFOUND);
		assert_null(o);
		assert_int_equal(p25_attempts_daily_in(reg, "beta", 30, now, &sc, &o), 0);
		assert_int_equal(day_count(reg, "beta", now, "2026-11-23", "attempts"), 0);
		json_decref(o);
	}
	assert_int_equal(p25_attempts_daily_in(reg, "acme", 0, now, NULL, &o), P25_EINVAL);
	assert_non_null(strstr(p25_registry_error(reg), "days 0"));
	p25_registry_close(reg);
	unlink(path);
}

static void test_alert_resolution(void **state)
{
	char err[512];
	struct p25_registry *reg;
	struct p25_agg *a;
	struct p25_thresholds th;
	struct p25_flush_result res;
	p25_time t0 = at("2026-11-23T00:00:00Z");
	struct p25_actor who = {.name = "tester", .now = t0};
	struct p25_permit_spec spec = {.org = "acme",
				       .address = "192.0.2.24/30", /* covers .25, not .26 */
				       .kind = P25_KIND_MAIL_SERVER,
				       .description = "mx",
				       .force = true};
	int64_t permit_id, lapsed_id, req, drafted, dismissed, infected;
	size_t permitted, quieted;
	json_t *row, *rows;

	(void)state;
	assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
	assert_int_equal(p25_org_add(reg, &who, "acme", "Acme", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "acme", "192.0.2.0/24", "", 0), 0);
	p25_thresholds_default(&th);
	assert_int_equal(th.alert_quiet, 7 * P25_DAY);

	/* Two missed servers (.25, .26) and two infected hosts (.66, .67), in one flush. */
	a = p25_agg_new(1 << 20, err, sizeof err);
	feed_postfix(a, 0xc0000219, t0);
	feed_postfix(a, 0xc000021a, t0);
	burst(a, 0xc0000242, t0);
	burst(a, 0xc0000243, t0);
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 13000, &res), 0);
	assert_int_equal(res.alerts_raised, 4);
	assert_int_equal(res.alerts_permitted + res.alerts_quiet, 0);

	/* .26 goes the usual way: draft, approve, apply.  .67 is dismissed. */
	who.now = t0 + 13100;
	row = one_alert(reg, "192.0.2.26", "open");
	drafted = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	assert_int_equal(p25_alert_draft(reg, &who, drafted, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply(reg, &who, req), 0);
	row = one_alert(reg, "192.0.2.67", "open");
	dismissed = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	assert_int_equal(p25_alert_dismiss(reg, &who, dismissed), 0);
	/* .25 gets a permit directly (a /30 covering it); .66 one that has lapsed by the flush. */
	assert_int_equal(p25_permit_add(reg, &who, &spec, &permit_id), 0);
	spec.address = "192.0.2.66";
	spec.expires = t0 + 13150;
	spec.force = false;
	assert_int_equal(p25_permit_add(reg, &who, &spec, &lapsed_id), 0);

	/* The next flush, though no host changed: both missed servers resolve as permitted. */
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 13200, &res), 0);
	assert_int_equal(res.hosts, 0);
	assert_int_equal(res.alerts_permitted, 2);
	assert_int_equal(res.alerts_quiet, 0);
	row = one_alert(reg, "192.0.2.25", "resolved");
	assert_string_equal(str_of(row, "resolved_reason"), "permitted");
	assert_string_equal(str_of(row, "resolved_at"), "2026-11-23T03:40:00Z");
	assert_true(json_is_null(json_object_get(row, "request_id")));
	json_decref(row);
	row = one_alert(reg, "192.0.2.26", "resolved");
	assert_string_equal(str_of(row, "resolved_reason"), "permitted");
	assert_int_equal(json_integer_value(json_object_get(row, "request_id")), req);
	json_decref(row);
	json_decref(one_alert(reg, "192.0.2.66", "open")); /* its permit had lapsed */
	json_decref(one_alert(reg, "192.0.2.67", "dismissed"));
	assert_int_equal(audits(reg, "resolve"), 2);
	/* Resolved is final: neither drafted nor dismissed. */
	assert_int_equal(p25_alert_draft(reg, &who, drafted, &req), P25_ECONFLICT);
	assert_non_null(strstr(p25_registry_error(reg), "resolved (permitted)"));
	assert_int_equal(p25_alert_dismiss(reg, &who, drafted), P25_ECONFLICT);

	/* Blocked until the gateway applies the permit: no new alert for a permitted host. */
	{
		struct p25_attempt x = mk(0xc0000219, 0xc6336419, 999, t0 + 14000);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 14100, &res), 0);
	assert_int_equal(res.hosts, 1);
	assert_int_equal(res.alerts_raised + res.alerts_updated + res.alerts_permitted, 0);
	json_decref(one_alert(reg, "192.0.2.25", "resolved"));

	/* Quiet: not a day early (counted from the alert's last update, 13000 s), then yes. */
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 13000 + 6 * P25_DAY, &res), 0);
	assert_int_equal(res.alerts_quiet, 0);
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 13000 + 7 * P25_DAY, &res), 0);
	assert_int_equal(res.alerts_quiet, 1);
	assert_int_equal(res.alerts_permitted, 0);
	row = one_alert(reg, "192.0.2.66", "resolved");
	assert_string_equal(str_of(row, "resolved_reason"), "quiet");
	assert_string_equal(str_of(row, "resolved_at"), "2026-11-30T03:36:40Z");
	infected = json_integer_value(json_object_get(row, "id"));
	json_decref(row);
	/* The dismissed alert of a host just as quiet is left alone. */
	json_decref(one_alert(reg, "192.0.2.67", "dismissed"));
	assert_int_equal(audits(reg, "resolve"), 3);
	rows = alerts_of(reg, "192.0.2.66", "resolved");
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);

	/* Blocked again after the quiet spell, and still infected: a new alert. */
	burst(a, 0xc0000242, t0 + 9 * P25_DAY);
	burst(a, 0xc0000243, t0 + 9 * P25_DAY);
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 9 * P25_DAY + 60, &res), 0);
	assert_int_equal(res.alerts_raised, 1);
	assert_int_equal(res.alerts_updated, 1); /* the dismissed one's evidence */
	rows = alerts_of(reg, "192.0.2.66", NULL);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), infected);
	assert_string_equal(str_of(json_array_get(rows, 0), "status"), "resolved");
	assert_string_equal(str_of(json_array_get(rows, 0), "updated"), "2026-11-30T03:36:40Z");
	assert_true(json_integer_value(json_object_get(json_array_get(rows, 1), "id")) > infected);
	assert_string_equal(str_of(json_array_get(rows, 1), "status"), "open");
	assert_true(json_is_null(json_object_get(json_array_get(rows, 1), "resolved_at")));
	json_decref(rows);
	json_decref(one_alert(reg, "192.0.2.67", "dismissed"));

	/* alerts expire: the same resolution on its own, listing what it resolved. */
	who.now = t0 + 9 * P25_DAY + 120;
	spec.address = "192.0.2.66";
	spec.expires = 0;
	assert_int_equal(p25_permit_remove(reg, &who, lapsed_id), 0);
	assert_int_equal(p25_permit_add(reg, &who, &spec, &permit_id), 0);
	assert_int_equal(p25_alert_expire(reg, &who, th.alert_quiet, &permitted, &quieted, &rows), 0);
	assert_int_equal(permitted, 1);
	assert_int_equal(quieted, 0);
	assert_int_equal(json_array_size(rows), 1);
	row = json_array_get(rows, 0);
	assert_string_equal(str_of(row, "host"), "192.0.2.66");
	assert_string_equal(str_of(row, "was"), "open");
	assert_string_equal(str_of(row, "resolved_reason"), "permitted");
	assert_int_equal(json_integer_value(json_object_get(row, "permit_id")), permit_id);
	json_decref(rows);
	/* Nothing left to resolve; quiet 0 never resolves. */
	assert_int_equal(p25_alert_expire(reg, &who, 0, &permitted, &quieted, NULL), 0);
	assert_int_equal(permitted + quieted, 0);
	json_decref(one_alert(reg, "192.0.2.67", "dismissed"));

	/* IPv6: a /64 permit covers the host; the /128 of a neighbour does not. */
	assert_int_equal(p25_prefix_add(reg, &who, "acme", "2001:db8:25::/48", "", 0), 0);
	for (int i = 0; i < 80; i++) {
		struct p25_attempt x = mk(0, 0xcb000001 + (uint32_t)i, (uint16_t)(9000 + i),
					  t0 + 9 * P25_DAY + 200 + i / 4);
		struct p25_diag diag;
		char dst[P25_ADDR_STRLEN];
		snprintf(dst, sizeof dst, "2001:db8:ffff::%x", i + 1);
		assert_int_equal(p25_addr_parse("2001:db8:25:1::66", 0, &x.src, &diag), 0);
		assert_int_equal(p25_addr_parse(dst, 0, &x.dst, &diag), 0);
		p25_agg_record(a, &x);
	}
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 9 * P25_DAY + 300, &res), 0);
	assert_int_equal(res.alerts_raised, 1);
	who.now = t0 + 9 * P25_DAY + 400;
	spec.address = "2001:db8:25:1::67";
	assert_int_equal(p25_permit_add(reg, &who, &spec, &permit_id), 0);
	assert_int_equal(p25_alert_expire(reg, &who, th.alert_quiet, &permitted, &quieted, NULL), 0);
	assert_int_equal(permitted, 0);
	spec.address = "2001:db8:25:1::/64";
	spec.force = true;
	assert_int_equal(p25_permit_add(reg, &who, &spec, &permit_id), 0);
	assert_int_equal(p25_alert_expire(reg, &who, th.alert_quiet, &permitted, &quieted, NULL), 0);
	assert_int_equal(permitted, 1);
	json_decref(one_alert(reg, "2001:db8:25:1::66", "resolved"));
	p25_agg_free(a);
	p25_registry_close(reg);
}

/* A flood passes 65,535 attempts a minute: the peak is the flood's, not a 16-bit ceiling. */
static void test_peak_beyond_16_bits(void **state)
{
	char path[] = "/tmp/p25-watch-XXXXXX", err[512];
	struct p25_registry *reg;
	struct p25_agg *a;
	struct p25_thresholds th;
	struct p25_flush_result res;
	struct p25_actor who = {.name = "tester", .now = at("2026-11-23T10:00:00Z")};
	p25_time t0 = at("2026-11-23T09:00:00Z");
	const uint32_t n = 70000;
	struct p25_addr addr;
	struct p25_host *h;
	json_t *row, *ev = NULL;
	size_t loaded;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_org_add(reg, &who, "acme", "Acme", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	p25_thresholds_default(&th);
	a = p25_agg_new(1 << 20, err, sizeof err);
	assert_non_null(a);
	/* One host, one destination, a new source port each time: every one an attempt, in one minute. */
	for (uint32_t i = 0; i < n; i++) {
		struct p25_attempt x = mk(0xc000021e, 0xc6336419, (uint16_t)i, t0 + (p25_time)(i % 60));
		assert_non_null(p25_agg_record(a, &x));
	}
	p25_addr_from_v4(&addr, 0xc000021e);
	h = p25_agg_find(a, &addr, P25_WDIR_OUT);
	assert_non_null(h);
	assert_int_equal(h->attempts, n);
	assert_int_equal(h->peak_minute, n);
	assert_int_equal(p25_host_classify(a, h, &th, &ev), P25_ALERT_INFECTED);
	assert_int_equal(json_integer_value(json_object_get(ev, "peak_per_minute")), n);
	assert_non_null(strstr(json_string_value(json_object_get(ev, "reason")), "70000"));
	json_decref(ev);
	assert_int_equal(p25_watch_flush(reg, a, &th, t0 + 60, &res), 0);
	p25_agg_free(a);
	row = summary_of(reg, "192.0.2.30");
	assert_non_null(row);
	assert_int_equal(json_integer_value(json_object_get(row, "peak_per_minute")), n);
	json_decref(row);
	/* Read back after a restart, and a threshold above 16 bits is a valid setting. */
	a = p25_agg_new(1 << 20, err, sizeof err);
	assert_int_equal(p25_watch_load(reg, a, &loaded), 0);
	h = p25_agg_find(a, &addr, P25_WDIR_OUT);
	assert_non_null(h);
	assert_int_equal(h->peak_minute, n);
	{
		struct p25_watch_config c;
		p25_watch_config_default(&c);
		assert_int_equal(p25_watch_config_set(&c, "infected-burst-per-minute", "100000", err,
						      sizeof err), 0);
		assert_int_equal(c.thresholds.infected_burst, 100000);
		c.thresholds.infected_burst = 80000;
		assert_int_equal(p25_host_classify(a, h, &c.thresholds, &ev), P25_ALERT_NONE);
		json_decref(ev);
	}
	p25_agg_free(a);
	p25_registry_close(reg);
	unlink(path);
}

static void test_config(void **state)
{
	char path[] = "/tmp/p25-conf-XXXXXX", err[512];
	struct p25_watch_config c;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# gateway\nregistry = /srv/p25.db\nnflog-group = 26 # ours\nsyslog-listen = [::]:514\n"
	      "flush-interval = 2m\nmax-memory = 32M\ninfected-burst-per-minute = 100\n"
	      "enforce-table = port25\n",
	      f);
	fclose(f);
	p25_watch_config_default(&c);
	assert_int_equal(p25_watch_config_load(&c, path, true, err, sizeof err), 1);
	assert_non_null(strstr(err, "enforce-table")); /* another command's key: a warning */
	assert_string_equal(c.registry, "/srv/p25.db");
	assert_int_equal(c.nflog_group, 26);
	assert_string_equal(c.syslog_listen, "[::]:514");
	assert_int_equal(c.flush_interval, 120);
	assert_int_equal(c.max_memory, 32u << 20);
	assert_int_equal(c.thresholds.infected_burst, 100);
	assert_int_equal(p25_watch_config_set(&c, "nflog-group", "off", err, sizeof err), 0);
	assert_int_equal(c.nflog_group, -1);
	assert_int_equal(p25_watch_config_set(&c, "flush-interval", "0", err, sizeof err), -1);
	assert_int_equal(p25_watch_config_set(&c, "nflog-group", "70000", err, sizeof err), -1);
	assert_int_equal(p25_watch_config_set(&c, "bogus", "1", err, sizeof err), -1);
	assert_int_equal(c.thresholds.alert_quiet, 7 * P25_DAY);
	assert_int_equal(p25_watch_config_set(&c, "alert-quiet", "3d", err, sizeof err), 0);
	assert_int_equal(c.thresholds.alert_quiet, 3 * P25_DAY);
	assert_int_equal(p25_watch_config_set(&c, "alert-quiet", "off", err, sizeof err), 0);
	assert_int_equal(c.thresholds.alert_quiet, 0);
	assert_int_equal(p25_watch_config_set(&c, "alert-quiet", "a week", err, sizeof err), -1);
	f = fopen(path, "w");
	fputs("registry = /a\nflush-interval = soon\n", f);
	fclose(f);
	assert_int_equal(p25_watch_config_load(&c, path, true, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2:"));
	unlink(path);
	assert_int_equal(p25_watch_config_load(&c, path, false, err, sizeof err), 0);
	assert_int_equal(p25_watch_config_load(&c, path, true, err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cisco_lines),
	    cmocka_unit_test(test_junos_lines),
	    cmocka_unit_test(test_asa_lines),
	    cmocka_unit_test(test_asa_truncated),
	    cmocka_unit_test(test_lines_keep_good_around_bad),
	    cmocka_unit_test(test_udp_allowed_senders),
	    cmocka_unit_test(test_udp_burst_during_stall),
	    cmocka_unit_test(test_udp_kernel_drops_counted),
	    cmocka_unit_test(test_udp_small_queue_concurrent),
	    cmocka_unit_test(test_nflog_prefix_and_packet),
	    cmocka_unit_test(test_bounded_memory),
	    cmocka_unit_test(test_eviction_spills_unflushed),
	    cmocka_unit_test(test_days_follow_lost_evictions),
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_persistence_round_trip),
	    cmocka_unit_test(test_daily_attempts),
	    cmocka_unit_test(test_alert_resolution),
	    cmocka_unit_test(test_peak_beyond_16_bits),
	    cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
