/* Test helper: TCP segments as Ethernet frames (frame.h). */
#include <string.h>

#include "frame.h"

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	be16(p, (uint16_t)(v >> 16));
	be16(p + 2, (uint16_t)v);
}

size_t test_frame(uint8_t *f, const struct test_segment *s, size_t *ip_offset)
{
	static const uint8_t linux_syn_options[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0,
	                                              0, 1, 0, 0,    0, 0, 1, 3,  3, 7};
	uint32_t opts = s->options > 40 ? 40 : s->options & ~3u;
	size_t n = s->len > 1400 ? 1400 : s->len, o = 12;

	memset(f, 0, TEST_FRAME_MAX);
	if (s->vlan) {
		be16(f + o, 0x8100);
		be16(f + o + 2, s->vlan);
		o += 4;
	}
	be16(f + o, s->v6 ? 0x86dd : 0x0800);
	o += 2;
	if (ip_offset)
		*ip_offset = o;
	if (s->v6) {
		f[o] = 0x60;
		be16(f + o + 4, (uint16_t)(20 + opts + n));
		f[o + 6] = 6;
		f[o + 7] = 64;
		memcpy(f + o + 8, s->src, 16);
		memcpy(f + o + 24, s->dst, 16);
		o += 40;
	} else {
		f[o] = 0x45;
		be16(f + o + 2, (uint16_t)(40 + opts + n));
		f[o + 8] = 64;
		f[o + 9] = 6;
		memcpy(f + o + 12, s->src, 4);
		memcpy(f + o + 16, s->dst, 4);
		o += 20;
	}
	be16(f + o, s->sport);
	be16(f + o + 2, s->dport);
	be32(f + o + 4, s->seq);
	be32(f + o + 8, s->ack);
	f[o + 12] = (uint8_t)((5 + opts / 4) << 4);
	f[o + 13] = s->flags;
	be16(f + o + 14, s->window);
	o += 20;
	for (uint32_t k = 0; k < opts; k++)
		f[o + k] = k < sizeof linux_syn_options ? linux_syn_options[k] : 1;
	o += opts;
	if (n)
		memcpy(f + o, s->data, n);
	return o + n;
}
