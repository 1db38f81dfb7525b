/*
 * Requests, as the service does them: who may take a request along an
 * action is the registry's transitions table (members submit and cancel
 * their own; the operator does everything), which the registry moves it by.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "service/service_int.h"

/*
 * May auth take a request (id; 0 for a new one of org) along action?  The
 * registry's transitions table says who may: an action marked member is
 * also a member's, for a request of their own organizations (looked up in
 * their scope); the others are the operator's.
 */
static int allow_request(struct p25_service *svc, const struct p25_auth *auth,
                         enum p25_request_action action, int64_t id, const char *org)
{
	const struct p25_request_transition *t = p25_request_transition(action);
	json_t *r = NULL;
	char what[64];
	int rc;

	if (!t->member) {
		snprintf(what, sizeof what, "%s requests", t->verb);
		return svc_allow(svc, auth, GRANT_OPERATOR, NULL, what);
	}
	if (id) {
		/* A member's request must be one of their organizations': look it up in their scope. */
		if (auth && auth->role == P25_ROLE_MEMBER) {
			struct p25_scope s;
			if (p25_request_show_in(svc->reg, id, 0, svc_scope(auth, &s), &r) == P25_EDB)
				return svc_reg(svc, P25_EDB);
		}
		snprintf(what, sizeof what, "%s request %" PRId64, t->verb, id);
		org = svc_owner(auth, r);
	} else {
		snprintf(what, sizeof what, "%s requests", t->verb);
	}
	rc = svc_allow(svc, auth, GRANT_MEMBER, org, what);
	json_decref(r);
	return rc;
}

int p25_service_request_submit(struct p25_service *svc, const struct p25_auth *auth,
                               const struct p25_request_spec *spec, int64_t *id)
{
	struct p25_actor who;
	int rc;

	if ((rc = allow_request(svc, auth, P25_REQUEST_SUBMIT, 0, spec->org)) < 0)
		return rc;
	if (auth->role == P25_ROLE_MEMBER && spec->requested_by && *spec->requested_by &&
	    strcmp(spec->requested_by, auth->actor) != 0)
		return svc_fail(svc, P25_EDENIED,
		                "member '%s' may not submit a request in the name of '%s'", auth->actor,
		                spec->requested_by);
	if ((rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_request_submit(svc->reg, &who, spec, id));
}

/* A step that takes a request id and nothing else. */
static int request_step(struct p25_service *svc, const struct p25_auth *auth,
                        enum p25_request_action action,
                        int (*step)(struct p25_registry *, const struct p25_actor *, int64_t),
                        int64_t id)
{
	struct p25_actor who;
	int rc;

	if ((rc = allow_request(svc, auth, action, id, NULL)) < 0 || (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, step(svc->reg, &who, id));
}

int p25_service_request_approve(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	return request_step(svc, auth, P25_REQUEST_APPROVE, p25_request_approve, id);
}

int p25_service_request_verify(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	return request_step(svc, auth, P25_REQUEST_VERIFY, p25_request_verify, id);
}

int p25_service_request_cancel(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	return request_step(svc, auth, P25_REQUEST_CANCEL, p25_request_cancel, id);
}

int p25_service_request_reject(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                               const char *reason)
{
	struct p25_actor who;
	int rc;

	if ((rc = allow_request(svc, auth, P25_REQUEST_REJECT, id, NULL)) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_request_reject(svc->reg, &who, id, reason));
}

int p25_service_request_apply(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                              bool no_servers)
{
	struct p25_actor who;
	int rc;

	if ((rc = allow_request(svc, auth, P25_REQUEST_APPLY, id, NULL)) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_request_apply_confirmed(svc->reg, &who, id, no_servers));
}
