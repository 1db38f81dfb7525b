/*
 * Typed changes: one record per registry change, written by the call that
 * writes its audit record (registry.c's audit_write), and the stream of them
 * that followers read (enforcement now; notices and gateway feeds later).
 *
 * The record holds what a follower acts on, typed: the org, the object's
 * id, its subject (a permit's address, a prefix) and both sides' expiry,
 * enrollment, mode, action or status.  They are taken from the objects the
 * verbs pass for the audit record, which the registry itself builds with
 * fixed keys (permit_json_row, org_json_row, request_json_row, ...), once,
 * here, when the change is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry/internal.h"

static const struct {
	const char *name, *action, *type;
} kinds[P25_CHANGE_KINDS] = {
    [P25_CHANGE_ORG_ADDED] = {"org-added", "org.add", "org"},
    [P25_CHANGE_ORG_CHANGED] = {"org-changed", "org.set", "org"},
    [P25_CHANGE_ORG_REMOVED] = {"org-removed", "org.remove", "org"},
    [P25_CHANGE_PREFIX_ADDED] = {"prefix-added", "prefix.add", "prefix"},
    [P25_CHANGE_PREFIX_REMOVED] = {"prefix-removed", "prefix.remove", "prefix"},
    [P25_CHANGE_CONTACT_ADDED] = {"contact-added", "contact.add", "contact"},
    [P25_CHANGE_CONTACT_REMOVED] = {"contact-removed", "contact.remove", "contact"},
    [P25_CHANGE_PERMIT_ADDED] = {"permit-added", "permit.add", "permit"},
    [P25_CHANGE_PERMIT_CHANGED] = {"permit-changed", "permit.set", "permit"},
    [P25_CHANGE_PERMIT_REMOVED] = {"permit-removed", "permit.remove", "permit"},
    [P25_CHANGE_PERMIT_SUPERSEDED] = {"permit-superseded", "permit.supersede", "permit"},
    [P25_CHANGE_REQUEST_SUBMITTED] = {"request-submitted", "request.submit", "request"},
    [P25_CHANGE_REQUEST_APPROVED] = {"request-approved", "request.approve", "request"},
    [P25_CHANGE_REQUEST_REJECTED] = {"request-rejected", "request.reject", "request"},
    [P25_CHANGE_REQUEST_APPLIED] = {"request-applied", "request.apply", "request"},
    [P25_CHANGE_REQUEST_VERIFIED] = {"request-verified", "request.verify", "request"},
    [P25_CHANGE_REQUEST_CANCELLED] = {"request-cancelled", "request.cancel", "request"},
    [P25_CHANGE_REQUEST_IMPORTED] = {"request-imported", "request.import", "request"},
    [P25_CHANGE_IMPORT] = {"import", "import", "file"},
    [P25_CHANGE_CONTACT_CHANGED] = {"contact-changed", "contact.set", "contact"},
};

const char *p25_change_kind_name(enum p25_change_kind k)
{
	return (unsigned)k < P25_CHANGE_KINDS ? kinds[k].name : "?";
}

int p25_change_kind_parse(const char *s, enum p25_change_kind *out)
{
	for (int k = 0; s && k < P25_CHANGE_KINDS; k++) {
		if (!strcmp(s, kinds[k].name)) {
			*out = (enum p25_change_kind)k;
			return 0;
		}
	}
	return -1;
}

int change_kind_of_action(const char *action, enum p25_change_kind *out)
{
	for (int k = 0; action && k < P25_CHANGE_KINDS; k++) {
		if (!strcmp(action, kinds[k].action)) {
			*out = (enum p25_change_kind)k;
			return 0;
		}
	}
	return -1;
}

int change_kind_audit(enum p25_change_kind kind, const char **action, const char **type)
{
	if ((unsigned)kind >= P25_CHANGE_KINDS)
		return -1;
	*action = kinds[kind].action;
	*type = kinds[kind].type;
	return 0;
}

/* ---- writing ---- */

static const char *str_of(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* One side as stored: text columns, NULL where the kind has no such field. */
struct side {
	int present;
	const char *expires, *state, *mode, *action;
};

static void side_of(enum p25_change_kind kind, json_t *o, struct side *s)
{
	memset(s, 0, sizeof *s);
	s->present = json_is_object(o);
	if (!s->present)
		return;
	switch (kind) {
	case P25_CHANGE_ORG_ADDED:
	case P25_CHANGE_ORG_CHANGED:
	case P25_CHANGE_ORG_REMOVED:
		s->state = str_of(o, "enrollment");
		s->mode = str_of(o, "mode");
		s->action = str_of(o, "action");
		break;
	case P25_CHANGE_PERMIT_ADDED:
	case P25_CHANGE_PERMIT_CHANGED:
	case P25_CHANGE_PERMIT_REMOVED:
	case P25_CHANGE_PERMIT_SUPERSEDED:
		s->expires = str_of(o, "expires");
		break;
	case P25_CHANGE_REQUEST_SUBMITTED:
	case P25_CHANGE_REQUEST_APPROVED:
	case P25_CHANGE_REQUEST_REJECTED:
	case P25_CHANGE_REQUEST_APPLIED:
	case P25_CHANGE_REQUEST_VERIFIED:
	case P25_CHANGE_REQUEST_CANCELLED:
	case P25_CHANGE_REQUEST_IMPORTED:
		s->state = str_of(o, "status");
		break;
	default:
		break;
	}
}

static int run_hook(struct p25_registry *reg, int64_t seq);

int change_record(struct p25_registry *reg, const struct p25_actor *who,
                  enum p25_change_kind kind, int64_t audit_id, const char *object,
                  json_t *before, json_t *after)
{
	json_t *o = json_is_object(after) ? after : before;
	const char *org = NULL, *subject = object;
	int64_t id = 0, related = 0;
	struct side b, a;

	side_of(kind, before, &b);
	side_of(kind, after, &a);
	switch (kind) {
	case P25_CHANGE_ORG_ADDED:
	case P25_CHANGE_ORG_CHANGED:
	case P25_CHANGE_ORG_REMOVED:
		org = object;
		break;
	case P25_CHANGE_PREFIX_ADDED:
	case P25_CHANGE_PREFIX_REMOVED:
		org = str_of(o, "org");
		break;
	case P25_CHANGE_CONTACT_ADDED:
	case P25_CHANGE_CONTACT_REMOVED:
	case P25_CHANGE_CONTACT_CHANGED:
		org = str_of(o, "org");
		id = json_integer_value(json_object_get(o, "id"));
		subject = str_of(o, "role");
		break;
	case P25_CHANGE_PERMIT_SUPERSEDED:
		/* The audit keeps the old permit whole; the permit itself is gone. */
		related = json_integer_value(json_object_get(after, "superseded_by"));
		a.present = 0;
		a.expires = NULL;
		/* fall through */
	case P25_CHANGE_PERMIT_ADDED:
	case P25_CHANGE_PERMIT_CHANGED:
	case P25_CHANGE_PERMIT_REMOVED:
		org = str_of(o, "org");
		id = json_integer_value(json_object_get(o, "id"));
		subject = str_of(o, "address");
		if (kind == P25_CHANGE_PERMIT_ADDED)
			related = json_integer_value(json_object_get(after, "request_id"));
		break;
	case P25_CHANGE_REQUEST_SUBMITTED:
	case P25_CHANGE_REQUEST_APPROVED:
	case P25_CHANGE_REQUEST_REJECTED:
	case P25_CHANGE_REQUEST_APPLIED:
	case P25_CHANGE_REQUEST_VERIFIED:
	case P25_CHANGE_REQUEST_CANCELLED:
	case P25_CHANGE_REQUEST_IMPORTED:
		org = str_of(o, "org");
		id = json_integer_value(json_object_get(o, "id"));
		subject = str_of(o, "type");
		break;
	case P25_CHANGE_IMPORT:
		break;
	}
	if (kind != P25_CHANGE_IMPORT && !org)
		return reg_fail(reg, P25_EDB, "registry: a %s change names no organization",
		                p25_change_kind_name(kind));
	int rc = reg_exec(reg,
	                "INSERT INTO change (audit_id, at, actor, kind, org, object_id, subject, "
	                "related, present_before, present_after, expires_before, expires_after, "
	                "state_before, state_after, mode_before, mode_after, action_before, "
	                "action_after) VALUES (?, ?, ?, ?, ?, nullif(?, 0), ?, nullif(?, 0), ?, ?, "
	                "?, ?, ?, ?, ?, ?, ?, ?)",
	                "iTsssisiiissssssss", audit_id, who->now, who->name,
	                p25_change_kind_name(kind), org, id, subject, related, (int64_t)b.present,
	                (int64_t)a.present, b.expires, a.expires, b.state, a.state, b.mode, a.mode,
	                b.action, a.action);
	if (rc == 0 && reg->change_hook && !reg->in_hook)
		rc = run_hook(reg, reg_last_id(reg));
	return rc;
}

/* ---- reading ---- */

#define CHANGE_COLS                                                                                \
	"seq, audit_id, at, actor, kind, org, object_id, subject, related, present_before, "       \
	"present_after, expires_before, expires_after, state_before, state_after, mode_before, "   \
	"mode_after, action_before, action_after"

static const char *text_or_null(reg_stmt *st, int col)
{
	return col_null(st, col) ? NULL : col_text(st, col);
}

static void state_of(reg_stmt *st, int present, int expires, int state, int mode, int action,
                     bool is_request, struct p25_change_state *s)
{
	memset(s, 0, sizeof *s);
	s->present = col_int(st, present) != 0;
	s->expires = col_time(st, expires);
	if (is_request)
		p25_request_status_parse(text_or_null(st, state), &s->status);
	else
		p25_enrollment_parse(text_or_null(st, state), &s->enrollment);
	p25_mode_parse(text_or_null(st, mode), &s->mode);
	p25_action_parse(text_or_null(st, action), &s->action);
}

static void change_of_row(reg_stmt *st, struct p25_change *c)
{
	bool is_request;

	memset(c, 0, sizeof *c);
	c->seq = col_int(st, 0);
	c->audit_id = col_int(st, 1);
	c->at = col_time(st, 2);
	c->actor = col_text(st, 3);
	/* A kind this port25 does not know (a newer writer's) reads as an import: sync. */
	if (p25_change_kind_parse(col_text(st, 4), &c->kind) < 0)
		c->kind = P25_CHANGE_IMPORT;
	c->org = text_or_null(st, 5);
	c->id = col_int(st, 6);
	c->subject = text_or_null(st, 7);
	c->related = col_int(st, 8);
	is_request = c->kind >= P25_CHANGE_REQUEST_SUBMITTED && c->kind <= P25_CHANGE_REQUEST_IMPORTED;
	state_of(st, 9, 11, 13, 15, 17, is_request, &c->before);
	state_of(st, 10, 12, 14, 16, 18, is_request, &c->after);
}

int p25_registry_change_mark(struct p25_registry *reg, int64_t *mark)
{
	reg_stmt *st;
	int rc;

	reg->error[0] = '\0';
	*mark = 0;
	st = reg_query(reg, "SELECT coalesce(max(seq), 0) FROM change", "");
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	*mark = rc ? col_int(st, 0) : 0;
	reg_done(st);
	return 0;
}

int p25_registry_changes_since(struct p25_registry *reg, int64_t mark, size_t limit,
                               p25_change_fn fn, void *ctx)
{
	reg_stmt *st;
	int n = 0, rc;

	reg->error[0] = '\0';
	st = reg_query(reg, "SELECT " CHANGE_COLS " FROM change WHERE seq > ? ORDER BY seq LIMIT ?",
	               "ii", mark, limit ? (int64_t)limit : (int64_t)-1);
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		struct p25_change c;
		change_of_row(st, &c);
		n++;
		if (fn(ctx, &c) != 0)
			break;
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	return n;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

static void change_strings_free(struct p25_change *c)
{
	free((char *)c->actor);
	free((char *)c->org);
	free((char *)c->subject);
}

static int list_add(void *ctx, const struct p25_change *c)
{
	struct p25_change_list *l = ctx;
	struct p25_change *v = realloc(l->v, (l->n + 1) * sizeof *v), *d;
	bool oom = false;

	if (!v)
		return -1;
	l->v = v;
	d = &v[l->n];
	*d = *c;
	d->actor = dup_or_null(c->actor, &oom);
	d->org = dup_or_null(c->org, &oom);
	d->subject = dup_or_null(c->subject, &oom);
	if (oom) {
		change_strings_free(d);
		return -1;
	}
	l->n++;
	return 0;
}

int p25_change_list_since(struct p25_registry *reg, int64_t mark, size_t limit,
                          struct p25_change_list *out)
{
	int rc;

	memset(out, 0, sizeof *out);
	rc = p25_registry_changes_since(reg, mark, limit, list_add, out);
	if (rc >= 0 && (size_t)rc != out->n)
		rc = reg_fail(reg, P25_EDB, "registry: out of memory reading changes");
	if (rc < 0) {
		p25_change_list_free(out);
		return rc;
	}
	return 0;
}

void p25_change_list_free(struct p25_change_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		change_strings_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int p25_registry_changes_pending(struct p25_registry *reg, int64_t mark, int64_t *version)
{
	int64_t v = 0, latest = 0;
	int rc;

	if ((rc = p25_registry_data_version(reg, &v)) < 0)
		return rc;
	/* data_version moves with other connections' commits: read the table only then. */
	if (*version && v == *version)
		return 0;
	if ((rc = p25_registry_change_mark(reg, &latest)) < 0)
		return rc;
	*version = v;
	return latest > mark;
}

int p25_registry_wait_changes(struct p25_registry *reg, int64_t mark, int timeout_ms)
{
	struct timespec start, now;
	int64_t version = 0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec nap = {0, P25_CHANGE_POLL_MS * 1000000L};
		int64_t left = -1;
		if ((rc = p25_registry_changes_pending(reg, mark, &version)) != 0)
			return rc;
		if (timeout_ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = timeout_ms - ((int64_t)(now.tv_sec - start.tv_sec) * 1000 +
			                     (now.tv_nsec - start.tv_nsec) / 1000000);
			if (left <= 0)
				return 0;
			if (left < P25_CHANGE_POLL_MS)
				nap.tv_nsec = (long)left * 1000000L;
		}
		if (nanosleep(&nap, NULL) < 0 && errno == EINTR)
			return 0;
	}
}

/*
 * The change hook (notices.h): the change just written, read back as every
 * follower reads it, handed over inside its transaction, so that what the
 * hook writes commits or rolls back with the change.  A change the hook
 * itself makes does not call it again.
 */
static int run_hook(struct p25_registry *reg, int64_t seq)
{
	reg_stmt *st = reg_query(reg, "SELECT " CHANGE_COLS " FROM change WHERE seq = ?", "i", seq);
	struct p25_change c;
	int rc;

	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 0) {
		reg_done(st);
		return reg_fail(reg, P25_EDB, "registry: change %lld vanished", (long long)seq);
	}
	change_of_row(st, &c);
	reg->in_hook = 1;
	rc = reg->change_hook(reg->change_hook_ctx, reg, &c);
	reg->in_hook = 0;
	reg_done(st);
	if (rc < 0 && !reg->error[0])
		reg_fail(reg, P25_EDB, "registry: queueing the notices of a %s change failed",
		         p25_change_kind_name(c.kind));
	return rc < 0 ? rc : 0;
}

void p25_registry_set_change_hook(struct p25_registry *reg, p25_change_hook fn, void *ctx)
{
	reg->change_hook = fn;
	reg->change_hook_ctx = ctx;
}
