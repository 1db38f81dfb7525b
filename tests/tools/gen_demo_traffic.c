/*
 * The demo's packet capture: three days of SMTP (and some other) traffic at
 * the edge of the demo registry's members, with known answers for
 * `port25 analyze` (scripts/demo.sh, tests/cli/test_demo_analysis.sh).
 *
 * Regenerate data/demo/traffic.pcap.gz (the output is deterministic):
 *
 *   cc -std=c17 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
 *      -Wmissing-prototypes -o /tmp/gen_demo_traffic tests/tools/gen_demo_traffic.c
 *   /tmp/gen_demo_traffic | gzip -9n >data/demo/traffic.pcap.gz
 *
 * tests/cli/test_demo_analysis.sh builds this file the same way and checks
 * that the committed capture is exactly what it writes.
 *
 * Who is in it (addresses from data/demo/registry.json; the outside world
 * is 198.18.0.0/15, 203.0.113.200+ and 2001:db8:f00::/40, in no member's
 * space), 2026-11-20T00:00Z to 2026-11-23T00:00Z:
 *
 *   192.0.2.10, .11     springfield-k12's permitted Exchange edge servers:
 *                       steady deliveries all day, more in school hours,
 *                       STARTTLS where offered, a stable EHLO name
 *   2001:db8:100::25    the permitted IPv6 edge server, a few deliveries
 *   192.0.2.12          mail3.springfield.example: a real Postfix server no
 *                       one registered -- steady deliveries, inbound mail with
 *                       its own banner, greylisting (451) answered by a retry
 *                       five minutes later, a dead destination retried on
 *                       Postfix's backoff (5, 10, 20, 40, 66 minutes ...)
 *   2001:db8:100::12    the same server over IPv6 (same EHLO name)
 *   10.20.33.7          a bot in a school building (VLAN 120): two bursts,
 *                       330 and 120 addresses within minutes, resets, no
 *                       answers, 5xx refusals, "HELO 10.20.33.7"
 *   10.20.5.5           a staff laptop sending through a smarthost on 587
 *                       (STARTTLS) and 465 (TLS) only
 *   10.20.8.44          a desktop mail client misconfigured to port 25: two
 *                       connections, too little to judge
 *   198.51.100.25       shelby-county's permitted Postfix relay
 *   203.0.113.20        state-university's research list server (mode both;
 *                       its add-permit request is not applied yet): receives
 *                       posts and sends them out to the subscribers' MXs
 *   203.0.113.140       valley-libraries' library notices (enrollment pending,
 *                       so not blocked today), three runs a day
 *
 * plus DNS and web traffic of the same and other hosts, VLAN tags on the
 * school (120) and campus (300) links, and a few packets cut short by the
 * capture's snap length (some still carry the headers, two do not).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic randomness ---- */

static uint64_t rng_state = 0x5eed2026112000ULL;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t between(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

static int chance(unsigned percent)
{
	return rnd() % 100 < percent;
}

/* ---- packets, kept in memory and written in time order ---- */

struct pkt {
	uint64_t t;   /* microseconds since the epoch */
	uint64_t seq; /* order of creation, to keep the sort stable */
	uint32_t caplen, len;
	uint8_t *data;
};

static struct pkt *pkts;
static size_t npkts, cappkts;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void store(uint64_t t, const uint8_t *f, uint32_t len, uint32_t snap)
{
	uint32_t cap = snap && len > snap ? snap : len;

	if (npkts == cappkts) {
		cappkts = cappkts ? cappkts * 2 : 65536;
		pkts = realloc(pkts, cappkts * sizeof *pkts);
		if (!pkts)
			die("realloc");
	}
	pkts[npkts].t = t;
	pkts[npkts].seq = npkts;
	pkts[npkts].caplen = cap;
	pkts[npkts].len = len;
	pkts[npkts].data = malloc(cap);
	if (!pkts[npkts].data)
		die("malloc");
	memcpy(pkts[npkts].data, f, cap);
	npkts++;
}

static int by_time(const void *a, const void *b)
{
	const struct pkt *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void wr32(FILE *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	fwrite(b, 1, 4, f);
}

static void write_pcap(FILE *f)
{
	qsort(pkts, npkts, sizeof *pkts, by_time);
	wr32(f, 0xa1b2c3d4);
	wr32(f, 2 | 4u << 16);
	wr32(f, 0);
	wr32(f, 0);
	wr32(f, 1600); /* snap length */
	wr32(f, 1);    /* Ethernet */
	for (size_t i = 0; i < npkts; i++) {
		wr32(f, (uint32_t)(pkts[i].t / 1000000));
		wr32(f, (uint32_t)(pkts[i].t % 1000000));
		wr32(f, pkts[i].caplen);
		wr32(f, pkts[i].len);
		fwrite(pkts[i].data, 1, pkts[i].caplen, f);
		free(pkts[i].data);
	}
	free(pkts);
}

/* ---- addresses and frames ---- */

struct ep {
	int v6;
	uint8_t a[16]; /* IPv4 in the first four bytes */
	uint16_t vlan; /* tag of the link the internal end sits on */
	uint8_t mac[6];
};

static const uint8_t router_mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x19};

static struct ep v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	struct ep e = {0};

	e.a[0] = (uint8_t)a, e.a[1] = (uint8_t)b, e.a[2] = (uint8_t)c, e.a[3] = (uint8_t)d;
	if (a == 10 && b == 20)
		e.vlan = 120; /* the school buildings' trunk */
	else if (a == 203 && b == 0 && c == 113 && d < 128)
		e.vlan = 300; /* the campus link */
	memcpy(e.mac, router_mac, 6);
	if (e.vlan || (a == 192 && b == 0 && c == 2) || (a == 198 && b == 51) || a == 203) {
		e.mac[0] = 0x02, e.mac[1] = 0x25;
		memcpy(e.mac + 2, e.a, 4);
	}
	return e;
}

/* 2001:db8:<g2>:<g3>::<last> */
static struct ep v6(unsigned g2, unsigned g3, unsigned last)
{
	struct ep e = {.v6 = 1, .a = {0x20, 0x01, 0x0d, 0xb8}};

	e.a[4] = (uint8_t)(g2 >> 8), e.a[5] = (uint8_t)g2;
	e.a[6] = (uint8_t)(g3 >> 8), e.a[7] = (uint8_t)g3;
	e.a[14] = (uint8_t)(last >> 8), e.a[15] = (uint8_t)last;
	memcpy(e.mac, router_mac, 6);
	if (g2 < 0xf00) {
		e.mac[0] = 0x02, e.mac[1] = 0x26;
		memcpy(e.mac + 2, e.a + 12, 4);
	}
	return e;
}

static void be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, v >> 16);
	be16(p + 2, v & 0xffff);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/*
 * One IP packet from a to b carrying l4 (a TCP or UDP header and payload,
 * checksum field at csum_off), cut to snap bytes when snap is not 0.
 */
static void frame(uint64_t t, const struct ep *a, const struct ep *b, uint8_t proto, uint8_t *l4,
		  size_t l4len, size_t csum_off, uint32_t snap)
{
	static uint8_t f[2048];
	size_t o = 12;
	uint16_t vlan = a->vlan ? a->vlan : b->vlan;
	uint32_t s;

	memcpy(f, b->mac, 6);
	memcpy(f + 6, a->mac, 6);
	if (vlan) {
		be16(f + o, 0x8100);
		be16(f + o + 2, vlan);
		o += 4;
	}
	be16(f + o, a->v6 ? 0x86dd : 0x0800);
	o += 2;
	/* The pseudo-header sum for the transport checksum. */
	l4[csum_off] = l4[csum_off + 1] = 0;
	if (a->v6) {
		memset(f + o, 0, 40);
		f[o] = 0x60;
		be16(f + o + 4, (uint32_t)l4len);
		f[o + 6] = proto;
		f[o + 7] = 64;
		memcpy(f + o + 8, a->a, 16);
		memcpy(f + o + 24, b->a, 16);
		s = sum16(f + o + 8, 32, 0);
		o += 40;
	} else {
		memset(f + o, 0, 20);
		f[o] = 0x45;
		be16(f + o + 2, (uint32_t)(20 + l4len));
		be16(f + o + 6, 0x4000); /* don't fragment, identification 0 as Linux sends it */
		f[o + 8] = 64;
		f[o + 9] = proto;
		memcpy(f + o + 12, a->a, 4);
		memcpy(f + o + 16, b->a, 4);
		be16(f + o + 10, fold(sum16(f + o, 20, 0)));
		s = sum16(f + o + 12, 8, 0);
		o += 20;
	}
	s += proto + (uint32_t)l4len;
	be16(l4 + csum_off, fold(sum16(l4, l4len, s)));
	memcpy(f + o, l4, l4len);
	o += l4len;
	store(t, f, (uint32_t)o, snap);
}

enum { FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16 };

static void tcp(uint64_t t, const struct ep *a, const struct ep *b, uint16_t sport, uint16_t dport,
		uint8_t flags, uint32_t seq, uint32_t ack, const void *data, size_t n, uint32_t snap)
{
	static uint8_t l4[1600];

	memset(l4, 0, 20);
	be16(l4, sport);
	be16(l4 + 2, dport);
	be32(l4 + 4, seq);
	be32(l4 + 8, ack);
	l4[12] = 5 << 4;
	l4[13] = flags;
	be16(l4 + 14, 64240);
	if (n)
		memcpy(l4 + 20, data, n);
	frame(t, a, b, 6, l4, 20 + n, 16, snap);
}

static void udp(uint64_t t, const struct ep *a, const struct ep *b, uint16_t sport, uint16_t dport,
		const void *data, size_t n)
{
	static uint8_t l4[1600];

	be16(l4, sport);
	be16(l4 + 2, dport);
	be16(l4 + 4, (uint32_t)(8 + n));
	memcpy(l4 + 8, data, n);
	frame(t, a, b, 17, l4, 8 + n, 6, 0);
}

/* ---- TCP sessions ---- */

#define MS 1000ULL
#define SEC 1000000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 (1795132800ULL * SEC) /* 2026-11-20T00:00:00Z */

enum outcome { OK, NOANSWER, RESET };

struct sess {
	struct ep c, s;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	uint64_t t, rtt;
	uint32_t snap; /* snap length for data segments, 0: whole */
};

static uint16_t next_port(void)
{
	static uint32_t p = 33000;

	p += (uint32_t)between(1, 40);
	if (p > 60999)
		p = 33000 + (uint32_t)between(0, 500);
	return (uint16_t)p;
}

/* Open a connection at t; returns 0 when it did not get established. */
static int sess_open(struct sess *x, uint64_t t, const struct ep *c, const struct ep *s,
		     uint16_t sport, enum outcome oc)
{
	memset(x, 0, sizeof *x);
	x->c = *c, x->s = *s;
	x->cport = next_port();
	x->sport = sport;
	x->cseq = (uint32_t)rnd();
	x->sseq = (uint32_t)rnd();
	x->rtt = between(8, 140) * MS;
	x->t = t;
	tcp(t, c, s, x->cport, sport, SYN, x->cseq, 0, NULL, 0, 0);
	if (oc == NOANSWER) {
		/* Linux retransmits the SYN after 1, 3, 7 and 15 s, then gives up. */
		for (uint64_t back = 1; back <= 15; back = back * 2 + 1)
			tcp(t + back * SEC, c, s, x->cport, sport, SYN, x->cseq, 0, NULL, 0, 0);
		return 0;
	}
	if (oc == RESET) {
		tcp(t + x->rtt, s, c, sport, x->cport, RST | ACK, 0, x->cseq + 1, NULL, 0, 0);
		return 0;
	}
	tcp(t + x->rtt, s, c, sport, x->cport, SYN | ACK, x->sseq, x->cseq + 1, NULL, 0, 0);
	x->cseq++, x->sseq++;
	x->t = t + x->rtt + 150;
	tcp(x->t, c, s, x->cport, sport, ACK, x->cseq, x->sseq, NULL, 0, 0);
	return 1;
}

static void sess_send(struct sess *x, int from_client, const void *data, size_t n)
{
	const uint8_t *p = data;

	/* The other side's think time: servers take a little longer. */
	x->t += from_client ? between(1, 30) * MS / 10 : x->rtt / 2 + between(1, 40) * MS;
	for (size_t off = 0; off < n; off += 1400) {
		size_t k = n - off < 1400 ? n - off : 1400;
		uint8_t fl = PSH | ACK;
		if (from_client) {
			tcp(x->t, &x->c, &x->s, x->cport, x->sport, fl, x->cseq, x->sseq, p + off, k,
			    x->snap);
			x->cseq += (uint32_t)k;
		} else {
			tcp(x->t, &x->s, &x->c, x->sport, x->cport, fl, x->sseq, x->cseq, p + off, k,
			    x->snap);
			x->sseq += (uint32_t)k;
		}
		x->t += 200;
	}
}

static void srv(struct sess *x, const char *line)
{
	sess_send(x, 0, line, strlen(line));
}

static void cli(struct sess *x, const char *line)
{
	sess_send(x, 1, line, strlen(line));
}

static void sess_close(struct sess *x)
{
	x->t += 300;
	tcp(x->t, &x->c, &x->s, x->cport, x->sport, FIN | ACK, x->cseq, x->sseq, NULL, 0, 0);
	tcp(x->t + x->rtt, &x->s, &x->c, x->sport, x->cport, FIN | ACK, x->sseq, x->cseq + 1, NULL, 0,
	    0);
	tcp(x->t + x->rtt + 100, &x->c, &x->s, x->cport, x->sport, ACK, x->cseq + 1, x->sseq + 1, NULL,
	    0, 0);
}

/* TLS records: what a capture shows of them is their size, not their content. */
static void tls_record(struct sess *x, int from_client, uint8_t type, size_t n)
{
	static uint8_t r[4096];
	static uint8_t noise[512];
	static int have_noise;

	if (!have_noise) {
		for (size_t i = 0; i < sizeof noise; i++)
			noise[i] = (uint8_t)rnd();
		have_noise = 1;
	}
	if (n > sizeof r - 5)
		n = sizeof r - 5;
	r[0] = type;
	r[1] = 3, r[2] = 3;
	be16(r + 3, (uint32_t)n);
	size_t off = between(0, sizeof noise - 1);
	for (size_t i = 0; i < n; i++)
		r[5 + i] = noise[(off + i * 7) % sizeof noise];
	/* A little real randomness per record (the hello's random). */
	for (size_t i = 0; i < 8 && i < n; i++)
		r[5 + i] = (uint8_t)rnd();
	sess_send(x, from_client, r, n + 5);
}

/* A TLS session after STARTTLS or on 465: hello, keys, then data of about msg bytes. */
static void tls_session(struct sess *x, size_t msg)
{
	tls_record(x, 1, 0x16, between(240, 320));
	tls_record(x, 0, 0x16, between(500, 900)); /* (certificates shortened) */
	tls_record(x, 1, 0x16, between(80, 120));
	while (msg > 0) {
		size_t k = msg > 1400 ? 1400 : msg;
		tls_record(x, 1, 0x17, k + 22);
		msg -= k;
	}
	tls_record(x, 0, 0x17, between(60, 140));
}

/* A message body of about n bytes, with the end-of-data line. */
static void body(struct sess *x, const char *from, const char *to, const char *subject, size_t n)
{
	static char b[16384];
	static const char *const words[] = {
		"the",	   "schedule", "for",	 "next",    "week",   "attached", "please", "review",
		"meeting", "report",   "budget", "student", "notice", "library",  "due",    "item",
		"renewal", "account",  "thank",	 "you",	    "board",  "minutes",  "agenda", "update",
	};
	size_t len, line = 0;

	if (n > sizeof b - 512)
		n = sizeof b - 512;
	len = (size_t)snprintf(b, sizeof b,
			       "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: <%016llx@%s>\r\n"
			       "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
			       from, to, subject, (unsigned long long)rnd(), strchr(from, '@') + 1);
	while (len < n) {
		const char *w = words[rnd() % (sizeof words / sizeof *words)];
		size_t k = strlen(w);
		memcpy(b + len, w, k);
		len += k;
		line += k + 1;
		if (line > 66) {
			memcpy(b + len, "\r\n", 2);
			len += 2;
			line = 0;
		} else {
			b[len++] = ' ';
		}
	}
	memcpy(b + len, "\r\n.\r\n", 6);
	len += 5;
	sess_send(x, 1, b, len);
}

/* ---- SMTP conversations ---- */

struct mx {
	struct ep ep;
	char name[64];
	int tls;      /* offers STARTTLS */
	int greylist; /* answers a sender's first try with 451 */
	uint8_t seen[8][16]; /* senders past the greylist */
	unsigned nseen;
};

/* Greylisting: a sender's first try is refused for now, later ones pass. */
static int greylisted(struct mx *mx, const struct ep *sender)
{
	if (!mx->greylist)
		return 0;
	for (unsigned i = 0; i < mx->nseen; i++)
		if (!memcmp(mx->seen[i], sender->a, 16))
			return 0;
	if (mx->nseen < 8)
		memcpy(mx->seen[mx->nseen++], sender->a, 16);
	return 1;
}

enum result { DELIVERED, TEMPFAIL, REFUSED, DOWN };

/*
 * One delivery attempt from host (EHLO ehlo) to mx at t: STARTTLS where
 * offered and use_tls, else the message in the clear.  Returns the result.
 */
static enum result deliver(uint64_t t, const struct ep *host, struct mx *mx, const char *ehlo,
			   const char *from, const char *to, size_t size, int use_tls,
			   uint32_t snap)
{
	struct sess x;
	char line[256];

	if (!sess_open(&x, t, host, &mx->ep, 25, OK))
		return DOWN;
	x.snap = snap;
	snprintf(line, sizeof line, "220 %s ESMTP ready\r\n", mx->name);
	srv(&x, line);
	snprintf(line, sizeof line, "EHLO %s\r\n", ehlo);
	cli(&x, line);
	snprintf(line, sizeof line, "250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n%s250 8BITMIME\r\n",
		 mx->name, mx->tls ? "250-STARTTLS\r\n" : "");
	srv(&x, line);
	if (mx->tls && use_tls) {
		cli(&x, "STARTTLS\r\n");
		srv(&x, "220 2.0.0 Ready to start TLS\r\n");
		tls_session(&x, size);
		sess_close(&x);
		return DELIVERED;
	}
	snprintf(line, sizeof line, "MAIL FROM:<%s> SIZE=%zu\r\n", from, size);
	cli(&x, line);
	srv(&x, "250 2.1.0 Ok\r\n");
	snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", to);
	cli(&x, line);
	if (greylisted(mx, host)) {
		srv(&x, "451 4.7.1 Greylisted, please try again in 300 seconds\r\n");
		cli(&x, "QUIT\r\n");
		srv(&x, "221 2.0.0 Bye\r\n");
		sess_close(&x);
		return TEMPFAIL;
	}
	srv(&x, "250 2.1.5 Ok\r\n");
	cli(&x, "DATA\r\n");
	srv(&x, "354 End data with <CR><LF>.<CR><LF>\r\n");
	body(&x, from, to, "Re: schedule", size);
	snprintf(line, sizeof line, "250 2.0.0 Ok: queued as %010llX\r\n",
		 (unsigned long long)(rnd() & 0xffffffffffULL));
	srv(&x, line);
	cli(&x, "QUIT\r\n");
	srv(&x, "221 2.0.0 Bye\r\n");
	sess_close(&x);
	return DELIVERED;
}

/* Inbound mail: an outside sender delivers to an internal server with its own banner. */
static void receive(uint64_t t, const struct ep *sender, const char *sender_name, const struct ep *host,
		    const char *banner, const char *host_name, const char *from, const char *to,
		    size_t size)
{
	struct sess x;
	char line[256];

	if (!sess_open(&x, t, sender, host, 25, OK))
		return;
	snprintf(line, sizeof line, "220 %s\r\n", banner);
	srv(&x, line);
	snprintf(line, sizeof line, "EHLO %s\r\n", sender_name);
	cli(&x, line);
	snprintf(line, sizeof line, "250-%s\r\n250-PIPELINING\r\n250-SIZE 20480000\r\n250 8BITMIME\r\n",
		 host_name);
	srv(&x, line);
	snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", from);
	cli(&x, line);
	srv(&x, "250 2.1.0 Ok\r\n");
	snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", to);
	cli(&x, line);
	srv(&x, "250 2.1.5 Ok\r\n");
	cli(&x, "DATA\r\n");
	srv(&x, "354 End data with <CR><LF>.<CR><LF>\r\n");
	body(&x, from, to, "Posting", size);
	srv(&x, "250 2.0.0 Ok: queued\r\n");
	cli(&x, "QUIT\r\n");
	srv(&x, "221 2.0.0 Bye\r\n");
	sess_close(&x);
}

enum { DNS_A = 1, DNS_MX = 15, DNS_AAAA = 28 };

/* A DNS lookup and its answer: MX before a delivery, A or AAAA before a web visit. */
static void dns(uint64_t t, const struct ep *host, const struct ep *resolver, const char *name,
		uint16_t type)
{
	uint8_t q[300], *p = q;
	uint16_t id = (uint16_t)rnd(), sport = (uint16_t)between(20000, 60000);
	size_t qlen;

	memset(q, 0, 12);
	be16(q, id);
	q[2] = 0x01; /* recursion desired */
	q[5] = 1;    /* one question */
	p = q + 12;
	for (const char *s = name; *s;) {
		size_t k = strcspn(s, ".");
		*p++ = (uint8_t)k;
		memcpy(p, s, k);
		p += k;
		s += k;
		if (*s == '.')
			s++;
	}
	*p++ = 0;
	be16(p, type);
	be16(p + 2, 1);
	p += 4;
	qlen = (size_t)(p - q);
	udp(t, host, resolver, sport, 53, q, qlen);
	/* The answer: the question again with the response bits and one record. */
	q[2] = 0x81, q[3] = 0x80, q[7] = 1;
	memcpy(p, "\xc0\x0c\x00\x00\x00\x01\x00\x00\x0e\x10", 10);
	be16(p + 2, type);
	if (type == DNS_MX) {
		memcpy(p + 10, "\x00\x09\x00\x0a\x03mx1\xc0\x0c", 11);
		qlen += 21;
	} else if (type == DNS_A) {
		memcpy(p + 10, "\x00\x04\xc6\x12\x50", 5);
		p[15] = (uint8_t)between(1, 60); /* 198.18.80.x */
		qlen += 16;
	} else {
		memcpy(p + 10, "\x00\x10\x20\x01\x0d\xb8\x0f\x80\0\0\0\0\0\0\0\0\0\x80", 18);
		qlen += 28;
	}
	udp(t + between(1, 30) * MS, resolver, host, 53, sport, q, qlen);
}

/* A short web visit: HTTPS most of the time, plain HTTP now and then. */
static void web(uint64_t t, const struct ep *host, const struct ep *site, uint32_t snap)
{
	struct sess x;

	if (chance(20)) {
		if (!sess_open(&x, t, host, site, 80, OK))
			return;
		x.snap = snap;
		cli(&x, "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: demo\r\n\r\n");
		srv(&x, "HTTP/1.1 301 Moved Permanently\r\nLocation: https://www.example.com/\r\n"
			"Content-Length: 0\r\n\r\n");
		sess_close(&x);
		return;
	}
	if (!sess_open(&x, t, host, site, 443, OK))
		return;
	x.snap = snap;
	tls_session(&x, between(100, 400));
	tls_record(&x, 0, 0x17, between(300, 900));
	sess_close(&x);
}

/* ---- the scenario ---- */

#define NMX 40
static struct mx world[NMX];	  /* outside MXs, IPv4 */
static struct mx world6[10];	  /* outside MXs, IPv6 */
static const char *const domains[] = {
	"gmail.example",      "outlook.example",    "yahoo.example",     "district9.example",
	"county-gov.example", "state-ed.example",   "textbooks.example", "parents-mail.example",
	"bigisp.example",     "fastmail.example",   "proton.example",	 "icloud.example",
	"vendor-a.example",   "vendor-b.example",   "athletics.example", "scholastic.example",
	"insurer.example",    "bank.example",	    "payroll.example",	 "cityhall.example",
};
#define NDOMAINS ((unsigned)(sizeof domains / sizeof *domains))

static void setup_world(void)
{
	for (unsigned i = 0; i < NMX; i++) {
		world[i].ep = v4(198, 18, 10 + i / 20, 1 + i % 20 * 3);
		snprintf(world[i].name, sizeof world[i].name, "mx%u.%s", 1 + i / NDOMAINS,
			 domains[i % NDOMAINS]);
		/* Three small sites greylist (and, old setups, offer no STARTTLS). */
		world[i].greylist = i == 5 || i == 17 || i == 29;
		world[i].tls = !chance(25) && !world[i].greylist;
	}
	for (unsigned i = 0; i < 10; i++) {
		world6[i].ep = v6(0xf00, i, 0x25);
		snprintf(world6[i].name, sizeof world6[i].name, "mx6.%s", domains[i]);
		world6[i].tls = 1;
	}
}

/*
 * Deliveries in one hour, busy or quiet in tenths per hour: busy in the
 * school day (13:00-22:00 UTC).
 */
static unsigned deliveries(unsigned hour, unsigned busy, unsigned quiet)
{
	unsigned r = hour >= 13 && hour < 22 ? busy : quiet;

	return r / 10 + (unsigned)chance(r % 10 * 10);
}

static struct ep resolver_v4(void)
{
	return v4(198, 18, 53, 53);
}

/* An MTA's steady outbound mail over three days (rates in tenths per hour). */
static void mta_days(const struct ep *host, const char *ehlo, const char *sender_domain,
		     unsigned first_mx, unsigned nmx, unsigned busy, unsigned quiet, int v6only,
		     unsigned truncate_day)
{
	struct ep res = resolver_v4();

	for (unsigned hr = 0; hr < 72; hr++) {
		unsigned n = deliveries(hr % 24, busy, quiet);
		for (unsigned k = 0; k < n; k++) {
			uint64_t t = T0 + hr * HOUR + between(0, 3599) * SEC + between(0, 999) * MS;
			struct mx *mx = v6only ? &world6[between(0, 9)]
					       : &world[first_mx + between(0, nmx - 1)];
			char from[80], to[80];
			uint32_t snap = 0;
			snprintf(from, sizeof from, "%s%u@%s", chance(50) ? "office" : "staff",
				 (unsigned)between(1, 40), sender_domain);
			snprintf(to, sizeof to, "user%u@%s", (unsigned)between(1, 999),
				 strchr(mx->name, '.') + 1);
			if (!host->v6 && chance(30)) /* the resolver caches the rest */
				dns(t - 40 * MS, host, &res, mx->name + 4, DNS_MX);
			/* Day two of the chosen host: a few packets cut by the snap length. */
			if (truncate_day && hr / 24 == truncate_day && k == 0 && hr % 8 == 0)
				snap = 66;
			enum result r = deliver(t, host, mx, ehlo, from, to, between(300, 1800),
						chance(90), snap);
			if (r == TEMPFAIL) /* greylisted: the queue comes back in five minutes */
				deliver(t + 300 * SEC + between(0, 40) * SEC, host, mx, ehlo, from, to,
					between(300, 1800), 1, 0);
		}
	}
}

/* Postfix keeps retrying a message for a dead destination: 5, 10, 20, 40 min, then 4000 s. */
static void dead_destination(const struct ep *host, uint64_t t, uint64_t until)
{
	struct sess x;
	struct ep dead = v4(198, 18, 66, 66);
	uint64_t backoff = 300;

	while (t < until) {
		sess_open(&x, t, host, &dead, 25, NOANSWER);
		t += backoff * SEC + between(0, 30) * SEC;
		backoff = backoff * 2 > 4000 ? 4000 : backoff * 2;
	}
}

static void bot_burst(const struct ep *bot, uint64_t t, unsigned n, unsigned base)
{
	static const char *const refusals[] = {
		"550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.example\r\n",
		"554 5.7.1 Rejected: dynamic address space\r\n",
		"550 5.1.1 User unknown\r\n",
	};
	for (unsigned i = 0; i < n; i++) {
		unsigned v = base + i;
		/* Scattered victims across 198.19.0.0/16, each a different address. */
		unsigned a = v * 7919 % 62500;
		struct ep victim = v4(198, 19, a / 250 + 1, a % 250 + 2);
		unsigned r = (unsigned)between(0, 99);
		enum outcome oc = r < 40 ? OK : r < 70 ? RESET : NOANSWER;
		struct sess x;
		char line[160];

		t += between(800, 2400) * MS;
		if (oc == NOANSWER) {
			/* The spam engine tries a SYN twice, then moves on. */
			uint16_t port = next_port();
			uint32_t isn = (uint32_t)rnd();
			tcp(t, bot, &victim, port, 25, SYN, isn, 0, NULL, 0, 0);
			tcp(t + SEC, bot, &victim, port, 25, SYN, isn, 0, NULL, 0, 0);
			continue;
		}
		if (!sess_open(&x, t, bot, &victim, 25, oc))
			continue;
		srv(&x, "220 mx ESMTP\r\n");
		cli(&x, "HELO 10.20.33.7\r\n");
		srv(&x, "250 mx Hello\r\n");
		snprintf(line, sizeof line, "MAIL FROM:<%c%c%c%u@%s>\r\n", 'a' + (int)(rnd() % 26),
			 'a' + (int)(rnd() % 26), 'a' + (int)(rnd() % 26), (unsigned)between(1, 9999),
			 domains[rnd() % NDOMAINS]);
		cli(&x, line);
		srv(&x, "250 OK\r\n");
		snprintf(line, sizeof line, "RCPT TO:<info@victim%u.example>\r\n", v);
		cli(&x, line);
		if (chance(85)) {
			/* Refused: the engine drops the connection without a goodbye. */
			srv(&x, refusals[rnd() % 3]);
			tcp(x.t + 200, &x.c, &x.s, x.cport, x.sport, RST | ACK, x.cseq, x.sseq, NULL, 0, 0);
			continue;
		} else {
			/* Now and then one gets through: always the same pharmacy message. */
			srv(&x, "250 OK\r\n");
			cli(&x, "DATA\r\n");
			srv(&x, "354 go ahead\r\n");
			cli(&x, "Subject: Cheap meds\r\n\r\nBest prices online, no prescription.\r\n"
				"http://pharm.invalid/\r\n.\r\n");
			srv(&x, "250 OK queued\r\n");
			cli(&x, "QUIT\r\n");
		}
		sess_close(&x);
	}
}

static void submission(const struct ep *laptop, uint64_t t, int implicit)
{
	struct ep smarthost = v4(198, 18, 200, 25);
	struct sess x;

	if (!sess_open(&x, t, laptop, &smarthost, implicit ? 465 : 587, OK))
		return;
	if (!implicit) {
		srv(&x, "220 smtp.office365.example Microsoft ESMTP MAIL Service ready\r\n");
		cli(&x, "EHLO [10.20.5.5]\r\n");
		srv(&x, "250-smtp.office365.example\r\n250-SIZE 157286400\r\n250-STARTTLS\r\n"
			"250 8BITMIME\r\n");
		cli(&x, "STARTTLS\r\n");
		srv(&x, "220 2.0.0 SMTP server ready\r\n");
	}
	tls_session(&x, between(800, 4000));
	sess_close(&x);
}

/* The misconfigured client: port 25 to the smarthost, which wants authentication. */
static void misconfigured(const struct ep *pc, uint64_t t)
{
	struct ep smarthost = v4(198, 18, 200, 25);
	struct sess x;

	if (!sess_open(&x, t, pc, &smarthost, 25, OK))
		return;
	srv(&x, "220 smtp.office365.example Microsoft ESMTP MAIL Service ready\r\n");
	cli(&x, "EHLO DESKTOP-7QK2M\r\n");
	srv(&x, "250-smtp.office365.example\r\n250 8BITMIME\r\n");
	cli(&x, "MAIL FROM:<coach.b@springfield-k12.example>\r\n");
	srv(&x, "530 5.7.57 Client not authenticated to send mail\r\n");
	cli(&x, "QUIT\r\n");
	srv(&x, "221 2.0.0 Bye\r\n");
	sess_close(&x);
}

/* The list server: posts come in, each goes out to the subscribers' MXs. */
static void list_server(void)
{
	struct ep lists = v4(203, 0, 113, 20), res = v4(203, 0, 113, 2);
	const char *banner = "lists.research.state-university.example ESMTP Postfix (Sympa)";
	const char *name = "lists.research.state-university.example";

	for (unsigned day = 0; day < 3; day++) {
		unsigned posts = (unsigned)between(2, 3);
		for (unsigned p = 0; p < posts; p++) {
			uint64_t t = T0 + day * DAY + 13 * HOUR + between(0, 9 * 3600) * SEC;
			struct mx *in = &world[between(0, NMX - 1)];
			char from[80], to[80];
			snprintf(from, sizeof from, "researcher%u@%s", (unsigned)between(1, 30),
				 strchr(in->name, '.') + 1);
			receive(t, &in->ep, in->name, &lists, banner, name, from,
				"genomics-l@lists.research.state-university.example",
				between(600, 2000));
			/* Distribution: one connection per subscriber domain, a minute or two later. */
			unsigned first = (unsigned)between(0, NMX - 1), n = (unsigned)between(4, 5);
			for (unsigned k = 0; k < n; k++) {
				struct mx *mx = &world[(first + k * 3) % NMX];
				uint64_t tk = t + 60 * SEC + k * between(2, 8) * SEC;
				snprintf(to, sizeof to, "member%u@%s", (unsigned)between(1, 500),
					 strchr(mx->name, '.') + 1);
				if (chance(30))
					dns(tk - 30 * MS, &lists, &res, mx->name + 4, DNS_MX);
				enum result r = deliver(tk, &lists, mx, name,
							"genomics-l-owner@lists.research.state-university.example",
							to, between(600, 2000), 1, 0);
				if (r == TEMPFAIL)
					deliver(tk + 360 * SEC, &lists, mx, name,
						"genomics-l-owner@lists.research.state-university.example",
						to, between(600, 2000), 1, 0);
			}
		}
	}
}

/* Valley libraries' ILS sends notices at 08:00, 12:00 and 16:00 local (14, 18, 22 UTC). */
static void overdue_notices(void)
{
	struct ep ils = v4(203, 0, 113, 140), res = v4(198, 18, 53, 53);

	for (unsigned day = 0; day < 3; day++)
		for (unsigned run = 0; run < 3; run++) {
			uint64_t t = T0 + day * DAY + (14 + run * 4) * HOUR + between(0, 120) * SEC;
			unsigned n = (unsigned)between(3, 5);
			for (unsigned k = 0; k < n; k++) {
				struct mx *mx = &world[between(0, NMX - 1)];
				char to[80];
				snprintf(to, sizeof to, "patron%u@%s", (unsigned)between(100, 9999),
					 strchr(mx->name, '.') + 1);
				t += between(3, 20) * SEC;
				if (chance(30))
					dns(t - 30 * MS, &ils, &res, mx->name + 4, DNS_MX);
				enum result r = deliver(t, &ils, mx, "ils-notices.valley-libraries.example",
							"notices@valley-libraries.example", to,
							between(500, 1200), 0, 0);
				if (r == TEMPFAIL)
					deliver(t + 330 * SEC, &ils, mx,
						"ils-notices.valley-libraries.example",
						"notices@valley-libraries.example", to,
						between(500, 1200), 0, 0);
			}
		}
}

static void background(void)
{
	struct ep res = resolver_v4();
	static const unsigned desks[][4] = {
		{10, 20, 5, 5},	   {10, 20, 8, 44},  {10, 20, 33, 7},  {10, 20, 12, 101},
		{10, 20, 12, 102}, {10, 20, 40, 17}, {192, 0, 2, 30},  {198, 51, 100, 44},
		{203, 0, 113, 77}, {10, 64, 3, 9},   {203, 0, 113, 150},
	};
	const unsigned ndesks = sizeof desks / sizeof *desks;
	static const char *const sites[] = {"www.example.com", "cdn.example.net",
					    "classroom.example.org", "news.example"};

	for (unsigned i = 0; i < 40; i++) {
		const unsigned *d = desks[rnd() % ndesks];
		struct ep desk = v4(d[0], d[1], d[2], d[3]);
		struct ep site = v4(198, 18, 80, (unsigned)between(1, 60));
		uint64_t t = T0 + between(0, 3 * 86400 - 1) * SEC + between(0, 999) * MS;
		dns(t, &desk, &res, sites[rnd() % 4], chance(30) ? DNS_AAAA : DNS_A);
		/* Two web packets cut to 40 bytes: shorter than their own headers. */
		web(t + 60 * MS, &desk, &site, i == 12 || i == 31 ? 40 : 0);
	}
}

int main(void)
{
	struct ep edge1 = v4(192, 0, 2, 10), edge2 = v4(192, 0, 2, 11), mail3 = v4(192, 0, 2, 12);
	struct ep edge6 = v6(0x100, 0, 0x25), mail3_6 = v6(0x100, 0, 0x12);
	struct ep bot = v4(10, 20, 33, 7), laptop = v4(10, 20, 5, 5), pc = v4(10, 20, 8, 44);
	struct ep relay = v4(198, 51, 100, 25);

	setup_world();
	/* springfield-k12's registered edge servers, and edge2 with a few cut packets on day 2. */
	mta_days(&edge1, "edge1.springfield-k12.example", "springfield-k12.example", 0, 40, 14, 2, 0,
		 0);
	mta_days(&edge2, "edge2.springfield-k12.example", "springfield-k12.example", 0, 40, 14, 2, 0,
		 1);
	mta_days(&edge6, "edge1.springfield-k12.example", "springfield-k12.example", 0, 0, 3, 0, 1,
		 0);
	/* mail3: the district office's own Postfix (the athletics and PTA lists). */
	mta_days(&mail3, "mail3.springfield.example", "springfield.example", 20, 20, 12, 3, 0, 0);
	mta_days(&mail3_6, "mail3.springfield.example", "springfield.example", 0, 0, 3, 1, 1, 0);
	dead_destination(&mail3, T0 + 10 * HOUR + 12 * MIN, T0 + 34 * HOUR);
	for (unsigned i = 0; i < 10; i++) {
		struct mx *in = &world[between(0, NMX - 1)];
		receive(T0 + i * 7 * HOUR + between(0, 3 * 3600) * SEC, &in->ep, in->name, &mail3,
			"mail3.springfield.example ESMTP Postfix (Debian/GNU)",
			"mail3.springfield.example", "coach@athletics.example",
			"boosters@springfield.example", between(500, 2000));
	}
	/* shelby-county's permitted relay. */
	mta_days(&relay, "relay1.shelby-county.example", "shelby-county.example", 10, 30, 5, 1, 0, 0);
	/* The bot: two bursts. */
	bot_burst(&bot, T0 + 26 * HOUR + 14 * MIN, 330, 0);
	bot_burst(&bot, T0 + 67 * HOUR + 40 * MIN, 90, 330);
	/* The staff laptop on the submission ports only. */
	for (unsigned day = 0; day < 3; day++)
		for (unsigned k = 0; k < 7; k++)
			submission(&laptop, T0 + day * DAY + 14 * HOUR + k * 70 * MIN +
						    between(0, 1800) * SEC,
				   k % 3 == 2);
	misconfigured(&pc, T0 + 2 * DAY + 15 * HOUR + 3 * MIN);
	misconfigured(&pc, T0 + 2 * DAY + 15 * HOUR + 4 * MIN + 20 * SEC);
	list_server();
	overdue_notices();
	background();
	write_pcap(stdout);
	return fflush(stdout) != 0;
}
