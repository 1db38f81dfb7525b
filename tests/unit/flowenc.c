#include "flowenc.h"

#include <string.h>

static void put(struct p25_fenc *e, const void *p, size_t n)
{
	if (e->len + n > sizeof e->buf) {
		e->overflow = true;
		return;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void poke16(struct p25_fenc *e, size_t off, uint16_t v)
{
	if (off + 2 <= e->len) {
		e->buf[off] = (uint8_t)(v >> 8);
		e->buf[off + 1] = (uint8_t)v;
	}
}

void p25_fenc_uint(struct p25_fenc *e, uint64_t v, unsigned n)
{
	uint8_t b[8];
	for (unsigned i = 0; i < n && i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	put(e, b, n > 8 ? 8 : n);
}

void p25_fenc_u8(struct p25_fenc *e, uint8_t v)
{
	put(e, &v, 1);
}

void p25_fenc_u16(struct p25_fenc *e, uint16_t v)
{
	p25_fenc_uint(e, v, 2);
}

void p25_fenc_u32(struct p25_fenc *e, uint32_t v)
{
	p25_fenc_uint(e, v, 4);
}

void p25_fenc_u64(struct p25_fenc *e, uint64_t v)
{
	p25_fenc_uint(e, v, 8);
}

void p25_fenc_bytes(struct p25_fenc *e, const void *p, size_t n)
{
	put(e, p, n);
}

void p25_fenc_varlen(struct p25_fenc *e, const void *p, size_t n, bool long_form)
{
	if (n < 255 && !long_form) {
		p25_fenc_u8(e, (uint8_t)n);
	} else {
		p25_fenc_u8(e, 255);
		p25_fenc_u16(e, (uint16_t)n);
	}
	put(e, p, n);
}

static void reset(struct p25_fenc *e, int version)
{
	e->len = 0;
	e->records = 0;
	e->set_start = SIZE_MAX;
	e->version = version;
	e->overflow = false;
}

void p25_fenc_v5_header(struct p25_fenc *e, uint32_t sysup, uint32_t secs, uint32_t nsecs,
			uint32_t seq, uint8_t engine_type, uint8_t engine_id)
{
	reset(e, 5);
	p25_fenc_u16(e, 5);
	p25_fenc_u16(e, 0);
	p25_fenc_u32(e, sysup);
	p25_fenc_u32(e, secs);
	p25_fenc_u32(e, nsecs);
	p25_fenc_u32(e, seq);
	p25_fenc_u8(e, engine_type);
	p25_fenc_u8(e, engine_id);
	p25_fenc_u16(e, 0);
}

void p25_fenc_v5_sampling(struct p25_fenc *e, unsigned mode, unsigned interval)
{
	poke16(e, 22, (uint16_t)((mode & 3) << 14 | (interval & 0x3fff)));
}

void p25_fenc_v5_record(struct p25_fenc *e, uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, uint8_t proto, uint8_t flags, uint32_t packets,
			uint32_t bytes, uint32_t first, uint32_t last, uint16_t in_if, uint16_t out_if)
{
	p25_fenc_u32(e, src);
	p25_fenc_u32(e, dst);
	p25_fenc_u32(e, 0); /* next hop */
	p25_fenc_u16(e, in_if);
	p25_fenc_u16(e, out_if);
	p25_fenc_u32(e, packets);
	p25_fenc_u32(e, bytes);
	p25_fenc_u32(e, first);
	p25_fenc_u32(e, last);
	p25_fenc_u16(e, sport);
	p25_fenc_u16(e, dport);
	p25_fenc_u8(e, 0);
	p25_fenc_u8(e, flags);
	p25_fenc_u8(e, proto);
	p25_fenc_u8(e, 0); /* tos */
	p25_fenc_u32(e, 0); /* AS numbers */
	p25_fenc_u32(e, 0); /* masks, padding */
	e->records++;
}

void p25_fenc_v9_header(struct p25_fenc *e, uint32_t sysup, uint32_t secs, uint32_t seq,
			uint32_t source_id)
{
	reset(e, 9);
	p25_fenc_u16(e, 9);
	p25_fenc_u16(e, 0);
	p25_fenc_u32(e, sysup);
	p25_fenc_u32(e, secs);
	p25_fenc_u32(e, seq);
	p25_fenc_u32(e, source_id);
}

void p25_fenc_ipfix_header(struct p25_fenc *e, uint32_t export_time, uint32_t seq,
			   uint32_t domain)
{
	reset(e, 10);
	p25_fenc_u16(e, 10);
	p25_fenc_u16(e, 0);
	p25_fenc_u32(e, export_time);
	p25_fenc_u32(e, seq);
	p25_fenc_u32(e, domain);
}

void p25_fenc_set_begin(struct p25_fenc *e, uint16_t id)
{
	e->set_start = e->len;
	p25_fenc_u16(e, id);
	p25_fenc_u16(e, 0);
}

void p25_fenc_set_end(struct p25_fenc *e, unsigned pad)
{
	if (e->set_start == SIZE_MAX)
		return;
	while (pad > 1 && (e->len - e->set_start) % pad)
		p25_fenc_u8(e, 0);
	poke16(e, e->set_start + 2, (uint16_t)(e->len - e->set_start));
	e->set_start = SIZE_MAX;
}

void p25_fenc_record(struct p25_fenc *e)
{
	e->records++;
}

void p25_fenc_field(struct p25_fenc *e, uint16_t type, uint16_t len, uint32_t pen)
{
	p25_fenc_u16(e, pen ? (uint16_t)(type | 0x8000) : type);
	p25_fenc_u16(e, len);
	if (pen)
		p25_fenc_u32(e, pen);
}

void p25_fenc_options_template(struct p25_fenc *e, uint16_t id, unsigned nscope, unsigned nfields)
{
	p25_fenc_u16(e, id);
	if (e->version == 9) {
		/* Scope and option lengths in bytes. */
		p25_fenc_u16(e, (uint16_t)(nscope * 4));
		p25_fenc_u16(e, (uint16_t)((nfields - nscope) * 4));
		e->records++;
	} else {
		p25_fenc_u16(e, (uint16_t)nfields);
		p25_fenc_u16(e, (uint16_t)nscope);
	}
}

size_t p25_fenc_finish(struct p25_fenc *e)
{
	if (e->set_start != SIZE_MAX)
		p25_fenc_set_end(e, 1);
	if (e->version == 10)
		poke16(e, 2, (uint16_t)e->len);
	else
		poke16(e, 2, (uint16_t)e->records);
	return e->len;
}

static void wr16(uint8_t *o, size_t v)
{
	o[0] = (uint8_t)(v >> 8);
	o[1] = (uint8_t)v;
}

size_t p25_fenc_udp(uint8_t *o, uint16_t sport, uint16_t dport, const uint8_t *payload, size_t plen)
{
	wr16(o, sport);
	wr16(o + 2, dport);
	wr16(o + 4, 8 + plen);
	wr16(o + 6, 0);
	memcpy(o + 8, payload, plen);
	return 8 + plen;
}

size_t p25_fenc_ip(uint8_t *o, bool v6, const uint8_t *src, const uint8_t *dst, uint32_t id,
		   size_t off, bool more, const uint8_t *data, size_t len)
{
	bool frag = off || more;
	size_t hl;
	if (!v6) {
		hl = 20;
		memset(o, 0, hl);
		o[0] = 0x45;
		wr16(o + 2, hl + len);
		wr16(o + 4, id & 0xffff);
		wr16(o + 6, (off / 8 & 0x1fff) | (more ? 0x2000 : 0));
		o[8] = 64;
		o[9] = 17;
		memcpy(o + 12, src, 4);
		memcpy(o + 16, dst, 4);
	} else {
		hl = frag ? 48 : 40;
		memset(o, 0, hl);
		o[0] = 0x60;
		wr16(o + 4, hl - 40 + len);
		o[6] = frag ? 44 : 17;
		o[7] = 64;
		memcpy(o + 8, src, 16);
		memcpy(o + 24, dst, 16);
		if (frag) {
			o[40] = 17;
			wr16(o + 42, (off & 0xfff8) | (more ? 1 : 0));
			o[44] = (uint8_t)(id >> 24);
			o[45] = (uint8_t)(id >> 16);
			o[46] = (uint8_t)(id >> 8);
			o[47] = (uint8_t)id;
		}
	}
	memcpy(o + hl, data, len);
	return hl + len;
}
