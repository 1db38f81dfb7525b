/*
 * port25 serve on libmicrohttpd (serve.h): connections, bodies within their
 * limit, one registry connection per pool thread, TLS from PEM files, and a
 * clean stop on SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mhd.h"
#include "serve.h"
#include "web.h"

#define MAX_HEADERS 64

/* One pool thread's API (a registry connection), made at its first request. */
struct worker {
	struct p25_api *api;
	struct worker *next;
};

struct server {
	const struct p25_serve_config *cfg;
	const struct p25_mhd *mhd;
	const char *db_path;
	FILE *log;
	pthread_mutex_t lock; /* workers, log */
	struct worker *workers;
};

static __thread struct p25_api *thread_api;

/* One request: its target as sent and its body so far. */
struct conn {
	char *target;
	char *body;
	size_t len, cap;
	bool started, too_large;
	struct timespec t0;
};

static void logf_locked(struct server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_locked(struct server *s, const char *fmt, ...)
{
	char t[P25_TIME_STRLEN];
	va_list ap;

	pthread_mutex_lock(&s->lock);
	fprintf(s->log, "%s ", p25_time_format(p25_time_now(), t, sizeof t));
	va_start(ap, fmt);
	vfprintf(s->log, fmt, ap);
	va_end(ap);
	fputc('\n', s->log);
	fflush(s->log);
	pthread_mutex_unlock(&s->lock);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *s = cls;
	char msg[512];

	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	logf_locked(s, "serve: libmicrohttpd: %s", msg);
}

static struct p25_api *worker_api(struct server *s, char *err, size_t errlen)
{
	struct worker *w;

	if (thread_api)
		return thread_api;
	if (!(w = calloc(1, sizeof *w))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (p25_api_open(s->db_path, &s->cfg->api, &w->api, err, errlen) < 0) {
		free(w);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	w->next = s->workers;
	s->workers = w;
	pthread_mutex_unlock(&s->lock);
	thread_api = w->api;
	return thread_api;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct conn *k = calloc(1, sizeof *k);

	(void)cls;
	(void)con;
	if (k) {
		k->target = strdup(uri ? uri : "");
		clock_gettime(CLOCK_MONOTONIC, &k->t0);
	}
	return k;
}

static void completed(void *cls, struct MHD_Connection *con, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct conn *k = *con_cls;

	(void)cls;
	(void)con;
	(void)toe;
	if (k) {
		free(k->target);
		free(k->body);
		free(k);
		*con_cls = NULL;
	}
}

struct header_list {
	struct p25_api_header v[MAX_HEADERS];
	size_t n;
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
	struct header_list *h = cls;

	(void)kind;
	if (h->n < MAX_HEADERS)
		h->v[h->n++] = (struct p25_api_header){key, value ? value : ""};
	return MHD_YES;
}

static struct p25_addr peer_of(struct server *s, struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
	    s->mhd->get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct p25_addr a;

	memset(&a, 0, sizeof a);
	if (!ci || !ci->client_addr)
		return a;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ci->client_addr;
		p25_addr_from_v4(&a, ntohl(in->sin_addr.s_addr));
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)ci->client_addr;
		/* A dual-stack socket's IPv4 client is an IPv4 client. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			uint32_t v4;
			memcpy(&v4, in6->sin6_addr.s6_addr + 12, 4);
			p25_addr_from_v4(&a, ntohl(v4));
		} else {
			p25_addr_from_v6(&a, in6->sin6_addr.s6_addr);
		}
	}
	return a;
}

static enum MHD_Result respond(struct server *s, struct MHD_Connection *con, struct conn *k,
                               const char *method, struct p25_api_response *res)
{
	const struct p25_mhd *m = s->mhd;
	struct MHD_Response *r;
	enum MHD_Result ok;

	r = res->body ? m->create_response_from_buffer(res->body_len, res->body, MHD_RESPMEM_MUST_FREE)
	              : m->create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	if (!r) {
		p25_api_response_free(res);
		return MHD_NO;
	}
	res->body = NULL; /* MHD frees it */
	if (res->content_type)
		m->add_response_header(r, "Content-Type", res->content_type);
	for (size_t i = 0; i < res->nheaders; i++)
		m->add_response_header(r, res->headers[i].name, res->headers[i].value);
	m->add_response_header(r, "X-Content-Type-Options", "nosniff");
	m->add_response_header(r, "Content-Security-Policy",
	                       res->content_type && !strncmp(res->content_type, "text/html", 9)
	                           ? P25_WEB_CSP
	                           : "default-src 'none'; frame-ancestors 'none'");
	m->add_response_header(r, "Referrer-Policy", "no-referrer");
	m->add_response_header(r, "X-Frame-Options", "DENY");
	if (s->cfg->tls_cert[0])
		m->add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
	ok = m->queue_response(con, (unsigned)res->status, r);
	m->destroy_response(r);
	if (s->cfg->access_log) {
		struct timespec t1;
		char addr[P25_PREFIX_STRLEN];
		struct p25_addr peer = peer_of(s, con);
		double ms;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - k->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - k->t0.tv_nsec) / 1e6;
		logf_locked(s, "%s %s %s %.200s %d %zu %.1fms", p25_addr_format(&peer, addr, sizeof addr),
		            res->actor[0] ? res->actor : "-", method, k->target ? k->target : "",
		            res->status, res->body_len, ms);
	}
	return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *k = *con_cls;
	struct header_list h = {.n = 0};
	struct p25_api_request req = {0};
	struct p25_api_response res;
	struct p25_api *api;
	char err[600];

	(void)version;
	if (!k) {
		if (!(k = uri_log(NULL, url, con)))
			return MHD_NO;
		*con_cls = k;
	}
	if (!k->started) {
		const char *cl = s->mhd->lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
		k->started = true;
		/* Too large by its own account: answered at once, the body left unread. */
		if (!(cl && strtoull(cl, NULL, 10) > s->cfg->api.max_body))
			return MHD_YES;
		k->too_large = true;
	} else if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (k->too_large || k->len + n > s->cfg->api.max_body) {
			k->too_large = true;
			return MHD_YES;
		}
		if (k->len + n + 1 > k->cap) {
			size_t cap = k->cap ? k->cap : 1024;
			char *b;
			while (cap < k->len + n + 1)
				cap *= 2;
			if (!(b = realloc(k->body, cap)))
				return MHD_NO;
			k->body = b;
			k->cap = cap;
		}
		memcpy(k->body + k->len, upload_data, n);
		k->len += n;
		return MHD_YES;
	}
	if (strncmp(k->target ? k->target : url, "/api/", 5) != 0) {
		/* The portal's pages: static, the same for everyone; the data comes from the API. */
		struct p25_web_answer wa;
		p25_web_answer(method, k->target ? k->target : url, &wa);
		memset(&res, 0, sizeof res);
		res.status = wa.status;
		if (wa.allow) {
			snprintf(res.headers[0].name, sizeof res.headers[0].name, "Allow");
			snprintf(res.headers[0].value, sizeof res.headers[0].value, "%s", wa.allow);
			res.nheaders = 1;
		}
		if (wa.file) {
			res.body_len = (size_t)(wa.file->end - wa.file->start);
			/* MHD frees the body it is given: a copy of the embedded file. */
			if (!(res.body = malloc(res.body_len ? res.body_len : 1)))
				return MHD_NO;
			memcpy(res.body, wa.file->start, res.body_len);
			res.content_type = wa.file->type;
			snprintf(res.headers[res.nheaders].name, sizeof res.headers[0].name, "Cache-Control");
			snprintf(res.headers[res.nheaders].value, sizeof res.headers[0].value, "no-cache");
			res.nheaders++;
		}
		if (!strcmp(method, "HEAD")) {
			free(res.body);
			res.body = NULL;
		}
		return respond(s, con, k, method, &res);
	}
	s->mhd->get_connection_values(con, MHD_HEADER_KIND, collect, &h);
	req.method = method;
	req.target = k->target ? k->target : url;
	req.headers = h.v;
	req.nheaders = h.n;
	req.body = k->body;
	req.body_len = k->too_large ? 0 : k->len;
	req.body_too_large = k->too_large;
	req.peer = peer_of(s, con);
	if (!(api = worker_api(s, err, sizeof err))) {
		static const char body[] = "{\"error\":{\"status\":503,\"code\":\"internal\",\"message\":"
		                           "\"the registry cannot be opened\",\"field\":null}}";
		logf_locked(s, "serve: %s", err);
		memset(&res, 0, sizeof res);
		res.status = 503;
		res.body = strdup(body);
		res.body_len = res.body ? strlen(body) : 0;
		res.content_type = "application/json";
		return respond(s, con, k, method, &res);
	}
	p25_api_handle(api, &req, &res);
	return respond(s, con, k, method, &res);
}

static char *read_pem(const char *path, const char *key, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;

	if (!f) {
		snprintf(err, errlen, "%s: %s: %s", key, path, strerror(errno));
		return NULL;
	}
	do {
		if (n + 4096 + 1 > cap) {
			char *b = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!b) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", key);
				return NULL;
			}
			buf = b;
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
	} while (got == 4096 && n < 1024 * 1024);
	fclose(f);
	buf[n] = '\0';
	if (!strstr(buf, "-----BEGIN ")) {
		snprintf(err, errlen, "%s: %s: not a PEM file", key, path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* The listening address as a socket address. */
static int listen_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len, bool *v6,
                       char *err, size_t errlen)
{
	const char *colon = strrchr(text, ':');
	char host[80];
	size_t n;
	long port;

	if (!colon) {
		snprintf(err, errlen, "--listen: '%s' is not ADDRESS:PORT", text);
		return -1;
	}
	port = strtol(colon + 1, NULL, 10);
	n = (size_t)(colon - text);
	memset(ss, 0, sizeof *ss);
	if (n >= 2 && text[0] == '[') {
		struct sockaddr_in6 *a = (void *)ss;
		snprintf(host, sizeof host, "%.*s", (int)(n - 2), text + 1);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			goto bad;
		*len = sizeof *a;
		*v6 = true;
	} else {
		struct sockaddr_in *a = (void *)ss;
		snprintf(host, sizeof host, "%.*s", (int)n, text);
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
			goto bad;
		*len = sizeof *a;
		*v6 = false;
	}
	return 0;
bad:
	snprintf(err, errlen, "--listen: '%s' is not an address", host);
	return -1;
}

int p25_serve_run(const struct p25_serve_config *cfg, const char *db_path, FILE *log, char *err,
                  size_t errlen)
{
	struct server s = {.cfg = cfg, .db_path = db_path, .log = log};
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	struct p25_api *probe;
	char *cert = NULL, *key = NULL, why[600];
	const union MHD_DaemonInfo *info;
	unsigned threads = cfg->threads, flags;
	socklen_t slen;
	sigset_t set;
	bool v6, tls = cfg->tls_cert[0] || cfg->tls_key[0];
	int sig, rc = -1;

	pthread_mutex_init(&s.lock, NULL);
	if (!(s.mhd = p25_mhd_load(err, errlen)))
		return -1;
	if (listen_addr(cfg->listen, &ss, &slen, &v6, err, errlen) < 0)
		return -1;
	(void)slen;
	/* Open (and migrate) the registry once before any thread does: a bad path fails here. */
	if (p25_api_open(db_path, &cfg->api, &probe, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	p25_api_close(probe);
	if (tls) {
		if (!cfg->tls_cert[0] || !cfg->tls_key[0]) {
			snprintf(err, errlen, "TLS needs both serve-tls-cert and serve-tls-key");
			return -1;
		}
		if (s.mhd->is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			snprintf(err, errlen, "this libmicrohttpd was built without TLS");
			return -1;
		}
		if (!(cert = read_pem(cfg->tls_cert, "serve-tls-cert", err, errlen)) ||
		    !(key = read_pem(cfg->tls_key, "serve-tls-key", err, errlen)))
			goto out;
	}
	if (!threads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		threads = n > 0 && n < 64 ? (unsigned)n : 2;
	}
	/* The pool's threads inherit this mask: the signals come to sigwait below. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	        (v6 ? MHD_USE_DUAL_STACK : 0) | (tls ? MHD_USE_TLS : 0);
	/* The logger first: libmicrohttpd's complaints about later options come to it. */
	d = s.mhd->start_daemon(
	    flags, 0, NULL, NULL, handle, &s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &s,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0, MHD_OPTION_CONNECTION_LIMIT,
	    cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    cfg->max_header, MHD_OPTION_URI_LOG_CALLBACK, uri_log, &s, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, &s, tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, key, MHD_OPTION_HTTPS_MEM_CERT, cert,
	    MHD_OPTION_END);
	if (!d) {
		snprintf(err, errlen, "cannot listen on %s (in use, or not an address of this host?)",
		         cfg->listen);
		goto out;
	}
	info = s.mhd->get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	{
		char host[80];
		const char *colon = strrchr(cfg->listen, ':');
		snprintf(host, sizeof host, "%.*s", (int)(colon - cfg->listen), cfg->listen);
		logf_locked(&s, "serve: listening on %s://%s:%u (%u threads, registry %s)",
		            tls ? "https" : "http", host, info ? (unsigned)info->port : 0, threads,
		            db_path);
	}
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP)
			logf_locked(&s, "serve: SIGHUP: nothing to reload (restart to read port25.conf "
			                "again)");
	}
	logf_locked(&s, "serve: stopping (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	s.mhd->stop_daemon(d);
	rc = 0;
out:
	while (s.workers) {
		struct worker *w = s.workers;
		s.workers = w->next;
		p25_api_close(w->api);
		free(w);
	}
	free(cert);
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	pthread_mutex_destroy(&s.lock);
	return rc;
}
