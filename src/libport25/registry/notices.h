/*
 * Mail with members, as the registry keeps it (schema v8, "notices"):
 *
 *   notice        the outbox: one row per recipient, with the template, the
 *                 event's data (JSON) and a Message-ID fixed when queued;
 *   campaign      an announcement to many organizations, each with a
 *                 personal token, and who has answered;
 *   verification  the token of an applied request's notice, and what
 *                 verified it (the server and the time);
 *   inbound       every message verify-inbox was handed, with its outcome.
 *
 * Notices of registry changes are queued in the change's own transaction:
 * the registry calls a change hook with every change record it writes,
 * inside that transaction (p25_registry_set_change_hook), and what the hook
 * queues (the _tx calls below) commits or rolls back with the change.
 */
#ifndef P25_REGISTRY_NOTICES_H
#define P25_REGISTRY_NOTICES_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/time.h"

struct p25_registry;
struct p25_change;
struct p25_actor;

/*
 * Called with every change record the registry writes, inside its
 * transaction; a negative return rolls the change back.  The hook may read
 * the registry and call the _tx functions of this header, never open a
 * transaction.  NULL removes it.
 */
typedef int (*p25_change_hook)(void *ctx, struct p25_registry *reg, const struct p25_change *c);
void p25_registry_set_change_hook(struct p25_registry *reg, p25_change_hook fn, void *ctx);

/* fn(ctx, reg) in one transaction of its own: committed when it returns 0. */
int p25_registry_transaction(struct p25_registry *reg, int (*fn)(void *ctx, struct p25_registry *reg),
                             void *ctx);

/* ---- the outbox ---- */

enum p25_notice_state {
	P25_NOTICE_QUEUED,
	P25_NOTICE_SENDING,       /* claimed by a sender, until its lease ends */
	P25_NOTICE_SENT,          /* the relay accepted it */
	P25_NOTICE_FAILED,        /* refused for good (5xx), or retried too long */
	P25_NOTICE_UNDELIVERABLE, /* nobody to send it to: the org has no such contact */
	P25_NOTICE_CANCELLED,     /* by the operator, or re-queued to contacts added since */
};
const char *p25_notice_state_name(enum p25_notice_state s);
int p25_notice_state_parse(const char *s, enum p25_notice_state *out);

struct p25_notice_spec {
	const char *key;       /* queued once per key (NULL: no key) */
	const char *template;  /* the template's name: request-applied, abuse-report, ... */
	const char *org;       /* NULL: the operator's */
	const char *recipient; /* NULL: undeliverable, error says why */
	const char *recipient_name;
	const char *roles;     /* the contact roles it was meant for: "technical,security" */
	const char *reference; /* the ticket-style reference; "" or NULL: P25-<id> */
	json_t *data;          /* the event: what the template shows */
	const char *domain;    /* of the Message-ID */
	const char *error;     /* why undeliverable */
	int64_t change_seq;    /* the change that caused it, or 0 */
};
/*
 * Queue one notice in the caller's transaction (a change hook, or
 * p25_registry_transaction).  1 queued (*id), 0 when a notice of that key
 * exists already, or a negative P25_E* code.
 */
int p25_notice_queue_tx(struct p25_registry *reg, p25_time now, const struct p25_notice_spec *spec,
                        int64_t *id);

/*
 * The next due notice for a sender: one that is queued and due at now, or
 * sending under a lease that ended (its sender died) or held by an owner
 * that dead_owner (when not NULL) says is gone.  Claimed in one transaction:
 * state sending, lease_owner owner until now + lease seconds, attempts + 1.
 * 1 with *out (the notice as shown), 0 when none is due.
 */
int p25_notice_claim(struct p25_registry *reg, const char *owner, p25_time now, int64_t lease,
                     bool (*dead_owner)(const char *owner), json_t **out);
enum p25_notice_outcome {
	P25_NOTICE_DELIVERED,
	P25_NOTICE_RETRY,  /* a transient failure: again at next */
	P25_NOTICE_REFUSED, /* a permanent one */
};
/* The sender's result, only while owner still holds the claim (0), else P25_ECONFLICT. */
int p25_notice_finish(struct p25_registry *reg, int64_t id, const char *owner, p25_time now,
                      enum p25_notice_outcome outcome, int smtp_code, const char *error,
                      p25_time next);
/*
 * The earliest time a queued notice is due (0: none queued; 1: one is due at
 * once).  Due times are the sender's clock: a notice is due when queued
 * whatever time its event carries (PORT25_NOW).
 */
int p25_notice_next_due(struct p25_registry *reg, p25_time *next);

struct p25_notice_filter {
	bool by_state;
	enum p25_notice_state state;
	const char *org;
	const char *template;
	int limit; /* <= 0: all */
};
int p25_notice_list(struct p25_registry *reg, const struct p25_notice_filter *f, json_t **out);
int p25_notice_show(struct p25_registry *reg, int64_t id, json_t **out);
/*
 * An operator's retry, audited: a failed notice is queued again, due now.
 * An undeliverable one is queued anew to the contacts its roles name
 * today (recipients: who those are, one notice each) and itself cancelled;
 * still nobody: refused, saying so.  Sent and queued ones are refused.
 */
int p25_notice_retry(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                     const char *domain, json_t **requeued);

/* The org's contacts with any of roles ("security,technical"), an array of {name, email, role}. */
int p25_notice_contacts(struct p25_registry *reg, const char *org, const char *roles,
                        json_t **out);
/* The org's name (its handle when unknown), into buf. */
int p25_notice_org_name(struct p25_registry *reg, const char *org, char *buf, size_t len);

/* ---- verification of applied requests by the member's message ---- */

int p25_verification_create_tx(struct p25_registry *reg, int64_t request_id, const char *token,
                               const char *address, p25_time deadline, p25_time now);
/* {request_id, org, status, token, address, deadline, verified, server, message_id}; P25_ENOTFOUND. */
int p25_verification_by_token(struct p25_registry *reg, const char *token, json_t **out);
int p25_verification_show(struct p25_registry *reg, int64_t request_id, json_t **out);
int p25_verification_mark_tx(struct p25_registry *reg, int64_t request_id, const char *server,
                             const char *message_id, p25_time now);

struct p25_inbound_record {
	p25_time received;
	const char *message_id, *mail_from, *rcpt, *subject, *connecting, *token;
	const char *outcome; /* verified, policy-failure, no-token, unknown-token, ... */
	const char *org;
	int64_t request_id;
	const char *detail;
};
int p25_inbound_record_tx(struct p25_registry *reg, const struct p25_inbound_record *r, int64_t *id);
int p25_inbound_list(struct p25_registry *reg, int limit, json_t **out);

/* ---- campaigns ---- */

int p25_campaign_create_tx(struct p25_registry *reg, const char *template, p25_time deadline,
                           const char *reminders, const char *created_by, p25_time now,
                           int64_t *id);
int p25_campaign_org_add_tx(struct p25_registry *reg, int64_t campaign, const char *org,
                            const char *token);
/*
 * Marks org as having answered every campaign it has not answered yet:
 * how ("request", "mail"), ref (the request's id, a Message-ID).
 * Returns how many campaigns it answered.
 */
int p25_campaign_answer_tx(struct p25_registry *reg, const char *org, const char *how,
                           const char *ref, p25_time now);
/* The campaign (0: the latest) with its orgs, days remaining at now, and who has not answered. */
int p25_campaign_status(struct p25_registry *reg, int64_t id, p25_time now, json_t **out);
/* Every campaign, newest first, each as p25_campaign_status gives it. */
int p25_campaign_list(struct p25_registry *reg, p25_time now, json_t **out);
/* {campaign, org, deadline, answered}; P25_ENOTFOUND. */
int p25_campaign_by_token(struct p25_registry *reg, const char *token, json_t **out);

/* ---- abuse reports of watch's alerts ---- */

/*
 * The open alerts of org (every org: NULL) not yet reported, as
 * p25_alert_list shows them, and when org was last sent an abuse report
 * (0: never).
 */
int p25_notice_unreported_alerts(struct p25_registry *reg, const char *org, json_t **out);
int p25_notice_last_report(struct p25_registry *reg, const char *org, p25_time *at);
int p25_notice_alert_reported_tx(struct p25_registry *reg, int64_t alert_id, const char *reference,
                                 p25_time now);

#endif
