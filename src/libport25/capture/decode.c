#include "capture/decode.h"

#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86dd

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static inline uint64_t be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

void p25_port_filter_clear(struct p25_port_filter *f)
{
	memset(f, 0, sizeof *f);
}

void p25_port_filter_all(struct p25_port_filter *f)
{
	memset(f, 0, sizeof *f);
	memset(f->bits, 0xff, sizeof f->bits);
}

void p25_port_filter_add(struct p25_port_filter *f, uint16_t port)
{
	f->bits[port >> 6] |= (uint64_t)1 << (port & 63);
	f->handshake[port >> 6] &= ~((uint64_t)1 << (port & 63));
}

void p25_port_filter_add_handshake(struct p25_port_filter *f, uint16_t port)
{
	f->bits[port >> 6] |= (uint64_t)1 << (port & 63);
	f->handshake[port >> 6] |= (uint64_t)1 << (port & 63);
	f->any_handshake = true;
}

/* Whether port is of interest for all its segments, not only the handshake. */
static inline bool port_full(const struct p25_port_filter *f, uint16_t port)
{
	return p25_port_filter_has(f, port) && !(f->handshake[port >> 6] >> (port & 63) & 1);
}

void p25_port_filter_smtp(struct p25_port_filter *f)
{
	p25_port_filter_clear(f);
	p25_port_filter_add(f, 25);
	p25_port_filter_add(f, 465);
	p25_port_filter_add(f, 587);
}

static const char *const reasons[P25_DEC_NREASONS] = {
	[P25_DEC_TCP] = "tcp",
	[P25_DEC_PORT] = "port not of interest",
	[P25_DEC_LINKTYPE] = "unsupported link type",
	[P25_DEC_NOT_IP] = "not IP",
	[P25_DEC_NOT_TCP] = "not TCP",
	[P25_DEC_FRAGMENT] = "non-first fragment",
	[P25_DEC_TRUNC_LINK] = "truncated link header",
	[P25_DEC_TRUNC_IP] = "truncated IP header",
	[P25_DEC_TRUNC_TCP] = "truncated TCP header",
	[P25_DEC_BAD_IP] = "bad IP header",
	[P25_DEC_BAD_TCP] = "bad TCP header",
	[P25_DEC_NOT_SYN] = "handshake-only port, not a SYN",
};

const char *p25_decode_reason(enum p25_decode_result r)
{
	return (unsigned)r < P25_DEC_NREASONS ? reasons[r] : "?";
}

/*
 * The TCP header at t: cap bytes captured; len bytes of TCP header and
 * payload as the IP header says (UINT32_MAX when it does not say).
 *
 * A snap length of 68 or 96 bytes, common with tcpdump, keeps the fixed
 * 20 bytes of a SYN but cuts its options (MSS, SACK, timestamps: 12 to 20
 * bytes).  Ports, sequence numbers and flags are all in the fixed part,
 * so such a segment is used, without payload, and counted in
 * tcp_options_cut; dropping it would hide every unanswered SYN, which is
 * what a bot's traffic mostly is.
 */
static enum p25_decode_result tcp(const uint8_t *t, uint32_t cap, uint32_t len,
				  const struct p25_port_filter *filter,
				  struct p25_tcp_segment *seg, struct p25_decode_stats *stats)
{
	if (cap < 20)
		return P25_DEC_TRUNC_TCP;
	uint16_t sport = be16(t), dport = be16(t + 2);
	if (filter && !p25_port_filter_has(filter, sport) && !p25_port_filter_has(filter, dport))
		return P25_DEC_PORT;
	if (filter && filter->any_handshake && !(t[13] & P25_TCP_SYN) &&
	    !port_full(filter, sport) && !port_full(filter, dport))
		return P25_DEC_NOT_SYN;
	uint32_t doff = (uint32_t)(t[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return P25_DEC_BAD_TCP;
	uint32_t lim = len < cap ? len : cap;
	seg->sport = sport;
	seg->dport = dport;
	seg->seq = be32(t + 4);
	seg->ack = be32(t + 8);
	seg->flags = t[13];
	if (doff > lim) {
		if (stats)
			stats->tcp_options_cut++;
		seg->payload = t + lim;
		seg->payload_len = 0;
		return P25_DEC_TCP;
	}
	seg->payload = t + doff;
	seg->payload_len = lim - doff;
	return P25_DEC_TCP;
}

static enum p25_decode_result ipv4(const uint8_t *ip, uint32_t rem,
				   const struct p25_port_filter *filter,
				   struct p25_tcp_segment *seg, struct p25_decode_stats *stats)
{
	if (rem < 20)
		return P25_DEC_TRUNC_IP;
	if (ip[0] >> 4 != 4)
		return P25_DEC_BAD_IP;
	uint32_t ihl = (uint32_t)(ip[0] & 15) * 4;
	if (ihl < 20)
		return P25_DEC_BAD_IP;
	if (ip[9] != 6)
		return P25_DEC_NOT_TCP;
	if (be16(ip + 6) & 0x1fff)
		return P25_DEC_FRAGMENT;
	if (rem < ihl)
		return P25_DEC_TRUNC_IP;
	uint32_t tot = be16(ip + 2);
	bool said = tot != 0;
	if (!said)
		tot = rem; /* segmentation offload: the length is not filled in */
	else if (tot < ihl)
		return P25_DEC_BAD_IP;
	enum p25_decode_result r =
	    tcp(ip + ihl, rem - ihl, said ? tot - ihl : UINT32_MAX, filter, seg, stats);
	if (r != P25_DEC_TCP)
		return r;
	seg->src.family = P25_INET;
	seg->src.bits = (p25_u128)be32(ip + 12) << 96;
	seg->dst.family = P25_INET;
	seg->dst.bits = (p25_u128)be32(ip + 16) << 96;
	seg->ip_len = tot;
	return r;
}

static enum p25_decode_result ipv6(const uint8_t *ip, uint32_t rem,
				   const struct p25_port_filter *filter,
				   struct p25_tcp_segment *seg, struct p25_decode_stats *stats)
{
	if (rem < 40)
		return P25_DEC_TRUNC_IP;
	if (ip[0] >> 4 != 6)
		return P25_DEC_BAD_IP;
	uint32_t plen = be16(ip + 4);
	/* A zero payload length means a jumbogram or offload: use what is there. */
	uint32_t tot = plen ? 40 + plen : rem;
	uint32_t lim = tot < rem ? tot : rem;
	uint8_t nh = ip[6];
	uint32_t off = 40;
	for (;;) {
		switch (nh) {
		case 6:
			goto found;
		case 0:	 /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
			if (rem < off + 8)
				return P25_DEC_TRUNC_IP;
			nh = ip[off];
			off += ((uint32_t)ip[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			if (rem < off + 8)
				return P25_DEC_TRUNC_IP;
			if (be16(ip + off + 2) & 0xfff8)
				return P25_DEC_FRAGMENT;
			nh = ip[off];
			off += 8;
			break;
		case 51: /* authentication header */
			if (rem < off + 8)
				return P25_DEC_TRUNC_IP;
			nh = ip[off];
			off += ((uint32_t)ip[off + 1] + 2) * 4;
			break;
		default:
			return P25_DEC_NOT_TCP;
		}
	}
found:
	if (off > rem)
		return P25_DEC_TRUNC_IP;
	if (off > lim)
		return P25_DEC_BAD_IP;
	enum p25_decode_result r =
	    tcp(ip + off, rem - off, plen ? tot - off : UINT32_MAX, filter, seg, stats);
	if (r != P25_DEC_TCP)
		return r;
	seg->src.family = P25_INET6;
	seg->src.bits = (p25_u128)be64(ip + 8) << 64 | be64(ip + 16);
	seg->dst.family = P25_INET6;
	seg->dst.bits = (p25_u128)be64(ip + 24) << 64 | be64(ip + 32);
	seg->ip_len = tot;
	return r;
}

static enum p25_decode_result decode(const struct p25_packet *pkt,
				     const struct p25_port_filter *filter,
				     struct p25_tcp_segment *seg, struct p25_decode_stats *stats)
{
	const uint8_t *p = pkt->data;
	uint32_t n = pkt->caplen, off;
	uint16_t et;
	enum p25_decode_result r = p25_decode_link(pkt->linktype, p, n, &et, &off);

	if (r != P25_DEC_TCP)
		return r;
	if (et == ETH_IPV4)
		return ipv4(p + off, n - off, filter, seg, stats);
	if (et == ETH_IPV6)
		return ipv6(p + off, n - off, filter, seg, stats);
	return P25_DEC_NOT_IP;
}

enum p25_decode_result p25_decode_tcp(const struct p25_packet *pkt,
				      const struct p25_port_filter *filter,
				      struct p25_tcp_segment *seg, struct p25_decode_stats *stats)
{
	enum p25_decode_result r = decode(pkt, filter, seg, stats);
	if (r == P25_DEC_TCP)
		seg->ts_ns = pkt->ts_ns;
	if (stats) {
		stats->packets++;
		stats->bytes += pkt->caplen;
		stats->count[r]++;
	}
	return r;
}
