/*
 * The SQLite engine: the only file that calls SQLite.  A registry is one
 * file in WAL mode (the compilers read while an operator writes) with
 * foreign keys on; its schema version is PRAGMA user_version.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/storage_int.h"

struct sqlite_stmt {
	struct store_stmt base; /* first: storage.c sees only this */
	sqlite3_stmt *st;
};

static sqlite3 *db_of(struct p25_store *s)
{
	return s->conn;
}

static sqlite3_stmt *st_of(struct store_stmt *st)
{
	return ((struct sqlite_stmt *)st)->st;
}

/* ---- the file ---- */

/*
 * The registry holds contacts' names, e-mail addresses and phone numbers:
 * it is created readable by its owner only (0600), or by the group too
 * (0640) when its directory belongs to a group named port25, whatever the
 * umask.  SQLite creates the -wal and -shm files with the database's mode.
 */
#define REGISTRY_GROUP "port25"

/* In-memory databases and URIs are SQLite's business. */
static bool is_plain_path(const char *path)
{
	return *path && strcmp(path, ":memory:") != 0 && strncmp(path, "file:", 5) != 0;
}

/* mkdir -p of the directory part of path; each directory made is 0750 whatever the umask. */
static int make_parents(const char *path, char *err, size_t errlen)
{
	char *dir = strdup(path), *slash;
	int rc = 0;

	if (!dir) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		for (char *p = dir + 1;; p++) {
			char c = *p;
			if (c != '/' && c != '\0')
				continue;
			*p = '\0';
			if (mkdir(dir, 0750) == 0) {
				chmod(dir, 0750);
			} else if (errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create the directory %s: %s",
				         path, dir, strerror(errno));
				rc = -1;
				break;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	free(dir);
	return rc;
}

/* 0640 and the directory's group when that group is port25; else 0600. */
static mode_t registry_mode(const char *path, gid_t *gid)
{
	char *dir = strdup(path), *slash;
	struct group *g;
	struct stat st;
	mode_t mode = 0600;

	if (!dir)
		return mode;
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (g = getgrgid(st.st_gid)) &&
	    !strcmp(g->gr_name, REGISTRY_GROUP)) {
		*gid = st.st_gid;
		mode = 0640;
	}
	free(dir);
	return mode;
}

/* A new registry file, private from its first byte; an existing one is left alone. */
static int create_private(const char *path, char *err, size_t errlen)
{
	gid_t gid = (gid_t)-1;
	mode_t mode;
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	if (make_parents(path, err, errlen) < 0)
		return -1;
	mode = registry_mode(path, &gid);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "%s: cannot create the registry: %s", path, strerror(errno));
		return -1;
	}
	/* Only a group we may hand the file to gets to read it. */
	if (mode == 0640 && fchown(fd, (uid_t)-1, gid) < 0)
		mode = 0600;
	if (fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "%s: cannot restrict the registry to mode %04o: %s", path,
		         (unsigned)mode, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

/* A warning when the registry or its journal can be read by every user. */
static void check_private(const char *path, char *warning, size_t warnlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char name[4096];
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "%s%s", path, suffix[i]);
		if (stat(name, &st) == 0 && (st.st_mode & S_IROTH)) {
			snprintf(warning, warnlen,
			         "%.400s can be read by every user (mode %04o); it holds contacts' "
			         "names, e-mail addresses and phone numbers (chmod 600 %.400s, or 640 "
			         "with the group " REGISTRY_GROUP ")",
			         name, (unsigned)(st.st_mode & 07777), name);
			return;
		}
	}
}

static bool sq_claims(const char *target)
{
	return true;
}

static void sq_close(struct p25_store *s)
{
	sqlite3_close(db_of(s));
	s->conn = NULL;
}

static int sq_open(struct p25_store *s, const char *target, char *warning, size_t warnlen,
                   char *err, size_t errlen)
{
	sqlite3 *db = NULL;

	if (is_plain_path(target) && create_private(target, err, errlen) < 0)
		return -1;
	if (sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open the registry: %s", target,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	s->conn = db;
	/* Before the first statement: another writer may hold the lock (store_busy_timeout). */
	sqlite3_busy_timeout(db, 5000);
	/* WAL lets the compilers read while an operator writes; memory databases cannot. */
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", NULL, NULL,
	                 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: not a usable registry: %s", target, sqlite3_errmsg(db));
		sq_close(s);
		return -1;
	}
	if (is_plain_path(target))
		check_private(target, warning, warnlen);
	return 0;
}

static const char *sq_engine_error(struct p25_store *s)
{
	return sqlite3_errmsg(db_of(s));
}

static int sq_busy_timeout(struct p25_store *s, int ms)
{
	return sqlite3_busy_timeout(db_of(s), ms) == SQLITE_OK ? 0 : -1;
}

static int sq_script(struct p25_store *s, const char *sql)
{
	return sqlite3_exec(db_of(s), sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- transactions ---- */

static int sq_begin(struct p25_store *s, enum store_tx kind)
{
	/* IMMEDIATE: take the write lock now, so two writers cannot interleave checks. */
	return sq_script(s, kind == STORE_WRITE ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int sq_commit(struct p25_store *s)
{
	return sq_script(s, "COMMIT");
}

static void sq_rollback(struct p25_store *s)
{
	sqlite3_exec(db_of(s), "ROLLBACK", NULL, NULL, NULL);
}

/* ---- statements ---- */

static struct store_stmt *sq_prepare(struct p25_store *s, const char *sql)
{
	struct sqlite_stmt *w = malloc(sizeof *w);

	if (!w)
		return NULL;
	if (sqlite3_prepare_v2(db_of(s), sql, -1, &w->st, NULL) != SQLITE_OK) {
		free(w);
		return NULL;
	}
	w->base.store = s;
	return &w->base;
}

static int sq_bind(struct store_stmt *st, int i, const struct store_value *v)
{
	sqlite3_stmt *q = st_of(st);
	int rc;

	switch (v->type) {
	case STORE_INT:
		rc = sqlite3_bind_int64(q, i, v->i);
		break;
	case STORE_TEXT:
		rc = sqlite3_bind_text(q, i, v->text, -1, SQLITE_TRANSIENT);
		break;
	case STORE_BLOB:
		rc = sqlite3_bind_blob(q, i, v->blob, (int)v->len, SQLITE_TRANSIENT);
		break;
	default:
		rc = sqlite3_bind_null(q, i);
		break;
	}
	return rc == SQLITE_OK ? 0 : -1;
}

static int sq_reset(struct store_stmt *st)
{
	sqlite3_reset(st_of(st));
	return sqlite3_clear_bindings(st_of(st)) == SQLITE_OK ? 0 : -1;
}

static int sq_step(struct store_stmt *st)
{
	int rc = sqlite3_step(st_of(st));

	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void sq_finalize(struct store_stmt *st)
{
	sqlite3_finalize(st_of(st));
	free(st);
}

static const char *sq_col_text(struct store_stmt *st, int col)
{
	return (const char *)sqlite3_column_text(st_of(st), col);
}

static int64_t sq_col_int(struct store_stmt *st, int col)
{
	return sqlite3_column_int64(st_of(st), col);
}

static bool sq_col_null(struct store_stmt *st, int col)
{
	return sqlite3_column_type(st_of(st), col) == SQLITE_NULL;
}

static int64_t sq_last_id(struct p25_store *s)
{
	return sqlite3_last_insert_rowid(db_of(s));
}

static int64_t sq_changes(struct p25_store *s)
{
	return sqlite3_changes64(db_of(s));
}

/* One integer a pragma returns (0 when it returns no row). */
static int pragma_int(struct p25_store *s, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	if (sqlite3_prepare_v2(db_of(s), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int sq_data_version(struct p25_store *s, int64_t *out)
{
	return pragma_int(s, "PRAGMA data_version", out);
}

/* ---- the schema ---- */

static int sq_schema_version(struct p25_store *s, int *out)
{
	int64_t v;
	int rc = pragma_int(s, "PRAGMA user_version", &v);

	*out = (int)v;
	return rc;
}

/*
 * SQLite's procedure for a table rebuilt: foreign keys off (a pragma that
 * is a no-op inside a transaction), so that dropping the old table neither
 * cascades nor nulls its children's references, and a foreign key check
 * before each step commits (sq_check), so that nothing is left dangling.
 */
static int sq_migrating(struct p25_store *s, bool migrating)
{
	return sq_script(s, migrating ? "PRAGMA foreign_keys=OFF" : "PRAGMA foreign_keys=ON");
}

static int sq_set_schema_version(struct p25_store *s, int version)
{
	char sql[48];

	snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
	return sq_script(s, sql);
}

/* After a migration step: no row refers to a row that is not there. */
static int sq_check(struct p25_store *s, char *problem, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db_of(s), "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(problem, len, "preparing a query: %s", sqlite3_errmsg(db_of(s)));
		return -1;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(problem, len, "a row of table %s refers to a missing row of %s",
		         (const char *)sqlite3_column_text(st, 0),
		         (const char *)sqlite3_column_text(st, 2));
	else if (rc != SQLITE_DONE)
		snprintf(problem, len, "running a query: %s", sqlite3_errmsg(db_of(s)));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

const struct store_backend store_sqlite = {
    .name = "sqlite",
    .schema = &store_schema_sqlite,
    .claims = sq_claims,
    .open = sq_open,
    .close = sq_close,
    .engine_error = sq_engine_error,
    .busy_timeout = sq_busy_timeout,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .prepare = sq_prepare,
    .bind = sq_bind,
    .reset = sq_reset,
    .step = sq_step,
    .finalize = sq_finalize,
    .col_text = sq_col_text,
    .col_int = sq_col_int,
    .col_null = sq_col_null,
    .last_id = sq_last_id,
    .changes = sq_changes,
    .data_version = sq_data_version,
    .schema_version = sq_schema_version,
    .migrating = sq_migrating,
    .run_script = sq_script,
    .set_schema_version = sq_set_schema_version,
    .check = sq_check,
};
