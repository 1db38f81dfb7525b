/*
 * Authentication for port25 serve: who is asking.  It turns what a request
 * carries (an API token, a session cookie with its CSRF token, a user name
 * from a trusted reverse proxy) into a principal whose struct p25_auth the
 * service takes; what that principal may then do is the service's to decide
 * (service/service.h), never this module's.
 *
 * Secrets: passwords are kept as Argon2id strings (libsodium crypto_pwhash);
 * session and token secrets are 256 random bits, sent once and stored only as
 * their BLAKE2b hash (crypto_generichash), so a copy of the registry lets
 * nobody in.  Logins are rate limited per account and per source address,
 * and every one is audited (registry/accounts.h).
 */
#ifndef P25_AUTH_H
#define P25_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr/addr.h"
#include "registry/accounts.h"
#include "service/service.h"

/* libsodium's start, once per process (thread-safe); -1 if it cannot run. */
int p25_auth_init(void);

/* Passwords: 10 to 1024 bytes. */
#define P25_PASSWORD_MIN 10
#define P25_PASSWORD_MAX 1024
#define P25_PASSWORD_HASH_MAX 160
int p25_password_hash(const char *password, char out[P25_PASSWORD_HASH_MAX], char *err,
                      size_t errlen);
bool p25_password_verify(const char *hash, const char *password);

/*
 * A new secret: prefix and 256 random bits in unpadded base64url (43
 * characters); and the hex of its hash, what the registry keeps.
 */
#define P25_SECRET_MAX	 64
#define P25_HASH_HEX_LEN 65
#define P25_TOKEN_PREFIX "p25_"
void p25_secret_new(const char *prefix, char out[P25_SECRET_MAX]);
void p25_secret_hash(const char *secret, char out[P25_HASH_HEX_LEN]);

struct p25_auth_config {
	/* Who may name the user in proxy_header (and the client in X-Forwarded-For). */
	const struct p25_prefix *proxies;
	size_t nproxies;
	const char *proxy_header; /* e.g. "X-Remote-User"; NULL or "": none trusted */
	int64_t session_idle;     /* a session ends after this long unused (default 8 h) */
	int64_t session_max;      /* ... and this long after the login in any case (7 d) */
	unsigned login_max_account; /* failed logins of one account within the window (5) */
	unsigned login_max_source;  /* ... from one source address, any account (20) */
	int64_t login_window;       /* seconds (15 min) */
	/* keys the CSRF tokens of proxy-authenticated users (random per process) */
	unsigned char csrf_key[32];
};
void p25_auth_config_default(struct p25_auth_config *c);

enum p25_auth_method {
	P25_AUTH_NONE, /* anonymous */
	P25_AUTH_SESSION,
	P25_AUTH_TOKEN,
	P25_AUTH_PROXY,
};
const char *p25_auth_method_name(enum p25_auth_method m);

/* Why a request's credentials were not accepted. */
enum p25_auth_denial {
	P25_DENY_NONE,
	P25_DENY_CREDENTIALS, /* unknown, expired or revoked; disabled user; untrusted proxy header */
	P25_DENY_CSRF,        /* a change with a session cookie (or proxy user), without its token */
	P25_DENY_SOURCE,      /* a token used from outside its allowed sources */
	P25_DENY_RATE,        /* login: too many failures for the account or from the source */
	P25_DENY_SYSTEM,      /* the registry failed */
};

struct p25_principal {
	enum p25_auth_method method;
	struct p25_account account; /* owns the strings auth points into */
	struct p25_auth auth;       /* actor, role, orgs; read_only for such tokens */
	int64_t session_id, token_id;
	char csrf[P25_SECRET_MAX]; /* a session's or proxy user's CSRF token */
	p25_time expires;          /* the session's or token's end; 0 never */
};
void p25_principal_free(struct p25_principal *p);

struct p25_credentials {
	const char *authorization; /* the Authorization header */
	const char *session;       /* the session cookie's value */
	const char *csrf;          /* the X-CSRF-Token header */
	const char *proxy_user;    /* the proxy_header's value, whoever sent it */
	struct p25_addr peer;      /* the TCP peer */
	struct p25_addr source;    /* the client: the peer, or as a trusted proxy says */
	bool write;                /* a state-changing method */
	p25_time now;
};

/*
 * 0 with *out filled (method NONE when no credentials came: anonymous), or
 * -1 with why and a message (naming no secret).  Precedence: Authorization,
 * then the proxy's user, then the session cookie.
 */
int p25_authenticate(struct p25_registry *reg, const struct p25_auth_config *cfg,
                     const struct p25_credentials *c, struct p25_principal *out,
                     enum p25_auth_denial *why, char *msg, size_t msglen);

/* Is addr one of the configured proxies? */
bool p25_auth_from_proxy(const struct p25_auth_config *cfg, const struct p25_addr *addr);

struct p25_login {
	char session[P25_SECRET_MAX]; /* the cookie's value: sent once, kept as a hash */
	char csrf[P25_SECRET_MAX];
	p25_time expires;
	int64_t session_id;
};
/*
 * A password login from source at now: a new session, or -1 with why
 * (CREDENTIALS with one message for every wrong name, password or disabled
 * account; RATE; SYSTEM).  Audited either way, with the real reason.
 */
int p25_auth_login(struct p25_registry *reg, const struct p25_auth_config *cfg, const char *name,
                   const char *password, const struct p25_addr *source, p25_time now,
                   struct p25_login *out, enum p25_auth_denial *why, char *msg, size_t msglen);
/* The session ends (audited as logout by its user). */
int p25_auth_logout(struct p25_registry *reg, const struct p25_principal *p, p25_time now);

#endif
