/* Address and prefix math: parsing, formatting, containment, aggregation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr/addr.h"

static struct p25_prefix P(const char *s)
{
	struct p25_prefix p;
	struct p25_diag d;
	if (p25_prefix_parse(s, 0, &p, &d) != 0)
		fail_msg("parse %s: %s", s, d.error);
	return p;
}

static const char *fmt(const struct p25_prefix *p)
{
	static char buf[8][P25_PREFIX_STRLEN];
	static int i;
	i = (i + 1) % 8;
	return p25_prefix_format(p, buf[i], sizeof buf[i]);
}

static void test_parse_valid(void **state)
{
	static const char *const ok[][2] = {
		{"10.1.2.0/24", "10.1.2.0/24"},	 {"10.1.2.3", "10.1.2.3/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},	 {"255.255.255.255/32", "255.255.255.255/32"},
		{"2001:db8::/32", "2001:db8::/32"}, {"2001:DB8::1", "2001:db8::1/128"},
		{"::/0", "::/0"},		 {"::1.2.3.4", "::1.2.3.4/128"},
		{"fe80::/10", "fe80::/10"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct p25_prefix p = P(ok[i][0]);
		assert_string_equal(fmt(&p), ok[i][1]);
	}
}

static void expect_error(const char *s, unsigned flags, const char *needle)
{
	struct p25_prefix p;
	struct p25_diag d;
	if (p25_prefix_parse(s, flags, &p, &d) == 0)
		fail_msg("'%s' parsed but must be refused", s);
	if (!strstr(d.error, needle))
		fail_msg("'%s': message '%s' lacks '%s'", s, d.error, needle);
	/* Every message names the input. */
	if (!strstr(d.error, s) && *s)
		fail_msg("'%s': message '%s' does not name the input", s, d.error);
}

static void test_parse_invalid(void **state)
{
	expect_error("10.1.2.3/33", 0, "out of range");
	expect_error("2001:db8::/129", 0, "out of range");
	expect_error("10.1.2.3/24", 0, "host bits set");
	expect_error("1.2.3", 0, "not a valid IPv4");
	expect_error("1.2.3.4.5", 0, "not a valid IPv4");
	expect_error("01.2.3.4", 0, "not a valid IPv4");
	expect_error("256.1.1.1", 0, "not a valid IPv4");
	expect_error("10.0.0.0/", 0, "missing prefix length");
	expect_error("10.0.0.0/08", 0, "malformed");
	expect_error("10.0.0.0/-8", 0, "decimal");
	expect_error("10.0.0.0/+8", 0, "decimal");
	expect_error("10.0.0.0/8x", 0, "decimal");
	expect_error("10.0.0.0/ 8", 0, "decimal");
	expect_error(" 10.0.0.0/8", 0, "white space");
	expect_error("::ffff:10.1.2.3", 0, "IPv4-mapped");
	expect_error("fe80::1%eth0", 0, "zone");
	expect_error("2001:db8:::1", 0, "not a valid IPv6");
	expect_error("10.0.0.0", P25_PARSE_REQUIRE_LEN, "with a length");
	expect_error("", 0, "empty");
}

static void test_normalize_and_unmap(void **state)
{
	struct p25_prefix p;
	struct p25_diag d;

	assert_int_equal(p25_prefix_parse("10.1.2.3/24", P25_PARSE_NORMALIZE, &p, &d), 0);
	assert_string_equal(fmt(&p), "10.1.2.0/24");
	assert_non_null(strstr(d.warning, "host bits"));
	assert_int_equal(p25_prefix_parse("2001:db8::1/32", P25_PARSE_NORMALIZE, &p, &d), 0);
	assert_string_equal(fmt(&p), "2001:db8::/32");

	assert_int_equal(p25_prefix_parse("::ffff:10.1.2.3", P25_PARSE_UNMAP, &p, &d), 0);
	assert_int_equal(p.family, P25_INET);
	assert_string_equal(fmt(&p), "10.1.2.3/32");
	assert_int_equal(p25_prefix_parse("::ffff:10.1.2.0/120", P25_PARSE_UNMAP, &p, &d), 0);
	assert_string_equal(fmt(&p), "10.1.2.0/24");
	assert_int_not_equal(p25_prefix_parse("::ffff:0:0/90", P25_PARSE_UNMAP, &p, &d), 0);

	struct p25_addr a;
	assert_int_equal(p25_addr_parse("192.0.2.1", 0, &a, &d), 0);
	assert_int_equal(p25_addr_v4(&a), 0xc0000201u);
	assert_int_not_equal(p25_addr_parse("192.0.2.0/24", 0, &a, &d), 0);
}

static void test_contain_overlap(void **state)
{
	struct p25_prefix a = P("10.0.0.0/8"), b = P("10.1.0.0/16"), c = P("11.0.0.0/8");
	struct p25_prefix v6 = P("::/0"), v4all = P("0.0.0.0/0");
	struct p25_addr x;
	struct p25_diag d;

	assert_true(p25_prefix_contains(&a, &b));
	assert_false(p25_prefix_contains(&b, &a));
	assert_true(p25_prefix_contains(&a, &a));
	assert_true(p25_prefix_overlaps(&b, &a));
	assert_false(p25_prefix_overlaps(&a, &c));
	/* Families never mix, even at /0. */
	assert_false(p25_prefix_overlaps(&v6, &a));
	assert_true(p25_prefix_contains(&v4all, &c));
	p25_addr_parse("10.255.255.255", 0, &x, &d);
	assert_true(p25_prefix_contains_addr(&a, &x));
	assert_false(p25_prefix_contains_addr(&b, &x));
	assert_false(p25_prefix_contains_addr(&v6, &x));

	struct p25_addr first, last;
	struct p25_prefix q = P("192.0.2.128/25");
	char buf[P25_ADDR_STRLEN];
	p25_prefix_first(&q, &first);
	p25_prefix_last(&q, &last);
	assert_string_equal(p25_addr_format(&first, buf, sizeof buf), "192.0.2.128");
	assert_string_equal(p25_addr_format(&last, buf, sizeof buf), "192.0.2.255");
	q = P("2001:db8::/126");
	p25_prefix_last(&q, &last);
	assert_string_equal(p25_addr_format(&last, buf, sizeof buf), "2001:db8::3");
}

static void check_aggregate(const char *const *in, size_t n, const char *const *want, size_t nwant)
{
	struct p25_prefix v[64];
	size_t m;
	for (size_t i = 0; i < n; i++)
		v[i] = P(in[i]);
	m = p25_prefix_aggregate(v, n);
	if (m != nwant) {
		for (size_t i = 0; i < m; i++)
			print_message("got %s\n", fmt(&v[i]));
		fail_msg("aggregate: %zu prefixes, want %zu", m, nwant);
	}
	for (size_t i = 0; i < m; i++)
		assert_string_equal(fmt(&v[i]), want[i]);
}

static void test_aggregate(void **state)
{
	const char *a[] = {"10.0.0.1", "10.0.0.0", "10.0.0.2", "10.0.0.3"};
	const char *aw[] = {"10.0.0.0/30"};
	check_aggregate(a, 4, aw, 1);
	const char *b[] = {"10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24", "10.0.0.7"};
	const char *bw[] = {"10.0.0.0/23"};
	check_aggregate(b, 4, bw, 1);
	/* Adjacent but not siblings: 10.0.1.0/24 + 10.0.2.0/24 stay apart. */
	const char *c[] = {"10.0.2.0/24", "10.0.1.0/24", "2001:db8::/33", "2001:db8:8000::/33",
			   "10.0.1.0/24"};
	const char *cw[] = {"10.0.1.0/24", "10.0.2.0/24", "2001:db8::/32"};
	check_aggregate(c, 5, cw, 3);
	const char *d[] = {"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"};
	const char *dw[] = {"0.0.0.0/0", "::/0"};
	check_aggregate(d, 4, dw, 2);
	/* A cascade: /26 + /26 → /25, then + /25 → /24. */
	const char *e[] = {"10.0.0.128/25", "10.0.0.0/26", "10.0.0.64/26"};
	const char *ew[] = {"10.0.0.0/24"};
	check_aggregate(e, 3, ew, 1);
}

/* Aggregation never widens or narrows: membership of random addresses is unchanged. */
static void test_aggregate_random(void **state)
{
	enum { N = 400 };
	struct p25_prefix in[N], out[N];
	unsigned seed = 12345;
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++) {
			struct p25_addr a;
			unsigned len = 20 + rand_r(&seed) % 13;
			p25_addr_from_v4(&a, 0x0a000000u | (rand_r(&seed) & 0x3fff) << 8 | (rand_r(&seed) & 255));
			p25_prefix_from_addr(&in[i], &a, len);
		}
		memcpy(out, in, sizeof in);
		size_t m = p25_prefix_aggregate(out, N);
		assert_true(m <= N);
		for (size_t i = 1; i < m; i++)
			assert_false(p25_prefix_overlaps(&out[i - 1], &out[i]));
		for (int t = 0; t < 20000; t++) {
			struct p25_addr a;
			bool x = false, y = false;
			p25_addr_from_v4(&a, 0x0a000000u | (rand_r(&seed) & 0x3fffff));
			for (int i = 0; i < N && !x; i++)
				x = p25_prefix_contains_addr(&in[i], &a);
			for (size_t i = 0; i < m && !y; i++)
				y = p25_prefix_contains_addr(&out[i], &a);
			assert_int_equal(x, y);
		}
	}
}

static void test_masks(void **state)
{
	char buf[16];
	assert_string_equal(p25_v4_wildcard(24, buf, sizeof buf), "0.0.0.255");
	assert_string_equal(p25_v4_wildcard(32, buf, sizeof buf), "0.0.0.0");
	assert_string_equal(p25_v4_wildcard(0, buf, sizeof buf), "255.255.255.255");
	assert_string_equal(p25_v4_netmask(20, buf, sizeof buf), "255.255.240.0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),	    cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_normalize_and_unmap), cmocka_unit_test(test_contain_overlap),
		cmocka_unit_test(test_aggregate),	    cmocka_unit_test(test_aggregate_random),
		cmocka_unit_test(test_masks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
