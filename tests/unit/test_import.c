/* Import and export: CSV parsing, all-or-nothing server lists, registry documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "registry/registry.h"

static const struct p25_actor who = {.name = "importer", .now = 1795428000}; /* 2026-11-23T10:00Z */

static int setup(void **state)
{
	struct p25_registry *reg;
	char err[256];

	assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
	assert_int_equal(
	    p25_org_add(reg, &who, "k12", "Schools", P25_MODE_OUTBOUND, P25_ACTION_REJECT), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "192.0.2.0/24", "", 0), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "k12", "2001:db8:1::/48", "", 0), 0);
	*state = reg;
	return 0;
}

static int teardown(void **state)
{
	p25_registry_close(*state);
	return 0;
}

static bool contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		return true;
	print_error("'%s' not found in '%s'\n", needle, haystack);
	return false;
}

static int import_text(struct p25_registry *reg, const char *name, const char *text,
                       const char *org, struct p25_import_result *res)
{
	struct p25_import_options opt = {.name = name, .org = org};
	return p25_import_buffer(reg, &who, text, strlen(text), &opt, res);
}

static json_t *export(struct p25_registry *reg)
{
	json_t *doc;
	assert_int_equal(p25_registry_export(reg, &doc), 0);
	return doc;
}

static void test_csv_quoting(void **state)
{
	static const char text[] = "\xef\xbb\xbf"
	                           "a,b,c\r\n"
	                           "\"x, y\",\"say \"\"hi\"\"\",plain\r\n"
	                           "\n"
	                           "\"two\nlines\",,\"\"\n"
	                           "last,row,no-newline";
	struct p25_csv csv;
	char err[256];

	(void)state;
	assert_int_equal(p25_csv_parse(text, sizeof text - 1, &csv, err, sizeof err), 0);
	assert_int_equal(csv.nrecords, 4);
	assert_int_equal(csv.records[0].nfields, 3);
	assert_string_equal(csv.records[0].fields[0], "a");
	assert_string_equal(csv.records[1].fields[0], "x, y");
	assert_string_equal(csv.records[1].fields[1], "say \"hi\"");
	assert_string_equal(csv.records[1].fields[2], "plain");
	assert_int_equal(csv.records[1].line, 2);
	/* The blank line 3 is skipped; a quoted newline stays in the field. */
	assert_int_equal(csv.records[2].line, 4);
	assert_string_equal(csv.records[2].fields[0], "two\nlines");
	assert_string_equal(csv.records[2].fields[1], "");
	assert_string_equal(csv.records[2].fields[2], "");
	assert_int_equal(csv.records[3].line, 6);
	assert_string_equal(csv.records[3].fields[2], "no-newline");
	p25_csv_free(&csv);

	assert_int_equal(p25_csv_parse("a\n\"open", 7, &csv, err, sizeof err), -1);
	assert_true(contains(err, "line 2"));
	assert_true(contains(err, "never closed"));
	assert_int_equal(p25_csv_parse("a\nb\"c\n", 6, &csv, err, sizeof err), -1);
	assert_true(contains(err, "line 2"));
	assert_int_equal(p25_csv_parse("\"a\"b\n", 5, &csv, err, sizeof err), -1);
	assert_true(contains(err, "after a closing quote"));
	assert_int_equal(p25_csv_parse("a\0b", 3, &csv, err, sizeof err), -1);
	assert_true(contains(err, "NUL"));
	assert_int_equal(p25_csv_parse("", 0, &csv, err, sizeof err), 0);
	assert_int_equal(csv.nrecords, 0);
	p25_csv_free(&csv);
}

static void test_csv_import(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_permit_filter f = {.now = who.now};
	struct p25_import_result res;
	json_t *rows, *p;

	assert_int_equal(
	    import_text(reg, "servers.csv",
	                "org,address,kind,description,requested_by,approved_by,expires\n"
	                "k12,192.0.2.10,mail,\"Relay, \"\"north\"\"\",Ann,Bob,\n"
	                "k12, 2001:db8:1::25 ,mail-server,IPv6 relay,,,30d\n",
	                NULL, &res),
	    0);
	assert_int_equal(res.permits, 2);
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 2);
	p = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(p, "description")),
	                    "Relay, \"north\"");
	assert_string_equal(json_string_value(json_object_get(p, "requested_by")), "Ann");
	assert_string_equal(json_string_value(json_object_get(p, "approved_by")), "Bob");
	p = json_array_get(rows, 1);
	assert_string_equal(json_string_value(json_object_get(p, "address")), "2001:db8:1::25");
	assert_string_equal(json_string_value(json_object_get(p, "approved_by")), "importer");
	assert_string_equal(json_string_value(json_object_get(p, "expires")),
	                    "2026-12-23T10:00:00Z");
	json_decref(rows);

	/* Without an org column, --org names it. */
	assert_int_equal(import_text(reg, "more.csv",
	                             "address,kind,description\n192.0.2.11,app,SIS\n", "k12", &res),
	                 0);
	assert_int_equal(import_text(reg, "none.csv",
	                             "address,kind,description\n192.0.2.12,app,SIS\n", NULL, &res),
	                 P25_EINVAL);
	/* Said once for the file, not once a row. */
	assert_true(contains(p25_registry_error(reg), "none.csv: no organization for its servers"));
	/* The library names no option: the hint says the import's org would do. */
	assert_true(contains(p25_registry_error(reg), "no organization"));
	assert_int_equal(p25_registry_hint(reg)->code, P25_HINT_IMPORT_ORG_COLUMN);
}

static void test_bad_row_rejects_whole_file(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;
	json_t *before = export(reg), *after, *audit_before, *audit_after;
	const char *e;

	assert_int_equal(p25_audit_list(reg, 0, &audit_before), 0);
	assert_int_equal(import_text(reg, "members.csv",
	                             "org,address,kind,description\n"
	                             "k12,192.0.2.20,mail,one\n"
	                             "k12,192.0.2.21,mail,two\n"
	                             "k12,198.51.100.7,mail,outside\n"
	                             "k12,192.0.2.22,mail,four\n",
	                             NULL, &res),
	                 P25_EINVAL);
	e = p25_registry_error(reg);
	assert_true(contains(e, "members.csv"));
	assert_true(contains(e, "line 4"));
	assert_true(contains(e, "198.51.100.7"));
	assert_true(contains(e, "outside"));
	assert_int_equal(res.permits, 0);
	after = export(reg);
	assert_true(json_equal(before, after));
	assert_int_equal(p25_audit_list(reg, 0, &audit_after), 0);
	assert_int_equal(json_array_size(audit_before), json_array_size(audit_after));
	json_decref(after);
	json_decref(audit_after);

	/* Other kinds of bad rows, each named by its line. */
	assert_int_equal(import_text(reg, "k.csv",
	                             "org,address,kind,description\nk12,192.0.2.30,printer,x\n",
	                             NULL, &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "k.csv: line 2: kind 'printer'"));
	assert_int_equal(import_text(reg, "f.csv",
	                             "org,address,kind,description\nk12,192.0.2.30,mail\n", NULL,
	                             &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "f.csv: line 2: expected 4 fields, found 3"));
	assert_int_equal(import_text(reg, "h.csv",
	                             "org,address,kind,colour\nk12,192.0.2.30,mail,red\n", NULL,
	                             &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "h.csv: line 1: unknown column 'colour'"));
	assert_int_equal(import_text(reg, "d.csv",
	                             "org,address,kind,description\nk12,192.0.2.30,mail,a\n"
	                             "k12,192.0.2.30,mail,b\n",
	                             NULL, &res),
	                 P25_ECONFLICT);
	/* A repeated row names the row it repeats. */
	assert_true(contains(p25_registry_error(reg), "d.csv: line 3: 192.0.2.30 repeats line 2"));
	assert_int_equal(import_text(reg, "w.csv",
	                             "org,address,kind,description\nk12,192.0.2.0/23,mail,a\n",
	                             NULL, &res),
	                 P25_EINVAL);
	assert_int_equal(import_text(reg, "q.csv",
	                             "org,address,kind,description\nk12,\"192.0.2.1,mail,a\n", NULL,
	                             &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "q.csv: line 2"));

	after = export(reg);
	assert_true(json_equal(before, after));
	json_decref(after);
	json_decref(before);
	json_decref(audit_before);
}

static void test_json_server_list(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;
	json_t *before;

	assert_int_equal(
	    import_text(
	        reg, "form.json",
	        "{\"org\": \"k12\", \"servers\": ["
	        "{\"address\": \"192.0.2.10\", \"kind\": \"mail\", \"description\": \"MX\"},"
	        "{\"address\": \"192.0.2.11\", \"kind\": \"device\", \"description\": \"UPS\","
	        " \"expires\": \"2026-12-31\"}]}",
	        NULL, &res),
	    0);
	assert_int_equal(res.permits, 2);
	before = export(reg);
	assert_int_equal(
	    import_text(
	        reg, "form.json",
	        "{\"org\": \"k12\", \"servers\": ["
	        "{\"address\": \"192.0.2.12\", \"kind\": \"mail\", \"description\": \"ok\"},"
	        "{\"address\": \"192.0.2.13\", \"kind\": 7, \"description\": \"bad\"}]}",
	        NULL, &res),
	    P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "form.json: servers[1]"));
	assert_int_equal(
	    import_text(reg, "broken.json", "{\"org\": \"k12\",\n \"servers\": [}", NULL, &res),
	    P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "broken.json: line 2"));
	assert_int_equal(import_text(reg, "other.json",
	                             "{\"org\": \"nobody\", \"servers\": "
	                             "[{\"address\": \"192.0.2.14\", \"kind\": "
	                             "\"mail\", \"description\": \"x\"}]}",
	                             NULL, &res),
	                 P25_ENOTFOUND);
	assert_true(contains(p25_registry_error(reg), "'nobody'"));
	{
		json_t *after = export(reg);
		assert_true(json_equal(before, after));
		json_decref(after);
	}
	json_decref(before);
}

static void test_dry_run_writes_nothing(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_options opt = {.name = "try.csv", .org = "k12", .dry_run = true};
	static const char text[] = "address,kind,description\n192.0.2.50,mail,x\n";
	struct p25_import_result res;
	json_t *before = export(reg), *after;

	assert_int_equal(p25_import_buffer(reg, &who, text, strlen(text), &opt, &res), 0);
	assert_int_equal(res.permits, 1);
	after = export(reg);
	assert_true(json_equal(before, after));
	json_decref(before);
	json_decref(after);
}

/* The demo registry loads, and exporting it gives back the same document. */
static void test_document_round_trip(void **state)
{
	struct p25_import_options opt = {0};
	struct p25_import_result res;
	struct p25_registry *a, *b;
	json_t *file, *doc_a, *doc_b;
	json_error_t jerr;
	char err[256];
	struct p25_model m;

	(void)state;
	assert_int_equal(p25_registry_open(":memory:", &a, err, sizeof err), 0);
	assert_int_equal(p25_import_file(a, &who, "data/demo/registry.json", &opt, &res), 0);
	assert_int_equal(res.orgs, 5);
	assert_true(res.permits > 10);
	assert_int_equal(res.requests, 4);
	file = json_load_file("data/demo/registry.json", 0, &jerr);
	assert_non_null(file);
	doc_a = export(a);
	/* The file has no history: the export has the records its import wrote. */
	assert_true(json_array_size(json_object_get(doc_a, "audit")) > 10);
	{
		json_t *plain = json_deep_copy(doc_a);
		json_object_del(plain, "audit");
		assert_true(json_equal(file, plain));
		json_decref(plain);
	}

	assert_int_equal(p25_registry_open(":memory:", &b, err, sizeof err), 0);
	{
		char *text = json_dumps(doc_a, 0);
		struct p25_import_options o = {.name = "export.json"};
		struct p25_actor later = {.name = "restorer", .now = who.now + P25_DAY};
		assert_int_equal(p25_import_buffer(b, &later, text, strlen(text), &o, &res), 0);
		assert_int_equal(res.audit, json_array_size(json_object_get(doc_a, "audit")));
		free(text);
	}
	doc_b = export(b);
	/*
	 * The history as it was, record by record (not rebuilt, not stamped at
	 * the import), then one record of the import itself.
	 */
	{
		json_t *ha = json_object_get(doc_a, "audit"), *hb = json_object_get(doc_b, "audit");
		json_t *last = json_array_get(hb, json_array_size(hb) - 1);
		assert_int_equal(json_array_size(hb), json_array_size(ha) + 1);
		for (size_t i = 0; i < json_array_size(ha); i++)
			assert_true(json_equal(json_array_get(ha, i), json_array_get(hb, i)));
		assert_string_equal(json_string_value(json_object_get(last, "action")), "import");
		assert_string_equal(json_string_value(json_object_get(last, "actor")), "restorer");
		json_array_remove(hb, json_array_size(hb) - 1);
	}
	assert_true(json_equal(doc_a, doc_b));

	/* The demo's expired variance is in the model; the policy decides by time. */
	assert_int_equal(p25_registry_load_model(b, &m), 0);
	{
		size_t expired = 0;
		for (size_t i = 0; i < m.npermits; i++)
			expired += !p25_permit_valid_at(&m.permits[i], who.now);
		assert_int_equal(expired, 1);
	}
	p25_model_free(&m);

	/* Importing the same document twice clashes on the first org, and changes nothing. */
	assert_int_equal(p25_import_file(b, &who, "data/demo/registry.json", &opt, &res),
	                 P25_ECONFLICT);
	assert_true(contains(p25_registry_error(b), "organizations[0]"));
	assert_true(contains(p25_registry_error(b), "already exists"));
	json_decref(doc_b);
	doc_b = export(b);
	json_array_remove(json_object_get(doc_b, "audit"),
	                  json_array_size(json_object_get(doc_b, "audit")) - 1);
	assert_true(json_equal(doc_a, doc_b));

	json_decref(file);
	json_decref(doc_a);
	json_decref(doc_b);
	p25_registry_close(a);
	p25_registry_close(b);
}

static void test_document_errors(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;

	/* An active org without a security contact is refused on import as anywhere else. */
	assert_int_equal(import_text(reg, "doc.json",
	                             "{\"version\": 1, \"organizations\": [{\"handle\": \"lib\", "
	                             "\"name\": \"Library\", \"enrollment\": \"active\"}]}",
	                             NULL, &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "doc.json: organizations[0]"));
	assert_true(contains(p25_registry_error(reg), "security contact"));
	/* Overlap with existing space names both orgs. */
	assert_int_equal(import_text(reg, "doc.json",
	                             "{\"version\": 1, \"organizations\": [{\"handle\": \"lib\", "
	                             "\"name\": \"Library\", \"prefixes\": [{\"prefix\": "
	                             "\"192.0.2.128/25\"}]}]}",
	                             NULL, &res),
	                 P25_ECONFLICT);
	assert_true(contains(p25_registry_error(reg), "organizations[0].prefixes[0]"));
	assert_true(contains(p25_registry_error(reg), "'k12'"));
	assert_int_equal(
	    import_text(reg, "doc.json", "{\"version\": 2, \"organizations\": []}", NULL, &res),
	    P25_EINVAL);
	assert_int_equal(import_text(reg, "doc.json", "[1, 2]", NULL, &res), P25_EINVAL);
	assert_int_equal(import_text(reg, "doc.json", "{\"something\": 1}", NULL, &res),
	                 P25_EINVAL);
}

/*
 * One set of rules, whichever way a permit comes in: permit add, a CSV file,
 * a JSON server list, a whole registry document, request submit and request
 * apply each refuse the same bad permit with the same words, and write nothing.
 */
enum path { BY_PERMIT_ADD, BY_CSV, BY_JSON_LIST, BY_DOCUMENT, BY_SUBMIT, BY_APPLY, NPATHS };
static const char *const path_names[] = {"permit add", "CSV import",     "JSON list import",
                                         "document",   "request submit", "request apply"};

struct bad_permit {
	const char *org, *address, *expires; /* expires as text, NULL: never */
	int rc;
	const char *says;
	unsigned skip; /* paths where the case cannot be written */
};

/* a1 owns 10.0.0.0/16 and 2001:db8:a1::/48. */
static void setup_a1(struct p25_registry *reg)
{
	assert_int_equal(p25_org_add(reg, &who, "a1", "A One", P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
	assert_int_equal(p25_prefix_add(reg, &who, "a1", "10.0.0.0/16", "", 0), 0);
	assert_int_equal(p25_prefix_add(reg, &who, "a1", "2001:db8:a1::/48", "", 0), 0);
}

static const char a1_doc_org[] =
    "{\"handle\": \"a1\", \"name\": \"A One\", \"enrollment\": \"none\", \"mode\": "
    "\"outbound\", \"action\": \"reject\", \"prefixes\": [{\"prefix\": \"10.0.0.0/16\"}, "
    "{\"prefix\": \"2001:db8:a1::/48\"}], \"contacts\": [], \"permits\": [%s]}";

static int try_path(struct p25_registry *reg, enum path path, const struct bad_permit *b)
{
	char text[2048], item[512], org[1024];
	char expires_json[64] = "null";
	struct p25_import_result res;
	int64_t id = 0;
	int rc;

	if (b->expires)
		snprintf(expires_json, sizeof expires_json, "\"%s\"", b->expires);
	switch (path) {
	case BY_PERMIT_ADD: {
		struct p25_permit_spec spec = {.org = b->org,
		                               .address = b->address,
		                               .kind = P25_KIND_MAIL_SERVER,
		                               .description = "relay"};
		char err[200];
		if (b->expires)
			assert_int_equal(p25_expiry_parse(b->expires, who.now, &spec.expires, err,
			                                  sizeof err),
			                 0);
		return p25_permit_add(reg, &who, &spec, &id);
	}
	case BY_CSV:
		snprintf(text, sizeof text,
		         "org,address,kind,description,expires\n%s,%s,mail,relay,%s\n", b->org,
		         b->address, b->expires ? b->expires : "");
		return import_text(reg, "rows.csv", text, NULL, &res);
	case BY_JSON_LIST:
		snprintf(text, sizeof text,
		         "{\"org\": \"%s\", \"servers\": [{\"address\": \"%s\", \"kind\": \"mail\", "
		         "\"description\": \"relay\", \"expires\": %s}]}",
		         b->org, b->address, expires_json);
		return import_text(reg, "list.json", text, NULL, &res);
	case BY_DOCUMENT:
		snprintf(item, sizeof item,
		         "{\"id\": 1, \"address\": \"%s\", \"kind\": \"mail-server\", "
		         "\"description\": \"relay\", \"requested_by\": \"x\", \"approved_by\": \"y\", "
		         "\"created\": \"2026-11-01T00:00:00Z\", \"expires\": %s}",
		         b->address, expires_json);
		snprintf(org, sizeof org, a1_doc_org, item);
		snprintf(text, sizeof text, "{\"version\": 1, \"organizations\": [%s]}", org);
		return import_text(reg, "doc.json", text, NULL, &res);
	case BY_SUBMIT: {
		struct p25_request_server s = {b->address, P25_KIND_MAIL_SERVER, "relay", 0};
		struct p25_request_spec spec = {
		    .org = b->org, .type = P25_REQ_ADD_PERMIT, .servers = &s, .nservers = 1};
		char err[200];
		if (b->expires)
			assert_int_equal(
			    p25_expiry_parse(b->expires, who.now, &s.expires, err, sizeof err), 0);
		return p25_request_submit(reg, &who, &spec, &id);
	}
	case BY_APPLY:
		/* A request restored as approved is checked when it is applied. */
		snprintf(org, sizeof org, a1_doc_org, "");
		snprintf(text, sizeof text,
		         "{\"version\": 1, \"organizations\": [%s], \"requests\": [{\"id\": 1, "
		         "\"org\": \"a1\", \"type\": \"add-permit\", \"status\": \"approved\", "
		         "\"requested_by\": \"m\", \"submitted\": \"2026-11-22T00:00:00Z\", "
		         "\"approved\": \"2026-11-22T01:00:00Z\", \"approved_by\": \"noc\", "
		         "\"servers\": [{\"address\": \"%s\", \"kind\": \"mail-server\", "
		         "\"description\": \"relay\", \"expires\": %s}]}]}",
		         org, b->address, expires_json);
		rc = import_text(reg, "doc.json", text, NULL, &res);
		if (rc < 0)
			fail_msg("restoring the request: %s", p25_registry_error(reg));
		return p25_request_apply(reg, &who, 1);
	default:
		return 0;
	}
}

static void test_same_rules_every_path(void **state)
{
	static const struct bad_permit cases[] = {
	    {"a1", "10.0.0.0/20", NULL, P25_EINVAL, "permit 10.0.0.0/20 is wider than /24", 0},
	    {"a1", "2001:db8:a0::/44", NULL, P25_EINVAL, "is wider than /48", 0},
	    {"a1", "10.1.0.1", NULL, P25_EINVAL,
	     "10.1.0.1 is outside the address space of organization 'a1'", 0},
	    /* A request holds only addresses that parse. */
	    {"a1", "10.0.0.300", NULL, P25_EINVAL, "'10.0.0.300' is not a valid IPv4 address",
	     1u << BY_APPLY},
	    /* A restored permit's past expiry is history (an expired variance): allowed. */
	    {"a1", "10.0.0.9", "2026-01-31T23:59:59Z", P25_EINVAL, "the expiry 2026-01-31T23:59:59Z is already past",
	     1u << BY_DOCUMENT},
	    /* Permits and requests of a document live inside its orgs. */
	    {"nobody", "10.0.0.9", NULL, P25_ENOTFOUND, "no organization 'nobody'",
	     1u << BY_DOCUMENT | 1u << BY_APPLY},
	};

	(void)state;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		for (int path = 0; path < NPATHS; path++) {
			struct p25_registry *reg;
			struct p25_permit_filter f = {.now = who.now};
			char err[256];
			json_t *rows;
			int rc;

			if (cases[c].skip & (1u << path))
				continue;
			assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
			if (path != BY_DOCUMENT && path != BY_APPLY)
				setup_a1(reg);
			rc = try_path(reg, (enum path)path, &cases[c]);
			if (rc != cases[c].rc || !strstr(p25_registry_error(reg), cases[c].says))
				fail_msg("%s of %s: rc %d (want %d), message '%s' (want '%s')",
				         path_names[path], cases[c].address, rc, cases[c].rc,
				         p25_registry_error(reg), cases[c].says);
			assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
			assert_int_equal(json_array_size(rows), 0);
			json_decref(rows);
			p25_registry_close(reg);
		}
	}
}


/* Every bad row of a member's list in one run, each with its line; nothing imported. */
static void test_every_bad_row_in_one_run(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;
	json_t *before = export(reg), *after;
	static const char text[] = "IP Address,Server Name,Purpose,Type\n"
	                           "192.0.2.10,mx1.k12.example,Outbound relay,Mail Server\n"
	                           "192.0.2.300,mx2.k12.example,Backup relay,mail\n"
	                           "198.51.100.7,web.k12.example,Web forms,application server\n"
	                           "192.0.2.11,sis.k12.example,SIS notices,toaster\n"
	                           "192.0.2.10,mx1-again,Typed twice,mail\n"
	                           "192.0.2.12,printer\n"
	                           "2001:db8:1::25,mx6.k12.example,IPv6 relay,\n";

	assert_int_equal(import_text(reg, "members.csv", text, "k12", &res), P25_EINVAL);
	assert_int_equal(res.permits, 0);
	assert_int_equal(res.nproblems, 5);
	assert_true(contains(res.problems[0].message, "members.csv: line 3: "));
	assert_true(contains(res.problems[0].message, "192.0.2.300"));
	assert_true(contains(res.problems[1].message, "members.csv: line 4: "));
	assert_true(contains(res.problems[1].message, "outside"));
	assert_true(contains(res.problems[2].message, "members.csv: line 5: kind 'toaster'"));
	assert_true(contains(res.problems[3].message,
	                     "members.csv: line 6: 192.0.2.10 repeats line 2"));
	assert_int_equal(res.problems[3].code, P25_ECONFLICT);
	assert_true(contains(res.problems[4].message,
	                     "members.csv: line 7: expected 4 fields, found 2"));
	assert_true(contains(p25_registry_error(reg), "members.csv: 5 rows refused; nothing imported"));
	after = export(reg);
	assert_true(json_equal(before, after));
	json_decref(after);
	json_decref(before);

	/* The same list put right goes in whole; the header's names are mapped. */
	assert_int_equal(import_text(reg, "fixed.csv",
	                             "IP Address,Server Name,Purpose,Type\n"
	                             "192.0.2.10,mx1.k12.example,Outbound relay,Mail Server\n"
	                             "192.0.2.11,sis.k12.example,SIS notices,Application Server\n"
	                             "2001:db8:1::25,mx6.k12.example,,\n",
	                             "k12", &res),
	                 0);
	assert_int_equal(res.permits, 3);
	assert_int_equal(res.nproblems, 0);
	{
		struct p25_permit_filter f = {.now = who.now};
		json_t *rows, *p;
		assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
		p = json_array_get(rows, 0);
		assert_string_equal(json_string_value(json_object_get(p, "address")), "192.0.2.10");
		assert_string_equal(json_string_value(json_object_get(p, "description")),
		                    "mx1.k12.example - Outbound relay");
		assert_string_equal(json_string_value(json_object_get(p, "kind")), "mail-server");
		p = json_array_get(rows, 1);
		assert_string_equal(json_string_value(json_object_get(p, "kind")),
		                    "application-server");
		p = json_array_get(rows, 2);
		assert_string_equal(json_string_value(json_object_get(p, "kind")), "mail-server");
		assert_string_equal(json_string_value(json_object_get(p, "description")),
		                    "mx6.k12.example");
		json_decref(rows);
	}
}

/* A bare list: one per line or comma-separated, what it is after the address. */
static void test_bare_list(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;
	struct p25_permit_filter f = {.now = who.now};
	json_t *rows;
	static const char text[] = "# our mail servers\n"
	                           "192.0.2.10\n"
	                           "192.0.2.11, 192.0.2.12\n"
	                           "\n"
	                           "192.0.2.13 - Exchange edge\n"
	                           "2001:db8:1::25 2001:db8:1::26\n";

	assert_int_equal(import_text(reg, "list.txt", text, "k12", &res), 0);
	assert_int_equal(res.permits, 6);
	assert_int_equal(p25_permit_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 6);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(rows, 0), "kind")), "mail-server");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(rows, 0), "description")),
	    "mail-server");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(rows, 3), "description")),
	    "Exchange edge");
	json_decref(rows);

	/* Bad addresses in a bare list: each named by its line. */
	assert_int_equal(import_text(reg, "bad.txt", "192.0.2.20, 192.0.2.999\n192.0.2.21\n192.0.2.20\n",
	                             "k12", &res),
	                 P25_EINVAL);
	assert_int_equal(res.nproblems, 2);
	assert_true(contains(res.problems[0].message, "bad.txt: line 1: "));
	assert_true(contains(res.problems[0].message, "192.0.2.999"));
	assert_true(contains(res.problems[1].message, "bad.txt: line 3: 192.0.2.20 repeats line 1"));

	/* The request path reads the same. */
	{
		struct p25_server_list l = {0};
		char err[512];
		assert_int_equal(p25_server_list_add_csv(&l, text, strlen(text), "list.txt", "k12",
		                                         who.now, err, sizeof err),
		                 0);
		assert_int_equal(l.n, 6);
		assert_string_equal(l.servers[3].description, "Exchange edge");
		p25_server_list_free(&l);
		assert_int_equal(p25_server_list_add_csv(&l, "Host,Type\n192.0.2.30,SMTP relay\n",
		                                         32, "h.csv", "k12", who.now, err,
		                                         sizeof err),
		                 0);
		assert_int_equal(l.servers[0].kind, P25_KIND_MAIL_SERVER);
		p25_server_list_free(&l);
	}
}

/* The template is a list import reads as it is. */
static void test_template_imports(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;
	const char *t = p25_import_template();

	assert_int_equal(p25_prefix_add(reg, &who, "k12", "2001:db8:100::/48", "", 0), 0);
	assert_int_equal(import_text(reg, "template.csv", t, "k12", &res), 0);
	assert_int_equal(res.permits, 3);
}

static void test_unknown_column_names_the_understood(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_import_result res;

	assert_int_equal(import_text(reg, "loc.csv", "IP,Location\n192.0.2.10,Room 4\n", "k12", &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg), "loc.csv: line 1: unknown column 'Location'"));
	assert_true(contains(p25_registry_error(reg), "address (or IP, IP Address, Host)"));
	assert_int_equal(import_text(reg, "two.csv", "IP,Address\n192.0.2.10,192.0.2.11\n", "k12",
	                             &res),
	                 P25_EINVAL);
	assert_true(contains(p25_registry_error(reg),
	                     "columns 'IP' and 'Address' both give the address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_quoting),
	    cmocka_unit_test_setup_teardown(test_csv_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_row_rejects_whole_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_json_server_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
	    cmocka_unit_test(test_document_round_trip),
	    cmocka_unit_test_setup_teardown(test_document_errors, setup, teardown),
	    cmocka_unit_test(test_same_rules_every_path),
	    cmocka_unit_test_setup_teardown(test_every_bad_row_in_one_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bare_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_imports, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_column_names_the_understood, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
