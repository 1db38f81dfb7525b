/*
 * Intake: a server list as members really send it.  Either a CSV file with
 * a header row, whose column names are read through one table of the names
 * people use ("IP Address", "Server Name", "Purpose", "Type", ...), or a
 * bare list of addresses, one per line or separated by commas, each
 * optionally followed by what it is ("192.0.2.10 Exchange edge").  Import
 * and the servers of a request read files through this one reader, so a
 * column means the same in either.
 *
 * Reading never stops at a bad row: each row is read on its own, and a row
 * that cannot be (a wrong number of fields) carries its problem, so that
 * the caller can report every bad row of a file in one run.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/buf.h"
#include "util/text.h"

const char *const intake_column_names[INTAKE_NCOLUMNS] = {
    "org", "address", "kind", "description", "requested_by", "approved_by", "expires"};

/*
 * The header names understood, compared without case, spaces or
 * punctuation ("IP Address", "ip_address" and "IPADDRESS" are one name).
 * Several columns may give the description ("Server Name" and "Purpose"):
 * their values are joined.  Any other column is refused, naming the ones
 * understood, rather than dropped: a column nobody reads is a column a
 * member filled in for nothing.
 */
static const struct {
	const char *name;
	enum intake_column col;
} header_names[] = {
    {"org", INTAKE_ORG},
    {"organization", INTAKE_ORG},
    {"organisation", INTAKE_ORG},
    {"orghandle", INTAKE_ORG},
    {"handle", INTAKE_ORG},
    {"address", INTAKE_ADDRESS},
    {"addr", INTAKE_ADDRESS},
    {"ip", INTAKE_ADDRESS},
    {"ipaddress", INTAKE_ADDRESS},
    {"ipaddr", INTAKE_ADDRESS},
    {"ipv4", INTAKE_ADDRESS},
    {"ipv6", INTAKE_ADDRESS},
    {"ipv4address", INTAKE_ADDRESS},
    {"ipv6address", INTAKE_ADDRESS},
    {"host", INTAKE_ADDRESS},
    {"hostip", INTAKE_ADDRESS},
    {"hostaddress", INTAKE_ADDRESS},
    {"serverip", INTAKE_ADDRESS},
    {"serveraddress", INTAKE_ADDRESS},
    {"serveripaddress", INTAKE_ADDRESS},
    {"kind", INTAKE_KIND},
    {"type", INTAKE_KIND},
    {"servertype", INTAKE_KIND},
    {"kindofserver", INTAKE_KIND},
    {"description", INTAKE_DESCRIPTION},
    {"desc", INTAKE_DESCRIPTION},
    {"name", INTAKE_DESCRIPTION},
    {"servername", INTAKE_DESCRIPTION},
    {"hostname", INTAKE_DESCRIPTION},
    {"server", INTAKE_DESCRIPTION},
    {"purpose", INTAKE_DESCRIPTION},
    {"function", INTAKE_DESCRIPTION},
    {"use", INTAKE_DESCRIPTION},
    {"notes", INTAKE_DESCRIPTION},
    {"note", INTAKE_DESCRIPTION},
    {"comment", INTAKE_DESCRIPTION},
    {"comments", INTAKE_DESCRIPTION},
    {"requestedby", INTAKE_REQUESTED_BY},
    {"requester", INTAKE_REQUESTED_BY},
    {"approvedby", INTAKE_APPROVED_BY},
    {"expires", INTAKE_EXPIRES},
    {"expiry", INTAKE_EXPIRES},
    {"expiration", INTAKE_EXPIRES},
    {"expirationdate", INTAKE_EXPIRES},
    {"expirydate", INTAKE_EXPIRES},
    {"expireson", INTAKE_EXPIRES},
    {"until", INTAKE_EXPIRES},
    {"validuntil", INTAKE_EXPIRES},
    {"enddate", INTAKE_EXPIRES},
};

/* What the refusal of an unknown column lists as the other names of a column. */
static const char *const other_names[INTAKE_NCOLUMNS] = {
    "organization",
    "IP, IP Address, Host",
    "Type",
    "Server Name, Purpose, Notes",
    NULL,
    NULL,
    "Expiry, Valid Until",
};

/* The kinds in a member's words, compared as header names are. */
static const struct {
	const char *name;
	enum p25_permit_kind kind;
} kind_names[] = {
    {"mailserver", P25_KIND_MAIL_SERVER},
    {"mail", P25_KIND_MAIL_SERVER},
    {"smtp", P25_KIND_MAIL_SERVER},
    {"smtpserver", P25_KIND_MAIL_SERVER},
    {"smtprelay", P25_KIND_MAIL_SERVER},
    {"relay", P25_KIND_MAIL_SERVER},
    {"mailrelay", P25_KIND_MAIL_SERVER},
    {"mta", P25_KIND_MAIL_SERVER},
    {"mx", P25_KIND_MAIL_SERVER},
    {"applicationserver", P25_KIND_APPLICATION_SERVER},
    {"application", P25_KIND_APPLICATION_SERVER},
    {"app", P25_KIND_APPLICATION_SERVER},
    {"appserver", P25_KIND_APPLICATION_SERVER},
    {"networkdevice", P25_KIND_NETWORK_DEVICE},
    {"device", P25_KIND_NETWORK_DEVICE},
};

/* Lower case letters and digits only: how header names and kinds compare. */
static void squeeze(const char *s, char *out, size_t outlen)
{
	size_t n = 0;

	for (; s && *s && n + 1 < outlen; s++)
		if (isalnum((unsigned char)*s))
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = '\0';
}

int intake_kind(const char *s, bool required, enum p25_permit_kind *out, char *err,
                size_t errlen)
{
	char key[64];

	if (rule_kind_text(s, required, out, err, errlen) == 0)
		return 0;
	squeeze(s, key, sizeof key);
	for (size_t i = 0; i < sizeof kind_names / sizeof kind_names[0]; i++) {
		if (!strcmp(key, kind_names[i].name)) {
			*out = kind_names[i].kind;
			return 0;
		}
	}
	return -1; /* err says why, from rule_kind_text */
}

static const char *keep(struct intake *t, const char *s, size_t n)
{
	char **v, *copy;

	if (!(copy = strndup(s, n)))
		return NULL;
	if (!(v = realloc(t->strings, (t->nstrings + 1) * sizeof *v))) {
		free(copy);
		return NULL;
	}
	t->strings = v;
	t->strings[t->nstrings++] = copy;
	return copy;
}

static struct intake_row *new_row(struct intake *t, size_t line)
{
	struct intake_row *v = realloc(t->rows, (t->n + 1) * sizeof *v);

	if (!v)
		return NULL;
	t->rows = v;
	memset(&v[t->n], 0, sizeof v[t->n]);
	v[t->n].line = line;
	return &v[t->n++];
}

void intake_free(struct intake *t)
{
	for (size_t i = 0; i < t->nstrings; i++)
		free(t->strings[i]);
	free(t->strings);
	free(t->rows);
	memset(t, 0, sizeof *t);
}

/* Looks like an address or a prefix (good or bad): digits, hex, '.', ':', '/'. */
static bool addressish(const char *s, size_t n)
{
	bool sep = false;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' || s[i] == ':')
			sep = true;
		else if (!isxdigit((unsigned char)s[i]) && s[i] != '/')
			return false;
	}
	return sep && (isdigit((unsigned char)s[0]) || s[0] == ':' || isxdigit((unsigned char)s[0]));
}

/* The first line that says something: not blank, not a '#' comment. */
static bool bare_list(const char *data, size_t len)
{
	size_t i = 0;

	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t e = i, s;
		while (e < len && data[e] != '\n')
			e++;
		while (i < e && (isspace((unsigned char)data[i]) || data[i] == '"'))
			i++;
		if (i < e && data[i] != '#') {
			for (s = i; s < e && !isspace((unsigned char)data[s]) && data[s] != ',' &&
			            data[s] != ';' && data[s] != '"';
			     s++)
				;
			return addressish(data + i, s - i);
		}
		i = e + 1;
	}
	return false;
}

/*
 * One item of a bare list (between commas): addresses separated by spaces,
 * or one address and what it is.  Rows for each, at line.
 */
static int bare_item(struct intake *t, char *item, size_t line)
{
	char *tok[64], *save = NULL, *p;
	size_t n = 0;
	bool all = true;

	item = p25_text_trim(item);
	/* A quoted item: a spreadsheet exported one column. */
	if (item[0] == '"' && strlen(item) > 1 && item[strlen(item) - 1] == '"') {
		item[strlen(item) - 1] = '\0';
		item = p25_text_trim(item + 1);
	}
	if (!*item)
		return 0;
	for (p = strtok_r(item, " \t", &save); p && n < 64; p = strtok_r(NULL, " \t", &save)) {
		tok[n++] = p;
		all = all && addressish(p, strlen(p));
	}
	if (all) {
		for (size_t i = 0; i < n; i++) {
			struct intake_row *r = new_row(t, line);
			if (!r || !(r->v[INTAKE_ADDRESS] = keep(t, tok[i], strlen(tok[i]))))
				return P25_EDB;
		}
		return 0;
	}
	/* strtok_r cut the rest at its blanks: join them back with one space. */
	{
		struct intake_row *r = new_row(t, line);
		struct p25_buf d;
		const char *desc;
		p25_buf_init(&d);
		for (size_t i = 1; i < n; i++)
			p25_buf_printf(&d, "%s%s", d.len ? " " : "", tok[i]);
		/* "192.0.2.10 - Exchange edge", "192.0.2.10: relay", "192.0.2.10 # relay" */
		desc = d.data ? d.data : "";
		while (*desc && strchr("-:#=(", *desc))
			desc++;
		while (*desc == ' ')
			desc++;
		if (!r || !(r->v[INTAKE_ADDRESS] = keep(t, tok[0], strlen(tok[0]))) ||
		    (*desc && !(r->v[INTAKE_DESCRIPTION] = keep(t, desc, strlen(desc))))) {
			p25_buf_free(&d);
			return P25_EDB;
		}
		p25_buf_free(&d);
	}
	return 0;
}

static int read_bare(struct intake *t, const char *data, size_t len)
{
	size_t i = 0, line = 1;

	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len) {
		size_t e = i;
		char *copy, *item, *save = NULL, *hash;
		int rc = 0;
		while (e < len && data[e] != '\n')
			e++;
		if (!(copy = strndup(data + i, e - i)))
			return P25_EDB;
		if (memchr(copy, '\0', e - i)) {
			free(copy);
			return P25_EINVAL;
		}
		/* A line that is a comment: nothing to read. */
		hash = p25_text_trim(copy);
		if (*hash != '#')
			for (item = strtok_r(copy, ",;", &save); item && rc == 0;
			     item = strtok_r(NULL, ",;", &save))
				rc = bare_item(t, item, line);
		free(copy);
		if (rc < 0)
			return rc;
		i = e + 1;
		line++;
	}
	return 0;
}

static void column_list(unsigned set, bool aliases, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (int c = 0; c < INTAKE_NCOLUMNS; c++) {
		if (!(set & INTAKE_COLUMN(c)) || n >= outlen)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s%s", n ? ", " : "",
		                      intake_column_names[c]);
		if (aliases && other_names[c] && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, " (or %s)", other_names[c]);
	}
}

static int read_csv(struct intake *t, const char *data, size_t len, const char *name,
                    unsigned allowed, char *err, size_t errlen)
{
	struct p25_csv csv;
	struct p25_csv_record *head;
	int col[64];
	char list[400], msg[256];
	size_t nfields;
	int rc = 0;

	if (p25_csv_parse(data, len, &csv, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", name, msg);
		return P25_EINVAL;
	}
	if (csv.nrecords == 0) {
		column_list(allowed, false, list, sizeof list);
		snprintf(err, errlen,
		         "%s: empty file (expected a list of addresses, or a header row: %s)", name,
		         list);
		p25_csv_free(&csv);
		return P25_EINVAL;
	}
	head = &csv.records[0];
	nfields = head->nfields;
	if (nfields > 64) {
		snprintf(err, errlen, "%s: line %zu: more than 64 columns", name, head->line);
		p25_csv_free(&csv);
		return P25_EINVAL;
	}
	for (size_t f = 0; f < nfields && rc == 0; f++) {
		char key[64], *shown = p25_text_trim(head->fields[f]);
		size_t k;
		squeeze(shown, key, sizeof key);
		for (k = 0; k < sizeof header_names / sizeof header_names[0]; k++)
			if (!strcmp(key, header_names[k].name))
				break;
		col[f] = k < sizeof header_names / sizeof header_names[0]
		             ? (int)header_names[k].col
		             : -1;
		if (col[f] < 0 || !(allowed & INTAKE_COLUMN(col[f]))) {
			column_list(allowed, true, list, sizeof list);
			snprintf(err, errlen,
			         "%s: line %zu: unknown column '%s' in the header (expected %s)",
			         name, head->line, shown, list);
			rc = P25_EINVAL;
			break;
		}
		t->have |= INTAKE_COLUMN(col[f]);
		/* Only the description may come from several columns. */
		for (size_t g = 0; g < f && col[f] != INTAKE_DESCRIPTION; g++) {
			if (col[g] == col[f]) {
				snprintf(err, errlen,
				         "%s: line %zu: columns '%s' and '%s' both give the %s", name,
				         head->line, p25_text_trim(head->fields[g]), shown,
				         intake_column_names[col[f]]);
				rc = P25_EINVAL;
				break;
			}
		}
	}
	if (rc == 0 && !(t->have & INTAKE_COLUMN(INTAKE_ADDRESS))) {
		snprintf(err, errlen,
		         "%s: line %zu: the header has no address column (IP, IP Address, Host or "
		         "address)",
		         name, head->line);
		rc = P25_EINVAL;
	} else if (rc == 0 && csv.nrecords == 1) {
		snprintf(err, errlen, "%s: no servers after the header row", name);
		rc = P25_EINVAL;
	}
	for (size_t r = 1; r < csv.nrecords && rc == 0; r++) {
		struct p25_csv_record *rec = &csv.records[r];
		struct intake_row *row = new_row(t, rec->line);
		struct p25_buf desc;
		if (!row) {
			rc = P25_EDB;
			break;
		}
		if (rec->nfields != nfields) {
			snprintf(msg, sizeof msg, "expected %zu fields, found %zu", nfields,
			         rec->nfields);
			if (!(row->problem = keep(t, msg, strlen(msg))))
				rc = P25_EDB;
			continue;
		}
		p25_buf_init(&desc);
		for (size_t f = 0; f < nfields && rc == 0; f++) {
			char *v = p25_text_trim(rec->fields[f]);
			if (col[f] == INTAKE_DESCRIPTION) {
				if (*v)
					p25_buf_printf(&desc, "%s%s", desc.len ? " - " : "", v);
			} else if (!(row->v[col[f]] = keep(t, v, strlen(v)))) {
				rc = P25_EDB;
			}
		}
		if (rc == 0 && desc.len &&
		    !(row->v[INTAKE_DESCRIPTION] = keep(t, desc.data, desc.len)))
			rc = P25_EDB;
		if (desc.oom)
			rc = P25_EDB;
		p25_buf_free(&desc);
	}
	p25_csv_free(&csv);
	if (rc == P25_EDB)
		snprintf(err, errlen, "%s: out of memory", name);
	return rc;
}

int intake_read(struct intake *t, const char *data, size_t len, const char *name,
                unsigned allowed, char *err, size_t errlen)
{
	int rc;

	memset(t, 0, sizeof *t);
	if (bare_list(data, len)) {
		t->bare = true;
		t->have = INTAKE_COLUMN(INTAKE_ADDRESS) | INTAKE_COLUMN(INTAKE_DESCRIPTION);
		rc = read_bare(t, data, len);
		if (rc == P25_EINVAL)
			snprintf(err, errlen, "%s: a NUL byte in the list", name);
		else if (rc < 0)
			snprintf(err, errlen, "%s: out of memory", name);
	} else {
		rc = read_csv(t, data, len, name, allowed, err, errlen);
	}
	if (rc < 0)
		intake_free(t);
	return rc;
}

const char *p25_import_template(void)
{
	return "address,kind,description,expires\n"
	       "192.0.2.10,mail-server,Exchange edge 1,\n"
	       "2001:db8:100::25,mail-server,Exchange edge (IPv6),\n"
	       "192.0.2.40,application-server,Yearbook vendor (until the end of the year),"
	       "2026-12-31\n";
}
