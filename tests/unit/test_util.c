/* Time, duration and inert-text utilities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/text.h"
#include "util/time.h"
#include "util/wbuf.h"

static void test_time(void **state)
{
	p25_time t;
	char err[160], buf[P25_TIME_STRLEN];

	assert_int_equal(p25_time_parse("1970-01-01", &t, err, sizeof err), 0);
	assert_int_equal(t, 0);
	assert_int_equal(p25_time_parse("2026-11-23T10:00:00Z", &t, err, sizeof err), 0);
	assert_string_equal(p25_time_format(t, buf, sizeof buf), "2026-11-23T10:00:00Z");
	assert_int_equal(p25_time_parse("2024-02-29T23:59", &t, err, sizeof err), 0);
	assert_string_equal(p25_time_format(t, buf, sizeof buf), "2024-02-29T23:59:00Z");
	assert_int_not_equal(p25_time_parse("2023-02-29", &t, err, sizeof err), 0);
	assert_non_null(strstr(err, "2023-02-29"));
	assert_int_not_equal(p25_time_parse("2026-11-23T10:00:00+02:00", &t, err, sizeof err), 0);
	assert_int_not_equal(p25_time_parse("2026-13-01", &t, err, sizeof err), 0);
	assert_int_not_equal(p25_time_parse("2026-1-01", &t, err, sizeof err), 0);
	assert_int_not_equal(p25_time_parse("yesterday", &t, err, sizeof err), 0);
	assert_int_not_equal(p25_time_parse("2026-11-23T25:00", &t, err, sizeof err), 0);
}

static void test_duration_expiry(void **state)
{
	int64_t s;
	p25_time now, t;
	char err[160];

	assert_int_equal(p25_duration_parse("14d", &s, err, sizeof err), 0);
	assert_int_equal(s, 14 * 86400);
	assert_int_equal(p25_duration_parse("48h", &s, err, sizeof err), 0);
	assert_int_equal(s, 48 * 3600);
	assert_int_equal(p25_duration_parse("2w", &s, err, sizeof err), 0);
	assert_int_not_equal(p25_duration_parse("0d", &s, err, sizeof err), 0);
	assert_int_not_equal(p25_duration_parse("14", &s, err, sizeof err), 0);
	assert_int_not_equal(p25_duration_parse("d", &s, err, sizeof err), 0);
	assert_int_not_equal(p25_duration_parse("-3d", &s, err, sizeof err), 0);
	assert_int_not_equal(p25_duration_parse("3dd", &s, err, sizeof err), 0);

	p25_time_parse("2026-11-23T10:00:00Z", &now, err, sizeof err);
	assert_int_equal(p25_expiry_parse("30d", now, &t, err, sizeof err), 0);
	assert_int_equal(t, now + 30 * 86400);
	/* A bare date lasts to the end of that day. */
	assert_int_equal(p25_expiry_parse("2026-12-01", now, &t, err, sizeof err), 0);
	char buf[P25_TIME_STRLEN];
	assert_string_equal(p25_time_format(t, buf, sizeof buf), "2026-12-01T23:59:59Z");
	assert_int_not_equal(p25_expiry_parse("soon", now, &t, err, sizeof err), 0);
	assert_non_null(strstr(err, "soon"));
}

static void test_inert_text(void **state)
{
	char out[64];
	assert_string_equal(p25_text_inert("Acme Corp. (HQ) mail-01", out, sizeof out),
			    "Acme Corp. (HQ) mail-01");
	assert_string_equal(p25_text_inert("x\"; flush ruleset\n*/ }#", out, sizeof out),
			    "x_; flush ruleset__/ __");
	p25_text_inert("a\nb\rc\"d'e*/f{g}h#i!j`k$l\\m", out, sizeof out);
	for (const char *c = out; *c; c++)
		assert_null(strchr("\n\r\"'*{}#!`$\\", *c));
	p25_text_inert("0123456789", out, 5);
	assert_string_equal(out, "0123");
	assert_true(p25_text_is_handle("acme-1"));
	assert_false(p25_text_is_handle("Acme"));
	assert_false(p25_text_is_handle("-acme"));
	assert_false(p25_text_is_handle("a b"));
	assert_false(p25_text_is_handle(""));
}

/* The shared helpers the analyzer, watch and the configuration readers use. */
static void test_trim_days_hash(void **state)
{
	char a[] = " \t key = value \r\n", b[] = "", c[] = "   ", d[] = "x";

	(void)state;
	assert_string_equal(p25_text_trim(a), "key = value");
	assert_string_equal(p25_text_trim(b), "");
	assert_string_equal(p25_text_trim(c), "");
	assert_string_equal(p25_text_trim(d), "x");
	assert_int_equal(p25_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(p25_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(p25_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(p25_days_from_civil(2024, 2, 29) + 1, p25_days_from_civil(2024, 3, 1));
	/* The finalizer: 0 stays 0, neighbours land far apart. */
	assert_int_equal(p25_mix64(0), 0);
	assert_true(__builtin_popcountll(p25_mix64(1) ^ p25_mix64(2)) > 16);
}

/* The buffered report writer: escaping, and writes past its buffer kept in order. */
static void test_wbuf(void **state)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	struct p25_wbuf *w = p25_wbuf_open(f);
	static char big[100000];

	(void)state;
	assert_non_null(w);
	p25_wbuf_json_str(w, "a\"b\\c\n\x01<", 8);
	p25_wbuf_raw(w, " ", 1);
	p25_wbuf_csv(w, "plain", ',');
	p25_wbuf_csv(w, "has, comma and \"quote\"", '\n');
	p25_wbuf_int(w, -42);
	p25_wbuf_u64(w, 18446744073709551615ULL);
	memset(big, 'x', sizeof big);
	for (int i = 0; i < 3; i++) {
		p25_wbuf_raw(w, big, 40000); /* past the 64 KiB buffer: flushed in order */
		p25_wbuf_raw(w, "|", 1);
	}
	p25_wbuf_raw(w, big, sizeof big); /* larger than the buffer: written straight through */
	assert_int_equal(p25_wbuf_close(w), 0);
	fclose(f);
	const char *want = "\"a\\\"b\\\\c\\n\\u0001<\" plain,\"has, comma and \"\"quote\"\"\"\n"
	                   "-4218446744073709551615";
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(len, strlen(want) + 3 * 40001 + sizeof big);
	assert_int_equal(out[strlen(want) + 40000], '|');
	assert_int_equal(out[strlen(want) + 2 * 40001 - 1], '|');
	free(out);
}

static void test_buf(void **state)
{
	struct p25_buf b;
	p25_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		p25_buf_printf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.data));
	assert_memory_equal(b.data, "0,1,2,", 6);
	char *s = p25_buf_steal(&b);
	assert_null(b.data);
	free(s);
	p25_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_duration_expiry),
		cmocka_unit_test(test_inert_text),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_trim_days_hash),
		cmocka_unit_test(test_wbuf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
