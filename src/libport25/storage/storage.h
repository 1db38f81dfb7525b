/*
 * The storage seam: the one way the registry, and the modules that keep
 * their tables in the registry file (watch), reach an SQL engine.  Nothing
 * above this interface names an engine; one file below it does (sqlite.c).
 *
 * Why a backend table (storage_int.h, struct store_backend, as OpenSMTPD's
 * table_backend) under a statement wrapper rather than a wrapper alone: the
 * engine is chosen per registry when it is opened (a file path is SQLite; a
 * "postgresql://" target would be PostgreSQL), so both can live in one
 * binary and a daemon can serve either.  Adding an engine is one file that
 * fills the table, plus its schema (storage/schema/ENGINE/NNNN-*.sql); no
 * query site changes.
 *
 * What the SQL above the seam may use: "?" and "?N" parameters bound from a
 * format string (below), coalesce, nullif, count/min/max, substr on blobs,
 * json_each over a parameter (the scope of a read), INSERT ... ON CONFLICT.
 * What differs between engines is not written in SQL above the seam: the
 * schema version, the commit counter (data_version), transactions, the
 * migration procedure, file permissions.
 *
 * Errors: a call that fails returns NULL or STORE_EDB and leaves the message
 * "registry: <what failed>: <the engine's words>" in store_error() and with
 * the owner's sink (store_set_sink), which is how the registry's error
 * message is set without the registry knowing the engine.
 */
#ifndef P25_STORAGE_H
#define P25_STORAGE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/time.h"

/* The registry's P25_EDB: a storage or system failure. */
#define STORE_EDB (-4)

struct p25_store;
/* A prepared statement; its rows are read with the col_* accessors. */
struct store_stmt;

/*
 * Open (creating it when missing) the store a target names: for SQLite a
 * file path (its directories made 0750; the file 0600, or 0640 when its
 * directory's group is port25, whatever the umask), ":memory:" or a
 * "file:" URI.  warning gets a message when the file can be read by every
 * user ("" otherwise).  Returns 0, or STORE_EDB with "TARGET: reason" in err.
 */
int store_open(const char *target, struct p25_store **out, char *warning, size_t warnlen,
               char *err, size_t errlen);
void store_close(struct p25_store *s);
/* The engine's name ("sqlite"). */
const char *store_engine(const struct p25_store *s);

/* Where failure messages go as well as store_error(): fn(ctx, message). */
typedef void (*store_sink_fn)(void *ctx, const char *message);
void store_set_sink(struct p25_store *s, store_sink_fn fn, void *ctx);
const char *store_error(const struct p25_store *s);
/* The engine's own words for its last failure (for messages composed above the seam). */
const char *store_engine_error(struct p25_store *s);
/* Wait up to ms for another writer's lock before failing as busy. */
int store_busy_timeout(struct p25_store *s, int ms);

/*
 * Transactions.  A write transaction takes the write lock at once, so that
 * two writers cannot interleave their checks; a read one is a consistent
 * snapshot.  store_commit fails (STORE_EDB) with the transaction rolled back.
 */
enum store_tx { STORE_READ, STORE_WRITE };
int store_begin(struct p25_store *s, enum store_tx kind);
int store_commit(struct p25_store *s);
void store_rollback(struct p25_store *s);

/*
 * Statements bind from a format string, one letter per parameter:
 *   s  const char * (NULL binds NULL)
 *   i  int64_t
 *   t  p25_time as ISO text (0 binds NULL)
 *   T  p25_time as ISO text, always
 *   b  the 16-byte network of a const struct p25_prefix *, big-endian
 *      (left-aligned: an IPv4 network is its first 4 bytes, then zeros)
 *   B  const unsigned char *, then size_t: a blob of that many bytes
 *
 * store_query prepares and binds a statement to step through; store_exec
 * runs one to completion; store_rebind resets a prepared statement and
 * binds it anew, and store_run steps it to completion, for a statement run
 * many times (what names the work in a failure's message).
 */
struct store_stmt *store_query(struct p25_store *s, const char *sql, const char *fmt, ...);
struct store_stmt *store_vquery(struct p25_store *s, const char *sql, const char *fmt,
                                va_list ap);
int store_exec(struct p25_store *s, const char *sql, const char *fmt, ...);
int store_vexec(struct p25_store *s, const char *sql, const char *fmt, va_list ap);
int store_rebind(struct store_stmt *st, const char *what, const char *fmt, ...);
int store_run(struct store_stmt *st, const char *what);
/* 1: a row; 0: done; STORE_EDB: failed, and the statement is finished (freed). */
int store_step(struct store_stmt *st);
/* Finish with a statement (NULL is a no-op). */
void store_done(struct store_stmt *st);

/* Columns of the current row, from 0.  NULL reads as "" and 0. */
const char *col_text(struct store_stmt *st, int col);
int64_t col_int(struct store_stmt *st, int col);
bool col_null(struct store_stmt *st, int col);
/* An ISO time column; NULL or unparsable reads as 0. */
p25_time col_time(struct store_stmt *st, int col);

/* The id of the row the last INSERT made, and how many rows the last write changed. */
int64_t store_last_id(struct p25_store *s);
int64_t store_changes(struct p25_store *s);
/*
 * A number that changes whenever another connection has committed since
 * this one last asked; reads no table.
 */
int store_data_version(struct p25_store *s, int64_t *out);

/* ---- the schema ---- */

/* The version the store's schema is at (0: empty), or STORE_EDB. */
int store_schema_version(struct p25_store *s);
/*
 * Bring the schema to the newest version: the engine's compiled-in steps
 * (storage/schema/ENGINE/NNNN-*.sql, in order), then extra (SQLite dialect;
 * see registry.c's migrations[]).  Each step runs in its own transaction
 * with its version record, so a crash leaves a whole version.  A schema
 * newer than this port25 knows is refused, not touched.  Returns 0, or -1
 * with the reason in err.
 */
int store_migrate(struct p25_store *s, const char *const *extra, int nextra, char *err,
                  size_t errlen);
/* How many versions store_migrate knows, with nextra extra steps. */
int store_schema_steps(const struct p25_store *s, int nextra);

#endif
