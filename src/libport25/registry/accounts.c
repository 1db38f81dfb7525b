/*
 * The accounts of port25 serve as stored: users and their organizations,
 * sessions, API tokens and login attempts (accounts.h).  Only the storage
 * seam's names (internal.h) reach the SQL engine.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/addr.h"
#include "registry/accounts.h"
#include "registry/internal.h"

bool p25_account_name_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s || *s == '-' || *s == '.')
		return false;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("._@-", s[n]))
			return false;
	return n <= P25_ACCOUNT_NAME_MAX;
}

static bool role_ok(const char *r)
{
	return r && (!strcmp(r, "operator") || !strcmp(r, "member") || !strcmp(r, "auditor"));
}

void p25_account_free(struct p25_account *a)
{
	for (size_t i = 0; a && i < a->norgs; i++)
		free(a->orgs[i]);
	if (a) {
		free(a->orgs);
		a->orgs = NULL;
		a->norgs = 0;
	}
}

static int account_orgs(struct p25_registry *reg, struct p25_account *a)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT o.handle FROM account_org ao JOIN org o ON o.id = "
	                         "ao.org_id WHERE ao.account_id = ? ORDER BY o.handle",
	                         "i", a->id);
	int rc;

	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		char **v = realloc(a->orgs, (a->norgs + 1) * sizeof *v);
		char *h = strdup(col_text(st, 0));
		if (!v || !h) {
			free(h);
			if (v)
				a->orgs = v;
			reg_done(st);
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		}
		a->orgs = v;
		a->orgs[a->norgs++] = h;
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	return 0;
}

#define ACCOUNT_COLS "id, name, role, disabled, password"

static int account_get(struct p25_registry *reg, const char *sql, const char *fmt,
                       const char *name, int64_t id, struct p25_account *out)
{
	reg_stmt *st = name ? reg_query(reg, sql, fmt, name) : reg_query(reg, sql, fmt, id);
	int rc;

	memset(out, 0, sizeof *out);
	reg->error[0] = '\0';
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 0) {
		reg_done(st);
		if (name)
			return reg_fail(reg, P25_ENOTFOUND, "no user '%s'", name);
		return reg_fail(reg, P25_ENOTFOUND, "no user with id %" PRId64, id);
	}
	out->id = col_int(st, 0);
	snprintf(out->name, sizeof out->name, "%s", col_text(st, 1));
	snprintf(out->role, sizeof out->role, "%s", col_text(st, 2));
	out->disabled = col_int(st, 3) != 0;
	snprintf(out->password, sizeof out->password, "%s", col_text(st, 4));
	reg_done(st);
	if ((rc = account_orgs(reg, out)) < 0)
		p25_account_free(out);
	return rc;
}

int p25_account_get(struct p25_registry *reg, const char *name, struct p25_account *out)
{
	return account_get(reg, "SELECT " ACCOUNT_COLS " FROM account WHERE name = ?", "s",
	                   name ? name : "", 0, out);
}

int p25_account_get_id(struct p25_registry *reg, int64_t id, struct p25_account *out)
{
	return account_get(reg, "SELECT " ACCOUNT_COLS " FROM account WHERE id = ?", "i", NULL, id,
	                   out);
}

static json_t *account_json_by_id(struct p25_registry *reg, int64_t id)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT name, role, full_name, email, password IS NOT NULL, "
	                         "disabled, created, updated FROM account WHERE id = ?",
	                         "i", id);
	struct p25_account a = {.id = id};
	json_t *o, *orgs;

	if (!st)
		return NULL;
	if (reg_step(reg, st) != 1) {
		reg_done(st);
		return NULL;
	}
	o = json_pack("{s:s, s:s, s:s, s:s}", "name", col_text(st, 0), "role", col_text(st, 1),
	              "full_name", col_text(st, 2), "email", col_text(st, 3));
	orgs = json_array();
	json_object_set_new(o, "orgs", orgs);
	json_object_set_new(o, "password", json_boolean(col_int(st, 4)));
	json_object_set_new(o, "disabled", json_boolean(col_int(st, 5)));
	json_object_set_new(o, "created", json_string(col_text(st, 6)));
	json_object_set_new(o, "updated", json_string(col_text(st, 7)));
	reg_done(st);
	if (account_orgs(reg, &a) < 0) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < a.norgs; i++)
		json_array_append_new(orgs, json_string(a.orgs[i]));
	p25_account_free(&a);
	return o;
}

/* The organizations of a member, all of them existing; none for the others. */
static int check_orgs(struct p25_registry *reg, const char *name, const char *role,
                      const char *const *orgs, size_t n)
{
	int64_t id;
	int rc;

	if (!strcmp(role, "member") && n == 0)
		return reg_fail(reg, P25_EINVAL,
		                "user '%s': orgs: a member acts for one or more organizations; "
		                "name them",
		                name);
	if (strcmp(role, "member") != 0 && n > 0)
		return reg_fail(reg, P25_EINVAL,
		                "user '%s': orgs: an %s acts for every organization; organizations "
		                "are for members only",
		                name, role);
	for (size_t i = 0; i < n; i++) {
		if ((rc = org_id_of(reg, orgs[i], &id)) < 0)
			return reg_wrap(reg, rc, "user '%s': orgs", name);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(orgs[i], orgs[j]))
				return reg_fail(reg, P25_EINVAL, "user '%s': orgs: '%s' named twice",
				                name, orgs[i]);
	}
	return 0;
}

static int bind_orgs(struct p25_registry *reg, int64_t account_id, const char *const *orgs,
                     size_t n)
{
	int rc = reg_exec(reg, "DELETE FROM account_org WHERE account_id = ?", "i", account_id);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = reg_exec(reg,
		              "INSERT INTO account_org (account_id, org_id) SELECT ?, id FROM org "
		              "WHERE handle = ?",
		              "is", account_id, orgs[i]);
	return rc;
}

static bool password_ok(const char *p)
{
	/* What crypto_pwhash_str writes: "$argon2id$v=19$m=...". */
	return p && !strncmp(p, "$argon2id$", 10) && strlen(p) < 160;
}

static int account_add_tx(struct p25_registry *reg, const struct p25_actor *who,
                          const struct p25_account_spec *s)
{
	struct p25_account old;
	json_t *after;
	int64_t id;
	int rc;

	if (!p25_account_name_ok(s->name))
		return reg_fail(reg, P25_EINVAL,
		                "name: '%s' is not a valid user name: 1 to 64 of a-z, A-Z, 0-9 and "
		                "'.', '_', '@', '-', not starting with '-' or '.'",
		                s->name ? s->name : "");
	if (!role_ok(s->role))
		return reg_fail(reg, P25_EINVAL,
		                "user '%s': role: '%s' is not operator, member or auditor", s->name,
		                s->role ? s->role : "");
	if (s->password && !password_ok(s->password))
		return reg_fail(reg, P25_EINVAL, "user '%s': password: not an Argon2id hash",
		                s->name);
	rc = p25_account_get(reg, s->name, &old);
	if (rc == 0) {
		p25_account_free(&old);
		return reg_fail(reg, P25_ECONFLICT, "user '%s' already exists", s->name);
	}
	if (rc != P25_ENOTFOUND)
		return rc;
	reg->error[0] = '\0';
	if ((rc = check_orgs(reg, s->name, s->role, s->orgs, s->norgs)) < 0)
		return rc;
	rc = reg_exec(reg,
	              "INSERT INTO account (name, role, full_name, email, password, created, "
	              "updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
	              "sssssTT", s->name, s->role, s->full_name ? s->full_name : "",
	              s->email ? s->email : "", s->password, who->now, who->now);
	if (rc < 0)
		return rc;
	id = reg_last_id(reg);
	if ((rc = bind_orgs(reg, id, s->orgs, s->norgs)) < 0)
		return rc;
	after = account_json_by_id(reg, id);
	rc = reg_audit(reg, who, "user.add", "user", s->name, NULL, after);
	json_decref(after);
	return rc;
}

int p25_account_add(struct p25_registry *reg, const struct p25_actor *who,
                    const struct p25_account_spec *spec)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, account_add_tx(reg, who, spec));
}

static int account_set_tx(struct p25_registry *reg, const struct p25_actor *who, const char *name,
                          const struct p25_account_change *c)
{
	struct p25_account a;
	const char *role;
	json_t *before, *after;
	bool end_sessions;
	int rc;

	if (!c->role && !c->full_name && !c->email && !c->password && !c->clear_password &&
	    !c->set_orgs && !c->set_disabled)
		return reg_fail(reg, P25_EINVAL, "user '%s': nothing to change", name);
	if (c->role && !role_ok(c->role))
		return reg_fail(reg, P25_EINVAL,
		                "user '%s': role: '%s' is not operator, member or auditor", name,
		                c->role);
	if (c->password && !password_ok(c->password))
		return reg_fail(reg, P25_EINVAL, "user '%s': password: not an Argon2id hash", name);
	if (c->password && c->clear_password)
		return reg_fail(reg, P25_EINVAL,
		                "user '%s': password: a new one and none at the same time", name);
	if ((rc = p25_account_get(reg, name, &a)) < 0)
		return rc;
	role = c->role ? c->role : a.role;
	if (c->set_orgs)
		rc = check_orgs(reg, name, role, c->orgs, c->norgs);
	else
		rc = check_orgs(reg, name, role, (const char *const *)a.orgs, a.norgs);
	end_sessions = c->password || c->clear_password || (c->set_disabled && c->disabled) ||
	               (c->role && strcmp(c->role, a.role) != 0) || c->set_orgs;
	if (rc < 0) {
		p25_account_free(&a);
		return rc;
	}
	before = account_json_by_id(reg, a.id);
	rc = reg_exec(reg,
	              "UPDATE account SET role = ?, full_name = coalesce(?, full_name), email = "
	              "coalesce(?, email), password = CASE WHEN ? THEN NULL ELSE coalesce(?, "
	              "password) END, disabled = CASE WHEN ? THEN ? ELSE disabled END, updated = ? "
	              "WHERE id = ?",
	              "sssisiiTi", role, c->full_name, c->email, (int64_t)c->clear_password,
	              c->password, (int64_t)c->set_disabled, (int64_t)c->disabled, who->now, a.id);
	if (rc == 0 && c->set_orgs)
		rc = bind_orgs(reg, a.id, c->orgs, c->norgs);
	/* Whoever was logged in under the old terms logs in again under the new. */
	if (rc == 0 && end_sessions)
		rc = reg_exec(reg, "DELETE FROM session WHERE account_id = ?", "i", a.id);
	if (rc == 0) {
		after = account_json_by_id(reg, a.id);
		rc = reg_audit(reg, who, "user.set", "user", name, before, after);
		json_decref(after);
	}
	json_decref(before);
	p25_account_free(&a);
	return rc;
}

int p25_account_set(struct p25_registry *reg, const struct p25_actor *who, const char *name,
                    const struct p25_account_change *change)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, account_set_tx(reg, who, name, change));
}

static int account_remove_tx(struct p25_registry *reg, const struct p25_actor *who,
                             const char *name)
{
	struct p25_account a;
	json_t *before;
	int rc;

	if ((rc = p25_account_get(reg, name, &a)) < 0)
		return rc;
	before = account_json_by_id(reg, a.id);
	rc = reg_exec(reg, "DELETE FROM account WHERE id = ?", "i", a.id);
	if (rc == 0)
		rc = reg_audit(reg, who, "user.remove", "user", name, before, NULL);
	json_decref(before);
	p25_account_free(&a);
	return rc;
}

int p25_account_remove(struct p25_registry *reg, const struct p25_actor *who, const char *name)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, account_remove_tx(reg, who, name));
}

int p25_account_list(struct p25_registry *reg, const char *only, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	st = reg_query(reg, "SELECT id FROM account WHERE ?1 IS NULL OR name = ?1 ORDER BY name",
	               "s", only);
	if ((rc = reg_ids(reg, st, &ids, &n)) < 0)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = account_json_by_id(reg, ids[i]);
		if (!o) {
			free(ids);
			json_decref(rows);
			return reg_fail(reg, P25_EDB, "registry: reading users failed");
		}
		json_array_append_new(rows, o);
	}
	free(ids);
	*out = rows;
	return 0;
}

int p25_account_show(struct p25_registry *reg, const char *name, json_t **out)
{
	struct p25_account a;
	int rc;

	*out = NULL;
	if ((rc = p25_account_get(reg, name, &a)) < 0)
		return rc;
	*out = account_json_by_id(reg, a.id);
	p25_account_free(&a);
	return *out ? 0 : reg_fail(reg, P25_EDB, "registry: reading a user failed");
}

/* ---- sessions ---- */

int p25_session_add(struct p25_registry *reg, int64_t account_id, const char *hash,
                    const char *csrf, const char *source, p25_time now, p25_time expires,
                    int64_t *id)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	rc = reg_exec(reg, "DELETE FROM session WHERE expires <= ?", "T", now);
	if (rc == 0)
		rc = reg_exec(reg,
		              "INSERT INTO session (account_id, hash, csrf, source, created, last_seen, "
		              "expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
		              "isssTTT", account_id, hash, csrf, source, now, now, expires);
	if (rc == 0)
		*id = reg_last_id(reg);
	return reg_end(reg, rc);
}

int p25_session_find(struct p25_registry *reg, const char *hash, struct p25_session_row *out)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT id, account_id, csrf, created, last_seen, expires FROM "
	                         "session WHERE hash = ?",
	                         "s", hash);
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = reg_first(reg, st, "no such session")) < 0)
		return rc;
	out->id = col_int(st, 0);
	out->account_id = col_int(st, 1);
	snprintf(out->csrf, sizeof out->csrf, "%s", col_text(st, 2));
	out->created = col_time(st, 3);
	out->last_seen = col_time(st, 4);
	out->expires = col_time(st, 5);
	reg_done(st);
	return 0;
}

int p25_session_touch(struct p25_registry *reg, int64_t id, p25_time now, p25_time expires)
{
	return reg_exec(reg, "UPDATE session SET last_seen = ?, expires = ? WHERE id = ?", "TTi",
	                now, expires, id);
}

int p25_session_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	rc = reg_exec(reg, "DELETE FROM session WHERE id = ?", "i", id);
	if (rc == 0)
		rc = reg_audit(reg, who, "logout", "user", who->name, NULL, NULL);
	return reg_end(reg, rc);
}

/* ---- tokens ---- */

static int token_add_tx(struct p25_registry *reg, const struct p25_actor *who,
                        const struct p25_token_spec *s, int64_t *id)
{
	struct p25_account a;
	json_t *allowed = NULL, *after;
	char *allowed_text = NULL, object[32];
	int rc;

	if ((rc = p25_account_get(reg, s->account, &a)) < 0)
		return rc;
	p25_account_free(&a);
	if (s->expires && s->expires <= who->now)
		return reg_fail(reg, P25_EINVAL, "token: expires: the time is past");
	if (s->nallowed) {
		allowed = json_array();
		for (size_t i = 0; i < s->nallowed; i++) {
			struct p25_prefix p;
			struct p25_diag d;
			if (p25_prefix_parse(s->allowed[i], 0, &p, &d) < 0) {
				json_decref(allowed);
				return reg_fail(reg, P25_EINVAL, "token: allowed_sources: %s", d.error);
			}
			json_array_append_new(allowed, json_string(s->allowed[i]));
		}
		allowed_text = json_dumps(allowed, JSON_COMPACT);
		json_decref(allowed);
		if (!allowed_text)
			return reg_fail(reg, P25_EDB, "registry: out of memory");
	}
	rc = reg_exec(reg,
	              "INSERT INTO api_token (account_id, hash, hint, description, read_only, "
	              "allowed, created, created_by, expires) SELECT id, ?, ?, ?, ?, ?, ?, ?, ? "
	              "FROM account WHERE name = ?",
	              "sssisTsts", s->hash, s->hint, s->description ? s->description : "",
	              (int64_t)s->read_only, allowed_text, who->now, who->name, s->expires,
	              s->account);
	free(allowed_text);
	if (rc < 0)
		return rc;
	*id = reg_last_id(reg);
	if ((rc = p25_token_show(reg, *id, who->now, &after)) < 0)
		return rc;
	snprintf(object, sizeof object, "%" PRId64, *id);
	rc = reg_audit(reg, who, "token.add", "token", object, NULL, after);
	json_decref(after);
	return rc;
}

int p25_token_add(struct p25_registry *reg, const struct p25_actor *who,
                  const struct p25_token_spec *spec, int64_t *id)
{
	int rc = reg_begin(reg);

	*id = 0;
	if (rc < 0)
		return rc;
	return reg_end(reg, token_add_tx(reg, who, spec, id));
}

void p25_token_row_free(struct p25_token_row *t)
{
	if (t) {
		free(t->allowed);
		t->allowed = NULL;
		t->nallowed = 0;
	}
}

static int allowed_parse(struct p25_registry *reg, const char *text, struct p25_token_row *t)
{
	json_t *a = json_loads(text, 0, NULL), *v;
	size_t i;

	if (!json_is_array(a)) {
		json_decref(a);
		return reg_fail(reg, P25_EDB, "token %" PRId64 ": allowed sources unreadable", t->id);
	}
	t->allowed = calloc(json_array_size(a) + 1, sizeof *t->allowed);
	if (!t->allowed) {
		json_decref(a);
		return reg_fail(reg, P25_EDB, "registry: out of memory");
	}
	json_array_foreach(a, i, v) {
		struct p25_diag d;
		if (p25_prefix_parse(json_string_value(v) ? json_string_value(v) : "", 0,
		                     &t->allowed[t->nallowed], &d) == 0)
			t->nallowed++;
	}
	json_decref(a);
	/* A list whose every entry is unreadable allows nothing, not everything. */
	if (!t->nallowed)
		return reg_fail(reg, P25_EDB, "token %" PRId64 ": allowed sources unreadable", t->id);
	return 0;
}

int p25_token_find(struct p25_registry *reg, const char *hash, struct p25_token_row *out)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT id, account_id, read_only, expires, revoked, last_used, "
	                         "allowed FROM api_token WHERE hash = ?",
	                         "s", hash);
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = reg_first(reg, st, "no such token")) < 0)
		return rc;
	out->id = col_int(st, 0);
	out->account_id = col_int(st, 1);
	out->read_only = col_int(st, 2) != 0;
	out->expires = col_time(st, 3);
	out->revoked = col_null(st, 4) ? 0 : (col_time(st, 4) ? col_time(st, 4) : 1);
	out->last_used = col_time(st, 5);
	rc = col_null(st, 6) ? 0 : allowed_parse(reg, col_text(st, 6), out);
	reg_done(st);
	if (rc < 0)
		p25_token_row_free(out);
	return rc;
}

static json_t *token_row_json(reg_stmt *st, p25_time now, int64_t window)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)col_int(st, 0), "user",
	                      col_text(st, 1), "hint", col_text(st, 2), "description",
	                      col_text(st, 3), "read_only", (int)col_int(st, 4));
	json_t *allowed = col_null(st, 5) ? NULL : json_loads(col_text(st, 5), 0, NULL);
	p25_time expires = col_time(st, 8);
	const char *status = "active";

	json_object_set_new(o, "allowed_sources", json_is_array(allowed) ? allowed : json_array());
	if (allowed && !json_is_array(allowed))
		json_decref(allowed);
	json_object_set_new(o, "created", json_string(col_text(st, 6)));
	json_object_set_new(o, "created_by", json_string(col_text(st, 7)));
	json_object_set_new(o, "expires", json_time_or_null(expires));
	json_object_set_new(o, "last_used", col_null(st, 9) ? json_null()
	                                                    : json_string(col_text(st, 9)));
	json_object_set_new(o, "revoked", col_null(st, 10) ? json_null()
	                                                   : json_string(col_text(st, 10)));
	json_object_set_new(o, "revoked_by", col_null(st, 11) ? json_null()
	                                                      : json_string(col_text(st, 11)));
	if (!col_null(st, 10))
		status = "revoked";
	else if (expires && expires <= now)
		status = "expired";
	json_object_set_new(o, "status", json_string(status));
	return o;
}

#define TOKEN_SELECT                                                                              \
	"SELECT t.id, a.name, t.hint, t.description, t.read_only, t.allowed, t.created, "          \
	"t.created_by, t.expires, t.last_used, t.revoked, t.revoked_by FROM api_token t JOIN "      \
	"account a ON a.id = t.account_id "

int p25_token_list(struct p25_registry *reg, const char *account, p25_time now, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	st = reg_query(reg, TOKEN_SELECT "WHERE ?1 IS NULL OR a.name = ?1 ORDER BY t.id", "s",
	               account);
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(rows, token_row_json(st, now, 0));
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

int p25_token_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out)
{
	int rc = row_json(reg, reg_query(reg, TOKEN_SELECT "WHERE t.id = ?", "i", id),
	                  token_row_json, now, out);

	if (rc == 0)
		return reg_fail(reg, P25_ENOTFOUND, "no token %" PRId64, id);
	return rc < 0 ? rc : 0;
}

static int token_revoke_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	json_t *before, *after;
	char object[32];
	int rc;

	if ((rc = p25_token_show(reg, id, who->now, &before)) < 0)
		return rc;
	if (!json_is_null(json_object_get(before, "revoked"))) {
		json_decref(before);
		return reg_fail(reg, P25_ECONFLICT, "token %" PRId64 " is already revoked", id);
	}
	rc = reg_exec(reg, "UPDATE api_token SET revoked = ?, revoked_by = ? WHERE id = ?", "Tsi",
	              who->now, who->name, id);
	if (rc == 0 && (rc = p25_token_show(reg, id, who->now, &after)) == 0) {
		snprintf(object, sizeof object, "%" PRId64, id);
		rc = reg_audit(reg, who, "token.revoke", "token", object, before, after);
		json_decref(after);
	}
	json_decref(before);
	return rc;
}

int p25_token_revoke(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, token_revoke_tx(reg, who, id));
}

int p25_token_touch(struct p25_registry *reg, int64_t id, p25_time now)
{
	return reg_exec(reg, "UPDATE api_token SET last_used = ? WHERE id = ?", "Ti", now, id);
}

/* ---- login attempts ---- */

int p25_login_record(struct p25_registry *reg, const struct p25_actor *who, const char *name,
                     const char *source, enum p25_login_outcome outcome, const char *reason)
{
	bool ok = outcome == P25_LOGIN_OK;
	json_t *after;
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	rc = reg_exec(reg, "DELETE FROM login_attempt WHERE at < ?", "T", who->now - P25_DAY);
	if (rc == 0)
		rc = reg_exec(reg,
		              "INSERT INTO login_attempt (at, account, source, ok) VALUES (?, ?, ?, ?)",
		              "Tssi", who->now, name, source, (int64_t)outcome);
	if (rc == 0) {
		after = json_pack("{s:s, s:s}", "source", source, "result", reason ? reason : "ok");
		rc = reg_audit(reg, who, ok ? "login" : "login.failed", "user", name, NULL, after);
		json_decref(after);
	}
	return reg_end(reg, rc);
}

static int count_query(struct p25_registry *reg, reg_stmt *st, int64_t *n)
{
	int rc;

	*n = 0;
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 1)
		*n = col_int(st, 0);
	reg_done(st);
	return 0;
}

int p25_login_failures(struct p25_registry *reg, const char *name, const char *source,
                       p25_time since, int64_t *by_name, int64_t *by_source)
{
	int rc;

	rc = count_query(reg,
	                 reg_query(reg,
	                           "SELECT count(*) FROM login_attempt WHERE account = ?1 AND ok = 0 "
	                           "AND at >= max(?2, coalesce((SELECT max(at) FROM login_attempt "
	                           "WHERE account = ?1 AND ok = 1), ''))",
	                           "sT", name, since),
	                 by_name);
	if (rc == 0)
		rc = count_query(reg,
		                 reg_query(reg,
		                           "SELECT count(*) FROM login_attempt WHERE source = ? AND "
		                           "ok = 0 AND at >= ?",
		                           "sT", source, since),
		                 by_source);
	return rc;
}
