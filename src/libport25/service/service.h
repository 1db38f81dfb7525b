/*
 * The service: what an operator, a member or an auditor does with the
 * registry, written once for every front end (the command line now, the
 * HTTP API and member portal next).  Each operation takes who acts and for
 * which organizations (struct p25_auth), refuses what they may not do
 * (P25_EDENIED, with a message saying who may not do what), runs the
 * registry call, and then what must follow a change that committed:
 * enforcement in this gateway's kernel when it is on (later, notices).
 *
 * Who may do what:
 *   operator  everything;
 *   member    reads of their own organizations only; adds and removes their
 *             contacts; submits requests for them and cancels their open
 *             requests.  Not: organizations, enrollment, prefixes, permits,
 *             imports, nor approving, rejecting, applying or verifying;
 *   auditor   reads everything, writes nothing.
 * Reads are scoped in their query (registry.h, struct p25_scope): another
 * organization's objects are not found, as ones that do not exist.  A write
 * naming an object by id that is not one of the member's organizations' is
 * refused (P25_EDENIED) whether it exists or not.
 *
 * Calls return 0 or a negative P25_E* code with p25_service_error() saying
 * why (and p25_service_hint() what the front end may suggest).
 */
#ifndef P25_SERVICE_H
#define P25_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enforce/enforce.h"
#include "enforce/follow.h"
#include "notify/notify.h"
#include "registry/registry.h"
#include "verify/verify.h"

enum p25_role {
	P25_ROLE_OPERATOR,
	P25_ROLE_MEMBER,
	P25_ROLE_AUDITOR,
};

const char *p25_auth_role_name(enum p25_role r);
int p25_auth_role_parse(const char *s, enum p25_role *out);

/* Who acts, as what, for which organizations (members), and when. */
struct p25_auth {
	const char *actor; /* audited with every change */
	enum p25_role role;
	const char *const *orgs; /* a member's organizations (handles) */
	size_t norgs;
	p25_time now; /* 0: the clock */
};

struct p25_service_options {
	/*
	 * Follow every change into this gateway's kernel (enforce/follow.h):
	 * enforce.state_dir and enforce.nflog_group as p25_enforce_opts; its now
	 * is the actor's.
	 */
	bool enforce;
	struct p25_enforce_opts enforce_opts;
	/*
	 * Notices (notify/notify.h): when not NULL and enabled, every request's
	 * step queues its notices in the step's own transaction.  The
	 * configuration stays the caller's, alive as long as the service.
	 */
	const struct p25_notify_config *notify;
};

struct p25_service;

/* The service over an open registry, which stays the caller's. */
int p25_service_open(struct p25_registry *reg, const struct p25_service_options *opt,
                     struct p25_service **out);
void p25_service_close(struct p25_service *svc);

/* Why the last call failed, and what the front end may suggest (registry.h, struct p25_hint). */
const char *p25_service_error(const struct p25_service *svc);
const struct p25_hint *p25_service_hint(const struct p25_service *svc);
/* A warning left by the last successful call (e.g. a normalized prefix), or "", and its hint. */
const char *p25_service_warning(const struct p25_service *svc);
const struct p25_hint *p25_service_warning_hint(const struct p25_service *svc);

/*
 * What followed the last successful change (reads leave it, and the
 * warning, as they were).  enforced: enforcement ran
 * (on, and the change committed); rc -1: the change stands, but the kernel
 * was not updated (error says why; a sync will catch up).
 */
struct p25_service_followup {
	bool enforced;
	int rc;
	char error[600];
	struct p25_follow_result follow;
};
const struct p25_service_followup *p25_service_followup(const struct p25_service *svc);

/* ---- organizations, their space and contacts ---- */

int p25_service_org_add(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                        const char *name, enum p25_mode mode, enum p25_action action);
/* Enrolls (enrollment active), suspends, renames, changes the mode or action. */
int p25_service_org_set(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                        const struct p25_org_change *change);
int p25_service_org_remove(struct p25_service *svc, const struct p25_auth *auth,
                           const char *handle, bool force);
int p25_service_prefix_add(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                           const char *prefix, const char *description, unsigned flags);
int p25_service_prefix_remove(struct p25_service *svc, const struct p25_auth *auth,
                              const char *prefix);
int p25_service_contact_add(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                            const char *name, const char *email, const char *phone,
                            enum p25_contact_role role, int64_t *id);
int p25_service_contact_remove(struct p25_service *svc, const struct p25_auth *auth, int64_t id);

/* ---- permits ---- */

int p25_service_permit_add(struct p25_service *svc, const struct p25_auth *auth,
                           const struct p25_permit_spec *spec, int64_t *id);
int p25_service_permit_remove(struct p25_service *svc, const struct p25_auth *auth, int64_t id);
int p25_service_permit_set_expiry(struct p25_service *svc, const struct p25_auth *auth,
                                  int64_t id, p25_time expires);
int p25_service_import_file(struct p25_service *svc, const struct p25_auth *auth,
                            const char *path, const struct p25_import_options *opt,
                            struct p25_import_result *result);
int p25_service_import_buffer(struct p25_service *svc, const struct p25_auth *auth,
                              const char *data, size_t len, const struct p25_import_options *opt,
                              struct p25_import_result *result);

/* ---- requests ---- */

/* A member's request is in their own name: requested_by, if given, must be the actor. */
int p25_service_request_submit(struct p25_service *svc, const struct p25_auth *auth,
                               const struct p25_request_spec *spec, int64_t *id);
int p25_service_request_approve(struct p25_service *svc, const struct p25_auth *auth, int64_t id);
int p25_service_request_reject(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                               const char *reason);
/* no_servers: as org set's, for a sign-up that leaves the org without a valid permit. */
int p25_service_request_apply(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                              bool no_servers);
/* Marks an applied request verified by hand, without checks. */
int p25_service_request_verify(struct p25_service *svc, const struct p25_auth *auth, int64_t id);
/* A submitted or approved request withdrawn, by its member or the operator. */
int p25_service_request_cancel(struct p25_service *svc, const struct p25_auth *auth, int64_t id);

/*
 * ---- verifying what a request changed (port25 verify --request) ----
 *
 * The plan: an applied request's targets (p25_verify_request_targets: its
 * servers through the permits it created must be permitted, its removed
 * addresses blocked); a request in any other status is refused
 * (P25_ECONFLICT, saying why) and nothing is to be checked.  *request is the
 * request as shown; both are the caller's to free.
 */
int p25_service_verify_plan(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_model *m, int64_t id, json_t **request,
                            struct p25_verify_target **targets, size_t *n);

enum p25_verify_outcome {
	P25_OUTCOME_VERIFIED, /* every check passed and a message went through: marked verified */
	P25_OUTCOME_FAILED,   /* a check failed: stays applied */
	P25_OUTCOME_EMPTY,    /* nothing to check: stays applied */
	P25_OUTCOME_UNSENT,   /* the policy passed, but no test exchanger: nothing sent, not marked */
	P25_OUTCOME_UNMARKED, /* every check passed, but marking failed (the error says why) */
};

struct p25_request_verdict {
	enum p25_verify_outcome outcome;
	size_t passed, failed;
	/* why not verified: "192.0.2.78 smtp/25 failed and 1 more", ...; "" when verified */
	char reason[1024];
};
/*
 * When a request counts as verified: every one of its checks (results, in
 * the order of the plan's targets) passed, there was one, and the checks
 * went through a test exchanger (o->nmx > 0: a message delivered, or for a
 * removal port 25 refused).  Then it is marked verified, as
 * p25_service_request_verify.  0 with the verdict, or a negative code when
 * marking failed (outcome UNMARKED).
 */
int p25_service_verify_verdict(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                               const struct p25_verify_opts *o,
                               const struct p25_verify_result *results, size_t n,
                               struct p25_request_verdict *out);

/*
 * ---- mail with members (notify/notify.h) ----
 *
 * Notices: operators and auditors read them; operators retry and cancel.
 * Campaigns: operators start them; operators and auditors read them.
 */
int p25_service_notice_list(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_notice_filter *filter, json_t **out);
int p25_service_notice_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            json_t **out);
/* *requeued: the ids queued (the notice itself, or the new ones of an undeliverable one). */
int p25_service_notice_retry(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **requeued);
int p25_service_campaign_start(struct p25_service *svc, const struct p25_auth *auth,
                               const struct p25_campaign_spec *spec, int64_t *id);
/* id 0: the latest campaign. */
int p25_service_campaign_status(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                                json_t **out);
int p25_service_campaign_list(struct p25_service *svc, const struct p25_auth *auth,
                              json_t **out);
int p25_service_inbound_list(struct p25_service *svc, const struct p25_auth *auth, int limit,
                             json_t **out);

/*
 * One message to the verification address, as the operator's MX handed it
 * over (verify-inbox): the connecting address the MX recorded (never a
 * header the sender wrote) and the token of the recipient or subject.
 *   verified         the token's applied request, and the address is one of
 *                    the servers it permitted: the request is marked
 *                    verified (audited) with the server and the time, and
 *                    its confirmation notice is queued, in one transaction;
 *   policy-failure   the address is one the policy blocks: mail from it
 *                    should never have reached the MX; the operator is sent
 *                    a notice (whatever the token);
 *   campaign-reply   a campaign's token: the org has answered;
 *   others           untrusted-path, submission, no-token, unknown-token,
 *                    not-applied, already-verified, not-request-server,
 *                    unparseable: nothing changes.
 * Every message is recorded (inbound) with its outcome.  0 with *out, or a
 * negative code when the registry failed (the MX should try again).
 */
struct p25_inbound_result {
	char outcome[32];
	char detail[512];
	char connecting[64];
	char org[64];
	int64_t request_id;
};
int p25_service_inbound(struct p25_service *svc, const struct p25_auth *auth,
                        const char *mail_from, const char *rcpt, const char *data, size_t len,
                        struct p25_inbound_result *out);

/* ---- reads ---- */

int p25_service_org_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out);
int p25_service_org_show(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                         json_t **out);
int p25_service_prefix_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                            json_t **out);
int p25_service_contact_list(struct p25_service *svc, const struct p25_auth *auth,
                             const char *org, json_t **out);
/* filter->scope is the actor's, whatever the caller put there. */
int p25_service_permit_list(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_permit_filter *filter, json_t **out);
int p25_service_permit_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            json_t **out);
int p25_service_request_list(struct p25_service *svc, const struct p25_auth *auth,
                             const struct p25_request_filter *filter, json_t **out);
int p25_service_request_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **out);
int p25_service_audit_list(struct p25_service *svc, const struct p25_auth *auth, int limit,
                           json_t **out);
/* The whole registry: operators and auditors only. */
int p25_service_export(struct p25_service *svc, const struct p25_auth *auth, json_t **out);

#endif
