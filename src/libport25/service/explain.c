/*
 * explain, as the service does it: the policy's decision for an address, in
 * the actor's scope, from a snapshot kept between calls (an HTTP API answers
 * many explains between two registry changes).  And watch's alerts and host
 * summaries, read in the actor's scope.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "service/service_int.h"
#include "watch/watch.h"

void svc_explain_drop(struct p25_service *svc)
{
	p25_policy_free(svc->x_policy);
	if (svc->x_model) {
		p25_model_free(svc->x_model);
		free(svc->x_model);
	}
	svc->x_policy = NULL;
	svc->x_model = NULL;
}

/* The snapshot valid at now: kept while nothing was committed and no permit expired. */
static int explain_policy(struct p25_service *svc, p25_time now, const struct p25_policy **out)
{
	p25_time built, next;
	int64_t version;
	char err[512];
	int rc;

	*out = NULL;
	if (p25_registry_data_version(svc->reg, &version) < 0)
		return svc_reg(svc, P25_EDB);
	if (svc->x_policy && !svc->x_stale && version == svc->x_version) {
		built = p25_policy_built_at(svc->x_policy);
		next = p25_policy_next_expiry(svc->x_policy);
		if (now >= built && (!next || now < next)) {
			*out = svc->x_policy;
			return 0;
		}
	}
	svc_explain_drop(svc);
	if (!(svc->x_model = calloc(1, sizeof *svc->x_model)))
		return svc_fail(svc, P25_EDB, "explain: out of memory");
	p25_model_init(svc->x_model);
	if ((rc = p25_registry_load_model(svc->reg, svc->x_model)) < 0) {
		svc_explain_drop(svc);
		return svc_reg(svc, rc);
	}
	svc->x_policy = p25_policy_build(svc->x_model, now, err, sizeof err);
	if (!svc->x_policy) {
		svc_explain_drop(svc);
		return svc_fail(svc, P25_EINVAL, "explain: the registry is inconsistent: %s", err);
	}
	svc->x_version = version;
	svc->x_stale = false;
	*out = svc->x_policy;
	return 0;
}

static json_t *org_json(const struct p25_model *m, ssize_t i)
{
	const struct p25_org *o;

	if (i < 0)
		return json_null();
	o = &m->orgs[i];
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "handle", o->handle, "name", o->name,
	                 "enrollment", p25_enrollment_name(o->enrollment), "mode",
	                 p25_mode_name(o->mode), "action", p25_action_name(o->action));
}

static json_t *permit_json(const struct p25_permit *pm)
{
	char pfx[P25_PREFIX_STRLEN], t[P25_TIME_STRLEN];
	json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)pm->id, "prefix",
	                      p25_prefix_format(&pm->prefix, pfx, sizeof pfx), "kind",
	                      p25_kind_name(pm->kind), "description", pm->description,
	                      "requested_by", pm->requested_by, "approved_by", pm->approved_by);
	json_object_set_new(j, "expires",
	                    pm->expires ? json_string(p25_time_format(pm->expires, t, sizeof t))
	                                : json_null());
	return j;
}

static json_t *decision_json(const struct p25_model *m, const struct p25_decision *d)
{
	json_t *j = json_pack("{s:s, s:s}", "verdict", p25_verdict_name(d->verdict), "reason",
	                      p25_reason_text(d->reason));
	json_object_set_new(j, "permit",
	                    d->permit >= 0 ? permit_json(&m->permits[d->permit]) : json_null());
	return j;
}

json_t *p25_explain_json(const struct p25_policy *pol, const struct p25_addr *a, p25_time now)
{
	const struct p25_model *m = p25_policy_model(pol);
	struct p25_decision out, in;
	struct p25_addr other;
	char buf[P25_PREFIX_STRLEN];
	json_t *j, *expired;

	/* The far end does not matter to the decision; use the unspecified address. */
	memset(&other, 0, sizeof other);
	other.family = a->family;
	p25_policy_decide(pol, a, &other, P25_SMTP_PORT, P25_OUTBOUND, &out);
	p25_policy_decide(pol, &other, a, P25_SMTP_PORT, P25_INBOUND, &in);

	j = json_pack("{s:s}", "address", p25_addr_format(a, buf, sizeof buf));
	json_object_set_new(j, "organization", org_json(m, out.org));
	if (out.space >= 0) {
		const struct p25_space *s = &m->spaces[out.space];
		json_object_set_new(j, "space",
		                    json_pack("{s:s, s:s}", "prefix",
		                              p25_prefix_format(&s->prefix, buf, sizeof buf),
		                              "description", s->description));
	} else {
		json_object_set_new(j, "space", json_null());
	}
	json_object_set_new(j, "outbound", decision_json(m, &out));
	json_object_set_new(j, "inbound", decision_json(m, &in));
	json_object_set_new(j, "submission",
	                    json_string("ports 465 and 587 are never blocked by port25"));
	expired = json_array();
	for (size_t i = 0; i < m->npermits; i++) {
		const struct p25_permit *pm = &m->permits[i];
		if (!p25_permit_valid_at(pm, now) && p25_prefix_contains_addr(&pm->prefix, a))
			json_array_append_new(expired, permit_json(pm));
	}
	json_object_set_new(j, "expired_permits", expired);
	return j;
}

/* The org whose space holds a (its handle), or NULL. */
static const char *owner_of(const struct p25_policy *pol, const struct p25_addr *a)
{
	const struct p25_model *m = p25_policy_model(pol);
	struct p25_decision d;
	struct p25_addr other;

	memset(&other, 0, sizeof other);
	other.family = a->family;
	p25_policy_decide(pol, a, &other, P25_SMTP_PORT, P25_OUTBOUND, &d);
	return d.org >= 0 ? m->orgs[d.org].handle : NULL;
}

int p25_service_explain(struct p25_service *svc, const struct p25_auth *auth, const char *address,
                        json_t **out)
{
	const struct p25_policy *pol;
	struct p25_addr a;
	struct p25_diag d;
	const char *owner;
	p25_time now;
	bool mine = false;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "explain addresses")) < 0)
		return rc;
	if (!address || p25_addr_parse(address, P25_PARSE_UNMAP, &a, &d) < 0)
		return svc_fail(svc, P25_EINVAL, "address: %s",
		                address ? d.error : "an address is needed");
	now = svc_now(auth);
	if ((rc = explain_policy(svc, now, &pol)) < 0)
		return rc;
	if (auth->role == P25_ROLE_MEMBER) {
		owner = owner_of(pol, &a);
		for (size_t i = 0; owner && i < auth->norgs; i++)
			mine = mine || (auth->orgs[i] && !strcmp(auth->orgs[i], owner));
		/* Another's space and no one's are refused alike: nothing to learn from it. */
		if (!mine)
			return svc_fail(svc, P25_EDENIED,
			                "member '%s' may not explain %s: it is not in the space of an "
			                "organization of theirs",
			                auth->actor, address);
	}
	*out = p25_explain_json(pol, &a, now);
	return *out ? 0 : svc_fail(svc, P25_EDB, "explain: out of memory");
}

/* ---- watch's observations ---- */

/*
 * An org named as a filter must be one the actor may see, as the registry's
 * listings require: another's is not found, as one that does not exist.
 */
static int org_visible(struct p25_service *svc, const struct p25_auth *auth, const char *org)
{
	struct p25_scope s;
	json_t *orgs, *o;
	bool found = false;
	size_t i;
	int rc;

	if (!org)
		return 0;
	if ((rc = p25_org_list_in(svc->reg, svc_scope(auth, &s), &orgs)) < 0)
		return svc_reg(svc, rc);
	json_array_foreach(orgs, i, o)
		found = found || !strcmp(json_string_value(json_object_get(o, "handle")), org);
	json_decref(orgs);
	return found ? 0 : svc_fail(svc, P25_ENOTFOUND, "no organization '%s'", org);
}

int p25_service_alert_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                           const char *kind, const char *status, json_t **out)
{
	struct p25_alert_filter f = {.org = org, .status = status};
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list alerts")) < 0)
		return rc;
	if (kind && p25_alert_kind_parse(kind, &f.kind) < 0)
		return svc_fail(svc, P25_EINVAL, "kind: '%s' is not missed-server or infected", kind);
	if (status && strcmp(status, "open") && strcmp(status, "drafted") &&
	    strcmp(status, "dismissed") && strcmp(status, "resolved"))
		return svc_fail(svc, P25_EINVAL,
		                "status: '%s' is not open, drafted, dismissed or resolved", status);
	if ((rc = org_visible(svc, auth, org)) < 0)
		return rc;
	f.scope = svc_scope(auth, &s);
	return svc_reg(svc, p25_alert_list(svc->reg, &f, out));
}

int p25_service_alert_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                           json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show alerts")) < 0)
		return rc;
	return svc_reg(svc, p25_alert_show_in(svc->reg, id, svc_scope(auth, &s), out));
}

int p25_service_host_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                          int limit, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list blocked hosts")) < 0 ||
	    (rc = org_visible(svc, auth, org)) < 0)
		return rc;
	return svc_reg(svc,
	               p25_host_summary_list_in(svc->reg, org, limit, svc_scope(auth, &s), out));
}
