/*
 * The compilers: every target's output, run through an interpreter of that
 * target's language (eval_*.c), must decide random packets exactly as the
 * policy engine does; free text must never add a line or rule; output must
 * be deterministic and aggregated without changing what it matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "compile/compile.h"
#include "eval.h"
#include "policy/policy.h"
#include "util/text.h"

#define NOW ((p25_time)1790000000) /* 2026-09-21 */

static const enum p25_target all_targets[] = {
	P25_TARGET_NFTABLES, P25_TARGET_IPTABLES, P25_TARGET_CISCO_IOS,
	P25_TARGET_JUNOS,    P25_TARGET_PF,
};
#define NTARGETS (sizeof all_targets / sizeof all_targets[0])

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static unsigned below(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

static p25_u128 rnd128(struct rng *r)
{
	return ((p25_u128)rnd(r) << 64) | rnd(r);
}

static struct p25_prefix P(const char *s)
{
	struct p25_prefix p;
	struct p25_diag d;
	if (p25_prefix_parse(s, 0, &p, &d) != 0)
		fail_msg("parse %s: %s", s, d.error);
	return p;
}

static struct p25_addr A(const char *s)
{
	struct p25_addr a;
	struct p25_diag d;
	if (p25_addr_parse(s, 0, &a, &d) != 0)
		fail_msg("parse %s: %s", s, d.error);
	return a;
}

/* A random prefix of length len inside outer (len >= outer->len). */
static struct p25_prefix sub_prefix(struct rng *r, const struct p25_prefix *outer, unsigned len)
{
	struct p25_prefix p = *outer;
	unsigned max = p25_family_bits(outer->family);
	p25_u128 host = rnd128(r) & ~p25_mask(outer->len) & p25_mask(len);

	if (max == 32)
		host &= p25_mask(32);
	p.net = outer->net | host;
	p.len = (uint8_t)len;
	return p;
}

static void add_permit(struct p25_model *m, size_t org, const struct p25_prefix *p, p25_time exp)
{
	struct p25_permit pm = {0};

	pm.id = (int64_t)m->npermits + 1;
	pm.org = org;
	pm.prefix = *p;
	pm.expires = exp;
	pm.description = "server";
	pm.requested_by = "a";
	pm.approved_by = "b";
	assert_true(p25_model_add_permit(m, &pm) >= 0);
}

/*
 * Dozens of organizations in every enrollment, mode and action, each with
 * IPv4 and IPv6 space (whole regions next to each other, nested and
 * sibling blocks) and permits (hosts, small networks, sibling pairs, whole
 * spaces, expired and future-expiring ones).
 */
static void random_model(struct p25_model *m, uint64_t seed, unsigned norgs)
{
	struct rng r = {seed * 0x9e3779b97f4a7c15ull + 1};
	static const enum p25_enrollment en[] = {P25_ENROLL_ACTIVE, P25_ENROLL_ACTIVE,
						 P25_ENROLL_ACTIVE, P25_ENROLL_NONE,
						 P25_ENROLL_PENDING, P25_ENROLL_SUSPENDED};

	p25_model_init(m);
	for (unsigned i = 0; i < norgs; i++) {
		char handle[32], name[64];
		struct p25_prefix region[2], sp[16]; /* at most 2 x 3 spaces, each with a sibling */
		size_t nsp = 0;
		ssize_t org;

		snprintf(handle, sizeof handle, "org-%u", i);
		snprintf(name, sizeof name, "Organization %u", i);
		org = p25_model_add_org(m, i + 1, handle, name, en[below(&r, 6)],
					below(&r, 2) ? P25_MODE_BOTH : P25_MODE_OUTBOUND,
					below(&r, 2) ? P25_ACTION_REJECT : P25_ACTION_DROP);
		assert_true(org >= 0);
		region[0] = P("10.0.0.0/16");
		region[0].net |= (p25_u128)(i & 0xff) << (128 - 16);
		region[1] = P("2001:db8::/48");
		region[1].net |= (p25_u128)(i & 0xffff) << (128 - 48);
		for (int f = 0; f < 2; f++) {
			unsigned kind = below(&r, 4);
			if (kind == 0) {
				sp[nsp++] = region[f]; /* whole region: neighbours merge */
			} else {
				unsigned k = 1 + below(&r, 3);
				for (unsigned j = 0; j < k; j++) {
					unsigned len = f == 0 ? 18 + below(&r, 7) : 50 + below(&r, 14);
					sp[nsp] = sub_prefix(&r, &region[f], len);
					nsp++;
					if (below(&r, 3) == 0) {
						/* its sibling too: aggregation merges them */
						sp[nsp] = sp[nsp - 1];
						sp[nsp].net ^= (p25_u128)1 << (128 - sp[nsp].len);
						nsp++;
					}
				}
			}
		}
		for (size_t j = 0; j < nsp; j++)
			assert_true(p25_model_add_space(m, (int64_t)(i * 10 + j), (size_t)org, &sp[j],
							"space") >= 0);
		unsigned np = below(&r, 10);
		for (unsigned j = 0; j < np; j++) {
			const struct p25_prefix *s = &sp[below(&r, (unsigned)nsp)];
			unsigned max = p25_family_bits(s->family), len;
			unsigned pick = below(&r, 10);
			p25_time exp = 0;
			struct p25_prefix p;

			if (pick < 6)
				len = max;
			else if (pick < 9)
				len = s->len + below(&r, max - s->len + 1);
			else
				len = s->len;
			p = sub_prefix(&r, s, len);
			switch (below(&r, 6)) {
			case 0: exp = NOW - 1 - below(&r, 1000); break;
			case 1: exp = NOW; break; /* expires exactly now: left out */
			case 2: exp = NOW + 1 + below(&r, 1000); break;
			default: break;
			}
			add_permit(m, (size_t)org, &p, exp);
			if (below(&r, 4) == 0 && len > s->len) {
				p.net ^= (p25_u128)1 << (128 - len); /* sibling pair */
				add_permit(m, (size_t)org, &p, 0);
			}
		}
	}
}

struct compiled {
	struct p25_compile_output out;
	struct ev_nft *nft;
	struct ev_ipt *ipt;
	struct ev_ios *ios;
	struct ev_junos *junos;
	struct ev_pf *pf;
};

static const char *part(const struct p25_compile_output *o, const char *name)
{
	for (size_t i = 0; i < o->nparts; i++)
		if (strcmp(o->parts[i].name, name) == 0)
			return o->parts[i].text;
	fail_msg("no part %s", name);
	return NULL;
}

static bool compile_log; /* compile --log: every target must decide the same */

static void compile_load(const struct p25_model *m, enum p25_target t, struct compiled *c)
{
	struct p25_compile_opts o = {.now = NOW, .log = compile_log};
	char err[512] = "";

	memset(c, 0, sizeof *c);
	if (p25_compile(m, t, &o, &c->out, err, sizeof err) != 0)
		fail_msg("compile %s: %s", p25_target_name(t), err);
	switch (t) {
	case P25_TARGET_NFTABLES: c->nft = ev_nft_load(part(&c->out, "nftables"), err, sizeof err); break;
	case P25_TARGET_IPTABLES:
		c->ipt = ev_ipt_load(part(&c->out, "ipset"), part(&c->out, "rules.v4"),
				     part(&c->out, "rules.v6"), part(&c->out, "hook"), err, sizeof err);
		break;
	case P25_TARGET_CISCO_IOS: c->ios = ev_ios_load(part(&c->out, "cisco-ios"), err, sizeof err); break;
	case P25_TARGET_JUNOS: c->junos = ev_junos_load(part(&c->out, "junos"), err, sizeof err); break;
	case P25_TARGET_PF: c->pf = ev_pf_load(part(&c->out, "pf"), err, sizeof err); break;
	}
	if (!c->nft && !c->ipt && !c->ios && !c->junos && !c->pf)
		fail_msg("evaluate %s: %s", p25_target_name(t), err);
}

static void compiled_free(struct compiled *c)
{
	ev_nft_free(c->nft);
	ev_ipt_free(c->ipt);
	ev_ios_free(c->ios);
	ev_junos_free(c->junos);
	ev_pf_free(c->pf);
	p25_compile_output_free(&c->out);
}

/* Addresses worth testing: every prefix's edges and their neighbours, insides, and elsewhere. */
struct pool {
	struct p25_addr *v[2];
	size_t n[2], cap[2];
};

static void pool_add(struct pool *pl, const struct p25_addr *a)
{
	int f = a->family == P25_INET ? 0 : 1;
	if (pl->n[f] == pl->cap[f]) {
		pl->cap[f] = pl->cap[f] ? pl->cap[f] * 2 : 64;
		pl->v[f] = realloc(pl->v[f], pl->cap[f] * sizeof *pl->v[f]);
	}
	pl->v[f][pl->n[f]++] = *a;
}

static void pool_prefix(struct pool *pl, struct rng *r, const struct p25_prefix *p)
{
	struct p25_addr a, b;
	p25_u128 one = (p25_u128)1 << (128 - p25_family_bits(p->family));
	p25_u128 top = p->family == P25_INET ? p25_mask(32) : ~(p25_u128)0;

	p25_prefix_first(p, &a);
	p25_prefix_last(p, &b);
	pool_add(pl, &a);
	pool_add(pl, &b);
	if (a.bits != 0) {
		struct p25_addr x = a;
		x.bits -= one;
		pool_add(pl, &x);
	}
	if (b.bits != top) {
		struct p25_addr x = b;
		x.bits += one;
		pool_add(pl, &x);
	}
	struct p25_addr in = a;
	in.bits |= rnd128(r) & ~p25_mask(p->len) & top;
	pool_add(pl, &in);
}

static void pool_build(struct pool *pl, const struct p25_model *m, struct rng *r)
{
	static const char *const outside[] = {"0.0.0.0", "255.255.255.255", "192.168.1.25",
					      "10.255.255.255", "::", "2001:db9::25",
					      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "64:ff9b::a00:1"};
	memset(pl, 0, sizeof *pl);
	for (size_t i = 0; i < m->nspaces; i++)
		pool_prefix(pl, r, &m->spaces[i].prefix);
	for (size_t i = 0; i < m->npermits; i++)
		pool_prefix(pl, r, &m->permits[i].prefix);
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		struct p25_addr a = A(outside[i]);
		pool_add(pl, &a);
	}
	for (int i = 0; i < 64; i++) {
		struct p25_addr a;
		p25_addr_from_v4(&a, (uint32_t)rnd(r));
		pool_add(pl, &a);
		a.family = P25_INET6;
		a.bits = rnd128(r);
		pool_add(pl, &a);
	}
}

static void pool_free(struct pool *pl)
{
	free(pl->v[0]);
	free(pl->v[1]);
}

static void random_packet(struct rng *r, const struct pool *pl, struct ev_pkt *p)
{
	static const uint16_t ports[] = {25, 25, 25, 25, 25, 25, 465, 587, 24, 26, 80, 2525};
	int f = below(r, 3) == 0 ? 1 : 0;

	p->src = pl->v[f][below(r, (unsigned)pl->n[f])];
	p->dst = pl->v[f][below(r, (unsigned)pl->n[f])];
	p->dport = below(r, 20) == 0 ? (uint16_t)rnd(r) : ports[below(r, 12)];
	p->tcp = below(r, 10) != 0;
}

static const char *pkt_text(const struct ev_pkt *p, char *buf, size_t len)
{
	char a[P25_ADDR_STRLEN], b[P25_ADDR_STRLEN];
	snprintf(buf, len, "%s %s -> %s port %u", p->tcp ? "tcp" : "udp",
		 p25_addr_format(&p->src, a, sizeof a), p25_addr_format(&p->dst, b, sizeof b),
		 p->dport);
	return buf;
}

/* What the engine expects: -1 accept, else the action of the org whose check blocks. */
static int expect_dir(const struct p25_policy *pol, const struct p25_model *m,
		      const struct ev_pkt *p, int dir)
{
	struct p25_decision d;

	if (!p->tcp)
		return -1; /* the policy covers TCP only */
	p25_policy_decide(pol, &p->src, &p->dst, p->dport, dir ? P25_INBOUND : P25_OUTBOUND, &d);
	if (d.verdict != P25_BLOCK)
		return -1;
	assert_true(d.org >= 0);
	return m->orgs[d.org].action == P25_ACTION_REJECT ? EV_REJECT : EV_DROP;
}

static int expect_packet(const struct p25_policy *pol, const struct p25_model *m,
			 const struct ev_pkt *p)
{
	struct p25_decision d;
	int out = expect_dir(pol, m, p, 0), in = expect_dir(pol, m, p, 1);
	enum p25_verdict v = p25_policy_decide_packet(pol, &p->src, &p->dst, p->dport, &d);

	if (p->tcp)
		assert_int_equal(v == P25_BLOCK, out >= 0 || in >= 0);
	/* The outbound check comes first in every address-based target. */
	return out >= 0 ? out : in >= 0 ? in : EV_ACCEPT;
}

static void differential(const struct p25_model *m, uint64_t seed, unsigned npackets,
			 size_t *blocked)
{
	struct p25_policy *pol;
	struct compiled c[NTARGETS];
	struct pool pl;
	struct rng r = {seed * 7919 + 3};
	char err[256], buf[160];

	pol = p25_policy_build(m, NOW, err, sizeof err);
	if (!pol)
		fail_msg("policy: %s", err);
	for (size_t t = 0; t < NTARGETS; t++)
		compile_load(m, all_targets[t], &c[t]);
	pool_build(&pl, m, &r);
	for (unsigned i = 0; i < npackets; i++) {
		struct ev_pkt p;
		int want, got;

		random_packet(&r, &pl, &p);
		want = expect_packet(pol, m, &p);
		if (want != EV_ACCEPT)
			(*blocked)++;
		got = ev_nft_packet(c[0].nft, &p, err, sizeof err);
		if (got != want)
			fail_msg("nftables: %s: got %d want %d (%s)", pkt_text(&p, buf, sizeof buf), got,
				 want, got < 0 ? err : "");
		got = ev_ipt_packet(c[1].ipt, &p, err, sizeof err);
		if (got != want)
			fail_msg("iptables: %s: got %d want %d (%s)", pkt_text(&p, buf, sizeof buf), got,
				 want, got < 0 ? err : "");
		got = ev_pf_packet(c[4].pf, &p, err, sizeof err);
		if (got != want)
			fail_msg("pf: %s: got %d want %d", pkt_text(&p, buf, sizeof buf), got, want);
		for (int dir = 0; dir < 2; dir++) {
			int wd = expect_dir(pol, m, &p, dir);
			int ios = ev_ios_packet(c[2].ios, &p, dir, err, sizeof err);
			int jun = ev_junos_packet(c[3].junos, &p, dir, err, sizeof err);
			if (ios != (wd < 0 ? EV_ACCEPT : EV_DENY))
				fail_msg("cisco-ios dir %d: %s: got %d want %d", dir,
					 pkt_text(&p, buf, sizeof buf), ios, wd);
			if (jun != (wd < 0 ? EV_ACCEPT : wd))
				fail_msg("junos dir %d: %s: got %d want %d", dir,
					 pkt_text(&p, buf, sizeof buf), jun, wd);
		}
	}
	pool_free(&pl);
	for (size_t t = 0; t < NTARGETS; t++)
		compiled_free(&c[t]);
	p25_policy_free(pol);
}

static void test_differential(void **state)
{
	size_t blocked = 0, total = 0;

	(void)state;
	/* 4 models x 15000 packets: 60000 per target, each direction for IOS and Junos. */
	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct p25_model m;
		random_model(&m, seed, 24 + (unsigned)seed * 6);
		differential(&m, seed, 15000, &blocked);
		total += 15000;
		p25_model_free(&m);
	}
	/* The packets must exercise both outcomes, or the comparison proves little. */
	assert_true(blocked > total / 10);
	assert_true(blocked < total * 9 / 10);
}

static char *compile_part(const struct p25_model *m, enum p25_target t, size_t i, size_t *entries)
{
	struct p25_compile_opts o = {.now = NOW};
	struct p25_compile_output out;
	char err[256], *s;

	if (p25_compile(m, t, &o, &out, err, sizeof err) != 0)
		fail_msg("compile: %s", err);
	assert_true(i < out.nparts);
	s = strdup(out.parts[i].text);
	if (entries)
		*entries = out.entries;
	p25_compile_output_free(&out);
	return s;
}

static size_t nparts(const struct p25_model *m, enum p25_target t)
{
	struct p25_compile_opts o = {.now = NOW};
	struct p25_compile_output out;
	char err[256];
	size_t n;

	assert_int_equal(p25_compile(m, t, &o, &out, err, sizeof err), 0);
	n = out.nparts;
	p25_compile_output_free(&out);
	return n;
}

static void test_deterministic_and_order_free(void **state)
{
	struct p25_model m, s;
	struct rng r = {42};

	(void)state;
	random_model(&m, 9, 30);
	/* The same model with every array shuffled and indexes remapped. */
	p25_model_init(&s);
	size_t *perm = malloc(m.norgs * sizeof *perm), *inv = malloc(m.norgs * sizeof *inv);
	for (size_t i = 0; i < m.norgs; i++)
		perm[i] = i;
	for (size_t i = m.norgs; i > 1; i--) {
		size_t j = below(&r, (unsigned)i), x = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = x;
	}
	for (size_t i = 0; i < m.norgs; i++) {
		const struct p25_org *o = &m.orgs[perm[i]];
		inv[perm[i]] = i;
		p25_model_add_org(&s, o->id, o->handle, o->name, o->enrollment, o->mode, o->action);
	}
	for (size_t i = m.nspaces; i-- > 0;)
		p25_model_add_space(&s, m.spaces[i].id, inv[m.spaces[i].org], &m.spaces[i].prefix,
				    m.spaces[i].description);
	for (size_t k = 0; k < m.npermits; k++) {
		struct p25_permit pm = m.permits[(k * 7 + 3) % m.npermits];
		if (m.npermits % 7 == 0)
			pm = m.permits[m.npermits - 1 - k];
		pm.org = inv[pm.org];
		p25_model_add_permit(&s, &pm);
	}
	assert_int_equal(s.npermits, m.npermits);
	for (size_t t = 0; t < NTARGETS; t++) {
		for (size_t i = 0; i < nparts(&m, all_targets[t]); i++) {
			char *a = compile_part(&m, all_targets[t], i, NULL);
			char *b = compile_part(&m, all_targets[t], i, NULL);
			char *c = compile_part(&s, all_targets[t], i, NULL);
			assert_string_equal(a, b);
			assert_string_equal(a, c);
			free(a);
			free(b);
			free(c);
		}
	}
	free(perm);
	free(inv);
	p25_model_free(&m);
	p25_model_free(&s);
}

/* Lines that carry rules, not comments: what free text must never change. */
static bool comment_line(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == '#' || *line == '!' || strncmp(line, "/*", 2) == 0 ||
	       strncmp(line, "remark ", 7) == 0;
}

static void rule_lines(const char *text, struct ev_lines *all, struct ev_lines *rules)
{
	ev_lines_split(text, all);
	memset(rules, 0, sizeof *rules);
	rules->v = calloc(all->n + 1, sizeof *rules->v);
	for (size_t i = 0; i < all->n; i++)
		if (!comment_line(all->v[i]))
			rules->v[rules->n++] = all->v[i];
}

static void injection_model(struct p25_model *m, const char *name)
{
	ssize_t o[3];
	struct p25_prefix p;

	p25_model_init(m);
	o[0] = p25_model_add_org(m, 1, "evil", name, P25_ENROLL_ACTIVE, P25_MODE_BOTH,
				 P25_ACTION_REJECT);
	o[1] = p25_model_add_org(m, 2, "evil-2", name, P25_ENROLL_ACTIVE, P25_MODE_OUTBOUND,
				 P25_ACTION_DROP);
	o[2] = p25_model_add_org(m, 3, "0rg", name, P25_ENROLL_SUSPENDED, P25_MODE_BOTH,
				 P25_ACTION_DROP);
	p = P("192.0.2.0/24");
	p25_model_add_space(m, 1, (size_t)o[0], &p, name);
	p = P("2001:db8:1::/48");
	p25_model_add_space(m, 2, (size_t)o[0], &p, name);
	p = P("198.51.100.0/24");
	p25_model_add_space(m, 3, (size_t)o[1], &p, name);
	p = P("203.0.113.0/24");
	p25_model_add_space(m, 4, (size_t)o[2], &p, name);
	struct p25_permit pm = {.id = 1, .org = (size_t)o[0], .prefix = P("192.0.2.25/32"),
				.description = (char *)name, .requested_by = (char *)name,
				.approved_by = (char *)name};
	p25_model_add_permit(m, &pm);
	/* A temporary permit: its description goes into the comment next to its entry. */
	pm.id = 4;
	pm.prefix = P("192.0.2.26/32");
	pm.expires = NOW + 10 * P25_DAY;
	p25_model_add_permit(m, &pm);
	pm.expires = 0;
	pm.id = 2;
	pm.prefix = P("2001:db8:1::25/128");
	p25_model_add_permit(m, &pm);
	pm.id = 3;
	pm.org = (size_t)o[1];
	pm.prefix = P("198.51.100.0/25");
	p25_model_add_permit(m, &pm);
}

static void test_injection(void **state)
{
	static const char *const evil[] = {
		"Evil\nCorp",
		"x */ permit ip any any /* y",
		"}\ntable inet x { chain y { accept; } }",
		"a; b; }; {",
		"# not a comment\r\n-A FORWARD -j ACCEPT",
		"\"quoted\" 'single' `tick` $(rm -rf /) \\ backslash",
		"remark\n permit ip any any\nend",
		"tab\there\x0b\x0c\x7f\x1b[31m nul-free",
		"ünïcødé ✓ \xff\xfe",
		"very long very long very long very long very long very long very long very long "
		"very long very long very long very long very long very long very long very long",
	};
	struct p25_model plain;

	(void)state;
	injection_model(&plain, "Plain name");
	for (size_t e = 0; e < sizeof evil / sizeof evil[0]; e++) {
		struct p25_model m, inert;
		char buf[512];

		injection_model(&m, evil[e]);
		/* The same names, already inert: the output must not differ by a byte. */
		injection_model(&inert, p25_text_inert(evil[e], buf, sizeof buf));
		for (size_t t = 0; t < NTARGETS; t++) {
			for (size_t i = 0; i < nparts(&m, all_targets[t]); i++) {
				char *a = compile_part(&m, all_targets[t], i, NULL);
				char *b = compile_part(&inert, all_targets[t], i, NULL);
				char *c = compile_part(&plain, all_targets[t], i, NULL);
				struct ev_lines la, ra, lc, rc;

				assert_string_equal(a, b);
				rule_lines(a, &la, &ra);
				rule_lines(c, &lc, &rc);
				/* Not one line more, and every rule line as with plain text. */
				assert_int_equal(la.n, lc.n);
				assert_int_equal(ra.n, rc.n);
				for (size_t k = 0; k < ra.n; k++)
					assert_string_equal(ra.v[k], rc.v[k]);
				for (size_t k = 0; k < la.n; k++)
					if (strstr(la.v[k], "*/") && !strstr(la.v[k], "/*"))
						fail_msg("comment closed early: %s", la.v[k]);
				free(ra.v);
				free(rc.v);
				ev_lines_free(&la);
				ev_lines_free(&lc);
				free(a);
				free(b);
				free(c);
			}
			/* And the evaluators, which refuse anything unknown, still read it. */
			struct compiled cc;
			compile_load(&m, all_targets[t], &cc);
			compiled_free(&cc);
		}
		p25_model_free(&m);
		p25_model_free(&inert);
	}
	p25_model_free(&plain);
}

static size_t entries_of(const struct p25_model *m, enum p25_target t, bool aggregate)
{
	struct p25_compile_opts o = {.now = NOW, .no_aggregate = !aggregate};
	struct p25_compile_output out;
	char err[256];
	size_t n;

	if (p25_compile(m, t, &o, &out, err, sizeof err) != 0)
		fail_msg("compile: %s", err);
	n = out.entries;
	p25_compile_output_free(&out);
	return n;
}

static void test_aggregation(void **state)
{
	struct p25_model m;
	struct p25_prefix p;
	ssize_t o;

	(void)state;
	p25_model_init(&m);
	o = p25_model_add_org(&m, 1, "acme", "Acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH,
			      P25_ACTION_REJECT);
	p = P("10.1.0.0/17");
	p25_model_add_space(&m, 1, (size_t)o, &p, "");
	p = P("10.1.128.0/17");
	p25_model_add_space(&m, 2, (size_t)o, &p, "");
	p = P("10.1.7.0/24"); /* nested in the first: adds nothing */
	p25_model_add_space(&m, 3, (size_t)o, &p, "");
	add_permit(&m, (size_t)o, &(struct p25_prefix){P("10.1.1.0/25").net, 25, P25_INET}, 0);
	add_permit(&m, (size_t)o, &(struct p25_prefix){P("10.1.1.128/25").net, 25, P25_INET}, 0);
	add_permit(&m, (size_t)o, &(struct p25_prefix){P("10.1.1.25/32").net, 32, P25_INET}, 0);
	add_permit(&m, (size_t)o, &(struct p25_prefix){P("10.1.2.0/24").net, 24, P25_INET},
		   NOW - 1); /* expired */

	for (size_t t = 0; t < NTARGETS; t++) {
		size_t agg = entries_of(&m, all_targets[t], true);
		size_t raw = entries_of(&m, all_targets[t], false);
		for (size_t i = 0; i < nparts(&m, all_targets[t]); i++) {
			char *s = compile_part(&m, all_targets[t], i, NULL);
			/* One /24 for two /25s and the host inside; one /16 for the space. */
			if (strstr(s, "10.1.1.0") || strstr(s, "10.1.0.0")) {
				assert_null(strstr(s, "10.1.1.128"));
				assert_null(strstr(s, "10.1.1.25"));
				assert_null(strstr(s, "10.1.128.0"));
				assert_null(strstr(s, "10.1.7.0"));
			}
			assert_null(strstr(s, "10.1.2.0")); /* expired permit left out */
			free(s);
		}
		assert_true(agg < raw);
	}
	char *nft = compile_part(&m, P25_TARGET_NFTABLES, 0, NULL);
	assert_non_null(strstr(nft, "10.1.1.0/24"));
	assert_non_null(strstr(nft, "10.1.0.0/16 : jump out_acme"));
	free(nft);
	char *ios = compile_part(&m, P25_TARGET_CISCO_IOS, 0, NULL);
	assert_non_null(strstr(ios, " permit tcp 10.1.1.0 0.0.0.255 any eq smtp\n"));
	assert_non_null(strstr(ios, " deny tcp 10.1.0.0 0.0.255.255 any eq smtp\n"));
	assert_non_null(strstr(ios, " deny tcp any 10.1.0.0 0.0.255.255 eq smtp\n"));
	free(ios);
	char *pf = compile_part(&m, P25_TARGET_PF, 0, NULL);
	assert_non_null(strstr(pf, "table <port25_out_reject> const { 10.1.0.0/16, !10.1.1.0/24 }"));
	free(pf);
	p25_model_free(&m);

	/* On random models, aggregation never adds entries and the differential test covers its meaning. */
	random_model(&m, 77, 40);
	for (size_t t = 0; t < NTARGETS; t++)
		assert_true(entries_of(&m, all_targets[t], true) <= entries_of(&m, all_targets[t], false));
	p25_model_free(&m);
}

static void test_max_entries(void **state)
{
	struct p25_model m;
	struct p25_compile_output out;
	char err[256];

	(void)state;
	random_model(&m, 5, 20);
	for (size_t t = 0; t < NTARGETS; t++) {
		size_t n = entries_of(&m, all_targets[t], true);
		struct p25_compile_opts o = {.now = NOW, .max_entries = n};
		assert_true(n > 0);
		assert_int_equal(p25_compile(&m, all_targets[t], &o, &out, err, sizeof err), 0);
		assert_int_equal(out.entries, n);
		p25_compile_output_free(&out);
		o.max_entries = n - 1;
		assert_int_equal(p25_compile(&m, all_targets[t], &o, &out, err, sizeof err), -1);
		assert_non_null(strstr(err, "exceed"));
		assert_int_equal(out.nparts, 0);
	}
	p25_model_free(&m);
}

/*
 * More permits than an ipset set holds (maxelem 4,194,304): refused with the
 * set's name, instead of a restore file that would fail half-way.  The
 * permits are every other IPv6 address, so aggregation cannot merge them.
 */
static void test_ipset_maxelem(void **state)
{
	struct p25_model m;
	struct p25_compile_output out;
	struct p25_prefix sp = P("2001:db8:25::/64"), h = P("2001:db8:25::/128");
	const size_t n = 4194304 + 1;
	char err[256];

	(void)state;
	p25_model_init(&m);
	p25_model_add_org(&m, 1, "big", "Big", P25_ENROLL_ACTIVE, P25_MODE_OUTBOUND,
			  P25_ACTION_REJECT);
	p25_model_add_space(&m, 1, 0, &sp, "");
	for (size_t i = 0; i < n; i++) {
		h.net = sp.net | (p25_u128)(2 * i);
		add_permit(&m, 0, &h, 0);
	}
	struct p25_compile_opts o = {.now = NOW};
	assert_int_equal(p25_compile(&m, P25_TARGET_IPTABLES, &o, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "port25-permit6"));
	assert_non_null(strstr(err, "4194305 entries"));
	assert_non_null(strstr(err, "maxelem"));
	assert_int_equal(out.nparts, 0);
	p25_model_free(&m);
}

static void test_nothing_enforced(void **state)
{
	struct p25_model m;
	struct p25_prefix p;

	(void)state;
	p25_model_init(&m);
	p25_model_add_org(&m, 1, "pend", "Pending", P25_ENROLL_PENDING, P25_MODE_BOTH,
			  P25_ACTION_REJECT);
	p = P("192.0.2.0/24");
	p25_model_add_space(&m, 1, 0, &p, "");
	for (size_t t = 0; t < NTARGETS; t++) {
		for (size_t i = 0; i < nparts(&m, all_targets[t]); i++) {
			char *s = compile_part(&m, all_targets[t], i, NULL);
			assert_null(strstr(s, "192.0.2"));
			free(s);
		}
		struct compiled c;
		compile_load(&m, all_targets[t], &c);
		compiled_free(&c);
	}
	p25_model_free(&m);
}

static void test_inconsistent_refused(void **state)
{
	struct p25_model m;
	struct p25_prefix p;
	struct p25_compile_output out;
	struct p25_compile_opts o = {.now = NOW};
	char err[256];

	(void)state;
	/* Two organizations holding overlapping space: refused, as the engine refuses it. */
	p25_model_init(&m);
	p25_model_add_org(&m, 1, "a", "A", P25_ENROLL_ACTIVE, P25_MODE_BOTH, P25_ACTION_REJECT);
	p25_model_add_org(&m, 2, "b", "B", P25_ENROLL_NONE, P25_MODE_BOTH, P25_ACTION_REJECT);
	p = P("10.0.0.0/8");
	p25_model_add_space(&m, 1, 0, &p, "");
	p = P("10.9.0.0/16");
	p25_model_add_space(&m, 2, 1, &p, "");
	assert_null(p25_policy_build(&m, NOW, err, sizeof err));
	for (size_t t = 0; t < NTARGETS; t++) {
		assert_int_equal(p25_compile(&m, all_targets[t], &o, &out, err, sizeof err), -1);
		assert_non_null(strstr(err, "overlap"));
	}
	p25_model_free(&m);

	/* A permit outside its organization's space. */
	p25_model_init(&m);
	p25_model_add_org(&m, 1, "a", "A", P25_ENROLL_ACTIVE, P25_MODE_BOTH, P25_ACTION_REJECT);
	p = P("10.0.0.0/24");
	p25_model_add_space(&m, 1, 0, &p, "");
	add_permit(&m, 0, &(struct p25_prefix){P("10.0.1.0/32").net, 32, P25_INET}, 0);
	assert_null(p25_policy_build(&m, NOW, err, sizeof err));
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "outside"));
	p25_model_free(&m);
}

static void test_evaluators_refuse_unknown(void **state)
{
	char err[256];

	(void)state;
	/* The evaluators must fail loudly on what they do not know, or they could pass anything. */
	assert_null(ev_pf_load("pass quick all\n", err, sizeof err));
	assert_null(ev_pf_load("table <t> const { 10.0.0.0/8, !10.0.0.0/8 }\n", err, sizeof err));
	assert_null(ev_ios_load("ip access-list extended X\n permit udp any any\n", err, sizeof err));
	assert_null(ev_junos_load("firewall { family inet { filter f { term t { then count; } } } }",
				  err, sizeof err));
	assert_null(ev_junos_load("policy-options { /* a\n */ }", err, sizeof err));
	assert_null(ev_nft_load("table inet port25\ndelete table inet port25\ntable inet port25 {\n"
				"\tchain c {\n\t\tmeta mark set 1\n\t}\n}\n",
				err, sizeof err));
	assert_null(ev_ipt_load("", "*filter\n:PORT25 - [0:0]\n-A PORT25 -j LOG\nCOMMIT\n",
				"", "", err, sizeof err));
}

static void test_target_names(void **state)
{
	enum p25_target t;

	(void)state;
	for (size_t i = 0; i < NTARGETS; i++) {
		assert_int_equal(p25_target_parse(p25_target_name(all_targets[i]), &t), 0);
		assert_int_equal(t, all_targets[i]);
	}
	assert_int_equal(p25_target_parse("cisco", &t), -1);
	assert_int_equal(p25_target_parse(NULL, &t), -1);
}

/* compile --log: every target still decides every packet as the engine does. */
static void test_log_decides_the_same(void **state)
{
	size_t blocked = 0;
	struct p25_model m;
	static const char *const logged[] = {" log\n", "syslog;", "block return-rst log quick",
					     "-j NFLOG --nflog-group 25"};
	struct p25_compile_opts o = {.now = NOW, .log = true};
	struct p25_compile_output out;
	char err[256];
	size_t found = 0;

	(void)state;
	compile_log = true;
	random_model(&m, 5, 30);
	differential(&m, 5, 8000, &blocked);
	for (size_t t = 0; t < NTARGETS; t++) {
		assert_int_equal(p25_compile(&m, all_targets[t], &o, &out, err, sizeof err), 0);
		for (size_t i = 0; i < out.nparts; i++)
			for (size_t k = 0; k < 4; k++)
				found += strstr(out.parts[i].text, logged[k]) != NULL;
		p25_compile_output_free(&out);
	}
	assert_true(found >= 4);
	compile_log = false;
	p25_model_free(&m);
}

/* Until when a file is the policy, and each temporary permit noted next to its entry. */
static void test_valid_until_and_notes(void **state)
{
	struct p25_model m;
	struct p25_compile_opts o = {.now = NOW};
	struct p25_compile_output out;
	char err[256], t[P25_TIME_STRLEN], line[128];

	(void)state;
	injection_model(&m, "Yearbook vendor");
	for (size_t k = 0; k < NTARGETS; k++) {
		assert_int_equal(p25_compile(&m, all_targets[k], &o, &out, err, sizeof err), 0);
		assert_int_equal(out.valid_until, NOW + 10 * P25_DAY);
		snprintf(line, sizeof line, "Valid until %s: recompile before then",
			 p25_time_format(NOW + 10 * P25_DAY, t, sizeof t));
		assert_non_null(strstr(out.parts[0].text, line));
		snprintf(line, sizeof line, "temporary 192.0.2.26 (org evil) until %s: Yearbook vendor", t);
		assert_non_null(strstr(out.parts[0].text, line));
		p25_compile_output_free(&out);
	}
	/* A scheduled activation comes first: the policy changes then. */
	m.orgs[2].activate_at = NOW + P25_DAY;
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), 0);
	assert_int_equal(out.valid_until, NOW + P25_DAY);
	assert_non_null(strstr(out.parts[0].text, "an organization is activated as scheduled"));
	p25_compile_output_free(&out);
	/* Nothing ahead: no expiry. */
	m.orgs[2].activate_at = 0;
	m.permits[1].expires = 0;
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), 0);
	assert_int_equal(out.valid_until, 0);
	assert_non_null(strstr(out.parts[0].text, "No expiry"));
	p25_compile_output_free(&out);
	p25_model_free(&m);
}

/* compile --org: one member's part, named after it where a router holds several. */
static void test_one_org(void **state)
{
	struct p25_model m;
	struct p25_compile_opts o = {.now = NOW, .org = "evil-2"};
	struct p25_compile_output out;
	char err[256];

	(void)state;
	injection_model(&m, "Name");
	assert_int_equal(p25_compile(&m, P25_TARGET_CISCO_IOS, &o, &out, err, sizeof err), 0);
	assert_non_null(strstr(out.parts[0].text, "ip access-list extended PORT25-OUTBOUND-EVIL-2\n"));
	assert_non_null(strstr(out.parts[0].text, "198.51.100.0"));
	assert_null(strstr(out.parts[0].text, "192.0.2."));
	assert_null(strstr(out.parts[0].text, "ip access-list extended PORT25-OUTBOUND\n"));
	p25_compile_output_free(&out);
	assert_int_equal(p25_compile(&m, P25_TARGET_JUNOS, &o, &out, err, sizeof err), 0);
	assert_non_null(strstr(out.parts[0].text, "replace: filter port25-evil-2-outbound {"));
	assert_non_null(strstr(out.parts[0].text, "prefix-list port25-evil-2-permit-v4 {"));
	assert_null(strstr(out.parts[0].text, "192.0.2."));
	p25_compile_output_free(&out);
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), 0);
	assert_non_null(strstr(out.parts[0].text, "pfctl -a port25/evil-2 -f FILE"));
	assert_null(strstr(out.parts[0].text, "192.0.2."));
	p25_compile_output_free(&out);
	for (size_t k = 0; k < NTARGETS; k++) {
		assert_int_equal(p25_compile(&m, all_targets[k], &o, &out, err, sizeof err), 0);
		for (size_t i = 0; i < out.nparts; i++)
			assert_null(strstr(out.parts[i].text, "192.0.2.0"));
		p25_compile_output_free(&out);
	}
	/* An organization that is not enforced, or not there, has no part. */
	o.org = "0rg";
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "organization '0rg' is not enforced (enrollment suspended)"));
	o.org = "nobody";
	assert_int_equal(p25_compile(&m, P25_TARGET_PF, &o, &out, err, sizeof err), -1);
	assert_non_null(strstr(err, "no organization 'nobody'"));
	p25_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_names),
		cmocka_unit_test(test_evaluators_refuse_unknown),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_deterministic_and_order_free),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_aggregation),
		cmocka_unit_test(test_max_entries),
		cmocka_unit_test(test_ipset_maxelem),
		cmocka_unit_test(test_nothing_enforced),
		cmocka_unit_test(test_inconsistent_refused),
		cmocka_unit_test(test_log_decides_the_same),
		cmocka_unit_test(test_valid_until_and_notes),
		cmocka_unit_test(test_one_org),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
