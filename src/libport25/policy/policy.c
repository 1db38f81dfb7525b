#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/lpm.h"

/* What an LPM entry's leaf index stands for. */
struct leaf {
	int32_t org, space, permit;
	uint8_t reason[2], verdict[2]; /* by direction */
};

struct p25_policy {
	const struct p25_model *model;
	p25_time built_at, next_expiry;
	struct leaf *leaves;
	size_t nleaves, leaves_cap;
	struct p25_lpm4 v4;
	struct p25_lpm6 v6;
};

enum item_kind {
	ITEM_SPACE,
	ITEM_PERMIT,
	ITEM_EXPIRED, /* checked for consistency, no effect on the verdict */
};

struct item {
	p25_u128 net;
	uint32_t idx;
	uint8_t len, kind;
};

struct frame {
	p25_u128 last;
	uint32_t entry;
	uint32_t item;
};

struct ranges {
	p25_u128 *starts;
	uint32_t *entries;
	size_t n, cap;
};

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Record that the entry in force changes at `start`; adjacent equal ranges merge. */
static int emit(struct ranges *r, p25_u128 start, uint32_t entry)
{
	if (r->n && r->starts[r->n - 1] == start) {
		r->entries[r->n - 1] = entry;
		if (r->n > 1 && r->entries[r->n - 2] == entry)
			r->n--;
		return 0;
	}
	if (r->n && r->entries[r->n - 1] == entry)
		return 0;
	if (r->n == r->cap) {
		size_t c = r->cap ? r->cap * 2 : 256;
		void *s = realloc(r->starts, c * sizeof *r->starts);
		if (!s)
			return -1;
		r->starts = s;
		void *e = realloc(r->entries, c * sizeof *r->entries);
		if (!e)
			return -1;
		r->entries = e;
		r->cap = c;
	}
	r->starts[r->n] = start;
	r->entries[r->n] = entry;
	r->n++;
	return 0;
}

static ssize_t add_leaf(struct p25_policy *p, const struct p25_model *m, ssize_t space,
			ssize_t permit)
{
	struct leaf *l;
	const struct p25_org *o;
	uint32_t out, in;

	if (p->nleaves > P25_LPM_LEAF_MAX)
		return -1;
	if (p->nleaves == p->leaves_cap) {
		size_t c = p->leaves_cap ? p->leaves_cap * 2 : 64;
		void *v = realloc(p->leaves, c * sizeof *p->leaves);
		if (!v)
			return -1;
		p->leaves = v;
		p->leaves_cap = c;
	}
	l = &p->leaves[p->nleaves];
	l->space = (int32_t)space;
	l->permit = (int32_t)permit;
	if (space < 0) {
		l->org = -1;
		l->reason[P25_OUTBOUND] = l->reason[P25_INBOUND] = P25_WHY_NO_ORG;
		out = in = P25_NOT_COVERED;
	} else {
		l->org = (int32_t)m->spaces[space].org;
		o = &m->orgs[l->org];
		if (!p25_org_enforced(o)) {
			l->reason[P25_OUTBOUND] = l->reason[P25_INBOUND] = P25_WHY_ORG_NOT_ENFORCED;
			out = in = P25_NOT_COVERED;
		} else {
			l->reason[P25_OUTBOUND] = permit >= 0 ? P25_WHY_PERMITTED : P25_WHY_UNPERMITTED;
			out = permit >= 0 ? P25_PERMIT : P25_BLOCK;
			if (o->mode == P25_MODE_BOTH) {
				l->reason[P25_INBOUND] = l->reason[P25_OUTBOUND];
				in = out;
			} else {
				l->reason[P25_INBOUND] = P25_WHY_INBOUND_NOT_COVERED;
				in = P25_NOT_COVERED;
			}
		}
	}
	l->verdict[P25_OUTBOUND] = (uint8_t)out;
	l->verdict[P25_INBOUND] = (uint8_t)in;
	return (ssize_t)p->nleaves++;
}

static uint32_t leaf_entry(const struct p25_policy *p, size_t leaf)
{
	const struct leaf *l = &p->leaves[leaf];

	return (uint32_t)leaf << P25_LPM_LEAF_SHIFT | (uint32_t)l->verdict[P25_INBOUND] << 2 |
	       l->verdict[P25_OUTBOUND];
}

static const struct p25_prefix *item_prefix(const struct p25_model *m, const struct item *it)
{
	return it->kind == ITEM_SPACE ? &m->spaces[it->idx].prefix : &m->permits[it->idx].prefix;
}

static const char *org_handle(const struct p25_model *m, size_t org)
{
	return m->orgs[org].handle;
}

/*
 * One sweep over the items of one family sorted by (network, length): a
 * stack holds the prefixes enclosing the current position, innermost on top.
 * Prefixes either nest or are disjoint, so the top is the innermost prefix
 * containing each new item: that is where overlap between organizations and
 * permits outside their space show, and where the new item inherits the
 * space and permit it sits in.  Every push and pop changes the entry in force,
 * which yields the disjoint-range partition.
 */
static int sweep(struct p25_policy *p, const struct p25_model *m, struct item *items, size_t n,
		 unsigned fambits, struct ranges *r, char *err, size_t errlen)
{
	const p25_u128 top_addr = p25_mask(fambits);
	const p25_u128 one = (p25_u128)1 << (128 - fambits); /* the unit of the family's last bit */
	struct frame *stack;
	size_t depth = 0;
	char a[P25_PREFIX_STRLEN], b[P25_PREFIX_STRLEN];
	int rc = -1;

	if (emit(r, 0, 0) < 0)
		return fail(err, errlen, "out of memory");
	if (n == 0)
		return 0;
	qsort(items, n, sizeof *items, item_cmp);
	stack = malloc(n * sizeof *stack);
	if (!stack)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct item *it = &items[i];
		const struct p25_prefix *pf = item_prefix(m, it);
		ssize_t space = -1, permit = -1, leaf;
		uint32_t entry;

		while (depth && stack[depth - 1].last < it->net) {
			depth--;
			if (emit(r, stack[depth].last + one, depth ? stack[depth - 1].entry : 0) < 0)
				goto oom;
		}
		if (depth) {
			const struct leaf *pl = &p->leaves[p25_lpm_leaf(stack[depth - 1].entry)];
			space = pl->space;
			permit = pl->permit;
		}
		if (it->kind == ITEM_SPACE) {
			size_t org = m->spaces[it->idx].org;
			if (space >= 0 && m->spaces[space].org != org) {
				fail(err, errlen,
				     "organizations '%s' and '%s' overlap: '%s' holds %s, '%s' holds %s",
				     org_handle(m, m->spaces[space].org), org_handle(m, org),
				     org_handle(m, m->spaces[space].org),
				     p25_prefix_format(&m->spaces[space].prefix, a, sizeof a),
				     org_handle(m, org), p25_prefix_format(pf, b, sizeof b));
				goto out;
			}
			/* Of equal prefixes the first in the model names the space. */
			if (space < 0 || !p25_prefix_equal(&m->spaces[space].prefix, pf))
				space = it->idx;
		} else {
			size_t org = m->permits[it->idx].org;
			if (space < 0 || m->spaces[space].org != org) {
				if (space < 0)
					fail(err, errlen,
					     "permit %lld (%s) of organization '%s' lies outside "
					     "the organization's address space",
					     (long long)m->permits[it->idx].id,
					     p25_prefix_format(pf, a, sizeof a), org_handle(m, org));
				else
					fail(err, errlen,
					     "permit %lld (%s) of organization '%s' lies outside "
					     "the organization's address space, in '%s''s %s",
					     (long long)m->permits[it->idx].id,
					     p25_prefix_format(pf, a, sizeof a), org_handle(m, org),
					     org_handle(m, m->spaces[space].org),
					     p25_prefix_format(&m->spaces[space].prefix, b, sizeof b));
				goto out;
			}
			if (it->kind == ITEM_PERMIT &&
			    (permit < 0 || !p25_prefix_equal(&m->permits[permit].prefix, pf)))
				permit = it->idx;
		}
		if (depth && space == p->leaves[p25_lpm_leaf(stack[depth - 1].entry)].space &&
		    permit == p->leaves[p25_lpm_leaf(stack[depth - 1].entry)].permit) {
			entry = stack[depth - 1].entry;
		} else {
			leaf = add_leaf(p, m, space, permit);
			if (leaf < 0)
				goto oom;
			entry = leaf_entry(p, (size_t)leaf);
		}
		stack[depth++] = (struct frame){
			.last = it->net | (top_addr & ~p25_mask(it->len)), .entry = entry,
			.item = (uint32_t)i};
		if (emit(r, it->net, entry) < 0)
			goto oom;
	}
	while (depth) {
		depth--;
		if (stack[depth].last == top_addr)
			break;
		if (emit(r, stack[depth].last + one, depth ? stack[depth - 1].entry : 0) < 0)
			goto oom;
	}
	rc = 0;
	goto out;
oom:
	fail(err, errlen, "out of memory");
out:
	free(stack);
	return rc;
}

static int check_prefix(const struct p25_prefix *pf, const char *what, int64_t id, char *err,
			size_t errlen)
{
	if ((pf->family != P25_INET && pf->family != P25_INET6) ||
	    pf->len > p25_family_bits(pf->family) ||
	    (pf->net & ~p25_mask(pf->len)) != 0)
		return fail(err, errlen, "%s %lld has a malformed prefix", what, (long long)id);
	return 0;
}

static int collect(const struct p25_model *m, p25_time now, struct item **v4, size_t *n4,
		   struct item **v6, size_t *n6, char *err, size_t errlen)
{
	size_t total = m->nspaces + m->npermits;

	*n4 = *n6 = 0;
	*v4 = malloc((total ? total : 1) * sizeof **v4);
	*v6 = malloc((total ? total : 1) * sizeof **v6);
	if (!*v4 || !*v6)
		return fail(err, errlen, "out of memory");
	if (total > UINT32_MAX)
		return fail(err, errlen, "model too large");
	for (size_t i = 0; i < m->nspaces; i++) {
		const struct p25_space *s = &m->spaces[i];
		if (s->org >= m->norgs)
			return fail(err, errlen, "space %lld names no organization",
				    (long long)s->id);
		if (check_prefix(&s->prefix, "space", s->id, err, errlen) < 0)
			return -1;
		struct item it = {s->prefix.net, (uint32_t)i, s->prefix.len, ITEM_SPACE};
		if (s->prefix.family == P25_INET)
			(*v4)[(*n4)++] = it;
		else
			(*v6)[(*n6)++] = it;
	}
	for (size_t i = 0; i < m->npermits; i++) {
		const struct p25_permit *pm = &m->permits[i];
		if (pm->org >= m->norgs)
			return fail(err, errlen, "permit %lld names no organization",
				    (long long)pm->id);
		if (check_prefix(&pm->prefix, "permit", pm->id, err, errlen) < 0)
			return -1;
		struct item it = {pm->prefix.net, (uint32_t)i, pm->prefix.len,
				  p25_permit_valid_at(pm, now) ? ITEM_PERMIT : ITEM_EXPIRED};
		if (pm->prefix.family == P25_INET)
			(*v4)[(*n4)++] = it;
		else
			(*v6)[(*n6)++] = it;
	}
	return 0;
}

struct p25_policy *p25_policy_build(const struct p25_model *m, p25_time now, char *err,
				    size_t errlen)
{
	struct p25_policy *p = calloc(1, sizeof *p);
	struct item *v4 = NULL, *v6 = NULL;
	size_t n4, n6;
	struct ranges r4 = {0}, r6 = {0};
	uint32_t *s4 = NULL;
	int ok = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!p) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	p->model = m;
	p->built_at = now;
	for (size_t i = 0; i < m->npermits; i++) {
		p25_time e = m->permits[i].expires;
		if (e > now && (p->next_expiry == 0 || e < p->next_expiry))
			p->next_expiry = e;
	}
	/* Leaf 0 is what zeroed table memory means. */
	if (add_leaf(p, m, -1, -1) < 0) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	if (collect(m, now, &v4, &n4, &v6, &n6, err, errlen) < 0 ||
	    sweep(p, m, v4, n4, 32, &r4, err, errlen) < 0 ||
	    sweep(p, m, v6, n6, 128, &r6, err, errlen) < 0)
		goto out;
	s4 = malloc(r4.n * sizeof *s4);
	if (!s4) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < r4.n; i++)
		s4[i] = (uint32_t)(r4.starts[i] >> 96);
	if (p25_lpm4_build(&p->v4, s4, r4.entries, r4.n) < 0 ||
	    p25_lpm6_build(&p->v6, r6.starts, r6.entries, r6.n) < 0) {
		fail(err, errlen, "out of memory");
		goto out;
	}
	ok = 1;
out:
	free(v4);
	free(v6);
	free(s4);
	free(r4.starts);
	free(r4.entries);
	free(r6.starts);
	free(r6.entries);
	if (!ok) {
		p25_policy_free(p);
		return NULL;
	}
	return p;
}

void p25_policy_free(struct p25_policy *p)
{
	if (!p)
		return;
	p25_lpm4_free(&p->v4);
	p25_lpm6_free(&p->v6);
	free(p->leaves);
	free(p);
}

const struct p25_model *p25_policy_model(const struct p25_policy *p)
{
	return p->model;
}

p25_time p25_policy_built_at(const struct p25_policy *p)
{
	return p->built_at;
}

p25_time p25_policy_next_expiry(const struct p25_policy *p)
{
	return p->next_expiry;
}

size_t p25_policy_memory(const struct p25_policy *p)
{
	return p25_lpm4_memory(&p->v4) + p25_lpm6_memory(&p->v6) +
	       p->leaves_cap * sizeof *p->leaves;
}

enum p25_verdict p25_policy_verdict_v4(const struct p25_policy *p, uint32_t addr,
				       enum p25_direction dir)
{
	return (enum p25_verdict)p25_lpm_verdict(p25_lpm4_lookup(&p->v4, addr), dir);
}

enum p25_verdict p25_policy_verdict_v6(const struct p25_policy *p, p25_u128 addr,
				       enum p25_direction dir)
{
	return (enum p25_verdict)p25_lpm_verdict(p25_lpm6_lookup(&p->v6, addr), dir);
}

#define P25_PREFETCH_AHEAD 16

void p25_policy_verdicts_v4(const struct p25_policy *p, const uint32_t *addrs, size_t n,
			    uint8_t *out)
{
	const uint32_t *l1 = p->v4.l1;
	size_t i = 0;

	for (; i + P25_PREFETCH_AHEAD < n; i++) {
		__builtin_prefetch(&l1[addrs[i + P25_PREFETCH_AHEAD] >> 8]);
		out[i] = (uint8_t)(p25_lpm4_lookup(&p->v4, addrs[i]) & 15);
	}
	for (; i < n; i++)
		out[i] = (uint8_t)(p25_lpm4_lookup(&p->v4, addrs[i]) & 15);
}

void p25_policy_verdicts_v6(const struct p25_policy *p, const p25_u128 *addrs, size_t n,
			    uint8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(p25_lpm6_lookup(&p->v6, addrs[i]) & 15);
}

void p25_policy_decide(const struct p25_policy *p, const struct p25_addr *src,
		       const struct p25_addr *dst, uint16_t dport, enum p25_direction dir,
		       struct p25_decision *out)
{
	const struct p25_addr *host = dir == P25_OUTBOUND ? src : dst;
	const struct leaf *l;
	uint32_t e;

	out->direction = dir;
	out->org = out->space = out->permit = -1;
	if (dport != P25_SMTP_PORT) {
		out->verdict = P25_NOT_COVERED;
		out->reason = P25_WHY_NOT_SMTP;
		return;
	}
	if (host->family == P25_INET)
		e = p25_lpm4_lookup(&p->v4, (uint32_t)(host->bits >> 96));
	else
		e = p25_lpm6_lookup(&p->v6, host->bits);
	l = &p->leaves[p25_lpm_leaf(e)];
	out->verdict = (enum p25_verdict)p25_lpm_verdict(e, dir);
	out->reason = (enum p25_reason)l->reason[dir];
	out->org = l->org;
	out->space = l->space;
	if (out->verdict == P25_PERMIT)
		out->permit = l->permit;
}

enum p25_verdict p25_policy_decide_packet(const struct p25_policy *p, const struct p25_addr *src,
					  const struct p25_addr *dst, uint16_t dport,
					  struct p25_decision *out)
{
	struct p25_decision o, i;

	p25_policy_decide(p, src, dst, dport, P25_OUTBOUND, &o);
	p25_policy_decide(p, src, dst, dport, P25_INBOUND, &i);
	if (o.verdict == P25_BLOCK)
		*out = o;
	else if (i.verdict == P25_BLOCK)
		*out = i;
	else if (o.verdict == P25_PERMIT)
		*out = o;
	else if (i.verdict == P25_PERMIT)
		*out = i;
	else
		*out = o;
	return out->verdict;
}

const char *p25_verdict_name(enum p25_verdict v)
{
	switch (v) {
	case P25_NOT_COVERED:
		return "not-covered";
	case P25_PERMIT:
		return "permit";
	case P25_BLOCK:
		return "block";
	}
	return "?";
}

const char *p25_reason_text(enum p25_reason r)
{
	switch (r) {
	case P25_WHY_NOT_SMTP:
		return "destination port is not 25";
	case P25_WHY_NO_ORG:
		return "address is in no organization's space";
	case P25_WHY_ORG_NOT_ENFORCED:
		return "organization's enrollment is not active";
	case P25_WHY_INBOUND_NOT_COVERED:
		return "organization enforces outbound only";
	case P25_WHY_PERMITTED:
		return "a valid permit covers the address";
	case P25_WHY_UNPERMITTED:
		return "no valid permit covers the address";
	}
	return "?";
}
