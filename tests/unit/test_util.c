/* Time, duration and inert-text utilities. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/hash.h"
#include "util/linediff.h"
#include "util/text.h"
#include "util/time.h"
#include "util/tz.h"
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

/* The script of a line diff, applied to a, must give b. */
struct script {
	char op[4096];
	size_t idx[4096];
	size_t n;
};

static void record(void *ctx, char op, const struct p25_line *line, size_t index)
{
	struct script *s = ctx;
	(void)line;
	assert_true(s->n < 4096);
	s->op[s->n] = op;
	s->idx[s->n++] = index;
}

static size_t lcs(const char *const *a, size_t na, const char *const *b, size_t nb)
{
	static size_t t[41][41];
	for (size_t i = 0; i <= na; i++)
		for (size_t j = 0; j <= nb; j++)
			t[i][j] = !i || !j ? 0
			          : !strcmp(a[i - 1], b[j - 1]) ? t[i - 1][j - 1] + 1
			          : t[i - 1][j] > t[i][j - 1] ? t[i - 1][j] : t[i][j - 1];
	return t[na][nb];
}

static void test_line_diff(void **state)
{
	static const char *const words[] = {"permit a", "permit b", "deny c", "permit d", "end"};
	uint64_t r = 88172645463325252ULL;

	(void)state;
	for (int round = 0; round < 400; round++) {
		const char *a[40], *b[40];
		struct p25_line la[40], lb[40];
		struct script sc = {.n = 0};
		size_t na, nb, ia = 0;
		long n;

		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		na = r % 40;
		nb = (r >> 8) % 40;
		for (size_t i = 0; i < na; i++, r ^= r << 13, r ^= r >> 7, r ^= r << 17)
			a[i] = words[r % 5];
		for (size_t i = 0; i < nb; i++, r ^= r << 13, r ^= r >> 7, r ^= r << 17)
			b[i] = words[r % 5];
		for (size_t i = 0; i < na; i++)
			la[i] = (struct p25_line){a[i], strlen(a[i])};
		for (size_t i = 0; i < nb; i++)
			lb[i] = (struct p25_line){b[i], strlen(b[i])};
		n = p25_line_diff(la, na, lb, nb, record, &sc);
		/* The fewest edits: what the longest common subsequence leaves. */
		assert_int_equal(n, (long)(na + nb - 2 * lcs(a, na, b, nb)));
		/* Applied in order, the script turns a into b. */
		{
			size_t out = 0;
			const char *res[80];
			for (size_t k = 0; k < sc.n; k++) {
				if (sc.op[k] == '+') {
					/* kept lines of a come first, up to its place in b */
					while (out < sc.idx[k] && ia < na)
						res[out++] = a[ia++];
					assert_int_equal(out, sc.idx[k]);
					res[out++] = b[sc.idx[k]];
				} else {
					while (ia < sc.idx[k])
						res[out++] = a[ia++];
					ia++; /* the removed line */
				}
			}
			while (ia < na)
				res[out++] = a[ia++];
			assert_int_equal(out, nb);
			for (size_t i = 0; i < nb; i++)
				assert_string_equal(res[i], b[i]);
		}
	}
}

/* Past the bound of the search: every line counted as often as each text has it. */
static void test_line_diff_many(void **state)
{
	enum { N = 3000 };
	static char abuf[N][16], bbuf[N][16];
	static struct p25_line la[N], lb[N];
	struct script *sc = calloc(1, sizeof *sc);
	long n;

	(void)state;
	for (int i = 0; i < N; i++) {
		snprintf(abuf[i], 16, "a%d", i);
		snprintf(bbuf[i], 16, i % 2 ? "a%d" : "b%d", i);
		la[i] = (struct p25_line){abuf[i], strlen(abuf[i])};
		lb[i] = (struct p25_line){bbuf[i], strlen(bbuf[i])};
	}
	/* 1500 removed and 1500 added: 3000 edits, more than the search goes to. */
	n = p25_line_diff(la, N, lb, N, record, sc);
	assert_int_equal(n, N);
	assert_int_equal(sc->op[0], '-');
	assert_int_equal(sc->idx[0], 0);
	assert_int_equal(sc->op[N - 1], '+');
	free(sc);
}

static p25_time T(const char *iso)
{
	p25_time t = 0;
	char err[160];
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

/* The operator's zone: POSIX rules, both hemispheres, and a bare date's end read in it. */
static void test_time_zone(void **state)
{
	struct p25_tz *tz;
	char err[300];
	p25_time t;

	(void)state;
	assert_int_equal(p25_tz_load("MST7MDT,M3.2.0,M11.1.0", &tz, err, sizeof err), 0);
	assert_int_equal(p25_tz_offset(tz, T("2026-12-31T12:00:00Z")), -7 * 3600);
	assert_int_equal(p25_tz_offset(tz, T("2026-07-04T12:00:00Z")), -6 * 3600);
	/* 2026-03-08 02:00 MST is 09:00Z: daylight time from that second */
	assert_int_equal(p25_tz_offset(tz, T("2026-03-08T08:59:59Z")), -7 * 3600);
	assert_int_equal(p25_tz_offset(tz, T("2026-03-08T09:00:00Z")), -6 * 3600);
	/* 2026-11-01 02:00 MDT is 08:00Z */
	assert_int_equal(p25_tz_offset(tz, T("2026-11-01T07:59:59Z")), -6 * 3600);
	assert_int_equal(p25_tz_offset(tz, T("2026-11-01T08:00:00Z")), -7 * 3600);
	/* --expires 2026-12-31 in Colorado: the end of that day there, 06:59:59Z the next. */
	p25_time_set_local_zone(tz);
	assert_int_equal(p25_expiry_parse("2026-12-31", 0, &t, err, sizeof err), 0);
	assert_int_equal(t, T("2027-01-01T06:59:59Z"));
	assert_int_equal(p25_expiry_parse("2026-07-04", 0, &t, err, sizeof err), 0);
	assert_int_equal(t, T("2026-07-05T05:59:59Z"));
	/* A time is UTC whatever the zone; an activation date starts the day there. */
	assert_int_equal(p25_expiry_parse("2026-12-31T18:00:00Z", 0, &t, err, sizeof err), 0);
	assert_int_equal(t, T("2026-12-31T18:00:00Z"));
	assert_int_equal(p25_when_parse("2026-12-01", 0, &t, err, sizeof err), 0);
	assert_int_equal(t, T("2026-12-01T07:00:00Z"));
	p25_time_set_local_zone(NULL);
	assert_int_equal(p25_expiry_parse("2026-12-31", 0, &t, err, sizeof err), 0);
	assert_int_equal(t, T("2026-12-31T23:59:59Z"));
	p25_tz_free(tz);

	/* The southern hemisphere: daylight time across the new year (New Zealand). */
	assert_int_equal(p25_tz_load("NZST-12NZDT,M9.5.0,M4.1.0/3", &tz, err, sizeof err), 0);
	assert_int_equal(p25_tz_offset(tz, T("2026-01-15T00:00:00Z")), 13 * 3600);
	assert_int_equal(p25_tz_offset(tz, T("2026-07-15T00:00:00Z")), 12 * 3600);
	p25_tz_free(tz);
	assert_int_equal(p25_tz_load("<-03>3", &tz, err, sizeof err), 0);
	assert_int_equal(p25_tz_offset(tz, T("2026-07-15T00:00:00Z")), -3 * 3600);
	p25_tz_free(tz);

	assert_int_equal(p25_tz_load("UTC", &tz, err, sizeof err), 0);
	assert_null(tz);
	assert_int_equal(p25_tz_load("Mars/Olympus", &tz, err, sizeof err), -1);
	assert_non_null(strstr(err, "no such zone"));
	assert_int_equal(p25_tz_load("not a zone", &tz, err, sizeof err), -1);
	assert_int_equal(p25_tz_load("../../etc/passwd", &tz, err, sizeof err), -1);
}

/* A zone file of the time zone database (RFC 8536, version 2, with a footer rule). */
static void test_time_zone_file(void **state)
{
	char dir[] = "/tmp/p25-tz-XXXXXX", path[300], err[300];
	unsigned char f[512];
	size_t n = 0;
	struct p25_tz *tz;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/Test", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/Test/Zone", dir);
#define PUT(b) (f[n++] = (unsigned char)(b))
#define PUT32(v) (PUT((uint32_t)(v) >> 24), PUT((uint32_t)(v) >> 16), PUT((uint32_t)(v) >> 8), PUT(v))
	/* v1 header, empty v1 block (typecnt 1: required), v2 header, one transition. */
	memcpy(f, "TZif2", 5);
	n = 20;
	memset(f + 5, 0, 15);
	PUT32(0), PUT32(0), PUT32(0), PUT32(0), PUT32(1), PUT32(4);
	PUT32(0), PUT(0), PUT(0);           /* one type: UTC */
	PUT('U'), PUT('T'), PUT('C'), PUT(0); /* its designation */
	memcpy(f + n, "TZif2", 5);
	memset(f + n + 5, 0, 15);
	n += 20;
	PUT32(0), PUT32(0), PUT32(0), PUT32(1), PUT32(2), PUT32(8);
	/* 2000-01-01T00:00:00Z: from UTC to UTC-5 */
	PUT32(0), PUT32(946684800);
	PUT(1);
	PUT32(0), PUT(0), PUT(0);
	PUT32((uint32_t)-18000), PUT(0), PUT(4);
	memcpy(f + n, "UTC\0EST\0", 8);
	n += 8;
	/* after the last transition: US Eastern rules */
	memcpy(f + n, "\nEST5EDT,M3.2.0,M11.1.0\n", 24);
	n += 24;
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f, 1, n, fp), n);
	fclose(fp);
	setenv("TZDIR", dir, 1);
	assert_int_equal(p25_tz_load("Test/Zone", &tz, err, sizeof err), 0);
	assert_int_equal(p25_tz_offset(tz, T("1999-07-01T00:00:00Z")), 0);
	assert_int_equal(p25_tz_offset(tz, T("2026-12-31T12:00:00Z")), -5 * 3600);
	assert_int_equal(p25_tz_offset(tz, T("2026-07-04T12:00:00Z")), -4 * 3600);
	assert_int_equal(p25_tz_local_to_utc(tz, T("2026-12-31T23:59:59Z")), T("2027-01-01T04:59:59Z"));
	p25_tz_free(tz);
	unsetenv("TZDIR");
	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
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
		cmocka_unit_test(test_line_diff),
		cmocka_unit_test(test_line_diff_many),
		cmocka_unit_test(test_time_zone),
		cmocka_unit_test(test_time_zone_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
