/*
 * Requests: sign-ups and variances as members submit them.  A request moves
 * submitted -> approved -> applied -> verified, or is rejected (by the
 * operator) or cancelled (by its member or the operator) before it is
 * applied, along the one table of transitions (rules.c); it is due 48 hours
 * after submission.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/array.h"

#define REQUEST_COLS                                                                               \
	"r.id, o.handle, r.type, r.status, r.requested_by, r.note, r.submitted, r.due, "           \
	"r.approved, r.approved_by, r.applied, r.applied_by, r.verified, r.verified_by, "          \
	"r.rejected, r.rejected_by, r.reason, r.org_id, r.cancelled, r.cancelled_by"

static json_t *nullable(reg_stmt *st, int col)
{
	return col_null(st, col) ? json_null()
	                                                   : json_string(col_text(st, col));
}

static bool is_open(const char *status)
{
	enum p25_request_status s;

	return p25_request_status_parse(status, &s) == 0 && p25_request_status_open(s);
}

static int add_items(struct p25_registry *reg, int64_t id, const char *type, json_t *req)
{
	reg_stmt *st = reg_query(reg,
	                             "SELECT address, kind, description, permit_id, expires FROM "
	                             "request_item WHERE request_id = ? ORDER BY seq",
	                             "i", id);
	bool removal = !strcmp(type, "remove-permit");
	json_t *items = json_array();
	int rc;

	if (!st) {
		json_decref(items);
		return P25_EDB;
	}
	while ((rc = reg_step(reg, st)) == 1) {
		if (removal)
			json_array_append_new(items,
			                      json_pack("{s:I, s:s}", "permit_id",
			                                (json_int_t)col_int(st, 3),
			                                "address", col_text(st, 0)));
		else
			json_array_append_new(items,
			                      json_pack("{s:s, s:s, s:s, s:o}", "address",
			                                col_text(st, 0), "kind", col_text(st, 1),
			                                "description", col_text(st, 2), "expires",
			                                json_time_or_null(col_time(st, 4))));
	}
	if (rc < 0) {
		json_decref(items);
		return rc;
	}
	reg_done(st);
	json_object_set_new(req, removal ? "remove" : "servers", items);
	return 0;
}

/* now 0: without the time-relative fields, as in exports and the audit log. */
static json_t *request_json_row(reg_stmt *st, p25_time now, int64_t window)
{
	const char *status = col_text(st, 3);
	p25_time due = col_time(st, 7);
	json_t *o =
	    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
	              (json_int_t)col_int(st, 0), "org", col_text(st, 1), "type",
	              col_text(st, 2), "status", status, "requested_by", col_text(st, 4), "note",
	              col_text(st, 5), "submitted", col_text(st, 6), "due", col_text(st, 7));
	static const char *const later[] = {"approved",   "approved_by", "applied",
	                                    "applied_by", "verified",    "verified_by",
	                                    "rejected",   "rejected_by", "reason"};

	if (!o)
		return NULL;
	for (int i = 0; i < 9; i++)
		json_object_set_new(o, later[i], nullable(st, 8 + i));
	/* Only a cancelled request says so: the other requests' objects stay as they were. */
	if (!col_null(st, 18)) {
		json_object_set_new(o, "cancelled", nullable(st, 18));
		json_object_set_new(o, "cancelled_by", nullable(st, 19));
	}
	/*
	 * A sign-up is scheduled with the member (org set --at, or apply --at),
	 * not held to the 48 hours of a variance: it has no due time and is never
	 * overdue.
	 */
	bool signup = !strcmp(col_text(st, 2), "signup");
	if (signup)
		json_object_set_new(o, "due", json_null());
	if (now) {
		bool open = is_open(status) && !signup;
		json_object_set_new(o, "overdue", json_boolean(open && now > due));
		/* Whole hours until due; negative once overdue.  Closed requests have none. */
		json_object_set_new(o, "hours_left",
		                    open ? json_integer((due - now) / P25_HOUR) : json_null());
	}
	return o;
}

json_t *request_json_by_id(struct p25_registry *reg, int64_t id, p25_time now)
{
	json_t *o;

	row_json(reg,
	         reg_query(reg,
	                   "SELECT " REQUEST_COLS " FROM request r JOIN org o ON o.id = r.org_id "
	                   "WHERE r.id = ?",
	                   "i", id),
	         request_json_row, now, &o);
	if (o && add_items(reg, id, json_string_value(json_object_get(o, "type")), o) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static int request_audit(struct p25_registry *reg, const struct p25_actor *who,
                         enum p25_change_kind kind, int64_t id, json_t *before)
{
	json_t *after = request_json_by_id(reg, id, 0);
	char object[24];
	int rc;

	snprintf(object, sizeof object, "%" PRId64, id);
	rc = reg_change(reg, who, kind, object, before, after);
	json_decref(after);
	return rc;
}

/* A server on a request is checked as permit add would check it, so apply rarely fails. */
static int check_servers(struct p25_registry *reg, const struct p25_request_spec *spec,
                         p25_time now)
{
	for (size_t i = 0; i < spec->nservers; i++) {
		const struct p25_request_server *s = &spec->servers[i];
		struct p25_permit_spec ps = {.org = spec->org,
		                             .address = s->address,
		                             .kind = s->kind,
		                             .description = s->description,
		                             .expires = s->expires};
		struct permit_checked chk;
		struct p25_prefix q;
		struct p25_diag diag;
		int rc = rule_permit(reg, &ps, now, 0, &chk);
		if (rc < 0)
			return reg_wrap(reg, rc, "server %zu of the request", i + 1);
		for (size_t j = 0; j < i; j++)
			if (p25_prefix_parse(spec->servers[j].address, 0, &q, &diag) == 0 &&
			    p25_prefix_equal(&chk.prefix, &q))
				return reg_fail(reg, P25_EINVAL,
				                "server %zu of the request (%s) repeats server %zu",
				                i + 1, s->address, j + 1);
	}
	return 0;
}

static int insert_item(struct p25_registry *reg, int64_t id, int64_t seq, const char *address,
                       const char *kind, const char *description, int64_t permit_id,
                       p25_time expires)
{
	return reg_exec(reg,
	                "INSERT INTO request_item (request_id, seq, address, kind, description, "
	                "permit_id, expires) VALUES (?, ?, ?, ?, ?, nullif(?, 0), ?)",
	                "iisssit", id, seq, address, kind, description, permit_id, expires);
}

/* Find the permit a removal names, by id or address; it must belong to org. */
static int find_permit(struct p25_registry *reg, int64_t org_id, const char *org, int64_t want,
                       const char *address, int64_t *id, char *text, size_t textlen)
{
	struct p25_prefix p;
	struct p25_diag diag;
	char canon[P25_PREFIX_STRLEN];
	reg_stmt *st;
	int rc;

	if (address) {
		if (p25_prefix_parse(address, 0, &p, &diag) < 0)
			return reg_fail(reg, P25_EINVAL, "%s", diag.error);
		permit_text(&p, canon, sizeof canon);
		st = reg_query(reg, "SELECT id, text FROM permit WHERE org_id = ? AND text = ?",
		               "is", org_id, canon);
	} else {
		st = reg_query(reg, "SELECT id, text FROM permit WHERE org_id = ? AND id = ?", "ii",
		               org_id, want);
	}
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 0) {
		reg_done(st);
		if (address)
			return reg_fail(reg, P25_ENOTFOUND,
			                "organization '%s' has no permit for %s", org, canon);
		return reg_hint(reg,
		                reg_fail(reg, P25_ENOTFOUND,
		                         "organization '%s' has no permit %" PRId64, org, want),
		                P25_HINT_LIST_ORG_PERMITS, org, 0, 0);
	}
	*id = col_int(st, 0);
	snprintf(text, textlen, "%s", col_text(st, 1));
	reg_done(st);
	return 0;
}

static int submit_tx(struct p25_registry *reg, const struct p25_actor *who,
                     const struct p25_request_spec *spec, int64_t *out)
{
	const char *type = p25_request_type_name(spec->type);
	bool removal = spec->type == P25_REQ_REMOVE_PERMIT;
	int64_t org_id, id, seq = 0;
	json_t *org;
	int rc;

	if ((rc = org_id_of(reg, spec->org, &org_id)) < 0)
		return rc;
	if (removal && spec->nservers)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "a remove-permit request names permits, not servers"),
		                P25_HINT_REQUEST_PERMITS, NULL, 0, strlen(", not servers"));
	if (!removal && (spec->npermit_ids || spec->naddresses))
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL, "a %s request lists servers, not permits",
		                         type),
		                P25_HINT_REQUEST_SERVER, NULL, 0, strlen(", not permits"));
	if (removal && !spec->npermit_ids && !spec->naddresses)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "a remove-permit request for '%s' needs at least one permit",
		                         spec->org),
		                P25_HINT_REQUEST_PERMITS, NULL, 0, 0);
	if (!removal && !spec->nservers)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "a %s request for '%s' needs at least one server", type,
		                         spec->org),
		                P25_HINT_REQUEST_SERVERS, NULL, 0, 0);
	org = org_json_by_id(reg, org_id);
	if (spec->type == P25_REQ_SIGNUP &&
	    !strcmp(json_string_value(json_object_get(org, "enrollment")), "active")) {
		json_decref(org);
		return reg_fail(reg, P25_ECONFLICT,
		                "organization '%s' is already enrolled (active); use an add-permit "
		                "request for more servers",
		                spec->org);
	}
	if (!removal && (rc = check_servers(reg, spec, who->now)) < 0) {
		json_decref(org);
		return rc;
	}
	rc = reg_exec(reg,
	              "INSERT INTO request (org_id, type, status, requested_by, note, submitted, "
	              "due) VALUES (?, ?, 'submitted', ?, ?, ?, ?)",
	              "isssTT", org_id, type,
	              spec->requested_by && *spec->requested_by ? spec->requested_by : who->name,
	              spec->note ? spec->note : "", who->now, who->now + P25_REQUEST_DUE);
	id = reg_last_id(reg);
	for (size_t i = 0; rc == 0 && i < spec->nservers; i++) {
		struct p25_prefix p;
		struct p25_diag diag;
		char text[P25_PREFIX_STRLEN];
		p25_prefix_parse(spec->servers[i].address, 0, &p, &diag);
		rc = insert_item(reg, id, ++seq, permit_text(&p, text, sizeof text),
		                 p25_kind_name(spec->servers[i].kind), spec->servers[i].description,
		                 0, spec->servers[i].expires);
	}
	for (size_t i = 0; rc == 0 && i < spec->npermit_ids + spec->naddresses; i++) {
		char text[P25_PREFIX_STRLEN];
		int64_t pid = 0;
		bool by_id = i < spec->npermit_ids;
		rc = find_permit(reg, org_id, spec->org, by_id ? spec->permit_ids[i] : 0,
		                 by_id ? NULL : spec->addresses[i - spec->npermit_ids], &pid, text,
		                 sizeof text);
		if (rc == 0)
			rc = insert_item(reg, id, ++seq, text, NULL, NULL, pid, 0);
	}
	/* A sign-up in the works is what "pending" enrollment means. */
	if (rc == 0 && spec->type == P25_REQ_SIGNUP &&
	    !strcmp(json_string_value(json_object_get(org, "enrollment")), "none")) {
		json_t *after;
		rc =
		    reg_exec(reg, "UPDATE org SET enrollment = 'pending', updated = ? WHERE id = ?",
		             "Ti", who->now, org_id);
		after = org_json_by_id(reg, org_id);
		if (rc == 0)
			rc = reg_change(reg, who, P25_CHANGE_ORG_CHANGED, spec->org, org, after);
		json_decref(after);
	}
	json_decref(org);
	if (rc == 0)
		rc = request_audit(reg, who, p25_request_transition(P25_REQUEST_SUBMIT)->change, id,
		                   NULL);
	if (rc == 0 && out)
		*out = id;
	return rc;
}

int p25_request_submit(struct p25_registry *reg, const struct p25_actor *who,
                       const struct p25_request_spec *spec, int64_t *id)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, submit_tx(reg, who, spec, id));
}

/* Load a request for a transition: it must be in one of the statuses it starts from. */
static int load_for(struct p25_registry *reg, int64_t id, const struct p25_request_transition *t,
                    json_t **out)
{
	json_t *r = request_json_by_id(reg, id, 0);
	enum p25_request_status status;
	const char *name;

	*out = NULL;
	if (!r)
		return reg->error[0]
		           ? P25_EDB
		           : reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no request %" PRId64, id),
		                      P25_HINT_LIST_REQUESTS, NULL, 0, 0);
	name = json_string_value(json_object_get(r, "status"));
	if (p25_request_status_parse(name, &status) == 0 && (t->from & P25_REQUEST_FROM(status))) {
		*out = r;
		return 0;
	}
	reg_fail(reg, P25_ECONFLICT, "request %" PRId64 " is %s and cannot be %s", id,
	         name ? name : "?", t->refusal);
	json_decref(r);
	return P25_ECONFLICT;
}

/*
 * The transition made: the new status, stamped with who and when (and the
 * reason of a rejection), then its audit and change record.
 */
static int moved(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                 const struct p25_request_transition *t, json_t *before, const char *reason)
{
	const char *status = p25_request_status_name(t->to);
	char sql[200];
	int rc;

	/* status names a fixed column pair (approved/approved_by, ...), never user text. */
	snprintf(sql, sizeof sql,
	         "UPDATE request SET status = ?, %s = ?, %s_by = ?, reason = coalesce(?, reason) "
	         "WHERE id = ?",
	         status, status);
	rc = reg_exec(reg, sql, "sTssi", status, who->now, who->name, reason, id);
	return rc < 0 ? rc : request_audit(reg, who, t->change, id, before);
}

/* A transition that changes nothing but the request. */
static int step_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                   enum p25_request_action action, const char *reason)
{
	const struct p25_request_transition *t = p25_request_transition(action);
	json_t *before;
	int rc = load_for(reg, id, t, &before);

	if (rc == 0)
		rc = moved(reg, who, id, t, before, reason);
	json_decref(before);
	return rc;
}

static int step(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                enum p25_request_action action)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return reg_end(reg, step_tx(reg, who, id, action, NULL));
}

int p25_request_approve(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	return step(reg, who, id, P25_REQUEST_APPROVE);
}

int p25_request_reject(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                       const char *reason)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	if (!reason || !*reason)
		rc = reg_fail(reg, P25_EINVAL, "rejecting request %" PRId64 " needs a reason", id);
	else
		rc = step_tx(reg, who, id, P25_REQUEST_REJECT, reason);
	return reg_end(reg, rc);
}

int p25_request_cancel(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	return step(reg, who, id, P25_REQUEST_CANCEL);
}

static int prefixed(struct p25_registry *reg, int rc, int64_t id)
{
	return reg_wrap(reg, rc, "applying request %" PRId64, id);
}

static int apply_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                    bool no_servers, p25_time activate_at)
{
	const struct p25_request_transition *t = p25_request_transition(P25_REQUEST_APPLY);
	json_t *before, *items, *item;
	const char *org, *type;
	int64_t org_id = 0;
	size_t i;
	int rc = load_for(reg, id, t, &before);

	if (rc < 0)
		return rc;
	org = json_string_value(json_object_get(before, "org"));
	type = json_string_value(json_object_get(before, "type"));
	if (activate_at && strcmp(type, "signup") != 0) {
		json_decref(before);
		return reg_fail(reg, P25_EINVAL,
		                "applying request %" PRId64 ": only a sign-up has an activation time "
		                "(a %s takes effect when applied)",
		                id, type);
	}
	if (activate_at && activate_at <= who->now) {
		char when[P25_TIME_STRLEN];
		json_decref(before);
		return reg_fail(reg, P25_EINVAL,
		                "applying request %" PRId64 ": the activation time %s is already past",
		                id, p25_time_format(activate_at, when, sizeof when));
	}
	rc = org_id_of(reg, org, &org_id);
	if (rc < 0) {
		json_decref(before);
		return prefixed(reg, rc, id);
	}
	items = json_object_get(before, !strcmp(type, "remove-permit") ? "remove" : "servers");
	json_array_foreach(items, i, item)
	{
		if (!strcmp(type, "remove-permit")) {
			int64_t pid = json_integer_value(json_object_get(item, "permit_id"));
			const char *address = json_string_value(json_object_get(item, "address"));
			char text[P25_PREFIX_STRLEN];
			/* The permit may have been replaced meanwhile; the address still names it.
			 */
			rc = find_permit(reg, org_id, org, pid, NULL, &pid, text, sizeof text);
			if (rc == P25_ENOTFOUND)
				rc = find_permit(reg, org_id, org, 0, address, &pid, text,
				                 sizeof text);
			if (rc == 0)
				rc = permit_remove_in_tx(reg, who, pid);
		} else {
			struct p25_permit_spec ps = {
			    .org = org,
			    .address = json_string_value(json_object_get(item, "address")),
			    .description = json_string_value(json_object_get(item, "description")),
			    .requested_by =
			        json_string_value(json_object_get(before, "requested_by")),
			    .approved_by =
			        json_string_value(json_object_get(before, "approved_by")),
			};
			struct permit_origin origin = {.request_id = id};
			char err[200];
			const char *expires = json_string_value(json_object_get(item, "expires"));
			p25_kind_parse(json_string_value(json_object_get(item, "kind")), &ps.kind);
			/* A temporary variance stays temporary: the permit expires as asked. */
			if (expires && p25_time_parse(expires, &ps.expires, err, sizeof err) < 0)
				rc =
				    reg_fail(reg, P25_EDB,
				             "registry: request %" PRId64 " holds a bad expiry: %s",
				             id, err);
			else
				rc = permit_add_tx(reg, who, &ps, &origin, NULL);
		}
		if (rc < 0)
			break;
	}
	/* After its permits are in: they are what the org may be activated with. */
	if (rc == 0 && !strcmp(type, "signup"))
		rc = rule_activation(reg, org_id, org, who->now, no_servers);
	if (rc == 0 && !strcmp(type, "signup")) {
		json_t *org_before = org_json_by_id(reg, org_id), *org_after;
		/* Scheduled: its permits are in now, its block starts at the agreed time. */
		rc = activate_at ? reg_exec(reg,
		                            "UPDATE org SET activate_at = ?, activate_by = ?, "
		                            "activate_no_servers = ?, updated = ? WHERE id = ?",
		                            "TsiTi", activate_at, who->name, (int64_t)no_servers,
		                            who->now, org_id)
		                 : reg_exec(reg,
		                            "UPDATE org SET enrollment = 'active', activate_at = NULL, "
		                            "activate_by = NULL, activate_no_servers = 0, updated = ? "
		                            "WHERE id = ?",
		                            "Ti", who->now, org_id);
		org_after = org_json_by_id(reg, org_id);
		if (rc == 0)
			rc = reg_change(reg, who, P25_CHANGE_ORG_CHANGED, org, org_before, org_after);
		json_decref(org_before);
		json_decref(org_after);
	}
	if (rc < 0) {
		json_decref(before);
		return rc == P25_EDB ? rc : prefixed(reg, rc, id);
	}
	rc = moved(reg, who, id, t, before, NULL);
	json_decref(before);
	return rc;
}

int p25_request_apply_confirmed(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                                bool no_servers)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return keep_warning(reg, reg_end(reg, apply_tx(reg, who, id, no_servers, 0)));
}

int p25_request_apply_at(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                         bool no_servers, p25_time activate_at)
{
	int rc = reg_begin(reg);
	if (rc < 0)
		return rc;
	return keep_warning(reg, reg_end(reg, apply_tx(reg, who, id, no_servers, activate_at)));
}

int p25_request_apply(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	return p25_request_apply_confirmed(reg, who, id, false);
}

int p25_request_verify(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	return step(reg, who, id, P25_REQUEST_VERIFY);
}

int p25_request_list(struct p25_registry *reg, const struct p25_request_filter *f, json_t **out)
{
	int64_t org_id = 0;
	reg_stmt *st;
	json_t *rows;
	int rc;

	char *scoped;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = scope_text(reg, f->scope, &scoped)) < 0)
		return rc;
	if (f->org && (rc = org_id_in(reg, f->org, scoped, &org_id)) < 0) {
		free(scoped);
		return rc;
	}
	const char *status = f->by_status ? p25_request_status_name(f->status) : NULL;
	/* One org's requests through the request_org index; "? = 0 OR ..." would scan. */
	st = org_id
	         ? reg_query(reg,
	                     "SELECT " REQUEST_COLS " FROM request r JOIN org o ON o.id = r.org_id "
	                     "WHERE r.org_id = ? AND (? IS NULL OR r.status = ?) AND " SCOPE_SQL
	                     " ORDER BY r.id",
	                     "issss", org_id, status, status, scoped, scoped)
	         : reg_query(reg,
	                     "SELECT " REQUEST_COLS " FROM request r JOIN org o ON o.id = r.org_id "
	                     "WHERE (? IS NULL OR r.status = ?) AND " SCOPE_SQL " ORDER BY r.id",
	                     "ssss", status, status, scoped, scoped);
	free(scoped);
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1) {
		json_t *r = request_json_row(st, f->now ? f->now : 1, 0);
		if (!r)
			continue;
		if (f->overdue && !json_is_true(json_object_get(r, "overdue"))) {
			json_decref(r);
			continue;
		}
		if ((rc = add_items(reg, col_int(st, 0), col_text(st, 2), r)) < 0) {
			json_decref(r);
			reg_done(st);
			break;
		}
		json_array_append_new(rows, r);
	}
	/* A failed step has finished the statement already. */
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

int p25_request_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out)
{
	return p25_request_show_in(reg, id, now, NULL, out);
}

int p25_request_show_in(struct p25_registry *reg, int64_t id, p25_time now,
                        const struct p25_scope *scope, json_t **out)
{
	int rc = scoped_object(reg,
	                       "SELECT " REQUEST_COLS " FROM request r JOIN org o ON o.id = r.org_id "
	                       "WHERE r.id = ? AND " SCOPE_SQL,
	                       id, scope, request_json_row, now, "request", P25_HINT_LIST_REQUESTS,
	                       out);

	if (rc == 0 && (rc = add_items(reg, id, json_string_value(json_object_get(*out, "type")),
	                               *out)) < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int p25_request_permits(struct p25_registry *reg, int64_t id, int64_t **ids, size_t *n)
{
	reg_stmt *st;
	int64_t *v = NULL;
	size_t cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	reg->error[0] = '\0';
	st = reg_query(reg, "SELECT id FROM permit WHERE request_id = ? ORDER BY id", "i", id);
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		if (P25_ARRAY_GROW(v, *n, cap) < 0) {
			reg_done(st);
			free(v);
			*n = 0;
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		}
		v[(*n)++] = col_int(st, 0);
	}
	if (rc < 0) {
		free(v);
		*n = 0;
		return rc;
	}
	reg_done(st);
	*ids = v;
	return 0;
}

/* ---- restoring from an export ---- */

static int get_time(struct p25_registry *reg, json_t *obj, const char *key, bool required,
                    const char *where, p25_time *out)
{
	json_t *v = json_object_get(obj, key);
	char err[200];

	*out = 0;
	if (!v || json_is_null(v)) {
		if (required)
			return reg_fail(reg, P25_EINVAL, "%s: \"%s\" is missing", where, key);
		return 0;
	}
	if (!json_is_string(v) || p25_time_parse(json_string_value(v), out, err, sizeof err) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: \"%s\": %s", where, key,
		                json_is_string(v) ? err : "expected a time string");
	return 0;
}

static const char *get_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int request_restore_tx(struct p25_registry *reg, const struct p25_actor *who, json_t *req,
                       const char *where)
{
	static const char *const stamps[] = {"approved", "applied", "verified", "rejected",
	                                     "cancelled"};
	enum p25_request_type type;
	enum p25_request_status status;
	p25_time submitted, due, t[5];
	json_int_t want = json_integer_value(json_object_get(req, "id"));
	const char *org = get_str(req, "org");
	json_t *items, *item;
	int64_t org_id = 0, id = 0;
	size_t i;
	int rc;

	if (!json_is_object(req))
		return reg_fail(reg, P25_EINVAL, "%s: expected an object", where);
	if (!org)
		return reg_fail(reg, P25_EINVAL, "%s: \"org\" is missing", where);
	if ((rc = org_id_of(reg, org, &org_id)) < 0)
		return reg_fail(reg, rc, "%s: no organization '%s' in the registry or the file",
		                where, org);
	if (p25_request_type_parse(get_str(req, "type"), &type) < 0)
		return reg_fail(reg, P25_EINVAL,
		                "%s: \"type\" must be signup, add-permit or remove-permit", where);
	if (p25_request_status_parse(get_str(req, "status"), &status) < 0)
		return reg_fail(reg, P25_EINVAL,
		                "%s: \"status\" must be submitted, approved, applied, verified, "
		                "rejected or cancelled",
		                where);
	if ((rc = get_time(reg, req, "submitted", true, where, &submitted)) < 0 ||
	    (rc = get_time(reg, req, "due", false, where, &due)) < 0)
		return rc;
	for (int k = 0; k < 5; k++)
		if ((rc = get_time(reg, req, stamps[k], false, where, &t[k])) < 0)
			return rc;
	if (!due)
		due = submitted + P25_REQUEST_DUE;
	if (want > 0) {
		reg_stmt *st =
		    reg_query(reg, "SELECT 1 FROM request WHERE id = ?", "i", (int64_t)want);
		if (!st || (rc = reg_step(reg, st)) < 0)
			return P25_EDB;
		reg_done(st);
		if (rc)
			return reg_fail(reg, P25_ECONFLICT, "%s: request id %lld is already in use",
			                where, (long long)want);
	}
	rc = reg_exec(
	    reg,
	    "INSERT INTO request (id, org_id, type, status, requested_by, note, submitted, "
	    "due, approved, approved_by, applied, applied_by, verified, verified_by, "
	    "rejected, rejected_by, reason, cancelled, cancelled_by) VALUES (nullif(?, 0), ?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    "iissssTTtstststssts", (int64_t)want, org_id, p25_request_type_name(type),
	    p25_request_status_name(status),
	    get_str(req, "requested_by") ? get_str(req, "requested_by") : who->name,
	    get_str(req, "note") ? get_str(req, "note") : "", submitted, due, t[0],
	    get_str(req, "approved_by"), t[1], get_str(req, "applied_by"), t[2],
	    get_str(req, "verified_by"), t[3], get_str(req, "rejected_by"), get_str(req, "reason"),
	    t[4], get_str(req, "cancelled_by"));
	if (rc < 0)
		return rc;
	id = reg_last_id(reg);
	items = json_object_get(req, type == P25_REQ_REMOVE_PERMIT ? "remove" : "servers");
	if (items && !json_is_array(items))
		return reg_fail(reg, P25_EINVAL, "%s: \"%s\" must be an array", where,
		                type == P25_REQ_REMOVE_PERMIT ? "remove" : "servers");
	json_array_foreach(items, i, item)
	{
		struct p25_prefix p;
		struct p25_diag diag;
		enum p25_permit_kind kind;
		char text[P25_PREFIX_STRLEN];
		const char *address = get_str(item, "address");
		if (p25_prefix_parse(address, 0, &p, &diag) < 0)
			return reg_fail(reg, P25_EINVAL, "%s item %zu: %s", where, i + 1,
			                diag.error);
		permit_text(&p, text, sizeof text);
		if (type == P25_REQ_REMOVE_PERMIT) {
			rc = insert_item(reg, id, (int64_t)i + 1, text, NULL, NULL,
			                 json_integer_value(json_object_get(item, "permit_id")), 0);
		} else {
			char at[600];
			p25_time expires;
			if (p25_kind_parse(get_str(item, "kind"), &kind) < 0)
				return reg_fail(reg, P25_EINVAL,
				                "%s item %zu: \"kind\" must be mail-server, "
				                "application-server or network-device",
				                where, i + 1);
			snprintf(at, sizeof at, "%s item %zu", where, i + 1);
			if ((rc = get_time(reg, item, "expires", false, at, &expires)) < 0)
				return rc;
			rc = insert_item(reg, id, (int64_t)i + 1, text, p25_kind_name(kind),
			                 get_str(item, "description") ? get_str(item, "description")
			                                              : "",
			                 0, expires);
		}
		if (rc < 0)
			return rc;
	}
	return request_audit(reg, who, P25_CHANGE_REQUEST_IMPORTED, id, NULL);
}

json_t *requests_export(struct p25_registry *reg, int *rc)
{
	reg_stmt *st = reg_query(reg, "SELECT id FROM request ORDER BY id", "");
	json_t *rows = json_array();

	*rc = 0;
	if (!st) {
		*rc = P25_EDB;
		json_decref(rows);
		return NULL;
	}
	while ((*rc = reg_step(reg, st)) == 1) {
		int64_t id = col_int(st, 0);
		json_t *r = request_json_by_id(reg, id, 0);
		if (!r) {
			reg_done(st);
			*rc = reg_fail(reg, P25_EDB, "registry: reading request %" PRId64, id);
			break;
		}
		json_array_append_new(rows, r);
	}
	if (*rc < 0) {
		json_decref(rows);
		return NULL;
	}
	reg_done(st);
	return rows;
}
