/*
 * `port25 watch` (the blocked-attempt monitor and its host summaries) and
 * `port25 alerts` (what it raised, and turning a missed server into a
 * permit request).  The daemon and the store live in libport25/watch.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "watch/watch.h"

#define DEFAULT_CONFIG "/etc/port25/port25.conf"

static const char watch_usage[] =
	"usage: port25 watch [run] [OPTIONS]        the blocked-attempt monitor (a daemon)\n"
	"       port25 watch hosts [--org H] [--limit N] [--json]   per-host summaries\n"
	"\n"
	"Reads the kernel's log of blocked SMTP attempts (NFLOG) and router ACL-deny\n"
	"syslog lines, keeps per-host summaries in bounded memory, writes them to the\n"
	"registry every flush interval and at SIGTERM, and raises alerts (port25 alerts).\n"
	"\n"
	"options (override " DEFAULT_CONFIG "):\n"
	"  --config FILE          configuration file (default " DEFAULT_CONFIG ", if present)\n"
	"  --nflog-group N|off    NFLOG group of port25's log statements (default 25)\n"
	"  --syslog-listen A:P    receive syslog datagrams, e.g. 0.0.0.0:514 or [::]:514\n"
	"  --syslog-allowed-senders LIST\n"
	"                         routers whose datagrams are believed, e.g.\n"
	"                         192.0.2.1,2001:db8::/64 (default: loopback only; UDP\n"
	"                         syslog is unauthenticated, others are counted and dropped)\n"
	"  --syslog-file FILE     follow a syslog file from its end (tail -F)\n"
	"  --from-start           ... from its beginning\n"
	"  --once                 read the file to its end, flush and exit\n"
	"  --flush-interval SECS  write summaries this often (default 60)\n"
	"  --max-memory SIZE      memory for the host table, e.g. 64M (default)\n"
	"  --set KEY=VALUE        any configuration setting (thresholds, syslog-rcvbuf,\n"
	"                         syslog-queue: see docs/watch.md)\n"
	"  --keep-privileges      do not drop capabilities after opening the sources\n"
	"The registry is --db, else the configuration's `registry`.\n";

static const char alerts_usage[] =
	"usage: port25 alerts [list] [--kind missed-server|infected] [--org H] [--status S] [--json]\n"
	"       port25 alerts show ID [--json]\n"
	"       port25 alerts draft ID      a missed-server alert becomes a draft add-permit request\n"
	"       port25 alerts dismiss ID\n"
	"       port25 alerts expire [--quiet DURATION|off] [--config FILE] [--json]\n"
	"\n"
	"Alerts raised by port25 watch: possible missed servers (a blocked host retrying\n"
	"a few destinations on a mail queue's schedule) and possible infected hosts\n"
	"(fan-out to many destinations, bursts), each with its evidence.\n"
	"Status S is open, drafted, dismissed or resolved.  An alert resolves when a valid\n"
	"permit covers its host (open or drafted: \"permitted\") or when its host has not been\n"
	"blocked for alert-quiet (open: \"quiet\", default 7d).  watch does this at every flush;\n"
	"`alerts expire` does it now (or at $PORT25_NOW), reading alert-quiet from the\n"
	"configuration (default " DEFAULT_CONFIG ", if present).\n";

static int watch_hosts(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"org", required_argument, NULL, 'o'},
		{"limit", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	static const struct cli_column cols[] = {
		{"host", "HOST"},	    {"direction", "DIR"},	  {"org", "ORG"},
		{"attempts", "ATTEMPTS"},   {"destinations", "DESTS"},	  {"peak_per_minute", "PEAK/MIN"},
		{"first_seen", "FIRST"},    {"last_seen", "LAST"},	  {NULL, NULL},
	};
	const char *org = NULL;
	int64_t limit = 0;
	json_t *rows;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': org = optarg; break;
		case 'l':
			if (cli_parse_id(optarg, NULL, &limit) != EXIT_OK || limit > INT32_MAX)
				return cli_usage_error(watch_usage,
						       "watch hosts: bad --limit %s", optarg);
			break;
		case 'j': cli->json = true; break;
		default: return cli_usage_error(watch_usage,
						"watch hosts: unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(watch_usage, "watch hosts: unexpected %s", argv[optind]);
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_host_summary_list(cli->reg, org, (int)limit, &rows)) < 0)
		return cli_registry_fail(cli, rc);
	cli_print_rows(cli, rows, cols);
	json_decref(rows);
	return EXIT_OK;
}

static int watch_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"nflog-group", required_argument, NULL, 'g'},
		{"syslog-listen", required_argument, NULL, 'l'},
		{"syslog-allowed-senders", required_argument, NULL, 'A'},
		{"syslog-file", required_argument, NULL, 'f'},
		{"from-start", no_argument, NULL, 'F'},
		{"once", no_argument, NULL, '1'},
		{"flush-interval", required_argument, NULL, 'i'},
		{"max-memory", required_argument, NULL, 'm'},
		{"set", required_argument, NULL, 's'},
		{"keep-privileges", no_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	struct p25_watch_config cfg;
	const char *config = NULL;
	char err[1024];
	int c, rc;
	struct {
		const char *key, *value;
	} over[64];
	size_t nover = 0;

	p25_watch_config_default(&cfg);
	opterr = 0;
	/* Options are gathered first: the file is read before they override it. */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		const char *key = NULL;
		switch (c) {
		case 'c': config = optarg; continue;
		case 'g': key = "nflog-group"; break;
		case 'l': key = "syslog-listen"; break;
		case 'A': key = "syslog-allowed-senders"; break;
		case 'f': key = "syslog-file"; break;
		case 'F': cfg.from_start = true; continue;
		case '1': cfg.once = true; continue;
		case 'i': key = "flush-interval"; break;
		case 'm': key = "max-memory"; break;
		case 'K': key = "drop-privileges"; break;
		case 's': {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg)
				return cli_usage_error(watch_usage,
						       "watch: --set wants KEY=VALUE, not %s", optarg);
			*eq = '\0';
			key = optarg;
			optarg = eq + 1;
			break;
		}
		default: return cli_usage_error(watch_usage,
						"watch: unknown option %s", argv[optind - 1]);
		}
		if (nover == sizeof over / sizeof over[0])
			return cli_usage_error(watch_usage, "watch: too many options");
		over[nover].key = key;
		over[nover++].value = c == 'K' ? "no" : optarg;
	}
	if (optind < argc)
		return cli_usage_error(watch_usage, "watch: unexpected %s", argv[optind]);
	rc = p25_watch_config_load(&cfg, config ? config : DEFAULT_CONFIG, config != NULL, err,
				   sizeof err);
	if (rc < 0)
		return cli_fail(EXIT_USAGE, "%s", err);
	if (rc > 0)
		cli_warn("%s", err);
	for (size_t i = 0; i < nover; i++)
		if (p25_watch_config_set(&cfg, over[i].key, over[i].value, err, sizeof err) < 0)
			return cli_usage_error(watch_usage, "watch: %s", err);
	/* An explicit --db or $PORT25_DB wins over the configuration's registry. */
	if (cli->db_explicit) {
		if (strlen(cli->db_path) >= sizeof cfg.registry)
			return cli_fail(EXIT_USAGE, "--db: path too long");
		strcpy(cfg.registry, cli->db_path);
	}
	if (cfg.once && !cfg.syslog_file[0])
		return cli_usage_error(watch_usage, "watch: --once needs --syslog-file");
	if (cfg.once)
		cfg.nflog_group = -1;
	if (p25_watch_config_check(&cfg, err, sizeof err) < 0)
		return cli_usage_error(watch_usage, "watch: %s", err);
	/* Like every command but init: a mistyped path must not start an empty registry. */
	if (access(cfg.registry, F_OK) != 0)
		return cli_fail(EXIT_SYSTEM, "no registry at %s (create it with: port25 --db %s init)",
				cfg.registry, cfg.registry);
	if (p25_watch_run(&cfg, cli->actor, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "watch: %s", err);
	return EXIT_OK;
}

int cmd_watch(struct cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv, watch_usage))
		return EXIT_OK;
	if (argc >= 2 && strcmp(argv[1], "hosts") == 0) {
		optind = 0;
		return watch_hosts(cli, argc - 1, argv + 1);
	}
	if (argc >= 2 && strcmp(argv[1], "run") == 0) {
		argc--;
		argv++;
	}
	optind = 0;
	return watch_run(cli, argc, argv);
}

static int alerts_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"kind", required_argument, NULL, 'k'},
		{"org", required_argument, NULL, 'o'},
		{"status", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	static const struct cli_column cols[] = {
		{"id", "ID"},	      {"kind", "KIND"},	    {"host", "HOST"},
		{"org", "ORG"},	      {"status", "STATUS"}, {"updated", "UPDATED"},
		{"reason", "EVIDENCE"}, {NULL, NULL},
	};
	/* Resolved alerts: when and why instead of the last update. */
	static const struct cli_column resolved_cols[] = {
		{"id", "ID"},	{"kind", "KIND"},	       {"host", "HOST"},
		{"org", "ORG"}, {"resolved_at", "RESOLVED"},   {"resolved_reason", "WHY"},
		{"reason", "EVIDENCE"}, {NULL, NULL},
	};
	struct p25_alert_filter f = {0};
	json_t *rows;
	int c, rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (p25_alert_kind_parse(optarg, &f.kind) < 0)
				return cli_usage_error(
				    alerts_usage, "alerts: --kind is missed-server or infected, not %s",
				    optarg);
			break;
		case 'o': f.org = optarg; break;
		case 's':
			if (strcmp(optarg, "open") && strcmp(optarg, "drafted") &&
			    strcmp(optarg, "dismissed") && strcmp(optarg, "resolved"))
				return cli_usage_error(alerts_usage,
						       "alerts: --status is open, drafted, dismissed or "
						       "resolved, not %s",
						       optarg);
			f.status = optarg;
			break;
		case 'j': cli->json = true; break;
		default: return cli_usage_error(alerts_usage,
						"alerts: unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(alerts_usage, "alerts: unexpected %s", argv[optind]);
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_alert_list(cli->reg, &f, &rows)) < 0)
		return cli_registry_fail(cli, rc);
	cli_print_rows(cli, rows, f.status && !strcmp(f.status, "resolved") ? resolved_cols : cols);
	json_decref(rows);
	return EXIT_OK;
}

/* show, draft and dismiss: one alert by id. */
static int alerts_one(struct cli *cli, int argc, char **argv)
{
	struct p25_actor who = {.name = cli->actor, .now = cli->now};
	const char *verb = argv[0];
	int64_t id, req;
	json_t *obj;
	int rc, i;

	id = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			cli->json = true;
		else if (id == 0 && cli_parse_id(argv[i], NULL, &id) == EXIT_OK)
			continue;
		else
			return cli_usage_error(alerts_usage,
					       "alerts: not an alert id: %s", argv[i]);
	}
	if (id == 0)
		return cli_usage_error(alerts_usage, "alerts: want an alert ID after %s", verb);
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	if (!strcmp(verb, "show")) {
		if ((rc = p25_alert_show(cli->reg, id, &obj)) < 0)
			return cli_registry_fail(cli, rc);
		cli_print_object(cli, obj);
		json_decref(obj);
		return EXIT_OK;
	}
	if (!strcmp(verb, "draft")) {
		if ((rc = p25_alert_draft(cli->reg, &who, id, &req)) < 0)
			return cli_registry_fail(cli, rc);
		if (cli->json) {
			obj = json_pack("{s:I, s:I, s:s}", "alert", (json_int_t)id, "request",
					(json_int_t)req, "status", "submitted");
			cli_print_json(obj);
			json_decref(obj);
		} else {
			printf("alert %" PRId64 " drafted as add-permit request %" PRId64
			       " (review: port25 request show %" PRId64 ")\n",
			       id, req, req);
		}
		return EXIT_OK;
	}
	if ((rc = p25_alert_dismiss(cli->reg, &who, id)) < 0)
		return cli_registry_fail(cli, rc);
	if (!cli->json)
		printf("alert %" PRId64 " dismissed\n", id);
	return EXIT_OK;
}

/* What watch resolves at each flush, now: for installations without the daemon. */
static int alerts_expire(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{"quiet", required_argument, NULL, 'q'},
		{"config", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	struct p25_actor who = {.name = cli->actor, .now = cli->now};
	struct p25_watch_config cfg;
	const char *config = NULL, *quiet = NULL;
	size_t permitted, quieted, i;
	char err[1024];
	json_t *resolved, *r;
	int c, rc;

	p25_watch_config_default(&cfg);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = optarg; break;
		case 'c': config = optarg; break;
		case 'j': cli->json = true; break;
		default:
			return cli_usage_error(alerts_usage,
					       "alerts expire: unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(alerts_usage, "alerts expire: unexpected %s", argv[optind]);
	rc = p25_watch_config_load(&cfg, config ? config : DEFAULT_CONFIG, config != NULL, err,
				   sizeof err);
	if (rc < 0)
		return cli_fail(EXIT_USAGE, "%s", err);
	if (rc > 0)
		cli_warn("%s", err);
	if (quiet && p25_watch_config_set(&cfg, "alert-quiet", quiet, err, sizeof err) < 0)
		return cli_usage_error(alerts_usage, "alerts expire: --quiet: %s", err);
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	rc = p25_alert_expire(cli->reg, &who, cfg.thresholds.alert_quiet, &permitted, &quieted,
			      &resolved);
	if (rc < 0)
		return cli_registry_fail(cli, rc);
	if (cli->json) {
		json_t *o = json_pack("{s:I, s:I, s:o}", "permitted", (json_int_t)permitted,
				      "quiet", (json_int_t)quieted, "resolved", resolved);
		cli_print_json(o);
		json_decref(o);
		return EXIT_OK;
	}
	json_array_foreach(resolved, i, r)
	{
		json_t *permit = json_object_get(r, "permit_id");
		printf("alert %" JSON_INTEGER_FORMAT " (%s %s) resolved: %s",
		       json_integer_value(json_object_get(r, "id")),
		       json_string_value(json_object_get(r, "kind")),
		       json_string_value(json_object_get(r, "host")),
		       json_string_value(json_object_get(r, "resolved_reason")));
		if (json_is_integer(permit))
			printf(" by permit %" JSON_INTEGER_FORMAT "\n", json_integer_value(permit));
		else
			printf(", no blocked attempt since %s\n",
			       json_is_string(json_object_get(r, "last_seen"))
				   ? json_string_value(json_object_get(r, "last_seen"))
				   : "never");
	}
	printf("%zu alert%s resolved (%zu permitted, %zu quiet)\n", permitted + quieted,
	       permitted + quieted == 1 ? "" : "s", permitted, quieted);
	json_decref(resolved);
	return EXIT_OK;
}

int cmd_alerts(struct cli *cli, int argc, char **argv)
{
	if (cli_wants_help(argc, argv, alerts_usage))
		return EXIT_OK;
	if (argc >= 2 && !strcmp(argv[1], "expire")) {
		optind = 0;
		return alerts_expire(cli, argc - 1, argv + 1);
	}
	if (argc >= 2 && (!strcmp(argv[1], "show") || !strcmp(argv[1], "draft") ||
			  !strcmp(argv[1], "dismiss")))
		return alerts_one(cli, argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list")) {
		argc--;
		argv++;
	}
	optind = 0;
	return alerts_list(cli, argc, argv);
}
