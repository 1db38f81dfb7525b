#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/policy.h"
#include "policy_oracle.h"

#define T0 1700000000 /* build time of most tests */

static struct p25_prefix pfx(const char *s)
{
	struct p25_prefix p;
	struct p25_diag d;

	if (p25_prefix_parse(s, 0, &p, &d) < 0)
		fail_msg("bad prefix %s: %s", s, d.error);
	return p;
}

static struct p25_addr addr(const char *s)
{
	struct p25_addr a;
	struct p25_diag d;

	if (p25_addr_parse(s, 0, &a, &d) < 0)
		fail_msg("bad address %s: %s", s, d.error);
	return a;
}

static size_t org(struct p25_model *m, const char *handle, enum p25_enrollment e,
		  enum p25_mode mode)
{
	ssize_t i = p25_model_add_org(m, (int64_t)m->norgs + 1, handle, handle, e, mode,
				      P25_ACTION_REJECT);
	assert_true(i >= 0);
	return (size_t)i;
}

static size_t space(struct p25_model *m, size_t o, const char *prefix)
{
	struct p25_prefix p = pfx(prefix);
	ssize_t i = p25_model_add_space(m, (int64_t)m->nspaces + 1, o, &p, "space");
	assert_true(i >= 0);
	return (size_t)i;
}

static size_t permit(struct p25_model *m, size_t o, const char *prefix, p25_time expires)
{
	struct p25_permit pm = {
		.id = (int64_t)m->npermits + 1,
		.org = o,
		.prefix = pfx(prefix),
		.kind = P25_KIND_MAIL_SERVER,
		.description = "mx",
		.requested_by = "a",
		.approved_by = "b",
		.created = T0 - P25_DAY,
		.expires = expires,
	};
	ssize_t i = p25_model_add_permit(m, &pm);
	assert_true(i >= 0);
	return (size_t)i;
}

static struct p25_policy *build(const struct p25_model *m, p25_time now)
{
	char err[256];
	struct p25_policy *p = p25_policy_build(m, now, err, sizeof err);

	if (!p)
		fail_msg("build failed: %s", err);
	return p;
}

/* Decide for host `h` in direction dir, the peer being an outside address. */
static struct p25_decision dec(const struct p25_policy *p, const char *h, enum p25_direction dir)
{
	struct p25_addr host = addr(h);
	struct p25_addr peer = addr(host.family == P25_INET ? "198.51.100.7" : "2001:db8:ffff::7");
	struct p25_decision d;

	if (dir == P25_OUTBOUND)
		p25_policy_decide(p, &host, &peer, 25, dir, &d);
	else
		p25_policy_decide(p, &peer, &host, 25, dir, &d);
	assert_int_equal(d.direction, dir);
	/* The fast paths must agree with the full decision. */
	if (host.family == P25_INET)
		assert_int_equal(p25_policy_verdict_v4(p, p25_addr_v4(&host), dir), d.verdict);
	else
		assert_int_equal(p25_policy_verdict_v6(p, host.bits, dir), d.verdict);
	return d;
}

#define expect(p, h, dir, v, r, o, s, pm)                                                  \
	do {                                                                               \
		struct p25_decision d_ = dec(p, h, dir);                                   \
		assert_int_equal(d_.verdict, v);                                           \
		assert_int_equal(d_.reason, r);                                            \
		assert_int_equal(d_.org, o);                                               \
		assert_int_equal(d_.space, s);                                             \
		assert_int_equal(d_.permit, pm);                                           \
	} while (0)

static void test_not_smtp(void **state)
{
	struct p25_model m;
	struct p25_decision d;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, o, "10.0.0.0/8");
	struct p25_policy *p = build(&m, T0);
	struct p25_addr a = addr("10.1.2.3"), b = addr("198.51.100.1");
	const uint16_t ports[] = {465, 587, 24, 26, 0, 2525, 65535};

	for (size_t i = 0; i < sizeof ports / sizeof *ports; i++) {
		p25_policy_decide(p, &a, &b, ports[i], P25_OUTBOUND, &d);
		assert_int_equal(d.verdict, P25_NOT_COVERED);
		assert_int_equal(d.reason, P25_WHY_NOT_SMTP);
		assert_int_equal(d.org, -1);
		p25_policy_decide(p, &b, &a, ports[i], P25_INBOUND, &d);
		assert_int_equal(d.verdict, P25_NOT_COVERED);
		assert_int_equal(d.reason, P25_WHY_NOT_SMTP);
		assert_int_equal(p25_policy_decide_packet(p, &a, &b, ports[i], &d),
				 P25_NOT_COVERED);
		assert_int_equal(d.reason, P25_WHY_NOT_SMTP);
	}
	p25_policy_decide(p, &a, &b, 25, P25_OUTBOUND, &d);
	assert_int_equal(d.verdict, P25_BLOCK);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_basic_v4(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s = space(&m, o, "192.0.2.0/24");
	size_t pm = permit(&m, o, "192.0.2.25/32", 0);
	struct p25_policy *p = build(&m, T0);

	expect(p, "192.0.2.25", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
	expect(p, "192.0.2.25", P25_INBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
	expect(p, "192.0.2.24", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "192.0.2.26", P25_INBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "192.0.2.0", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "192.0.2.255", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "192.0.1.255", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "192.0.3.0", P25_INBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	/* The other family is untouched. */
	expect(p, "2001:db8::1", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	assert_ptr_equal(p25_policy_model(p), &m);
	assert_int_equal(p25_policy_built_at(p), T0);
	assert_int_equal(p25_policy_next_expiry(p), 0);
	assert_true(p25_policy_memory(p) > 0);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_basic_v6(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s = space(&m, o, "2001:db8:100::/40");
	size_t pm = permit(&m, o, "2001:db8:100:25::/64", 0);
	size_t host = permit(&m, o, "2001:db8:1ff:ffff:ffff:ffff:ffff:ffff/128", 0);
	struct p25_policy *p = build(&m, T0);

	expect(p, "2001:db8:100:25::1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
	expect(p, "2001:db8:100:25:ffff:ffff:ffff:ffff", P25_INBOUND, P25_PERMIT,
	       P25_WHY_PERMITTED, o, s, pm);
	expect(p, "2001:db8:100:24:ffff:ffff:ffff:ffff", P25_OUTBOUND, P25_BLOCK,
	       P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "2001:db8:100:26::", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "2001:db8:100::", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "2001:db8:1ff:ffff:ffff:ffff:ffff:ffff", P25_OUTBOUND, P25_PERMIT,
	       P25_WHY_PERMITTED, o, s, host);
	expect(p, "2001:db8:1ff:ffff:ffff:ffff:ffff:fffe", P25_OUTBOUND, P25_BLOCK,
	       P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "2001:db8:200::", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "2001:db8:ff:ffff:ffff:ffff:ffff:ffff", P25_OUTBOUND, P25_NOT_COVERED,
	       P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "::", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P25_OUTBOUND, P25_NOT_COVERED,
	       P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "192.0.2.1", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_enrollment(void **state)
{
	const enum p25_enrollment states[] = {P25_ENROLL_NONE, P25_ENROLL_PENDING,
					      P25_ENROLL_SUSPENDED, P25_ENROLL_ACTIVE};

	for (size_t i = 0; i < 4; i++) {
		struct p25_model m;
		p25_model_init(&m);
		size_t o = org(&m, "acme", states[i], P25_MODE_BOTH);
		size_t s = space(&m, o, "10.0.0.0/16");
		size_t s6 = space(&m, o, "2001:db8::/32");
		size_t pm = permit(&m, o, "10.0.0.25/32", 0);
		struct p25_policy *p = build(&m, T0);
		bool active = states[i] == P25_ENROLL_ACTIVE;

		for (int dir = 0; dir < 2; dir++) {
			if (active) {
				expect(p, "10.0.0.1", dir, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
				expect(p, "10.0.0.25", dir, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
				expect(p, "2001:db8::1", dir, P25_BLOCK, P25_WHY_UNPERMITTED, o, s6,
				       -1);
			} else {
				expect(p, "10.0.0.1", dir, P25_NOT_COVERED,
				       P25_WHY_ORG_NOT_ENFORCED, o, s, -1);
				expect(p, "10.0.0.25", dir, P25_NOT_COVERED,
				       P25_WHY_ORG_NOT_ENFORCED, o, s, -1);
				expect(p, "2001:db8::1", dir, P25_NOT_COVERED,
				       P25_WHY_ORG_NOT_ENFORCED, o, s6, -1);
			}
		}
		p25_policy_free(p);
		p25_model_free(&m);
	}
}

static void test_mode(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t ob = org(&m, "out", P25_ENROLL_ACTIVE, P25_MODE_OUTBOUND);
	size_t bo = org(&m, "both", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s1 = space(&m, ob, "10.1.0.0/16");
	size_t s2 = space(&m, bo, "10.2.0.0/16");
	size_t s3 = space(&m, ob, "2001:db8:1::/48");
	size_t p1 = permit(&m, ob, "10.1.0.25/32", 0);
	size_t p2 = permit(&m, bo, "10.2.0.25/32", 0);
	struct p25_policy *p = build(&m, T0);

	expect(p, "10.1.0.1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, ob, s1, -1);
	expect(p, "10.1.0.1", P25_INBOUND, P25_NOT_COVERED, P25_WHY_INBOUND_NOT_COVERED, ob, s1,
	       -1);
	expect(p, "10.1.0.25", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, ob, s1, p1);
	expect(p, "10.1.0.25", P25_INBOUND, P25_NOT_COVERED, P25_WHY_INBOUND_NOT_COVERED, ob,
	       s1, -1);
	expect(p, "2001:db8:1::9", P25_INBOUND, P25_NOT_COVERED, P25_WHY_INBOUND_NOT_COVERED, ob,
	       s3, -1);
	expect(p, "2001:db8:1::9", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, ob, s3, -1);
	expect(p, "10.2.0.1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, bo, s2, -1);
	expect(p, "10.2.0.1", P25_INBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, bo, s2, -1);
	expect(p, "10.2.0.25", P25_INBOUND, P25_PERMIT, P25_WHY_PERMITTED, bo, s2, p2);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_action_irrelevant(void **state)
{
	enum p25_verdict v[2][4];
	const char *hosts[] = {"10.0.0.1", "10.0.0.25", "2001:db8::1", "2001:db8::25"};

	for (int a = 0; a < 2; a++) {
		struct p25_model m;
		p25_model_init(&m);
		ssize_t o = p25_model_add_org(&m, 1, "acme", "Acme", P25_ENROLL_ACTIVE,
					      P25_MODE_BOTH,
					      a ? P25_ACTION_DROP : P25_ACTION_REJECT);
		space(&m, (size_t)o, "10.0.0.0/24");
		space(&m, (size_t)o, "2001:db8::/64");
		permit(&m, (size_t)o, "10.0.0.25/32", 0);
		permit(&m, (size_t)o, "2001:db8::25/128", 0);
		struct p25_policy *p = build(&m, T0);
		for (int h = 0; h < 4; h++)
			v[a][h] = dec(p, hosts[h], P25_INBOUND).verdict;
		p25_policy_free(p);
		p25_model_free(&m);
	}
	for (int h = 0; h < 4; h++)
		assert_int_equal(v[0][h], v[1][h]);
	assert_int_equal(v[0][0], P25_BLOCK);
	assert_int_equal(v[0][1], P25_PERMIT);
	assert_int_equal(v[0][2], P25_BLOCK);
	assert_int_equal(v[0][3], P25_PERMIT);
}

static void test_nested_permits(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s = space(&m, o, "10.0.0.0/8");
	size_t inner_s = space(&m, o, "10.9.0.0/16"); /* a nested space of the same org */
	size_t p16 = permit(&m, o, "10.1.0.0/16", 0);
	size_t p24 = permit(&m, o, "10.1.2.0/24", 0);
	size_t p28 = permit(&m, o, "10.1.2.16/28", 0);
	size_t p32 = permit(&m, o, "10.1.2.17/32", 0);
	size_t dup = permit(&m, o, "10.1.2.0/24", 0); /* equal: the first one is named */
	size_t p9 = permit(&m, o, "10.9.0.0/17", 0);
	struct p25_policy *p = build(&m, T0);

	(void)dup;
	expect(p, "10.1.0.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p16);
	expect(p, "10.1.2.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p24);
	expect(p, "10.1.2.16", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p28);
	expect(p, "10.1.2.17", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p32);
	expect(p, "10.1.2.18", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p28);
	expect(p, "10.1.2.31", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p28);
	expect(p, "10.1.2.32", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p24);
	expect(p, "10.1.3.0", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, p16);
	expect(p, "10.2.0.0", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "10.0.255.255", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "10.9.0.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, inner_s, p9);
	expect(p, "10.9.128.1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, inner_s, -1);
	expect(p, "10.10.0.0", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_permit_equals_space(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s = space(&m, o, "203.0.113.0/24");
	size_t s6 = space(&m, o, "2001:db8:5::/48");
	/* Added before the spaces' permits would be: order must not matter. */
	size_t pm = permit(&m, o, "203.0.113.0/24", 0);
	size_t pm6 = permit(&m, o, "2001:db8:5::/48", 0);
	struct p25_policy *p = build(&m, T0);

	for (int dir = 0; dir < 2; dir++) {
		expect(p, "203.0.113.0", dir, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
		expect(p, "203.0.113.255", dir, P25_PERMIT, P25_WHY_PERMITTED, o, s, pm);
		expect(p, "2001:db8:5::", dir, P25_PERMIT, P25_WHY_PERMITTED, o, s6, pm6);
		expect(p, "2001:db8:5:ffff:ffff:ffff:ffff:ffff", dir, P25_PERMIT,
		       P25_WHY_PERMITTED, o, s6, pm6);
		expect(p, "203.0.114.0", dir, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	}
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_expiry(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t o = org(&m, "acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s = space(&m, o, "10.0.0.0/24");
	size_t s6 = space(&m, o, "2001:db8::/48");
	size_t later = permit(&m, o, "10.0.0.0/28", T0 + 2 * P25_DAY);
	size_t soon = permit(&m, o, "10.0.0.1/32", T0 + P25_DAY);
	size_t v6 = permit(&m, o, "2001:db8::/64", T0 + P25_HOUR);
	permit(&m, o, "10.0.0.128/25", T0 - 1); /* already expired */
	struct p25_policy *p;

	p = build(&m, T0);
	expect(p, "10.0.0.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, soon);
	expect(p, "10.0.0.2", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, later);
	expect(p, "2001:db8::1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s6, v6);
	expect(p, "10.0.0.129", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	assert_int_equal(p25_policy_next_expiry(p), T0 + P25_HOUR);
	p25_policy_free(p);

	/* At the expiry instant the permit no longer counts. */
	p = build(&m, T0 + P25_HOUR);
	expect(p, "2001:db8::1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s6, -1);
	expect(p, "10.0.0.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, soon);
	assert_int_equal(p25_policy_next_expiry(p), T0 + P25_DAY);
	p25_policy_free(p);

	p = build(&m, T0 + P25_DAY);
	expect(p, "10.0.0.1", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, later);
	assert_int_equal(p25_policy_next_expiry(p), T0 + 2 * P25_DAY);
	p25_policy_free(p);

	p = build(&m, T0 + 2 * P25_DAY - 1);
	expect(p, "10.0.0.15", P25_INBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, later);
	assert_int_equal(p25_policy_next_expiry(p), T0 + 2 * P25_DAY);
	p25_policy_free(p);

	p = build(&m, T0 + 2 * P25_DAY);
	expect(p, "10.0.0.1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	expect(p, "10.0.0.15", P25_INBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, o, s, -1);
	assert_int_equal(p25_policy_next_expiry(p), 0);
	p25_policy_free(p);

	/* Built long before: everything counts. */
	p = build(&m, T0 - P25_DAY);
	expect(p, "10.0.0.129", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, o, s, 3);
	assert_int_equal(p25_policy_next_expiry(p), T0 - 1);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void same_decision(const struct p25_decision *got, const struct p25_decision *want)
{
	assert_int_equal(got->verdict, want->verdict);
	assert_int_equal(got->reason, want->reason);
	assert_int_equal(got->direction, want->direction);
	assert_int_equal(got->org, want->org);
	assert_int_equal(got->space, want->space);
	assert_int_equal(got->permit, want->permit);
}

static void expect_build_error(const struct p25_model *m, const char *const *needles)
{
	char err[512];
	struct p25_policy *p = p25_policy_build(m, T0, err, sizeof err);

	assert_null(p);
	for (; *needles; needles++)
		if (!strstr(err, *needles))
			fail_msg("error '%s' lacks '%s'", err, *needles);
}

static void test_overlap(void **state)
{
	struct {
		const char *a, *b;
	} cases[] = {
		{"10.0.0.0/8", "10.1.0.0/16"},
		{"10.1.0.0/16", "10.0.0.0/8"},
		{"10.1.2.0/24", "10.1.2.0/24"},
		{"10.1.2.128/25", "10.1.2.255/32"},
		{"0.0.0.0/0", "192.0.2.1/32"},
		{"2001:db8::/32", "2001:db8:1::/48"},
		{"2001:db8::1/128", "2001:db8::/64"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct p25_model m;
		p25_model_init(&m);
		size_t a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
		size_t b = org(&m, "bravo", P25_ENROLL_NONE, P25_MODE_BOTH);
		space(&m, a, "172.16.0.0/12");
		space(&m, a, cases[i].a);
		space(&m, b, "198.18.0.0/15");
		space(&m, b, cases[i].b);
		const char *needles[] = {"overlap", "alpha", "bravo", cases[i].a, cases[i].b, NULL};
		expect_build_error(&m, needles);
		p25_model_free(&m);
	}

	/* The same org may hold nested or equal spaces. */
	struct p25_model m;
	p25_model_init(&m);
	size_t a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t s1 = space(&m, a, "10.0.0.0/8");
	space(&m, a, "10.0.0.0/8");
	size_t s3 = space(&m, a, "10.1.0.0/16");
	struct p25_policy *p = build(&m, T0);
	expect(p, "10.1.0.0", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s3, -1);
	expect(p, "10.2.0.0", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s1, -1);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_permit_outside_space(void **state)
{
	struct p25_model m;

	/* In no space at all. */
	p25_model_init(&m);
	size_t a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, a, "10.0.0.0/16");
	permit(&m, a, "10.1.0.25/32", 0);
	expect_build_error(&m, (const char *const[]){"outside", "alpha", "10.1.0.25/32", NULL});
	p25_model_free(&m);

	/* Larger than the space holding its start. */
	p25_model_init(&m);
	a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, a, "10.0.0.0/24");
	permit(&m, a, "10.0.0.0/23", 0);
	expect_build_error(&m, (const char *const[]){"outside", "alpha", "10.0.0.0/23", NULL});
	p25_model_free(&m);

	/* In another org's space. */
	p25_model_init(&m);
	a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t b = org(&m, "bravo", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, a, "10.0.0.0/16");
	space(&m, b, "2001:db8::/32");
	permit(&m, b, "2001:db8::/48", 0);
	permit(&m, a, "2001:db8:1::/48", 0);
	expect_build_error(&m, (const char *const[]){"outside", "alpha", "2001:db8:1::/48",
						      "bravo", "2001:db8::/32", NULL});
	p25_model_free(&m);

	/* Expired permits must be consistent too. */
	p25_model_init(&m);
	a = org(&m, "alpha", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, a, "10.0.0.0/16");
	permit(&m, a, "10.2.0.0/24", T0 - 1);
	expect_build_error(&m, (const char *const[]){"outside", "10.2.0.0/24", NULL});
	p25_model_free(&m);
}

static void test_edges(void **state)
{
	struct p25_model m;
	p25_model_init(&m);
	size_t a = org(&m, "world", P25_ENROLL_ACTIVE, P25_MODE_OUTBOUND);
	size_t s4 = space(&m, a, "0.0.0.0/0");
	size_t s6 = space(&m, a, "::/0");
	size_t first = permit(&m, a, "0.0.0.0/32", 0);
	size_t last = permit(&m, a, "255.255.255.255/32", 0);
	size_t first6 = permit(&m, a, "::/128", 0);
	size_t last6 = permit(&m, a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 0);
	size_t mid = permit(&m, a, "128.0.0.0/1", T0 + 5);
	size_t x31 = permit(&m, a, "1.2.3.4/31", 0);
	struct p25_policy *p = build(&m, T0);

	expect(p, "0.0.0.0", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, first);
	expect(p, "0.0.0.1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s4, -1);
	expect(p, "127.255.255.255", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s4, -1);
	expect(p, "128.0.0.0", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, mid);
	expect(p, "255.255.255.254", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, mid);
	expect(p, "255.255.255.255", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, last);
	expect(p, "1.2.3.3", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s4, -1);
	expect(p, "1.2.3.4", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, x31);
	expect(p, "1.2.3.5", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s4, x31);
	expect(p, "1.2.3.6", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s4, -1);
	expect(p, "1.2.3.6", P25_INBOUND, P25_NOT_COVERED, P25_WHY_INBOUND_NOT_COVERED, a, s4,
	       -1);
	expect(p, "::", P25_OUTBOUND, P25_PERMIT, P25_WHY_PERMITTED, a, s6, first6);
	expect(p, "::1", P25_OUTBOUND, P25_BLOCK, P25_WHY_UNPERMITTED, a, s6, -1);
	expect(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P25_OUTBOUND, P25_PERMIT,
	       P25_WHY_PERMITTED, a, s6, last6);
	expect(p, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", P25_OUTBOUND, P25_BLOCK,
	       P25_WHY_UNPERMITTED, a, s6, -1);
	assert_int_equal(p25_policy_next_expiry(p), T0 + 5);
	p25_policy_free(p);

	/* An empty model covers nothing. */
	p25_model_free(&m);
	p25_model_init(&m);
	p = build(&m, T0);
	expect(p, "0.0.0.0", P25_OUTBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "255.255.255.255", P25_INBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	expect(p, "::", P25_INBOUND, P25_NOT_COVERED, P25_WHY_NO_ORG, -1, -1, -1);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_decide_packet(void **state)
{
	struct p25_model m;
	struct p25_decision d;
	p25_model_init(&m);
	size_t both = org(&m, "both", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	size_t out = org(&m, "out", P25_ENROLL_ACTIVE, P25_MODE_OUTBOUND);
	size_t off = org(&m, "off", P25_ENROLL_SUSPENDED, P25_MODE_BOTH);
	space(&m, both, "10.1.0.0/16");
	space(&m, out, "10.2.0.0/16");
	space(&m, off, "10.3.0.0/16");
	size_t pb = permit(&m, both, "10.1.0.25/32", 0);
	size_t po = permit(&m, out, "10.2.0.25/32", 0);
	struct p25_policy *p = build(&m, T0);
	struct {
		const char *src, *dst;
		enum p25_verdict v;
		enum p25_direction dir;
		enum p25_reason why;
		ssize_t permit;
	} cases[] = {
		/* outside to outside */
		{"192.0.2.1", "198.51.100.1", P25_NOT_COVERED, P25_OUTBOUND, P25_WHY_NO_ORG, -1},
		/* unpermitted sender */
		{"10.1.0.1", "198.51.100.1", P25_BLOCK, P25_OUTBOUND, P25_WHY_UNPERMITTED, -1},
		{"10.2.0.1", "198.51.100.1", P25_BLOCK, P25_OUTBOUND, P25_WHY_UNPERMITTED, -1},
		/* unpermitted receiver in a mode-both org */
		{"198.51.100.1", "10.1.0.1", P25_BLOCK, P25_INBOUND, P25_WHY_UNPERMITTED, -1},
		/* receiver in an outbound-only org */
		{"198.51.100.1", "10.2.0.1", P25_NOT_COVERED, P25_OUTBOUND, P25_WHY_NO_ORG, -1},
		/* permitted sender to outside */
		{"10.1.0.25", "198.51.100.1", P25_PERMIT, P25_OUTBOUND, P25_WHY_PERMITTED, 0},
		/* permitted receiver */
		{"198.51.100.1", "10.1.0.25", P25_PERMIT, P25_INBOUND, P25_WHY_PERMITTED, 0},
		/* permitted sender, unpermitted receiver: block wins */
		{"10.2.0.25", "10.1.0.1", P25_BLOCK, P25_INBOUND, P25_WHY_UNPERMITTED, -1},
		/* unpermitted sender, permitted receiver: block wins */
		{"10.1.0.2", "10.1.0.25", P25_BLOCK, P25_OUTBOUND, P25_WHY_UNPERMITTED, -1},
		/* both permitted: the outbound decision is reported */
		{"10.2.0.25", "10.1.0.25", P25_PERMIT, P25_OUTBOUND, P25_WHY_PERMITTED, 1},
		/* suspended org both ways */
		{"10.3.0.1", "10.3.0.2", P25_NOT_COVERED, P25_OUTBOUND, P25_WHY_ORG_NOT_ENFORCED, -1},
		/* suspended sender, permitted receiver */
		{"10.3.0.1", "10.1.0.25", P25_PERMIT, P25_INBOUND, P25_WHY_PERMITTED, 0},
	};

	(void)pb;
	(void)po;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct p25_addr s = addr(cases[i].src), t = addr(cases[i].dst);
		struct p25_decision od;
		enum p25_verdict v = p25_policy_decide_packet(p, &s, &t, 25, &d);
		assert_int_equal(v, cases[i].v);
		assert_int_equal(d.verdict, cases[i].v);
		assert_int_equal(d.direction, cases[i].dir);
		assert_int_equal(d.reason, cases[i].why);
		assert_int_equal(d.permit, cases[i].permit);
		assert_int_equal(oracle_decision_packet(&m, T0, &s, &t, 25, &od), v);
		same_decision(&d, &od);
		assert_int_equal(p25_policy_decide_packet(p, &s, &t, 587, &d), P25_NOT_COVERED);
	}
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_names(void **state)
{
	assert_string_equal(p25_verdict_name(P25_PERMIT), "permit");
	assert_string_equal(p25_verdict_name(P25_BLOCK), "block");
	assert_string_equal(p25_verdict_name(P25_NOT_COVERED), "not-covered");
	for (int r = P25_WHY_NOT_SMTP; r <= P25_WHY_UNPERMITTED; r++)
		assert_true(strlen(p25_reason_text(r)) > 5);
}

/* ---- randomized differential test against the oracle ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static unsigned rnd_in(struct rng *r, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rnd(r) % (hi - lo + 1));
}

static p25_u128 rnd128(struct rng *r)
{
	return (p25_u128)rnd(r) << 64 | rnd(r);
}

static struct p25_prefix mkprefix(int family, p25_u128 bits, unsigned len)
{
	struct p25_prefix p = {.family = (uint8_t)family, .len = (uint8_t)len};
	if (family == P25_INET)
		bits &= p25_mask(32);
	p.net = bits & p25_mask(len);
	return p;
}

/* A random prefix of length len inside outer. */
static struct p25_prefix inside(struct rng *r, const struct p25_prefix *outer, unsigned len)
{
	return mkprefix(outer->family, outer->net | (rnd128(r) & ~p25_mask(outer->len)), len);
}

static unsigned rnd_len(struct rng *r, int family, unsigned min)
{
	unsigned max = p25_family_bits(family), len;

	if (family == P25_INET)
		len = rnd(r) % 8 == 0 ? rnd_in(r, 25, 32) : rnd_in(r, 16, 24);
	else
		len = rnd(r) % 8 == 0 ? rnd_in(r, 100, 128) : rnd_in(r, 40, 64);
	if (len < min)
		len = min + (unsigned)(rnd(r) % (max - min + 1)) / 4;
	return len > max ? max : len;
}

static void random_model(struct rng *r, struct p25_model *m, size_t norgs, p25_time now)
{
	/* Dense regions make nesting, shared /24s and deep v6 common. */
	const struct p25_prefix regions[] = {pfx("10.0.0.0/12"), pfx("192.168.0.0/16"),
					     pfx("2001:db8::/32"), pfx("2001:db8:abcd:ef00::/56")};
	struct p25_prefix *roots = NULL;
	size_t nroots = 0;

	for (size_t o = 0; o < norgs; o++) {
		size_t oi = org(m, "o", (enum p25_enrollment)rnd_in(r, 0, 3),
				(enum p25_mode)rnd_in(r, 0, 1));
		if (rnd(r) % 3)
			m->orgs[oi].enrollment = P25_ENROLL_ACTIVE;
		snprintf(m->orgs[oi].handle, 2, "%c", 'a' + (int)(o % 26));
		size_t nsp = rnd_in(r, 1, 3);
		for (size_t k = 0; k < nsp; k++) {
			struct p25_prefix p;
			int tries = 0;
			bool ok;
			do {
				const struct p25_prefix *reg = &regions[rnd(r) % 4];
				unsigned len = rnd(r) % 16 == 0 ? 0 : rnd_len(r, reg->family, reg->len);
				if (len == 0)
					p = mkprefix(reg->family, rnd128(r),
						     reg->family == P25_INET ? rnd_in(r, 8, 32)
									     : rnd_in(r, 16, 128));
				else
					p = inside(r, reg, len);
				ok = true;
				for (size_t i = 0; i < nroots && ok; i++)
					ok = !p25_prefix_overlaps(&p, &roots[i]);
			} while (!ok && ++tries < 50);
			if (!ok)
				continue;
			roots = realloc(roots, (nroots + 1) * sizeof *roots);
			roots[nroots++] = p;
			assert_true(p25_model_add_space(m, (int64_t)m->nspaces + 1, oi, &p, "") >= 0);
			/* Nested spaces of the same org. */
			if (rnd(r) % 4 == 0) {
				struct p25_prefix q = inside(r, &p, rnd_len(r, p.family, p.len));
				assert_true(p25_model_add_space(m, (int64_t)m->nspaces + 1, oi, &q, "") >= 0);
			}
			size_t npm = rnd_in(r, 0, 8), first = m->npermits;
			for (size_t j = 0; j < npm; j++) {
				struct p25_permit pm = {.id = (int64_t)m->npermits + 1, .org = oi};
				unsigned kind = (unsigned)(rnd(r) % 10);
				if (kind == 0)
					pm.prefix = p;
				else if (kind == 1 && m->npermits > first)
					pm.prefix = inside(r, &m->permits[m->npermits - 1].prefix,
							   rnd_len(r, p.family,
								   m->permits[m->npermits - 1].prefix.len));
				else
					pm.prefix = inside(r, &p, rnd_len(r, p.family, p.len));
				switch (rnd(r) % 4) {
				case 0:
					pm.expires = now - (p25_time)rnd_in(r, 0, 1000);
					break;
				case 1:
					pm.expires = now + 1 + (p25_time)rnd_in(r, 0, 1000);
					break;
				default:
					pm.expires = 0;
				}
				assert_true(p25_model_add_permit(m, &pm) >= 0);
			}
		}
	}
	free(roots);
}

/* An address near an edge of a random prefix of the model, or anywhere. */
static struct p25_addr pick_addr(struct rng *r, const struct p25_model *m, int family)
{
	struct p25_addr a = {.family = (uint8_t)family};
	const struct p25_prefix *pf = NULL;
	p25_u128 fammask = p25_mask(p25_family_bits(family));

	for (int tries = 0; tries < 20 && !pf; tries++) {
		const struct p25_prefix *c;
		size_t n = m->nspaces + m->npermits;
		size_t i = (size_t)(rnd(r) % n);
		c = i < m->nspaces ? &m->spaces[i].prefix : &m->permits[i - m->nspaces].prefix;
		if (c->family == family)
			pf = c;
	}
	if (!pf || rnd(r) % 2) {
		a.bits = rnd128(r) & fammask;
		if (family == P25_INET6 && rnd(r) % 2)
			a.bits = pfx("2001:db8::/32").net | (a.bits >> 32);
		return a;
	}
	p25_u128 last = pf->net | (fammask & ~p25_mask(pf->len));
	p25_u128 one = (p25_u128)1 << (128 - p25_family_bits(family));
	switch (rnd(r) % 6) {
	case 0:
		a.bits = pf->net;
		break;
	case 1:
		a.bits = last;
		break;
	case 2:
		a.bits = (pf->net - one) & fammask;
		break;
	case 3:
		a.bits = (last + one) & fammask;
		break;
	default:
		a.bits = pf->net | (rnd128(r) & fammask & ~p25_mask(pf->len));
	}
	return a;
}

static void differential(uint64_t seed, size_t norgs, size_t naddrs)
{
	struct rng r = {seed};
	struct p25_model m;
	struct p25_policy *p;
	char err[256];
	p25_time now = T0;
	struct p25_addr *addrs = malloc(naddrs * sizeof *addrs);
	size_t ncov = 0;

	p25_model_init(&m);
	random_model(&r, &m, norgs, now);
	p = p25_policy_build(&m, now, err, sizeof err);
	if (!p)
		fail_msg("seed %llu: %s", (unsigned long long)seed, err);
	for (size_t i = 0; i < naddrs; i++)
		addrs[i] = pick_addr(&r, &m, i % 2 ? P25_INET6 : P25_INET);
	for (size_t i = 0; i < naddrs; i++) {
		for (int dir = 0; dir < 2; dir++) {
			struct p25_decision got, want;
			p25_policy_decide(p, &addrs[i], &addrs[i], 25, dir, &got);
			oracle_decision(&m, now, &addrs[i], &addrs[i], 25, dir, &want);
			if (got.verdict != want.verdict || got.reason != want.reason ||
			    got.direction != want.direction || got.org != want.org ||
			    got.space != want.space || got.permit != want.permit) {
				char buf[P25_ADDR_STRLEN];
				fail_msg("seed %llu: %s dir %d: got %d/%d org %zd space %zd permit "
					 "%zd, want %d/%d org %zd space %zd permit %zd",
					 (unsigned long long)seed,
					 p25_addr_format(&addrs[i], buf, sizeof buf), dir,
					 got.verdict, got.reason, got.org, got.space, got.permit,
					 want.verdict, want.reason, want.org, want.space,
					 want.permit);
			}
			enum p25_verdict fast =
				addrs[i].family == P25_INET
					? p25_policy_verdict_v4(p, p25_addr_v4(&addrs[i]), dir)
					: p25_policy_verdict_v6(p, addrs[i].bits, dir);
			assert_int_equal(fast, want.verdict);
			ncov += want.verdict != P25_NOT_COVERED;
		}
	}
	/* Packets between pairs of the same family, and across families. */
	for (size_t i = 0; i + 2 < naddrs && i < 40000; i++) {
		struct p25_decision got, want;
		const struct p25_addr *s = &addrs[i], *d = &addrs[i + 2 - (i % 3 == 0)];
		enum p25_verdict v = p25_policy_decide_packet(p, s, d, 25, &got);
		assert_int_equal(oracle_decide_packet(&m, now, s, d, 25), v);
		oracle_decision_packet(&m, now, s, d, 25, &want);
		same_decision(&got, &want);
	}
	/* The model must exercise every path, not only "no org". */
	assert_true(ncov > naddrs / 4);
	free(addrs);
	p25_policy_free(p);
	p25_model_free(&m);
}

static void test_differential(void **state)
{
	size_t total = 0;
	const size_t per = 55000;

	for (uint64_t seed = 1; total < 220000; seed++, total += per)
		differential(0x9E3779B97F4A7C15ull * seed, 300, per);
}

/* The batched fast paths agree with one-at-a-time lookups, both families, both directions. */
static void test_batched(void **state)
{
	enum { N = 20000 };
	struct p25_model m;
	struct rng r = {7};
	static uint32_t a4[N];
	static p25_u128 a6[N];
	static uint8_t out4[N], out6[N];

	p25_model_init(&m);
	random_model(&r, &m, 200, T0);
	struct p25_policy *p = build(&m, T0);
	for (size_t i = 0; i < N; i++) {
		struct p25_addr x = pick_addr(&r, &m, P25_INET), y = pick_addr(&r, &m, P25_INET6);
		a4[i] = p25_addr_v4(&x);
		a6[i] = y.bits;
	}
	/* Odd sizes exercise the tail after the prefetching loop. */
	p25_policy_verdicts_v4(p, a4, N - 3, out4);
	p25_policy_verdicts_v6(p, a6, N - 5, out6);
	for (size_t i = 0; i < N - 5; i++) {
		for (int dir = 0; dir < 2; dir++) {
			assert_int_equal(p25_verdict_of(out4[i], dir),
					 p25_policy_verdict_v4(p, a4[i], dir));
			assert_int_equal(p25_verdict_of(out6[i], dir),
					 p25_policy_verdict_v6(p, a6[i], dir));
		}
	}
	p25_policy_free(p);
	p25_model_free(&m);
}

/* Dense v6 and >/24 v4 force second-level groups and deep index nodes. */
static void test_dense(void **state)
{
	struct p25_model m;
	struct rng r = {42};
	p25_model_init(&m);
	size_t o = org(&m, "dense", P25_ENROLL_ACTIVE, P25_MODE_BOTH);
	space(&m, o, "2001:db8::/64");
	space(&m, o, "10.0.0.0/24");
	for (int i = 0; i < 3000; i++) {
		struct p25_permit pm = {.id = i, .org = o};
		if (i % 2) {
			pm.prefix = pfx("2001:db8::/64");
			pm.prefix.net |= (rnd128(&r) & 0xffff) << (rnd(&r) % 48);
			pm.prefix.len = 128;
		} else {
			pm.prefix = mkprefix(P25_INET, pfx("10.0.0.0/24").net | rnd128(&r) >> 120 << 96,
					     rnd_in(&r, 25, 32));
		}
		assert_true(p25_model_add_permit(&m, &pm) >= 0);
	}
	struct p25_policy *p = build(&m, T0);
	for (int i = 0; i < 20000; i++) {
		struct p25_addr a = pick_addr(&r, &m, i % 2 ? P25_INET6 : P25_INET);
		struct p25_decision got, want;
		p25_policy_decide(p, &a, &a, 25, P25_INBOUND, &got);
		oracle_decision(&m, T0, &a, &a, 25, P25_INBOUND, &want);
		same_decision(&got, &want);
	}
	p25_policy_free(p);
	p25_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_smtp),
		cmocka_unit_test(test_basic_v4),
		cmocka_unit_test(test_basic_v6),
		cmocka_unit_test(test_enrollment),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_action_irrelevant),
		cmocka_unit_test(test_nested_permits),
		cmocka_unit_test(test_permit_equals_space),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_permit_outside_space),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_decide_packet),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_dense),
		cmocka_unit_test(test_differential),
		cmocka_unit_test(test_batched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
