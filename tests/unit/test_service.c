/*
 * The change stream (every registry verb writes its typed changes, in its
 * transaction) and the service API (who may do what, and what follows).
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
#include <sqlite3.h>

#include "enforce/follow.h"
#include "registry/registry.h"
#include "service/service.h"

#define T0 "2026-11-23T10:00:00Z"

static p25_time at(const char *iso)
{
	char err[200];
	p25_time t = 0;
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

static struct p25_actor who_at(const char *iso)
{
	return (struct p25_actor){.name = "tester", .now = at(iso)};
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

static int64_t mark_of(struct p25_registry *reg)
{
	int64_t m = -1;
	assert_int_equal(p25_registry_change_mark(reg, &m), 0);
	return m;
}

/* The changes after mark; the list is the caller's to free. */
static struct p25_change_list since(struct p25_registry *reg, int64_t mark)
{
	struct p25_change_list l;
	assert_int_equal(p25_change_list_since(reg, mark, 0, &l), 0);
	return l;
}

/* Exactly these kinds, in this order, after mark; returns the list. */
static struct p25_change_list expect_kinds(struct p25_registry *reg, int64_t mark, size_t n, ...)
{
	struct p25_change_list l = since(reg, mark);
	va_list ap;

	if (l.n != n) {
		for (size_t i = 0; i < l.n; i++)
			print_error("  change %zu: %s\n", i, p25_change_kind_name(l.v[i].kind));
		fail_msg("%zu changes after %lld, want %zu", l.n, (long long)mark, n);
	}
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		enum p25_change_kind k = va_arg(ap, enum p25_change_kind);
		if (l.v[i].kind != k)
			fail_msg("change %zu is %s, want %s", i, p25_change_kind_name(l.v[i].kind),
			         p25_change_kind_name(k));
		if (i > 0)
			assert_true(l.v[i].seq > l.v[i - 1].seq);
	}
	va_end(ap);
	return l;
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

static void base_org(struct p25_registry *reg, const char *org, const char *prefix)
{
	struct p25_actor who = who_at(T0);
	int64_t id;

	assert_int_equal(p25_org_add(reg, &who, org, "Org", P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
	assert_int_equal(p25_prefix_add(reg, &who, org, prefix, "", 0), 0);
	assert_int_equal(p25_contact_add(reg, &who, org, "Sec", "sec@example.org", "",
	                                 P25_ROLE_SECURITY, &id),
	                 0);
}

static int add_permit(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                      const char *address, p25_time expires, int64_t *id)
{
	struct p25_permit_spec spec = {.org = org,
	                               .address = address,
	                               .kind = P25_KIND_MAIL_SERVER,
	                               .description = "mx",
	                               .expires = expires};
	return p25_permit_add(reg, who, &spec, id);
}

/* ---- the change stream ---- */

static void test_object_verbs_write_typed_changes(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0);
	struct p25_org_change activate = {.set_enrollment = true,
	                                  .enrollment = P25_ENROLL_ACTIVE};
	struct p25_org_change rename = {.name = "Renamed"};
	struct p25_change_list l;
	int64_t m, contact, pid;

	assert_int_equal(mark_of(reg), 0);
	assert_int_equal(p25_org_add(reg, &who, "k12", "K12", P25_MODE_OUTBOUND, P25_ACTION_DROP),
	                 0);
	l = expect_kinds(reg, 0, 1, P25_CHANGE_ORG_ADDED);
	assert_string_equal(l.v[0].org, "k12");
	assert_string_equal(l.v[0].actor, "tester");
	assert_int_equal(l.v[0].at, who.now);
	assert_false(l.v[0].before.present);
	assert_true(l.v[0].after.present);
	assert_int_equal(l.v[0].after.enrollment, P25_ENROLL_NONE);
	assert_int_equal(l.v[0].after.action, P25_ACTION_DROP);
	assert_true(l.v[0].audit_id > 0);
	m = l.v[0].seq;
	assert_int_equal(mark_of(reg), m);
	p25_change_list_free(&l);

	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.0/24", "", 0), 0);
	assert_int_equal(p25_contact_add(reg, &who, "k12", "Sec", "sec@example.org", "",
	                                 P25_ROLE_SECURITY, &contact),
	                 0);
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.25", who.now + 30 * P25_DAY, &pid),
	                 0);
	l = expect_kinds(reg, m, 3, P25_CHANGE_PREFIX_ADDED, P25_CHANGE_CONTACT_ADDED,
	                 P25_CHANGE_PERMIT_ADDED);
	assert_string_equal(l.v[0].org, "k12");
	assert_string_equal(l.v[0].subject, "192.0.2.0/24");
	assert_int_equal(l.v[1].id, contact);
	assert_string_equal(l.v[1].subject, "security");
	assert_int_equal(l.v[2].id, pid);
	assert_string_equal(l.v[2].org, "k12");
	assert_string_equal(l.v[2].subject, "192.0.2.25");
	assert_int_equal(l.v[2].after.expires, who.now + 30 * P25_DAY);
	assert_int_equal(l.v[2].related, 0);
	m = l.v[2].seq;
	p25_change_list_free(&l);

	/* Enrollment, and a name change that leaves enrollment, mode and action alone. */
	assert_int_equal(p25_org_set(reg, &who, "k12", &activate), 0);
	assert_int_equal(p25_org_set(reg, &who, "k12", &rename), 0);
	l = expect_kinds(reg, m, 2, P25_CHANGE_ORG_CHANGED, P25_CHANGE_ORG_CHANGED);
	assert_int_equal(l.v[0].before.enrollment, P25_ENROLL_NONE);
	assert_int_equal(l.v[0].after.enrollment, P25_ENROLL_ACTIVE);
	assert_int_equal(l.v[1].before.enrollment, P25_ENROLL_ACTIVE);
	assert_int_equal(l.v[1].after.enrollment, P25_ENROLL_ACTIVE);
	assert_int_equal(l.v[1].before.action, l.v[1].after.action);
	m = l.v[1].seq;
	p25_change_list_free(&l);

	/* A permit's expiry, then its removal. */
	assert_int_equal(p25_permit_set_expiry(reg, &who, pid, 0), 0);
	assert_int_equal(p25_permit_remove(reg, &who, pid), 0);
	l = expect_kinds(reg, m, 2, P25_CHANGE_PERMIT_CHANGED, P25_CHANGE_PERMIT_REMOVED);
	assert_int_equal(l.v[0].before.expires, who.now + 30 * P25_DAY);
	assert_int_equal(l.v[0].after.expires, 0);
	assert_true(l.v[0].after.present);
	assert_int_equal(l.v[1].id, pid);
	assert_string_equal(l.v[1].subject, "192.0.2.25");
	assert_true(l.v[1].before.present);
	assert_false(l.v[1].after.present);
	m = l.v[1].seq;
	p25_change_list_free(&l);

	/* Contacts and prefixes go, then the org. */
	assert_int_equal(p25_prefix_remove(reg, &who, "192.0.2.0/24"), 0);
	assert_int_equal(p25_org_remove(reg, &who, "k12", true), 0);
	l = expect_kinds(reg, m, 2, P25_CHANGE_PREFIX_REMOVED, P25_CHANGE_ORG_REMOVED);
	assert_string_equal(l.v[0].subject, "192.0.2.0/24");
	assert_string_equal(l.v[1].org, "k12");
	assert_false(l.v[1].after.present);
	p25_change_list_free(&l);

	/* One change per audit record, each naming its own. */
	l = since(reg, 0);
	assert_int_equal(l.n, audit_count(reg));
	for (size_t i = 0; i < l.n; i++)
		assert_int_equal(l.v[i].audit_id, (int64_t)i + 1);
	p25_change_list_free(&l);
}

static void test_supersede_and_requests_write_typed_changes(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0), later = who_at("2026-12-10T00:00:00Z");
	struct p25_request_server servers[] = {{"192.0.2.10", P25_KIND_MAIL_SERVER, "mx", 0}};
	struct p25_request_spec signup = {
	    .org = "k12", .type = P25_REQ_SIGNUP, .servers = servers, .nservers = 1};
	struct p25_change_list l;
	int64_t m, old, fresh, req, req2;

	base_org(reg, "k12", "192.0.2.0/24");
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.9", who.now + P25_DAY, &old), 0);
	m = mark_of(reg);
	/* An expired permit gives way to a new one of its address. */
	assert_int_equal(add_permit(reg, &later, "k12", "192.0.2.9", 0, &fresh), 0);
	l = expect_kinds(reg, m, 2, P25_CHANGE_PERMIT_SUPERSEDED, P25_CHANGE_PERMIT_ADDED);
	assert_int_equal(l.v[0].id, old);
	assert_int_equal(l.v[0].related, fresh);
	assert_true(l.v[0].before.present);
	assert_false(l.v[0].after.present);
	assert_int_equal(l.v[1].id, fresh);
	m = l.v[1].seq;
	p25_change_list_free(&l);

	/* A sign-up: pending, approved, applied (its permit and the activation), verified. */
	assert_int_equal(p25_request_submit(reg, &later, &signup, &req), 0);
	l = expect_kinds(reg, m, 2, P25_CHANGE_ORG_CHANGED, P25_CHANGE_REQUEST_SUBMITTED);
	assert_int_equal(l.v[0].after.enrollment, P25_ENROLL_PENDING);
	assert_int_equal(l.v[1].id, req);
	assert_string_equal(l.v[1].subject, "signup");
	assert_false(l.v[1].before.present);
	assert_int_equal(l.v[1].after.status, P25_REQ_SUBMITTED);
	m = l.v[1].seq;
	p25_change_list_free(&l);
	assert_int_equal(p25_request_approve(reg, &later, req), 0);
	assert_int_equal(p25_request_apply(reg, &later, req), 0);
	assert_int_equal(p25_request_verify(reg, &later, req), 0);
	l = expect_kinds(reg, m, 5, P25_CHANGE_REQUEST_APPROVED, P25_CHANGE_PERMIT_ADDED,
	                 P25_CHANGE_ORG_CHANGED, P25_CHANGE_REQUEST_APPLIED,
	                 P25_CHANGE_REQUEST_VERIFIED);
	assert_int_equal(l.v[0].before.status, P25_REQ_SUBMITTED);
	assert_int_equal(l.v[0].after.status, P25_REQ_APPROVED);
	assert_string_equal(l.v[1].subject, "192.0.2.10");
	assert_int_equal(l.v[1].related, req);
	assert_int_equal(l.v[2].after.enrollment, P25_ENROLL_ACTIVE);
	assert_int_equal(l.v[3].after.status, P25_REQ_APPLIED);
	assert_int_equal(l.v[4].after.status, P25_REQ_VERIFIED);
	m = l.v[4].seq;
	p25_change_list_free(&l);

	/* Rejected and cancelled requests. */
	servers[0].address = "192.0.2.11";
	signup.type = P25_REQ_ADD_PERMIT;
	assert_int_equal(p25_request_submit(reg, &later, &signup, &req), 0);
	assert_int_equal(p25_request_reject(reg, &later, req, "no"), 0);
	assert_int_equal(p25_request_submit(reg, &later, &signup, &req2), 0);
	assert_int_equal(p25_request_approve(reg, &later, req2), 0);
	assert_int_equal(p25_request_cancel(reg, &later, req2), 0);
	l = expect_kinds(reg, m, 5, P25_CHANGE_REQUEST_SUBMITTED, P25_CHANGE_REQUEST_REJECTED,
	                 P25_CHANGE_REQUEST_SUBMITTED, P25_CHANGE_REQUEST_APPROVED,
	                 P25_CHANGE_REQUEST_CANCELLED);
	assert_int_equal(l.v[1].after.status, P25_REQ_REJECTED);
	assert_int_equal(l.v[4].id, req2);
	assert_int_equal(l.v[4].before.status, P25_REQ_APPROVED);
	assert_int_equal(l.v[4].after.status, P25_REQ_CANCELLED);
	p25_change_list_free(&l);
	/* A cancelled request is closed: it cannot be cancelled, approved or applied again. */
	assert_int_equal(p25_request_cancel(reg, &later, req2), P25_ECONFLICT);
	assert_int_equal(p25_request_apply(reg, &later, req2), P25_ECONFLICT);
	assert_int_equal(p25_request_cancel(reg, &later, req), P25_ECONFLICT);
}

static void test_import_writes_typed_changes(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0);
	static const char csv[] = "address,kind,description\n"
	                          "192.0.2.20,mail,one\n"
	                          "192.0.2.21,mail,two\n";
	struct p25_import_options opt = {.name = "servers.csv", .org = "k12"};
	struct p25_import_result res;
	struct p25_change_list l;
	int64_t m;

	base_org(reg, "k12", "192.0.2.0/24");
	m = mark_of(reg);
	assert_int_equal(p25_import_buffer(reg, &who, csv, sizeof csv - 1, &opt, &res), 0);
	l = expect_kinds(reg, m, 3, P25_CHANGE_PERMIT_ADDED, P25_CHANGE_PERMIT_ADDED,
	                 P25_CHANGE_IMPORT);
	assert_string_equal(l.v[1].subject, "192.0.2.21");
	assert_null(l.v[2].org);
	assert_string_equal(l.v[2].subject, "servers.csv");
	p25_change_list_free(&l);
}

/* A refused change leaves no change record: the change is written in its transaction. */
static void test_refused_changes_leave_no_change(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0);
	struct p25_request_server servers[] = {
	    {"192.0.2.10", P25_KIND_MAIL_SERVER, "one", 0},
	    {"192.0.2.11", P25_KIND_MAIL_SERVER, "two", 0},
	};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = servers, .nservers = 2};
	static const char bad_csv[] = "address,kind,description\n"
	                              "192.0.2.30,mail,fine\n"
	                              "198.51.100.1,mail,outside\n";
	struct p25_import_options opt = {.name = "bad.csv", .org = "k12"};
	struct p25_import_result res;
	int64_t m, req, pid;

	base_org(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.11", 0, &pid), 0);
	m = mark_of(reg);

	/* Refused before anything was written ... */
	assert_int_equal(add_permit(reg, &who, "k12", "198.51.100.7", 0, &pid), P25_EINVAL);
	assert_int_equal(p25_org_add(reg, &who, "k12", "Again", 0, 0), P25_ECONFLICT);
	assert_int_equal(p25_request_reject(reg, &who, req, ""), P25_EINVAL);
	/* ... and after some of it was: apply created 192.0.2.10, then failed on .11 */
	assert_int_equal(p25_request_apply(reg, &who, req), P25_ECONFLICT);
	/* an import's first row went in, its second is outside the space */
	assert_int_equal(p25_import_buffer(reg, &who, bad_csv, sizeof bad_csv - 1, &opt, &res),
	                 P25_EINVAL);
	/* a dry run validates everything and writes nothing */
	opt.dry_run = true;
	assert_int_equal(p25_import_buffer(reg, &who, bad_csv, 46, &opt, &res), 0);
	assert_int_equal(res.permits, 1);
	assert_int_equal(mark_of(reg), m);
	{
		struct p25_change_list l = since(reg, m);
		assert_int_equal(l.n, 0);
		p25_change_list_free(&l);
	}
}

struct collected {
	int64_t seqs[8];
	size_t n, stop_after;
};

static int collect_fn(void *ctx, const struct p25_change *c)
{
	struct collected *k = ctx;
	k->seqs[k->n++] = c->seq;
	return k->n == k->stop_after;
}

static void test_changes_since_limit_and_callback(void **state)
{
	struct p25_registry *reg = *state;
	struct collected k = {.stop_after = 0};

	base_org(reg, "k12", "192.0.2.0/24"); /* three changes: 1, 2, 3 */
	assert_int_equal(p25_registry_changes_since(reg, 0, 0, collect_fn, &k), 3);
	assert_int_equal(k.seqs[0], 1);
	assert_int_equal(k.seqs[2], 3);
	k = (struct collected){.stop_after = 0};
	assert_int_equal(p25_registry_changes_since(reg, 1, 1, collect_fn, &k), 1);
	assert_int_equal(k.seqs[0], 2);
	k = (struct collected){.stop_after = 1};
	assert_int_equal(p25_registry_changes_since(reg, 0, 0, collect_fn, &k), 1);
	k = (struct collected){.stop_after = 0};
	assert_int_equal(p25_registry_changes_since(reg, 3, 0, collect_fn, &k), 0);
	assert_string_equal(p25_change_kind_name(P25_CHANGE_PERMIT_SUPERSEDED), "permit-superseded");
	assert_string_equal(p25_change_kind_name((enum p25_change_kind)99), "?");
	{
		enum p25_change_kind kind;
		assert_int_equal(p25_change_kind_parse("request-cancelled", &kind), 0);
		assert_int_equal(kind, P25_CHANGE_REQUEST_CANCELLED);
		assert_int_equal(p25_change_kind_parse("permit.add", &kind), -1);
	}
}

/* A commit by another connection (another process, as far as SQLite knows) wakes a waiter. */
static void test_wait_changes_across_connections(void **state)
{
	char path[] = "/tmp/p25-svc-XXXXXX", err[512], aux[64];
	struct p25_registry *a, *b;
	struct p25_actor who = who_at(T0);
	int64_t version = 0, m;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &a, err, sizeof err), 0);
	assert_int_equal(p25_registry_open(path, &b, err, sizeof err), 0);
	m = mark_of(a);
	assert_int_equal(p25_registry_wait_changes(a, m, 0), 0);
	assert_int_equal(p25_registry_changes_pending(a, m, &version), 0);
	/* Nothing committed since: the table is not even read. */
	assert_int_equal(p25_registry_changes_pending(a, m, &version), 0);
	assert_int_equal(p25_org_add(b, &who, "k12", "K12", 0, 0), 0);
	assert_int_equal(p25_registry_changes_pending(a, m, &version), 1);
	assert_int_equal(p25_registry_wait_changes(a, m, 1000), 1);
	m = mark_of(a);
	assert_int_equal(p25_registry_wait_changes(a, m, 300), 0);
	/* This connection's own commit counts too. */
	assert_int_equal(p25_org_add(a, &who, "k13", "K13", 0, 0), 0);
	assert_int_equal(p25_registry_wait_changes(a, m, 0), 1);
	p25_registry_close(a);
	p25_registry_close(b);
	unlink(path);
	snprintf(aux, sizeof aux, "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof aux, "%s-shm", path);
	unlink(aux);
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
 * Migration 6 rebuilds the request table (for status cancelled): the rows
 * that refer to a request (its items, the permits it created) keep referring
 * to it, none is cascaded away or nulled.
 */
static void test_migration_6_keeps_requests(void **state)
{
	char path[] = "/tmp/p25-svc-XXXXXX", err[512], aux[64];
	struct p25_registry *reg;
	struct p25_actor who = who_at(T0);
	struct p25_request_server servers[] = {{"192.0.2.10", P25_KIND_MAIL_SERVER, "mx", 0}};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = servers, .nservers = 1};
	int64_t req;
	sqlite3 *db;
	json_t *r;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	base_org(reg, "k12", "192.0.2.0/24");
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply(reg, &who, req), 0);
	p25_registry_close(reg);

	/* Back to v5: the request table as it was, and no change table. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "PRAGMA foreign_keys=OFF;"
	                 "BEGIN;"
	                 "CREATE TABLE request_v5 ("
	                 "  id INTEGER PRIMARY KEY,"
	                 "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
	                 "  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),"
	                 "  status TEXT NOT NULL"
	                 "    CHECK (status IN ('submitted','approved','applied','verified','rejected')),"
	                 "  requested_by TEXT NOT NULL,"
	                 "  note TEXT NOT NULL DEFAULT '',"
	                 "  submitted TEXT NOT NULL,"
	                 "  due TEXT NOT NULL,"
	                 "  approved TEXT, approved_by TEXT,"
	                 "  applied TEXT, applied_by TEXT,"
	                 "  verified TEXT, verified_by TEXT,"
	                 "  rejected TEXT, rejected_by TEXT, reason TEXT);"
	                 "INSERT INTO request_v5 SELECT id, org_id, type, status, requested_by, note,"
	                 "  submitted, due, approved, approved_by, applied, applied_by, verified,"
	                 "  verified_by, rejected, rejected_by, reason FROM request;"
	                 "DROP TABLE request;"
	                 "ALTER TABLE request_v5 RENAME TO request;"
	                 "CREATE INDEX request_org ON request(org_id);"
	                 "DROP TABLE change;"
	                 "DROP TABLE notice; DROP TABLE notice_alert; DROP TABLE campaign_org; "
	                 "DROP TABLE campaign; DROP TABLE verification; DROP TABLE inbound;"
	                 "DROP TABLE login_attempt; DROP TABLE api_token; DROP TABLE session;"
	                 "DROP TABLE account_org; DROP TABLE account;"
	                 "DROP TABLE attempts_daily; ALTER TABLE analysis DROP COLUMN report;"
	                 "DROP INDEX org_activate;"
	                 "ALTER TABLE org DROP COLUMN activate_at;"
	                 "ALTER TABLE org DROP COLUMN activate_by;"
	                 "ALTER TABLE org DROP COLUMN activate_no_servers;"
	                 "PRAGMA user_version = 5;"
	                 "COMMIT;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM permit WHERE request_id = 1"), 1);
	sqlite3_close(db);

	assert_int_equal(p25_registry_open(path, &reg, err, sizeof err), 0);
	assert_int_equal(p25_registry_schema_version(reg), 10);
	assert_int_equal(p25_request_show(reg, req, who.now, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "applied");
	assert_int_equal(json_array_size(json_object_get(r, "servers")), 1);
	assert_null(json_object_get(r, "cancelled"));
	json_decref(r);
	/* The new status works, and foreign keys are on again. */
	servers[0].address = "192.0.2.11";
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_cancel(reg, &who, req), 0);
	assert_int_equal(p25_request_show(reg, req, who.now, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "cancelled");
	assert_string_equal(json_string_value(json_object_get(r, "cancelled_by")), "tester");
	json_decref(r);
	assert_int_equal(p25_org_remove(reg, &who, "k12", true), 0);
	p25_registry_close(reg);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sql_int(db, "SELECT count(*) FROM request"), 0); /* cascaded with the org */
	assert_int_equal(sql_int(db, "SELECT count(*) FROM request_item"), 0);
	sqlite3_close(db);
	unlink(path);
	snprintf(aux, sizeof aux, "%s-wal", path);
	unlink(aux);
	snprintf(aux, sizeof aux, "%s-shm", path);
	unlink(aux);
}

/*
 * What following the changes asks of the kernel, seen without one: a state
 * directory that cannot exist makes any step that needs the enforcers' lock
 * fail, so only changes that touch nothing loaded succeed.
 */
static void test_follow_asks_the_kernel_only_for_policy(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0);
	char file[] = "/tmp/p25-svc-XXXXXX", dir[64], err[600];
	struct p25_enforce_opts o = {.now = who.now, .state_dir = dir};
	struct p25_request_server server = {"192.0.2.10", P25_KIND_MAIL_SERVER, "mx", 0};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_ADD_PERMIT, .servers = &server, .nservers = 1};
	struct p25_org_change rename = {.name = "Renamed"}, mode = {.set_mode = true,
	                                                            .mode = P25_MODE_BOTH};
	struct p25_follow_result res;
	int64_t m, id;
	int fd = mkstemp(file);

	assert_true(fd >= 0);
	close(fd);
	snprintf(dir, sizeof dir, "%s/run", file);
	base_org(reg, "k12", "192.0.2.0/24");
	m = mark_of(reg);
	assert_int_equal(p25_contact_add(reg, &who, "k12", "Tech", "tech@example.org", "",
	                                 P25_ROLE_TECHNICAL, &id),
	                 0);
	assert_int_equal(p25_request_submit(reg, &who, &spec, &id), 0);
	assert_int_equal(p25_org_set(reg, &who, "k12", &rename), 0);
	assert_int_equal(p25_enforce_follow(reg, m, &o, &res, err, sizeof err), 0);
	assert_int_equal(res.action, P25_FOLLOW_NONE);
	assert_int_equal(res.nchanges, 3);
	assert_int_equal(res.mark, mark_of(reg));

	/* A permit: a targeted update, which needs the lock. */
	m = mark_of(reg);
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.25", 0, &id), 0);
	assert_int_equal(p25_enforce_follow(reg, m, &o, &res, err, sizeof err), -1);
	assert_non_null(strstr(err, "the gateway was not updated"));
	/* An org's mode, a prefix: a sync. */
	m = mark_of(reg);
	assert_int_equal(p25_org_set(reg, &who, "k12", &mode), 0);
	assert_int_equal(p25_enforce_follow(reg, m, &o, &res, err, sizeof err), -1);
	m = mark_of(reg);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "198.51.100.0/24", "", 0), 0);
	assert_int_equal(p25_enforce_follow(reg, m, &o, &res, err, sizeof err), -1);
	/* Nothing after the mark: nothing to do. */
	assert_int_equal(p25_enforce_follow(reg, mark_of(reg), &o, &res, err, sizeof err), 0);
	assert_int_equal(res.action, P25_FOLLOW_NONE);
	assert_int_equal(res.nchanges, 0);
	unlink(file);
}

/* ---- the service: who may do what ---- */

/* Two orgs, a and b, each with what every operation needs to act on. */
struct org_fixture {
	const char *handle, *main, *spare, *server, *new_server;
	int64_t technical, permit, submitted, approved, applied;
};

struct fixture {
	struct p25_registry *reg;
	struct p25_service *svc;
	struct org_fixture org[2];
};

static void org_setup(struct p25_registry *reg, struct org_fixture *o)
{
	struct p25_actor who = who_at(T0);
	struct p25_request_server server = {NULL, P25_KIND_MAIL_SERVER, "mx", 0};
	struct p25_request_spec spec = {
	    .org = o->handle, .type = P25_REQ_ADD_PERMIT, .servers = &server, .nservers = 1};
	char addr[64];
	int64_t id;

	base_org(reg, o->handle, o->main);
	assert_int_equal(p25_prefix_add(reg, &who, o->handle, o->spare, "", 0), 0);
	assert_int_equal(p25_contact_add(reg, &who, o->handle, "Tech", "tech@example.org", "",
	                                 P25_ROLE_TECHNICAL, &o->technical),
	                 0);
	assert_int_equal(add_permit(reg, &who, o->handle, o->server, 0, &o->permit), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(addr, sizeof addr, "%s%d", o->new_server, i);
		server.address = addr;
		assert_int_equal(p25_request_submit(reg, &who, &spec, &id), 0);
		if (i == 0)
			o->submitted = id;
		else
			assert_int_equal(p25_request_approve(reg, &who, id), 0);
		if (i == 1)
			o->approved = id;
		if (i == 2) {
			assert_int_equal(p25_request_apply(reg, &who, id), 0);
			o->applied = id;
		}
	}
}

static void fixture_open(struct fixture *f)
{
	char err[256];

	memset(f, 0, sizeof *f);
	assert_int_equal(p25_registry_open(":memory:", &f->reg, err, sizeof err), 0);
	assert_int_equal(p25_service_open(f->reg, NULL, &f->svc), 0);
	f->org[0] = (struct org_fixture){.handle = "a",
	                                 .main = "192.0.2.0/24",
	                                 .spare = "2001:db8:a::/48",
	                                 .server = "192.0.2.25",
	                                 .new_server = "192.0.2.3"};
	f->org[1] = (struct org_fixture){.handle = "b",
	                                 .main = "203.0.113.0/24",
	                                 .spare = "2001:db8:b::/48",
	                                 .server = "203.0.113.25",
	                                 .new_server = "203.0.113.3"};
	org_setup(f->reg, &f->org[0]);
	org_setup(f->reg, &f->org[1]);
}

static void fixture_close(struct fixture *f)
{
	p25_service_close(f->svc);
	p25_registry_close(f->reg);
}

/* One operation on org o's objects, as auth. */
typedef int (*op_fn)(struct fixture *f, const struct p25_auth *auth, struct org_fixture *o);

static int op_org_add(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	char handle[16];
	snprintf(handle, sizeof handle, "%s-new", o->handle);
	return p25_service_org_add(f->svc, a, handle, "New", P25_MODE_OUTBOUND, P25_ACTION_REJECT);
}

static int op_org_enroll(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	struct p25_org_change c = {.set_enrollment = true, .enrollment = P25_ENROLL_ACTIVE};
	return p25_service_org_set(f->svc, a, o->handle, &c);
}

static int op_org_suspend(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	struct p25_org_change c = {.set_enrollment = true, .enrollment = P25_ENROLL_SUSPENDED};
	return p25_service_org_set(f->svc, a, o->handle, &c);
}

static int op_org_rename(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	struct p25_org_change c = {.name = "Renamed"};
	return p25_service_org_set(f->svc, a, o->handle, &c);
}

static int op_org_remove(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_org_remove(f->svc, a, o->handle, true);
}

static int op_prefix_add(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_prefix_add(f->svc, a, o->handle,
	                              o == &f->org[0] ? "10.10.0.0/16" : "10.20.0.0/16", "", 0);
}

static int op_prefix_remove(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_prefix_remove(f->svc, a, o->spare);
}

static int op_contact_add(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	int64_t id;
	return p25_service_contact_add(f->svc, a, o->handle, "Admin", "admin@example.org", "",
	                               P25_ROLE_ADMINISTRATIVE, &id);
}

static int op_contact_remove(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_contact_remove(f->svc, a, o->technical);
}

static int op_permit_add(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	char addr[64];
	struct p25_permit_spec spec = {
	    .org = o->handle, .address = addr, .kind = P25_KIND_MAIL_SERVER, .description = "x"};
	int64_t id;
	snprintf(addr, sizeof addr, "%s9", o->new_server);
	return p25_service_permit_add(f->svc, a, &spec, &id);
}

static int op_permit_remove(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_permit_remove(f->svc, a, o->permit);
}

static int op_permit_expiry(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_permit_set_expiry(f->svc, a, o->permit, at(T0) + 30 * P25_DAY);
}

static int op_import(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	char csv[128];
	struct p25_import_options opt = {.name = "s.csv", .org = o->handle};
	struct p25_import_result res;
	int n = snprintf(csv, sizeof csv, "address,kind,description\n%s8,mail,x\n", o->new_server);
	return p25_service_import_buffer(f->svc, a, csv, (size_t)n, &opt, &res);
}

static int op_submit(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	char addr[64];
	struct p25_request_server server = {addr, P25_KIND_MAIL_SERVER, "mx", 0};
	struct p25_request_spec spec = {
	    .org = o->handle, .type = P25_REQ_ADD_PERMIT, .servers = &server, .nservers = 1};
	int64_t id;
	snprintf(addr, sizeof addr, "%s7", o->new_server);
	return p25_service_request_submit(f->svc, a, &spec, &id);
}

static int op_approve(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_approve(f->svc, a, o->submitted);
}

static int op_reject(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_reject(f->svc, a, o->submitted, "no");
}

static int op_apply(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_apply(f->svc, a, o->approved, false);
}

static int op_verify(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_verify(f->svc, a, o->applied);
}

static int op_cancel(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_cancel(f->svc, a, o->submitted);
}

static int op_cancel_approved(struct fixture *f, const struct p25_auth *a, struct org_fixture *o)
{
	return p25_service_request_cancel(f->svc, a, o->approved);
}

enum who { OPERATOR, MEMBER, AUDITOR };
#define OPS_MEMBER 1 /* a member may, for their own org */

static const struct {
	const char *name;
	op_fn fn;
	unsigned flags;
} write_ops[] = {
    {"org add", op_org_add, 0},
    {"org set (enroll)", op_org_enroll, 0},
    {"org set (suspend)", op_org_suspend, 0},
    {"org set (rename)", op_org_rename, 0},
    {"org remove", op_org_remove, 0},
    {"prefix add", op_prefix_add, 0},
    {"prefix remove", op_prefix_remove, 0},
    {"contact add", op_contact_add, OPS_MEMBER},
    {"contact remove", op_contact_remove, OPS_MEMBER},
    {"permit add", op_permit_add, 0},
    {"permit remove", op_permit_remove, 0},
    {"permit set-expiry", op_permit_expiry, 0},
    {"import", op_import, 0},
    {"request submit", op_submit, OPS_MEMBER},
    {"request approve", op_approve, 0},
    {"request reject", op_reject, 0},
    {"request apply", op_apply, 0},
    {"request verify", op_verify, 0},
    {"request cancel (submitted)", op_cancel, OPS_MEMBER},
    {"request cancel (approved)", op_cancel_approved, OPS_MEMBER},
};

static const char *const only_a[] = {"a"}, *const only_b[] = {"b"};

static struct p25_auth auth_of(const char *label, enum p25_role role, const char *const *orgs)
{
	return (struct p25_auth){.actor = label,
	                         .role = role,
	                         .orgs = orgs,
	                         .norgs = orgs ? 1 : 0,
	                         .now = at(T0)};
}

/*
 * Every write, by the operator, a member of a, a member of b and an auditor,
 * on a's objects and on b's: done, or refused with P25_EDENIED and nothing
 * written (no change record), and the refusal names the actor.
 */
static void test_authorization_matrix_writes(void **state)
{
	const struct {
		struct p25_auth auth;
		int member_of; /* -1: none */
	} actors[] = {
	    {auth_of("olga", P25_ROLE_OPERATOR, NULL), -1},
	    {auth_of("alice", P25_ROLE_MEMBER, only_a), 0},
	    {auth_of("bob", P25_ROLE_MEMBER, only_b), 1},
	    {auth_of("audrey", P25_ROLE_AUDITOR, NULL), -1},
	};

	(void)state;
	for (size_t op = 0; op < sizeof write_ops / sizeof write_ops[0]; op++) {
		for (size_t w = 0; w < 4; w++) {
			for (int target = 0; target < 2; target++) {
				const struct p25_auth *a = &actors[w].auth;
				bool allowed = a->role == P25_ROLE_OPERATOR ||
				               (a->role == P25_ROLE_MEMBER &&
				                (write_ops[op].flags & OPS_MEMBER) &&
				                actors[w].member_of == target);
				struct fixture f;
				int64_t before;
				int rc;

				fixture_open(&f);
				before = mark_of(f.reg);
				rc = write_ops[op].fn(&f, a, &f.org[target]);
				if (allowed && rc != 0)
					fail_msg("%s by %s on %s: %d, want 0: %s", write_ops[op].name,
					         a->actor, f.org[target].handle, rc,
					         p25_service_error(f.svc));
				if (!allowed && rc != P25_EDENIED)
					fail_msg("%s by %s on %s: %d, want P25_EDENIED: %s",
					         write_ops[op].name, a->actor, f.org[target].handle, rc,
					         p25_service_error(f.svc));
				if (allowed)
					assert_true(mark_of(f.reg) > before);
				if (!allowed) {
					assert_int_equal(mark_of(f.reg), before);
					assert_non_null(strstr(p25_service_error(f.svc), a->actor));
				}
				fixture_close(&f);
			}
		}
	}
}

/* Reads: members see their own organizations only, in every listing and show. */
static void test_authorization_matrix_reads(void **state)
{
	struct p25_auth op = auth_of("olga", P25_ROLE_OPERATOR, NULL),
	                alice = auth_of("alice", P25_ROLE_MEMBER, only_a),
	                bob = auth_of("bob", P25_ROLE_MEMBER, only_b),
	                audrey = auth_of("audrey", P25_ROLE_AUDITOR, NULL),
	                nobody = auth_of("nora", P25_ROLE_MEMBER, NULL);
	struct p25_permit_filter pf = {.now = at(T0)};
	struct p25_request_filter rf = {.now = at(T0)};
	const struct p25_auth *all[] = {&op, &audrey};
	struct fixture f;
	json_t *v;
	size_t i;

	(void)state;
	fixture_open(&f);
	for (i = 0; i < 2; i++) {
		const struct p25_auth *a = all[i];
		assert_int_equal(p25_service_org_list(f.svc, a, &v), 0);
		assert_int_equal(json_array_size(v), 2);
		json_decref(v);
		assert_int_equal(p25_service_org_show(f.svc, a, "b", &v), 0);
		json_decref(v);
		assert_int_equal(p25_service_permit_list(f.svc, a, &pf, &v), 0);
		assert_int_equal(json_array_size(v), 4); /* one each, and each org's applied request's */
		json_decref(v);
		assert_int_equal(p25_service_request_list(f.svc, a, &rf, &v), 0);
		assert_int_equal(json_array_size(v), 6);
		json_decref(v);
		assert_int_equal(p25_service_export(f.svc, a, &v), 0);
		json_decref(v);
	}
	/* alice: a's rows only, whatever she asks for. */
	assert_int_equal(p25_service_org_list(f.svc, &alice, &v), 0);
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "handle")), "a");
	json_decref(v);
	assert_int_equal(p25_service_org_show(f.svc, &alice, "a", &v), 0);
	json_decref(v);
	assert_int_equal(p25_service_org_show(f.svc, &alice, "b", &v), P25_ENOTFOUND);
	assert_null(v);
	assert_non_null(strstr(p25_service_error(f.svc), "no organization 'b'"));
	assert_int_equal(p25_service_permit_list(f.svc, &alice, &pf, &v), 0);
	assert_int_equal(json_array_size(v), 2);
	for (i = 0; i < json_array_size(v); i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(v, i), "org")),
		                    "a");
	json_decref(v);
	/* a filter naming another org finds nothing, as an org that does not exist */
	pf.org = "b";
	assert_int_equal(p25_service_permit_list(f.svc, &alice, &pf, &v), P25_ENOTFOUND);
	pf.org = NULL;
	/* a scope the caller set is replaced by the actor's */
	{
		static const char *const both[] = {"a", "b"};
		struct p25_scope wide = {both, 2};
		pf.scope = &wide;
		assert_int_equal(p25_service_permit_list(f.svc, &alice, &pf, &v), 0);
		assert_int_equal(json_array_size(v), 2);
		json_decref(v);
		pf.scope = NULL;
	}
	assert_int_equal(p25_service_permit_show(f.svc, &alice, f.org[0].permit, &v), 0);
	json_decref(v);
	assert_int_equal(p25_service_permit_show(f.svc, &alice, f.org[1].permit, &v), P25_ENOTFOUND);
	assert_int_equal(p25_service_request_list(f.svc, &alice, &rf, &v), 0);
	assert_int_equal(json_array_size(v), 3);
	json_decref(v);
	assert_int_equal(p25_service_request_show(f.svc, &alice, f.org[0].submitted, &v), 0);
	json_decref(v);
	assert_int_equal(p25_service_request_show(f.svc, &alice, f.org[1].submitted, &v),
	                 P25_ENOTFOUND);
	assert_int_equal(p25_service_prefix_list(f.svc, &alice, NULL, &v), 0);
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);
	assert_int_equal(p25_service_contact_list(f.svc, &alice, NULL, &v), 0);
	assert_int_equal(json_array_size(v), 2);
	json_decref(v);
	assert_int_equal(p25_service_contact_list(f.svc, &alice, "b", &v), P25_ENOTFOUND);
	/* the audit log: the records of a's changes, none of b's */
	assert_int_equal(p25_service_audit_list(f.svc, &alice, 0, &v), 0);
	assert_true(json_array_size(v) > 0);
	for (i = 0; i < json_array_size(v); i++) {
		json_t *r = json_array_get(v, i);
		char *dump = json_dumps(r, JSON_COMPACT);
		if (strstr(dump, "\"b\"") || strstr(dump, "203.0.113."))
			fail_msg("alice reads an audit record of b: %s", dump);
		free(dump);
	}
	json_decref(v);
	assert_int_equal(p25_service_export(f.svc, &alice, &v), P25_EDENIED);
	/* bob: b's */
	assert_int_equal(p25_service_org_list(f.svc, &bob, &v), 0);
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(v, 0), "handle")), "b");
	json_decref(v);
	assert_int_equal(p25_service_request_show(f.svc, &bob, f.org[0].applied, &v), P25_ENOTFOUND);
	/* a member of no organization sees nothing at all */
	assert_int_equal(p25_service_org_list(f.svc, &nobody, &v), 0);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	assert_int_equal(p25_service_permit_list(f.svc, &nobody, &pf, &v), 0);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	assert_int_equal(p25_service_audit_list(f.svc, &nobody, 0, &v), 0);
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
	/* no actor, no service */
	nobody.actor = "";
	assert_int_equal(p25_service_org_list(f.svc, &nobody, &v), P25_EDENIED);
	assert_int_equal(p25_service_org_list(f.svc, NULL, &v), P25_EDENIED);
	fixture_close(&f);
}

/* The rules a member meets beyond the matrix: their own name, and the refusals' words. */
static void test_member_requests(void **state)
{
	struct p25_auth alice = auth_of("alice", P25_ROLE_MEMBER, only_a);
	struct p25_request_server server = {"192.0.2.77", P25_KIND_MAIL_SERVER, "mx", 0};
	struct p25_request_spec spec = {.org = "a",
	                                .type = P25_REQ_ADD_PERMIT,
	                                .servers = &server,
	                                .nservers = 1,
	                                .requested_by = "mallory"};
	struct fixture f;
	json_t *r;
	int64_t id;

	(void)state;
	fixture_open(&f);
	assert_int_equal(p25_service_request_submit(f.svc, &alice, &spec, &id), P25_EDENIED);
	assert_non_null(strstr(p25_service_error(f.svc), "mallory"));
	spec.requested_by = NULL;
	assert_int_equal(p25_service_request_submit(f.svc, &alice, &spec, &id), 0);
	assert_int_equal(p25_service_request_show(f.svc, &alice, id, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "requested_by")), "alice");
	json_decref(r);
	assert_int_equal(p25_service_request_cancel(f.svc, &alice, id), 0);
	assert_int_equal(p25_service_request_show(f.svc, &alice, id, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "cancelled");
	assert_string_equal(json_string_value(json_object_get(r, "cancelled_by")), "alice");
	json_decref(r);
	/* closed: not hers to cancel twice, and an applied request is not cancelled either */
	assert_int_equal(p25_service_request_cancel(f.svc, &alice, id), P25_ECONFLICT);
	assert_int_equal(p25_service_request_cancel(f.svc, &alice, f.org[0].applied), P25_ECONFLICT);
	/* refusals say who, what and why */
	assert_int_equal(p25_service_request_approve(f.svc, &alice, f.org[0].submitted),
	                 P25_EDENIED);
	assert_string_equal(p25_service_error(f.svc),
	                    "member 'alice' may not approve requests: only an operator may");
	assert_int_equal(op_contact_add(&f, &alice, &f.org[1]), P25_EDENIED);
	assert_string_equal(p25_service_error(f.svc), "member 'alice' may not add contacts for "
	                                              "organization 'b': they act for a only");
	/* an id that is not hers is refused alike whether it exists or not */
	assert_int_equal(p25_service_contact_remove(f.svc, &alice, f.org[1].technical),
	                 P25_EDENIED);
	assert_non_null(strstr(p25_service_error(f.svc), "not of an organization of theirs"));
	assert_int_equal(p25_service_contact_remove(f.svc, &alice, 999), P25_EDENIED);
	assert_int_equal(p25_service_request_cancel(f.svc, &alice, 999), P25_EDENIED);
	fixture_close(&f);
}

/*
 * The library's messages name no command line option or command; where one
 * would help, the hint says which and where, and a prefix keeps it.
 */
static void test_messages_carry_hints_not_options(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_actor who = who_at(T0);
	struct p25_request_server server = {"192.0.2.10", P25_KIND_MAIL_SERVER, "mx", 0};
	struct p25_request_spec spec = {
	    .org = "k12", .type = P25_REQ_SIGNUP, .servers = &server, .nservers = 1};
	struct p25_import_options opt = {.name = "x.json", .org = "other"};
	static const char doc[] = "{\"org\": \"k12\", \"servers\": [{\"address\": \"192.0.2.9\", "
	                          "\"kind\": \"mail\", \"description\": \"x\"}]}";
	struct p25_import_result res;
	const struct p25_hint *h = p25_registry_hint(reg);
	const char *e = p25_registry_error(reg);
	int64_t req, pid;

	assert_int_equal(p25_org_add(reg, &who, "k12", "K12", 0, 0), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "10.1.2.3/16", "", 0), P25_EINVAL);
	assert_int_equal(h->code, P25_HINT_NORMALIZE);
	assert_int_equal(h->tail, 0);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.0/24", "", 0), 0);
	assert_int_equal(add_permit(reg, &who, "nobody", "192.0.2.9", 0, &pid), P25_ENOTFOUND);
	assert_string_equal(e, "no organization 'nobody'");
	assert_int_equal(h->code, P25_HINT_LIST_ORGS);

	/* Inside the parenthesis: tail 1. */
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.9", who.now + P25_DAY, &pid), 0);
	assert_int_equal(add_permit(reg, &who, "k12", "192.0.2.9", 0, &pid), P25_ECONFLICT);
	assert_int_equal(h->code, P25_HINT_EXTEND_PERMIT);
	assert_int_equal(h->id, 1);
	assert_int_equal(h->tail, 1);
	assert_string_equal(e + strlen(e) - 1, ")");

	/* A sign-up applied without a security contact: the prefix keeps the hint. */
	server.address = "192.0.2.10";
	assert_int_equal(p25_request_submit(reg, &who, &spec, &req), 0);
	assert_int_equal(p25_request_approve(reg, &who, req), 0);
	assert_int_equal(p25_request_apply(reg, &who, req), P25_EINVAL);
	assert_non_null(strstr(e, "applying request 1: organization 'k12' cannot become active"));
	assert_int_equal(h->code, P25_HINT_ADD_SECURITY);
	assert_string_equal(h->org, "k12");
	assert_int_equal(h->tail, 0);

	/* A span the front end words its own way. */
	assert_int_equal(p25_import_buffer(reg, &who, doc, sizeof doc - 1, &opt, &res), P25_EINVAL);
	assert_int_equal(h->code, P25_HINT_IMPORT_ORG_NAMED);
	assert_int_equal(h->span, strlen("the import's organization"));
	assert_int_equal(h->tail, strlen(" is 'other'"));
	assert_string_equal(e + strlen(e) - h->tail - h->span,
	                    "the import's organization is 'other'");
	assert_null(strstr(e, "--"));

	/* A new message drops the old hint. */
	assert_int_equal(p25_org_add(reg, &who, "k12", "K12", 0, 0), P25_ECONFLICT);
	assert_int_equal(h->code, P25_HINT_NONE);
}

/* A result of p25_verify_run, as far as the verdict reads it. */
static struct p25_verify_result result(const char *addr, bool pass)
{
	struct p25_verify_result r;
	struct p25_diag d;

	memset(&r, 0, sizeof r);
	assert_int_equal(p25_addr_parse(addr, 0, &r.target.addr, &d), 0);
	r.pass = pass;
	r.policy.status = P25_CHECK_PASS;
	r.smtp.status = pass ? P25_CHECK_PASS : P25_CHECK_FAIL;
	return r;
}

/* When a request counts as verified (port25 verify --request): the service decides. */
static void test_verify_verdict(void **state)
{
	struct p25_auth op = auth_of("olga", P25_ROLE_OPERATOR, NULL),
	                alice = auth_of("alice", P25_ROLE_MEMBER, only_a);
	struct p25_verify_mx mx = {.port = 25};
	struct p25_verify_opts with_mx = {.mx = &mx, .nmx = 1}, without = {0};
	struct p25_verify_result ok[2] = {result("192.0.2.32", true), result("192.0.2.33", true)};
	struct p25_verify_result bad[3] = {result("192.0.2.32", true),
	                                   result("192.0.2.33", false),
	                                   result("192.0.2.34", false)};
	struct p25_verify_target *targets;
	struct p25_request_verdict v;
	struct p25_model m;
	struct fixture f;
	json_t *r;
	size_t n;

	(void)state;
	fixture_open(&f);
	assert_int_equal(p25_registry_load_model(f.reg, &m), 0);
	/* Only an applied request is checked; the plan says why not. */
	assert_int_equal(
	    p25_service_verify_plan(f.svc, &op, &m, f.org[0].approved, &r, &targets, &n),
	    P25_ECONFLICT);
	assert_string_equal(p25_service_error(f.svc), "request 2 is approved, not applied: apply "
	                                              "it first");
	assert_int_equal(
	    p25_service_verify_plan(f.svc, &alice, &m, f.org[0].applied, &r, &targets, &n),
	    P25_EDENIED);
	assert_int_equal(p25_service_verify_plan(f.svc, &op, &m, f.org[0].applied, &r, &targets, &n),
	                 0);
	assert_int_equal(n, 1);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "applied");
	json_decref(r);
	free(targets);

	/* A failed check: stays applied, the first failure named. */
	assert_int_equal(
	    p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &with_mx, bad, 3, &v), 0);
	assert_int_equal(v.outcome, P25_OUTCOME_FAILED);
	assert_int_equal(v.passed, 1);
	assert_int_equal(v.failed, 2);
	assert_string_equal(v.reason, "192.0.2.33 smtp/25 failed and 1 more");
	assert_int_equal(
	    p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &with_mx, bad, 2, &v), 0);
	assert_string_equal(v.reason, "192.0.2.33 smtp/25 failed");
	/* Nothing to check, or no message sent: not verified either. */
	assert_int_equal(p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &with_mx, ok, 0, &v),
	                 0);
	assert_int_equal(v.outcome, P25_OUTCOME_EMPTY);
	assert_int_equal(p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &without, ok, 2, &v),
	                 0);
	assert_int_equal(v.outcome, P25_OUTCOME_UNSENT);
	assert_int_equal(p25_service_request_show(f.svc, &op, f.org[0].applied, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "applied");
	json_decref(r);
	/* Every check passed through an exchanger: verified, by the actor. */
	assert_int_equal(p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &with_mx, ok, 2, &v),
	                 0);
	assert_int_equal(v.outcome, P25_OUTCOME_VERIFIED);
	assert_string_equal(v.reason, "");
	assert_int_equal(p25_service_request_show(f.svc, &op, f.org[0].applied, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "verified");
	assert_string_equal(json_string_value(json_object_get(r, "verified_by")), "olga");
	json_decref(r);
	/* Not twice: marking fails, and says so. */
	assert_true(p25_service_verify_verdict(f.svc, &op, f.org[0].applied, &with_mx, ok, 2, &v) <
	            0);
	assert_int_equal(v.outcome, P25_OUTCOME_UNMARKED);
	assert_non_null(strstr(v.reason, "verified"));
	p25_model_free(&m);
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_object_verbs_write_typed_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_supersede_and_requests_write_typed_changes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_import_writes_typed_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_changes_leave_no_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changes_since_limit_and_callback, setup, teardown),
	    cmocka_unit_test(test_wait_changes_across_connections),
	    cmocka_unit_test(test_migration_6_keeps_requests),
	    cmocka_unit_test_setup_teardown(test_follow_asks_the_kernel_only_for_policy, setup,
	                                    teardown),
	    cmocka_unit_test(test_authorization_matrix_writes),
	    cmocka_unit_test(test_authorization_matrix_reads),
	    cmocka_unit_test(test_member_requests),
	    cmocka_unit_test_setup_teardown(test_messages_carry_hints_not_options, setup, teardown),
	    cmocka_unit_test(test_verify_verdict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
