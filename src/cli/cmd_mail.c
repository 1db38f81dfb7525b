/*
 * Mail with members on the command line: notify (the sender), notices (the
 * outbox), campaign (announcements) and verify-inbox (the LMTP receiver of
 * the verification address).  The logic is the library's (notify/,
 * service/mail.c): this file parses options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = {0};

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fputs("port25: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n", stderr);
	fputs(usage, stderr);
	return EXIT_USAGE;
}

/* The command's options, and the global ones after the command (cli_getopt). */
static int next_opt(struct cli *cli, int argc, char **argv, const struct option *opts,
                    const char *usage)
{
	int c;

	opterr = 0;
	c = cli_getopt(cli, argc, argv, "", opts);
	if (c == '?' || c == ':') {
		usage_error(usage, "unknown option or missing value: %s", argv[optind - 1]);
		return '?';
	}
	return c;
}

static int parse_id(const char *s, const char *what, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!*s || *end || errno || v <= 0)
		return cli_fail(EXIT_USAGE, "'%s' is not a %s id (a positive number)", s, what);
	*out = v;
	return EXIT_OK;
}

static int open_all(struct cli *cli)
{
	int rc = cli_notify_config(cli);

	return rc != EXIT_OK ? rc : cli_open_service(cli);
}

static void log_line(const char *line)
{
	fprintf(stderr, "port25 notify: %s\n", line);
	fflush(stderr);
}

/* ---- notify ---- */

static const char notify_usage[] =
    "usage: port25 notify [--once] [--json]\n"
    "Sends the queued notices through the relay (notify-relay in port25.conf), after\n"
    "queueing what time has made due (expiring variances, overdue requests, abuse\n"
    "reports of watch's alerts, campaign reminders).  Without --once it runs until\n"
    "SIGTERM, waking for every registry commit, due retry and notify-poll.\n"
    "  --once   one pass, then exit (cron)\n";

int cmd_notify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"once", no_argument, NULL, 'o'}, {"json", no_argument, NULL, 'j'}, {0}};
	struct p25_notify_stats st;
	bool once = false;
	char err[1200];
	int c, rc;

	if (cli_wants_help(argc, argv, notify_usage))
		return EXIT_OK;
	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, notify_usage)) != -1) {
		switch (c) {
		case 'o': once = true; break;
		case 'j': cli->json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(notify_usage, "unexpected argument '%s'", argv[optind]);
	if ((rc = open_all(cli)) != EXIT_OK)
		return rc;
	if (!cli->notify->enabled)
		return cli_fail(EXIT_REFUSED, "notices are off (notify = no in %s)", p25_conf_path());
	catch_signals();
	if (!once)
		log_line("started");
	/* PORT25_NOW sets the time of events (reminders, expiries); retries follow the clock. */
	if (p25_notify_run(cli->reg, cli->notify, getenv("PORT25_NOW") ? cli->now : 0, once,
	                   &stop_flag, log_line, &st, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "notify: %s", err);
	if (cli->json) {
		json_t *o = json_pack(
		    "{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, s:I}}", "sent", (json_int_t)st.sent,
		    "deferred", (json_int_t)st.retried, "failed", (json_int_t)st.failed,
		    "lost_claims", (json_int_t)st.lost_claims, "queued", "expiring",
		    (json_int_t)st.scan.expiring, "expired", (json_int_t)st.scan.expired, "overdue",
		    (json_int_t)st.scan.overdue, "abuse_reports", (json_int_t)st.scan.reports,
		    "reminders", (json_int_t)st.scan.reminders);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("notify: %zu sent, %zu deferred, %zu failed; queued %zu expiring, %zu expired, "
		       "%zu overdue, %zu abuse reports, %zu reminders\n",
		       st.sent, st.retried, st.failed, st.scan.expiring, st.scan.expired,
		       st.scan.overdue, st.scan.reports, st.scan.reminders);
	}
	return EXIT_OK;
}

/* ---- notices ---- */

static const char notices_usage[] =
    "usage: port25 notices list [--state S] [--org ORG] [--template T] [--limit N] [--json]\n"
    "       port25 notices show ID [--json]\n"
    "       port25 notices retry ID\n"
    "The outbox: every notice, its recipient and its delivery state (queued, sending,\n"
    "sent, failed, undeliverable, cancelled).  retry queues a failed notice again, or\n"
    "an undeliverable one to the contacts its organization has now.\n";

static int notices_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"state", required_argument, NULL, 's'},
	                                     {"org", required_argument, NULL, 'o'},
	                                     {"template", required_argument, NULL, 't'},
	                                     {"limit", required_argument, NULL, 'l'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	static const struct cli_column cols[] = {
	    {"id", "ID"},         {"state", "STATE"},         {"template", "TEMPLATE"},
	    {"org", "ORG"},       {"recipient", "RECIPIENT"}, {"reference", "REF"},
	    {"created", "QUEUED"}, {"attempts", "TRIES"},     {"last_error", "ERROR"},
	    {NULL, NULL}};
	struct p25_notice_filter f = {0};
	json_t *rows;
	char *end;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, notices_usage)) != -1) {
		switch (c) {
		case 's':
			if (p25_notice_state_parse(optarg, &f.state) < 0)
				return cli_fail(EXIT_USAGE,
				                "--state '%s': expected queued, sending, sent, failed, "
				                "undeliverable or cancelled",
				                optarg);
			f.by_state = true;
			break;
		case 'o': f.org = optarg; break;
		case 't': f.template = optarg; break;
		case 'l':
			f.limit = (int)strtol(optarg, &end, 10);
			if (!*optarg || *end || f.limit < 0)
				return cli_fail(EXIT_USAGE, "--limit '%s': expected a number", optarg);
			break;
		case 'j': cli->json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(notices_usage, "unexpected argument '%s'", argv[optind]);
	if ((rc = open_all(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_notice_list(cli->svc, &cli->auth, &f, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, cols);
	json_decref(rows);
	return EXIT_OK;
}

static int notices_one(struct cli *cli, int argc, char **argv, bool retry)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	json_t *out = NULL;
	int64_t id = 0;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, notices_usage)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		cli->json = true;
	}
	if (argc - optind != 1)
		return usage_error(notices_usage, "%s", argc - optind < 1 ? "missing notice id"
		                                                          : "one notice id only");
	if ((rc = parse_id(argv[optind], "notice", &id)) != EXIT_OK || (rc = open_all(cli)) != EXIT_OK)
		return rc;
	if (!retry) {
		if ((rc = p25_service_notice_show(cli->svc, &cli->auth, id, &out)) < 0)
			return cli_service_fail(cli, rc);
		cli_print_object(cli, out);
	} else {
		if ((rc = p25_service_notice_retry(cli->svc, &cli->auth, id, &out)) < 0)
			return cli_service_fail(cli, rc);
		if (cli->json) {
			json_t *o = json_pack("{s:I, s:O}", "id", (json_int_t)id, "queued", out);
			cli_print_json(o);
			json_decref(o);
		} else {
			printf("notice %" PRId64 ": queued as", id);
			for (size_t i = 0; i < json_array_size(out); i++)
				printf(" %" JSON_INTEGER_FORMAT,
				       json_integer_value(json_array_get(out, i)));
			printf("\n");
		}
	}
	json_decref(out);
	return EXIT_OK;
}

int cmd_notices(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return usage_error(notices_usage, "%s", "missing verb (list, show or retry)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(notices_usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "list"))
		return notices_list(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return notices_one(cli, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "retry"))
		return notices_one(cli, argc - 1, argv + 1, true);
	return usage_error(notices_usage, "unknown verb '%s'", argv[1]);
}

/* ---- campaign ---- */

static const char campaign_usage[] =
    "usage: port25 campaign start --template NAME --deadline DATE [--orgs A,B,...]\n"
    "                             [--reminders 14,7,1] [--json]\n"
    "       port25 campaign status [ID] [--json]\n"
    "       port25 campaign list [--json]\n"
    "start sends each selected organization's technical and security contacts the\n"
    "template (data/templates: security-change), with a personal reply address\n"
    "(verify-address with the org's token) or portal link.  A sign-up or server list\n"
    "(request submit) or a reply by mail answers it.  status lists the organizations\n"
    "that have not answered and the days left; reminders go out (port25 notify) at\n"
    "the configured days before the deadline to those only.  A DATE without a time is\n"
    "the end of that day in the operator's time zone (`timezone` in port25.conf).\n";

static int campaign_start(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"template", required_argument, NULL, 't'},
	                                     {"deadline", required_argument, NULL, 'd'},
	                                     {"orgs", required_argument, NULL, 'o'},
	                                     {"reminders", required_argument, NULL, 'r'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_campaign_spec spec = {0};
	const char *orgs_arg = NULL, *deadline = NULL;
	char *orgs_copy = NULL, *list[1024];
	char err[200], when[160];
	int64_t id;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, campaign_usage)) != -1) {
		switch (c) {
		case 't': spec.template = optarg; break;
		case 'd': deadline = optarg; break;
		case 'o': orgs_arg = optarg; break;
		case 'r': spec.reminders = optarg; break;
		case 'j': cli->json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(campaign_usage, "unexpected argument '%s'", argv[optind]);
	if (!spec.template || !deadline)
		return usage_error(campaign_usage, "%s", "--template and --deadline are required");
	/* A bare date is the end of that day in the operator's zone: the members have all of it. */
	if ((rc = cli_check_date(cli, "--deadline", deadline)) != EXIT_OK)
		return rc;
	if (p25_expiry_parse(deadline, cli->now, &spec.deadline, err, sizeof err) < 0)
		return cli_fail(EXIT_USAGE, "--deadline '%s': %s", deadline, err);
	if (spec.reminders) {
		for (const char *p = spec.reminders; *p; p++)
			if (!((*p >= '0' && *p <= '9') || *p == ','))
				return cli_fail(EXIT_USAGE,
				                "--reminders '%s': expected days before the deadline, "
				                "e.g. 14,7,1",
				                spec.reminders);
	}
	if (orgs_arg) {
		char *save = NULL;
		if (!(orgs_copy = strdup(orgs_arg)))
			return cli_fail(EXIT_SYSTEM, "out of memory");
		for (char *t = strtok_r(orgs_copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (spec.norgs == sizeof list / sizeof list[0]) {
				free(orgs_copy);
				return cli_fail(EXIT_USAGE, "--orgs: more than 1024 organizations");
			}
			list[spec.norgs++] = t;
		}
		if (spec.norgs == 0) {
			free(orgs_copy);
			return cli_fail(EXIT_USAGE, "--orgs '%s': no organization named", orgs_arg);
		}
		spec.orgs = (const char *const *)list;
	}
	if ((rc = open_all(cli)) != EXIT_OK) {
		free(orgs_copy);
		return rc;
	}
	rc = p25_service_campaign_start(cli->svc, &cli->auth, &spec, &id);
	free(orgs_copy);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	{
		json_t *st = NULL;
		if (p25_service_campaign_status(cli->svc, &cli->auth, id, &st) == 0 && cli->json)
			cli_print_json(st);
		else
			printf("campaign %" PRId64 " started: %zu organizations, deadline %s\n", id,
			       json_array_size(json_object_get(st, "orgs")),
			       cli_instant(cli, deadline, spec.deadline, false, when, sizeof when));
		json_decref(st);
	}
	return EXIT_OK;
}

static int campaign_status(struct cli *cli, int argc, char **argv, bool all)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
	json_t *out = NULL;
	int64_t id = 0;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, campaign_usage)) != -1) {
		if (c != 'j')
			return EXIT_USAGE;
		cli->json = true;
	}
	if (argc - optind > (all ? 0 : 1))
		return usage_error(campaign_usage, "unexpected argument '%s'", argv[argc - 1]);
	if (!all && argc - optind == 1 && (rc = parse_id(argv[optind], "campaign", &id)) != EXIT_OK)
		return rc;
	if ((rc = open_all(cli)) != EXIT_OK)
		return rc;
	rc = all ? p25_service_campaign_list(cli->svc, &cli->auth, &out)
	         : p25_service_campaign_status(cli->svc, &cli->auth, id, &out);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		cli_print_json(out);
	} else {
		json_t *list = all ? out : json_pack("[O]", out);
		for (size_t i = 0; i < json_array_size(list); i++) {
			json_t *k = json_array_get(list, i), *pend = json_object_get(k, "not_responded");
			printf("campaign %" JSON_INTEGER_FORMAT " (%s): deadline %s, %" JSON_INTEGER_FORMAT
			       " days remaining; %zu of %zu organizations have not responded\n",
			       json_integer_value(json_object_get(k, "id")),
			       json_string_value(json_object_get(k, "template")),
			       json_string_value(json_object_get(k, "deadline")),
			       json_integer_value(json_object_get(k, "days_remaining")),
			       json_array_size(pend), json_array_size(json_object_get(k, "orgs")));
			if (!all)
				for (size_t j = 0; j < json_array_size(pend); j++)
					printf("  not responded: %s\n",
					       json_string_value(json_array_get(pend, j)));
		}
		if (!all)
			json_decref(list);
	}
	json_decref(out);
	return EXIT_OK;
}

int cmd_campaign(struct cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return usage_error(campaign_usage, "%s", "missing verb (start, status or list)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(campaign_usage, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "start"))
		return campaign_start(cli, argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return campaign_status(cli, argc - 1, argv + 1, false);
	if (!strcmp(argv[1], "list"))
		return campaign_status(cli, argc - 1, argv + 1, true);
	return usage_error(campaign_usage, "unknown verb '%s'", argv[1]);
}

/* ---- verify-inbox ---- */

static const char inbox_usage[] =
    "usage: port25 verify-inbox [--listen unix:PATH|ADDRESS:PORT] [--mx HOST]\n"
    "       port25 verify-inbox deliver --rcpt ADDRESS [--from ADDRESS] < MESSAGE\n"
    "       port25 verify-inbox list [--limit N] [--json]\n"
    "The receiver of the verification address: Postfix (the operator's MX) hands\n"
    "it the messages members send to verify+TOKEN@ over LMTP (verify-inbox-listen,\n"
    "a unix socket or loopback port).  The connecting address is read from the\n"
    "Received header the MX itself wrote (verify-inbox-mx names it), never from\n"
    "headers the sender wrote; with the token it verifies the applied request whose\n"
    "server sent it.  Mail from an address the policy blocks is a policy failure,\n"
    "reported to the operator.  deliver: one message from standard input (a pipe\n"
    "transport, or a test).  list: what was received and its outcome.\n";

struct inbox_ctx {
	struct cli *cli;
	bool quiet;
};

static int inbox_message(void *ctx, const char *mail_from, const char *const *rcpts,
                         size_t nrcpts, const char *data, size_t len, char *reply,
                         size_t replylen)
{
	struct inbox_ctx *ic = ctx;
	struct cli *cli = ic->cli;

	snprintf(reply, replylen, "ok");
	for (size_t i = 0; i < nrcpts; i++) {
		struct p25_inbound_result r;
		struct p25_auth auth = cli->auth;
		/* The daemon's clock moves: each message at its own time. */
		auth.now = getenv("PORT25_NOW") ? cli->now : p25_time_now();
		int rc = p25_service_inbound(cli->svc, &auth, mail_from, rcpts[i], data, len, &r);
		if (rc < 0) {
			snprintf(reply, replylen, "%.300s", p25_service_error(cli->svc));
			fprintf(stderr, "port25 verify-inbox: %s: %s\n", rcpts[i],
			        p25_service_error(cli->svc));
			return -1;
		}
		if (!ic->quiet) {
			fprintf(stderr, "port25 verify-inbox: %s from %s: %s: %s\n", rcpts[i],
			        r.connecting[0] ? r.connecting : "?", r.outcome, r.detail);
			fflush(stderr);
		}
		snprintf(reply, replylen, "%s", r.outcome);
	}
	return 0;
}

static void inbox_ready(const char *where)
{
	fprintf(stderr, "port25 verify-inbox: listening on %s\n", where);
	fflush(stderr);
}

static int inbox_list(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"limit", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'}, {0}};
	static const struct cli_column cols[] = {
	    {"id", "ID"},           {"received", "RECEIVED"}, {"connecting", "FROM-ADDRESS"},
	    {"outcome", "OUTCOME"}, {"org", "ORG"},           {"request_id", "REQUEST"},
	    {"detail", "DETAIL"},   {NULL, NULL}};
	long limit = 50;
	json_t *rows;
	char *end;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, inbox_usage)) != -1) {
		switch (c) {
		case 'l':
			limit = strtol(optarg, &end, 10);
			if (!*optarg || *end || limit < 0)
				return cli_fail(EXIT_USAGE, "--limit '%s': expected a number", optarg);
			break;
		case 'j': cli->json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(inbox_usage, "unexpected argument '%s'", argv[optind]);
	if ((rc = open_all(cli)) != EXIT_OK)
		return rc;
	if ((rc = p25_service_inbound_list(cli->svc, &cli->auth, (int)limit, &rows)) < 0)
		return cli_service_fail(cli, rc);
	cli_print_rows(cli, rows, cols);
	json_decref(rows);
	return EXIT_OK;
}

static int inbox_deliver(struct cli *cli, int argc, char **argv, struct p25_notify_config *cfg)
{
	static const struct option opts[] = {{"rcpt", required_argument, NULL, 'r'},
	                                     {"from", required_argument, NULL, 'f'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {0}};
	struct p25_inbound_result r;
	const char *rcpt = NULL, *from = "";
	struct p25_buf b;
	char chunk[8192];
	size_t n;
	int c, rc;

	optind = 0;
	while ((c = next_opt(cli, argc, argv, opts, inbox_usage)) != -1) {
		switch (c) {
		case 'r': rcpt = optarg; break;
		case 'f': from = optarg; break;
		case 'j': cli->json = true; break;
		default: return EXIT_USAGE;
		}
	}
	if (!rcpt)
		return usage_error(inbox_usage, "%s", "--rcpt is required");
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	p25_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (b.len + n > (size_t)cfg->inbox_max) {
			p25_buf_free(&b);
			return cli_fail(EXIT_REFUSED, "the message is larger than %lld octets",
			                (long long)cfg->inbox_max);
		}
		p25_buf_put(&b, chunk, n);
	}
	rc = p25_service_inbound(cli->svc, &cli->auth, from, rcpt, b.data ? b.data : "", b.len, &r);
	p25_buf_free(&b);
	if (rc < 0)
		return cli_service_fail(cli, rc);
	if (cli->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "outcome", r.outcome, "detail",
		                      r.detail, "connecting", r.connecting, "org", r.org, "request_id",
		                      (json_int_t)r.request_id);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%s: %s\n", r.outcome, r.detail);
	}
	return EXIT_OK;
}

int cmd_verify_inbox(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
	                                     {"mx", required_argument, NULL, 'm'},
	                                     {0}};
	static struct p25_notify_config cfg;
	struct inbox_ctx ic = {.cli = cli};
	const char *listen = NULL, *mx = NULL;
	char err[1200];
	int c, rc;

	if (cli_wants_help(argc, argv, inbox_usage))
		return EXIT_OK;
	if ((rc = cli_notify_config(cli)) != EXIT_OK)
		return rc;
	/* --mx and --listen override the configuration: a copy the service sees. */
	cfg = *cli->notify;
	cli->notify = &cfg;
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return inbox_list(cli, argc - 1, argv + 1);
	optind = 0;
	if (argc >= 2 && !strcmp(argv[1], "deliver")) {
		/* deliver takes --mx too: parse it before its own options. */
		for (int i = 2; i + 1 < argc; i++)
			if (!strcmp(argv[i], "--mx"))
				snprintf(cfg.inbox_mx, sizeof cfg.inbox_mx, "%s", argv[i + 1]);
		int k = 1;
		char *rest[64];
		for (int i = 1; i < argc && k < 63; i++) {
			if (!strcmp(argv[i], "--mx") && i + 1 < argc) {
				i++;
				continue;
			}
			rest[k - 1] = argv[i];
			k++;
		}
		rest[k - 1] = NULL;
		return inbox_deliver(cli, k - 1, rest, &cfg);
	}
	while ((c = next_opt(cli, argc, argv, opts, inbox_usage)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'm': mx = optarg; break;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(inbox_usage, "unexpected argument '%s'", argv[optind]);
	if (mx)
		snprintf(cfg.inbox_mx, sizeof cfg.inbox_mx, "%s", mx);
	if (listen)
		snprintf(cfg.inbox_listen, sizeof cfg.inbox_listen, "%s", listen);
	if (!cfg.inbox_mx[0])
		return cli_fail(EXIT_USAGE,
		                "verify-inbox: name the operator's MX whose Received header is "
		                "trusted (verify-inbox-mx in %s, or --mx)",
		                p25_conf_path());
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	cli->auth.actor = cli->actor;
	catch_signals();
	if (p25_lmtp_serve(cfg.inbox_listen, (size_t)cfg.inbox_max, inbox_message, &ic, &stop_flag,
	                   inbox_ready, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "%s", err);
	return EXIT_OK;
}
