/* Shared by the API's source files only. */
#ifndef P25_API_INT_H
#define P25_API_INT_H

#include <jansson.h>

#include "api/api.h"
#include "registry/registry.h"
#include "service/service.h"

/*
 * A token's principal, kept while nothing was committed to the registry
 * (its data version unchanged, and no change made through this API since):
 * a revocation or any other change to accounts is a commit, so the cache
 * never answers for a token that is no longer what it was.  Keyed on the
 * Authorization header and the client's address (a token's source list).
 */
#define API_AUTH_CACHE 8
#define API_AUTH_CACHE_TTL 30 /* seconds: a token's last use is written about once a minute */
struct api_auth_entry {
	bool used;
	char key[P25_SECRET_MAX + 16];
	struct p25_addr source;
	struct p25_principal who;
	int64_t version;
	p25_time until;
};

struct p25_api {
	struct p25_registry *reg;
	struct p25_service *svc;
	const struct p25_api_config *cfg;
	struct api_auth_entry cache[API_AUTH_CACHE];
	unsigned next_slot;
};

/* The error codes of the API (the "code" of an error body). */
#define P25_API_EMALFORMED   "malformed"          /* 400: not JSON, bad query or path syntax */
#define P25_API_EUNAUTH      "unauthorized"       /* 401 */
#define P25_API_EFORBIDDEN   "forbidden"          /* 403: the service refused the actor */
#define P25_API_ECSRF        "csrf"               /* 403: a session's change without its token */
#define P25_API_ESOURCE      "source_not_allowed" /* 403: a token from outside its sources */
#define P25_API_ENOTFOUND    "not_found"          /* 404 */
#define P25_API_EMETHOD      "method_not_allowed" /* 405 */
#define P25_API_ECONFLICT    "conflict"           /* 409 */
#define P25_API_EPRECOND     "precondition_failed" /* 412: If-Match */
#define P25_API_ETOOLARGE    "payload_too_large"  /* 413 */
#define P25_API_EMEDIA       "unsupported_media_type" /* 415 */
#define P25_API_EINVALID     "invalid"            /* 422: well-formed, refused */
#define P25_API_ERATE        "rate_limited"       /* 429 */
#define P25_API_EINTERNAL    "internal"           /* 500 */

#define API_MAX_SEGMENTS 8
#define API_MAX_PARAMS	 32

struct api_param {
	char *name, *value;
};

/* One request in progress. */
struct api_ctx {
	struct p25_api *api;
	const struct p25_api_request *req;
	struct p25_api_response *res;
	p25_time now;
	char *seg[API_MAX_SEGMENTS]; /* the path's segments after /api/v1/, decoded */
	size_t nseg;
	struct api_param params[API_MAX_PARAMS];
	size_t nparams;
	struct p25_principal who;
	bool authenticated; /* who is someone (not anonymous) */
	json_t *body;       /* the parsed body (an object), or NULL */
	const char *const *allowed_fields; /* of the body, for the unknown-field check */
};

/* Responses. */
void api_reply(struct api_ctx *c, int status, json_t *body); /* steals body (NULL: none) */
void api_error(struct api_ctx *c, int status, const char *code, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* A service call's failure as its status and code, with the service's message. */
void api_service_error(struct api_ctx *c, int rc);
void api_header(struct api_ctx *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A listing: paginated by ?limit and ?offset (steals rows). */
void api_reply_list(struct api_ctx *c, json_t *rows);
/* The body of a write that succeeded: its warning (if any) in X-Port25-Warning. */
void api_reply_changed(struct api_ctx *c, int status, json_t *obj);

/* The request. */
const char *api_request_header(const struct api_ctx *c, const char *name);
const char *api_param(const struct api_ctx *c, const char *name);
/*
 * Typed query parameters and body fields: 1 present, 0 absent, -1 bad
 * (the error reply is made, naming the parameter or field).
 */
int api_param_bool(struct api_ctx *c, const char *name, bool *out);
int api_param_int(struct api_ctx *c, const char *name, int64_t min, int64_t max, int64_t *out);
/* The body must be a JSON object of these fields only: 0, or -1 with the reply made. */
int api_body(struct api_ctx *c, const char *const *fields);
int api_field_string(struct api_ctx *c, const char *name, bool required, const char **out);
int api_field_bool(struct api_ctx *c, const char *name, bool *out);
int api_field_int(struct api_ctx *c, const char *name, int64_t *out);
/* An expiry: an ISO time, a duration from now ("30d"), or null/"never" (0). */
int api_field_expiry(struct api_ctx *c, json_t *obj, const char *name, const char *label,
                     p25_time *out);
/* An array of strings (at most max): *out points into the body. */
int api_field_strings(struct api_ctx *c, const char *name, const char **out, size_t max,
                      size_t *n);
/* A path segment as a positive id: 0, or -1 with a 404 made (no such object). */
int api_seg_id(struct api_ctx *c, size_t i, const char *what, int64_t *out);

/* The resources (handlers.c): 0 handled. */
typedef void (*api_handler)(struct api_ctx *c);
struct api_route {
	const char *method;
	const char *pattern; /* segments; "*" matches one */
	api_handler run;
	bool anonymous; /* no credentials needed */
	bool etag_object; /* a single object: If-Match on its PATCH and DELETE */
};
extern const struct api_route api_routes[];

/* Compact JSON text of v (json_out.c), malloc'd; NULL when out of memory. */
char *api_json_text(json_t *v, size_t *len);

/* The representation's ETag ("\"hex\"") of a body. */
void api_etag(const char *body, size_t len, char out[40]);

#endif
