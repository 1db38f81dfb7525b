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

static bool repeated_in_file(struct p25_registry *reg, const char *org, const char *address,
                             int64_t first_new)
{
	struct p25_prefix p;
	struct p25_diag diag;
	char text[P25_PREFIX_STRLEN];
	reg_stmt *st;
	bool repeated;
	int rc;

	if (p25_prefix_parse(address, 0, &p, &diag) < 0)
		return false;
	st = reg_query(reg,
	               "SELECT p.id FROM permit p JOIN org o ON o.id = p.org_id WHERE o.handle = ? "
	               "AND p.text = ?",
	               "ss", org, permit_text(&p, text, sizeof text));
	if (!st || (rc = reg_step(reg, st)) < 0)
		return false; /* a failed step has finished the statement */
	repeated = rc == 1 && col_int(st, 0) >= first_new;
	reg_done(st);
	return repeated;
}

/* Permit ids from first_new on were created by this import: a clash with one is a repeated row. */
static int import_server(struct p25_registry *reg, const struct p25_actor *who,
                         const struct p25_import_options *opt, const struct server_row *row,
                         const char *where, int64_t first_new, struct p25_import_result *result)
{
	struct p25_permit_spec spec = {0};
	const char *org = row->org && *row->org ? row->org : opt->org;
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
	if (rule_kind_text(row->kind, true, &spec.kind, err, sizeof err) < 0 ||
	    rule_expiry_text(row->expires, who->now, &spec.expires, err, sizeof err) < 0)
		return reg_fail(reg, P25_EINVAL, "%s: %s: %s", opt->name, where, err);
	spec.org = org;
	spec.address = row->address;
	spec.description = row->description;
	spec.requested_by = row->requested_by;
	spec.approved_by = row->approved_by;
	spec.force = opt->force;
	rc = permit_add_tx(reg, who, &spec, NULL, &id);
	if (rc == P25_ECONFLICT && repeated_in_file(reg, org, row->address, first_new))
		return reg_fail(reg, rc, "%s: %s: %s repeats an earlier row of this file",
		                opt->name, where, row->address);
	if (rc < 0)
		return rc == P25_EDB ? rc : locate(reg, rc, "%s: %s", opt->name, where);
	result->permits++;
	return 0;
}

/*
 * The columns of a server list, as members fill in the form.  Import reads
 * them all; a request reads them too, except requested_by and approved_by,
 * which a request has once for all its servers.  One header mapping serves
 * both, so a column means the same in either, and a column one of them does
 * not understand is refused rather than dropped.
 */
enum column {
	COL_ORG,
	COL_ADDRESS,
	COL_KIND,
	COL_DESCRIPTION,
	COL_REQUESTED_BY,
	COL_APPROVED_BY,
	COL_EXPIRES,
	NCOLUMNS
};
static const char *const column_names[NCOLUMNS] = {
    "org", "address", "kind", "description", "requested_by", "approved_by", "expires"};
#define COLUMN(c)      (1u << (c))
#define IMPORT_COLUMNS (COLUMN(NCOLUMNS) - 1)
#define REQUEST_COLUMNS                                                                            \
	(COLUMN(COL_ORG) | COLUMN(COL_ADDRESS) | COLUMN(COL_KIND) | COLUMN(COL_DESCRIPTION) |      \
	 COLUMN(COL_EXPIRES))

struct server_table {
	struct p25_csv csv;
	int col[NCOLUMNS]; /* field index of each column, or -1 */
};

static void column_list(unsigned set, const char *sep, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < NCOLUMNS; c++)
		if (set & COLUMN(c) && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? sep : "",
			                      column_names[c]);
}

/*
 * Parse CSV with a header row naming some of the allowed columns, at least
 * the required ones, and at least one row after it.  err names the file,
 * the line and the problem.  On success the caller frees t->csv.
 */
static int server_table_read(struct server_table *t, const char *data, size_t len, const char *name,
                             unsigned allowed, unsigned required, const char *hint, char *err,
                             size_t errlen)
{
	struct p25_csv_record *head;
	char list[128], msg[256];
	unsigned have = 0;

	if (p25_csv_parse(data, len, &t->csv, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return P25_EINVAL;
	}
	if (t->csv.nrecords == 0) {
		column_list(allowed, ",", list, sizeof list);
		snprintf(err, errlen, "%s: empty file (expected a header row: %s)", name, list);
		p25_csv_free(&t->csv);
		return P25_EINVAL;
	}
	head = &t->csv.records[0];
	for (int c = 0; c < NCOLUMNS; c++)
		t->col[c] = -1;
	for (size_t f = 0; f < head->nfields; f++) {
		char *col = p25_text_trim(head->fields[f]);
		int c;
		for (char *p = col; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		for (c = 0; c < NCOLUMNS && strcmp(col, column_names[c]) != 0; c++)
			;
		if (c == NCOLUMNS || !(allowed & COLUMN(c))) {
			column_list(allowed, ", ", list, sizeof list);
			snprintf(err, errlen,
			         "%s: line %zu: unknown column '%s' in the header (expected %s)",
			         name, head->line, col, list);
		} else if (t->col[c] >= 0) {
			snprintf(err, errlen, "%s: line %zu: column '%s' appears twice", name,
			         head->line, col);
		} else {
			t->col[c] = (int)f;
			have |= COLUMN(c);
			continue;
		}
		p25_csv_free(&t->csv);
		return P25_EINVAL;
	}
	if ((have & required) != required) {
		column_list(required, ", ", list, sizeof list);
		snprintf(err, errlen, "%s: line %zu: the header needs at least the columns %s%s",
		         name, head->line, list, hint);
	} else if (t->csv.nrecords == 1) {
		snprintf(err, errlen, "%s: no servers after the header row", name);
	} else {
		return 0;
	}
	p25_csv_free(&t->csv);
	return P25_EINVAL;
}

/* Row r (from 1) as a server_row of trimmed fields, and where it is ("line N"). */
static int server_table_row(struct server_table *t, size_t r, const char *name,
                            struct server_row *row, char *where, size_t wherelen, char *err,
                            size_t errlen)
{
	struct p25_csv_record *rec = &t->csv.records[r];
	const char *v[NCOLUMNS];

	snprintf(where, wherelen, "line %zu", rec->line);
	if (rec->nfields != t->csv.records[0].nfields) {
		snprintf(err, errlen, "%s: %s: expected %zu fields, found %zu", name, where,
		         t->csv.records[0].nfields, rec->nfields);
		return P25_EINVAL;
	}
	for (int c = 0; c < NCOLUMNS; c++)
		v[c] = t->col[c] >= 0 ? p25_text_trim(rec->fields[t->col[c]]) : NULL;
	*row = (struct server_row){v[COL_ORG],         v[COL_ADDRESS],      v[COL_KIND],
	                           v[COL_DESCRIPTION], v[COL_REQUESTED_BY], v[COL_APPROVED_BY],
	                           v[COL_EXPIRES]};
	return 0;
}

static int import_csv(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                      size_t len, const struct p25_import_options *opt, int64_t first_new,
                      struct p25_import_result *result)
{
	struct server_table t;
	char err[512];
	int rc;

	rc = server_table_read(&t, data, len, opt->name, IMPORT_COLUMNS,
	                       COLUMN(COL_ADDRESS) | COLUMN(COL_KIND), " (and org)", err, sizeof err);
	if (rc < 0) {
		/* Only that message ends with the org column's parenthesis. */
		size_t n = strlen(err);
		reg_fail(reg, rc, "%s", err);
		return n > 10 && !strcmp(err + n - 10, " (and org)")
		           ? reg_hint(reg, rc, P25_HINT_IMPORT_ORG_HEADER, NULL, 0, 1)
		           : rc;
	}
	for (size_t r = 1; r < t.csv.nrecords && rc == 0; r++) {
		struct server_row row;
		char where[32];
		rc = server_table_row(&t, r, opt->name, &row, where, sizeof where, err, sizeof err);
		if (rc < 0)
			rc = reg_fail(reg, rc, "%s", err);
		else
			rc = import_server(reg, who, opt, &row, where, first_new, result);
	}
	p25_csv_free(&t.csv);
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
	if (rule_kind_text(row->kind, false, &s.kind, msg, sizeof msg) < 0 ||
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
	struct server_table t;
	size_t n0 = l->n, nstrings0 = l->nstrings;
	int rc = server_table_read(&t, data, len, name, REQUEST_COLUMNS, COLUMN(COL_ADDRESS), "",
	                           err, errlen);

	for (size_t r = 1; rc == 0 && r < t.csv.nrecords; r++) {
		struct server_row row;
		char where[300], line[32];
		rc = server_table_row(&t, r, name, &row, line, sizeof line, err, errlen);
		if (rc < 0)
			break;
		snprintf(where, sizeof where, "%s: %s", name, line);
		if (row.org && *row.org && org && strcmp(row.org, org) != 0) {
			snprintf(err, errlen, "%s: the row is for organization '%s', not '%s'",
			         where, row.org, org);
			rc = P25_EINVAL;
			break;
		}
		rc = list_add(l, &row, now, where, err, errlen);
	}
	p25_csv_free(&t.csv); /* zeroed already when server_table_read failed */
	/* All or nothing, like an import: a bad row leaves the list as it was. */
	while (rc < 0 && l->nstrings > nstrings0)
		free(l->strings[--l->nstrings]);
	if (rc < 0)
		l->n = n0;
	return rc;
}

/* The whole file, at most IMPORT_MAX_BYTES. */
static int read_file(const char *path, struct p25_buf *data, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t n;
	int rc = 0;

	p25_buf_init(data);
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return P25_EDB;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		p25_buf_put(data, chunk, n);
		if (data->len > IMPORT_MAX_BYTES)
			break;
	}
	if (ferror(f) || data->oom || data->len > IMPORT_MAX_BYTES) {
		rc = data->len > IMPORT_MAX_BYTES ? P25_EINVAL : P25_EDB;
		snprintf(err, errlen, "%s: cannot read: %s", path,
		         data->len > IMPORT_MAX_BYTES ? "larger than 64 MiB"
		         : data->oom                  ? "out of memory"
		                                      : strerror(errno));
		p25_buf_free(data);
	}
	fclose(f);
	return rc;
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
                              const struct p25_import_options *opt, int64_t first_new,
                              struct p25_import_result *result)
{
	static const char *const keys[] = {"address",     "kind",    "description", "requested_by",
	                                   "approved_by", "expires", NULL};
	json_t *servers = json_object_get(doc, "servers"), *s;
	struct p25_import_options o = *opt;
	const char *org = str_of(doc, "org");
	size_t i;
	int rc;

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
		char where[48];
		struct server_row row;
		snprintf(where, sizeof where, "servers[%zu]", i);
		if (!json_is_object(s))
			return reg_fail(reg, P25_EINVAL, "%s: %s: expected an object", opt->name,
			                where);
		if ((rc = check_strings(reg, s, keys, where)) < 0)
			return locate(reg, rc, "%s", opt->name);
		row = (struct server_row){str_of(s, "org"),          str_of(s, "address"),
		                          str_of(s, "kind"),         str_of(s, "description"),
		                          str_of(s, "requested_by"), str_of(s, "approved_by"),
		                          str_of(s, "expires")};
		if ((rc = import_server(reg, who, &o, &row, where, first_new, result)) < 0)
			return rc;
	}
	return 0;
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

static int import_document(struct p25_registry *reg, const struct p25_actor *who, json_t *doc,
                           const struct p25_import_options *opt, struct p25_import_result *result)
{
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
	return 0;
}

static int import_json(struct p25_registry *reg, const struct p25_actor *who, const char *data,
                       size_t len, const struct p25_import_options *opt, int64_t first_new,
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
		rc = import_server_list(reg, who, doc, opt, first_new, result);
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
	reg_stmt *st;
	int64_t first_new = 0;
	json_t *summary;
	int rc;

	if (format == P25_IMPORT_AUTO)
		format = detect(opt->name, data, len);
	st = reg_query(reg, "SELECT coalesce(max(id), 0) + 1 FROM permit", "");
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	first_new = col_int(st, 0);
	reg_done(st);
	rc = format == P25_IMPORT_CSV ? import_csv(reg, who, data, len, opt, first_new, result)
	                              : import_json(reg, who, data, len, opt, first_new, result);
	if (rc < 0)
		return rc;
	summary = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "format",
	                    format == P25_IMPORT_CSV ? "csv" : "json", "organizations",
	                    (json_int_t)result->orgs, "prefixes", (json_int_t)result->prefixes,
	                    "contacts", (json_int_t)result->contacts, "permits",
	                    (json_int_t)result->permits, "requests", (json_int_t)result->requests);
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
	if (rc < 0)
		memset(result, 0, sizeof *result);
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
	return 0;
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
