/*
 * A minimal export packet writer (NetFlow v5, v9, IPFIX) for tests and
 * benchmarks: linked into every test binary (a helper of tests/unit) and
 * every benchmark (the Makefile's BENCH_HELPERS), never into the library.
 * Writes past the buffer are dropped and flagged, so a caller checks
 * e->overflow once at the end.
 */
#ifndef P25_FLOWENC_H
#define P25_FLOWENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p25_fenc {
	uint8_t buf[65536];
	size_t len;
	size_t set_start; /* offset of the open set's header, or SIZE_MAX */
	unsigned records; /* v9 header count: template and data records */
	int version;
	bool overflow;
};

void p25_fenc_u8(struct p25_fenc *e, uint8_t v);
void p25_fenc_u16(struct p25_fenc *e, uint16_t v);
void p25_fenc_u32(struct p25_fenc *e, uint32_t v);
void p25_fenc_u64(struct p25_fenc *e, uint64_t v);
/* An unsigned integer in n (1..8) bytes: reduced-size encoding. */
void p25_fenc_uint(struct p25_fenc *e, uint64_t v, unsigned n);
void p25_fenc_bytes(struct p25_fenc *e, const void *p, size_t n);
/* An IPFIX variable-length value; long_form forces the 255 + 2-byte length. */
void p25_fenc_varlen(struct p25_fenc *e, const void *p, size_t n, bool long_form);

/* NetFlow v5: header, then records; count is filled by p25_fenc_finish(). */
void p25_fenc_v5_header(struct p25_fenc *e, uint32_t sysup, uint32_t secs, uint32_t nsecs,
			uint32_t seq, uint8_t engine_type, uint8_t engine_id);
/* The v5 header's sampling field: mode (2 bits) and interval (14 bits). */
void p25_fenc_v5_sampling(struct p25_fenc *e, unsigned mode, unsigned interval);
void p25_fenc_v5_record(struct p25_fenc *e, uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, uint8_t proto, uint8_t flags, uint32_t packets,
			uint32_t bytes, uint32_t first, uint32_t last, uint16_t in_if, uint16_t out_if);

void p25_fenc_v9_header(struct p25_fenc *e, uint32_t sysup, uint32_t secs, uint32_t seq,
			uint32_t source_id);
void p25_fenc_ipfix_header(struct p25_fenc *e, uint32_t export_time, uint32_t seq,
			   uint32_t domain);
/* Sets (FlowSets): open, write records, close with padding to a multiple of pad. */
void p25_fenc_set_begin(struct p25_fenc *e, uint16_t id);
void p25_fenc_set_end(struct p25_fenc *e, unsigned pad);
/* Count one record for the v9 header. */
void p25_fenc_record(struct p25_fenc *e);
/* Template field specifier; pen != 0 writes an IPFIX enterprise-specific one. */
void p25_fenc_field(struct p25_fenc *e, uint16_t type, uint16_t len, uint32_t pen);
/*
 * An options template record's header, in an open set of id 1 (v9) or 3
 * (IPFIX): nfields field specifiers follow, the first nscope the scope
 * (v9 counts the record for the header).
 */
void p25_fenc_options_template(struct p25_fenc *e, uint16_t id, unsigned nscope, unsigned nfields);
/* Fill in the header's count or length.  Returns the packet length. */
size_t p25_fenc_finish(struct p25_fenc *e);

/*
 * IP framing for captures of export traffic.  A UDP datagram (header and
 * payload, checksum 0) into o: 8 + plen bytes.
 */
size_t p25_fenc_udp(uint8_t *o, uint16_t sport, uint16_t dport, const uint8_t *payload,
		    size_t plen);
/*
 * An IP packet into o carrying len bytes of data (a UDP datagram, or the
 * part of one at byte offset off): IPv4 (20-byte header, addresses of 4
 * bytes) or IPv6 (40 bytes, addresses of 16).  With off 0 and more false
 * an unfragmented packet; else a fragment (IPv6: with a Fragment header)
 * of datagram id, more saying whether more fragments follow.  Returns the
 * packet length.
 */
size_t p25_fenc_ip(uint8_t *o, bool v6, const uint8_t *src, const uint8_t *dst, uint32_t id,
		   size_t off, bool more, const uint8_t *data, size_t len);

#endif
