/* Decoder internals shared by the NetFlow v5, v9 and IPFIX parsers. */
#ifndef P25_FLOW_INT_H
#define P25_FLOW_INT_H

#include "flow/flow.h"

#include <string.h>

/*
 * Limits that bound memory whatever an exporter (or an attacker spoofing
 * exporters) sends.  Packets beyond them are counted, not decoded.
 */
#define P25_FLOW_MAX_EXPORTERS	  65536
#define P25_FLOW_MAX_SESSIONS	  65536
#define P25_FLOW_MAX_TMPL_BYTES	  (64u << 20)
#define P25_FLOW_VARLEN		  0xffff
#define P25_FLOW_MAX_SAMPLERS     8 /* sampler ids remembered per session */

/* What a template field means to us; everything else is skipped by length. */
enum p25_fkind {
	F_SKIP = 0,
	F_SRC4,
	F_DST4,
	F_SRC6,
	F_DST6,
	F_SPORT,
	F_DPORT,
	F_PROTO,
	F_FLAGS,
	F_BYTES,
	F_PKTS,
	F_BYTES_TOTAL,
	F_PKTS_TOTAL,
	F_START_UP, /* ms of sysUpTime */
	F_END_UP,
	F_START_S,
	F_END_S,
	F_START_MS,
	F_END_MS,
	F_START_NTP, /* dateTimeMicroseconds/Nanoseconds: NTP timestamp */
	F_END_NTP,
	F_START_DUS, /* microseconds before the export time */
	F_END_DUS,
	F_IN_IF,
	F_OUT_IF,
	F_DIR,
	F_SYSINIT, /* systemInitTimeMilliseconds */
	/* Sampling: options data, or inline in flow records. */
	F_SAMP_INT,       /* samplingInterval 34, samplerRandomInterval 50 */
	F_SAMP_PKT_INT,   /* samplingPacketInterval 305 */
	F_SAMP_PKT_SPACE, /* samplingPacketSpace 306 */
	F_SAMPLER_ID,     /* samplerId 48, selectorId 302: which sampler */
};

struct p25_op {
	uint16_t off; /* fixed-length templates: offset in the record */
	uint16_t len; /* P25_FLOW_VARLEN: IPFIX variable length */
	uint8_t kind; /* enum p25_fkind * 8 + wire length class; 0 skips */
};

enum {
	T_START_UP = 1 << 0,
	T_END_UP = 1 << 1,
	T_SYSINIT = 1 << 2,
	T_BYTES = 1 << 3, /* has a delta count, so a total count must not override it */
	T_PKTS = 1 << 4,
	T_SAMPLING = 1 << 5, /* has a sampling field (F_SAMP_* or F_SAMPLER_ID) */
};

/*
 * Fixed-length templates: for each meaning, where its field sits and how
 * wide it is.  Decoding is then straight-line code whose branches go the
 * same way for every record of the template, which predicts far better
 * than one indirect jump per field.
 */
struct p25_fast {
	uint32_t mask; /* bit per enum p25_fkind present */
	uint16_t off[32];
	uint8_t len[32];
};

/*
 * A compiled template.  Fixed-length templates keep only the fields we
 * use, each at its offset (and the same as struct p25_fast); templates
 * with variable-length fields keep every field, walked in order.
 */
struct p25_tmpl {
	uint16_t id;
	bool options;
	bool varlen;
	uint8_t flags;
	uint32_t reclen; /* record length; with varlen the minimum */
	uint32_t nops;
	uint32_t rawlen;
	uint8_t *raw; /* the template record as received, to recognise refreshes */
	size_t size;
	struct p25_fast fast;
	struct p25_op ops[];
};

/*
 * Template field specifiers in wire order: type (with the enterprise bit
 * for IPFIX), length, and for enterprise fields the PEN.  scope is the
 * number of leading scope fields (options templates).
 */
struct p25_fspec {
	uint16_t type;
	uint16_t len;
	bool enterprise;
};

struct p25_flow_session {
	uint32_t exporter;
	uint32_t domain;
	uint8_t version;
	bool seq_valid;
	uint32_t seq_next;
	int64_t sysinit_ms; /* IPFIX: from options data; 0 unknown */
	/*
	 * Sampling rates (1 in N) from options data: without a sampler id, and
	 * the last one announced with one; per sampler id, a few (round robin).
	 */
	uint32_t sampling;
	uint32_t sampling_last;
	uint8_t nsamplers;
	uint8_t next_sampler;
	struct {
		uint64_t id;
		uint32_t rate;
	} samplers[P25_FLOW_MAX_SAMPLERS];
	uint32_t ntmpl;
	struct p25_tmpl ***pages; /* [id >> 8][id & 255], allocated on demand */
};

struct p25_exp_slot {
	struct p25_flow_exporter key;
	uint32_t id; /* UINT32_MAX: empty */
};

struct p25_flow_decoder {
	struct p25_flow_stats st;

	struct p25_exp_slot *exp_slots;
	uint32_t exp_cap;
	struct p25_flow_exporter *exporters;
	uint32_t nexporters;

	struct p25_flow_session **sess_slots;
	uint32_t sess_cap;
	uint32_t nsessions;

	size_t tmpl_bytes;

	/* One-entry cache: consecutive packets mostly come from one session. */
	struct p25_flow_exporter last_from;
	uint32_t last_exporter;
	struct p25_flow_session *last_session;

	size_t nbatch;
	struct p25_flow batch[P25_FLOW_BATCH];

	/* Scratch for parsing one template: a set holds at most this many fields. */
	struct p25_fspec fspec[16384];
};

/* The state of one packet being decoded. */
struct p25_pkt {
	struct p25_flow_decoder *d;
	struct p25_flow_session *s;
	p25_flow_cb cb;
	void *arg;
	int64_t export_ms;
	uint32_t sysuptime;
	uint32_t data_records; /* flow and options data records seen */
	uint32_t flows;	       /* flow records reported */
	uint32_t unknown_sets;
	int64_t rec_sysinit; /* systemInitTimeMilliseconds of the record being decoded */
	struct p25_flow proto; /* exporter, domain, version filled in */
	/* Sampling fields of the record being decoded (templates with T_SAMPLING). */
	struct {
		uint64_t interval;
		uint64_t pkt_interval;
		uint64_t pkt_space;
		uint64_t sampler_id;
		bool has_id;
	} rs;
};

static inline uint16_t p25_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t p25_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t p25_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline void p25_flow_emit_flush(struct p25_pkt *k)
{
	struct p25_flow_decoder *d = k->d;
	if (d->nbatch) {
		k->cb(k->arg, d->batch, d->nbatch);
		d->nbatch = 0;
	}
}

/* The next free batch slot, pre-filled with the packet's common fields. */
static inline struct p25_flow *p25_flow_slot(struct p25_pkt *k)
{
	struct p25_flow_decoder *d = k->d;
	if (d->nbatch == P25_FLOW_BATCH)
		p25_flow_emit_flush(k);
	struct p25_flow *f = &d->batch[d->nbatch];
	*f = k->proto;
	return f;
}

/* The rate for records that name no sampler: 0 unknown. */
static inline uint32_t p25_flow_session_sampling(const struct p25_flow_session *s)
{
	return s->sampling ? s->sampling : s->sampling_last;
}

/* Find or create the session; NULL (counted) when over the limits. */
struct p25_flow_session *p25_flow_session_get(struct p25_flow_decoder *d,
					      const struct p25_flow_exporter *from,
					      uint8_t version, uint32_t domain, uint32_t *exporter);
/*
 * Check a header's sequence number against the expected one.  unit
 * selects which counter gaps add to.
 */
void p25_flow_seq_check(struct p25_flow_decoder *d, struct p25_flow_session *s, uint32_t seq,
			bool gap_in_packets);


/*
 * Compile and store a template.  raw/rawlen identify the layout for refresh
 * detection.  Returns 0, or -1 when the template is invalid (counted).
 */
int p25_tmpl_add(struct p25_flow_decoder *d, struct p25_flow_session *s, uint16_t id,
		 bool options, unsigned scope, const struct p25_fspec *f, unsigned n,
		 const uint8_t *raw, size_t rawlen);
struct p25_tmpl *p25_tmpl_find(const struct p25_flow_session *s, uint16_t id);
/* Remove one template; false if it was not there. */
bool p25_tmpl_withdraw(struct p25_flow_decoder *d, struct p25_flow_session *s, uint16_t id);
/* Remove every (options) template of the session. */
void p25_tmpl_withdraw_all(struct p25_flow_decoder *d, struct p25_flow_session *s, bool options);
void p25_tmpl_free_session(struct p25_flow_decoder *d, struct p25_flow_session *s);

/*
 * Decode the records of one data set body.  Returns 0, or -1 when the set
 * is malformed (the records before the damage have been emitted).
 */
int p25_tmpl_data_set(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p, size_t len);

/*
 * IP fragment reassembly (frag.c), for the pcap reader.  The key of a
 * datagram: family (4 or 6), addresses (IPv4 in the first 4 bytes),
 * protocol (IPv6: the Fragment header's next header) and identification.
 */
#define P25_FRAG_SLOTS      64
#define P25_FRAG_MAX        65535 /* bytes of one reassembled payload */
#define P25_FRAG_TIMEOUT_US (30 * 1000000LL)

struct p25_frag_key {
	uint8_t family;
	uint8_t proto;
	uint32_t id;
	uint8_t src[16], dst[16];
};

struct p25_reasm;

struct p25_reasm *p25_reasm_new(void);
void p25_reasm_free(struct p25_reasm *r);
/*
 * Add one fragment: off is its byte offset in the payload, more its
 * more-fragments flag, now_us the capture time.  Returns the reassembled
 * payload (valid until the next call) and its length when this fragment
 * completed a datagram, else NULL.  Counts into st.
 */
const uint8_t *p25_reasm_add(struct p25_reasm *r, struct p25_flow_stats *st,
			     const struct p25_frag_key *k, size_t off, bool more,
			     const uint8_t *data, size_t len, int64_t now_us, size_t *outlen);
/* Give up every datagram still in progress (counted incomplete). */
void p25_reasm_finish(struct p25_reasm *r, struct p25_flow_stats *st);

/*
 * One captured frame of the pcap reader: link type linktype (LINKTYPE_*), capture time
 * now_us.  Returns 1 when a datagram was given to the decoder, else 0.
 */
int p25_flow_pcap_frame(struct p25_reasm *r, uint32_t linktype, int64_t now_us,
			const uint8_t *data, size_t caplen, uint16_t port, struct p25_flow_decoder *d,
			p25_flow_cb cb, void *arg);

int p25_flow_decode_v5(struct p25_pkt *k, const struct p25_flow_exporter *from,
		       const uint8_t *pkt, size_t len);
int p25_flow_decode_v9(struct p25_pkt *k, const struct p25_flow_exporter *from,
		       const uint8_t *pkt, size_t len);
int p25_flow_decode_ipfix(struct p25_pkt *k, const struct p25_flow_exporter *from,
			  const uint8_t *pkt, size_t len);

#endif
