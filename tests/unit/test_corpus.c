/*
 * A labelled corpus of port-25 behaviours, analysed from the packets and
 * from flow records of the same traffic.  The analyzer must find the bots
 * (precision >= 0.97, recall >= 0.96) and call no legitimate sender a bot,
 * from either input.
 *
 * The behaviours follow what their software and the literature document:
 *
 * - MTAs (Postfix defaults: queue_run_delay and minimal_backoff_time 300 s,
 *   maximal_backoff_time 4000 s; Exim's default retry rule, every 15 min
 *   for 2 h, then growing): steady deliveries over days to popular and
 *   long-tail domains, STARTTLS mostly, a stable EHLO, greylisting (4xx,
 *   retried after 5-15 min, RFC 6647) and dead destinations retried on the
 *   backoff schedule; most are also the domain's MX and receive mail, and
 *   some keep their users' mailboxes too (IMAP, POP3, submission).
 * - List servers (Mailman/Sympa): the same, plus a digest or announcement
 *   a day fanned out to hundreds of subscriber domains within minutes.
 * - Alerting appliances (UPS, NAS, printers, monitoring): a few identical
 *   alerts a day to one or two destinations, often without TLS or queue.
 * - Spam bots (Xie et al., "Spamming Botnets: Signatures and
 *   Characteristics", SIGCOMM 2008; John et al., "Studying Spamming Botnets
 *   Using Botlab", NSDI 2009; Ramachandran and Feamster, SIGCOMM 2006):
 *   direct-to-MX to ever new destinations, many unanswered or reset
 *   connections, 5xx refusals, a bare IP or random or fake HELO, no queue
 *   and so no retries.  Fast ones send tens a minute in sessions; slow
 *   ones ("low and slow") one every few minutes for hours; both on IPv4
 *   and IPv6.
 * - NAT: one address for many clients (submission on 465/587, a desktop
 *   misconfigured to try port 25) and one infected machine: a bot address.
 * - Plain clients: submission only, or a few port-25 tries to a smarthost.
 *
 * `test_corpus --write DIR` writes DIR/corpus.pcap and DIR/labels.txt
 * ("address label" lines) for tests/cli/test_analyze.sh, which runs the
 * same check on softflowd's NetFlow v9 and IPFIX exports of the capture.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "flow/flow.h"
#include "frame.h"

#define T0    1772409600ULL /* 2026-03-02T00:00:00Z, seconds */
#define SEC   1000000ULL    /* microseconds */
#define MIN   (60 * SEC)
#define HOUR  (3600 * SEC)
#define DAY   (24 * HOUR)
#define SPAN  (3 * DAY)

enum label { L_BOT, L_SERVER, L_APPLIANCE, L_CLIENT };
static const char *const label_name[] = {"bot", "server", "appliance", "client"};

/* ---- deterministic randomness ---- */

static uint64_t rng = 0x5eed5eed12345678ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

static uint64_t rnd_in(uint64_t lo, uint64_t hi) /* [lo, hi] */
{
	return lo + rnd() % (hi - lo + 1);
}

static double rnd01(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static bool chance(double p)
{
	return rnd01() < p;
}

/* ---- endpoints ---- */

struct ep {
	bool v6;
	uint8_t a[16]; /* IPv4 in the first four bytes */
};

static struct ep ip4(uint32_t v)
{
	struct ep e = {0};
	e.a[0] = (uint8_t)(v >> 24);
	e.a[1] = (uint8_t)(v >> 16);
	e.a[2] = (uint8_t)(v >> 8);
	e.a[3] = (uint8_t)v;
	return e;
}

static struct ep ip6(uint32_t net, uint32_t last)
{
	/* 2001:db8:NNNN::last */
	struct ep e = {.v6 = true, .a = {0x20, 0x01, 0x0d, 0xb8}};
	e.a[4] = (uint8_t)(net >> 8);
	e.a[5] = (uint8_t)net;
	e.a[12] = (uint8_t)(last >> 24);
	e.a[13] = (uint8_t)(last >> 16);
	e.a[14] = (uint8_t)(last >> 8);
	e.a[15] = (uint8_t)last;
	return e;
}

static void ep_text(const struct ep *e, char *buf, size_t n)
{
	struct p25_addr a;
	if (e->v6)
		p25_addr_from_v6(&a, e->a);
	else
		p25_addr_from_v4(&a, (uint32_t)e->a[0] << 24 | (uint32_t)e->a[1] << 16 |
		                         (uint32_t)e->a[2] << 8 | e->a[3]);
	p25_addr_format(&a, buf, n);
}

static void ep_addr(const struct ep *e, struct p25_addr *a)
{
	if (e->v6)
		p25_addr_from_v6(a, e->a);
	else
		p25_addr_from_v4(a, (uint32_t)e->a[0] << 24 | (uint32_t)e->a[1] << 16 |
		                        (uint32_t)e->a[2] << 8 | e->a[3]);
}

/* Internal hosts: 10.50.0.0/16 and 2001:db8:50::/48; outside: 198.18.0.0/15, 2001:db8:ff00::/40. */
static uint32_t next_internal = 0x0a320001;
static uint32_t next_internal6 = 1;

static struct ep internal(bool v6)
{
	return v6 ? ip6(0x50, next_internal6++) : ip4(next_internal++);
}

static struct ep outside(bool v6)
{
	return v6 ? ip6(0xff00 | (uint32_t)rnd_in(0, 255), (uint32_t)rnd())
	          : ip4(0xc6120000 | (uint32_t)rnd_in(1, 0x1fffe));
}

/* The big providers' MXes, which everybody's mail goes to. */
static struct ep popular(bool v6, unsigned k)
{
	return v6 ? ip6(0xff00, 0x25000 + k) : ip4(0xc6120000 + 0x100 + k);
}

/* ---- the capture and the flows being written ---- */

struct pkt {
	uint64_t t;   /* microseconds */
	uint64_t ord; /* tie-break: the order written */
	size_t off;
	uint32_t len;
};

static struct {
	uint8_t *bytes;
	size_t used, cap;
	struct pkt *pk;
	size_t npk, cappk;
	struct p25_flow *fl;
	size_t nfl, capfl;
} out;

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	p = realloc(p, c * size);
	assert_non_null(p);
	*cap = c;
	return p;
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

/* One TCP segment as an Ethernet frame, and its share of the direction's flow record. */
static void seg(uint64_t t, const struct ep *a, const struct ep *b, uint16_t sp, uint16_t dp,
                uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t n,
                struct p25_flow *f)
{
	uint8_t fr[TEST_FRAME_MAX];
	struct test_segment sg = {a->v6, 0, a->a, b->a, sp, dp, flags, seq, ack,
	                          64240, (flags & SYN) ? 20 : 0, data, n};
	size_t ip, o = test_frame(fr, &sg, &ip);

	out.bytes = grow(out.bytes, &out.cap, out.used + o, 1);
	memcpy(out.bytes + out.used, fr, o);
	out.pk = grow(out.pk, &out.cappk, out.npk + 1, sizeof *out.pk);
	out.pk[out.npk] = (struct pkt){t, out.npk, out.used, (uint32_t)o};
	out.npk++;
	out.used += o;

	uint64_t ms = T0 * 1000 + t / 1000;
	if (!f->packets) {
		ep_addr(a, &f->src);
		ep_addr(b, &f->dst);
		f->sport = sp;
		f->dport = dp;
		f->protocol = 6;
		f->first_ms = (int64_t)ms;
	}
	f->packets++;
	f->bytes += o - ip;
	f->tcp_flags |= flags;
	f->last_ms = (int64_t)ms;
}

/* ---- dialogues: lines alternating server (even) and client (odd) ---- */

struct dlg {
	char pool[32768];
	size_t used;
	size_t off[24], len[24];
	int n;
};

static void dlg_start(struct dlg *d)
{
	d->used = 0;
	d->n = 0;
}

static char *dlg_line(struct dlg *d, size_t room)
{
	assert_true(d->n < 24 && d->used + room <= sizeof d->pool);
	d->off[d->n] = d->used;
	return d->pool + d->used;
}

static void dlg_end(struct dlg *d, size_t len)
{
	d->len[d->n++] = len;
	d->used += len;
}

static void say(struct dlg *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct dlg *d, const char *fmt, ...)
{
	va_list ap;
	char *p = dlg_line(d, 512);

	va_start(ap, fmt);
	int k = vsnprintf(p, 512, fmt, ap);
	va_end(ap);
	assert_true(k > 0 && k < 512);
	dlg_end(d, (size_t)k);
}

/* n bytes of opaque data (a TLS record). */
static void blob(struct dlg *d, size_t n, char fill)
{
	memset(dlg_line(d, n), fill, n);
	dlg_end(d, n);
}

enum reply { R_OK, R_GREYLIST, R_REFUSE_MAIL, R_REFUSE_RCPT };

/*
 * A delivery: banner, EHLO, then STARTTLS (the rest opaque) or MAIL, RCPT,
 * DATA with the body, QUIT.  refusal (may be NULL) is the refusing reply's text.
 */
static void delivery(struct dlg *d, const char *mx, const char *helo, const char *from,
                     const char *rcpt, size_t size, bool tls, enum reply r, const char *refusal)
{
	dlg_start(d);
	say(d, "220 %s ESMTP\r\n", mx);
	say(d, "EHLO %s\r\n", helo);
	say(d, "250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250 STARTTLS\r\n", mx);
	if (tls) {
		say(d, "STARTTLS\r\n");
		say(d, "220 2.0.0 Ready to start TLS\r\n");
		blob(d, 300, '\x16');
		blob(d, 600, '\x17');
		blob(d, size + 100 < 1400 ? size + 100 : 1400, '\x17');
		blob(d, 60, '\x17');
		return;
	}
	say(d, "MAIL FROM:<%s>\r\n", from);
	if (r == R_REFUSE_MAIL) {
		say(d, "%s\r\n", refusal ? refusal : "554 5.7.1 Service unavailable; client host blocked");
		say(d, "QUIT\r\n");
		say(d, "221 2.0.0 Bye\r\n");
		return;
	}
	say(d, "250 2.1.0 Ok\r\n");
	say(d, "RCPT TO:<%s>\r\n", rcpt);
	if (r == R_GREYLIST || r == R_REFUSE_RCPT) {
		say(d, "%s\r\n",
		    r == R_GREYLIST ? "450 4.7.1 Greylisted, try again later"
		    : refusal       ? refusal
		                    : "550 5.7.1 Message rejected as spam");
		say(d, "QUIT\r\n");
		say(d, "221 2.0.0 Bye\r\n");
		return;
	}
	say(d, "250 2.1.5 Ok\r\n");
	say(d, "DATA\r\n");
	say(d, "354 End data with <CR><LF>.<CR><LF>\r\n");
	char *b = dlg_line(d, size + 5);
	size_t k = 0;
	while (k < size) {
		size_t line = size - k < 70 ? size - k : 70;
		memset(b + k, 'x', line);
		k += line;
		if (k + 2 <= size) {
			b[k - 2] = '\r';
			b[k - 1] = '\n';
		}
	}
	memcpy(b + k, "\r\n.\r\n", 5);
	dlg_end(d, k + 5);
	say(d, "250 2.0.0 Ok: queued as %llX\r\n", (unsigned long long)(rnd() & 0xffffffff));
	say(d, "QUIT\r\n");
	say(d, "221 2.0.0 Bye\r\n");
}

enum outcome { OK, NOANSWER, RESET };

static uint16_t next_port = 20000;

/* A whole connection at t (microseconds since T0); returns when it ends. */
static uint64_t conn(uint64_t t, const struct ep *c, const struct ep *s, uint16_t sport,
                     enum outcome oc, const struct dlg *d)
{
	uint16_t cport = next_port++;
	uint32_t cs = (uint32_t)rnd(), ss = (uint32_t)rnd();
	struct p25_flow fc = {0}, fs = {0};
	uint64_t rtt = rnd_in(2, 80) * 1000;

	if (next_port < 20000)
		next_port = 20000;
	seg(t, c, s, cport, sport, SYN, cs, 0, NULL, 0, &fc);
	if (oc == NOANSWER) {
		seg(t + 1 * SEC, c, s, cport, sport, SYN, cs, 0, NULL, 0, &fc);
		seg(t + 3 * SEC, c, s, cport, sport, SYN, cs, 0, NULL, 0, &fc);
		t += 3 * SEC;
	} else if (oc == RESET) {
		seg(t + rtt, s, c, sport, cport, RST | ACK, 0, cs + 1, NULL, 0, &fs);
		t += rtt;
	} else {
		seg(t + rtt, s, c, sport, cport, SYN | ACK, ss, cs + 1, NULL, 0, &fs);
		seg(t + rtt + 100, c, s, cport, sport, ACK, cs + 1, ss + 1, NULL, 0, &fc);
		cs++, ss++;
		t += rtt + 200;
		for (int i = 0; d && i < d->n; i++) {
			t += rtt / 2 + 300;
			if (i % 2 == 0) {
				for (size_t off = 0; off < d->len[i]; off += 1400) {
					size_t k = d->len[i] - off < 1400 ? d->len[i] - off : 1400;
					seg(t, s, c, sport, cport, PSH | ACK, ss, cs,
					    d->pool + d->off[i] + off, k, &fs);
					ss += (uint32_t)k;
				}
			} else {
				for (size_t off = 0; off < d->len[i]; off += 1400) {
					size_t k = d->len[i] - off < 1400 ? d->len[i] - off : 1400;
					seg(t, c, s, cport, sport, PSH | ACK, cs, ss,
					    d->pool + d->off[i] + off, k, &fc);
					cs += (uint32_t)k;
				}
				seg(t + rtt / 2, s, c, sport, cport, ACK, ss, cs, NULL, 0, &fs);
			}
		}
		t += rtt;
		seg(t, c, s, cport, sport, FIN | ACK, cs, ss, NULL, 0, &fc);
		seg(t + rtt, s, c, sport, cport, FIN | ACK, ss, cs + 1, NULL, 0, &fs);
		seg(t + rtt + 100, c, s, cport, sport, ACK, cs + 1, ss + 1, NULL, 0, &fc);
		t += rtt + 100;
	}
	out.fl = grow(out.fl, &out.capfl, out.nfl + 2, sizeof *out.fl);
	out.fl[out.nfl++] = fc;
	if (fs.packets)
		out.fl[out.nfl++] = fs;
	return t;
}

/* ---- the labelled hosts ---- */

struct labelled {
	struct ep ep;
	enum label label;
	const char *kind;
};

static struct labelled hosts[512];
static size_t nhosts;

static struct ep add_host(bool v6, enum label l, const char *kind)
{
	assert_true(nhosts < sizeof hosts / sizeof hosts[0]);
	hosts[nhosts] = (struct labelled){internal(v6), l, kind};
	return hosts[nhosts++].ep;
}

/* Exponential gap with the given mean. */
static uint64_t expo(uint64_t mean)
{
	double u = rnd01();
	if (u < 1e-9)
		u = 1e-9;
	return (uint64_t)(-log(u) * (double)mean);
}

/* A domain's MX of a sender's long tail: a fixed address per (sender, index). */
static struct ep tail_mx(bool v6, uint32_t seed, unsigned k)
{
	uint32_t x = seed * 2654435761u + k * 40503u;
	return v6 ? ip6(0xff10, 0x100000 + (x & 0xfffff)) : ip4(0xc6130000 | (x & 0xfffe) | 1);
}

/*
 * A recipient at the domain whose MX mx is: one domain per destination
 * (drawing nothing from the generator, so the rest of the corpus stays as it was).
 */
static void rcpt_at(const struct ep *mx, char *buf, size_t n)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < 16; i++)
		h = (h ^ mx->a[i]) * 16777619u;
	snprintf(buf, n, "user@d%08x.example", h);
}

/*
 * A delivery attempt by a queueing MTA at t; on failure, retried on the
 * Postfix backoff (300 s doubling, at most 4000 s) until it succeeds or the
 * corpus ends.  dead: never answers; grey: refused with 4xx once.
 */
static void mta_deliver(uint64_t t, const struct ep *m, const struct ep *mx, const char *helo,
                        bool dead, bool grey, bool tls, const char *refusal)
{
	uint64_t backoff = 300 * SEC;
	struct dlg d;
	char mxname[64], rcpt[64];

	rcpt_at(mx, rcpt, sizeof rcpt);
	if (refusal) {
		/* Refused for good (5xx): a queue does not retry, it bounces. */
		delivery(&d, "mx.example.net", helo, "news@example.org", rcpt,
		         rnd_in(500, 4000), false, R_REFUSE_RCPT, refusal);
		conn(t, m, mx, 25, OK, &d);
		return;
	}

	snprintf(mxname, sizeof mxname, "mx%u.example.net", (unsigned)(mx->a[15] ^ mx->a[3]));
	for (int attempt = 0; t < SPAN; attempt++) {
		if (dead) {
			conn(t, m, mx, 25, NOANSWER, NULL);
		} else {
			bool g = grey && attempt == 0;
			delivery(&d, mxname, helo, "news@example.org", rcpt,
			         rnd_in(500, 4000), tls && !g, g ? R_GREYLIST : R_OK, NULL);
			conn(t, m, mx, 25, OK, &d);
			if (!g)
				return;
		}
		/* The queue manager's next look, a little after the backoff. */
		t += backoff + rnd_in(0, 60) * SEC;
		backoff = backoff * 2 > 4000 * SEC ? 4000 * SEC : backoff * 2;
		if (attempt >= 8)
			return;
	}
}

/* Mail from outside to an internal MX. */
static void inbound(uint64_t t, const struct ep *mx, const char *name, bool v6)
{
	struct ep sender = outside(v6);
	struct dlg d;
	char helo[64];

	snprintf(helo, sizeof helo, "out%u.sender.example", (unsigned)rnd_in(1, 999));
	delivery(&d, name, helo, "a@sender.example", "b@example.org", rnd_in(500, 5000),
	         chance(0.7), R_OK, NULL);
	conn(t, &sender, mx, 25, OK, &d);
}

/*
 * How blocklists meet a server now and then: named itself (a list of hosts
 * caught it relaying some spam), within a listed network, or for another
 * hop's address in the Received header of what it relays.
 */
enum listing { LIST_NONE, LIST_SELF, LIST_RANGE, LIST_HOP };

static void gen_mta(bool v6, bool mx_role, bool list, enum listing listing)
{
	struct ep m = add_host(v6, L_SERVER, list ? "list-server" : "mta");
	char helo[64], me[64], refusal[300];
	uint32_t seed = (uint32_t)rnd();
	unsigned ntail = (unsigned)rnd_in(60, 200);
	double rate = (double)rnd_in(2, 8); /* deliveries an hour, busier in the day */
	bool users = mx_role && !list && chance(0.6);

	snprintf(helo, sizeof helo, "mail%u.org%u.example", (unsigned)(seed % 10), seed % 997);
	ep_text(&m, me, sizeof me);
	if (listing == LIST_SELF)
		snprintf(refusal, sizeof refusal,
		         "554 Service unavailable; Client host [%s] blocked using "
		         "b.barracudacentral.org; https://www.barracudacentral.org/lookups?ip=%s",
		         me, me);
	else if (listing == LIST_RANGE)
		snprintf(refusal, sizeof refusal,
		         "550 5.7.1 Service unavailable; Client host [%s] blocked using "
		         "dnsbl-3.uceprotect.net; Your ISP is UCEPROTECT-Level3 listed",
		         me);
	else
		snprintf(refusal, sizeof refusal,
		         "554 5.7.1 Message rejected: 203.0.113.%u listed in bl.spamcop.net "
		         "(found in Received header)",
		         (unsigned)rnd_in(1, 254));
	for (uint64_t h = 0; h < SPAN / HOUR; h++) {
		unsigned hod = (unsigned)(h % 24);
		double r = rate * (hod >= 7 && hod <= 19 ? 1.6 : 0.4);
		uint64_t t = h * HOUR;
		for (;;) {
			t += expo((uint64_t)(HOUR / r));
			if (t >= (h + 1) * HOUR)
				break;
			struct ep mx = chance(0.5) ? popular(v6, (unsigned)rnd_in(0, 19))
			                           : tail_mx(v6, seed, (unsigned)rnd_in(0, ntail - 1));
			bool dead = chance(0.015), grey = !dead && chance(0.05);
			bool refused = listing != LIST_NONE && chance(0.03);
			mta_deliver(t, &m, &mx, helo, dead, grey, chance(0.85), refused ? refusal : NULL);
		}
		if (mx_role)
			for (unsigned k = (unsigned)rnd_in(0, 4); k > 0; k--)
				inbound(h * HOUR + rnd_in(0, 3599) * SEC, &m, helo, v6);
		/* An all-in-one server: its users read mail (IMAP, POP3) and submit it. */
		if (users)
			for (unsigned k = (unsigned)rnd_in(0, 3); k > 0; k--) {
				static const uint16_t svc[] = {993, 143, 995, 587, 465};
				struct ep reader = chance(0.7) ? ip4(0x0a32c800 | (uint32_t)rnd_in(1, 250))
				                               : outside(false);
				conn(h * HOUR + rnd_in(0, 3599) * SEC, &reader, &m,
				     svc[rnd_in(0, 4)], OK, NULL);
			}
	}
	if (!list)
		return;
	/* A digest a day at about 06:00 to every subscriber domain, 20 at a time. */
	unsigned subs = (unsigned)rnd_in(150, 400);
	for (uint64_t day = 0; day < SPAN / DAY; day++) {
		uint64_t t = day * DAY + 6 * HOUR + rnd_in(0, 1800) * SEC;
		for (unsigned k = 0; k < subs; k++) {
			struct ep mx = k < 20 ? popular(v6, k) : tail_mx(v6, seed ^ 0x1157, k);
			bool dead = chance(0.03), grey = !dead && chance(0.05);
			mta_deliver(t + (k / 20) * rnd_in(5, 25) * SEC, &m, &mx, helo, dead, grey,
			            chance(0.8), NULL);
		}
	}
}

static void gen_appliance(void)
{
	struct ep a = add_host(false, L_APPLIANCE, "appliance");
	struct ep dest[2] = {chance(0.5) ? popular(false, (unsigned)rnd_in(0, 19)) : outside(false),
	                     outside(false)};
	unsigned ndest = chance(0.3) ? 2 : 1;
	size_t size = rnd_in(600, 3000);
	char helo[80], me[64];
	struct dlg d;

	ep_text(&a, me, sizeof me);
	if (chance(0.4))
		snprintf(helo, sizeof helo, "[%s]", me);
	else
		snprintf(helo, sizeof helo, "ups%u.site.example", (unsigned)rnd_in(1, 99));
	for (uint64_t day = 0; day < SPAN / DAY; day++)
		for (unsigned k = (unsigned)rnd_in(1, 8); k > 0; k--) {
			uint64_t t = day * DAY + rnd_in(0, 86399) * SEC;
			const struct ep *to = &dest[rnd_in(0, ndest - 1)];
			delivery(&d, "smtp.provider.example", helo, "ups@site.example",
			         "noc@site.example", size, false, R_OK, NULL);
			conn(t, &a, to, 25, chance(0.03) ? NOANSWER : OK, &d);
		}
}

/* A bot's attempt: a fresh destination, and what the spam engine meets there. */
static void bot_attempt(uint64_t t, const struct ep *b, bool v6, int helo_mode, const char *me,
                        size_t size)
{
	struct ep mx = chance(0.15) ? popular(v6, (unsigned)rnd_in(0, 19)) : outside(v6);
	double u = rnd01();
	char helo[64], from[64], rcpt[64];
	struct dlg d;

	if (u < 0.35) {
		conn(t, b, &mx, 25, NOANSWER, NULL);
		return;
	}
	if (u < 0.55) {
		conn(t, b, &mx, 25, RESET, NULL);
		return;
	}
	if (helo_mode == 0)
		snprintf(helo, sizeof helo, "%s", me);
	else if (helo_mode == 1)
		snprintf(helo, sizeof helo, "%c%c%c%c%u", (char)('a' + rnd() % 26),
		         (char)('a' + rnd() % 26), (char)('a' + rnd() % 26), (char)('a' + rnd() % 26),
		         (unsigned)rnd_in(1, 99));
	else
		snprintf(helo, sizeof helo, "mail.com");
	snprintf(from, sizeof from, "promo@deal%u.example", (unsigned)rnd_in(1, 100000));
	double v = rnd01();
	/* Most receivers that refuse a bot say which blocklist has its address. */
	char refusal[240];
	const char *why = NULL;
	switch (chance(0.6) ? rnd_in(0, 3) : 4) {
	case 0:
		snprintf(refusal, sizeof refusal,
		         "554 5.7.1 Service unavailable; Client host [%s] blocked using "
		         "zen.spamhaus.org; https://www.spamhaus.org/query/ip/%s",
		         me, me);
		why = refusal;
		break;
	case 1:
		snprintf(refusal, sizeof refusal,
		         "554 5.7.1 Service unavailable; Client host [%s] blocked using "
		         "bl.spamcop.net; Blocked - see https://www.spamcop.net/bl.shtml?%s",
		         me, me);
		why = refusal;
		break;
	case 2:
		snprintf(refusal, sizeof refusal,
		         "550 5.7.1 Service unavailable; Client host [%s] blocked using "
		         "dnsbl-1.uceprotect.net; IP %s is UCEPROTECT-Level1 listed",
		         me, me);
		why = refusal;
		break;
	case 3:
		snprintf(refusal, sizeof refusal,
		         "554 Service unavailable; Client host [%s] blocked using Barracuda "
		         "Reputation; https://www.barracudanetworks.com/reputation/?pr=1&ip=%s",
		         me, me);
		why = refusal;
		break;
	default:
		break;
	}
	rcpt_at(&mx, rcpt, sizeof rcpt);
	delivery(&d, "mx.victim.example", helo, from, rcpt, size, false,
	         v < 0.3 ? R_REFUSE_MAIL : v < 0.55 ? R_REFUSE_RCPT : v < 0.7 ? R_GREYLIST : R_OK,
	         why);
	conn(t, b, &mx, 25, OK, &d);
}

static void bot_run(const struct ep *b, bool v6, bool fast)
{
	int helo_mode = (int)rnd_in(0, 2);
	size_t size = rnd_in(800, 3000);
	char me[64];

	ep_text(b, me, sizeof me);
	if (fast) {
		/* Sessions of 10-30 minutes at 5-25 connections a minute. */
		for (unsigned s = (unsigned)rnd_in(1, 3); s > 0; s--) {
			uint64_t t = rnd_in(0, SPAN / SEC - 3600) * SEC, end = t + rnd_in(10, 30) * MIN;
			uint64_t gap = MIN / rnd_in(5, 25);
			for (; t < end; t += expo(gap))
				bot_attempt(t, b, v6, helo_mode, me, size);
		}
	} else {
		/* Low and slow: one every 1-5 minutes while the machine is on, 8-36 hours in all. */
		uint64_t t = rnd_in(0, SPAN / SEC / 2) * SEC, end = t + rnd_in(8, 36) * HOUR;
		uint64_t gap = rnd_in(60, 300) * SEC;
		for (; t < end && t < SPAN; t += expo(gap))
			bot_attempt(t, b, v6, helo_mode, me, size);
	}
}

/*
 * A bot spamming through its provider's relay on port 25 (no queue of its
 * own to show, one destination): sessions of 20-40 recipients of as many
 * harvested domains, pipelined in groups of ten (RFC 2920), a third of them
 * refused as unknown; one message of the same size each.  Only the
 * dialogue shows the recipients: to flows it is steady traffic to one server.
 */
static void gen_relay_bot(void)
{
	struct ep b = add_host(false, L_BOT, "relay-bot");
	struct ep relay = ip4(0xc6120a19);
	size_t size = rnd_in(800, 3000);
	uint64_t t = rnd_in(0, SPAN / SEC - 4 * 3600) * SEC, end = t + rnd_in(1, 3) * HOUR;
	struct dlg d;

	for (; t < end; t += rnd_in(20, 90) * SEC) {
		unsigned n = (unsigned)rnd_in(20, 40);
		dlg_start(&d);
		say(&d, "220 relay.provider.example ESMTP\r\n");
		say(&d, "EHLO mail.com\r\n");
		say(&d, "250-relay.provider.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
		say(&d, "MAIL FROM:<promo@deal%u.example>\r\n", (unsigned)rnd_in(1, 100000));
		say(&d, "250 2.1.0 Ok\r\n");
		for (unsigned k = 0; k < n; k += 10) {
			char *c = dlg_line(&d, 600), *r;
			size_t cl = 0, rl = 0;
			unsigned m = n - k < 10 ? n - k : 10;
			bool known[10];
			for (unsigned i = 0; i < m; i++)
				cl += (size_t)snprintf(c + cl, 600 - cl, "RCPT TO:<u%u@h%u.example>\r\n",
				                       (unsigned)rnd_in(1, 9999), (unsigned)rnd());
			dlg_end(&d, cl);
			r = dlg_line(&d, 600);
			for (unsigned i = 0; i < m; i++) {
				known[i] = chance(0.65);
				rl += (size_t)snprintf(r + rl, 600 - rl, "%s\r\n",
				                       known[i] ? "250 2.1.5 Ok"
				                                : "550 5.1.1 Recipient address rejected: "
				                                  "User unknown");
			}
			dlg_end(&d, rl);
		}
		say(&d, "DATA\r\n");
		say(&d, "354 End data with <CR><LF>.<CR><LF>\r\n");
		char *body = dlg_line(&d, size + 5);
		memset(body, 'x', size);
		memcpy(body + size, "\r\n.\r\n", 5);
		dlg_end(&d, size + 5);
		say(&d, "250 2.0.0 Ok: queued\r\n");
		say(&d, "QUIT\r\n");
		say(&d, "221 2.0.0 Bye\r\n");
		conn(t, &b, &relay, 25, OK, &d);
	}
}

static void submission_client(const struct ep *c, unsigned per_day)
{
	struct ep smart = ip4(0xc6120a0a);
	struct dlg d;

	dlg_start(&d);
	say(&d, "220 smtp.provider.example ESMTP\r\n");
	say(&d, "EHLO laptop\r\n");
	say(&d, "250-smtp.provider.example\r\n250 STARTTLS\r\n");
	for (uint64_t day = 0; day < SPAN / DAY; day++)
		for (unsigned k = per_day; k > 0; k--)
			conn(day * DAY + rnd_in(8 * 3600, 18 * 3600) * SEC, c, &smart,
			     chance(0.5) ? 587 : 465, OK, &d);
}

/* A desktop's mail program set to port 25 by mistake: a few tries to the provider. */
static void misconfigured(const struct ep *c)
{
	struct ep smart = ip4(0xc6120a0a);
	struct dlg d;

	delivery(&d, "smtp.provider.example", "DESKTOP-7QK2M", "me@home.example",
	         "friend@example.net", 2000, false, R_REFUSE_RCPT, NULL);
	for (unsigned k = (unsigned)rnd_in(2, 5); k > 0; k--)
		conn(rnd_in(0, SPAN / SEC - 60) * SEC, c, &smart, 25, OK, &d);
}

static void gen_nat(void)
{
	struct ep n = add_host(false, L_BOT, "nat-with-bot");

	submission_client(&n, (unsigned)rnd_in(10, 40));
	misconfigured(&n);
	bot_run(&n, false, chance(0.5));
}

static void build_corpus(void)
{
	const char *seed = getenv("P25_CORPUS_SEED");
	rng = seed && *seed ? strtoull(seed, NULL, 0) | 1 : 0x5eed5eed12345678ULL;
	next_internal = 0x0a320001;
	next_internal6 = 1;
	next_port = 20000;
	nhosts = 0;
	memset(&out, 0, sizeof out);
	for (int i = 0; i < 8; i++)
		gen_mta(i % 4 == 3, i % 3 != 2, false, i < 3 ? LIST_SELF + i : LIST_NONE);
	for (int i = 0; i < 3; i++)
		gen_mta(i == 2, true, true, i == 0 ? LIST_HOP : LIST_NONE);
	for (int i = 0; i < 12; i++)
		gen_appliance();
	for (int i = 0; i < 16; i++) {
		bool v6 = i % 4 == 3;
		struct ep b = add_host(v6, L_BOT, v6 ? "fast-bot-v6" : "fast-bot");
		bot_run(&b, v6, true);
	}
	for (int i = 0; i < 16; i++) {
		bool v6 = i % 4 == 3;
		struct ep b = add_host(v6, L_BOT, v6 ? "slow-bot-v6" : "slow-bot");
		bot_run(&b, v6, false);
	}
	for (int i = 0; i < 6; i++)
		gen_nat();
	for (int i = 0; i < 10; i++) {
		struct ep c = add_host(i % 3 == 0, L_CLIENT, "submission-client");
		submission_client(&c, (unsigned)rnd_in(1, 6));
	}
	for (int i = 0; i < 8; i++) {
		struct ep c = add_host(false, L_CLIENT, "misconfigured-desktop");
		misconfigured(&c);
	}
	/* Last, so that the hosts before are those of the corpus before it came. */
	gen_relay_bot();
}

/* ---- writing and reading ---- */

static int pkt_cmp(const void *x, const void *y)
{
	const struct pkt *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return a->ord < b->ord ? -1 : a->ord > b->ord;
}

static int flow_end_cmp(const void *x, const void *y)
{
	const struct p25_flow *a = x, *b = y;
	return a->last_ms < b->last_ms ? -1 : a->last_ms > b->last_ms;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The packets in time order as a pcap file in memory. */
static uint8_t *pcap_image(size_t *len)
{
	size_t n = 24 + out.npk * 16 + out.used;
	uint8_t *p = malloc(n), *w = p;

	assert_non_null(p);
	qsort(out.pk, out.npk, sizeof *out.pk, pkt_cmp);
	le32(w, 0xa1b2c3d4);
	le32(w + 4, 2 | 4u << 16);
	le32(w + 8, 0);
	le32(w + 12, 0);
	le32(w + 16, 65535);
	le32(w + 20, 1);
	w += 24;
	for (size_t i = 0; i < out.npk; i++) {
		const struct pkt *k = &out.pk[i];
		uint64_t t = T0 * SEC + k->t;
		le32(w, (uint32_t)(t / SEC));
		le32(w + 4, (uint32_t)(t % SEC));
		le32(w + 8, k->len);
		le32(w + 12, k->len);
		memcpy(w + 16, out.bytes + k->off, k->len);
		w += 16 + k->len;
	}
	*len = n;
	return p;
}

static void free_corpus(void)
{
	free(out.bytes);
	free(out.pk);
	free(out.fl);
	memset(&out, 0, sizeof out);
}

static struct p25_analyzer *new_analyzer_cfg(const struct p25_an_config *cfg)
{
	struct p25_prefix net[2];
	struct p25_diag d;
	char err[256];

	assert_int_equal(p25_prefix_parse("10.50.0.0/16", 0, &net[0], &d), 0);
	assert_int_equal(p25_prefix_parse("2001:db8:50::/48", 0, &net[1], &d), 0);
	struct p25_analyzer *a = p25_an_new(cfg, NULL, NULL, net, 2, 0, err, sizeof err);
	assert_non_null(a);
	return a;
}

static struct p25_analyzer *new_analyzer(void)
{
	return new_analyzer_cfg(NULL);
}

/* Precision and recall for bots, and legitimate senders called bots, printed and checked. */
static void score(struct p25_analyzer *a, const char *what)
{
	unsigned tp = 0, fp = 0, fn = 0, legit_as_bot = 0;

	for (size_t i = 0; i < nhosts; i++) {
		struct p25_addr x;
		char buf[64];
		size_t n;
		const struct p25_an_host *h = p25_an_hosts(a, &n), *found = NULL;
		ep_addr(&hosts[i].ep, &x);
		for (size_t k = 0; k < n; k++)
			if (p25_addr_equal(&h[k].addr, &x))
				found = &h[k];
		bool bot = found && found->cls == P25_AN_BOT;
		bool is_bot = hosts[i].label == L_BOT;
		tp += bot && is_bot;
		fp += bot && !is_bot;
		fn += !bot && is_bot;
		legit_as_bot += bot && (hosts[i].label == L_SERVER || hosts[i].label == L_APPLIANCE);
		if (bot != is_bot) {
			ep_text(&hosts[i].ep, buf, sizeof buf);
			print_message("  %s: %s %s (%s) called %s: %s\n", what, hosts[i].kind, buf,
			              label_name[hosts[i].label],
			              found ? p25_an_class_name(found->cls) : "(not listed)",
			              found ? found->reasons : "");
		}
	}
	/* Per kind of host, the classes given: the table in the report. */
	static const char *const kinds[] = {"mta", "list-server", "appliance", "fast-bot",
	                                    "fast-bot-v6", "slow-bot", "slow-bot-v6",
	                                    "nat-with-bot", "relay-bot", "submission-client",
	                                    "misconfigured-desktop"};
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		unsigned cls[8] = {0}, total = 0, unlisted = 0;
		for (size_t i = 0; i < nhosts; i++) {
			if (strcmp(hosts[i].kind, kinds[k]) != 0)
				continue;
			struct p25_addr x;
			size_t n;
			const struct p25_an_host *h = p25_an_hosts(a, &n), *found = NULL;
			ep_addr(&hosts[i].ep, &x);
			for (size_t j = 0; j < n; j++)
				if (p25_addr_equal(&h[j].addr, &x))
					found = &h[j];
			total++;
			if (found)
				cls[found->cls]++;
			else
				unlisted++;
		}
		char line[256] = "";
		for (int c = 0; c < 8; c++)
			if (cls[c])
				snprintf(line + strlen(line), sizeof line - strlen(line), " %s %u",
				         p25_an_class_name((enum p25_an_class)c), cls[c]);
		if (unlisted)
			snprintf(line + strlen(line), sizeof line - strlen(line), " unlisted %u",
			         unlisted);
		print_message("  %s %s (%u):%s\n", what, kinds[k], total, line);
	}
	double precision = tp + fp ? (double)tp / (tp + fp) : 0, recall = (double)tp / (tp + fn);
	print_message("%s: %u bots found, %u missed, %u others called bots: precision %.3f, "
	              "recall %.3f\n",
	              what, tp, fn, fp, precision, recall);
	assert_int_equal(legit_as_bot, 0);
	assert_true(precision >= 0.97);
	assert_true(recall >= 0.96);
}

static const struct p25_an_host *host_of(struct p25_analyzer *a, size_t i)
{
	struct p25_addr x;
	size_t n;
	const struct p25_an_host *h = p25_an_hosts(a, &n);

	ep_addr(&hosts[i].ep, &x);
	for (size_t k = 0; k < n; k++)
		if (p25_addr_equal(&h[k].addr, &x))
			return &h[k];
	return NULL;
}

/*
 * Refusals naming a blocklist: counted for the bots whose address they
 * name; for the servers (the first three MTAs: listed themselves, in a
 * listed network, refused for another hop) said but outweighed or not
 * counted.
 */
static void check_blocklists(struct p25_analyzer *a)
{
	unsigned bots = 0, named = 0;

	for (size_t i = 0; i < nhosts; i++) {
		const struct p25_an_host *h = host_of(a, i);
		if (hosts[i].label != L_BOT || !h)
			continue;
		bots++;
		if (p25_an_host_smtp(h)->bl_replies[P25_AN_BL_LISTED] &&
		    strstr(h->reasons, "refusals by blocklists naming its address"))
			named++;
	}
	print_message("blocklists: %u of %u bots refused by lists naming their address\n", named,
	              bots);
	assert_true(named * 10 >= bots * 9);
	static const enum p25_an_bl_kind kind[3] = {P25_AN_BL_LISTED, P25_AN_BL_RANGE,
	                                            P25_AN_BL_OTHER};
	for (size_t i = 0; i < 3; i++) {
		const struct p25_an_host *h = host_of(a, i);
		assert_non_null(h);
		const struct p25_an_smtp *s = p25_an_host_smtp(h);
		print_message("  %s: %llu/%llu/%llu refusals (named/range/other), %s: %s\n",
		              hosts[i].kind, (unsigned long long)s->bl_replies[P25_AN_BL_LISTED],
		              (unsigned long long)s->bl_replies[P25_AN_BL_RANGE],
		              (unsigned long long)s->bl_replies[P25_AN_BL_OTHER],
		              p25_an_class_name(h->cls), h->reasons);
		assert_true(s->bl_replies[kind[i]] > 0);
		assert_int_equal(s->bl_kind, kind[i]);
		assert_int_equal(h->cls, P25_AN_SERVER);
	}
}

static struct p25_analyzer *analyze_image(const uint8_t *img, size_t len,
                                          const struct p25_an_config *cfg)
{
	char err[256];
	struct p25_analyzer *a = new_analyzer_cfg(cfg);
	struct p25_capture *c = p25_capture_open_mem(img, len, "corpus", err, sizeof err);
	struct p25_packet pkt;
	assert_non_null(c);
	while (p25_capture_next(c, &pkt) == 1)
		p25_an_packet(a, &pkt);
	p25_capture_close(c);
	p25_an_finish(a);
	return a;
}

/*
 * The bot spamming through a relay shows only in its recipients: found with
 * the recipient fan-out, missed without it.
 */
static void check_recipients(const uint8_t *img, size_t len, struct p25_analyzer *a)
{
	struct p25_an_config off;
	struct p25_analyzer *b;

	p25_an_config_default(&off);
	off.rcpt_domains_min = off.rcpt_min = 1000000000;
	b = analyze_image(img, len, &off);
	for (size_t i = 0; i < nhosts; i++) {
		if (strcmp(hosts[i].kind, "relay-bot") != 0)
			continue;
		const struct p25_an_host *with = host_of(a, i), *without = host_of(b, i);
		assert_non_null(with);
		assert_non_null(without);
		print_message("relay-bot: %u recipients of about %u domains within a window: %s "
		              "(%s without the recipient figures)\n",
		              with->rcpt_max, with->rcpt_domains_max, p25_an_class_name(with->cls),
		              p25_an_class_name(without->cls));
		assert_int_equal(with->cls, P25_AN_BOT);
		assert_non_null(strstr(with->reasons, "recipient fan-out"));
		assert_int_not_equal(without->cls, P25_AN_BOT);
	}
	p25_an_free(b);
}

static void test_corpus_packets(void **state)
{
	size_t len;
	(void)state;
	build_corpus();
	uint8_t *img = pcap_image(&len);
	struct p25_analyzer *a = analyze_image(img, len, NULL);
	print_message("corpus: %zu hosts, %zu packets, %zu flow records\n", nhosts, out.npk,
	              out.nfl);
	score(a, "packets");
	check_blocklists(a);
	check_recipients(img, len, a);
	p25_an_free(a);
	free(img);
	free_corpus();
}

/* The same traffic as an exporter sends it: a record per direction, when the flow ends. */
static void test_corpus_flows(void **state)
{
	(void)state;
	build_corpus();
	qsort(out.fl, out.nfl, sizeof *out.fl, flow_end_cmp);
	struct p25_analyzer *a = new_analyzer();
	for (size_t i = 0; i < out.nfl; i += 30)
		p25_an_flows(a, out.fl + i, out.nfl - i < 30 ? out.nfl - i : 30);
	p25_an_finish(a);
	score(a, "flows");
	p25_an_free(a);
	free_corpus();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_packets),
	    cmocka_unit_test(test_corpus_flows),
	};

	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		char path[1024];
		size_t len;
		FILE *f;
		build_corpus();
		uint8_t *img = pcap_image(&len);
		snprintf(path, sizeof path, "%s/corpus.pcap", argv[2]);
		f = fopen(path, "w");
		if (!f || fwrite(img, 1, len, f) != len || fclose(f) != 0) {
			perror(path);
			return 1;
		}
		snprintf(path, sizeof path, "%s/labels.txt", argv[2]);
		f = fopen(path, "w");
		if (!f) {
			perror(path);
			return 1;
		}
		for (size_t i = 0; i < nhosts; i++) {
			char buf[64];
			ep_text(&hosts[i].ep, buf, sizeof buf);
			fprintf(f, "%s %s %s\n", buf, label_name[hosts[i].label], hosts[i].kind);
		}
		if (fclose(f) != 0) {
			perror(path);
			return 1;
		}
		free(img);
		free_corpus();
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
