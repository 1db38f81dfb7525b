/*
 * Capture reading and packet decoding.
 *
 * Fixtures are written by this test into a temporary directory (set
 * P25_KEEP_FIXTURES=1 to keep it).  The real captures come from Chris
 * Sanders' public repository chrissanders/packets ("free to use, should
 * cite that they came from me"); they live outside the repository, in
 * $P25_CAPTURES or tests/data/real in the repository.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "capture/capture.h"
#include "capture/decode.h"

/* ---- a tiny byte writer ---- */

struct wb {
	uint8_t *p;
	size_t len, cap;
	int be; /* file byte order for the put16/32/64 helpers */
};

static void put(struct wb *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->p = realloc(w->p, w->cap);
		assert_non_null(w->p);
	}
	if (d)
		memcpy(w->p + w->len, d, n);
	else
		memset(w->p + w->len, 0, n);
	w->len += n;
}

static void put8(struct wb *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put16(struct wb *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	if (w->be)
		b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v;
	put(w, b, 2);
}

static void put32(struct wb *w, uint32_t v)
{
	if (w->be) {
		put16(w, (uint16_t)(v >> 16));
		put16(w, (uint16_t)v);
	} else {
		put16(w, (uint16_t)v);
		put16(w, (uint16_t)(v >> 16));
	}
}

static void putn16(struct wb *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(w, b, 2);
}

static void putn32(struct wb *w, uint32_t v)
{
	putn16(w, (uint16_t)(v >> 16));
	putn16(w, (uint16_t)v);
}

static void wb_free(struct wb *w)
{
	free(w->p);
	memset(w, 0, sizeof *w);
}

/* ---- packet builders (network byte order) ---- */

struct tcpspec {
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint32_t paylen;
	uint8_t doff; /* 0: 5 */
};

static void tcp_hdr(struct wb *w, const struct tcpspec *t)
{
	putn16(w, t->sport);
	putn16(w, t->dport);
	putn32(w, t->seq);
	putn32(w, t->ack);
	uint8_t doff = t->doff ? t->doff : 5;
	put8(w, (uint8_t)(doff << 4));
	put8(w, t->flags);
	putn16(w, 65535);
	putn32(w, 0);
	for (unsigned i = 5; i < doff && i < 15; i++)
		putn32(w, 0x01010101); /* NOP options */
	for (uint32_t i = 0; i < t->paylen; i++)
		put8(w, (uint8_t)('a' + i % 26));
}

static uint32_t tcp_len(const struct tcpspec *t)
{
	uint32_t doff = t->doff ? t->doff : 5;
	return (doff < 15 ? doff : 15) * 4 + t->paylen;
}

static void ip4(struct wb *w, uint32_t src, uint32_t dst, uint8_t proto, uint32_t l4len,
		uint16_t frag)
{
	put8(w, 0x45);
	put8(w, 0);
	putn16(w, (uint16_t)(20 + l4len));
	putn16(w, 1234);
	putn16(w, frag);
	put8(w, 64);
	put8(w, proto);
	putn16(w, 0);
	putn32(w, src);
	putn32(w, dst);
}

static void ip4_tcp(struct wb *w, uint32_t src, uint32_t dst, const struct tcpspec *t)
{
	ip4(w, src, dst, 6, tcp_len(t), 0);
	tcp_hdr(w, t);
}

static void ip4_udp(struct wb *w, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	ip4(w, src, dst, 17, 8 + 20, 0);
	putn16(w, sport);
	putn16(w, dport);
	putn16(w, 28);
	putn16(w, 0);
	put(w, NULL, 20);
}

static const uint8_t V6A[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
static const uint8_t V6B[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b };

static void ip6_hdr(struct wb *w, uint8_t nh, uint16_t plen)
{
	putn32(w, 0x60000000);
	putn16(w, plen);
	put8(w, nh);
	put8(w, 64);
	put(w, V6A, 16);
	put(w, V6B, 16);
}

static void ip6_tcp(struct wb *w, const struct tcpspec *t)
{
	ip6_hdr(w, 6, (uint16_t)tcp_len(t));
	tcp_hdr(w, t);
}

static void eth(struct wb *w, const uint16_t *tpids, int ntags, uint16_t et)
{
	static const uint8_t mac[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
	put(w, mac, 12);
	for (int i = 0; i < ntags; i++) {
		putn16(w, tpids[i]);
		putn16(w, (uint16_t)(100 + i));
	}
	putn16(w, et);
}

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const struct tcpspec SYN25 = { .sport = 40000, .dport = 25, .flags = P25_TCP_SYN,
				      .seq = 1000 };

/* ---- fixtures on disk ---- */

struct fixture_dir {
	char path[256];
};

static int setup_dir(void **state)
{
	struct fixture_dir *d = calloc(1, sizeof *d);
	const char *tmp = getenv("TMPDIR");
	snprintf(d->path, sizeof d->path, "%s/p25capXXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(d->path))
		return -1;
	*state = d;
	return 0;
}

static int teardown_dir(void **state)
{
	struct fixture_dir *d = *state;
	if (getenv("P25_KEEP_FIXTURES")) {
		fprintf(stderr, "fixtures kept in %s\n", d->path);
	} else {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", d->path);
	}
	free(d);
	return 0;
}

static const char *fx(void **state, const char *name)
{
	static char buf[4][PATH_MAX];
	static int k;
	struct fixture_dir *d = *state;
	k = (k + 1) % 4;
	if (snprintf(buf[k], sizeof buf[k], "%s/%s", d->path, name) >= (int)sizeof buf[k])
		fail_msg("path too long");
	return buf[k];
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* ---- classic pcap writer ---- */

struct pkt {
	struct wb b;
	uint64_t ts_ns;
	uint32_t origlen; /* 0: same as captured */
};

static void pcap_write(struct wb *w, int be, int nano, uint32_t linktype,
		       const struct pkt *pk, int n)
{
	w->be = be;
	put32(w, nano ? 0xa1b23c4d : 0xa1b2c3d4);
	put16(w, 2);
	put16(w, 4);
	put32(w, 0);
	put32(w, 0);
	put32(w, 65535);
	put32(w, linktype);
	for (int i = 0; i < n; i++) {
		put32(w, (uint32_t)(pk[i].ts_ns / 1000000000u));
		uint32_t frac = (uint32_t)(pk[i].ts_ns % 1000000000u);
		put32(w, nano ? frac : frac / 1000);
		put32(w, (uint32_t)pk[i].b.len);
		put32(w, pk[i].origlen ? pk[i].origlen : (uint32_t)pk[i].b.len);
		put(w, pk[i].b.p, pk[i].b.len);
	}
}

/* Three Ethernet packets: SYN to 25 over v4, UDP DNS, v6 to 587 with a VLAN tag. */
static void three_packets(struct pkt pk[3])
{
	memset(pk, 0, 3 * sizeof *pk);
	eth(&pk[0].b, NULL, 0, 0x0800);
	ip4_tcp(&pk[0].b, A4(10, 0, 0, 1), A4(192, 0, 2, 25), &SYN25);
	pk[0].ts_ns = 1700000000123456789ull;
	eth(&pk[1].b, NULL, 0, 0x0800);
	ip4_udp(&pk[1].b, A4(10, 0, 0, 2), A4(10, 0, 0, 53), 5353, 53);
	pk[1].ts_ns = 1700000001000001000ull;
	pk[1].origlen = 1000;
	uint16_t tag = 0x8100;
	eth(&pk[2].b, &tag, 1, 0x86dd);
	struct tcpspec t = { .sport = 50000, .dport = 587, .flags = P25_TCP_SYN | P25_TCP_ACK,
			     .seq = 7, .ack = 9, .paylen = 11 };
	ip6_tcp(&pk[2].b, &t);
	pk[2].ts_ns = 1700000002999999999ull;
}

static void free_pkts(struct pkt *pk, int n)
{
	for (int i = 0; i < n; i++)
		wb_free(&pk[i].b);
}

/* Read all of c and compare with pk (timestamps at µs when !nano). */
static void expect_packets(struct p25_capture *c, const struct pkt *pk, int n, int nano,
			   uint32_t linktype)
{
	struct p25_packet p;
	for (int i = 0; i < n; i++) {
		assert_int_equal(p25_capture_next(c, &p), 1);
		uint64_t ts = nano ? pk[i].ts_ns : pk[i].ts_ns / 1000 * 1000;
		assert_int_equal(p.ts_ns, ts);
		assert_int_equal(p.caplen, pk[i].b.len);
		assert_int_equal(p.origlen, pk[i].origlen ? pk[i].origlen : pk[i].b.len);
		assert_int_equal(p.linktype, linktype);
		assert_memory_equal(p.data, pk[i].b.p, pk[i].b.len);
	}
	assert_int_equal(p25_capture_next(c, &p), 0);
	assert_int_equal(p25_capture_next(c, &p), 0);
	assert_int_equal(p25_capture_packets(c), (uint64_t)n);
}

static struct p25_capture *open_or_fail(const char *path, unsigned flags, size_t chunk)
{
	char err[512];
	struct p25_capture *c = p25_capture_open_ex(path, flags, chunk, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	return c;
}

static void test_pcap_variants(void **state)
{
	struct pkt pk[3];
	three_packets(pk);
	for (int be = 0; be < 2; be++) {
		for (int nano = 0; nano < 2; nano++) {
			struct wb w = { 0 };
			pcap_write(&w, be, nano, 1, pk, 3);
			char name[64];
			snprintf(name, sizeof name, "pcap-%s-%s.pcap", be ? "be" : "le",
				 nano ? "ns" : "us");
			const char *path = fx(state, name);
			write_file(path, w.p, w.len);

			struct p25_capture *c = open_or_fail(path, 0, 0);
			assert_true(p25_capture_is_mapped(c));
			assert_int_equal(p25_capture_format(c), P25_FMT_PCAP);
			assert_int_equal(p25_capture_linktype(c), 1);
			expect_packets(c, pk, 3, nano, 1);
			p25_capture_close(c);

			/* Chunked reads with chunks smaller than a record. */
			for (size_t chunk = 1; chunk <= 64; chunk *= 4) {
				c = open_or_fail(path, P25_CAPTURE_NO_MMAP, chunk);
				assert_false(p25_capture_is_mapped(c));
				expect_packets(c, pk, 3, nano, 1);
				p25_capture_close(c);
			}

			char err[256];
			c = p25_capture_open_mem(w.p, w.len, "mem", err, sizeof err);
			assert_non_null(c);
			expect_packets(c, pk, 3, nano, 1);
			p25_capture_close(c);
			wb_free(&w);
		}
	}
	free_pkts(pk, 3);
}

/* ---- pcapng writer ---- */

static void ng_block(struct wb *w, uint32_t type, const struct wb *body)
{
	uint32_t pad = (uint32_t)((4 - body->len % 4) % 4);
	uint32_t len = (uint32_t)(12 + body->len + pad);
	put32(w, type);
	put32(w, len);
	put(w, body->p, body->len);
	put(w, NULL, pad);
	put32(w, len);
}

static void ng_shb(struct wb *w)
{
	struct wb b = { .be = w->be };
	put32(&b, 0x1a2b3c4d);
	put16(&b, 1);
	put16(&b, 0);
	put32(&b, 0xffffffff);
	put32(&b, 0xffffffff);
	ng_block(w, 0x0a0d0d0a, &b);
	wb_free(&b);
}

/* tsresol < 0: none (microseconds); tsoffset in seconds, 0 for none. */
static void ng_idb(struct wb *w, uint16_t linktype, int tsresol, int64_t tsoffset)
{
	struct wb b = { .be = w->be };
	put16(&b, linktype);
	put16(&b, 0);
	put32(&b, 262144);
	/* an option we do not know, to be skipped */
	put16(&b, 2); /* if_name */
	put16(&b, 3);
	put(&b, "eth", 3);
	put8(&b, 0);
	if (tsresol >= 0) {
		put16(&b, 9);
		put16(&b, 1);
		put8(&b, (uint8_t)tsresol);
		put(&b, NULL, 3);
	}
	if (tsoffset) {
		put16(&b, 14);
		put16(&b, 8);
		put32(&b, w->be ? (uint32_t)((uint64_t)tsoffset >> 32) : (uint32_t)tsoffset);
		put32(&b, w->be ? (uint32_t)tsoffset : (uint32_t)((uint64_t)tsoffset >> 32));
	}
	put16(&b, 0);
	put16(&b, 0);
	ng_block(w, 1, &b);
	wb_free(&b);
}

static void ng_epb(struct wb *w, uint32_t ifid, uint64_t ts, const struct wb *data,
		   uint32_t origlen)
{
	struct wb b = { .be = w->be };
	put32(&b, ifid);
	put32(&b, (uint32_t)(ts >> 32));
	put32(&b, (uint32_t)ts);
	put32(&b, (uint32_t)data->len);
	put32(&b, origlen ? origlen : (uint32_t)data->len);
	put(&b, data->p, data->len);
	put(&b, NULL, (4 - data->len % 4) % 4);
	/* opt_comment, then end of options */
	put16(&b, 1);
	put16(&b, 2);
	put(&b, "hi\0\0", 4);
	put16(&b, 0);
	put16(&b, 0);
	ng_block(w, 6, &b);
	wb_free(&b);
}

static void ng_opb(struct wb *w, uint16_t ifid, uint64_t ts, const struct wb *data)
{
	struct wb b = { .be = w->be };
	put16(&b, ifid);
	put16(&b, 0);
	put32(&b, (uint32_t)(ts >> 32));
	put32(&b, (uint32_t)ts);
	put32(&b, (uint32_t)data->len);
	put32(&b, (uint32_t)data->len);
	put(&b, data->p, data->len);
	ng_block(w, 2, &b);
	wb_free(&b);
}

static void ng_spb(struct wb *w, const struct wb *data)
{
	struct wb b = { .be = w->be };
	put32(&b, (uint32_t)data->len);
	put(&b, data->p, data->len);
	ng_block(w, 3, &b);
	wb_free(&b);
}

static void ng_other(struct wb *w, uint32_t type, size_t len)
{
	struct wb b = { .be = w->be };
	put(&b, NULL, len);
	ng_block(w, type, &b);
	wb_free(&b);
}

struct ngpkts {
	struct wb eth4, raw6, sll2, sll1;
};

static void ngpkts_build(struct ngpkts *p)
{
	memset(p, 0, sizeof *p);
	eth(&p->eth4, NULL, 0, 0x0800);
	ip4_tcp(&p->eth4, A4(10, 1, 1, 1), A4(10, 2, 2, 2), &SYN25);
	struct tcpspec t = { .sport = 465, .dport = 33333, .flags = P25_TCP_ACK, .paylen = 5 };
	ip6_tcp(&p->raw6, &t);
	/* SLL2: protocol, reserved, ifindex, hatype, pkttype, addrlen, addr[8] */
	putn16(&p->sll2, 0x0800);
	putn16(&p->sll2, 0);
	putn32(&p->sll2, 3);
	putn16(&p->sll2, 1);
	put8(&p->sll2, 0);
	put8(&p->sll2, 6);
	put(&p->sll2, "\1\2\3\4\5\6\0\0", 8);
	ip4_tcp(&p->sll2, A4(10, 3, 3, 3), A4(10, 4, 4, 4), &SYN25);
	/* SLL v1: pkttype, hatype, addrlen, addr[8], protocol */
	putn16(&p->sll1, 4);
	putn16(&p->sll1, 1);
	putn16(&p->sll1, 6);
	put(&p->sll1, "\1\2\3\4\5\6\0\0", 8);
	putn16(&p->sll1, 0x86dd);
	ip6_tcp(&p->sll1, &SYN25);
}

static void ngpkts_free(struct ngpkts *p)
{
	wb_free(&p->eth4);
	wb_free(&p->raw6);
	wb_free(&p->sll2);
	wb_free(&p->sll1);
}

static void build_pcapng(struct wb *w, int be, const struct ngpkts *p)
{
	w->be = be;
	ng_shb(w);
	ng_idb(w, 1, -1, 0);		/* 0: Ethernet, µs */
	ng_other(w, 0x00000bad, 20);	/* unknown block */
	ng_idb(w, 101, 9, 0);		/* 1: raw IP, ns */
	ng_idb(w, 276, 0x80 | 10, 0);	/* 2: SLL2, 2^-10 s */
	ng_other(w, 4, 8);		/* name resolution */
	ng_epb(w, 0, 1700000000123456ull, &p->eth4, 1514);
	ng_epb(w, 1, 1700000000123456789ull, &p->raw6, 0);
	ng_epb(w, 2, (uint64_t)1700000000 << 10 | 512, &p->sll2, 0);
	ng_other(w, 5, 16);		/* interface statistics */
	ng_spb(w, &p->eth4);
	ng_opb(w, 1, 42, &p->raw6);
	/* A second section in the other byte order, with its own interfaces. */
	w->be = !be;
	ng_shb(w);
	ng_idb(w, 113, 3, 100);	/* 0: SLL v1, ms, +100 s */
	ng_epb(w, 0, 5, &p->sll1, 0);
}

static void expect_pcapng(struct p25_capture *c, const struct ngpkts *p)
{
	struct p25_packet k;
	struct p25_port_filter f;
	struct p25_tcp_segment s;
	p25_port_filter_smtp(&f);

	assert_int_equal(p25_capture_format(c), P25_FMT_PCAPNG);
	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 1);
	assert_int_equal(k.ifindex, 0);
	assert_int_equal(k.ts_ns, 1700000000123456000ull);
	assert_int_equal(k.caplen, p->eth4.len);
	assert_int_equal(k.origlen, 1514);
	assert_memory_equal(k.data, p->eth4.p, p->eth4.len);
	assert_int_equal(p25_decode_tcp(&k, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(s.dport, 25);

	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 101);
	assert_int_equal(k.ifindex, 1);
	assert_int_equal(k.ts_ns, 1700000000123456789ull);
	assert_int_equal(p25_decode_tcp(&k, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(s.sport, 465);
	assert_int_equal(s.payload_len, 5);

	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 276);
	assert_int_equal(k.ifindex, 2);
	assert_int_equal(k.ts_ns, 1700000000500000000ull);
	assert_int_equal(p25_decode_tcp(&k, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(p25_addr_v4(&s.src), A4(10, 3, 3, 3));

	/* SPB: interface 0, no time */
	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 1);
	assert_int_equal(k.ts_ns, 0);
	assert_int_equal(k.caplen, p->eth4.len);
	assert_memory_equal(k.data, p->eth4.p, p->eth4.len);

	/* OPB on interface 1 */
	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 101);
	assert_int_equal(k.ts_ns, 42);
	assert_memory_equal(k.data, p->raw6.p, p->raw6.len);

	/* second section */
	assert_int_equal(p25_capture_next(c, &k), 1);
	assert_int_equal(k.linktype, 113);
	assert_int_equal(k.ifindex, 0);
	assert_int_equal(k.ts_ns, 100005000000ull);
	assert_int_equal(p25_decode_tcp(&k, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(s.src.family, P25_INET6);
	assert_int_equal(s.dport, 25);

	assert_int_equal(p25_capture_next(c, &k), 0);
	assert_int_equal(p25_capture_packets(c), 6);
}

static void test_pcapng_variants(void **state)
{
	struct ngpkts p;
	ngpkts_build(&p);
	for (int be = 0; be < 2; be++) {
		struct wb w = { 0 };
		build_pcapng(&w, be, &p);
		const char *path = fx(state, be ? "ng-be.pcapng" : "ng-le.pcapng");
		write_file(path, w.p, w.len);
		struct p25_capture *c = open_or_fail(path, 0, 0);
		assert_int_equal(p25_capture_linktype(c), UINT32_MAX);
		expect_pcapng(c, &p);
		assert_int_equal(p25_capture_linktype(c), 1);
		assert_int_equal(p25_capture_offset(c), w.len);
		p25_capture_close(c);
		for (size_t chunk = 3; chunk < 200; chunk *= 5) {
			c = open_or_fail(path, P25_CAPTURE_NO_MMAP, chunk);
			expect_pcapng(c, &p);
			p25_capture_close(c);
		}
		wb_free(&w);
	}
	ngpkts_free(&p);
}

/* ---- gzip ---- */

static void gz_write(const char *path, const char *mode, const void *p, size_t n)
{
	gzFile g = gzopen(path, mode);
	assert_non_null(g);
	assert_int_equal(gzwrite(g, p, (unsigned)n), (int)n);
	assert_int_equal(gzclose(g), Z_OK);
}

static void *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	void *p = malloc(*n + 1);
	assert_int_equal(fread(p, 1, *n, f), *n);
	fclose(f);
	return p;
}

/* Many packets so that gzip output spans several refills. */
static void many_packets(struct wb *w, int n)
{
	struct pkt pk[3];
	three_packets(pk);
	struct pkt *all = calloc((size_t)n, sizeof *all);
	for (int i = 0; i < n; i++) {
		all[i] = pk[i % 3];
		all[i].ts_ns += (uint64_t)i * 1000000;
	}
	pcap_write(w, 0, 1, 1, all, n);
	free(all);
	free_pkts(pk, 3);
}

static int count_all(struct p25_capture *c, int *rc)
{
	struct p25_packet p;
	int n = 0, r;
	while ((r = p25_capture_next(c, &p)) == 1)
		n++;
	*rc = r;
	return n;
}

static void test_gzip(void **state)
{
	struct pkt pk[3];
	three_packets(pk);
	struct wb w = { 0 };
	pcap_write(&w, 1, 1, 1, pk, 3);
	const char *path = fx(state, "gzip.pcap.gz");
	gz_write(path, "wb", w.p, w.len);

	struct p25_capture *c = open_or_fail(path, 0, 0);
	assert_true(p25_capture_is_gzip(c));
	expect_packets(c, pk, 3, 1, 1);
	p25_capture_close(c);
	c = open_or_fail(path, P25_CAPTURE_NO_MMAP, 5);
	assert_true(p25_capture_is_gzip(c));
	expect_packets(c, pk, 3, 1, 1);
	p25_capture_close(c);

	/* A second gzip member appended: still one stream. */
	struct wb two = { 0 };
	struct pkt both[6];
	for (int i = 0; i < 6; i++)
		both[i] = pk[i % 3];
	pcap_write(&two, 1, 1, 1, both, 6);
	const char *p2 = fx(state, "gzip-2members.pcap.gz");
	gz_write(p2, "wb", two.p, w.len);
	gz_write(p2, "ab", two.p + w.len, two.len - w.len);
	c = open_or_fail(p2, 0, 0);
	expect_packets(c, both, 6, 1, 1);
	p25_capture_close(c);
	wb_free(&two);

	/* In memory. */
	size_t n;
	uint8_t *img = slurp(path, &n);
	char err[512];
	c = p25_capture_open_mem(img, n, "img.gz", err, sizeof err);
	assert_non_null(c);
	expect_packets(c, pk, 3, 1, 1);
	p25_capture_close(c);
	free(img);
	wb_free(&w);

	/* Truncated gzip: the packets before the cut, then an error. */
	struct wb big = { 0 };
	many_packets(&big, 3000);
	const char *pb = fx(state, "big.pcap.gz");
	gz_write(pb, "wb1", big.p, big.len);
	img = slurp(pb, &n);
	const char *pt = fx(state, "big-cut.pcap.gz");
	write_file(pt, img, n / 2);
	for (int mm = 0; mm < 2; mm++) {
		c = open_or_fail(pt, mm ? P25_CAPTURE_NO_MMAP : 0, mm ? 4096 : 0);
		int rc, got = count_all(c, &rc);
		assert_int_equal(rc, -1);
		assert_true(got > 100 && got < 3000);
		const char *e = p25_capture_strerror(c);
		assert_non_null(strstr(e, pt));
		assert_non_null(strstr(e, "gzip stream ends early"));
		p25_capture_close(c);
	}
	/* Corrupt deflate data in the middle. */
	img[n / 2] ^= 0xff;
	img[n / 2 + 1] ^= 0x55;
	img[n / 2 + 2] ^= 0xaa;
	c = p25_capture_open_mem(img, n, "bad.gz", err, sizeof err);
	assert_non_null(c);
	int rc, got = count_all(c, &rc);
	assert_int_equal(rc, -1);
	assert_true(got > 100 && got < 3000);
	assert_non_null(strstr(p25_capture_strerror(c), "bad.gz: offset"));
	p25_capture_close(c);
	free(img);
	wb_free(&big);
	free_pkts(pk, 3);
}

/* ---- damage ---- */

static void test_truncated_pcap(void **state)
{
	struct pkt pk[3];
	three_packets(pk);
	struct wb w = { 0 };
	pcap_write(&w, 0, 0, 1, pk, 3);
	size_t good = w.len;
	/* A fourth record whose data stops short. */
	put32(&w, 1700000003);
	put32(&w, 0);
	put32(&w, 100);
	put32(&w, 100);
	put(&w, NULL, 40);
	const char *path = fx(state, "trunc-record.pcap");
	write_file(path, w.p, w.len);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "%s: offset %zu: file truncated inside a packet record", path,
		 good);
	for (int mm = 0; mm < 2; mm++) {
		struct p25_capture *c = open_or_fail(path, mm ? P25_CAPTURE_NO_MMAP : 0, 7);
		int rc, got = count_all(c, &rc);
		assert_int_equal(got, 3);
		assert_int_equal(rc, -1);
		assert_string_equal(strstr(p25_capture_strerror(c), path), p25_capture_strerror(c));
		if (strncmp(p25_capture_strerror(c), want, strlen(want)))
			fail_msg("got \"%s\", want \"%s...\"", p25_capture_strerror(c), want);
		struct p25_packet p;
		assert_int_equal(p25_capture_next(c, &p), -1);
		p25_capture_close(c);
	}
	/* Cut inside the record header. */
	const char *ph = fx(state, "trunc-header.pcap");
	write_file(ph, w.p, good + 9);
	struct p25_capture *c = open_or_fail(ph, 0, 0);
	int rc;
	assert_int_equal(count_all(c, &rc), 3);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(p25_capture_strerror(c), "record header: 9 of 16 bytes"));
	p25_capture_close(c);

	/* An implausible captured length. */
	w.len = good;
	put32(&w, 1);
	put32(&w, 0);
	put32(&w, 0x7fffffff);
	put32(&w, 60);
	put(&w, NULL, 60);
	write_file(ph, w.p, w.len);
	c = open_or_fail(ph, 0, 0);
	assert_int_equal(count_all(c, &rc), 3);
	assert_int_equal(rc, -1);
	snprintf(want, sizeof want, "offset %zu: corrupt packet record", good);
	assert_non_null(strstr(p25_capture_strerror(c), want));
	p25_capture_close(c);
	wb_free(&w);
	free_pkts(pk, 3);
}

static void test_truncated_pcapng(void **state)
{
	struct ngpkts p;
	ngpkts_build(&p);
	struct wb w = { 0 };
	ng_shb(&w);
	ng_idb(&w, 1, -1, 0);
	ng_epb(&w, 0, 1, &p.eth4, 0);
	ng_epb(&w, 0, 2, &p.eth4, 0);
	size_t good = w.len;
	ng_epb(&w, 0, 3, &p.eth4, 0);
	const char *path = fx(state, "trunc.pcapng");
	write_file(path, w.p, w.len - 10);
	for (int mm = 0; mm < 2; mm++) {
		struct p25_capture *c = open_or_fail(path, mm ? P25_CAPTURE_NO_MMAP : 0, 16);
		int rc;
		assert_int_equal(count_all(c, &rc), 2);
		assert_int_equal(rc, -1);
		char want[64];
		snprintf(want, sizeof want, ": offset %zu: file truncated inside a block", good);
		assert_non_null(strstr(p25_capture_strerror(c), want));
		assert_non_null(strstr(p25_capture_strerror(c), path));
		p25_capture_close(c);
	}
	/* Leading and trailing lengths disagree. */
	w.p[w.len - 1] ^= 0x10;
	write_file(path, w.p, w.len);
	struct p25_capture *c = open_or_fail(path, 0, 0);
	int rc;
	assert_int_equal(count_all(c, &rc), 2);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(p25_capture_strerror(c), "at the start but"));
	p25_capture_close(c);
	/* A length that is not a multiple of 4. */
	w.len = good;
	put32(&w, 6);
	put32(&w, 33);
	put(&w, NULL, 40);
	write_file(path, w.p, w.len);
	c = open_or_fail(path, 0, 0);
	assert_int_equal(count_all(c, &rc), 2);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(p25_capture_strerror(c), "length 33"));
	p25_capture_close(c);
	/* A packet on an interface the section never defined. */
	w.len = good;
	ng_epb(&w, 7, 3, &p.eth4, 0);
	write_file(path, w.p, w.len);
	c = open_or_fail(path, 0, 0);
	assert_int_equal(count_all(c, &rc), 2);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(p25_capture_strerror(c), "interface 7"));
	p25_capture_close(c);
	wb_free(&w);
	ngpkts_free(&p);
}

static void test_garbage(void **state)
{
	char err[512];
	const char *path = fx(state, "garbage.bin");
	const char *text = "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
	write_file(path, text, strlen(text));
	for (int mm = 0; mm < 2; mm++) {
		assert_null(p25_capture_open_ex(path, mm ? P25_CAPTURE_NO_MMAP : 0, 0, err,
						sizeof err));
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "offset 0: not a pcap or pcapng file"));
		assert_non_null(strstr(err, "47 45 54 20"));
	}
	const char *empty = fx(state, "empty.pcap");
	write_file(empty, "", 0);
	assert_null(p25_capture_open(empty, err, sizeof err));
	assert_non_null(strstr(err, "too short"));
	assert_null(p25_capture_open(fx(state, "missing.pcap"), err, sizeof err));
	assert_non_null(strstr(err, "No such file"));
	/* gzip of garbage */
	const char *gz = fx(state, "garbage.gz");
	gz_write(gz, "wb", text, strlen(text));
	assert_null(p25_capture_open(gz, err, sizeof err));
	assert_non_null(strstr(err, "not a pcap"));
	/* truncated pcap header */
	assert_null(p25_capture_open_mem("\xd4\xc3\xb2\xa1\2\0\4\0", 8, "short", err, sizeof err));
	assert_non_null(strstr(err, "short: "));
	assert_non_null(strstr(err, "pcap header"));
	/* A header alone is a valid empty capture. */
	struct wb w = { 0 };
	pcap_write(&w, 0, 0, 1, NULL, 0);
	struct p25_capture *c = p25_capture_open_mem(w.p, w.len, "hdr", err, sizeof err);
	assert_non_null(c);
	struct p25_packet k;
	assert_int_equal(p25_capture_next(c, &k), 0);
	p25_capture_close(c);
	wb_free(&w);
}

static int stop_at_second(void *ctx, const struct p25_packet *p)
{
	int *n = ctx;
	return ++*n == 2 ? 7 : 0;
}

static void test_foreach(void **state)
{
	struct pkt pk[3];
	three_packets(pk);
	struct wb w = { 0 };
	pcap_write(&w, 0, 0, 1, pk, 3);
	char err[256];
	struct p25_capture *c = p25_capture_open_mem(w.p, w.len, "m", err, sizeof err);
	int n = 0;
	assert_int_equal(p25_capture_foreach(c, stop_at_second, &n), 7);
	assert_int_equal(n, 2);
	n = 10;
	assert_int_equal(p25_capture_foreach(c, stop_at_second, &n), 0);
	assert_int_equal(n, 11);
	p25_capture_close(c);
	wb_free(&w);
	free_pkts(pk, 3);
}

/* ---- decoding ---- */

static enum p25_decode_result dec(const struct wb *b, uint32_t linktype,
				  const struct p25_port_filter *f, struct p25_tcp_segment *s,
				  struct p25_decode_stats *st)
{
	struct p25_packet k = { .ts_ns = 77, .data = b->p, .caplen = (uint32_t)b->len,
				.origlen = (uint32_t)b->len, .linktype = linktype };
	memset(s, 0xee, sizeof *s);
	return p25_decode_tcp(&k, f, s, st);
}

static void test_decode_ethernet(void **state)
{
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_tcp_segment s;
	struct p25_decode_stats st = { 0 };
	struct tcpspec t = { .sport = 40000, .dport = 25, .flags = P25_TCP_SYN | P25_TCP_ECE,
			     .seq = 0xdeadbeef, .ack = 0x01020304, .paylen = 9, .doff = 8 };
	uint16_t tags[3][3] = { { 0 }, { 0x8100 }, { 0x88a8, 0x8100, 0x9100 } };
	int ntags[3] = { 0, 1, 3 };
	for (int i = 0; i < 3; i++) {
		struct wb b = { 0 };
		eth(&b, tags[i], ntags[i], 0x0800);
		size_t iphdr = b.len;
		ip4_tcp(&b, A4(198, 51, 100, 7), A4(203, 0, 113, 9), &t);
		assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
		assert_int_equal(s.src.family, P25_INET);
		assert_int_equal(p25_addr_v4(&s.src), A4(198, 51, 100, 7));
		assert_int_equal(p25_addr_v4(&s.dst), A4(203, 0, 113, 9));
		assert_int_equal(s.sport, 40000);
		assert_int_equal(s.dport, 25);
		assert_int_equal(s.flags, P25_TCP_SYN | P25_TCP_ECE);
		assert_int_equal(s.seq, 0xdeadbeef);
		assert_int_equal(s.ack, 0x01020304);
		assert_int_equal(s.payload_len, 9);
		assert_ptr_equal(s.payload, b.p + iphdr + 20 + 32);
		assert_memory_equal(s.payload, "abcdefghi", 9);
		assert_int_equal(s.ip_len, 20 + 32 + 9);
		assert_int_equal(s.ts_ns, 77);
		/* Ethernet padding beyond the IP length is not payload. */
		put(&b, NULL, 6);
		assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
		assert_int_equal(s.payload_len, 9);
		/* Captured short of the payload: what is there. */
		b.len -= 6 + 4;
		assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
		assert_int_equal(s.payload_len, 5);
		assert_int_equal(s.ip_len, 20 + 32 + 9);
		wb_free(&b);
	}
	assert_int_equal(st.packets, 9);
	assert_int_equal(st.count[P25_DEC_TCP], 9);
}

/*
 * A snap length of 68 or 96 (tcpdump -s 68) keeps a SYN's fixed header and
 * cuts its options: the segment is used, without payload, and counted.
 */
static void test_decode_options_cut(void **state)
{
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_tcp_segment s;
	struct p25_decode_stats st = { 0 };
	struct tcpspec t = { .sport = 40000, .dport = 25, .flags = P25_TCP_SYN,
			     .seq = 0x11223344, .doff = 10 };
	struct wb b = { 0 };

	(void)state;
	eth(&b, NULL, 0, 0x0800);
	ip4_tcp(&b, A4(10, 0, 0, 5), A4(198, 51, 100, 7), &t);
	assert_int_equal(b.len, 14 + 20 + 40);
	b.len = 68;
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
	assert_int_equal(s.flags, P25_TCP_SYN);
	assert_int_equal(s.seq, 0x11223344);
	assert_int_equal(s.dport, 25);
	assert_int_equal(s.payload_len, 0);
	assert_int_equal(s.ip_len, 60);
	assert_int_equal(st.tcp_options_cut, 1);
	/* Exactly the fixed header: still used. */
	b.len = 54;
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
	/* Short of it: truncated, as before. */
	b.len = 53;
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TRUNC_TCP);
	assert_int_equal(st.tcp_options_cut, 2);
	wb_free(&b);

	/* IPv6 as raw IP: the fixed header and 8 of the 20 bytes of options. */
	ip6_tcp(&b, &t);
	b.len = 40 + 20 + 8;
	assert_int_equal(dec(&b, 101, &f, &s, &st), P25_DEC_TCP);
	assert_int_equal(s.src.family, P25_INET6);
	assert_int_equal(s.payload_len, 0);
	assert_int_equal(st.tcp_options_cut, 3);
	wb_free(&b);
	assert_int_equal(st.count[P25_DEC_TCP], 3);
	assert_int_equal(st.count[P25_DEC_TRUNC_TCP], 1);
}

static void test_decode_links(void **state)
{
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_tcp_segment s;
	struct wb b = { 0 };

	/* raw IP under each of its link types */
	ip4_tcp(&b, A4(1, 2, 3, 4), A4(5, 6, 7, 8), &SYN25);
	assert_int_equal(dec(&b, 101, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(p25_addr_v4(&s.src), A4(1, 2, 3, 4));
	assert_int_equal(dec(&b, 12, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(dec(&b, 228, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(dec(&b, 229, &f, &s, NULL), P25_DEC_BAD_IP);
	assert_int_equal(dec(&b, 147, &f, &s, NULL), P25_DEC_LINKTYPE);
	wb_free(&b);
	ip6_tcp(&b, &SYN25);
	assert_int_equal(dec(&b, 101, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(s.src.family, P25_INET6);
	uint8_t a[16];
	p25_addr_v6_bytes(&s.src, a);
	assert_memory_equal(a, V6A, 16);
	p25_addr_v6_bytes(&s.dst, a);
	assert_memory_equal(a, V6B, 16);
	assert_int_equal(dec(&b, 229, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(dec(&b, 228, &f, &s, NULL), P25_DEC_BAD_IP);
	wb_free(&b);

	/* BSD loopback: family in either byte order */
	static const uint8_t null_le4[4] = { 2, 0, 0, 0 }, null_be6[4] = { 0, 0, 0, 30 },
			     null_le24[4] = { 24, 0, 0, 0 }, null_bad[4] = { 7, 0, 0, 0 };
	put(&b, null_le4, 4);
	ip4_tcp(&b, A4(127, 0, 0, 1), A4(127, 0, 0, 1), &SYN25);
	assert_int_equal(dec(&b, 0, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(dec(&b, 108, &f, &s, NULL), P25_DEC_TCP);
	wb_free(&b);
	put(&b, null_be6, 4);
	ip6_tcp(&b, &SYN25);
	assert_int_equal(dec(&b, 0, &f, &s, NULL), P25_DEC_TCP);
	memcpy(b.p, null_le24, 4);
	assert_int_equal(dec(&b, 0, &f, &s, NULL), P25_DEC_TCP);
	memcpy(b.p, null_bad, 4);
	assert_int_equal(dec(&b, 0, &f, &s, NULL), P25_DEC_NOT_IP);
	wb_free(&b);

	/* Linux cooked v1 and v2, from the pcapng fixtures' packets */
	struct ngpkts p;
	ngpkts_build(&p);
	assert_int_equal(dec(&p.sll1, 113, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(s.src.family, P25_INET6);
	assert_int_equal(dec(&p.sll2, 276, &f, &s, NULL), P25_DEC_TCP);
	assert_int_equal(p25_addr_v4(&s.dst), A4(10, 4, 4, 4));
	/* A VLAN tag left in by the cooked header */
	struct wb v = { 0 };
	put(&v, p.sll1.p, 14);
	putn16(&v, 0x8100);
	putn16(&v, 5);
	putn16(&v, 0x86dd);
	put(&v, p.sll1.p + 16, p.sll1.len - 16);
	assert_int_equal(dec(&v, 113, &f, &s, NULL), P25_DEC_TCP);
	wb_free(&v);
	ngpkts_free(&p);

	/* ARP */
	eth(&b, NULL, 0, 0x0806);
	put(&b, NULL, 28);
	assert_int_equal(dec(&b, 1, &f, &s, NULL), P25_DEC_NOT_IP);
	wb_free(&b);
}

/* IPv6 extension header of type nh with total length len (multiple of 8). */
static void ext(struct wb *w, uint8_t nh, unsigned len)
{
	put8(w, nh);
	put8(w, (uint8_t)(len / 8 - 1));
	put(w, NULL, len - 2);
}

static void test_decode_ipv6_ext(void **state)
{
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_tcp_segment s;
	struct tcpspec t = SYN25;
	t.paylen = 3;
	for (int fragoff = 0; fragoff < 2; fragoff++) {
		struct wb b = { 0 };
		eth(&b, NULL, 0, 0x86dd);
		ip6_hdr(&b, 0, (uint16_t)(8 + 24 + 16 + 8 + 8 + tcp_len(&t)));
		ext(&b, 43, 8);	 /* hop-by-hop → routing */
		ext(&b, 60, 24); /* routing → dest opts */
		ext(&b, 44, 16); /* dest opts → fragment */
		put8(&b, 51);	 /* fragment → AH */
		put8(&b, 0);
		putn16(&b, (uint16_t)(fragoff ? 185 << 3 : 1)); /* offset, M */
		putn32(&b, 99);
		put8(&b, 6); /* AH → TCP; 8 bytes: len field 0 */
		put8(&b, 0);
		put(&b, NULL, 6);
		size_t th = b.len;
		tcp_hdr(&b, &t);
		if (fragoff) {
			assert_int_equal(dec(&b, 1, &f, &s, NULL), P25_DEC_FRAGMENT);
		} else {
			assert_int_equal(dec(&b, 1, &f, &s, NULL), P25_DEC_TCP);
			assert_int_equal(s.dport, 25);
			assert_int_equal(s.payload_len, 3);
			assert_ptr_equal(s.payload, b.p + th + 20);
			assert_int_equal(s.ip_len, b.len - 14);
			/* Cut inside the routing header. */
			b.len = 14 + 40 + 8 + 10;
			assert_int_equal(dec(&b, 1, &f, &s, NULL), P25_DEC_TRUNC_IP);
		}
		wb_free(&b);
	}
	/* No next header, and UDP. */
	struct wb b = { 0 };
	ip6_hdr(&b, 59, 0);
	assert_int_equal(dec(&b, 229, &f, &s, NULL), P25_DEC_NOT_TCP);
	b.p[6] = 17;
	assert_int_equal(dec(&b, 229, &f, &s, NULL), P25_DEC_NOT_TCP);
	wb_free(&b);
}

/*
 * One pcapng with every link type and header stack the decoder knows, read
 * from disk end to end; also a fuzzing seed and a fixture for other tests.
 */
static void test_mixed_capture(void **state)
{
	struct wb w = { 0 };
	ng_shb(&w);
	static const uint16_t links[] = { 1, 0, 113, 276, 101, 228, 229 };
	for (int i = 0; i < 7; i++)
		ng_idb(&w, links[i], 9, 0);
	struct tcpspec t587 = SYN25, t465 = SYN25, web = SYN25;
	t587.dport = 587;
	t465.dport = 465;
	web.dport = 443;
	uint16_t q[1] = { 0x8100 }, qq[2] = { 0x88a8, 0x8100 };
	struct wb b = { 0 };
	uint64_t ts = 1700000000000000000ull;
#define EMIT(ifid)                                                                                 \
	do {                                                                                       \
		ng_epb(&w, ifid, ts++, &b, 0);                                                     \
		wb_free(&b);                                                                       \
	} while (0)
	eth(&b, NULL, 0, 0x0800); /* 1: SYN 25 */
	ip4_tcp(&b, A4(10, 9, 0, 1), A4(10, 9, 0, 2), &SYN25);
	EMIT(0);
	eth(&b, q, 1, 0x0800); /* 2: 802.1Q, SYN 587 */
	ip4_tcp(&b, A4(10, 9, 0, 3), A4(10, 9, 0, 2), &t587);
	EMIT(0);
	eth(&b, qq, 2, 0x86dd); /* 3: QinQ, v6 SYN 465 */
	ip6_tcp(&b, &t465);
	EMIT(0);
	eth(&b, NULL, 0, 0x86dd); /* 4: v6 hop-by-hop + dest opts, SYN 25 */
	ip6_hdr(&b, 0, (uint16_t)(16 + tcp_len(&SYN25)));
	ext(&b, 60, 8);
	ext(&b, 6, 8);
	tcp_hdr(&b, &SYN25);
	EMIT(0);
	eth(&b, NULL, 0, 0x86dd); /* 5: v6 non-first fragment */
	ip6_hdr(&b, 44, 8 + 20);
	put8(&b, 6);
	put8(&b, 0);
	putn16(&b, 100 << 3);
	putn32(&b, 5);
	put(&b, NULL, 20);
	EMIT(0);
	eth(&b, NULL, 0, 0x0800); /* 6: UDP */
	ip4_udp(&b, A4(10, 9, 0, 1), A4(10, 9, 0, 53), 3333, 53);
	EMIT(0);
	eth(&b, NULL, 0, 0x0806); /* 7: ARP */
	put(&b, NULL, 28);
	EMIT(0);
	eth(&b, NULL, 0, 0x0800); /* 8: cut inside the TCP header */
	ip4_tcp(&b, A4(10, 9, 0, 1), A4(10, 9, 0, 2), &SYN25);
	b.len = 14 + 20 + 8;
	EMIT(0);
	eth(&b, NULL, 0, 0x0800); /* 9: web, filtered out */
	ip4_tcp(&b, A4(10, 9, 0, 1), A4(10, 9, 0, 80), &web);
	EMIT(0);
	put(&b, "\2\0\0\0", 4); /* 10: BSD loopback v4 */
	ip4_tcp(&b, A4(127, 0, 0, 1), A4(127, 0, 0, 1), &SYN25);
	EMIT(1);
	struct ngpkts p;
	ngpkts_build(&p);
	ng_epb(&w, 2, ts++, &p.sll1, 0); /* 11: SLL v1, v6 */
	ng_epb(&w, 3, ts++, &p.sll2, 0); /* 12: SLL2, v4 */
	ip6_tcp(&b, &SYN25);		 /* 13: raw v6 */
	EMIT(4);
	ip4_tcp(&b, A4(10, 9, 0, 7), A4(10, 9, 0, 2), &SYN25); /* 14: IPv4 link */
	EMIT(5);
	ip6_tcp(&b, &t587); /* 15: IPv6 link */
	EMIT(6);
#undef EMIT
	ngpkts_free(&p);

	const char *path = fx(state, "mix.pcapng");
	write_file(path, w.p, w.len);
	struct p25_capture *c = open_or_fail(path, 0, 0);
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_decode_stats st = { 0 };
	struct p25_packet k;
	struct p25_tcp_segment s;
	int r, syn = 0;
	while ((r = p25_capture_next(c, &k)) == 1)
		if (p25_decode_tcp(&k, &f, &s, &st) == P25_DEC_TCP)
			syn += s.flags == P25_TCP_SYN;
	assert_int_equal(r, 0);
	assert_int_equal(st.packets, 15);
	assert_int_equal(st.count[P25_DEC_TCP], 10);
	assert_int_equal(syn, 10);
	assert_int_equal(st.count[P25_DEC_FRAGMENT], 1);
	assert_int_equal(st.count[P25_DEC_NOT_TCP], 1);
	assert_int_equal(st.count[P25_DEC_NOT_IP], 1);
	assert_int_equal(st.count[P25_DEC_TRUNC_TCP], 1);
	assert_int_equal(st.count[P25_DEC_PORT], 1);
	p25_capture_close(c);
	wb_free(&w);
}

static void test_decode_skips(void **state)
{
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_tcp_segment s;
	struct p25_decode_stats st = { 0 };
	struct wb b = { 0 };

	/* IPv4 fragments: first decoded, later ones skipped. */
	eth(&b, NULL, 0, 0x0800);
	ip4(&b, A4(1, 1, 1, 1), A4(2, 2, 2, 2), 6, 20, 0x2000); /* MF, offset 0 */
	tcp_hdr(&b, &SYN25);
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
	b.p[14 + 6] = 0x20;
	b.p[14 + 7] = 0x10; /* offset 16 */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_FRAGMENT);
	b.p[14 + 6] = 0x40;
	b.p[14 + 7] = 0; /* DF */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);

	/* Port filter: 80 is dropped unless asked for; 25 as source passes. */
	struct wb h = { 0 };
	struct tcpspec web = { .sport = 25, .dport = 80, .flags = P25_TCP_ACK };
	eth(&h, NULL, 0, 0x0800);
	ip4_tcp(&h, A4(1, 1, 1, 1), A4(2, 2, 2, 2), &web);
	assert_int_equal(dec(&h, 1, &f, &s, &st), P25_DEC_TCP);
	h.p[14 + 20] = 0;
	h.p[14 + 21] = 8; /* sport 8 */
	assert_int_equal(dec(&h, 1, &f, &s, &st), P25_DEC_PORT);
	assert_int_equal(dec(&h, 1, NULL, &s, &st), P25_DEC_TCP);
	struct p25_port_filter g;
	p25_port_filter_clear(&g);
	p25_port_filter_add(&g, 80);
	assert_int_equal(dec(&h, 1, &g, &s, &st), P25_DEC_TCP);
	p25_port_filter_all(&g);
	assert_int_equal(dec(&h, 1, &g, &s, &st), P25_DEC_TCP);
	wb_free(&h);

	/*
	 * A handshake-only port (the analyzer's IMAP/POP3): its SYN and SYN-ACK
	 * pass, its other segments do not, unless the other port is a full one.
	 */
	p25_port_filter_smtp(&g);
	p25_port_filter_add_handshake(&g, 993);
	static const struct {
		uint16_t sport, dport;
		uint8_t flags;
		enum p25_decode_result want;
	} hs[] = {
	    {40000, 993, P25_TCP_SYN, P25_DEC_TCP},
	    {993, 40000, P25_TCP_SYN | P25_TCP_ACK, P25_DEC_TCP},
	    {40000, 993, P25_TCP_ACK, P25_DEC_NOT_SYN},
	    {993, 40000, P25_TCP_PSH | P25_TCP_ACK, P25_DEC_NOT_SYN},
	    {993, 40000, P25_TCP_FIN | P25_TCP_ACK, P25_DEC_NOT_SYN},
	    {40000, 993, P25_TCP_RST, P25_DEC_NOT_SYN},
	    {993, 25, P25_TCP_ACK, P25_DEC_TCP}, /* 25 is a full port */
	    {40000, 995, P25_TCP_SYN, P25_DEC_PORT},
	};
	struct p25_decode_stats hst = {0};
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
		struct tcpspec ts = {.sport = hs[i].sport, .dport = hs[i].dport, .flags = hs[i].flags};
		eth(&h, NULL, 0, 0x0800);
		ip4_tcp(&h, A4(1, 1, 1, 1), A4(2, 2, 2, 2), &ts);
		assert_int_equal(dec(&h, 1, &g, &s, &hst), hs[i].want);
		wb_free(&h);
	}
	assert_int_equal(hst.count[P25_DEC_NOT_SYN], 4);
	assert_string_equal(p25_decode_reason(P25_DEC_NOT_SYN), "handshake-only port, not a SYN");
	/* Added as a full port afterwards: every segment passes again. */
	p25_port_filter_add(&g, 993);
	struct tcpspec ack = {.sport = 40000, .dport = 993, .flags = P25_TCP_ACK};
	eth(&h, NULL, 0, 0x0800);
	ip4_tcp(&h, A4(1, 1, 1, 1), A4(2, 2, 2, 2), &ack);
	assert_int_equal(dec(&h, 1, &g, &s, &hst), P25_DEC_TCP);
	wb_free(&h);

	/* UDP */
	eth(&h, NULL, 0, 0x0800);
	ip4_udp(&h, 1, 2, 25, 25);
	assert_int_equal(dec(&h, 1, &f, &s, &st), P25_DEC_NOT_TCP);
	wb_free(&h);

	/* Truncations at each layer */
	struct wb c = { .p = b.p, .len = 10 };
	assert_int_equal(dec(&c, 1, &f, &s, &st), P25_DEC_TRUNC_LINK);
	c.len = 14 + 15;
	assert_int_equal(dec(&c, 1, &f, &s, &st), P25_DEC_TRUNC_IP);
	c.len = 14 + 20 + 10;
	assert_int_equal(dec(&c, 1, &f, &s, &st), P25_DEC_TRUNC_TCP);
	uint16_t tag = 0x8100;
	eth(&h, &tag, 1, 0x0800);
	h.len -= 3;
	assert_int_equal(dec(&h, 1, &f, &s, &st), P25_DEC_TRUNC_LINK);
	wb_free(&h);

	/* Bad headers */
	b.p[14] = 0x43; /* IHL 12 bytes */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_BAD_IP);
	b.p[14] = 0x55; /* version 5 */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_BAD_IP);
	b.p[14] = 0x46; /* IHL 24 bytes: TCP header now short */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TRUNC_TCP);
	b.p[14] = 0x45;
	b.p[14 + 20 + 12] = 0x30; /* data offset 12 bytes */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_BAD_TCP);
	b.p[14 + 20 + 12] = 0xf0; /* data offset 60: past the IP packet's end */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_BAD_TCP);
	b.p[14 + 20 + 12] = 0x50;
	b.p[14 + 2] = 0;
	b.p[14 + 3] = 10; /* IP total length below its header */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_BAD_IP);
	b.p[14 + 3] = 0; /* zero: offload, use the capture */
	assert_int_equal(dec(&b, 1, &f, &s, &st), P25_DEC_TCP);
	assert_int_equal(s.ip_len, 40);

	assert_int_equal(st.packets, 20);
	assert_int_equal(st.count[P25_DEC_TCP], 7);
	assert_int_equal(st.count[P25_DEC_FRAGMENT], 1);
	assert_int_equal(st.count[P25_DEC_PORT], 1);
	assert_int_equal(st.count[P25_DEC_NOT_TCP], 1);
	assert_int_equal(st.count[P25_DEC_TRUNC_LINK], 2);
	assert_int_equal(st.count[P25_DEC_TRUNC_IP], 1);
	assert_int_equal(st.count[P25_DEC_TRUNC_TCP], 2);
	assert_int_equal(st.count[P25_DEC_BAD_IP], 3);
	assert_int_equal(st.count[P25_DEC_BAD_TCP], 2);
	assert_int_equal(st.tcp_options_cut, 0);
	assert_string_equal(p25_decode_reason(P25_DEC_FRAGMENT), "non-first fragment");
	wb_free(&b);
}

/* ---- the real captures (chrissanders/packets, by Chris Sanders) ---- */

static void captures_dir(char *out, size_t n)
{
	const char *env = getenv("P25_CAPTURES");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	/* The repository root is the nearest directory up with our Makefile. */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	for (;;) {
		char probe[PATH_MAX + 64];
		struct stat sb;
		snprintf(probe, sizeof probe, "%s/src/libport25/capture", cwd);
		if (stat(probe, &sb) == 0) {
			if (snprintf(out, n, "%s/tests/data/real", cwd) >= (int)n)
				fail_msg("path too long");
			return;
		}
		char *slash = strrchr(cwd, '/');
		if (!slash || slash == cwd)
			break;
		*slash = 0;
	}
	snprintf(out, n, "tests/data/real");
}

struct openers {
	char list[16][2 * P25_ADDR_STRLEN + 4];
	int n, syns;
	int imap; /* SYNs to 143 from 172.16.16.235 */
};

static void collect(const char *path, const struct p25_port_filter *f, struct openers *o)
{
	char err[512];
	struct p25_capture *c = p25_capture_open(path, err, sizeof err);
	if (!c)
		fail_msg("%s (set P25_CAPTURES to the directory of the real captures)", err);
	struct p25_packet k;
	struct p25_tcp_segment s;
	struct p25_decode_stats st = { 0 };
	int r;
	memset(o, 0, sizeof *o);
	while ((r = p25_capture_next(c, &k)) == 1) {
		if (p25_decode_tcp(&k, f, &s, &st) != P25_DEC_TCP)
			continue;
		if (!(s.flags & P25_TCP_SYN) || (s.flags & P25_TCP_ACK))
			continue;
		char a[P25_ADDR_STRLEN], b[P25_ADDR_STRLEN], line[2 * P25_ADDR_STRLEN + 4];
		p25_addr_format(&s.src, a, sizeof a);
		p25_addr_format(&s.dst, b, sizeof b);
		if (s.dport == 143 && strcmp(a, "172.16.16.235") == 0)
			o->imap++;
		if (s.dport != 25)
			continue;
		o->syns++;
		snprintf(line, sizeof line, "%s > %s", a, b);
		int dup = 0;
		for (int i = 0; i < o->n; i++)
			dup |= strcmp(o->list[i], line) == 0;
		if (!dup && o->n < 16)
			snprintf(o->list[o->n++], sizeof o->list[0], "%s", line);
	}
	if (r < 0)
		fail_msg("%s", p25_capture_strerror(c));
	assert_int_equal(p25_capture_format(c), P25_FMT_PCAPNG);
	assert_true(st.packets > 10);
	p25_capture_close(c);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_real_captures(void **state)
{
	static const struct {
		const char *file;
		const char *want[3];
		int imap;
	} cases[] = {
		{ "mail_sender_client_1.pcapng", { "172.16.16.225 > 172.16.16.221" }, 0 },
		{ "mail_sender_attachment.pcapng", { "172.16.16.225 > 172.16.16.221" }, 0 },
		{ "mail_sender_server_2.pcapng",
		  { "172.16.16.221 > 172.16.16.231", "172.16.16.225 > 172.16.16.221" },
		  0 },
		{ "mail_receiver_server_3.pcapng", { "172.16.16.221 > 172.16.16.231" }, 1 },
	};
	char dir[PATH_MAX];
	captures_dir(dir, sizeof dir);
	struct p25_port_filter smtp;
	p25_port_filter_smtp(&smtp);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/%s", dir, cases[i].file);
		struct openers all, only;
		collect(path, NULL, &all);
		collect(path, &smtp, &only);
		qsort(all.list, (size_t)all.n, sizeof all.list[0], cmpstr);
		int nwant = 0;
		while (nwant < 3 && cases[i].want[nwant])
			nwant++;
		if (all.n != nwant)
			fail_msg("%s: %d port-25 openers, want %d", cases[i].file, all.n, nwant);
		for (int j = 0; j < nwant; j++)
			assert_string_equal(all.list[j], cases[i].want[j]);
		assert_int_equal(only.n, all.n);
		assert_int_equal(only.syns, all.syns);
		/* The IMAP session is seen without a filter and dropped with one. */
		assert_int_equal(all.imap > 0, cases[i].imap);
		assert_int_equal(only.imap, 0);
	}
}

struct live_seen {
	int first_dport;
	int first_sport_or_dport_80;
};

static int live_cb(void *ctx, const struct p25_packet *k)
{
	struct live_seen *seen = ctx;
	struct p25_tcp_segment s;
	if (p25_decode_tcp(k, NULL, &s, NULL) != P25_DEC_TCP)
		return 0;
	if (s.sport == 80 || s.dport == 80)
		seen->first_sport_or_dport_80 = 1;
	if (!seen->first_dport)
		seen->first_dport = s.dport;
	return s.dport == 25 && (s.flags & P25_TCP_SYN) ? 1 : 0;
}

static void test_live(void **state)
{
	char err[512];
	struct p25_live_opts o = { .ifname = "p25-nosuch0" };
	struct p25_live *l = p25_live_open(&o, err, sizeof err);
	assert_null(l);
	assert_non_null(strstr(err, "p25-nosuch0: "));
	/* A bad filter on a real interface, when we may capture at all. */
	o.ifname = "lo";
	o.filter = "tcp port";
	l = p25_live_open(&o, err, sizeof err);
	assert_null(l);
	assert_true(strstr(err, "bad capture filter") || strstr(err, "permission") ||
		    strstr(err, "lo: "));
	o.filter = NULL;
	o.timeout_ms = 10;
	l = p25_live_open(&o, err, sizeof err);
	if (!l) {
		/* Without the right to capture (CI as a user) only the message is checked. */
		assert_non_null(strstr(err, "lo: "));
		return;
	}
	assert_int_equal(p25_live_linktype(l), P25_LINK_ETHERNET);
	/* Knock on 80 (filtered out by BPF) then on 25 (kept); nothing need listen. */
	for (int port = 80; port; port = port == 80 ? 25 : 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fd >= 0);
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		assert_true(rc == 0 || errno == EINPROGRESS || errno == ECONNREFUSED);
		close(fd);
	}
	struct live_seen seen = { 0 };
	alarm(20); /* a capture that never sees the SYN fails instead of hanging */
	int r = p25_live_loop(l, 0, live_cb, &seen);
	alarm(0);
	assert_int_equal(r, 1);
	assert_int_equal(seen.first_dport, 25);
	assert_int_equal(seen.first_sport_or_dport_80, 0);
	uint64_t rx, drop;
	assert_int_equal(p25_live_stats(l, &rx, &drop), 0);
	assert_true(rx >= 1);
	p25_live_close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcap_variants, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_pcapng_variants, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_gzip, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_truncated_pcap, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_truncated_pcapng, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_garbage, setup_dir, teardown_dir),
		cmocka_unit_test(test_foreach),
		cmocka_unit_test(test_decode_ethernet),
		cmocka_unit_test(test_decode_links),
		cmocka_unit_test(test_decode_options_cut),
		cmocka_unit_test(test_decode_ipv6_ext),
		cmocka_unit_test(test_decode_skips),
		cmocka_unit_test_setup_teardown(test_mixed_capture, setup_dir, teardown_dir),
		cmocka_unit_test(test_real_captures),
		cmocka_unit_test(test_live),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
