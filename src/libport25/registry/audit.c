/*
 * The audit log as an operator reads it: who changed what, when, to which
 * organization and address, filtered by organization, time, actor and kind.
 * The organization and the address come from each record's typed change
 * (changes.c); a request's addresses from its servers or removals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

static const char *const families[] = {"org", "prefix", "contact", "permit", "request", "import",
                                       /* the records of serve, the mail loop and watch */
                                       "user", "token", "notice", "alert"};
/* Their actions, which are not registry changes. */
static const char *const actions[] = {"user.add",  "user.set",     "user.remove",
                                      "login",     "login.failed", "logout",
                                      "token.add", "token.revoke", "notice.retry"};

/* kind as the filter reads it; -1 with the kinds named in reg->error. */
static int kind_known(struct p25_registry *reg, const char *kind)
{
	enum p25_change_kind k;

	if (p25_change_kind_parse(kind, &k) == 0 || change_kind_of_action(kind, &k) == 0)
		return 0;
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
		if (!strcmp(kind, families[i]))
			return 0;
	for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (!strcmp(kind, actions[i]))
			return 0;
	return reg_fail(reg, P25_EINVAL,
	                "unknown kind '%s' (org, prefix, contact, permit, request, import, user, "
	                "token, notice, alert, or one change or action: org-added, permit-added, "
	                "request-applied, token.revoke, login.failed, ...)",
	                kind);
}

/* "192.0.2.45, 192.0.2.46": the addresses a request names. */
static json_t *request_addresses(json_t *o)
{
	json_t *items = json_object_get(o, "servers"), *it;
	char buf[256] = "";
	size_t n = 0, i;

	if (!items)
		items = json_object_get(o, "remove");
	json_array_foreach(items, i, it)
	{
		const char *a = json_string_value(json_object_get(it, "address"));
		if (!a)
			continue;
		if (n + strlen(a) + 16 >= sizeof buf) {
			snprintf(buf + n, sizeof buf - n, ", and %zu more", json_array_size(items) - i);
			break;
		}
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", a);
	}
	return n ? json_string(buf) : json_null();
}

/* One audit record with its organization, address and kind, from the change it made. */
static json_t *audit_row(reg_stmt *st, p25_time now, int64_t window)
{
	const char *kind = col_null(st, 10) ? NULL : col_text(st, 10);
	json_t *after = col_json(st, 7), *before = col_json(st, 6), *address = json_null();
	/* The address each change concerns, where it has one. */
	if (kind && (!strncmp(kind, "permit-", 7) || !strncmp(kind, "prefix-", 7)) &&
	    !col_null(st, 9))
		address = json_string(col_text(st, 9));
	else if (kind && !strncmp(kind, "request-", 8))
		address = request_addresses(json_is_object(after) ? after : before);
	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "id",
	    (json_int_t)col_int(st, 0), "at", col_text(st, 1), "actor", col_text(st, 2),
	    "action", col_text(st, 3), "object_type", col_text(st, 4), "object",
	    col_text(st, 5), "org", col_null(st, 8) ? json_null() : json_string(col_text(st, 8)),
	    "address", address, "kind", kind ? json_string(kind) : json_null(), "before",
	    before, "after", after);
}

int p25_audit_query(struct p25_registry *reg, const struct p25_audit_filter *f, json_t **out)
{
	char *scoped = NULL;
	reg_stmt *st;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if (f->kind && (rc = kind_known(reg, f->kind)) < 0)
		return rc;
	if ((rc = scope_text(reg, f->scope, &scoped)) < 0)
		return rc;
	/*
	 * A member's scope keeps the records of their organizations' changes
	 * only; alerts and imports have none.  The family of a kind is its
	 * object type ("permit": permit-added, -changed, -removed, -superseded).
	 */
	st = reg_query(reg,
	               "SELECT a.id, a.at, a.actor, a.action, a.object_type, a.object, a.before, "
	               "a.after, c.org, c.subject, c.kind FROM audit a LEFT JOIN change c ON "
	               "c.audit_id = a.id WHERE (?1 IS NULL OR c.org IN (SELECT value FROM "
	               "json_each(?1))) AND (?2 IS NULL OR c.org = ?2) AND (?3 IS NULL OR a.at >= "
	               "?3) AND (?4 IS NULL OR a.actor = ?4) AND (?5 IS NULL OR c.kind = ?5 OR "
	               "a.action = ?5 OR a.object_type = ?5 OR (?5 = 'import' AND a.action = "
	               "'import')) ORDER BY a.id DESC LIMIT ?6",
	               "sstssi", scoped, f->org, f->since, f->actor, f->kind,
	               (int64_t)(f->limit > 0 ? f->limit : -1));
	free(scoped);
	return reg_collect(reg, st, out, audit_row, 0, 0);
}
