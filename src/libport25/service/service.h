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
 * What may happen to a request, and which of it a member may do, is the
 * registry's one table of transitions (registry.h, p25_request_transition),
 * read here for the authorization and by the registry for the move.
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
	/* A read-only credential (an API token so made): every change is refused. */
	bool read_only;
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
/* Its name, e-mail, phone or role (a member: of their organizations). */
int p25_service_contact_set(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            const struct p25_contact_change *change);

/* ---- permits ---- */

int p25_service_permit_add(struct p25_service *svc, const struct p25_auth *auth,
                           const struct p25_permit_spec *spec, int64_t *id);
int p25_service_permit_remove(struct p25_service *svc, const struct p25_auth *auth, int64_t id);
/* The permit of that address (registry.h, p25_permit_remove_address); *id: which it was. */
int p25_service_permit_remove_address(struct p25_service *svc, const struct p25_auth *auth,
                                      const char *address, int64_t *id);
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
/* A sign-up applied now, its activation at the time agreed with the member (0: now). */
int p25_service_request_apply_at(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                                 bool no_servers, p25_time activate_at);
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
 * The scheduled activations due at the actor's now, carried out
 * (p25_org_activate_due; operators only, whoever runs the clock): *out, one
 * object per org due (may be NULL).  Returns how many were due, or a
 * negative code; what followed (enforcement) as after any change.
 */
int p25_service_activate_due(struct p25_service *svc, const struct p25_auth *auth,
                             json_t **out);

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

/* The organizations whose activation is scheduled, soonest first. */
int p25_service_org_upcoming(struct p25_service *svc, const struct p25_auth *auth, json_t **out);

int p25_service_org_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out);
int p25_service_org_show(struct p25_service *svc, const struct p25_auth *auth, const char *handle,
                         json_t **out);
/* The org's blocked attempts per UTC day, the last days up to today (registry.h). */
int p25_service_org_attempts(struct p25_service *svc, const struct p25_auth *auth,
                             const char *handle, int days, json_t **out);
/* The org's latest pre-block analysis with its report per host (registry.h). */
int p25_service_org_analysis(struct p25_service *svc, const struct p25_auth *auth,
                             const char *handle, json_t **out);
int p25_service_prefix_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                            json_t **out);
int p25_service_contact_list(struct p25_service *svc, const struct p25_auth *auth,
                             const char *org, json_t **out);
/* A registered prefix ("192.0.2.0/24") and a contact, in the actor's scope. */
int p25_service_prefix_show(struct p25_service *svc, const struct p25_auth *auth,
                            const char *prefix, json_t **out);
int p25_service_contact_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **out);
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
/* The audit log with the organization and address of each change, filtered (registry.h). */
int p25_service_audit_query(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_audit_filter *filter, json_t **out);
/* The whole registry: operators and auditors only. */
int p25_service_export(struct p25_service *svc, const struct p25_auth *auth, json_t **out);

/* ---- backups (p25_registry_backup, p25_registry_restore): the operator's ---- */

int p25_service_backup(struct p25_service *svc, const struct p25_auth *auth, const char *path);
/* What followed the restore (enforcement) as after any change; *restored as registry.h says. */
int p25_service_restore(struct p25_service *svc, const struct p25_auth *auth, const char *path,
                        json_t **restored);

/*
 * ---- what the HTTP API reads beyond the registry's objects ----
 *
 * explain: the decision for an address at auth's now, both directions, as
 * `port25 explain --json` prints one ({"address", "organization", "space",
 * "outbound", "inbound", "submission", "expired_permits"}).  A member may
 * explain only addresses in the space of an organization of theirs (any
 * other, another's or no one's, is refused alike, P25_EDENIED).  The policy
 * snapshot is kept between calls and rebuilt when the registry changed (any
 * connection's commit) or a permit expired.
 */
int p25_service_explain(struct p25_service *svc, const struct p25_auth *auth, const char *address,
                        json_t **out);
/* The same object for a snapshot the caller holds (port25 explain), unscoped. */
struct p25_policy;
json_t *p25_explain_json(const struct p25_policy *pol, const struct p25_addr *a, p25_time now);
/* Watch's alerts and per-host summaries (watch/watch.h), in the actor's scope. */
int p25_service_alert_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                           const char *kind, const char *status, json_t **out);
int p25_service_alert_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                           json_t **out);
int p25_service_host_list(struct p25_service *svc, const struct p25_auth *auth, const char *org,
                          int limit, json_t **out);

/*
 * ---- accounts of port25 serve (registry/accounts.h) ----
 *
 * The operator manages every account and token.  Anyone else manages only
 * their own credentials: their password, name and e-mail, and their own API
 * tokens (adding and revoking them); a read-only credential none of it.  An
 * auditor's or member's listing of users and tokens holds their own only.
 */
struct p25_user_spec {
	const char *name, *role, *full_name, *email;
	const char *password; /* plain text, hashed here (Argon2id); NULL: no password login */
	const char *const *orgs;
	size_t norgs;
};
int p25_service_user_add(struct p25_service *svc, const struct p25_auth *auth,
                         const struct p25_user_spec *spec);
struct p25_user_change {
	const char *role, *full_name, *email; /* NULL: unchanged */
	const char *password;                 /* plain text; NULL: unchanged */
	bool clear_password;
	bool set_orgs;
	const char *const *orgs;
	size_t norgs;
	bool set_disabled, disabled;
};
int p25_service_user_set(struct p25_service *svc, const struct p25_auth *auth, const char *name,
                         const struct p25_user_change *change);
int p25_service_user_remove(struct p25_service *svc, const struct p25_auth *auth,
                            const char *name);
int p25_service_user_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out);
int p25_service_user_show(struct p25_service *svc, const struct p25_auth *auth, const char *name,
                          json_t **out);

struct p25_token_request {
	const char *user; /* NULL or "": the actor */
	const char *description;
	bool read_only;
	p25_time expires; /* 0: never */
	const char *const *allowed; /* source prefixes; none: anywhere */
	size_t nallowed;
};
/* The secret is in *secret once, here; the registry keeps its hash. */
#define P25_SERVICE_SECRET_MAX 64
int p25_service_token_add(struct p25_service *svc, const struct p25_auth *auth,
                          const struct p25_token_request *req, char secret[P25_SERVICE_SECRET_MAX],
                          int64_t *id);
/* user NULL: every one the actor may see. */
int p25_service_token_list(struct p25_service *svc, const struct p25_auth *auth, const char *user,
                           json_t **out);
int p25_service_token_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                           json_t **out);
int p25_service_token_revoke(struct p25_service *svc, const struct p25_auth *auth, int64_t id);

#endif
