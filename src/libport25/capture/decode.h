/*
 * Packet decoding down to TCP: link layer (Ethernet with any number of
 * VLAN tags, Linux cooked v1/v2, raw IP, BSD loopback), IPv4 or IPv6 (with
 * its extension headers), then the TCP header.
 *
 * Most traffic on a link is not SMTP, so the ports are compared against the
 * caller's filter as soon as they are found, before anything else is copied.
 */
#ifndef P25_DECODE_H
#define P25_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "addr/addr.h"
#include "capture/capture.h"

enum {
	P25_TCP_FIN = 0x01,
	P25_TCP_SYN = 0x02,
	P25_TCP_RST = 0x04,
	P25_TCP_PSH = 0x08,
	P25_TCP_ACK = 0x10,
	P25_TCP_URG = 0x20,
	P25_TCP_ECE = 0x40,
	P25_TCP_CWR = 0x80,
};

struct p25_tcp_segment {
	struct p25_addr src, dst;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	const uint8_t *payload;	/* captured payload, inside the packet's bytes */
	uint32_t payload_len;	/* captured payload bytes (may be short of the IP's) */
	uint32_t ip_len;	/* IP header + payload length as the IP header says */
	uint64_t ts_ns;
};

/* Why a packet yielded no segment; P25_DEC_TCP counts those that did. */
enum p25_decode_result {
	P25_DEC_TCP = 0,
	P25_DEC_PORT,		/* TCP, but neither port in the filter */
	P25_DEC_LINKTYPE,	/* link type not supported */
	P25_DEC_NOT_IP,		/* ARP, LLDP, ... */
	P25_DEC_NOT_TCP,	/* UDP, ICMP, ESP, ... */
	P25_DEC_FRAGMENT,	/* a non-first fragment: no TCP header */
	P25_DEC_TRUNC_LINK,	/* captured too short for the link header */
	P25_DEC_TRUNC_IP,	/* ... for the IP header or an extension header */
	P25_DEC_TRUNC_TCP,	/* ... for the TCP header */
	P25_DEC_BAD_IP,		/* bad version or header length */
	P25_DEC_BAD_TCP,	/* TCP data offset below 5 or past the IP packet's end */
	P25_DEC_NOT_SYN,	/* only a handshake-only port, and no SYN flag */
	P25_DEC_NREASONS,
};

struct p25_decode_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t count[P25_DEC_NREASONS];
	/*
	 * Of the P25_DEC_TCP segments, those whose TCP options the snap length
	 * cut: the fixed header was used, the options and payload were not.
	 */
	uint64_t tcp_options_cut;
};

/*
 * Ports of interest: a segment passes when its source or destination is set.
 * Some ports matter only by their handshake (that a host accepts
 * connections on them, not what they carry): a segment whose ports of
 * interest are all such ports passes only with SYN set, so the bulk of
 * their traffic costs no more than a port not of interest.
 */
struct p25_port_filter {
	uint64_t bits[65536 / 64];      /* every port of interest */
	uint64_t handshake[65536 / 64]; /* of those, the handshake-only ones */
	bool any_handshake;
};

static inline bool p25_port_filter_has(const struct p25_port_filter *f, uint16_t port)
{
	return f->bits[port >> 6] >> (port & 63) & 1;
}

void p25_port_filter_clear(struct p25_port_filter *f);
void p25_port_filter_all(struct p25_port_filter *f);
void p25_port_filter_add(struct p25_port_filter *f, uint16_t port);
/* A port of interest of which only SYN segments (SYN, SYN-ACK) pass. */
void p25_port_filter_add_handshake(struct p25_port_filter *f, uint16_t port);
/* 25, 465 and 587. */
void p25_port_filter_smtp(struct p25_port_filter *f);

/*
 * Decode pkt.  Returns P25_DEC_TCP with *seg filled, or the reason it was
 * skipped.  filter NULL means every port; stats may be NULL.
 */
enum p25_decode_result p25_decode_tcp(const struct p25_packet *pkt,
				      const struct p25_port_filter *filter,
				      struct p25_tcp_segment *seg, struct p25_decode_stats *stats);

const char *p25_decode_reason(enum p25_decode_result r);

/*
 * The network layer of a frame of link type linktype (LINKTYPE_*, as in
 * struct p25_packet): its EtherType (0x0800 or 0x86dd, or another one the
 * caller may refuse) and offset past the link header and any VLAN tags
 * (802.1Q, 802.1ad, the pre-standard 0x9100, stacked to any depth).
 * Returns P25_DEC_TCP when the link layer was walked (the name of
 * "nothing wrong so far"), else P25_DEC_LINKTYPE, P25_DEC_TRUNC_LINK,
 * P25_DEC_TRUNC_IP or P25_DEC_NOT_IP.  Inline: the packet decoder's hot
 * path and the flow capture reader share it.
 */
static inline enum p25_decode_result p25_decode_link(uint32_t linktype, const uint8_t *p,
						     uint32_t n, uint16_t *ethertype,
						     uint32_t *offset)
{
	uint32_t off;
	uint16_t et;

	switch (linktype) {
	case P25_LINK_ETHERNET:
		if (n < 14)
			return P25_DEC_TRUNC_LINK;
		et = (uint16_t)(p[12] << 8 | p[13]);
		off = 14;
		break;
	case P25_LINK_LINUX_SLL:
		if (n < 16)
			return P25_DEC_TRUNC_LINK;
		et = (uint16_t)(p[14] << 8 | p[15]);
		off = 16;
		break;
	case P25_LINK_LINUX_SLL2:
		if (n < 20)
			return P25_DEC_TRUNC_LINK;
		et = (uint16_t)(p[0] << 8 | p[1]);
		off = 20;
		break;
	case P25_LINK_RAW:
	case P25_LINK_RAW_DLT:
	case P25_LINK_RAW_DLT14:
		if (n < 1)
			return P25_DEC_TRUNC_IP;
		et = p[0] >> 4 == 6 ? 0x86dd : 0x0800;
		off = 0;
		break;
	case P25_LINK_IPV4:
		et = 0x0800;
		off = 0;
		break;
	case P25_LINK_IPV6:
		et = 0x86dd;
		off = 0;
		break;
	case P25_LINK_NULL:
	case P25_LINK_LOOP: {
		if (n < 4)
			return P25_DEC_TRUNC_LINK;
		/*
		 * The family is in the writer's byte order; families are small,
		 * so the half holding the value tells the order.
		 */
		uint32_t af = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			      (uint32_t)p[3] << 24;
		if (!(af & 0xffff))
			af = __builtin_bswap32(af);
		if (af == 2)
			et = 0x0800;
		else if (af == 10 || af == 24 || af == 28 || af == 30)
			et = 0x86dd;
		else
			return P25_DEC_NOT_IP;
		off = 4;
		break;
	}
	default:
		return P25_DEC_LINKTYPE;
	}
	while (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
		if (n < off + 4)
			return P25_DEC_TRUNC_LINK;
		et = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
	}
	*ethertype = et;
	*offset = off;
	return P25_DEC_TCP;
}

#endif
