/* NetFlow v5: a fixed 24-byte header and fixed 48-byte records. */
#include "flow/flow_int.h"

#define V5_HDR 24
#define V5_REC 48

int p25_flow_decode_v5(struct p25_pkt *k, const struct p25_flow_exporter *from,
		       const uint8_t *pkt, size_t len)
{
	struct p25_flow_decoder *d = k->d;

	if (len < V5_HDR) {
		d->st.malformed_packets++;
		return -1;
	}
	unsigned count = p25_be16(pkt + 2);
	uint32_t sysup = p25_be32(pkt + 4);
	int64_t export_ms = (int64_t)p25_be32(pkt + 8) * 1000 + p25_be32(pkt + 12) / 1000000;
	uint32_t seq = p25_be32(pkt + 16);
	uint32_t domain = (uint32_t)pkt[20] << 8 | pkt[21];

	struct p25_flow_session *s = p25_flow_session_get(d, from, 5, domain, &k->proto.exporter);
	if (!s)
		return -1;
	k->s = s;
	k->proto.domain = domain;
	/* Top 2 bits the sampling mode, low 14 the interval (0: not sampled). */
	k->proto.sampling = p25_be16(pkt + 22) & 0x3fff;
	p25_flow_seq_check(d, s, seq, false);
	s->seq_next = seq + count;
	s->seq_valid = true;

	/* A short packet keeps the records that are whole. */
	size_t avail = (len - V5_HDR) / V5_REC;
	if (avail < count)
		d->st.malformed_packets++;
	if (avail > count)
		avail = count;

	const uint8_t *r = pkt + V5_HDR;
	for (size_t i = 0; i < avail; i++, r += V5_REC) {
		struct p25_flow *f = p25_flow_slot(k);
		f->src.bits = (p25_u128)p25_be32(r) << 96;
		f->src.family = P25_INET;
		f->dst.bits = (p25_u128)p25_be32(r + 4) << 96;
		f->dst.family = P25_INET;
		f->in_if = p25_be16(r + 12);
		f->out_if = p25_be16(r + 14);
		f->packets = p25_be32(r + 16);
		f->bytes = p25_be32(r + 20);
		/* Router uptime at the flow's first and last packet. */
		f->first_ms = export_ms - (int32_t)(sysup - p25_be32(r + 24));
		f->last_ms = export_ms - (int32_t)(sysup - p25_be32(r + 28));
		f->sport = p25_be16(r + 32);
		f->dport = p25_be16(r + 34);
		f->tcp_flags = r[37];
		f->protocol = r[38];
		d->nbatch++;
	}
	k->flows = (uint32_t)avail;
	return 0;
}
