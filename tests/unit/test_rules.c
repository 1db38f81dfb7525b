/*
 * The rules module: address space decided in SQL over the stored networks
 * agrees with the address library on random prefixes (overlap between
 * prefixes, containment of permits, permits covering a prefix, permits
 * inside a prefix being removed), and the request transitions table is what
 * the registry moves requests by and what the service authorizes by.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr/addr.h"
#include "registry/registry.h"
#include "service/service.h"

static const struct p25_actor who = {.name = "tester", .now = 1795428000}; /* 2026-11-23T10Z */

static struct p25_registry *open_registry(void)
{
	struct p25_registry *reg;
	char err[256];

	assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
	return reg;
}

static void add_org(struct p25_registry *reg, const char *handle)
{
	assert_int_equal(p25_org_add(reg, &who, handle, "Org", P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
}

/* xorshift: the same sequence on every run, so a failure repeats. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A random network near base: few distinct bits, so that many overlap. */
static void random_prefix(const char *base, unsigned minlen, unsigned maxlen, unsigned spread,
                          struct p25_prefix *p)
{
	struct p25_diag diag;
	unsigned bits, len;

	assert_int_equal(p25_prefix_parse(base, 0, p, &diag), 0);
	bits = p25_family_bits(p->family);
	len = minlen + (unsigned)(rnd() % (maxlen - minlen + 1));
	/* spread random bits just below the base's length */
	p->net |= ((p25_u128)(rnd() & ((1u << spread) - 1))) << (128 - p->len - spread);
	if (rnd() % 2)
		p->net |= (p25_u128)(rnd() & 0xff) << (128 - bits); /* the last byte too, at times */
	p->len = (uint8_t)len;
	p->net &= p25_mask(len);
}

static bool overlaps_any(const struct p25_prefix *v, const int *owner, size_t n,
                         const struct p25_prefix *p, size_t *first)
{
	bool found = false;

	for (size_t i = 0; i < n; i++) {
		if (!p25_prefix_overlaps(&v[i], p))
			continue;
		/* The registry names the first in address order (network, then length). */
		if (!found || v[i].net < v[*first].net ||
		    (v[i].net == v[*first].net && v[i].len < v[*first].len))
			*first = i;
		found = true;
	}
	(void)owner;
	return found;
}

static void check_space(const char *base, unsigned minlen, unsigned maxlen, unsigned spread)
{
	struct p25_registry *reg = open_registry();
	static const char *const orgs[] = {"alpha", "beta"};
	struct p25_prefix v[400];
	int owner[400];
	size_t n = 0, refused = 0;

	add_org(reg, "alpha");
	add_org(reg, "beta");
	for (int k = 0; k < 600 && n < 400; k++) {
		struct p25_prefix p;
		char text[P25_PREFIX_STRLEN], other[P25_PREFIX_STRLEN];
		int o = (int)(rnd() % 2);
		size_t first = 0;
		bool clash;
		int rc;

		random_prefix(base, minlen, maxlen, spread, &p);
		p25_prefix_format(&p, text, sizeof text);
		clash = overlaps_any(v, owner, n, &p, &first);
		rc = p25_prefix_add(reg, &who, orgs[o], text, "", 0);
		if (!clash) {
			if (rc != 0)
				fail_msg("%s for %s refused: %s", text, orgs[o], p25_registry_error(reg));
			v[n] = p;
			owner[n++] = o;
			continue;
		}
		refused++;
		if (rc != P25_ECONFLICT)
			fail_msg("%s for %s: expected a conflict, got %d", text, orgs[o], rc);
		p25_prefix_format(&v[first], other, sizeof other);
		if (!strstr(p25_registry_error(reg), other))
			fail_msg("%s: '%s' does not name %s", text, p25_registry_error(reg), other);
		if (owner[first] != o)
			assert_non_null(strstr(p25_registry_error(reg), "overlaps"));
		else if (p25_prefix_equal(&v[first], &p))
			assert_non_null(strstr(p25_registry_error(reg), "already registered"));
		else
			assert_non_null(strstr(p25_registry_error(reg),
			                       v[first].len < p.len ? "lies inside" : "contains"));
	}
	/* The sample exercised both answers. */
	assert_true(n > 20);
	assert_true(refused > 20);

	/* Permits: inside the org's space or refused, whatever the width. */
	for (int k = 0; k < 300; k++) {
		struct p25_prefix p;
		char text[P25_PREFIX_STRLEN];
		struct p25_permit_spec spec = {.kind = P25_KIND_MAIL_SERVER,
		                               .description = "relay",
		                               .force = true};
		int o = (int)(rnd() % 2), rc;
		bool inside = false, again = false;

		random_prefix(base, maxlen - 4 > minlen ? maxlen - 4 : minlen, maxlen, spread, &p);
		for (size_t i = 0; i < n; i++)
			inside |= owner[i] == o && p25_prefix_contains(&v[i], &p);
		p25_prefix_format(&p, text, sizeof text);
		spec.org = orgs[o];
		spec.address = text;
		rc = p25_permit_add(reg, &who, &spec, NULL);
		if (rc == P25_ECONFLICT) /* the same address twice: not this test's rule */
			again = strstr(p25_registry_error(reg), "already permitted") != NULL;
		if (!again && (rc == 0) != inside)
			fail_msg("permit %s for %s: inside %d, got %d (%s)", text, orgs[o], inside, rc,
			         p25_registry_error(reg));
		if (!again && !inside)
			assert_non_null(strstr(p25_registry_error(reg), "outside the address space"));
	}

	/* Permits covering a prefix: those the address library says overlap it. */
	for (int k = 0; k < 100; k++) {
		struct p25_prefix p, *cover = NULL;
		struct p25_permit_filter f = {.org = "alpha", .now = who.now};
		size_t ncover = 0, want = 0, i;
		json_t *rows, *row;

		random_prefix(base, minlen, maxlen, spread, &p);
		assert_int_equal(p25_permits_covering(reg, "alpha", &p, who.now, &cover, &ncover), 0);
		assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
		json_array_foreach(rows, i, row)
		{
			struct p25_prefix q;
			struct p25_diag diag;
			assert_int_equal(p25_prefix_parse(json_string_value(json_object_get(row,
			                                                                    "address")),
			                                  0, &q, &diag),
			                 0);
			want += q.family == p.family && p25_prefix_overlaps(&p, &q);
		}
		json_decref(rows);
		assert_int_equal(ncover, want);
		for (i = 0; i < ncover; i++)
			assert_true(p25_prefix_overlaps(&p, &cover[i]));
		free(cover);
	}

	/* A prefix still holding a permit is not removed; one without permits is. */
	for (size_t i = 0; i < n; i++) {
		struct p25_permit_filter f = {.org = orgs[owner[i]], .now = who.now};
		char text[P25_PREFIX_STRLEN];
		bool holds = false;
		size_t k;
		json_t *rows, *row;
		int rc;

		assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
		json_array_foreach(rows, k, row)
		{
			struct p25_prefix q;
			struct p25_diag diag;
			p25_prefix_parse(json_string_value(json_object_get(row, "address")), 0, &q,
			                 &diag);
			holds |= p25_prefix_contains(&v[i], &q);
		}
		json_decref(rows);
		p25_prefix_format(&v[i], text, sizeof text);
		rc = p25_prefix_remove(reg, &who, text);
		if (holds) {
			assert_int_equal(rc, P25_ECONFLICT);
			assert_non_null(strstr(p25_registry_error(reg), "still holds permit"));
		} else if (rc != 0) {
			fail_msg("prefix remove %s: %s", text, p25_registry_error(reg));
		}
	}
	p25_registry_close(reg);
}

static void test_space_v4(void **state)
{
	(void)state;
	check_space("10.20.0.0/16", 16, 32, 6);
}

static void test_space_v6(void **state)
{
	(void)state;
	check_space("2001:db8:77::/48", 48, 128, 8);
	/* Short prefixes: the ancestors of the first bits. */
	check_space("2001:db8::/32", 32, 60, 5);
}

/* ---- request transitions ---- */

static int next_server = 1;

/* A new add-permit request of org, brought to status by the operator. */
static int64_t request_in(struct p25_registry *reg, const char *org,
                          enum p25_request_status status)
{
	char address[32];
	struct p25_request_server server = {.kind = P25_KIND_MAIL_SERVER, .description = "mx"};
	struct p25_request_spec spec = {
	    .org = org, .type = P25_REQ_ADD_PERMIT, .servers = &server, .nservers = 1};
	int64_t id;

	snprintf(address, sizeof address, "%s.%d", strcmp(org, "k12") ? "198.51.100" : "192.0.2",
	         next_server++);
	server.address = address;
	assert_int_equal(p25_request_submit(reg, &who, &spec, &id), 0);
	switch (status) {
	case P25_REQ_SUBMITTED:
		break;
	case P25_REQ_APPROVED:
		assert_int_equal(p25_request_approve(reg, &who, id), 0);
		break;
	case P25_REQ_APPLIED:
	case P25_REQ_VERIFIED:
		assert_int_equal(p25_request_approve(reg, &who, id), 0);
		assert_int_equal(p25_request_apply(reg, &who, id), 0);
		if (status == P25_REQ_VERIFIED)
			assert_int_equal(p25_request_verify(reg, &who, id), 0);
		break;
	case P25_REQ_REJECTED:
		assert_int_equal(p25_request_reject(reg, &who, id, "no"), 0);
		break;
	case P25_REQ_CANCELLED:
		assert_int_equal(p25_request_cancel(reg, &who, id), 0);
		break;
	}
	return id;
}

static int take(struct p25_registry *reg, enum p25_request_action a, int64_t id)
{
	switch (a) {
	case P25_REQUEST_APPROVE:
		return p25_request_approve(reg, &who, id);
	case P25_REQUEST_REJECT:
		return p25_request_reject(reg, &who, id, "not now");
	case P25_REQUEST_APPLY:
		return p25_request_apply(reg, &who, id);
	case P25_REQUEST_VERIFY:
		return p25_request_verify(reg, &who, id);
	case P25_REQUEST_CANCEL:
		return p25_request_cancel(reg, &who, id);
	default:
		fail();
	}
	return -1;
}

static int take_as(struct p25_service *svc, const struct p25_auth *auth,
                   enum p25_request_action a, int64_t id)
{
	switch (a) {
	case P25_REQUEST_APPROVE:
		return p25_service_request_approve(svc, auth, id);
	case P25_REQUEST_REJECT:
		return p25_service_request_reject(svc, auth, id, "not now");
	case P25_REQUEST_APPLY:
		return p25_service_request_apply(svc, auth, id, false);
	case P25_REQUEST_VERIFY:
		return p25_service_request_verify(svc, auth, id);
	case P25_REQUEST_CANCEL:
		return p25_service_request_cancel(svc, auth, id);
	default:
		fail();
	}
	return -1;
}

static void test_transitions(void **state)
{
	struct p25_registry *reg = open_registry();
	static const char *const mine[] = {"k12"};
	struct p25_auth member = {
	    .actor = "pat", .role = P25_ROLE_MEMBER, .orgs = mine, .norgs = 1, .now = who.now};
	struct p25_service *svc;

	(void)state;
	add_org(reg, "k12");
	add_org(reg, "city");
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.0/24", "", 0), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "city", "198.51.100.0/24", "", 0), 0);
	assert_int_equal(p25_service_open(reg, NULL, &svc), 0);
	assert_null(p25_request_transition(P25_REQUEST_ACTIONS));
	assert_true(p25_request_transition(P25_REQUEST_SUBMIT)->member);
	assert_int_equal(p25_request_transition(P25_REQUEST_SUBMIT)->to, P25_REQ_SUBMITTED);

	for (int a = P25_REQUEST_APPROVE; a < P25_REQUEST_ACTIONS; a++) {
		const struct p25_request_transition *t = p25_request_transition(a);
		assert_int_equal(t->action, a);
		for (int s = P25_REQ_SUBMITTED; s <= P25_REQ_CANCELLED; s++) {
			int64_t id = request_in(reg, "k12", s);
			json_t *r;
			int rc = take(reg, a, id);
			if (t->from & P25_REQUEST_FROM(s)) {
				if (rc != 0)
					fail_msg("%s from %s: %s", t->verb, p25_request_status_name(s),
					         p25_registry_error(reg));
				assert_int_equal(p25_request_show(reg, id, who.now, &r), 0);
				assert_string_equal(json_string_value(json_object_get(r, "status")),
				                    p25_request_status_name(t->to));
				json_decref(r);
			} else {
				assert_int_equal(rc, P25_ECONFLICT);
				assert_non_null(strstr(p25_registry_error(reg), t->refusal));
			}
			/* Open is: cancel may still take it. */
			assert_int_equal(p25_request_status_open(s),
			                 (p25_request_transition(P25_REQUEST_CANCEL)->from &
			                  P25_REQUEST_FROM(s)) != 0);
		}
		/* The service: a member may take it only where the table says members may. */
		{
			enum p25_request_status s = P25_REQ_SUBMITTED;
			int64_t id, other;
			int rc;
			while (!(t->from & P25_REQUEST_FROM(s)))
				s++;
			id = request_in(reg, "k12", s);
			other = request_in(reg, "city", s);
			rc = take_as(svc, &member, a, id);
			if (t->member) {
				assert_int_equal(rc, 0);
			} else {
				char phrase[64];
				assert_int_equal(rc, P25_EDENIED);
				snprintf(phrase, sizeof phrase, "may not %s requests", t->verb);
				assert_non_null(strstr(p25_service_error(svc), phrase));
			}
			/* Another organization's request: never. */
			assert_int_equal(take_as(svc, &member, a, other), P25_EDENIED);
		}
	}
	p25_service_close(svc);
	p25_registry_close(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_space_v4),
	    cmocka_unit_test(test_space_v6),
	    cmocka_unit_test(test_transitions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
