/*
 * Reads, as the service does them: every listing and show runs in the
 * actor's scope (svc_scope), passed to the registry's query, so a member
 * sees their own organizations' rows and nothing of the others'.
 */
#include "service/service_int.h"

int p25_service_org_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list organizations")) < 0)
		return rc;
	return svc_reg(svc, p25_org_list_in(svc->reg, svc_scope(auth, &s), out));
}

int p25_service_org_upcoming(struct p25_service *svc, const struct p25_auth *auth, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list organizations")) < 0)
		return rc;
	return svc_reg(svc, p25_org_upcoming_in(svc->reg, svc_scope(auth, &s), out));
}

int p25_service_org_show(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                         json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show organizations")) < 0)
		return rc;
	return svc_reg(svc,
	               p25_org_show_in(svc->reg, handle, svc_now(auth), svc_scope(auth, &s), out));
}

int p25_service_org_attempts(struct p25_service *svc, const struct p25_auth *auth,
                             const char *handle, int days, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "read blocked attempts")) < 0)
		return rc;
	return svc_reg(svc, p25_attempts_daily_in(svc->reg, handle, days, svc_now(auth),
	                                          svc_scope(auth, &s), out));
}

int p25_service_org_analysis(struct p25_service *svc, const struct p25_auth *auth,
                             const char *handle, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "read analyses")) < 0)
		return rc;
	return svc_reg(svc, p25_analysis_report_in(svc->reg, handle, svc_scope(auth, &s), out));
}

int p25_service_prefix_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                            json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list prefixes")) < 0)
		return rc;
	return svc_reg(svc, p25_prefix_list_in(svc->reg, org, svc_scope(auth, &s), out));
}

int p25_service_contact_list(struct p25_service *svc, const struct p25_auth *auth,
                             const char *org, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list contacts")) < 0)
		return rc;
	return svc_reg(svc, p25_contact_list_in(svc->reg, org, svc_scope(auth, &s), out));
}

int p25_service_permit_list(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_permit_filter *filter, json_t **out)
{
	struct p25_permit_filter f = *filter;
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list permits")) < 0)
		return rc;
	f.scope = svc_scope(auth, &s);
	return svc_reg(svc, p25_permit_list(svc->reg, &f, out));
}

int p25_service_permit_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show permits")) < 0)
		return rc;
	return svc_reg(svc,
	               p25_permit_show_in(svc->reg, id, svc_now(auth), svc_scope(auth, &s), out));
}

int p25_service_request_list(struct p25_service *svc, const struct p25_auth *auth,
                             const struct p25_request_filter *filter, json_t **out)
{
	struct p25_request_filter f = *filter;
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list requests")) < 0)
		return rc;
	f.scope = svc_scope(auth, &s);
	return svc_reg(svc, p25_request_list(svc->reg, &f, out));
}

int p25_service_request_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show requests")) < 0)
		return rc;
	return svc_reg(svc,
	               p25_request_show_in(svc->reg, id, svc_now(auth), svc_scope(auth, &s), out));
}

int p25_service_audit_list(struct p25_service *svc, const struct p25_auth *auth, int limit,
                           json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "read the audit log")) < 0)
		return rc;
	return svc_reg(svc, p25_audit_list_in(svc->reg, limit, svc_scope(auth, &s), out));
}

int p25_service_export(struct p25_service *svc, const struct p25_auth *auth, json_t **out)
{
	int rc;

	*out = NULL;
	/* The whole registry, every organization's: not a member's to read. */
	if (auth && auth->role == P25_ROLE_MEMBER)
		return svc_fail(svc, P25_EDENIED,
		                "member '%s' may not export the registry: it holds every "
		                "organization's data",
		                auth->actor ? auth->actor : "");
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "export the registry")) < 0)
		return rc;
	return svc_reg(svc, p25_registry_export(svc->reg, out));
}

int p25_service_audit_query(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_audit_filter *filter, json_t **out)
{
	struct p25_audit_filter f = *filter;
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "read the audit log")) < 0)
		return rc;
	f.scope = svc_scope(auth, &s);
	return svc_reg(svc, p25_audit_query(svc->reg, &f, out));
}
