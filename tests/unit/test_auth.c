/*
 * Accounts, credentials and what the service lets each do with them: password
 * hashes, API tokens (read-only, expiring, revoked, bound to sources),
 * sessions with their CSRF token, login limits and their audit, the trusted
 * proxy's user header; and the scoped reads port25 serve adds to the service
 * (explain, alerts, host summaries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "registry/accounts.h"
#include "registry/registry.h"
#include "service/service.h"

#define T0 "2026-11-23T10:00:00Z"

static p25_time at(const char *iso)
{
	char err[200];
	p25_time t = 0;
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

static struct p25_addr addr(const char *s)
{
	struct p25_addr a;
	struct p25_diag d;
	assert_int_equal(p25_addr_parse(s, P25_PARSE_UNMAP, &a, &d), 0);
	return a;
}

struct fx {
	char dir[64], path[96];
	struct p25_registry *reg;
	struct p25_service *svc;
	struct p25_auth op;
	struct p25_auth_config cfg;
	struct p25_prefix proxy;
};

static const char *const orgs_a[] = {"a"};

/* Orgs a (192.0.2.0/25, 2001:db8:a::/48) and b (192.0.2.128/25), users alice (member of a),
 * bob (member of b), audrey (auditor), oscar (operator); all with passwords. */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct p25_user_spec u = {.password = "correct horse battery"};
	const char *const orgs_b[] = {"b"};
	struct p25_diag d;
	char err[256];
	int64_t id;

	snprintf(f->dir, sizeof f->dir, "/tmp/p25auth.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/reg.db", f->dir);
	assert_int_equal(p25_registry_open(f->path, &f->reg, err, sizeof err), 0);
	assert_int_equal(p25_service_open(f->reg, NULL, &f->svc), 0);
	f->op = (struct p25_auth){.actor = "op", .role = P25_ROLE_OPERATOR, .now = at(T0)};
	p25_auth_config_default(&f->cfg);
	assert_int_equal(p25_prefix_parse("127.0.0.1/32", 0, &f->proxy, &d), 0);
	f->cfg.proxies = &f->proxy;
	f->cfg.nproxies = 1;
	f->cfg.proxy_header = "X-Remote-User";

	assert_int_equal(p25_service_org_add(f->svc, &f->op, "a", "A", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_service_org_add(f->svc, &f->op, "b", "B", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_service_prefix_add(f->svc, &f->op, "a", "192.0.2.0/25", "", 0), 0);
	assert_int_equal(p25_service_prefix_add(f->svc, &f->op, "a", "2001:db8:a::/48", "", 0), 0);
	assert_int_equal(p25_service_prefix_add(f->svc, &f->op, "b", "192.0.2.128/25", "", 0), 0);
	assert_int_equal(p25_service_contact_add(f->svc, &f->op, "a", "Sec A", "sec@a.example", "",
	                                         P25_ROLE_SECURITY, &id), 0);
	{
		struct p25_org_change ch = {.set_enrollment = true, .enrollment = P25_ENROLL_ACTIVE, .no_servers = true};
		assert_int_equal(p25_service_org_set(f->svc, &f->op, "a", &ch), 0);
	}
	u.name = "alice", u.role = "member", u.orgs = orgs_a, u.norgs = 1;
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), 0);
	u.name = "bob", u.orgs = orgs_b;
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), 0);
	u.name = "audrey", u.role = "auditor", u.orgs = NULL, u.norgs = 0;
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), 0);
	u.name = "oscar", u.role = "operator";
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];

	p25_service_close(f->svc);
	p25_registry_close(f->reg);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct p25_credentials creds(const char *from, p25_time now)
{
	struct p25_credentials c = {.now = now};
	c.peer = addr(from);
	c.source = c.peer;
	return c;
}

/* Authenticate; the denial (NONE when accepted). */
static enum p25_auth_denial try(struct fx *f, const struct p25_credentials *c,
                                struct p25_principal *p)
{
	enum p25_auth_denial why;
	char msg[512];
	int rc = p25_authenticate(f->reg, &f->cfg, c, p, &why, msg, sizeof msg);

	assert_int_equal(rc < 0, why != P25_DENY_NONE);
	return why;
}

static void test_password_hash(void **state)
{
	char h[P25_PASSWORD_HASH_MAX], h2[P25_PASSWORD_HASH_MAX], err[160];

	(void)state;
	assert_int_equal(p25_password_hash("correct horse battery", h, err, sizeof err), 0);
	assert_true(!strncmp(h, "$argon2id$", 10));
	assert_true(p25_password_verify(h, "correct horse battery"));
	assert_false(p25_password_verify(h, "correct horse batterY"));
	assert_false(p25_password_verify(h, ""));
	/* salted: the same password hashes differently */
	assert_int_equal(p25_password_hash("correct horse battery", h2, err, sizeof err), 0);
	assert_string_not_equal(h, h2);
	assert_int_equal(p25_password_hash("short", h, err, sizeof err), -1);
	assert_non_null(strstr(err, "10 to 1024"));
}

static void test_secrets(void **state)
{
	char a[P25_SECRET_MAX], b[P25_SECRET_MAX], ha[P25_HASH_HEX_LEN], ha2[P25_HASH_HEX_LEN];

	(void)state;
	p25_secret_new(P25_TOKEN_PREFIX, a);
	p25_secret_new(P25_TOKEN_PREFIX, b);
	assert_int_equal(strlen(a), strlen(P25_TOKEN_PREFIX) + 43); /* 256 bits, base64url */
	assert_string_not_equal(a, b);
	p25_secret_hash(a, ha);
	p25_secret_hash(a, ha2);
	assert_string_equal(ha, ha2);
	assert_int_equal(strlen(ha), 64);
	assert_null(strstr(ha, a + 4));
}

static int64_t token_for(struct fx *f, const char *user, bool ro, p25_time expires,
                         const char *allow, char secret[P25_SERVICE_SECRET_MAX])
{
	const char *allowed[1] = {allow};
	struct p25_token_request r = {.user = user,
	                              .read_only = ro,
	                              .expires = expires,
	                              .allowed = allowed,
	                              .nallowed = allow ? 1 : 0};
	int64_t id = 0;

	assert_int_equal(p25_service_token_add(f->svc, &f->op, &r, secret, &id), 0);
	assert_true(id > 0);
	return id;
}

static void test_tokens(void **state)
{
	struct fx *f = *state;
	char s1[P25_SERVICE_SECRET_MAX], s2[P25_SERVICE_SECRET_MAX], s3[P25_SERVICE_SECRET_MAX],
	    s4[P25_SERVICE_SECRET_MAX], hdr[128], bad[128];
	struct p25_credentials c = creds("127.0.0.1", at(T0));
	struct p25_principal p;
	json_t *list;
	int64_t id1;

	id1 = token_for(f, "alice", false, 0, NULL, s1);
	token_for(f, "alice", true, at("2026-11-24T10:00:00Z"), NULL, s2);
	token_for(f, "bob", false, 0, "127.0.0.1/32", s3);
	token_for(f, "bob", false, 0, "2001:db8::/32", s4);

	/* only the hash is stored: the secret is nowhere in the listing */
	assert_int_equal(p25_token_list(f->reg, NULL, at(T0), &list), 0);
	{
		char *text = json_dumps(list, 0);
		assert_null(strstr(text, s1 + 12));
		assert_null(strstr(text, s2 + 12));
		free(text);
	}
	json_decref(list);

	snprintf(hdr, sizeof hdr, "Bearer %s", s1);
	c.authorization = hdr;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	assert_int_equal(p.method, P25_AUTH_TOKEN);
	assert_string_equal(p.auth.actor, "alice");
	assert_int_equal(p.auth.role, P25_ROLE_MEMBER);
	assert_int_equal(p.auth.norgs, 1);
	assert_string_equal(p.auth.orgs[0], "a");
	assert_false(p.auth.read_only);
	assert_int_equal(p.token_id, id1);
	p25_principal_free(&p);

	/* read-only: accepted, and the service refuses its changes */
	snprintf(hdr, sizeof hdr, "Bearer %s", s2);
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	assert_true(p.auth.read_only);
	{
		struct p25_request_server srv = {.address = "192.0.2.9", .description = "mx"};
		struct p25_request_spec spec = {.org = "a", .type = P25_REQ_ADD_PERMIT, .servers = &srv, .nservers = 1};
		int64_t rid;
		json_t *rows;
		assert_int_equal(p25_service_request_submit(f->svc, &p.auth, &spec, &rid), P25_EDENIED);
		assert_non_null(strstr(p25_service_error(f->svc), "read-only"));
		assert_int_equal(p25_service_permit_list(f->svc, &p.auth, &(struct p25_permit_filter){0}, &rows), 0);
		json_decref(rows);
	}
	p25_principal_free(&p);
	/* expired: at its expiry and after */
	c.now = at("2026-11-24T10:00:00Z");
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	c.now = at(T0);

	/* unknown, malformed, another scheme */
	snprintf(bad, sizeof bad, "Bearer %sx", s1);
	c.authorization = bad;
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	c.authorization = "Basic YWxpY2U6cGFzc3dvcmQ=";
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	c.authorization = "Bearer ";
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);

	/* bound to sources: 127.0.0.1 yes, 127.0.0.2 no; IPv6 alike */
	snprintf(hdr, sizeof hdr, "Bearer %s", s3);
	c.authorization = hdr;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	p25_principal_free(&p);
	c.source = addr("127.0.0.2");
	assert_int_equal(try(f, &c, &p), P25_DENY_SOURCE);
	snprintf(hdr, sizeof hdr, "Bearer %s", s4);
	c.source = addr("2001:db8:1::5");
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	p25_principal_free(&p);
	c.source = addr("2001:db9::5");
	assert_int_equal(try(f, &c, &p), P25_DENY_SOURCE);
	c.source = addr("127.0.0.1");

	/* revoked: refused from then on */
	snprintf(hdr, sizeof hdr, "Bearer %s", s1);
	assert_int_equal(p25_service_token_revoke(f->svc, &f->op, id1), 0);
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	assert_int_equal(p25_service_token_revoke(f->svc, &f->op, id1), P25_ECONFLICT);

	/* a disabled user's tokens stop working */
	snprintf(hdr, sizeof hdr, "Bearer %s", s3);
	{
		struct p25_user_change ch = {.set_disabled = true, .disabled = true};
		assert_int_equal(p25_service_user_set(f->svc, &f->op, "bob", &ch), 0);
	}
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
}

static int login(struct fx *f, const char *name, const char *pw, const char *from, p25_time now,
                 struct p25_login *out, enum p25_auth_denial *why)
{
	struct p25_addr a = addr(from);
	char msg[256];
	int rc = p25_auth_login(f->reg, &f->cfg, name, pw, &a, now, out, why, msg, sizeof msg);

	if (rc < 0)
		print_message("login %s from %s: %s\n", name, from, msg);
	return rc;
}

static void test_sessions(void **state)
{
	struct fx *f = *state;
	struct p25_credentials c = creds("127.0.0.1", at(T0));
	struct p25_principal p;
	enum p25_auth_denial why;
	struct p25_login l;

	assert_int_equal(login(f, "alice", "correct horse battery", "127.0.0.1", at(T0), &l, &why), 0);
	assert_int_equal(strlen(l.session), 43);
	assert_int_equal(l.expires, at(T0) + f->cfg.session_idle);
	c.session = l.session;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	assert_int_equal(p.method, P25_AUTH_SESSION);
	assert_string_equal(p.csrf, l.csrf);
	p25_principal_free(&p);
	/* a change needs the CSRF token */
	c.write = true;
	assert_int_equal(try(f, &c, &p), P25_DENY_CSRF);
	c.csrf = "not-the-token";
	assert_int_equal(try(f, &c, &p), P25_DENY_CSRF);
	c.csrf = l.csrf;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	/* logged out: the cookie is worth nothing, even to a thief who kept it */
	assert_int_equal(p25_auth_logout(f->reg, &p, at(T0)), 0);
	p25_principal_free(&p);
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);

	/* idle past its time: over */
	assert_int_equal(login(f, "alice", "correct horse battery", "127.0.0.1", at(T0), &l, &why), 0);
	c.session = l.session;
	c.write = false;
	c.now = at(T0) + f->cfg.session_idle;
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);

	/* a new password ends the sessions */
	assert_int_equal(login(f, "alice", "correct horse battery", "127.0.0.1", at(T0), &l, &why), 0);
	c.session = l.session;
	c.now = at(T0) + 60;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	p25_principal_free(&p);
	{
		struct p25_user_change ch = {.password = "another long password"};
		assert_int_equal(p25_service_user_set(f->svc, &f->op, "alice", &ch), 0);
	}
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
}

static void test_login_limits_and_audit(void **state)
{
	struct fx *f = *state;
	enum p25_auth_denial why;
	struct p25_login l;
	p25_time now = at(T0);
	json_t *audit, *rec;
	size_t i, failed = 0;
	char name[32];

	/* one answer for a wrong password and a user who does not exist */
	assert_int_equal(login(f, "alice", "wrong password!", "192.0.2.7", now, &l, &why), -1);
	assert_int_equal(why, P25_DENY_CREDENTIALS);
	assert_int_equal(login(f, "nobody", "wrong password!", "192.0.2.7", now, &l, &why), -1);
	assert_int_equal(why, P25_DENY_CREDENTIALS);
	for (int k = 0; k < 4; k++)
		assert_int_equal(login(f, "alice", "wrong password!", "192.0.2.7", now + k, &l, &why), -1);
	/* five failures: now even the right password is refused, from anywhere */
	assert_int_equal(login(f, "alice", "correct horse battery", "192.0.2.8", now + 10, &l, &why), -1);
	assert_int_equal(why, P25_DENY_RATE);
	/* other accounts are not locked by it */
	assert_int_equal(login(f, "bob", "correct horse battery", "192.0.2.8", now + 10, &l, &why), 0);
	/* the window passes, and the limit with it */
	assert_int_equal(login(f, "alice", "correct horse battery", "192.0.2.8",
	                       now + f->cfg.login_window + 10, &l, &why), 0);

	/* per source: 20 failures from one address, any names, lock that address */
	now += 2 * f->cfg.login_window;
	for (int k = 0; k < 20; k++) {
		snprintf(name, sizeof name, "guess%d", k);
		assert_int_equal(login(f, name, "wrong password!", "2001:db8::66", now, &l, &why), -1);
		assert_int_equal(why, P25_DENY_CREDENTIALS);
	}
	assert_int_equal(login(f, "oscar", "correct horse battery", "2001:db8::66", now, &l, &why), -1);
	assert_int_equal(why, P25_DENY_RATE);
	assert_int_equal(login(f, "oscar", "correct horse battery", "2001:db8::67", now, &l, &why), 0);

	/* every failure audited, with its source */
	assert_int_equal(p25_audit_list(f->reg, 0, &audit), 0);
	json_array_foreach(audit, i, rec) {
		const char *action = json_string_value(json_object_get(rec, "action"));
		if (!strcmp(action, "login.failed")) {
			failed++;
			assert_non_null(json_object_get(json_object_get(rec, "after"), "source"));
		}
	}
	/* the two refused by the limit too */
	assert_int_equal(failed, 2 + 4 + 20 + 2);
	json_decref(audit);
	/* a member's view of the audit log shows none of it */
	{
		struct p25_auth alice = {.actor = "alice", .role = P25_ROLE_MEMBER, .orgs = orgs_a, .norgs = 1, .now = now};
		char *text;
		assert_int_equal(p25_service_audit_list(f->svc, &alice, 0, &audit), 0);
		text = json_dumps(audit, 0);
		assert_null(strstr(text, "login"));
		assert_null(strstr(text, "token"));
		free(text);
		json_decref(audit);
	}
}

static void test_proxy_header(void **state)
{
	struct fx *f = *state;
	struct p25_credentials c = creds("127.0.0.1", at(T0));
	struct p25_principal p;
	char csrf[P25_SECRET_MAX];

	c.proxy_user = "alice";
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	assert_int_equal(p.method, P25_AUTH_PROXY);
	assert_string_equal(p.auth.actor, "alice");
	snprintf(csrf, sizeof csrf, "%s", p.csrf);
	p25_principal_free(&p);
	c.write = true;
	assert_int_equal(try(f, &c, &p), P25_DENY_CSRF);
	c.csrf = csrf;
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	p25_principal_free(&p);
	/* from an address that is not the proxy: the header is an attack, not a user */
	c.peer = c.source = addr("127.0.0.2");
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	/* no such user, or a name that is not one */
	c.peer = c.source = addr("127.0.0.1");
	c.proxy_user = "mallory";
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	c.proxy_user = "alice\r\nX-Evil: 1";
	assert_int_equal(try(f, &c, &p), P25_DENY_CREDENTIALS);
	/* no proxy configured: the header means nothing (anonymous) */
	f->cfg.proxy_header = NULL;
	c.proxy_user = "alice";
	assert_int_equal(try(f, &c, &p), P25_DENY_NONE);
	assert_int_equal(p.method, P25_AUTH_NONE);
}

static void test_user_self_service(void **state)
{
	struct fx *f = *state;
	struct p25_auth alice = {.actor = "alice", .role = P25_ROLE_MEMBER, .orgs = orgs_a, .norgs = 1, .now = at(T0)};
	struct p25_auth audrey = {.actor = "audrey", .role = P25_ROLE_AUDITOR, .now = at(T0)};
	struct p25_user_spec u = {.name = "eve", .role = "operator"};
	struct p25_user_change ch = {0};
	struct p25_token_request r = {0};
	char secret[P25_SERVICE_SECRET_MAX];
	json_t *rows;
	int64_t id, bobs;

	assert_int_equal(p25_service_user_add(f->svc, &alice, &u), P25_EDENIED);
	assert_int_equal(p25_service_user_add(f->svc, &audrey, &u), P25_EDENIED);
	assert_int_equal(p25_service_user_remove(f->svc, &alice, "bob"), P25_EDENIED);
	/* her own password and e-mail, yes; her role or organizations, no */
	ch.email = "alice@a.example";
	assert_int_equal(p25_service_user_set(f->svc, &alice, "alice", &ch), 0);
	ch.role = "operator";
	assert_int_equal(p25_service_user_set(f->svc, &alice, "alice", &ch), P25_EDENIED);
	ch = (struct p25_user_change){.email = "x@b.example"};
	assert_int_equal(p25_service_user_set(f->svc, &alice, "bob", &ch), P25_EDENIED);
	/* the users she sees: herself */
	assert_int_equal(p25_service_user_list(f->svc, &alice, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	assert_int_equal(p25_service_user_show(f->svc, &alice, "bob", &rows), P25_ENOTFOUND);
	assert_int_equal(p25_service_user_list(f->svc, &audrey, &rows), 0);
	assert_int_equal(json_array_size(rows), 4);
	json_decref(rows);
	/* her own tokens: added, listed, revoked; another's: neither */
	assert_int_equal(p25_service_token_add(f->svc, &alice, &r, secret, &id), 0);
	r.user = "bob";
	assert_int_equal(p25_service_token_add(f->svc, &alice, &r, secret, &bobs), P25_EDENIED);
	assert_int_equal(p25_service_token_add(f->svc, &f->op, &r, secret, &bobs), 0);
	assert_int_equal(p25_service_token_list(f->svc, &alice, NULL, &rows), 0);
	assert_int_equal(json_array_size(rows), 1);
	json_decref(rows);
	assert_int_equal(p25_service_token_show(f->svc, &alice, bobs, &rows), P25_ENOTFOUND);
	assert_int_equal(p25_service_token_revoke(f->svc, &alice, bobs), P25_EDENIED);
	assert_int_equal(p25_service_token_revoke(f->svc, &alice, 999), P25_EDENIED);
	assert_int_equal(p25_service_token_revoke(f->svc, &alice, id), 0);
	/* an auditor sees every token, and revokes none but their own */
	assert_int_equal(p25_service_token_revoke(f->svc, &audrey, bobs), P25_EDENIED);
	r.user = NULL;
	assert_int_equal(p25_service_token_add(f->svc, &audrey, &r, secret, &id), 0);
	assert_int_equal(p25_service_token_revoke(f->svc, &audrey, id), 0);
	r.user = "bob";
	/* a read-only credential manages nothing, not even its own */
	alice.read_only = true;
	r.user = NULL;
	assert_int_equal(p25_service_token_add(f->svc, &alice, &r, secret, &id), P25_EDENIED);
	/* names and roles are checked */
	u = (struct p25_user_spec){.name = "-x", .role = "member"};
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), P25_EINVAL);
	u = (struct p25_user_spec){.name = "carol", .role = "admin"};
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), P25_EINVAL);
	u = (struct p25_user_spec){.name = "carol", .role = "member", .orgs = (const char *const[]){"zz"}, .norgs = 1};
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &u), P25_ENOTFOUND);
	assert_int_equal(p25_service_user_add(f->svc, &f->op, &(struct p25_user_spec){.name = "alice", .role = "auditor"}), P25_ECONFLICT);
}

static void test_explain_scoped_and_fresh(void **state)
{
	struct fx *f = *state;
	struct p25_auth alice = {.actor = "alice", .role = P25_ROLE_MEMBER, .orgs = orgs_a, .norgs = 1, .now = at(T0)};
	struct p25_auth audrey = {.actor = "audrey", .role = P25_ROLE_AUDITOR, .now = at(T0)};
	struct p25_registry *other;
	struct p25_service *osvc;
	struct p25_permit_spec ps = {.org = "a", .address = "192.0.2.25", .kind = P25_KIND_MAIL_SERVER, .description = "mx"};
	json_t *j;
	char err[256];
	int64_t id;

	assert_int_equal(p25_service_explain(f->svc, &alice, "192.0.2.25", &j), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "organization"), "handle")), "a");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "outbound"), "verdict")), "block");
	json_decref(j);
	assert_int_equal(p25_service_explain(f->svc, &alice, "2001:db8:a::1", &j), 0);
	json_decref(j);
	/* b's space and no one's: refused alike, naming neither */
	assert_int_equal(p25_service_explain(f->svc, &alice, "192.0.2.200", &j), P25_EDENIED);
	assert_null(strstr(p25_service_error(f->svc), "'b'"));
	assert_int_equal(p25_service_explain(f->svc, &alice, "198.51.100.1", &j), P25_EDENIED);
	assert_int_equal(p25_service_explain(f->svc, &audrey, "192.0.2.200", &j), 0);
	json_decref(j);
	assert_int_equal(p25_service_explain(f->svc, &alice, "192.0.2.999", &j), P25_EINVAL);
	assert_non_null(strstr(p25_service_error(f->svc), "address"));

	/* a change through another connection shows at once: the snapshot is not kept past it */
	assert_int_equal(p25_registry_open(f->path, &other, err, sizeof err), 0);
	assert_int_equal(p25_service_open(other, NULL, &osvc), 0);
	assert_int_equal(p25_service_permit_add(osvc, &f->op, &ps, &id), 0);
	assert_int_equal(p25_service_explain(f->svc, &alice, "192.0.2.25", &j), 0);
	assert_non_null(json_object_get(json_object_get(j, "outbound"), "permit"));
	assert_true(json_is_object(json_object_get(json_object_get(j, "outbound"), "permit")));
	json_decref(j);
	/* ... and through its own */
	assert_int_equal(p25_service_permit_remove(f->svc, &f->op, id), 0);
	assert_int_equal(p25_service_explain(f->svc, &alice, "192.0.2.25", &j), 0);
	assert_true(json_is_null(json_object_get(json_object_get(j, "outbound"), "permit")));
	json_decref(j);
	p25_service_close(osvc);
	p25_registry_close(other);
}

static void test_contact_set(void **state)
{
	struct fx *f = *state;
	struct p25_auth alice = {.actor = "alice", .role = P25_ROLE_MEMBER, .orgs = orgs_a, .norgs = 1, .now = at(T0)};
	static const char *const orgs_b[] = {"b"};
	struct p25_auth bob = {.actor = "bob", .role = P25_ROLE_MEMBER, .orgs = orgs_b, .norgs = 1, .now = at(T0)};
	struct p25_contact_change ch = {.phone = "+1 555 0100"};
	struct p25_change_list l;
	int64_t mark, id;
	json_t *c;

	/* contact 1 is a's only security contact, and a is active */
	assert_int_equal(p25_registry_change_mark(f->reg, &mark), 0);
	assert_int_equal(p25_service_contact_set(f->svc, &alice, 1, &ch), 0);
	assert_int_equal(p25_service_contact_set(f->svc, &bob, 1, &ch), P25_EDENIED);
	assert_int_equal(p25_service_contact_set(f->svc, &bob, 999, &ch), P25_EDENIED);
	ch = (struct p25_contact_change){.set_role = true, .role = P25_ROLE_TECHNICAL};
	assert_int_equal(p25_service_contact_set(f->svc, &alice, 1, &ch), P25_ECONFLICT);
	assert_int_equal(p25_service_contact_add(f->svc, &alice, "a", "Second", "second@a.example", "",
	                                         P25_ROLE_SECURITY, &id), 0);
	assert_int_equal(p25_service_contact_set(f->svc, &alice, 1, &ch), 0);
	ch = (struct p25_contact_change){.email = "not an address"};
	assert_int_equal(p25_service_contact_set(f->svc, &alice, 1, &ch), P25_EINVAL);
	ch = (struct p25_contact_change){0};
	assert_int_equal(p25_service_contact_set(f->svc, &alice, 1, &ch), P25_EINVAL);
	assert_int_equal(p25_service_contact_show(f->svc, &alice, 1, &c), 0);
	assert_string_equal(json_string_value(json_object_get(c, "phone")), "+1 555 0100");
	assert_string_equal(json_string_value(json_object_get(c, "role")), "technical");
	json_decref(c);
	/* each a typed change of the org's, in the member's name */
	assert_int_equal(p25_change_list_since(f->reg, mark, 0, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.v[0].kind, P25_CHANGE_CONTACT_CHANGED);
	assert_string_equal(l.v[0].org, "a");
	assert_string_equal(l.v[0].actor, "alice");
	assert_int_equal(l.v[0].id, 1);
	assert_string_equal(p25_change_kind_name(l.v[0].kind), "contact-changed");
	p25_change_list_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_password_hash),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_limits_and_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proxy_header, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_self_service, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_explain_scoped_and_fresh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_contact_set, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
