/* Shared by the registry's source files only. */
#ifndef P25_REGISTRY_INTERNAL_H
#define P25_REGISTRY_INTERNAL_H

#include <sqlite3.h>

#include "registry/registry.h"

struct p25_registry {
	sqlite3 *db;
	char error[1024];
	char warning[1024];
	struct p25_hint hint, warning_hint;
};

/* A new message (its hint cleared). */
int reg_fail(struct p25_registry *reg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The message prefixed with where ("file: line 3: ..."), its hint kept. */
int reg_wrap(struct p25_registry *reg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * The message's hint: inserted tail characters before its end, or in place
 * of the last occurrence of span (reg_hint_replace).  Return code, for
 * "return reg_hint(reg, reg_fail(...), ...)".
 */
int reg_hint(struct p25_registry *reg, int code, enum p25_hint_code hint, const char *org,
             int64_t id, size_t tail);
int reg_hint_replace(struct p25_registry *reg, int code, enum p25_hint_code hint,
                     const char *span);
/* The same for the warning. */
void reg_warning_hint(struct p25_registry *reg, enum p25_hint_code hint, const char *org);
int reg_dbfail(struct p25_registry *reg, const char *what);

/*
 * Statements bind from a format string, one letter per parameter:
 *   s  const char * (NULL binds NULL)
 *   i  int64_t
 *   t  p25_time as ISO text (0 binds NULL)
 *   T  p25_time as ISO text, always
 *   b  the 16-byte network of a const struct p25_prefix *
 */
/*
 * The storage seam: new code names a statement reg_stmt and reads it with the
 * col_* accessors and reg_done, never with sqlite3_ calls, so that the SQL
 * engine is known to one file.
 */
typedef sqlite3_stmt reg_stmt;
reg_stmt *reg_query(struct p25_registry *reg, const char *sql, const char *fmt, ...);
int reg_exec(struct p25_registry *reg, const char *sql, const char *fmt, ...);
/* Step a prepared query: 1 a row, 0 done, or P25_EDB (the statement is then finalized). */
int reg_step(struct p25_registry *reg, sqlite3_stmt *st);

const char *col_text(sqlite3_stmt *st, int col);
int64_t col_int(reg_stmt *st, int col);
bool col_null(reg_stmt *st, int col);
/* Finish with a statement (NULL is a no-op). */
void reg_done(reg_stmt *st);
/* The id of the row the last INSERT made. */
int64_t reg_last_id(struct p25_registry *reg);
p25_time col_time(sqlite3_stmt *st, int col);
json_t *json_text_or_null(const char *s);
json_t *json_time_or_null(p25_time t);

int reg_begin(struct p25_registry *reg);
/* After reg_end: drop the warning of a change that was not made; returns rc. */
int keep_warning(struct p25_registry *reg, int rc);
/* Commit when rc is 0, else roll back; returns rc (or P25_EDB if the commit fails). */
int reg_end(struct p25_registry *reg, int rc);

/*
 * One audit record, in the caller's transaction.  before/after may be NULL.
 * reg_change writes a registry change: its audit record (the action and
 * object type of its kind) and its typed change record.  reg_audit names
 * the action; one that is a registry change's gets its change record too.
 */
int reg_audit(struct p25_registry *reg, const struct p25_actor *who, const char *action,
              const char *type, const char *object, json_t *before, json_t *after);
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
void prefix_net_bytes(const struct p25_prefix *p, unsigned char out[16]);

/*
 * A scope as one query parameter: NULL (every org) or a JSON array of
 * handles, which SCOPE_SQL reads with json_each; bind it twice ("ss").
 * Returns 0, or P25_EDB when out of memory; *text is the caller's to free.
 */
int scope_text(struct p25_registry *reg, const struct p25_scope *scope, char **text);
#define SCOPE_SQL "(? IS NULL OR o.handle IN (SELECT value FROM json_each(?)))"

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

int request_restore_tx(struct p25_registry *reg, const struct p25_actor *who, json_t *req,
                       const char *where);
json_t *requests_export(struct p25_registry *reg, int *rc);

#endif
