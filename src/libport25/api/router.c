/*
 * The API's frame: the request target parsed, the caller authenticated, the
 * route found, the body read as JSON, preconditions and ETags, and every
 * answer in one shape (api.h).  The resources are in handlers.c.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/api_int.h"
#include "registry/accounts.h"

void p25_api_config_default(struct p25_api_config *c)
{
	memset(c, 0, sizeof *c);
	p25_auth_config_default(&c->auth);
	c->max_body = 64 * 1024;
	c->page_default = 100;
	c->page_max = 1000;
}

int p25_api_open(const char *db_path, const struct p25_api_config *cfg, struct p25_api **out,
                 char *err, size_t errlen)
{
	struct p25_api *api = calloc(1, sizeof *api);
	int rc;

	*out = NULL;
	if (!api) {
		snprintf(err, errlen, "out of memory");
		return P25_EDB;
	}
	api->cfg = cfg;
	if (p25_auth_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		free(api);
		return P25_EDB;
	}
	if ((rc = p25_registry_open(db_path, &api->reg, err, errlen)) < 0) {
		free(api);
		return rc;
	}
	/* No enforcement: the server never touches the kernel; enforce sync --wait follows. */
	if (p25_service_open(api->reg, NULL, &api->svc) < 0) {
		snprintf(err, errlen, "out of memory");
		p25_registry_close(api->reg);
		free(api);
		return P25_EDB;
	}
	*out = api;
	return 0;
}

static void cache_clear(struct p25_api *api)
{
	for (size_t i = 0; i < API_AUTH_CACHE; i++) {
		if (api->cache[i].used)
			p25_principal_free(&api->cache[i].who);
		api->cache[i].used = false;
	}
}

/* A principal that owns its own copy of the account's strings. */
static int principal_copy(const struct p25_principal *from, struct p25_principal *to)
{
	*to = *from;
	to->account.orgs = NULL;
	to->account.norgs = 0;
	if (from->account.norgs &&
	    !(to->account.orgs = calloc(from->account.norgs, sizeof *to->account.orgs)))
		return -1;
	for (size_t i = 0; i < from->account.norgs; i++) {
		if (!(to->account.orgs[i] = strdup(from->account.orgs[i]))) {
			p25_principal_free(to);
			return -1;
		}
		to->account.norgs++;
	}
	to->auth.actor = to->account.name;
	to->auth.orgs = (const char *const *)to->account.orgs;
	to->auth.norgs = to->account.norgs;
	return 0;
}

void p25_api_close(struct p25_api *api)
{
	if (!api)
		return;
	cache_clear(api);
	p25_service_close(api->svc);
	p25_registry_close(api->reg);
	free(api);
}

void p25_api_response_free(struct p25_api_response *res)
{
	free(res->body);
	res->body = NULL;
}

/* ---- answers ---- */

void api_header(struct api_ctx *c, const char *name, const char *fmt, ...)
{
	struct p25_api_response *r = c->res;
	va_list ap;

	if (r->nheaders == P25_API_MAX_RESPONSE_HEADERS)
		return;
	snprintf(r->headers[r->nheaders].name, sizeof r->headers[0].name, "%s", name);
	va_start(ap, fmt);
	vsnprintf(r->headers[r->nheaders].value, sizeof r->headers[0].value, fmt, ap);
	va_end(ap);
	/* Never a line break into a header, whatever went into the value. */
	for (char *p = r->headers[r->nheaders].value; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	r->nheaders++;
}

void api_reply(struct api_ctx *c, int status, json_t *body)
{
	struct p25_api_response *r = c->res;

	free(r->body);
	r->body = NULL;
	r->body_len = 0;
	r->status = status;
	r->content_type = NULL;
	if (body) {
		r->body = api_json_text(body, &r->body_len);
		json_decref(body);
		if (!r->body) {
			r->status = 500;
			r->body = strdup("{\"error\":{\"status\":500,\"code\":\"internal\",\"message\":"
			                 "\"out of memory\",\"field\":null}}");
			r->body_len = r->body ? strlen(r->body) : 0;
		}
		r->content_type = "application/json";
	}
}

/* A JSON string of s, its bytes that are not UTF-8 as '?' (a client's bytes are echoed). */
static json_t *safe_string(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	if (!(copy = strdup(s)))
		return json_string("");
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j ? j : json_string("");
}

void api_error(struct api_ctx *c, int status, const char *code, const char *field,
               const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	json_t *e = json_object();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object_set_new(e, "status", json_integer(status));
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", safe_string(msg));
	json_object_set_new(e, "field", field ? safe_string(field) : json_null());
	api_reply(c, status, json_pack("{s:o}", "error", e));
}

void api_service_error(struct api_ctx *c, int rc)
{
	const char *msg = p25_service_error(c->api->svc);

	if (!msg || !*msg)
		msg = "the operation failed";
	switch (rc) {
	case P25_EINVAL: api_error(c, 422, P25_API_EINVALID, NULL, "%s", msg); break;
	case P25_ENOTFOUND: api_error(c, 404, P25_API_ENOTFOUND, NULL, "%s", msg); break;
	case P25_ECONFLICT: api_error(c, 409, P25_API_ECONFLICT, NULL, "%s", msg); break;
	case P25_EDENIED: api_error(c, 403, P25_API_EFORBIDDEN, NULL, "%s", msg); break;
	default: api_error(c, 500, P25_API_EINTERNAL, NULL, "%s", msg); break;
	}
}

void api_reply_changed(struct api_ctx *c, int status, json_t *obj)
{
	const char *w = p25_service_warning(c->api->svc);

	if (w && *w)
		api_header(c, "X-Port25-Warning", "%s", w);
	api_reply(c, status, obj);
}

void api_reply_list(struct api_ctx *c, json_t *rows)
{
	int64_t limit = c->api->cfg->page_default, offset = 0;
	size_t total = json_array_size(rows);
	json_t *items;

	if (api_param_int(c, "limit", 1, c->api->cfg->page_max, &limit) < 0 ||
	    api_param_int(c, "offset", 0, INT64_MAX, &offset) < 0) {
		json_decref(rows);
		return;
	}
	items = json_array();
	for (size_t i = (size_t)offset; i < total && i < (size_t)offset + (size_t)limit; i++)
		json_array_append(items, json_array_get(rows, i));
	json_decref(rows);
	api_reply(c, 200,
	          json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total,
	                    "limit", (json_int_t)limit, "offset", (json_int_t)offset));
}

void api_etag(const char *body, size_t len, char out[40])
{
	unsigned char h[16];
	char hex[33];

	crypto_generichash(h, sizeof h, (const unsigned char *)body, len, NULL, 0);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	snprintf(out, 40, "\"%s\"", hex);
}

/* ---- the request ---- */

const char *api_request_header(const struct api_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->req->nheaders; i++)
		if (c->req->headers[i].name && !strcasecmp(c->req->headers[i].name, name))
			return c->req->headers[i].value ? c->req->headers[i].value : "";
	return NULL;
}

const char *api_param(const struct api_ctx *c, const char *name)
{
	for (size_t i = 0; i < c->nparams; i++)
		if (!strcmp(c->params[i].name, name))
			return c->params[i].value;
	return NULL;
}

int api_param_bool(struct api_ctx *c, const char *name, bool *out)
{
	const char *v = api_param(c, name);

	if (!v)
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
		return 1;
	}
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no")) {
		*out = false;
		return 1;
	}
	api_error(c, 400, P25_API_EMALFORMED, name, "?%s: '%s' is not true or false", name, v);
	return -1;
}

int api_param_int(struct api_ctx *c, const char *name, int64_t min, int64_t max, int64_t *out)
{
	const char *v = api_param(c, name);
	char *end;
	long long n;

	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max) {
		api_error(c, 400, P25_API_EMALFORMED, name,
		          "?%s: '%s' is not a whole number from %" PRId64 " to %" PRId64, name, v,
		          min, max);
		return -1;
	}
	*out = n;
	return 1;
}

static bool json_media(const char *ct)
{
	size_t n = strlen("application/json");

	while (ct && *ct == ' ')
		ct++;
	return ct && !strncasecmp(ct, "application/json", n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

int api_body(struct api_ctx *c, const char *const *fields)
{
	json_error_t e;
	const char *key;
	json_t *v;

	c->allowed_fields = fields;
	if (!c->req->body_len) {
		c->body = json_object();
		return 0;
	}
	if (!json_media(api_request_header(c, "Content-Type"))) {
		api_error(c, 415, P25_API_EMEDIA, "Content-Type",
		          "Content-Type: the body must be application/json");
		return -1;
	}
	c->body = json_loadb(c->req->body, c->req->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!c->body) {
		api_error(c, 400, P25_API_EMALFORMED, NULL, "body: not JSON: %s at line %d column %d",
		          e.text, e.line, e.column);
		return -1;
	}
	if (!json_is_object(c->body)) {
		api_error(c, 400, P25_API_EMALFORMED, NULL, "body: a JSON object is expected");
		return -1;
	}
	json_object_foreach(c->body, key, v) {
		bool known = false;
		for (size_t i = 0; fields && fields[i]; i++)
			known = known || !strcmp(fields[i], key);
		if (!known) {
			api_error(c, 422, P25_API_EINVALID, key, "%s: unknown field", key);
			return -1;
		}
	}
	return 0;
}

static json_t *field(struct api_ctx *c, const char *name)
{
	json_t *v = c->body ? json_object_get(c->body, name) : NULL;
	return v && !json_is_null(v) ? v : NULL;
}

int api_field_string(struct api_ctx *c, const char *name, bool required, const char **out)
{
	json_t *v = field(c, name);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		api_error(c, 422, P25_API_EINVALID, name, "%s: required", name);
		return -1;
	}
	if (!json_is_string(v)) {
		api_error(c, 422, P25_API_EINVALID, name, "%s: a string is expected", name);
		return -1;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		api_error(c, 422, P25_API_EINVALID, name, "%s: holds a NUL character", name);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

int api_field_bool(struct api_ctx *c, const char *name, bool *out)
{
	json_t *v = field(c, name);

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		api_error(c, 422, P25_API_EINVALID, name, "%s: true or false is expected", name);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

int api_field_int(struct api_ctx *c, const char *name, int64_t *out)
{
	json_t *v = field(c, name);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) <= 0) {
		api_error(c, 422, P25_API_EINVALID, name, "%s: a positive whole number is expected",
		          name);
		return -1;
	}
	*out = json_integer_value(v);
	return 1;
}

int api_field_expiry(struct api_ctx *c, json_t *obj, const char *name, const char *label,
                     p25_time *out)
{
	json_t *v = json_object_get(obj, name);
	char err[200];

	*out = 0;
	if (!v || json_is_null(v))
		return v ? 1 : 0;
	if (!json_is_string(v)) {
		api_error(c, 422, P25_API_EINVALID, label,
		          "%s: a time (2026-12-31T18:00:00Z), a duration (30d) or null is expected",
		          label);
		return -1;
	}
	if (!strcmp(json_string_value(v), "never"))
		return 1;
	if (p25_expiry_parse(json_string_value(v), c->now, out, err, sizeof err) < 0) {
		api_error(c, 422, P25_API_EINVALID, label, "%s: %s", label, err);
		return -1;
	}
	return 1;
}

int api_field_strings(struct api_ctx *c, const char *name, const char **out, size_t max,
                      size_t *n)
{
	json_t *v = field(c, name), *e;
	size_t i;

	*n = 0;
	if (!v)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max) {
		api_error(c, 422, P25_API_EINVALID, name, "%s: an array of at most %zu strings is expected",
		          name, max);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e)) {
			api_error(c, 422, P25_API_EINVALID, name, "%s[%zu]: a string is expected", name,
			          i);
			return -1;
		}
		out[(*n)++] = json_string_value(e);
	}
	return 1;
}

int api_seg_id(struct api_ctx *c, size_t i, const char *what, int64_t *out)
{
	const char *s = i < c->nseg ? c->seg[i] : "";
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v <= 0 || !isdigit((unsigned char)*s)) {
		api_error(c, 404, P25_API_ENOTFOUND, NULL, "no %s '%s': ids are positive numbers",
		          what, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- parsing the target ---- */

static int hexval(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	h = (char)tolower((unsigned char)h);
	return h >= 'a' && h <= 'f' ? h - 'a' + 10 : -1;
}

/* Percent-decoding (and '+' as a space in a query): a new string, or NULL if malformed. */
static char *decode(const char *s, size_t n, bool query)
{
	char *out = malloc(n + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			/* %00 would cut the string short of what was meant */
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else if (s[i] == '\0') {
			free(out);
			return NULL;
		} else {
			*o++ = query && s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

static void ctx_free(struct api_ctx *c)
{
	for (size_t i = 0; i < c->nseg; i++)
		free(c->seg[i]);
	for (size_t i = 0; i < c->nparams; i++) {
		free(c->params[i].name);
		free(c->params[i].value);
	}
	c->nseg = c->nparams = 0;
	json_decref(c->body);
	c->body = NULL;
	p25_principal_free(&c->who);
}

#define API_PREFIX "/api/v1/"

/* 0, or -1 with the reply made. */
static int parse_target(struct api_ctx *c)
{
	const char *t = c->req->target ? c->req->target : "";
	const char *q = strchr(t, '?'), *p, *end = q ? q : t + strlen(t);

	if (strncmp(t, API_PREFIX, strlen(API_PREFIX)) != 0) {
		api_error(c, 404, P25_API_ENOTFOUND, NULL, "no such resource: the API is under %s",
		          API_PREFIX);
		return -1;
	}
	p = t + strlen(API_PREFIX);
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *segend = slash ? slash : end;
		if (c->nseg == API_MAX_SEGMENTS) {
			api_error(c, 404, P25_API_ENOTFOUND, NULL, "no such resource");
			return -1;
		}
		if (!(c->seg[c->nseg] = decode(p, (size_t)(segend - p), false))) {
			api_error(c, 400, P25_API_EMALFORMED, NULL, "path: malformed percent-encoding");
			return -1;
		}
		c->nseg++;
		p = slash ? slash + 1 : end;
	}
	/* A trailing slash names nothing more. */
	if (c->nseg && !*c->seg[c->nseg - 1]) {
		free(c->seg[--c->nseg]);
	}
	for (p = q ? q + 1 : end; q && *p;) {
		const char *amp = strchr(p, '&'), *pend = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(pend - p));
		if (pend > p) {
			struct api_param *prm = &c->params[c->nparams];
			if (c->nparams == API_MAX_PARAMS) {
				api_error(c, 400, P25_API_EMALFORMED, NULL,
				          "query: more than %d parameters", API_MAX_PARAMS);
				return -1;
			}
			prm->name = decode(p, (size_t)((eq ? eq : pend) - p), true);
			prm->value = eq ? decode(eq + 1, (size_t)(pend - eq - 1), true) : strdup("");
			if (!prm->name || !prm->value) {
				free(prm->name);
				free(prm->value);
				api_error(c, 400, P25_API_EMALFORMED, NULL,
				          "query: malformed percent-encoding");
				return -1;
			}
			for (size_t i = 0; i < c->nparams; i++)
				if (!strcmp(c->params[i].name, prm->name)) {
					free(prm->name);
					free(prm->value);
					api_error(c, 400, P25_API_EMALFORMED, c->params[i].name,
					          "?%s: given twice", c->params[i].name);
					return -1;
				}
			c->nparams++;
		}
		p = amp ? amp + 1 : pend;
	}
	return 0;
}

/* The value of cookie name in a Cookie header, copied to out ("" when absent). */
static void cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name);

	out[0] = '\0';
	for (const char *p = header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		if (!strncmp(p, name, n) && p[n] == '=') {
			const char *v = p + n + 1;
			size_t len = strcspn(v, ";");
			if (len < outlen) {
				memcpy(out, v, len);
				out[len] = '\0';
			}
			return;
		}
		p = strchr(p, ';');
	}
}

/* The client: the peer, or the last address a trusted proxy put in X-Forwarded-For. */
static struct p25_addr client_of(struct api_ctx *c)
{
	const char *xff = api_request_header(c, "X-Forwarded-For");
	struct p25_addr a = c->req->peer;
	char last[80];
	struct p25_diag d;

	if (!xff || !p25_auth_from_proxy(&c->api->cfg->auth, &c->req->peer))
		return a;
	{
		const char *comma = strrchr(xff, ',');
		const char *s = comma ? comma + 1 : xff;
		while (*s == ' ')
			s++;
		snprintf(last, sizeof last, "%s", s);
		last[strcspn(last, " ")] = '\0';
		if (p25_addr_parse(last, P25_PARSE_UNMAP, &a, &d) < 0)
			a = c->req->peer;
	}
	return a;
}

static bool is_write(const char *m)
{
	return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* A token's principal from the cache: 0 (c->who is a copy), or -1 (authenticate). */
static int cache_lookup(struct api_ctx *c, const struct p25_credentials *cr)
{
	struct p25_api *api = c->api;
	int64_t version;

	if (!cr->authorization || strlen(cr->authorization) >= sizeof api->cache[0].key)
		return -1;
	for (size_t i = 0; i < API_AUTH_CACHE; i++) {
		struct api_auth_entry *e = &api->cache[i];
		if (!e->used || strcmp(e->key, cr->authorization) != 0 ||
		    !p25_addr_equal(&e->source, &cr->source))
			continue;
		if (c->now >= e->until || c->now < e->until - API_AUTH_CACHE_TTL ||
		    (e->who.expires && c->now >= e->who.expires) ||
		    p25_registry_data_version(api->reg, &version) < 0 || version != e->version) {
			p25_principal_free(&e->who);
			e->used = false;
			return -1;
		}
		if (principal_copy(&e->who, &c->who) < 0)
			return -1;
		c->who.auth.now = c->now;
		return 0;
	}
	return -1;
}

static void cache_store(struct api_ctx *c, const struct p25_credentials *cr)
{
	struct p25_api *api = c->api;
	struct api_auth_entry *e = &api->cache[api->next_slot++ % API_AUTH_CACHE];
	int64_t version;

	if (strlen(cr->authorization) >= sizeof e->key ||
	    p25_registry_data_version(api->reg, &version) < 0)
		return;
	if (e->used)
		p25_principal_free(&e->who);
	e->used = false;
	if (principal_copy(&c->who, &e->who) < 0)
		return;
	snprintf(e->key, sizeof e->key, "%s", cr->authorization);
	e->source = cr->source;
	e->version = version;
	e->until = c->now + API_AUTH_CACHE_TTL;
	e->used = true;
}

/* 0 with c->who set, or -1 with the reply made. */
static int authenticate(struct api_ctx *c, bool anonymous_ok)
{
	const struct p25_auth_config *ac = &c->api->cfg->auth;
	struct p25_credentials cr = {0};
	enum p25_auth_denial why;
	char session[P25_SECRET_MAX + 8], msg[512];

	cookie_value(api_request_header(c, "Cookie"), P25_API_COOKIE, session, sizeof session);
	cr.authorization = api_request_header(c, "Authorization");
	cr.session = session;
	cr.csrf = api_request_header(c, "X-CSRF-Token");
	cr.proxy_user = ac->proxy_header && *ac->proxy_header
	                    ? api_request_header(c, ac->proxy_header)
	                    : NULL;
	cr.peer = c->req->peer;
	cr.source = client_of(c);
	cr.write = is_write(c->req->method);
	cr.now = c->now;
	if (cache_lookup(c, &cr) == 0) {
		c->authenticated = true;
		snprintf(c->res->actor, sizeof c->res->actor, "%s", c->who.account.name);
		return 0;
	}
	if (p25_authenticate(c->api->reg, ac, &cr, &c->who, &why, msg, sizeof msg) < 0) {
		switch (why) {
		case P25_DENY_CSRF: api_error(c, 403, P25_API_ECSRF, "X-CSRF-Token", "%s", msg); break;
		case P25_DENY_SOURCE: api_error(c, 403, P25_API_ESOURCE, NULL, "%s", msg); break;
		case P25_DENY_SYSTEM: api_error(c, 500, P25_API_EINTERNAL, NULL, "%s", msg); break;
		default:
			api_header(c, "WWW-Authenticate", "Bearer realm=\"port25\"");
			api_error(c, 401, P25_API_EUNAUTH, NULL, "%s", msg);
			break;
		}
		return -1;
	}
	c->authenticated = c->who.method != P25_AUTH_NONE;
	if (c->authenticated)
		snprintf(c->res->actor, sizeof c->res->actor, "%s", c->who.account.name);
	if (c->who.method == P25_AUTH_TOKEN)
		cache_store(c, &cr);
	if (!c->authenticated && !anonymous_ok) {
		api_header(c, "WWW-Authenticate", "Bearer realm=\"port25\"");
		api_error(c, 401, P25_API_EUNAUTH, NULL,
		          "authentication required: an API token (Authorization: Bearer) or a "
		          "session (POST /api/v1/login)");
		return -1;
	}
	return 0;
}

static bool pattern_matches(const struct api_ctx *c, const char *pattern)
{
	char buf[128], *save = NULL, *tok;
	size_t i = 0;

	snprintf(buf, sizeof buf, "%s", pattern);
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save), i++) {
		if (i >= c->nseg)
			return false;
		if (strcmp(tok, "*") != 0 && strcmp(tok, c->seg[i]) != 0)
			return false;
		if (!strcmp(tok, "*") && !*c->seg[i])
			return false;
	}
	return i == c->nseg;
}

/* Run the GET of the same object, as the same caller: its ETag, or -1 with its failure. */
static int current_etag(struct api_ctx *c, const char *pattern, char etag[40])
{
	const struct api_route *get = NULL;
	struct p25_api_response sub = {0};
	struct api_ctx s = *c;

	for (const struct api_route *r = api_routes; r->method; r++)
		if (!strcmp(r->method, "GET") && !strcmp(r->pattern, pattern))
			get = r;
	if (!get)
		return 0;
	s.res = &sub;
	s.body = NULL;
	get->run(&s);
	if (sub.status != 200) {
		p25_api_response_free(c->res);
		*c->res = sub;
		return -1;
	}
	api_etag(sub.body, sub.body_len, etag);
	p25_api_response_free(&sub);
	return 1;
}

static bool etag_listed(const char *header, const char *etag)
{
	char buf[1024], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", header);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		if (!strncmp(tok, "W/", 2))
			tok += 2;
		if (!strcmp(tok, "*") || !strcmp(tok, etag))
			return true;
	}
	return false;
}

static void dispatch(struct api_ctx *c)
{
	const struct api_route *match = NULL;
	char allow[128] = "";
	bool path_known = false;
	const char *m = c->req->method ? c->req->method : "";

	for (const struct api_route *r = api_routes; r->method; r++) {
		if (!pattern_matches(c, r->pattern))
			continue;
		path_known = true;
		snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s", *allow ? ", " : "",
		         r->method);
		if (!strcmp(r->method, m) || (!strcmp(m, "HEAD") && !strcmp(r->method, "GET")))
			match = match ? match : r;
	}
	if (!path_known) {
		api_error(c, 404, P25_API_ENOTFOUND, NULL, "no such resource");
		return;
	}
	if (!match) {
		api_header(c, "Allow", "%s", allow);
		api_error(c, 405, P25_API_EMETHOD, NULL, "%s: not allowed here (allowed: %s)", m, allow);
		return;
	}
	if (c->req->body_too_large) {
		api_error(c, 413, P25_API_ETOOLARGE, NULL, "body: larger than %zu bytes",
		          c->api->cfg->max_body);
		return;
	}
	/* Logging in and reading the API's description need no credentials, and read none. */
	if (!match->anonymous && authenticate(c, false) < 0)
		return;
	if (match->etag_object && is_write(m)) {
		const char *want = api_request_header(c, "If-Match");
		char etag[40];
		int rc;
		if (want) {
			if ((rc = current_etag(c, match->pattern, etag)) < 0)
				return;
			if (rc > 0 && !etag_listed(want, etag)) {
				api_header(c, "ETag", "%s", etag);
				api_error(c, 412, P25_API_EPRECOND, "If-Match",
				          "If-Match: the object changed since (its ETag is now %s)", etag);
				return;
			}
		}
	}
	match->run(c);
}

void p25_api_handle(struct p25_api *api, const struct p25_api_request *req,
                    struct p25_api_response *res)
{
	struct api_ctx c = {.api = api, .req = req, .res = res};

	memset(res, 0, sizeof *res);
	c.now = req->now ? req->now : p25_time_now();
	if (parse_target(&c) == 0)
		dispatch(&c);
	if (!res->status)
		api_error(&c, 500, P25_API_EINTERNAL, NULL, "no answer");
	/* Every 200 to a GET has its ETag; a client that has it gets a 304. */
	if (res->status == 200 && res->body && req->method &&
	    (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD"))) {
		char etag[40];
		const char *inm = api_request_header(&c, "If-None-Match");
		api_etag(res->body, res->body_len, etag);
		api_header(&c, "ETag", "%s", etag);
		if (inm && etag_listed(inm, etag)) {
			free(res->body);
			res->body = NULL;
			res->body_len = 0;
			res->content_type = NULL;
			res->status = 304;
		}
	}
	api_header(&c, "Cache-Control", "no-store");
	/* A change through this connection is no new data version to it: forget the tokens. */
	if (req->method && is_write(req->method))
		cache_clear(api);
	ctx_free(&c);
}
