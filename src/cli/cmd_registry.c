/*
 * The registry subcommands: init, org, prefix, contact, permit, request,
 * import, export and audit.  Each parses its own options and hands the work
 * to libport25; nothing here decides policy.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

/* One verb of a subcommand: "org add", "permit list", ... */
struct verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *usage;
};

/*
 * getopt_long over argv[0..argc) where argv[0] is the verb.  Returns the
 * option, -1 at the end, or '?' after reporting a bad option.
 */
static int next_option(struct cli *cli, int argc, char **argv, const struct option *opts,
                       const char *usage)
{
	int c;

	opterr = 0;
	c = cli_getopt(cli, argc, argv, "", opts);
	if (c == '?' || c == ':') {
		cli_usage_error(usage, "unknown option or missing value: %s", argv[optind - 1]);
		return '?';
	}
	return c;
}

static int run_verb(struct cli *cli, int argc, char **argv, const struct verb *verbs,
                    const char *usage)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	for (const struct verb *v = verbs; v->name; v++) {
		if (strcmp(argv[1], v->name) != 0)
			continue;
		if (cli_wants_help(argc - 1, argv + 1, v->usage))
			return EXIT_OK;
		optind = 0; /* glibc: rescan from argv[1] of the verb */
		return v->run(cli, argc - 1, argv + 1);
	}
	fprintf(stderr, "port25: %s: unknown command '%s'\n", argv[0], argv[1]);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

static int check_positionals(int argc, char **argv, int n, const char *usage)
{
	if (argc - optind < n)
		return cli_usage_error(usage, "%smissing argument", "");
	if (argc - optind > n)
		return cli_usage_error(usage, "unexpected argument '%s'", argv[optind + n]);
	return EXIT_OK;
}

/* The registry commands act through the service, as the operator --actor names. */
static int open_or_fail(struct cli *cli)
{
	return cli_open_service(cli);
}

static void done(const struct cli *cli, json_t *obj, const char *fmt, const char *arg)
{
	if (cli->json) {
		cli_print_json(obj ? obj : json_null());
		return;
	}
	printf(fmt, arg);
	putchar('\n');
}

/* ---- init ---- */

static const char init_usage[] = "usage: port25 init\n"
                                 "Create the registry file (--db) or migrate it to the current "
                                 "schema.\n";

int cmd_init(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	int c, rc;

	if (cli_wants_help(argc, argv, init_usage))
		return EXIT_OK;
	optind = 0;
	while ((c = next_option(cli, argc, argv, opts, init_usage)) != -1) {
		if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	if ((rc = check_positionals(argc, argv, 0, init_usage)) != EXIT_OK)
		return rc;
	cli->may_create = true;
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:i}", "db", cli->db_path, "schema_version",
		                      p25_registry_schema_version(cli->reg));
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("registry %s ready (schema version %d)\n", cli->db_path,
		       p25_registry_schema_version(cli->reg));
	}
	return EXIT_OK;
}

/* ---- org ---- */

static const char org_usage[] =
    "usage: port25 org add|list|show|set|remove ...\n"
    "  org add HANDLE --name NAME [--mode outbound|both] [--action reject|drop]\n"
    "  org list [--upcoming]\n"
    "  org show HANDLE\n"
    "  org set HANDLE [--name NAME] [--mode M] [--action A] [--enrollment "
    "none|pending|active|suspended] [--at WHEN] [--no-servers]\n"
    "  org remove HANDLE [--force]\n";

static const char org_add_usage[] =
    "usage: port25 org add HANDLE --name NAME [--mode outbound|both] [--action reject|drop]\n"
    "Register a member organization.  HANDLE: 1-32 of a-z, 0-9, '-'.  New organizations\n"
    "start with enrollment none; mode outbound blocks TCP/25 leaving their space, both\n"
    "also blocks it arriving at unpermitted hosts; action reject sends a TCP reset.\n";

static int parse_mode(const char *s, enum p25_mode *m)
{
	if (p25_mode_parse(s, m) < 0)
		return cli_fail(EXIT_USAGE, "--mode '%s': expected outbound or both", s);
	return EXIT_OK;
}

static int parse_action(const char *s, enum p25_action *a)
{
	if (p25_action_parse(s, a) < 0)
		return cli_fail(EXIT_USAGE, "--action '%s': expected reject or drop", s);
	return EXIT_OK;
}

static int org_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
	                                     {"mode", required_argument, NULL, 'm'},
	                                     {"action", required_argument, NULL, 'a'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	enum p25_mode mode = P25_MODE_OUTBOUND;
	enum p25_action action = P25_ACTION_REJECT;
	const char *name = NULL;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, org_add_usage)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'm':
			if ((rc = parse_mode(optarg, &mode)) != EXIT_OK)
				return rc;
			break;
		case 'a':
			if ((rc = parse_action(optarg, &action)) != EXIT_OK)
				return rc;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 1, org_add_usage)) != EXIT_OK)
		return rc;
	if (!name)
		return cli_usage_error(org_add_usage, "org add %s: --name is required", argv[optind]);
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_org_add(cli->svc, &cli->auth, argv[optind], name, mode, action)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o;
		if (p25_service_org_show(cli->svc, &cli->auth, argv[optind], &o) == 0) {
			cli_print_json(o);
			json_decref(o);
		}
		return EXIT_OK;
	}
	printf("added organization '%s' (enrollment none)\n", argv[optind]);
	return EXIT_OK;
}

static const char org_list_usage[] =
    "usage: port25 org list [--upcoming] [--json]\n"
    "List the organizations with their enrollment, counts and scheduled activation.\n"
    "--upcoming: only those whose activation is scheduled, soonest first.\n";

static int only_json_option(struct cli *cli, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	int c;

	while ((c = next_option(cli, argc, argv, opts, usage)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		cli->json = true;
	}
	return EXIT_OK;
}

static int org_list(struct cli *cli, int argc, char **argv)
{
	static const struct cli_column cols[] = {
	    {"handle", "HANDLE"},     {"name", "NAME"},       {"enrollment", "ENROLLMENT"},
	    {"mode", "MODE"},         {"action", "ACTION"},   {"prefixes", "PREFIXES"},
	    {"contacts", "CONTACTS"}, {"permits", "PERMITS"}, {"activates", "ACTIVATES"},
	    {NULL, NULL}};
	static const struct option opts[] = {
	    {"upcoming", no_argument, NULL, 'u'}, {"json", no_argument, NULL, 'j'}, {0}};
	bool upcoming = false;
	json_t *rows;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, org_list_usage)) != -1) {
		if (c == 'u')
			upcoming = true;
		else if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	if ((rc = check_positionals(argc, argv, 0, org_list_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	rc = upcoming ? p25_service_org_upcoming(cli->svc, &cli->auth, &rows)
	              : p25_service_org_list(cli->svc, &cli->auth, &rows);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, cols);
	json_decref(rows);
	return EXIT_OK;
}

static const struct cli_column prefix_cols[] = {
    {"org", "ORG"}, {"prefix", "PREFIX"}, {"description", "DESCRIPTION"}, {NULL, NULL}};
static const struct cli_column contact_cols[] = {
    {"id", "ID"},       {"org", "ORG"},     {"role", "ROLE"}, {"name", "NAME"},
    {"email", "EMAIL"}, {"phone", "PHONE"}, {NULL, NULL}};
static const struct cli_column permit_cols[] = {
    {"id", "ID"},         {"org", "ORG"},         {"address", "ADDRESS"},         {"kind", "KIND"},
    {"status", "STATUS"}, {"expires", "EXPIRES"}, {"description", "DESCRIPTION"}, {NULL, NULL}};
static const struct cli_column request_cols[] = {{"id", "ID"},
                                                 {"org", "ORG"},
                                                 {"type", "TYPE"},
                                                 {"status", "STATUS"},
                                                 {"submitted", "SUBMITTED"},
                                                 {"due", "DUE"},
                                                 {"overdue", "OVERDUE"},
                                                 {"hours_left", "HOURS LEFT"},
                                                 {"requested_by", "REQUESTED BY"},
                                                 {NULL, NULL}};

/* Print an object's scalars as "key: value" lines and its arrays as tables. */
static void print_with_tables(struct cli *cli, json_t *obj, const char *const *keys,
                              const struct cli_column *const *cols)
{
	json_t *scalars;

	if (cli->json) {
		cli_print_json(obj);
		return;
	}
	scalars = json_deep_copy(obj);
	for (size_t i = 0; keys[i]; i++)
		json_object_del(scalars, keys[i]);
	cli_print_object(cli, scalars);
	json_decref(scalars);
	for (size_t i = 0; keys[i]; i++) {
		printf("\n%s:\n", keys[i]);
		cli_print_rows(cli, json_object_get(obj, keys[i]), cols[i]);
	}
}

static const char org_show_usage[] =
    "usage: port25 org show HANDLE [--json]\n"
    "Show an organization with its prefixes, contacts, permits and open requests.\n";

static int org_show(struct cli *cli, int argc, char **argv)
{
	static const char *const keys[] = {"prefixes", "contacts", "permits", "open_requests",
	                                   NULL};
	static const struct cli_column *const cols[] = {prefix_cols, contact_cols, permit_cols,
	                                                request_cols};
	json_t *o;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, org_show_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, org_show_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_org_show(cli->svc, &cli->auth, argv[optind], &o)) < 0)
		return cli_service_fail(cli, rc);
	print_with_tables(cli, o, keys, cols);
	json_decref(o);
	return EXIT_OK;
}

static const char org_set_usage[] =
    "usage: port25 org set HANDLE [--name NAME] [--mode outbound|both] [--action reject|drop]\n"
    "                      [--enrollment none|pending|active|suspended] [--at WHEN]\n"
    "                      [--no-servers]\n"
    "Change an organization.  Enrollment active needs a security contact and a valid\n"
    "permit: without one every host of the organization is blocked, its mail servers\n"
    "too.  --no-servers confirms that none of its hosts sends mail.  Activation warns\n"
    "about mail servers the latest `port25 analyze` of its traffic found unpermitted.\n"
    "--at WHEN (with --enrollment active) schedules the activation at the time agreed\n"
    "with the member (2026-12-01T06:00:00Z, or a duration from now like 2d) instead of\n"
    "now: the rules are checked now and again then, and `port25 enforce sync --wait`\n"
    "(port25-enforce.service) or the next `enforce sync` carries it out.  `org list\n"
    "--upcoming` lists what is scheduled; setting the enrollment again replaces it.\n";

/* --at: a time, or a duration from now; said back in UTC. */
static int parse_when(const struct cli *cli, const char *opt, const char *s, p25_time *out)
{
	char err[200];
	int rc;

	if ((rc = cli_check_date(cli, opt, s)) != EXIT_OK)
		return rc;
	if (p25_when_parse(s, cli->now, out, err, sizeof err) < 0)
		return cli_fail(EXIT_USAGE, "%s %s", opt, err);
	return EXIT_OK;
}

static int org_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
	                                     {"mode", required_argument, NULL, 'm'},
	                                     {"action", required_argument, NULL, 'a'},
	                                     {"enrollment", required_argument, NULL, 'e'},
	                                     {"no-servers", no_argument, NULL, 'N'},
	                                     {"at", required_argument, NULL, 'A'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_org_change change = {0};
	const char *at_text = NULL;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, org_set_usage)) != -1) {
		switch (c) {
		case 'n':
			change.name = optarg;
			break;
		case 'm':
			if ((rc = parse_mode(optarg, &change.mode)) != EXIT_OK)
				return rc;
			change.set_mode = true;
			break;
		case 'a':
			if ((rc = parse_action(optarg, &change.action)) != EXIT_OK)
				return rc;
			change.set_action = true;
			break;
		case 'e':
			if (p25_enrollment_parse(optarg, &change.enrollment) < 0)
				return cli_fail(
				    EXIT_USAGE,
				    "--enrollment '%s': expected none, pending, active or "
				    "suspended",
				    optarg);
			change.set_enrollment = true;
			break;
		case 'N':
			change.no_servers = true;
			break;
		case 'A':
			if ((rc = parse_when(cli, "--at", optarg, &change.activate_at)) != EXIT_OK)
				return rc;
			at_text = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 1, org_set_usage)) != EXIT_OK)
		return rc;
	if (!change.name && !change.set_mode && !change.set_action && !change.set_enrollment)
		return cli_usage_error(org_set_usage, "org set %s: nothing to change", argv[optind]);
	if (change.activate_at &&
	    !(change.set_enrollment && change.enrollment == P25_ENROLL_ACTIVE))
		return cli_usage_error(org_set_usage, "org set %s: --at goes with --enrollment active",
		                   argv[optind]);
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_org_set(cli->svc, &cli->auth, argv[optind], &change)) < 0)
		return cli_service_fail(cli, rc);
	cli_service_warn(cli);
	if (change.activate_at && !cli->json) {
		char t[160];
		printf("organization '%s' will be activated at %s, as agreed; `port25 enforce "
		       "sync --wait` carries it out (see port25 org list --upcoming)\n",
		       argv[optind], cli_instant(cli, at_text, change.activate_at, true, t, sizeof t));
	} else {
		done(cli, NULL, "updated organization '%s'", argv[optind]);
	}
	return cli_followup(cli);
}

static const char org_remove_usage[] =
    "usage: port25 org remove HANDLE [--force]\n"
    "Remove an organization.  Refused while it has prefixes or permits, unless --force,\n"
    "which removes them (and its contacts and requests) too.\n";

static int org_remove(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'}, {"json", no_argument, NULL, 'j'}, {0}};
	bool force = false;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, org_remove_usage)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	if ((rc = check_positionals(argc, argv, 1, org_remove_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_org_remove(cli->svc, &cli->auth, argv[optind], force)) < 0)
		return cli_service_fail(cli, rc);
	done(cli, NULL, "removed organization '%s'", argv[optind]);
	return cli_followup(cli);
}

int cmd_org(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {
	    {"add", org_add, org_add_usage},          {"list", org_list, org_list_usage},
	    {"show", org_show, org_show_usage},       {"set", org_set, org_set_usage},
	    {"remove", org_remove, org_remove_usage}, {NULL, NULL, NULL}};
	return run_verb(cli, argc, argv, verbs, org_usage);
}

/* ---- prefix ---- */

static const char prefix_usage[] = "usage: port25 prefix add|list|remove ...\n"
                                   "  prefix add ORG PREFIX [--description D] [--normalize]\n"
                                   "  prefix list [--org HANDLE]\n"
                                   "  prefix remove PREFIX\n";

static const char prefix_add_usage[] =
    "usage: port25 prefix add ORG PREFIX [--description D] [--normalize]\n"
    "Add IPv4 or IPv6 address space to an organization.  Prefixes of different\n"
    "organizations, or of one organization, must not overlap.  --normalize accepts\n"
    "host bits (192.0.2.9/24 becomes 192.0.2.0/24) with a warning.\n";

static int prefix_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"description", required_argument, NULL, 'd'},
	                                     {"normalize", no_argument, NULL, 'n'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	const char *description = "";
	unsigned flags = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, prefix_add_usage)) != -1) {
		switch (c) {
		case 'd':
			description = optarg;
			break;
		case 'n':
			flags |= P25_PARSE_NORMALIZE;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 2, prefix_add_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	rc = p25_service_prefix_add(cli->svc, &cli->auth, argv[optind], argv[optind + 1], description, flags);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	cli_service_warn(cli);
	if (cli->json) {
		cli_print_json(json_true());
	} else {
		/* Say what was stored, which --normalize may have changed. */
		struct p25_prefix p;
		struct p25_diag diag;
		char text[P25_PREFIX_STRLEN];
		p25_prefix_parse(argv[optind + 1], flags, &p, &diag);
		printf("added %s to organization '%s'\n", p25_prefix_format(&p, text, sizeof text),
		       argv[optind]);
	}
	return cli_followup(cli);
}

static const char prefix_list_usage[] = "usage: port25 prefix list [--org HANDLE] [--json]\n"
                                        "List registered address space.\n";

static int org_filter_option(struct cli *cli, int argc, char **argv, const char *usage,
                             const char **org)
{
	static const struct option opts[] = {
	    {"org", required_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'}, {0}};
	int c;

	while ((c = next_option(cli, argc, argv, opts, usage)) != -1) {
		if (c == 'o')
			*org = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	return check_positionals(argc, argv, 0, usage);
}

static int prefix_list(struct cli *cli, int argc, char **argv)
{
	const char *org = NULL;
	json_t *rows;
	int rc;

	if ((rc = org_filter_option(cli, argc, argv, prefix_list_usage, &org)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_prefix_list(cli->svc, &cli->auth, org, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, prefix_cols);
	json_decref(rows);
	return EXIT_OK;
}

static const char prefix_remove_usage[] =
    "usage: port25 prefix remove PREFIX\n"
    "Remove registered address space.  Refused while permits lie inside it.\n";

static int prefix_remove(struct cli *cli, int argc, char **argv)
{
	int rc;

	if ((rc = only_json_option(cli, argc, argv, prefix_remove_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, prefix_remove_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_prefix_remove(cli->svc, &cli->auth, argv[optind])) < 0)
		return cli_service_fail(cli, rc);
	done(cli, NULL, "removed prefix %s", argv[optind]);
	return cli_followup(cli);
}

int cmd_prefix(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {{"add", prefix_add, prefix_add_usage},
	                                    {"list", prefix_list, prefix_list_usage},
	                                    {"remove", prefix_remove, prefix_remove_usage},
	                                    {NULL, NULL, NULL}};
	return run_verb(cli, argc, argv, verbs, prefix_usage);
}

/* ---- contact ---- */

static const char contact_usage[] =
    "usage: port25 contact add|list|remove ...\n"
    "  contact add ORG --name N --email E [--phone P] --role security|technical|administrative\n"
    "  contact list [--org HANDLE]\n"
    "  contact remove ID\n";

static const char contact_add_usage[] =
    "usage: port25 contact add ORG --name N --email E [--phone P]\n"
    "                          --role security|technical|administrative\n"
    "Add a contact.  An organization needs a security contact to become active.\n";

static int contact_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},  {"email", required_argument, NULL, 'e'},
	    {"phone", required_argument, NULL, 'p'}, {"role", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},        {0}};
	const char *name = NULL, *email = NULL, *phone = "", *role_text = NULL;
	enum p25_contact_role role;
	int64_t id = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, contact_add_usage)) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'e':
			email = optarg;
			break;
		case 'p':
			phone = optarg;
			break;
		case 'r':
			role_text = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 1, contact_add_usage)) != EXIT_OK)
		return rc;
	if (!name || !email || !role_text)
		return cli_usage_error(contact_add_usage,
		                   "contact add %s: --name, --email and --role are required",
		                   argv[optind]);
	if (p25_role_parse(role_text, &role) < 0)
		return cli_fail(EXIT_USAGE,
		                "--role '%s': expected security, technical or administrative",
		                role_text);
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	rc = p25_service_contact_add(cli->svc, &cli->auth, argv[optind], name, email, phone, role, &id);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o = json_pack("{s:I}", "id", (json_int_t)id);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("added contact %" PRId64 " (%s, %s) to organization '%s'\n", id, name,
		       role_text, argv[optind]);
	}
	return cli_followup(cli);
}

static const char contact_list_usage[] = "usage: port25 contact list [--org HANDLE] [--json]\n";

static int contact_list(struct cli *cli, int argc, char **argv)
{
	const char *org = NULL;
	json_t *rows;
	int rc;

	if ((rc = org_filter_option(cli, argc, argv, contact_list_usage, &org)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_contact_list(cli->svc, &cli->auth, org, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, contact_cols);
	json_decref(rows);
	return EXIT_OK;
}

static const char contact_remove_usage[] =
    "usage: port25 contact remove ID\n"
    "Remove a contact.  The last security contact of an active organization stays.\n";

static int contact_remove(struct cli *cli, int argc, char **argv)
{
	int64_t id = 0;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, contact_remove_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, contact_remove_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "contact", &id)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_contact_remove(cli->svc, &cli->auth, id)) < 0)
		return cli_service_fail(cli, rc);
	done(cli, NULL, "removed contact %s", argv[optind]);
	return cli_followup(cli);
}

int cmd_contact(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {{"add", contact_add, contact_add_usage},
	                                    {"list", contact_list, contact_list_usage},
	                                    {"remove", contact_remove, contact_remove_usage},
	                                    {NULL, NULL, NULL}};
	return run_verb(cli, argc, argv, verbs, contact_usage);
}

/* ---- permit ---- */

static const char permit_usage[] =
    "usage: port25 permit add|list|show|set|remove ...\n"
    "  permit add ORG ADDRESS --kind K --description D [--requested-by X] [--approved-by Y]\n"
    "             [--expires WHEN] [--force]\n"
    "  permit list [--org HANDLE] [--expiring 14d] [--expired]\n"
    "  permit show ID\n"
    "  permit set ID --expires WHEN|never\n"
    "  permit remove ID|ADDRESS\n";

static const char permit_add_usage[] =
    "usage: port25 permit add ORG ADDRESS --kind K --description D [--requested-by X]\n"
    "                         [--approved-by Y] [--expires WHEN] [--force]\n"
    "Permit a host (or a small prefix) inside the organization's space to send on TCP/25.\n"
    "K: mail-server, application-server, network-device (or mail, app, device).\n"
    "WHEN: 2026-12-31, 2026-12-31T18:00:00Z or a duration from now like 30d; a temporary\n"
    "variance stops counting by itself when it expires.  --approved-by defaults to the\n"
    "actor.  Prefixes wider than /24 (IPv4) or /48 (IPv6) need --force.\n";

static int parse_kind(const char *s, enum p25_permit_kind *k)
{
	if (p25_kind_parse(s, k) < 0)
		return cli_fail(EXIT_USAGE,
		                "kind '%s': expected mail-server, application-server or "
		                "network-device (or mail, app, device)",
		                s);
	return EXIT_OK;
}

static int parse_expiry(const struct cli *cli, const char *s, p25_time *out)
{
	char err[200];
	int rc;

	if (!strcmp(s, "never")) {
		*out = 0;
		return EXIT_OK;
	}
	if ((rc = cli_check_date(cli, "--expires", s)) != EXIT_OK)
		return rc;
	if (p25_expiry_parse(s, cli->now, out, err, sizeof err) < 0)
		return cli_fail(EXIT_USAGE, "--expires %s", err);
	return EXIT_OK;
}

static int permit_add(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"kind", required_argument, NULL, 'k'},
	                                     {"description", required_argument, NULL, 'd'},
	                                     {"requested-by", required_argument, NULL, 'r'},
	                                     {"approved-by", required_argument, NULL, 'a'},
	                                     {"expires", required_argument, NULL, 'e'},
	                                     {"force", no_argument, NULL, 'f'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_permit_spec spec = {0};
	const char *expires_text = NULL;
	bool have_kind = false;
	int64_t id = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, permit_add_usage)) != -1) {
		switch (c) {
		case 'k':
			if ((rc = parse_kind(optarg, &spec.kind)) != EXIT_OK)
				return rc;
			have_kind = true;
			break;
		case 'd':
			spec.description = optarg;
			break;
		case 'r':
			spec.requested_by = optarg;
			break;
		case 'a':
			spec.approved_by = optarg;
			break;
		case 'e':
			if ((rc = parse_expiry(cli, optarg, &spec.expires)) != EXIT_OK)
				return rc;
			expires_text = optarg;
			break;
		case 'f':
			spec.force = true;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 2, permit_add_usage)) != EXIT_OK)
		return rc;
	if (!have_kind || !spec.description)
		return cli_usage_error(permit_add_usage,
		                   "permit add %s: --kind and --description are required",
		                   argv[optind + 1]);
	spec.org = argv[optind];
	spec.address = argv[optind + 1];
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_permit_add(cli->svc, &cli->auth, &spec, &id)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o;
		if (p25_service_permit_show(cli->svc, &cli->auth, id, &o) == 0) {
			cli_print_json(o);
			json_decref(o);
		}
	} else if (spec.expires) {
		char when[160];
		printf("added permit %" PRId64 " for %s (organization '%s'), expires %s\n", id,
		       spec.address, spec.org,
		       cli_instant(cli, expires_text, spec.expires, false, when, sizeof when));
	} else {
		printf("added permit %" PRId64 " for %s (organization '%s')\n", id, spec.address,
		       spec.org);
	}
	return cli_followup(cli);
}

static const char permit_list_usage[] =
    "usage: port25 permit list [--org HANDLE] [--expiring DURATION] [--expired] [--json]\n"
    "List permits with their status (active, expiring within 14 days, expired) at now.\n"
    "--expiring 14d lists only those that expire within that time, each with a warning.\n";

static int permit_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
	                                     {"expiring", required_argument, NULL, 'x'},
	                                     {"expired", no_argument, NULL, 'X'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_permit_filter f = {.now = cli->now};
	char err[200];
	json_t *rows, *row;
	size_t i;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, permit_list_usage)) != -1) {
		switch (c) {
		case 'o':
			f.org = optarg;
			break;
		case 'x':
			if (p25_duration_parse(optarg, &f.expiring_within, err, sizeof err) < 0)
				return cli_fail(EXIT_USAGE, "--expiring %s", err);
			break;
		case 'X':
			f.expired = true;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 0, permit_list_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_permit_list(cli->svc, &cli->auth, &f, &rows)) < 0)
		return cli_service_fail(cli, rc);
	json_array_foreach(rows, i, row)
	{
		const char *status = json_string_value(json_object_get(row, "status"));
		if (f.expiring_within && !strcmp(status, "expiring"))
			cli_warn("permit %" JSON_INTEGER_FORMAT
			         " (%s, organization '%s') expires %s",
			         json_integer_value(json_object_get(row, "id")),
			         json_string_value(json_object_get(row, "address")),
			         json_string_value(json_object_get(row, "org")),
			         json_string_value(json_object_get(row, "expires")));
	}
	cli_print_rows(cli, rows, permit_cols);
	json_decref(rows);
	return EXIT_OK;
}

static const char permit_show_usage[] = "usage: port25 permit show ID [--json]\n";

static int permit_show(struct cli *cli, int argc, char **argv)
{
	int64_t id = 0;
	json_t *o;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, permit_show_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, permit_show_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "permit", &id)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_permit_show(cli->svc, &cli->auth, id, &o)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_object(cli, o);
	json_decref(o);
	return EXIT_OK;
}

static const char permit_set_usage[] =
    "usage: port25 permit set ID --expires WHEN|never\n"
    "Change when a permit expires (a date, a time, a duration like 30d, or never).\n";

static int permit_set(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"expires", required_argument, NULL, 'e'}, {"json", no_argument, NULL, 'j'}, {0}};
	bool have_expires = false;
	const char *expires_text = NULL;
	p25_time expires = 0;
	int64_t id = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, permit_set_usage)) != -1) {
		if (c == 'e') {
			if ((rc = parse_expiry(cli, optarg, &expires)) != EXIT_OK)
				return rc;
			have_expires = true;
			expires_text = optarg;
		} else if (c == 'j') {
			cli->json = true;
		} else {
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 1, permit_set_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "permit", &id)) != EXIT_OK)
		return rc;
	if (!have_expires)
		return cli_usage_error(permit_set_usage, "permit set %s: --expires is required",
		                   argv[optind]);
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_permit_set_expiry(cli->svc, &cli->auth, id, expires)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		done(cli, NULL, "%s", "");
	} else if (expires) {
		char when[160];
		printf("updated permit %s: expires %s\n", argv[optind],
		       cli_instant(cli, expires_text, expires, false, when, sizeof when));
	} else {
		printf("updated permit %s: never expires\n", argv[optind]);
	}
	return cli_followup(cli);
}

static const char permit_remove_usage[] =
    "usage: port25 permit remove ID|ADDRESS\n"
    "Remove a permit, named by its id or by its address (as permit list shows it).\n";

static bool all_digits(const char *s)
{
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return *s != '\0';
}

static int permit_remove(struct cli *cli, int argc, char **argv)
{
	int64_t id = 0;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, permit_remove_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, permit_remove_usage)) != EXIT_OK)
		return rc;
	if (all_digits(argv[optind]) && (rc = cli_parse_id(argv[optind], "permit", &id)) != EXIT_OK)
		return rc;
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	rc = id ? p25_service_permit_remove(cli->svc, &cli->auth, id)
	        : p25_service_permit_remove_address(cli->svc, &cli->auth, argv[optind], &id);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	if (all_digits(argv[optind]))
		done(cli, NULL, "removed permit %s", argv[optind]);
	else if (!cli->json)
		printf("removed permit %" PRId64 " (%s)\n", id, argv[optind]);
	else
		done(cli, NULL, "%s", "");
	return cli_followup(cli);
}

int cmd_permit(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {{"add", permit_add, permit_add_usage},
	                                    {"list", permit_list, permit_list_usage},
	                                    {"show", permit_show, permit_show_usage},
	                                    {"set", permit_set, permit_set_usage},
	                                    {"remove", permit_remove, permit_remove_usage},
	                                    {NULL, NULL, NULL}};
	return run_verb(cli, argc, argv, verbs, permit_usage);
}

/* ---- request ---- */

static const char request_usage[] =
    "usage: port25 request submit|list|show|approve|reject|apply|verify|cancel ...\n"
    "  request submit ORG --type signup|add-permit|remove-permit [--server "
    "ADDRESS[,KIND[,DESC[,EXPIRES]]]]...\n"
    "                 [--permit ID|ADDRESS]... [--file servers.csv] [--requested-by X] [--note T]\n"
    "  request list [--overdue] [--status S] [--org HANDLE]\n"
    "  request show ID\n"
    "  request approve ID\n"
    "  request reject ID --reason T\n"
    "  request apply ID [--no-servers]\n"
    "  request verify ID\n"
    "  request cancel ID\n"
    "A variance (add-permit, remove-permit) is due 48 hours after it is submitted; a\n"
    "sign-up is scheduled with the member instead (request apply ID --at WHEN).\n";

static const char request_submit_usage[] =
    "usage: port25 request submit ORG --type signup|add-permit|remove-permit\n"
    "          [--server ADDRESS[,KIND[,DESCRIPTION[,EXPIRES]]]]... [--permit ID|ADDRESS]...\n"
    "          [--file servers.csv] [--requested-by X] [--note T]\n"
    "Record a member's request: a sign-up with its server list, more permitted servers,\n"
    "or the removal of permits.  A variance is due in 48 hours; a sign-up is scheduled\n"
    "with the member (request apply ID --at WHEN).  --server is one CSV record: KIND\n"
    "defaults to mail-server, DESCRIPTION to the kind; quote a description holding\n"
    "commas (192.0.2.9,app,\"Relay, north wing\",2026-12-31).  EXPIRES (a date, a time or\n"
    "a duration like 30d) makes a temporary variance: the permit the request creates\n"
    "expires then.  --file reads servers from CSV with a header row, the columns of an\n"
    "import file a request understands: org,address,kind,description,expires.\n";

/* Bad --server values are usage errors; a bad file is refused; I/O fails as a system error. */
static int server_list_fail(int rc, int bad_input, const char *err)
{
	return cli_fail(rc == P25_EDB ? EXIT_SYSTEM : bad_input, "%s", err);
}

static int request_submit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"type", required_argument, NULL, 't'},
	                                     {"server", required_argument, NULL, 's'},
	                                     {"permit", required_argument, NULL, 'p'},
	                                     {"file", required_argument, NULL, 'f'},
	                                     {"requested-by", required_argument, NULL, 'r'},
	                                     {"note", required_argument, NULL, 'n'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_request_spec spec = {0};
	struct p25_server_list servers = {0};
	char err[512];
	int64_t *ids = NULL, id;
	const char **addresses = NULL;
	const char *file = NULL;
	bool have_type = false;
	int c, rc = EXIT_OK;

	while (rc == EXIT_OK && (c = next_option(cli, argc, argv, opts, request_submit_usage)) != -1) {
		switch (c) {
		case 't':
			if (p25_request_type_parse(optarg, &spec.type) < 0)
				rc = cli_fail(EXIT_USAGE,
				              "--type '%s': expected signup, add-permit or "
				              "remove-permit",
				              optarg);
			have_type = true;
			break;
		case 's':
			if ((rc = p25_server_list_add_arg(&servers, "--server", optarg, cli->now, err,
			                                  sizeof err)) < 0)
				rc = server_list_fail(rc, EXIT_USAGE, err);
			break;
		case 'p': {
			int64_t v;
			/* A number names the permit by id, anything else by its address. */
			if (cli_parse_id(optarg, NULL, &v) == EXIT_OK) {
				int64_t *p = realloc(ids, (spec.npermit_ids + 1) * sizeof *p);
				if (!p) {
					rc = cli_fail(EXIT_SYSTEM, "out of memory");
					break;
				}
				ids = p;
				ids[spec.npermit_ids++] = v;
			} else {
				const char **p =
				    realloc(addresses, (spec.naddresses + 1) * sizeof *p);
				if (!p) {
					rc = cli_fail(EXIT_SYSTEM, "out of memory");
					break;
				}
				addresses = p;
				addresses[spec.naddresses++] = optarg;
			}
			break;
		}
		case 'f':
			file = optarg;
			break;
		case 'r':
			spec.requested_by = optarg;
			break;
		case 'n':
			spec.note = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			rc = EXIT_USAGE;
			break;
		}
	}
	if (rc == EXIT_OK)
		rc = check_positionals(argc, argv, 1, request_submit_usage);
	if (rc == EXIT_OK && !have_type)
		rc = cli_usage_error(request_submit_usage, "request submit %s: --type is required",
		                 argv[optind]);
	if (rc == EXIT_OK && file &&
	    (rc = p25_server_list_add_file(&servers, file, argv[optind], cli->now, err,
	                                   sizeof err)) < 0)
		rc = server_list_fail(rc, EXIT_REFUSED, err);
	if (rc == EXIT_OK)
		rc = open_or_fail(cli);
	if (rc == EXIT_OK) {
		spec.org = argv[optind];
		spec.servers = servers.servers;
		spec.nservers = servers.n;
		spec.permit_ids = ids;
		spec.addresses = addresses;
		if ((rc = p25_service_request_submit(cli->svc, &cli->auth, &spec, &id)) < 0) {
			rc = cli_service_fail(cli, rc);
		} else {
			if (cli->json) {
				json_t *o;
				if (p25_service_request_show(cli->svc, &cli->auth, id, &o) == 0) {
					cli_print_json(o);
					json_decref(o);
				}
			} else {
				char due[P25_TIME_STRLEN];
				if (spec.type == P25_REQ_SIGNUP)
					printf("submitted request %" PRId64 " (signup for '%s'): agree a "
					       "time with the member, then port25 request apply %" PRId64
					       " --at WHEN\n",
					       id, spec.org, id);
				else
					printf("submitted request %" PRId64 " (%s for '%s'), due %s\n",
					       id, p25_request_type_name(spec.type), spec.org,
					       p25_time_format(cli->now + P25_REQUEST_DUE, due,
					                       sizeof due));
				/* Each temporary server's end, as it was read: the instant, in UTC. */
				for (size_t i = 0; i < servers.n; i++)
					if (servers.servers[i].expires)
						printf("  %s temporary, until %s\n",
						       servers.servers[i].address,
						       p25_time_format(servers.servers[i].expires, due,
						                       sizeof due));
			}
			rc = cli_followup(cli);
		}
	}
	p25_server_list_free(&servers);
	free(ids);
	free(addresses);
	return rc;
}

static const char request_list_usage[] =
    "usage: port25 request list [--overdue] [--status S] [--org HANDLE] [--json]\n"
    "List requests with their due time (48 hours after submission), whether they are\n"
    "overdue and the hours left (negative: hours over).  --overdue: open requests past\n"
    "due.  A sign-up has no due time: it is scheduled with the member (org list\n"
    "--upcoming).  S: submitted, approved, applied, verified, rejected, cancelled.\n";

static int request_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"overdue", no_argument, NULL, 'O'},
	                                     {"status", required_argument, NULL, 's'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_request_filter f = {.now = cli->now};
	json_t *rows;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, request_list_usage)) != -1) {
		switch (c) {
		case 'O':
			f.overdue = true;
			break;
		case 's':
			if (p25_request_status_parse(optarg, &f.status) < 0)
				return cli_fail(EXIT_USAGE,
				                "--status '%s': expected submitted, approved, "
				                "applied, verified, rejected or cancelled",
				                optarg);
			f.by_status = true;
			break;
		case 'o':
			f.org = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 0, request_list_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_request_list(cli->svc, &cli->auth, &f, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, request_cols);
	json_decref(rows);
	return EXIT_OK;
}

static const char request_show_usage[] = "usage: port25 request show ID [--json]\n";

static int request_show(struct cli *cli, int argc, char **argv)
{
	static const char *const keys[] = {"items", NULL};
	static const struct cli_column item_cols[] = {
	    {"address", "ADDRESS"},         {"kind", "KIND"},        {"expires", "EXPIRES"},
	    {"description", "DESCRIPTION"}, {"permit_id", "PERMIT"}, {NULL, NULL}};
	static const struct cli_column *const cols[] = {item_cols};
	json_t *o, *items;
	int64_t id = 0;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, request_show_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, request_show_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "request", &id)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_request_show(cli->svc, &cli->auth, id, &o)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		cli_print_json(o);
	} else {
		/* Servers and removals print alike, as one table of items. */
		items = json_object_get(o, "servers");
		if (!items)
			items = json_object_get(o, "remove");
		json_object_set(o, "items", items ? items : json_array());
		json_object_del(o, "servers");
		json_object_del(o, "remove");
		print_with_tables(cli, o, keys, cols);
	}
	json_decref(o);
	return EXIT_OK;
}

/* approve, apply and verify: a verb, an id, nothing else. */
static int request_step(struct cli *cli, int argc, char **argv, const char *usage,
                        int (*step)(struct p25_service *, const struct p25_auth *, int64_t),
                        const char *past)
{
	int64_t id = 0;
	int rc;

	if ((rc = only_json_option(cli, argc, argv, usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "request", &id)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = step(cli->svc, &cli->auth, id)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o;
		if (p25_service_request_show(cli->svc, &cli->auth, id, &o) == 0) {
			cli_print_json(o);
			json_decref(o);
		}
	} else {
		printf("request %s %s\n", argv[optind], past);
	}
	return cli_followup(cli);
}

static const char request_approve_usage[] = "usage: port25 request approve ID\n"
                                            "Approve a submitted request.\n";
static const char request_apply_usage[] =
    "usage: port25 request apply ID [--no-servers] [--at WHEN]\n"
    "Apply an approved request: create (or remove) its permits, and for a sign-up make\n"
    "the organization active (it needs a security contact and a valid permit, or\n"
    "--no-servers to confirm none of its hosts sends mail), all at once or not at all.\n"
    "--at WHEN (a sign-up): the permits now, the activation at the time agreed with the\n"
    "member, as org set --enrollment active --at WHEN.\n";
static const char request_verify_usage[] =
    "usage: port25 request verify ID\n"
    "Record by hand that the member confirmed their mail still flows after the change.\n"
    "No check runs: `port25 verify --request ID --mx HOST` sends a test message from\n"
    "each new server (and checks removed ones are blocked) and marks it only if all pass.\n";

static const char request_cancel_usage[] =
    "usage: port25 request cancel ID\n"
    "Withdraw a submitted or approved request: nothing of it is applied.\n";

static int request_cancel(struct cli *cli, int argc, char **argv)
{
	return request_step(cli, argc, argv, request_cancel_usage, p25_service_request_cancel,
	                    "cancelled");
}

static int request_approve(struct cli *cli, int argc, char **argv)
{
	return request_step(cli, argc, argv, request_approve_usage, p25_service_request_approve,
	                    "approved");
}

static int request_apply(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"no-servers", no_argument, NULL, 'N'},
	                                     {"at", required_argument, NULL, 'A'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	bool no_servers = false;
	const char *at_text = NULL;
	p25_time at = 0;
	int64_t id = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, request_apply_usage)) != -1) {
		if (c == 'N')
			no_servers = true;
		else if (c == 'A') {
			if ((rc = parse_when(cli, "--at", optarg, &at)) != EXIT_OK)
				return rc;
			at_text = optarg;
		} else if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	if ((rc = check_positionals(argc, argv, 1, request_apply_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "request", &id)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_request_apply_at(cli->svc, &cli->auth, id, no_servers, at)) < 0)
		return cli_service_fail(cli, rc);
	cli_service_warn(cli);
	if (cli->json) {
		json_t *o;
		if (p25_service_request_show(cli->svc, &cli->auth, id, &o) == 0) {
			cli_print_json(o);
			json_decref(o);
		}
	} else if (at) {
		char t[160];
		printf("request %s applied; the organization will be activated at %s, as agreed "
		       "(see port25 org list --upcoming)\n",
		       argv[optind], cli_instant(cli, at_text, at, true, t, sizeof t));
	} else {
		printf("request %s applied\n", argv[optind]);
	}
	return cli_followup(cli);
}

static int request_verify(struct cli *cli, int argc, char **argv)
{
	int rc = request_step(cli, argc, argv, request_verify_usage, p25_service_request_verify,
			      "verified");

	if (rc == EXIT_OK)
		cli_warn("request %s marked verified by hand, without checks (port25 verify "
			 "--request %s --mx HOST checks before marking)",
			 argv[optind], argv[optind]);
	return rc;
}

static const char request_reject_usage[] = "usage: port25 request reject ID --reason TEXT\n"
                                           "Reject a submitted or approved request.\n";

static int request_reject(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'}, {0}};
	const char *reason = NULL;
	int64_t id = 0;
	int c, rc;

	while ((c = next_option(cli, argc, argv, opts, request_reject_usage)) != -1) {
		if (c == 'r')
			reason = optarg;
		else if (c == 'j')
			cli->json = true;
		else
			return EXIT_USAGE;
	}
	if ((rc = check_positionals(argc, argv, 1, request_reject_usage)) != EXIT_OK ||
	    (rc = cli_parse_id(argv[optind], "request", &id)) != EXIT_OK)
		return rc;
	if (!reason || !*reason)
		return cli_usage_error(request_reject_usage, "request reject %s: --reason is required",
		                   argv[optind]);
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_request_reject(cli->svc, &cli->auth, id, reason)) < 0)
		return cli_service_fail(cli, rc);
	done(cli, NULL, "request %s rejected", argv[optind]);
	return cli_followup(cli);
}

int cmd_request(struct cli *cli, int argc, char **argv)
{
	static const struct verb verbs[] = {{"submit", request_submit, request_submit_usage},
	                                    {"list", request_list, request_list_usage},
	                                    {"show", request_show, request_show_usage},
	                                    {"approve", request_approve, request_approve_usage},
	                                    {"reject", request_reject, request_reject_usage},
	                                    {"apply", request_apply, request_apply_usage},
	                                    {"verify", request_verify, request_verify_usage},
	                                    {"cancel", request_cancel, request_cancel_usage},
	                                    {NULL, NULL, NULL}};
	return run_verb(cli, argc, argv, verbs, request_usage);
}

/* ---- import, export, audit ---- */

static const char import_usage[] =
    "usage: port25 import FILE [--org HANDLE] [--format csv|json] [--force] [--no-servers]\n"
    "                    [--dry-run]\n"
    "       port25 import --template\n"
    "Import a server list, all or nothing: every bad row is named, with its line, and\n"
    "nothing is imported until the file is right.\n"
    "A list of addresses, one per line or comma-separated, each optionally followed by\n"
    "what it is (192.0.2.10 Exchange edge): mail servers.\n"
    "CSV: a header row with columns org,address,kind,description,requested_by,\n"
    "approved_by,expires, or the names members use (IP Address, IP, Host; Type; Server\n"
    "Name, Purpose, Notes: the description), in any case (org may be left out with --org;\n"
    "RFC 4180 quoting).  The kind defaults to mail-server and the description to the kind.\n"
    "--template prints a CSV file to fill in.\n"
    "JSON: {\"org\": H, \"servers\": [{\"address\", \"kind\", \"description\", ...}]}, or a\n"
    "whole registry document as `port25 export` writes it, which restores everything;\n"
    "its active organizations are held to the rules of org set (--no-servers for those\n"
    "without a valid permit).\n"
    "The format follows the extension or the content unless --format says.\n";

/* Every bad row of a server list, one line each, then what it came to. */
static int import_fail(struct cli *cli, int rc, const struct p25_import_result *res)
{
	char text[1536];

	if (res->nproblems > 1)
		for (size_t i = 0; i < res->nproblems; i++)
			cli_fail(EXIT_REFUSED, "%s",
			         cli_with_hint(res->problems[i].message, &res->problems[i].hint,
			                       text, sizeof text));
	return cli_service_fail(cli, rc);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"org", required_argument, NULL, 'o'},
	                                     {"format", required_argument, NULL, 'F'},
	                                     {"force", no_argument, NULL, 'f'},
	                                     {"dry-run", no_argument, NULL, 'n'},
	                                     {"no-servers", no_argument, NULL, 'N'},
	                                     {"template", no_argument, NULL, 'T'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_import_options opt = {0};
	struct p25_import_result res = {0};
	bool template = false;
	int c, rc;

	if (cli_wants_help(argc, argv, import_usage))
		return EXIT_OK;
	optind = 0;
	while ((c = next_option(cli, argc, argv, opts, import_usage)) != -1) {
		switch (c) {
		case 'o':
			opt.org = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "csv"))
				opt.format = P25_IMPORT_CSV;
			else if (!strcmp(optarg, "json"))
				opt.format = P25_IMPORT_JSON;
			else
				return cli_fail(EXIT_USAGE, "--format '%s': expected csv or json",
				                optarg);
			break;
		case 'f':
			opt.force = true;
			break;
		case 'n':
			opt.dry_run = true;
			break;
		case 'N':
			opt.no_servers = true;
			break;
		case 'T':
			template = true;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (template) {
		if ((rc = check_positionals(argc, argv, 0, import_usage)) != EXIT_OK)
			return rc;
		fputs(p25_import_template(), stdout);
		return EXIT_OK;
	}
	/* Restoring an exported registry into a new file is an import's job too. */
	cli->may_create = true;
	if ((rc = check_positionals(argc, argv, 1, import_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	opt.name = argv[optind];
	if ((rc = p25_service_import_file(cli->svc, &cli->auth, argv[optind], &opt, &res)) < 0)
		return import_fail(cli, rc, &res);
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "file", argv[optind],
		                      "dry_run", opt.dry_run, "organizations", (json_int_t)res.orgs,
		                      "prefixes", (json_int_t)res.prefixes, "contacts",
		                      (json_int_t)res.contacts, "permits", (json_int_t)res.permits,
		                      "requests", (json_int_t)res.requests);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%s %s: %zu organizations, %zu prefixes, %zu contacts, %zu permits, %zu "
		       "requests\n",
		       opt.dry_run ? "checked (nothing written)" : "imported", argv[optind],
		       res.orgs, res.prefixes, res.contacts, res.permits, res.requests);
	}
	return cli_followup(cli);
}

static const char export_usage[] =
    "usage: port25 export --json\n"
    "Write the whole registry as one JSON document (organizations with their prefixes,\n"
    "contacts and permits, then requests, then the audit history) in a stable order;\n"
    "`port25 import` reads it back into an empty registry, the audit records as they\n"
    "were.  For backups prefer `port25 backup`: the file itself, watch's summaries and\n"
    "alerts and the analyses included.\n";

int cmd_export(struct cli *cli, int argc, char **argv)
{
	json_t *doc;
	int rc;

	if (cli_wants_help(argc, argv, export_usage))
		return EXIT_OK;
	optind = 0;
	if ((rc = only_json_option(cli, argc, argv, export_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 0, export_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_export(cli->svc, &cli->auth, &doc)) < 0)
		return cli_service_fail(cli, rc);
	/* JSON is the only export format; --json is accepted for symmetry. */
	cli_print_json(doc);
	json_decref(doc);
	return EXIT_OK;
}

static const char audit_usage[] =
    "usage: port25 audit [--org HANDLE] [--since WHEN] [--actor NAME] [--kind KIND]\n"
    "                    [--limit N] [--json]\n"
    "Show the audit log, newest first (default: the last 50 records; --limit 0 for all):\n"
    "who changed what, when, and the organization and address each change concerns.\n"
    "--since: a time (2026-11-20, 2026-11-20T08:00:00Z) or a duration back from now (7d).\n"
    "--kind: org, prefix, contact, permit, request, import, user, token, notice, alert,\n"
    "or one change or action (permit-added, request-applied, token.revoke, login.failed,\n"
    "...).  --json includes each record's before and after.\n";

int cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"limit", required_argument, NULL, 'l'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"since", required_argument, NULL, 's'},
	                                     {"actor", required_argument, NULL, 'a'},
	                                     {"kind", required_argument, NULL, 'k'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	static const struct cli_column cols[] = {{"id", "ID"},         {"at", "AT"},
	                                         {"actor", "ACTOR"},   {"action", "ACTION"},
	                                         {"org", "ORG"},       {"address", "ADDRESS"},
	                                         {"object", "OBJECT"}, {NULL, NULL}};
	struct p25_audit_filter f = {.limit = 50};
	json_t *rows;
	char *end, err[200];
	long limit;
	int c, rc;

	if (cli_wants_help(argc, argv, audit_usage))
		return EXIT_OK;
	optind = 0;
	while ((c = next_option(cli, argc, argv, opts, audit_usage)) != -1) {
		switch (c) {
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (!*optarg || *end || limit < 0 || limit > 1000000000)
				return cli_fail(
				    EXIT_USAGE,
				    "--limit '%s': expected a number of records (0: all)", optarg);
			f.limit = (int)limit;
			break;
		case 'o':
			f.org = optarg;
			break;
		case 's':
			if ((rc = cli_check_date(cli, "--since", optarg)) != EXIT_OK)
				return rc;
			if (p25_since_parse(optarg, cli->now, &f.since, err, sizeof err) < 0)
				return cli_fail(EXIT_USAGE, "--since %s", err);
			break;
		case 'a':
			f.actor = optarg;
			break;
		case 'k':
			f.kind = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if ((rc = check_positionals(argc, argv, 0, audit_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_audit_query(cli->svc, &cli->auth, &f, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, cols);
	json_decref(rows);
	return EXIT_OK;
}

/* ---- backup, restore ---- */

static const char backup_usage[] =
    "usage: port25 backup FILE [--json]\n"
    "Copy the registry to FILE with SQLite's online backup API: one consistent snapshot\n"
    "while the registry is in use (the daemons may keep running), as a single file,\n"
    "mode 0600 (it holds contacts' personal data), its integrity checked, put in place\n"
    "only once whole.  `port25 restore FILE` brings it back.\n";

int cmd_backup(struct cli *cli, int argc, char **argv)
{
	int rc;

	if (cli_wants_help(argc, argv, backup_usage))
		return EXIT_OK;
	optind = 0;
	if ((rc = only_json_option(cli, argc, argv, backup_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, backup_usage)) != EXIT_OK ||
	    (rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_backup(cli->svc, &cli->auth, argv[optind])) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:s}", "registry", cli->db_path, "backup", argv[optind]);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("backed up %s to %s\n", cli->db_path, argv[optind]);
	}
	return EXIT_OK;
}

static const char restore_usage[] =
    "usage: port25 restore FILE [--json]\n"
    "Replace the registry's content with a backup's (port25 backup), after checking\n"
    "that FILE is a port25 registry, not of a newer schema than this port25 reads, and\n"
    "passes SQLite's integrity check; anything else is refused and nothing changes.  An\n"
    "older backup is migrated.  The restore is audited, and enforcement (sync --wait,\n"
    "--enforce) syncs the whole policy after it.  Take a backup of the registry first.\n"
    "What happened since the backup stays: API tokens revoked and accounts disabled\n"
    "stay so, notices sent are not sent again; every login (session) ends.\n";

int cmd_restore(struct cli *cli, int argc, char **argv)
{
	json_t *r = NULL;
	int rc;

	if (cli_wants_help(argc, argv, restore_usage))
		return EXIT_OK;
	optind = 0;
	if ((rc = only_json_option(cli, argc, argv, restore_usage)) != EXIT_OK ||
	    (rc = check_positionals(argc, argv, 1, restore_usage)) != EXIT_OK)
		return rc;
	/* Restoring onto a new machine: the registry file may not exist yet. */
	cli->may_create = true;
	if ((rc = open_or_fail(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_restore(cli->svc, &cli->auth, argv[optind], &r)) < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		cli_print_json(r);
	} else {
		printf("restored %s from %s: schema version %lld, %lld organizations, %lld permits, "
		       "%lld audit records\n",
		       cli->db_path, argv[optind],
		       (long long)json_integer_value(json_object_get(r, "schema_version")),
		       (long long)json_integer_value(json_object_get(r, "organizations")),
		       (long long)json_integer_value(json_object_get(r, "permits")),
		       (long long)json_integer_value(json_object_get(r, "audit_records")));
		printf("kept from since the backup: %lld tokens revoked, %lld accounts disabled, "
		       "%lld notices sent or settled; %lld logins ended\n",
		       (long long)json_integer_value(json_object_get(r, "tokens_revoked_since")),
		       (long long)json_integer_value(json_object_get(r, "accounts_disabled_since")),
		       (long long)json_integer_value(json_object_get(r, "notices_settled_since")),
		       (long long)json_integer_value(json_object_get(r, "sessions_ended")));
	}
	json_decref(r);
	return cli_followup(cli);
}
