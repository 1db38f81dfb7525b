/* Shared by the service's source files only. */
#ifndef P25_SERVICE_INT_H
#define P25_SERVICE_INT_H

#include "service/service.h"

struct p25_service {
	struct p25_registry *reg;
	struct p25_service_options opt;
	bool own_error; /* error holds the service's refusal, else the registry's is current */
	char error[1024];
	char warning[1024];
	struct p25_hint warning_hint;
	struct p25_service_followup followup;
	int64_t mark; /* the change stream before the operation in progress */
	/*
	 * explain's policy snapshot (explain.c), kept while the registry is
	 * unchanged: its data version when loaded, and stale after a change
	 * of this connection's (which the data version does not count).
	 */
	struct p25_model *x_model;
	struct p25_policy *x_policy;
	int64_t x_version;
	bool x_stale;
	struct p25_notify_producer producer; /* the change hook's context, when notices are on */
};

/* explain.c: drop the snapshot. */
void svc_explain_drop(struct p25_service *svc);

/* What an operation needs of the actor. */
enum svc_grant {
	GRANT_READ,     /* everyone: reads are scoped instead */
	GRANT_MEMBER,   /* the operator, or a member for an organization of theirs */
	GRANT_OPERATOR, /* the operator only */
};

int svc_fail(struct p25_service *svc, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * May auth do what (a phrase: "add permits") for org (GRANT_MEMBER; NULL
 * when the organization is not known)?  0, or P25_EDENIED with the reason.
 */
int svc_allow(struct p25_service *svc, const struct p25_auth *auth, enum svc_grant grant,
              const char *org, const char *what);
/* The scope of auth's reads: NULL (all) for operators and auditors; *s for members. */
const struct p25_scope *svc_scope(const struct p25_auth *auth, struct p25_scope *s);
struct p25_actor svc_actor(const struct p25_auth *auth);
/*
 * The organization an object found in a member's scope belongs to ("org" of
 * its JSON), or NULL (not found there): what svc_allow checks a write named
 * by id against.  NULL for operators and auditors, whose grant needs none.
 */
const char *svc_owner(const struct p25_auth *auth, json_t *found);
p25_time svc_now(const struct p25_auth *auth);

/*
 * Around every change: svc_begin after the authorization (marks the change
 * stream when enforcement is on), svc_end with the registry's return code
 * (keeps its warning; on success runs what follows: enforcement).
 */
int svc_begin(struct p25_service *svc);
int svc_end(struct p25_service *svc, const struct p25_auth *auth, int rc);
/* A registry call's result: its message is the one to show. */
int svc_reg(struct p25_service *svc, int rc);

#endif
