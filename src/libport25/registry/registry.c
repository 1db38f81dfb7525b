/*
 * The registry store: opening, schema migrations, statement helpers,
 * transactions, the audit log and the model loader.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/internal.h"
#include "util/buf.h"

/*
 * Each step moves the schema one version forward and runs in its own
 * transaction with the user_version bump, so a crash leaves a whole version.
 * Append new steps; never edit a released one.
 */
static const char *const migrations[] = {
    /* 1: the registry as first released. */
    "CREATE TABLE org ("
    "  id INTEGER PRIMARY KEY,"
    "  handle TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  enrollment TEXT NOT NULL CHECK (enrollment IN ('none','pending','active','suspended')),"
    "  mode TEXT NOT NULL CHECK (mode IN ('outbound','both')),"
    "  action TEXT NOT NULL CHECK (action IN ('reject','drop')),"
    "  created TEXT NOT NULL,"
    "  updated TEXT NOT NULL);"
    "CREATE TABLE prefix ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  net BLOB NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  text TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created TEXT NOT NULL);"
    "CREATE INDEX prefix_org ON prefix(org_id);"
    "CREATE TABLE contact ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  phone TEXT NOT NULL DEFAULT '',"
    "  role TEXT NOT NULL CHECK (role IN ('security','technical','administrative')),"
    "  created TEXT NOT NULL);"
    "CREATE INDEX contact_org ON contact(org_id);"
    "CREATE TABLE request ("
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
    "CREATE INDEX request_org ON request(org_id);"
    /* permit_id is no foreign key: applying a removal deletes the permit it names. */
    "CREATE TABLE request_item ("
    "  request_id INTEGER NOT NULL REFERENCES request(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  address TEXT NOT NULL,"
    "  kind TEXT CHECK (kind IN ('mail-server','application-server','network-device')),"
    "  description TEXT,"
    "  permit_id INTEGER,"
    "  PRIMARY KEY (request_id, seq));"
    "CREATE TABLE permit ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  net BLOB NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  kind TEXT NOT NULL"
    "    CHECK (kind IN ('mail-server','application-server','network-device')),"
    "  description TEXT NOT NULL,"
    "  requested_by TEXT NOT NULL,"
    "  approved_by TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  expires TEXT,"
    "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
    "  UNIQUE (org_id, text));"
    "CREATE INDEX permit_org ON permit(org_id);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  object_type TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  before TEXT,"
    "  after TEXT);",
    /*
     * 2: what port25 watch learns about blocked hosts.  Hosts are the org-side
     * address (source of outbound, destination of inbound attempts); org is
     * the handle last seen, no foreign key, so summaries outlive an org.
     * state is watch's own JSON (per-destination retry schedule, sketch),
     * read back at start.
     */
    "CREATE TABLE host_summary ("
    "  host TEXT NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  org TEXT,"
    "  attempts INTEGER NOT NULL,"
    "  packets INTEGER NOT NULL,"
    "  destinations INTEGER NOT NULL,"
    "  destinations_approx INTEGER NOT NULL DEFAULT 0,"
    "  peak_per_minute INTEGER NOT NULL DEFAULT 0,"
    "  active_hours INTEGER NOT NULL DEFAULT 0,"
    "  first_seen TEXT NOT NULL,"
    "  last_seen TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  state TEXT,"
    "  PRIMARY KEY (host, direction));"
    "CREATE INDEX host_summary_last ON host_summary(last_seen);"
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
    "  UNIQUE (kind, host, direction));",
    /*
     * 3: alerts end.  A resolved alert (a valid permit covers the host now,
     * or the host has been quiet) is history: the one-alert-per-host-and-kind
     * rule holds for the others only, so a host blocked again after a quiet
     * spell raises a new alert.  SQLite cannot drop a table constraint: the
     * table is rebuilt, ids and rows kept.  Nothing references alert.
     */
    "CREATE TABLE alert_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),"
    "  host TEXT NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
    "  org TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed','resolved')),"
    "  raised TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  evidence TEXT NOT NULL,"
    "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
    "  resolved_at TEXT,"
    "  resolved_reason TEXT CHECK (resolved_reason IN ('permitted','quiet')),"
    "  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolved_reason IS NOT NULL)));"
    "INSERT INTO alert_v3 (id, kind, host, direction, org, status, raised, updated, evidence,"
    "  request_id) SELECT id, kind, host, direction, org, status, raised, updated, evidence,"
    "  request_id FROM alert;"
    "DROP TABLE alert;"
    "ALTER TABLE alert_v3 RENAME TO alert;"
    "CREATE UNIQUE INDEX alert_current ON alert(kind, host, direction)"
    "  WHERE status <> 'resolved';"
    /* What each flush resolves: the open and drafted alerts, without a scan. */
    "CREATE INDEX alert_status ON alert(status);",
    /*
     * 4: a server on a request carries its expiry, so a temporary variance
     * requested is applied as a temporary permit.  NULL: permanent.
     */
    "ALTER TABLE request_item ADD COLUMN expires TEXT;",
    /*
     * 5: what port25 analyze found per organization: the hosts it saw speak
     * SMTP and the addresses it classed as unregistered mail servers (a JSON
     * array), so that activating the org can warn about the ones it blocks.
     */
    "CREATE TABLE analysis ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  hosts INTEGER NOT NULL,"
    "  unregistered TEXT NOT NULL);"
    "CREATE INDEX analysis_org ON analysis(org_id, id);",
    /*
     * 6: typed changes (changes.c), one per audit record, in its
     * transaction; AUTOINCREMENT so that a seq is never handed out twice,
     * even once old changes are pruned.  And a request can be cancelled:
     * SQLite cannot widen a CHECK constraint, so the request table is
     * rebuilt (with foreign keys off, see migrate(): request_item, permit
     * and alert refer to it), ids and rows kept.
     */
    "CREATE TABLE change ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  audit_id INTEGER NOT NULL REFERENCES audit(id),"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  org TEXT,"
    "  object_id INTEGER,"
    "  subject TEXT,"
    "  related INTEGER,"
    "  present_before INTEGER NOT NULL, present_after INTEGER NOT NULL,"
    "  expires_before TEXT, expires_after TEXT,"
    "  state_before TEXT, state_after TEXT,"
    "  mode_before TEXT, mode_after TEXT,"
    "  action_before TEXT, action_after TEXT);"
    "CREATE INDEX change_audit ON change(audit_id);"
    "CREATE TABLE request_v6 ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),"
    "  status TEXT NOT NULL"
    "    CHECK (status IN ('submitted','approved','applied','verified','rejected',"
    "                      'cancelled')),"
    "  requested_by TEXT NOT NULL,"
    "  note TEXT NOT NULL DEFAULT '',"
    "  submitted TEXT NOT NULL,"
    "  due TEXT NOT NULL,"
    "  approved TEXT, approved_by TEXT,"
    "  applied TEXT, applied_by TEXT,"
    "  verified TEXT, verified_by TEXT,"
    "  rejected TEXT, rejected_by TEXT, reason TEXT,"
    "  cancelled TEXT, cancelled_by TEXT);"
    "INSERT INTO request_v6 (id, org_id, type, status, requested_by, note, submitted, due,"
    "  approved, approved_by, applied, applied_by, verified, verified_by, rejected,"
    "  rejected_by, reason) SELECT id, org_id, type, status, requested_by, note, submitted,"
    "  due, approved, approved_by, applied, applied_by, verified, verified_by, rejected,"
    "  rejected_by, reason FROM request;"
    "DROP TABLE request;"
    "ALTER TABLE request_v6 RENAME TO request;"
    "CREATE INDEX request_org ON request(org_id);",
    /*
     * 7 here, v8 (notices) at merge: mail with members (registry/notices.h).
     * notice: the outbox, one row per recipient, written in the transaction
     * of the change that caused it; key makes a time-driven notice (an
     * expiring variance, a reminder) queued once however often the scan
     * runs; message_id is fixed when queued, so a resend after a crash is
     * the same message.  campaign, campaign_org: the announcement and who
     * answered.  verification: the per-request token of the applied notice
     * and what verified it.  inbound: every message verify-inbox was handed,
     * with its outcome.  notice_alert: the watch alerts each abuse report
     * carried, so none is reported twice.
     */
    "CREATE TABLE notice ("
    "  id INTEGER PRIMARY KEY,"
    "  key TEXT UNIQUE,"
    "  message_id TEXT NOT NULL UNIQUE,"
    "  reference TEXT NOT NULL DEFAULT '',"
    "  template TEXT NOT NULL,"
    "  org TEXT,"
    "  recipient TEXT,"
    "  recipient_name TEXT,"
    "  roles TEXT NOT NULL DEFAULT '',"
    "  data TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('queued','sending','sent','failed',"
    "    'undeliverable','cancelled')),"
    "  created TEXT NOT NULL,"
    "  change_seq INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  first_attempt TEXT,"
    "  next_attempt TEXT,"
    "  lease_owner TEXT, lease_until TEXT,"
    "  sent TEXT,"
    "  smtp_code INTEGER,"
    "  last_error TEXT);"
    "CREATE INDEX notice_state ON notice(state, next_attempt);"
    "CREATE INDEX notice_org ON notice(org, template, created);"
    "CREATE TABLE notice_alert ("
    "  alert_id INTEGER PRIMARY KEY,"
    "  notice_ref TEXT NOT NULL,"
    "  reported TEXT NOT NULL);"
    "CREATE TABLE campaign ("
    "  id INTEGER PRIMARY KEY,"
    "  template TEXT NOT NULL,"
    "  deadline TEXT NOT NULL,"
    "  reminders TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  created_by TEXT NOT NULL);"
    "CREATE TABLE campaign_org ("
    "  campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,"
    "  org TEXT NOT NULL,"
    "  token TEXT NOT NULL UNIQUE,"
    "  answered TEXT, answered_how TEXT, answered_ref TEXT,"
    "  PRIMARY KEY (campaign_id, org));"
    "CREATE TABLE verification ("
    "  request_id INTEGER PRIMARY KEY REFERENCES request(id) ON DELETE CASCADE,"
    "  token TEXT NOT NULL UNIQUE,"
    "  address TEXT NOT NULL,"
    "  deadline TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  verified TEXT, server TEXT, message_id TEXT);"
    "CREATE TABLE inbound ("
    "  id INTEGER PRIMARY KEY,"
    "  received TEXT NOT NULL,"
    "  message_id TEXT, mail_from TEXT, rcpt TEXT, subject TEXT,"
    "  connecting TEXT, token TEXT,"
    "  outcome TEXT NOT NULL,"
    "  org TEXT, request_id INTEGER,"
    "  detail TEXT NOT NULL DEFAULT '');",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int reg_fail(struct p25_registry *reg, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reg->error, sizeof reg->error, fmt, ap);
	va_end(ap);
	memset(&reg->hint, 0, sizeof reg->hint);
	return code;
}

int reg_wrap(struct p25_registry *reg, int code, const char *fmt, ...)
{
	char where[512], msg[sizeof reg->error];
	struct p25_buf b;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(where, sizeof where, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s", reg->error);
	/* The hint counts from the end, which a prefix leaves where it was. */
	if (strlen(where) + 2 + strlen(msg) >= sizeof reg->error)
		memset(&reg->hint, 0, sizeof reg->hint); /* truncated: the end moves */
	p25_buf_init(&b);
	p25_buf_printf(&b, "%s: %s", where, msg);
	snprintf(reg->error, sizeof reg->error, "%s", b.data ? b.data : where);
	p25_buf_free(&b);
	return code;
}

static void hint_set(struct p25_hint *h, enum p25_hint_code code, const char *org, int64_t id,
                     size_t tail, size_t span)
{
	memset(h, 0, sizeof *h);
	h->code = code;
	snprintf(h->org, sizeof h->org, "%s", org ? org : "");
	h->id = id;
	h->tail = tail;
	h->span = span;
}

int reg_hint(struct p25_registry *reg, int code, enum p25_hint_code hint, const char *org,
             int64_t id, size_t tail)
{
	hint_set(&reg->hint, hint, org, id, tail, 0);
	return code;
}

int reg_hint_replace(struct p25_registry *reg, int code, enum p25_hint_code hint,
                     const char *span)
{
	const char *at = NULL;

	for (const char *p = reg->error; (p = strstr(p, span)); p++)
		at = p;
	if (at)
		hint_set(&reg->hint, hint, NULL, 0, strlen(at + strlen(span)), strlen(span));
	return code;
}

void reg_warning_hint(struct p25_registry *reg, enum p25_hint_code hint, const char *org)
{
	hint_set(&reg->warning_hint, hint, org, 0, 0, 0);
}

const struct p25_hint *p25_registry_hint(const struct p25_registry *reg)
{
	return &reg->hint;
}

const struct p25_hint *p25_registry_warning_hint(const struct p25_registry *reg)
{
	return &reg->warning_hint;
}

int reg_dbfail(struct p25_registry *reg, const char *what)
{
	return reg_fail(reg, P25_EDB, "registry: %s: %s", what, sqlite3_errmsg(reg->db));
}

static int bind_args(struct p25_registry *reg, sqlite3_stmt *st, const char *fmt, va_list ap)
{
	int rc = SQLITE_OK;

	for (int i = 1; fmt && *fmt && rc == SQLITE_OK; fmt++, i++) {
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(st, i);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 't':
		case 'T': {
			p25_time t = va_arg(ap, p25_time);
			char buf[P25_TIME_STRLEN];
			rc = t || *fmt == 'T'
			         ? sqlite3_bind_text(st, i, p25_time_format(t, buf, sizeof buf), -1,
			                             SQLITE_TRANSIENT)
			         : sqlite3_bind_null(st, i);
			break;
		}
		case 'b': {
			const struct p25_prefix *p = va_arg(ap, const struct p25_prefix *);
			unsigned char net[16];
			prefix_net_bytes(p, net);
			rc = sqlite3_bind_blob(st, i, net, 16, SQLITE_TRANSIENT);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
			break;
		}
	}
	if (rc != SQLITE_OK)
		return reg_dbfail(reg, "binding a query");
	return 0;
}

sqlite3_stmt *reg_query(struct p25_registry *reg, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (sqlite3_prepare_v2(reg->db, sql, -1, &st, NULL) != SQLITE_OK) {
		reg_dbfail(reg, "preparing a query");
		return NULL;
	}
	va_start(ap, fmt);
	rc = bind_args(reg, st, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int reg_step(struct p25_registry *reg, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	reg_dbfail(reg, "running a query");
	sqlite3_finalize(st);
	return P25_EDB;
}

int reg_exec(struct p25_registry *reg, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc;

	if (sqlite3_prepare_v2(reg->db, sql, -1, &st, NULL) != SQLITE_OK)
		return reg_dbfail(reg, "preparing a statement");
	va_start(ap, fmt);
	rc = bind_args(reg, st, fmt, ap);
	va_end(ap);
	if (rc == 0) {
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : reg_dbfail(reg, "writing");
	}
	sqlite3_finalize(st);
	return rc;
}

const char *col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	return s ? (const char *)s : "";
}

int64_t col_int(reg_stmt *st, int col)
{
	return sqlite3_column_int64(st, col);
}

bool col_null(reg_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

void reg_done(reg_stmt *st)
{
	sqlite3_finalize(st);
}

int64_t reg_last_id(struct p25_registry *reg)
{
	return sqlite3_last_insert_rowid(reg->db);
}

p25_time col_time(sqlite3_stmt *st, int col)
{
	char err[8];
	p25_time t = 0;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return 0;
	if (p25_time_parse(col_text(st, col), &t, err, sizeof err) < 0)
		return 0;
	return t;
}

json_t *json_text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *json_time_or_null(p25_time t)
{
	char buf[P25_TIME_STRLEN];
	return t ? json_string(p25_time_format(t, buf, sizeof buf)) : json_null();
}

int reg_begin(struct p25_registry *reg)
{
	reg->error[0] = reg->warning[0] = '\0';
	memset(&reg->hint, 0, sizeof reg->hint);
	memset(&reg->warning_hint, 0, sizeof reg->warning_hint);
	/* IMMEDIATE: take the write lock now, so two operators cannot interleave checks. */
	if (sqlite3_exec(reg->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return reg_dbfail(reg, "starting a transaction");
	return 0;
}

int reg_end(struct p25_registry *reg, int rc)
{
	if (rc == 0) {
		if (sqlite3_exec(reg->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
			return 0;
		rc = reg_dbfail(reg, "committing");
	}
	sqlite3_exec(reg->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static char *dump_or_null(json_t *v)
{
	return v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
}

/*
 * The one writer of audit records, and so of change records: a registry
 * change (an action change_kind_of_action knows) gets its typed change right
 * after its audit record, in the same transaction, whichever call made it.
 */
static int audit_write(struct p25_registry *reg, const struct p25_actor *who, const char *action,
                       const char *type, const char *object, json_t *before, json_t *after)
{
	char *b = dump_or_null(before), *a = dump_or_null(after);
	enum p25_change_kind kind;
	int rc;

	if ((before && !b) || (after && !a))
		rc = reg_fail(reg, P25_EDB, "registry: out of memory writing the audit log");
	else
		rc = reg_exec(reg,
		              "INSERT INTO audit (at, actor, action, object_type, object, before, "
		              "after) VALUES (?, ?, ?, ?, ?, ?, ?)",
		              "Tssssss", who->now, who->name, action, type, object, b, a);
	free(b);
	free(a);
	if (rc == 0 && change_kind_of_action(action, &kind) == 0)
		rc = change_record(reg, who, kind, reg_last_id(reg), object,
		                   before, after);
	return rc;
}

int reg_audit(struct p25_registry *reg, const struct p25_actor *who, const char *action,
              const char *type, const char *object, json_t *before, json_t *after)
{
	return audit_write(reg, who, action, type, object, before, after);
}

int reg_change(struct p25_registry *reg, const struct p25_actor *who, enum p25_change_kind kind,
               const char *object, json_t *before, json_t *after)
{
	const char *action, *type;

	if (change_kind_audit(kind, &action, &type) < 0)
		return reg_fail(reg, P25_EDB, "registry: unknown change kind %d", (int)kind);
	return audit_write(reg, who, action, type, object, before, after);
}

char *permit_text(const struct p25_prefix *p, char *buf, size_t buflen)
{
	struct p25_addr a;

	if (p25_prefix_is_host(p)) {
		p25_prefix_first(p, &a);
		return p25_addr_format(&a, buf, buflen);
	}
	return p25_prefix_format(p, buf, buflen);
}

void prefix_net_bytes(const struct p25_prefix *p, unsigned char out[16])
{
	p25_u128 v = p->net;
	for (int i = 15; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
}

/* After a migration step: no row refers to a row that is not there. */
static int foreign_keys_hold(struct p25_registry *reg)
{
	reg_stmt *st = reg_query(reg, "PRAGMA foreign_key_check", "");
	int rc;

	if (!st)
		return P25_EDB;
	rc = reg_step(reg, st);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		rc = reg_fail(reg, P25_EDB, "registry: a row of table %s refers to a missing row of %s",
		              col_text(st, 0), col_text(st, 2));
		reg_done(st);
		return rc;
	}
	reg_done(st);
	return 0;
}

static int migrate(struct p25_registry *reg, char *err, size_t errlen)
{
	int version = p25_registry_schema_version(reg);

	if (version < 0) {
		snprintf(err, errlen, "%s", reg->error);
		return -1;
	}
	if (version > NMIGRATIONS) {
		snprintf(err, errlen,
		         "registry schema version %d is newer than this port25 understands (%d)",
		         version, NMIGRATIONS);
		return -1;
	}
	/*
	 * SQLite's procedure for a table rebuilt: foreign keys off (a pragma
	 * that is a no-op inside a transaction), so that dropping the old table
	 * neither cascades nor nulls its children's references, and a foreign
	 * key check before the commit, so that nothing is left dangling.
	 */
	if (version < NMIGRATIONS &&
	    sqlite3_exec(reg->db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "migrating the schema: %s", sqlite3_errmsg(reg->db));
		return -1;
	}
	for (int v = version; v < NMIGRATIONS; v++) {
		char bump[48];
		int rc = reg_begin(reg);
		if (rc == 0 && sqlite3_exec(reg->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK)
			rc = reg_dbfail(reg, "migrating the schema");
		if (rc == 0)
			rc = foreign_keys_hold(reg);
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		if (rc == 0 && sqlite3_exec(reg->db, bump, NULL, NULL, NULL) != SQLITE_OK)
			rc = reg_dbfail(reg, "recording the schema version");
		if (reg_end(reg, rc) < 0) {
			snprintf(err, errlen, "migrating to schema version %d: %s", v + 1,
			         reg->error);
			sqlite3_exec(reg->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
			return -1;
		}
	}
	if (sqlite3_exec(reg->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "migrating the schema: %s", sqlite3_errmsg(reg->db));
		return -1;
	}
	return 0;
}

/*
 * The registry holds contacts' names, e-mail addresses and phone numbers:
 * it is created readable by its owner only (0600), or by the group too
 * (0640) when its directory belongs to a group named port25, whatever the
 * umask.  SQLite creates the -wal and -shm files with the database's mode.
 */
#define REGISTRY_GROUP "port25"

/* In-memory databases and URIs are SQLite's business. */
static bool is_plain_path(const char *path)
{
	return *path && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0;
}

/* mkdir -p of the directory part of path; each directory made is 0750 whatever the umask. */
static int make_parents(const char *path, char *err, size_t errlen)
{
	char *dir = strdup(path), *slash;
	int rc = 0;

	if (!dir) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1;; p++) {
			char c = *p;
			if (c != '/' && c != '\0')
				continue;
			*p = '\0';
			if (mkdir(dir, 0750) == 0) {
				chmod(dir, 0750);
			} else if (errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create the directory %s: %s",
				         path, dir, strerror(errno));
				rc = -1;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(dir);
	return rc;
}

/* 0640 and the directory's group when that group is port25; else 0600. */
static mode_t registry_mode(const char *path, gid_t *gid)
{
	char *dir = strdup(path), *slash;
	struct group *g;
	struct stat st;
	mode_t mode = 0600;

	if (!dir)
		return mode;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (g = getgrgid(st.st_gid)) &&
	    !strcmp(g->gr_name, REGISTRY_GROUP)) {
		*gid = st.st_gid;
		mode = 0640;
	}
	free(dir);
	return mode;
}

/* A new registry file, private from its first byte; an existing one is left alone. */
static int create_private(const char *path, char *err, size_t errlen)
{
	gid_t gid = (gid_t)-1;
	mode_t mode;
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	if (make_parents(path, err, errlen) < 0)
		return -1;
	mode = registry_mode(path, &gid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "%s: cannot create the registry: %s", path, strerror(errno));
		return -1;
	}
	/* Only a group we may hand the file to gets to read it. */
	if (mode == 0640 && fchown(fd, (uid_t)-1, gid) < 0)
		mode = 0600;
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "%s: cannot restrict the registry to mode %04o: %s", path,
		         (unsigned)mode, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* A warning when the registry or its journal can be read by every user. */
static void check_private(struct p25_registry *reg, const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char name[4096];
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffix[i]);
		if (stat(name, &st) == 0 && (st.st_mode & S_IROTH)) {
			snprintf(
			    reg->warning, sizeof reg->warning,
			    "%.400s can be read by every user (mode %04o); it holds contacts' "
			    "names, e-mail addresses and phone numbers (chmod 600 %.400s, or 640 "
			    "with the group " REGISTRY_GROUP ")",
			    name, (unsigned)(st.st_mode & 07777), name);
			return;
		}
	}
}

int p25_registry_open(const char *path, struct p25_registry **out, char *err, size_t errlen)
{
	struct p25_registry *reg = calloc(1, sizeof *reg);

	*out = NULL;
	if (!reg) {
		snprintf(err, errlen, "%s: out of memory", path);
		return P25_EDB;
	}
	if (is_plain_path(path) && create_private(path, err, errlen) < 0) {
		free(reg);
		return P25_EDB;
	}
	if (sqlite3_open_v2(path, &reg->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open the registry: %s", path,
		         reg->db ? sqlite3_errmsg(reg->db) : "out of memory");
		p25_registry_close(reg);
		return P25_EDB;
	}
	sqlite3_busy_timeout(reg->db, 5000);
	/* WAL lets the compilers read while an operator writes; memory databases cannot. */
	if (sqlite3_exec(reg->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable registry: %s", path,
		         sqlite3_errmsg(reg->db));
		p25_registry_close(reg);
		return P25_EDB;
	}
	if (migrate(reg, err, errlen) < 0) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
		p25_registry_close(reg);
		return P25_EDB;
	}
	if (is_plain_path(path))
		check_private(reg, path);
	*out = reg;
	return 0;
}

void p25_registry_close(struct p25_registry *reg)
{
	if (!reg)
		return;
	sqlite3_close(reg->db);
	free(reg);
}

const char *p25_registry_error(const struct p25_registry *reg)
{
	return reg->error;
}

const char *p25_registry_warning(const struct p25_registry *reg)
{
	return reg->warning;
}

int p25_registry_schema_version(struct p25_registry *reg)
{
	sqlite3_stmt *st = reg_query(reg, "PRAGMA user_version", "");
	int rc, v;

	if (!st)
		return P25_EDB;
	rc = reg_step(reg, st);
	if (rc < 0)
		return rc;
	v = rc ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return v;
}

int p25_registry_data_version(struct p25_registry *reg, int64_t *out)
{
	sqlite3_stmt *st = reg_query(reg, "PRAGMA data_version", "");
	int rc;

	if (!st)
		return P25_EDB;
	rc = reg_step(reg, st);
	if (rc < 0)
		return rc;
	*out = rc ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

static ssize_t org_index(const struct p25_model *m, int64_t id)
{
	size_t lo = 0, hi = m->norgs;

	/* Orgs are loaded in id order. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->orgs[mid].id == id)
			return (ssize_t)mid;
		if (m->orgs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static int parse_stored_prefix(struct p25_registry *reg, const char *what, int64_t id,
                               const char *text, struct p25_prefix *p)
{
	struct p25_diag diag;

	if (p25_prefix_parse(text, 0, p, &diag) < 0)
		return reg_fail(reg, P25_EDB, "registry: %s %lld holds a bad prefix: %s", what,
		                (long long)id, diag.error);
	return 0;
}

static int load_model_tx(struct p25_registry *reg, struct p25_model *m)
{
	sqlite3_stmt *st;
	int rc;

	st = reg_query(
	    reg, "SELECT id, handle, name, enrollment, mode, action FROM org ORDER BY id", "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		enum p25_enrollment e = P25_ENROLL_NONE;
		enum p25_mode mode = P25_MODE_OUTBOUND;
		enum p25_action action = P25_ACTION_REJECT;
		p25_enrollment_parse(col_text(st, 3), &e);
		p25_mode_parse(col_text(st, 4), &mode);
		p25_action_parse(col_text(st, 5), &action);
		if (p25_model_add_org(m, sqlite3_column_int64(st, 0), col_text(st, 1),
		                      col_text(st, 2), e, mode, action) < 0) {
			sqlite3_finalize(st);
			return reg_fail(reg, P25_EDB, "registry: out of memory loading orgs");
		}
	}
	if (rc < 0)
		return rc;
	sqlite3_finalize(st);

	st = reg_query(reg,
	               "SELECT id, org_id, text, description FROM prefix "
	               "ORDER BY family, net, len",
	               "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_prefix p;
		int64_t id = sqlite3_column_int64(st, 0);
		ssize_t o = org_index(m, sqlite3_column_int64(st, 1));
		rc = parse_stored_prefix(reg, "prefix", id, col_text(st, 2), &p);
		if (rc == 0 && o >= 0 &&
		    p25_model_add_space(m, id, (size_t)o, &p, col_text(st, 3)) < 0)
			rc = reg_fail(reg, P25_EDB, "registry: out of memory loading prefixes");
		if (rc < 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	sqlite3_finalize(st);

	/* Every permit, expired ones too: the policy engine decides by time. */
	st = reg_query(reg,
	               "SELECT id, org_id, text, kind, description, requested_by, approved_by, "
	               "created, expires FROM permit ORDER BY family, net, len, id",
	               "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_permit p = {0};
		ssize_t o = org_index(m, sqlite3_column_int64(st, 1));
		p.id = sqlite3_column_int64(st, 0);
		p.kind = P25_KIND_MAIL_SERVER;
		p25_kind_parse(col_text(st, 3), &p.kind);
		p.description = (char *)col_text(st, 4);
		p.requested_by = (char *)col_text(st, 5);
		p.approved_by = (char *)col_text(st, 6);
		p.created = col_time(st, 7);
		p.expires = col_time(st, 8);
		rc = parse_stored_prefix(reg, "permit", p.id, col_text(st, 2), &p.prefix);
		if (rc == 0 && o >= 0) {
			p.org = (size_t)o;
			if (p25_model_add_permit(m, &p) < 0)
				rc = reg_fail(reg, P25_EDB,
				              "registry: out of memory loading permits");
		}
		if (rc < 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	sqlite3_finalize(st);
	return 0;
}

int p25_registry_load_model(struct p25_registry *reg, struct p25_model *out)
{
	int rc;

	p25_model_init(out);
	reg->error[0] = '\0';
	if (sqlite3_exec(reg->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return reg_dbfail(reg, "starting a read");
	rc = load_model_tx(reg, out);
	sqlite3_exec(reg->db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	if (rc < 0)
		p25_model_free(out);
	return rc;
}

static const char *const role_names[] = {"security", "technical", "administrative"};
static const char *const type_names[] = {"signup", "add-permit", "remove-permit"};
static const char *const status_names[] = {"submitted", "approved", "applied",
                                           "verified",  "rejected", "cancelled"};
#define NSTATUS (sizeof status_names / sizeof status_names[0])

static int lookup(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *p25_role_name(enum p25_contact_role r)
{
	return (unsigned)r < 3 ? role_names[r] : "?";
}

int p25_role_parse(const char *s, enum p25_contact_role *out)
{
	int i = lookup(s, role_names, 3);
	if (i < 0)
		return -1;
	*out = (enum p25_contact_role)i;
	return 0;
}

const char *p25_request_type_name(enum p25_request_type t)
{
	return (unsigned)t < 3 ? type_names[t] : "?";
}

int p25_request_type_parse(const char *s, enum p25_request_type *out)
{
	int i = lookup(s, type_names, 3);
	if (i < 0)
		return -1;
	*out = (enum p25_request_type)i;
	return 0;
}

const char *p25_request_status_name(enum p25_request_status s)
{
	return (unsigned)s < NSTATUS ? status_names[s] : "?";
}

int p25_request_status_parse(const char *s, enum p25_request_status *out)
{
	int i = lookup(s, status_names, NSTATUS);
	if (i < 0)
		return -1;
	*out = (enum p25_request_status)i;
	return 0;
}

const char *p25_permit_status(p25_time expires, p25_time now, int64_t window)
{
	if (expires == 0)
		return "active";
	if (now >= expires)
		return "expired";
	return expires - now <= window ? "expiring" : "active";
}

static json_t *decoded_or_null(sqlite3_stmt *st, int col)
{
	json_t *v;

	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		return json_null();
	v = json_loads(col_text(st, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_string(col_text(st, col));
}

int scope_text(struct p25_registry *reg, const struct p25_scope *scope, char **text)
{
	json_t *a;

	*text = NULL;
	if (!scope)
		return 0;
	a = json_array();
	for (size_t i = 0; a && i < scope->n; i++)
		if (json_array_append_new(a, json_string(scope->orgs[i] ? scope->orgs[i] : "")) < 0) {
			json_decref(a);
			a = NULL;
		}
	*text = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	if (!*text)
		return reg_fail(reg, P25_EDB, "registry: out of memory");
	return 0;
}

int p25_audit_list(struct p25_registry *reg, int limit, json_t **out)
{
	return p25_audit_list_in(reg, limit, NULL, out);
}

int p25_audit_list_in(struct p25_registry *reg, int limit, const struct p25_scope *scope,
                      json_t **out)
{
	sqlite3_stmt *st;
	json_t *rows;
	char *scoped;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	/* An org's records are those its change records name; alerts and imports have none. */
	st = scoped ? reg_query(reg,
	                        "SELECT id, at, actor, action, object_type, object, before, after "
	                        "FROM audit WHERE id IN (SELECT audit_id FROM change WHERE org IN "
	                        "(SELECT value FROM json_each(?))) ORDER BY id DESC LIMIT ?",
	                        "si", scoped, (int64_t)(limit > 0 ? limit : -1))
	            : reg_query(reg,
	                        "SELECT id, at, actor, action, object_type, object, before, after "
	                        "FROM audit ORDER BY id DESC LIMIT ?",
	                        "i", (int64_t)(limit > 0 ? limit : -1));
	free(scoped);
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1) {
		json_t *r =
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
		              (json_int_t)sqlite3_column_int64(st, 0), "at", col_text(st, 1),
		              "actor", col_text(st, 2), "action", col_text(st, 3), "object_type",
		              col_text(st, 4), "object", col_text(st, 5), "before",
		              decoded_or_null(st, 6), "after", decoded_or_null(st, 7));
		if (r)
			json_array_append_new(rows, r);
	}
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	sqlite3_finalize(st);
	*out = rows;
	return 0;
}
