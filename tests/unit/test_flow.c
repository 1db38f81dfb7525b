/* Flow decoders: NetFlow v5, v9, IPFIX; templates, sequence numbers, damage, pcap, UDP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "flow/flow.h"
#include "flowenc.h"

#define EXPORT_SECS 1700000000u
#define SYSUP	    3600000u /* one hour of uptime at export */

struct coll {
	struct p25_flow *v;
	size_t n, cap;
	unsigned calls;
};

static void collect(void *arg, const struct p25_flow *f, size_t n)
{
	struct coll *c = arg;
	assert_true(n >= 1 && n <= P25_FLOW_BATCH);
	if (c->n + n > c->cap) {
		c->cap = (c->n + n) * 2;
		c->v = realloc(c->v, c->cap * sizeof *c->v);
		assert_non_null(c->v);
	}
	memcpy(c->v + c->n, f, n * sizeof *f);
	c->n += n;
	c->calls++;
}

static void coll_reset(struct coll *c)
{
	c->n = 0;
	c->calls = 0;
}

static struct p25_flow_exporter EXP(const char *addr, uint16_t port)
{
	struct p25_flow_exporter e = {.port = port};
	struct p25_diag diag;
	assert_int_equal(p25_addr_parse(addr, 0, &e.addr, &diag), 0);
	return e;
}

static uint32_t V4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return ntohl(a.s_addr);
}

static void assert_v4(const struct p25_addr *a, const char *s)
{
	assert_int_equal(a->family, P25_INET);
	assert_int_equal(p25_addr_v4(a), V4(s));
}

static void assert_v6(const struct p25_addr *a, const char *s)
{
	uint8_t want[16], got[16];
	assert_int_equal(inet_pton(AF_INET6, s, want), 1);
	assert_int_equal(a->family, P25_INET6);
	p25_addr_v6_bytes(a, got);
	assert_memory_equal(got, want, 16);
}

static int decode(struct p25_flow_decoder *d, const struct p25_flow_exporter *from,
		  struct p25_fenc *e, struct coll *c)
{
	size_t len = p25_fenc_finish(e);
	assert_false(e->overflow);
	return p25_flow_decode(d, from, e->buf, len, collect, c);
}

/* ---- NetFlow v5 ---- */

static void test_v5(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	struct p25_flow_exporter ex = EXP("192.0.2.1", 2055);

	p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 500000000, 1000, 1, 2);
	p25_fenc_v5_record(e, V4("10.0.0.1"), V4("198.51.100.25"), 40000, 25, 6, 0x1b, 10, 1500,
			   SYSUP - 10000, SYSUP - 2000, 3, 4);
	p25_fenc_v5_record(e, V4("10.0.0.2"), V4("198.51.100.26"), 53, 53, 17, 0, 1, 80,
			   SYSUP - 500, SYSUP - 500, 5, 6);
	assert_int_equal(decode(d, &ex, e, &c), 2);
	assert_int_equal(c.n, 2);
	const struct p25_flow *f = &c.v[0];
	assert_v4(&f->src, "10.0.0.1");
	assert_v4(&f->dst, "198.51.100.25");
	assert_int_equal(f->sport, 40000);
	assert_int_equal(f->dport, 25);
	assert_int_equal(f->protocol, 6);
	assert_int_equal(f->tcp_flags, 0x1b);
	assert_int_equal(f->packets, 10);
	assert_int_equal(f->bytes, 1500);
	assert_int_equal(f->first_ms, (int64_t)EXPORT_SECS * 1000 + 500 - 10000);
	assert_int_equal(f->last_ms, (int64_t)EXPORT_SECS * 1000 + 500 - 2000);
	assert_int_equal(f->in_if, 3);
	assert_int_equal(f->out_if, 4);
	assert_int_equal(f->domain, 1 << 8 | 2);
	assert_int_equal(f->version, 5);
	assert_int_equal(f->direction, P25_FLOW_DIR_UNKNOWN);
	assert_int_equal(c.v[1].protocol, 17);
	assert_int_equal(c.v[1].in_if, 5);

	/* Next packet in sequence, then one after 7 lost flows. */
	p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, 1002, 1, 2);
	p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, 1010, 1, 2);
	p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	assert_int_equal(st->seq_gaps, 1);
	assert_int_equal(st->missing_records, 7);
	assert_int_equal(st->records, 4);
	assert_int_equal(st->packets_v5, 3);
	assert_int_equal(st->malformed_packets, 0);

	/* A restart (sequence going back) is not a loss. */
	p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, 5, 1, 2);
	p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	assert_int_equal(st->seq_gaps, 1);
	assert_int_equal(st->seq_resets, 1);

	/* A flow whose first packet predates an uptime wrap. */
	coll_reset(&c);
	p25_fenc_v5_header(e, 1000, EXPORT_SECS, 0, 6, 1, 2);
	p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 1, 40, 0xffffff00u, 900, 0, 0);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	assert_int_equal(c.v[0].first_ms, (int64_t)EXPORT_SECS * 1000 - 1000 - 256);
	assert_int_equal(c.v[0].last_ms, (int64_t)EXPORT_SECS * 1000 - 100);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* ---- NetFlow v9 ---- */

/* Template 256: the classic IPv4 layout, 35 bytes a record. */
static void v9_template_a(struct p25_fenc *e, uint16_t id)
{
	p25_fenc_set_begin(e, 0);
	p25_fenc_u16(e, id);
	p25_fenc_u16(e, 13);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 12, 4, 0);
	p25_fenc_field(e, 7, 2, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_field(e, 6, 1, 0);
	p25_fenc_field(e, 1, 4, 0);
	p25_fenc_field(e, 2, 4, 0);
	p25_fenc_field(e, 22, 4, 0);
	p25_fenc_field(e, 21, 4, 0);
	p25_fenc_field(e, 10, 2, 0);
	p25_fenc_field(e, 14, 2, 0);
	p25_fenc_field(e, 61, 1, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
}

static void v9_record_a(struct p25_fenc *e, uint32_t src, uint32_t dst, uint16_t dport,
			uint32_t bytes)
{
	p25_fenc_u32(e, src);
	p25_fenc_u32(e, dst);
	p25_fenc_u16(e, 1025);
	p25_fenc_u16(e, dport);
	p25_fenc_u8(e, 6);
	p25_fenc_u8(e, 0x12);
	p25_fenc_u32(e, bytes);
	p25_fenc_u32(e, 7);
	p25_fenc_u32(e, SYSUP - 60000);
	p25_fenc_u32(e, SYSUP - 1000);
	p25_fenc_u16(e, 11);
	p25_fenc_u16(e, 12);
	p25_fenc_u8(e, 1);
	p25_fenc_record(e);
}

/* Template B: a different layout under the same id (dst first, 8-byte counters, ms times). */
static void v9_template_b(struct p25_fenc *e, uint16_t id)
{
	p25_fenc_set_begin(e, 0);
	p25_fenc_u16(e, id);
	p25_fenc_u16(e, 7);
	p25_fenc_field(e, 12, 4, 0);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 152, 8, 0);
	p25_fenc_field(e, 153, 8, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
}

static void v9_record_b(struct p25_fenc *e, uint32_t src, uint32_t dst, uint16_t dport,
			uint64_t bytes)
{
	p25_fenc_u32(e, dst);
	p25_fenc_u32(e, src);
	p25_fenc_u16(e, dport);
	p25_fenc_u8(e, 17);
	p25_fenc_u64(e, bytes);
	p25_fenc_u64(e, 1699999999123ull);
	p25_fenc_u64(e, 1699999999999ull);
	p25_fenc_record(e);
}

static void test_v9_basic(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	struct p25_flow_exporter ex = EXP("2001:db8::1", 9995);
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 77, 42);
	v9_template_a(e, 256);
	p25_fenc_set_begin(e, 256);
	v9_record_a(e, V4("10.1.1.1"), V4("10.2.2.2"), 25, 5000);
	v9_record_a(e, V4("10.1.1.3"), V4("10.2.2.4"), 587, 6000);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, &ex, e, &c), 2);
	assert_int_equal(st->malformed_packets, 0);
	assert_int_equal(st->templates, 1);
	const struct p25_flow *f = &c.v[0];
	assert_v4(&f->src, "10.1.1.1");
	assert_v4(&f->dst, "10.2.2.2");
	assert_int_equal(f->sport, 1025);
	assert_int_equal(f->dport, 25);
	assert_int_equal(f->protocol, 6);
	assert_int_equal(f->tcp_flags, 0x12);
	assert_int_equal(f->bytes, 5000);
	assert_int_equal(f->packets, 7);
	assert_int_equal(f->first_ms, (int64_t)EXPORT_SECS * 1000 - 60000);
	assert_int_equal(f->last_ms, (int64_t)EXPORT_SECS * 1000 - 1000);
	assert_int_equal(f->in_if, 11);
	assert_int_equal(f->out_if, 12);
	assert_int_equal(f->direction, 1);
	assert_int_equal(f->domain, 42);
	assert_int_equal(f->version, 9);
	assert_int_equal(c.v[1].dport, 587);
	assert_int_equal(c.v[1].bytes, 6000);
	const struct p25_flow_exporter *back = p25_flow_decoder_exporter(d, f->exporter);
	assert_non_null(back);
	assert_int_equal(back->port, 9995);
	assert_true(p25_addr_equal(&back->addr, &ex.addr));

	/* Data only, next sequence: template remembered.  Many records: several batches. */
	coll_reset(&c);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 78, 42);
	p25_fenc_set_begin(e, 256);
	for (unsigned i = 0; i < 150; i++)
		v9_record_a(e, i, V4("10.2.2.2"), 25, i);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, &ex, e, &c), 150);
	assert_true(c.calls >= 3);
	for (unsigned i = 0; i < 150; i++) {
		assert_int_equal(p25_addr_v4(&c.v[i].src), i);
		assert_int_equal(c.v[i].bytes, i);
	}
	assert_int_equal(st->seq_gaps, 0);

	/* Two packets lost. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 81, 42);
	p25_fenc_set_begin(e, 256);
	v9_record_a(e, 1, 2, 25, 1);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	assert_int_equal(st->seq_gaps, 1);
	assert_int_equal(st->missing_packets, 2);
	assert_int_equal(st->missing_records, 0);
	assert_int_equal(st->records, 153);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

static void test_v9_options_and_refresh(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	/* Options template 300: scope System (type 1, 4 bytes); sampling interval, algorithm. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 0);
	p25_fenc_set_begin(e, 1);
	p25_fenc_u16(e, 300);
	p25_fenc_u16(e, 4);
	p25_fenc_u16(e, 8);
	p25_fenc_field(e, 1, 4, 0);
	p25_fenc_field(e, 34, 4, 0);
	p25_fenc_field(e, 35, 1, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 300);
	for (int i = 0; i < 2; i++) {
		p25_fenc_u32(e, 0x0a000001);
		p25_fenc_u32(e, 100);
		p25_fenc_u8(e, 2);
		p25_fenc_record(e);
	}
	p25_fenc_set_end(e, 4);
	v9_template_a(e, 256);
	p25_fenc_set_begin(e, 256);
	v9_record_a(e, V4("10.0.0.9"), V4("10.0.0.10"), 25, 99);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->options_records, 2);
	assert_int_equal(st->templates, 2);
	assert_int_equal(st->malformed_packets + st->malformed_sets, 0);
	assert_int_equal(c.v[0].bytes, 99);

	/* Refresh, same layout: nothing changes. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 0);
	v9_template_a(e, 256);
	p25_fenc_set_begin(e, 256);
	v9_record_a(e, 1, 2, 25, 100);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->templates, 3);
	assert_int_equal(st->template_changes, 0);

	/* Refresh with a new layout: the data after it follows the new one. */
	coll_reset(&c);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 3, 0);
	v9_template_b(e, 256);
	p25_fenc_set_begin(e, 256);
	v9_record_b(e, V4("10.9.9.9"), V4("10.8.8.8"), 25, 1ull << 40);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->template_changes, 1);
	assert_v4(&c.v[0].src, "10.9.9.9");
	assert_v4(&c.v[0].dst, "10.8.8.8");
	assert_int_equal(c.v[0].bytes, 1ull << 40);
	assert_int_equal(c.v[0].protocol, 17);
	assert_int_equal(c.v[0].first_ms, 1699999999123ll);
	assert_int_equal(c.v[0].last_ms, 1699999999999ll);
	assert_int_equal(c.v[0].packets, 0);
	assert_int_equal(c.v[0].sport, 0);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* Same template id, different layouts: per source id and per exporter. */
static void test_v9_template_scopes(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	struct p25_flow_exporter x = EXP("192.0.2.10", 2055), y = EXP("192.0.2.11", 2055);
	struct p25_flow_exporter x2 = EXP("192.0.2.10", 2056);
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 1);
	v9_template_a(e, 260);
	assert_int_equal(decode(d, &x, e, &c), 0);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 2);
	v9_template_b(e, 260);
	assert_int_equal(decode(d, &x, e, &c), 0);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 1);
	v9_template_b(e, 260);
	assert_int_equal(decode(d, &y, e, &c), 0);

	/* Source id 1 of x: layout A. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 1);
	p25_fenc_set_begin(e, 260);
	v9_record_a(e, V4("10.0.0.1"), V4("10.0.0.2"), 25, 111);
	assert_int_equal(decode(d, &x, e, &c), 1);
	/* Source id 2 of x: layout B. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 2);
	p25_fenc_set_begin(e, 260);
	v9_record_b(e, V4("10.0.0.3"), V4("10.0.0.4"), 25, 222);
	assert_int_equal(decode(d, &x, e, &c), 1);
	/* Exporter y, source id 1: layout B. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 1);
	p25_fenc_set_begin(e, 260);
	v9_record_b(e, V4("10.0.0.5"), V4("10.0.0.6"), 25, 333);
	assert_int_equal(decode(d, &y, e, &c), 1);
	/* Same address as x, other port: another exporter, no template. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 1);
	p25_fenc_set_begin(e, 260);
	v9_record_b(e, 1, 2, 25, 444);
	assert_int_equal(decode(d, &x2, e, &c), 0);
	assert_int_equal(st->unknown_template_sets, 1);

	assert_int_equal(c.n, 3);
	assert_v4(&c.v[0].src, "10.0.0.1");
	assert_int_equal(c.v[0].bytes, 111);
	assert_int_equal(c.v[0].domain, 1);
	assert_v4(&c.v[1].src, "10.0.0.3");
	assert_int_equal(c.v[1].bytes, 222);
	assert_int_equal(c.v[1].domain, 2);
	assert_v4(&c.v[2].src, "10.0.0.5");
	assert_int_equal(c.v[2].bytes, 333);
	assert_int_equal(c.v[0].exporter, c.v[1].exporter);
	assert_int_not_equal(c.v[0].exporter, c.v[2].exporter);
	assert_int_equal(p25_addr_v4(&p25_flow_decoder_exporter(d, c.v[2].exporter)->addr),
			 V4("192.0.2.11"));
	assert_int_equal(st->seq_gaps, 0);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* ---- IPFIX ---- */

static void ipfix_template_v4(struct p25_fenc *e, uint16_t id)
{
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, id);
	p25_fenc_u16(e, 9);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 12, 4, 0);
	p25_fenc_field(e, 7, 2, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 2, 8, 0);
	p25_fenc_field(e, 152, 8, 0);
	p25_fenc_field(e, 153, 8, 0);
	p25_fenc_set_end(e, 1);
}

static void ipfix_record_v4(struct p25_fenc *e, uint32_t src, uint16_t dport, uint64_t bytes)
{
	p25_fenc_u32(e, src);
	p25_fenc_u32(e, V4("203.0.113.25"));
	p25_fenc_u16(e, 50000);
	p25_fenc_u16(e, dport);
	p25_fenc_u8(e, 6);
	p25_fenc_u64(e, bytes);
	p25_fenc_u64(e, 3);
	p25_fenc_u64(e, 1700000000001ull);
	p25_fenc_u64(e, 1700000000002ull);
}

static void test_ipfix_basic_v6(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	struct p25_flow_exporter ex = EXP("198.51.100.1", 4739);
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	uint8_t a6[16], b6[16];
	inet_pton(AF_INET6, "2001:db8:1::25", a6);
	inet_pton(AF_INET6, "2001:db8:ffff::1", b6);

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 7);
	ipfix_template_v4(e, 256);
	/* IPv6 template with seconds, reduced-size counters and 2-byte tcpControlBits. */
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 257);
	p25_fenc_u16(e, 10);
	p25_fenc_field(e, 27, 16, 0);
	p25_fenc_field(e, 28, 16, 0);
	p25_fenc_field(e, 7, 2, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_field(e, 6, 2, 0);
	p25_fenc_field(e, 1, 2, 0);
	p25_fenc_field(e, 2, 1, 0);
	p25_fenc_field(e, 150, 4, 0);
	p25_fenc_field(e, 151, 4, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, V4("192.0.2.200"), 25, 123456789012ull);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 257);
	p25_fenc_bytes(e, a6, 16);
	p25_fenc_bytes(e, b6, 16);
	p25_fenc_u16(e, 25);
	p25_fenc_u16(e, 61000);
	p25_fenc_u8(e, 6);
	p25_fenc_u16(e, 0x0112);
	p25_fenc_u16(e, 65000);
	p25_fenc_u8(e, 200);
	p25_fenc_u32(e, EXPORT_SECS - 30);
	p25_fenc_u32(e, EXPORT_SECS - 1);
	p25_fenc_set_end(e, 4); /* padding */
	assert_int_equal(decode(d, &ex, e, &c), 2);
	assert_int_equal(st->malformed_packets + st->malformed_sets, 0);

	const struct p25_flow *f = &c.v[0];
	assert_v4(&f->src, "192.0.2.200");
	assert_v4(&f->dst, "203.0.113.25");
	assert_int_equal(f->sport, 50000);
	assert_int_equal(f->dport, 25);
	assert_int_equal(f->bytes, 123456789012ull);
	assert_int_equal(f->packets, 3);
	assert_int_equal(f->first_ms, 1700000000001ll);
	assert_int_equal(f->last_ms, 1700000000002ll);
	assert_int_equal(f->domain, 7);
	assert_int_equal(f->version, 10);
	f = &c.v[1];
	assert_v6(&f->src, "2001:db8:1::25");
	assert_v6(&f->dst, "2001:db8:ffff::1");
	assert_int_equal(f->sport, 25);
	assert_int_equal(f->dport, 61000);
	assert_int_equal(f->tcp_flags, 0x0112);
	assert_int_equal(f->bytes, 65000);
	assert_int_equal(f->packets, 200);
	assert_int_equal(f->first_ms, (int64_t)(EXPORT_SECS - 30) * 1000);
	assert_int_equal(f->last_ms, (int64_t)(EXPORT_SECS - 1) * 1000);

	/* IPFIX sequence numbers count data records: 2 so far. */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 2, 7);
	p25_fenc_set_begin(e, 256);
	for (int i = 0; i < 3; i++)
		ipfix_record_v4(e, 1, 25, 1);
	assert_int_equal(decode(d, &ex, e, &c), 3);
	assert_int_equal(st->seq_gaps, 0);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 5 + 10, 7);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 1, 25, 1);
	assert_int_equal(decode(d, &ex, e, &c), 1);
	assert_int_equal(st->seq_gaps, 1);
	assert_int_equal(st->missing_records, 10);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

static void test_ipfix_options_sysinit(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	const uint64_t init = 1699990000000ull;

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	/* Options template 400: scope observationDomainId, then systemInitTimeMilliseconds. */
	p25_fenc_set_begin(e, 3);
	p25_fenc_u16(e, 400);
	p25_fenc_u16(e, 2);
	p25_fenc_u16(e, 1);
	p25_fenc_field(e, 149, 4, 0);
	p25_fenc_field(e, 160, 8, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 400);
	p25_fenc_u32(e, 1);
	p25_fenc_u64(e, init);
	p25_fenc_set_end(e, 1);
	/* Data template with sysUpTime-relative times. */
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 500);
	p25_fenc_u16(e, 4);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 22, 4, 0);
	p25_fenc_field(e, 21, 4, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 500);
	p25_fenc_u32(e, V4("10.5.5.5"));
	p25_fenc_u16(e, 25);
	p25_fenc_u32(e, 5000);
	p25_fenc_u32(e, 9000);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->options_records, 1);
	assert_int_equal(c.v[0].first_ms, (int64_t)init + 5000);
	assert_int_equal(c.v[0].last_ms, (int64_t)init + 9000);
	assert_int_equal(c.v[0].dport, 25);
	assert_int_equal(c.v[0].dst.family, 0);

	/* Options records count in the IPFIX sequence too: 2 data records so far. */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 2, 1);
	p25_fenc_set_begin(e, 500);
	p25_fenc_u32(e, 1);
	p25_fenc_u16(e, 25);
	p25_fenc_u32(e, 1);
	p25_fenc_u32(e, 2);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->seq_gaps, 0);
	assert_int_equal(st->seq_resets, 0);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

static void test_ipfix_withdrawal(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	ipfix_template_v4(e, 256);
	ipfix_template_v4(e, 257);
	ipfix_template_v4(e, 258);
	p25_fenc_set_begin(e, 3);
	p25_fenc_u16(e, 600);
	p25_fenc_u16(e, 2);
	p25_fenc_u16(e, 1);
	p25_fenc_field(e, 149, 4, 0);
	p25_fenc_field(e, 160, 8, 0);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 0);
	assert_int_equal(st->templates, 4);

	/* Withdraw 256, then data for 256 (unknown) and 257 (still there). */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 1, 25, 1);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 257);
	ipfix_record_v4(e, 2, 25, 2);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(st->template_withdrawals, 1);
	assert_int_equal(st->unknown_template_sets, 1);
	assert_int_equal(p25_addr_v4(&c.v[0].src), 2);

	/* Withdraw all data templates: the options template stays. */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 2);
	p25_fenc_u16(e, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 258);
	ipfix_record_v4(e, 3, 25, 3);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 600);
	p25_fenc_u32(e, 1);
	p25_fenc_u64(e, 1);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 0);
	assert_int_equal(st->template_withdrawals, 3);
	assert_int_equal(st->unknown_template_sets, 2);
	assert_int_equal(st->options_records, 1);

	/* Withdraw all options templates (Options Template Set, id 3, 4-byte record). */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	p25_fenc_set_begin(e, 3);
	p25_fenc_u16(e, 3);
	p25_fenc_u16(e, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 600);
	p25_fenc_u32(e, 1);
	p25_fenc_u64(e, 1);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 0);
	assert_int_equal(st->template_withdrawals, 4);
	assert_int_equal(st->unknown_template_sets, 3);
	assert_int_equal(st->options_records, 1);
	assert_int_equal(st->malformed_sets + st->malformed_packets, 0);

	/* A template re-sent after withdrawal works again. */
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	ipfix_template_v4(e, 256);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 4, 25, 4);
	assert_int_equal(decode(d, NULL, e, &c), 1);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/*
 * Variable-length fields in both length forms, enterprise fields (fixed
 * and variable), reduced-size counters and set padding.
 */
static void ipfix_varlen_template(struct p25_fenc *e)
{
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 700);
	p25_fenc_u16(e, 9);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 82, 65535, 0);      /* interfaceName */
	p25_fenc_field(e, 1000, 6, 9);	      /* Cisco, fixed */
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 2000, 65535, 29305); /* enterprise, variable */
	p25_fenc_field(e, 1, 3, 0);	      /* 3-byte octetDeltaCount */
	p25_fenc_field(e, 2, 1, 0);
	p25_fenc_field(e, 12, 4, 0);
	p25_fenc_field(e, 4, 1, 0);
	p25_fenc_set_end(e, 1);
}

static void ipfix_varlen_record(struct p25_fenc *e, uint32_t src, size_t n1, bool long1,
				size_t n2, bool long2)
{
	static uint8_t junk[1000];
	memset(junk, 0xee, sizeof junk);
	p25_fenc_u32(e, src);
	p25_fenc_varlen(e, junk, n1, long1);
	p25_fenc_bytes(e, "\x01\x02\x03\x04\x05\x06", 6);
	p25_fenc_u16(e, 25);
	p25_fenc_varlen(e, junk, n2, long2);
	p25_fenc_uint(e, 0x123456, 3);
	p25_fenc_u8(e, 9);
	p25_fenc_u32(e, V4("192.0.2.25"));
	p25_fenc_u8(e, 6);
}

static void test_ipfix_varlen_enterprise(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	ipfix_varlen_template(e);
	p25_fenc_set_begin(e, 700);
	ipfix_varlen_record(e, 1, 5, false, 0, false);
	ipfix_varlen_record(e, 2, 300, true, 7, false);
	ipfix_varlen_record(e, 3, 0, false, 254, false);
	ipfix_varlen_record(e, 4, 3, true, 255, true);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, NULL, e, &c), 4);
	assert_int_equal(st->malformed_sets + st->malformed_packets, 0);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(p25_addr_v4(&c.v[i].src), i + 1);
		assert_v4(&c.v[i].dst, "192.0.2.25");
		assert_int_equal(c.v[i].dport, 25);
		assert_int_equal(c.v[i].bytes, 0x123456);
		assert_int_equal(c.v[i].packets, 9);
		assert_int_equal(c.v[i].protocol, 6);
	}

	/* A variable length running past the set: the set is dropped, the next set decodes. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 4, 1);
	p25_fenc_set_begin(e, 700);
	ipfix_varlen_record(e, 5, 1, false, 1, false);
	p25_fenc_u32(e, 6);
	p25_fenc_u8(e, 200); /* claims 200 bytes; the set has fewer */
	p25_fenc_bytes(e, "abcdefghijklmnopqrstuvwxyz", 26);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 700);
	ipfix_varlen_record(e, 7, 2, false, 2, false);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 2);
	assert_int_equal(st->malformed_sets, 1);
	assert_int_equal(p25_addr_v4(&c.v[0].src), 5);
	assert_int_equal(p25_addr_v4(&c.v[1].src), 7);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* Broken sets are skipped by their length; the rest of the packet still decodes. */
static void test_bad_sets_skipped(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	/* Data for a template not yet known. */
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 9, 25, 9);
	p25_fenc_set_end(e, 1);
	ipfix_template_v4(e, 256);
	/* A template whose field count overruns its set. */
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 999);
	p25_fenc_u16(e, 50);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_set_end(e, 1);
	/* A template of zero-length fields: no record could be framed. */
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 998);
	p25_fenc_u16(e, 1);
	p25_fenc_field(e, 8, 0, 0);
	p25_fenc_set_end(e, 1);
	/* A data set shorter than one record. */
	p25_fenc_set_begin(e, 256);
	p25_fenc_u32(e, 0);
	p25_fenc_set_end(e, 1);
	/* Reserved set ids are ignored. */
	p25_fenc_set_begin(e, 100);
	p25_fenc_u32(e, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 10, 25, 10);
	ipfix_record_v4(e, 11, 25, 11);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 2);
	assert_int_equal(st->unknown_template_sets, 1);
	assert_int_equal(st->malformed_sets, 2);
	assert_int_equal(st->templates_dropped, 1);
	assert_int_equal(st->templates, 1);
	assert_int_equal(p25_addr_v4(&c.v[0].src), 10);
	assert_int_equal(p25_addr_v4(&c.v[1].src), 11);

	/* A set length beyond the message: what came before it still counts. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 12, 25, 12);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 13, 25, 13);
	p25_fenc_set_end(e, 1);
	size_t len = p25_fenc_finish(e);
	e->buf[len - 45 - 4 + 2] = 0xff; /* second set's length */
	assert_int_equal(p25_flow_decode(d, NULL, e->buf, len, collect, &c), 1);
	assert_int_equal(p25_addr_v4(&c.v[0].src), 12);
	assert_int_equal(st->malformed_packets, 1);

	/* Versions and sizes that are no export packet at all. */
	uint8_t junk[64] = {0, 7};
	assert_int_equal(p25_flow_decode(d, NULL, junk, sizeof junk, collect, &c), -1);
	assert_int_equal(p25_flow_decode(d, NULL, junk, 1, collect, &c), -1);
	assert_int_equal(p25_flow_decode(d, NULL, junk, 0, collect, &c), -1);
	assert_int_equal(st->not_flow, 3);
	junk[1] = 10;
	junk[3] = 8; /* IPFIX length below the header */
	assert_int_equal(p25_flow_decode(d, NULL, junk, sizeof junk, collect, &c), -1);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* Every time encoding, in fixed and variable-length templates. */
static void test_ipfix_times(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const uint64_t init = 1699000000000ull;
	const uint64_t ntp = (uint64_t)(1700000000u + 2208988800u) << 32 | 0x40000000u;

	for (int varlen = 0; varlen < 2; varlen++) {
		coll_reset(&c);
		p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
		p25_fenc_set_begin(e, 2);
		p25_fenc_u16(e, 256);
		p25_fenc_u16(e, varlen ? 4 : 3);
		/* Uptimes before the init time they are relative to. */
		p25_fenc_field(e, 22, 4, 0);
		p25_fenc_field(e, 21, 4, 0);
		if (varlen)
			p25_fenc_field(e, 82, 65535, 0);
		p25_fenc_field(e, 160, 8, 0);
		p25_fenc_set_end(e, 1);
		p25_fenc_set_begin(e, 2);
		p25_fenc_u16(e, 257);
		p25_fenc_u16(e, varlen ? 3 : 2);
		p25_fenc_field(e, 154, 8, 0);
		if (varlen)
			p25_fenc_field(e, 82, 65535, 0);
		p25_fenc_field(e, 159, 4, 0);
		p25_fenc_set_end(e, 1);
		p25_fenc_set_begin(e, 256);
		p25_fenc_u32(e, 1000);
		p25_fenc_u32(e, 2500);
		if (varlen)
			p25_fenc_varlen(e, "ge-0/0/0", 8, false);
		p25_fenc_u64(e, init);
		p25_fenc_set_end(e, 1);
		p25_fenc_set_begin(e, 257);
		p25_fenc_u64(e, ntp);
		if (varlen)
			p25_fenc_varlen(e, "x", 1, true);
		p25_fenc_u32(e, 5000000);
		p25_fenc_set_end(e, 1);
		assert_int_equal(decode(d, NULL, e, &c), 2);
		assert_int_equal(c.v[0].first_ms, (int64_t)init + 1000);
		assert_int_equal(c.v[0].last_ms, (int64_t)init + 2500);
		assert_int_equal(c.v[1].first_ms, 1700000000250ll);
		assert_int_equal(c.v[1].last_ms, (int64_t)EXPORT_SECS * 1000 - 5000);
	}
	/* No init time known: relative times are unknown, not wrong. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 2);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, 1);
	p25_fenc_field(e, 22, 4, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	p25_fenc_u32(e, 1000);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(c.v[0].first_ms, 0);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* Extreme values in wide fields: no arithmetic overflow (the sanitizer build checks). */
static void test_extreme_values(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	static const uint16_t types[] = {150, 151, 152, 153, 154, 155, 158, 159, 22, 21, 160, 1, 2};

	p25_fenc_ipfix_header(e, 0xffffffffu, 0, 1);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, sizeof types / sizeof types[0]);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		p25_fenc_field(e, types[i], 8, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		p25_fenc_u64(e, UINT64_MAX - i);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(c.v[0].bytes, UINT64_MAX - 11);
	assert_int_equal(c.v[0].packets, UINT64_MAX - 12);

	/* The same through NetFlow v9 with 8-byte uptimes. */
	p25_fenc_v9_header(e, 0xffffffffu, 0xffffffffu, 0, 1);
	p25_fenc_set_begin(e, 0);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, sizeof types / sizeof types[0]);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		p25_fenc_field(e, types[i], 8, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 256);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		p25_fenc_u64(e, UINT64_MAX - i);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* ---- Truncation at every byte ---- */

struct cut_point {
	size_t end;	/* offset where a set ends */
	size_t flows; /* flows in the packet up to there */
};

static void check_cuts(const uint8_t *pkt, size_t len, const struct cut_point *pts, size_t npts,
		       const uint8_t *prime, size_t prime_len)
{
	struct coll c = {0};
	for (size_t cut = 0; cut < len; cut++) {
		struct p25_flow_decoder *d = p25_flow_decoder_new();
		if (prime)
			p25_flow_decode(d, NULL, prime, prime_len, collect, &c);
		coll_reset(&c);
		/* A copy of exactly cut bytes, so the sanitizers see any overread. */
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, pkt, cut);
		p25_flow_decode(d, NULL, copy, cut, collect, &c);
		free(copy);
		size_t want = 0;
		for (size_t i = 0; i < npts; i++)
			if (pts[i].end <= cut)
				want = pts[i].flows;
		const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
		if (c.n != want)
			fail_msg("cut at %zu of %zu: %zu records, want %zu", cut, len, c.n, want);
		if (st->malformed_packets + st->malformed_sets + st->not_flow == 0)
			fail_msg("cut at %zu of %zu: no error counted", cut, len);
		p25_flow_decoder_free(d);
	}
	free(c.v);
}

static void test_truncation(void **state)
{
	struct p25_fenc *e = malloc(sizeof *e);
	struct p25_fenc *prime = malloc(sizeof *prime);
	struct cut_point pts[8];
	size_t n;

	/* v5: records are whole or gone. */
	p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, 1, 0, 0);
	for (unsigned i = 0; i < 5; i++) {
		p25_fenc_v5_record(e, i, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
		pts[i] = (struct cut_point){e->len, i + 1};
	}
	size_t len = p25_fenc_finish(e);
	check_cuts(e->buf, len, pts, 5, NULL, 0);

	/* v9: template, data, options template, options data, data. */
	n = 0;
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 0);
	v9_template_a(e, 256);
	p25_fenc_set_begin(e, 256);
	for (unsigned i = 0; i < 3; i++)
		v9_record_a(e, i, 2, 25, 1);
	p25_fenc_set_end(e, 4);
	pts[n++] = (struct cut_point){e->len, 3};
	p25_fenc_set_begin(e, 1);
	p25_fenc_u16(e, 300);
	p25_fenc_u16(e, 4);
	p25_fenc_u16(e, 4);
	p25_fenc_field(e, 1, 4, 0);
	p25_fenc_field(e, 34, 4, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 300);
	p25_fenc_u32(e, 1);
	p25_fenc_u32(e, 2);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 256);
	for (unsigned i = 0; i < 2; i++)
		v9_record_a(e, i, 2, 25, 1);
	p25_fenc_set_end(e, 4);
	pts[n++] = (struct cut_point){e->len, 5};
	len = p25_fenc_finish(e);
	check_cuts(e->buf, len, pts, n, NULL, 0);

	/* IPFIX with variable-length records, the template known beforehand. */
	p25_fenc_ipfix_header(prime, EXPORT_SECS, 0, 0);
	ipfix_varlen_template(prime);
	ipfix_template_v4(prime, 256);
	size_t prime_len = p25_fenc_finish(prime);
	n = 0;
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 0);
	p25_fenc_set_begin(e, 700);
	ipfix_varlen_record(e, 1, 5, false, 0, false);
	ipfix_varlen_record(e, 2, 300, true, 7, false);
	p25_fenc_set_end(e, 4);
	pts[n++] = (struct cut_point){e->len, 2};
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 3, 25, 1);
	p25_fenc_set_end(e, 1);
	pts[n++] = (struct cut_point){e->len, 3};
	ipfix_template_v4(e, 257);
	p25_fenc_set_begin(e, 257);
	ipfix_record_v4(e, 4, 25, 1);
	p25_fenc_set_end(e, 1);
	pts[n++] = (struct cut_point){e->len, 4};
	len = p25_fenc_finish(e);
	check_cuts(e->buf, len, pts, n, prime->buf, prime_len);

	free(prime);
	free(e);
}

/* Random bytes, half of them with a plausible header: no crash, counters consistent. */
static void test_garbage(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct coll c = {0};
	struct p25_fenc *e = malloc(sizeof *e);
	uint8_t buf[1500];
	uint64_t x = 88172645463325252ull;

	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;
		for (size_t i = 0; i < sizeof buf; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		len = x % sizeof buf;
		if (iter & 1) {
			static const uint8_t v[] = {5, 9, 10};
			buf[0] = 0;
			buf[1] = v[(x >> 20) % 3];
			/* Make the first set header sometimes plausible. */
			if (buf[1] == 10 && len > 4) {
				buf[2] = (uint8_t)(len >> 8);
				buf[3] = (uint8_t)len;
			}
			if (iter & 2) {
				size_t h = buf[1] == 10 ? 16 : 20;
				if (len > h + 4) {
					buf[h] = 0;
					buf[h + 1] = (uint8_t)((x >> 30) % 4);
				}
			}
		}
		coll_reset(&c);
		struct p25_flow_exporter ex = {.port = (uint16_t)(iter % 7)};
		p25_flow_decode(d, &ex, buf, len, collect, &c);
	}
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	assert_int_equal(st->packets, 20000);
	assert_int_equal(st->packets, st->packets_v5 + st->packets_v9 + st->packets_ipfix + st->not_flow);

	/* The decoder still works for a well-formed exporter afterwards. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 1);
	ipfix_template_v4(e, 256);
	p25_fenc_set_begin(e, 256);
	ipfix_record_v4(e, 77, 25, 1);
	struct p25_flow_exporter good = EXP("192.0.2.99", 1);
	assert_int_equal(decode(d, &good, e, &c), 1);
	assert_int_equal(p25_addr_v4(&c.v[0].src), 77);

	free(e);
	free(c.v);
	p25_flow_decoder_free(d);
}

/* ---- sampling ---- */

static void test_sampling_v5(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	static const struct {
		unsigned mode, interval, want;
	} cases[] = {{0, 0, 0}, {1, 100, 100}, {2, 0x3fff, 16383}, {0, 1, 1}, {3, 0, 0}};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		coll_reset(&c);
		p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, (uint32_t)i * 2, 0, 0);
		p25_fenc_v5_sampling(e, cases[i].mode, cases[i].interval);
		p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 10, 400, SYSUP, SYSUP, 0, 0);
		p25_fenc_v5_record(e, 1, 2, 3, 25, 6, 2, 10, 400, SYSUP, SYSUP, 0, 0);
		assert_int_equal(decode(d, NULL, e, &c), 2);
		assert_int_equal(c.v[0].sampling, cases[i].want);
		assert_int_equal(c.v[1].sampling, cases[i].want);
		/* Counts are reported as sampled, not scaled. */
		assert_int_equal(c.v[0].bytes, 400);
		assert_int_equal(c.v[0].packets, 10);
	}
	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* v9 data template: src, dport, bytes, then FLOW_SAMPLER_ID (1 byte) when with_sampler. */
static void v9_template_s(struct p25_fenc *e, uint16_t id, bool with_sampler, bool inline_rate)
{
	p25_fenc_set_begin(e, 0);
	p25_fenc_u16(e, id);
	p25_fenc_u16(e, (uint16_t)(3 + with_sampler + inline_rate));
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 11, 2, 0);
	p25_fenc_field(e, 1, 4, 0);
	if (with_sampler)
		p25_fenc_field(e, 48, 1, 0);
	if (inline_rate)
		p25_fenc_field(e, 34, 4, 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
}

static void v9_record_s(struct p25_fenc *e, uint32_t bytes, int sampler, uint32_t rate)
{
	p25_fenc_u32(e, V4("10.0.0.1"));
	p25_fenc_u16(e, 25);
	p25_fenc_u32(e, bytes);
	if (sampler >= 0)
		p25_fenc_u8(e, (uint8_t)sampler);
	if (rate != UINT32_MAX)
		p25_fenc_u32(e, rate);
	p25_fenc_record(e);
}

static void test_sampling_v9(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	struct p25_flow_exporter x = EXP("192.0.2.10", 2055);
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	/* Before any options data: unknown. */
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 7);
	v9_template_s(e, 256, true, false);
	v9_template_s(e, 257, false, false);
	v9_template_s(e, 258, false, true);
	p25_fenc_set_begin(e, 256);
	v9_record_s(e, 1, 1, UINT32_MAX);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, &x, e, &c), 1);
	assert_int_equal(c.v[0].sampling, 0);

	/*
	 * Cisco's sampler options: scope System, FLOW_SAMPLER_ID, _MODE,
	 * _RANDOM_INTERVAL; sampler 1 1:64, sampler 2 1:1000.  The records
	 * after them in the same packet use them.
	 */
	coll_reset(&c);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 2, 7);
	p25_fenc_set_begin(e, 1);
	p25_fenc_options_template(e, 300, 1, 4);
	p25_fenc_field(e, 1, 4, 0);
	p25_fenc_field(e, 48, 1, 0);
	p25_fenc_field(e, 49, 1, 0);
	p25_fenc_field(e, 50, 4, 0);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 300);
	p25_fenc_u32(e, 0);
	p25_fenc_u8(e, 1);
	p25_fenc_u8(e, 2);
	p25_fenc_u32(e, 64);
	p25_fenc_record(e);
	p25_fenc_u32(e, 0);
	p25_fenc_u8(e, 2);
	p25_fenc_u8(e, 2);
	p25_fenc_u32(e, 1000);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 256);
	v9_record_s(e, 10, 2, UINT32_MAX);
	v9_record_s(e, 11, 1, UINT32_MAX);
	v9_record_s(e, 12, 9, UINT32_MAX); /* unknown sampler: the last announced */
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 257);
	v9_record_s(e, 13, -1, UINT32_MAX);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, &x, e, &c), 4);
	assert_int_equal(st->options_records, 2);
	assert_int_equal(c.v[0].sampling, 1000);
	assert_int_equal(c.v[1].sampling, 64);
	assert_int_equal(c.v[2].sampling, 1000);
	assert_int_equal(c.v[3].sampling, 1000);

	/* An options record without a sampler (SAMPLING_INTERVAL 34): the session's rate. */
	coll_reset(&c);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 3, 7);
	p25_fenc_set_begin(e, 1);
	p25_fenc_options_template(e, 301, 1, 3);
	p25_fenc_field(e, 1, 4, 0);
	p25_fenc_field(e, 34, 4, 0);
	p25_fenc_field(e, 35, 1, 0);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 301);
	p25_fenc_u32(e, 0);
	p25_fenc_u32(e, 10);
	p25_fenc_u8(e, 1);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 256);
	v9_record_s(e, 20, 1, UINT32_MAX);
	v9_record_s(e, 21, 5, UINT32_MAX);
	p25_fenc_set_end(e, 4);
	p25_fenc_set_begin(e, 257);
	v9_record_s(e, 22, -1, UINT32_MAX);
	p25_fenc_set_end(e, 4);
	/* Inline SAMPLING_INTERVAL wins; 0 there means "not said". */
	p25_fenc_set_begin(e, 258);
	v9_record_s(e, 23, -1, 4096);
	v9_record_s(e, 24, -1, 0);
	p25_fenc_set_end(e, 4);
	assert_int_equal(decode(d, &x, e, &c), 5);
	assert_int_equal(c.v[0].sampling, 64);
	assert_int_equal(c.v[1].sampling, 10);
	assert_int_equal(c.v[2].sampling, 10);
	assert_int_equal(c.v[3].sampling, 4096);
	assert_int_equal(c.v[4].sampling, 10);
	assert_int_equal(c.v[3].bytes, 23);

	/* The next packet keeps the session's rates; another source id has none. */
	coll_reset(&c);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 4, 7);
	p25_fenc_set_begin(e, 257);
	v9_record_s(e, 30, -1, UINT32_MAX);
	assert_int_equal(decode(d, &x, e, &c), 1);
	assert_int_equal(c.v[0].sampling, 10);
	p25_fenc_v9_header(e, SYSUP, EXPORT_SECS, 1, 8);
	v9_template_s(e, 257, false, false);
	p25_fenc_set_begin(e, 257);
	v9_record_s(e, 31, -1, UINT32_MAX);
	assert_int_equal(decode(d, &x, e, &c), 1);
	assert_int_equal(c.v[1].sampling, 0);
	assert_int_equal(st->malformed_packets + st->malformed_sets, 0);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

static void test_sampling_ipfix(void **state)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_fenc *e = malloc(sizeof *e);
	struct coll c = {0};
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);

	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 3);
	/* PSAMP: scope selectorId; samplingPacketInterval 1, samplingPacketSpace 99: 1 in 100. */
	p25_fenc_set_begin(e, 3);
	p25_fenc_options_template(e, 400, 1, 3);
	p25_fenc_field(e, 302, 8, 0);
	p25_fenc_field(e, 305, 4, 0);
	p25_fenc_field(e, 306, 4, 0);
	p25_fenc_set_end(e, 1);
	/* Scope observationDomainId; samplerRandomInterval 512. */
	p25_fenc_set_begin(e, 3);
	p25_fenc_options_template(e, 401, 1, 2);
	p25_fenc_field(e, 149, 4, 0);
	p25_fenc_field(e, 50, 4, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 400);
	p25_fenc_u64(e, 5);
	p25_fenc_u32(e, 1);
	p25_fenc_u32(e, 99);
	p25_fenc_u64(e, 6);
	p25_fenc_u32(e, 10);
	p25_fenc_u32(e, 20); /* 30 / 10: 1 in 3 */
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 401);
	p25_fenc_u32(e, 3);
	p25_fenc_u32(e, 512);
	p25_fenc_set_end(e, 1);
	/* Data: selectorId (reduced to 4 bytes); then one with inline interval and space. */
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 500);
	p25_fenc_u16(e, 3);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 302, 4, 0);
	p25_fenc_u16(e, 501);
	p25_fenc_u16(e, 4);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 305, 2, 0);
	p25_fenc_field(e, 306, 2, 0);
	/* Variable-length: an application name, then samplingInterval. */
	p25_fenc_u16(e, 502);
	p25_fenc_u16(e, 4);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_field(e, 96, 0xffff, 0);
	p25_fenc_field(e, 34, 4, 0);
	p25_fenc_u16(e, 503);
	p25_fenc_u16(e, 2);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 500);
	const uint32_t sel[] = {5, 6, 7};
	for (int i = 0; i < 3; i++) {
		p25_fenc_u32(e, V4("10.0.0.1"));
		p25_fenc_u64(e, 100 + (uint64_t)i);
		p25_fenc_u32(e, sel[i]);
	}
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 501);
	const uint16_t iv[][2] = {{2, 3}, {1, 0}, {0, 50}};
	for (int i = 0; i < 3; i++) {
		p25_fenc_u32(e, V4("10.0.0.2"));
		p25_fenc_u64(e, 200 + (uint64_t)i);
		p25_fenc_u16(e, iv[i][0]);
		p25_fenc_u16(e, iv[i][1]);
	}
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 502);
	p25_fenc_u32(e, V4("10.0.0.3"));
	p25_fenc_u64(e, 300);
	p25_fenc_varlen(e, "smtp", 4, false);
	p25_fenc_u32(e, 2048);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 503);
	p25_fenc_u32(e, V4("10.0.0.4"));
	p25_fenc_u64(e, 400);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 8);
	assert_int_equal(st->options_records, 3);
	assert_int_equal(st->malformed_packets + st->malformed_sets, 0);
	assert_int_equal(c.v[0].sampling, 100);
	assert_int_equal(c.v[1].sampling, 3);
	assert_int_equal(c.v[2].sampling, 512); /* unknown selector: the domain's rate */
	assert_int_equal(c.v[3].sampling, 3);   /* (2 + 3) / 2, rounded */
	assert_int_equal(c.v[4].sampling, 1);   /* every packet */
	assert_int_equal(c.v[5].sampling, 512); /* interval 0: not said */
	assert_int_equal(c.v[6].sampling, 2048);
	assert_int_equal(c.v[7].sampling, 512);
	assert_int_equal(c.v[0].bytes, 100);
	assert_int_equal(c.v[6].bytes, 300);

	/* Another observation domain of the same exporter: nothing known. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 0, 4);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 503);
	p25_fenc_u16(e, 2);
	p25_fenc_field(e, 8, 4, 0);
	p25_fenc_field(e, 1, 8, 0);
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 503);
	p25_fenc_u32(e, V4("10.0.0.4"));
	p25_fenc_u64(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(c.v[0].sampling, 0);

	/* More samplers than a session remembers: no crash, the newest are known. */
	coll_reset(&c);
	p25_fenc_ipfix_header(e, EXPORT_SECS, 8, 3);
	p25_fenc_set_begin(e, 400);
	for (uint64_t id = 100; id < 120; id++) {
		p25_fenc_u64(e, id);
		p25_fenc_u32(e, 1);
		p25_fenc_u32(e, (uint32_t)id);
	}
	p25_fenc_set_end(e, 1);
	p25_fenc_set_begin(e, 500);
	p25_fenc_u32(e, V4("10.0.0.1"));
	p25_fenc_u64(e, 1);
	p25_fenc_u32(e, 119);
	p25_fenc_set_end(e, 1);
	assert_int_equal(decode(d, NULL, e, &c), 1);
	assert_int_equal(c.v[0].sampling, 120);

	free(c.v);
	free(e);
	p25_flow_decoder_free(d);
}

/* ---- pcap ---- */

static size_t ip4_udp(uint8_t *o, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		      const uint8_t *payload, size_t plen, uint16_t frag, uint8_t proto)
{
	size_t tot = 20 + 8 + plen;
	memset(o, 0, 28);
	o[0] = 0x45;
	o[2] = (uint8_t)(tot >> 8);
	o[3] = (uint8_t)tot;
	o[6] = (uint8_t)(frag >> 8);
	o[7] = (uint8_t)frag;
	o[8] = 64;
	o[9] = proto;
	for (int i = 0; i < 4; i++) {
		o[12 + i] = (uint8_t)(src >> (24 - 8 * i));
		o[16 + i] = (uint8_t)(dst >> (24 - 8 * i));
	}
	o[20] = (uint8_t)(sport >> 8);
	o[21] = (uint8_t)sport;
	o[22] = (uint8_t)(dport >> 8);
	o[23] = (uint8_t)dport;
	o[24] = (uint8_t)((8 + plen) >> 8);
	o[25] = (uint8_t)(8 + plen);
	memcpy(o + 28, payload, plen);
	return tot;
}

static size_t ip6_udp(uint8_t *o, const char *src, uint16_t sport, uint16_t dport,
		      const uint8_t *payload, size_t plen, bool hop_by_hop)
{
	size_t ext = hop_by_hop ? 8 : 0;
	memset(o, 0, 40 + ext + 8);
	o[0] = 0x60;
	o[4] = (uint8_t)((ext + 8 + plen) >> 8);
	o[5] = (uint8_t)(ext + 8 + plen);
	o[6] = hop_by_hop ? 0 : 17;
	o[7] = 64;
	inet_pton(AF_INET6, src, o + 8);
	inet_pton(AF_INET6, "2001:db8::ffff", o + 24);
	if (hop_by_hop)
		o[40] = 17; /* next header; length 0 = 8 bytes */
	uint8_t *u = o + 40 + ext;
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[4] = (uint8_t)((8 + plen) >> 8);
	u[5] = (uint8_t)(8 + plen);
	memcpy(u + 8, payload, plen);
	return 40 + ext + 8 + plen;
}

static void dump(pcap_dumper_t *pd, const uint8_t *frame, size_t len)
{
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
	pcap_dump((u_char *)pd, &h, frame);
}

static void test_pcap(void **state)
{
	struct p25_fenc *v5 = malloc(sizeof *v5), *fx = malloc(sizeof *fx);
	static uint8_t frame[70000];
	char path[] = "/tmp/p25_flow_pcap_XXXXXX";
	char err[256];
	struct coll c = {0};

	p25_fenc_v5_header(v5, SYSUP, EXPORT_SECS, 0, 1, 0, 0);
	p25_fenc_v5_record(v5, V4("10.0.0.25"), 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
	size_t v5len = p25_fenc_finish(v5);
	p25_fenc_ipfix_header(fx, EXPORT_SECS, 0, 1);
	ipfix_template_v4(fx, 256);
	p25_fenc_set_begin(fx, 256);
	ipfix_record_v4(fx, V4("10.0.0.26"), 25, 1);
	size_t fxlen = p25_fenc_finish(fx);

	int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW};
	for (size_t k = 0; k < sizeof dlts / sizeof dlts[0]; k++) {
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		close(fd);
		pcap_t *pc = pcap_open_dead(dlts[k], 65535);
		pcap_dumper_t *pd = pcap_dump_open(pc, path);
		assert_non_null(pd);
		for (int pkt = 0; pkt < 5; pkt++) {
			size_t hl, n;
			uint16_t et = pkt == 1 ? 0x86dd : 0x0800;
			uint8_t *ip;
			switch (dlts[k]) {
			case DLT_EN10MB:
				memset(frame, 0, 18);
				/* Ethernet with one 802.1Q tag. */
				frame[12] = 0x81;
				frame[13] = 0x00;
				frame[16] = (uint8_t)(et >> 8);
				frame[17] = (uint8_t)et;
				hl = 18;
				break;
			case DLT_LINUX_SLL:
				memset(frame, 0, 16);
				frame[14] = (uint8_t)(et >> 8);
				frame[15] = (uint8_t)et;
				hl = 16;
				break;
			case DLT_LINUX_SLL2:
				memset(frame, 0, 20);
				frame[0] = (uint8_t)(et >> 8);
				frame[1] = (uint8_t)et;
				hl = 20;
				break;
			default:
				hl = 0;
			}
			ip = frame + hl;
			switch (pkt) {
			case 0: /* v5 over IPv4 */
				n = ip4_udp(ip, V4("192.0.2.5"), V4("192.0.2.100"), 1234, 2055, v5->buf, v5len, 0, 17);
				break;
			case 1: /* IPFIX over IPv6 with a hop-by-hop header */
				n = ip6_udp(ip, "2001:db8::5", 4321, 4739, fx->buf, fxlen, true);
				break;
			case 2: /* a fragment: skipped */
				n = ip4_udp(ip, V4("192.0.2.6"), V4("192.0.2.100"), 1, 2055, v5->buf, v5len, 0x2000, 17);
				break;
			case 3: /* TCP: skipped */
				n = ip4_udp(ip, V4("192.0.2.7"), V4("192.0.2.100"), 1, 2055, v5->buf, v5len, 0, 6);
				break;
			default: /* other destination port: filtered */
				n = ip4_udp(ip, V4("192.0.2.8"), V4("192.0.2.100"), 1, 53, v5->buf, v5len, 0, 17);
				break;
			}
			dump(pd, frame, hl + n);
		}
		pcap_dump_close(pd);
		pcap_close(pc);

		struct p25_flow_decoder *d = p25_flow_decoder_new();
		coll_reset(&c);
		long fed = p25_flow_read_pcap(path, 0, d, collect, &c, err, sizeof err);
		assert_int_equal(fed, 3);
		p25_flow_decoder_free(d);

		d = p25_flow_decoder_new();
		coll_reset(&c);
		fed = p25_flow_read_pcap(path, 2055, d, collect, &c, err, sizeof err);
		assert_int_equal(fed, 1);
		p25_flow_decoder_free(d);

		d = p25_flow_decoder_new();
		coll_reset(&c);
		fed = p25_flow_read_pcap(path, 4739, d, collect, &c, err, sizeof err);
		assert_int_equal(fed, 1);
		assert_int_equal(c.n, 1);
		assert_v4(&c.v[0].src, "10.0.0.26");
		const struct p25_flow_exporter *x = p25_flow_decoder_exporter(d, c.v[0].exporter);
		assert_v6(&x->addr, "2001:db8::5");
		assert_int_equal(x->port, 4321);
		p25_flow_decoder_free(d);

		d = p25_flow_decoder_new();
		coll_reset(&c);
		assert_int_equal(p25_flow_read_pcap(path, 0, d, collect, &c, err, sizeof err), 3);
		assert_int_equal(c.n, 3); /* the port 53 datagram is v5 too */
		assert_v4(&c.v[0].src, "10.0.0.25");
		x = p25_flow_decoder_exporter(d, c.v[0].exporter);
		assert_v4(&x->addr, "192.0.2.5");
		assert_int_equal(x->port, 1234);
		p25_flow_decoder_free(d);

		/*
		 * Read by the capture module: the same file gzip-compressed gives
		 * the same records, as the analyzer's packet captures do.
		 */
		if (k == 0) {
			char gz[sizeof path + 3];
			FILE *in = fopen(path, "rb");
			snprintf(gz, sizeof gz, "%s.gz", path);
			gzFile out = gzopen(gz, "wb");
			size_t got;
			assert_non_null(in);
			assert_non_null(out);
			while ((got = fread(frame, 1, 4096, in)) > 0)
				assert_int_equal(gzwrite(out, frame, (unsigned)got), (int)got);
			fclose(in);
			assert_int_equal(gzclose(out), Z_OK);
			d = p25_flow_decoder_new();
			coll_reset(&c);
			assert_int_equal(p25_flow_read_pcap(gz, 0, d, collect, &c, err, sizeof err), 3);
			assert_int_equal(c.n, 3);
			assert_v4(&c.v[0].src, "10.0.0.25");
			p25_flow_decoder_free(d);
			unlink(gz);
		}
		unlink(path);
		strcpy(path, "/tmp/p25_flow_pcap_XXXXXX");
	}

	/* A link type that carries no IP export (802.11 radio) is refused, naming the file. */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	pcap_t *pc = pcap_open_dead(DLT_IEEE802_11, 65535);
	pcap_dumper_t *pd = pcap_dump_open(pc, path);
	assert_non_null(pd);
	dump(pd, frame, 64);
	pcap_dump_close(pd);
	pcap_close(pc);
	struct p25_flow_decoder *d0 = p25_flow_decoder_new();
	assert_int_equal(p25_flow_read_pcap(path, 0, d0, collect, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "unsupported link type 105"));
	p25_flow_decoder_free(d0);
	unlink(path);

	struct p25_flow_decoder *d = p25_flow_decoder_new();
	assert_int_equal(p25_flow_read_pcap("/nonexistent/x.pcap", 0, d, collect, &c, err,
					    sizeof err),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/x.pcap"));
	p25_flow_decoder_free(d);
	free(c.v);
	free(v5);
	free(fx);
}

/* ---- pcap: IP fragments ---- */

static void dump_at(pcap_dumper_t *pd, const uint8_t *pkt, size_t len, long secs)
{
	struct pcap_pkthdr h = {.caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len};
	h.ts.tv_sec = secs;
	pcap_dump((u_char *)pd, &h, pkt);
}

/* An IPFIX message of n records (template first), bytes = base + i, about 45 n bytes. */
static size_t big_ipfix(struct p25_fenc *e, uint32_t seq, uint32_t base, unsigned n)
{
	p25_fenc_ipfix_header(e, EXPORT_SECS, seq, 1);
	if (base == 9000) {
		/* This one says it is sampled, 1 in 1000 (samplingInterval in options data). */
		p25_fenc_set_begin(e, 3);
		p25_fenc_options_template(e, 300, 1, 2);
		p25_fenc_field(e, 149, 4, 0);
		p25_fenc_field(e, 34, 4, 0);
		p25_fenc_set_end(e, 1);
		p25_fenc_set_begin(e, 300);
		p25_fenc_u32(e, 1);
		p25_fenc_u32(e, 1000);
		p25_fenc_set_end(e, 1);
	}
	ipfix_template_v4(e, 256);
	p25_fenc_set_begin(e, 256);
	for (unsigned i = 0; i < n; i++)
		ipfix_record_v4(e, V4("10.1.0.0") + i, 25, base + i);
	size_t len = p25_fenc_finish(e);
	assert_false(e->overflow);
	return len;
}

struct frags {
	uint8_t pkt[64][1600];
	size_t len[64];
	size_t n;
};

/* A UDP datagram as fragments of at most 1480 bytes of data each (1232 for IPv6). */
static void fragment(struct frags *fr, bool v6, const char *src, uint32_t id, uint16_t dport,
		     const struct p25_fenc *e, size_t plen)
{
	static uint8_t dgram[70000];
	uint8_t s[16] = {0}, d[16] = {0};
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, src, s), 1);
	assert_int_equal(
	    inet_pton(v6 ? AF_INET6 : AF_INET, v6 ? "2001:db8::ffff" : "192.0.2.100", d), 1);
	size_t dl = p25_fenc_udp(dgram, 40000, dport, e->buf, plen), chunk = v6 ? 1232 : 1480;
	fr->n = 0;
	for (size_t off = 0; off < dl; off += chunk) {
		size_t len = dl - off < chunk ? dl - off : chunk;
		assert_true(fr->n < 64);
		fr->len[fr->n] = p25_fenc_ip(fr->pkt[fr->n], v6, s, d, id, off, off + len < dl,
					     dgram + off, len);
		fr->n++;
	}
}

static long read_capture(const char *path, struct p25_flow_decoder *d, struct coll *c)
{
	char err[256];
	coll_reset(c);
	return p25_flow_read_pcap(path, 0, d, collect, c, err, sizeof err);
}

/* Records bytes base .. base + n - 1 are all in c, once. */
static void assert_records(const struct coll *c, uint64_t base, unsigned n)
{
	unsigned seen = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].bytes >= base && c->v[i].bytes < base + n) {
			assert_int_equal(c->v[i].dport, 25);
			seen++;
		}
	assert_int_equal(seen, n);
}

static void test_pcap_fragments(void **state)
{
	struct p25_fenc *e = malloc(sizeof *e);
	struct frags *a = malloc(sizeof *a), *b = malloc(sizeof *b), *v6 = malloc(sizeof *v6);
	static uint8_t pkt[2000];
	char path[] = "/tmp/p25_flow_frag_XXXXXX";
	struct coll c = {0};
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	/* A: 200 records, ~9 kB over IPv4; B: another, one fragment to be lost; C: over IPv6. */
	size_t alen = big_ipfix(e, 0, 1000, 200);
	assert_true(alen > 8000);
	fragment(a, false, "192.0.2.5", 7, 4739, e, alen);
	assert_int_equal(a->n, 7);
	size_t blen = big_ipfix(e, 200, 5000, 150);
	fragment(b, false, "192.0.2.5", 8, 4739, e, blen);
	size_t clen = big_ipfix(e, 0, 9000, 190);
	fragment(v6, true, "2001:db8::5", 0x10203, 4739, e, clen);
	assert_true(v6->n >= 7);

	pcap_t *pc = pcap_open_dead(DLT_RAW, 65535);
	pcap_dumper_t *pd = pcap_dump_open(pc, path);
	assert_non_null(pd);
	/* Last fragments first, the three datagrams interleaved, duplicates too. */
	for (size_t i = 0; i < 7; i++) {
		dump_at(pd, a->pkt[6 - i], a->len[6 - i], 100);
		if (i < b->n && i != 3) /* B's fourth fragment is lost */
			dump_at(pd, b->pkt[i], b->len[i], 100);
		dump_at(pd, v6->pkt[v6->n - 1 - i], v6->len[v6->n - 1 - i], 100);
		if (i == 2)
			dump_at(pd, a->pkt[5], a->len[5], 100);
	}
	for (size_t i = 7; i < v6->n; i++)
		dump_at(pd, v6->pkt[v6->n - 1 - i], v6->len[v6->n - 1 - i], 101);
	/* An unfragmented export packet after the incomplete one. */
	size_t slen = big_ipfix(e, 0, 20000, 3);
	uint8_t udp[400], s4[4] = {192, 0, 2, 6}, d4[4] = {192, 0, 2, 100};
	size_t ul = p25_fenc_udp(udp, 1, 4739, e->buf, slen);
	dump_at(pd, pkt, p25_fenc_ip(pkt, false, s4, d4, 0, 0, false, udp, ul), 102);
	pcap_dump_close(pd);
	pcap_close(pc);

	struct p25_flow_decoder *d = p25_flow_decoder_new();
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	assert_int_equal(read_capture(path, d, &c), 3);
	assert_int_equal(c.n, 200 + 190 + 3);
	assert_records(&c, 1000, 200);
	assert_records(&c, 9000, 190);
	assert_records(&c, 20000, 3);
	assert_records(&c, 5000, 0);
	assert_int_equal(st->ip_fragments, 7 + 1 + (b->n - 1) + v6->n);
	assert_int_equal(st->ip_reassembled, 2);
	assert_int_equal(st->ip_frag_incomplete, 1);
	assert_int_equal(st->ip_frag_invalid, 0);
	assert_int_equal(st->malformed_packets + st->malformed_sets, 0);
	/* The exporters are the reassembled datagrams' sources; C's records are sampled. */
	for (size_t i = 0; i < c.n; i++) {
		const struct p25_flow_exporter *x = p25_flow_decoder_exporter(d, c.v[i].exporter);
		bool in_c = c.v[i].bytes >= 9000 && c.v[i].bytes < 9190;
		assert_int_equal(c.v[i].sampling, in_c ? 1000 : 0);
		if (in_c)
			assert_v6(&x->addr, "2001:db8::5");
		else if (c.v[i].bytes >= 1000 && c.v[i].bytes < 1200)
			assert_v4(&x->addr, "192.0.2.5");
		assert_int_equal(x->port, c.v[i].bytes >= 20000 ? 1 : 40000);
	}
	p25_flow_decoder_free(d);

	/*
	 * Overlaps: A cut again at other boundaries over the first cut; the
	 * bytes first received are kept, so it decodes the same.  Then a
	 * fragment past 64 kB and a second, different end: ignored.
	 */
	pc = pcap_open_dead(DLT_RAW, 65535);
	pd = pcap_dump_open(pc, path);
	alen = big_ipfix(e, 0, 1000, 200);
	static uint8_t dgram[20000];
	uint8_t s4a[4] = {192, 0, 2, 5};
	size_t dl = p25_fenc_udp(dgram, 40000, 4739, e->buf, alen);
	dump_at(pd, pkt, p25_fenc_ip(pkt, false, s4a, d4, 9, 1000, true, dgram + 1000, 1600), 5);
	dump_at(pd, pkt, p25_fenc_ip(pkt, false, s4a, d4, 9, 65528, false, dgram, 16), 5);
	for (size_t off = 0; off < dl; off += 1200) {
		size_t len = dl - off < 1200 ? dl - off : 1200;
		if (off + len < dl)
			dump_at(pd, pkt,
				p25_fenc_ip(pkt, false, s4a, d4, 9, off, true, dgram + off, len),
				6);
		else
			dump_at(pd, pkt,
				p25_fenc_ip(pkt, false, s4a, d4, 9, off, false, dgram + off, len),
				6);
		if (off == 2400) /* an end before data already held */
			dump_at(pd, pkt,
				p25_fenc_ip(pkt, false, s4a, d4, 9, 8, false, dgram + 8, 8), 6);
	}
	pcap_dump_close(pd);
	pcap_close(pc);
	d = p25_flow_decoder_new();
	st = p25_flow_decoder_stats(d);
	assert_int_equal(read_capture(path, d, &c), 1);
	assert_int_equal(c.n, 200);
	assert_records(&c, 1000, 200);
	assert_int_equal(st->ip_reassembled, 1);
	assert_int_equal(st->ip_frag_invalid, 2);
	assert_int_equal(st->ip_frag_incomplete, 0);
	p25_flow_decoder_free(d);

	/*
	 * Bounds: a datagram whose last fragment comes 31 s after its first
	 * times out; 70 datagrams missing their last fragment overflow the 64
	 * slots, and the oldest go; a whole one after all that still decodes.
	 */
	pc = pcap_open_dead(DLT_RAW, 65535);
	pd = pcap_dump_open(pc, path);
	alen = big_ipfix(e, 0, 1000, 200);
	fragment(a, false, "192.0.2.5", 1, 4739, e, alen);
	for (size_t i = 0; i + 1 < a->n; i++)
		dump_at(pd, a->pkt[i], a->len[i], 1000);
	dump_at(pd, a->pkt[a->n - 1], a->len[a->n - 1], 1031);
	for (uint32_t id = 100; id < 170; id++) {
		fragment(b, false, "192.0.2.7", id, 4739, e, alen);
		dump_at(pd, b->pkt[0], b->len[0], 1031);
	}
	fragment(a, true, "2001:db8::7", 2, 4739, e, alen);
	for (size_t i = 0; i < a->n; i++)
		dump_at(pd, a->pkt[(i + 3) % a->n], a->len[(i + 3) % a->n], 1032);
	pcap_dump_close(pd);
	pcap_close(pc);
	d = p25_flow_decoder_new();
	st = p25_flow_decoder_stats(d);
	assert_int_equal(read_capture(path, d, &c), 1);
	assert_int_equal(c.n, 200);
	assert_int_equal(st->ip_reassembled, 1);
	/* The timed-out one (twice: its head, then its lone tail at the end), 70 partial. */
	assert_int_equal(st->ip_frag_incomplete, 1 + 1 + 70);
	p25_flow_decoder_free(d);

	/* Garbage fragments: no crash, nothing decoded. */
	pc = pcap_open_dead(DLT_RAW, 65535);
	pd = pcap_dump_open(pc, path);
	for (unsigned i = 0; i < 3000; i++) {
		size_t len = 8 + (i * 7919u) % 1400;
		for (size_t j = 0; j < len; j++)
			dgram[j] = (uint8_t)(i * 31 + j * 17);
		size_t off = ((i * 104729u) % 8200) * 8;
		bool v6f = i % 3 == 0;
		uint8_t s16[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)(i % 5)};
		dump_at(
		    pd, pkt,
		    p25_fenc_ip(pkt, v6f, v6f ? s16 : s4, s16, i % 7, off, i % 4 != 0, dgram, len),
		    (long)i / 50);
	}
	pcap_dump_close(pd);
	pcap_close(pc);
	d = p25_flow_decoder_new();
	st = p25_flow_decoder_stats(d);
	assert_true(read_capture(path, d, &c) >= 0);
	assert_int_equal(st->ip_fragments, 2999); /* the first is offset 0, no more: whole */
	p25_flow_decoder_free(d);

	unlink(path);
	free(c.v);
	free(a);
	free(b);
	free(v6);
	free(e);
}

/* ---- UDP receiver ---- */

static void test_receiver(void **state)
{
	char err[256];
	struct coll c = {0};
	struct p25_fenc *e = malloc(sizeof *e);
	struct p25_flow_receiver *r = p25_flow_receiver_open("127.0.0.1", 0, err, sizeof err);
	assert_non_null(r);
	uint16_t port = p25_flow_receiver_port(r);
	assert_int_not_equal(port, 0);

	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	to.sin_addr.s_addr = htonl(0x7f000001);
	assert_int_equal(connect(s, (struct sockaddr *)&to, sizeof to), 0);
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	getsockname(s, (struct sockaddr *)&me, &ml);

	for (uint32_t i = 0; i < 40; i++) {
		p25_fenc_v5_header(e, SYSUP, EXPORT_SECS, 0, i * 2, 0, 0);
		p25_fenc_v5_record(e, i, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
		p25_fenc_v5_record(e, i, 2, 3, 25, 6, 2, 1, 40, SYSUP, SYSUP, 0, 0);
		size_t len = p25_fenc_finish(e);
		assert_int_equal(send(s, e->buf, len, 0), (ssize_t)len);
	}
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	int got = 0;
	for (int tries = 0; tries < 50 && got < 40; tries++) {
		int n = p25_flow_receiver_poll(r, d, collect, &c, 100);
		assert_true(n >= 0);
		got += n;
	}
	assert_int_equal(got, 40);
	assert_int_equal(c.n, 80);
	assert_int_equal(p25_flow_decoder_stats(d)->seq_gaps, 0);
	const struct p25_flow_exporter *x = p25_flow_decoder_exporter(d, c.v[0].exporter);
	assert_v4(&x->addr, "127.0.0.1");
	assert_int_equal(x->port, ntohs(me.sin_port));

	/* Stopped: run returns at once. */
	p25_flow_receiver_stop(r);
	assert_int_equal(p25_flow_receiver_run(r, d, collect, &c), 0);
	assert_int_equal(p25_flow_receiver_poll(r, d, collect, &c, 1000), 0);

	assert_null(p25_flow_receiver_open("not-an-address", 0, err, sizeof err));
	close(s);
	p25_flow_receiver_close(r);
	p25_flow_decoder_free(d);
	free(c.v);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v5),
		cmocka_unit_test(test_v9_basic),
		cmocka_unit_test(test_v9_options_and_refresh),
		cmocka_unit_test(test_v9_template_scopes),
		cmocka_unit_test(test_ipfix_basic_v6),
		cmocka_unit_test(test_ipfix_options_sysinit),
		cmocka_unit_test(test_ipfix_withdrawal),
		cmocka_unit_test(test_ipfix_varlen_enterprise),
		cmocka_unit_test(test_bad_sets_skipped),
		cmocka_unit_test(test_ipfix_times),
		cmocka_unit_test(test_extreme_values),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_sampling_v5),
		cmocka_unit_test(test_sampling_v9),
		cmocka_unit_test(test_sampling_ipfix),
		cmocka_unit_test(test_pcap),
		cmocka_unit_test(test_pcap_fragments),
		cmocka_unit_test(test_receiver),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
