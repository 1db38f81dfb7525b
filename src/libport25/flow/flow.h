/*
 * Flow export decoding: NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX
 * (RFC 7011) export packets in, flow records out.
 *
 * A decoder holds everything that outlives one packet: exporters, the
 * (exporter, version, source id / observation domain) sessions with their
 * sequence numbers and templates, and counters.  It is owned by the caller
 * and not shared between threads; run one decoder per receiving thread.
 *
 * Records are handed out in batches through a callback: one call per data
 * set (or per up to P25_FLOW_BATCH records), so the per-record cost is a
 * handful of loads and stores into the batch array and no allocation.
 */
#ifndef P25_FLOW_H
#define P25_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr/addr.h"

#define P25_FLOW_BATCH 64

/* Unknown value of struct p25_flow.direction. */
#define P25_FLOW_DIR_UNKNOWN 0xff

struct p25_flow {
	struct p25_addr src; /* family 0 when the record carried no address */
	struct p25_addr dst;
	uint64_t bytes;	  /* octetDeltaCount, else octetTotalCount */
	uint64_t packets; /* packetDeltaCount, else packetTotalCount */
	/* UTC milliseconds since the epoch; 0 when the record had no time. */
	int64_t first_ms;
	int64_t last_ms;
	uint32_t exporter; /* index, see p25_flow_decoder_exporter() */
	/* v9 source id, IPFIX observation domain, v5 engine type << 8 | engine id */
	uint32_t domain;
	uint32_t in_if;
	uint32_t out_if;
	uint16_t sport;
	uint16_t dport;
	uint16_t tcp_flags; /* cumulative OR over the flow's packets */
	uint8_t protocol;
	uint8_t direction; /* 0 ingress, 1 egress, P25_FLOW_DIR_UNKNOWN */
	uint8_t version;   /* 5, 9 or 10 */
	/*
	 * Packet sampling of the flow: 1 in `sampling` packets was counted, so
	 * bytes and packets are the sampled counts (not scaled).  0 when the
	 * export said nothing (unsampled as far as is known), 1 unsampled.
	 * From the v5 header; v9/IPFIX options data (per exporter and source
	 * id / observation domain, per sampler id); or fields in the record.
	 */
	uint32_t sampling;
};

/* Where an export packet came from. */
struct p25_flow_exporter {
	struct p25_addr addr;
	uint16_t port;
};

struct p25_flow_stats {
	uint64_t packets;     /* export packets given to the decoder */
	uint64_t packets_v5;  /* ... by version */
	uint64_t packets_v9;
	uint64_t packets_ipfix;
	uint64_t not_flow;    /* too short for any header, or an unknown version */
	uint64_t records;     /* flow records reported */
	uint64_t options_records; /* options data records consumed, not reported */
	uint64_t templates;   /* template and options template records accepted (refreshes too) */
	uint64_t template_changes; /* a known template id arrived with a different layout */
	uint64_t template_withdrawals; /* templates removed by an IPFIX withdrawal */
	uint64_t templates_dropped; /* not stored: invalid or over the decoder's limit */
	uint64_t unknown_template_sets; /* data sets skipped for want of their template */
	uint64_t malformed_packets; /* bad header or truncated; the sound part still decoded */
	uint64_t malformed_sets;    /* bad set header, template or data set; skipped */
	uint64_t seq_gaps;	    /* sequence numbers ran ahead of the expected value */
	uint64_t missing_records;   /* v5 flows and IPFIX data records lost per those gaps */
	uint64_t missing_packets;   /* v9 export packets lost (v9 sequences count packets) */
	uint64_t seq_resets; /* sequence went backwards (exporter restart, reordering) */
	uint64_t sessions_dropped; /* packets from a new exporter/domain beyond the limits */
	/* IP fragments of UDP datagrams in a capture (p25_flow_read_pcap()): */
	uint64_t ip_fragments;       /* fragments seen */
	uint64_t ip_reassembled;     /* datagrams reassembled and decoded */
	uint64_t ip_frag_incomplete; /* datagrams given up with fragments missing */
	uint64_t ip_frag_invalid;    /* fragments ignored: past 64 kB, inconsistent end, ... */
};

/* Called with n (1..P25_FLOW_BATCH) records; they are valid only during the call. */
typedef void (*p25_flow_cb)(void *arg, const struct p25_flow *flows, size_t n);

struct p25_flow_decoder;

struct p25_flow_decoder *p25_flow_decoder_new(void);
void p25_flow_decoder_free(struct p25_flow_decoder *d);

/*
 * Decode one export packet (one UDP payload).  The version is read from
 * the packet.  Returns the number of flow records reported, or -1 when
 * the packet as a whole was unusable (counted in the stats).  from may be
 * NULL for a single anonymous exporter.
 */
int p25_flow_decode(struct p25_flow_decoder *d, const struct p25_flow_exporter *from,
		    const uint8_t *pkt, size_t len, p25_flow_cb cb, void *arg);

const struct p25_flow_stats *p25_flow_decoder_stats(const struct p25_flow_decoder *d);
/* The exporter behind struct p25_flow.exporter, or NULL. */
const struct p25_flow_exporter *p25_flow_decoder_exporter(const struct p25_flow_decoder *d,
							   uint32_t id);

/*
 * Read a packet capture of export traffic and feed every UDP payload to
 * the decoder, the exporter being the datagram's source address and port.
 * The capture module reads it (pcap or pcapng, gzip or not, "-" for
 * standard input) and the packet decoder walks its link layer: Ethernet
 * (with 802.1Q/802.1ad tags), Linux cooked v1 and v2, raw IP, BSD
 * loopback; a classic pcap file of another link type is refused.  Non-UDP
 * is skipped.  Fragmented datagrams
 * (IPv4, IPv6 Fragment header) are reassembled: up to 64 in progress, 64 kB
 * each, 30 s of capture time from the first fragment; counted in the
 * decoder's stats (ip_fragments, ip_reassembled, ip_frag_incomplete).
 * port, when non-zero, keeps only datagrams to that destination port.
 * Returns the number of datagrams fed, or -1 with err set.
 */
long p25_flow_read_pcap(const char *path, uint16_t port, struct p25_flow_decoder *d,
			p25_flow_cb cb, void *arg, char *err, size_t errlen);
/* The same for a capture file image in memory. */
long p25_flow_read_pcap_mem(const void *data, size_t len, uint16_t port, struct p25_flow_decoder *d,
			    p25_flow_cb cb, void *arg, char *err, size_t errlen);

/*
 * Live collection: a UDP socket and a recvmmsg loop feeding one decoder.
 * addr is a numeric IPv4 or IPv6 address ("0.0.0.0", "::"); port 0 picks
 * a free port (see p25_flow_receiver_port()).
 */
struct p25_flow_receiver;

struct p25_flow_receiver *p25_flow_receiver_open(const char *addr, uint16_t port, char *err,
						 size_t errlen);
uint16_t p25_flow_receiver_port(const struct p25_flow_receiver *r);
/*
 * Wait up to timeout_ms (-1: forever) for datagrams and decode what is
 * queued.  Returns the number of datagrams decoded, 0 on timeout or stop,
 * -1 on a socket error.
 */
int p25_flow_receiver_poll(struct p25_flow_receiver *r, struct p25_flow_decoder *d,
			   p25_flow_cb cb, void *arg, int timeout_ms);
/* Loop on p25_flow_receiver_poll() until p25_flow_receiver_stop().  0, or -1 on error. */
int p25_flow_receiver_run(struct p25_flow_receiver *r, struct p25_flow_decoder *d,
			  p25_flow_cb cb, void *arg);
/* Safe from a signal handler or another thread. */
void p25_flow_receiver_stop(struct p25_flow_receiver *r);
void p25_flow_receiver_close(struct p25_flow_receiver *r);

#endif
