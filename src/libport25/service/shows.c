/* Single objects the HTTP API shows by their own address: a prefix, a contact. */
#include "service/service_int.h"

int p25_service_prefix_show(struct p25_service *svc, const struct p25_auth *auth,
                            const char *prefix, json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show prefixes")) < 0)
		return rc;
	return svc_reg(svc, p25_prefix_show_in(svc->reg, prefix, svc_scope(auth, &s), out));
}

int p25_service_contact_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **out)
{
	struct p25_scope s;
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show contacts")) < 0)
		return rc;
	return svc_reg(svc, p25_contact_show_in(svc->reg, id, svc_scope(auth, &s), out));
}
