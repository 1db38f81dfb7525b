/*
 * The storage seam: binding by format letters, reading columns, failures
 * worded and handed to the owner, transactions, prepared statements run
 * many times, and the migration procedure (steps in order, a newer schema
 * refused, a failed step leaving the version where it was).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "addr/addr.h"
#include "storage/storage.h"

static char last_message[1024];
static int messages;

static void sink(void *ctx, const char *message)
{
	(void)ctx;
	snprintf(last_message, sizeof last_message, "%s", message);
	messages++;
}

static struct p25_store *open_memory(void)
{
	struct p25_store *s;
	char warning[256], err[256];

	assert_int_equal(store_open(":memory:", &s, warning, sizeof warning, err, sizeof err), 0);
	assert_string_equal(warning, "");
	assert_string_equal(store_engine(s), "sqlite");
	store_set_sink(s, sink, NULL);
	return s;
}

static void test_bind_and_read(void **state)
{
	struct p25_store *s = open_memory();
	struct p25_prefix p;
	struct p25_diag diag;
	struct store_stmt *st;
	static const unsigned char raw[3] = {1, 0, 2};
	p25_time t;
	char err[64];

	(void)state;
	assert_int_equal(store_exec(s, "CREATE TABLE x (s TEXT, i INTEGER, t TEXT, n BLOB, r BLOB)",
	                            ""),
	                 0);
	assert_int_equal(p25_prefix_parse("192.0.2.0/24", 0, &p, &diag), 0);
	assert_int_equal(p25_time_parse("2026-11-23T10:00:00Z", &t, err, sizeof err), 0);
	assert_int_equal(store_exec(s, "INSERT INTO x VALUES (?, ?, ?, ?, ?)", "sitbB", "a",
	                            (int64_t)-7, t, &p, raw, sizeof raw),
	                 0);
	assert_int_equal(store_last_id(s), 1);
	assert_int_equal(store_changes(s), 1);
	/* NULL text, a zero 't' time: NULL; a zero 'T' time is the epoch. */
	assert_int_equal(store_exec(s, "INSERT INTO x (s, t, n) VALUES (?, ?, ?)", "stT",
	                            (const char *)NULL, (p25_time)0, (p25_time)0),
	                 0);

	st = store_query(s,
	                 "SELECT s, i, t, hex(n), length(r), typeof(s), t IS NULL, n FROM x "
	                 "ORDER BY rowid",
	                 "");
	assert_non_null(st);
	assert_int_equal(store_step(st), 1);
	assert_string_equal(col_text(st, 0), "a");
	assert_int_equal(col_int(st, 1), -7);
	assert_int_equal(col_time(st, 2), t);
	/* Left-aligned, big-endian: 192.0.2.0 first, then twelve zero bytes. */
	assert_string_equal(col_text(st, 3), "C0000200000000000000000000000000");
	assert_int_equal(col_int(st, 4), 3);
	assert_false(col_null(st, 0));
	assert_int_equal(store_step(st), 1);
	assert_true(col_null(st, 0));
	assert_string_equal(col_text(st, 0), "");
	assert_int_equal(col_int(st, 1), 0);
	assert_int_equal(col_int(st, 6), 1);
	assert_string_equal(col_text(st, 7), "1970-01-01T00:00:00Z");
	assert_int_equal(store_step(st), 0);
	store_done(st);
	store_done(NULL);
	assert_int_equal(messages, 0);
	store_close(s);
}

static void test_failures_reach_the_sink(void **state)
{
	struct p25_store *s = open_memory();
	struct store_stmt *st;

	(void)state;
	messages = 0;
	assert_null(store_query(s, "SELECT nonsense FROM nowhere", ""));
	assert_int_equal(messages, 1);
	assert_non_null(strstr(last_message, "registry: preparing a query: "));
	assert_non_null(strstr(last_message, "nowhere"));
	assert_string_equal(store_error(s), last_message);

	assert_int_equal(store_exec(s, "CREATE TABLE u (v INTEGER UNIQUE)", ""), 0);
	assert_int_equal(store_exec(s, "INSERT INTO u VALUES (1)", ""), 0);
	assert_int_equal(store_exec(s, "INSERT INTO u VALUES (?)", "i", (int64_t)1), STORE_EDB);
	assert_non_null(strstr(last_message, "registry: writing: "));
	assert_non_null(strstr(last_message, "UNIQUE"));

	/* A failed step finishes the statement itself (no double free under ASan). */
	st = store_query(s, "INSERT INTO u VALUES (1) RETURNING v", "");
	assert_non_null(st);
	assert_int_equal(store_step(st), STORE_EDB);
	assert_non_null(strstr(last_message, "registry: running a query: "));

	/* An unknown format letter binds nothing. */
	assert_null(store_query(s, "SELECT ?", "x", 1));
	assert_non_null(strstr(last_message, "unknown parameter type"));
	store_close(s);
}

static void test_transactions_and_rebind(void **state)
{
	struct p25_store *s = open_memory();
	struct store_stmt *st, *up;

	(void)state;
	assert_int_equal(store_exec(s, "CREATE TABLE c (k TEXT PRIMARY KEY, n INTEGER)", ""), 0);
	assert_int_equal(store_begin(s, STORE_WRITE), 0);
	up = store_query(s,
	                 "INSERT INTO c VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET n = n + "
	                 "excluded.n",
	                 "");
	assert_non_null(up);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(store_rebind(up, "counting", "si", i % 2 ? "odd" : "even",
		                              (int64_t)i),
		                 0);
		assert_int_equal(store_run(up, "counting"), 0);
	}
	store_done(up);
	assert_int_equal(store_commit(s), 0);

	assert_int_equal(store_begin(s, STORE_WRITE), 0);
	assert_int_equal(store_exec(s, "DELETE FROM c", ""), 0);
	store_rollback(s);

	st = store_query(s, "SELECT k, n FROM c ORDER BY k", "");
	assert_int_equal(store_step(st), 1);
	assert_string_equal(col_text(st, 0), "even");
	assert_int_equal(col_int(st, 1), 0 + 2 + 4);
	assert_int_equal(store_step(st), 1);
	assert_int_equal(col_int(st, 1), 1 + 3);
	assert_int_equal(store_step(st), 0);
	store_done(st);
	store_close(s);
}

static void test_migrations(void **state)
{
	char path[] = "/tmp/p25-storage-XXXXXX", warning[256], err[512], other[600];
	const char *const extra[] = {"CREATE TABLE extra_one (a INTEGER);",
	                             "CREATE TABLE extra_two (b INTEGER);"};
	const char *const broken[] = {"CREATE TABLE extra_one (a INTEGER);",
	                              "CREATE TABLE extra_two (b INTEGER);", "NOT SQL AT ALL;"};
	struct p25_store *s;
	int fd = mkstemp(path), files;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(path, &s, warning, sizeof warning, err, sizeof err), 0);
	assert_int_equal(store_schema_version(s), 0);
	files = store_schema_steps(s, 0);
	assert_true(files >= 6);
	assert_int_equal(store_migrate(s, extra, 2, err, sizeof err), 0);
	assert_int_equal(store_schema_version(s), files + 2);
	/* Up to date: nothing runs again. */
	assert_int_equal(store_migrate(s, extra, 2, err, sizeof err), 0);
	/* A failing step: the message names its version; the schema stays whole before it. */
	assert_int_equal(store_migrate(s, broken, 3, err, sizeof err), -1);
	snprintf(other, sizeof other, "migrating to schema version %d: registry: migrating the "
	                              "schema: ",
	         files + 3);
	assert_non_null(strstr(err, other));
	assert_int_equal(store_schema_version(s), files + 2);
	/* This port25 knows fewer steps than the file has been through: refused, untouched. */
	assert_int_equal(store_migrate(s, extra, 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "is newer than this port25 understands"));
	assert_int_equal(store_schema_version(s), files + 2);
	store_close(s);
	unlink(path);
	snprintf(other, sizeof other, "%s-wal", path);
	unlink(other);
	snprintf(other, sizeof other, "%s-shm", path);
	unlink(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bind_and_read),
	    cmocka_unit_test(test_failures_reach_the_sink),
	    cmocka_unit_test(test_transactions_and_rebind),
	    cmocka_unit_test(test_migrations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
