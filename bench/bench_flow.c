/*
 * Flow decoding throughput: IPFIX and NetFlow v9 data records in
 * realistic packets (templates once, 30 records a packet), decoded and
 * aggregated per source address for destination port 25, on one core.
 *
 * bench_flow [--records N]   (default 20000000; small N for CI smoke)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow/flow.h"
#include "flowenc.h"

#define RECS_PER_PKT 30
#define POOL	     1024 /* distinct packets, replayed with fresh sequence numbers */
#define HOSTS	     65536

struct agg_slot {
	p25_u128 addr;
	uint8_t family;
	uint8_t used;
	uint64_t bytes, packets, flows;
};

struct agg {
	struct agg_slot *slots;
	size_t cap, n;
	uint64_t records;
};

static uint64_t hash128(p25_u128 v)
{
	uint64_t x = (uint64_t)v ^ (uint64_t)(v >> 64) * 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return x;
}

static void agg_add(void *arg, const struct p25_flow *f, size_t n)
{
	struct agg *a = arg;
	a->records += n;
	for (size_t i = 0; i < n; i++) {
		if (f[i].dport != 25)
			continue;
		size_t h = hash128(f[i].src.bits) & (a->cap - 1);
		for (;;) {
			struct agg_slot *s = &a->slots[h];
			if (!s->used) {
				s->used = 1;
				s->addr = f[i].src.bits;
				s->family = f[i].src.family;
				a->n++;
			} else if (s->addr != f[i].src.bits || s->family != f[i].src.family) {
				h = (h + 1) & (a->cap - 1);
				continue;
			}
			s->bytes += f[i].bytes;
			s->packets += f[i].packets;
			s->flows++;
			break;
		}
	}
}

static void count_only(void *arg, const struct p25_flow *f, size_t n)
{
	struct agg *a = arg;
	a->records += n;
	(void)f;
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static void ipfix_template(struct p25_fenc *e)
{
	static const uint16_t f[][2] = {{8, 4},   {12, 4},	{7, 2},	  {11, 2}, {4, 1},
					{6, 1},	  {1, 4},	{2, 4},	  {152, 8}, {153, 8},
					{10, 4},  {14, 4},	{61, 1}};
	p25_fenc_ipfix_header(e, 1700000000, 0, 1);
	p25_fenc_set_begin(e, 2);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, 13);
	for (int i = 0; i < 13; i++)
		p25_fenc_field(e, f[i][0], f[i][1], 0);
	p25_fenc_set_end(e, 1);
}

static void ipfix_data(struct p25_fenc *e)
{
	p25_fenc_ipfix_header(e, 1700000000, 0, 1);
	p25_fenc_set_begin(e, 256);
	for (int i = 0; i < RECS_PER_PKT; i++) {
		uint32_t r = rnd();
		p25_fenc_u32(e, 0x0a000000 | (r % HOSTS));
		p25_fenc_u32(e, 0xc6336400 | (r >> 24));
		p25_fenc_u16(e, (uint16_t)(1024 + (r >> 8) % 60000));
		p25_fenc_u16(e, (r >> 20) % 4 ? 443 : 25);
		p25_fenc_u8(e, 6);
		p25_fenc_u8(e, 0x1b);
		p25_fenc_u32(e, 40 + r % 100000);
		p25_fenc_u32(e, 1 + r % 100);
		p25_fenc_u64(e, 1700000000000ull - r % 60000);
		p25_fenc_u64(e, 1700000000000ull);
		p25_fenc_u32(e, 3);
		p25_fenc_u32(e, 4);
		p25_fenc_u8(e, 0);
	}
	p25_fenc_set_end(e, 4);
}

static void v9_template(struct p25_fenc *e)
{
	static const uint16_t f[][2] = {{8, 4}, {12, 4}, {7, 2},  {11, 2}, {4, 1},  {6, 1},
					{1, 4}, {2, 4},	 {22, 4}, {21, 4}, {10, 2}, {14, 2}};
	p25_fenc_v9_header(e, 3600000, 1700000000, 0, 1);
	p25_fenc_set_begin(e, 0);
	p25_fenc_u16(e, 256);
	p25_fenc_u16(e, 12);
	for (int i = 0; i < 12; i++)
		p25_fenc_field(e, f[i][0], f[i][1], 0);
	p25_fenc_record(e);
	p25_fenc_set_end(e, 4);
}

static void v9_data(struct p25_fenc *e)
{
	p25_fenc_v9_header(e, 3600000, 1700000000, 0, 1);
	p25_fenc_set_begin(e, 256);
	for (int i = 0; i < RECS_PER_PKT; i++) {
		uint32_t r = rnd();
		p25_fenc_u32(e, 0x0a000000 | (r % HOSTS));
		p25_fenc_u32(e, 0xc6336400 | (r >> 24));
		p25_fenc_u16(e, (uint16_t)(1024 + (r >> 8) % 60000));
		p25_fenc_u16(e, (r >> 20) % 4 ? 443 : 25);
		p25_fenc_u8(e, 6);
		p25_fenc_u8(e, 0x1b);
		p25_fenc_u32(e, 40 + r % 100000);
		p25_fenc_u32(e, 1 + r % 100);
		p25_fenc_u32(e, 3600000 - r % 60000);
		p25_fenc_u32(e, 3600000);
		p25_fenc_u16(e, 3);
		p25_fenc_u16(e, 4);
		p25_fenc_record(e);
	}
	p25_fenc_set_end(e, 4);
}

struct pkt {
	uint8_t *data;
	size_t len;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the cores are shared */
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(const char *name, int version, uint64_t records, bool aggregate)
{
	struct p25_fenc *e = malloc(sizeof *e);
	struct pkt pool[POOL];
	struct agg a = {.cap = HOSTS * 4};
	a.slots = calloc(a.cap, sizeof *a.slots);
	if (!e || !a.slots) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	for (int i = 0; i < POOL; i++) {
		if (version == 10)
			ipfix_data(e);
		else
			v9_data(e);
		pool[i].len = p25_fenc_finish(e);
		pool[i].data = malloc(pool[i].len);
		memcpy(pool[i].data, e->buf, pool[i].len);
	}
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	struct p25_flow_exporter ex = {.port = 2055};
	p25_addr_from_v4(&ex.addr, 0xc0000201);
	if (version == 10)
		ipfix_template(e);
	else
		v9_template(e);
	size_t tl = p25_fenc_finish(e);
	p25_flow_decode(d, &ex, e->buf, tl, count_only, &a);

	uint64_t pkts = (records + RECS_PER_PKT - 1) / RECS_PER_PKT;
	uint32_t seq = version == 10 ? 0 : 1;
	p25_flow_cb cb = aggregate ? agg_add : count_only;
	a.records = 0;
	double t0 = now();
	for (uint64_t i = 0; i < pkts; i++) {
		struct pkt *p = &pool[i % POOL];
		/* A continuous sequence, as from a healthy exporter. */
		uint8_t *s = p->data + (version == 10 ? 8 : 12);
		s[0] = (uint8_t)(seq >> 24);
		s[1] = (uint8_t)(seq >> 16);
		s[2] = (uint8_t)(seq >> 8);
		s[3] = (uint8_t)seq;
		seq += version == 10 ? RECS_PER_PKT : 1;
		p25_flow_decode(d, &ex, p->data, p->len, cb, &a);
	}
	double dt = now() - t0;
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	printf("%-6s %-9s %12llu records %8.3f s %8.2f M records/s/core  %6.1f ns/record",
	       name, aggregate ? "decode+agg" : "decode", (unsigned long long)a.records, dt,
	       a.records / dt / 1e6, dt * 1e9 / (double)(a.records ? a.records : 1));
	if (aggregate)
		printf("  %zu port-25 sources", a.n);
	printf("  gaps %llu malformed %llu\n", (unsigned long long)st->seq_gaps,
	       (unsigned long long)(st->malformed_packets + st->malformed_sets));
	if (a.records != pkts * RECS_PER_PKT || st->malformed_packets || st->seq_gaps) {
		fprintf(stderr, "bench_flow: decoder lost records\n");
		exit(1);
	}
	p25_flow_decoder_free(d);
	for (int i = 0; i < POOL; i++)
		free(pool[i].data);
	free(a.slots);
	free(e);
}

int main(int argc, char **argv)
{
	uint64_t records = 20000000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--records") == 0 && i + 1 < argc) {
			records = strtoull(argv[++i], NULL, 10);
		} else {
			fprintf(stderr, "usage: %s [--records N]\n", argv[0]);
			return 2;
		}
	}
	if (records < RECS_PER_PKT)
		records = RECS_PER_PKT;
	run("ipfix", 10, records, false);
	run("ipfix", 10, records, true);
	run("v9", 9, records, false);
	run("v9", 9, records, true);
	return 0;
}
