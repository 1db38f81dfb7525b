/*
 * Mail with members: the notices port25 sends (queued in the registry's
 * outbox, registry/notices.h) and the messages it reads (verify-inbox).
 *
 *   config     the notify-*, verify-* and campaign-* keys of port25.conf;
 *   produce    the change hook that queues a notice in the transaction of
 *              the registry change that caused it, and the scans that queue
 *              the notices of time (expiring variances, overdue requests,
 *              campaign reminders, abuse reports of watch's alerts);
 *   template   the operator's template files and their placeholders;
 *   message    a notice as an RFC 5322 message (text, HTML, ARF reports);
 *   outbox     the sender: claims a notice under a lease, sends it through
 *              the relay (libcurl SMTP, STARTTLS, AUTH), records the result;
 *   inmsg      the parser of inbound messages (headers, Received, tokens);
 *   lmtp       the LMTP receiver Postfix hands the verification address to.
 *
 * Delivery is at least once, never silently lost: see outbox.c.
 */
#ifndef P25_NOTIFY_H
#define P25_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include <jansson.h>

#include "addr/addr.h"
#include "registry/notices.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/time.h"

#define P25_TEMPLATES_PATH "/etc/port25/templates"

struct p25_notify_config {
	bool enabled;              /* notify: queue notices at all (default yes) */
	char relay[512];           /* notify-relay: smtp://HOST[:PORT] or smtps:// */
	char tls[16];              /* notify-tls: required, try (default) or none */
	char ca_file[512];         /* notify-ca-file */
	char user[256];            /* notify-user: AUTH, with the password of */
	char password_file[512];   /* notify-password-file (its first line) */
	char from[320];            /* notify-from: the sender address */
	char from_name[128];       /* notify-from-name */
	char operator_addr[320];   /* notify-operator: overdue requests, policy failures */
	char operator_name[128];   /* operator-name: who the notices are from */
	char domain[256];          /* notify-domain: of Message-IDs (default: notify-from's) */
	char templates[512];       /* notify-templates */
	char verify_address[320];  /* verify-address: verify@ops.example (tokens: verify+T@) */
	int64_t verify_within;     /* verify-within: how long a member has to verify */
	char portal_url[512];      /* portal-url: "{token}" is replaced, else ?token= added */
	char expiring_days[64];    /* notify-expiring-days: "14,3" */
	int64_t alert_interval;    /* notify-alert-interval: one abuse report per org per this */
	int64_t retry_for;         /* notify-retry-for: give up after this long */
	int64_t retry_min;         /* notify-retry-min: first backoff */
	int64_t retry_max;         /* notify-retry-max: backoff cap */
	int64_t lease;             /* notify-lease: a claim's length */
	int64_t poll;              /* notify-poll: the daemon's longest sleep */
	int64_t timeout;           /* notify-timeout: one SMTP exchange */
	int64_t pause_ms;          /* notify-pause-ms: between two messages (rate) */
	char reminders[64];        /* campaign-reminders: "14,7,1" days before the deadline */
	char inbox_mx[256];        /* verify-inbox-mx: the host name in the trusted Received */
	char inbox_listen[512];    /* verify-inbox-listen: unix:PATH or HOST:PORT */
	int64_t inbox_max;         /* verify-inbox-max-size */
};

void p25_notify_config_default(struct p25_notify_config *c);
/*
 * The keys of the configuration file at path (absent: the defaults).
 * 0, or -1 with "PATH: key: what is wrong" in err.
 */
int p25_notify_config_load(struct p25_notify_config *c, const char *path, char *err,
                           size_t errlen);
/* The domain of Message-IDs: notify-domain, else notify-from's, else port25.invalid. */
const char *p25_notify_domain(const struct p25_notify_config *c);

/* ---- producing notices ---- */

/*
 * What verified a request when verify-inbox marks it: the change hook
 * records it with the request's verification, in the same transaction.
 */
struct p25_notify_evidence {
	int64_t request_id;
	const char *server;
	const char *message_id;
};

struct p25_notify_producer {
	const struct p25_notify_config *cfg;
	struct p25_notify_evidence evidence;
};

/* The change hook (p25_registry_set_change_hook) with a producer as its context. */
int p25_notify_change_hook(void *ctx, struct p25_registry *reg, const struct p25_change *c);

/*
 * Queue to org's contacts of roles ("technical,security"), one notice per
 * address, in the caller's transaction; none: one undeliverable notice
 * saying so.  key_base, when not NULL, makes each notice once-only
 * (key_base + ":" + address).  Returns the number queued (>= 0) or a
 * negative code; *reference, when not NULL, gets the reference used.
 */
int p25_notify_queue_org(struct p25_registry *reg, const struct p25_notify_config *cfg,
                         p25_time now, const char *org, const char *roles, const char *template,
                         json_t *data, const char *key_base, int64_t change_seq,
                         char *reference, size_t reflen);
/* ... to the operator's address (notify-operator); none configured: undeliverable. */
int p25_notify_queue_operator(struct p25_registry *reg, const struct p25_notify_config *cfg,
                              p25_time now, const char *template, json_t *data,
                              const char *key);

struct p25_scan_result {
	size_t expiring, expired, overdue, reports, reminders;
};
/* Queue what time has made due at now, each once (every scan in one transaction). */
int p25_notify_scan(struct p25_registry *reg, const struct p25_notify_config *cfg, p25_time now,
                    struct p25_scan_result *res);

/* ---- campaigns ---- */

struct p25_campaign_spec {
	const char *template;    /* security-change */
	p25_time deadline;
	const char *const *orgs; /* NULL: every organization */
	size_t norgs;
	const char *reminders;   /* NULL: the configuration's */
};
/* The announcement to every selected org's contacts, with its token: one transaction. */
int p25_notify_campaign_start(struct p25_registry *reg, const struct p25_notify_config *cfg,
                              const struct p25_actor *who, const struct p25_campaign_spec *spec,
                              int64_t *id);

/* ---- templates and messages ---- */

enum p25_escape {
	P25_ESC_TEXT,   /* control characters but newline and tab dropped */
	P25_ESC_HTML,   /* & < > " ' as entities, too */
	P25_ESC_HEADER, /* one line: CR, LF and every control character become a space */
};

/*
 * Render a template with the values of ctx (a JSON object).  The syntax:
 *   {{name}} {{a.b}}    a value, escaped for where it goes (esc)
 *   {{#name}}..{{/name}} the part for each element of an array, once for a
 *                       true value (an object's fields become names inside);
 *   {{^name}}..{{/name}} the part when name is missing, false, empty or 0
 *   {{! comment }}       nothing
 *   \{{                 a literal "{{"
 * A name that is not there renders as nothing.  -1 with err naming the
 * line on a syntax error (an unclosed tag or section).
 */
int p25_template_render(const char *tmpl, size_t len, json_t *ctx, enum p25_escape esc,
                        struct p25_buf *out, char *err, size_t errlen);

/*
 * The notice (as p25_notice_show gives it) as a message, from the
 * templates in cfg->templates: NAME.txt ("Subject: ..." line, a blank line,
 * the text) and, when present, NAME.html.  abuse-report notices become an
 * ARF report (RFC 5965) with an XARF v4 record and a CSV of the blocked
 * attempts.  0, or -1 with err (a missing template, a bad address).
 */
int p25_notify_message(const struct p25_notify_config *cfg, json_t *notice, p25_time now,
                       struct p25_buf *out, char *err, size_t errlen);

/* ---- sending ---- */

enum p25_send_result {
	P25_SEND_OK = 0,
	P25_SEND_TRANSIENT = 1, /* try again later: no connection, 4xx, a timeout */
	P25_SEND_PERMANENT = 2, /* 5xx for this message */
};
/* One message through the relay; *code the last SMTP reply code (0: none). */
enum p25_send_result p25_notify_smtp(const struct p25_notify_config *cfg, const char *rcpt,
                                     const char *msg, size_t len, int *code, char *err,
                                     size_t errlen);

struct p25_notify_stats {
	size_t sent, retried, failed, lost_claims;
	struct p25_scan_result scan;
};
/*
 * Scan, then deliver every notice due, until none is (once) or until stop
 * is set (daemon: waking for registry commits, due retries and every poll).
 * log, when not NULL, gets a line per notice.  0, or -1 with err.
 */
/*
 * now: the time of events for the scans (0: the clock); leases and retries
 * always follow the clock.
 */
int p25_notify_run(struct p25_registry *reg, const struct p25_notify_config *cfg, p25_time now,
                   bool once, volatile sig_atomic_t *stop, void (*log)(const char *line),
                   struct p25_notify_stats *stats, char *err, size_t errlen);

/* ---- inbound messages ---- */

#define P25_INMSG_RECEIVED_MAX 32

struct p25_received {
	char from[256];   /* the name the client gave (HELO), as written */
	char addr[64];    /* the connecting address the receiver recorded, or "" */
	char by[256];     /* the receiving host */
	char with[32];    /* the protocol: ESMTP, ESMTPS, ESMTPSA, LMTP, ... */
};

struct p25_inmsg {
	size_t nreceived;
	struct p25_received received[P25_INMSG_RECEIVED_MAX];
	bool received_bad[P25_INMSG_RECEIVED_MAX]; /* a Received header that did not parse */
	size_t received_total;                      /* all of them, past the max too */
	char subject[512];
	char message_id[512];
	char from[512];
	size_t header_len; /* where the body starts */
};

/* The header of a message (CRLF or LF lines): never reads past len. 0, or -1 (no header). */
int p25_inmsg_parse(const char *data, size_t len, struct p25_inmsg *out);
/* One Received header's value (unfolded): 0, or -1 when it is not of the form we trust. */
int p25_received_parse(const char *value, size_t len, struct p25_received *out);
/*
 * The address that connected to the trusted MX: from the topmost Received
 * headers, which must be the MX's own (by mx), skipping its internal hops
 * (from loopback); a header below the first external hop is the sender's to
 * write and is never read.  0 with *out (and *submission when the hop was
 * an authenticated submission: ESMTPA, ESMTPSA), or -1 with why.
 */
int p25_inmsg_connecting(const struct p25_inmsg *m, const char *mx, struct p25_addr *out,
                         bool *submission, char *why, size_t whylen);
/*
 * The token of a recipient (local+TOKEN@domain), else of the subject (a
 * word of 16 to 64 hex digits): 0 with out, -1 when none.
 */
int p25_inmsg_token(const char *rcpt, const char *subject, char *out, size_t outlen);

/*
 * The LMTP receiver: listen (unix:PATH or HOST:PORT; port 0 picks one,
 * written to *bound), one session at a time; every message received whole
 * is passed to fn with its envelope, whose return decides the reply to
 * each recipient: 0 accepted (250), > 0 refused for good (550), < 0 try
 * again later (451).  Runs until stop is set.  ready, when not NULL, is
 * called once listening.
 */
typedef int (*p25_lmtp_fn)(void *ctx, const char *mail_from, const char *const *rcpts,
                           size_t nrcpts, const char *data, size_t len, char *reply,
                           size_t replylen);
int p25_lmtp_serve(const char *listen, size_t max_size, p25_lmtp_fn fn, void *ctx,
                   volatile sig_atomic_t *stop, void (*ready)(const char *where), char *err,
                   size_t errlen);

#endif
