/* Shared by the registry's source files only. */
#ifndef P25_REGISTRY_INTERNAL_H
#define P25_REGISTRY_INTERNAL_H

#include "registry/tables.h"
#include "registry/notices.h"

struct p25_registry {
	struct p25_store *store;
	char error[1024];
	char warning[1024];
	struct p25_hint hint, warning_hint;
	/* the bad rows of the last import (p25_import_result.problems points here) */
	struct p25_import_problem *problems;
	size_t nproblems;
	/* notices.h: called with every change record, inside its transaction */
	p25_change_hook change_hook;
	void *change_hook_ctx;
	int in_hook;
};
/* Forget the last import's bad rows (import.c). */
void import_problems_clear(struct p25_registry *reg);

/* The message prefixed with where ("file: line 3: ..."), its hint kept. */
int reg_wrap(struct p25_registry *reg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The message's hint: inserted tail characters before its end, or in place
 * of the last occurrence of span (reg_hint_replace).  Return code, for
 * "return reg_hint(reg, reg_fail(...), ...)".
 */
int reg_hint_replace(struct p25_registry *reg, int code, enum p25_hint_code hint,
                     const char *span);
/* The same for the warning. */
void reg_warning_hint(struct p25_registry *reg, enum p25_hint_code hint, const char *org);

/*
 * The storage seam (storage/storage.h) as the registry's files use it: a
 * statement is a reg_stmt, bound from the format letters of store_query,
 * read with the col_* accessors and finished with reg_done; no file of the
 * registry names the SQL engine.  A failure leaves its message as the
 * registry's error.
 */
typedef struct store_stmt reg_stmt;
reg_stmt *reg_query(struct p25_registry *reg, const char *sql, const char *fmt, ...);
int reg_exec(struct p25_registry *reg, const char *sql, const char *fmt, ...);
/* Step a prepared query: 1 a row, 0 done, or P25_EDB (the statement is then finalized). */
int reg_step(struct p25_registry *reg, reg_stmt *st);
/*
 * The first column of every row of st as ids, for listings that read each row
 * with its own queries after st is finished.  st is always finished; *ids is
 * the caller's to free.  Returns 0 or P25_EDB.
 */
int reg_ids(struct p25_registry *reg, reg_stmt *st, int64_t **ids, size_t *n);
/*
 * Step st to its first row: 0 with st on it (the caller reads it, then calls
 * reg_done), else st is finished and the result is P25_EDB (a failed query,
 * a NULL st included) or P25_ENOTFOUND with the message fmt makes.
 */
int reg_first(struct p25_registry *reg, reg_stmt *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Finish with a statement (NULL is a no-op). */
void reg_done(reg_stmt *st);
/* The id of the row the last INSERT made. */
int64_t reg_last_id(struct p25_registry *reg);
json_t *json_text_or_null(const char *s);
json_t *json_time_or_null(p25_time t);

/* After reg_end: drop the warning of a change that was not made; returns rc. */
int keep_warning(struct p25_registry *reg, int rc);
/* A consistent read of several queries (the model, an export). */
int reg_read_begin(struct p25_registry *reg);
void reg_read_end(struct p25_registry *reg);

/*
 * A registry change: its audit record (the action and object type of its
 * kind) and its typed change record, in the caller's transaction (reg_audit).
 */
int reg_change(struct p25_registry *reg, const struct p25_actor *who, enum p25_change_kind kind,
               const char *object, json_t *before, json_t *after);

/* changes.c: the kinds' audit names, and the change record of one audit record. */
int change_kind_of_action(const char *action, enum p25_change_kind *out);
int change_kind_audit(enum p25_change_kind kind, const char **action, const char **type);
int change_record(struct p25_registry *reg, const struct p25_actor *who,
                  enum p25_change_kind kind, int64_t audit_id, const char *object,
                  json_t *before, json_t *after);

/* An e-mail address a contact may have: one '@', a dot after it, no blanks or list syntax. */
bool plausible_email(const char *s);

/* Text of a permitted address: hosts without "/32" or "/128". */
char *permit_text(const struct p25_prefix *p, char *buf, size_t buflen);

/*
 * A scope as one query parameter: NULL (every org) or a JSON array of
 * handles, which SCOPE_SQL reads with json_each; bind it twice ("ss").
 * Returns 0, or P25_EDB when out of memory; *text is the caller's to free.
 */
int scope_text(struct p25_registry *reg, const struct p25_scope *scope, char **text);
#define SCOPE_SQL "(? IS NULL OR o.handle IN (SELECT value FROM json_each(?)))"

/* One row as JSON, made by a row_fn (now 0: without fields relative to now). */
typedef json_t *(*row_fn)(reg_stmt *st, p25_time now, int64_t window);
/*
 * Every row st finds, as fn makes them, into a new array *out (st is
 * finished; a NULL st is a failed query).  0, or P25_EDB.
 */
int reg_collect(struct p25_registry *reg, reg_stmt *st, json_t **out, row_fn fn, p25_time now,
                int64_t window);
/* A column holding JSON text as its value (text that is not JSON as a string; NULL as null). */
json_t *col_json(reg_stmt *st, int col);
/*
 * The first row st finds, as fn makes it (st is finished; NULL st is a
 * failed query): 1 and *out, 0 when there is none, or P25_EDB.
 */
int row_json(struct p25_registry *reg, reg_stmt *st, row_fn fn, p25_time now, json_t **out);
/*
 * The one object of a read in scope (scope_text): sql ends in "WHERE key =
 * ? AND " SCOPE_SQL, the key an id, or text when text is not NULL.  1 and
 * *out, 0 when there is none (or it is out of scope), or P25_EDB.
 */
int scoped_row(struct p25_registry *reg, const char *sql, int64_t id, const char *text,
               const struct p25_scope *scope, row_fn fn, p25_time now, json_t **out);
/* The same by id, none being P25_ENOTFOUND: "no NOUN ID", with the hint to list them. */
int scoped_object(struct p25_registry *reg, const char *sql, int64_t id,
                  const struct p25_scope *scope, row_fn fn, p25_time now, const char *noun,
                  enum p25_hint_code list, json_t **out);

/* Lookups inside a transaction. */
int org_id_of(struct p25_registry *reg, const char *handle, int64_t *id);
/* ... of an org in scope (scope_text); outside it, as one that does not exist. */
int org_id_in(struct p25_registry *reg, const char *handle, const char *scope, int64_t *id);
json_t *org_json_by_id(struct p25_registry *reg, int64_t id);
json_t *permit_json_by_id(struct p25_registry *reg, int64_t id, p25_time now);
json_t *request_json_by_id(struct p25_registry *reg, int64_t id, p25_time now);

/* The steps of the public calls, for callers that own the transaction (import, apply). */
struct org_restore {
	const char *enrollment;
	p25_time created, updated;
};
int org_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *handle,
               const char *name, enum p25_mode mode, enum p25_action action,
               const struct org_restore *restore);
int prefix_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                  const char *prefix, const char *description, unsigned flags);
int contact_add_tx(struct p25_registry *reg, const struct p25_actor *who, const char *org,
                   const char *name, const char *email, const char *phone,
                   enum p25_contact_role role, int64_t want_id, int64_t *id);

/*
 * The rules (rules.c).  Every way a permit enters the registry calls
 * rule_permit(): the org exists, the address parses, the kind is known, a
 * description is given, the width is at most /24 or /48 (unless force), it
 * lies inside the org's space, its expiry is not past (unless restoring
 * history) and no valid permit of the org holds the address already (an
 * expired one is superseded: chk->supersedes).
 */
struct permit_checked {
	int64_t org_id;
	struct p25_prefix prefix;
	char text[P25_PREFIX_STRLEN]; /* as stored: hosts without /32 or /128 */
	int64_t supersedes;           /* the org's expired permit of the address, or 0 */
};
#define RULE_RESTORE 1u /* restoring an export: a past expiry is what happened */
int rule_permit(struct p25_registry *reg, const struct p25_permit_spec *spec, p25_time now,
                unsigned flags, struct permit_checked *chk);
/* Text forms (files, --server): -1 with err saying what is wrong, without where. */
int rule_kind_text(const char *s, bool required, enum p25_permit_kind *out, char *err,
                   size_t errlen);
/* "", NULL and "never": no expiry. */
int rule_expiry_text(const char *s, p25_time now, p25_time *out, char *err, size_t errlen);
/* May org_id become active at now?  See struct p25_org_change; may leave reg->warning. */
int rule_activation(struct p25_registry *reg, int64_t org_id, const char *handle, p25_time now,
                    bool no_servers);

/*
 * Address space as query parameters, so that one query over the stored
 * networks (net: 16 bytes, left-aligned, big-endian; len) decides overlap
 * and containment without parsing them: a stored x overlaps p when x's
 * network lies between p's first and last address, or x is shorter and is
 * p cut to x's length (cut holds p's network at every length 0..128, 16
 * bytes each, read with substr).  SPAN_BIND binds ?1 to ?5 (SPAN_ARGS);
 * a query's own parameters number from ?6.
 */
struct net_span {
	int64_t family, len;
	unsigned char first[16], last[16], cut[129 * 16];
};
void net_span(const struct p25_prefix *p, struct net_span *s);
#define SPAN_ARGS "iBBiB"
#define SPAN_BIND(s)                                                                               \
	(s)->family, (s)->first, (size_t)16, (s)->last, (size_t)16, (s)->len, (s)->cut,            \
	    sizeof(s)->cut
/* x overlaps p (with "x.family = ?1"). */
#define SPAN_OVERLAPS(x)                                                                           \
	"(" x ".net BETWEEN ?2 AND ?3 OR (" x ".len < ?4 AND " x ".net = substr(?5, " x              \
	".len * 16 + 1, 16)))"
/* x contains p. */
#define SPAN_CONTAINED_BY(x) "(" x ".len <= ?4 AND " x ".net = substr(?5, " x ".len * 16 + 1, 16))"
/* x lies inside p. */
#define SPAN_CONTAINS(x) "(" x ".len >= ?4 AND " x ".net BETWEEN ?2 AND ?3)"

/* A new prefix text (as p) for org: refused when it overlaps a registered prefix. */
int rule_prefix(struct p25_registry *reg, const struct p25_prefix *p, const char *text,
                const char *org);

/* Where a permit comes from, beyond what permit add is told. */
struct permit_origin {
	int64_t request_id; /* 0: none */
	int64_t want_id;    /* 0: the next free id */
	p25_time created;   /* 0: now */
	bool allow_past;    /* restoring an expired variance */
};
int permit_add_tx(struct p25_registry *reg, const struct p25_actor *who,
                  const struct p25_permit_spec *spec, const struct permit_origin *origin,
                  int64_t *id);

int permit_remove_in_tx(struct p25_registry *reg, const struct p25_actor *who, int64_t id);

/*
 * intake.c: a server list as members send it (a CSV file whose header is
 * read through one table of the names people use, or a bare list of
 * addresses), as rows of text; a row that cannot be read carries its problem.
 */
enum intake_column {
	INTAKE_ORG,
	INTAKE_ADDRESS,
	INTAKE_KIND,
	INTAKE_DESCRIPTION,
	INTAKE_REQUESTED_BY,
	INTAKE_APPROVED_BY,
	INTAKE_EXPIRES,
	INTAKE_NCOLUMNS
};
#define INTAKE_COLUMN(c) (1u << (c))
#define INTAKE_ALL       (INTAKE_COLUMN(INTAKE_NCOLUMNS) - 1)
/* A request has one requester and approver, not one per server. */
#define INTAKE_REQUEST                                                                             \
	(INTAKE_ALL & ~(INTAKE_COLUMN(INTAKE_REQUESTED_BY) | INTAKE_COLUMN(INTAKE_APPROVED_BY)))
extern const char *const intake_column_names[INTAKE_NCOLUMNS];
struct intake_row {
	size_t line;
	const char *v[INTAKE_NCOLUMNS]; /* NULL: not given */
	const char *problem;            /* the row could not be read: why */
};
struct intake {
	struct intake_row *rows;
	size_t n;
	bool bare;    /* a bare list of addresses, not a CSV file with a header */
	unsigned have; /* the columns given */
	char **strings;
	size_t nstrings;
};
/* 0, or P25_EINVAL / P25_EDB with err naming the file (and the header's line). */
int intake_read(struct intake *t, const char *data, size_t len, const char *name,
                unsigned allowed, char *err, size_t errlen);
void intake_free(struct intake *t);
/* A kind as rule_kind_text reads it, or in a member's words ("Mail Server", "relay"). */
int intake_kind(const char *s, bool required, enum p25_permit_kind *out, char *err,
                size_t errlen);

int request_restore_tx(struct p25_registry *reg, const struct p25_actor *who, json_t *req,
                       const char *where);
json_t *requests_export(struct p25_registry *reg, int *rc);

#endif
