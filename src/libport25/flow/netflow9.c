/* NetFlow v9 (RFC 3954). */
#include "flow/flow_int.h"

#define V9_HDR 20

/* Template FlowSet body.  Returns the number of template records, -1 if malformed. */
static int v9_templates(struct p25_pkt *k, const uint8_t *p, size_t len)
{
	struct p25_flow_decoder *d = k->d;
	int n = 0;

	while (len >= 4) {
		uint16_t id = p25_be16(p);
		unsigned nf = p25_be16(p + 2);
		/* Zero bytes at the end of a FlowSet are padding. */
		if (id == 0 && nf == 0)
			break;
		size_t rlen = 4 + (size_t)nf * 4;
		if (rlen > len) {
			d->st.malformed_sets++;
			return -1;
		}
		bool ok = id >= 256 && nf > 0;
		for (unsigned i = 0; i < nf && ok; i++) {
			d->fspec[i].type = p25_be16(p + 4 + i * 4);
			d->fspec[i].len = p25_be16(p + 6 + i * 4);
			d->fspec[i].enterprise = false;
			/* v9 has no variable-length fields; no record could hold this one. */
			if (d->fspec[i].len == P25_FLOW_VARLEN)
				ok = false;
		}
		if (ok)
			p25_tmpl_add(d, k->s, id, false, 0, d->fspec, nf, p, rlen);
		else
			d->st.templates_dropped++;
		n++;
		p += rlen;
		len -= rlen;
	}
	return n;
}

/* Options Template FlowSet body: id, scope length, option length (both in bytes), fields. */
static int v9_options_templates(struct p25_pkt *k, const uint8_t *p, size_t len)
{
	struct p25_flow_decoder *d = k->d;
	int n = 0;

	while (len >= 6) {
		uint16_t id = p25_be16(p);
		unsigned slen = p25_be16(p + 2), olen = p25_be16(p + 4);
		if (id == 0 && slen == 0 && olen == 0)
			break;
		size_t rlen = 6 + (size_t)slen + olen;
		if (rlen > len || slen % 4 || olen % 4) {
			d->st.malformed_sets++;
			return -1;
		}
		unsigned nf = (slen + olen) / 4;
		bool ok = id >= 256 && nf > 0;
		for (unsigned i = 0; i < nf && ok; i++) {
			d->fspec[i].type = p25_be16(p + 6 + i * 4);
			d->fspec[i].len = p25_be16(p + 8 + i * 4);
			d->fspec[i].enterprise = false;
			if (d->fspec[i].len == P25_FLOW_VARLEN)
				ok = false;
		}
		if (ok)
			p25_tmpl_add(d, k->s, id, true, slen / 4, d->fspec, nf, p, rlen);
		else
			d->st.templates_dropped++;
		n++;
		p += rlen;
		len -= rlen;
	}
	return n;
}

int p25_flow_decode_v9(struct p25_pkt *k, const struct p25_flow_exporter *from,
		       const uint8_t *pkt, size_t len)
{
	struct p25_flow_decoder *d = k->d;

	if (len < V9_HDR) {
		d->st.malformed_packets++;
		return -1;
	}
	unsigned count = p25_be16(pkt + 2);
	k->sysuptime = p25_be32(pkt + 4);
	k->export_ms = (int64_t)p25_be32(pkt + 8) * 1000;
	uint32_t seq = p25_be32(pkt + 12);
	uint32_t domain = p25_be32(pkt + 16);

	struct p25_flow_session *s = p25_flow_session_get(d, from, 9, domain, &k->proto.exporter);
	if (!s)
		return -1;
	k->s = s;
	k->proto.domain = domain;
	k->proto.sampling = p25_flow_session_sampling(s);
	/* v9 sequence numbers count export packets, not records. */
	p25_flow_seq_check(d, s, seq, true);
	s->seq_next = seq + 1;
	s->seq_valid = true;

	const uint8_t *p = pkt + V9_HDR, *end = pkt + len;
	unsigned records = 0;
	bool broken = false;
	while (end - p >= 4) {
		uint16_t id = p25_be16(p);
		size_t slen = p25_be16(p + 2);
		/* Without a sound length nothing after this point can be framed. */
		if (slen < 4 || slen > (size_t)(end - p)) {
			d->st.malformed_sets++;
			broken = true;
			break;
		}
		const uint8_t *body = p + 4;
		size_t blen = slen - 4;
		int n;
		if (id == 0) {
			if ((n = v9_templates(k, body, blen)) > 0)
				records += (unsigned)n;
		} else if (id == 1) {
			if ((n = v9_options_templates(k, body, blen)) > 0)
				records += (unsigned)n;
		} else if (id >= 256) {
			const struct p25_tmpl *t = p25_tmpl_find(s, id);
			if (t) {
				uint32_t before = k->data_records;
				p25_tmpl_data_set(k, t, body, blen);
				records += k->data_records - before;
			} else {
				d->st.unknown_template_sets++;
				k->unknown_sets++;
			}
		}
		p += slen;
	}
	/*
	 * The header's record count is the only way to see a packet cut at a
	 * FlowSet boundary; it can only be checked when every set was decoded.
	 */
	if (broken || (!k->unknown_sets && records < count))
		d->st.malformed_packets++;
	return 0;
}
