/*
 * Capture reading speed: port25's reader and decoder against a plain
 * libpcap loop (pcap_next_ex and a minimal parse), both counting port-25
 * connection openers (SYN without ACK) per source host.
 *
 *   bench_capture [--file F] [--size-mb N] [--pcapng] [--runs N] [--keep] [--out F]
 *
 * Without --file a capture of about N MB (default 1024) with a realistic
 * mix is generated first: mostly web, DNS and QUIC among thousands of
 * hosts, a few per cent SMTP, Ethernet with some 802.1Q and QinQ, IPv4 and
 * IPv6; classic pcap, or pcapng with --pcapng.  It is removed at the end
 * unless --keep.  With --gen-only the file
 * is written and kept, nothing timed (a generator for other benchmarks).
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/decode.h"

/* ---- per-host counts ---- */

struct slot {
	p25_u128 bits;
	uint8_t family;
	uint64_t n;
};

struct table {
	struct slot *s;
	size_t cap, used;
	uint64_t total;
};

static uint64_t hash_addr(p25_u128 bits, uint8_t family)
{
	uint64_t h = (uint64_t)(bits >> 64) * 0x9e3779b97f4a7c15ull ^ (uint64_t)bits ^ family;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

static void table_init(struct table *t)
{
	t->cap = 1 << 12;
	t->used = 0;
	t->total = 0;
	t->s = calloc(t->cap, sizeof *t->s);
}

static void table_grow(struct table *t)
{
	size_t cap = t->cap * 2;
	struct slot *s = calloc(cap, sizeof *s);
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->s[i].family)
			continue;
		size_t j = hash_addr(t->s[i].bits, t->s[i].family) & (cap - 1);
		while (s[j].family)
			j = (j + 1) & (cap - 1);
		s[j] = t->s[i];
	}
	free(t->s);
	t->s = s;
	t->cap = cap;
}

static void table_add(struct table *t, p25_u128 bits, uint8_t family)
{
	if ((t->used + 1) * 2 > t->cap)
		table_grow(t);
	size_t j = hash_addr(bits, family) & (t->cap - 1);
	while (t->s[j].family && (t->s[j].bits != bits || t->s[j].family != family))
		j = (j + 1) & (t->cap - 1);
	if (!t->s[j].family) {
		t->s[j].bits = bits;
		t->s[j].family = family;
		t->used++;
	}
	t->s[j].n++;
	t->total++;
}

static int slot_cmp(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return 0;
}

/* Equal host for host, count for count. */
static bool table_same(struct table *a, struct table *b)
{
	if (a->used != b->used || a->total != b->total)
		return false;
	qsort(a->s, a->cap, sizeof *a->s, slot_cmp);
	qsort(b->s, b->cap, sizeof *b->s, slot_cmp);
	size_t i = 0, j = 0;
	while (i < a->cap && !a->s[i].family)
		i++;
	while (j < b->cap && !b->s[j].family)
		j++;
	for (; i < a->cap && j < b->cap; i++, j++)
		if (slot_cmp(&a->s[i], &b->s[j]) || a->s[i].n != b->s[j].n)
			return false;
	return true;
}

/* ---- generator ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return (uint32_t)((rnd(r) >> 32) * n >> 32);
}

struct out {
	FILE *f;
	uint8_t *buf;
	size_t len, cap;
	uint64_t written, packets, ts_us;
	bool ng;
};

static void flush_out(struct out *o)
{
	if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len) {
		perror("write");
		exit(1);
	}
	o->written += o->len;
	o->len = 0;
}

static inline void w16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void w32(uint8_t *p, uint32_t v)
{
	w16(p, (uint16_t)(v >> 16));
	w16(p + 2, (uint16_t)v);
}

enum { V4_CLIENTS = 6000, V4_SERVERS = 1500, V6_HOSTS = 1200 };

struct flow {
	bool v6;
	int tags; /* 0, 1 (802.1Q) or 2 (QinQ) */
	uint32_t a4, b4;
	uint16_t a6, b6; /* index into the v6 host pool */
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t paylen;
};

static void emit(struct out *o, struct rng *r, const struct flow *f)
{
	uint8_t pkt[1600];
	size_t off = 12;
	memset(pkt, 0, 12);
	pkt[5] = 1;
	pkt[11] = 2;
	if (f->tags == 2) {
		w16(pkt + off, 0x88a8);
		w16(pkt + off + 2, 10);
		off += 4;
	}
	if (f->tags >= 1) {
		w16(pkt + off, 0x8100);
		w16(pkt + off + 2, (uint16_t)(100 + (f->a4 & 7)));
		off += 4;
	}
	uint32_t l4 = (f->proto == 6 ? 20 : 8) + f->paylen;
	if (f->v6) {
		w16(pkt + off, 0x86dd);
		off += 2;
		uint8_t *ip = pkt + off;
		memset(ip, 0, 40);
		w32(ip, 0x60000000);
		w16(ip + 4, (uint16_t)l4);
		ip[6] = f->proto;
		ip[7] = 64;
		w32(ip + 8, 0x20010db8);
		w32(ip + 20, 0x1000u + f->a6);
		w32(ip + 24, 0x20010db8);
		w32(ip + 36, 0x1000u + f->b6);
		off += 40;
	} else {
		w16(pkt + off, 0x0800);
		off += 2;
		uint8_t *ip = pkt + off;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		w16(ip + 2, (uint16_t)(20 + l4));
		ip[6] = 0x40;
		ip[8] = 64;
		ip[9] = f->proto;
		w32(ip + 12, f->a4);
		w32(ip + 16, f->b4);
		off += 20;
	}
	uint8_t *t = pkt + off;
	w16(t, f->sport);
	w16(t + 2, f->dport);
	if (f->proto == 6) {
		w32(t + 4, (uint32_t)rnd(r));
		w32(t + 8, f->flags & P25_TCP_ACK ? (uint32_t)rnd(r) : 0);
		t[12] = 0x50;
		t[13] = f->flags;
		w16(t + 14, 65535);
		w32(t + 16, 0);
		off += 20;
	} else {
		w16(t + 4, (uint16_t)l4);
		w16(t + 6, 0);
		off += 8;
	}
	memset(pkt + off, 0x5a, f->paylen);
	off += f->paylen;
	while (off < 60)
		pkt[off++] = 0;

	if (o->len + 36 + off > o->cap)
		flush_out(o);
	uint8_t *h = o->buf + o->len;
	o->ts_us += 1 + below(r, 40);
	uint32_t len = (uint32_t)off;
	if (o->ng) {
		uint64_t ts = 1700000000ull * 1000000 + o->ts_us;
		uint32_t pad = (4 - len % 4) % 4, blen = 32 + len + pad;
		uint32_t epb[7] = { 6, blen, 0, (uint32_t)(ts >> 32), (uint32_t)ts, len, len };
		memcpy(h, epb, 28);
		memcpy(h + 28, pkt, off);
		memset(h + 28 + off, 0, pad);
		memcpy(h + 28 + off + pad, &blen, 4);
		o->len += blen;
	} else {
		uint32_t sec = (uint32_t)(1700000000 + o->ts_us / 1000000);
		uint32_t us = (uint32_t)(o->ts_us % 1000000);
		memcpy(h, &sec, 4);
		memcpy(h + 4, &us, 4);
		memcpy(h + 8, &len, 4);
		memcpy(h + 12, &len, 4);
		memcpy(h + 16, pkt, off);
		o->len += 16 + off;
	}
	o->packets++;
}

static uint32_t client4(struct rng *r)
{
	return 0x0a000000u + 0x100u * below(r, V4_CLIENTS / 200) + below(r, 200) + 1;
}

static uint32_t server4(struct rng *r)
{
	return 0xc6336400u + below(r, V4_SERVERS); /* around 198.51.100.0 */
}

static uint64_t generate(const char *path, uint64_t bytes, bool ng)
{
	struct out o = { .cap = 4u << 20, .ng = ng };
	o.f = fopen(path, "wb");
	if (!o.f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	o.buf = malloc(o.cap);
	if (ng) {
		/* SHB (v1.0, section length unknown), IDB (Ethernet, µs) */
		uint32_t hdr[12] = { 0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28,
				     1, 20, 1, 262144, 20 };
		memcpy(o.buf, hdr, 48);
		o.len = 48;
	} else {
		uint32_t hdr[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 262144, 1 };
		memcpy(o.buf, hdr, 24);
		o.len = 24;
	}
	struct rng r = { 0x9e3779b97f4a7c15ull };
	while (o.written + o.len < bytes) {
		struct flow f = { 0 };
		uint32_t k = below(&r, 1000);
		uint32_t lk = below(&r, 100);
		f.tags = lk < 8 ? 1 : lk < 10 ? 2 : 0;
		f.v6 = below(&r, 100) < 15;
		f.a4 = client4(&r);
		f.b4 = server4(&r);
		f.a6 = (uint16_t)below(&r, V6_HOSTS);
		f.b6 = (uint16_t)below(&r, V6_HOSTS);
		f.sport = (uint16_t)(1024 + below(&r, 60000));
		bool reply = below(&r, 2);
		if (k < 640) { /* web */
			f.proto = 6;
			f.dport = below(&r, 4) ? 443 : 80;
			uint32_t s = below(&r, 10);
			f.flags = P25_TCP_ACK | (s < 4 ? P25_TCP_PSH : 0);
			f.paylen = s < 4 ? 1460 : s < 8 ? 0 : 40 + below(&r, 1300);
			if (below(&r, 50) == 0)
				f.flags = P25_TCP_SYN, f.paylen = 0;
		} else if (k < 760) { /* DNS */
			f.proto = 17;
			f.dport = 53;
			f.paylen = 30 + below(&r, 250);
		} else if (k < 880) { /* QUIC */
			f.proto = 17;
			f.dport = 443;
			f.paylen = 1200 + below(&r, 150);
		} else if (k < 940) { /* other TCP: ssh, imap, high ports */
			f.proto = 6;
			static const uint16_t ports[] = { 22, 143, 993, 8080, 3306, 5432 };
			f.dport = ports[below(&r, 6)];
			f.flags = P25_TCP_ACK | P25_TCP_PSH;
			f.paylen = below(&r, 600);
		} else if (k < 970) { /* SMTP, submission, smtps */
			f.proto = 6;
			uint32_t p = below(&r, 10);
			f.dport = p < 7 ? 25 : p < 9 ? 587 : 465;
			uint32_t s = below(&r, 10);
			if (s < 3) {
				f.flags = P25_TCP_SYN;
				reply = false;
			} else if (s < 4) {
				f.flags = P25_TCP_SYN | P25_TCP_ACK;
				reply = true;
			} else {
				f.flags = P25_TCP_ACK | P25_TCP_PSH;
				f.paylen = below(&r, 1000);
			}
		} else { /* ICMP-ish and UDP noise */
			f.proto = below(&r, 2) ? 1 : 17;
			f.dport = 123;
			f.paylen = 48;
		}
		if (reply) {
			uint16_t p = f.sport;
			f.sport = f.dport;
			f.dport = p;
			uint32_t a = f.a4;
			f.a4 = f.b4;
			f.b4 = a;
			uint16_t b = f.a6;
			f.a6 = f.b6;
			f.b6 = b;
		}
		emit(&o, &r, &f);
	}
	flush_out(&o);
	if (fclose(o.f) != 0) {
		perror("close");
		exit(1);
	}
	free(o.buf);
	return o.packets;
}

/* ---- the two readers ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* What a careful user writes with libpcap: pcap_next_ex and a minimal parse. */
static uint64_t run_libpcap(const char *path, struct table *t)
{
	char eb[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, eb);
	if (!p) {
		fprintf(stderr, "libpcap: %s\n", eb);
		exit(1);
	}
	int dlt = pcap_datalink(p);
	if (dlt != DLT_EN10MB) {
		fprintf(stderr, "libpcap loop: only Ethernet captures (got link type %d)\n", dlt);
		exit(1);
	}
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t n = 0;
	int r;
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		n++;
		uint32_t len = h->caplen, off = 14;
		if (len < 14)
			continue;
		uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
		while ((et == 0x8100 || et == 0x88a8 || et == 0x9100) && len >= off + 4) {
			et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
			off += 4;
		}
		p25_u128 src;
		uint8_t fam;
		if (et == 0x0800) {
			if (len < off + 20 || d[off + 9] != 6 || (d[off + 6] & 0x1f) || d[off + 7])
				continue;
			uint32_t a = (uint32_t)d[off + 12] << 24 | (uint32_t)d[off + 13] << 16 |
				     (uint32_t)d[off + 14] << 8 | d[off + 15];
			src = (p25_u128)a << 96;
			fam = P25_INET;
			off += (d[off] & 15) * 4u;
		} else if (et == 0x86dd) {
			if (len < off + 40 || d[off + 6] != 6)
				continue;
			src = 0;
			for (int i = 0; i < 16; i++)
				src = src << 8 | d[off + 8 + i];
			fam = P25_INET6;
			off += 40;
		} else {
			continue;
		}
		if (len < off + 20)
			continue;
		uint16_t dport = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
		uint8_t fl = d[off + 13];
		if (dport == 25 && (fl & (P25_TCP_SYN | P25_TCP_ACK)) == P25_TCP_SYN)
			table_add(t, src, fam);
	}
	if (r == -1) {
		fprintf(stderr, "libpcap: %s\n", pcap_geterr(p));
		exit(1);
	}
	pcap_close(p);
	return n;
}

static uint64_t run_port25(const char *path, unsigned flags, struct table *t)
{
	char err[512];
	struct p25_capture *c = p25_capture_open_ex(path, flags, 0, err, sizeof err);
	if (!c) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	struct p25_port_filter f;
	p25_port_filter_smtp(&f);
	struct p25_packet k;
	struct p25_tcp_segment s;
	uint64_t n = 0;
	int r;
	while ((r = p25_capture_next(c, &k)) == 1) {
		n++;
		if (p25_decode_tcp(&k, &f, &s, NULL) == P25_DEC_TCP && s.dport == 25 &&
		    (s.flags & (P25_TCP_SYN | P25_TCP_ACK)) == P25_TCP_SYN)
			table_add(t, s.src.bits, s.src.family);
	}
	if (r < 0) {
		fprintf(stderr, "%s\n", p25_capture_strerror(c));
		exit(1);
	}
	p25_capture_close(c);
	return n;
}

enum which { LIBPCAP, PORT25, PORT25_READ };

static double best_of(enum which w, const char *path, int runs, struct table *keep,
		      uint64_t *packets)
{
	double best = 1e30;
	for (int i = 0; i < runs; i++) {
		struct table t;
		table_init(&t);
		double t0 = now();
		*packets = w == LIBPCAP ? run_libpcap(path, &t)
					: run_port25(path, w == PORT25_READ ? P25_CAPTURE_NO_MMAP : 0,
						     &t);
		double dt = now() - t0;
		if (dt < best)
			best = dt;
		if (i == 0 && keep)
			*keep = t;
		else
			free(t.s);
	}
	return best;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *out = NULL;
	long size_mb = 1024;
	int runs = 3;
	bool keep = false, gen_only = false, ng = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--out") && i + 1 < argc)
			out = argv[++i];
		else if (!strcmp(argv[i], "--size-mb") && i + 1 < argc)
			size_mb = atol(argv[++i]);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pcapng"))
			ng = true;
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else if (!strcmp(argv[i], "--gen-only"))
			gen_only = keep = true;
		else {
			fprintf(stderr,
				"usage: %s [--file F | --size-mb N [--out F] [--pcapng] [--keep] [--gen-only]] "
				"[--runs N]\n",
				argv[0]);
			return 2;
		}
	}
	if (runs < 1 || size_mb < 1) {
		fprintf(stderr, "bench_capture: --runs and --size-mb must be positive\n");
		return 2;
	}
	char tmp[512];
	bool generated = false;
	if (!file) {
		if (!out) {
			const char *td = getenv("TMPDIR");
			snprintf(tmp, sizeof tmp, "%s/p25-bench-%ld.%s", td ? td : "/tmp",
				 (long)getpid(), ng ? "pcapng" : "pcap");
			out = tmp;
		}
		double t0 = now();
		uint64_t n = generate(out, (uint64_t)size_mb << 20, ng);
		printf("generated %s: %ld MB, %" PRIu64 " packets in %.1f s\n", out, size_mb, n,
		       now() - t0);
		file = out;
		generated = true;
		if (gen_only)
			return 0;
	}
	struct stat st;
	if (stat(file, &st) < 0) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return 1;
	}
	double gb = (double)st.st_size / 1e9;

	/* Warm the page cache so both start from it. */
	struct table warm;
	table_init(&warm);
	uint64_t np;
	run_port25(file, P25_CAPTURE_NO_MMAP, &warm);
	free(warm.s);

	struct table ta, tb, tc;
	uint64_t na, nb, nc;
	double da = best_of(LIBPCAP, file, runs, &ta, &na);
	double db = best_of(PORT25, file, runs, &tb, &nb);
	double dc = best_of(PORT25_READ, file, runs, &tc, &nc);
	(void)np;

	printf("file %s: %.3f GB, %" PRIu64 " packets, %zu hosts sent %" PRIu64
	       " port-25 SYNs; best of %d\n",
	       file, gb, nb, tb.used, tb.total, runs);
	printf("%-28s %8.3f s %7.2f GB/s %7.2f Mpkt/s\n", "libpcap pcap_next_ex loop", da, gb / da,
	       (double)na / da / 1e6);
	printf("%-28s %8.3f s %7.2f GB/s %7.2f Mpkt/s  %.2fx libpcap\n", "port25 (mmap)", db,
	       gb / db, (double)nb / db / 1e6, da / db);
	printf("%-28s %8.3f s %7.2f GB/s %7.2f Mpkt/s  %.2fx libpcap\n", "port25 (read, 1 MiB chunks)",
	       dc, gb / dc, (double)nc / dc / 1e6, da / dc);
	bool same = na == nb && nb == nc && table_same(&ta, &tb) && table_same(&tb, &tc);
	printf("counts %s\n", same ? "identical" : "DIFFER");
	free(ta.s);
	free(tb.s);
	free(tc.s);
	if (generated && !keep)
		unlink(file);
	else if (generated)
		printf("kept %s\n", file);
	return same ? 0 : 1;
}
