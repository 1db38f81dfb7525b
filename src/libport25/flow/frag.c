/*
 * IP fragment reassembly for the flow pcap reader: IPFIX and v9 exporters
 * send datagrams of 8-9 kB, which a capture of the export traffic holds as
 * IPv4 fragments or IPv6 Fragment headers.
 *
 * Bounded: at most P25_FRAG_SLOTS datagrams in progress, none over
 * P25_FRAG_MAX bytes, each given up P25_FRAG_TIMEOUT_US of capture time
 * after its first fragment; a new datagram with every slot busy evicts
 * the oldest.  Payload is kept in 8-byte blocks (the fragment offset
 * unit) with a bitmap of the blocks held; where fragments overlap, the
 * bytes that arrived first are kept.
 */
#include "flow/flow_int.h"

#include <stdlib.h>

struct p25_frag {
	bool used;
	bool have_total;
	uint8_t family;
	uint8_t proto;
	uint32_t id;
	uint8_t src[16], dst[16];
	int64_t first_us;
	uint32_t total;   /* payload length, once the last fragment is in */
	uint32_t max_end; /* highest end of any fragment held */
	uint32_t blocks;  /* 8-byte blocks held */
	uint32_t cap;
	uint8_t *buf;
	uint8_t map[(P25_FRAG_MAX + 7) / 8 / 8 + 1];
};

struct p25_reasm {
	struct p25_frag slot[P25_FRAG_SLOTS];
	unsigned used;
	struct p25_frag *done; /* handed out by the last call, released by the next */
};

struct p25_reasm *p25_reasm_new(void)
{
	return calloc(1, sizeof(struct p25_reasm));
}

static void slot_clear(struct p25_reasm *r, struct p25_frag *f)
{
	uint8_t *buf = f->buf;
	uint32_t cap = f->cap;
	memset(f, 0, sizeof *f);
	/* The buffer is kept for the next datagram in this slot. */
	f->buf = buf;
	f->cap = cap;
	r->used--;
}

static void release_done(struct p25_reasm *r)
{
	if (r->done) {
		slot_clear(r, r->done);
		r->done = NULL;
	}
}

void p25_reasm_finish(struct p25_reasm *r, struct p25_flow_stats *st)
{
	release_done(r);
	for (unsigned i = 0; i < P25_FRAG_SLOTS; i++)
		if (r->slot[i].used) {
			st->ip_frag_incomplete++;
			slot_clear(r, &r->slot[i]);
		}
}

void p25_reasm_free(struct p25_reasm *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < P25_FRAG_SLOTS; i++)
		free(r->slot[i].buf);
	free(r);
}

static void expire(struct p25_reasm *r, struct p25_flow_stats *st, int64_t now_us)
{
	for (unsigned i = 0; i < P25_FRAG_SLOTS && r->used; i++) {
		struct p25_frag *f = &r->slot[i];
		if (f->used && now_us - f->first_us > P25_FRAG_TIMEOUT_US) {
			st->ip_frag_incomplete++;
			slot_clear(r, f);
		}
	}
}

static struct p25_frag *lookup(struct p25_reasm *r, const struct p25_frag_key *k)
{
	size_t alen = k->family == 4 ? 4 : 16;
	for (unsigned i = 0; i < P25_FRAG_SLOTS; i++) {
		struct p25_frag *f = &r->slot[i];
		if (f->used && f->id == k->id && f->family == k->family && f->proto == k->proto &&
		    memcmp(f->src, k->src, alen) == 0 && memcmp(f->dst, k->dst, alen) == 0)
			return f;
	}
	return NULL;
}

static struct p25_frag *create(struct p25_reasm *r, struct p25_flow_stats *st,
			       const struct p25_frag_key *k, int64_t now_us)
{
	struct p25_frag *f = NULL;
	if (r->used == P25_FRAG_SLOTS) {
		/* Full: give up the datagram that started longest ago. */
		for (unsigned i = 0; i < P25_FRAG_SLOTS; i++)
			if (!f || r->slot[i].first_us < f->first_us)
				f = &r->slot[i];
		st->ip_frag_incomplete++;
		slot_clear(r, f);
	} else {
		for (unsigned i = 0; i < P25_FRAG_SLOTS && !f; i++)
			if (!r->slot[i].used)
				f = &r->slot[i];
	}
	f->used = true;
	f->family = k->family;
	f->proto = k->proto;
	f->id = k->id;
	memcpy(f->src, k->src, 16);
	memcpy(f->dst, k->dst, 16);
	f->first_us = now_us;
	r->used++;
	return f;
}

static bool grow(struct p25_frag *f, uint32_t end)
{
	if (end <= f->cap)
		return true;
	/* Whole pages, at most the largest datagram: few reallocations, bounded. */
	uint32_t cap = (end + 4095) & ~4095u;
	if (cap > P25_FRAG_MAX)
		cap = P25_FRAG_MAX;
	uint8_t *b = realloc(f->buf, cap);
	if (!b)
		return false;
	f->buf = b;
	f->cap = cap;
	return true;
}

const uint8_t *p25_reasm_add(struct p25_reasm *r, struct p25_flow_stats *st,
			     const struct p25_frag_key *k, size_t off, bool more,
			     const uint8_t *data, size_t len, int64_t now_us, size_t *outlen)
{
	release_done(r);
	st->ip_fragments++;
	expire(r, st, now_us);

	size_t end = off + len;
	/*
	 * Beyond the largest datagram; a fragment followed by more that is
	 * empty or does not end on a block boundary: invalid, ignored.
	 */
	if (end > P25_FRAG_MAX || (more && (len == 0 || len % 8))) {
		st->ip_frag_invalid++;
		return NULL;
	}
	struct p25_frag *f = lookup(r, k);
	if (f) {
		/* A second, different end; or data past the end. */
		if ((!more && f->have_total && end != f->total) ||
		    (!more && !f->have_total && f->max_end > end) ||
		    (more && f->have_total && end > f->total)) {
			st->ip_frag_invalid++;
			return NULL;
		}
	} else {
		f = create(r, st, k, now_us);
	}
	if (!grow(f, (uint32_t)end)) {
		st->ip_frag_invalid++;
		return NULL;
	}
	if (!more) {
		f->have_total = true;
		f->total = (uint32_t)end;
	}
	if (end > f->max_end)
		f->max_end = (uint32_t)end;

	/* First come, first kept: copy only the blocks not held yet. */
	size_t b = off / 8, bend = (end + 7) / 8;
	while (b < bend) {
		if (f->map[b / 8] & (1u << (b % 8))) {
			b++;
			continue;
		}
		size_t run = b;
		while (run < bend && !(f->map[run / 8] & (1u << (run % 8)))) {
			f->map[run / 8] |= (uint8_t)(1u << (run % 8));
			run++;
		}
		size_t from = b * 8, to = run * 8 < end ? run * 8 : end;
		memcpy(f->buf + from, data + (from - off), to - from);
		f->blocks += (uint32_t)(run - b);
		b = run;
	}

	if (!f->have_total || f->blocks != (f->total + 7) / 8)
		return NULL;
	st->ip_reassembled++;
	r->done = f;
	*outlen = f->total;
	return f->buf;
}
