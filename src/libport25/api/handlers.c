/*
 * The resources of /api/v1: each handler reads its parameters and body,
 * makes one p25_service_* call as the caller (c->who.auth), and answers with
 * what the service returned.  No handler decides who may do what: the
 * service refuses (403) or does not find (404, a read in another's scope).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"

#define AUTH (&c->who.auth)
#define SVC  (c->api->svc)

static void reply_read(struct api_ctx *c, int rc, json_t *obj)
{
	if (rc < 0) {
		json_decref(obj);
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 200, obj);
}

static void reply_rows(struct api_ctx *c, int rc, json_t *rows)
{
	if (rc < 0) {
		json_decref(rows);
		api_service_error(c, rc);
		return;
	}
	api_reply_list(c, rows);
}

/* Only these query parameters: 0, or -1 with a 400 made. */
static int params_only(struct api_ctx *c, const char *const *names)
{
	for (size_t i = 0; i < c->nparams; i++) {
		bool known = !strcmp(c->params[i].name, "limit") || !strcmp(c->params[i].name, "offset");
		for (size_t k = 0; names && names[k]; k++)
			known = known || !strcmp(names[k], c->params[i].name);
		if (!known) {
			api_error(c, 400, P25_API_EMALFORMED, c->params[i].name, "?%s: unknown parameter",
			          c->params[i].name);
			return -1;
		}
	}
	return 0;
}

/* ---- the API itself ---- */

static void get_openapi(struct api_ctx *c)
{
	size_t len;
	const char *doc = p25_api_openapi(&len);

	c->res->status = 200;
	c->res->body = malloc(len);
	if (!c->res->body) {
		api_error(c, 500, P25_API_EINTERNAL, NULL, "out of memory");
		return;
	}
	memcpy(c->res->body, doc, len);
	c->res->body_len = len;
	c->res->content_type = "application/json";
}

static json_t *session_json(struct api_ctx *c, const char *csrf, p25_time expires)
{
	const struct p25_principal *p = &c->who;
	char t[P25_TIME_STRLEN];
	json_t *orgs = json_array(), *o;

	for (size_t i = 0; i < p->auth.norgs; i++)
		json_array_append_new(orgs, json_string(p->auth.orgs[i]));
	o = json_pack("{s:s, s:s, s:o, s:s, s:b}", "user", p->account.name, "role",
	              p25_auth_role_name(p->auth.role), "orgs", orgs, "method",
	              p25_auth_method_name(p->method), "read_only", p->auth.read_only);
	json_object_set_new(o, "csrf_token", csrf && *csrf ? json_string(csrf) : json_null());
	json_object_set_new(o, "expires",
	                    expires ? json_string(p25_time_format(expires, t, sizeof t)) : json_null());
	return o;
}

static void post_login(struct api_ctx *c)
{
	static const char *const fields[] = {"name", "password", NULL};
	const char *name, *password;
	struct p25_login l;
	enum p25_auth_denial why;
	char msg[512];
	struct p25_addr src = c->req->peer;
	int64_t max_age;

	if (api_body(c, fields) < 0 || api_field_string(c, "name", true, &name) < 0 ||
	    api_field_string(c, "password", true, &password) < 0)
		return;
	/* The client as a trusted proxy names it, else the peer: what the limit per source counts. */
	{
		const char *xff = api_request_header(c, "X-Forwarded-For");
		if (xff && p25_auth_from_proxy(&c->api->cfg->auth, &c->req->peer)) {
			const char *last = strrchr(xff, ',');
			char buf[80];
			struct p25_diag d;
			snprintf(buf, sizeof buf, "%s", last ? last + 1 : xff);
			for (char *p = buf; *p; p++)
				if (*p == ' ')
					memmove(p, p + 1, strlen(p)), p--;
			if (p25_addr_parse(buf, P25_PARSE_UNMAP, &src, &d) < 0)
				src = c->req->peer;
		}
	}
	if (p25_auth_login(c->api->reg, &c->api->cfg->auth, name, password, &src, c->now, &l, &why,
	                   msg, sizeof msg) < 0) {
		if (why == P25_DENY_RATE) {
			api_header(c, "Retry-After", "%" PRId64, c->api->cfg->auth.login_window);
			api_error(c, 429, P25_API_ERATE, NULL, "%s", msg);
		} else if (why == P25_DENY_SYSTEM) {
			api_error(c, 500, P25_API_EINTERNAL, NULL, "%s", msg);
		} else {
			api_error(c, 401, P25_API_EUNAUTH, NULL, "%s", msg);
		}
		return;
	}
	/* The new session is who answers from here on. */
	{
		struct p25_credentials cr = {.session = l.session, .peer = c->req->peer, .source = src, .now = c->now};
		p25_principal_free(&c->who);
		if (p25_authenticate(c->api->reg, &c->api->cfg->auth, &cr, &c->who, &why, msg,
		                     sizeof msg) < 0) {
			api_error(c, 500, P25_API_EINTERNAL, NULL, "%s", msg);
			return;
		}
	}
	snprintf(c->res->actor, sizeof c->res->actor, "%s", c->who.account.name);
	max_age = l.expires - c->now;
	api_header(c, "Set-Cookie",
	           "%s=%s; Path=/; Max-Age=%" PRId64 "; Secure; HttpOnly; SameSite=Strict",
	           P25_API_COOKIE, l.session, max_age);
	api_reply(c, 200, session_json(c, l.csrf, l.expires));
}

static void post_logout(struct api_ctx *c)
{
	if (c->who.method != P25_AUTH_SESSION) {
		api_error(c, 422, P25_API_EINVALID, NULL,
		          "logout ends a session; this request carries no session cookie");
		return;
	}
	if (p25_auth_logout(c->api->reg, &c->who, c->now) < 0) {
		api_error(c, 500, P25_API_EINTERNAL, NULL, "%s", p25_registry_error(c->api->reg));
		return;
	}
	api_header(c, "Set-Cookie", "%s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
	           P25_API_COOKIE);
	api_reply(c, 204, NULL);
}

static void get_session(struct api_ctx *c)
{
	if (params_only(c, NULL) < 0)
		return;
	api_reply(c, 200, session_json(c, c->who.csrf, c->who.expires));
}

/* ---- organizations ---- */

static int parse_enum(struct api_ctx *c, const char *field, int (*parse)(const char *, void *),
                      void *out, bool *set, const char *choices)
{
	const char *v;
	int rc = api_field_string(c, field, false, &v);

	if (rc <= 0)
		return rc;
	if (parse(v, out) < 0) {
		api_error(c, 422, P25_API_EINVALID, field, "%s: '%s' is not %s", field, v, choices);
		return -1;
	}
	if (set)
		*set = true;
	return 1;
}

static int mode_parse(const char *s, void *out)
{
	return p25_mode_parse(s, out);
}
static int action_parse(const char *s, void *out)
{
	return p25_action_parse(s, out);
}
static int enrollment_parse(const char *s, void *out)
{
	return p25_enrollment_parse(s, out);
}
static int kind_parse(const char *s, void *out)
{
	return p25_kind_parse(s, out);
}

static void get_orgs(struct api_ctx *c)
{
	json_t *rows;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_org_list(SVC, AUTH, &rows);
	reply_rows(c, rc, rows);
}

static void get_org(struct api_ctx *c)
{
	json_t *o;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_org_show(SVC, AUTH, c->seg[1], &o);
	reply_read(c, rc, o);
}

static void get_org_attempts(struct api_ctx *c)
{
	static const char *const names[] = {"days", NULL};
	const char *d = api_param(c, "days");
	long days = 30;
	char *end;
	json_t *o;

	if (params_only(c, names) < 0)
		return;
	if (d) {
		days = strtol(d, &end, 10);
		if (!*d || *end || days < 1 || days > P25_ATTEMPTS_DAYS_MAX) {
			api_error(c, 400, P25_API_EMALFORMED, "days", "?days=%s: want a whole number of days from 1 to %d",
			          d, P25_ATTEMPTS_DAYS_MAX);
			return;
		}
	}
	int rc = p25_service_org_attempts(SVC, AUTH, c->seg[1], (int)days, &o);
	reply_read(c, rc, o);
}

static void get_org_analysis(struct api_ctx *c)
{
	json_t *o;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_org_analysis(SVC, AUTH, c->seg[1], &o);
	reply_read(c, rc, o);
}

static void show_org_after(struct api_ctx *c, int status, const char *handle)
{
	json_t *o;
	int rc = p25_service_org_show(SVC, AUTH, handle, &o);

	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	api_header(c, "Location", "/api/v1/orgs/%s", handle);
	api_reply_changed(c, status, o);
}

static void post_orgs(struct api_ctx *c)
{
	static const char *const fields[] = {"handle", "name", "mode", "action", NULL};
	enum p25_mode mode = P25_MODE_OUTBOUND;
	enum p25_action action = P25_ACTION_REJECT;
	const char *handle, *name;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "handle", true, &handle) < 0 ||
	    api_field_string(c, "name", true, &name) < 0 ||
	    parse_enum(c, "mode", mode_parse, &mode, NULL, "outbound or both") < 0 ||
	    parse_enum(c, "action", action_parse, &action, NULL, "reject or drop") < 0)
		return;
	if ((rc = p25_service_org_add(SVC, AUTH, handle, name, mode, action)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_org_after(c, 201, handle);
}

static void patch_org(struct api_ctx *c)
{
	static const char *const fields[] = {"name", "mode", "action", "enrollment", "no_servers",
	                                     NULL};
	struct p25_org_change ch = {0};
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "name", false, &ch.name) < 0 ||
	    parse_enum(c, "mode", mode_parse, &ch.mode, &ch.set_mode, "outbound or both") < 0 ||
	    parse_enum(c, "action", action_parse, &ch.action, &ch.set_action, "reject or drop") < 0 ||
	    parse_enum(c, "enrollment", enrollment_parse, &ch.enrollment, &ch.set_enrollment,
	               "none, pending, active or suspended") < 0 ||
	    api_field_bool(c, "no_servers", &ch.no_servers) < 0)
		return;
	if ((rc = p25_service_org_set(SVC, AUTH, c->seg[1], &ch)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_org_after(c, 200, c->seg[1]);
}

static void delete_org(struct api_ctx *c)
{
	static const char *const names[] = {"force", NULL};
	bool force = false;
	int rc;

	if (params_only(c, names) < 0 || api_param_bool(c, "force", &force) < 0)
		return;
	if ((rc = p25_service_org_remove(SVC, AUTH, c->seg[1], force)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

/* ---- prefixes ---- */

static void get_prefixes(struct api_ctx *c)
{
	static const char *const names[] = {"org", NULL};
	json_t *rows;

	if (params_only(c, names) < 0)
		return;
	int rc = p25_service_prefix_list(SVC, AUTH, api_param(c, "org"), &rows);
	reply_rows(c, rc, rows);
}

/* prefixes/NETWORK/LENGTH as one prefix text. */
static void prefix_text(struct api_ctx *c, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", c->seg[1], c->seg[2]);
}

static void get_prefix(struct api_ctx *c)
{
	char text[160];
	json_t *o;

	if (params_only(c, NULL) < 0)
		return;
	prefix_text(c, text, sizeof text);
	int rc = p25_service_prefix_show(SVC, AUTH, text, &o);
	reply_read(c, rc, o);
}

static void post_prefixes(struct api_ctx *c)
{
	static const char *const fields[] = {"org", "prefix", "description", "normalize", NULL};
	const char *org, *prefix, *desc;
	bool normalize = false;
	struct p25_prefix p;
	struct p25_diag d;
	char text[P25_PREFIX_STRLEN];
	json_t *o;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "org", true, &org) < 0 ||
	    api_field_string(c, "prefix", true, &prefix) < 0 ||
	    api_field_string(c, "description", false, &desc) < 0 ||
	    api_field_bool(c, "normalize", &normalize) < 0)
		return;
	rc = p25_service_prefix_add(SVC, AUTH, org, prefix, desc ? desc : "",
	                            normalize ? P25_PARSE_NORMALIZE : 0);
	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	/* As stored: host bits cleared when normalize allowed it. */
	if (p25_prefix_parse(prefix, P25_PARSE_NORMALIZE, &p, &d) < 0) {
		api_error(c, 500, P25_API_EINTERNAL, "prefix", "prefix: %s", d.error);
		return;
	}
	p25_prefix_format(&p, text, sizeof text);
	if ((rc = p25_service_prefix_show(SVC, AUTH, text, &o)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_header(c, "Location", "/api/v1/prefixes/%s", text);
	api_reply_changed(c, 201, o);
}

static void delete_prefix(struct api_ctx *c)
{
	char text[160];
	int rc;

	if (params_only(c, NULL) < 0)
		return;
	prefix_text(c, text, sizeof text);
	if ((rc = p25_service_prefix_remove(SVC, AUTH, text)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

/* ---- contacts ---- */

static void get_contacts(struct api_ctx *c)
{
	static const char *const names[] = {"org", NULL};
	json_t *rows;

	if (params_only(c, names) < 0)
		return;
	int rc = p25_service_contact_list(SVC, AUTH, api_param(c, "org"), &rows);
	reply_rows(c, rc, rows);
}

static void get_contact(struct api_ctx *c)
{
	int64_t id;
	json_t *o;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "contact", &id) < 0)
		return;
	int rc = p25_service_contact_show(SVC, AUTH, id, &o);
	reply_read(c, rc, o);
}

static void post_contacts(struct api_ctx *c)
{
	static const char *const fields[] = {"org", "name", "email", "phone", "role", NULL};
	const char *org, *name, *email, *phone, *role_text;
	enum p25_contact_role role = P25_ROLE_SECURITY;
	int64_t id = 0;
	json_t *o;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "org", true, &org) < 0 ||
	    api_field_string(c, "name", true, &name) < 0 ||
	    api_field_string(c, "email", true, &email) < 0 ||
	    api_field_string(c, "phone", false, &phone) < 0 ||
	    api_field_string(c, "role", false, &role_text) < 0)
		return;
	if (role_text && p25_role_parse(role_text, &role) < 0) {
		api_error(c, 422, P25_API_EINVALID, "role",
		          "role: '%s' is not security, technical or administrative", role_text);
		return;
	}
	rc = p25_service_contact_add(SVC, AUTH, org, name, email, phone ? phone : "", role, &id);
	if (rc < 0 || (rc = p25_service_contact_show(SVC, AUTH, id, &o)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_header(c, "Location", "/api/v1/contacts/%" PRId64, id);
	api_reply_changed(c, 201, o);
}

static void patch_contact(struct api_ctx *c)
{
	static const char *const fields[] = {"name", "email", "phone", "role", NULL};
	struct p25_contact_change ch = {0};
	const char *role;
	int64_t id;
	json_t *o;
	int rc;

	if (api_seg_id(c, 1, "contact", &id) < 0 || api_body(c, fields) < 0 ||
	    api_field_string(c, "name", false, &ch.name) < 0 ||
	    api_field_string(c, "email", false, &ch.email) < 0 ||
	    api_field_string(c, "phone", false, &ch.phone) < 0 ||
	    api_field_string(c, "role", false, &role) < 0)
		return;
	if (role) {
		if (p25_role_parse(role, &ch.role) < 0) {
			api_error(c, 422, P25_API_EINVALID, "role",
			          "role: '%s' is not security, technical or administrative", role);
			return;
		}
		ch.set_role = true;
	}
	if ((rc = p25_service_contact_set(SVC, AUTH, id, &ch)) < 0 ||
	    (rc = p25_service_contact_show(SVC, AUTH, id, &o)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply_changed(c, 200, o);
}

static void delete_contact(struct api_ctx *c)
{
	int64_t id;
	int rc;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "contact", &id) < 0)
		return;
	if ((rc = p25_service_contact_remove(SVC, AUTH, id)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

/* ---- permits ---- */

static void get_permits(struct api_ctx *c)
{
	static const char *const names[] = {"org", "expiring_within", "expired", NULL};
	struct p25_permit_filter f = {.org = api_param(c, "org"), .now = c->now};
	const char *within = api_param(c, "expiring_within");
	char err[200];
	json_t *rows;

	if (params_only(c, names) < 0 || api_param_bool(c, "expired", &f.expired) < 0)
		return;
	if (within && p25_duration_parse(within, &f.expiring_within, err, sizeof err) < 0) {
		api_error(c, 400, P25_API_EMALFORMED, "expiring_within", "?expiring_within: %s", err);
		return;
	}
	int rc = p25_service_permit_list(SVC, AUTH, &f, &rows);
	reply_rows(c, rc, rows);
}

static void get_permit(struct api_ctx *c)
{
	int64_t id;
	json_t *o;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "permit", &id) < 0)
		return;
	int rc = p25_service_permit_show(SVC, AUTH, id, &o);
	reply_read(c, rc, o);
}

static void show_permit_after(struct api_ctx *c, int status, int64_t id)
{
	json_t *o;
	int rc = p25_service_permit_show(SVC, AUTH, id, &o);

	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	if (status == 201)
		api_header(c, "Location", "/api/v1/permits/%" PRId64, id);
	api_reply_changed(c, status, o);
}

static void post_permits(struct api_ctx *c)
{
	static const char *const fields[] = {"org",          "address", "kind",    "description",
	                                     "requested_by", "expires", "force",   NULL};
	struct p25_permit_spec s = {0};
	int64_t id = 0;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "org", true, &s.org) < 0 ||
	    api_field_string(c, "address", true, &s.address) < 0 ||
	    parse_enum(c, "kind", kind_parse, &s.kind, NULL,
	               "mail-server, application-server or network-device") < 0 ||
	    api_field_string(c, "description", true, &s.description) < 0 ||
	    api_field_string(c, "requested_by", false, &s.requested_by) < 0 ||
	    api_field_expiry(c, c->body, "expires", "expires", &s.expires) < 0 ||
	    api_field_bool(c, "force", &s.force) < 0)
		return;
	if (!json_object_get(c->body, "kind")) {
		api_error(c, 422, P25_API_EINVALID, "kind", "kind: required");
		return;
	}
	if ((rc = p25_service_permit_add(SVC, AUTH, &s, &id)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_permit_after(c, 201, id);
}

static void patch_permit(struct api_ctx *c)
{
	static const char *const fields[] = {"expires", NULL};
	p25_time expires = 0;
	int64_t id;
	int rc;

	if (api_seg_id(c, 1, "permit", &id) < 0 || api_body(c, fields) < 0)
		return;
	if ((rc = api_field_expiry(c, c->body, "expires", "expires", &expires)) < 0)
		return;
	if (rc == 0) {
		api_error(c, 422, P25_API_EINVALID, "expires",
		          "expires: required (a time, a duration, or null for never)");
		return;
	}
	if ((rc = p25_service_permit_set_expiry(SVC, AUTH, id, expires)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_permit_after(c, 200, id);
}

static void delete_permit(struct api_ctx *c)
{
	int64_t id;
	int rc;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "permit", &id) < 0)
		return;
	if ((rc = p25_service_permit_remove(SVC, AUTH, id)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

/* ---- requests ---- */

static void get_requests(struct api_ctx *c)
{
	static const char *const names[] = {"org", "status", "overdue", NULL};
	struct p25_request_filter f = {.org = api_param(c, "org"), .now = c->now};
	const char *status = api_param(c, "status");
	json_t *rows;

	if (params_only(c, names) < 0 || api_param_bool(c, "overdue", &f.overdue) < 0)
		return;
	if (status) {
		if (p25_request_status_parse(status, &f.status) < 0) {
			api_error(c, 400, P25_API_EMALFORMED, "status",
			          "?status: '%s' is not submitted, approved, applied, verified, rejected "
			          "or cancelled",
			          status);
			return;
		}
		f.by_status = true;
	}
	int rc = p25_service_request_list(SVC, AUTH, &f, &rows);
	reply_rows(c, rc, rows);
}

static void get_request(struct api_ctx *c)
{
	int64_t id;
	json_t *o;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "request", &id) < 0)
		return;
	int rc = p25_service_request_show(SVC, AUTH, id, &o);
	reply_read(c, rc, o);
}

static void show_request_after(struct api_ctx *c, int status, int64_t id)
{
	json_t *o;
	int rc = p25_service_request_show(SVC, AUTH, id, &o);

	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	if (status == 201)
		api_header(c, "Location", "/api/v1/requests/%" PRId64, id);
	api_reply_changed(c, status, o);
}

#define MAX_SERVERS 1000

/* servers: [{"address", "kind", "description", "expires"}] into l (which owns nothing here). */
static int servers_json(struct api_ctx *c, struct p25_request_server *out, size_t *n)
{
	static const char *const keys[] = {"address", "kind", "description", "expires", NULL};
	json_t *a = json_object_get(c->body, "servers"), *s, *v;
	const char *key;
	char label[64];
	size_t i;

	*n = 0;
	if (!a || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MAX_SERVERS) {
		api_error(c, 422, P25_API_EINVALID, "servers",
		          "servers: an array of at most %d servers is expected", MAX_SERVERS);
		return -1;
	}
	json_array_foreach(a, i, s) {
		struct p25_request_server *r = &out[(*n)++];
		memset(r, 0, sizeof *r);
		snprintf(label, sizeof label, "servers[%zu]", i);
		if (!json_is_object(s)) {
			api_error(c, 422, P25_API_EINVALID, label, "%s: an object is expected", label);
			return -1;
		}
		json_object_foreach(s, key, v) {
			bool known = false;
			for (size_t k = 0; keys[k]; k++)
				known = known || !strcmp(keys[k], key);
			if (!known) {
				snprintf(label, sizeof label, "servers[%zu].%.30s", i, key);
				api_error(c, 422, P25_API_EINVALID, label, "%s: unknown field", label);
				return -1;
			}
		}
		v = json_object_get(s, "address");
		if (!json_is_string(v)) {
			snprintf(label, sizeof label, "servers[%zu].address", i);
			api_error(c, 422, P25_API_EINVALID, label, "%s: required, a string", label);
			return -1;
		}
		r->address = json_string_value(v);
		r->kind = P25_KIND_MAIL_SERVER;
		if ((v = json_object_get(s, "kind")) && !json_is_null(v) &&
		    (!json_is_string(v) || p25_kind_parse(json_string_value(v), &r->kind) < 0)) {
			snprintf(label, sizeof label, "servers[%zu].kind", i);
			api_error(c, 422, P25_API_EINVALID, label,
			          "%s: mail-server, application-server or network-device", label);
			return -1;
		}
		r->description = p25_kind_name(r->kind);
		if ((v = json_object_get(s, "description")) && !json_is_null(v)) {
			if (!json_is_string(v)) {
				snprintf(label, sizeof label, "servers[%zu].description", i);
				api_error(c, 422, P25_API_EINVALID, label, "%s: a string is expected", label);
				return -1;
			}
			if (*json_string_value(v))
				r->description = json_string_value(v);
		}
		snprintf(label, sizeof label, "servers[%zu].expires", i);
		if (api_field_expiry(c, s, "expires", label, &r->expires) < 0)
			return -1;
	}
	return 0;
}

static void post_requests(struct api_ctx *c)
{
	static const char *const fields[] = {"org",        "type",        "note",      "requested_by",
	                                     "servers",    "servers_csv", "permit_ids", "addresses",
	                                     NULL};
	static struct p25_request_server none[1];
	struct p25_request_spec s = {0};
	struct p25_server_list csvl = {0};
	struct p25_request_server *servers = NULL;
	const char *type, *csv, **addrs = NULL;
	int64_t *ids = NULL, id = 0;
	size_t nservers = 0, naddrs = 0;
	json_t *pids, *v;
	char err[400];
	size_t i;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "org", true, &s.org) < 0 ||
	    api_field_string(c, "type", true, &type) < 0 ||
	    api_field_string(c, "note", false, &s.note) < 0 ||
	    api_field_string(c, "requested_by", false, &s.requested_by) < 0 ||
	    api_field_string(c, "servers_csv", false, &csv) < 0)
		return;
	if (p25_request_type_parse(type, &s.type) < 0) {
		api_error(c, 422, P25_API_EINVALID, "type",
		          "type: '%s' is not signup, add-permit or remove-permit", type);
		return;
	}
	servers = calloc(MAX_SERVERS, sizeof *servers);
	addrs = calloc(MAX_SERVERS, sizeof *addrs);
	ids = calloc(MAX_SERVERS, sizeof *ids);
	if (!servers || !addrs || !ids) {
		api_error(c, 500, P25_API_EINTERNAL, NULL, "out of memory");
		goto out;
	}
	if (servers_json(c, servers, &nservers) < 0 ||
	    api_field_strings(c, "addresses", addrs, MAX_SERVERS, &naddrs) < 0)
		goto out;
	pids = json_object_get(c->body, "permit_ids");
	if (pids && !json_is_null(pids)) {
		if (!json_is_array(pids) || json_array_size(pids) > MAX_SERVERS) {
			api_error(c, 422, P25_API_EINVALID, "permit_ids",
			          "permit_ids: an array of permit ids is expected");
			goto out;
		}
		json_array_foreach(pids, i, v) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0) {
				api_error(c, 422, P25_API_EINVALID, "permit_ids",
				          "permit_ids[%zu]: a positive whole number is expected", i);
				goto out;
			}
			ids[s.npermit_ids++] = json_integer_value(v);
		}
	}
	/* The CSV form (the sign-up or variance form as a file): rows added to the servers. */
	if (csv) {
		if (nservers) {
			api_error(c, 422, P25_API_EINVALID, "servers_csv",
			          "servers_csv: give the servers either as a list or as CSV, not both");
			goto out;
		}
		if (p25_server_list_add_csv(&csvl, csv, strlen(csv), "servers_csv", s.org, c->now, err,
		                            sizeof err) < 0) {
			api_error(c, 422, P25_API_EINVALID, "servers_csv", "%s", err);
			goto out;
		}
	}
	s.servers = csv ? csvl.servers : nservers ? servers : none;
	s.nservers = csv ? csvl.n : nservers;
	s.permit_ids = ids;
	s.addresses = addrs;
	s.naddresses = naddrs;
	if ((rc = p25_service_request_submit(SVC, AUTH, &s, &id)) < 0) {
		api_service_error(c, rc);
		goto out;
	}
	show_request_after(c, 201, id);
out:
	p25_server_list_free(&csvl);
	free(servers);
	free(addrs);
	free(ids);
}

static void post_request_step(struct api_ctx *c)
{
	static const char *const reject_fields[] = {"reason", NULL};
	static const char *const apply_fields[] = {"no_servers", NULL};
	static const char *const no_fields[] = {NULL};
	const char *verb = c->seg[2], *reason = NULL;
	bool no_servers = false;
	int64_t id;
	int rc;

	if (api_seg_id(c, 1, "request", &id) < 0)
		return;
	if (!strcmp(verb, "reject")) {
		if (api_body(c, reject_fields) < 0 || api_field_string(c, "reason", true, &reason) < 0)
			return;
		rc = p25_service_request_reject(SVC, AUTH, id, reason);
	} else if (!strcmp(verb, "apply")) {
		if (api_body(c, apply_fields) < 0 || api_field_bool(c, "no_servers", &no_servers) < 0)
			return;
		rc = p25_service_request_apply(SVC, AUTH, id, no_servers);
	} else {
		if (api_body(c, no_fields) < 0)
			return;
		if (!strcmp(verb, "approve"))
			rc = p25_service_request_approve(SVC, AUTH, id);
		else if (!strcmp(verb, "verify"))
			rc = p25_service_request_verify(SVC, AUTH, id);
		else if (!strcmp(verb, "cancel"))
			rc = p25_service_request_cancel(SVC, AUTH, id);
		else {
			api_error(c, 404, P25_API_ENOTFOUND, NULL,
			          "no such step '%s': approve, reject, apply, verify or cancel", verb);
			return;
		}
	}
	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	show_request_after(c, 200, id);
}

/* ---- explain, alerts, hosts, audit ---- */

static void get_explain(struct api_ctx *c)
{
	static const char *const names[] = {"address", NULL};
	const char *a = api_param(c, "address");
	char t[P25_TIME_STRLEN];
	json_t *o;
	int rc;

	if (params_only(c, names) < 0)
		return;
	if (!a) {
		api_error(c, 400, P25_API_EMALFORMED, "address", "?address: required");
		return;
	}
	if ((rc = p25_service_explain(SVC, AUTH, a, &o)) < 0) {
		/* A malformed address is the parameter's fault. */
		if (rc == P25_EINVAL && !strncmp(p25_service_error(SVC), "address:", 8))
			api_error(c, 400, P25_API_EMALFORMED, "address", "?%s", p25_service_error(SVC));
		else
			api_service_error(c, rc);
		return;
	}
	json_object_set_new(o, "at", json_string(p25_time_format(c->now, t, sizeof t)));
	api_reply(c, 200, o);
}

static void get_alerts(struct api_ctx *c)
{
	static const char *const names[] = {"org", "kind", "status", NULL};
	json_t *rows;
	int rc;

	if (params_only(c, names) < 0)
		return;
	rc = p25_service_alert_list(SVC, AUTH, api_param(c, "org"), api_param(c, "kind"),
	                            api_param(c, "status"), &rows);
	reply_rows(c, rc, rows);
}

static void get_alert(struct api_ctx *c)
{
	int64_t id;
	json_t *o;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "alert", &id) < 0)
		return;
	int rc = p25_service_alert_show(SVC, AUTH, id, &o);
	reply_read(c, rc, o);
}

static void get_hosts(struct api_ctx *c)
{
	static const char *const names[] = {"org", NULL};
	json_t *rows;

	if (params_only(c, names) < 0)
		return;
	int rc = p25_service_host_list(SVC, AUTH, api_param(c, "org"), 0, &rows);
	reply_rows(c, rc, rows);
}

static void get_audit(struct api_ctx *c)
{
	json_t *rows;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_audit_list(SVC, AUTH, 0, &rows);
	reply_rows(c, rc, rows);
}

/* ---- users and tokens ---- */

static void get_users(struct api_ctx *c)
{
	json_t *rows;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_user_list(SVC, AUTH, &rows);
	reply_rows(c, rc, rows);
}

static void get_user(struct api_ctx *c)
{
	json_t *o;

	if (params_only(c, NULL) < 0)
		return;
	int rc = p25_service_user_show(SVC, AUTH, c->seg[1], &o);
	reply_read(c, rc, o);
}

#define MAX_ORGS 64

static void show_user_after(struct api_ctx *c, int status, const char *name)
{
	json_t *o;
	int rc = p25_service_user_show(SVC, AUTH, name, &o);

	if (rc < 0) {
		api_service_error(c, rc);
		return;
	}
	if (status == 201)
		api_header(c, "Location", "/api/v1/users/%s", name);
	api_reply_changed(c, status, o);
}

static void post_users(struct api_ctx *c)
{
	static const char *const fields[] = {"name",  "role",     "orgs", "full_name",
	                                     "email", "password", NULL};
	struct p25_user_spec s = {0};
	const char *orgs[MAX_ORGS];
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "name", true, &s.name) < 0 ||
	    api_field_string(c, "role", true, &s.role) < 0 ||
	    api_field_strings(c, "orgs", orgs, MAX_ORGS, &s.norgs) < 0 ||
	    api_field_string(c, "full_name", false, &s.full_name) < 0 ||
	    api_field_string(c, "email", false, &s.email) < 0 ||
	    api_field_string(c, "password", false, &s.password) < 0)
		return;
	s.orgs = orgs;
	if ((rc = p25_service_user_add(SVC, AUTH, &s)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_user_after(c, 201, s.name);
}

static void patch_user(struct api_ctx *c)
{
	static const char *const fields[] = {"role",     "orgs",     "full_name", "email",
	                                     "password", "disabled", NULL};
	struct p25_user_change ch = {0};
	const char *orgs[MAX_ORGS];
	json_t *pw;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "role", false, &ch.role) < 0 ||
	    (rc = api_field_strings(c, "orgs", orgs, MAX_ORGS, &ch.norgs)) < 0 ||
	    api_field_string(c, "full_name", false, &ch.full_name) < 0 ||
	    api_field_string(c, "email", false, &ch.email) < 0 ||
	    api_field_string(c, "password", false, &ch.password) < 0)
		return;
	ch.set_orgs = rc > 0;
	ch.orgs = orgs;
	/* "password": null takes the password away (proxy and tokens only). */
	pw = json_object_get(c->body, "password");
	ch.clear_password = pw && json_is_null(pw);
	if ((rc = api_field_bool(c, "disabled", &ch.disabled)) < 0)
		return;
	ch.set_disabled = rc > 0;
	if ((rc = p25_service_user_set(SVC, AUTH, c->seg[1], &ch)) < 0) {
		api_service_error(c, rc);
		return;
	}
	show_user_after(c, 200, c->seg[1]);
}

static void delete_user(struct api_ctx *c)
{
	int rc;

	if (params_only(c, NULL) < 0)
		return;
	if ((rc = p25_service_user_remove(SVC, AUTH, c->seg[1])) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

static void get_tokens(struct api_ctx *c)
{
	static const char *const names[] = {"user", NULL};
	json_t *rows;

	if (params_only(c, names) < 0)
		return;
	int rc = p25_service_token_list(SVC, AUTH, api_param(c, "user"), &rows);
	reply_rows(c, rc, rows);
}

static void get_token(struct api_ctx *c)
{
	int64_t id;
	json_t *o;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "token", &id) < 0)
		return;
	int rc = p25_service_token_show(SVC, AUTH, id, &o);
	reply_read(c, rc, o);
}

static void post_tokens(struct api_ctx *c)
{
	static const char *const fields[] = {"user",    "description",     "read_only",
	                                     "expires", "allowed_sources", NULL};
	struct p25_token_request r = {0};
	char secret[P25_SERVICE_SECRET_MAX];
	const char *allowed[64];
	int64_t id;
	json_t *o;
	int rc;

	if (api_body(c, fields) < 0 || api_field_string(c, "user", false, &r.user) < 0 ||
	    api_field_string(c, "description", false, &r.description) < 0 ||
	    api_field_bool(c, "read_only", &r.read_only) < 0 ||
	    api_field_expiry(c, c->body, "expires", "expires", &r.expires) < 0 ||
	    api_field_strings(c, "allowed_sources", allowed, 64, &r.nallowed) < 0)
		return;
	r.allowed = allowed;
	if ((rc = p25_service_token_add(SVC, AUTH, &r, secret, &id)) < 0 ||
	    (rc = p25_service_token_show(SVC, AUTH, id, &o)) < 0) {
		memset(secret, 0, sizeof secret);
		api_service_error(c, rc);
		return;
	}
	/* The one time the secret is told. */
	json_object_set_new(o, "token", json_string(secret));
	memset(secret, 0, sizeof secret);
	api_header(c, "Location", "/api/v1/tokens/%" PRId64, id);
	api_reply(c, 201, o);
}

static void delete_token(struct api_ctx *c)
{
	int64_t id;
	int rc;

	if (params_only(c, NULL) < 0 || api_seg_id(c, 1, "token", &id) < 0)
		return;
	if ((rc = p25_service_token_revoke(SVC, AUTH, id)) < 0) {
		api_service_error(c, rc);
		return;
	}
	api_reply(c, 204, NULL);
}

const struct api_route api_routes[] = {
    {"GET", "openapi.json", get_openapi, true, false},
    {"POST", "login", post_login, true, false},
    {"POST", "logout", post_logout, false, false},
    {"GET", "session", get_session, false, false},
    {"GET", "orgs", get_orgs, false, false},
    {"POST", "orgs", post_orgs, false, false},
    {"GET", "orgs/*", get_org, false, true},
    {"PATCH", "orgs/*", patch_org, false, true},
    {"DELETE", "orgs/*", delete_org, false, true},
    {"GET", "orgs/*/attempts", get_org_attempts, false, false},
    {"GET", "orgs/*/analysis", get_org_analysis, false, false},
    {"GET", "prefixes", get_prefixes, false, false},
    {"POST", "prefixes", post_prefixes, false, false},
    {"GET", "prefixes/*/*", get_prefix, false, true},
    {"DELETE", "prefixes/*/*", delete_prefix, false, true},
    {"GET", "contacts", get_contacts, false, false},
    {"POST", "contacts", post_contacts, false, false},
    {"GET", "contacts/*", get_contact, false, true},
    {"PATCH", "contacts/*", patch_contact, false, true},
    {"DELETE", "contacts/*", delete_contact, false, true},
    {"GET", "permits", get_permits, false, false},
    {"POST", "permits", post_permits, false, false},
    {"GET", "permits/*", get_permit, false, true},
    {"PATCH", "permits/*", patch_permit, false, true},
    {"DELETE", "permits/*", delete_permit, false, true},
    {"GET", "requests", get_requests, false, false},
    {"POST", "requests", post_requests, false, false},
    {"GET", "requests/*", get_request, false, false},
    {"POST", "requests/*/*", post_request_step, false, false},
    {"GET", "explain", get_explain, false, false},
    {"GET", "alerts", get_alerts, false, false},
    {"GET", "alerts/*", get_alert, false, false},
    {"GET", "hosts", get_hosts, false, false},
    {"GET", "audit", get_audit, false, false},
    {"GET", "users", get_users, false, false},
    {"POST", "users", post_users, false, false},
    {"GET", "users/*", get_user, false, true},
    {"PATCH", "users/*", patch_user, false, true},
    {"DELETE", "users/*", delete_user, false, true},
    {"GET", "tokens", get_tokens, false, false},
    {"POST", "tokens", post_tokens, false, false},
    {"GET", "tokens/*", get_token, false, true},
    {"DELETE", "tokens/*", delete_token, false, true},
    {NULL, NULL, NULL, false, false},
};
