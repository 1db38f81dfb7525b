/*
 * Templates (NetFlow v9 and IPFIX alike): compiled once when they arrive
 * into a short program of (offset, length, meaning) steps, so a data record
 * costs one pass over the fields we use and nothing for the others.
 */
#include "flow/flow_int.h"

#include <stdlib.h>

/* Seconds from the NTP epoch (1900) to the Unix epoch. */
#define NTP_UNIX_OFFSET 2208988800u

static uint8_t field_kind(uint16_t type)
{
	switch (type) {
	case 1: return F_BYTES;
	case 2: return F_PKTS;
	case 4: return F_PROTO;
	case 6: return F_FLAGS;
	case 7: return F_SPORT;
	case 8: return F_SRC4;
	case 10: return F_IN_IF;
	case 11: return F_DPORT;
	case 12: return F_DST4;
	case 14: return F_OUT_IF;
	case 21: return F_END_UP;
	case 22: return F_START_UP;
	case 27: return F_SRC6;
	case 28: return F_DST6;
	case 61: return F_DIR;
	case 85: return F_BYTES_TOTAL;
	case 86: return F_PKTS_TOTAL;
	case 150: return F_START_S;
	case 151: return F_END_S;
	case 152: return F_START_MS;
	case 153: return F_END_MS;
	case 154: /* dateTimeMicroseconds */
	case 156: /* dateTimeNanoseconds: same NTP layout */
		return F_START_NTP;
	case 155:
	case 157:
		return F_END_NTP;
	case 158: return F_START_DUS;
	case 159: return F_END_DUS;
	case 160: return F_SYSINIT;
	case 34: /* samplingInterval (v9 SAMPLING_INTERVAL) */
	case 50: /* samplerRandomInterval (v9 FLOW_SAMPLER_RANDOM_INTERVAL) */
		return F_SAMP_INT;
	case 305: return F_SAMP_PKT_INT;
	case 306: return F_SAMP_PKT_SPACE;
	case 48:  /* samplerId (v9 FLOW_SAMPLER_ID) */
	case 302: /* selectorId */
		return F_SAMPLER_ID;
	default: return F_SKIP;
	}
}

/* Fields whose length does not fit their meaning are skipped, not trusted. */
static bool length_ok(uint8_t kind, unsigned len)
{
	switch (kind) {
	case F_SRC4:
	case F_DST4:
		return len == 4;
	case F_SRC6:
	case F_DST6:
		return len == 16;
	case F_START_NTP:
	case F_END_NTP:
		return len == 8;
	default:
		/* Integers, reduced-size encoding included. */
		return len >= 1 && len <= 8;
	}
}

static unsigned len_class(uint8_t kind, unsigned len);

static bool sampling_kind(unsigned kind)
{
	return kind == F_SAMP_INT || kind == F_SAMP_PKT_INT || kind == F_SAMP_PKT_SPACE ||
	       kind == F_SAMPLER_ID;
}

struct p25_tmpl *p25_tmpl_find(const struct p25_flow_session *s, uint16_t id)
{
	struct p25_tmpl **page;
	if (!s->pages || !(page = s->pages[id >> 8]))
		return NULL;
	return page[id & 0xff];
}

static struct p25_tmpl **tmpl_slot(struct p25_flow_session *s, uint16_t id)
{
	if (!s->pages && !(s->pages = calloc(256, sizeof *s->pages)))
		return NULL;
	if (!s->pages[id >> 8] && !(s->pages[id >> 8] = calloc(256, sizeof **s->pages)))
		return NULL;
	return &s->pages[id >> 8][id & 0xff];
}

static void tmpl_free(struct p25_flow_decoder *d, struct p25_flow_session *s, struct p25_tmpl *t)
{
	d->tmpl_bytes -= t->size;
	s->ntmpl--;
	free(t);
}

int p25_tmpl_add(struct p25_flow_decoder *d, struct p25_flow_session *s, uint16_t id,
		 bool options, unsigned scope, const struct p25_fspec *f, unsigned n,
		 const uint8_t *raw, size_t rawlen)
{
	uint32_t reclen = 0;
	bool varlen = false;
	uint8_t flags = 0;

	for (unsigned i = 0; i < n; i++) {
		if (f[i].len == P25_FLOW_VARLEN) {
			varlen = true;
			reclen += 1;
		} else {
			reclen += f[i].len;
		}
		if (!f[i].enterprise && i >= scope) {
			uint8_t kind = field_kind(f[i].type);
			if (kind == F_BYTES)
				flags |= T_BYTES;
			else if (kind == F_PKTS)
				flags |= T_PKTS;
		}
	}
	/*
	 * A record must have a length, or a data set would hold infinitely
	 * many; and it must fit in a set.
	 */
	if (n == 0 || reclen == 0 || reclen > 65535 - 4) {
		d->st.templates_dropped++;
		return -1;
	}

	struct p25_tmpl *old = p25_tmpl_find(s, id);
	if (old && old->options == options && old->rawlen == rawlen &&
	    memcmp(old->raw, raw, rawlen) == 0) {
		d->st.templates++;
		return 0;
	}

	size_t size = sizeof(struct p25_tmpl) + (size_t)n * sizeof(struct p25_op) + rawlen;
	if (d->tmpl_bytes - (old ? old->size : 0) + size > P25_FLOW_MAX_TMPL_BYTES) {
		d->st.templates_dropped++;
		return -1;
	}
	struct p25_tmpl **slot = tmpl_slot(s, id);
	struct p25_tmpl *t = slot ? malloc(size) : NULL;
	if (!t) {
		d->st.templates_dropped++;
		return -1;
	}
	t->id = id;
	t->options = options;
	t->varlen = varlen;
	t->reclen = reclen;
	t->size = size;
	t->rawlen = (uint32_t)rawlen;
	t->raw = (uint8_t *)&t->ops[n];
	memcpy(t->raw, raw, rawlen);

	uint32_t off = 0, nops = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t kind = F_SKIP;
		if (!f[i].enterprise && f[i].len != P25_FLOW_VARLEN) {
			kind = field_kind(f[i].type);
			if (!length_ok(kind, f[i].len))
				kind = F_SKIP;
			/* Of the scope, only the sampler it describes. */
			if (i < scope && kind != F_SAMPLER_ID)
				kind = F_SKIP;
			/* Flow fields in options data mean nothing to us. */
			if (options && kind != F_SYSINIT && !sampling_kind(kind))
				kind = F_SKIP;
			if ((kind == F_BYTES_TOTAL && (flags & T_BYTES)) ||
			    (kind == F_PKTS_TOTAL && (flags & T_PKTS)))
				kind = F_SKIP;
		}
		if (kind == F_START_UP)
			flags |= T_START_UP;
		else if (kind == F_END_UP)
			flags |= T_END_UP;
		else if (kind == F_SYSINIT)
			flags |= T_SYSINIT;
		else if (sampling_kind(kind))
			flags |= T_SAMPLING;
		/* Variable-length templates are walked field by field. */
		if (kind != F_SKIP || varlen) {
			t->ops[nops].off = (uint16_t)off;
			t->ops[nops].len = f[i].len;
			t->ops[nops].kind = (uint8_t)(kind * 8 + len_class(kind, f[i].len));
			nops++;
		}
		if (f[i].len != P25_FLOW_VARLEN)
			off += f[i].len;
	}
	t->nops = nops;
	t->flags = flags;
	memset(&t->fast, 0, sizeof t->fast);
	if (!varlen) {
		/* A later field of the same meaning wins, as in the op list. */
		for (uint32_t i = 0; i < nops; i++) {
			unsigned kind = t->ops[i].kind / 8;
			t->fast.mask |= 1u << kind;
			t->fast.off[kind] = t->ops[i].off;
			t->fast.len[kind] = (uint8_t)t->ops[i].len;
		}
	}

	if (old) {
		d->st.template_changes++;
		tmpl_free(d, s, old);
	}
	*slot = t;
	s->ntmpl++;
	d->tmpl_bytes += size;
	d->st.templates++;
	return 0;
}

bool p25_tmpl_withdraw(struct p25_flow_decoder *d, struct p25_flow_session *s, uint16_t id)
{
	struct p25_tmpl *t = p25_tmpl_find(s, id);
	if (!t)
		return false;
	s->pages[id >> 8][id & 0xff] = NULL;
	tmpl_free(d, s, t);
	d->st.template_withdrawals++;
	return true;
}

void p25_tmpl_withdraw_all(struct p25_flow_decoder *d, struct p25_flow_session *s, bool options)
{
	if (!s->pages)
		return;
	for (unsigned i = 0; i < 256; i++) {
		struct p25_tmpl **page = s->pages[i];
		if (!page)
			continue;
		for (unsigned j = 0; j < 256; j++) {
			if (page[j] && page[j]->options == options) {
				tmpl_free(d, s, page[j]);
				page[j] = NULL;
				d->st.template_withdrawals++;
			}
		}
	}
}

void p25_tmpl_free_session(struct p25_flow_decoder *d, struct p25_flow_session *s)
{
	if (!s->pages)
		return;
	for (unsigned i = 0; i < 256; i++) {
		struct p25_tmpl **page = s->pages[i];
		if (!page)
			continue;
		for (unsigned j = 0; j < 256; j++)
			if (page[j])
				tmpl_free(d, s, page[j]);
		free(page);
	}
	free(s->pages);
	s->pages = NULL;
}

static inline int64_t ntp_ms(uint64_t v)
{
	return ((int64_t)(v >> 32) - NTP_UNIX_OFFSET) * 1000 +
	       (int64_t)(((v & 0xffffffffu) * 1000) >> 32);
}

static inline p25_u128 be128(const uint8_t *p)
{
	return (p25_u128)p25_be64(p) << 64 | p25_be64(p + 8);
}

/*
 * An op's code is its meaning times 8 plus a length class, so one jump
 * decides both what a field is and how wide it is on the wire.
 */
static unsigned len_class(uint8_t kind, unsigned len)
{
	/* Addresses and timestamps have one length each. */
	if (!length_ok(kind, len) || kind == F_SKIP || kind == F_SRC4 || kind == F_DST4 ||
	    kind == F_SRC6 || kind == F_DST6 || kind == F_START_NTP || kind == F_END_NTP)
		return 0;
	switch (len) {
	case 1: return 0;
	case 2: return 1;
	case 4: return 2;
	case 8: return 3;
	default: return 4;
	}
}

static inline uint64_t be_uint_any(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

#define INT_CASES(KIND, STMT)                                                                      \
	case KIND * 8 + 0: {                                                                       \
		uint64_t x = v[0];                                                                 \
		STMT;                                                                              \
		break;                                                                             \
	}                                                                                          \
	case KIND * 8 + 1: {                                                                       \
		uint64_t x = p25_be16(v);                                                          \
		STMT;                                                                              \
		break;                                                                             \
	}                                                                                          \
	case KIND * 8 + 2: {                                                                       \
		uint64_t x = p25_be32(v);                                                          \
		STMT;                                                                              \
		break;                                                                             \
	}                                                                                          \
	case KIND * 8 + 3: {                                                                       \
		uint64_t x = p25_be64(v);                                                          \
		STMT;                                                                              \
		break;                                                                             \
	}                                                                                          \
	case KIND * 8 + 4: {                                                                       \
		uint64_t x = be_uint_any(v, len);                                                  \
		STMT;                                                                              \
		break;                                                                             \
	}

/* Lengths were checked against the meaning when the template was compiled. */
static inline __attribute__((always_inline)) void
apply(struct p25_pkt *k, struct p25_flow *f, unsigned code, const uint8_t *v, unsigned len)
{
	switch (code) {
	case F_SRC4 * 8:
		f->src.bits = (p25_u128)p25_be32(v) << 96;
		f->src.family = P25_INET;
		break;
	case F_DST4 * 8:
		f->dst.bits = (p25_u128)p25_be32(v) << 96;
		f->dst.family = P25_INET;
		break;
	case F_SRC6 * 8:
		f->src.bits = be128(v);
		f->src.family = P25_INET6;
		break;
	case F_DST6 * 8:
		f->dst.bits = be128(v);
		f->dst.family = P25_INET6;
		break;
	case F_START_NTP * 8:
		f->first_ms = ntp_ms(p25_be64(v));
		break;
	case F_END_NTP * 8:
		f->last_ms = ntp_ms(p25_be64(v));
		break;
	INT_CASES(F_SPORT, f->sport = (uint16_t)x)
	INT_CASES(F_DPORT, f->dport = (uint16_t)x)
	INT_CASES(F_PROTO, f->protocol = (uint8_t)x)
	INT_CASES(F_FLAGS, f->tcp_flags = (uint16_t)x)
	INT_CASES(F_BYTES, f->bytes = x)
	INT_CASES(F_BYTES_TOTAL, f->bytes = x)
	INT_CASES(F_PKTS, f->packets = x)
	INT_CASES(F_PKTS_TOTAL, f->packets = x)
	/* Raw for now: the base may come later in the same record. */
	INT_CASES(F_START_UP, f->first_ms = (int64_t)x)
	INT_CASES(F_END_UP, f->last_ms = (int64_t)x)
	INT_CASES(F_START_S, f->first_ms = (int64_t)(x * 1000))
	INT_CASES(F_END_S, f->last_ms = (int64_t)(x * 1000))
	INT_CASES(F_START_MS, f->first_ms = (int64_t)x)
	INT_CASES(F_END_MS, f->last_ms = (int64_t)x)
	INT_CASES(F_START_DUS, f->first_ms = k->export_ms - (int64_t)(x / 1000))
	INT_CASES(F_END_DUS, f->last_ms = k->export_ms - (int64_t)(x / 1000))
	INT_CASES(F_IN_IF, f->in_if = (uint32_t)x)
	INT_CASES(F_OUT_IF, f->out_if = (uint32_t)x)
	INT_CASES(F_DIR, f->direction = (uint8_t)x)
	INT_CASES(F_SYSINIT, k->rec_sysinit = (int64_t)x)
	INT_CASES(F_SAMP_INT, k->rs.interval = x)
	INT_CASES(F_SAMP_PKT_INT, k->rs.pkt_interval = x)
	INT_CASES(F_SAMP_PKT_SPACE, k->rs.pkt_space = x)
	INT_CASES(F_SAMPLER_ID, k->rs.sampler_id = x; k->rs.has_id = true)
	default:
		break;
	}
}

/* sysUpTime-relative times: v9 against the header, IPFIX against the system init time. */
static inline void fix_uptime(struct p25_pkt *k, const struct p25_tmpl *t, struct p25_flow *f)
{
	if (k->proto.version == 9) {
		if (t->flags & T_START_UP)
			f->first_ms = k->export_ms - (int32_t)(k->sysuptime - (uint32_t)f->first_ms);
		if (t->flags & T_END_UP)
			f->last_ms = k->export_ms - (int32_t)(k->sysuptime - (uint32_t)f->last_ms);
		return;
	}
	int64_t init = (t->flags & T_SYSINIT) ? k->rec_sysinit : k->s->sysinit_ms;
	if (t->flags & T_START_UP)
		f->first_ms = init ? (int64_t)((uint64_t)init + (uint64_t)f->first_ms) : 0;
	if (t->flags & T_END_UP)
		f->last_ms = init ? (int64_t)((uint64_t)init + (uint64_t)f->last_ms) : 0;
}

/* Widths are one of a few in practice; these branches are the same for every record. */
static inline uint64_t rd(const uint8_t *p, unsigned len)
{
	if (len == 4)
		return p25_be32(p);
	if (len == 2)
		return p25_be16(p);
	if (len == 8)
		return p25_be64(p);
	if (len == 1)
		return p[0];
	return be_uint_any(p, len);
}

static inline __attribute__((always_inline)) void
decode_fixed(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p, struct p25_flow *f)
{
	const struct p25_fast *x = &t->fast;
	const uint32_t m = x->mask;
#define HAS(K) (m & (1u << (K)))
#define AT(K)  (p + x->off[K])
#define RD(K)  rd(AT(K), x->len[K])
	if (HAS(F_SRC4)) {
		f->src.bits = (p25_u128)p25_be32(AT(F_SRC4)) << 96;
		f->src.family = P25_INET;
	}
	if (HAS(F_DST4)) {
		f->dst.bits = (p25_u128)p25_be32(AT(F_DST4)) << 96;
		f->dst.family = P25_INET;
	}
	if (HAS(F_SRC6)) {
		f->src.bits = be128(AT(F_SRC6));
		f->src.family = P25_INET6;
	}
	if (HAS(F_DST6)) {
		f->dst.bits = be128(AT(F_DST6));
		f->dst.family = P25_INET6;
	}
	if (HAS(F_SPORT))
		f->sport = (uint16_t)RD(F_SPORT);
	if (HAS(F_DPORT))
		f->dport = (uint16_t)RD(F_DPORT);
	if (HAS(F_PROTO))
		f->protocol = (uint8_t)RD(F_PROTO);
	if (HAS(F_FLAGS))
		f->tcp_flags = (uint16_t)RD(F_FLAGS);
	if (HAS(F_BYTES))
		f->bytes = RD(F_BYTES);
	else if (HAS(F_BYTES_TOTAL))
		f->bytes = RD(F_BYTES_TOTAL);
	if (HAS(F_PKTS))
		f->packets = RD(F_PKTS);
	else if (HAS(F_PKTS_TOTAL))
		f->packets = RD(F_PKTS_TOTAL);
	if (HAS(F_IN_IF))
		f->in_if = (uint32_t)RD(F_IN_IF);
	if (HAS(F_OUT_IF))
		f->out_if = (uint32_t)RD(F_OUT_IF);
	if (HAS(F_DIR))
		f->direction = (uint8_t)RD(F_DIR);
	if (HAS(F_START_MS))
		f->first_ms = (int64_t)RD(F_START_MS);
	if (HAS(F_END_MS))
		f->last_ms = (int64_t)RD(F_END_MS);
	if (HAS(F_START_S))
		f->first_ms = (int64_t)(RD(F_START_S) * 1000);
	if (HAS(F_END_S))
		f->last_ms = (int64_t)(RD(F_END_S) * 1000);
	/* Rarer times and the init time: the op list. */
	const uint32_t rare = (1u << F_START_NTP | 1u << F_END_NTP | 1u << F_START_DUS |
			       1u << F_END_DUS | 1u << F_SYSINIT | 1u << F_SAMP_INT |
			       1u << F_SAMP_PKT_INT | 1u << F_SAMP_PKT_SPACE | 1u << F_SAMPLER_ID);
	if (m & rare) {
		for (uint32_t i = 0; i < t->nops; i++) {
			const struct p25_op *op = &t->ops[i];
			if ((1u << (op->kind / 8)) & rare)
				apply(k, f, op->kind, p + op->off, op->len);
		}
	}
	/* Uptimes last: they are converted against a base that may come with the record. */
	if (HAS(F_START_UP))
		f->first_ms = (int64_t)RD(F_START_UP);
	if (HAS(F_END_UP))
		f->last_ms = (int64_t)RD(F_END_UP);
	if (t->flags & (T_START_UP | T_END_UP))
		fix_uptime(k, t, f);
#undef HAS
#undef AT
#undef RD
}

/* Bytes consumed, or 0 when the record overruns the set. */
static size_t decode_var(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p,
			 size_t avail, struct p25_flow *f)
{
	const uint8_t *q = p, *end = p + avail;
	for (uint32_t i = 0; i < t->nops; i++) {
		const struct p25_op *op = &t->ops[i];
		size_t flen = op->len;
		if (flen == P25_FLOW_VARLEN) {
			if (q >= end)
				return 0;
			flen = *q++;
			if (flen == 255) {
				if (end - q < 2)
					return 0;
				flen = p25_be16(q);
				q += 2;
			}
		}
		if ((size_t)(end - q) < flen)
			return 0;
		if (op->kind != F_SKIP)
			apply(k, f, op->kind, q, (unsigned)flen);
		q += flen;
	}
	if (t->flags & (T_START_UP | T_END_UP))
		fix_uptime(k, t, f);
	return (size_t)(q - p);
}

/* The rate (1 in N) the sampling fields of a record give, 0 for none. */
static uint32_t record_rate(const struct p25_pkt *k)
{
	uint64_t r = k->rs.interval;
	if (k->rs.pkt_interval) {
		/* Systematic count-based: pkt_interval taken, then pkt_space skipped (RFC 5476). */
		uint64_t take = k->rs.pkt_interval > UINT32_MAX ? UINT32_MAX : k->rs.pkt_interval;
		uint64_t skip = k->rs.pkt_space > UINT32_MAX ? UINT32_MAX : k->rs.pkt_space;
		r = (take + skip + take / 2) / take;
	}
	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

static uint32_t sampler_rate(const struct p25_flow_session *s, uint64_t id)
{
	for (unsigned i = 0; i < s->nsamplers; i++)
		if (s->samplers[i].id == id)
			return s->samplers[i].rate;
	return 0;
}

/* An options record's sampling fields: the session's rates. */
static void options_sampling(struct p25_pkt *k)
{
	struct p25_flow_session *s = k->s;
	uint32_t rate = record_rate(k);
	if (!rate)
		return;
	if (!k->rs.has_id) {
		s->sampling = rate;
	} else {
		unsigned i = 0;
		while (i < s->nsamplers && s->samplers[i].id != k->rs.sampler_id)
			i++;
		if (i == s->nsamplers) {
			if (s->nsamplers < P25_FLOW_MAX_SAMPLERS) {
				s->nsamplers++;
			} else {
				i = s->next_sampler;
				s->next_sampler = (uint8_t)((i + 1) % P25_FLOW_MAX_SAMPLERS);
			}
		}
		s->samplers[i].id = k->rs.sampler_id;
		s->samplers[i].rate = rate;
		s->sampling_last = rate;
	}
	/* Records after this one in the packet. */
	k->proto.sampling = p25_flow_session_sampling(s);
}

/* A flow record's own sampling fields, else its sampler's rate, else the session's. */
static inline void record_sampling(struct p25_pkt *k, struct p25_flow *f)
{
	uint32_t rate = record_rate(k);
	if (!rate && k->rs.has_id)
		rate = sampler_rate(k->s, k->rs.sampler_id);
	if (rate)
		f->sampling = rate;
}

static int options_set(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p, size_t len)
{
	struct p25_flow scratch;
	struct p25_flow_decoder *d = k->d;
	while (len >= t->reclen) {
		size_t used = t->reclen;
		k->rec_sysinit = 0;
		memset(&k->rs, 0, sizeof k->rs);
		if (t->varlen) {
			if (!(used = decode_var(k, t, p, len, &scratch))) {
				d->st.malformed_sets++;
				return -1;
			}
		} else {
			decode_fixed(k, t, p, &scratch);
		}
		if ((t->flags & T_SYSINIT) && k->rec_sysinit)
			k->s->sysinit_ms = k->rec_sysinit;
		if (t->flags & T_SAMPLING)
			options_sampling(k);
		k->data_records++;
		d->st.options_records++;
		p += used;
		len -= used;
	}
	return 0;
}

/* Records with sampling fields: out of line, so the common loop stays as it is. */
static __attribute__((noinline)) void
fixed_set_sampling(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++, p += t->reclen) {
		struct p25_flow *f = p25_flow_slot(k);
		k->rec_sysinit = 0;
		memset(&k->rs, 0, sizeof k->rs);
		decode_fixed(k, t, p, f);
		record_sampling(k, f);
		k->d->nbatch++;
	}
}

int p25_tmpl_data_set(struct p25_pkt *k, const struct p25_tmpl *t, const uint8_t *p, size_t len)
{
	struct p25_flow_decoder *d = k->d;

	/* Shorter than one record: not even padding can explain it. */
	if (len < t->reclen) {
		d->st.malformed_sets++;
		return -1;
	}
	if (t->options)
		return options_set(k, t, p, len);
	if (!t->varlen) {
		/* What is left after the last whole record is padding. */
		size_t n = len / t->reclen;
		if (t->flags & T_SAMPLING) {
			fixed_set_sampling(k, t, p, n);
		} else {
			for (size_t i = 0; i < n; i++, p += t->reclen) {
				struct p25_flow *f = p25_flow_slot(k);
				k->rec_sysinit = 0;
				decode_fixed(k, t, p, f);
				d->nbatch++;
			}
		}
		k->flows += (uint32_t)n;
		k->data_records += (uint32_t)n;
		return 0;
	}
	while (len >= t->reclen) {
		struct p25_flow *f = p25_flow_slot(k);
		k->rec_sysinit = 0;
		memset(&k->rs, 0, sizeof k->rs);
		size_t used = decode_var(k, t, p, len, f);
		if (!used) {
			d->st.malformed_sets++;
			return -1;
		}
		if (t->flags & T_SAMPLING)
			record_sampling(k, f);
		d->nbatch++;
		k->flows++;
		k->data_records++;
		p += used;
		len -= used;
	}
	return 0;
}
