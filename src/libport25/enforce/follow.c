/*
 * What committed registry changes ask of the kernel (follow.h): read the
 * typed changes after a mark, turn permit changes into a targeted update and
 * anything else that alters the loaded policy into a sync.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enforce/follow.h"

/*
 * Every permit change owns its org and its cover (one allocation each): v
 * grows by realloc, so nothing may point into it, not even a change at its
 * own prefix.
 */
struct plan {
	struct p25_registry *reg;
	p25_time now;
	struct p25_enforce_change *v;
	size_t n, cap;
	size_t nchanges;
	int64_t last;
	bool sync;   /* something beyond permits changed: the whole policy */
	bool failed; /* out of memory, or the registry failed (its error says) */
};

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free((char *)p->v[i].org);
		free((void *)p->v[i].cover);
	}
	free(p->v);
	memset(p, 0, sizeof *p);
}

static bool in_force(const struct p25_change_state *s, p25_time now)
{
	return s->present && (s->expires == 0 || now < s->expires);
}

/*
 * A permit changed: what of its prefix is permitted now becomes the target,
 * whatever the registry says was in force before.  The kernel may hold more
 * (an expired variance no sync has removed yet) or less; the update diffs
 * against what is loaded, so a change that alters nothing sends nothing.
 */
static int permit_change(struct plan *p, const struct p25_change *c)
{
	struct p25_enforce_change *ch;
	struct p25_prefix *cov = NULL;
	struct p25_diag diag;
	struct p25_prefix prefix;

	if (!c->org || !c->subject || p25_prefix_parse(c->subject, 0, &prefix, &diag) < 0) {
		p->sync = true;
		return 0;
	}
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct p25_enforce_change *v = realloc(p->v, cap * sizeof *v);
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	ch = &p->v[p->n];
	memset(ch, 0, sizeof *ch);
	ch->prefix = prefix;
	if (!(ch->org = strdup(c->org)))
		return -1;
	p->n++;
	if (in_force(&c->after, p->now)) {
		if (!(cov = malloc(sizeof *cov)))
			return -1;
		*cov = prefix;
		ch->ncover = 1;
	} else if (p25_permits_covering(p->reg, c->org, &prefix, p->now, &cov, &ch->ncover) < 0) {
		return -1;
	}
	ch->cover = cov;
	return 0;
}

static int classify(void *ctx, const struct p25_change *c)
{
	struct plan *p = ctx;

	p->nchanges++;
	p->last = c->seq;
	switch (c->kind) {
	case P25_CHANGE_PERMIT_ADDED:
	case P25_CHANGE_PERMIT_CHANGED:
	case P25_CHANGE_PERMIT_REMOVED:
	case P25_CHANGE_PERMIT_SUPERSEDED:
		if (permit_change(p, c) < 0) {
			p->failed = true;
			return 1;
		}
		return 0;
	case P25_CHANGE_ORG_CHANGED:
		if (c->before.enrollment != c->after.enrollment || c->before.mode != c->after.mode ||
		    c->before.action != c->after.action)
			p->sync = true;
		break;
	case P25_CHANGE_ORG_ADDED: /* enrollment none: nothing of it is loaded */
	case P25_CHANGE_CONTACT_ADDED:
	case P25_CHANGE_CONTACT_REMOVED:
	case P25_CHANGE_CONTACT_CHANGED:
	case P25_CHANGE_REQUEST_SUBMITTED:
	case P25_CHANGE_REQUEST_APPROVED:
	case P25_CHANGE_REQUEST_REJECTED:
	case P25_CHANGE_REQUEST_APPLIED: /* its permits and activation are changes of their own */
	case P25_CHANGE_REQUEST_VERIFIED:
	case P25_CHANGE_REQUEST_CANCELLED:
	case P25_CHANGE_REQUEST_IMPORTED:
		break;
	default: /* prefixes, an org's removal, imports: the whole policy */
		p->sync = true;
		break;
	}
	/* Once a sync is due, the rest of the changes cannot ask for more. */
	return p->sync;
}

/* Read the changes after mark into p; 0, or -1 with err. */
static int read_plan(struct p25_registry *reg, int64_t mark, p25_time now, struct plan *p,
                     char *err, size_t errlen)
{
	int rc;

	plan_free(p);
	p->reg = reg;
	p->now = now;
	p->last = mark;
	rc = p25_registry_changes_since(reg, mark, P25_FOLLOW_WINDOW + 1, classify, p);
	if (rc < 0 || p->failed) {
		const char *msg = p25_registry_error(reg);
		snprintf(err, errlen, "reading the changes back failed: %s",
		         msg && *msg ? msg : "out of memory");
		plan_free(p);
		return -1;
	}
	if (p->nchanges > P25_FOLLOW_WINDOW)
		p->sync = true;
	return 0;
}

static int full_sync(struct p25_registry *reg, const struct p25_enforce_opts *o,
                     struct p25_follow_result *res, char *err, size_t errlen)
{
	struct p25_model m;
	char msg[400];
	int64_t mark = 0;
	int rc;

	/* What the model holds is at least every change up to this mark. */
	if (p25_registry_change_mark(reg, &mark) < 0 || p25_registry_load_model(reg, &m) < 0) {
		snprintf(err, errlen, "the gateway was not updated: %s", p25_registry_error(reg));
		return -1;
	}
	rc = p25_enforce_sync(&m, o, &res->r, msg, sizeof msg);
	p25_model_free(&m);
	if (rc < 0) {
		snprintf(err, errlen, "the gateway was not updated: %s", msg);
		return -1;
	}
	res->action = P25_FOLLOW_SYNC;
	if (mark > res->mark)
		res->mark = mark;
	return 0;
}

static int follow_locked(struct p25_registry *reg, int64_t mark, const struct p25_enforce_opts *o,
                         struct p25_follow_result *res, char *err, size_t errlen)
{
	struct plan p = {0};
	char msg[400];
	int rc;

	/* Read again: what was read before the lock may be stale by now. */
	if (read_plan(reg, mark, o->now, &p, err, errlen) < 0)
		return -1;
	res->nchanges = p.nchanges;
	res->npermits = p.n;
	res->mark = p.last;
	if (p.sync) {
		plan_free(&p);
		return full_sync(reg, o, res, err, errlen);
	}
	if (p.n == 0) {
		plan_free(&p);
		res->action = P25_FOLLOW_NONE;
		return 0;
	}
	rc = p25_enforce_update(p.v, p.n, o, &res->r, msg, sizeof msg);
	plan_free(&p);
	if (rc < 0) {
		snprintf(err, errlen, "the gateway was not updated: %s", msg);
		return -1;
	}
	if (rc > 0) {
		snprintf(res->why, sizeof res->why, "no targeted update (%.300s)", res->r.note);
		return full_sync(reg, o, res, err, errlen);
	}
	res->action = res->r.messages ? P25_FOLLOW_TARGETED : P25_FOLLOW_UNCHANGED;
	return 0;
}

int p25_enforce_follow(struct p25_registry *reg, int64_t mark, const struct p25_enforce_opts *o,
                       struct p25_follow_result *res, char *err, size_t errlen)
{
	struct plan p = {0};
	int rc;

	memset(res, 0, sizeof *res);
	clock_gettime(CLOCK_MONOTONIC, &res->begun);
	res->mark = mark;
	/* A first look without the lock: a contact or a request alone asks nothing of the kernel. */
	if (read_plan(reg, mark, o->now, &p, err, errlen) < 0)
		return -1;
	if (!p.sync && p.n == 0) {
		res->nchanges = p.nchanges;
		res->mark = p.last;
		plan_free(&p);
		return 0;
	}
	plan_free(&p);
	/*
	 * Read what changed only once this namespace's enforcers are ours: what
	 * is read is sent before anyone else reads and sends a later change.
	 */
	if (p25_enforce_lock(o, err, errlen) < 0) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s", err);
		snprintf(err, errlen, "the gateway was not updated: %s", msg);
		return -1;
	}
	rc = follow_locked(reg, mark, o, res, err, errlen);
	p25_enforce_unlock(o);
	return rc;
}
