#include "policy_oracle.h"

/* Longest wins; of equal prefixes the first in the model. */
static bool better(const struct p25_prefix *cand, ssize_t best, const struct p25_prefix *bestp)
{
	return best < 0 || cand->len > bestp->len;
}

void oracle_decision(const struct p25_model *m, p25_time now, const struct p25_addr *src,
		     const struct p25_addr *dst, uint16_t dport, enum p25_direction dir,
		     struct p25_decision *out)
{
	const struct p25_addr *host = dir == P25_OUTBOUND ? src : dst;
	ssize_t space = -1, permit = -1;
	const struct p25_org *o;

	out->direction = dir;
	out->org = out->space = out->permit = -1;
	if (dport != P25_SMTP_PORT) {
		out->verdict = P25_NOT_COVERED;
		out->reason = P25_WHY_NOT_SMTP;
		return;
	}
	for (size_t i = 0; i < m->nspaces; i++) {
		const struct p25_prefix *pf = &m->spaces[i].prefix;
		if (p25_prefix_contains_addr(pf, host) &&
		    better(pf, space, space >= 0 ? &m->spaces[space].prefix : NULL))
			space = (ssize_t)i;
	}
	if (space < 0) {
		out->verdict = P25_NOT_COVERED;
		out->reason = P25_WHY_NO_ORG;
		return;
	}
	out->space = space;
	out->org = (ssize_t)m->spaces[space].org;
	o = &m->orgs[out->org];
	if (!p25_org_enforced(o)) {
		out->verdict = P25_NOT_COVERED;
		out->reason = P25_WHY_ORG_NOT_ENFORCED;
		return;
	}
	if (dir == P25_INBOUND && o->mode == P25_MODE_OUTBOUND) {
		out->verdict = P25_NOT_COVERED;
		out->reason = P25_WHY_INBOUND_NOT_COVERED;
		return;
	}
	for (size_t i = 0; i < m->npermits; i++) {
		const struct p25_permit *pm = &m->permits[i];
		if (pm->org == (size_t)out->org && p25_permit_valid_at(pm, now) &&
		    p25_prefix_contains_addr(&pm->prefix, host) &&
		    better(&pm->prefix, permit, permit >= 0 ? &m->permits[permit].prefix : NULL))
			permit = (ssize_t)i;
	}
	if (permit >= 0) {
		out->verdict = P25_PERMIT;
		out->reason = P25_WHY_PERMITTED;
		out->permit = permit;
	} else {
		out->verdict = P25_BLOCK;
		out->reason = P25_WHY_UNPERMITTED;
	}
}

enum p25_verdict oracle_decide(const struct p25_model *m, p25_time now, const struct p25_addr *src,
			       const struct p25_addr *dst, uint16_t dport, enum p25_direction dir)
{
	struct p25_decision d;

	oracle_decision(m, now, src, dst, dport, dir, &d);
	return d.verdict;
}

enum p25_verdict oracle_decision_packet(const struct p25_model *m, p25_time now,
					const struct p25_addr *src, const struct p25_addr *dst,
					uint16_t dport, struct p25_decision *out)
{
	struct p25_decision o, i;

	oracle_decision(m, now, src, dst, dport, P25_OUTBOUND, &o);
	oracle_decision(m, now, src, dst, dport, P25_INBOUND, &i);
	if (o.verdict == P25_BLOCK || (i.verdict != P25_BLOCK && o.verdict == P25_PERMIT))
		*out = o;
	else if (i.verdict != P25_NOT_COVERED)
		*out = i;
	else
		*out = o;
	return out->verdict;
}

enum p25_verdict oracle_decide_packet(const struct p25_model *m, p25_time now,
				      const struct p25_addr *src, const struct p25_addr *dst,
				      uint16_t dport)
{
	struct p25_decision d;

	return oracle_decision_packet(m, now, src, dst, dport, &d);
}
