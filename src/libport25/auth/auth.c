/*
 * Authentication: secrets (libsodium), logins with their limits, and the
 * credentials of a request turned into a principal (auth.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth/auth.h"
#include "util/text.h"

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_rc = -1;

static void sodium_start(void)
{
	sodium_rc = sodium_init() < 0 ? -1 : 0;
}

int p25_auth_init(void)
{
	pthread_once(&sodium_once, sodium_start);
	return sodium_rc;
}

int p25_password_hash(const char *password, char out[P25_PASSWORD_HASH_MAX], char *err,
                      size_t errlen)
{
	size_t n = password ? strlen(password) : 0;

	out[0] = '\0';
	if (n < P25_PASSWORD_MIN || n > P25_PASSWORD_MAX) {
		snprintf(err, errlen, "password: %zu characters; it takes %d to %d", n,
		         P25_PASSWORD_MIN, P25_PASSWORD_MAX);
		return -1;
	}
	if (p25_auth_init() < 0) {
		snprintf(err, errlen, "password: libsodium cannot start");
		return -1;
	}
	/* libsodium's interactive limits: about 0.1 s and 64 MiB a login on this kind of machine. */
	if (crypto_pwhash_str_alg(out, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                          crypto_pwhash_MEMLIMIT_INTERACTIVE,
	                          crypto_pwhash_ALG_ARGON2ID13) != 0) {
		snprintf(err, errlen, "password: hashing failed (out of memory)");
		return -1;
	}
	return 0;
}

bool p25_password_verify(const char *hash, const char *password)
{
	if (!hash || !*hash || !password || p25_auth_init() < 0)
		return false;
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

void p25_secret_new(const char *prefix, char out[P25_SECRET_MAX])
{
	unsigned char raw[32];
	size_t n = snprintf(out, P25_SECRET_MAX, "%s", prefix ? prefix : "");

	p25_auth_init();
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(out + n, P25_SECRET_MAX - n, raw, sizeof raw,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

void p25_secret_hash(const char *secret, char out[P25_HASH_HEX_LEN])
{
	unsigned char h[32];

	p25_auth_init();
	crypto_generichash(h, sizeof h, (const unsigned char *)secret, strlen(secret), NULL, 0);
	sodium_bin2hex(out, P25_HASH_HEX_LEN, h, sizeof h);
}

void p25_auth_config_default(struct p25_auth_config *c)
{
	memset(c, 0, sizeof *c);
	c->session_idle = 8 * P25_HOUR;
	c->session_max = 7 * P25_DAY;
	c->login_max_account = 5;
	c->login_max_source = 20;
	c->login_window = 15 * 60;
	p25_auth_init();
	randombytes_buf(c->csrf_key, sizeof c->csrf_key);
}

const char *p25_auth_method_name(enum p25_auth_method m)
{
	static const char *const names[] = {"none", "session", "token", "proxy"};
	return (unsigned)m < 4 ? names[m] : "?";
}

void p25_principal_free(struct p25_principal *p)
{
	if (p) {
		p25_account_free(&p->account);
		memset(p, 0, sizeof *p);
	}
}

bool p25_auth_from_proxy(const struct p25_auth_config *cfg, const struct p25_addr *addr)
{
	for (size_t i = 0; i < cfg->nproxies; i++)
		if (p25_prefix_contains_addr(&cfg->proxies[i], addr))
			return true;
	return false;
}

static int deny(enum p25_auth_denial *why, enum p25_auth_denial w, char *msg, size_t msglen,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int deny(enum p25_auth_denial *why, enum p25_auth_denial w, char *msg, size_t msglen,
                const char *fmt, ...)
{
	va_list ap;

	*why = w;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool same_secret(const char *a, const char *b)
{
	size_t n = strlen(a);
	return n == strlen(b) && n > 0 && sodium_memcmp(a, b, n) == 0;
}

/* The principal of an account found: its role, organizations, the time. */
static int principal_of(struct p25_registry *reg, int64_t account_id, const char *how,
                        const struct p25_credentials *c, struct p25_principal *out,
                        enum p25_auth_denial *why, char *msg, size_t msglen)
{
	int rc = p25_account_get_id(reg, account_id, &out->account);

	if (rc == P25_ENOTFOUND)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen, "%s: its user is gone", how);
	if (rc < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	if (out->account.disabled)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen, "%s: user '%s' is disabled", how,
		            out->account.name);
	if (p25_auth_role_parse(out->account.role, &out->auth.role) < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "user '%s': unknown role '%s'",
		            out->account.name, out->account.role);
	out->auth.actor = out->account.name;
	out->auth.orgs = (const char *const *)out->account.orgs;
	out->auth.norgs = out->account.norgs;
	out->auth.now = c->now;
	return 0;
}

static int token_auth(struct p25_registry *reg, const struct p25_credentials *c,
                      struct p25_principal *out, enum p25_auth_denial *why, char *msg,
                      size_t msglen)
{
	const char *v = c->authorization, *secret;
	char hash[P25_HASH_HEX_LEN], addr[P25_PREFIX_STRLEN], t[P25_TIME_STRLEN];
	struct p25_token_row tok;
	bool allowed = false;
	int rc;

	while (*v == ' ')
		v++;
	if (strncasecmp(v, "Bearer ", 7) != 0)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "Authorization: only 'Bearer' API tokens are accepted");
	secret = v + 7;
	while (*secret == ' ')
		secret++;
	if (strncmp(secret, P25_TOKEN_PREFIX, strlen(P25_TOKEN_PREFIX)) != 0 ||
	    strlen(secret) >= P25_SECRET_MAX)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "Authorization: not a port25 API token");
	p25_secret_hash(secret, hash);
	rc = p25_token_find(reg, hash, &tok);
	if (rc == P25_ENOTFOUND)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "Authorization: unknown API token");
	if (rc < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	if (tok.revoked) {
		p25_token_row_free(&tok);
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "Authorization: API token %" PRId64 " was revoked", tok.id);
	}
	if (tok.expires && tok.expires <= c->now) {
		p25_token_row_free(&tok);
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "Authorization: API token %" PRId64 " expired at %s", tok.id,
		            p25_time_format(tok.expires, t, sizeof t));
	}
	for (size_t i = 0; i < tok.nallowed; i++)
		allowed = allowed || p25_prefix_contains_addr(&tok.allowed[i], &c->source);
	if (tok.nallowed && !allowed) {
		p25_token_row_free(&tok);
		return deny(why, P25_DENY_SOURCE, msg, msglen,
		            "Authorization: API token %" PRId64 " may not be used from %s", tok.id,
		            p25_addr_format(&c->source, addr, sizeof addr));
	}
	p25_token_row_free(&tok);
	if (principal_of(reg, tok.account_id, "Authorization: API token", c, out, why, msg,
	                 msglen) < 0)
		return -1;
	out->method = P25_AUTH_TOKEN;
	out->token_id = tok.id;
	out->expires = tok.expires;
	out->auth.read_only = tok.read_only;
	/* When it was last used, to the minute: a write a minute, not one a request. */
	if (tok.last_used + 60 <= c->now && p25_token_touch(reg, tok.id, c->now) < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	return 0;
}

static void proxy_csrf(const struct p25_auth_config *cfg, const char *name,
                       char out[P25_SECRET_MAX])
{
	unsigned char h[24];

	crypto_generichash(h, sizeof h, (const unsigned char *)name, strlen(name), cfg->csrf_key,
	                   sizeof cfg->csrf_key);
	sodium_bin2base64(out, P25_SECRET_MAX, h, sizeof h,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static int proxy_auth(struct p25_registry *reg, const struct p25_auth_config *cfg,
                      const struct p25_credentials *c, struct p25_principal *out,
                      enum p25_auth_denial *why, char *msg, size_t msglen)
{
	char addr[P25_PREFIX_STRLEN], name[P25_ACCOUNT_NAME_MAX + 1];
	struct p25_account a;
	int rc;

	if (!p25_auth_from_proxy(cfg, &c->peer))
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "%s: honoured only from the trusted proxies, and %s is not one",
		            cfg->proxy_header, p25_addr_format(&c->peer, addr, sizeof addr));
	if (!p25_account_name_ok(c->proxy_user))
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "%s: not a valid user name", cfg->proxy_header);
	snprintf(name, sizeof name, "%s", c->proxy_user);
	rc = p25_account_get(reg, name, &a);
	if (rc == P25_ENOTFOUND)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen, "%s: no user '%s'",
		            cfg->proxy_header, name);
	if (rc < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	p25_account_free(&a);
	if (principal_of(reg, a.id, cfg->proxy_header, c, out, why, msg, msglen) < 0)
		return -1;
	out->method = P25_AUTH_PROXY;
	proxy_csrf(cfg, name, out->csrf);
	/* The proxy's own session cookie rides along with every request: CSRF as for ours. */
	if (c->write && !(c->csrf && same_secret(c->csrf, out->csrf)))
		return deny(why, P25_DENY_CSRF, msg, msglen,
		            "X-CSRF-Token: a change needs the CSRF token of the session "
		            "(GET /api/v1/session)");
	return 0;
}

static int session_auth(struct p25_registry *reg, const struct p25_auth_config *cfg,
                        const struct p25_credentials *c, struct p25_principal *out,
                        enum p25_auth_denial *why, char *msg, size_t msglen)
{
	char hash[P25_HASH_HEX_LEN];
	struct p25_session_row s;
	p25_time expires;
	int rc;

	if (strlen(c->session) >= P25_SECRET_MAX)
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen, "session cookie: malformed");
	p25_secret_hash(c->session, hash);
	rc = p25_session_find(reg, hash, &s);
	if (rc == P25_ENOTFOUND || (rc == 0 && s.expires <= c->now))
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen,
		            "session cookie: the session ended; log in again");
	if (rc < 0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	if (principal_of(reg, s.account_id, "session", c, out, why, msg, msglen) < 0)
		return -1;
	out->method = P25_AUTH_SESSION;
	out->session_id = s.id;
	out->expires = s.expires;
	snprintf(out->csrf, sizeof out->csrf, "%s", s.csrf);
	if (c->write && !(c->csrf && same_secret(c->csrf, s.csrf)))
		return deny(why, P25_DENY_CSRF, msg, msglen,
		            "X-CSRF-Token: a change made with a session cookie needs the session's "
		            "CSRF token");
	/* Sliding idle time, at most once a minute, never past the session's maximum. */
	if (s.last_seen + 60 <= c->now) {
		expires = c->now + cfg->session_idle;
		if (expires > s.created + cfg->session_max)
			expires = s.created + cfg->session_max;
		if (p25_session_touch(reg, s.id, c->now, expires) < 0)
			return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
		out->expires = expires;
	}
	return 0;
}

int p25_authenticate(struct p25_registry *reg, const struct p25_auth_config *cfg,
                     const struct p25_credentials *c, struct p25_principal *out,
                     enum p25_auth_denial *why, char *msg, size_t msglen)
{
	int rc = 0;

	memset(out, 0, sizeof *out);
	*why = P25_DENY_NONE;
	msg[0] = '\0';
	if (c->authorization && *c->authorization)
		rc = token_auth(reg, c, out, why, msg, msglen);
	else if (cfg->proxy_header && *cfg->proxy_header && c->proxy_user && *c->proxy_user)
		rc = proxy_auth(reg, cfg, c, out, why, msg, msglen);
	else if (c->session && *c->session)
		rc = session_auth(reg, cfg, c, out, why, msg, msglen);
	if (rc < 0)
		p25_principal_free(out);
	return rc;
}

/* A hash to verify against when there is no account: the same time either way. */
static char dummy_hash[P25_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_make(void)
{
	char secret[P25_SECRET_MAX], err[128];

	p25_secret_new("", secret);
	if (p25_password_hash(secret, dummy_hash, err, sizeof err) < 0)
		dummy_hash[0] = '\0';
}

int p25_auth_login(struct p25_registry *reg, const struct p25_auth_config *cfg, const char *name,
                   const char *password, const struct p25_addr *source, p25_time now,
                   struct p25_login *out, enum p25_auth_denial *why, char *msg, size_t msglen)
{
	char src[P25_PREFIX_STRLEN], who_name[P25_ACCOUNT_NAME_MAX + 1], hash[P25_HASH_HEX_LEN];
	struct p25_actor who;
	struct p25_account a = {0};
	const char *reason = NULL;
	int64_t by_name = 0, by_source = 0;
	p25_time expires;
	bool found;
	int rc;

	memset(out, 0, sizeof *out);
	*why = P25_DENY_NONE;
	p25_addr_format(source, src, sizeof src);
	/* What an attacker typed goes into the audit log: bounded and inert. */
	p25_text_inert(name ? name : "", who_name, sizeof who_name);
	who = (struct p25_actor){.name = who_name, .now = now};
	if (p25_login_failures(reg, who_name, src, now - cfg->login_window, &by_name, &by_source) <
	    0)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	if (by_name >= cfg->login_max_account || by_source >= cfg->login_max_source) {
		reason = by_name >= cfg->login_max_account ? "limited: too many failures for the account"
		                                           : "limited: too many failures from the source";
		if (p25_login_record(reg, &who, who_name, src, P25_LOGIN_LIMITED, reason) < 0)
			return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
		return deny(why, P25_DENY_RATE, msg, msglen,
		            "too many failed logins %s within %" PRId64 " minutes: try again later",
		            by_name >= cfg->login_max_account ? "for this user" : "from this address",
		            cfg->login_window / 60);
	}
	rc = p25_account_name_ok(name) ? p25_account_get(reg, name, &a) : P25_ENOTFOUND;
	if (rc < 0 && rc != P25_ENOTFOUND)
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	found = rc == 0;
	if (!found) {
		pthread_once(&dummy_once, dummy_make);
		p25_password_verify(dummy_hash, password ? password : "");
		reason = "no such user";
	} else if (!a.password[0]) {
		pthread_once(&dummy_once, dummy_make);
		p25_password_verify(dummy_hash, password ? password : "");
		reason = "the user has no password";
	} else if (!p25_password_verify(a.password, password ? password : "")) {
		reason = "wrong password";
	} else if (a.disabled) {
		reason = "the user is disabled";
	}
	if (reason) {
		p25_account_free(&a);
		if (p25_login_record(reg, &who, who_name, src, P25_LOGIN_FAILED, reason) < 0)
			return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
		/* One answer for all of them: no telling which names exist. */
		return deny(why, P25_DENY_CREDENTIALS, msg, msglen, "wrong user name or password");
	}
	p25_secret_new("", out->session);
	p25_secret_new("", out->csrf);
	p25_secret_hash(out->session, hash);
	expires = now + (cfg->session_idle < cfg->session_max ? cfg->session_idle : cfg->session_max);
	rc = p25_session_add(reg, a.id, hash, out->csrf, src, now, expires, &out->session_id);
	p25_account_free(&a);
	if (rc == 0)
		rc = p25_login_record(reg, &who, who_name, src, P25_LOGIN_OK, NULL);
	if (rc < 0) {
		memset(out, 0, sizeof *out);
		return deny(why, P25_DENY_SYSTEM, msg, msglen, "%s", p25_registry_error(reg));
	}
	out->expires = expires;
	return 0;
}

int p25_auth_logout(struct p25_registry *reg, const struct p25_principal *p, p25_time now)
{
	struct p25_actor who = {.name = p->account.name, .now = now};

	if (p->method != P25_AUTH_SESSION)
		return 0;
	return p25_session_remove(reg, &who, p->session_id);
}
