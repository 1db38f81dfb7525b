/*
 * port25: the command line.  Global options come before the subcommand;
 * each subcommand parses its own.  All logic lives in libport25.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util/conf.h"

static const char usage[] =
	"usage: port25 [--db PATH] [--actor NAME] [--json] [--enforce|--no-enforce] COMMAND [ARGS]\n"
	"\n"
	"Registry of member organizations and their permitted mail senders, and the\n"
	"policy that blocks TCP port 25 for every other host in their space.\n"
	"\n"
	"commands:\n"
	"  init                     create or migrate the registry\n"
	"  org      add|list|show|set|remove     organizations, their enrollment and scheduled\n"
	"                           activation (set --enrollment active --at WHEN, list --upcoming)\n"
	"  prefix   add|list|remove              an organization's address space\n"
	"  contact  add|list|remove              security and other contacts\n"
	"  permit   add|list|show|set|remove     permitted senders and variances\n"
	"  request  submit|list|show|approve|reject|apply|verify|cancel   sign-up and variance requests\n"
	"  import   FILE            bulk import of a server list (CSV, a list of addresses or JSON),\n"
	"                           all or nothing, every bad row named; --template prints a form\n"
	"  export   --json          the whole registry as one JSON document, with its audit history\n"
	"  backup   FILE            a consistent copy of the registry, while it is in use\n"
	"  restore  FILE            bring a backup back, after checking it\n"
	"  audit                    every change: who, when, which organization and address\n"
	"  explain  ADDRESS         why an address is or is not blocked, both directions\n"
	"  compile  --target T      generate nftables, iptables, cisco-ios, junos or pf config\n"
	"                           (--org, --log, --diff PREVIOUS for a change ticket)\n"
	"  enforce  apply|sync|status|flush      the policy in this gateway's kernel (sync --wait:\n"
	"                           the daemon that follows the registry, expiries and activations)\n"
	"  analyze  CAPTURE...      which hosts speak SMTP: servers to register, suspected bots\n"
	"  collect  --listen A:P    the same from NetFlow/IPFIX received live\n"
	"  watch    [hosts]         blocked-attempt monitor (daemon: NFLOG, router syslog); host summaries\n"
	"  alerts   [show|draft|dismiss|expire]  possible missed servers and infected hosts\n"
	"  verify   [ADDRESS...]    check permitted servers still deliver (policy, --mx test message, 465/587)\n"
	"  serve    [--listen A:P]  the HTTP API (/api/v1) for operators, members and auditors\n"
	"  user     add|list|show|set|remove   accounts of the HTTP API, bound to organizations\n"
	"  token    add|list|revoke            API tokens (read-only, expiring, source-bound)\n"
	"  notify   [--once]        send the queued notices through the relay (daemon, or once for cron)\n"
	"  notices  list|show|retry the outbox: every notice and its delivery state\n"
	"  campaign start|status|list  announce to members by template, track who answered, remind\n"
	"  verify-inbox [list|deliver]  LMTP receiver of the verification address (members' test messages)\n"
	"\n"
	"options (before or after the command):\n"
	"  --db PATH      registry file (default: $PORT25_DB, else `registry` in\n"
	"                 /etc/port25/port25.conf, else /var/lib/port25/port25.db)\n"
	"  --actor NAME   who is acting, for the audit log (default: $PORT25_ACTOR, $USER)\n"
	"  --json         machine-readable output\n"
	"  --enforce      registry changes take effect in this gateway's kernel at once\n"
	"                 (also PORT25_ENFORCE=1, or enforce = yes in /etc/port25/port25.conf)\n"
	"\n"
	"environment: PORT25_NOW=2026-11-23T10:00:00Z evaluates the policy at that time;\n"
	"PORT25_CONFIG names another configuration file than /etc/port25/port25.conf.\n"
	"Dates without a time (--expires 2026-12-31) are read in the operator's time zone,\n"
	"`timezone` in port25.conf (default UTC); every command shows the instant in UTC.\n"
	"exit codes: 0 ok, 1 refused (bad input, conflict, not found), 2 usage, 3 system error;\n"
	"            enforce status also 4 (differs from the registry), 5 (not loaded).\n"
	"`port25 COMMAND --help` describes each command.\n";

struct command {
	const char *name;
	int (*run)(struct cli *, int, char **);
};

static const struct command commands[] = {
	{"init", cmd_init},	  {"org", cmd_org},	    {"prefix", cmd_prefix},
	{"contact", cmd_contact}, {"permit", cmd_permit},   {"request", cmd_request},
	{"import", cmd_import},	  {"export", cmd_export},   {"audit", cmd_audit},
	{"backup", cmd_backup},	  {"restore", cmd_restore},
	{"explain", cmd_explain}, {"compile", cmd_compile},
	{"enforce", cmd_enforce},
	{"analyze", cmd_analyze}, {"collect", cmd_collect},
	{"verify", cmd_verify},
	{"watch", cmd_watch},	  {"alerts", cmd_alerts},
	{"user", cmd_user},	  {"token", cmd_token},     {"serve", cmd_serve},
	{"notify", cmd_notify},	  {"notices", cmd_notices},
	{"campaign", cmd_campaign}, {"verify-inbox", cmd_verify_inbox},
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"db", required_argument, NULL, 'd'},
		{"actor", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"enforce", no_argument, NULL, 'E'},
		{"no-enforce", no_argument, NULL, 'N'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli = {0};
	const char *now;
	int c, rc;

	clock_gettime(CLOCK_MONOTONIC, &cli.started);
	cli.db_path = getenv("PORT25_DB");
	cli.actor = getenv("PORT25_ACTOR");
	if (!cli.actor || !*cli.actor)
		cli.actor = getenv("USER");
	if (!cli.actor || !*cli.actor)
		cli.actor = "operator";
	/* "+" stops at the subcommand, whose options are its own. */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 'd': cli.db_path = optarg; break;
		case 'a': cli.actor = optarg; break;
		case 'j': cli.json = true; break;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case 'V': puts("port25 0.1"); return EXIT_OK;
		case 'E': cli.enforce = 1; break;
		case 'N': cli.enforce = -1; break;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (cli.db_path && *cli.db_path) {
		cli.db_explicit = true;
	} else {
		/* Root or not, whatever the directory: the registry the units load. */
		static char path[4096], why[4096 + 160];
		if (p25_conf_registry_path(path, sizeof path, why, sizeof why) < 0) {
			cli.db_error = why;
			cli.db_path = P25_REGISTRY_PATH;
		} else {
			cli.db_path = path;
		}
	}
	now = getenv("PORT25_NOW");
	if (now && *now) {
		char err[160];
		if (p25_time_parse(now, &cli.now, err, sizeof err) < 0)
			return cli_fail(EXIT_USAGE, "PORT25_NOW: %s", err);
	} else {
		cli.now = p25_time_now();
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			static char why[600];
			/* The operator's zone, for dates typed without a time; a bad one is said, not fatal. */
			if (p25_tz_from_conf(p25_conf_path(), &cli.tz, why, sizeof why) < 0) {
				cli.tz_error = why;
				cli_warn("%s; dates without a time are refused until it is fixed", why);
			}
			p25_time_set_local_zone(cli.tz);
			optind = 0; /* glibc: restart scanning for the subcommand */
			rc = commands[i].run(&cli, argc, argv);
			p25_service_close(cli.svc);
			if (cli.reg)
				p25_registry_close(cli.reg);
			p25_time_set_local_zone(NULL);
			p25_tz_free(cli.tz);
			return rc;
		}
	}
	if (strcmp(argv[0], "help") == 0) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	fprintf(stderr, "port25: unknown command '%s' (see port25 --help)\n", argv[0]);
	return EXIT_USAGE;
}
