/* Organizations, their address space and contacts, as the service does them. */
#include <inttypes.h>
#include <stdio.h>

#include "service/service_int.h"

int p25_service_org_add(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                        const char *name, enum p25_mode mode, enum p25_action action)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, handle, "add organizations")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_org_add(svc->reg, &who, handle, name, mode, action));
}

int p25_service_org_set(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                        const struct p25_org_change *change)
{
	struct p25_actor who;
	int rc;

	/* Enrollment, mode and action are the policy; even a name is the operator's record. */
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, handle, "change organizations")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_org_set(svc->reg, &who, handle, change));
}

int p25_service_org_remove(struct p25_service *svc, const struct p25_auth *auth,
                           const char *handle, bool force)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, handle, "remove organizations")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_org_remove(svc->reg, &who, handle, force));
}

int p25_service_prefix_add(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                           const char *prefix, const char *description, unsigned flags)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, org, "add prefixes")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth,
	               p25_prefix_add(svc->reg, &who, org, prefix, description, flags));
}

int p25_service_prefix_remove(struct p25_service *svc, const struct p25_auth *auth,
                              const char *prefix)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "remove prefixes")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_prefix_remove(svc->reg, &who, prefix));
}

int p25_service_contact_add(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                            const char *name, const char *email, const char *phone,
                            enum p25_contact_role role, int64_t *id)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_MEMBER, org, "add contacts")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth,
	               p25_contact_add(svc->reg, &who, org, name, email, phone, role, id));
}

/*
 * May auth change contact id ("remove contact 7")?  A member's contact must
 * be one of their organizations': it is looked up in their scope, and one
 * outside it is refused as one that does not exist.
 */
static int contact_allow(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                         const char *verb)
{
	json_t *c = NULL;
	char what[64];
	int rc;

	if (auth && auth->role == P25_ROLE_MEMBER) {
		struct p25_scope s;
		if (p25_contact_show_in(svc->reg, id, svc_scope(auth, &s), &c) == P25_EDB)
			return svc_reg(svc, P25_EDB);
	}
	snprintf(what, sizeof what, "%s contact %" PRId64, verb, id);
	rc = svc_allow(svc, auth, GRANT_MEMBER, svc_owner(auth, c), what);
	json_decref(c);
	return rc;
}

int p25_service_contact_remove(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	struct p25_actor who;
	int rc;

	if ((rc = contact_allow(svc, auth, id, "remove")) < 0 || (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_contact_remove(svc->reg, &who, id));
}

int p25_service_contact_set(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            const struct p25_contact_change *change)
{
	struct p25_actor who;
	int rc;

	if ((rc = contact_allow(svc, auth, id, "change")) < 0 || (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_contact_set(svc->reg, &who, id, change));
}
