/*
 * The accounts of port25 serve, as stored (schema 7): users with a role,
 * bound to organizations; their server-side sessions and API tokens; the
 * login attempts that rate limiting counts.  Secrets never reach this
 * layer: passwords come as Argon2id strings and session and token secrets
 * as hashes (auth/auth.h makes both).  Who may call what is the service's
 * (service/service.h); these calls only check that the data is consistent.
 *
 * Account, token and login changes are audited (actions user.add, user.set,
 * user.remove, token.add, token.revoke, login, login.failed, logout), with no
 * change record: they change who may act, not the registry's policy, and an
 * organization's audit view (p25_audit_list_in) does not show them.
 */
#ifndef P25_REGISTRY_ACCOUNTS_H
#define P25_REGISTRY_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "registry/registry.h"

/* Names: 1 to 64 of a-z, A-Z, 0-9 and ". _ @ -", not starting with '-' or '.'. */
#define P25_ACCOUNT_NAME_MAX 64
bool p25_account_name_ok(const char *s);

struct p25_account {
	int64_t id;
	char name[P25_ACCOUNT_NAME_MAX + 1];
	char role[16]; /* operator, member, auditor */
	bool disabled;
	char password[160]; /* the Argon2id string; "" when the account has no password */
	char **orgs;        /* handles, owned (p25_account_free) */
	size_t norgs;
};
void p25_account_free(struct p25_account *a);
/* P25_ENOTFOUND when there is no such account. */
int p25_account_get(struct p25_registry *reg, const char *name, struct p25_account *out);
int p25_account_get_id(struct p25_registry *reg, int64_t id, struct p25_account *out);

struct p25_account_spec {
	const char *name;
	const char *role;
	const char *full_name, *email; /* NULL: "" */
	const char *password;          /* an Argon2id string, or NULL: no password login */
	const char *const *orgs;       /* members: one or more handles; others: none */
	size_t norgs;
};
int p25_account_add(struct p25_registry *reg, const struct p25_actor *who,
                    const struct p25_account_spec *spec);

struct p25_account_change {
	const char *role;               /* NULL: unchanged */
	const char *full_name, *email;  /* NULL: unchanged */
	const char *password;           /* a new Argon2id string; NULL: unchanged */
	bool clear_password;            /* no password login any more */
	bool set_orgs;                  /* replace the organizations with orgs */
	const char *const *orgs;
	size_t norgs;
	bool set_disabled, disabled;
	/* A new password, disabling or a new role ends the account's sessions. */
};
int p25_account_set(struct p25_registry *reg, const struct p25_actor *who, const char *name,
                    const struct p25_account_change *change);
/* Its sessions and tokens go with it. */
int p25_account_remove(struct p25_registry *reg, const struct p25_actor *who, const char *name);
/*
 * {"name", "role", "full_name", "email", "orgs": [...], "password": bool,
 * "disabled", "created", "updated"}, by name; only: that account alone (NULL: all).
 */
int p25_account_list(struct p25_registry *reg, const char *only, json_t **out);
int p25_account_show(struct p25_registry *reg, const char *name, json_t **out);

/* ---- sessions: the hash of the cookie's secret, a CSRF token, an expiry ---- */
struct p25_session_row {
	int64_t id, account_id;
	char csrf[64];
	p25_time created, last_seen, expires;
};
/* Drops the expired sessions of every account on the way. */
int p25_session_add(struct p25_registry *reg, int64_t account_id, const char *hash,
                    const char *csrf, const char *source, p25_time now, p25_time expires,
                    int64_t *id);
/* P25_ENOTFOUND: no such session (expired or not: the caller compares). */
int p25_session_find(struct p25_registry *reg, const char *hash, struct p25_session_row *out);
int p25_session_touch(struct p25_registry *reg, int64_t id, p25_time now, p25_time expires);
/* Logging out: audited as logout by who. */
int p25_session_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id);

/* ---- API tokens: the hash of the secret and what limits it ---- */
struct p25_token_spec {
	const char *account;
	const char *hash;
	const char *hint; /* the secret's first characters, to recognise it in a listing */
	const char *description;
	bool read_only;
	p25_time expires; /* 0: never */
	/* allowed source prefixes, normalized ("192.0.2.0/24"); none: anywhere */
	const char *const *allowed;
	size_t nallowed;
};
int p25_token_add(struct p25_registry *reg, const struct p25_actor *who,
                  const struct p25_token_spec *spec, int64_t *id);

struct p25_token_row {
	int64_t id, account_id;
	bool read_only;
	p25_time expires, revoked, last_used;
	struct p25_prefix *allowed; /* malloc'd; NULL and 0: anywhere */
	size_t nallowed;
};
void p25_token_row_free(struct p25_token_row *t);
int p25_token_find(struct p25_registry *reg, const char *hash, struct p25_token_row *out);
/*
 * {"id", "user", "hint", "description", "read_only", "allowed_sources": [...],
 * "created", "created_by", "expires", "last_used", "revoked", "revoked_by",
 * "status": active|expired|revoked}; account NULL: every account's.
 */
int p25_token_list(struct p25_registry *reg, const char *account, p25_time now, json_t **out);
int p25_token_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out);
int p25_token_revoke(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
int p25_token_touch(struct p25_registry *reg, int64_t id, p25_time now);

/* ---- login attempts ---- */
enum p25_login_outcome {
	P25_LOGIN_FAILED = 0, /* counted by p25_login_failures */
	P25_LOGIN_OK = 1,
	/*
	 * Refused unchecked while the limit held: audited, not counted, so an
	 * attacker who keeps trying does not keep the account locked for ever.
	 */
	P25_LOGIN_LIMITED = 2,
};
/*
 * One attempt at who->now from source, in one transaction with its audit
 * record (login or login.failed, reason in it).  Attempts older than a day
 * are dropped on the way.
 */
int p25_login_record(struct p25_registry *reg, const struct p25_actor *who, const char *name,
                     const char *source, enum p25_login_outcome outcome, const char *reason);
/*
 * Failed attempts since since: for the name (only those after its last
 * successful login) and from the source (any name).
 */
int p25_login_failures(struct p25_registry *reg, const char *name, const char *source,
                       p25_time since, int64_t *by_name, int64_t *by_source);

#endif
