/* IPFIX (RFC 7011). */
#include "flow/flow_int.h"

#define IPFIX_HDR 16

/*
 * Template Set (options false) or Options Template Set body.  Withdrawals
 * are template records with no fields: RFC 7011 section 8.1.
 */
static void ipfix_templates(struct p25_pkt *k, const uint8_t *p, size_t len, bool options)
{
	struct p25_flow_decoder *d = k->d;

	while (len >= 4) {
		uint16_t id = p25_be16(p);
		unsigned nf = p25_be16(p + 2);
		if (nf == 0) {
			if (id == 0)
				return; /* padding */
			if (id == (options ? 3 : 2))
				p25_tmpl_withdraw_all(d, k->s, options);
			else if (id >= 256)
				p25_tmpl_withdraw(d, k->s, id);
			else
				d->st.templates_dropped++;
			p += 4;
			len -= 4;
			continue;
		}
		size_t hdr = options ? 6 : 4;
		if (len < hdr) {
			d->st.malformed_sets++;
			return;
		}
		unsigned scope = options ? p25_be16(p + 4) : 0;
		const uint8_t *q = p + hdr, *end = p + len;
		for (unsigned i = 0; i < nf; i++) {
			if (end - q < 4) {
				d->st.malformed_sets++;
				return;
			}
			uint16_t type = p25_be16(q);
			d->fspec[i].type = type & 0x7fff;
			d->fspec[i].len = p25_be16(q + 2);
			d->fspec[i].enterprise = type & 0x8000;
			q += 4;
			if (type & 0x8000) {
				/* The PEN; the field is skipped by its length whatever it is. */
				if (end - q < 4) {
					d->st.malformed_sets++;
					return;
				}
				q += 4;
			}
		}
		size_t rlen = (size_t)(q - p);
		if (id >= 256 && (!options || (scope > 0 && scope <= nf)))
			p25_tmpl_add(d, k->s, id, options, scope, d->fspec, nf, p, rlen);
		else
			d->st.templates_dropped++;
		p += rlen;
		len -= rlen;
	}
}

int p25_flow_decode_ipfix(struct p25_pkt *k, const struct p25_flow_exporter *from,
			  const uint8_t *pkt, size_t len)
{
	struct p25_flow_decoder *d = k->d;

	if (len < IPFIX_HDR) {
		d->st.malformed_packets++;
		return -1;
	}
	size_t mlen = p25_be16(pkt + 2);
	if (mlen < IPFIX_HDR) {
		d->st.malformed_packets++;
		return -1;
	}
	bool broken = false;
	if (mlen > len) {
		/* Truncated: decode the sets that are wholly there. */
		d->st.malformed_packets++;
		broken = true;
		mlen = len;
	}
	k->export_ms = (int64_t)p25_be32(pkt + 4) * 1000;
	uint32_t seq = p25_be32(pkt + 8);
	uint32_t domain = p25_be32(pkt + 12);

	struct p25_flow_session *s = p25_flow_session_get(d, from, 10, domain, &k->proto.exporter);
	if (!s)
		return -1;
	k->s = s;
	k->proto.domain = domain;
	k->proto.sampling = p25_flow_session_sampling(s);
	p25_flow_seq_check(d, s, seq, false);
	uint64_t bad_sets = d->st.malformed_sets;

	const uint8_t *p = pkt + IPFIX_HDR, *end = pkt + mlen;
	while (end - p >= 4) {
		uint16_t id = p25_be16(p);
		size_t slen = p25_be16(p + 2);
		if (slen < 4 || slen > (size_t)(end - p)) {
			d->st.malformed_sets++;
			if (!broken)
				d->st.malformed_packets++;
			broken = true;
			break;
		}
		const uint8_t *body = p + 4;
		size_t blen = slen - 4;
		if (id == 2 || id == 3) {
			ipfix_templates(k, body, blen, id == 3);
		} else if (id >= 256) {
			const struct p25_tmpl *t = p25_tmpl_find(s, id);
			if (t) {
				p25_tmpl_data_set(k, t, body, blen);
			} else {
				d->st.unknown_template_sets++;
				k->unknown_sets++;
			}
		}
		p += slen;
	}
	if (p != end && !broken) {
		/* Bytes left that cannot hold a set header: the message length lied. */
		d->st.malformed_packets++;
		broken = true;
	}
	/*
	 * IPFIX sequence numbers count data records; the next one is only
	 * predictable when every record of this message was counted.
	 */
	if (broken || k->unknown_sets || d->st.malformed_sets != bad_sets) {
		s->seq_valid = false;
	} else {
		s->seq_next = seq + k->data_records;
		s->seq_valid = true;
	}
	return 0;
}
