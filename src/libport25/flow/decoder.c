#include "flow/flow_int.h"

#include <stdlib.h>

#include "util/hash.h"

struct p25_flow_decoder *p25_flow_decoder_new(void)
{
	struct p25_flow_decoder *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->last_exporter = UINT32_MAX;
	return d;
}

void p25_flow_decoder_free(struct p25_flow_decoder *d)
{
	if (!d)
		return;
	for (uint32_t i = 0; i < d->sess_cap; i++) {
		struct p25_flow_session *s = d->sess_slots[i];
		if (s) {
			p25_tmpl_free_session(d, s);
			free(s);
		}
	}
	free(d->sess_slots);
	free(d->exp_slots);
	free(d->exporters);
	free(d);
}

const struct p25_flow_stats *p25_flow_decoder_stats(const struct p25_flow_decoder *d)
{
	return &d->st;
}

const struct p25_flow_exporter *p25_flow_decoder_exporter(const struct p25_flow_decoder *d,
							   uint32_t id)
{
	return id < d->nexporters ? &d->exporters[id] : NULL;
}

static uint64_t exp_hash(const struct p25_flow_exporter *e)
{
	return p25_mix64((uint64_t)e->addr.bits ^ p25_mix64((uint64_t)(e->addr.bits >> 64)) ^
		     ((uint64_t)e->port << 8 | e->addr.family));
}

static bool exp_equal(const struct p25_flow_exporter *a, const struct p25_flow_exporter *b)
{
	return a->addr.bits == b->addr.bits && a->addr.family == b->addr.family &&
	       a->port == b->port;
}

static int exp_grow(struct p25_flow_decoder *d)
{
	uint32_t ncap = d->exp_cap ? d->exp_cap * 2 : 64;
	struct p25_exp_slot *ns = malloc(sizeof *ns * ncap);
	struct p25_flow_exporter *ne = realloc(d->exporters, sizeof *ne * (ncap / 2));
	if (!ns || !ne) {
		free(ns);
		if (ne)
			d->exporters = ne;
		return -1;
	}
	d->exporters = ne;
	for (uint32_t i = 0; i < ncap; i++)
		ns[i].id = UINT32_MAX;
	for (uint32_t i = 0; i < d->exp_cap; i++) {
		if (d->exp_slots[i].id == UINT32_MAX)
			continue;
		uint32_t h = (uint32_t)exp_hash(&d->exp_slots[i].key) & (ncap - 1);
		while (ns[h].id != UINT32_MAX)
			h = (h + 1) & (ncap - 1);
		ns[h] = d->exp_slots[i];
	}
	free(d->exp_slots);
	d->exp_slots = ns;
	d->exp_cap = ncap;
	return 0;
}

static uint32_t exporter_id(struct p25_flow_decoder *d, const struct p25_flow_exporter *from)
{
	if (d->last_exporter != UINT32_MAX && exp_equal(&d->last_from, from))
		return d->last_exporter;
	/* Keep the load at most one half so probes stay short. */
	/* Past the limit known exporters still work; new ones are refused below. */
	if (d->nexporters >= d->exp_cap / 2 && d->nexporters < P25_FLOW_MAX_EXPORTERS)
		exp_grow(d);
	if (!d->exp_cap)
		return UINT32_MAX;
	uint32_t h = (uint32_t)exp_hash(from) & (d->exp_cap - 1);
	while (d->exp_slots[h].id != UINT32_MAX) {
		if (exp_equal(&d->exp_slots[h].key, from))
			goto found;
		h = (h + 1) & (d->exp_cap - 1);
	}
	if (d->nexporters >= d->exp_cap / 2)
		return UINT32_MAX;
	d->exp_slots[h].key = *from;
	d->exp_slots[h].id = d->nexporters;
	d->exporters[d->nexporters++] = *from;
found:
	d->last_from = *from;
	d->last_exporter = d->exp_slots[h].id;
	return d->last_exporter;
}

static uint64_t sess_hash(uint32_t exporter, uint8_t version, uint32_t domain)
{
	return p25_mix64((uint64_t)exporter << 32 ^ (uint64_t)version << 56 ^ domain);
}

static int sess_grow(struct p25_flow_decoder *d)
{
	uint32_t ncap = d->sess_cap ? d->sess_cap * 2 : 64;
	struct p25_flow_session **ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return -1;
	for (uint32_t i = 0; i < d->sess_cap; i++) {
		struct p25_flow_session *s = d->sess_slots[i];
		if (!s)
			continue;
		uint32_t h = (uint32_t)sess_hash(s->exporter, s->version, s->domain) & (ncap - 1);
		while (ns[h])
			h = (h + 1) & (ncap - 1);
		ns[h] = s;
	}
	free(d->sess_slots);
	d->sess_slots = ns;
	d->sess_cap = ncap;
	return 0;
}

struct p25_flow_session *p25_flow_session_get(struct p25_flow_decoder *d,
					      const struct p25_flow_exporter *from,
					      uint8_t version, uint32_t domain, uint32_t *exporter)
{
	static const struct p25_flow_exporter anon;
	if (!from)
		from = &anon;
	uint32_t eid = exporter_id(d, from);
	if (eid == UINT32_MAX) {
		d->st.sessions_dropped++;
		return NULL;
	}
	*exporter = eid;
	struct p25_flow_session *s = d->last_session;
	if (s && s->exporter == eid && s->version == version && s->domain == domain)
		return s;
	if (d->nsessions >= d->sess_cap / 2 && d->nsessions < P25_FLOW_MAX_SESSIONS)
		sess_grow(d);
	if (!d->sess_cap) {
		d->st.sessions_dropped++;
		return NULL;
	}
	uint32_t h = (uint32_t)sess_hash(eid, version, domain) & (d->sess_cap - 1);
	while ((s = d->sess_slots[h])) {
		if (s->exporter == eid && s->version == version && s->domain == domain)
			goto found;
		h = (h + 1) & (d->sess_cap - 1);
	}
	if (d->nsessions >= d->sess_cap / 2 || !(s = calloc(1, sizeof *s))) {
		d->st.sessions_dropped++;
		return NULL;
	}
	s->exporter = eid;
	s->version = version;
	s->domain = domain;
	d->sess_slots[h] = s;
	d->nsessions++;
found:
	d->last_session = s;
	return s;
}

void p25_flow_seq_check(struct p25_flow_decoder *d, struct p25_flow_session *s, uint32_t seq,
			bool gap_in_packets)
{
	if (!s->seq_valid || seq == s->seq_next)
		return;
	uint32_t diff = seq - s->seq_next;
	/* Serial number arithmetic: "behind" is a restart or reordering, not loss. */
	if (diff >= 0x80000000u) {
		d->st.seq_resets++;
		return;
	}
	d->st.seq_gaps++;
	if (gap_in_packets)
		d->st.missing_packets += diff;
	else
		d->st.missing_records += diff;
}

int p25_flow_decode(struct p25_flow_decoder *d, const struct p25_flow_exporter *from,
		    const uint8_t *pkt, size_t len, p25_flow_cb cb, void *arg)
{
	struct p25_pkt k = {.d = d, .cb = cb, .arg = arg};
	int r;

	d->st.packets++;
	d->nbatch = 0;
	if (len < 2) {
		d->st.not_flow++;
		return -1;
	}
	k.proto.direction = P25_FLOW_DIR_UNKNOWN;
	switch (p25_be16(pkt)) {
	case 5:
		d->st.packets_v5++;
		k.proto.version = 5;
		r = p25_flow_decode_v5(&k, from, pkt, len);
		break;
	case 9:
		d->st.packets_v9++;
		k.proto.version = 9;
		r = p25_flow_decode_v9(&k, from, pkt, len);
		break;
	case 10:
		d->st.packets_ipfix++;
		k.proto.version = 10;
		r = p25_flow_decode_ipfix(&k, from, pkt, len);
		break;
	default:
		d->st.not_flow++;
		return -1;
	}
	p25_flow_emit_flush(&k);
	d->st.records += k.flows;
	return r < 0 ? -1 : (int)k.flows;
}
