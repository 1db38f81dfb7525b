/*
 * Scheduled activations: a sign-up is made active at the time agreed with
 * the member ("you will be contacted to schedule a time to make the
 * configuration changes"), not when the operator types the command.  The
 * schedule is set by p25_org_set (activate_at); this file carries it out
 * when it is due, for whoever runs the clock (enforce sync, sync --wait).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

int p25_registry_next_activation(struct p25_registry *reg, p25_time *next)
{
	reg_stmt *st = reg_query(reg, "SELECT min(activate_at) FROM org", "");
	int rc;

	*next = 0;
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 1)
		*next = col_time(st, 0);
	reg_done(st);
	return 0;
}

/*
 * One org's due activation, in the caller's transaction: activated by the
 * rules of org set, or, when it no longer meets them, its schedule dropped
 * and the refusal audited.  *activated says which; a refusal leaves its
 * reason in reg->error and returns 0 (the transaction commits either way).
 */
static int activate_one(struct p25_registry *reg, int64_t id, const char *handle,
                        const struct p25_actor *who, bool no_servers, bool *activated)
{
	json_t *before = org_json_by_id(reg, id), *after = NULL;
	char why[sizeof reg->error];
	int rc;

	*activated = false;
	if (!before)
		return reg_fail(reg, P25_EDB, "registry: reading organization '%s'", handle);
	rc = rule_activation(reg, id, handle, who->now, no_servers);
	if (rc == P25_EDB) {
		json_decref(before);
		return rc;
	}
	snprintf(why, sizeof why, "%s", rc < 0 ? reg->error : "");
	*activated = rc == 0;
	rc = reg_exec(reg,
	              "UPDATE org SET enrollment = CASE WHEN ? THEN 'active' ELSE enrollment END, "
	              "activate_at = NULL, activate_by = NULL, activate_no_servers = 0, "
	              "updated = ? WHERE id = ?",
	              "iTi", (int64_t)*activated, who->now, id);
	if (rc == 0 && !(after = org_json_by_id(reg, id)))
		rc = reg_fail(reg, P25_EDB, "registry: reading organization '%s'", handle);
	if (rc == 0) {
		/* The audit record says it was the schedule, and why one was refused. */
		json_object_set_new(after, "scheduled", json_true());
		if (!*activated)
			json_object_set_new(after, "activation_refused", json_string(why));
		rc = reg_change(reg, who, P25_CHANGE_ORG_CHANGED, handle, before, after);
	}
	json_decref(before);
	json_decref(after);
	if (rc == 0 && !*activated)
		snprintf(reg->error, sizeof reg->error, "%s", why);
	return rc;
}

int p25_org_activate_due(struct p25_registry *reg, p25_time now, json_t **out)
{
	reg_stmt *st;
	json_t *due = json_array(), *o;
	size_t i;
	int rc, n = 0;

	if (out)
		*out = NULL;
	if (!due)
		return reg_fail(reg, P25_EDB, "registry: out of memory");
	/* Read first, then one transaction each: a refusal must not undo another's activation. */
	st = reg_query(reg,
	               "SELECT id, handle, activate_at, activate_by, activate_no_servers FROM org "
	               "WHERE activate_at IS NOT NULL AND activate_at <= ? ORDER BY activate_at, "
	               "handle",
	               "T", now);
	if (!st) {
		json_decref(due);
		return P25_EDB;
	}
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(due, json_pack("{s:I, s:s, s:s, s:s, s:b}", "id",
		                                     (json_int_t)col_int(st, 0), "org",
		                                     col_text(st, 1), "at", col_text(st, 2), "by",
		                                     col_text(st, 3), "no_servers",
		                                     col_int(st, 4) != 0));
	if (rc < 0) {
		json_decref(due);
		return rc;
	}
	reg_done(st);
	json_array_foreach(due, i, o)
	{
		struct p25_actor who = {.name = json_string_value(json_object_get(o, "by")),
		                        .now = now};
		const char *handle = json_string_value(json_object_get(o, "org"));
		bool activated = false;
		int64_t id = json_integer_value(json_object_get(o, "id"));
		p25_time at = 0;
		char err[8];

		/* Another process may have carried it out or changed it since the read. */
		if ((rc = reg_begin(reg)) < 0)
			break;
		st = reg_query(reg, "SELECT activate_at FROM org WHERE id = ?", "i", id);
		if (!st || (rc = reg_step(reg, st)) < 0) {
			rc = reg_end(reg, P25_EDB);
			break;
		}
		if (rc == 1 && !col_null(st, 0))
			p25_time_parse(col_text(st, 0), &at, err, sizeof err);
		reg_done(st);
		if (!at || at > now) {
			reg_end(reg, 0);
			json_object_set_new(o, "activated", json_false());
			json_object_set_new(o, "reason", json_string("no longer scheduled"));
			continue;
		}
		rc = reg_end(reg, activate_one(reg, id, handle, &who,
		                               json_is_true(json_object_get(o, "no_servers")),
		                               &activated));
		if (rc < 0)
			break;
		n++;
		json_object_set_new(o, "activated", json_boolean(activated));
		json_object_set_new(o, "reason", json_string(activated ? "" : reg->error));
		json_object_set_new(o, "warning", json_string(reg->warning));
		json_object_del(o, "id");
	}
	if (rc < 0) {
		json_decref(due);
		return rc;
	}
	if (out)
		*out = due;
	else
		json_decref(due);
	return n;
}
