/*
 * port25 serve's configuration: the serve-* keys of port25.conf (documented
 * in dist/port25.conf.example), each also a command-line option.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "util/conf.h"

void p25_serve_config_default(struct p25_serve_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->listen, sizeof c->listen, "127.0.0.1:8025");
	c->threads = 0;
	c->max_connections = 1024;
	c->max_per_ip = 0;
	c->max_header = 16 * 1024;
	c->timeout = 30;
	c->access_log = false;
	p25_api_config_default(&c->api);
	p25_serve_config_finish(c);
}

void p25_serve_config_finish(struct p25_serve_config *c)
{
	c->api.auth.proxies = c->proxies;
	c->api.auth.nproxies = c->nproxies;
	c->api.auth.proxy_header = c->proxy_header[0] ? c->proxy_header : NULL;
}

/* "64k", "1M", "512": bytes. */
static int size_parse(const char *v, size_t min, size_t max, size_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (end == v || errno || *v == '-')
		return -1;
	if (*end == 'k' || *end == 'K')
		n *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		n *= 1024 * 1024, end++;
	if (*end || n < min || n > max)
		return -1;
	*out = (size_t)n;
	return 0;
}

static int uint_parse(const char *v, unsigned min, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (end == v || *end || errno || *v == '-' || n < min || n > max)
		return -1;
	*out = (unsigned)n;
	return 0;
}

static int duration(const char *key, const char *v, int64_t *out, char *err, size_t errlen)
{
	char why[160];

	if (p25_duration_parse(v, out, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* "host:port" or "[v6]:port", the port 0 to 65535. */
static int listen_ok(const char *v, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	struct p25_addr a;
	struct p25_diag d;
	char host[80];
	unsigned port;
	size_t n;

	if (!colon || uint_parse(colon + 1, 0, 65535, &port) < 0) {
		snprintf(err, errlen, "serve-listen: '%s' is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)",
		         v);
		return -1;
	}
	n = (size_t)(colon - v);
	if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
		snprintf(host, sizeof host, "%.*s", (int)(n - 2), v + 1);
	else
		snprintf(host, sizeof host, "%.*s", (int)n, v);
	if (p25_addr_parse(host, 0, &a, &d) < 0) {
		snprintf(err, errlen, "serve-listen: %s", d.error);
		return -1;
	}
	if (a.family == 6 && v[0] != '[') {
		snprintf(err, errlen, "serve-listen: an IPv6 address goes in brackets: [%s]:%u", host,
		         port);
		return -1;
	}
	return 0;
}

static int proxies_parse(struct p25_serve_config *c, const char *v, char *err, size_t errlen)
{
	char buf[2048], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", v);
	c->nproxies = 0;
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		struct p25_diag d;
		if (c->nproxies == P25_SERVE_PROXIES_MAX) {
			snprintf(err, errlen, "serve-trusted-proxies: at most %d", P25_SERVE_PROXIES_MAX);
			return -1;
		}
		if (p25_prefix_parse(tok, 0, &c->proxies[c->nproxies], &d) < 0) {
			snprintf(err, errlen, "serve-trusted-proxies: %s", d.error);
			return -1;
		}
		c->nproxies++;
	}
	return 0;
}

/* One key: 1 when set, 0 when it is not serve's, -1 when its value is bad (err says why). */
static int serve_set(struct p25_serve_config *c, const char *key, const char *v, char *err,
                     size_t errlen)
{
	struct p25_auth_config *a = &c->api.auth;
	int64_t secs;
	size_t size;

	if (!strcmp(key, "serve-listen")) {
		if (listen_ok(v, err, errlen) < 0)
			return -1;
		snprintf(c->listen, sizeof c->listen, "%s", v);
	} else if (!strcmp(key, "serve-threads")) {
		if (uint_parse(v, 0, 256, &c->threads) < 0)
			goto bad_number;
	} else if (!strcmp(key, "serve-max-connections")) {
		if (uint_parse(v, 1, 1000000, &c->max_connections) < 0)
			goto bad_number;
	} else if (!strcmp(key, "serve-max-connections-per-ip")) {
		if (uint_parse(v, 0, 1000000, &c->max_per_ip) < 0)
			goto bad_number;
	} else if (!strcmp(key, "serve-max-body")) {
		if (size_parse(v, 1024, 64 * 1024 * 1024, &size) < 0)
			goto bad_size;
		c->api.max_body = size;
	} else if (!strcmp(key, "serve-max-header")) {
		if (size_parse(v, 4096, 1024 * 1024, &c->max_header) < 0)
			goto bad_size;
	} else if (!strcmp(key, "serve-timeout")) {
		if (duration(key, v, &secs, err, errlen) < 0)
			return -1;
		c->timeout = (unsigned)(secs > 3600 ? 3600 : secs);
	} else if (!strcmp(key, "serve-tls-cert")) {
		snprintf(c->tls_cert, sizeof c->tls_cert, "%s", v);
	} else if (!strcmp(key, "serve-tls-key")) {
		snprintf(c->tls_key, sizeof c->tls_key, "%s", v);
	} else if (!strcmp(key, "serve-access-log")) {
		if (p25_conf_bool(v, &c->access_log) < 0) {
			snprintf(err, errlen, "%s: '%s' is not yes or no", key, v);
			return -1;
		}
	} else if (!strcmp(key, "serve-proxy-user-header")) {
		size_t n = strlen(v);
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '_') {
				snprintf(err, errlen, "%s: '%s' is not a header name", key, v);
				return -1;
			}
		if (n >= sizeof c->proxy_header) {
			snprintf(err, errlen, "%s: too long", key);
			return -1;
		}
		snprintf(c->proxy_header, sizeof c->proxy_header, "%s", v);
	} else if (!strcmp(key, "serve-trusted-proxies")) {
		if (proxies_parse(c, v, err, errlen) < 0)
			return -1;
	} else if (!strcmp(key, "serve-session-idle")) {
		if (duration(key, v, &a->session_idle, err, errlen) < 0)
			return -1;
	} else if (!strcmp(key, "serve-session-max")) {
		if (duration(key, v, &a->session_max, err, errlen) < 0)
			return -1;
	} else if (!strcmp(key, "serve-login-max-failures")) {
		if (uint_parse(v, 1, 1000, &a->login_max_account) < 0)
			goto bad_number;
	} else if (!strcmp(key, "serve-login-max-failures-per-source")) {
		if (uint_parse(v, 1, 100000, &a->login_max_source) < 0)
			goto bad_number;
	} else if (!strcmp(key, "serve-login-window")) {
		if (duration(key, v, &a->login_window, err, errlen) < 0)
			return -1;
	} else {
		return 0;
	}
	p25_serve_config_finish(c);
	return 1;
bad_number:
	snprintf(err, errlen, "%s: '%s' is not a whole number in range", key, v);
	return -1;
bad_size:
	snprintf(err, errlen, "%s: '%s' is not a size in range (bytes, or 64k, 1M)", key, v);
	return -1;
}

int p25_serve_config_set(struct p25_serve_config *c, const char *key, const char *v, char *err,
                         size_t errlen)
{
	int rc = serve_set(c, key, v, err, errlen);

	if (rc == 0)
		snprintf(err, errlen, "unknown setting '%s'", key);
	return rc > 0 ? 0 : -1;
}

/* One entry of [serve] (where "serve-" may be dropped) or of the top level. */
static int set_entry(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	char name[96];

	if (e->section[0] && strncmp(e->key, "serve-", 6))
		snprintf(name, sizeof name, "serve-%s", e->key);
	else
		snprintf(name, sizeof name, "%s", e->key);
	return serve_set(ctx, name, e->value, msg, msglen);
}

int p25_serve_config_load(struct p25_serve_config *c, const char *path, char *err, size_t errlen)
{
	return p25_conf_read(path, false, "serve", P25_CONF_TOP_QUIET, set_entry, c, err, errlen,
	                     NULL, 0) < 0
	           ? -1
	           : 0;
}
