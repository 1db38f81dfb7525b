/*
 * The analyzer on generated traffic with known answers, on the real
 * captures of tests/data/real, and through NetFlow v9 and IPFIX.
 *
 * The generated capture holds: a mail server with steady deliveries over
 * three days and queue retries to a dead destination; a bot fanning out to
 * hundreds of addresses with failures, resets and 5xx replies, on a VLAN;
 * a submission-only client; an IPv6 mail server and an IPv6 submission
 * client; a permitted relay; and packets cut short by the snap length.
 *
 * `test_analyze --write DIR` writes that capture to DIR/synthetic.pcap
 * (for tests/cli/test_analyze.sh) and exits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "flow/flow.h"
#include "flowenc.h"
#include "frame.h"

/* ---- a small pcap writer ---- */

struct wb {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct wb *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 4096;
		w->p = realloc(w->p, w->cap);
		assert_non_null(w->p);
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void put32le(struct wb *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(w, b, 4);
}

static void put16be(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

struct host {
	int v6;
	uint8_t a[16]; /* v4 in the first 4 bytes */
	uint16_t vlan;
};

static struct host H4(uint32_t v) {
	struct host h = {0};
	put32be(h.a, v);
	return h;
}

static struct host
H6(uint16_t last) {
	struct host h = {.v6 = 1, .a = {0x20, 0x01, 0x0d, 0xb8, 0, 1}};
	put16be(h.a + 14, last);
	return h;
}

struct gen {
	struct wb file;
	uint32_t snaplen; /* 0: whole packets */
	uint32_t syn_opts; /* bytes of TCP options on SYNs (a multiple of 4, up to 40) */
	uint64_t packets;
	/* Where each connection's packets begin in file: units to shuffle. */
	size_t *units;
	size_t nunits, capunits;
};

static void gen_free(struct gen *g)
{
	free(g->file.p);
	free(g->units);
}

static void unit_mark(struct gen *g)
{
	if (g->nunits == g->capunits) {
		g->capunits = g->capunits * 2 + 64;
		g->units = realloc(g->units, g->capunits * sizeof *g->units);
		assert_non_null(g->units);
	}
	g->units[g->nunits++] = g->file.len;
}

static void gen_start(struct gen *g)
{
	memset(g, 0, sizeof *g);
	put32le(&g->file, 0xa1b2c3d4);
	put32le(&g->file, 2 | 4u << 16);
	put32le(&g->file, 0);
	put32le(&g->file, 0);
	put32le(&g->file, 65535);
	put32le(&g->file, 1); /* Ethernet */
}

/* One TCP segment from a to b at time t (microseconds). */
static void seg(struct gen *g, uint64_t t, const struct host *a, const struct host *b,
                uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack,
                const void *data, size_t n)
{
	uint8_t f[TEST_FRAME_MAX];
	uint32_t opts = (flags & 2) ? g->syn_opts : 0;
	struct test_segment sg = {a->v6, a->vlan, a->a, b->a, sport, dport, flags, seq, ack,
	                          65535, opts, data, n};
	size_t o;

	assert_true(n <= 1400 && opts % 4 == 0 && opts <= 40);
	o = test_frame(f, &sg, NULL);
	uint32_t cap = (uint32_t)o;
	if (g->snaplen && cap > g->snaplen)
		cap = g->snaplen;
	put32le(&g->file, (uint32_t)(t / 1000000));
	put32le(&g->file, (uint32_t)(t % 1000000));
	put32le(&g->file, cap);
	put32le(&g->file, (uint32_t)o);
	put(&g->file, f, cap);
	g->packets++;
}

enum outcome { OK, NOANSWER, RESET };

/*
 * A whole TCP connection: handshake, the dialogue lines alternating server
 * (even index, starting with the banner) and client (odd), then FIN.
 */
static uint64_t conn(struct gen *g, uint64_t t, const struct host *c, const struct host *s,
                     uint16_t cport, uint16_t sport, enum outcome oc, const char *const *lines)
{
	uint32_t cs = 1000 + cport * 7u, ss = 50000 + cport * 13u;
	const uint8_t SYN = 2, ACK = 16, RST = 4, FIN = 1, PSH = 8;

	unit_mark(g);
	seg(g, t, c, s, cport, sport, SYN, cs, 0, NULL, 0);
	if (oc == NOANSWER) {
		seg(g, t + 1000000, c, s, cport, sport, SYN, cs, 0, NULL, 0);
		seg(g, t + 3000000, c, s, cport, sport, SYN, cs, 0, NULL, 0);
		return t + 3000000;
	}
	if (oc == RESET) {
		seg(g, t + 500, s, c, sport, cport, RST | ACK, 0, cs + 1, NULL, 0);
		return t + 500;
	}
	seg(g, t + 500, s, c, sport, cport, SYN | ACK, ss, cs + 1, NULL, 0);
	seg(g, t + 1000, c, s, cport, sport, ACK, cs + 1, ss + 1, NULL, 0);
	cs++, ss++;
	t += 2000;
	for (int i = 0; lines && lines[i]; i++, t += 1000) {
		const char *l = lines[i];
		size_t n = strlen(l);
		if (i % 2 == 0) {
			seg(g, t, s, c, sport, cport, PSH | ACK, ss, cs, l, n);
			ss += (uint32_t)n;
		} else {
			/* Long client text (a message body) goes in several segments. */
			for (size_t off = 0; off < n; off += 1000) {
				size_t k = n - off < 1000 ? n - off : 1000;
				seg(g, t, c, s, cport, sport, PSH | ACK, cs, ss, l + off, k);
				cs += (uint32_t)k;
			}
		}
	}
	seg(g, t, c, s, cport, sport, FIN | ACK, cs, ss, NULL, 0);
	seg(g, t + 500, s, c, sport, cport, FIN | ACK, ss, cs + 1, NULL, 0);
	seg(g, t + 1000, c, s, cport, sport, ACK, cs + 1, ss + 1, NULL, 0);
	return t + 1000;
}

#define T0   1700000000000000ULL /* 2023-11-14T22:13:20Z, in microseconds */
#define HOUR 3600000000ULL
#define MIN  60000000ULL

/* The addresses of the scenario. */
#define MTA   0x0a00000a /* 10.0.0.10: unregistered mail server */
#define RELAY 0x0a00000b /* 10.0.0.11: permitted relay */
#define SUBC  0x0a000014 /* 10.0.0.20: submission-only client */
#define BOT   0x0a000042 /* 10.0.0.66: bot, VLAN 42 */
#define MTA6  0x10       /* 2001:db8:1::10 */
#define SUB6  0x20       /* 2001:db8:1::20 */
#define CUT   0x0a000063 /* 10.0.0.99: cut by the snap length */

static void build_scenario(struct gen *g)
{
	static const char *const delivery[] = {
	    "220 mx.example.net ESMTP\r\n",
	    "EHLO mail.example.org\r\n",
	    "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
	    "MAIL FROM:<alerts@example.org>\r\n",
	    "250 2.1.0 Ok\r\n",
	    "RCPT TO:<bob@example.net>\r\n",
	    "250 2.1.5 Ok\r\n",
	    "DATA\r\n",
	    "354 End data with <CR><LF>.<CR><LF>\r\n",
	    "Subject: report\r\n\r\nall quiet\r\n..and a stuffed dot\r\n.\r\n",
	    "250 2.0.0 Ok: queued\r\n",
	    "QUIT\r\n",
	    "221 Bye\r\n",
	    NULL,
	};
	static const char *const tls[] = {
	    "220 mx.example.com ESMTP\r\n",
	    "EHLO mail.example.org\r\n",
	    "250-mx.example.com\r\n250 STARTTLS\r\n",
	    "STARTTLS\r\n",
	    "220 2.0.0 Ready\r\n",
	    "\x16\x03\x01 binary hello",
	    "\x16\x03\x03 binary",
	    NULL,
	};
	static const char *const inbound[] = {
	    "220 mail.example.org ESMTP Postfix\r\n",
	    "EHLO sender.example.com\r\n",
	    "250 mail.example.org\r\n",
	    "QUIT\r\n",
	    "221 Bye\r\n",
	    NULL,
	};
	static const char *const spam[] = {
	    "220 mx ESMTP\r\n",
	    "HELO 10.0.0.66\r\n",
	    "250 mx\r\n",
	    "MAIL FROM:<x@random%d.biz>\r\n",
	    "250 Ok\r\n",
	    "RCPT TO:<victim@target%d.com>\r\n",
	    "550 5.7.1 Rejected: listed\r\n",
	    "QUIT\r\n",
	    "221 Bye\r\n",
	    NULL,
	};
	static const char *const submit[] = {"220 smtp ready\r\n", "EHLO laptop\r\n", NULL};
	struct host mta = H4(MTA), relay = H4(RELAY), subc = H4(SUBC), bot = H4(BOT);
	struct host mta6 = H6(MTA6), sub6 = H6(SUB6), cut = H4(CUT);
	struct host dead = H4(0xc6336363), ext_sender = H4(0xcb007101);
	uint16_t port = 20000;

	bot.vlan = 42;
	/* The mail server and its IPv6 twin: a few deliveries every hour for three days. */
	for (int hr = 0; hr < 72; hr++) {
		for (int k = 0; k < 3; k++) {
			struct host mx = H4(0xc6336400 + (uint32_t)((hr * 3 + k) % 20));
			struct host mx6 = H6((uint16_t)(0x100 + (hr + k) % 10));
			mx6.a[5] = 9;
			uint64_t t = T0 + hr * HOUR + (uint64_t)k * 7 * MIN;
			conn(g, t, &mta, &mx, port++, 25, OK, k == 2 ? tls : delivery);
			conn(g, t + MIN, &mta6, &mx6, port++, 25, OK, delivery);
		}
		if (hr % 6 == 0)
			conn(g, T0 + hr * HOUR + 30 * MIN, &ext_sender, &mta, port++, 25, OK,
			     inbound);
	}
	/* Queue retries to a dead destination: 5, 10, 20, 40 minutes apart. */
	uint64_t rt = T0 + 2 * HOUR + 10 * MIN;
	for (int i = 0, gap = 5; i < 5; i++, gap *= 2) {
		conn(g, rt, &mta, &dead, port++, 25, NOANSWER, NULL);
		rt += (uint64_t)gap * MIN;
	}
	/* The permitted relay delivers once an hour on day one. */
	for (int hr = 0; hr < 24; hr++) {
		struct host mx = H4(0xc6336400 + (uint32_t)hr % 5);
		conn(g, T0 + hr * HOUR + 40 * MIN, &relay, &mx, port++, 25, OK, delivery);
	}
	/* Submission-only clients, v4 and v6. */
	for (int i = 0; i < 10; i++) {
		struct host smarthost = H4(0xcb007119), smarthost6 = H6(0x587);
		smarthost6.a[5] = 7;
		conn(g, T0 + (uint64_t)i * HOUR + 5 * MIN, &subc, &smarthost, port++,
		     i % 2 ? 587 : 465, OK, submit);
		conn(g, T0 + (uint64_t)i * HOUR + 6 * MIN, &sub6, &smarthost6, port++, 587, OK,
		     submit);
	}
	/* The bot: 300 addresses in ten minutes, a third answered, many refused. */
	uint64_t bt = T0 + 30 * HOUR;
	for (int i = 0; i < 300; i++) {
		struct host victim = H4(0x5b000000 + (uint32_t)i * 257);
		char mail[64], rcpt[64];
		char *lines[16];
		memcpy(lines, spam, sizeof spam);
		snprintf(mail, sizeof mail, "MAIL FROM:<x@random%d.biz>\r\n", i);
		snprintf(rcpt, sizeof rcpt, "RCPT TO:<victim@target%d.com>\r\n", i);
		lines[3] = mail;
		lines[5] = rcpt;
		conn(g, bt + (uint64_t)i * 2000000, &bot, &victim, port++, 25,
		     i % 3 == 0   ? OK
		     : i % 3 == 1 ? NOANSWER
		                  : RESET,
		     (const char *const *)lines);
	}
	/* Cut packets: a snap length of 60 bytes keeps the headers, loses the dialogue. */
	struct host mx1 = H4(0xc6336401);
	g->snaplen = 60;
	conn(g, T0 + 3 * HOUR, &cut, &mx1, port++, 25, OK, delivery);
	g->snaplen = 40; /* and shorter than the headers */
	conn(g, T0 + 3 * HOUR + MIN, &cut, &mx1, port++, 25, OK, delivery);
	g->snaplen = 0;
}

/* ---- the registry of the scenario ---- */

static void scenario_model(struct p25_model *m)
{
	struct p25_prefix p;
	struct p25_diag d;
	struct p25_permit pm = {0};

	p25_model_init(m);
	assert_int_equal(p25_model_add_org(m, 1, "campus", "Campus", P25_ENROLL_PENDING,
	                                   P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
	assert_int_equal(p25_prefix_parse("10.0.0.0/24", 0, &p, &d), 0);
	assert_int_equal(p25_model_add_space(m, 1, 0, &p, "campus v4"), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &p, &d), 0);
	assert_int_equal(p25_model_add_space(m, 2, 0, &p, "campus v6"), 1);
	pm.id = 7;
	pm.org = 0;
	assert_int_equal(p25_prefix_parse("10.0.0.11/32", 0, &pm.prefix, &d), 0);
	pm.kind = P25_KIND_MAIL_SERVER;
	pm.description = (char *)"relay";
	pm.requested_by = (char *)"t";
	pm.approved_by = (char *)"t";
	assert_true(p25_model_add_permit(m, &pm) >= 0);
}

static const struct p25_an_host *find(struct p25_analyzer *a, const char *addr)
{
	size_t n;
	const struct p25_an_host *h = p25_an_hosts(a, &n);
	struct p25_addr x;
	struct p25_diag d;

	assert_int_equal(p25_addr_parse(addr, 0, &x, &d), 0);
	for (size_t i = 0; i < n; i++)
		if (p25_addr_equal(&h[i].addr, &x))
			return &h[i];
	fail_msg("host %s not reported", addr);
	return NULL;
}

static struct p25_analyzer *analyze_scenario(struct p25_model *m, struct gen *g)
{
	char err[256];
	struct p25_analyzer *a;
	struct p25_capture *c;
	struct p25_packet pkt;

	gen_start(g);
	build_scenario(g);
	scenario_model(m);
	a = p25_an_new(NULL, m, NULL, NULL, 0, 1700000000, err, sizeof err);
	assert_non_null(a);
	c = p25_capture_open_mem(g->file.p, g->file.len, "scenario", err, sizeof err);
	assert_non_null(c);
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	return a;
}

static void test_scenario_classes(void **state)
{
	struct p25_model m;
	struct gen g;
	struct p25_analyzer *a = analyze_scenario(&m, &g);
	const struct p25_an_host *h;
	struct p25_an_summary s;
	size_t n;

	(void)state;
	h = find(a, "10.0.0.10");
	assert_string_equal(p25_an_class_name(h->cls), "unregistered-server");
	assert_int_equal(h->out25.conns, 72 * 3 + 5);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 72 * 3);
	assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 5);
	assert_int_equal(p25_an_distinct_dests(h), 21);
	assert_int_equal(h->in25.conns, 12);
	assert_int_equal(h->smtp->messages, 72 * 2);
	assert_int_equal(h->smtp->tls_ok, 72);
	assert_true(h->retries >= 3);
	/* 72 hours from 22:13 UTC touch four dates, but are three days of traffic. */
	assert_int_equal(h->days_active, 3);
	assert_non_null(strstr(h->reasons, "steady: active in 72 hours over 3 days"));
	assert_string_equal(h->smtp->helo_names[0], "mail.example.org");
	assert_string_equal(h->smtp->banner, "mail.example.org ESMTP Postfix");
	assert_non_null(strstr(h->reasons, "steady"));
	/* Messages: the body less the dot line, with the stuffed dot as sent. */
	assert_int_equal(h->smtp->msg_bytes,
	                 72 * 2 *
	                     strlen("Subject: report\r\n\r\nall quiet\r\n..and a stuffed dot\r\n"));

	/* One recipient a delivery, always of the same domain. */
	assert_int_equal(h->rcpt_domains_max, 1);
	assert_null(strstr(h->reasons, "recipient"));

	h = find(a, "2001:db8:1::10");
	assert_string_equal(p25_an_class_name(h->cls), "unregistered-server");
	assert_int_equal(h->out25.conns, 72 * 3);
	assert_int_equal(p25_an_distinct_dests(h), 10);

	h = find(a, "10.0.0.66");
	assert_string_equal(p25_an_class_name(h->cls), "suspected-bot");
	assert_int_equal(h->out25.conns, 300);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 100);
	assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 100);
	assert_int_equal(h->out25.outcome[P25_AN_RESET], 100);
	/* Past the exact set the count is an estimate: within 3%. */
	assert_in_range(p25_an_distinct_dests(h), 291, 309);
	assert_int_equal(h->smtp->replies[5], 100);
	assert_int_equal(h->smtp->helo_bare_ip, 100);
	assert_int_equal(h->smtp->sender_domains, 100);
	assert_non_null(strstr(h->reasons, "fan-out"));
	/*
	 * Its 100 answered sessions name a recipient of another domain each,
	 * within 594 s: a pair of half-windows holds most of them.
	 */
	assert_int_equal(h->smtp->rcpt_to, 100);
	assert_in_range(h->rcpt_max, 50, 100);
	assert_in_range(h->rcpt_domains_max, h->rcpt_max * 9 / 10, h->rcpt_max);
	assert_non_null(strstr(h->reasons, "recipient fan-out: about"));

	h = find(a, "10.0.0.20");
	assert_string_equal(p25_an_class_name(h->cls), "client-only");
	assert_int_equal(h->sub.conns, 10);
	assert_int_equal(h->out25.conns, 0);
	h = find(a, "2001:db8:1::20");
	assert_string_equal(p25_an_class_name(h->cls), "client-only");

	h = find(a, "10.0.0.11");
	assert_string_equal(p25_an_class_name(h->cls), "permitted");
	assert_int_equal(h->out25.conns, 24);

	/* Cut packets: the handshakes still count; the dialogue is lost, and nothing breaks. */
	h = find(a, "10.0.0.99");
	assert_int_equal(h->out25.conns, 1);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 1);
	assert_true(p25_an_stats(a)->decode.count[P25_DEC_TRUNC_IP] +
	                p25_an_stats(a)->decode.count[P25_DEC_TRUNC_TCP] >
	            0);

	/* No external host is reported. */
	/* The score is a bot likelihood, 0 to 100, in every class. */
	const struct p25_an_host *all = p25_an_hosts(a, &n);
	for (size_t i = 0; i < n; i++) {
		assert_in_range(all[i].score, 0, 100);
		if (all[i].cls == P25_AN_BOT)
			assert_true(all[i].score >= 50);
		if (all[i].cls == P25_AN_SERVER || all[i].cls == P25_AN_UNKNOWN)
			assert_true(all[i].score < 50);
	}
	assert_int_equal(n, 7);
	p25_an_summarize(a, &s);
	assert_int_equal(s.send, 5);
	assert_int_equal(s.permitted, 1);
	assert_int_equal(s.blocked, 4);
	assert_int_equal(s.servers, 2);
	assert_int_equal(s.bots, 1);

	p25_an_free(a);
	p25_model_free(&m);
	gen_free(&g);
}

static void test_reports(void **state)
{
	struct p25_model m;
	struct gen g;
	struct p25_analyzer *a = analyze_scenario(&m, &g);
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	json_t *j;

	(void)state;
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_html(a, "t <&>", f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<svg"));
	assert_non_null(strstr(buf, "t &lt;&amp;&gt;"));
	assert_null(strstr(buf, "http://") == NULL ? NULL : strstr(strstr(buf, "http://"), "src="));
	assert_null(strstr(buf, "<script"));
	assert_null(strstr(buf, "<link"));
	/* The bot's 300 destinations are an estimate, and said to be one. */
	const char *row = strstr(buf, "<td>10.0.0.66</td>");
	assert_non_null(row);
	assert_non_null(strstr(row, "<td class=\"num\">~"));
	free(buf);

	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_suggest_csv(a, "noc", f), 2);
	fclose(f);
	assert_non_null(
	    strstr(buf, "org,address,kind,description,requested_by,approved_by,expires\n"));
	assert_non_null(strstr(buf, "campus,10.0.0.10,mail-server,"));
	assert_non_null(strstr(buf, "campus,2001:db8:1::10,mail-server,"));
	assert_null(strstr(buf, "10.0.0.66"));
	free(buf);

	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_csv(a, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "10.0.0.66,campus,suspected-bot,"));
	free(buf);

	/* The rollup per organization: everything is campus's here. */
	struct p25_an_org_summary *orgs;
	assert_int_equal(p25_an_summarize_orgs(a, &orgs), 1);
	assert_int_equal(orgs[0].org, 0);
	assert_int_equal(orgs[0].s.hosts, 7);
	assert_int_equal(orgs[0].s.send, 5);
	assert_int_equal(orgs[0].s.permitted, 1);
	assert_int_equal(orgs[0].s.blocked, 4);
	assert_int_equal(orgs[0].s.servers, 2);
	assert_int_equal(orgs[0].s.bots, 1);
	free(orgs);

	j = p25_an_report_json(a);
	assert_non_null(strstr(json_string_value(json_object_get(j, "summary")),
	                       "5 hosts send SMTP, 1 is permitted, 4 would be blocked, of which 2 "
	                       "look like servers to register before activation"));

	/* The streamed document is the tree's, plus the extra members. */
	json_t *extra =
	    json_pack("{s:i, s:s}", "memory_bytes", 7, "note", "q\"uote\\ \x01 \xc3\xa9");
	json_object_update(j, extra);
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_json_stream(a, extra, f), 0);
	fclose(f);
	json_error_t e;
	json_t *back = json_loads(buf, 0, &e);
	assert_non_null(back);
	assert_true(json_equal(j, back));
	assert_true(json_array_size(json_object_get(back, "hosts")) > 0);
	json_decref(back);
	json_decref(extra);
	free(buf);
	json_decref(j);
	p25_an_free(a);
	p25_model_free(&m);
	gen_free(&g);
}

/* ---- the same traffic as flows ---- */

struct fkey {
	uint8_t src[16], dst[16];
	int v6;
	uint16_t sport, dport;
};

struct frec {
	struct fkey k;
	uint64_t bytes, pkts, first_ms, last_ms;
	uint8_t flags;
};

struct flowset {
	struct frec *v;
	size_t n, cap;
};

/* Unidirectional flows from the segments, as a NetFlow exporter would make them. */
static int to_flow(void *ctx, const struct p25_packet *p)
{
	struct flowset *fs = ctx;
	struct p25_tcp_segment s;
	struct fkey k = {0};

	if (p25_decode_tcp(p, NULL, &s, NULL) != P25_DEC_TCP)
		return 0;
	k.v6 = s.src.family == P25_INET6;
	p25_addr_v6_bytes(&s.src, k.src);
	p25_addr_v6_bytes(&s.dst, k.dst);
	if (!k.v6) {
		put32be(k.src, p25_addr_v4(&s.src));
		put32be(k.dst, p25_addr_v4(&s.dst));
		memset(k.src + 4, 0, 12);
		memset(k.dst + 4, 0, 12);
	}
	k.sport = s.sport;
	k.dport = s.dport;
	for (size_t i = fs->n; i-- > 0;) {
		struct frec *r = &fs->v[i];
		if (memcmp(&r->k, &k, sizeof k) == 0) {
			r->bytes += s.ip_len;
			r->pkts++;
			r->flags |= s.flags;
			r->last_ms = s.ts_ns / 1000000;
			return 0;
		}
		if (fs->n - i > 64)
			break;
	}
	if (fs->n == fs->cap) {
		fs->cap = fs->cap * 2 + 256;
		fs->v = realloc(fs->v, fs->cap * sizeof *fs->v);
		assert_non_null(fs->v);
	}
	fs->v[fs->n++] =
	    (struct frec){k, s.ip_len, 1, s.ts_ns / 1000000, s.ts_ns / 1000000, s.flags};
	return 0;
}

static void flow_template(struct p25_fenc *e, int ipfix, int v6)
{
	p25_fenc_set_begin(e, ipfix ? 2 : 0);
	p25_fenc_u16(e, (uint16_t)(v6 ? 257 : 256));
	p25_fenc_u16(e, 9);
	p25_fenc_field(e, v6 ? 27 : 8, v6 ? 16 : 4, 0);
	p25_fenc_field(e, v6 ? 28 : 12, v6 ? 16 : 4, 0);
	p25_fenc_field(e, 7, 2, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_field(e, 6, 1, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 2, 8, 0);
	p25_fenc_field(e, 152, 8, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
}

static void export_flows(const struct flowset *fs, int ipfix, struct p25_flow_decoder *d,
                         struct p25_analyzer *a)
{
	struct p25_fenc *e = calloc(1, sizeof *e);
	uint32_t seq = 0;

	assert_non_null(e);
	for (size_t i = 0; i < fs->n;) {
		memset(e, 0, sizeof *e);
		if (ipfix)
			p25_fenc_ipfix_header(e, 1700000000, seq, 1);
		else
			p25_fenc_v9_header(e, 1000000, 1700000000, seq, 1);
		flow_template(e, ipfix, 0);
		flow_template(e, ipfix, 1);
		/* One data set per family run, up to 20 records a packet. */
		int v6 = fs->v[i].k.v6, nrec = 0;
		p25_fenc_set_begin(e, (uint16_t)(v6 ? 257 : 256));
		for (; i < fs->n && nrec < 20 && fs->v[i].k.v6 == v6; i++, nrec++) {
			const struct frec *r = &fs->v[i];
			p25_fenc_bytes(e, r->k.src, v6 ? 16 : 4);
			p25_fenc_bytes(e, r->k.dst, v6 ? 16 : 4);
			p25_fenc_u16(e, r->k.sport);
			p25_fenc_u16(e, r->k.dport);
			p25_fenc_u8(e, 6);
			p25_fenc_u8(e, r->flags);
			p25_fenc_u64(e, r->bytes);
			p25_fenc_u64(e, r->pkts);
			p25_fenc_u64(e, r->first_ms);
			p25_fenc_record(e);
		}
		p25_fenc_set_end(e, 4);
		size_t len = p25_fenc_finish(e);
		assert_false(e->overflow);
		/* v9 counts export packets, IPFIX counts data records. */
		seq += ipfix ? (uint32_t)nrec : 1;
		assert_int_equal(p25_flow_decode(d, NULL, e->buf, len, p25_an_flows, a), nrec);
	}
	free(e);
}

static void same_host(const struct p25_an_host *x, const struct p25_an_host *y)
{
	char buf[P25_ADDR_STRLEN];

	p25_addr_format(&x->addr, buf, sizeof buf);
	print_message("  %s: %s\n", buf, p25_an_class_name(y->cls));
	assert_int_equal(x->out25.conns, y->out25.conns);
	for (int o = 0; o < P25_AN_NOUTCOMES; o++) {
		assert_int_equal(x->out25.outcome[o], y->out25.outcome[o]);
		assert_int_equal(x->in25.outcome[o], y->in25.outcome[o]);
	}
	assert_int_equal(x->in25.conns, y->in25.conns);
	assert_int_equal(x->sub.conns, y->sub.conns);
	assert_int_equal(p25_an_distinct_dests(x), p25_an_distinct_dests(y));
	assert_int_equal(x->out25.bytes_sent, y->out25.bytes_sent);
	assert_int_equal(x->out25.bytes_recv, y->out25.bytes_recv);
	assert_int_equal(x->out25.packets_sent, y->out25.packets_sent);
	assert_int_equal(x->out25.packets_recv, y->out25.packets_recv);
	assert_int_equal(x->in25.bytes_sent, y->in25.bytes_sent);
	assert_int_equal(x->first_ns / 1000000000, y->first_ns / 1000000000);
	assert_int_equal(x->fan_max, y->fan_max);
	assert_int_equal(x->retries, y->retries);
	assert_int_equal(x->days_active, y->days_active);
	assert_int_equal(x->hours_active, y->hours_active);
	assert_memory_equal(x->hour_of_day, y->hour_of_day, sizeof x->hour_of_day);
}

static void flows_match_capture(int ipfix)
{
	struct p25_model m;
	struct gen g;
	struct p25_analyzer *a = analyze_scenario(&m, &g), *b;
	struct p25_capture *c;
	struct flowset fs = {0};
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	char err[256];
	size_t na, nb;

	c = p25_capture_open_mem(g.file.p, g.file.len, "scenario", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(p25_capture_foreach(c, to_flow, &fs), 0);
	p25_capture_close(c);
	b = p25_an_new(NULL, &m, NULL, NULL, 0, 1700000000, err, sizeof err);
	assert_non_null(b);
	export_flows(&fs, ipfix, d, b);
	assert_int_equal(p25_flow_decoder_stats(d)->seq_gaps, 0);
	p25_an_finish(b);
	const struct p25_an_host *ha = p25_an_hosts(a, &na), *hb = p25_an_hosts(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		same_host(&ha[i], &hb[i]);
		/* Flows say what they lack; packets with dialogues do not. */
		if (ha[i].out25.conns || ha[i].in25.conns) {
			assert_non_null(
			    strstr(hb[i].reasons, "from flow records: no SMTP dialogue evidence"));
			assert_null(strstr(ha[i].reasons, "from flow records"));
		}
		/* Confidence: 0..100, and lower for a verdict without the dialogue. */
		assert_in_range(ha[i].confidence, 0, 100);
		assert_in_range(hb[i].confidence, 0, 100);
		if (ha[i].cls == P25_AN_BOT && hb[i].cls == P25_AN_BOT) {
			assert_int_equal(ha[i].confidence, 100);
			assert_true(hb[i].confidence < ha[i].confidence);
		}
		if (ha[i].cls == P25_AN_PERMITTED || ha[i].cls == P25_AN_CLIENT)
			assert_int_equal(ha[i].confidence, 100);
		if (ha[i].cls == P25_AN_UNKNOWN)
			assert_int_equal(ha[i].confidence, 0);
		/* Without the dialogue, flows see less: but never a server as a bot. */
		if (ha[i].cls == P25_AN_SERVER)
			assert_int_not_equal(hb[i].cls, P25_AN_BOT);
		if (ha[i].cls == P25_AN_BOT || ha[i].cls == P25_AN_CLIENT ||
		    ha[i].cls == P25_AN_PERMITTED)
			assert_int_equal(ha[i].cls, hb[i].cls);
	}
	p25_an_free(a);
	p25_an_free(b);
	p25_flow_decoder_free(d);
	p25_model_free(&m);
	free(fs.v);
	gen_free(&g);
}

static void test_netflow9(void **state)
{
	(void)state;
	flows_match_capture(0);
}

static void test_ipfix(void **state)
{
	(void)state;
	flows_match_capture(1);
}

/* ---- the SMTP parser alone ---- */

static void feed(struct p25_smtp *s, bool cl, const char *t)
{
	p25_smtp_feed(s, cl, (const uint8_t *)t, strlen(t));
}

static void test_dialogue(void **state)
{
	struct p25_smtp *s = p25_smtp_new();
	const struct p25_an_smtp *r;

	(void)state;
	/* Pipelined commands, replies split across segments, a multi-line greeting. */
	feed(s, false, "220-mx.example.net first\r\n220 second\r");
	feed(s, false, "\n");
	feed(s, true, "EHLO [192.0.2.1]\r\nMAIL FROM:<a@Example.ORG> SIZE=10\r\nRCPT TO:<b@x>\r\n");
	feed(s, true, "RCPT TO:<c@x>\r\nDATA\r\n");
	feed(s, false, "250 ok\r\n250 ok\r\n250 ok\r\n450 later\r\n354 go\r\n");
	feed(s, true, "hello\r\n.");
	feed(s, true, "\r\nQUIT\r\n");
	feed(s, false, "250 queued\r\n221 bye\r\n");
	r = p25_smtp_result(s);
	assert_string_equal(r->banner, "mx.example.net first");
	assert_int_equal(r->helo, 1);
	assert_string_equal(r->helo_names[0], "[192.0.2.1]");
	assert_int_equal(r->mail_from, 1);
	assert_int_equal(r->rcpt_to, 2);
	assert_int_equal(r->sender_domains, 1);
	assert_int_equal(r->replies[2], 6);
	assert_int_equal(r->replies[4], 1);
	assert_int_equal(r->replies[3], 1);
	assert_int_equal(r->messages, 1);
	assert_int_equal(r->msg_bytes, 7);
	p25_smtp_free(s);

	/* A gap inside a command line: the line is dropped, the next one parsed. */
	s = p25_smtp_new();
	feed(s, false, "220 x\r\n");
	feed(s, true, "EHLO a");
	p25_smtp_gap(s, true);
	feed(s, true, "bc\r\nHELO good\r\n");
	r = p25_smtp_result(s);
	assert_int_equal(r->helo, 1);
	assert_string_equal(r->helo_names[0], "good");
	assert_int_equal(r->gaps, 1);
	/* STARTTLS accepted: the rest is not parsed. */
	feed(s, false, "250 ok\r\n");
	feed(s, true, "STARTTLS\r\n");
	feed(s, false, "220 go\r\n");
	feed(s, true, "MAIL FROM:<x@y>\r\n");
	assert_true(p25_smtp_encrypted(s));
	assert_int_equal(r->tls_ok, 1);
	assert_int_equal(r->mail_from, 0);
	p25_smtp_free(s);

	/* Endless lines and garbage stay bounded. */
	s = p25_smtp_new();
	char big[5000];
	memset(big, 'A', sizeof big);
	for (int i = 0; i < 100; i++) {
		p25_smtp_feed(s, true, (const uint8_t *)big, sizeof big);
		p25_smtp_feed(s, false, (const uint8_t *)big, sizeof big);
	}
	feed(s, true, "\r\n");
	p25_smtp_free(s);
}

/*
 * A bot whose every MAIL FROM is refused: the 5xx share is of the replies to
 * the transaction (MAIL, RCPT, DATA and the end of data), not of the banner,
 * EHLO and QUIT replies, which every session has and which are never 5xx.
 */
static void test_reject_share(void **state)
{
	static const char *const refused[] = {
	    "220 mx.example.net ESMTP\r\n",
	    "EHLO pc\r\n",
	    "250 mx.example.net\r\n",
	    "MAIL FROM:<a@b.example>\r\n",
	    "554 5.7.1 Service unavailable; client host blocked\r\n",
	    "QUIT\r\n",
	    "221 Bye\r\n",
	    NULL,
	};
	struct gen g;
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	struct host pc = H4(0x0a000008), mx = H4(0xc6336401);

	(void)state;
	/* The parser alone: four replies, one to the transaction. */
	struct p25_smtp *s = p25_smtp_new();
	for (int i = 0; refused[i]; i++)
		feed(s, i % 2 == 1, refused[i]);
	const struct p25_an_smtp *r = p25_smtp_result(s);
	assert_int_equal(r->replies[2] + r->replies[5], 4);
	assert_int_equal(r->txn_replies[5], 1);
	assert_int_equal(r->txn_replies[2] + r->txn_replies[3] + r->txn_replies[4], 0);
	p25_smtp_free(s);

	/* 119 sessions, an hour apart to one server: nothing but the refusals speaks for a bot. */
	gen_start(&g);
	for (int i = 0; i < 119; i++)
		conn(&g, T0 + (uint64_t)i * HOUR, &pc, &mx, (uint16_t)(30000 + i), 25, OK, refused);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "r", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	const struct p25_an_host *h = find(a, "10.0.0.8");
	assert_int_equal(h->smtp->txn_replies[5], 119);
	assert_non_null(strstr(h->reasons, "119 of 119 replies to MAIL, RCPT and DATA were 5xx"));
	p25_an_free(a);
	gen_free(&g);
}

/*
 * Hosts that only receive: 465/587 only is nothing port-25 blocking touches
 * (not listed); port 25 only is an inbound server, which blocking touches
 * only in mode both, and the class, would_block and the summary agree.
 */
static void test_receive_only(void **state)
{
	static const char *const inbound[] = {
	    "220 mail.example.org ESMTP\r\n", "EHLO sender.example.com\r\n",
	    "250 mail.example.org\r\n",       "QUIT\r\n",
	    "221 Bye\r\n",                    NULL,
	};
	struct gen g;
	struct p25_model m;
	struct p25_prefix p;
	struct p25_diag d;
	struct p25_an_summary s;
	char err[256], *buf = NULL;
	size_t len = 0, n;
	struct host ext = H4(0xcb007101), subsrv = H4(0x0a00001e), mx = H4(0x0a00001f),
	            mxboth = H4(0x0a010005);

	(void)state;
	gen_start(&g);
	for (int i = 0; i < 6; i++) {
		uint64_t t = T0 + (uint64_t)i * HOUR;
		conn(&g, t, &ext, &subsrv, (uint16_t)(31000 + i), i % 2 ? 587 : 465, OK, NULL);
		conn(&g, t + MIN, &ext, &mx, (uint16_t)(32000 + i), 25, OK, inbound);
		conn(&g, t + 2 * MIN, &ext, &mxboth, (uint16_t)(33000 + i), 25, OK, inbound);
	}
	p25_model_init(&m);
	assert_int_equal(p25_model_add_org(&m, 1, "campus", "Campus", P25_ENROLL_PENDING,
	                                   P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
	assert_int_equal(p25_model_add_org(&m, 2, "univ", "Univ", P25_ENROLL_PENDING,
	                                   P25_MODE_BOTH, P25_ACTION_REJECT),
	                 1);
	assert_int_equal(p25_prefix_parse("10.0.0.0/24", 0, &p, &d), 0);
	assert_int_equal(p25_model_add_space(&m, 1, 0, &p, "campus"), 0);
	assert_int_equal(p25_prefix_parse("10.1.0.0/24", 0, &p, &d), 0);
	assert_int_equal(p25_model_add_space(&m, 2, 1, &p, "univ"), 1);
	struct p25_analyzer *a = p25_an_new(NULL, &m, NULL, NULL, 0, 1700000000, err, sizeof err);
	assert_non_null(a);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "r", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);

	/* Only the two port-25 receivers are reported. */
	const struct p25_an_host *hosts = p25_an_hosts(a, &n);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(p25_addr_v4(&hosts[i].addr), 0x0a00001e);
	assert_int_equal(p25_an_stats(a)->hosts_unlisted, 1);

	const struct p25_an_host *h = find(a, "10.0.0.31");
	assert_string_equal(p25_an_class_name(h->cls), "inbound-server");
	assert_non_null(strstr(h->reasons, "accepts SMTP"));
	h = find(a, "10.1.0.5");
	assert_string_equal(p25_an_class_name(h->cls), "inbound-server");
	assert_true(h->block_in);
	p25_an_summarize(a, &s);
	assert_int_equal(s.hosts, 2);
	assert_int_equal(s.send, 0);
	assert_int_equal(s.blocked, 1); /* univ's, inbound */
	assert_int_equal(s.servers, 1);
	assert_int_equal(s.inbound, 2);

	/* The one blocking would cut off is suggested; the other is not. */
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_suggest_csv(a, "noc", f), 1);
	fclose(f);
	assert_non_null(strstr(buf, "univ,10.1.0.5,mail-server,"));
	free(buf);
	p25_an_free(a);
	p25_model_free(&m);
	gen_free(&g);
}

/*
 * An established connection needs a handshake or data both ways: a lone
 * payload-less ACK from port 25 makes nobody a sender, nor its source a server.
 */
static void test_established_evidence(void **state)
{
	struct gen g;
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	const uint8_t ACK = 16, SYN = 2, PSH = 8;
	struct host ext = H4(0xc6336407), pc = H4(0x0a000009), srv = H4(0x0a00000c),
	            mid = H4(0x0a00000d), half = H4(0x0a00000e);
	size_t n;

	(void)state;
	gen_start(&g);
	/* A stray ACK from an outside port 25 to an inside host, and from an inside 25 out. */
	seg(&g, T0, &ext, &pc, 25, 40000, ACK, 1, 1, NULL, 0);
	seg(&g, T0 + 1000, &srv, &ext, 25, 40001, ACK, 1, 1, NULL, 0);
	/* Joined mid-dialogue, data both ways: established. */
	seg(&g, T0 + 2000, &ext, &mid, 25, 40002, PSH | ACK, 100, 200, "250 ok\r\n", 8);
	seg(&g, T0 + 3000, &mid, &ext, 40002, 25, PSH | ACK, 200, 108, "QUIT\r\n", 6);
	/* A SYN answered by a bare ACK (no SYN-ACK, no data): not established. */
	seg(&g, T0 + 4000, &half, &ext, 40003, 25, SYN, 500, 0, NULL, 0);
	seg(&g, T0 + 5000, &ext, &half, 25, 40003, ACK, 9, 501, NULL, 0);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "e", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	p25_an_hosts(a, &n);
	assert_int_equal(n, 2);
	const struct p25_an_host *h = find(a, "10.0.0.13");
	assert_int_equal(h->out25.conns, 1);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 1);
	h = find(a, "10.0.0.14");
	assert_int_equal(h->out25.conns, 1);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 0);
	assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 1);
	assert_int_equal(p25_an_stats(a)->orphans, 2);
	p25_an_free(a);
	gen_free(&g);

	/* The same from flow records: a lone ACK flow counts for nothing. */
	struct p25_flow f;
	memset(&f, 0, sizeof f);
	a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	assert_int_equal(p25_addr_parse("198.51.100.7", 0, &f.src, &d), 0);
	assert_int_equal(p25_addr_parse("10.0.0.9", 0, &f.dst, &d), 0);
	f.protocol = 6;
	f.sport = 25;
	f.dport = 40000;
	f.tcp_flags = P25_TCP_ACK;
	f.packets = 1;
	f.bytes = 40;
	f.first_ms = f.last_ms = 1700000000000LL;
	p25_an_flows(a, &f, 1);
	p25_an_finish(a);
	p25_an_hosts(a, &n);
	assert_int_equal(n, 0);
	p25_an_free(a);
}

/*
 * Distinct destinations past the exact set are an estimate: never more than
 * the connections made, and marked as an estimate.
 */
static void test_distinct_capped(void **state)
{
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	struct p25_flow f[400];

	(void)state;
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	assert_non_null(a);
	/* 40 hosts, each 400 connections to 400 addresses: some estimates fall above 400. */
	for (uint32_t hst = 0; hst < 40; hst++) {
		memset(f, 0, sizeof f);
		for (uint32_t i = 0; i < 400; i++) {
			f[i].src.family = f[i].dst.family = P25_INET;
			f[i].src.bits = (p25_u128)(0x0a000100 + hst) << 96;
			f[i].dst.bits = (p25_u128)(0x50000000 + hst * 7919 * 401 + i * 7919) << 96;
			f[i].protocol = 6;
			f[i].sport = (uint16_t)(20000 + i);
			f[i].dport = 25;
			f[i].tcp_flags = P25_TCP_SYN;
			f[i].packets = 1;
			f[i].bytes = 60;
			f[i].first_ms = f[i].last_ms = 1700000000000LL + i * 1000LL + hst * 3600000LL;
		}
		p25_an_flows(a, f, 400);
	}
	p25_an_finish(a);
	size_t n;
	const struct p25_an_host *h = p25_an_hosts(a, &n);
	assert_int_equal(n, 40);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(h[i].out25.conns, 400);
		assert_true(p25_an_distinct_dests(&h[i]) <= 400);
		assert_true(p25_an_distinct_estimated(&h[i]));
		assert_true(h[i].fan_max <= 400);
	}
	p25_an_free(a);
}

/* One flow record, and its reverse when rev_flags is not 0. */
static void flow_pair(struct p25_analyzer *a, const char *cli, const char *srv, uint16_t cport,
                      uint16_t sport, uint8_t flags, uint8_t rev_flags, int64_t ms)
{
	struct p25_flow f[2];
	struct p25_diag d;

	memset(f, 0, sizeof f);
	assert_int_equal(p25_addr_parse(cli, 0, &f[0].src, &d), 0);
	assert_int_equal(p25_addr_parse(srv, 0, &f[0].dst, &d), 0);
	f[0].sport = cport;
	f[0].dport = sport;
	f[0].protocol = 6;
	f[0].tcp_flags = flags;
	f[0].packets = 8;
	f[0].bytes = 2000;
	f[0].first_ms = ms;
	f[0].last_ms = ms + 900;
	f[1] = f[0];
	f[1].src = f[0].dst;
	f[1].dst = f[0].src;
	f[1].sport = sport;
	f[1].dport = cport;
	f[1].tcp_flags = rev_flags;
	p25_an_flows(a, f, rev_flags ? 2 : 1);
}

/*
 * A host that also serves its users' mail (POP3, IMAP, submission) is a mail
 * server, which flows show without any dialogue; its clients are not listed.
 */
static void test_serves_mailboxes(void **state)
{
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	const uint8_t S = P25_TCP_SYN | P25_TCP_ACK | P25_TCP_PSH | P25_TCP_FIN;
	static const uint16_t ports[] = {993, 143, 995, 110, 587, 465};
	size_t n;

	(void)state;
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	for (int serving = 0; serving <= 1; serving++) {
		struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
		int64_t ms = 1772409600000LL;
		assert_non_null(a);
		for (int i = 0; i < 5; i++, ms += 3600000) {
			char mx[32];
			snprintf(mx, sizeof mx, "198.51.100.%d", 10 + i);
			flow_pair(a, "10.0.0.40", mx, (uint16_t)(40000 + i), 25, S, S, ms);
			flow_pair(a, "203.0.113.9", "10.0.0.40", (uint16_t)(41000 + i), 25, S, S, ms + 60000);
			if (serving)
				for (size_t k = 0; k < sizeof ports / sizeof ports[0]; k++)
					/* An inside reader of mailboxes, a roaming user submitting. */
					flow_pair(a, k < 4 ? "10.0.0.41" : "203.0.113.50", "10.0.0.40",
					          (uint16_t)(42000 + i * 10 + (int)k), ports[k], S, S,
					          ms + 120000);
		}
		p25_an_finish(a);
		const struct p25_an_host *h = find(a, "10.0.0.40");
		if (serving) {
			assert_string_equal(p25_an_class_name(h->cls), "unregistered-server");
			assert_int_equal(h->mail_served, 30);
			assert_non_null(strstr(h->reasons, "serves its users' mail"));
		} else {
			assert_string_equal(p25_an_class_name(h->cls), "unknown");
			assert_int_equal(h->mail_served, 0);
		}
		/* The mail reader is nothing port-25 blocking touches: not even counted as a host. */
		p25_an_hosts(a, &n);
		assert_int_equal(n, 1);
		assert_int_equal(p25_an_stats(a)->hosts_unlisted, 0);
		p25_an_free(a);
	}
}

/*
 * A full connection table: the least recently active connection is settled
 * to make room, and entries are reused; every connection still counts once.
 */
/*
 * From packets, a mailbox port's handshake is its whole evidence: the
 * decoder passes only its SYNs, each SYN-ACK the server sends counts, and
 * no connection is opened for it (the 1 GB benchmark's segments and open
 * connections nearly doubled when every IMAP/POP3 segment was followed).
 */
static void test_mailbox_handshake_only(void **state)
{
	static const char *const imap[] = {"* OK IMAP4rev1 ready\r\n", "a1 LOGIN u p\r\n",
	                                   "a1 OK done\r\n", "a2 LOGOUT\r\n", NULL};
	struct host srv = H4(0x0a000028), reader = H4(0x0a000029), mx = H4(0xc6336401);
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	struct gen g;

	(void)state;
	gen_start(&g);
	/* Listed: it sends mail; its mailbox service is what is under test. */
	conn(&g, T0, &srv, &mx, 40000, 25, OK, NULL);
	conn(&g, T0 + MIN, &reader, &srv, 41000, 993, OK, imap);
	conn(&g, T0 + 2 * MIN, &reader, &srv, 41001, 143, OK, imap);
	conn(&g, T0 + 3 * MIN, &reader, &srv, 41002, 110, OK, imap);
	conn(&g, T0 + 4 * MIN, &reader, &srv, 41003, 995, NOANSWER, NULL);
	conn(&g, T0 + 5 * MIN, &reader, &srv, 41004, 993, RESET, NULL);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	for (int direct = 0; direct <= 1; direct++) {
		struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
		struct p25_capture *c =
		    p25_capture_open_mem(g.file.p, g.file.len, "mbox", err, sizeof err);
		struct p25_packet pkt;
		struct p25_tcp_segment sg;
		assert_non_null(a);
		assert_non_null(c);
		while (p25_capture_next(c, &pkt) == 1) {
			if (!direct) {
				p25_an_packet(a, &pkt);
				continue;
			}
			/* Every segment given straight to the analysis: the same result. */
			if (p25_decode_tcp(&pkt, NULL, &sg, NULL) == P25_DEC_TCP)
				p25_an_segment(a, &sg);
		}
		p25_capture_close(c);
		const struct p25_an_stats *st = p25_an_stats(a);
		if (!direct) {
			/*
			 * The port-25 connection's 6, and of the mailbox ones 3 SYN +
			 * SYN-ACK pairs, 3 unanswered SYNs, the SYN of the reset one.
			 */
			assert_int_equal(st->segments, 6 + 10);
			/* Acks, lines and FINs of the 3 sessions, and the RST. */
			assert_int_equal(st->decode.count[P25_DEC_NOT_SYN], 3 * (1 + 4 + 3) + 1);
		}
		p25_an_finish(a);
		/* Only the port-25 connection had state. */
		assert_int_equal(st->conns, 1);
		const struct p25_an_host *h = find(a, "10.0.0.40");
		assert_int_equal(h->mail_served, 3);
		assert_int_equal(h->out25.conns, 1);
		/* The reader is not a host. */
		size_t n;
		p25_an_hosts(a, &n);
		assert_int_equal(n, 1);
		p25_an_free(a);
	}
	gen_free(&g);
}

static void test_conn_table_full(void **state)
{
	struct p25_an_config cfg;
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];
	struct gen g;
	struct host pc = H4(0x0a000005);

	(void)state;
	p25_an_config_default(&cfg);
	assert_int_equal(p25_an_config_set(&cfg, "max_conns", "16", err, sizeof err), 0);
	gen_start(&g);
	/* 40 connections open at once, then each one's SYN again (a retransmission). */
	for (int r = 0; r < 2; r++)
		for (int i = 0; i < 40; i++) {
			struct host mx = H4(0xc6330000 + (uint32_t)i);
			seg(&g, T0 + (uint64_t)(r * 40 + i) * 10000, &pc, &mx, (uint16_t)(30000 + i), 25,
			    2, (uint32_t)i * 1000, 0, NULL, 0);
		}
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	struct p25_analyzer *a = p25_an_new(&cfg, NULL, NULL, &net, 1, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "full", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	const struct p25_an_host *h = find(a, "10.0.0.5");
	/* The second SYNs found their connections evicted: each makes a new one. */
	assert_int_equal(p25_an_stats(a)->conns_evicted, 80 - 16);
	assert_int_equal(h->out25.conns, 80);
	assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 80);
	assert_int_equal(h->out25.syn_packets, 80);
	p25_an_free(a);
	gen_free(&g);
}

/* ---- refusals naming a DNS blocklist ---- */

/* The parser alone: one reply, its kind and list, with the client's address known. */
static const struct p25_an_smtp *bl_reply(struct p25_smtp **s, const char *client,
                                          const char *reply)
{
	struct p25_addr a;
	struct p25_diag d;

	*s = p25_smtp_new();
	assert_non_null(*s);
	assert_int_equal(p25_addr_parse(client, P25_PARSE_UNMAP, &a, &d), 0);
	p25_smtp_set_client(*s, &a);
	feed(*s, false, "220 mx.example.net ESMTP\r\n");
	feed(*s, true, "EHLO pc\r\n");
	feed(*s, false, "250 mx.example.net\r\n");
	feed(*s, true, "MAIL FROM:<a@b.example>\r\n");
	feed(*s, false, "250 ok\r\n");
	feed(*s, true, "RCPT TO:<c@d.example>\r\n");
	feed(*s, false, reply);
	return p25_smtp_result(*s);
}

static void bl_expect(const char *client, const char *reply, enum p25_an_bl_kind kind,
                      const char *list)
{
	struct p25_smtp *s;
	const struct p25_an_smtp *r = bl_reply(&s, client, reply);
	uint64_t total = r->bl_replies[1] + r->bl_replies[2] + r->bl_replies[3];

	if (kind == P25_AN_BL_NONE) {
		assert_int_equal(total, 0);
		assert_int_equal(r->bl_kind, 0);
		assert_string_equal(r->bl_reply, "");
	} else {
		if (r->bl_replies[kind] != 1 || total != 1)
			fail_msg("'%s' from %s: kind %d wanted, got %llu/%llu/%llu", reply, client,
			         (int)kind, (unsigned long long)r->bl_replies[1],
			         (unsigned long long)r->bl_replies[2],
			         (unsigned long long)r->bl_replies[3]);
		assert_int_equal(r->bl_kind, kind);
		unsigned i = 0;
		while (!(r->bl_lists >> i & 1))
			i++;
		assert_string_equal(p25_an_blocklist_name(i), list);
		assert_int_equal(r->bl_lists_listed != 0, kind == P25_AN_BL_LISTED);
	}
	p25_smtp_free(s);
}

static void test_blocklist_replies(void **state)
{
	(void)state;
	/* The address as written, in brackets and in the list's lookup link. */
	bl_expect("192.0.2.66",
	          "554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using "
	          "zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.66\r\n",
	          P25_AN_BL_LISTED, "Spamhaus");
	/* IPv6, as an address literal and bare. */
	bl_expect("2001:db8:5::66",
	          "550 5.7.1 Service unavailable; Client host [IPv6:2001:db8:5::66] blocked "
	          "using bl.spamcop.net\r\n",
	          P25_AN_BL_LISTED, "SpamCop");
	bl_expect("2001:db8:5::66",
	          "554 Rejected: 2001:db8:5::66 is listed at b.barracudacentral.org.\r\n",
	          P25_AN_BL_LISTED, "Barracuda");
	/* Reversed, as the list's query name. */
	bl_expect("192.0.2.66", "550 66.2.0.192.bl.mailspike.net listed\r\n", P25_AN_BL_LISTED,
	          "Mailspike");
	/* A multi-line reply: the list on one line, the address on another. */
	bl_expect("192.0.2.66",
	          "550-5.7.1 Your message was rejected because the sending host\r\n"
	          "550-5.7.1 192.0.2.66 is listed by psbl.surriel.com.\r\n"
	          "550 5.7.1 See https://psbl.org/\r\n",
	          P25_AN_BL_LISTED, "PSBL");
	/* Another address (a hop in the Received header), or a longer one that starts alike. */
	bl_expect("192.0.2.66",
	          "554 5.7.1 Message rejected: 198.51.100.7 listed in bl.spamcop.net (Received "
	          "header)\r\n",
	          P25_AN_BL_OTHER, "SpamCop");
	bl_expect("192.0.2.6",
	          "554 5.7.1 Client host [192.0.2.66] blocked using zen.spamhaus.org\r\n",
	          P25_AN_BL_OTHER, "Spamhaus");
	/* Lists of ranges: what the address is, not what the host did. */
	bl_expect("192.0.2.66",
	          "554 5.7.1 Client host [192.0.2.66] blocked using pbl.spamhaus.org\r\n",
	          P25_AN_BL_RANGE, "Spamhaus PBL");
	bl_expect("192.0.2.66",
	          "550 5.7.1 Client host [192.0.2.66] blocked using dnsbl-3.uceprotect.net; Your "
	          "ISP is UCEPROTECT-Level3 listed\r\n",
	          P25_AN_BL_RANGE, "UCEPROTECT level 2/3");
	/* Any list in Postfix's words. */
	bl_expect("192.0.2.66",
	          "554 5.7.1 Service unavailable; Client host [192.0.2.66] blocked using "
	          "dnsbl.example.net\r\n",
	          P25_AN_BL_LISTED, "DNS blocklist");
	/* No list named, or not a refusal: nothing. */
	bl_expect("192.0.2.66", "550 5.7.1 Client host [192.0.2.66] rejected: spam\r\n",
	          P25_AN_BL_NONE, NULL);
	bl_expect("192.0.2.66", "250 2.1.5 Ok, not in zen.spamhaus.org [192.0.2.66]\r\n",
	          P25_AN_BL_NONE, NULL);

	/* The text is kept as it came, printable ASCII, and bounded. */
	struct p25_smtp *s;
	const struct p25_an_smtp *r =
	    bl_reply(&s, "192.0.2.66",
	             "554 5.7.1 [192.0.2.66] blocked using zen.spamhaus.org \x1b[2J<script>\r\n");
	assert_string_equal(r->bl_reply,
	                    "554 5.7.1 [192.0.2.66] blocked using zen.spamhaus.org ?[2J<script>");
	p25_smtp_free(s);
	char longer[1200];
	snprintf(longer, sizeof longer, "554 [192.0.2.66] blocked using bl.spamcop.net %0900d\r\n", 0);
	r = bl_reply(&s, "192.0.2.66", longer);
	assert_int_equal(r->bl_replies[P25_AN_BL_LISTED], 1);
	assert_int_equal(strlen(r->bl_reply), P25_AN_REPLY_LEN - 1);
	p25_smtp_free(s);
}

/* A reply a remote server sent: every report escapes it. */
#define HOSTILE_REPLY                                                                              \
	"554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org; "         \
	"<script>alert(\"x\")</script>, 'q' & https://www.spamhaus.org/query/ip/%s\r\n"

/*
 * Hosts refused by blocklists: a sender whose address they name (IPv4 and
 * IPv6), one refused for another address, one on a list of ranges.
 */
static void build_blocklists(struct gen *g)
{
	static const char *const shape[] = {
	    "220 mx.example.net ESMTP\r\n",
	    "EHLO pc.example\r\n",
	    "250 mx.example.net\r\n",
	    "MAIL FROM:<a@b.example>\r\n",
	    "250 2.1.0 Ok\r\n",
	    "RCPT TO:<c@d.example>\r\n",
	    NULL, /* the refusal */
	    "QUIT\r\n",
	    "221 Bye\r\n",
	    NULL,
	};
	struct {
		struct host h;
		const char *addr, *named;
		const char *fmt;
	} who[] = {
	    {H4(0x0a000042), "10.0.0.66", "10.0.0.66", HOSTILE_REPLY},
	    {H6(0x66), "2001:db8:1::66", "2001:db8:1::66", HOSTILE_REPLY},
	    {H4(0x0a000043), "10.0.0.67", "198.51.100.7", HOSTILE_REPLY},
	    {H4(0x0a000044), "10.0.0.68", "10.0.0.68",
	     "554 5.7.1 Client host [%s] blocked using pbl.spamhaus.org; %s\r\n"},
	};
	struct host mx = H4(0xc6336401), mx6 = H6(0x25);

	mx6.a[5] = 9;
	gen_start(g);
	for (size_t k = 0; k < sizeof who / sizeof who[0]; k++)
		for (int i = 0; i < 3; i++) {
			char reply[400];
			const char *lines[10];
			memcpy(lines, shape, sizeof shape);
			snprintf(reply, sizeof reply, who[k].fmt, who[k].named, who[k].named);
			lines[6] = reply;
			conn(g, T0 + (uint64_t)(k * 3 + (size_t)i) * HOUR, &who[k].h,
			     who[k].h.v6 ? &mx6 : &mx, (uint16_t)(30000 + k * 10 + (size_t)i), 25, OK,
			     lines);
		}
}

static void test_blocklist_hosts(void **state)
{
	struct gen g;
	struct p25_prefix net[2];
	struct p25_diag d;
	char err[256], *buf = NULL, want[400];
	size_t len = 0;
	FILE *f;

	(void)state;
	build_blocklists(&g);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &net[1], &d), 0);
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, net, 2, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "bl", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);

	/* Named: three points of bot evidence, the lists in the reasons. */
	const char *named[] = {"10.0.0.66", "2001:db8:1::66"};
	for (int k = 0; k < 2; k++) {
		const struct p25_an_host *h = find(a, named[k]);
		assert_int_equal(h->smtp->bl_replies[P25_AN_BL_LISTED], 3);
		assert_int_equal(h->bot_score, 3);
		assert_non_null(
		    strstr(h->reasons, "3 refusals by blocklists naming its address (Spamhaus)"));
		snprintf(want, sizeof want, HOSTILE_REPLY, named[k], named[k]);
		want[strlen(want) - 2] = 0;
		assert_string_equal(h->smtp->bl_reply, want);
	}
	/* Not named, or a range: said, not counted. */
	const struct p25_an_host *h = find(a, "10.0.0.67");
	assert_int_equal(h->smtp->bl_replies[P25_AN_BL_OTHER], 3);
	assert_int_equal(h->bot_score, 0);
	assert_non_null(strstr(h->reasons, "3 refusals name a blocklist but not its address, not counted"));
	h = find(a, "10.0.0.68");
	assert_int_equal(h->smtp->bl_replies[P25_AN_BL_RANGE], 3);
	assert_int_equal(h->bot_score, 0);
	assert_non_null(strstr(h->reasons, "blocklists of address ranges naming its address "
	                                   "(Spamhaus PBL), not counted"));

	/* JSON: the streamed document reads back to the text as sent. */
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_json_stream(a, NULL, f), 0);
	fclose(f);
	json_error_t e;
	json_t *doc = json_loads(buf, 0, &e), *tree = p25_an_report_json(a);
	assert_non_null(doc);
	assert_true(json_equal(doc, tree));
	snprintf(want, sizeof want, HOSTILE_REPLY, "10.0.0.66", "10.0.0.66");
	want[strlen(want) - 2] = 0;
	json_t *bl = json_object_get(
	    json_object_get(json_array_get(json_object_get(doc, "hosts"), 0), "smtp"), "blocklist");
	assert_string_equal(json_string_value(json_object_get(bl, "reply")), want);
	assert_int_equal(json_integer_value(json_object_get(bl, "listed")), 3);
	assert_string_equal(json_string_value(json_array_get(json_object_get(bl, "lists"), 0)),
	                    "Spamhaus");
	json_decref(doc);
	json_decref(tree);
	free(buf);

	/* CSV: the reply is one quoted field, its quotes doubled. */
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_csv(a, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, ",3,\"554 5.7.1 Service unavailable; Client host [10.0.0.66] "
	                            "blocked using zen.spamhaus.org; <script>alert(\"\"x\"\")"
	                            "</script>, 'q' & https://www.spamhaus.org/query/ip/"
	                            "10.0.0.66\",1,1,"));
	free(buf);

	/* HTML: escaped, in the table of refusals. */
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_html(a, "bl", f), 0);
	fclose(f);
	assert_null(strstr(buf, "<script"));
	assert_non_null(strstr(buf, "Refusals naming a DNS blocklist"));
	assert_non_null(strstr(buf, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;, "
	                            "&#39;q&#39; &amp; https://"));
	free(buf);
	p25_an_free(a);
	gen_free(&g);
}

/* ---- configuration ---- */

static void test_config(void **state)
{
	struct p25_an_config c;
	char err[256], path[] = "/tmp/p25an-XXXXXX";
	int fd;
	FILE *f;

	(void)state;
	p25_an_config_default(&c);
	assert_int_equal(p25_an_config_set(&c, "fanout_min", "12", err, sizeof err), 0);
	assert_int_equal(c.fanout_min, 12);
	assert_int_equal(p25_an_config_set(&c, "failed_share", "1.5", err, sizeof err), -1);
	assert_non_null(strstr(err, "failed_share = '1.5'"));
	assert_int_equal(p25_an_config_set(&c, "bogus", "1", err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown setting 'bogus'"));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("# thresholds\nsize_cv = 0.1\n\nburst_per_minute=5 # comment\nfanout_min x\n", f);
	fclose(f);
	assert_int_equal(p25_an_config_load(&c, path, err, sizeof err), -1);
	assert_non_null(strstr(err, ":5: expected key = value"));
	assert_true(c.size_cv > 0.09 && c.size_cv < 0.11);
	assert_int_equal(c.burst_per_minute, 5);
	unlink(path);
	for (int i = 0; p25_an_config_keys[i]; i++) {
		p25_an_config_default(&c);
		assert_int_equal(
		    p25_an_config_set(&c, p25_an_config_keys[i], "20", err, sizeof err) == 0 ||
		        strstr(err, "expected") != NULL,
		    1);
	}
}

/* ---- the real captures ---- */

static void captures_dir(char *out, size_t n)
{
	const char *env = getenv("P25_CAPTURES");

	/* Tests run from the repository root (tests/run.sh cds there). */
	snprintf(out, n, "%s", env && *env ? env : "tests/data/real");
}

/*
 * Real captures, recorded on real mail software by others: from the public
 * repository chrissanders/packets (Chris Sanders), used with credit as asked.
 * tshark -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' on them gives the openers
 * below; the analyzer must report exactly those hosts, with EHLO names.
 */
static void test_real_captures(void **state)
{
	static const struct {
		const char *file;
		const char *senders[3]; /* hosts opening port-25 connections */
		const char *helo[3];    /* their EHLO names */
		const char *servers[3]; /* hosts accepting them */
	} cases[] = {
	    {"mail_sender_client_1.pcapng",
	     {"172.16.16.225"},
	     {"[172.16.16.225]"},
	     {"172.16.16.221"}},
	    {"mail_sender_attachment.pcapng",
	     {"172.16.16.225"},
	     {"[172.16.16.225]"},
	     {"172.16.16.221"}},
	    {"mail_sender_server_2.pcapng",
	     {"172.16.16.221", "172.16.16.225"},
	     {"mail01", "[172.16.16.225]"},
	     {"172.16.16.221", "172.16.16.231"}},
	    {"mail_receiver_server_3.pcapng", {"172.16.16.221"}, {"mail01"}, {"172.16.16.231"}},
	};
	char dir[512], path[1024], err[512];
	struct p25_prefix all[2];
	struct p25_diag d;

	(void)state;
	captures_dir(dir, sizeof dir);
	assert_int_equal(p25_prefix_parse("0.0.0.0/0", 0, &all[0], &d), 0);
	assert_int_equal(p25_prefix_parse("::/0", 0, &all[1], &d), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, all, 2, 0, err, sizeof err);
		size_t n, nsend = 0, nsrv = 0, want_send = 0, want_srv = 0;
		const struct p25_an_host *h;
		assert_non_null(a);
		snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
		if (p25_an_read_capture(a, path, err, sizeof err) < 0)
			fail_msg("%s (set P25_CAPTURES to tests/data/real)", err);
		p25_an_finish(a);
		h = p25_an_hosts(a, &n);
		for (size_t k = 0; k < 3 && cases[i].senders[k]; k++) {
			const struct p25_an_host *x = find(a, cases[i].senders[k]);
			want_send++;
			assert_int_equal(x->out25.outcome[P25_AN_ESTABLISHED], 1);
			assert_string_equal(x->smtp->helo_names[0], cases[i].helo[k]);
			assert_int_equal(x->smtp->messages, 1);
			assert_int_not_equal(x->cls, P25_AN_BOT);
		}
		for (size_t k = 0; k < 3 && cases[i].servers[k]; k++) {
			const struct p25_an_host *x = find(a, cases[i].servers[k]);
			want_srv++;
			assert_int_equal(x->in25.conns, 1);
			assert_true(strstr(x->smtp->banner, "ESMTP Postfix") != NULL);
		}
		for (size_t k = 0; k < n; k++) {
			nsend += h[k].out25.conns > 0;
			nsrv += h[k].in25.conns > 0;
		}
		assert_int_equal(nsend, want_send);
		assert_int_equal(nsrv, want_srv);
		p25_an_free(a);
	}
}

/* A capture cut in the middle of a record: an error naming it, and what came before counts. */
static void test_truncated_file(void **state)
{
	struct gen g;
	struct p25_prefix all;
	struct p25_diag d;
	char path[] = "/tmp/p25an-trunc-XXXXXX", err[512];
	struct p25_analyzer *a;
	size_t n;
	FILE *f;
	int fd;

	(void)state;
	gen_start(&g);
	build_scenario(&g);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fwrite(g.file.p, 1, g.file.len / 2 + 7, f);
	fclose(f);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &all, &d), 0);
	a = p25_an_new(NULL, NULL, NULL, &all, 1, 0, err, sizeof err);
	assert_int_equal(p25_an_read_capture(a, path, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	p25_an_finish(a);
	p25_an_hosts(a, &n);
	assert_true(n >= 1);
	assert_true(find(a, "10.0.0.10")->out25.conns > 10);
	p25_an_free(a);
	unlink(path);
	gen_free(&g);
}

/* The decode thread changes nothing: the same report, stats and error with one thread or two. */
static void test_threads_same(void **state)
{
	struct gen g;
	struct p25_prefix all;
	struct p25_diag d;
	char path[] = "/tmp/p25an-threads-XXXXXX", err[2][512];
	json_t *doc[2];
	FILE *f;
	int fd;

	(void)state;
	gen_start(&g);
	/* Enough segments that the decoder's blocks go round several times. */
	for (int k = 0; k < 6; k++)
		build_scenario(&g);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	for (int cut = 0; cut < 2; cut++) {
		/* Whole, then cut in the middle of a record. */
		assert_int_equal(ftruncate(fd, 0), 0);
		rewind(f);
		fwrite(g.file.p, 1, cut ? g.file.len * 2 / 3 + 5 : g.file.len, f);
		fflush(f);
		assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &all, &d), 0);
		for (unsigned t = 1; t <= 2; t++) {
			struct p25_analyzer *a =
			    p25_an_new(NULL, NULL, NULL, &all, 1, 0, err[t - 1], sizeof err[0]);
			assert_non_null(a);
			p25_an_set_threads(a, t);
			err[t - 1][0] = 0;
			assert_int_equal(p25_an_read_capture(a, path, err[t - 1], sizeof err[0]),
			                 cut ? -1 : 0);
			p25_an_finish(a);
			assert_true(p25_an_stats(a)->segments > 8 * 512);
			doc[t - 1] = p25_an_report_json(a);
			const struct p25_an_stats *st = p25_an_stats(a);
			json_object_set_new(doc[t - 1], "stats",
			                    json_pack("{s:I, s:I, s:I, s:I, s:I}", "packets",
			                              (json_int_t)st->decode.packets, "bytes",
			                              (json_int_t)st->decode.bytes, "segments",
			                              (json_int_t)st->segments, "conns",
			                              (json_int_t)st->conns, "gaps",
			                              (json_int_t)st->smtp_gaps));
			json_object_del(doc[t - 1], "memory_bytes");
			p25_an_free(a);
		}
		assert_true(json_equal(doc[0], doc[1]));
		assert_string_equal(err[0], err[1]);
		json_decref(doc[0]);
		json_decref(doc[1]);
	}
	fclose(f);
	unlink(path);
	gen_free(&g);
}

/*
 * SYNs whose options the snap length cut (tcpdump -s 68 / -s 96): the fixed
 * header is whole, so each is a connection attempt, counted, not dropped as
 * a truncated header.  A bot's unanswered SYNs are exactly these.
 */
static void test_snaplen_syn_options(void **state)
{
	struct gen g;
	struct p25_prefix net[2];
	struct p25_diag d;
	char path[] = "/tmp/p25an-snap-XXXXXX", err[512];
	struct host bot = H4(0x0a000005), bot6 = H6(0x55);
	struct p25_an_summary s;
	FILE *f;
	int fd;

	(void)state;
	gen_start(&g);
	g.syn_opts = 20;
	g.snaplen = 68; /* 14 + 20 + 20: the options are lost */
	for (int i = 0; i < 3; i++) {
		struct host victim = H4(0xc6336300 + (uint32_t)i);
		seg(&g, T0 + (uint64_t)i * 3000000, &bot, &victim, (uint16_t)(40000 + i), 25, 2,
		    7777u * (uint32_t)i, 0, NULL, 0);
	}
	g.snaplen = 88; /* 14 + 40 + 20 + 14 of the 20 */
	struct host victim6 = H6(0x99);
	victim6.a[5] = 9;
	seg(&g, T0 + 10000000, &bot6, &victim6, 40100, 25, 2, 1, 0, NULL, 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(g.file.p, 1, g.file.len, f), g.file.len);
	fclose(f);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &net[1], &d), 0);
	for (unsigned t = 1; t <= 2; t++) {
		struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, net, 2, 0, err, sizeof err);
		assert_non_null(a);
		p25_an_set_threads(a, t);
		assert_int_equal(p25_an_read_capture(a, path, err, sizeof err), 0);
		p25_an_finish(a);
		const struct p25_an_stats *st = p25_an_stats(a);
		assert_int_equal(st->decode.count[P25_DEC_TCP], 4);
		assert_int_equal(st->decode.count[P25_DEC_TRUNC_TCP], 0);
		assert_int_equal(st->decode.tcp_options_cut, 4);
		const struct p25_an_host *h = find(a, "10.0.0.5");
		assert_int_equal(h->out25.conns, 3);
		assert_int_equal(h->out25.syn_packets, 3);
		assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 3);
		h = find(a, "2001:db8:1::55");
		assert_int_equal(h->out25.conns, 1);
		p25_an_summarize(a, &s);
		assert_int_equal(s.send, 2);
		p25_an_free(a);
	}
	unlink(path);
	gen_free(&g);
}

/* ---- order independence: any order of the same connections, any split into files ---- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The report as a JSON text, without what may differ by the input's layout. */
static json_t *order_free_report(struct p25_analyzer *a)
{
	json_t *doc = p25_an_report_json(a);
	return doc;
}

static void report_same(json_t *want, json_t *got, const char *what)
{
	if (json_equal(want, got))
		return;
	json_t *hw = json_object_get(want, "hosts"), *hg = json_object_get(got, "hosts");
	for (size_t i = 0; i < json_array_size(hw) && i < json_array_size(hg); i++) {
		if (json_equal(json_array_get(hw, i), json_array_get(hg, i)))
			continue;
		char *x = json_dumps(json_array_get(hw, i), JSON_SORT_KEYS | JSON_COMPACT);
		char *y = json_dumps(json_array_get(hg, i), JSON_SORT_KEYS | JSON_COMPACT);
		fprintf(stderr, "in order: %s\n%s:  %s\n", x, what, y);
		free(x);
		free(y);
		break;
	}
	fail_msg("%s: the report differs from the one of the records in order", what);
}

/*
 * Feed the units of g (each a connection's packets, in their own order) in
 * the order perm, cut into nfiles pieces, each read as a capture of its own.
 */
static struct p25_analyzer *analyze_units(const struct gen *g, const size_t *perm, size_t nfiles,
                                          uint64_t *rng, const struct p25_prefix *net,
                                          size_t nnet)
{
	char err[256];
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, net, nnet, 0, err, sizeof err);
	size_t *cut = calloc(nfiles + 1, sizeof *cut);

	assert_non_null(a);
	assert_non_null(cut);
	/* Random piece boundaries over the units, in order. */
	cut[nfiles] = g->nunits;
	for (size_t k = 1; k < nfiles; k++)
		cut[k] = (size_t)(rng_next(rng) % (g->nunits + 1));
	for (size_t k = 1; k < nfiles; k++)
		for (size_t j = k + 1; j < nfiles; j++)
			if (cut[j] < cut[k]) {
				size_t x = cut[j];
				cut[j] = cut[k];
				cut[k] = x;
			}
	for (size_t k = 0; k < nfiles; k++) {
		struct wb f = {0};
		put(&f, g->file.p, 24);
		for (size_t i = cut[k]; i < cut[k + 1]; i++) {
			size_t u = perm[i];
			size_t end = u + 1 < g->nunits ? g->units[u + 1] : g->file.len;
			put(&f, g->file.p + g->units[u], end - g->units[u]);
		}
		struct p25_capture *c = p25_capture_open_mem(f.p, f.len, "piece", err, sizeof err);
		struct p25_packet pkt;
		assert_non_null(c);
		while (p25_capture_next(c, &pkt) == 1)
			p25_an_packet(a, &pkt);
		p25_capture_close(c);
		free(f.p);
	}
	free(cut);
	p25_an_finish(a);
	return a;
}

static void shuffle(size_t *perm, size_t n, uint64_t *rng)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next(rng) % i), x = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = x;
	}
}

static void units_any_order(struct gen *g, const struct p25_prefix *net, size_t nnet)
{
	size_t *perm = malloc(g->nunits * sizeof *perm);
	uint64_t rng = 0x9e3779b97f4a7c15ULL;

	assert_non_null(perm);
	for (size_t i = 0; i < g->nunits; i++)
		perm[i] = i;
	struct p25_analyzer *a = analyze_units(g, perm, 1, &rng, net, nnet);
	json_t *want = order_free_report(a);
	p25_an_free(a);
	for (int seed = 1; seed <= 6; seed++) {
		char what[64];
		rng = 0x2545f4914f6cdd1dULL * (uint64_t)seed;
		/* Seed 1: the files in reverse; then random orders, split into 1 to 4 files. */
		if (seed == 1) {
			for (size_t i = 0; i < g->nunits; i++)
				perm[i] = g->nunits - 1 - i;
		} else {
			shuffle(perm, g->nunits, &rng);
		}
		size_t nfiles = 1 + (size_t)seed % 4;
		snprintf(what, sizeof what, "seed %d, %zu files", seed, nfiles);
		a = analyze_units(g, perm, nfiles, &rng, net, nnet);
		json_t *got = order_free_report(a);
		report_same(want, got, what);
		json_decref(got);
		p25_an_free(a);
	}
	json_decref(want);
	free(perm);
}

/*
 * The case: 100 unanswered SYNs 3 s apart.  Read in time order, in
 * reverse, shuffled or split into files, fan-out and burst are the same.
 */
static void test_order_syns(void **state)
{
	struct gen g;
	struct p25_prefix net;
	struct p25_diag d;
	struct host bot = H4(0x0a000007);
	char err[256];

	(void)state;
	gen_start(&g);
	for (int i = 0; i < 100; i++) {
		struct host victim = H4(0xc6330000 + (uint32_t)i * 101);
		unit_mark(&g);
		seg(&g, T0 + (uint64_t)i * 3000000, &bot, &victim, (uint16_t)(30000 + i), 25, 2,
		    (uint32_t)i * 1000, 0, NULL, 0);
	}
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	units_any_order(&g, &net, 1);
	/* And the figures themselves: one burst of 20 a minute, 100 destinations in 5 minutes. */
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "syns", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	const struct p25_an_host *h = find(a, "10.0.0.7");
	assert_int_equal(h->burst_max, 20);
	assert_in_range(h->fan_max, 95, 100);
	assert_int_equal(h->out25.outcome[P25_AN_NOANSWER], 100);
	p25_an_free(a);
	gen_free(&g);
}

/* The whole scenario (servers, retries, the bot, clients), its connections in any order. */
static void test_order_scenario(void **state)
{
	struct gen g;
	struct p25_prefix net[2];
	struct p25_diag d;

	(void)state;
	gen_start(&g);
	build_scenario(&g);
	assert_int_equal(p25_prefix_parse("10.0.0.0/24", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &net[1], &d), 0);
	units_any_order(&g, net, 2);
	/* The reports compared hold the recipient figures: the bot's are not zero. */
	size_t *perm = malloc(g.nunits * sizeof *perm);
	uint64_t rng = 1;
	assert_non_null(perm);
	for (size_t i = 0; i < g.nunits; i++)
		perm[i] = i;
	struct p25_analyzer *a = analyze_units(&g, perm, 1, &rng, net, 2);
	const struct p25_an_host *h = find(a, "10.0.0.66");
	assert_true(h->rcpt_max > 0 && h->rcpt_domains_max > 0);
	p25_an_free(a);
	free(perm);
	gen_free(&g);
}

/*
 * Recipient fan-out: a bot sending through one relay (one destination, so
 * no destination fan-out) names recipients of 120 domains in 270 s; a host
 * sending as many to one domain does not fan out.  Any order, any split.
 */
static void build_recipients(struct gen *g)
{
	struct host relay = H4(0xc6336419), spammer = H4(0x0a00004d), one = H4(0x0a00004e);

	gen_start(g);
	for (int k = 0; k < 10; k++)
		for (int who = 0; who < 2; who++) {
			static char lines[20][80];
			const char *l[40];
			int n = 0;
			l[n++] = "220 relay.example.net ESMTP\r\n";
			l[n++] = "EHLO pc.example\r\n";
			l[n++] = "250 relay.example.net\r\n";
			l[n++] = "MAIL FROM:<a@b.example>\r\n";
			l[n++] = "250 2.1.0 Ok\r\n";
			for (int r = 0; r < 12; r++) {
				snprintf(lines[r], sizeof lines[r], "RCPT TO:<u%d@%s%d.example>\r\n", r,
				         who ? "Same" : "dom", who ? 0 : k * 12 + r);
				l[n++] = lines[r];
				l[n++] = "250 2.1.5 Ok\r\n";
			}
			l[n++] = "QUIT\r\n";
			l[n++] = "221 Bye\r\n";
			l[n] = NULL;
			conn(g, T0 + (uint64_t)k * 30000000 + (uint64_t)who * 1000000,
			     who ? &one : &spammer, &relay, (uint16_t)(30000 + k * 2 + who), 25, OK, l);
		}
}

/*
 * Issue 14: one server on both families (one IPv4 address, an IPv6 one, one
 * HELO name, one organization) is grouped, and --suggest lists both even
 * when the IPv6 address alone would not look like a server; two IPv4 hosts
 * under one name are not one server.  Each host's next step: register it
 * (naming the --suggest file), tell the security contact (escaped in HTML,
 * quoted in CSV), nothing to do.
 */
static void build_same_server(struct gen *g)
{
	static const char *const same[] = {
	    "220 mx.example.net ESMTP\r\n", "EHLO mx.same.example\r\n", "250 mx.example.net\r\n",
	    "QUIT\r\n", "221 Bye\r\n", NULL,
	};
	static const char *const dup[] = {
	    "220 mx.example.net ESMTP\r\n", "EHLO dup.example\r\n", "250 mx.example.net\r\n",
	    "QUIT\r\n", "221 Bye\r\n", NULL,
	};
	struct host s4 = H4(0x0a00001e), s6 = H6(0x30), d4a = H4(0x0a000028), d4b = H4(0x0a000029),
	            d6 = H6(0x40);
	uint16_t port = 40000;

	gen_start(g);
	for (int hr = 0; hr < 72; hr++) {
		struct host mx = H4(0xc6336400 + (uint32_t)(hr % 20));
		uint64_t t = T0 + (uint64_t)hr * HOUR;
		conn(g, t, &s4, &mx, port++, 25, OK, same);
		if (hr < 2)
			conn(g, t + MIN, &s6, &mx, port++, 25, OK, same);
		if (hr < 3) {
			conn(g, t + 2 * MIN, &d4a, &mx, port++, 25, OK, dup);
			conn(g, t + 3 * MIN, &d4b, &mx, port++, 25, OK, dup);
			conn(g, t + 4 * MIN, &d6, &mx, port++, 25, OK, dup);
		}
	}
}

static void test_next_step_same_server(void **state)
{
	struct p25_model m;
	struct gen g;
	struct p25_analyzer *a;
	const struct p25_an_host *s4, *s6;
	char step[P25_AN_STEP_LEN], err[256], *buf = NULL;
	size_t idx[P25_AN_SAME_MAX], len = 0;
	struct p25_capture *c;
	struct p25_packet pkt;
	FILE *f;

	(void)state;
	build_same_server(&g);
	scenario_model(&m);
	a = p25_an_new(NULL, &m, NULL, NULL, 0, 1700000000, err, sizeof err);
	assert_non_null(a);
	c = p25_capture_open_mem(g.file.p, g.file.len, "same", err, sizeof err);
	assert_non_null(c);
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	s4 = find(a, "10.0.0.30");
	s6 = find(a, "2001:db8:1::30");
	assert_int_equal(s4->cls, P25_AN_SERVER);
	assert_int_not_equal(s6->cls, P25_AN_SERVER); /* two connections: too little on its own */
	assert_int_equal(s4->same_as, -1);
	assert_int_equal(s6->same_as, s4 - p25_an_hosts(a, &len));
	assert_int_equal(p25_an_same_server(a, (size_t)(s4 - p25_an_hosts(a, &len)), idx, 16), 2);
	assert_int_equal(idx[1], (size_t)(s6 - p25_an_hosts(a, &len)));
	/* Two IPv4 hosts under one name: no grouping. */
	assert_int_equal(find(a, "10.0.0.40")->same_as, -1);
	assert_int_equal(find(a, "2001:db8:1::40")->same_as, -1);
	assert_int_equal(p25_an_same_server(a, (size_t)(find(a, "10.0.0.40") - p25_an_hosts(a, &len)), idx, 16), 1);

	/* Next steps: without --suggest, a permit add; with it, the file. */
	assert_string_equal(p25_an_next_step(a, s4, step, sizeof step),
	                    "register it: port25 permit add campus 10.0.0.30 --kind mail "
	                    "--description \"mail server\"");
	assert_int_equal(p25_an_set_suggest_file(a, "found.csv"), 0);
	assert_string_equal(p25_an_next_step(a, s4, step, sizeof step),
	                    "register it: port25 import found.csv");
	assert_string_equal(p25_an_next_step(a, s6, step, sizeof step),
	                    "register it: port25 import found.csv");

	/* --suggest: both addresses of the server. */
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_suggest_csv(a, "t", f), 2 + 0);
	fclose(f);
	assert_non_null(strstr(buf, "campus,10.0.0.30,mail-server,"));
	assert_non_null(strstr(buf, "campus,2001:db8:1::30,mail-server,"));
	free(buf);

	/* JSON: per-address records, each naming the other address. */
	json_t *j = p25_an_host_json(a, s6);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "same_server_as"), 0)),
	                    "10.0.0.30");
	assert_string_equal(json_string_value(json_object_get(j, "next_step")),
	                    "register it: port25 import found.csv");
	json_decref(j);
	p25_an_free(a);
	p25_model_free(&m);

	/* Any order and split of the input: the same report (grouping included). */
	struct p25_prefix net[2];
	struct p25_diag d;
	assert_int_equal(p25_prefix_parse("10.0.0.0/24", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &net[1], &d), 0);
	units_any_order(&g, net, 2);
	gen_free(&g);

	/* The bot of the scenario: its organization's security contact, escaped where it goes. */
	a = analyze_scenario(&m, &g);
	const struct p25_an_host *bot = find(a, "10.0.0.66");
	assert_string_equal(p25_an_next_step(a, bot, step, sizeof step),
	                    "tell campus: it has no security contact in the registry (port25 "
	                    "contact add campus ... --role security)");
	assert_int_equal(p25_an_set_security_contact(a, "nope", "x", "y"), 1);
	assert_int_equal(p25_an_set_security_contact(a, "campus", "Eve \"<b>\", Sec",
	                                             "sec&ops@campus.example"),
	                 0);
	assert_string_equal(p25_an_next_step(a, bot, step, sizeof step),
	                    "tell the security contact Eve \"<b>\", Sec <sec&ops@campus.example>");
	assert_string_equal(p25_an_next_step(a, find(a, "10.0.0.11"), step, sizeof step),
	                    "nothing to do: registered");
	assert_string_equal(p25_an_next_step(a, find(a, "10.0.0.20"), step, sizeof step),
	                    "nothing to do: it submits on 465/587");
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_html(a, "t", f), 0);
	fclose(f);
	assert_non_null(strstr(buf, "<th>next step</th>"));
	assert_non_null(strstr(buf, "tell the security contact Eve &quot;&lt;b&gt;&quot;, Sec "
	                            "&lt;sec&amp;ops@campus.example&gt;"));
	assert_null(strstr(buf, "<b>"));
	free(buf);
	f = open_memstream(&buf, &len);
	assert_int_equal(p25_an_report_csv(a, f), 0);
	fclose(f);
	assert_non_null(strstr(buf, ",next_step,same_server_as\n"));
	assert_non_null(strstr(buf, ",\"tell the security contact Eve \"\"<b>\"\", Sec "
	                            "<sec&ops@campus.example>\","));
	free(buf);
	p25_an_free(a);
	p25_model_free(&m);
	gen_free(&g);
}

static void test_recipient_fanout(void **state)
{
	struct gen g;
	struct p25_prefix net;
	struct p25_diag d;
	char err[256];

	(void)state;
	build_recipients(&g);
	assert_int_equal(p25_prefix_parse("10.0.0.0/8", 0, &net, &d), 0);
	struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, &net, 1, 0, err, sizeof err);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "r", err, sizeof err);
	struct p25_packet pkt;
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	const struct p25_an_host *h = find(a, "10.0.0.77");
	assert_int_equal(p25_an_distinct_dests(h), 1);
	assert_int_equal(h->rcpt_max, 120);
	assert_in_range(h->rcpt_domains_max, 100, 120);
	assert_int_equal(h->bot_score, 3);
	assert_non_null(strstr(h->reasons, "recipient fan-out: about"));
	assert_non_null(strstr(h->reasons, "120 recipients (RCPT TO) within 600 s"));
	/* Domains are compared in any case: "Same0.example" is one domain. */
	h = find(a, "10.0.0.78");
	assert_int_equal(h->rcpt_max, 120);
	assert_int_equal(h->rcpt_domains_max, 1);
	assert_int_equal(h->bot_score, 1);
	assert_null(strstr(h->reasons, "recipient fan-out"));
	p25_an_free(a);
	/* The thresholds are settings. */
	struct p25_an_config cfg;
	p25_an_config_default(&cfg);
	assert_int_equal(p25_an_config_set(&cfg, "rcpt_domains_min", "121", err, sizeof err), 0);
	assert_int_equal(p25_an_config_set(&cfg, "rcpt_min", "121", err, sizeof err), 0);
	a = p25_an_new(&cfg, NULL, NULL, &net, 1, 0, err, sizeof err);
	c = p25_capture_open_mem(g.file.p, g.file.len, "r", err, sizeof err);
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	assert_int_equal(find(a, "10.0.0.77")->bot_score, 0);
	p25_an_free(a);
	units_any_order(&g, &net, 1);
	gen_free(&g);
}

/* Flow records: each connection's pair in either order, the pairs in any order and batches. */
static void test_order_flows(void **state)
{
	struct gen g;
	struct flowset fs = {0};
	struct p25_prefix net[2];
	struct p25_diag d;
	char err[256];
	json_t *want = NULL;

	(void)state;
	gen_start(&g);
	build_scenario(&g);
	assert_int_equal(p25_prefix_parse("10.0.0.0/24", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &net[1], &d), 0);
	struct p25_capture *c = p25_capture_open_mem(g.file.p, g.file.len, "s", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(p25_capture_foreach(c, to_flow, &fs), 0);
	p25_capture_close(c);
	/* Units: a flow and, when there is one, its reverse right after it. */
	size_t *unit = malloc(fs.n * sizeof *unit), nunit = 0;
	char *used = calloc(fs.n, 1);
	struct p25_flow *rec = malloc(fs.n * sizeof *rec);
	size_t *perm = malloc(fs.n * sizeof *perm);
	assert_true(unit && used && rec && perm);
	for (size_t i = 0; i < fs.n; i++) {
		const struct frec *r = &fs.v[i];
		struct p25_flow *f = &rec[i];
		memset(f, 0, sizeof *f);
		f->src.family = f->dst.family = r->k.v6 ? P25_INET6 : P25_INET;
		if (r->k.v6) {
			uint8_t sa[16], da[16];
			memcpy(sa, r->k.src, 16);
			memcpy(da, r->k.dst, 16);
			p25_u128 x = 0, y = 0;
			for (int b = 0; b < 16; b++) {
				x = x << 8 | sa[b];
				y = y << 8 | da[b];
			}
			f->src.bits = x;
			f->dst.bits = y;
		} else {
			f->src.bits = (p25_u128)((uint32_t)r->k.src[0] << 24 | r->k.src[1] << 16 |
			                         r->k.src[2] << 8 | r->k.src[3])
			              << 96;
			f->dst.bits = (p25_u128)((uint32_t)r->k.dst[0] << 24 | r->k.dst[1] << 16 |
			                         r->k.dst[2] << 8 | r->k.dst[3])
			              << 96;
		}
		f->sport = r->k.sport;
		f->dport = r->k.dport;
		f->protocol = 6;
		f->tcp_flags = r->flags;
		f->bytes = r->bytes;
		f->packets = r->pkts;
		f->first_ms = (int64_t)r->first_ms;
		f->last_ms = (int64_t)r->last_ms;
	}
	for (size_t i = 0; i < fs.n; i++) {
		if (used[i])
			continue;
		used[i] = 1;
		unit[nunit++] = i;
		for (size_t j = i + 1; j < fs.n && j < i + 64; j++)
			if (!used[j] && fs.v[j].k.sport == fs.v[i].k.dport &&
			    fs.v[j].k.dport == fs.v[i].k.sport &&
			    memcmp(fs.v[j].k.src, fs.v[i].k.dst, 16) == 0) {
				used[j] = 2; /* the partner of unit nunit-1 */
				break;
			}
	}
	for (int seed = 0; seed <= 6; seed++) {
		uint64_t rng = 0x853c49e6748fea9bULL * (uint64_t)(seed + 1);
		struct p25_analyzer *a = p25_an_new(NULL, NULL, NULL, net, 2, 0, err, sizeof err);
		assert_non_null(a);
		for (size_t i = 0; i < nunit; i++)
			perm[i] = i;
		if (seed)
			shuffle(perm, nunit, &rng);
		/* Records in unit order, each pair swapped half the time, fed in random batches. */
		struct p25_flow *batch = malloc(fs.n * sizeof *batch);
		size_t nb = 0;
		assert_non_null(batch);
		for (size_t k = 0; k < nunit; k++) {
			size_t i = unit[perm[k]], j;
			for (j = i + 1; j < fs.n && j < i + 64; j++)
				if (used[j] == 2 && fs.v[j].k.sport == fs.v[i].k.dport &&
				    fs.v[j].k.dport == fs.v[i].k.sport &&
				    memcmp(fs.v[j].k.src, fs.v[i].k.dst, 16) == 0)
					break;
			bool pair = j < fs.n && j < i + 64;
			bool swap = seed && (rng_next(&rng) & 1);
			if (pair && swap)
				batch[nb++] = rec[j];
			batch[nb++] = rec[i];
			if (pair && !swap)
				batch[nb++] = rec[j];
		}
		for (size_t off = 0; off < nb;) {
			size_t n = seed ? 1 + (size_t)(rng_next(&rng) % 50) : 20;
			if (n > nb - off)
				n = nb - off;
			p25_an_flows(a, batch + off, n);
			off += n;
		}
		free(batch);
		p25_an_finish(a);
		json_t *got = order_free_report(a);
		p25_an_free(a);
		if (!want) {
			want = got;
			continue;
		}
		char what[32];
		snprintf(what, sizeof what, "flows, seed %d", seed);
		report_same(want, got, what);
		json_decref(got);
	}
	json_decref(want);
	free(unit);
	free(used);
	free(rec);
	free(perm);
	free(fs.v);
	gen_free(&g);
}

/* Sampled flow records: bytes and packets scaled by the rate, connections as seen. */
static void test_flow_sampling(void **state)
{
	struct p25_prefix internal;
	struct p25_diag d;
	char err[256];
	struct p25_flow f[2];
	struct p25_analyzer *a;

	(void)state;
	assert_int_equal(p25_prefix_parse("2001:db8:1::/48", 0, &internal, &d), 0);
	a = p25_an_new(NULL, NULL, NULL, &internal, 1, 0, err, sizeof err);
	assert_non_null(a);
	memset(f, 0, sizeof f);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    p25_addr_parse(i ? "2001:db8:99::25" : "2001:db8:1::7", 0, &f[i].src, &d), 0);
		assert_int_equal(
		    p25_addr_parse(i ? "2001:db8:1::7" : "2001:db8:99::25", 0, &f[i].dst, &d), 0);
		f[i].protocol = 6;
		f[i].sport = i ? 25 : 40000;
		f[i].dport = i ? 40000 : 25;
		f[i].tcp_flags = i ? (P25_TCP_SYN | P25_TCP_ACK) : P25_TCP_SYN;
		f[i].packets = 3;
		f[i].bytes = 500;
		f[i].first_ms = 1795000000000LL;
		f[i].last_ms = 1795000001000LL;
		f[i].sampling = 100;
	}
	p25_an_flows(a, f, 2);
	p25_an_finish(a);
	const struct p25_an_host *h = find(a, "2001:db8:1::7");
	assert_int_equal(h->out25.conns, 1);
	assert_int_equal(h->out25.outcome[P25_AN_ESTABLISHED], 1);
	assert_int_equal(h->out25.bytes_sent, 50000);
	assert_int_equal(h->out25.packets_sent, 300);
	assert_int_equal(h->out25.bytes_recv, 50000);
	assert_int_equal(p25_an_stats(a)->flows_sampled, 2);
	assert_int_equal(p25_an_stats(a)->sampling_max, 100);
	p25_an_free(a);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dialogue),         cmocka_unit_test(test_config),
	    cmocka_unit_test(test_scenario_classes), cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_netflow9),         cmocka_unit_test(test_ipfix),
	    cmocka_unit_test(test_real_captures),    cmocka_unit_test(test_truncated_file),
	    cmocka_unit_test(test_threads_same),     cmocka_unit_test(test_flow_sampling),
	    cmocka_unit_test(test_snaplen_syn_options), cmocka_unit_test(test_order_syns),
	    cmocka_unit_test(test_order_scenario),      cmocka_unit_test(test_order_flows),
	    cmocka_unit_test(test_reject_share),        cmocka_unit_test(test_receive_only),
	    cmocka_unit_test(test_established_evidence), cmocka_unit_test(test_distinct_capped),
	    cmocka_unit_test(test_serves_mailboxes),    cmocka_unit_test(test_mailbox_handshake_only),    cmocka_unit_test(test_blocklist_replies),
	    cmocka_unit_test(test_blocklist_hosts),      cmocka_unit_test(test_recipient_fanout), cmocka_unit_test(test_next_step_same_server),
	    cmocka_unit_test(test_conn_table_full),
	};

	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		struct gen g;
		char path[1024];
		FILE *f;
		gen_start(&g);
		build_scenario(&g);
		snprintf(path, sizeof path, "%s/synthetic.pcap", argv[2]);
		f = fopen(path, "w");
		if (!f || fwrite(g.file.p, 1, g.file.len, f) != g.file.len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		gen_free(&g);
		build_blocklists(&g);
		snprintf(path, sizeof path, "%s/blocklist.pcap", argv[2]);
		f = fopen(path, "w");
		if (!f || fwrite(g.file.p, 1, g.file.len, f) != g.file.len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		gen_free(&g);
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
