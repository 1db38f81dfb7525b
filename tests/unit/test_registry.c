/* The registry: schema, rules, requests, expiry, audit and transactions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "registry/registry.h"

#define SCHEMA_VERSION 10

static p25_time at(const char *iso)
{
	char err[200];
	p25_time t = 0;
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

static int setup(void **state)
{
	struct p25_registry *reg;
	char err[256];

	assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
	*state = reg;
	return 0;
}

static int teardown(void **state)
{
	p25_registry_close(*state);
	return 0;
}

static struct p25_actor who_at(const char *iso)
{
	return (struct p25_actor){.name = "tester", .now = at(iso)};
}

static void add_org(struct p25_registry *reg, const char *handle)
{
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	assert_int_equal(
	    p25_org_add(reg, &who, handle, "Test Org", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
}

static void add_prefix(struct p25_registry *reg, const char *org, const char *prefix)
{
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	int rc = p25_prefix_add(reg, &who, org, prefix, "", 0);
	if (rc != 0)
		fail_msg("prefix add %s %s: %s", org, prefix, p25_registry_error(reg));
}

static int add_permit(struct p25_registry *reg, const char *org, const char *address, bool force,
                      p25_time expires, int64_t *id)
{
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_permit_spec spec = {.org = org,
	                               .address = address,
	                               .kind = P25_KIND_MAIL_SERVER,
	                               .description = "relay",
	                               .expires = expires,
	                               .force = force};
	return p25_permit_add(reg, &who, &spec, id);
}

static void add_security(struct p25_registry *reg, const char *org, int64_t *id)
{
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	assert_int_equal(p25_contact_add(reg, &who, org, "Sec Team", "sec@example.org", "",
	                                 P25_ROLE_SECURITY, id),
	                 0);
}

static bool contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		return true;
	print_error("'%s' not found in '%s'\n", needle, haystack);
	return false;
}

static size_t audit_count(struct p25_registry *reg)
{
	json_t *rows;
	size_t n;
	assert_int_equal(p25_audit_list(reg, 0, &rows), 0);
	n = json_array_size(rows);
	json_decref(rows);
	return n;
}

static size_t permit_count(struct p25_registry *reg)
{
	struct p25_permit_filter f = {.now = at("2026-11-23T10:00:00Z")};
	json_t *rows;
	size_t n;
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	n = json_array_size(rows);
	json_decref(rows);
	return n;
}

static void test_migrations_from_empty(void **state)
{
	char path[] = "/tmp/p25-test-XXXXXX", err[512], wal[64], shm[64];
	struct p25_registry *reg;
	struct p25_model m;
	sqlite3 *db;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_registry_schema_version(reg), SCHEMA_VERSION);
	assert_int_equal(p25_registry_load_model(reg, &m), 0);
	assert_int_equal(m.norgs, 0);
	p25_model_free(&m);
	add_org(reg, "k12");
	p25_registry_close(reg);

	/* Reopening migrates nothing and keeps the data. */
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_registry_schema_version(reg), SCHEMA_VERSION);
	assert_int_equal(p25_registry_load_model(reg, &m), 0);
	assert_int_equal(m.norgs, 1);
	assert_string_equal(m.orgs[0].handle, "k12");
	p25_model_free(&m);
	p25_registry_close(reg);

	/* A registry from a newer port25 is refused, not damaged. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), P25_EDB);
	assert_true(contains(err, "newer"));
	assert_true(contains(err, path));

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
}

static int64_t sql_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/*
 * A registry written at schema v2 (the alert table as released then, with
 * its alerts) migrates to v3 with every alert intact; the one-alert rule
 * then spares resolved alerts, and resolved needs its time and reason.
 */
static void test_migration_v2_alerts(void **state)
{
	char path[] = "/tmp/p25-test-XXXXXX", err[512], wal[64], shm[64];
	struct p25_registry *reg;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_request_server server = {.address = "192.0.2.25",
	                                    .kind = P25_KIND_MAIL_SERVER,
	                                    .description = "mx"};
	struct p25_request_spec spec = {.org = "k12",
	                                .type = P25_REQ_ADD_PERMIT,
	                                .servers = &server,
	                                .nservers = 1};
	int64_t req;
	sqlite3 *db;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(req, 1);
	p25_registry_close(reg);

	/* Back to v2: its alert table, exactly as migration 2 created it, and three alerts. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
	        db,
	        "DROP TABLE alert;"
	        "CREATE TABLE alert ("
	        "  id INTEGER PRIMARY KEY,"
	        "  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),"
	        "  host TEXT NOT NULL,"
	        "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
	        "  org TEXT,"
	        "  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed')),"
	        "  raised TEXT NOT NULL,"
	        "  updated TEXT NOT NULL,"
	        "  evidence TEXT NOT NULL,"
	        "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
	        "  UNIQUE (kind, host, direction));"
	        "INSERT INTO alert VALUES (3, 'missed-server', '192.0.2.25', 'out', 'k12', 'drafted',"
	        "  '2026-11-20T10:00:00Z', '2026-11-21T10:00:00Z', '{\"reason\":\"queue\"}', 1);"
	        "INSERT INTO alert VALUES (5, 'infected', '192.0.2.66', 'out', 'k12', 'open',"
	        "  '2026-11-20T11:00:00Z', '2026-11-20T12:00:00Z', '{\"reason\":\"fan-out\"}', NULL);"
	        "INSERT INTO alert VALUES (7, 'infected', '2001:db8::66', 'in', NULL, 'dismissed',"
	        "  '2026-11-20T13:00:00Z', '2026-11-20T14:00:00Z', '{}', NULL);"
	        /* ... and without what later versions added. */
	        "ALTER TABLE request_item DROP COLUMN expires;"
	        "DROP TABLE analysis;"
	        "DROP TABLE change;"
	        "DROP TABLE notice; DROP TABLE notice_alert; DROP TABLE campaign_org; "
	        "DROP TABLE campaign; DROP TABLE verification; DROP TABLE inbound;"
	        "DROP TABLE login_attempt; DROP TABLE api_token; DROP TABLE session;"
	        "DROP TABLE account_org; DROP TABLE account;"
	        "DROP TABLE attempts_daily;"
	        "DROP INDEX org_activate;"
	        "ALTER TABLE org DROP COLUMN activate_at;"
	        "ALTER TABLE org DROP COLUMN activate_by;"
	        "ALTER TABLE org DROP COLUMN activate_no_servers;"
	        "PRAGMA user_version = 2;",
	        NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_registry_schema_version(reg), SCHEMA_VERSION);
	p25_registry_close(reg);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM alert"), 3);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM alert WHERE id = 3 AND kind = "
	                             "'missed-server' AND host = '192.0.2.25' AND direction = 'out' "
	                             "AND org = 'k12' AND status = 'drafted' AND raised = "
	                             "'2026-11-20T10:00:00Z' AND updated = '2026-11-21T10:00:00Z' "
	                             "AND evidence = '{\"reason\":\"queue\"}' AND request_id = 1 "
	                             "AND resolved_at IS NULL AND resolved_reason IS NULL"),
	                 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM alert WHERE id = 5 AND status = 'open' "
	                             "AND request_id IS NULL AND evidence = '{\"reason\":\"fan-out\"}'"),
	                 1);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM alert WHERE id = 7 AND org IS NULL AND "
	                             "direction = 'in' AND status = 'dismissed'"),
	                 1);
	/* The request link still holds. */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check('alert')"), 0);
	/* One current alert per host and kind: a second open one is refused ... */
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO alert (kind, host, direction, status, raised, "
	                              "updated, evidence) VALUES ('infected', '192.0.2.66', 'out', "
	                              "'open', 'x', 'x', '{}')",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	/* ... resolved needs its time and reason ... */
	assert_int_equal(sqlite3_exec(db, "UPDATE alert SET status = 'resolved' WHERE id = 5", NULL,
	                              NULL, NULL),
	                 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE alert SET status = 'resolved', resolved_reason = 'gone',"
	                              " resolved_at = 'x' WHERE id = 5",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	assert_int_equal(sqlite3_exec(db,
	                              "UPDATE alert SET status = 'resolved', resolved_reason = 'quiet',"
	                              " resolved_at = '2026-11-28T00:00:00Z' WHERE id = 5",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* ... and once resolved, the host may raise a new one. */
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO alert (kind, host, direction, status, raised, "
	                              "updated, evidence) VALUES ('infected', '192.0.2.66', 'out', "
	                              "'open', 'x', 'x', '{}')",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(sql_int(db, "SELECT max(id) FROM alert"), 8);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
	                             "name IN ('alert_current', 'alert_status')"),
	                 2);
	sqlite3_close(db);

	snprintf(wal, sizeof wal, "%s-wal", path);
	snprintf(shm, sizeof shm, "%s-shm", path);
	unlink(path);
	unlink(wal);
	unlink(shm);
}

static void test_org_rules(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	json_t *o;

	add_org(reg, "k12");
	assert_int_equal(p25_org_add(reg, &who, "k12", "Again", 0, 0), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "'k12' already exists"));
	assert_int_equal(p25_org_add(reg, &who, "Bad Handle", "X", 0, 0), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "'Bad Handle'"));
	assert_int_equal(p25_org_add(reg, &who, "empty", "", 0, 0), P25_EINVAL);
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "none");
	json_decref(o);
	assert_int_equal(p25_org_show(reg, "nope", who.now, &o), P25_ENOTFOUND);
	assert_true(contains(p25_registry_error(reg), "'nope'"));

	/* Removal is refused while the org still has space, unless forced. */
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_org_remove(reg, &who, "k12", false), P25_ECONFLICT);
	/* The library names no option: the hint says forcing would remove them with it. */
	assert_int_equal(p25_registry_hint(reg)->code, P25_HINT_FORCE_REMOVE);
	assert_null(strstr(p25_registry_error(reg), "--"));
	assert_int_equal(p25_org_remove(reg, &who, "k12", true), 0);
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), P25_ENOTFOUND);
	/* The prefix went with it: another org may now take the space. */
	add_org(reg, "county");
	add_prefix(reg, "county", "192.0.2.0/24");
}

static void test_overlap_between_orgs(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	const char *e;

	add_org(reg, "k12");
	add_org(reg, "county");
	add_prefix(reg, "k12", "192.0.2.0/24");
	add_prefix(reg, "k12", "2001:db8:1::/48");

	assert_int_equal(p25_prefix_add(reg, &who, "county", "192.0.2.128/25", "", 0),
	                 P25_ECONFLICT);
	e = p25_registry_error(reg);
	assert_true(contains(e, "192.0.2.128/25"));
	assert_true(contains(e, "192.0.2.0/24"));
	assert_true(contains(e, "'county'"));
	assert_true(contains(e, "'k12'"));

	assert_int_equal(p25_prefix_add(reg, &who, "county", "2001:db8::/32", "", 0),
	                 P25_ECONFLICT);
	e = p25_registry_error(reg);
	assert_true(contains(e, "2001:db8::/32"));
	assert_true(contains(e, "2001:db8:1::/48"));
	assert_true(contains(e, "'county'"));
	assert_true(contains(e, "'k12'"));

	/* Adjacent space is fine. */
	add_prefix(reg, "county", "198.51.100.0/24");
	add_prefix(reg, "county", "2001:db8:2::/48");
}

static void test_prefix_within_one_org(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	json_t *rows;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.0/24", "", 0), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "already registered"));
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.64/26", "", 0), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "must not nest"));
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.0.0/16", "", 0), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "contains 192.0.2.0/24"));

	/* Host bits: refused with the parser's message, or normalized with a warning. */
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "10.1.2.3/16", "", 0), P25_EINVAL);
	assert_true(
	    contains(p25_registry_error(reg), "host bits set (the network is 10.1.0.0/16)"));
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "10.1.2.3/16", "", P25_PARSE_NORMALIZE),
	                 0);
	assert_true(contains(p25_registry_warning(reg), "10.1.0.0/16"));
	assert_int_equal(p25_prefix_list(reg, "k12", &rows), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "prefix")),
	                    "10.1.0.0/16");
	json_decref(rows);

	assert_int_equal(p25_prefix_add(reg, &who, "nobody", "10.9.0.0/16", "", 0), P25_ENOTFOUND);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "10.9.0.1", "", 0), P25_EINVAL);
}

static void test_permit_outside_space(void **state)
{
	struct p25_registry *reg = *state;
	const char *e;
	int64_t id;

	add_org(reg, "k12");
	add_org(reg, "county");
	add_prefix(reg, "k12", "192.0.2.0/25");
	add_prefix(reg, "k12", "2001:db8:1::/48");
	add_prefix(reg, "county", "192.0.2.128/25");

	assert_int_equal(add_permit(reg, "k12", "192.0.2.200", false, 0, &id), P25_EINVAL);
	e = p25_registry_error(reg);
	assert_true(contains(e, "192.0.2.200"));
	assert_true(contains(e, "'k12'"));
	assert_true(contains(e, "192.0.2.0/25, 2001:db8:1::/48"));
	/* Straddling the edge of the space is outside too. */
	assert_int_equal(add_permit(reg, "k12", "192.0.2.0/24", true, 0, &id), P25_EINVAL);

	assert_int_equal(add_permit(reg, "k12", "192.0.2.25", false, 0, &id), 0);
	assert_int_equal(add_permit(reg, "k12", "192.0.2.25", false, 0, &id), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "already permitted"));
	assert_int_equal(add_permit(reg, "k12", "2001:db8:1::25", false, 0, &id), 0);
	assert_int_equal(add_permit(reg, "k12", "not-an-address", false, 0, &id), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "not-an-address"));
}

static void test_wide_permit_needs_force(void **state)
{
	struct p25_registry *reg = *state;
	int64_t id;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "10.0.0.0/8");
	add_prefix(reg, "k12", "2001:db8::/32");
	assert_int_equal(add_permit(reg, "k12", "10.1.0.0/23", false, 0, &id), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "wider than /24"));
	assert_int_equal(p25_registry_hint(reg)->code, P25_HINT_FORCE_WIDE);
	assert_null(strstr(p25_registry_error(reg), "--"));
	assert_int_equal(add_permit(reg, "k12", "10.1.0.0/24", false, 0, &id), 0);
	assert_int_equal(add_permit(reg, "k12", "10.2.0.0/23", true, 0, &id), 0);
	assert_int_equal(add_permit(reg, "k12", "2001:db8:2::/47", false, 0, &id), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "wider than /48"));
	assert_int_equal(add_permit(reg, "k12", "2001:db8:1::/48", false, 0, &id), 0);
	/* Host bits in a permit are refused as anywhere else. */
	assert_int_equal(add_permit(reg, "k12", "10.3.0.1/24", false, 0, &id), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "host bits"));
}

static void test_security_contact_rule(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	/* No servers: this is about contacts (test_activation_needs_servers is about permits). */
	struct p25_org_change activate = {
	    .set_enrollment = true, .enrollment = P25_ENROLL_ACTIVE, .no_servers = true};
	int64_t tech, sec1, sec2;

	add_org(reg, "k12");
	assert_int_equal(p25_contact_add(reg, &who, "k12", "Tech", "tech@example.org", "555",
	                                 P25_ROLE_TECHNICAL, &tech),
	                 0);
	assert_int_equal(p25_org_set(reg, &who, "k12", &activate), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "security contact"));
	assert_true(contains(p25_registry_error(reg), "'k12'"));

	assert_int_equal(
	    p25_contact_add(reg, &who, "k12", "Bad", "no-at-sign", "", P25_ROLE_SECURITY, &sec1),
	    P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "'no-at-sign'"));
	add_security(reg, "k12", &sec1);
	assert_int_equal(p25_org_set(reg, &who, "k12", &activate), 0);

	/* The last security contact of an active org stays. */
	assert_int_equal(p25_contact_remove(reg, &who, sec1), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "last security contact"));
	assert_int_equal(p25_contact_remove(reg, &who, tech), 0);
	add_security(reg, "k12", &sec2);
	assert_int_equal(p25_contact_remove(reg, &who, sec1), 0);
	assert_int_equal(p25_contact_remove(reg, &who, sec2), P25_ECONFLICT);
	assert_int_equal(p25_contact_remove(reg, &who, 999), P25_ENOTFOUND);
}

static json_t *request_at(struct p25_registry *reg, int64_t id, const char *iso)
{
	json_t *o;
	assert_int_equal(p25_request_show(reg, id, at(iso), &o), 0);
	return o;
}

static void test_request_lifecycle(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor submit = who_at("2026-11-01T15:30:00Z");
	struct p25_actor later = who_at("2026-11-02T09:00:00Z");
	struct p25_request_server servers[] = {
	    {"192.0.2.10", P25_KIND_MAIL_SERVER, "Exchange", 0},
	    {"192.0.2.11", P25_KIND_APPLICATION_SERVER, "SIS", 0},
	};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_SIGNUP, .servers = servers, .nservers = 2};
	struct p25_request_filter overdue = {.overdue = true};
	struct p25_permit_filter pf = {.now = at("2026-11-02T09:00:00Z")};
	json_t *r, *rows, *org;
	int64_t id, sec;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_request_submit(reg, &submit, &spec, &id), 0);

	r = request_at(reg, id, "2026-11-01T15:30:00Z");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "submitted");
	/* A sign-up is scheduled with the member, not due in 48 hours (issue 14). */
	assert_true(json_is_null(json_object_get(r, "due")));
	json_decref(r);
	r = request_at(reg, id, "2026-11-03T16:30:00Z");
	assert_false(json_is_true(json_object_get(r, "overdue")));
	assert_true(json_is_null(json_object_get(r, "hours_left")));
	json_decref(r);
	/* A sign-up in progress makes the enrollment pending. */
	assert_int_equal(p25_org_show(reg, "k12", submit.now, &org), 0);
	assert_string_equal(json_string_value(json_object_get(org, "enrollment")), "pending");
	json_decref(org);

	/* A variance is due in 48 hours: one hour before, not overdue; one hour after, overdue. */
	{
		struct p25_request_server more = {"192.0.2.12", P25_KIND_MAIL_SERVER, "mx3", 0};
		struct p25_request_spec variance = {
		    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = &more, .nservers = 1};
		int64_t vid;
		assert_int_equal(p25_request_submit(reg, &submit, &variance, &vid), 0);
		r = request_at(reg, vid, "2026-11-01T15:30:00Z");
		assert_string_equal(json_string_value(json_object_get(r, "due")),
		                    "2026-11-03T15:30:00Z");
		json_decref(r);
		r = request_at(reg, vid, "2026-11-03T14:30:00Z");
		assert_false(json_is_true(json_object_get(r, "overdue")));
		assert_int_equal(json_integer_value(json_object_get(r, "hours_left")), 1);
		json_decref(r);
		r = request_at(reg, vid, "2026-11-03T16:30:00Z");
		assert_true(json_is_true(json_object_get(r, "overdue")));
		assert_int_equal(json_integer_value(json_object_get(r, "hours_left")), -1);
		json_decref(r);
		overdue.now = at("2026-11-03T15:30:00Z"); /* exactly due is not yet over */
		assert_int_equal(p25_request_list(reg, &overdue, &rows), 0);
		assert_int_equal(json_array_size(rows), 0);
		json_decref(rows);
		overdue.now = at("2026-11-03T15:30:01Z");
		assert_int_equal(p25_request_list(reg, &overdue, &rows), 0);
		assert_int_equal(json_array_size(rows), 1); /* the variance, not the sign-up */
		assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")),
		                 vid);
		json_decref(rows);
		assert_int_equal(p25_request_cancel(reg, &submit, vid), 0);
	}

	/* Order of the steps. */
	assert_int_equal(p25_request_apply(reg, &later, id), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "submitted"));
	assert_int_equal(p25_request_verify(reg, &later, id), P25_ECONFLICT);
	assert_int_equal(p25_request_approve(reg, &later, id), 0);
	assert_int_equal(p25_request_approve(reg, &later, id), P25_ECONFLICT);

	/* A sign-up cannot activate an org without a security contact: nothing changes. */
	assert_int_equal(p25_request_apply(reg, &later, id), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "security contact"));
	assert_int_equal(permit_count(reg), 0);
	r = request_at(reg, id, "2026-11-02T09:00:00Z");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "approved");
	json_decref(r);

	add_security(reg, "k12", &sec);
	assert_int_equal(p25_request_apply(reg, &later, id), 0);
	assert_int_equal(p25_permit_list(reg, &pf, &rows), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "request_id")),
	                 id);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "kind")),
	                    "application-server");
	json_decref(rows);
	assert_int_equal(p25_org_show(reg, "k12", later.now, &org), 0);
	assert_string_equal(json_string_value(json_object_get(org, "enrollment")), "active");
	json_decref(org);
	r = request_at(reg, id, "2026-11-05T09:00:00Z");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "applied");
	/* Applied requests are never overdue. */
	assert_false(json_is_true(json_object_get(r, "overdue")));
	json_decref(r);
	assert_int_equal(p25_request_reject(reg, &later, id, "too late"), P25_ECONFLICT);
	assert_int_equal(p25_request_verify(reg, &later, id), 0);
}

static void test_request_remove_and_reject(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	const char *addresses[] = {"192.0.2.11"};
	int64_t p1, p2, req, ids[1];
	struct p25_request_spec spec = {.org = "k12", .type = P25_REQ_REMOVE_PERMIT};

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(add_permit(reg, "k12", "192.0.2.10", false, 0, &p1), 0);
	assert_int_equal(add_permit(reg, "k12", "192.0.2.11", false, 0, &p2), 0);
	ids[0] = p1;
	spec.permit_ids = ids;
	spec.npermit_ids = 1;
	spec.addresses = addresses;
	spec.naddresses = 1;
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply(reg, &who, req), 0);
	assert_int_equal(permit_count(reg), 0);

	/* Naming a permit that does not exist is refused at submission. */
	ids[0] = 999;
	spec.naddresses = 0;
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), P25_ENOTFOUND);
	assert_true(contains(p25_registry_error(reg), "999"));

	/* A server outside the org's space is refused at submission too. */
	{
		struct p25_request_server s = {"198.51.100.1", P25_KIND_MAIL_SERVER, "x", 0};
		struct p25_request_spec add = {
		    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = &s, .nservers = 1};
		assert_int_equal(p25_request_submit(reg, &who, &add, &req), P25_EINVAL);
		assert_true(contains(p25_registry_error(reg), "outside"));
		s.address = "192.0.2.12";
		assert_int_equal(p25_request_submit(reg, &who, &add, &req), 0);
		assert_int_equal(p25_request_reject(reg, &who, req, ""), P25_EINVAL);
		assert_int_equal(p25_request_reject(reg, &who, req, "not a mail server"), 0);
		assert_int_equal(p25_request_approve(reg, &who, req), P25_ECONFLICT);
		assert_true(contains(p25_registry_error(reg), "rejected"));
	}
}

static void test_apply_rolls_back(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_request_server servers[] = {
	    {"192.0.2.10", P25_KIND_MAIL_SERVER, "one", 0},
	    {"192.0.2.11", P25_KIND_MAIL_SERVER, "two", 0},
	};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = servers, .nservers = 2};
	size_t audits;
	int64_t req, pid;
	json_t *r;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	/* Meanwhile the second server got a permit of its own: apply must fail whole. */
	assert_int_equal(add_permit(reg, "k12", "192.0.2.11", false, 0, &pid), 0);
	audits = audit_count(reg);
	assert_int_equal(p25_request_apply(reg, &who, req), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "applying request"));
	assert_true(contains(p25_registry_error(reg), "192.0.2.11"));
	assert_int_equal(permit_count(reg), 1); /* 192.0.2.10 was rolled back */
	assert_int_equal(audit_count(reg), audits);
	r = request_at(reg, req, "2026-11-23T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(r, "status")), "approved");
	json_decref(r);
}

static void test_expiry_status(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_permit_filter f = {.now = at("2026-11-23T10:00:00Z")};
	p25_time now = at("2026-11-23T10:00:00Z");
	struct p25_model m;
	int64_t soon, later, forever;
	json_t *rows;

	assert_string_equal(p25_permit_status(0, now, P25_EXPIRING_WINDOW), "active");
	assert_string_equal(p25_permit_status(now + 20 * P25_DAY, now, P25_EXPIRING_WINDOW),
	                    "active");
	assert_string_equal(p25_permit_status(now + 14 * P25_DAY, now, P25_EXPIRING_WINDOW),
	                    "expiring");
	assert_string_equal(p25_permit_status(now, now, P25_EXPIRING_WINDOW), "expired");

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(add_permit(reg, "k12", "192.0.2.1", false, now + 5 * P25_DAY, &soon), 0);
	assert_int_equal(add_permit(reg, "k12", "192.0.2.2", false, now + 30 * P25_DAY, &later), 0);
	assert_int_equal(add_permit(reg, "k12", "192.0.2.3", false, 0, &forever), 0);
	/* An expiry in the past is a mistake when adding. */
	assert_int_equal(add_permit(reg, "k12", "192.0.2.4", false, now - 1, NULL), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "already past"));

	f.expiring_within = 14 * P25_DAY;
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), soon);
	json_decref(rows);

	/* Ten days on, the first has expired by itself and the second is expiring. */
	f.now = now + 10 * P25_DAY;
	f.expiring_within = 0;
	f.expired = true;
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "status")),
	                    "expired");
	json_decref(rows);
	f.expired = false;
	f.expiring_within = 30 * P25_DAY;
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 0), "id")), later);
	json_decref(rows);

	/* The model carries every permit with its expiry; validity is the policy's call. */
	assert_int_equal(p25_registry_load_model(reg, &m), 0);
	assert_int_equal(m.npermits, 3);
	assert_int_equal(m.permits[0].expires, now + 5 * P25_DAY);
	assert_false(p25_permit_valid_at(&m.permits[0], now + 10 * P25_DAY));
	assert_true(p25_permit_valid_at(&m.permits[2], now + 1000 * P25_DAY));
	assert_int_equal(m.permits[0].org, 0);
	assert_int_equal(m.nspaces, 1);
	p25_model_free(&m);

	/* Extending and clearing the expiry. */
	assert_int_equal(p25_permit_set_expiry(reg, &who, soon, 0), 0);
	assert_int_equal(p25_permit_set_expiry(reg, &who, soon, now - 5), P25_EINVAL);
	assert_int_equal(p25_permit_set_expiry(reg, &who, 999, 0), P25_ENOTFOUND);
}

static void test_audit_before_after(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = {.name = "alice", .now = at("2026-11-24T08:00:00Z")};
	struct p25_org_change change = {.set_mode = true, .mode = P25_MODE_BOTH};
	json_t *rows, *last;
	int64_t pid;

	add_org(reg, "k12");
	assert_int_equal(p25_org_set(reg, &who, "k12", &change), 0);
	assert_int_equal(p25_audit_list(reg, 1, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	last = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(last, "actor")), "alice");
	assert_string_equal(json_string_value(json_object_get(last, "at")), "2026-11-24T08:00:00Z");
	assert_string_equal(json_string_value(json_object_get(last, "action")), "org.set");
	assert_string_equal(json_string_value(json_object_get(last, "object_type")), "org");
	assert_string_equal(json_string_value(json_object_get(last, "object")), "k12");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(last, "before"), "mode")),
	    "outbound");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(last, "after"), "mode")), "both");
	json_decref(rows);

	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(add_permit(reg, "k12", "192.0.2.9", false, 0, &pid), 0);
	assert_int_equal(p25_permit_remove(reg, &who, pid), 0);
	assert_int_equal(p25_audit_list(reg, 2, &rows), 0);
	last = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(last, "action")), "permit.remove");
	assert_true(json_is_null(json_object_get(last, "after")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(last, "before"), "address")),
	    "192.0.2.9");
	last = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(last, "action")), "permit.add");
	assert_true(json_is_null(json_object_get(last, "before")));
	json_decref(rows);

	/* A refused change leaves no audit record. */
	{
		size_t n = audit_count(reg);
		assert_int_equal(add_permit(reg, "k12", "198.51.100.1", false, 0, &pid),
		                 P25_EINVAL);
		assert_int_equal(audit_count(reg), n);
	}
}

static void test_prefix_remove_guard(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	int64_t pid;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	assert_int_equal(add_permit(reg, "k12", "192.0.2.9", false, 0, &pid), 0);
	assert_int_equal(p25_prefix_remove(reg, &who, "192.0.2.0/24"), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "192.0.2.9"));
	assert_int_equal(p25_permit_remove(reg, &who, pid), 0);
	assert_int_equal(p25_prefix_remove(reg, &who, "192.0.2.0/24"), 0);
	assert_int_equal(p25_prefix_remove(reg, &who, "192.0.2.0/24"), P25_ENOTFOUND);
}

/*
 * An expired variance does not block issuing the address again: the new
 * permit supersedes it in one transaction, the audit log keeps the old one
 * whole, and `permit list --expired` no longer shows what was renewed.  A
 * valid permit still blocks a second one.  Permit add, import and request
 * apply behave alike.
 */
static void test_expired_permit_superseded(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor then = who_at("2026-11-23T10:00:00Z"), later = who_at("2026-12-05T10:00:00Z");
	struct p25_permit_spec spec = {.org = "k12",
	                               .address = "10.9.0.177",
	                               .kind = P25_KIND_APPLICATION_SERVER,
	                               .description = "temporary"};
	struct p25_permit_filter expired = {.now = later.now, .expired = true};
	struct p25_import_options opt = {.name = "again.csv", .org = "k12"};
	struct p25_import_result res;
	int64_t old, other, renewed, id, req;
	json_t *rows, *rec, *p;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "10.9.0.0/24");
	spec.expires = at("2026-11-30T23:59:59Z");
	assert_int_equal(p25_permit_add(reg, &then, &spec, &old), 0);
	spec.address = "10.9.0.178";
	assert_int_equal(p25_permit_add(reg, &then, &spec, &other), 0);
	spec.address = "10.9.0.179";
	assert_int_equal(p25_permit_add(reg, &then, &spec, &id), 0);

	/* Still valid: refused, and the message says how to keep it longer. */
	spec.address = "10.9.0.177";
	spec.expires = 0;
	spec.description = "renewed";
	assert_int_equal(p25_permit_add(reg, &then, &spec, &id), P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "already permitted"));
	assert_true(contains(p25_registry_error(reg), "until 2026-11-30T23:59:59Z"));
	/* What to do instead (change its expiry) is the hint, said inside the parenthesis. */
	assert_int_equal(p25_registry_hint(reg)->code, P25_HINT_EXTEND_PERMIT);
	assert_int_equal(p25_registry_hint(reg)->id, 1);
	assert_int_equal(p25_registry_hint(reg)->tail, 1);

	/* Expired: the new permit is created and the old one superseded. */
	assert_int_equal(p25_permit_add(reg, &later, &spec, &renewed), 0);
	assert_true(renewed > old);
	assert_int_equal(p25_permit_show(reg, old, later.now, &p), P25_ENOTFOUND);
	assert_int_equal(p25_permit_show(reg, renewed, later.now, &p), 0);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "active");
	assert_string_equal(json_string_value(json_object_get(p, "description")), "renewed");
	json_decref(p);
	assert_int_equal(p25_audit_list(reg, 2, &rows), 0);
	rec = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(rec, "action")), "permit.add");
	rec = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(rec, "action")), "permit.supersede");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rec, "before"), "id")),
	                 old);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(rec, "before"), "expires")),
	    "2026-11-30T23:59:59Z");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(rec, "after"), "superseded_by")),
	    renewed);
	json_decref(rows);

	/* An import row supersedes the same way; a repeated row still clashes with it. */
	{
		static const char csv[] = "address,kind,description\n10.9.0.178,app,again\n";
		assert_int_equal(p25_import_buffer(reg, &later, csv, strlen(csv), &opt, &res), 0);
	}
	assert_int_equal(p25_permit_show(reg, other, later.now, &p), P25_ENOTFOUND);

	/* And a request: submitted and applied while the old permit is expired. */
	{
		struct p25_request_server s = {"10.9.0.179", P25_KIND_MAIL_SERVER, "via request", 0};
		struct p25_request_spec rs = {
		    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = &s, .nservers = 1};
		assert_int_equal(p25_request_submit(reg, &later, &rs, &req), 0);
		assert_int_equal(p25_request_approve(reg, &later, req), 0);
		assert_int_equal(p25_request_apply(reg, &later, req), 0);
	}
	assert_int_equal(p25_permit_list(reg, &expired, &rows), 0);
	assert_int_equal(json_array_size(rows), 0);
	json_decref(rows);
	expired.expired = false;
	assert_int_equal(p25_permit_list(reg, &expired, &rows), 0);
	assert_int_equal(json_array_size(rows), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 2), "request_id")),
	                 req);
	json_decref(rows);
}

/*
 * A temporary variance requested stays temporary: each server carries its
 * expiry from the form (--server's fourth field, a CSV expires column) into
 * the request, request show, and the permit apply creates.  What the request
 * path does not understand is refused, named with the file and line.
 */
static void test_request_carries_expiry(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	p25_time now = who.now;
	struct p25_server_list l = {0};
	struct p25_request_spec spec = {.org = "k12", .type = P25_REQ_ADD_PERMIT};
	struct p25_permit_filter f = {.now = now};
	char err[512];
	json_t *r, *rows, *item;
	int64_t req;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");

	/* --server: one CSV record; the fourth field is the expiry. */
	assert_int_equal(p25_server_list_add_arg(&l, "--server", "192.0.2.15,app,temp,2026-12-31", now, err,
	                                         sizeof err),
	                 0);
	assert_int_equal(
	    p25_server_list_add_arg(&l, "--server", "192.0.2.16,mail,\"Relay, north wing\"", now, err, sizeof err),
	    0);
	assert_int_equal(p25_server_list_add_arg(&l, "--server", "192.0.2.17", now, err, sizeof err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.servers[0].description, "temp");
	assert_int_equal(l.servers[0].expires, at("2026-12-31T23:59:59Z"));
	assert_string_equal(l.servers[1].description, "Relay, north wing");
	assert_int_equal(l.servers[1].expires, 0);
	assert_int_equal(l.servers[2].kind, P25_KIND_MAIL_SERVER);
	assert_string_equal(l.servers[2].description, "mail-server");
	assert_int_equal(p25_server_list_add_arg(&l, "--server", "192.0.2.18,app,Relay, north wing", now, err,
	                                         sizeof err),
	                 P25_EINVAL);
	assert_true(contains(err, "--server '192.0.2.18,app,Relay, north wing': expires: "
	                          "'north wing'"));
	assert_int_equal(
	    p25_server_list_add_arg(&l, "--server", "192.0.2.18,app,temp,someday", now, err, sizeof err),
	    P25_EINVAL);
	assert_true(contains(err, "'someday'"));
	assert_int_equal(
	    p25_server_list_add_arg(&l, "--server", "192.0.2.18,app,a,2026-12-31,x", now, err, sizeof err),
	    P25_EINVAL);
	assert_true(contains(err, "one CSV record"));
	assert_int_equal(p25_server_list_add_arg(&l, "--server", "192.0.2.18,printer", now, err, sizeof err),
	                 P25_EINVAL);
	assert_true(contains(err, "kind 'printer'"));
	assert_int_equal(l.n, 3);

	/* A CSV file: import's header mapping, the columns a request understands. */
	{
		static const char ok_csv[] = "address,kind,description,expires\n"
		                             "192.0.2.20,app,\"Yearbook, vendor\",2026-12-31\n"
		                             "192.0.2.21,,,\n";
		static const char unknown[] = "address,kind,colour\n192.0.2.22,app,red\n";
		static const char approver[] = "address,approved_by\n192.0.2.22,boss\n";
		static const char bad_kind[] = "address,kind\n192.0.2.22,app\n192.0.2.23,printer\n";
		static const char other_org[] = "org,address\ncounty,192.0.2.22\n";
		static const char bad_expiry[] = "address,expires\n192.0.2.22,soon\n";
		assert_int_equal(p25_server_list_add_csv(&l, ok_csv, strlen(ok_csv), "tmpvar.csv",
		                                         "k12", now, err, sizeof err),
		                 0);
		assert_int_equal(l.n, 5);
		assert_string_equal(l.servers[3].description, "Yearbook, vendor");
		assert_int_equal(l.servers[3].expires, at("2026-12-31T23:59:59Z"));
		assert_int_equal(l.servers[4].expires, 0);
		assert_int_equal(p25_server_list_add_csv(&l, unknown, strlen(unknown), "u.csv", "k12",
		                                         now, err, sizeof err),
		                 P25_EINVAL);
		assert_true(contains(err, "u.csv: line 1: unknown column 'colour'"));
		assert_int_equal(p25_server_list_add_csv(&l, approver, strlen(approver), "a.csv",
		                                         "k12", now, err, sizeof err),
		                 P25_EINVAL);
		assert_true(contains(err, "a.csv: line 1: unknown column 'approved_by'"));
		assert_int_equal(p25_server_list_add_csv(&l, bad_kind, strlen(bad_kind), "k.csv",
		                                         "k12", now, err, sizeof err),
		                 P25_EINVAL);
		assert_true(contains(err, "k.csv: line 3: kind 'printer'"));
		assert_int_equal(p25_server_list_add_csv(&l, other_org, strlen(other_org), "o.csv",
		                                         "k12", now, err, sizeof err),
		                 P25_EINVAL);
		assert_true(contains(err, "o.csv: line 2: the row is for organization 'county'"));
		assert_int_equal(p25_server_list_add_csv(&l, bad_expiry, strlen(bad_expiry), "e.csv",
		                                         "k12", now, err, sizeof err),
		                 P25_EINVAL);
		assert_true(contains(err, "e.csv: line 2: expires: 'soon'"));
	}

	/* Submitted, shown, applied: the permits expire as asked. */
	spec.servers = l.servers;
	spec.nservers = l.n;
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	r = request_at(reg, req, "2026-11-23T10:00:00Z");
	item = json_array_get(json_object_get(r, "servers"), 0);
	assert_string_equal(json_string_value(json_object_get(item, "expires")),
	                    "2026-12-31T23:59:59Z");
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(r, "servers"), 1),
	                                         "expires")));
	json_decref(r);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply(reg, &who, req), 0);
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 5);
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *p = json_array_get(rows, i);
		const char *a = json_string_value(json_object_get(p, "address"));
		bool temporary = !strcmp(a, "192.0.2.15") || !strcmp(a, "192.0.2.20");
		if (temporary)
			assert_string_equal(json_string_value(json_object_get(p, "expires")),
			                    "2026-12-31T23:59:59Z");
		else
			assert_true(json_is_null(json_object_get(p, "expires")));
	}
	json_decref(rows);
	p25_server_list_free(&l);

	/* The expiry must still be ahead when the request is applied. */
	{
		struct p25_request_server s = {"192.0.2.30", P25_KIND_MAIL_SERVER, "short", 0};
		struct p25_actor late = who_at("2026-11-26T10:00:00Z");
		s.expires = at("2026-11-25T00:00:00Z");
		spec.servers = &s;
		spec.nservers = 1;
		assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
		assert_int_equal(p25_request_approve(reg, &who, req), 0);
		assert_int_equal(p25_request_apply(reg, &late, req), P25_EINVAL);
		assert_true(contains(p25_registry_error(reg), "already past"));
		s.expires = at("2026-11-20T00:00:00Z");
		assert_int_equal(p25_request_submit(reg, &who, &spec, &req), P25_EINVAL);
		assert_true(contains(p25_registry_error(reg), "server 1 of the request"));
		assert_true(contains(p25_registry_error(reg), "already past"));
	}
}

/*
 * Activating an org with no valid permit would block every host of it, its
 * mail servers too: refused unless confirmed (no_servers), by org set and by
 * applying a sign-up alike.  Activation warns about the mail servers the
 * latest analysis of the org's traffic found that no valid permit covers.
 */
static void test_activation_needs_servers(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_org_change activate = {.set_enrollment = true, .enrollment = P25_ENROLL_ACTIVE};
	struct p25_org_change pending = {.set_enrollment = true, .enrollment = P25_ENROLL_PENDING};
	const char *found[] = {"192.0.2.25", "192.0.2.26", "2001:db8:9::25"};
	struct p25_analysis_finding finding = {
	    .org = "maple-library", .hosts = 7, .unregistered = found, .n = 3};
	struct p25_import_result res;
	struct p25_import_options opt = {.name = "doc.json"};
	int64_t sec, pid;
	json_t *o;

	add_org(reg, "maple-library");
	add_prefix(reg, "maple-library", "192.0.2.0/24");
	add_prefix(reg, "maple-library", "2001:db8:9::/48");
	add_security(reg, "maple-library", &sec);
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &activate), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "'maple-library' has no valid permit"));
	assert_int_equal(p25_registry_hint(reg)->code, P25_HINT_NO_SERVERS);
	assert_string_equal(p25_registry_hint(reg)->org, "maple-library");
	assert_null(strstr(p25_registry_error(reg), "--"));
	assert_int_equal(p25_org_show(reg, "maple-library", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "none");
	json_decref(o);
	/* An expired permit is no permitted server either. */
	assert_int_equal(add_permit(reg, "maple-library", "192.0.2.9", false, who.now + P25_DAY,
	                            &pid),
	                 0);
	{
		struct p25_actor later = who_at("2026-11-25T10:00:00Z");
		assert_int_equal(p25_org_set(reg, &later, "maple-library", &activate), P25_EINVAL);
	}
	activate.no_servers = true;
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &activate), 0);
	assert_string_equal(p25_registry_warning(reg), "");
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &pending), 0);

	/* The analysis saw three unregistered servers: activation names them. */
	assert_int_equal(p25_analysis_record(reg, &who, &finding, 1), 0);
	assert_int_equal(p25_analysis_latest(reg, "maple-library", &o), 0);
	assert_int_equal(json_array_size(json_object_get(o, "unregistered")), 3);
	assert_int_equal(json_integer_value(json_object_get(o, "hosts")), 7);
	json_decref(o);
	assert_int_equal(add_permit(reg, "maple-library", "192.0.2.25", false, 0, &pid), 0);
	activate.no_servers = false;
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &activate), 0);
	assert_true(contains(p25_registry_warning(reg), "found 2 unregistered mail server(s)"));
	assert_true(contains(p25_registry_warning(reg), "192.0.2.26, 2001:db8:9::25"));
	assert_false(strstr(p25_registry_warning(reg), "192.0.2.25,"));
	/* Once every one is permitted, no warning; a refused change leaves none either. */
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &pending), 0);
	assert_int_equal(add_permit(reg, "maple-library", "192.0.2.26", false, 0, &pid), 0);
	assert_int_equal(add_permit(reg, "maple-library", "2001:db8:9::/64", false, 0, &pid), 0);
	assert_int_equal(p25_org_set(reg, &who, "maple-library", &activate), 0);
	assert_string_equal(p25_registry_warning(reg), "");
	/* The report per host is kept with the finding and read back in scope only. */
	{
		json_t *report = json_pack("[{s:s, s:s, s:[s]}]", "address", "192.0.2.26", "class",
		                           "unregistered-server", "reasons", "<b>queue</b> retries");
		struct p25_analysis_finding f = finding;
		const char *other[] = {"oak"}, *mine[] = {"maple-library"};
		struct p25_scope out_of = {.orgs = other, .n = 1}, in = {.orgs = mine, .n = 1};
		/* recorded before reports were kept: an empty report */
		assert_int_equal(p25_analysis_report_in(reg, "maple-library", &in, &o), 0);
		assert_int_equal(json_array_size(json_object_get(o, "report")), 0);
		json_decref(o);
		f.report = report;
		assert_int_equal(p25_analysis_record(reg, &who, &f, 1), 0);
		assert_int_equal(p25_analysis_report_in(reg, "maple-library", &in, &o), 0);
		assert_int_equal(json_array_size(json_object_get(o, "unregistered")), 3);
		assert_true(json_equal(json_object_get(o, "report"), report));
		json_decref(o);
		assert_int_equal(p25_analysis_report_in(reg, "maple-library", &out_of, &o), P25_ENOTFOUND);
		assert_null(o);
		assert_true(contains(p25_registry_error(reg), "no organization 'maple-library'"));
		assert_int_equal(p25_analysis_report_in(reg, "oak", NULL, &o), P25_ENOTFOUND);
		json_decref(report);
		/* not a list of hosts: refused, nothing recorded */
		f.report = report = json_object();
		assert_int_equal(p25_analysis_record(reg, &who, &f, 1), P25_EINVAL);
		json_decref(report);
		assert_int_equal(p25_analysis_report_in(reg, "maple-library", NULL, &o), 0);
		assert_int_equal(json_array_size(json_object_get(o, "report")), 1);
		json_decref(o);
	}
	{
		const char *bad[] = {"not-an-address"};
		struct p25_analysis_finding f = {.org = "maple-library", .unregistered = bad, .n = 1};
		assert_int_equal(p25_analysis_record(reg, &who, &f, 1), P25_EINVAL);
		f.org = "nobody";
		f.n = 0;
		assert_int_equal(p25_analysis_record(reg, &who, &f, 1), P25_ENOTFOUND);
	}

	/* A sign-up with no server (restored) cannot activate its org unless confirmed. */
	{
		static const char doc[] =
		    "{\"version\": 1, \"organizations\": [{\"handle\": \"oak\", \"name\": \"Oak\", "
		    "\"enrollment\": \"pending\", \"prefixes\": [{\"prefix\": \"198.51.100.0/24\"}], "
		    "\"contacts\": [{\"name\": \"S\", \"email\": \"s@oak.example\", \"role\": "
		    "\"security\"}]}], \"requests\": [{\"id\": 40, \"org\": \"oak\", \"type\": "
		    "\"signup\", \"status\": \"approved\", \"requested_by\": \"m\", \"submitted\": "
		    "\"2026-11-22T00:00:00Z\", \"approved\": \"2026-11-22T01:00:00Z\", "
		    "\"approved_by\": \"noc\", \"servers\": []}]}";
		static const char active_doc[] =
		    "{\"version\": 1, \"organizations\": [{\"handle\": \"elm\", \"name\": \"Elm\", "
		    "\"enrollment\": \"active\", \"contacts\": [{\"name\": \"S\", \"email\": "
		    "\"s@elm.example\", \"role\": \"security\"}]}]}";
		assert_int_equal(p25_import_buffer(reg, &who, doc, strlen(doc), &opt, &res), 0);
		assert_int_equal(p25_request_apply(reg, &who, 40), P25_EINVAL);
		assert_true(contains(p25_registry_error(reg), "applying request 40"));
		assert_true(contains(p25_registry_error(reg), "has no valid permit"));
		assert_int_equal(p25_request_apply_confirmed(reg, &who, 40, true), 0);
		assert_int_equal(p25_org_show(reg, "oak", who.now, &o), 0);
		assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "active");
		json_decref(o);
		/* A document's active org is held to the same rule. */
		assert_int_equal(
		    p25_import_buffer(reg, &who, active_doc, strlen(active_doc), &opt, &res),
		    P25_EINVAL);
		assert_true(contains(p25_registry_error(reg), "doc.json: organizations[0]"));
		assert_true(contains(p25_registry_error(reg), "has no valid permit"));
		opt.no_servers = true;
		assert_int_equal(
		    p25_import_buffer(reg, &who, active_doc, strlen(active_doc), &opt, &res), 0);
	}
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		fail_msg("%s: %s", path, strerror(errno));
	return (unsigned)(st.st_mode & 07777);
}

/*
 * The registry holds contacts' personal data: under the usual umask 022 it
 * is created 0600, its -wal and -shm alike, its missing directories 0750
 * (mkdir -p); opening one every user can read warns.
 */
static void test_registry_file_modes(void **state)
{
	char top[] = "/tmp/p25-modes-XXXXXX", path[256], name[300], err[512];
	struct p25_registry *reg;
	mode_t old = umask(022);

	(void)state;
	assert_non_null(mkdtemp(top));
	snprintf(path, sizeof path, "%s/var/lib/port25/registry.db", top);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_string_equal(p25_registry_warning(reg), "");
	add_org(reg, "k12"); /* a write: the -wal and -shm exist while the registry is open */
	assert_int_equal(mode_of(path), 0600);
	snprintf(name, sizeof name, "%s-wal", path);
	assert_int_equal(mode_of(name), 0600);
	snprintf(name, sizeof name, "%s-shm", path);
	assert_int_equal(mode_of(name), 0600);
	snprintf(name, sizeof name, "%s/var/lib/port25", top);
	assert_int_equal(mode_of(name), 0750);
	snprintf(name, sizeof name, "%s/var/lib", top);
	assert_int_equal(mode_of(name), 0750);
	p25_registry_close(reg);

	/* Made readable by all afterwards: opening it says so, naming the file. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_true(contains(p25_registry_warning(reg), "can be read by every user (mode 0644)"));
	assert_true(contains(p25_registry_warning(reg), path));
	p25_registry_close(reg);

	/* A directory that cannot be made is an error naming it. */
	snprintf(name, sizeof name, "%s/var/lib/port25/registry.db/x/r.db", top);
	assert_int_equal(p25_registry_open(name, &reg, err, sizeof err), P25_EDB);
	assert_true(contains(err, "cannot create the directory"));

	umask(old);
	snprintf(name, sizeof name, "rm -rf '%s'", top);
	assert_int_equal(system(name), 0);
}

/*
 * A sign-up is scheduled with the member (issue 14): not a 48-hour variance
 * (never overdue), activated at the agreed time by the rules checked when
 * it was scheduled and again when it is due.
 */
static void test_scheduled_activation(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_org_change c = {.set_enrollment = true,
	                           .enrollment = P25_ENROLL_ACTIVE,
	                           .activate_at = at("2026-12-01T06:00:00Z")};
	struct p25_request_filter f = {.overdue = true, .now = at("2026-11-30T10:00:00Z")};
	struct p25_request_server server = {.address = "192.0.2.11",
	                                    .kind = P25_KIND_MAIL_SERVER,
	                                    .description = "mx2"};
	struct p25_request_spec signup = {
	    .org = "k12", .type = P25_REQ_SIGNUP, .servers = &server, .nservers = 1};
	json_t *rows, *o, *done;
	p25_time next = 0;
	int64_t sec = 0, req = 0;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	/* The rules hold when it is scheduled: no contact, no permit, a past time. */
	assert_int_equal(p25_org_set(reg, &who, "k12", &c), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "security contact"));
	add_security(reg, "k12", &sec);
	assert_int_equal(p25_org_set(reg, &who, "k12", &c), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "no valid permit"));
	assert_int_equal(add_permit(reg, "k12", "192.0.2.10", false, 0, NULL), 0);
	c.activate_at = at("2026-11-23T09:00:00Z");
	assert_int_equal(p25_org_set(reg, &who, "k12", &c), P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "already past"));
	c.activate_at = at("2026-12-01T06:00:00Z");
	assert_int_equal(p25_org_set(reg, &who, "k12", &c), 0);

	/* Scheduled, not active; listed as upcoming; the next activation known. */
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "none");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(o, "activation"), "at")),
	    "2026-12-01T06:00:00Z");
	json_decref(o);
	assert_int_equal(p25_org_upcoming_in(reg, NULL, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	assert_int_equal(p25_registry_next_activation(reg, &next), 0);
	assert_int_equal(next, at("2026-12-01T06:00:00Z"));

	/* A sign-up request: no due time, never overdue. */
	assert_int_equal(p25_request_submit(reg, &who, &signup, &req), 0);
	assert_int_equal(p25_request_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 0);
	json_decref(rows);
	assert_int_equal(p25_request_show(reg, req, f.now, &o), 0);
	assert_true(json_is_null(json_object_get(o, "due")));
	assert_true(json_is_false(json_object_get(o, "overdue")));
	json_decref(o);

	/* Not before its time; at its time, activated in the scheduler's name. */
	assert_int_equal(p25_org_activate_due(reg, at("2026-12-01T05:59:59Z"), NULL), 0);
	assert_int_equal(p25_org_activate_due(reg, at("2026-12-01T06:00:00Z"), &done), 1);
	assert_true(json_is_true(json_object_get(json_array_get(done, 0), "activated")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(done, 0), "by")),
	                    "tester");
	json_decref(done);
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "active");
	assert_true(json_is_null(json_object_get(o, "activation")));
	json_decref(o);
	assert_int_equal(p25_registry_next_activation(reg, &next), 0);
	assert_int_equal(next, 0);
	assert_int_equal(p25_org_activate_due(reg, at("2026-12-02T00:00:00Z"), NULL), 0);

	/* Checked again when due: a permit that expired meanwhile refuses it, audited. */
	add_org(reg, "county");
	add_prefix(reg, "county", "198.51.100.0/24");
	add_security(reg, "county", NULL);
	assert_int_equal(add_permit(reg, "county", "198.51.100.10", false,
	                            at("2026-11-25T00:00:00Z"), NULL),
	                 0);
	assert_int_equal(p25_org_set(reg, &who, "county", &c), 0);
	assert_int_equal(p25_org_activate_due(reg, at("2026-12-01T06:00:01Z"), &done), 1);
	o = json_array_get(done, 0);
	assert_true(json_is_false(json_object_get(o, "activated")));
	assert_true(contains(json_string_value(json_object_get(o, "reason")), "no valid permit"));
	json_decref(done);
	assert_int_equal(p25_org_show(reg, "county", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "none");
	assert_true(json_is_null(json_object_get(o, "activation")));
	json_decref(o);
	assert_int_equal(p25_audit_list(reg, 1, &rows), 0);
	assert_true(json_is_string(json_object_get(
	    json_object_get(json_array_get(rows, 0), "after"), "activation_refused")));
	json_decref(rows);

	/* Setting the enrollment again replaces a schedule. */
	assert_int_equal(add_permit(reg, "county", "198.51.100.11", false, 0, NULL), 0);
	assert_int_equal(p25_org_set(reg, &who, "county", &c), 0);
	{
		struct p25_org_change none = {.set_enrollment = true,
		                              .enrollment = P25_ENROLL_PENDING};
		assert_int_equal(p25_org_set(reg, &who, "county", &none), 0);
	}
	assert_int_equal(p25_registry_next_activation(reg, &next), 0);
	assert_int_equal(next, 0);
}

/* A sign-up applied with its activation scheduled: its permits now, its block then. */
static void test_signup_applied_at(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at("2026-11-23T10:00:00Z");
	struct p25_request_server server = {.address = "192.0.2.11",
	                                    .kind = P25_KIND_MAIL_SERVER,
	                                    .description = "mx2"};
	struct p25_request_spec signup = {
	    .org = "k12", .type = P25_REQ_SIGNUP, .servers = &server, .nservers = 1};
	json_t *o;
	int64_t req = 0;

	add_org(reg, "k12");
	add_prefix(reg, "k12", "192.0.2.0/24");
	add_security(reg, "k12", NULL);
	assert_int_equal(p25_request_submit(reg, &who, &signup, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply_at(reg, &who, req, false, at("2026-11-23T08:00:00Z")),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "already past"));
	assert_int_equal(p25_request_apply_at(reg, &who, req, false, at("2026-12-01T06:00:00Z")), 0);
	assert_int_equal(permit_count(reg), 1);
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "pending");
	assert_false(json_is_null(json_object_get(o, "activation")));
	json_decref(o);
	assert_int_equal(p25_org_activate_due(reg, at("2026-12-01T06:00:00Z"), NULL), 1);
	assert_int_equal(p25_org_show(reg, "k12", who.now, &o), 0);
	assert_string_equal(json_string_value(json_object_get(o, "enrollment")), "active");
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migrations_from_empty),
	    cmocka_unit_test(test_migration_v2_alerts),
	    cmocka_unit_test_setup_teardown(test_org_rules, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlap_between_orgs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefix_within_one_org, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permit_outside_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wide_permit_needs_force, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_security_contact_rule, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_lifecycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_remove_and_reject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_apply_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_before_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefix_remove_guard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_permit_superseded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_carries_expiry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_activation_needs_servers, setup, teardown),
	    cmocka_unit_test(test_registry_file_modes),
	    cmocka_unit_test_setup_teardown(test_scheduled_activation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_signup_applied_at, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
