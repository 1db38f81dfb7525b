/*
 * Bulk import and export.
 *
 * Import reads the server list members send in (the sign-up form), as CSV
 * with a header row:
 *     org,address,kind,description,requested_by,approved_by,expires
 * (org may be left out when the caller names one), or as JSON:
 *     {"org": "h", "servers": [{"address": .., "kind": .., "description": ..}]}
 * or a whole registry document as export writes it, which restores
 * everything.  An import is one transaction: the first bad row rolls it all
 * back and the message names the file, the row and the problem.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry/internal.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/text.h"

#define IMPORT_MAX_BYTES (64L * 1024 * 1024)

/* ---- CSV (RFC 4180) ---- */

static int csv_add_field(struct p25_csv_record *r, struct p25_buf *field)
{
	char **v = realloc(r->fields, (r->nfields + 1) * sizeof *v);
	char *s;

	if (!v)
		return -1;
	r->fields = v;
	s = field->len ? p25_buf_steal(field) : strdup("");
	if (!s || field->oom)
		return -1;
	r->fields[r->nfields++] = s;
	return 0;
}

static void csv_record_free(struct p25_csv_record *r)
{
	for (size_t i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	free(r->fields);
	r->fields = NULL;
	r->nfields = 0;
}

static int csv_add_record(struct p25_csv *csv, struct p25_csv_record *r)
{
	struct p25_csv_record *v;

	/* A blank line is one empty field: nothing to import. */
	if (r->nfields == 1 && r->fields[0][0] == '\0') {
		csv_record_free(r);
		return 0;
	}
	v = realloc(csv->records, (csv->nrecords + 1) * sizeof *v);
	if (!v)
		return -1;
	csv->records = v;
	csv->records[csv->nrecords++] = *r;
	memset(r, 0, sizeof *r);
	return 0;
}

int p25_csv_parse(const char *data, size_t len, struct p25_csv *out, char *err, size_t errlen)
{
	struct p25_csv_record rec = {0};
	struct p25_buf field;
	size_t i = 0, line = 1;
	bool quoted_field;

	memset(out, 0, sizeof *out);
	p25_buf_init(&field);
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	rec.line = line;
	while (i <= len) {
		/* One field per iteration; i is at its first character. */
		quoted_field = i < len && data[i] == '"';
		if (quoted_field) {
			size_t start_line = line;
			i++;
			for (;;) {
				if (i >= len) {
					snprintf(err, errlen,
					         "line %zu: a quoted field is never closed",
					         start_line);
					goto fail;
				}
				if (data[i] == '"') {
					if (i + 1 < len && data[i + 1] == '"') {
						p25_buf_put(&field, "\"", 1);
						i += 2;
						continue;
					}
					i++;
					break;
				}
				if (data[i] == '\0') {
					snprintf(err, errlen, "line %zu: a NUL byte in a field",
					         line);
					goto fail;
				}
				if (data[i] == '\n')
					line++;
				p25_buf_put(&field, &data[i], 1);
				i++;
			}
			if (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
				snprintf(err, errlen,
				         "line %zu: unexpected text after a closing quote (write a "
				         "quote inside a quoted field as \"\")",
				         line);
				goto fail;
			}
		} else {
			size_t start = i;
			while (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
				if (data[i] == '"') {
					snprintf(
					    err, errlen,
					    "line %zu: a quote inside an unquoted field (quote the "
					    "whole field and double the quote)",
					    line);
					goto fail;
				}
				if (data[i] == '\0') {
					snprintf(err, errlen, "line %zu: a NUL byte in a field",
					         line);
					goto fail;
				}
				i++;
			}
			p25_buf_put(&field, data + start, i - start);
		}
		if (csv_add_field(&rec, &field) < 0)
			goto oom;
		if (i < len && data[i] == ',') {
			i++;
			continue;
		}
		/* End of the record: a line break or the end of the data. */
		if (i < len && data[i] == '\r')
			i++;
		if (i < len && data[i] == '\n')
			i++;
		line++;
		if (csv_add_record(out, &rec) < 0)
			goto oom;
		rec.line = line;
		if (i >= len)
			break;
	}
	csv_record_free(&rec);
	p25_buf_free(&field);
	return 0;
oom:
	snprintf(err, errlen, "line %zu: out of memory", line);
fail:
	csv_record_free(&rec);
	p25_buf_free(&field);
	p25_csv_free(out);
	return -1;
}

void p25_csv_free(struct p25_csv *csv)
{
	for (size_t i = 0; i < csv->nrecords; i++)
		csv_record_free(&csv->records[i]);
	free(csv->records);
	memset(csv, 0, sizeof *csv);
}

/* ---- locating errors ---- */

/* Prefix the registry's message with where in the file it happened (reg_wrap). */
#define locate reg_wrap

/* ---- server lists ---- */

struct server_row {
	const char *org, *address, *kind, *description, *requested_by, *approved_by, *expires;
};

/* What one import of a server list has seen: its rows' addresses, and its bad rows. */
struct seen_row {
	const char *org;
	char text[P25_PREFIX_STRLEN];
	char where[48];
};
struct import_run {
	const struct p25_import_options *opt;
	struct p25_import_result *result;
	struct seen_row *seen;
	size_t nseen;
};

void import_problems_clear(struct p25_registry *reg)
{
	for (size_t i = 0; i < reg->nproblems; i++)
		free(reg->problems[i].message);
	free(reg->problems);
	reg->problems = NULL;
	reg->nproblems = 0;
}

/* The registry's message about a bad row, kept until the next import. */
static int add_problem(struct p25_registry *reg, int code)
{
	struct p25_import_problem *v = realloc(reg->problems, (reg->nproblems + 1) * sizeof *v);

	if (!v)
		return reg_fail(reg, P25_EDB, "registry: out of memory");
	reg->problems = v;
	v[reg->nproblems].message = strdup(reg->error);
	v[reg->nproblems].hint = reg->hint;
	v[reg->nproblems].code = code;
	if (!v[reg->nproblems].message)
		return reg_fail(reg, P25_EDB, "registry: out of memory");
	reg->nproblems++;
	return 0;
}

/*
 * The earlier row of this file that holds the same address for the same
 * organization ("line 3"), or NULL; a row whose address parses is
 * remembered, bad or not, so a repeat of it is named as one.
 */
static const char *repeats(struct import_run *run, const char *org, const char *address,
                           const char *where)
{
	struct p25_prefix p;
	struct p25_diag diag;
	char text[P25_PREFIX_STRLEN];
	struct seen_row *v;

	if (!org || !address || p25_prefix_parse(address, 0, &p, &diag) < 0)
		return NULL;
	permit_text(&p, text, sizeof text);
	for (size_t i = 0; i < run->nseen; i++)
		if (!strcmp(run->seen[i].org, org) && !strcmp(run->seen[i].text, text))
			return run->seen[i].where;
	if (!(v = realloc(run->seen, (run->nseen + 1) * sizeof *v)))
		return NULL;
	run->seen = v;
	v[run->nseen].org = org;
	snprintf(v[run->nseen].text, sizeof v[run->nseen].text, "%s", text);
	snprintf(v[run->nseen].where, sizeof v[run->nseen].where, "%s", where);
	run->nseen++;
	return NULL;
}

/*
 * One server of a list: the kind defaults to mail-server and the description
 * to the kind, as on a request; then the rules of permit add.
 */
static int import_server(struct p25_registry *reg, const struct p25_actor *who,
                         struct import_run *run, const struct server_row *row, const char *where)
{
	const struct p25_import_options *opt = run->opt;
	struct p25_permit_spec spec = {0};
	const char *org = row->org && *row->org ? row->org : opt->org;
	const char *earlier;
	char err[256];
	int64_t id = 0;
	int rc;

	if (!org || !*org)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "%s: %s: no organization (add an org column)", opt->name,
		                         where),
		                P25_HINT_IMPORT_ORG_COLUMN, NULL, 0, 1);
	if (opt->org && *opt->org && strcmp(org, opt->org) != 0)
		return reg_hint_replace(reg,
		                        reg_fail(reg, P25_EINVAL,
		                                 "%s: %s: the row is for organization '%s' but the "
		                                 "import's organization is '%s'",
		                                 opt->name, where, org, opt->org),
		                        P25_HINT_IMPORT_ORG_NAMED, "the import's organization");
	if (!row->address || !*row->address)
		return reg_fail(reg, P25_EINVAL, "%s: %s: the address is missing", opt->name,
		                where);
	if ((earlier = repeats(run, org, row->address, where)))
		return reg_fail(reg, P25_ECONFLICT, "%s: %s: %s repeats %s", opt->name, where,
		                row->address, earlier);
	if (intake_kind(row->kind, false, &spec.kind, err, sizeof err) < 0 ||
	    rule_expiry_text(row->expires, who->now, &spec.expires, err, sizeof err) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: %s: %s", opt->name, where, err);
	spec.org = org;
	spec.address = row->address;
	spec.description =
	    row->description && *row->description ? row->description : p25_kind_name(spec.kind);
	spec.requested_by = row->requested_by;
	spec.approved_by = row->approved_by;
	spec.force = opt->force;
	rc = permit_add_tx(reg, who, &spec, NULL, &id);
	if (rc < 0)
		return rc == P25_EDB ? rc : locate(reg, rc, "%s: %s", opt->name, where);
	run->result->permits++;
	return 0;
}

/*
 * A row in a savepoint of its own: a bad row is undone and kept as a
 * problem, and the rows after it are still checked (against the good rows
 * before them), so that one run names every bad row.  Only a storage
 * failure stops the run.
 */
static int import_row(struct p25_registry *reg, const struct p25_actor *who,
                      struct import_run *run, const struct server_row *row, const char *where,
                      const char *problem)
{
	int rc = reg_exec(reg, "SAVEPOINT import_row", "");

	if (rc < 0)
		return rc;
	rc = problem ? reg_fail(reg, P25_EINVAL, "%s: %s: %s", run->opt->name, where, problem)
	             : import_server(reg, who, run, row, where);
	if (rc == 0)
		return reg_exec(reg, "RELEASE import_row", "");
	if (rc == P25_EDB || (rc = add_problem(reg, rc)) < 0)
		return rc;
	if (reg_exec(reg, "ROLLBACK TO import_row", "") < 0 ||
	    reg_exec(reg, "RELEASE import_row", "") < 0)
		return P25_EDB;
	return 0;
}

/* After the last row: no problem, one (its own message), or a count of them. */
static int import_verdict(struct p25_registry *reg, struct import_run *run)
{
	int code;

	free(run->seen);
	run->seen = NULL;
	if (reg->nproblems == 0)
		return 0;
	code = reg->problems[0].code;
	if (reg->nproblems == 1) {
		snprintf(reg->error, sizeof reg->error, "%s", reg->problems[0].message);
		reg->hint = reg->problems[0].hint;
		return code;
	}
	for (size_t i = 1; i < reg->nproblems; i++)
		if (reg->problems[i].code != code)
			code = P25_EINVAL;
	return reg_fail(reg, code, "%s: %zu rows refused; nothing imported", run->opt->name,
	                reg->nproblems);
}

static int import_csv(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                      size_t len, const struct p25_import_options *opt,
                      struct p25_import_result *result)
{
	struct import_run run = {.opt = opt, .result = result};
	struct intake t;
	char err[1024];
	int rc;

	if ((rc = intake_read(&t, data, len, opt->name, INTAKE_ALL, err, sizeof err)) < 0)
		return reg_fail(reg, rc, "%s", err);
	/* Said once for the file, not once a row. */
	if (!(t.have & INTAKE_COLUMN(INTAKE_ORG)) && (!opt->org || !*opt->org)) {
		intake_free(&t);
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "%s: no organization for its servers (add an org column)",
		                         opt->name),
		                P25_HINT_IMPORT_ORG_COLUMN, NULL, 0, 1);
	}
	if (t.n == 0) {
		intake_free(&t);
		return reg_fail(reg, P25_EINVAL, "%s: no addresses in the list", opt->name);
	}
	for (size_t r = 0; r < t.n && rc == 0; r++) {
		const struct intake_row *ir = &t.rows[r];
		struct server_row row = {ir->v[INTAKE_ORG],          ir->v[INTAKE_ADDRESS],
		                         ir->v[INTAKE_KIND],         ir->v[INTAKE_DESCRIPTION],
		                         ir->v[INTAKE_REQUESTED_BY], ir->v[INTAKE_APPROVED_BY],
		                         ir->v[INTAKE_EXPIRES]};
		char where[32];
		snprintf(where, sizeof where, "line %zu", ir->line);
		rc = import_row(reg, who, &run, &row, where, ir->problem);
	}
	if (rc == 0)
		rc = import_verdict(reg, &run);
	free(run.seen);
	intake_free(&t);
	return rc;
}

/* ---- the servers of a request ---- */

static int list_keep(struct p25_server_list *l, const char *s, const char **out)
{
	char **v = realloc(l->strings, (l->nstrings + 1) * sizeof *v);
	char *copy = strdup(s ? s : "");

	if (!v || !copy) {
		free(copy);
		if (v)
			l->strings = v;
		return P25_EDB;
	}
	l->strings = v;
	l->strings[l->nstrings++] = copy;
	*out = copy;
	return 0;
}

/*
 * A server as a member writes it: the kind defaults to mail-server and the
 * description to the kind (a form often says no more than the address); the
 * kind and the expiry are read by the same rules as an import's.
 */
static int list_add(struct p25_server_list *l, const struct server_row *row, p25_time now,
                    const char *where, char *err, size_t errlen)
{
	struct p25_request_server s = {0};
	char msg[256];
	struct p25_request_server *v;

	if (!row->address || !*row->address) {
		snprintf(err, errlen, "%s: the address is missing", where);
		return P25_EINVAL;
	}
	if (intake_kind(row->kind, false, &s.kind, msg, sizeof msg) < 0 ||
	    rule_expiry_text(row->expires, now, &s.expires, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", where, msg);
		return P25_EINVAL;
	}
	if (!(v = realloc(l->servers, (l->n + 1) * sizeof *v)))
		goto oom;
	l->servers = v;
	if (list_keep(l, row->address, &s.address) < 0 ||
	    list_keep(
	        l, row->description && *row->description ? row->description : p25_kind_name(s.kind),
	        &s.description) < 0)
		goto oom;
	l->servers[l->n++] = s;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", where);
	return P25_EDB;
}

void p25_server_list_free(struct p25_server_list *l)
{
	for (size_t i = 0; i < l->nstrings; i++)
		free(l->strings[i]);
	free(l->strings);
	free(l->servers);
	memset(l, 0, sizeof *l);
}

int p25_server_list_add_arg(struct p25_server_list *l, const char *label, const char *arg,
                            p25_time now, char *err, size_t errlen)
{
	struct p25_csv csv;
	struct server_row row = {0};
	char where[300], msg[256];
	char **f;
	int rc;

	snprintf(where, sizeof where, "%s '%s'", label ? label : "server", arg ? arg : "");
	if (p25_csv_parse(arg ? arg : "", arg ? strlen(arg) : 0, &csv, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", where, msg);
		return P25_EINVAL;
	}
	if (csv.nrecords != 1 || csv.records[0].nfields > 4) {
		snprintf(err, errlen,
		         "%s: expected ADDRESS[,KIND[,DESCRIPTION[,EXPIRES]]] as one CSV record "
		         "(quote a description that holds commas: "
		         "192.0.2.9,app,\"Relay, north wing\",2026-12-31)",
		         where);
		p25_csv_free(&csv);
		return P25_EINVAL;
	}
	f = csv.records[0].fields;
	row.address = p25_text_trim(f[0]);
	if (csv.records[0].nfields > 1)
		row.kind = p25_text_trim(f[1]);
	if (csv.records[0].nfields > 2)
		row.description = p25_text_trim(f[2]);
	if (csv.records[0].nfields > 3) {
		row.expires = p25_text_trim(f[3]);
		/* A fourth field is an expiry or a mistake, never part of the description. */
		if (!*row.expires) {
			snprintf(err, errlen,
			         "%s: the fourth field (the expiry) is empty; leave it out for a "
			         "permanent permit",
			         where);
			p25_csv_free(&csv);
			return P25_EINVAL;
		}
	}
	rc = list_add(l, &row, now, where, err, errlen);
	p25_csv_free(&csv);
	return rc;
}

int p25_server_list_add_csv(struct p25_server_list *l, const char *data, size_t len,
                            const char *name, const char *org, p25_time now, char *err,
                            size_t errlen)
{
	struct intake t;
	size_t n0 = l->n, nstrings0 = l->nstrings;
	int rc = intake_read(&t, data, len, name, INTAKE_REQUEST, err, errlen);

	for (size_t r = 0; rc == 0 && r < t.n; r++) {
		const struct intake_row *ir = &t.rows[r];
		struct server_row row = {ir->v[INTAKE_ORG],  ir->v[INTAKE_ADDRESS],
		                         ir->v[INTAKE_KIND], ir->v[INTAKE_DESCRIPTION],
		                         NULL,               NULL,
		                         ir->v[INTAKE_EXPIRES]};
		char where[300];
		snprintf(where, sizeof where, "%s: line %zu", name, ir->line);
		if (ir->problem) {
			snprintf(err, errlen, "%s: %s", where, ir->problem);
			rc = P25_EINVAL;
		} else if (row.org && *row.org && org && strcmp(row.org, org) != 0) {
			snprintf(err, errlen, "%s: the row is for organization '%s', not '%s'",
			         where, row.org, org);
			rc = P25_EINVAL;
		} else {
			rc = list_add(l, &row, now, where, err, errlen);
		}
	}
	if (rc == 0 && t.n == 0) {
		snprintf(err, errlen, "%s: no addresses in the list", name);
		rc = P25_EINVAL;
	}
	intake_free(&t); /* zeroed already when intake_read failed */
	/* All or nothing, like an import: a bad row leaves the list as it was. */
	while (rc < 0 && l->nstrings > nstrings0)
		free(l->strings[--l->nstrings]);
	if (rc < 0)
		l->n = n0;
	return rc;
}

/*
 * The whole file, at most IMPORT_MAX_BYTES.  A file that is not there or
 * cannot be opened is bad input (the name is the user's), a failed read a
 * system error.
 */
static int read_file(const char *path, struct p25_buf *data, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc = p25_file_read(path, IMPORT_MAX_BYTES, &text, &len, err, errlen);

	p25_buf_init(data);
	if (rc < 0)
		return rc == -1 ? P25_EINVAL : P25_EDB;
	p25_buf_put(data, text, len);
	free(text);
	if (data->oom) {
		snprintf(err, errlen, "%s: out of memory", path);
		p25_buf_free(data);
		return P25_EDB;
	}
	return 0;
}

int p25_server_list_add_file(struct p25_server_list *l, const char *path, const char *org,
                             p25_time now, char *err, size_t errlen)
{
	struct p25_buf data;
	int rc = read_file(path, &data, err, errlen);

	if (rc < 0)
		return rc;
	rc = p25_server_list_add_csv(l, data.data ? data.data : "", data.len, path, org, now, err,
	                             errlen);
	p25_buf_free(&data);
	return rc;
}

static const char *str_of(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Keys that are present must be strings (or null): a number is a mistake, not a default. */
static int check_strings(struct p25_registry *reg, json_t *obj, const char *const *keys,
                         const char *where)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(obj, *keys);
		if (v && !json_is_string(v) && !json_is_null(v))
			return reg_fail(reg, P25_EINVAL, "%s: \"%s\" must be a string", where,
			                *keys);
	}
	return 0;
}

static int import_server_list(struct p25_registry *reg, const struct p25_actor *who, json_t *doc,
                              const struct p25_import_options *opt,
                              struct p25_import_result *result)
{
	static const char *const keys[] = {"address",     "kind",    "description", "requested_by",
	                                   "approved_by", "expires", NULL};
	json_t *servers = json_object_get(doc, "servers"), *s;
	struct p25_import_options o = *opt;
	struct import_run run = {.opt = &o, .result = result};
	const char *org = str_of(doc, "org");
	size_t i;
	int rc = 0;

	if (json_object_get(doc, "org") && !org)
		return reg_fail(reg, P25_EINVAL, "%s: \"org\" must be a string", opt->name);
	if (org && opt->org && *opt->org && strcmp(org, opt->org) != 0)
		return reg_hint_replace(reg,
		                        reg_fail(reg, P25_EINVAL,
		                                 "%s: the file is for organization '%s' but the "
		                                 "import's organization is '%s'",
		                                 opt->name, org, opt->org),
		                        P25_HINT_IMPORT_ORG_NAMED, "the import's organization");
	if (org)
		o.org = org;
	if (!json_is_array(servers))
		return reg_fail(reg, P25_EINVAL, "%s: \"servers\" must be an array", opt->name);
	if (json_array_size(servers) == 0)
		return reg_fail(reg, P25_EINVAL, "%s: \"servers\" is empty", opt->name);
	json_array_foreach(servers, i, s)
	{
		char where[48], msg[96];
		const char *problem = NULL;
		struct server_row row = {0};
		snprintf(where, sizeof where, "servers[%zu]", i);
		if (!json_is_object(s))
			problem = "expected an object";
		/* Keys that are present must be strings (or null): a number is a mistake. */
		for (const char *const *k = keys; !problem && *k; k++) {
			json_t *v = json_object_get(s, *k);
			if (v && !json_is_string(v) && !json_is_null(v)) {
				snprintf(msg, sizeof msg, "\"%s\" must be a string", *k);
				problem = msg;
			}
		}
		if (!problem)
			row = (struct server_row){str_of(s, "org"),          str_of(s, "address"),
			                          str_of(s, "kind"),         str_of(s, "description"),
			                          str_of(s, "requested_by"), str_of(s, "approved_by"),
			                          str_of(s, "expires")};
		if ((rc = import_row(reg, who, &run, &row, where, problem)) < 0)
			break;
	}
	if (rc == 0)
		rc = import_verdict(reg, &run);
	free(run.seen);
	return rc;
}

/* ---- whole registry documents ---- */

static int restore_time(struct p25_registry *reg, json_t *obj, const char *key, const char *where,
                        p25_time *out)
{
	const char *s = str_of(obj, key);
	char err[200];

	*out = 0;
	if (!s)
		return 0;
	if (p25_time_parse(s, out, err, sizeof err) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: \"%s\": %s", where, key, err);
	return 0;
}

/* A scheduled activation, as export writes it: {"at", "by", "no_servers"}, or null. */
static int restore_activation(struct p25_registry *reg, json_t *o, const char *handle,
                              const char *where)
{
	json_t *a = json_object_get(o, "activation");
	p25_time at = 0;
	int rc;

	if (!a || json_is_null(a))
		return 0;
	if (!json_is_object(a))
		return reg_fail(reg, P25_EINVAL, "%s: \"activation\" must be an object or null",
		                where);
	if ((rc = restore_time(reg, a, "at", where, &at)) < 0)
		return rc;
	if (!at || !str_of(a, "by"))
		return reg_fail(reg, P25_EINVAL, "%s: \"activation\" needs \"at\" and \"by\"",
		                where);
	return reg_exec(reg,
	                "UPDATE org SET activate_at = ?, activate_by = ?, activate_no_servers = ? "
	                "WHERE handle = ?",
	                "Tsis", at, str_of(a, "by"),
	                (int64_t)json_is_true(json_object_get(a, "no_servers")), handle);
}

static int restore_org(struct p25_registry *reg, const struct p25_actor *who, json_t *o,
                       const char *where, struct p25_import_result *result)
{
	static const char *const keys[] = {"handle", "name",    "enrollment", "mode",
	                                   "action", "created", "updated",    NULL};
	const char *handle = str_of(o, "handle");
	enum p25_enrollment e = P25_ENROLL_NONE;
	enum p25_mode mode = P25_MODE_OUTBOUND;
	enum p25_action action = P25_ACTION_REJECT;
	struct org_restore restore = {0};
	json_t *list, *item;
	size_t i;
	int rc;

	if (!json_is_object(o))
		return reg_fail(reg, P25_EINVAL, "%s: expected an object", where);
	if ((rc = check_strings(reg, o, keys, where)) < 0)
		return rc;
	if (str_of(o, "enrollment") && p25_enrollment_parse(str_of(o, "enrollment"), &e) < 0)
		return reg_fail(
		    reg, P25_EINVAL,
		    "%s: enrollment '%s' is not one of none, pending, active, suspended", where,
		    str_of(o, "enrollment"));
	if (str_of(o, "mode") && p25_mode_parse(str_of(o, "mode"), &mode) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: mode '%s' is not outbound or both", where,
		                str_of(o, "mode"));
	if (str_of(o, "action") && p25_action_parse(str_of(o, "action"), &action) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: action '%s' is not reject or drop", where,
		                str_of(o, "action"));
	if ((rc = restore_time(reg, o, "created", where, &restore.created)) < 0 ||
	    (rc = restore_time(reg, o, "updated", where, &restore.updated)) < 0)
		return rc;
	restore.enrollment = p25_enrollment_name(e);
	if ((rc = org_add_tx(reg, who, handle, str_of(o, "name"), mode, action, &restore)) < 0)
		return locate(reg, rc, "%s", where);
	result->orgs++;
	if ((rc = restore_activation(reg, o, handle, where)) < 0)
		return rc;

	list = json_object_get(o, "prefixes");
	if (list && !json_is_array(list))
		return reg_fail(reg, P25_EINVAL, "%s: \"prefixes\" must be an array", where);
	json_array_foreach(list, i, item)
	{
		const char *text = str_of(item, "prefix");
		if (!text)
			return reg_fail(reg, P25_EINVAL, "%s.prefixes[%zu]: \"prefix\" is missing",
			                where, i);
		if ((rc = prefix_add_tx(reg, who, handle, text, str_of(item, "description"), 0)) <
		    0)
			return locate(reg, rc, "%s.prefixes[%zu]", where, i);
		result->prefixes++;
	}

	list = json_object_get(o, "contacts");
	if (list && !json_is_array(list))
		return reg_fail(reg, P25_EINVAL, "%s: \"contacts\" must be an array", where);
	json_array_foreach(list, i, item)
	{
		enum p25_contact_role role;
		if (p25_role_parse(str_of(item, "role"), &role) < 0)
			return reg_fail(reg, P25_EINVAL,
			                "%s.contacts[%zu]: role must be security, technical or "
			                "administrative",
			                where, i);
		rc = contact_add_tx(reg, who, handle, str_of(item, "name"), str_of(item, "email"),
		                    str_of(item, "phone"), role,
		                    json_integer_value(json_object_get(item, "id")), NULL);
		if (rc < 0)
			return locate(reg, rc, "%s.contacts[%zu]", where, i);
		result->contacts++;
	}
	return 0;
}

static int restore_permits(struct p25_registry *reg, const struct p25_actor *who, json_t *o,
                           const char *where, const struct p25_import_options *opt,
                           struct p25_import_result *result)
{
	static const char *const keys[] = {"address",     "kind",    "description", "requested_by",
	                                   "approved_by", "created", "expires",     NULL};
	json_t *list = json_object_get(o, "permits"), *item;
	size_t i;
	int rc;

	if (list && !json_is_array(list))
		return reg_fail(reg, P25_EINVAL, "%s: \"permits\" must be an array", where);
	json_array_foreach(list, i, item)
	{
		char at[600], err[200];
		/*
		 * The rules of permit add hold here too (a wide permit needs --force);
		 * only a past expiry is allowed: it is the history of a variance.
		 */
		struct p25_permit_spec spec = {.org = str_of(o, "handle"), .force = opt->force};
		struct permit_origin origin = {.allow_past = true};
		json_t *req = json_object_get(item, "request_id");

		snprintf(at, sizeof at, "%s.permits[%zu]", where, i);
		if (!json_is_object(item))
			return reg_fail(reg, P25_EINVAL, "%s: expected an object", at);
		if ((rc = check_strings(reg, item, keys, at)) < 0)
			return rc;
		if (rule_kind_text(str_of(item, "kind"), true, &spec.kind, err, sizeof err) < 0)
			return reg_fail(reg, P25_EINVAL, "%s: %s", at, err);
		spec.address = str_of(item, "address");
		spec.description = str_of(item, "description");
		spec.requested_by = str_of(item, "requested_by");
		spec.approved_by = str_of(item, "approved_by");
		if ((rc = restore_time(reg, item, "created", at, &origin.created)) < 0 ||
		    (rc = restore_time(reg, item, "expires", at, &spec.expires)) < 0)
			return rc;
		origin.want_id = json_integer_value(json_object_get(item, "id"));
		if (json_is_integer(req)) {
			reg_stmt *st = reg_query(reg, "SELECT 1 FROM request WHERE id = ?", "i",
			                             (int64_t)json_integer_value(req));
			if (!st || (rc = reg_step(reg, st)) < 0)
				return P25_EDB;
			reg_done(st);
			if (!rc)
				return reg_fail(reg, P25_EINVAL,
				                "%s: request_id %lld does not exist", at,
				                (long long)json_integer_value(req));
			origin.request_id = json_integer_value(req);
		}
		if ((rc = permit_add_tx(reg, who, &spec, &origin, NULL)) < 0)
			return locate(reg, rc, "%s", at);
		result->permits++;
	}
	return 0;
}

static int max_of(struct p25_registry *reg, const char *sql, int64_t *out)
{
	reg_stmt *st = reg_query(reg, sql, "");
	int rc;

	*out = 0;
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	*out = rc ? col_int(st, 0) : 0;
	reg_done(st);
	return 0;
}

/*
 * The document's audit history in place of the records this import wrote
 * while rebuilding the registry: the history says who did what and when;
 * records stamped now by the importer would not.  Each record is written as
 * it was (its time, actor, action, object, before and after) with the typed
 * change the registry derives from it, in the document's order, after
 * whatever the registry held before.  The import itself is audited after.
 */
static int restore_history(struct p25_registry *reg, json_t *doc, int64_t audit_max,
                           int64_t change_max, const char *name, size_t *n)
{
	static const char *const keys[] = {"at", "actor", "action", "object_type", "object", NULL};
	json_t *history = json_object_get(doc, "audit"), *r;
	size_t i;
	int rc;

	*n = 0;
	if (!json_is_array(history))
		return reg_fail(reg, P25_EINVAL, "%s: \"audit\" must be an array", name);
	if ((rc = reg_exec(reg, "DELETE FROM change WHERE seq > ?", "i", change_max)) < 0 ||
	    (rc = reg_exec(reg, "DELETE FROM audit WHERE id > ?", "i", audit_max)) < 0)
		return rc;
	json_array_foreach(history, i, r)
	{
		char where[64];
		struct p25_actor who = {0};
		json_t *before = json_object_get(r, "before"), *after = json_object_get(r, "after");
		snprintf(where, sizeof where, "%s: audit[%zu]", name, i);
		if (!json_is_object(r))
			return reg_fail(reg, P25_EINVAL, "%s: expected an object", where);
		for (const char *const *k = keys; *k; k++)
			if (!json_is_string(json_object_get(r, *k)))
				return reg_fail(reg, P25_EINVAL, "%s: \"%s\" must be a string", where,
				                *k);
		if ((rc = restore_time(reg, r, "at", where, &who.now)) < 0)
			return rc;
		who.name = str_of(r, "actor");
		rc = reg_audit(reg, &who, str_of(r, "action"), str_of(r, "object_type"),
		               str_of(r, "object"), json_is_null(before) ? NULL : before,
		               json_is_null(after) ? NULL : after);
		if (rc < 0)
			return rc == P25_EDB ? reg_wrap(reg, rc, "%s", where) : rc;
		(*n)++;
	}
	return 0;
}

static int import_document(struct p25_registry *reg, const struct p25_actor *who, json_t *doc,
                           const struct p25_import_options *opt, struct p25_import_result *result)
{
	int64_t audit_max = 0, change_max = 0;
	size_t restored = 0;
	json_t *orgs = json_object_get(doc, "organizations"),
	       *reqs = json_object_get(doc, "requests");
	json_t *v = json_object_get(doc, "version"), *o;
	char where[512];
	size_t i;
	int rc;

	if (v && json_integer_value(v) != 1)
		return reg_fail(reg, P25_EINVAL, "%s: document version %s is not supported (1 is)",
		                opt->name, json_is_integer(v) ? "other than 1" : "malformed");
	if (!json_is_array(orgs))
		return reg_fail(reg, P25_EINVAL, "%s: \"organizations\" must be an array",
		                opt->name);
	if (reqs && !json_is_array(reqs))
		return reg_fail(reg, P25_EINVAL, "%s: \"requests\" must be an array", opt->name);
	/* What was there before this import: the records after these are its own. */
	if ((rc = max_of(reg, "SELECT coalesce(max(id), 0) FROM audit", &audit_max)) < 0 ||
	    (rc = max_of(reg, "SELECT coalesce(max(seq), 0) FROM change", &change_max)) < 0)
		return rc;
	json_array_foreach(orgs, i, o)
	{
		snprintf(where, sizeof where, "%s: organizations[%zu]", opt->name, i);
		if ((rc = restore_org(reg, who, o, where, result)) < 0)
			return rc;
	}
	/* Requests before permits: permits name the request that created them. */
	json_array_foreach(reqs, i, o)
	{
		snprintf(where, sizeof where, "%s: requests[%zu]", opt->name, i);
		if ((rc = request_restore_tx(reg, who, o, where)) < 0)
			return rc;
		result->requests++;
	}
	json_array_foreach(orgs, i, o)
	{
		snprintf(where, sizeof where, "%s: organizations[%zu]", opt->name, i);
		if ((rc = restore_permits(reg, who, o, where, opt, result)) < 0)
			return rc;
	}
	/* An active org is held to the rules of org set, with its permits restored. */
	json_array_foreach(orgs, i, o)
	{
		const char *handle = str_of(o, "handle");
		int64_t org_id = 0;
		if (!str_of(o, "enrollment") || strcmp(str_of(o, "enrollment"), "active") != 0)
			continue;
		if ((rc = org_id_of(reg, handle, &org_id)) < 0 ||
		    (rc = rule_activation(reg, org_id, handle, who->now, opt->no_servers)) < 0)
			return locate(reg, rc, "%s: organizations[%zu]", opt->name, i);
	}
	if (json_object_get(doc, "audit")) {
		rc = restore_history(reg, doc, audit_max, change_max, opt->name, &restored);
		if (rc < 0)
			return rc;
		result->audit = restored;
	}
	return 0;
}

static int import_json(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                       size_t len, const struct p25_import_options *opt,
                       struct p25_import_result *result)
{
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc;

	if (!doc)
		return reg_fail(reg, P25_EINVAL, "%s: line %d: %s", opt->name, jerr.line,
		                jerr.text);
	if (!json_is_object(doc))
		rc = reg_fail(reg, P25_EINVAL, "%s: expected a JSON object", opt->name);
	else if (json_object_get(doc, "organizations"))
		rc = import_document(reg, who, doc, opt, result);
	else if (json_object_get(doc, "servers"))
		rc = import_server_list(reg, who, doc, opt, result);
	else
		rc = reg_fail(reg, P25_EINVAL,
		              "%s: neither a server list ({\"org\", \"servers\"}) nor a registry "
		              "document ({\"organizations\"})",
		              opt->name);
	json_decref(doc);
	return rc;
}

static enum p25_import_format detect(const char *name, const char *data, size_t len)
{
	size_t n = name ? strlen(name) : 0;

	if (n > 4 && !strcasecmp(name + n - 4, ".csv"))
		return P25_IMPORT_CSV;
	if (n > 5 && !strcasecmp(name + n - 5, ".json"))
		return P25_IMPORT_JSON;
	for (size_t i = 0; i < len; i++) {
		if (isspace((unsigned char)data[i]))
			continue;
		return data[i] == '{' || data[i] == '[' ? P25_IMPORT_JSON : P25_IMPORT_CSV;
	}
	return P25_IMPORT_CSV;
}

static int import_tx(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                     size_t len, const struct p25_import_options *opt,
                     struct p25_import_result *result)
{
	enum p25_import_format format = opt->format;
	json_t *summary;
	int rc;

	if (format == P25_IMPORT_AUTO)
		format = detect(opt->name, data, len);
	rc = format == P25_IMPORT_CSV ? import_csv(reg, who, data, len, opt, result)
	                              : import_json(reg, who, data, len, opt, result);
	if (rc < 0)
		return rc;
	summary = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "format",
	                    format == P25_IMPORT_CSV ? "csv" : "json", "organizations",
	                    (json_int_t)result->orgs, "prefixes", (json_int_t)result->prefixes,
	                    "contacts", (json_int_t)result->contacts, "permits",
	                    (json_int_t)result->permits, "requests", (json_int_t)result->requests);
	if (result->audit)
		json_object_set_new(summary, "audit_records", json_integer((json_int_t)result->audit));
	rc = reg_change(reg, who, P25_CHANGE_IMPORT, opt->name, NULL, summary);
	json_decref(summary);
	return rc;
}

int p25_import_buffer(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                      size_t len, const struct p25_import_options *opt,
                      struct p25_import_result *result)
{
	struct p25_import_options o = *opt;
	int rc;

	memset(result, 0, sizeof *result);
	import_problems_clear(reg);
	if (!o.name)
		o.name = "(input)";
	if ((rc = reg_begin(reg)) < 0)
		return rc;
	rc = import_tx(reg, who, data, len, &o, result);
	if (rc == 0 && o.dry_run) {
		store_rollback(reg_store(reg));
		return 0;
	}
	rc = reg_end(reg, rc);
	/* Nothing was imported; what was wrong stays. */
	if (rc < 0)
		result->orgs = result->prefixes = result->contacts = result->permits =
		    result->requests = result->audit = 0;
	result->problems = reg->problems;
	result->nproblems = reg->nproblems;
	return rc;
}

int p25_import_file(struct p25_registry *reg, const struct p25_actor *who, const char *path,
                    const struct p25_import_options *opt, struct p25_import_result *result)
{
	struct p25_import_options o = *opt;
	struct p25_buf data;
	int rc;

	memset(result, 0, sizeof *result);
	if ((rc = read_file(path, &data, reg->error, sizeof reg->error)) < 0)
		return rc;
	if (!o.name)
		o.name = path;
	rc = p25_import_buffer(reg, who, data.data ? data.data : "", data.len, &o, result);
	p25_buf_free(&data);
	return rc;
}

/* ---- export ---- */

/* One audit record as an export keeps it. */
static json_t *export_audit_row(reg_stmt *st, p25_time now, int64_t window)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id",
	                 (json_int_t)col_int(st, 0), "at", col_text(st, 1), "actor",
	                 col_text(st, 2), "action", col_text(st, 3), "object_type",
	                 col_text(st, 4), "object", col_text(st, 5), "before", col_json(st, 6),
	                 "after", col_json(st, 7));
}

/* The audit history, oldest first: an export is a backup of what happened too. */
static int export_audit(struct p25_registry *reg, json_t *doc)
{
	json_t *list;
	int rc = reg_collect(reg,
	                     reg_query(reg,
	                               "SELECT id, at, actor, action, object_type, object, before, "
	                               "after FROM audit ORDER BY id",
	                               ""),
	                     &list, export_audit_row, 0, 0);

	if (rc < 0)
		return rc;
	json_object_set_new(doc, "audit", list);
	return 0;
}

static int export_tx(struct p25_registry *reg, json_t *doc)
{
	json_t *orgs = json_array(), *requests;
	reg_stmt *st;
	int rc;

	json_object_set_new(doc, "version", json_integer(1));
	json_object_set_new(doc, "organizations", orgs);
	st = reg_query(reg, "SELECT id FROM org ORDER BY handle", "");
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		int64_t id = col_int(st, 0);
		json_t *o = org_json_by_id(reg, id), *list = json_array(), *r;
		reg_stmt *q;
		int qrc;

		json_object_set_new(o, "prefixes", list);
		q = reg_query(reg,
		              "SELECT text, description FROM prefix WHERE org_id = ? ORDER BY "
		              "family, net, len",
		              "i", id);
		while (q && (qrc = reg_step(reg, q)) == 1)
			json_array_append_new(list,
			                      json_pack("{s:s, s:s}", "prefix", col_text(q, 0),
			                                "description", col_text(q, 1)));
		if (!q || qrc < 0)
			goto fail;
		reg_done(q);

		list = json_array();
		json_object_set_new(o, "contacts", list);
		q = reg_query(reg,
		              "SELECT id, name, email, phone, role FROM contact WHERE org_id = ? "
		              "ORDER BY id",
		              "i", id);
		while (q && (qrc = reg_step(reg, q)) == 1)
			json_array_append_new(
			    list, json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
			                    (json_int_t)col_int(q, 0), "name",
			                    col_text(q, 1), "email", col_text(q, 2), "phone",
			                    col_text(q, 3), "role", col_text(q, 4)));
		if (!q || qrc < 0)
			goto fail;
		reg_done(q);

		list = json_array();
		json_object_set_new(o, "permits", list);
		q = reg_query(reg,
		              "SELECT id FROM permit WHERE org_id = ? ORDER BY family, net, len",
		              "i", id);
		while (q && (qrc = reg_step(reg, q)) == 1) {
			r = permit_json_by_id(reg, col_int(q, 0), 0);
			/* Nested under its org already. */
			json_object_del(r, "org");
			json_array_append_new(list, r);
		}
		if (!q || qrc < 0)
			goto fail;
		reg_done(q);
		json_array_append_new(orgs, o);
		continue;
	fail:
		json_decref(o);
		reg_done(st);
		return P25_EDB;
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	requests = requests_export(reg, &rc);
	if (!requests)
		return rc;
	json_object_set_new(doc, "requests", requests);
	return export_audit(reg, doc);
}

int p25_registry_export(struct p25_registry *reg, json_t **out)
{
	json_t *doc = json_object();
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	/* One read transaction: the document is a consistent snapshot. */
	if ((rc = reg_read_begin(reg)) < 0) {
		json_decref(doc);
		return rc;
	}
	rc = export_tx(reg, doc);
	reg_read_end(reg);
	if (rc < 0) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return 0;
}
