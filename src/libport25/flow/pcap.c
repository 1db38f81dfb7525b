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

/* The payload of a UDP header at u with avail bytes behind it, or NULL. */
static const uint8_t *udp_l4(const uint8_t *u, size_t avail, struct p25_flow_exporter *from,
			     uint16_t *dport, size_t *plen)
{
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

/*
 * Walk IPv6 extension headers from next header nh at p + *off up to tot:
 * true with *off at the UDP header.  Hop-by-hop, routing and destination
 * options are stepped over; a Fragment header stops the walk with *frag
 * set (when frag is non-NULL).
 */
static bool v6_walk(unsigned nh, const uint8_t *p, size_t *off, size_t tot, bool *frag)
{
	for (;;) {
		if (nh == 17)
			return true;
		if (nh == 44 && frag) {
			*frag = true;
			return false;
		}
		if (nh != 0 && nh != 43 && nh != 60)
			return false;
		if (tot < *off + 8)
			return false;
		nh = p[*off];
		*off += ((size_t)p[*off + 1] + 1) * 8;
		if (*off > tot)
			return false;
	}
}

/*
 * The UDP payload of an IP packet and its source, or NULL.  Fragments go
 * to the reassembler; the one that completes a datagram yields it.
 */
static const uint8_t *udp_payload(struct p25_reasm *r, struct p25_flow_stats *st, int64_t now_us,
				  const uint8_t *p, size_t n, struct p25_flow_exporter *from,
				  uint16_t *dport, size_t *plen)
{
	struct p25_frag_key key;
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
		if (p[9] != 17)
			return NULL;
		p25_addr_from_v4(&from->addr, p25_be32(p + 12));
		unsigned frag = p25_be16(p + 6);
		if (frag & 0x3fff) {
			/* A fragment cut by the snap length cannot be used. */
			if (tot > n) {
				st->ip_fragments++;
				st->ip_frag_invalid++;
				return NULL;
			}
			memset(&key, 0, sizeof key);
			key.family = 4;
			key.proto = 17;
			key.id = p25_be16(p + 4);
			memcpy(key.src, p + 12, 4);
			memcpy(key.dst, p + 16, 4);
			u = p25_reasm_add(r, st, &key, (size_t)(frag & 0x1fff) * 8, frag & 0x2000,
					  p + ihl, tot - ihl, now_us, &avail);
			return u ? udp_l4(u, avail, from, dport, plen) : NULL;
		}
		if (tot > n)
			tot = n;
		u = p + ihl;
		avail = tot - ihl;
	} else if (p[0] >> 4 == 6) {
		if (n < 40)
			return NULL;
		size_t tot = 40 + (size_t)p25_be16(p + 4);
		size_t off = 40;
		bool frag = false;
		p25_addr_from_v6(&from->addr, p + 8);
		if (!v6_walk(p[6], p, &off, tot > n ? n : tot, &frag)) {
			if (!frag || tot < off + 8 || n < off + 8)
				return NULL;
			unsigned fnh = p[off], fo = p25_be16(p + off + 2);
			size_t foff = fo & 0xfff8;
			bool more = fo & 1;
			off += 8;
			if (!foff && !more) {
				/* An atomic fragment (RFC 6946): a whole datagram. */
				if (tot > n)
					tot = n;
				if (!v6_walk(fnh, p, &off, tot, NULL))
					return NULL;
			} else {
				/* Destination options may sit in the fragmentable part. */
				if (fnh != 17 && fnh != 60)
					return NULL;
				if (tot > n) {
					st->ip_fragments++;
					st->ip_frag_invalid++;
					return NULL;
				}
				key.family = 6;
				key.proto = (uint8_t)fnh;
				key.id = p25_be32(p + off - 4);
				memcpy(key.src, p + 8, 16);
				memcpy(key.dst, p + 24, 16);
				u = p25_reasm_add(r, st, &key, foff, more, p + off, tot - off,
						  now_us, &avail);
				size_t uoff = 0;
				if (!u || !v6_walk(fnh, u, &uoff, avail, NULL))
					return NULL;
				return udp_l4(u + uoff, avail - uoff, from, dport, plen);
			}
		}
		if (tot > n)
			tot = n;
		u = p + off;
		avail = tot - off;
	} else {
		return NULL;
	}
	return udp_l4(u, avail, from, dport, plen);
}

int p25_flow_pcap_frame(struct p25_reasm *r, int dlt, int64_t now_us, const uint8_t *data,
			size_t caplen, uint16_t port, struct p25_flow_decoder *d, p25_flow_cb cb,
			void *arg)
{
	size_t n = caplen;
	const uint8_t *ip = link_strip(dlt, data, &n);
	if (!ip)
		return 0;
	struct p25_flow_exporter from = {0};
	uint16_t dport;
	size_t plen;
	const uint8_t *payload = udp_payload(r, &d->st, now_us, ip, n, &from, &dport, &plen);
	if (!payload || (port && dport != port))
		return 0;
	p25_flow_decode(d, &from, payload, plen, cb, arg);
	return 1;
}

static long read_all(pcap_t *pc, const char *name, uint16_t port, struct p25_flow_decoder *d,
		     p25_flow_cb cb, void *arg, char *err, size_t errlen)
{
	int dlt = pcap_datalink(pc);
	if (!link_supported(dlt)) {
		snprintf(err, errlen, "%s: unsupported link type %s", name,
			 pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?");
		pcap_close(pc);
		return -1;
	}
	struct p25_reasm *r = p25_reasm_new();
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", name);
		pcap_close(pc);
		return -1;
	}

	struct pcap_pkthdr *h;
	const u_char *data;
	long fed = 0;
	int rc;
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		int64_t now_us = (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
		fed += p25_flow_pcap_frame(r, dlt, now_us, data, h->caplen, port, d, cb, arg);
	}
	p25_reasm_finish(r, &d->st);
	p25_reasm_free(r);
	if (rc == -1) {
		snprintf(err, errlen, "%s: %s", name, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return fed;
}

long p25_flow_read_pcap(const char *path, uint16_t port, struct p25_flow_decoder *d, p25_flow_cb cb,
			void *arg, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pc = pcap_open_offline(path, ebuf);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", path, ebuf);
		return -1;
	}
	return read_all(pc, path, port, d, cb, arg, err, errlen);
}

long p25_flow_read_pcap_mem(const void *data, size_t len, uint16_t port, struct p25_flow_decoder *d,
			    p25_flow_cb cb, void *arg, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = len ? fmemopen((void *)data, len, "rb") : NULL;
	if (!f) {
		snprintf(err, errlen, "(memory): empty or unreadable capture");
		return -1;
	}
	/* pcap_close() closes the stream. */
	pcap_t *pc = pcap_fopen_offline(f, ebuf);
	if (!pc) {
		fclose(f);
		snprintf(err, errlen, "(memory): %s", ebuf);
		return -1;
	}
	return read_all(pc, "(memory)", port, d, cb, arg, err, errlen);
}
