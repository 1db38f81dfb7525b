/*
 * The engine-neutral half of the storage seam: choosing the engine, binding
 * from format strings, wording failures, and the migration procedure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr/addr.h"
#include "storage/storage_int.h"

/* In order of preference; the last serves every target. */
static const struct store_backend *const backends[] = {&store_sqlite};
#define NBACKENDS (sizeof backends / sizeof backends[0])

/* "registry: what: the engine's words", to store_error() and the sink; returns STORE_EDB. */
static int fail_with(struct p25_store *s, const char *what, const char *detail)
{
	snprintf(s->error, sizeof s->error, "registry: %s: %s", what, detail);
	if (s->sink)
		s->sink(s->sink_ctx, s->error);
	return STORE_EDB;
}

static int fail(struct p25_store *s, const char *what)
{
	return fail_with(s, what, s->be->engine_error(s));
}

int store_open(const char *target, struct p25_store **out, char *warning, size_t warnlen,
               char *err, size_t errlen)
{
	struct p25_store *s = calloc(1, sizeof *s);
	size_t b = 0;

	*out = NULL;
	if (warnlen)
		warning[0] = '\0';
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", target);
		return STORE_EDB;
	}
	while (b + 1 < NBACKENDS && !backends[b]->claims(target))
		b++;
	s->be = backends[b];
	if (s->be->open(s, target, warning, warnlen, err, errlen) < 0) {
		free(s);
		return STORE_EDB;
	}
	*out = s;
	return 0;
}

void store_close(struct p25_store *s)
{
	if (!s)
		return;
	s->be->close(s);
	free(s);
}

const char *store_engine(const struct p25_store *s)
{
	return s->be->name;
}

void store_set_sink(struct p25_store *s, store_sink_fn fn, void *ctx)
{
	s->sink = fn;
	s->sink_ctx = ctx;
}

const char *store_error(const struct p25_store *s)
{
	return s->error;
}

const char *store_engine_error(struct p25_store *s)
{
	return s->be->engine_error(s);
}

int store_busy_timeout(struct p25_store *s, int ms)
{
	return s->be->busy_timeout(s, ms) < 0 ? fail(s, "setting the busy timeout") : 0;
}

int store_begin(struct p25_store *s, enum store_tx kind)
{
	if (s->be->begin(s, kind) < 0)
		return fail(s, kind == STORE_WRITE ? "starting a transaction" : "starting a read");
	return 0;
}

int store_commit(struct p25_store *s)
{
	if (s->be->commit(s) == 0)
		return 0;
	fail(s, "committing");
	s->be->rollback(s);
	return STORE_EDB;
}

void store_rollback(struct p25_store *s)
{
	s->be->rollback(s);
}

static void prefix_net_bytes(const struct p25_prefix *p, unsigned char out[16])
{
	p25_u128 v = p->net;

	for (int i = 15; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
}

static int bind_args(struct store_stmt *st, const char *fmt, va_list ap)
{
	struct p25_store *s = st->store;

	for (int i = 1; fmt && *fmt; fmt++, i++) {
		struct store_value v = {.type = STORE_NULL};
		char buf[P25_TIME_STRLEN];
		unsigned char net[16];

		switch (*fmt) {
		case 's':
			v.text = va_arg(ap, const char *);
			v.type = v.text ? STORE_TEXT : STORE_NULL;
			break;
		case 'i':
			v.type = STORE_INT;
			v.i = va_arg(ap, int64_t);
			break;
		case 't':
		case 'T': {
			p25_time t = va_arg(ap, p25_time);
			if (t || *fmt == 'T') {
				v.type = STORE_TEXT;
				v.text = p25_time_format(t, buf, sizeof buf);
			}
			break;
		}
		case 'b':
			prefix_net_bytes(va_arg(ap, const struct p25_prefix *), net);
			v.type = STORE_BLOB;
			v.blob = net;
			v.len = sizeof net;
			break;
		case 'B':
			v.type = STORE_BLOB;
			v.blob = va_arg(ap, const unsigned char *);
			v.len = va_arg(ap, size_t);
			break;
		default:
			return fail_with(s, "binding a query", "unknown parameter type");
		}
		if (s->be->bind(st, i, &v) < 0)
			return fail(s, "binding a query");
	}
	return 0;
}

static struct store_stmt *prepare(struct p25_store *s, const char *sql, const char *what)
{
	struct store_stmt *st = s->be->prepare(s, sql);

	if (!st)
		fail(s, what);
	return st;
}

struct store_stmt *store_vquery(struct p25_store *s, const char *sql, const char *fmt, va_list ap)
{
	struct store_stmt *st = prepare(s, sql, "preparing a query");

	if (st && bind_args(st, fmt, ap) < 0) {
		s->be->finalize(st);
		return NULL;
	}
	return st;
}

struct store_stmt *store_query(struct p25_store *s, const char *sql, const char *fmt, ...)
{
	struct store_stmt *st;
	va_list ap;

	va_start(ap, fmt);
	st = store_vquery(s, sql, fmt, ap);
	va_end(ap);
	return st;
}

int store_vexec(struct p25_store *s, const char *sql, const char *fmt, va_list ap)
{
	struct store_stmt *st = prepare(s, sql, "preparing a statement");
	int rc;

	if (!st)
		return STORE_EDB;
	rc = bind_args(st, fmt, ap);
	if (rc == 0 && s->be->step(st) < 0)
		rc = fail(s, "writing");
	s->be->finalize(st);
	return rc;
}

int store_exec(struct p25_store *s, const char *sql, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = store_vexec(s, sql, fmt, ap);
	va_end(ap);
	return rc;
}

int store_rebind(struct store_stmt *st, const char *what, const char *fmt, ...)
{
	struct p25_store *s = st->store;
	va_list ap;
	int rc;

	if (s->be->reset(st) < 0)
		return fail(s, what);
	va_start(ap, fmt);
	rc = bind_args(st, fmt, ap);
	va_end(ap);
	/* bind_args words it as any query's; say which work it was. */
	return rc < 0 ? fail(s, what) : 0;
}

int store_run(struct store_stmt *st, const char *what)
{
	return st->store->be->step(st) < 0 ? fail(st->store, what) : 0;
}

int store_step(struct store_stmt *st)
{
	struct p25_store *s = st->store;
	int rc = s->be->step(st);

	if (rc >= 0)
		return rc;
	fail(s, "running a query");
	s->be->finalize(st);
	return STORE_EDB;
}

void store_done(struct store_stmt *st)
{
	if (st)
		st->store->be->finalize(st);
}

const char *col_text(struct store_stmt *st, int col)
{
	const char *t = st->store->be->col_text(st, col);

	return t ? t : "";
}

int64_t col_int(struct store_stmt *st, int col)
{
	return st->store->be->col_int(st, col);
}

bool col_null(struct store_stmt *st, int col)
{
	return st->store->be->col_null(st, col);
}

p25_time col_time(struct store_stmt *st, int col)
{
	const char *t = st->store->be->col_text(st, col);
	char err[8];
	p25_time v = 0;

	if (!t || p25_time_parse(t, &v, err, sizeof err) < 0)
		return 0;
	return v;
}

int64_t store_last_id(struct p25_store *s)
{
	return s->be->last_id(s);
}

int64_t store_changes(struct p25_store *s)
{
	return s->be->changes(s);
}

int store_data_version(struct p25_store *s, int64_t *out)
{
	return s->be->data_version(s, out) < 0 ? fail(s, "running a query") : 0;
}

/* ---- the schema ---- */

int store_schema_version(struct p25_store *s)
{
	int v = 0;

	return s->be->schema_version(s, &v) < 0 ? fail(s, "running a query") : v;
}

int store_schema_steps(const struct p25_store *s, int nextra)
{
	return s->be->schema->n + nextra;
}

/* One step in its own transaction: its script, the engine's check, its version record. */
static int migrate_step(struct p25_store *s, int version, const char *sql)
{
	char problem[512];
	int rc = store_begin(s, STORE_WRITE);

	if (rc == 0 && s->be->run_script(s, sql) < 0)
		rc = fail(s, "migrating the schema");
	if (rc == 0 && s->be->check(s, problem, sizeof problem) < 0) {
		snprintf(s->error, sizeof s->error, "registry: %s", problem);
		if (s->sink)
			s->sink(s->sink_ctx, s->error);
		rc = STORE_EDB;
	}
	if (rc == 0 && s->be->set_schema_version(s, version) < 0)
		rc = fail(s, "recording the schema version");
	if (rc == 0)
		return store_commit(s);
	store_rollback(s);
	return rc;
}

int store_migrate(struct p25_store *s, const char *const *extra, int nextra, char *err,
                  size_t errlen)
{
	const struct store_schema *schema = s->be->schema;
	int n = store_schema_steps(s, nextra), version = store_schema_version(s);

	if (version < 0) {
		snprintf(err, errlen, "%s", s->error);
		return -1;
	}
	if (version > n) {
		snprintf(err, errlen,
		         "registry schema version %d is newer than this port25 understands (%d)",
		         version, n);
		return -1;
	}
	if (version == n)
		return 0;
	if (s->be->migrating(s, true) < 0) {
		snprintf(err, errlen, "migrating the schema: %s", s->be->engine_error(s));
		return -1;
	}
	for (int v = version; v < n; v++) {
		const char *sql = v < schema->n ? schema->steps[v] : extra[v - schema->n];
		if (migrate_step(s, v + 1, sql) < 0) {
			snprintf(err, errlen, "migrating to schema version %d: %s", v + 1, s->error);
			s->be->migrating(s, false);
			return -1;
		}
	}
	if (s->be->migrating(s, false) < 0) {
		snprintf(err, errlen, "migrating the schema: %s", s->be->engine_error(s));
		return -1;
	}
	return 0;
}
