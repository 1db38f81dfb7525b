/* Permits, imports and backups, as the service does them: the operator's alone. */
#include "service/service_int.h"

int p25_service_permit_add(struct p25_service *svc, const struct p25_auth *auth,
                           const struct p25_permit_spec *spec, int64_t *id)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, spec->org, "add permits")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_permit_add(svc->reg, &who, spec, id));
}

int p25_service_permit_remove(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "remove permits")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_permit_remove(svc->reg, &who, id));
}

int p25_service_permit_remove_address(struct p25_service *svc, const struct p25_auth *auth,
                                      const char *address, int64_t *id)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "remove permits")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_permit_remove_address(svc->reg, &who, address, id));
}

int p25_service_permit_set_expiry(struct p25_service *svc, const struct p25_auth *auth,
                                  int64_t id, p25_time expires)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "change permits")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_permit_set_expiry(svc->reg, &who, id, expires));
}

int p25_service_import_file(struct p25_service *svc, const struct p25_auth *auth,
                            const char *path, const struct p25_import_options *opt,
                            struct p25_import_result *result)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "import")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_import_file(svc->reg, &who, path, opt, result));
}

int p25_service_import_buffer(struct p25_service *svc, const struct p25_auth *auth,
                              const char *data, size_t len, const struct p25_import_options *opt,
                              struct p25_import_result *result)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "import")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_import_buffer(svc->reg, &who, data, len, opt, result));
}

int p25_service_backup(struct p25_service *svc, const struct p25_auth *auth, const char *path)
{
	int rc;

	/* Every organization's data, contacts' personal data with it: the operator's to copy. */
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "back up the registry")) < 0)
		return rc;
	return svc_reg(svc, p25_registry_backup(svc->reg, path));
}

int p25_service_restore(struct p25_service *svc, const struct p25_auth *auth, const char *path,
                        json_t **restored)
{
	struct p25_actor who;
	int rc;

	if (restored)
		*restored = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "restore the registry")) < 0 ||
	    (rc = svc_begin(svc)) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_end(svc, auth, p25_registry_restore(svc->reg, &who, path, restored));
}
