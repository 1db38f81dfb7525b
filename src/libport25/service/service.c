/*
 * The service's frame: who may do what (svc_allow, svc_scope), the bracket
 * around every change (svc_begin, svc_end) that runs what follows it, and
 * the messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"
#include "util/names.h"

static const char *const role_names[] = {"operator", "member", "auditor"};

P25_NAMES(enum p25_role, p25_auth_role_name, p25_auth_role_parse, role_names)

int p25_service_open(struct p25_registry *reg, const struct p25_service_options *opt,
                     struct p25_service **out)
{
	struct p25_service *svc = calloc(1, sizeof *svc);

	*out = NULL;
	if (!svc)
		return P25_EDB;
	svc->reg = reg;
	if (opt)
		svc->opt = *opt;
	if (svc->opt.notify && svc->opt.notify->enabled) {
		svc->producer.cfg = svc->opt.notify;
		p25_registry_set_change_hook(reg, p25_notify_change_hook, &svc->producer);
	}
	*out = svc;
	return 0;
}

void p25_service_close(struct p25_service *svc)
{
	if (!svc)
		return;
	svc_explain_drop(svc);
	if (svc->producer.cfg)
		p25_registry_set_change_hook(svc->reg, NULL, NULL);
	free(svc);
}

const char *p25_service_error(const struct p25_service *svc)
{
	return svc->own_error ? svc->error : p25_registry_error(svc->reg);
}

const char *p25_service_warning(const struct p25_service *svc)
{
	return svc->warning;
}

const struct p25_hint *p25_service_hint(const struct p25_service *svc)
{
	static const struct p25_hint none = {.code = P25_HINT_NONE};

	return svc->own_error ? &none : p25_registry_hint(svc->reg);
}

const struct p25_hint *p25_service_warning_hint(const struct p25_service *svc)
{
	return &svc->warning_hint;
}

const struct p25_service_followup *p25_service_followup(const struct p25_service *svc)
{
	return &svc->followup;
}

int svc_fail(struct p25_service *svc, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(svc->error, sizeof svc->error, fmt, ap);
	va_end(ap);
	svc->own_error = true;
	return code;
}

int svc_reg(struct p25_service *svc, int rc)
{
	svc->own_error = false;
	return rc;
}

p25_time svc_now(const struct p25_auth *auth)
{
	return auth->now ? auth->now : p25_time_now();
}

struct p25_actor svc_actor(const struct p25_auth *auth)
{
	return (struct p25_actor){.name = auth->actor, .now = svc_now(auth)};
}

const char *svc_owner(const struct p25_auth *auth, json_t *found)
{
	if (!auth || auth->role != P25_ROLE_MEMBER)
		return NULL;
	return json_string_value(json_object_get(found, "org"));
}

static bool acts_for(const struct p25_auth *auth, const char *org)
{
	for (size_t i = 0; org && i < auth->norgs; i++)
		if (auth->orgs[i] && !strcmp(auth->orgs[i], org))
			return true;
	return false;
}

/* "k12, county" (the first few): whom a member acts for, for messages. */
static void orgs_text(const struct p25_auth *auth, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < auth->norgs && n + 1 < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "",
		                      auth->orgs[i] ? auth->orgs[i] : "");
	if (!auth->norgs)
		snprintf(buf, len, "none");
}

int svc_allow(struct p25_service *svc, const struct p25_auth *auth, enum svc_grant grant,
              const char *org, const char *what)
{
	char orgs[256];

	svc->own_error = false;
	/* A read leaves what the last change left: its warning and what followed it. */
	if (grant != GRANT_READ) {
		svc->warning[0] = '\0';
		memset(&svc->warning_hint, 0, sizeof svc->warning_hint);
		memset(&svc->followup, 0, sizeof svc->followup);
	}
	if (!auth || !auth->actor || !*auth->actor)
		return svc_fail(svc, P25_EDENIED,
		                "no actor: every change and read is made by someone, audited");
	if ((unsigned)auth->role > P25_ROLE_AUDITOR)
		return svc_fail(svc, P25_EDENIED, "'%s': unknown role %d", auth->actor,
		                (int)auth->role);
	if (grant != GRANT_READ && auth->read_only)
		return svc_fail(svc, P25_EDENIED, "'%s' may not %s: the credential is read-only",
		                auth->actor, what);
	if (grant == GRANT_READ || auth->role == P25_ROLE_OPERATOR)
		return 0;
	if (auth->role == P25_ROLE_AUDITOR)
		return svc_fail(svc, P25_EDENIED, "auditor '%s' may not %s: auditors only read",
		                auth->actor, what);
	if (grant == GRANT_OPERATOR)
		return svc_fail(svc, P25_EDENIED, "member '%s' may not %s: only an operator may",
		                auth->actor, what);
	if (acts_for(auth, org))
		return 0;
	orgs_text(auth, orgs, sizeof orgs);
	if (!org)
		return svc_fail(svc, P25_EDENIED,
		                "member '%s' may not %s: not of an organization of theirs (%s)",
		                auth->actor, what, orgs);
	return svc_fail(svc, P25_EDENIED,
	                "member '%s' may not %s for organization '%s': they act for %s only",
	                auth->actor, what, org, orgs);
}

const struct p25_scope *svc_scope(const struct p25_auth *auth, struct p25_scope *s)
{
	if (auth->role == P25_ROLE_OPERATOR || auth->role == P25_ROLE_AUDITOR)
		return NULL;
	s->orgs = auth->orgs;
	s->n = auth->orgs ? auth->norgs : 0;
	return s;
}

int svc_begin(struct p25_service *svc)
{
	svc->mark = 0;
	if (svc->opt.enforce && p25_registry_change_mark(svc->reg, &svc->mark) < 0)
		return svc_reg(svc, P25_EDB);
	return 0;
}

int svc_end(struct p25_service *svc, const struct p25_auth *auth, int rc)
{
	struct p25_service_followup *f = &svc->followup;
	struct p25_enforce_opts o;

	svc->own_error = false;
	if (rc < 0)
		return rc;
	svc->x_stale = true;
	snprintf(svc->warning, sizeof svc->warning, "%s", p25_registry_warning(svc->reg));
	svc->warning_hint = *p25_registry_warning_hint(svc->reg);
	if (!svc->opt.enforce)
		return 0;
	/* The change stands whatever happens here: a failure is the follow-up's, not the call's. */
	o = svc->opt.enforce_opts;
	o.now = svc_now(auth);
	f->enforced = true;
	f->rc = p25_enforce_follow(svc->reg, svc->mark, &o, &f->follow, f->error, sizeof f->error);
	return 0;
}
