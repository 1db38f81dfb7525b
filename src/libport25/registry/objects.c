/* Organizations, their address space, contacts and permitted senders. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/array.h"
#include "util/text.h"

#define ORG_COLS                                                                                   \
	"o.handle, o.name, o.enrollment, o.mode, o.action, o.created, o.updated, o.activate_at, "  \
	"o.activate_by, o.activate_no_servers"
#define PERMIT_COLS                                                                                \
	"p.id, o.handle, p.text, p.kind, p.description, p.requested_by, p.approved_by, "           \
	"p.created, p.expires, p.request_id"
#define CONTACT_COLS "c.id, o.handle, c.name, c.email, c.phone, c.role"

static json_t *org_json_row(reg_stmt *st, p25_time now, int64_t window)
{
	/* A scheduled activation: when, who agreed it, and whether no host sends mail. */
	json_t *activation = col_null(st, 7)
	                         ? json_null()
	                         : json_pack("{s:s, s:s, s:b}", "at", col_text(st, 7), "by",
	                                     col_text(st, 8), "no_servers", col_int(st, 9) != 0);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "handle", col_text(st, 0),
	                 "name", col_text(st, 1), "enrollment", col_text(st, 2), "mode",
	                 col_text(st, 3), "action", col_text(st, 4), "created", col_text(st, 5),
	                 "updated", col_text(st, 6), "activation", activation);
}

/* now 0: no status, as in the audit log and exports, where it would go stale. */
static json_t *permit_json_row(reg_stmt *st, p25_time now, int64_t window)
{
	p25_time expires = col_time(st, 8);
	json_t *o = json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
	    (json_int_t)col_int(st, 0), "org", col_text(st, 1), "address",
	    col_text(st, 2), "kind", col_text(st, 3), "description", col_text(st, 4),
	    "requested_by", col_text(st, 5), "approved_by", col_text(st, 6), "created",
	    col_text(st, 7), "expires", json_time_or_null(expires), "request_id",
	    col_null(st, 9) ? json_null()
	                                              : json_integer(col_int(st, 9)));
	if (o && now)
		json_object_set_new(o, "status",
		                    json_string(p25_permit_status(expires, now, window)));
	return o;
}

static json_t *contact_json_row(reg_stmt *st, p25_time now, int64_t window)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id",
	                 (json_int_t)col_int(st, 0), "org", col_text(st, 1), "name",
	                 col_text(st, 2), "email", col_text(st, 3), "phone", col_text(st, 4),
	                 "role", col_text(st, 5));
}

static json_t *prefix_json_row(reg_stmt *st, p25_time now, int64_t window)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "org", col_text(st, 0), "prefix",
	                 col_text(st, 1), "family",
	                 (int)col_int(st, 2) == 4 ? "ipv4" : "ipv6", "description",
	                 col_text(st, 3), "created", col_text(st, 4));
}

/*
 * "SELECT_FROM WHERE [org_col = ? AND] SCOPE_SQL ORDER BY order": one
 * organization's rows (org_id != 0) through its org_id index, or every
 * organization's, of those in scope (scope_text).  Two statements rather
 * than "? = 0 OR ...", which no index can serve.
 */
static reg_stmt *query_by_org(struct p25_registry *reg, const char *select_from,
                                  const char *org_col, int64_t org_id, const char *scope,
                                  const char *order)
{
	char sql[640];
	int n = org_id ? snprintf(sql, sizeof sql, "%s WHERE %s = ? AND " SCOPE_SQL " ORDER BY %s",
	                          select_from, org_col, order)
	               : snprintf(sql, sizeof sql, "%s WHERE " SCOPE_SQL " ORDER BY %s", select_from,
	                          order);

	if (n < 0 || (size_t)n >= sizeof sql) {
		snprintf(reg->error, sizeof reg->error, "internal error: query too long");
		return NULL;
	}
	return org_id ? reg_query(reg, sql, "iss", org_id, scope, scope)
	              : reg_query(reg, sql, "ss", scope, scope);
}

json_t *col_json(reg_stmt *st, int col)
{
	json_t *v;

	if (col_null(st, col))
		return json_null();
	v = json_loads(col_text(st, col), JSON_DECODE_ANY, NULL);
	return v ? v : json_string(col_text(st, col));
}

int reg_collect(struct p25_registry *reg, reg_stmt *st, json_t **out, row_fn fn, p25_time now,
                int64_t window)
{
	json_t *rows = json_array();
	int rc;

	*out = NULL;
	if (!st) {
		json_decref(rows);
		return P25_EDB;
	}
	while ((rc = reg_step(reg, st)) == 1) {
		json_t *row = fn(st, now, window);
		if (!row || json_array_append_new(rows, row) < 0) {
			reg_done(st);
			json_decref(rows);
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		}
	}
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

/* The rows of select_from (query_by_org) of org, or of every org, in scope, as fn makes them. */
static int list_by_org(struct p25_registry *reg, const char *org, const struct p25_scope *scope,
                       const char *select_from, const char *org_col, const char *order,
                       row_fn fn, p25_time now, int64_t window, json_t **out)
{
	char *scoped;
	int64_t id = 0;
	int rc;

	*out = NULL;
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	if (!org || (rc = org_id_in(reg, org, scoped, &id)) == 0)
		rc = reg_collect(reg, query_by_org(reg, select_from, org_col, id, scoped, order), out, fn,
		             now, window);
	free(scoped);
	return rc;
}

int row_json(struct p25_registry *reg, reg_stmt *st, row_fn fn, p25_time now, json_t **out)
{
	int rc;

	*out = NULL;
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	if (rc == 1 && !(*out = fn(st, now, P25_EXPIRING_WINDOW)))
		rc = reg_fail(reg, P25_EDB, "registry: out of memory");
	reg_done(st);
	return rc;
}

int scoped_row(struct p25_registry *reg, const char *sql, int64_t id, const char *text,
                      const struct p25_scope *scope, row_fn fn, p25_time now, json_t **out)
{
	char *scoped;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = row_json(reg,
	              text ? reg_query(reg, sql, "sss", text, scoped, scoped)
	                   : reg_query(reg, sql, "iss", id, scoped, scoped),
	              fn, now, out);
	free(scoped);
	return rc;
}

int scoped_object(struct p25_registry *reg, const char *sql, int64_t id,
                  const struct p25_scope *scope, row_fn fn, p25_time now, const char *noun,
                  enum p25_hint_code list, json_t **out)
{
	int rc = scoped_row(reg, sql, id, NULL, scope, fn, now, out);

	if (rc == 0)
		return reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no %s %" PRId64, noun, id), list,
		                NULL, 0, 0);
	return rc < 0 ? rc : 0;
}

int org_id_of(struct p25_registry *reg, const char *handle, int64_t *id)
{
	return org_id_in(reg, handle, NULL, id);
}

int org_id_in(struct p25_registry *reg, const char *handle, const char *scope, int64_t *id)
{
	reg_stmt *st = reg_query(reg, "SELECT o.id FROM org o WHERE o.handle = ? AND " SCOPE_SQL,
	                             "sss", handle, scope, scope);
	int rc;

	if (!st)
		return P25_EDB;
	rc = reg_step(reg, st);
	if (rc < 0)
		return rc;
	if (rc == 1)
		*id = col_int(st, 0);
	reg_done(st);
	if (rc == 0)
		return reg_hint(reg,
		                reg_fail(reg, P25_ENOTFOUND, "no organization '%s'",
		                         handle ? handle : ""),
		                P25_HINT_LIST_ORGS, NULL, 0, 0);
	return 0;
}

json_t *org_json_by_id(struct p25_registry *reg, int64_t id)
{
	json_t *o;

	row_json(reg, reg_query(reg, "SELECT " ORG_COLS " FROM org o WHERE o.id = ?", "i", id),
	         org_json_row, 0, &o);
	return o;
}

json_t *permit_json_by_id(struct p25_registry *reg, int64_t id, p25_time now)
{
	json_t *o;

	row_json(reg,
	         reg_query(reg,
	                   "SELECT " PERMIT_COLS " FROM permit p JOIN org o ON o.id = p.org_id "
	                   "WHERE p.id = ?",
	                   "i", id),
	         permit_json_row, now, &o);
	return o;
}

static int count(struct p25_registry *reg, const char *sql, int64_t id, int64_t *n)
{
	reg_stmt *st = reg_query(reg, sql, "i", id);
	int rc;

	if (!st)
		return P25_EDB;
	rc = reg_step(reg, st);
	if (rc < 0)
		return rc;
	*n = rc ? col_int(st, 0) : 0;
	reg_done(st);
	return 0;
}

/* ---- organizations ---- */

int org_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
               const char *name, enum p25_mode mode, enum p25_action action,
               const struct org_restore *restore)
{
	int64_t id = 0;
	json_t *after;
	int rc;

	if (!p25_text_is_handle(handle))
		return reg_fail(reg, P25_EINVAL,
		                "'%s' is not a valid organization handle: 1 to 32 of a-z, 0-9 and "
		                "'-', not starting with '-'",
		                handle ? handle : "");
	if (!name || !*name)
		return reg_fail(reg, P25_EINVAL, "organization '%s': the name must not be empty",
		                handle);
	rc = org_id_of(reg, handle, &id);
	if (rc == 0)
		return reg_fail(reg, P25_ECONFLICT, "organization '%s' already exists", handle);
	if (rc != P25_ENOTFOUND)
		return rc;
	reg->error[0] = '\0';
	rc = reg_exec(reg,
	              "INSERT INTO org (handle, name, enrollment, mode, action, created, updated) "
	              "VALUES (?, ?, ?, ?, ?, ?, ?)",
	              "sssssTT", handle, name,
	              restore && restore->enrollment ? restore->enrollment : "none",
	              p25_mode_name(mode), p25_action_name(action),
	              restore && restore->created ? restore->created : who->now,
	              restore && restore->updated ? restore->updated : who->now);
	if (rc < 0)
		return rc;
	after = org_json_by_id(reg, reg_last_id(reg));
	rc = reg_change(reg, who, P25_CHANGE_ORG_ADDED, handle, NULL, after);
	json_decref(after);
	return rc;
}

int p25_org_add(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                const char *name, enum p25_mode mode, enum p25_action action)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, org_add_tx(reg, who, handle, name, mode, action, NULL));
}

static int org_set_tx(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                      const struct p25_org_change *c)
{
	int64_t id = 0;
	json_t *before, *after;
	int rc;
	bool activating = c->set_enrollment && c->enrollment == P25_ENROLL_ACTIVE;
	bool schedule = activating && c->activate_at;
	char t[P25_TIME_STRLEN];

	if (!c->name && !c->set_mode && !c->set_action && !c->set_enrollment)
		return reg_fail(reg, P25_EINVAL, "org set %s: nothing to change", handle);
	if (c->name && !*c->name)
		return reg_fail(reg, P25_EINVAL, "organization '%s': the name must not be empty",
		                handle);
	if (c->activate_at && !activating)
		return reg_fail(reg, P25_EINVAL,
		                "organization '%s': a time of activation goes with enrollment active",
		                handle);
	if (schedule && c->activate_at <= who->now)
		return reg_fail(reg, P25_EINVAL,
		                "organization '%s': the activation time %s is already past (activate "
		                "it now, without a time)",
		                handle, p25_time_format(c->activate_at, t, sizeof t));
	rc = org_id_of(reg, handle, &id);
	if (rc < 0)
		return rc;
	before = org_json_by_id(reg, id);
	if (schedule && !strcmp(json_string_value(json_object_get(before, "enrollment")), "active")) {
		json_decref(before);
		return reg_fail(reg, P25_ECONFLICT, "organization '%s' is active already", handle);
	}
	/* A schedule is held to the rules now, and again when it is due. */
	if (activating && (rc = rule_activation(reg, id, handle, who->now, c->no_servers)) < 0) {
		json_decref(before);
		return rc;
	}
	/* Setting the enrollment, to anything, replaces a schedule: the operator decided. */
	rc = reg_exec(reg,
	              "UPDATE org SET name = coalesce(?, name), mode = coalesce(?, mode), "
	              "action = coalesce(?, action), enrollment = coalesce(?, enrollment), "
	              "activate_at = CASE WHEN ? THEN ? ELSE activate_at END, "
	              "activate_by = CASE WHEN ? THEN ? ELSE activate_by END, "
	              "activate_no_servers = CASE WHEN ? THEN ? ELSE activate_no_servers END, "
	              "updated = ? WHERE id = ?",
	              "ssssitisiiTi", c->name, c->set_mode ? p25_mode_name(c->mode) : NULL,
	              c->set_action ? p25_action_name(c->action) : NULL,
	              c->set_enrollment && !schedule ? p25_enrollment_name(c->enrollment) : NULL,
	              (int64_t)c->set_enrollment, schedule ? c->activate_at : 0,
	              (int64_t)c->set_enrollment, schedule ? who->name : NULL,
	              (int64_t)c->set_enrollment, (int64_t)(schedule && c->no_servers), who->now,
	              id);
	if (rc == 0) {
		after = org_json_by_id(reg, id);
		rc = reg_change(reg, who, P25_CHANGE_ORG_CHANGED, handle, before, after);
		json_decref(after);
	}
	json_decref(before);
	return rc;
}

/* reg_end leaves the warning alone; keep it only for a change that was made. */
int keep_warning(struct p25_registry *reg, int rc)
{
	if (rc < 0) {
		reg->warning[0] = '\0';
		memset(&reg->warning_hint, 0, sizeof reg->warning_hint);
	}
	return rc;
}

int p25_org_set(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                const struct p25_org_change *change)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return keep_warning(reg, reg_end(reg, org_set_tx(reg, who, handle, change)));
}

static int org_remove_tx(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                         bool force)
{
	int64_t id = 0, nprefixes = 0, npermits = 0;
	json_t *before = NULL;
	int rc;

	rc = org_id_of(reg, handle, &id);
	if (rc < 0)
		return rc;
	if ((rc = count(reg, "SELECT count(*) FROM prefix WHERE org_id = ?", id, &nprefixes)) < 0 ||
	    (rc = count(reg, "SELECT count(*) FROM permit WHERE org_id = ?", id, &npermits)) < 0)
		return rc;
	if ((nprefixes || npermits) && !force)
		return reg_hint(reg,
		                reg_fail(reg, P25_ECONFLICT,
		                         "organization '%s' still has %" PRId64
		                         " prefix(es) and %" PRId64 " permit(s); remove them first",
		                         handle, nprefixes, npermits),
		                P25_HINT_FORCE_REMOVE, handle, 0, 0);
	/* The audit record keeps everything the removal takes with it. */
	rc = p25_org_show(reg, handle, 0, &before);
	if (rc < 0)
		return rc;
	rc = reg_exec(reg, "DELETE FROM org WHERE id = ?", "i", id);
	if (rc == 0)
		rc = reg_change(reg, who, P25_CHANGE_ORG_REMOVED, handle, before, NULL);
	json_decref(before);
	return rc;
}

int p25_org_remove(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                   bool force)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, org_remove_tx(reg, who, handle, force));
}

static json_t *org_list_row_fn(reg_stmt *st, p25_time now, int64_t window)
{
	json_t *o = org_json_row(st, now, window);
	if (o) {
		json_object_set_new(o, "prefixes", json_integer(col_int(st, 10)));
		json_object_set_new(o, "contacts", json_integer(col_int(st, 11)));
		json_object_set_new(o, "permits", json_integer(col_int(st, 12)));
		/* For the table: when a scheduled activation is due. */
		json_object_set_new(o, "activates", col_null(st, 7) ? json_null()
		                                                    : json_string(col_text(st, 7)));
	}
	return o;
}

int p25_org_list(struct p25_registry *reg, json_t **out)
{
	return p25_org_list_in(reg, NULL, out);
}

/* The orgs in scope with their counts, of those matching where ("1": all), in order. */
static int org_rows(struct p25_registry *reg, const struct p25_scope *scope, const char *where,
                    const char *order, json_t **out)
{
	char *scoped, sql[1024];
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	snprintf(sql, sizeof sql,
	         "SELECT " ORG_COLS ", "
	         "(SELECT count(*) FROM prefix WHERE org_id = o.id), "
	         "(SELECT count(*) FROM contact WHERE org_id = o.id), "
	         "(SELECT count(*) FROM permit WHERE org_id = o.id) "
	         "FROM org o WHERE %s AND " SCOPE_SQL " ORDER BY %s",
	         where, order);
	rc = reg_collect(reg, reg_query(reg, sql, "ss", scoped, scoped), out, org_list_row_fn, 0, 0);
	free(scoped);
	return rc;
}

int p25_org_list_in(struct p25_registry *reg, const struct p25_scope *scope, json_t **out)
{
	return org_rows(reg, scope, "1", "o.handle", out);
}

int p25_org_upcoming_in(struct p25_registry *reg, const struct p25_scope *scope, json_t **out)
{
	return org_rows(reg, scope, "o.activate_at IS NOT NULL", "o.activate_at, o.handle", out);
}

int p25_org_show(struct p25_registry *reg, const char *handle, p25_time now, json_t **out)
{
	return p25_org_show_in(reg, handle, now, NULL, out);
}

int p25_org_show_in(struct p25_registry *reg, const char *handle, p25_time now,
                    const struct p25_scope *scope, json_t **out)
{
	struct p25_request_filter rf = {.org = handle, .now = now};
	json_t *org, *rows, *open;
	char *scoped;
	int64_t id = 0;
	int rc;

	*out = NULL;
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = org_id_in(reg, handle, scoped, &id);
	free(scoped);
	if (rc < 0)
		return rc;
	org = org_json_by_id(reg, id);
	if (!org)
		return reg_fail(reg, P25_EDB, "registry: reading organization '%s'", handle);
	rc = p25_prefix_list(reg, handle, &rows);
	if (rc == 0) {
		json_object_set_new(org, "prefixes", rows);
		rc = p25_contact_list(reg, handle, &rows);
	}
	if (rc == 0) {
		json_object_set_new(org, "contacts", rows);
		rc = reg_collect(reg,
		             reg_query(reg,
		                       "SELECT " PERMIT_COLS " FROM permit p JOIN org o ON o.id = "
		                       "p.org_id WHERE o.id = ? ORDER BY p.family, p.net, p.len",
		                       "i", id),
		             &rows, permit_json_row, now, P25_EXPIRING_WINDOW);
	}
	if (rc == 0) {
		json_object_set_new(org, "permits", rows);
		rc = p25_request_list(reg, &rf, &rows);
	}
	if (rc == 0) {
		size_t i;
		json_t *r;
		open = json_array();
		json_array_foreach(rows, i, r)
		{
			enum p25_request_status s;
			if (p25_request_status_parse(json_string_value(json_object_get(r, "status")),
			                             &s) == 0 &&
			    p25_request_status_open(s))
				json_array_append(open, r);
		}
		json_decref(rows);
		json_object_set_new(org, "open_requests", open);
		rc = p25_analysis_latest(reg, handle, &rows);
	}
	if (rc == 0)
		json_object_set_new(org, "analysis", rows ? rows : json_null());
	if (rc < 0) {
		json_decref(org);
		return rc;
	}
	*out = org;
	return 0;
}

/* ---- address space ---- */

int prefix_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                  const char *prefix, const char *description, unsigned flags)
{
	struct p25_prefix p;
	struct p25_diag diag;
	char text[P25_PREFIX_STRLEN];
	int64_t org_id = 0;
	json_t *after;
	int rc;

	if ((rc = org_id_of(reg, org, &org_id)) < 0)
		return rc;
	if (p25_prefix_parse(prefix, (flags & P25_PARSE_NORMALIZE) | P25_PARSE_REQUIRE_LEN, &p,
	                     &diag) < 0)
		return reg_hint(reg, reg_fail(reg, P25_EINVAL, "%s", diag.error),
		                strstr(diag.error, "host bits") ? P25_HINT_NORMALIZE : P25_HINT_NONE,
		                NULL, 0, 0);
	snprintf(reg->warning, sizeof reg->warning, "%s", diag.warning);
	p25_prefix_format(&p, text, sizeof text);
	if ((rc = rule_prefix(reg, &p, text, org)) < 0)
		return rc;
	rc = reg_exec(reg,
	              "INSERT INTO prefix (org_id, family, net, len, text, description, created) "
	              "VALUES (?, ?, ?, ?, ?, ?, ?)",
	              "iibissT", org_id, (int64_t)p.family, &p, (int64_t)p.len, text,
	              description ? description : "", who->now);
	if (rc < 0)
		return rc;
	after = json_pack("{s:s, s:s, s:s}", "org", org, "prefix", text, "description",
	                  description ? description : "");
	rc = reg_change(reg, who, P25_CHANGE_PREFIX_ADDED, text, NULL, after);
	json_decref(after);
	return rc;
}

int p25_prefix_add(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                   const char *prefix, const char *description, unsigned flags)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return keep_warning(reg,
	                    reg_end(reg, prefix_add_tx(reg, who, org, prefix, description, flags)));
}

static int prefix_remove_tx(struct p25_registry *reg, const struct p25_actor *who,
                            const char *prefix)
{
	struct p25_prefix p;
	struct p25_diag diag;
	struct net_span sp;
	char text[P25_PREFIX_STRLEN];
	reg_stmt *st;
	int64_t id = 0, org_id = 0;
	char org[64];
	json_t *before;
	int rc;

	if (p25_prefix_parse(prefix, P25_PARSE_REQUIRE_LEN, &p, &diag) < 0)
		return reg_fail(reg, P25_EINVAL, "%s", diag.error);
	p25_prefix_format(&p, text, sizeof text);
	st = reg_query(reg,
	               "SELECT x.id, x.org_id, o.handle FROM prefix x JOIN org o ON o.id = "
	               "x.org_id WHERE x.text = ?",
	               "s", text);
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 0) {
		reg_done(st);
		return reg_hint(reg,
		                reg_fail(reg, P25_ENOTFOUND, "prefix %s is not registered", text),
		                P25_HINT_LIST_PREFIXES, NULL, 0, 0);
	}
	id = col_int(st, 0);
	org_id = col_int(st, 1);
	snprintf(org, sizeof org, "%s", col_text(st, 2));
	reg_done(st);

	/* The first permit of the org inside it, by id. */
	net_span(&p, &sp);
	st = reg_query(reg,
	               "SELECT x.id, x.text FROM permit x WHERE x.org_id = ?6 AND x.family = ?1 AND "
	               SPAN_CONTAINS("x") " ORDER BY x.id LIMIT 1",
	               SPAN_ARGS "i", SPAN_BIND(&sp), org_id);
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	if (rc == 1) {
		rc = reg_fail(reg, P25_ECONFLICT,
		              "prefix %s of organization '%s' still holds permit %lld (%s); "
		              "remove its permits first",
		              text, org, (long long)col_int(st, 0), col_text(st, 1));
		reg_done(st);
		return rc;
	}
	reg_done(st);
	before = json_pack("{s:s, s:s}", "org", org, "prefix", text);
	rc = reg_exec(reg, "DELETE FROM prefix WHERE id = ?", "i", id);
	if (rc == 0)
		rc = reg_change(reg, who, P25_CHANGE_PREFIX_REMOVED, text, before, NULL);
	json_decref(before);
	return rc;
}

int p25_prefix_remove(struct p25_registry *reg, const struct p25_actor *who, const char *prefix)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, prefix_remove_tx(reg, who, prefix));
}

int p25_prefix_list(struct p25_registry *reg, const char *org, json_t **out)
{
	return p25_prefix_list_in(reg, org, NULL, out);
}

int p25_prefix_list_in(struct p25_registry *reg, const char *org, const struct p25_scope *scope,
                       json_t **out)
{
	return list_by_org(reg, org, scope,
	                   "SELECT o.handle, x.text, x.family, x.description, x.created FROM prefix x "
	                   "JOIN org o ON o.id = x.org_id",
	                   "x.org_id", "x.family, x.net, x.len", prefix_json_row, 0, 0, out);
}

int p25_prefix_show_in(struct p25_registry *reg, const char *prefix, const struct p25_scope *scope,
                       json_t **out)
{
	struct p25_prefix p;
	struct p25_diag diag;
	char text[P25_PREFIX_STRLEN];
	int rc;

	*out = NULL;
	if (p25_prefix_parse(prefix, P25_PARSE_REQUIRE_LEN, &p, &diag) < 0)
		return reg_fail(reg, P25_EINVAL, "%s", diag.error);
	p25_prefix_format(&p, text, sizeof text);
	rc = scoped_row(reg,
	                "SELECT o.handle, x.text, x.family, x.description, x.created FROM prefix x "
	                "JOIN org o ON o.id = x.org_id WHERE x.text = ? AND " SCOPE_SQL,
	                0, text, scope, prefix_json_row, 0, out);
	if (rc == 0)
		return reg_hint(reg,
		                reg_fail(reg, P25_ENOTFOUND, "prefix %s is not registered", text),
		                P25_HINT_LIST_PREFIXES, NULL, 0, 0);
	return rc < 0 ? rc : 0;
}

/* ---- contacts ---- */

bool plausible_email(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;

	if (!at || at == s || !at[1] || strchr(at + 1, '@') || !strchr(at + 1, '.'))
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || *s == ',' || *s == '<' || *s == '>')
			return false;
	return true;
}

int contact_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                   const char *name, const char *email, const char *phone,
                   enum p25_contact_role role, int64_t want_id, int64_t *id)
{
	int64_t org_id = 0, new_id = 0;
	json_t *after;
	char object[24];
	int rc;

	if ((rc = org_id_of(reg, org, &org_id)) < 0)
		return rc;
	if (!name || !*name)
		return reg_fail(reg, P25_EINVAL,
		                "contact for organization '%s': the name must not be empty", org);
	if (!plausible_email(email))
		return reg_fail(reg, P25_EINVAL,
		                "contact '%s' of organization '%s': '%s' is not an email address",
		                name, org, email ? email : "");
	if (want_id > 0) {
		int64_t n = 0;
		if ((rc = count(reg, "SELECT count(*) FROM contact WHERE id = ?", want_id, &n)) < 0)
			return rc;
		if (n)
			return reg_fail(reg, P25_ECONFLICT,
			                "contact id %" PRId64 " is already in use", want_id);
	}
	rc = reg_exec(reg,
	              "INSERT INTO contact (id, org_id, name, email, phone, role, created) "
	              "VALUES (nullif(?, 0), ?, ?, ?, ?, ?, ?)",
	              "iissssT", want_id, org_id, name, email, phone ? phone : "",
	              p25_role_name(role), who->now);
	if (rc < 0)
		return rc;
	new_id = reg_last_id(reg);
	if (id)
		*id = new_id;
	snprintf(object, sizeof object, "%" PRId64, new_id);
	after = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)new_id, "org", org,
	                  "name", name, "email", email, "phone", phone ? phone : "", "role",
	                  p25_role_name(role));
	rc = reg_change(reg, who, P25_CHANGE_CONTACT_ADDED, object, NULL, after);
	json_decref(after);
	return rc;
}

int p25_contact_add(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                    const char *name, const char *email, const char *phone,
                    enum p25_contact_role role, int64_t *id)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, contact_add_tx(reg, who, org, name, email, phone, role, 0, id));
}

static int contact_remove_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	reg_stmt *st;
	json_t *before;
	char object[24];
	int64_t org_id = 0, nsecurity = 0;
	bool last_guard;
	int rc;

	st = reg_query(reg,
	               "SELECT " CONTACT_COLS ", o.id, o.enrollment FROM contact c JOIN org o ON "
	               "o.id = c.org_id WHERE c.id = ?",
	               "i", id);
	if ((rc = reg_first(reg, st, "no contact %" PRId64, id)) < 0)
		return rc == P25_ENOTFOUND ? reg_hint(reg, rc, P25_HINT_LIST_CONTACTS, NULL, 0, 0) : rc;
	before = contact_json_row(st, 0, 0);
	org_id = col_int(st, 6);
	last_guard = !strcmp(col_text(st, 5), "security") && !strcmp(col_text(st, 7), "active");
	reg_done(st);
	if (last_guard) {
		rc = count(reg,
		           "SELECT count(*) FROM contact WHERE org_id = ? AND role = 'security'",
		           org_id, &nsecurity);
		if (rc == 0 && nsecurity <= 1)
			rc = reg_fail(reg, P25_ECONFLICT,
			              "contact %" PRId64 " is the last security contact of active "
			              "organization '%s'; add another security contact first",
			              id, json_string_value(json_object_get(before, "org")));
		if (rc < 0) {
			json_decref(before);
			return rc;
		}
	}
	snprintf(object, sizeof object, "%" PRId64, id);
	rc = reg_exec(reg, "DELETE FROM contact WHERE id = ?", "i", id);
	if (rc == 0)
		rc = reg_change(reg, who, P25_CHANGE_CONTACT_REMOVED, object, before, NULL);
	json_decref(before);
	return rc;
}

int p25_contact_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, contact_remove_tx(reg, who, id));
}

int p25_contact_list(struct p25_registry *reg, const char *org, json_t **out)
{
	return p25_contact_list_in(reg, org, NULL, out);
}

int p25_contact_list_in(struct p25_registry *reg, const char *org, const struct p25_scope *scope,
                        json_t **out)
{
	return list_by_org(reg, org, scope,
	                   "SELECT " CONTACT_COLS " FROM contact c JOIN org o ON o.id = c.org_id",
	                   "c.org_id", "o.handle, c.id", contact_json_row, 0, 0, out);
}

int p25_contact_show_in(struct p25_registry *reg, int64_t id, const struct p25_scope *scope,
                        json_t **out)
{
	return scoped_object(reg,
	                     "SELECT " CONTACT_COLS " FROM contact c JOIN org o ON o.id = c.org_id "
	                     "WHERE c.id = ? AND " SCOPE_SQL,
	                     id, scope, contact_json_row, 0, "contact", P25_HINT_LIST_CONTACTS, out);
}

/* ---- permitted senders ---- */

/*
 * An expired permit gives way to a new permit of its address, in the same
 * transaction: it leaves the permit table (so `permit list --expired` shows
 * the variances that lapsed and were not issued again) and the audit log
 * keeps it whole, as "permit.supersede" with the id of the permit that
 * replaces it.  That id is fixed here, never the old one reused.
 */
static int permit_supersede(struct p25_registry *reg, const struct p25_actor *who, int64_t old,
                            int64_t *new_id)
{
	json_t *before = permit_json_by_id(reg, old, 0), *after;
	char object[24];
	int rc = 0;

	if (!before)
		return reg->error[0]
		           ? P25_EDB
		           : reg_fail(reg, P25_EDB, "registry: permit %" PRId64 " vanished", old);
	if (!*new_id) {
		reg_stmt *st =
		    reg_query(reg, "SELECT coalesce(max(id), 0) + 1 FROM permit", "");
		if (!st || (rc = reg_step(reg, st)) < 0) {
			json_decref(before);
			return P25_EDB;
		}
		*new_id = col_int(st, 0);
		reg_done(st);
	}
	after = json_deep_copy(before);
	json_object_set_new(after, "superseded_by", json_integer(*new_id));
	snprintf(object, sizeof object, "%" PRId64, old);
	rc = reg_exec(reg, "DELETE FROM permit WHERE id = ?", "i", old);
	if (rc == 0)
		rc = reg_change(reg, who, P25_CHANGE_PERMIT_SUPERSEDED, object, before, after);
	json_decref(before);
	json_decref(after);
	return rc;
}

int permit_add_tx(struct p25_registry *reg, const struct p25_actor *who,
                  const struct p25_permit_spec *spec, const struct permit_origin *origin,
                  int64_t *id)
{
	static const struct permit_origin plain = {0};
	struct permit_checked chk;
	char object[24];
	int64_t new_id = 0, n = 0;
	json_t *after;
	int rc;

	if (!origin)
		origin = &plain;
	if ((rc = rule_permit(reg, spec, who->now, origin->allow_past ? RULE_RESTORE : 0, &chk)) <
	    0)
		return rc;
	new_id = origin->want_id;
	if (chk.supersedes && (rc = permit_supersede(reg, who, chk.supersedes, &new_id)) < 0)
		return rc;
	if (origin->want_id > 0) {
		rc = count(reg, "SELECT count(*) FROM permit WHERE id = ?", origin->want_id, &n);
		if (rc < 0)
			return rc;
		if (n)
			return reg_fail(reg, P25_ECONFLICT,
			                "permit id %" PRId64 " is already in use", origin->want_id);
	}
	rc = reg_exec(
	    reg,
	    "INSERT INTO permit (id, org_id, family, net, len, text, kind, description, "
	    "requested_by, approved_by, created, expires, request_id) VALUES "
	    "(nullif(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0))",
	    "iiibisssssTti", new_id, chk.org_id, (int64_t)chk.prefix.family, &chk.prefix,
	    (int64_t)chk.prefix.len, chk.text, p25_kind_name(spec->kind), spec->description,
	    spec->requested_by && *spec->requested_by ? spec->requested_by : who->name,
	    spec->approved_by && *spec->approved_by ? spec->approved_by : who->name,
	    origin->created ? origin->created : who->now, spec->expires, origin->request_id);
	if (rc < 0)
		return rc;
	new_id = reg_last_id(reg);
	if (id)
		*id = new_id;
	snprintf(object, sizeof object, "%" PRId64, new_id);
	after = permit_json_by_id(reg, new_id, 0);
	rc = reg_change(reg, who, P25_CHANGE_PERMIT_ADDED, object, NULL, after);
	json_decref(after);
	return rc;
}

int p25_permit_add(struct p25_registry *reg, const struct p25_actor *who,
                   const struct p25_permit_spec *spec, int64_t *id)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, permit_add_tx(reg, who, spec, NULL, id));
}

static int permit_remove_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	json_t *before = permit_json_by_id(reg, id, 0);
	char object[24];
	int rc;

	if (!before)
		return reg->error[0]
		           ? P25_EDB
		           : reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no permit %" PRId64, id),
		                      P25_HINT_LIST_PERMITS, NULL, 0, 0);
	snprintf(object, sizeof object, "%" PRId64, id);
	rc = reg_exec(reg, "DELETE FROM permit WHERE id = ?", "i", id);
	if (rc == 0)
		rc = reg_change(reg, who, P25_CHANGE_PERMIT_REMOVED, object, before, NULL);
	json_decref(before);
	return rc;
}

int p25_permit_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, permit_remove_tx(reg, who, id));
}

int permit_remove_in_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	return permit_remove_tx(reg, who, id);
}

static int permit_set_expiry_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                                p25_time expires)
{
	json_t *before = permit_json_by_id(reg, id, 0), *after;
	char object[24];
	int rc;

	if (!before)
		return reg->error[0]
		           ? P25_EDB
		           : reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no permit %" PRId64, id),
		                      P25_HINT_LIST_PERMITS, NULL, 0, 0);
	if (expires && expires <= who->now) {
		char t[P25_TIME_STRLEN];
		json_decref(before);
		return reg_fail(reg, P25_EINVAL,
		                "permit %" PRId64 ": the expiry %s is already past", id,
		                p25_time_format(expires, t, sizeof t));
	}
	snprintf(object, sizeof object, "%" PRId64, id);
	rc = reg_exec(reg, "UPDATE permit SET expires = ? WHERE id = ?", "ti", expires, id);
	if (rc == 0) {
		after = permit_json_by_id(reg, id, 0);
		rc = reg_change(reg, who, P25_CHANGE_PERMIT_CHANGED, object, before, after);
		json_decref(after);
	}
	json_decref(before);
	return rc;
}

int p25_permit_set_expiry(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                          p25_time expires)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, permit_set_expiry_tx(reg, who, id, expires));
}

int p25_permit_list(struct p25_registry *reg, const struct p25_permit_filter *f, json_t **out)
{
	int64_t window = f->expiring_within > 0 ? f->expiring_within : P25_EXPIRING_WINDOW;
	json_t *all = NULL, *row;
	size_t i;
	int rc;

	reg->error[0] = '\0';
	rc = list_by_org(reg, f->org, f->scope,
	                 "SELECT " PERMIT_COLS " FROM permit p JOIN org o ON o.id = p.org_id",
	                 "p.org_id", "o.handle, p.family, p.net, p.len", permit_json_row, f->now,
	                 window, &all);
	if (rc < 0 || (!f->expiring_within && !f->expired)) {
		*out = all;
		return rc;
	}
	*out = json_array();
	json_array_foreach(all, i, row)
	{
		const char *status = json_string_value(json_object_get(row, "status"));
		if ((f->expiring_within && !strcmp(status, "expiring")) ||
		    (f->expired && !strcmp(status, "expired")))
			json_array_append(*out, row);
	}
	json_decref(all);
	return 0;
}

int p25_permit_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out)
{
	return p25_permit_show_in(reg, id, now, NULL, out);
}

int p25_permit_show_in(struct p25_registry *reg, int64_t id, p25_time now,
                       const struct p25_scope *scope, json_t **out)
{
	return scoped_object(reg,
	                     "SELECT " PERMIT_COLS " FROM permit p JOIN org o ON o.id = p.org_id "
	                     "WHERE p.id = ? AND " SCOPE_SQL,
	                     id, scope, permit_json_row, now, "permit", P25_HINT_LIST_PERMITS, out);
}

int p25_permits_covering(struct p25_registry *reg, const char *org, const struct p25_prefix *p,
                         p25_time now, struct p25_prefix **out, size_t *n)
{
	struct p25_prefix *v = NULL;
	struct net_span sp;
	size_t cap = 0;
	reg_stmt *st;
	int rc;

	*out = NULL;
	*n = 0;
	reg->error[0] = '\0';
	net_span(p, &sp);
	st = reg_query(reg,
	               "SELECT x.text FROM permit x JOIN org o ON o.id = x.org_id WHERE o.handle = ?6 "
	               "AND x.family = ?1 AND (x.expires IS NULL OR x.expires > ?7) AND "
	               SPAN_OVERLAPS("x") " ORDER BY x.net, x.len",
	               SPAN_ARGS "sT", SPAN_BIND(&sp), org, now);
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_prefix q;
		struct p25_diag diag;
		if (p25_prefix_parse(col_text(st, 0), 0, &q, &diag) < 0)
			continue;
		if (P25_ARRAY_GROW(v, *n, cap) < 0) {
			reg_done(st);
			free(v);
			*n = 0;
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		}
		v[(*n)++] = q;
	}
	if (rc < 0) {
		free(v);
		*n = 0;
		return rc;
	}
	reg_done(st);
	*out = v;
	return 0;
}

int p25_registry_next_expiry(struct p25_registry *reg, p25_time now, p25_time *next)
{
	reg_stmt *st;
	int rc;

	*next = 0;
	reg->error[0] = '\0';
	st = reg_query(reg, "SELECT min(expires) FROM permit WHERE expires > ?", "T", now);
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	*next = rc ? col_time(st, 0) : 0;
	reg_done(st);
	return 0;
}
