/*
 * The registry: organizations, their address space, contacts, permitted
 * senders, requests and the audit log, in a store reached through the
 * storage seam (storage/storage.h): today one SQLite file (WAL, foreign keys
 * on, schema versioned by the .sql files of storage/schema/sqlite/).
 *
 * Every mutating call runs in one transaction and writes its audit record in
 * that same transaction: it either happens whole, audited, or not at all.
 * Calls return 0 on success or a negative P25_E* code, and leave a message
 * naming the input and what is wrong in p25_registry_error().
 */
#ifndef P25_REGISTRY_H
#define P25_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "model/model.h"
#include "util/time.h"

enum {
	P25_OK = 0,
	P25_EINVAL = -1,    /* bad input: malformed, out of range, refused by a rule */
	P25_ENOTFOUND = -2, /* the named object does not exist */
	P25_ECONFLICT = -3, /* clashes with what is there (overlap, duplicate, wrong state) */
	P25_EDB = -4,       /* storage or system failure */
	P25_EDENIED = -5,   /* not this actor's to do (service/service.h) */
};

struct p25_registry;

/* Who acts and when: every change is audited with both. */
struct p25_actor {
	const char *name;
	p25_time now;
};

/*
 * Opens, or creates (with its directories, 0750), the registry at path.  A new
 * registry is 0600, or 0640 when its directory belongs to the group port25,
 * whatever the umask.  Opening one that every user can read leaves a warning
 * (p25_registry_warning) until the first change.
 */
int p25_registry_open(const char *path, struct p25_registry **out, char *err, size_t errlen);
void p25_registry_close(struct p25_registry *reg);
const char *p25_registry_error(const struct p25_registry *reg);
int p25_registry_schema_version(struct p25_registry *reg);
/*
 * A number that changes whenever another connection (of this process or
 * any other) has committed to the registry since this one last asked
 * (PRAGMA data_version): reads no table, so a daemon can ask every second.
 */
int p25_registry_data_version(struct p25_registry *reg, int64_t *out);

/* A consistent read of everything the policy engine and compilers need. */
int p25_registry_load_model(struct p25_registry *reg, struct p25_model *out);

/* Permits expiring within this window count as "expiring" in listings. */
#define P25_EXPIRING_WINDOW (14 * P25_DAY)
/* Requests are due this long after submission: new permits within 48 hours. */
#define P25_REQUEST_DUE (48 * P25_HOUR)
/* Permits wider than these need force: a permit is for hosts, not networks. */
#define P25_PERMIT_MAX_V4 24
#define P25_PERMIT_MAX_V6 48

enum p25_contact_role {
	P25_ROLE_SECURITY,
	P25_ROLE_TECHNICAL,
	P25_ROLE_ADMINISTRATIVE,
};

enum p25_request_type {
	P25_REQ_SIGNUP,
	P25_REQ_ADD_PERMIT,
	P25_REQ_REMOVE_PERMIT,
};

enum p25_request_status {
	P25_REQ_SUBMITTED,
	P25_REQ_APPROVED,
	P25_REQ_APPLIED,
	P25_REQ_VERIFIED,
	P25_REQ_REJECTED,
	P25_REQ_CANCELLED, /* withdrawn while submitted or approved */
};

const char *p25_role_name(enum p25_contact_role r);
int p25_role_parse(const char *s, enum p25_contact_role *out);
const char *p25_request_type_name(enum p25_request_type t);
int p25_request_type_parse(const char *s, enum p25_request_type *out);
const char *p25_request_status_name(enum p25_request_status s);
int p25_request_status_parse(const char *s, enum p25_request_status *out);

/* "active", "expiring" (within window of now) or "expired"; expires 0 is never. */
const char *p25_permit_status(p25_time expires, p25_time now, int64_t window);

/* A warning left by the last successful call (e.g. a normalized prefix), or "". */
const char *p25_registry_warning(const struct p25_registry *reg);

/*
 * What a front end may suggest with a refusal or a warning.  The library's
 * messages name no command line option or command: where one would help,
 * the message carries a hint instead, a code with the organization or id it
 * concerns, and where its words belong in the message: before the last tail
 * characters, in place of the span characters before them (0: inserted).
 * A message wrapped in a prefix ("applying request 3: ...") keeps its hint.
 */
enum p25_hint_code {
	P25_HINT_NONE,
	P25_HINT_LIST_ORGS,         /* an org that is not there: the list of them */
	P25_HINT_LIST_PREFIXES,     /* ... a prefix */
	P25_HINT_LIST_CONTACTS,     /* ... a contact */
	P25_HINT_LIST_PERMITS,      /* ... a permit */
	P25_HINT_LIST_ORG_PERMITS,  /* ... a permit of org */
	P25_HINT_LIST_REQUESTS,     /* ... a request */
	P25_HINT_NORMALIZE,         /* host bits: accepted if normalized */
	P25_HINT_FORCE_WIDE,        /* a permit wider than /24 or /48: accepted if forced */
	P25_HINT_FORCE_REMOVE,      /* an org with prefixes or permits: removed with them if forced */
	P25_HINT_ADD_PREFIX,        /* org has no prefixes: add them */
	P25_HINT_ADD_SECURITY,      /* org has no security contact: add one */
	P25_HINT_NO_SERVERS,        /* org has no valid permit: register its servers, or confirm none */
	P25_HINT_REGISTER_SERVERS,  /* (warning) unpermitted servers of org: register them */
	P25_HINT_EXTEND_PERMIT,     /* permit id holds the address until a time: change its expiry */
	P25_HINT_REQUEST_PERMITS,   /* a removal names permits, by id or address */
	P25_HINT_REQUEST_SERVERS,   /* a request lists servers, one by one or from a file */
	P25_HINT_REQUEST_SERVER,    /* a request lists servers (no more said) */
	P25_HINT_IMPORT_ORG_COLUMN, /* a row without an org: a column, or the import's org */
	P25_HINT_IMPORT_ORG_HEADER, /* the org column, needed unless the import names the org */
	P25_HINT_IMPORT_ORG_NAMED,  /* (span) the import names another org than the row or file */
	P25_HINT_LIST_ALERTS,       /* an alert that is not there: the list of them */
};

struct p25_hint {
	enum p25_hint_code code;
	char org[64];
	int64_t id;
	size_t tail, span;
};

/* The hint of the last failure's message, and of the warning. */
const struct p25_hint *p25_registry_hint(const struct p25_registry *reg);
const struct p25_hint *p25_registry_warning_hint(const struct p25_registry *reg);

/*
 * Which organizations a read may see: NULL, every one; else only the orgs
 * named (none when n is 0).  The listings and shows ending in _in take one
 * and filter in their query, so that a caller that forgets a check still
 * cannot read another organization's rows: an object outside the scope is
 * not found, as one that does not exist.
 */
struct p25_scope {
	const char *const *orgs;
	size_t n;
};

/*
 * Organizations.  Listings and shows return new JSON values with stable keys
 * (the same objects `--json` prints); the caller owns them.
 */
int p25_org_add(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                const char *name, enum p25_mode mode, enum p25_action action);

struct p25_org_change {
	const char *name; /* NULL: unchanged */
	bool set_mode, set_action, set_enrollment;
	enum p25_mode mode;
	enum p25_action action;
	enum p25_enrollment enrollment;
	/*
	 * Becoming active needs a security contact and a valid permit: without a
	 * permit every host of the org would be blocked, its mail servers too.
	 * no_servers confirms that none of its hosts sends mail.  The call leaves
	 * a warning (p25_registry_warning) when the latest analysis of the org's
	 * traffic found mail servers no valid permit covers.
	 */
	bool no_servers;
	/*
	 * With enrollment active: activate at this time, agreed with the member,
	 * not now (0: now).  The rules are checked now and again when it is due
	 * (p25_org_activate_due); setting the enrollment again, to anything,
	 * replaces the schedule.  The org's JSON shows it as "activation".
	 */
	p25_time activate_at;
};
int p25_org_set(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                const struct p25_org_change *change);
/* Refused while the org has prefixes or permits, unless force (which removes them too). */
int p25_org_remove(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
                   bool force);
int p25_org_list(struct p25_registry *reg, json_t **out);
int p25_org_list_in(struct p25_registry *reg, const struct p25_scope *scope, json_t **out);
/* The org with its prefixes, contacts, permits (status at now) and open requests. */
int p25_org_show(struct p25_registry *reg, const char *handle, p25_time now, json_t **out);
int p25_org_show_in(struct p25_registry *reg, const char *handle, p25_time now,
                    const struct p25_scope *scope, json_t **out);

/*
 * Scheduled activations (schedule.c).  The orgs whose activation is
 * scheduled, soonest first, as org list rows ("upcoming").
 */
int p25_org_upcoming_in(struct p25_registry *reg, const struct p25_scope *scope, json_t **out);
/* The earliest scheduled activation (past ones too: they are due), or 0. */
int p25_registry_next_activation(struct p25_registry *reg, p25_time *next);
/*
 * Carry out the activations due at now, each in its own transaction,
 * audited in the name of whoever scheduled it: the rules of activation are
 * checked again, and an org that no longer meets them is not activated (its
 * schedule is dropped, the refusal audited).  *out (may be NULL): one
 * object per org, {"org", "at", "by", "activated": bool, "reason", "warning"}.
 * Returns how many were due, or a negative P25_E* code (storage).
 */
int p25_org_activate_due(struct p25_registry *reg, p25_time now, json_t **out);

/* flags: P25_PARSE_NORMALIZE accepts host bits, leaving a warning. */
int p25_prefix_add(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                   const char *prefix, const char *description, unsigned flags);
/* Refused while permits lie inside the prefix. */
int p25_prefix_remove(struct p25_registry *reg, const struct p25_actor *who, const char *prefix);
int p25_prefix_list(struct p25_registry *reg, const char *org, json_t **out);
int p25_prefix_list_in(struct p25_registry *reg, const char *org, const struct p25_scope *scope,
                       json_t **out);
/* The prefix as listed ({"org", "prefix", ...}); it must parse and be registered. */
int p25_prefix_show_in(struct p25_registry *reg, const char *prefix, const struct p25_scope *scope,
                       json_t **out);

int p25_contact_add(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                    const char *name, const char *email, const char *phone,
                    enum p25_contact_role role, int64_t *id);
int p25_contact_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
/* NULL fields are unchanged; the last security contact of an active org keeps its role. */
struct p25_contact_change {
	const char *name, *email, *phone;
	bool set_role;
	enum p25_contact_role role;
};
int p25_contact_set(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                    const struct p25_contact_change *change);
int p25_contact_list(struct p25_registry *reg, const char *org, json_t **out);
int p25_contact_list_in(struct p25_registry *reg, const char *org, const struct p25_scope *scope,
                        json_t **out);
int p25_contact_show_in(struct p25_registry *reg, int64_t id, const struct p25_scope *scope,
                        json_t **out);

struct p25_permit_spec {
	const char *org;
	const char *address; /* an address or a prefix inside the org's space */
	enum p25_permit_kind kind;
	const char *description;
	const char *requested_by; /* NULL or "": the actor */
	const char *approved_by;  /* NULL or "": the actor */
	p25_time expires;         /* 0: never */
	bool force;               /* allow prefixes wider than /24 or /48 */
};
int p25_permit_add(struct p25_registry *reg, const struct p25_actor *who,
                   const struct p25_permit_spec *spec, int64_t *id);
int p25_permit_remove(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
/*
 * By its address (an address or a prefix, as permit list shows it): the
 * permit of exactly that address.  Not found names the permit that holds
 * the address when a wider one does.
 */
int p25_permit_find(struct p25_registry *reg, const char *address, int64_t *id);
int p25_permit_remove_address(struct p25_registry *reg, const struct p25_actor *who,
                              const char *address, int64_t *id);
/* expires 0: never. */
int p25_permit_set_expiry(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                          p25_time expires);

struct p25_permit_filter {
	const char *org;         /* NULL: all */
	p25_time now;            /* status is relative to this */
	int64_t expiring_within; /* > 0: only permits expiring within this many seconds */
	bool expired;            /* only expired permits */
	const struct p25_scope *scope; /* NULL: every org's */
};
int p25_permit_list(struct p25_registry *reg, const struct p25_permit_filter *filter, json_t **out);
int p25_permit_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out);
int p25_permit_show_in(struct p25_registry *reg, int64_t id, p25_time now,
                       const struct p25_scope *scope, json_t **out);
/*
 * The prefixes of org's permits valid at now that overlap p (one org's
 * permits may nest): what of p is still permitted once a permit of it
 * left.  *out is malloc'd (NULL when none).
 */
int p25_permits_covering(struct p25_registry *reg, const char *org, const struct p25_prefix *p,
                         p25_time now, struct p25_prefix **out, size_t *n);
/* The earliest permit expiry after now, or 0 when none is ahead. */
int p25_registry_next_expiry(struct p25_registry *reg, p25_time now, p25_time *next);

/* One server on a request: what a member writes on the sign-up or variance form. */
struct p25_request_server {
	const char *address;
	enum p25_permit_kind kind;
	const char *description;
	p25_time expires; /* 0: never; a temporary variance becomes a permit with this expiry */
};

/*
 * The servers of a request as a member gives them, from --server values and
 * files; the list owns its strings.  Both read the columns of an import
 * file (org, address, kind, description, expires; not requested_by and
 * approved_by, which a request has once) through import's reader (the same
 * header names, or a bare list of addresses) with the same rules: the kind
 * defaults to mail-server and the description to the kind; an unknown
 * column, a bad kind or a bad expiry is refused, naming the file and line
 * (or the --server value).  0, P25_EINVAL (err says why) or P25_EDB.
 */
struct p25_server_list {
	struct p25_request_server *servers;
	size_t n;
	char **strings;
	size_t nstrings;
};
void p25_server_list_free(struct p25_server_list *l);
/*
 * One server given as one CSV record: ADDRESS[,KIND[,DESCRIPTION[,EXPIRES]]].
 * A description holding commas is quoted: 192.0.2.9,app,"Relay, north wing",2026-12-31.
 * label names where the value came from in messages (the CLI: "--server").
 */
int p25_server_list_add_arg(struct p25_server_list *l, const char *label, const char *arg,
                            p25_time now, char *err, size_t errlen);
/* CSV with a header row, or a bare list; a row naming another org than org is refused. */
int p25_server_list_add_csv(struct p25_server_list *l, const char *data, size_t len,
                            const char *name, const char *org, p25_time now, char *err,
                            size_t errlen);
int p25_server_list_add_file(struct p25_server_list *l, const char *path, const char *org,
                             p25_time now, char *err, size_t errlen);

struct p25_request_spec {
	const char *org;
	enum p25_request_type type;
	const char *requested_by; /* NULL or "": the actor */
	const char *note;
	const struct p25_request_server *servers; /* signup, add-permit */
	size_t nservers;
	const int64_t *permit_ids; /* remove-permit */
	size_t npermit_ids;
	const char *const *addresses; /* remove-permit, by the permitted address */
	size_t naddresses;
};
int p25_request_submit(struct p25_registry *reg, const struct p25_actor *who,
                       const struct p25_request_spec *spec, int64_t *id);
int p25_request_approve(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
int p25_request_reject(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                       const char *reason);
/* Withdraws a submitted or approved request (nothing was applied). */
int p25_request_cancel(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
/*
 * Creates or removes the permits (and activates a signup) with the status change, or nothing.
 * A sign-up activates the org by the rules of p25_org_set: applying one that leaves the org
 * without a valid permit is refused unless no_servers (p25_request_apply_confirmed).
 */
int p25_request_apply(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
int p25_request_apply_confirmed(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                                bool no_servers);
/*
 * A sign-up applied with its activation scheduled at activate_at (0: now,
 * as p25_request_apply_confirmed): its permits are created now, the org is
 * made active when p25_org_activate_due finds it due.
 */
int p25_request_apply_at(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                         bool no_servers, p25_time activate_at);
int p25_request_verify(struct p25_registry *reg, const struct p25_actor *who, int64_t id);

struct p25_request_filter {
	const char *org; /* NULL: all */
	bool overdue;    /* only open requests past due at now (never a sign-up: it is scheduled) */
	bool by_status;
	enum p25_request_status status;
	p25_time now;
	const struct p25_scope *scope; /* NULL: every org's */
};
int p25_request_list(struct p25_registry *reg, const struct p25_request_filter *filter,
                     json_t **out);
int p25_request_show(struct p25_registry *reg, int64_t id, p25_time now, json_t **out);
int p25_request_show_in(struct p25_registry *reg, int64_t id, p25_time now,
                        const struct p25_scope *scope, json_t **out);
/* The permits request id created that still exist: their ids, ascending (*ids malloc'd). */
int p25_request_permits(struct p25_registry *reg, int64_t id, int64_t **ids, size_t *n);

/*
 * What an analysis of an org's traffic found (port25 analyze): how many of
 * its hosts spoke SMTP and which look like mail servers no permit covers.
 * Activating the org warns while any of those is still unpermitted.  One
 * transaction for all the findings of a run; no audit record (an observation,
 * not a change).  Addresses must parse.
 */
struct p25_analysis_finding {
	const char *org;
	size_t hosts;
	const char *const *unregistered;
	size_t n;
	/* the org's hosts as analyze --json reports them (an array; NULL: none kept) */
	json_t *report;
};
int p25_analysis_record(struct p25_registry *reg, const struct p25_actor *who,
                        const struct p25_analysis_finding *findings, size_t n);
/* The latest of org: {"org", "at", "actor", "hosts", "unregistered": [...]}; NULL if none. */
int p25_analysis_latest(struct p25_registry *reg, const char *org, json_t **out);
/*
 * The same with "report" (the hosts, [] for an analysis recorded before
 * schema v10), for an org in scope: P25_ENOTFOUND for an org out of scope,
 * as for one that does not exist, and for an org never analysed.
 */
int p25_analysis_report_in(struct p25_registry *reg, const char *org,
                           const struct p25_scope *scope, json_t **out);

/*
 * Blocked attempts of an org's hosts per UTC day (watch, schema v10): the
 * days days up to now's, oldest first, zero-filled:
 * {"org", "from", "to", "days": [{"day": "YYYY-MM-DD", "attempts", "out",
 * "in"}]}.  An org out of scope is P25_ENOTFOUND.
 */
#define P25_ATTEMPTS_DAYS_MAX 366
int p25_attempts_daily_in(struct p25_registry *reg, const char *org, int days, p25_time now,
                          const struct p25_scope *scope, json_t **out);

/*
 * The audit log as an operator reads it: each record with the organization
 * and the address (a permit's, a prefix, a request's servers) its change
 * concerns, newest first, filtered.  kind: a change kind ("permit-added"),
 * its family ("permit", "org", "request", ...) or an audit action
 * ("permit.add"); an unknown one is refused (P25_EINVAL, naming the kinds).
 */
struct p25_audit_filter {
	int limit;           /* <= 0: all */
	const char *org;     /* NULL: every org's (and records of none) */
	p25_time since;      /* 0: from the start */
	const char *actor;   /* NULL: anyone's */
	const char *kind;    /* NULL: every kind */
	const struct p25_scope *scope;
};
int p25_audit_query(struct p25_registry *reg, const struct p25_audit_filter *f, json_t **out);

/*
 * Backups.  p25_registry_backup copies the registry to path with SQLite's
 * online backup API: a consistent snapshot while other processes read and
 * write it (WAL), as one file (rollback journal mode), 0600, put in place
 * atomically, its integrity checked.  p25_registry_restore replaces the
 * registry's content with a backup's, after checking that it is a port25
 * registry whose schema this port25 understands (not newer) and whose
 * integrity check passes; it is migrated to the current schema, the change
 * stream carries on from where it was (followers sync), and the restore is
 * audited.  *restored (may be NULL): {"file", "schema_version",
 * "organizations", "permits", "audit_records"} of what was restored.
 */
int p25_registry_backup(struct p25_registry *reg, const char *path);
int p25_registry_restore(struct p25_registry *reg, const struct p25_actor *who, const char *path,
                         json_t **restored);

/* The newest limit audit records first (limit <= 0: all). */
int p25_audit_list(struct p25_registry *reg, int limit, json_t **out);
/* ... of the changes to the orgs in scope only (through their change records). */
int p25_audit_list_in(struct p25_registry *reg, int limit, const struct p25_scope *scope,
                      json_t **out);

/*
 * Typed changes.  Every change to the registry writes, in its transaction
 * and from the same call that writes its audit record, one change record per
 * audit record: what kind of change it was, to which organization and
 * object, with the few fields the followers of the registry act on (a
 * permit's address and expiry, an org's enrollment, mode and action, a
 * request's status) before and after.  Their sequence numbers only grow, so
 * a follower keeps a mark (the last seq it acted on) and asks for what came
 * after it: enforcement, notices and gateway feeds read this stream, never
 * the audit log's JSON.  Watch's alert records are observations, not
 * registry changes: they write no change record.
 */
enum p25_change_kind {
	P25_CHANGE_ORG_ADDED,
	P25_CHANGE_ORG_CHANGED,
	P25_CHANGE_ORG_REMOVED, /* its prefixes, contacts, permits and requests with it */
	P25_CHANGE_PREFIX_ADDED,
	P25_CHANGE_PREFIX_REMOVED,
	P25_CHANGE_CONTACT_ADDED,
	P25_CHANGE_CONTACT_REMOVED,
	P25_CHANGE_PERMIT_ADDED,
	P25_CHANGE_PERMIT_CHANGED, /* its expiry */
	P25_CHANGE_PERMIT_REMOVED,
	P25_CHANGE_PERMIT_SUPERSEDED, /* an expired permit gave way to a new one (related) */
	P25_CHANGE_REQUEST_SUBMITTED,
	P25_CHANGE_REQUEST_APPROVED,
	P25_CHANGE_REQUEST_REJECTED,
	P25_CHANGE_REQUEST_APPLIED,
	P25_CHANGE_REQUEST_VERIFIED,
	P25_CHANGE_REQUEST_CANCELLED,
	P25_CHANGE_REQUEST_IMPORTED, /* restored from a registry document */
	P25_CHANGE_IMPORT,           /* a file imported (its rows are changes of their own) */
	P25_CHANGE_CONTACT_CHANGED,  /* its name, e-mail, phone or role */
};
#define P25_CHANGE_KINDS (P25_CHANGE_CONTACT_CHANGED + 1)

/* "org-added", "permit-superseded", ... ("?" for an unknown kind). */
const char *p25_change_kind_name(enum p25_change_kind k);
int p25_change_kind_parse(const char *s, enum p25_change_kind *out);

/*
 * What may happen to a request: one row per action, from which statuses
 * (a bit per enum p25_request_status; 0: a new request), to which, and who
 * may do it.  The registry moves requests by it (a request in another
 * status is refused: "request N is S and cannot be <refusal>") and the
 * service authorizes by it: an operator may do every action; a member only
 * those marked member, and only to their own organizations' requests.
 */
enum p25_request_action {
	P25_REQUEST_SUBMIT,
	P25_REQUEST_APPROVE,
	P25_REQUEST_REJECT,
	P25_REQUEST_APPLY,
	P25_REQUEST_VERIFY,
	P25_REQUEST_CANCEL,
};
#define P25_REQUEST_ACTIONS (P25_REQUEST_CANCEL + 1)
#define P25_REQUEST_FROM(status) (1u << (status))

struct p25_request_transition {
	enum p25_request_action action;
	const char *verb; /* "approve" */
	unsigned from;    /* P25_REQUEST_FROM() of each status it may start from */
	enum p25_request_status to;
	bool member; /* a member may, for their own organizations */
	const char *refusal;
	enum p25_change_kind change; /* the change record it writes */
};
/* The row of an action (NULL for none). */
const struct p25_request_transition *p25_request_transition(enum p25_request_action a);
/* Open: a request that may still be cancelled (submitted, approved). */
bool p25_request_status_open(enum p25_request_status s);

/* One side of a change: the object as it was before, or is after. */
struct p25_change_state {
	bool present;                   /* the object existed (before) or exists (after) */
	p25_time expires;               /* permits: 0 never */
	enum p25_enrollment enrollment; /* orgs */
	enum p25_mode mode;             /* orgs */
	enum p25_action action;         /* orgs */
	enum p25_request_status status; /* requests */
};

struct p25_change {
	int64_t seq;      /* grows with every change, never reused */
	int64_t audit_id; /* the audit record written with it */
	enum p25_change_kind kind;
	p25_time at;
	const char *actor;
	const char *org; /* the organization's handle; NULL for an import */
	int64_t id;      /* the permit, contact or request; 0 for orgs, prefixes, imports */
	/*
	 * permits: the permitted address; prefixes: the prefix; contacts: the
	 * role; requests: the type; imports: the file name; orgs: the handle.
	 */
	const char *subject;
	int64_t related; /* superseded: the new permit; permit added: its request, or 0 */
	struct p25_change_state before, after;
};

/* The latest change's seq (0: none yet): a follower's starting mark. */
int p25_registry_change_mark(struct p25_registry *reg, int64_t *mark);
/*
 * The changes after mark, oldest first, at most limit of them (0: all),
 * each passed to fn (its strings live until fn returns; fn returns non-zero
 * to stop).  Returns how many were passed, or a negative P25_E* code.
 */
typedef int (*p25_change_fn)(void *ctx, const struct p25_change *c);
int p25_registry_changes_since(struct p25_registry *reg, int64_t mark, size_t limit,
                               p25_change_fn fn, void *ctx);
/* The same as an array that owns its strings; free it with p25_change_list_free. */
struct p25_change_list {
	struct p25_change *v;
	size_t n;
};
int p25_change_list_since(struct p25_registry *reg, int64_t mark, size_t limit,
                          struct p25_change_list *out);
void p25_change_list_free(struct p25_change_list *l);
/*
 * Whether a change after mark has been committed, by any connection:
 * *version is the caller's memory of p25_registry_data_version (0 at
 * first), so the change table is read only when something was committed
 * since the last call.  1 yes, 0 no, or a negative P25_E* code.
 */
int p25_registry_changes_pending(struct p25_registry *reg, int64_t mark, int64_t *version);
/*
 * Wait until a change after mark is committed (by this process or any
 * other), polling every P25_CHANGE_POLL_MS: 1 when there is one, 0 after
 * timeout_ms (negative: no limit) or when a signal interrupted the sleep,
 * or a negative P25_E* code.  For daemons that follow the registry.
 */
#define P25_CHANGE_POLL_MS 250
int p25_registry_wait_changes(struct p25_registry *reg, int64_t mark, int timeout_ms);

/* Import and export: see import.c for the formats. */
enum p25_import_format {
	P25_IMPORT_AUTO,
	P25_IMPORT_CSV,
	P25_IMPORT_JSON,
};

struct p25_import_options {
	const char *name; /* the file name, for messages and the audit log */
	const char *org;  /* default organization for rows without one */
	enum p25_import_format format;
	bool force;      /* as permit add --force */
	bool dry_run;    /* validate everything, then roll back */
	bool no_servers; /* as org set --no-servers, for active orgs of a document */
};

/* One bad row of a server list: "servers.csv: line 4: ...", and its hint. */
struct p25_import_problem {
	char *message;
	struct p25_hint hint;
	int code; /* P25_EINVAL, P25_ECONFLICT, P25_ENOTFOUND */
};

struct p25_import_result {
	size_t orgs, prefixes, contacts, permits, requests;
	size_t audit; /* audit records restored from a document's history */
	/*
	 * A server list (CSV, a bare list, JSON servers) is read to its end:
	 * every bad row is here, each naming its line (a row repeating another
	 * names the earlier one), and nothing was imported.  One problem is also
	 * the error; more make the error a count.  The registry's: valid until
	 * its next import or its close.
	 */
	const struct p25_import_problem *problems;
	size_t nproblems;
};

/*
 * All or nothing.  A server list reports every bad row (result->problems);
 * a registry document stops at the first, naming its JSON path.
 */
int p25_import_buffer(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                      size_t len, const struct p25_import_options *opt,
                      struct p25_import_result *result);
int p25_import_file(struct p25_registry *reg, const struct p25_actor *who, const char *path,
                    const struct p25_import_options *opt, struct p25_import_result *result);
/* A server list a member can fill in: CSV with a header row and example rows. */
const char *p25_import_template(void);

/*
 * The whole registry as one document, in a deterministic order, with its
 * audit history ("audit", oldest first); import reads it back, restoring
 * the audit records as they were (not rebuilt ones stamped at the import)
 * and auditing the import itself after them.
 */
int p25_registry_export(struct p25_registry *reg, json_t **out);

/* RFC 4180 CSV: records of fields, each record remembering the line it starts on. */
struct p25_csv_record {
	char **fields;
	size_t nfields;
	size_t line;
};

struct p25_csv {
	struct p25_csv_record *records;
	size_t nrecords;
};

/* Blank lines are skipped.  On error, err names the line and the problem. */
int p25_csv_parse(const char *data, size_t len, struct p25_csv *out, char *err, size_t errlen);
void p25_csv_free(struct p25_csv *csv);

#endif
