/*
 * The HTTP API of port25 serve (/api/v1, JSON only), without sockets: a
 * request in (method, target, headers, body, peer address), a response out
 * (status, headers, JSON body).  The front end (src/serve/) owns the
 * connections; a fuzz target drives the same call.  Every operation is a
 * p25_service_* call with the authenticated principal's struct p25_auth
 * (auth/auth.h): who may do what is decided there, and reads are scoped in
 * their queries.  This layer maps HTTP to those calls and back:
 *
 *   - errors: the status, and {"error": {"status", "code", "message",
 *     "field"}}; code is one of the P25_API_E* strings below, field names
 *     the request's field or parameter at fault (null when none does);
 *   - listings: {"items", "total", "limit", "offset"}, ?limit= (default 100,
 *     at most 1000) and ?offset=; every 200 answer to a GET carries an ETag
 *     (If-None-Match: 304); a PATCH or DELETE with If-Match is refused (412)
 *     when the object's representation changed since;
 *   - sessions: the __Host-port25_session cookie (HttpOnly, Secure,
 *     SameSite=Strict) and its CSRF token in X-CSRF-Token on every change;
 *   - docs/openapi.json, compiled in, at /api/v1/openapi.json.
 */
#ifndef P25_API_H
#define P25_API_H

#include <stdbool.h>
#include <stddef.h>

#include "addr/addr.h"
#include "auth/auth.h"
#include "util/time.h"

#define P25_API_COOKIE "__Host-port25_session"

struct p25_api_config {
	struct p25_auth_config auth;
	size_t max_body;       /* bytes of a request body (64 KiB) */
	unsigned page_default; /* items of a listing page (100) */
	unsigned page_max;     /* ... at most (1000) */
};
void p25_api_config_default(struct p25_api_config *c);

struct p25_api;

/*
 * One per thread: a registry connection and a service over it (never
 * enforcing: the server holds no network privileges).  cfg is borrowed and
 * must outlive the api.
 */
int p25_api_open(const char *db_path, const struct p25_api_config *cfg, struct p25_api **out,
                 char *err, size_t errlen);
void p25_api_close(struct p25_api *api);

struct p25_api_header {
	const char *name, *value;
};

struct p25_api_request {
	const char *method;
	const char *target; /* as sent: "/api/v1/permits?org=k12", percent-encoded */
	const struct p25_api_header *headers;
	size_t nheaders;
	const char *body;
	size_t body_len;
	bool body_too_large; /* the front end stopped reading it at max_body */
	struct p25_addr peer;
	p25_time now; /* 0: the clock */
};

#define P25_API_MAX_RESPONSE_HEADERS 8
struct p25_api_response {
	int status;
	char *body; /* malloc'd; NULL for none (204, 304) */
	size_t body_len;
	const char *content_type;
	struct {
		char name[32];
		char value[320];
	} headers[P25_API_MAX_RESPONSE_HEADERS];
	size_t nheaders;
	/* what the front end's access log says of it */
	char actor[P25_ACCOUNT_NAME_MAX + 1];
};

void p25_api_handle(struct p25_api *api, const struct p25_api_request *req,
                    struct p25_api_response *res);
void p25_api_response_free(struct p25_api_response *res);

/* The OpenAPI document as served (docs/openapi.json). */
const char *p25_api_openapi(size_t *len);

/*
 * ---- port25 serve's configuration: port25.conf's serve-* keys ----
 */
#define P25_SERVE_PROXIES_MAX 16
struct p25_serve_config {
	char listen[128];        /* serve-listen: ADDRESS:PORT, [IPv6]:PORT (port 0: any free) */
	unsigned threads;        /* serve-threads: the thread pool (0: one per CPU) */
	unsigned max_connections;      /* serve-max-connections */
	unsigned max_per_ip;           /* serve-max-connections-per-ip (0: no limit) */
	size_t max_header;             /* serve-max-header: bytes of a request's head */
	unsigned timeout;              /* serve-timeout: seconds a connection may idle */
	char tls_cert[512], tls_key[512]; /* serve-tls-cert, serve-tls-key: PEM files */
	bool access_log;               /* serve-access-log */
	char proxy_header[64];         /* serve-proxy-user-header */
	struct p25_prefix proxies[P25_SERVE_PROXIES_MAX]; /* serve-trusted-proxies */
	size_t nproxies;
	struct p25_api_config api;     /* serve-max-body, serve-session-*, serve-login-* */
};
void p25_serve_config_default(struct p25_serve_config *c);
/* One "key = value" as in the file (serve-* keys); 0, or -1 with err naming the key. */
int p25_serve_config_set(struct p25_serve_config *c, const char *key, const char *value,
                         char *err, size_t errlen);
/* The serve-* keys of the file at path (a missing file is no error); other keys are others'. */
int p25_serve_config_load(struct p25_serve_config *c, const char *path, char *err,
                          size_t errlen);
/* Point the API's configuration at the proxies and header (after any change to them). */
void p25_serve_config_finish(struct p25_serve_config *c);

#endif
