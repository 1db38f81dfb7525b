/*
 * Packet capture reading: classic pcap and pcapng files (plain or gzip),
 * memory images, and live interfaces.
 *
 * Classic pcap: either byte order, micro- or nanosecond, and the 24-byte
 * "modified" records.  pcapng: every section and byte order, interfaces with
 * their link type, if_tsresol and if_tsoffset; enhanced, simple and the
 * obsolete packet blocks are delivered, every other block skipped.
 *
 * Files are streamed, never loaded whole: a regular uncompressed file is
 * mapped and walked in place, anything else (pipes, gzip) is read in large
 * chunks.  Packets come out one at a time through p25_capture_next() or a
 * callback; a packet's bytes stay valid only until the next call.
 *
 * A damaged file yields every good packet before the damage, then an error
 * naming the file, the byte offset and what is wrong.
 */
#ifndef P25_CAPTURE_H
#define P25_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

/* Link types as written in files (LINKTYPE_*), which the decoder takes. */
enum {
	P25_LINK_NULL = 0,	 /* BSD loopback, host-order address family */
	P25_LINK_ETHERNET = 1,
	P25_LINK_RAW_DLT = 12,	 /* DLT_RAW on most systems */
	P25_LINK_RAW_DLT14 = 14, /* DLT_RAW on OpenBSD, written as is by old tools */
	P25_LINK_RAW = 101,	 /* LINKTYPE_RAW */
	P25_LINK_LOOP = 108,	 /* OpenBSD loopback, network-order family */
	P25_LINK_LINUX_SLL = 113,
	P25_LINK_IPV4 = 228,
	P25_LINK_IPV6 = 229,
	P25_LINK_LINUX_SLL2 = 276,
};

struct p25_packet {
	uint64_t ts_ns;		/* nanoseconds since the epoch */
	const uint8_t *data;	/* caplen bytes; valid until the next read */
	uint32_t caplen;	/* bytes captured */
	uint32_t origlen;	/* bytes on the wire */
	uint32_t linktype;	/* LINKTYPE_* of the interface */
	uint32_t ifindex;	/* pcapng interface within its section; 0 for pcap */
};

enum p25_capture_format {
	P25_FMT_PCAP = 1,
	P25_FMT_PCAPNG = 2,
};

/* Open flags. */
enum {
	/* Read in chunks even when the file could be mapped. */
	P25_CAPTURE_NO_MMAP = 1 << 0,
};

struct p25_capture;

/*
 * Open a capture file; "-" is standard input.  gzip is recognised by its
 * magic, not its name.  chunk is the read size for unmapped sources (0: the
 * default, 1 MiB).  On failure returns NULL and writes a message naming the
 * file into err.
 */
struct p25_capture *p25_capture_open(const char *path, char *err, size_t errlen);
struct p25_capture *p25_capture_open_ex(const char *path, unsigned flags, size_t chunk, char *err,
					size_t errlen);
/*
 * A reader over a file image in memory (gzip-compressed or not).  The buffer
 * must outlive the reader.  name is used in messages.
 */
struct p25_capture *p25_capture_open_mem(const void *buf, size_t len, const char *name, char *err,
					 size_t errlen);
void p25_capture_close(struct p25_capture *c);

/*
 * The next packet: 1 and *pkt filled, 0 at the end of the file, -1 on a
 * damaged file or I/O error (message in p25_capture_strerror()).  After -1
 * or 0 every further call returns the same.
 */
int p25_capture_next(struct p25_capture *c, struct p25_packet *pkt);

/*
 * Callback form: fn returns 0 to go on, a positive value to stop, which
 * p25_capture_foreach() then returns.  Otherwise 0 at end of file, -1 on
 * error.
 */
typedef int (*p25_packet_fn)(void *ctx, const struct p25_packet *pkt);
int p25_capture_foreach(struct p25_capture *c, p25_packet_fn fn, void *ctx);

/* The error of the last failed call: "FILE: at offset N: what". */
const char *p25_capture_strerror(const struct p25_capture *c);
enum p25_capture_format p25_capture_format(const struct p25_capture *c);
/*
 * Link type of a classic pcap file, or of the first pcapng interface seen
 * (UINT32_MAX before any).  pcapng packets carry their own interface's.
 */
uint32_t p25_capture_linktype(const struct p25_capture *c);
/* Bytes consumed so far, counted in the decompressed stream for gzip. */
uint64_t p25_capture_offset(const struct p25_capture *c);
uint64_t p25_capture_packets(const struct p25_capture *c);
/* True when the file is gzip-compressed / was mapped into memory. */
int p25_capture_is_gzip(const struct p25_capture *c);
int p25_capture_is_mapped(const struct p25_capture *c);

/*
 * Live capture through libpcap.  The default filter keeps only the SMTP
 * ports (25, 465, 587) and the mailbox ports (110, 143, 993, 995), whose
 * servers the analyzer counts as mail servers, tagged or not.
 */
#define P25_LIVE_PORTS                                                                             \
	"(tcp port 25 or tcp port 465 or tcp port 587 or tcp port 110 or tcp port 143 or "         \
	"tcp port 993 or tcp port 995)"
#define P25_LIVE_FILTER P25_LIVE_PORTS " or (vlan and " P25_LIVE_PORTS ")"

struct p25_live_opts {
	const char *ifname;
	const char *filter;	/* NULL: P25_LIVE_FILTER; "" : none */
	int snaplen;		/* 0: 262144 */
	int promisc;
	int timeout_ms;		/* 0: 100 */
	int buffer_mb;		/* kernel buffer; 0: libpcap's default */
};

struct p25_live;

struct p25_live *p25_live_open(const struct p25_live_opts *opts, char *err, size_t errlen);
/*
 * Deliver packets to fn until fn returns nonzero (returned), count packets
 * have been seen (count > 0), p25_live_break() is called (0), or an error
 * (-1, message in p25_live_strerror()).
 */
int p25_live_loop(struct p25_live *l, long count, p25_packet_fn fn, void *ctx);
/* Safe from a signal handler. */
void p25_live_break(struct p25_live *l);
uint32_t p25_live_linktype(const struct p25_live *l);
const char *p25_live_strerror(const struct p25_live *l);
/* Kernel counters: packets received and dropped; -1 when unavailable. */
int p25_live_stats(struct p25_live *l, uint64_t *received, uint64_t *dropped);
void p25_live_close(struct p25_live *l);

#endif
