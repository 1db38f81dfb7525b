/*
 * The outbox, verification records, inbound messages and campaigns
 * (notices.h): their SQL, through the storage seam's names only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/text.h"

static const char *const state_names[] = {"queued",        "sending",  "sent", "failed",
                                          "undeliverable", "cancelled"};
#define NSTATES (sizeof state_names / sizeof state_names[0])

const char *p25_notice_state_name(enum p25_notice_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : "?";
}

int p25_notice_state_parse(const char *s, enum p25_notice_state *out)
{
	for (size_t i = 0; s && i < NSTATES; i++) {
		if (!strcmp(s, state_names[i])) {
			*out = (enum p25_notice_state)i;
			return 0;
		}
	}
	return -1;
}

int p25_registry_transaction(struct p25_registry *reg, int (*fn)(void *ctx, struct p25_registry *reg),
                             void *ctx)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, fn(ctx, reg));
}

static json_t *json_or_null(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

static const char *nz(reg_stmt *st, int col)
{
	return col_null(st, col) ? NULL : col_text(st, col);
}

/* ---- the outbox ---- */

/* 16 random hex digits: the unguessable part of Message-IDs and tokens. */
static int random_hex(char *out, size_t bytes)
{
	unsigned char b[32];
	FILE *f;
	size_t got;

	if (bytes > sizeof b)
		bytes = sizeof b;
	f = fopen("/dev/urandom", "re");
	if (!f)
		return -1;
	got = fread(b, 1, bytes, f);
	fclose(f);
	if (got != bytes)
		return -1;
	for (size_t i = 0; i < bytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 0;
}

int p25_notice_queue_tx(struct p25_registry *reg, p25_time now, const struct p25_notice_spec *spec,
                        int64_t *id)
{
	char rnd[33], mid[400], tbuf[P25_TIME_STRLEN], compact[20];
	char *data;
	reg_stmt *st;
	size_t j = 0;
	int rc;

	if (id)
		*id = 0;
	if (spec->key) {
		st = reg_query(reg, "SELECT id FROM notice WHERE key = ?", "s", spec->key);
		if (!st)
			return P25_EDB;
		if ((rc = reg_step(reg, st)) < 0)
			return rc;
		if (rc == 1) {
			if (id)
				*id = col_int(st, 0);
			reg_done(st);
			return 0;
		}
		reg_done(st);
	}
	if (random_hex(rnd, 8) < 0)
		return reg_fail(reg, P25_EDB, "notices: no randomness for a Message-ID");
	/* 20261123T100000: when it was queued, readable in a header. */
	p25_time_format(now, tbuf, sizeof tbuf);
	for (size_t i = 0; tbuf[i] && j + 1 < sizeof compact; i++)
		if (tbuf[i] != '-' && tbuf[i] != ':' && tbuf[i] != 'Z')
			compact[j++] = tbuf[i];
	compact[j] = '\0';
	snprintf(mid, sizeof mid, "<p25.%s.%s@%s>", compact, rnd,
	         spec->domain && *spec->domain ? spec->domain : "port25.invalid");
	data = json_dumps(spec->data ? spec->data : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
	if (!data)
		return reg_fail(reg, P25_EDB, "notices: out of memory");
	rc = reg_exec(reg,
	              "INSERT INTO notice (key, message_id, reference, template, org, recipient, "
	              "recipient_name, roles, data, state, created, change_seq, last_error) "
	              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, nullif(?, 0), ?)",
	              "ssssssssssTis", spec->key, mid, spec->reference ? spec->reference : "",
	              spec->template, spec->org, spec->recipient, spec->recipient_name,
	              spec->roles ? spec->roles : "", data,
	              spec->recipient ? "queued" : "undeliverable", now, spec->change_seq,
	              spec->recipient ? NULL : (spec->error ? spec->error : "no recipient"));
	free(data);
	if (rc < 0)
		return rc;
	if (id)
		*id = reg_last_id(reg);
	if (!spec->reference || !*spec->reference) {
		char ref[32];
		snprintf(ref, sizeof ref, "P25-%06" PRId64, reg_last_id(reg));
		rc = reg_exec(reg, "UPDATE notice SET reference = ? WHERE id = ?", "si", ref,
		              reg_last_id(reg));
		if (rc < 0)
			return rc;
	}
	return 1;
}

#define NOTICE_COLS                                                                                \
	"id, key, message_id, reference, template, org, recipient, recipient_name, roles, data, "  \
	"state, created, change_seq, attempts, next_attempt, lease_owner, lease_until, sent, "     \
	"smtp_code, last_error, first_attempt"

static json_t *notice_row(reg_stmt *st, bool with_data)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(col_int(st, 0)));
	json_object_set_new(o, "key", json_text_or_null(nz(st, 1)));
	json_object_set_new(o, "message_id", json_string(col_text(st, 2)));
	json_object_set_new(o, "reference", json_string(col_text(st, 3)));
	json_object_set_new(o, "template", json_string(col_text(st, 4)));
	json_object_set_new(o, "org", json_text_or_null(nz(st, 5)));
	json_object_set_new(o, "recipient", json_text_or_null(nz(st, 6)));
	json_object_set_new(o, "recipient_name", json_text_or_null(nz(st, 7)));
	json_object_set_new(o, "roles", json_string(col_text(st, 8)));
	if (with_data)
		json_object_set_new(o, "data", json_or_null(nz(st, 9)));
	json_object_set_new(o, "state", json_string(col_text(st, 10)));
	json_object_set_new(o, "created", json_string(col_text(st, 11)));
	json_object_set_new(o, "change_seq",
	                    col_null(st, 12) ? json_null() : json_integer(col_int(st, 12)));
	json_object_set_new(o, "attempts", json_integer(col_int(st, 13)));
	json_object_set_new(o, "next_attempt", json_text_or_null(nz(st, 14)));
	json_object_set_new(o, "lease_owner", json_text_or_null(nz(st, 15)));
	json_object_set_new(o, "lease_until", json_text_or_null(nz(st, 16)));
	json_object_set_new(o, "sent", json_text_or_null(nz(st, 17)));
	json_object_set_new(o, "smtp_code",
	                    col_null(st, 18) ? json_null() : json_integer(col_int(st, 18)));
	json_object_set_new(o, "last_error", json_text_or_null(nz(st, 19)));
	json_object_set_new(o, "first_attempt", json_text_or_null(nz(st, 20)));
	return o;
}

/* A notice with its event data, as row_json makes rows. */
static json_t *notice_row_with_data(reg_stmt *st, p25_time now, int64_t window)
{
	return notice_row(st, true);
}

static int notice_get(struct p25_registry *reg, int64_t id, json_t **out)
{
	int rc = row_json(reg,
	                  reg_query(reg, "SELECT " NOTICE_COLS " FROM notice WHERE id = ?", "i", id),
	                  notice_row_with_data, 0, out);

	if (rc == 0)
		return reg_fail(reg, P25_ENOTFOUND, "no notice %" PRId64, id);
	return rc < 0 ? rc : 0;
}

int p25_notice_show(struct p25_registry *reg, int64_t id, json_t **out)
{
	reg->error[0] = '\0';
	return notice_get(reg, id, out);
}

struct claim {
	const char *owner;
	p25_time now;
	int64_t lease;
	bool (*dead_owner)(const char *owner);
	json_t *out;
};

static int claim_tx(void *ctx, struct p25_registry *reg)
{
	struct claim *c = ctx;
	reg_stmt *st;
	int64_t id = 0;
	int rc;

	/*
	 * A notice left sending by a sender that is gone is due again: its
	 * lease ran out, or its owner (this host's process) no longer exists.
	 */
	st = reg_query(reg,
	               "SELECT id, lease_owner, lease_until < ? FROM notice WHERE state = 'sending' "
	               "ORDER BY id",
	               "T", c->now);
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		bool expired = col_int(st, 2) != 0;
		if (expired || (c->dead_owner && c->dead_owner(col_text(st, 1)))) {
			id = col_int(st, 0);
			break;
		}
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	if (!id) {
		st = reg_query(reg,
		               "SELECT id FROM notice WHERE state = 'queued' AND (next_attempt IS NULL "
		               "OR next_attempt <= ?) ORDER BY next_attempt, id LIMIT 1",
		               "T", c->now);
		if (!st)
			return P25_EDB;
		if ((rc = reg_step(reg, st)) < 0)
			return rc;
		id = rc ? col_int(st, 0) : 0;
		reg_done(st);
	}
	if (!id)
		return 0;
	rc = reg_exec(reg,
	              "UPDATE notice SET state = 'sending', lease_owner = ?, lease_until = ?, "
	              "attempts = attempts + 1, first_attempt = coalesce(first_attempt, ?) "
	              "WHERE id = ?",
	              "sTTi", c->owner, c->now + c->lease, c->now, id);
	if (rc < 0)
		return rc;
	return notice_get(reg, id, &c->out);
}

int p25_notice_claim(struct p25_registry *reg, const char *owner, p25_time now, int64_t lease,
                     bool (*dead_owner)(const char *owner), json_t **out)
{
	struct claim c = {.owner = owner, .now = now, .lease = lease, .dead_owner = dead_owner};
	int rc = p25_registry_transaction(reg, claim_tx, &c);

	*out = NULL;
	if (rc < 0) {
		json_decref(c.out);
		return rc;
	}
	*out = c.out;
	return c.out ? 1 : 0;
}

int p25_notice_finish(struct p25_registry *reg, int64_t id, const char *owner, p25_time now,
                      enum p25_notice_outcome outcome, int smtp_code, const char *error,
                      p25_time next)
{
	int rc = reg_begin(reg);
	reg_stmt *st;

	if (rc < 0)
		return rc;
	st = reg_query(reg, "SELECT 1 FROM notice WHERE id = ? AND state = 'sending' AND lease_owner = ?",
	               "is", id, owner);
	if (!st)
		return reg_end(reg, P25_EDB);
	if ((rc = reg_step(reg, st)) < 0)
		return reg_end(reg, rc);
	reg_done(st);
	if (rc == 0)
		return reg_end(reg, reg_fail(reg, P25_ECONFLICT,
		                             "notice %" PRId64 " is no longer claimed by %s", id, owner));
	switch (outcome) {
	case P25_NOTICE_DELIVERED:
		rc = reg_exec(reg,
		              "UPDATE notice SET state = 'sent', sent = ?, smtp_code = nullif(?, 0), "
		              "lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE id = ?",
		              "Tii", now, (int64_t)smtp_code, id);
		break;
	case P25_NOTICE_RETRY:
		rc = reg_exec(reg,
		              "UPDATE notice SET state = 'queued', next_attempt = ?, "
		              "smtp_code = nullif(?, 0), last_error = ?, lease_owner = NULL, "
		              "lease_until = NULL WHERE id = ?",
		              "Tisi", next, (int64_t)smtp_code, error, id);
		break;
	case P25_NOTICE_REFUSED:
		rc = reg_exec(reg,
		              "UPDATE notice SET state = 'failed', smtp_code = nullif(?, 0), "
		              "last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
		              "isi", (int64_t)smtp_code, error, id);
		break;
	}
	return reg_end(reg, rc);
}

int p25_notice_next_due(struct p25_registry *reg, p25_time *next)
{
	/* A notice without a next attempt is due at once: the epoch's first second. */
	reg_stmt *st = reg_query(reg,
	                         "SELECT min(next_attempt), count(*) - count(next_attempt) FROM "
	                         "notice WHERE state = 'queued'",
	                         "");
	int rc;

	*next = 0;
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	*next = rc ? (col_int(st, 1) > 0 ? 1 : col_time(st, 0)) : 0;
	reg_done(st);
	return 0;
}

int p25_notice_list(struct p25_registry *reg, const struct p25_notice_filter *f, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	st = reg_query(reg,
	               "SELECT " NOTICE_COLS " FROM notice WHERE (? IS NULL OR state = ?) AND "
	               "(? IS NULL OR org = ?) AND (? IS NULL OR template = ?) ORDER BY id LIMIT ?",
	               "ssssssi", f && f->by_state ? p25_notice_state_name(f->state) : NULL,
	               f && f->by_state ? p25_notice_state_name(f->state) : NULL, f ? f->org : NULL,
	               f ? f->org : NULL, f ? f->template : NULL, f ? f->template : NULL,
	               (int64_t)(f && f->limit > 0 ? f->limit : -1));
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(rows, notice_row(st, false));
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

int p25_notice_contacts(struct p25_registry *reg, const char *org, const char *roles,
                        json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int rc;

	*out = NULL;
	/* One notice per address: a contact listed under two roles gets one copy. */
	st = reg_query(reg,
	               "SELECT min(c.name), c.email, group_concat(c.role) FROM contact c JOIN org o "
	               "ON o.id = c.org_id WHERE o.handle = ? AND instr(',' || ? || ',', ',' || "
	               "c.role || ',') > 0 GROUP BY lower(c.email) ORDER BY min(c.id)",
	               "ss", org, roles);
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "name", col_text(st, 0),
		                                      "email", col_text(st, 1), "role",
		                                      col_text(st, 2)));
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

int p25_notice_org_name(struct p25_registry *reg, const char *org, char *buf, size_t len)
{
	reg_stmt *st = reg_query(reg, "SELECT name FROM org WHERE handle = ?", "s", org);
	int rc;

	snprintf(buf, len, "%s", org ? org : "");
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 1)
		snprintf(buf, len, "%s", col_text(st, 0));
	reg_done(st);
	return 0;
}

struct retry {
	const struct p25_actor *who;
	int64_t id;
	const char *domain;
	json_t *requeued;
};

static int retry_tx(void *ctx, struct p25_registry *reg)
{
	struct retry *r = ctx;
	json_t *n = NULL, *contacts = NULL, *after = NULL;
	const char *state, *org, *roles;
	char object[32];
	int rc;

	if ((rc = notice_get(reg, r->id, &n)) < 0)
		return rc;
	state = json_string_value(json_object_get(n, "state"));
	org = json_string_value(json_object_get(n, "org"));
	roles = json_string_value(json_object_get(n, "roles"));
	snprintf(object, sizeof object, "%" PRId64, r->id);
	r->requeued = json_array();
	if (!strcmp(state, "failed")) {
		rc = reg_exec(reg,
		              "UPDATE notice SET state = 'queued', next_attempt = NULL, last_error = NULL, "
		              "first_attempt = NULL WHERE id = ?",
		              "i", r->id);
		json_array_append_new(r->requeued, json_integer(r->id));
	} else if (!strcmp(state, "undeliverable")) {
		if (!org || !roles || !*roles) {
			rc = reg_fail(reg, P25_ECONFLICT,
			              "notice %" PRId64 " is for no organization's contacts: nobody "
			              "to send it to (is the operator's address configured?)",
			              r->id);
			goto out;
		}
		if ((rc = p25_notice_contacts(reg, org, roles, &contacts)) < 0)
			goto out;
		if (json_array_size(contacts) == 0) {
			rc = reg_fail(reg, P25_ECONFLICT,
			              "notice %" PRId64 ": organization '%s' still has no %s contact",
			              r->id, org, roles);
			goto out;
		}
		for (size_t i = 0; rc >= 0 && i < json_array_size(contacts); i++) {
			json_t *c = json_array_get(contacts, i);
			struct p25_notice_spec s = {
			    .template = json_string_value(json_object_get(n, "template")),
			    .org = org,
			    .recipient = json_string_value(json_object_get(c, "email")),
			    .recipient_name = json_string_value(json_object_get(c, "name")),
			    .roles = roles,
			    .reference = json_string_value(json_object_get(n, "reference")),
			    .data = json_object_get(n, "data"),
			    .domain = r->domain,
			};
			int64_t nid;
			rc = p25_notice_queue_tx(reg, r->who->now, &s, &nid);
			if (rc >= 0)
				json_array_append_new(r->requeued, json_integer(nid));
		}
		if (rc >= 0)
			rc = reg_exec(reg,
			              "UPDATE notice SET state = 'cancelled', last_error = ? WHERE id = ?",
			              "si", "re-queued to the contacts added since", r->id);
	} else {
		rc = reg_fail(reg, P25_ECONFLICT,
		              "notice %" PRId64 " is %s: only failed and undeliverable notices are "
		              "retried",
		              r->id, state);
		goto out;
	}
	if (rc >= 0) {
		after = json_pack("{s:O}", "requeued", r->requeued);
		rc = reg_audit(reg, r->who, "notice.retry", "notice", object, NULL, after);
	}
out:
	json_decref(n);
	json_decref(contacts);
	json_decref(after);
	return rc < 0 ? rc : 0;
}

int p25_notice_retry(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
                     const char *domain, json_t **requeued)
{
	struct retry r = {.who = who, .id = id, .domain = domain};
	int rc = p25_registry_transaction(reg, retry_tx, &r);

	if (rc < 0 || !requeued)
		json_decref(r.requeued);
	else
		*requeued = r.requeued;
	return rc;
}

/* ---- verification ---- */

int p25_verification_create_tx(struct p25_registry *reg, int64_t request_id, const char *token,
                               const char *address, p25_time deadline, p25_time now)
{
	return reg_exec(reg,
	                "INSERT INTO verification (request_id, token, address, deadline, created) "
	                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET token = "
	                "excluded.token, address = excluded.address, deadline = excluded.deadline, "
	                "created = excluded.created, verified = NULL, server = NULL, message_id = NULL",
	                "issTT", request_id, token, address, deadline, now);
}

#define VERIFICATION_SQL                                                                           \
	"SELECT v.request_id, o.handle, r.status, v.token, v.address, v.deadline, v.verified, "    \
	"v.server, v.message_id, r.type FROM verification v JOIN request r ON r.id = "             \
	"v.request_id JOIN org o ON o.id = r.org_id "

static int verification_one(struct p25_registry *reg, reg_stmt *st, const char *what,
                            json_t **out)
{
	int rc;

	*out = NULL;
	if ((rc = reg_first(reg, st, "no verification %s", what)) < 0)
		return rc;
	*out = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s}", "request_id",
	                 (json_int_t)col_int(st, 0), "org", col_text(st, 1), "status",
	                 col_text(st, 2), "token", col_text(st, 3), "address", col_text(st, 4),
	                 "deadline", col_text(st, 5), "verified", json_text_or_null(nz(st, 6)),
	                 "server", json_text_or_null(nz(st, 7)), "message_id",
	                 json_text_or_null(nz(st, 8)), "type", col_text(st, 9));
	reg_done(st);
	return 0;
}

int p25_verification_by_token(struct p25_registry *reg, const char *token, json_t **out)
{
	reg->error[0] = '\0';
	return verification_one(reg, reg_query(reg, VERIFICATION_SQL "WHERE v.token = ?", "s", token),
	                        "token", out);
}

int p25_verification_show(struct p25_registry *reg, int64_t request_id, json_t **out)
{
	char what[48];

	reg->error[0] = '\0';
	snprintf(what, sizeof what, "for request %" PRId64, request_id);
	return verification_one(
	    reg, reg_query(reg, VERIFICATION_SQL "WHERE v.request_id = ?", "i", request_id), what,
	    out);
}

int p25_verification_mark_tx(struct p25_registry *reg, int64_t request_id, const char *server,
                             const char *message_id, p25_time now)
{
	return reg_exec(reg,
	                "UPDATE verification SET verified = ?, server = ?, message_id = ? WHERE "
	                "request_id = ?",
	                "Tssi", now, server, message_id, request_id);
}

int p25_inbound_record_tx(struct p25_registry *reg, const struct p25_inbound_record *r, int64_t *id)
{
	int rc = reg_exec(reg,
	                  "INSERT INTO inbound (received, message_id, mail_from, rcpt, subject, "
	                  "connecting, token, outcome, org, request_id, detail) VALUES (?, ?, ?, ?, "
	                  "?, ?, ?, ?, ?, nullif(?, 0), ?)",
	                  "Tssssssssis", r->received, r->message_id, r->mail_from, r->rcpt,
	                  r->subject, r->connecting, r->token, r->outcome, r->org, r->request_id,
	                  r->detail ? r->detail : "");
	if (rc == 0 && id)
		*id = reg_last_id(reg);
	return rc;
}

int p25_inbound_list(struct p25_registry *reg, int limit, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	st = reg_query(reg,
	               "SELECT id, received, message_id, mail_from, rcpt, subject, connecting, token, "
	               "outcome, org, request_id, detail FROM inbound ORDER BY id DESC LIMIT ?",
	               "i", (int64_t)(limit > 0 ? limit : -1));
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(
		    rows,
		    json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:s}", "id",
		              (json_int_t)col_int(st, 0), "received", col_text(st, 1), "message_id",
		              json_text_or_null(nz(st, 2)), "mail_from", json_text_or_null(nz(st, 3)),
		              "rcpt", json_text_or_null(nz(st, 4)), "subject",
		              json_text_or_null(nz(st, 5)), "connecting", json_text_or_null(nz(st, 6)),
		              "token", json_text_or_null(nz(st, 7)), "outcome", col_text(st, 8), "org",
		              json_text_or_null(nz(st, 9)), "request_id",
		              col_null(st, 10) ? json_null() : json_integer(col_int(st, 10)), "detail",
		              col_text(st, 11)));
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

/* ---- campaigns ---- */

int p25_campaign_create_tx(struct p25_registry *reg, const char *template, p25_time deadline,
                           const char *reminders, const char *created_by, p25_time now,
                           int64_t *id)
{
	int rc = reg_exec(reg,
	                  "INSERT INTO campaign (template, deadline, reminders, created, created_by) "
	                  "VALUES (?, ?, ?, ?, ?)",
	                  "sTsTs", template, deadline, reminders ? reminders : "", now, created_by);
	if (rc == 0)
		*id = reg_last_id(reg);
	return rc;
}

int p25_campaign_org_add_tx(struct p25_registry *reg, int64_t campaign, const char *org,
                            const char *token)
{
	return reg_exec(reg, "INSERT INTO campaign_org (campaign_id, org, token) VALUES (?, ?, ?)",
	                "iss", campaign, org, token);
}

int p25_campaign_answer_tx(struct p25_registry *reg, const char *org, const char *how,
                           const char *ref, p25_time now)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT count(*) FROM campaign_org WHERE org = ? AND answered IS NULL",
	                         "s", org);
	int rc, n;

	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	n = rc ? (int)col_int(st, 0) : 0;
	reg_done(st);
	if (n == 0)
		return 0;
	rc = reg_exec(reg,
	              "UPDATE campaign_org SET answered = ?, answered_how = ?, answered_ref = ? "
	              "WHERE org = ? AND answered IS NULL",
	              "Tsss", now, how, ref, org);
	return rc < 0 ? rc : n;
}

static int64_t days_left(p25_time deadline, p25_time now)
{
	/* Whole days, rounded up: a deadline later today is 1 day away, a past one 0. */
	if (deadline <= now)
		return 0;
	return (deadline - now + P25_DAY - 1) / P25_DAY;
}

static int campaign_json(struct p25_registry *reg, int64_t id, p25_time now, json_t **out)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT id, template, deadline, reminders, created, created_by "
	                         "FROM campaign WHERE id = ?",
	                         "i", id);
	json_t *c, *orgs, *pending;
	p25_time deadline;
	int rc;

	*out = NULL;
	if ((rc = reg_first(reg, st, "no campaign %" PRId64, id)) < 0)
		return rc;
	deadline = col_time(st, 2);
	c = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)col_int(st, 0),
	              "template", col_text(st, 1), "deadline", col_text(st, 2), "reminders",
	              col_text(st, 3), "created", col_text(st, 4), "created_by", col_text(st, 5),
	              "days_remaining", (json_int_t)days_left(deadline, now));
	reg_done(st);
	st = reg_query(reg,
	               "SELECT c.org, coalesce(o.name, c.org), c.token, c.answered, c.answered_how, "
	               "c.answered_ref FROM campaign_org c LEFT JOIN org o ON o.handle = c.org "
	               "WHERE c.campaign_id = ? ORDER BY c.org",
	               "i", id);
	if (!st) {
		json_decref(c);
		return P25_EDB;
	}
	orgs = json_array();
	pending = json_array();
	while ((rc = reg_step(reg, st)) == 1) {
		json_array_append_new(
		    orgs, json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o}", "org", col_text(st, 0),
		                    "name", col_text(st, 1), "token", col_text(st, 2), "answered",
		                    !col_null(st, 3), "answered_at", json_text_or_null(nz(st, 3)),
		                    "answered_how", json_text_or_null(nz(st, 4)), "answered_ref",
		                    json_text_or_null(nz(st, 5))));
		if (col_null(st, 3))
			json_array_append_new(pending, json_string(col_text(st, 0)));
	}
	json_object_set_new(c, "orgs", orgs);
	json_object_set_new(c, "not_responded", pending);
	if (rc < 0) {
		json_decref(c);
		return rc;
	}
	reg_done(st);
	*out = c;
	return 0;
}

int p25_campaign_status(struct p25_registry *reg, int64_t id, p25_time now, json_t **out)
{
	reg->error[0] = '\0';
	*out = NULL;
	if (id == 0) {
		reg_stmt *st = reg_query(reg, "SELECT max(id) FROM campaign", "");
		int rc;
		if (!st)
			return P25_EDB;
		if ((rc = reg_step(reg, st)) < 0)
			return rc;
		id = rc && !col_null(st, 0) ? col_int(st, 0) : 0;
		reg_done(st);
		if (id == 0)
			return reg_fail(reg, P25_ENOTFOUND, "no campaign has been started");
	}
	return campaign_json(reg, id, now, out);
}

int p25_campaign_list(struct p25_registry *reg, p25_time now, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int64_t *ids = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	st = reg_query(reg, "SELECT id FROM campaign ORDER BY id DESC", "");
	if ((rc = reg_ids(reg, st, &ids, &n)) < 0)
		return rc;
	rows = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *c;
		if ((rc = campaign_json(reg, ids[i], now, &c)) < 0) {
			free(ids);
			json_decref(rows);
			return rc;
		}
		json_array_append_new(rows, c);
	}
	free(ids);
	*out = rows;
	return 0;
}

int p25_campaign_by_token(struct p25_registry *reg, const char *token, json_t **out)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT c.campaign_id, c.org, k.deadline, c.answered FROM "
	                         "campaign_org c JOIN campaign k ON k.id = c.campaign_id WHERE "
	                         "c.token = ?",
	                         "s", token);
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = reg_first(reg, st, "no campaign token")) < 0)
		return rc;
	*out = json_pack("{s:I, s:s, s:s, s:b}", "campaign", (json_int_t)col_int(st, 0), "org",
	                 col_text(st, 1), "deadline", col_text(st, 2), "answered", !col_null(st, 3));
	reg_done(st);
	return 0;
}

/* ---- abuse reports ---- */

int p25_notice_unreported_alerts(struct p25_registry *reg, const char *org, json_t **out)
{
	reg_stmt *st;
	json_t *rows;
	int rc;

	*out = NULL;
	st = reg_query(reg,
	               "SELECT a.id, a.kind, a.host, a.direction, a.org, a.raised, a.updated, "
	               "a.evidence FROM alert a WHERE a.status = 'open' AND a.org IS NOT NULL AND "
	               "(? IS NULL OR a.org = ?) AND a.id NOT IN (SELECT alert_id FROM notice_alert) "
	               "ORDER BY a.org, a.id",
	               "ss", org, org);
	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = reg_step(reg, st)) == 1)
		json_array_append_new(
		    rows, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id",
		                    (json_int_t)col_int(st, 0), "kind", col_text(st, 1), "host",
		                    col_text(st, 2), "direction", col_text(st, 3), "org",
		                    col_text(st, 4), "raised", col_text(st, 5), "updated",
		                    col_text(st, 6), "evidence", json_or_null(nz(st, 7))));
	if (rc < 0) {
		json_decref(rows);
		return rc;
	}
	reg_done(st);
	*out = rows;
	return 0;
}

int p25_notice_last_report(struct p25_registry *reg, const char *org, p25_time *at)
{
	reg_stmt *st = reg_query(reg,
	                         "SELECT max(created) FROM notice WHERE org = ? AND template = "
	                         "'abuse-report'",
	                         "s", org);
	int rc;

	*at = 0;
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	*at = rc ? col_time(st, 0) : 0;
	reg_done(st);
	return 0;
}

int p25_notice_alert_reported_tx(struct p25_registry *reg, int64_t alert_id, const char *reference,
                                 p25_time now)
{
	return reg_exec(reg,
	                "INSERT OR IGNORE INTO notice_alert (alert_id, notice_ref, reported) VALUES "
	                "(?, ?, ?)",
	                "isT", alert_id, reference, now);
}
