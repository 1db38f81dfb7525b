/*
 * Below the seam: what an engine provides (struct store_backend), shared by
 * storage.c (engine-neutral: binding formats, errors, the migration
 * procedure) and each engine's file.
 */
#ifndef P25_STORAGE_INT_H
#define P25_STORAGE_INT_H

#include "storage/storage.h"

/* One parameter, converted from its format letter by storage.c. */
struct store_value {
	enum { STORE_NULL, STORE_INT, STORE_TEXT, STORE_BLOB } type;
	int64_t i;
	const char *text; /* copied by the engine */
	const void *blob; /* copied by the engine */
	size_t len;
};

/* Every engine's statement begins with this, so storage.c can find the engine. */
struct store_stmt {
	struct p25_store *store;
};

/* A schema: the engine's steps, in version order (generated from its .sql files). */
struct store_schema {
	const char *const *steps;
	int n;
};

/*
 * An engine.  Calls returning int give 0 (or 1 for a row) on success and
 * -1 on failure, with engine_error() saying why; storage.c words the
 * message.
 */
struct store_backend {
	const char *name;
	const struct store_schema *schema;
	/* Does this engine serve target? (The last backend serves every target.) */
	bool (*claims)(const char *target);
	int (*open)(struct p25_store *s, const char *target, char *warning, size_t warnlen,
	            char *err, size_t errlen);
	void (*close)(struct p25_store *s);
	const char *(*engine_error)(struct p25_store *s);
	int (*busy_timeout)(struct p25_store *s, int ms);

	int (*begin)(struct p25_store *s, enum store_tx kind);
	int (*commit)(struct p25_store *s);
	void (*rollback)(struct p25_store *s);

	/* NULL on failure; a statement the engine allocates, struct store_stmt first. */
	struct store_stmt *(*prepare)(struct p25_store *s, const char *sql);
	int (*bind)(struct store_stmt *st, int index, const struct store_value *v); /* from 1 */
	int (*reset)(struct store_stmt *st);
	int (*step)(struct store_stmt *st); /* 1 a row, 0 done, -1 failed */
	void (*finalize)(struct store_stmt *st);
	const char *(*col_text)(struct store_stmt *st, int col); /* NULL for NULL */
	int64_t (*col_int)(struct store_stmt *st, int col);
	bool (*col_null)(struct store_stmt *st, int col);

	int64_t (*last_id)(struct p25_store *s);
	int64_t (*changes)(struct p25_store *s);
	int (*data_version)(struct p25_store *s, int64_t *out);

	/* The schema's version record, and the steps of a migration. */
	int (*schema_version)(struct p25_store *s, int *out);
	/*
	 * Before the first and after the last step (migrating true, then
	 * false): whatever the engine must relax for tables to be rebuilt.
	 */
	int (*migrating)(struct p25_store *s, bool migrating);
	/* Inside the step's transaction: its script, then the version record. */
	int (*run_script)(struct p25_store *s, const char *sql);
	int (*set_schema_version)(struct p25_store *s, int version);
	/* Inside the step's transaction, after its script: 0, or -1 with problem set. */
	int (*check)(struct p25_store *s, char *problem, size_t len);
};

struct p25_store {
	const struct store_backend *be;
	void *conn; /* the engine's connection */
	store_sink_fn sink;
	void *sink_ctx;
	char error[1024];
};

/* The engines, and their compiled-in schemas (generated: build/gen/schema.c). */
extern const struct store_backend store_sqlite;
extern const struct store_schema store_schema_sqlite;

#endif
