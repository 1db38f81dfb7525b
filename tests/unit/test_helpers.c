/* The small shared helpers: growing arrays, enum names, trimming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "registry/registry.h"
#include "util/array.h"
#include "util/names.h"
#include "util/text.h"

static void test_array(void **state)
{
	int64_t *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int64_t i = 0; i < 1000; i++) {
		assert_int_equal(P25_ARRAY_GROW(v, n, cap), 0);
		assert_true(cap > n);
		v[n++] = i * i;
	}
	/* Doubling from 8: 1000 elements in 1024 places. */
	assert_int_equal(cap, 1024);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(v[i], (int64_t)(i * i));
	/* Room already there: nothing moves. */
	assert_int_equal(p25_array_reserve(&v, &cap, 1000, sizeof *v), 0);
	assert_int_equal(cap, 1024);
	/* Too much to count: refused, the array as it was. */
	assert_int_equal(p25_array_reserve(&v, &cap, SIZE_MAX / 4, sizeof *v), -1);
	assert_int_equal(cap, 1024);
	assert_int_equal(v[999], 999 * 999);
	free(v);
}

static void test_names(void **state)
{
	static const char *const names[] = {"zero", "one"};
	enum p25_request_status s = P25_REQ_APPLIED;
	enum p25_mode m = P25_MODE_BOTH;

	(void)state;
	assert_string_equal(p25_name_of(names, 2, 1), "one");
	assert_string_equal(p25_name_of(names, 2, 2), "?");
	assert_int_equal(p25_name_index(names, 2, "zero"), 0);
	assert_int_equal(p25_name_index(names, 2, "two"), -1);
	assert_int_equal(p25_name_index(names, 2, NULL), -1);
	/* The enums defined from tables: name and parse agree, and refuse the unknown. */
	for (int i = P25_REQ_SUBMITTED; i <= P25_REQ_CANCELLED; i++) {
		assert_int_equal(p25_request_status_parse(p25_request_status_name(i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(p25_request_status_name(P25_REQ_CANCELLED + 1), "?");
	assert_int_equal(p25_request_status_parse("closed", &s), -1);
	assert_int_equal(s, P25_REQ_CANCELLED);
	assert_int_equal(p25_mode_parse("outbound", &m), 0);
	assert_int_equal(m, P25_MODE_OUTBOUND);
	assert_string_equal(p25_role_name(P25_ROLE_ADMINISTRATIVE), "administrative");
}

static void test_trim(void **state)
{
	char a[] = " \t a b \r\n", b[] = "", c[] = "   ";

	(void)state;
	assert_string_equal(p25_text_trim(a), "a b");
	assert_string_equal(p25_text_trim(b), "");
	assert_string_equal(p25_text_trim(c), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_array),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_trim),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
