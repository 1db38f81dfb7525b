/* Output shared by the subcommands: errors, tables and JSON. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("port25: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("port25: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_open_registry(struct cli *cli)
{
	char err[512];

	if (cli->reg)
		return EXIT_OK;
	if (cli->db_error)
		return cli_fail(EXIT_SYSTEM, "%s (the registry path; --db or $PORT25_DB name one)",
				cli->db_error);
	/*
	 * A mistyped --db must not quietly create an empty registry that blocks
	 * nothing, and neither may an empty file (opening one would migrate it
	 * into an empty registry): enforce apply at boot must fail, not load nothing.
	 */
	if (!cli->may_create) {
		struct stat st;
		if (stat(cli->db_path, &st) != 0 && errno == ENOENT)
			return cli_fail(EXIT_SYSTEM,
					"no registry at %s (create it with: port25 --db %s init)",
					cli->db_path, cli->db_path);
		if (stat(cli->db_path, &st) != 0)
			return cli_fail(EXIT_SYSTEM, "%s: %s", cli->db_path, strerror(errno));
		if (S_ISREG(st.st_mode) && st.st_size == 0)
			return cli_fail(EXIT_SYSTEM,
					"%s is an empty file, not a registry (create one with: port25 "
					"--db %s init)",
					cli->db_path, cli->db_path);
	}
	if (p25_registry_open(cli->db_path, &cli->reg, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "%s", err);
	if (*p25_registry_warning(cli->reg))
		cli_warn("%s", p25_registry_warning(cli->reg));
	return EXIT_OK;
}

int cli_load_model(struct cli *cli, struct p25_model *m)
{
	int rc;

	p25_model_init(m);
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_registry_load_model(cli->reg, m)) < 0) {
		p25_model_free(m);
		return cli_registry_fail(cli, rc);
	}
	return EXIT_OK;
}

int cli_load_policy(struct cli *cli, const char *who, struct p25_model *m,
		    struct p25_policy **pol)
{
	char err[512];
	int rc;

	*pol = NULL;
	if ((rc = cli_load_model(cli, m)) != EXIT_OK)
		return rc;
	*pol = p25_policy_build(m, cli->now, err, sizeof err);
	if (!*pol) {
		p25_model_free(m);
		return cli_fail(EXIT_REFUSED, "%s: the registry is inconsistent: %s", who, err);
	}
	return EXIT_OK;
}

/*
 * The command line's words for the library's hints: the options and commands
 * that would help.  %s is the hint's org, %lld its id.
 */
static const char *hint_format(enum p25_hint_code c)
{
	switch (c) {
	case P25_HINT_NONE: return NULL;
	case P25_HINT_LIST_ORGS: return " (see port25 org list)";
	case P25_HINT_LIST_PREFIXES: return " (see port25 prefix list)";
	case P25_HINT_LIST_CONTACTS: return " (see port25 contact list)";
	case P25_HINT_LIST_PERMITS: return " (see port25 permit list)";
	case P25_HINT_LIST_ORG_PERMITS: return " (see port25 permit list --org %s)";
	case P25_HINT_LIST_REQUESTS: return " (see port25 request list)";
	case P25_HINT_LIST_ALERTS: return " (see port25 alerts)";
	case P25_HINT_NORMALIZE: return " (use --normalize to accept it)";
	case P25_HINT_FORCE_WIDE: return " (use --force if it really is)";
	case P25_HINT_FORCE_REMOVE: return " or use --force";
	case P25_HINT_ADD_PREFIX: return " (add them: port25 prefix add %s PREFIX)";
	case P25_HINT_ADD_SECURITY:
		return " (add one: port25 contact add %s --name N --email E --role security)";
	case P25_HINT_NO_SERVERS:
		return " (register them: port25 permit add %s ADDRESS ...; if none of its hosts "
		       "sends mail, confirm with --no-servers)";
	case P25_HINT_REGISTER_SERVERS: return " (register them: port25 permit add %s ADDRESS ...)";
	case P25_HINT_EXTEND_PERMIT: return "; to keep it longer: port25 permit set %lld --expires WHEN";
	case P25_HINT_REQUEST_PERMITS: return " (--permit ID or ADDRESS)";
	case P25_HINT_REQUEST_SERVERS: return " (--server ADDRESS or --file)";
	case P25_HINT_REQUEST_SERVER: return " (--server)";
	case P25_HINT_IMPORT_ORG_COLUMN: return " or use --org";
	case P25_HINT_IMPORT_ORG_HEADER: return " unless --org is given";
	case P25_HINT_IMPORT_ORG_NAMED: return "--org";
	}
	return NULL;
}

const char *cli_with_hint(const char *msg, const struct p25_hint *h, char *out, size_t len)
{
	const char *fmt = h ? hint_format(h->code) : NULL;
	size_t n = strlen(msg), at;
	char words[256];

	if (!fmt || h->tail + h->span > n) {
		snprintf(out, len, "%s", msg);
		return out;
	}
	if (strstr(fmt, "%lld"))
		snprintf(words, sizeof words, fmt, (long long)h->id);
	else if (strstr(fmt, "%s"))
		snprintf(words, sizeof words, fmt, h->org);
	else
		snprintf(words, sizeof words, "%s", fmt);
	at = n - h->tail - h->span;
	snprintf(out, len, "%.*s%s%s", (int)at, msg, words, msg + n - h->tail);
	return out;
}

int cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("port25: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int cli_parse_id(const char *s, const char *what, int64_t *out)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (isdigit((unsigned char)*s) && !*end && !errno && v > 0) {
		*out = v;
		return EXIT_OK;
	}
	if (what)
		cli_fail(EXIT_USAGE, "'%s' is not a %s id (a positive number)", s, what);
	return EXIT_USAGE;
}

/* The message of a failed call, with the command line's words for its hint, and its exit code. */
static int fail_hinted(int rc, const char *msg, const struct p25_hint *hint)
{
	char text[1536];

	if (!msg || !*msg)
		msg = "registry operation failed";
	return cli_fail(rc == P25_EDB ? EXIT_SYSTEM : EXIT_REFUSED, "%s",
	                cli_with_hint(msg, hint, text, sizeof text));
}

int cli_registry_fail(struct cli *cli, int rc)
{
	return fail_hinted(rc, cli->reg ? p25_registry_error(cli->reg) : NULL,
	                   cli->reg ? p25_registry_hint(cli->reg) : NULL);
}

int cli_service_fail(struct cli *cli, int rc)
{
	return fail_hinted(rc, cli->svc ? p25_service_error(cli->svc) : NULL,
	                   cli->svc ? p25_service_hint(cli->svc) : NULL);
}

void cli_service_warn(struct cli *cli)
{
	char text[1536];

	if (*p25_service_warning(cli->svc))
		cli_warn("%s", cli_with_hint(p25_service_warning(cli->svc),
		                             p25_service_warning_hint(cli->svc), text, sizeof text));
}

void cli_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);

	if (s) {
		puts(s);
		free(s);
	}
}

/* A cell as text: strings as they are, null as "-", the rest as compact JSON. */
static char *cell_text(json_t *v)
{
	if (!v || json_is_null(v))
		return strdup("-");
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_true(v))
		return strdup("yes");
	if (json_is_false(v))
		return strdup("no");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Control characters in registry text must not reach the terminal raw. */
static void put_cell(const char *s, int width, bool last)
{
	int n = 0;

	for (const unsigned char *c = (const unsigned char *)s; *c; c++, n++)
		putchar(*c < 0x20 || *c == 0x7f ? '?' : *c);
	if (!last)
		printf("%*s", width - n + 2, "");
}

void cli_print_rows(const struct cli *cli, json_t *rows, const struct cli_column *cols)
{
	size_t ncols = 0, nrows = json_array_size(rows);
	int *width;
	char **cells;

	if (cli->json) {
		cli_print_json(rows);
		return;
	}
	while (cols[ncols].key)
		ncols++;
	width = calloc(ncols, sizeof *width);
	cells = calloc((nrows + 1) * ncols, sizeof *cells);
	if (!width || !cells) {
		free(width);
		free(cells);
		cli_fail(EXIT_SYSTEM, "out of memory");
		return;
	}
	for (size_t c = 0; c < ncols; c++) {
		cells[c] = strdup(cols[c].heading);
		width[c] = (int)strlen(cols[c].heading);
	}
	for (size_t r = 0; r < nrows; r++) {
		json_t *row = json_array_get(rows, r);
		for (size_t c = 0; c < ncols; c++) {
			char *t = cell_text(json_object_get(row, cols[c].key));
			cells[(r + 1) * ncols + c] = t;
			if (t && (int)strlen(t) > width[c])
				width[c] = (int)strlen(t);
		}
	}
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			char *t = cells[r * ncols + c];
			put_cell(t ? t : "?", width[c], c + 1 == ncols);
			free(t);
		}
		putchar('\n');
	}
	if (nrows == 0)
		puts("(none)");
	free(width);
	free(cells);
}

void cli_print_object(const struct cli *cli, json_t *obj)
{
	const char *key;
	json_t *v;
	size_t keylen = 0;

	if (cli->json) {
		cli_print_json(obj);
		return;
	}
	json_object_foreach(obj, key, v)
		if (strlen(key) > keylen)
			keylen = strlen(key);
	json_object_foreach(obj, key, v) {
		char *t;
		if (json_is_array(v) || json_is_object(v)) {
			printf("%s:\n", key);
			t = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (t)
				printf("%s\n", t);
			free(t);
			continue;
		}
		t = cell_text(v);
		printf("%-*s  ", (int)keylen + 1, key);
		put_cell(t ? t : "?", 0, true);
		putchar('\n');
		free(t);
	}
}

bool cli_wants_help(int argc, char **argv, const char *usage)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return true;
		}
	}
	return false;
}
