/*
 * Export packets from a packet capture: every UDP payload goes to the
 * decoder.  The file is read by the capture module (pcap or pcapng, gzip
 * or not, mapped when it can be) and its link layer walked by the packet
 * decoder's p25_decode_link(), as for the analyzer's packet captures.
 */
#include "flow/flow_int.h"

#include <stdio.h>

#include "capture/capture.h"
#include "capture/decode.h"

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

int p25_flow_pcap_frame(struct p25_reasm *r, uint32_t linktype, int64_t now_us,
			const uint8_t *data, size_t caplen, uint16_t port, struct p25_flow_decoder *d,
			p25_flow_cb cb, void *arg)
{
	uint16_t et;
	uint32_t off;
	uint32_t n = caplen > UINT32_MAX ? UINT32_MAX : (uint32_t)caplen;
	if (p25_decode_link(linktype, data, n, &et, &off) != P25_DEC_TCP ||
	    (et != 0x0800 && et != 0x86dd))
		return 0;
	struct p25_flow_exporter from = {0};
	uint16_t dport;
	size_t plen;
	const uint8_t *payload =
	    udp_payload(r, &d->st, now_us, data + off, n - off, &from, &dport, &plen);
	if (!payload || (port && dport != port))
		return 0;
	p25_flow_decode(d, &from, payload, plen, cb, arg);
	return 1;
}

/* Link types whose frames carry IP, as p25_decode_link() walks them. */
static bool link_supported(uint32_t linktype)
{
	uint16_t et;
	uint32_t off;
	static const uint8_t probe[64];

	/* A zeroed frame of the type: anything but "unsupported" means the type is known. */
	return p25_decode_link(linktype, probe, sizeof probe, &et, &off) != P25_DEC_LINKTYPE;
}

static long read_all(struct p25_capture *c, const char *name, uint16_t port,
		     struct p25_flow_decoder *d, p25_flow_cb cb, void *arg, char *err, size_t errlen)
{
	struct p25_reasm *r;
	struct p25_packet pkt;
	long fed = 0;
	int rc;

	/* A classic pcap file says its link type up front: refuse what cannot carry exports. */
	if (p25_capture_format(c) == P25_FMT_PCAP && !link_supported(p25_capture_linktype(c))) {
		snprintf(err, errlen, "%s: unsupported link type %u", name,
			 (unsigned)p25_capture_linktype(c));
		p25_capture_close(c);
		return -1;
	}
	r = p25_reasm_new();
	if (!r) {
		snprintf(err, errlen, "%s: out of memory", name);
		p25_capture_close(c);
		return -1;
	}
	while ((rc = p25_capture_next(c, &pkt)) == 1)
		fed += p25_flow_pcap_frame(r, pkt.linktype, (int64_t)(pkt.ts_ns / 1000), pkt.data,
					   pkt.caplen, port, d, cb, arg);
	p25_reasm_finish(r, &d->st);
	p25_reasm_free(r);
	if (rc < 0)
		snprintf(err, errlen, "%s", p25_capture_strerror(c));
	p25_capture_close(c);
	return rc < 0 ? -1 : fed;
}

long p25_flow_read_pcap(const char *path, uint16_t port, struct p25_flow_decoder *d, p25_flow_cb cb,
			void *arg, char *err, size_t errlen)
{
	/*
	 * Read, not mapped: an export capture is mostly just written (tcpdump,
	 * a collector), and pages a writer left in the cache map at a fraction
	 * of the speed they read at (on a softflowd capture: 1.2x the libpcap
	 * loop mapped, 7.3x read; 3.1x and 7.1x once re-read whole).
	 */
	struct p25_capture *c = p25_capture_open_ex(path, P25_CAPTURE_NO_MMAP, 0, err, errlen);

	return c ? read_all(c, path, port, d, cb, arg, err, errlen) : -1;
}

long p25_flow_read_pcap_mem(const void *data, size_t len, uint16_t port, struct p25_flow_decoder *d,
			    p25_flow_cb cb, void *arg, char *err, size_t errlen)
{
	struct p25_capture *c = p25_capture_open_mem(data, len, "(memory)", err, errlen);

	return c ? read_all(c, "(memory)", port, d, cb, arg, err, errlen) : -1;
}
