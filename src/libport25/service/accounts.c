/*
 * Accounts and API tokens, as the service does them: the operator manages
 * everyone's; every other user their own credentials only (service.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "registry/accounts.h"
#include "service/service_int.h"

static bool is_self(const struct p25_auth *auth, const char *name)
{
	return name && auth->actor && !strcmp(name, auth->actor);
}

/* The operator, or (self) the user acting on their own credentials. */
static int allow_self(struct p25_service *svc, const struct p25_auth *auth, bool self,
                      const char *what)
{
	int rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, what);

	if (rc == 0 || !self || auth->read_only || !auth->actor)
		return rc;
	svc->own_error = false;
	return 0;
}

int p25_service_user_add(struct p25_service *svc, const struct p25_auth *auth,
                         const struct p25_user_spec *spec)
{
	struct p25_account_spec s = {.name = spec->name,
	                             .role = spec->role,
	                             .full_name = spec->full_name,
	                             .email = spec->email,
	                             .orgs = spec->orgs,
	                             .norgs = spec->norgs};
	char hash[P25_PASSWORD_HASH_MAX], err[160];
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "add users")) < 0)
		return rc;
	if (spec->password) {
		if (p25_password_hash(spec->password, hash, err, sizeof err) < 0)
			return svc_fail(svc, P25_EINVAL, "user '%s': %s", spec->name ? spec->name : "",
			                err);
		s.password = hash;
	}
	who = svc_actor(auth);
	return svc_reg(svc, p25_account_add(svc->reg, &who, &s));
}

int p25_service_user_set(struct p25_service *svc, const struct p25_auth *auth, const char *name,
                         const struct p25_user_change *change)
{
	struct p25_account_change c = {.role = change->role,
	                               .full_name = change->full_name,
	                               .email = change->email,
	                               .clear_password = change->clear_password,
	                               .set_orgs = change->set_orgs,
	                               .orgs = change->orgs,
	                               .norgs = change->norgs,
	                               .set_disabled = change->set_disabled,
	                               .disabled = change->disabled};
	char hash[P25_PASSWORD_HASH_MAX], err[160];
	bool own = change->password || change->full_name || change->email;
	bool others = change->role || change->clear_password || change->set_orgs ||
	              change->set_disabled;
	struct p25_actor who;
	int rc;

	/* One's own password, name and e-mail; role, organizations and the rest are the operator's. */
	rc = allow_self(svc, auth, is_self(auth, name) && !others, "change users");
	if (rc < 0)
		return rc;
	if (!own && !others)
		return svc_fail(svc, P25_EINVAL, "user '%s': nothing to change", name ? name : "");
	if (change->password) {
		if (p25_password_hash(change->password, hash, err, sizeof err) < 0)
			return svc_fail(svc, P25_EINVAL, "user '%s': %s", name ? name : "", err);
		c.password = hash;
	}
	who = svc_actor(auth);
	return svc_reg(svc, p25_account_set(svc->reg, &who, name ? name : "", &c));
}

int p25_service_user_remove(struct p25_service *svc, const struct p25_auth *auth,
                            const char *name)
{
	struct p25_actor who;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "remove users")) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_reg(svc, p25_account_remove(svc->reg, &who, name ? name : ""));
}

/* Operators and auditors see every account; anyone else only their own. */
static bool sees_all(const struct p25_auth *auth)
{
	return auth->role == P25_ROLE_OPERATOR || auth->role == P25_ROLE_AUDITOR;
}

int p25_service_user_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list users")) < 0)
		return rc;
	return svc_reg(svc, p25_account_list(svc->reg, sees_all(auth) ? NULL : auth->actor, out));
}

int p25_service_user_show(struct p25_service *svc, const struct p25_auth *auth, const char *name,
                          json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show users")) < 0)
		return rc;
	/* Another's account is not found, as one that does not exist. */
	if (!sees_all(auth) && !is_self(auth, name))
		return svc_fail(svc, P25_ENOTFOUND, "no user '%s'", name ? name : "");
	return svc_reg(svc, p25_account_show(svc->reg, name ? name : "", out));
}

int p25_service_token_add(struct p25_service *svc, const struct p25_auth *auth,
                          const struct p25_token_request *req, char secret[P25_SERVICE_SECRET_MAX],
                          int64_t *id)
{
	const char *user = req->user && *req->user ? req->user : auth ? auth->actor : NULL;
	char hash[P25_HASH_HEX_LEN], hint[16];
	struct p25_token_spec spec;
	struct p25_actor who;
	int rc;

	secret[0] = '\0';
	*id = 0;
	if ((rc = allow_self(svc, auth, auth && is_self(auth, user), "add API tokens")) < 0)
		return rc;
	p25_secret_new(P25_TOKEN_PREFIX, secret);
	p25_secret_hash(secret, hash);
	snprintf(hint, sizeof hint, "%.8s", secret);
	spec = (struct p25_token_spec){.account = user,
	                               .hash = hash,
	                               .hint = hint,
	                               .description = req->description,
	                               .read_only = req->read_only,
	                               .expires = req->expires,
	                               .allowed = req->allowed,
	                               .nallowed = req->nallowed};
	who = svc_actor(auth);
	rc = svc_reg(svc, p25_token_add(svc->reg, &who, &spec, id));
	if (rc < 0)
		memset(secret, 0, P25_SERVICE_SECRET_MAX);
	return rc;
}

int p25_service_token_list(struct p25_service *svc, const struct p25_auth *auth, const char *user,
                           json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "list API tokens")) < 0)
		return rc;
	if (!sees_all(auth)) {
		if (user && !is_self(auth, user))
			return svc_fail(svc, P25_ENOTFOUND, "no user '%s'", user);
		user = auth->actor;
	}
	return svc_reg(svc, p25_token_list(svc->reg, user, svc_now(auth), out));
}

/* The token if the actor may see it: another's is not found, as one that does not exist. */
static int token_visible(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                         json_t **out)
{
	int rc = p25_token_show(svc->reg, id, svc_now(auth), out);

	if (rc < 0)
		return svc_reg(svc, rc);
	if (!sees_all(auth) && !is_self(auth, json_string_value(json_object_get(*out, "user")))) {
		json_decref(*out);
		*out = NULL;
		return svc_fail(svc, P25_ENOTFOUND, "no token %" PRId64, id);
	}
	return 0;
}

int p25_service_token_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                           json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "show API tokens")) < 0)
		return rc;
	return token_visible(svc, auth, id, out);
}

int p25_service_token_revoke(struct p25_service *svc, const struct p25_auth *auth, int64_t id)
{
	struct p25_actor who;
	json_t *t = NULL;
	bool own = false;
	int rc;

	if ((rc = svc_allow(svc, auth, GRANT_READ, NULL, "revoke API tokens")) < 0)
		return rc;
	/* A member's or auditor's own token: looked up in what they may see. */
	if (auth->role != P25_ROLE_OPERATOR) {
		rc = token_visible(svc, auth, id, &t);
		if (rc == P25_EDB)
			return rc;
		/* An auditor sees every token, and may revoke only their own. */
		own = rc == 0 && is_self(auth, json_string_value(json_object_get(t, "user")));
		json_decref(t);
	}
	if ((rc = allow_self(svc, auth, own, "revoke API tokens")) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_reg(svc, p25_token_revoke(svc->reg, &who, id));
}
