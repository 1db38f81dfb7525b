/*
 * The registry: opening it (its store and schema through the storage seam),
 * messages and hints, the registry's names for the seam's statements and
 * transactions, the audit log and the model loader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/internal.h"
#include "util/buf.h"
#include "util/names.h"

/*
 * The schema is storage/schema/sqlite/NNNN-what.sql, one file per version,
 * compiled in (scripts/embed-sql.sh).  A schema step may also be written
 * here, as a C string (SQLite dialect) before the NULL: such steps run after
 * the files, the first as version files+1, and so on.  This is for a branch
 * written while the files were elsewhere; scripts/migrations-to-sql.py moves
 * each entry into the next numbered file (same version number) and leaves
 * the array {NULL} again.  Append steps; never edit a released one.
 */
static const char *const migrations[] = {NULL};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]) - 1)

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

/* The storage seam's failures become the registry's message (its hint cleared). */
static void store_failed(void *ctx, const char *message)
{
	reg_fail(ctx, P25_EDB, "%s", message);
}

struct p25_store *reg_store(struct p25_registry *reg)
{
	return reg->store;
}

void reg_clear(struct p25_registry *reg)
{
	reg->error[0] = '\0';
}

reg_stmt *reg_query(struct p25_registry *reg, const char *sql, const char *fmt, ...)
{
	reg_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = store_vquery(reg->store, sql, fmt, ap);
	va_end(ap);
	return st;
}

int reg_step(struct p25_registry *reg, reg_stmt *st)
{
	return store_step(st);
}

int reg_first(struct p25_registry *reg, reg_stmt *st, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 1)
		return 0;
	reg_done(st);
	va_start(ap, fmt);
	vsnprintf(reg->error, sizeof reg->error, fmt, ap);
	va_end(ap);
	memset(&reg->hint, 0, sizeof reg->hint);
	return P25_ENOTFOUND;
}

int reg_ids(struct p25_registry *reg, reg_stmt *st, int64_t **ids, size_t *n)
{
	int64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		if (len == cap) {
			int64_t *grown = realloc(v, (cap ? cap * 2 : 16) * sizeof *v);
			if (!grown) {
				reg_done(st);
				free(v);
				return reg_fail(reg, P25_EDB, "registry: out of memory");
			}
			v = grown;
			cap = cap ? cap * 2 : 16;
		}
		v[len++] = col_int(st, 0);
	}
	if (rc < 0) {
		free(v);
		return rc;
	}
	reg_done(st);
	*ids = v;
	*n = len;
	return 0;
}

int reg_exec(struct p25_registry *reg, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_vexec(reg->store, sql, fmt, ap);
	va_end(ap);
	return rc;
}

void reg_done(reg_stmt *st)
{
	store_done(st);
}

int64_t reg_last_id(struct p25_registry *reg)
{
	return store_last_id(reg->store);
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
	/* A write transaction: the write lock now, so two operators cannot interleave checks. */
	return store_begin(reg->store, STORE_WRITE);
}

int reg_read_begin(struct p25_registry *reg)
{
	return store_begin(reg->store, STORE_READ);
}

void reg_read_end(struct p25_registry *reg)
{
	/* Nothing was written: ending a read by rolling it back is ending it. */
	store_rollback(reg->store);
}

int reg_end(struct p25_registry *reg, int rc)
{
	if (rc == 0)
		return store_commit(reg->store);
	store_rollback(reg->store);
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

int p25_registry_open(const char *path, struct p25_registry **out, char *err, size_t errlen)
{
	struct p25_registry *reg = calloc(1, sizeof *reg);

	*out = NULL;
	if (!reg) {
		snprintf(err, errlen, "%s: out of memory", path);
		return P25_EDB;
	}
	if (store_open(path, &reg->store, reg->warning, sizeof reg->warning, err, errlen) < 0) {
		free(reg);
		return P25_EDB;
	}
	store_set_sink(reg->store, store_failed, reg);
	if (store_migrate(reg->store, migrations, NMIGRATIONS, err, errlen) < 0) {
		char msg[1024];
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "%s: %s", path, msg);
		p25_registry_close(reg);
		return P25_EDB;
	}
	/* Migrating leaves its messages; an open registry starts clean, its warning kept. */
	reg->error[0] = '\0';
	*out = reg;
	return 0;
}

void p25_registry_close(struct p25_registry *reg)
{
	if (!reg)
		return;
	store_close(reg->store);
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
	return store_schema_version(reg->store);
}

int p25_registry_data_version(struct p25_registry *reg, int64_t *out)
{
	*out = 0;
	return store_data_version(reg->store, out);
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
	reg_stmt *st;
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
		if (p25_model_add_org(m, col_int(st, 0), col_text(st, 1),
		                      col_text(st, 2), e, mode, action) < 0) {
			reg_done(st);
			return reg_fail(reg, P25_EDB, "registry: out of memory loading orgs");
		}
	}
	if (rc < 0)
		return rc;
	reg_done(st);

	st = reg_query(reg,
	               "SELECT id, org_id, text, description FROM prefix "
	               "ORDER BY family, net, len",
	               "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_prefix p;
		int64_t id = col_int(st, 0);
		ssize_t o = org_index(m, col_int(st, 1));
		rc = parse_stored_prefix(reg, "prefix", id, col_text(st, 2), &p);
		if (rc == 0 && o >= 0 &&
		    p25_model_add_space(m, id, (size_t)o, &p, col_text(st, 3)) < 0)
			rc = reg_fail(reg, P25_EDB, "registry: out of memory loading prefixes");
		if (rc < 0) {
			reg_done(st);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	reg_done(st);

	/* Every permit, expired ones too: the policy engine decides by time. */
	st = reg_query(reg,
	               "SELECT id, org_id, text, kind, description, requested_by, approved_by, "
	               "created, expires FROM permit ORDER BY family, net, len, id",
	               "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_permit p = {0};
		ssize_t o = org_index(m, col_int(st, 1));
		p.id = col_int(st, 0);
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
			reg_done(st);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	return 0;
}

int p25_registry_load_model(struct p25_registry *reg, struct p25_model *out)
{
	int rc;

	p25_model_init(out);
	reg->error[0] = '\0';
	if ((rc = reg_read_begin(reg)) < 0)
		return rc;
	rc = load_model_tx(reg, out);
	reg_read_end(reg);
	if (rc < 0)
		p25_model_free(out);
	return rc;
}

static const char *const role_names[] = {"security", "technical", "administrative"};
static const char *const type_names[] = {"signup", "add-permit", "remove-permit"};
static const char *const status_names[] = {"submitted", "approved", "applied",
                                           "verified",  "rejected", "cancelled"};

P25_NAMES(enum p25_contact_role, p25_role_name, p25_role_parse, role_names)
P25_NAMES(enum p25_request_type, p25_request_type_name, p25_request_type_parse, type_names)
P25_NAMES(enum p25_request_status, p25_request_status_name, p25_request_status_parse,
          status_names)

const char *p25_permit_status(p25_time expires, p25_time now, int64_t window)
{
	if (expires == 0)
		return "active";
	if (now >= expires)
		return "expired";
	return expires - now <= window ? "expiring" : "active";
}

static json_t *decoded_or_null(reg_stmt *st, int col)
{
	json_t *v;

	if (col_null(st, col))
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
	reg_stmt *st;
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
		              (json_int_t)col_int(st, 0), "at", col_text(st, 1),
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
	reg_done(st);
	*out = rows;
	return 0;
}
