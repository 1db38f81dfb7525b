/* Export packets from a packet capture: every UDP payload goes to the decoder. */
#include "flow/flow_int.h"

#include <pcap/pcap.h>
#include <stdio.h>

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

/* The network layer of a frame, or NULL for anything but IP. */
static const uint8_t *link_strip(int dlt, const uint8_t *p, size_t *len)
{
	size_t n = *len, off;
	unsigned type;

	switch (dlt) {
	case DLT_EN10MB:
		if (n < 14)
			return NULL;
		type = p25_be16(p + 12);
		off = 14;
		/* 802.1Q, 802.1ad and the old QinQ tag, stacked. */
		while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
			if (n < off + 4)
				return NULL;
			type = p25_be16(p + off + 2);
			off += 4;
		}
		if (type != 0x0800 && type != 0x86dd)
			return NULL;
		break;
	case DLT_LINUX_SLL:
		if (n < 16)
			return NULL;
		type = p25_be16(p + 14);
		off = 16;
		if (type != 0x0800 && type != 0x86dd)
			return NULL;
		break;
	case DLT_LINUX_SLL2:
		if (n < 20)
			return NULL;
		type = p25_be16(p);
		off = 20;
		if (type != 0x0800 && type != 0x86dd)
			return NULL;
		break;
	case DLT_NULL:
	case DLT_LOOP:
		/* Address family in host or network order; the IP version says it all. */
		off = 4;
		break;
	default:
		/* Raw IP in its various numberings. */
		off = 0;
		break;
	}
	if (n < off)
		return NULL;
	*len = n - off;
	return p + off;
}

static bool link_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return true;
	default:
		return dlt == 12 || dlt == 14; /* DLT_RAW's values on other systems */
	}
}

/* The UDP payload of an IP packet and its source, or NULL. */
static const uint8_t *udp_payload(const uint8_t *p, size_t n, struct p25_flow_exporter *from,
				  uint16_t *dport, size_t *plen)
{
	const uint8_t *u;
	size_t avail;

	if (n < 1)
		return NULL;
	if (p[0] >> 4 == 4) {
		if (n < 20)
			return NULL;
		size_t ihl = (size_t)(p[0] & 0x0f) * 4;
		size_t tot = p25_be16(p + 2);
		if (ihl < 20 || tot < ihl || n < ihl)
			return NULL;
		/* Fragments: the payload is incomplete or headerless. */
		if (p25_be16(p + 6) & 0x3fff)
			return NULL;
		if (p[9] != 17)
			return NULL;
		if (tot > n)
			tot = n;
		p25_addr_from_v4(&from->addr, p25_be32(p + 12));
		u = p + ihl;
		avail = tot - ihl;
	} else if (p[0] >> 4 == 6) {
		if (n < 40)
			return NULL;
		size_t tot = 40 + (size_t)p25_be16(p + 4);
		if (tot > n)
			tot = n;
		unsigned nh = p[6];
		size_t off = 40;
		for (;;) {
			if (nh == 17)
				break;
			/* Hop-by-hop, routing, destination options; fragments are skipped. */
			if (nh != 0 && nh != 43 && nh != 60)
				return NULL;
			if (tot < off + 8)
				return NULL;
			nh = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
			if (off > tot)
				return NULL;
		}
		p25_addr_from_v6(&from->addr, p + 8);
		u = p + off;
		avail = tot - off;
	} else {
		return NULL;
	}
	if (avail < 8)
		return NULL;
	size_t ulen = p25_be16(u + 4);
	if (ulen < 8)
		return NULL;
	from->port = p25_be16(u);
	*dport = p25_be16(u + 2);
	/* A short snap length leaves a cut datagram; the decoder copes. */
	*plen = ulen - 8 < avail - 8 ? ulen - 8 : avail - 8;
	return u + 8;
}

long p25_flow_read_pcap(const char *path, uint16_t port, struct p25_flow_decoder *d,
			p25_flow_cb cb, void *arg, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_open_offline(path, ebuf);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -1;
	}
	int dlt = pcap_datalink(pc);
	if (!link_supported(dlt)) {
		snprintf(err, errlen, "%s: unsupported link type %s", path,
			 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
		pcap_close(pc);
		return -1;
	}

	struct pcap_pkthdr *h;
	const u_char *data;
	long fed = 0;
	int r;
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		size_t n = h->caplen;
		const uint8_t *ip = link_strip(dlt, data, &n);
		if (!ip)
			continue;
		struct p25_flow_exporter from = {0};
		uint16_t dport;
		size_t plen;
		const uint8_t *payload = udp_payload(ip, n, &from, &dport, &plen);
		if (!payload || (port && dport != port))
			continue;
		p25_flow_decode(d, &from, payload, plen, cb, arg);
		fed++;
	}
	if (r == -1) {
		snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return fed;
}
