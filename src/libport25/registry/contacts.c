/*
 * A contact changed in place (its name, e-mail, phone or role), as members
 * keep their own contacts up to date: one transaction with its audit record
 * and its typed change (contact-changed), as every registry change.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "registry/internal.h"

static int contact_set_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                          const struct p25_contact_change *c)
{
	json_t *before = NULL, *after = NULL;
	const char *org, *role_now;
	char object[24];
	int64_t nsecurity = 0;
	reg_stmt *st;
	int rc;

	if (!c->name && !c->email && !c->phone && !c->set_role)
		return reg_fail(reg, P25_EINVAL, "contact %" PRId64 ": nothing to change", id);
	if ((rc = p25_contact_show_in(reg, id, NULL, &before)) < 0)
		return rc;
	org = json_string_value(json_object_get(before, "org"));
	role_now = json_string_value(json_object_get(before, "role"));
	if (c->name && !*c->name)
		rc = reg_fail(reg, P25_EINVAL, "contact %" PRId64 ": name: must not be empty", id);
	else if (c->email && !plausible_email(c->email))
		rc = reg_fail(reg, P25_EINVAL, "contact %" PRId64 ": email: '%s' is not an email address",
		              id, c->email);
	if (rc == 0 && c->set_role && c->role != P25_ROLE_SECURITY && !strcmp(role_now, "security")) {
		/* An active org keeps a security contact, as removing one would not leave it without. */
		st = reg_query(reg,
		               "SELECT count(*) FROM contact c JOIN org o ON o.id = c.org_id WHERE "
		               "o.handle = ? AND c.role = 'security' AND o.enrollment = 'active'",
		               "s", org);
		if (!st)
			rc = P25_EDB;
		else if ((rc = reg_step(reg, st)) >= 0) {
			nsecurity = rc ? col_int(st, 0) : 0;
			reg_done(st);
			rc = nsecurity == 1
			         ? reg_fail(reg, P25_ECONFLICT,
			                    "contact %" PRId64 " is the last security contact of active "
			                    "organization '%s'; add another security contact first",
			                    id, org)
			         : 0;
		}
	}
	if (rc == 0)
		rc = reg_exec(reg,
		              "UPDATE contact SET name = coalesce(?, name), email = coalesce(?, email), "
		              "phone = coalesce(?, phone), role = coalesce(?, role) WHERE id = ?",
		              "ssssi", c->name, c->email, c->phone,
		              c->set_role ? p25_role_name(c->role) : NULL, id);
	if (rc == 0 && (rc = p25_contact_show_in(reg, id, NULL, &after)) == 0) {
		snprintf(object, sizeof object, "%" PRId64, id);
		rc = reg_change(reg, who, P25_CHANGE_CONTACT_CHANGED, object, before, after);
	}
	json_decref(before);
	json_decref(after);
	return rc;
}

int p25_contact_set(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                    const struct p25_contact_change *change)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, contact_set_tx(reg, who, id, change));
}
