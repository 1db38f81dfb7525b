/*
 * For a module that keeps its own tables in the registry file (watch's
 * summaries and alerts): they share the registry's transactions, audit log
 * and error message, and reach their tables through the storage seam
 * (storage/storage.h, with reg_store()), never through the registry's
 * internals.
 */
#ifndef P25_REGISTRY_TABLES_H
#define P25_REGISTRY_TABLES_H

#include "registry/registry.h"
#include "storage/storage.h"

/* The registry's store: queries on it that fail leave their message as the registry's error. */
struct p25_store *reg_store(struct p25_registry *reg);

/* A write transaction (clearing the error, the warning and their hints). */
int reg_begin(struct p25_registry *reg);
/* Commit when rc is 0, else roll back; returns rc (or P25_EDB if the commit fails). */
int reg_end(struct p25_registry *reg, int rc);

/* A new message (its hint cleared); returns code. */
int reg_fail(struct p25_registry *reg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* No message: a call that starts afresh without a transaction. */
void reg_clear(struct p25_registry *reg);
/*
 * The message's hint (registry.h, enum p25_hint_code): tail characters
 * before its end are the front end's to word.  Returns code.
 */
int reg_hint(struct p25_registry *reg, int code, enum p25_hint_code hint, const char *org,
             int64_t id, size_t tail);

/*
 * A scope as the JSON array of its organizations' handles that queries test
 * with json_each (*text NULL: no scope, everything; the caller frees it).
 */
int scope_text(struct p25_registry *reg, const struct p25_scope *scope, char **text);

/*
 * One audit record, in the caller's transaction.  before/after may be NULL.
 * An action that is a registry change's gets its typed change record too.
 */
int reg_audit(struct p25_registry *reg, const struct p25_actor *who, const char *action,
              const char *type, const char *object, json_t *before, json_t *after);

#endif
