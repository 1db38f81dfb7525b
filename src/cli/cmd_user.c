/*
 * port25 user and port25 token: the accounts and API tokens of port25 serve,
 * managed at the shell as the operator (the service decides, the registry
 * keeps them; this file parses and prints).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "cli.h"

static const char user_usage[] =
    "usage: port25 user add|list|show|set|remove ...\n"
    "  user add NAME --role operator|member|auditor [--org HANDLE]... [--name FULL]\n"
    "           [--email E] [--password-stdin]\n"
    "  user list [--json]\n"
    "  user show NAME [--json]\n"
    "  user set NAME [--role R] [--org HANDLE]... [--name FULL] [--email E]\n"
    "           [--password-stdin | --no-password] [--disable | --enable]\n"
    "  user remove NAME\n"
    "Accounts of port25 serve.  A member acts for the organizations named with --org\n"
    "(one or more; user set --org replaces them); operators and auditors for all.\n"
    "--password-stdin reads the password from the first line of standard input\n"
    "(10 to 1024 characters; kept as an Argon2id hash); without one the account\n"
    "logs in only through a trusted proxy, and uses API tokens.  A new password,\n"
    "role or organization, or disabling, ends the account's sessions.\n";

static const char token_usage[] =
    "usage: port25 token add|list|revoke ...\n"
    "  token add --user NAME [--description D] [--read-only] [--expires WHEN]\n"
    "            [--allow PREFIX]... [--json]\n"
    "  token list [--user NAME] [--json]\n"
    "  token revoke ID\n"
    "API tokens of port25 serve (Authorization: Bearer TOKEN).  token add prints the\n"
    "token once: only its hash is kept.  A --read-only token reads and changes nothing;\n"
    "--allow limits the source addresses it may be used from (IPv4 or IPv6 prefixes);\n"
    "WHEN: 2026-12-31 (the end of that day in the operator's time zone, `timezone` in\n"
    "port25.conf), 2026-12-31T18:00:00Z or a duration from now like 90d.\n";

static int bad(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "port25: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fputc('\n', stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

/* The first line of standard input, without its newline. */
static int read_password(char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin))
		return cli_fail(EXIT_USAGE, "--password-stdin: no password on standard input");
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == len - 1)
		return cli_fail(EXIT_REFUSED, "--password-stdin: the password is too long");
	buf[n] = '\0';
	return EXIT_OK;
}

struct org_list {
	const char *v[64];
	size_t n;
};

static int add_org(struct org_list *l, const char *h, const char *usage)
{
	if (l->n == sizeof l->v / sizeof *l->v)
		return bad(usage, "--org: at most 64 organizations (%s)", h);
	l->v[l->n++] = h;
	return EXIT_OK;
}

static int user_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"email", required_argument, NULL, 'e'},
	                                     {"password-stdin", no_argument, NULL, 'p'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_user_spec spec = {0};
	struct org_list orgs = {0};
	char password[P25_PASSWORD_MAX + 2];
	bool want_password = false;
	json_t *obj = NULL;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'r': spec.role = optarg; break;
		case 'o':
			if ((rc = add_org(&orgs, optarg, user_usage)) != EXIT_OK)
				return rc;
			break;
		case 'n': spec.full_name = optarg; break;
		case 'e': spec.email = optarg; break;
		case 'p': want_password = true; break;
		case 'j': cli->json = true; break;
		default: return bad(user_usage, "user add: unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return bad(user_usage, "user add: want one NAME%s", "");
	if (!spec.role)
		return bad(user_usage, "user add: --role is required (operator, member or auditor)%s", "");
	spec.name = argv[optind];
	spec.orgs = orgs.v;
	spec.norgs = orgs.n;
	if (want_password) {
		if ((rc = read_password(password, sizeof password)) != EXIT_OK)
			return rc;
		spec.password = password;
	}
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	rc = p25_service_user_add(cli->svc, &cli->auth, &spec);
	memset(password, 0, sizeof password);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		if (p25_service_user_show(cli->svc, &cli->auth, spec.name, &obj) == 0)
			cli_print_json(obj);
		json_decref(obj);
	} else {
		printf("user %s added (%s)\n", spec.name, spec.role);
	}
	return EXIT_OK;
}

static const struct cli_column user_cols[] = {
    {"name", "NAME"},   {"role", "ROLE"},         {"orgs", "ORGS"},        {"password", "PASSWORD"},
    {"disabled", "DISABLED"}, {"full_name", "FULL NAME"}, {"email", "EMAIL"}, {NULL, NULL}};

static int user_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	json_t *rows;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c != 'j')
			return bad(user_usage, "user list: unknown option: %s", argv[optind - 1]);
		cli->json = true;
	}
	if (optind != argc)
		return bad(user_usage, "user list: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_user_list(cli->svc, &cli->auth, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, user_cols);
	json_decref(rows);
	return EXIT_OK;
}

static int user_show(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	json_t *obj;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		if (c != 'j')
			return bad(user_usage, "user show: unknown option: %s", argv[optind - 1]);
		cli->json = true;
	}
	if (argc - optind != 1)
		return bad(user_usage, "user show: want one NAME%s", "");
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_user_show(cli->svc, &cli->auth, argv[optind], &obj)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_object(cli, obj);
	json_decref(obj);
	return EXIT_OK;
}

static int user_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"name", required_argument, NULL, 'n'},
	                                     {"email", required_argument, NULL, 'e'},
	                                     {"password-stdin", no_argument, NULL, 'p'},
	                                     {"no-password", no_argument, NULL, 'P'},
	                                     {"disable", no_argument, NULL, 'd'},
	                                     {"enable", no_argument, NULL, 'E'},
	                                     {0}};
	struct p25_user_change ch = {0};
	struct org_list orgs = {0};
	char password[P25_PASSWORD_MAX + 2];
	bool want_password = false;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'r': ch.role = optarg; break;
		case 'o':
			if ((rc = add_org(&orgs, optarg, user_usage)) != EXIT_OK)
				return rc;
			ch.set_orgs = true;
			break;
		case 'n': ch.full_name = optarg; break;
		case 'e': ch.email = optarg; break;
		case 'p': want_password = true; break;
		case 'P': ch.clear_password = true; break;
		case 'd': ch.set_disabled = true; ch.disabled = true; break;
		case 'E': ch.set_disabled = true; ch.disabled = false; break;
		default: return bad(user_usage, "user set: unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return bad(user_usage, "user set: want one NAME%s", "");
	if (want_password && ch.clear_password)
		return bad(user_usage, "user set: --password-stdin and --no-password together%s", "");
	ch.orgs = orgs.v;
	ch.norgs = orgs.n;
	if (want_password) {
		if ((rc = read_password(password, sizeof password)) != EXIT_OK)
			return rc;
		ch.password = password;
	}
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	rc = p25_service_user_set(cli->svc, &cli->auth, argv[optind], &ch);
	memset(password, 0, sizeof password);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	printf("user %s changed\n", argv[optind]);
	return EXIT_OK;
}

static int user_remove(struct cli *cli, int argc, char **argv)
{
	int rc;

	if (argc != 2)
		return bad(user_usage, "user remove: want one NAME%s", "");
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_user_remove(cli->svc, &cli->auth, argv[1])) < 0)
		return cli_service_fail(cli, rc);
	printf("user %s removed, with its sessions and tokens\n", argv[1]);
	return EXIT_OK;
}

struct verb {
	const char *name;
	int (*run)(struct cli *, int, char **);
};

static int dispatch(struct cli *cli, int argc, char **argv, const struct verb *verbs,
                    const char *usage)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (cli_wants_help(argc, argv, usage))
		return EXIT_OK;
	for (const struct verb *v = verbs; v->name; v++) {
		if (strcmp(argv[1], v->name) != 0)
			continue;
		if (cli_wants_help(argc - 1, argv + 1, usage))
			return EXIT_OK;
		optind = 0;
		return v->run(cli, argc - 1, argv + 1);
	}
	fprintf(stderr, "port25: %s: unknown command '%s'\n", argv[0], argv[1]);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int cmd_user(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {{"add", user_add},   {"list", user_list},
	                                    {"show", user_show}, {"set", user_set},
	                                    {"remove", user_remove}, {NULL, NULL}};
	return dispatch(cli, argc, argv, verbs, user_usage);
}

/* ---- tokens ---- */

static int token_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	                                     {"description", required_argument, NULL, 'd'},
	                                     {"read-only", no_argument, NULL, 'r'},
	                                     {"expires", required_argument, NULL, 'e'},
	                                     {"allow", required_argument, NULL, 'a'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_token_request req = {0};
	char secret[P25_SERVICE_SECRET_MAX], err[200];
	const char *allowed[64], *expires_text = NULL;
	json_t *obj = NULL;
	int64_t id;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'u': req.user = optarg; break;
		case 'd': req.description = optarg; break;
		case 'r': req.read_only = true; break;
		case 'e':
			if (!strcmp(optarg, "never")) {
				req.expires = 0;
			} else if ((rc = cli_check_date(cli, "--expires", optarg)) != EXIT_OK) {
				return rc;
			} else if (p25_expiry_parse(optarg, cli->now, &req.expires, err, sizeof err) < 0) {
				return cli_fail(EXIT_USAGE, "--expires %s", err);
			}
			expires_text = optarg;
			break;
		case 'a':
			if (req.nallowed == sizeof allowed / sizeof *allowed)
				return bad(token_usage, "--allow: at most 64 prefixes (%s)", optarg);
			allowed[req.nallowed++] = optarg;
			break;
		case 'j': cli->json = true; break;
		default: return bad(token_usage, "token add: unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return bad(token_usage, "token add: unexpected argument '%s'", argv[optind]);
	if (!req.user)
		return bad(token_usage, "token add: --user is required%s", "");
	req.allowed = allowed;
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_token_add(cli->svc, &cli->auth, &req, secret, &id)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		if (p25_service_token_show(cli->svc, &cli->auth, id, &obj) == 0) {
			json_object_set_new(obj, "token", json_string(secret));
			cli_print_json(obj);
		}
		json_decref(obj);
	} else {
		printf("token %" PRId64 " for %s: %s\n", id, req.user, secret);
		printf("(shown once: only its hash is kept)\n");
		if (req.expires) {
			char when[160];
			printf("expires %s\n",
			       cli_instant(cli, expires_text, req.expires, false, when, sizeof when));
		}
	}
	memset(secret, 0, sizeof secret);
	return EXIT_OK;
}

static const struct cli_column token_cols[] = {
    {"id", "ID"},          {"user", "USER"},         {"hint", "TOKEN"},
    {"status", "STATUS"},  {"read_only", "READ-ONLY"}, {"expires", "EXPIRES"},
    {"allowed_sources", "FROM"}, {"last_used", "LAST USED"}, {"description", "DESCRIPTION"},
    {NULL, NULL}};

static int token_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"user", required_argument, NULL, 'u'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	const char *user = NULL;
	json_t *rows;
	int c, rc;

	opterr = 0;
	while ((c = cli_getopt(cli, argc, argv, "", opts)) != -1) {
		switch (c) {
		case 'u': user = optarg; break;
		case 'j': cli->json = true; break;
		default: return bad(token_usage, "token list: unknown option or missing value: %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return bad(token_usage, "token list: unexpected argument '%s'", argv[optind]);
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_token_list(cli->svc, &cli->auth, user, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, token_cols);
	json_decref(rows);
	return EXIT_OK;
}

static int token_revoke(struct cli *cli, int argc, char **argv)
{
	char *end;
	long long id;
	int rc;

	if (argc != 2)
		return bad(token_usage, "token revoke: want one ID%s", "");
	errno = 0;
	id = strtoll(argv[1], &end, 10);
	if (!*argv[1] || *end || errno || id <= 0)
		return cli_fail(EXIT_USAGE, "'%s' is not a token id (a positive number)", argv[1]);
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_token_revoke(cli->svc, &cli->auth, id)) < 0)
		return cli_service_fail(cli, rc);
	printf("token %lld revoked\n", id);
	return EXIT_OK;
}

int cmd_token(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {
	    {"add", token_add}, {"list", token_list}, {"revoke", token_revoke}, {NULL, NULL}};
	return dispatch(cli, argc, argv, verbs, token_usage);
}
