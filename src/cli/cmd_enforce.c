/* port25 enforce: the registry's policy in this gateway's kernel, table inet port25 only. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "enforce/enforce.h"
#include "enforce/follow.h"

/*
 * enforce status, for monitoring (Nagios/Icinga-style checks, systemd): the
 * state in the exit code, beyond cli.h's 0-3 (3 still: the kernel or the
 * registry could not be read).
 */
enum {
	EXIT_STATUS_DIFFERS = 4,    /* a table is loaded, not the registry's policy now */
	EXIT_STATUS_NOT_LOADED = 5, /* no table inet port25 */
};

static const char enforce_usage[] =
	"usage: port25 enforce apply [--dry-run] [--nflog-group N]\n"
	"       port25 enforce sync [--dry-run] [--nflog-group N]\n"
	"       port25 enforce sync --wait [--interval SECONDS] [--nflog-group N]\n"
	"       port25 enforce status [--json]\n"
	"       port25 enforce flush\n"
	"\n"
	"--dry-run (apply, sync): send nothing; name the organizations and addresses that\n"
	"        would change against what the kernel holds\n"
	"apply   load the policy at the current time (or $PORT25_NOW) into the kernel as\n"
	"        table inet port25, replacing it whole in one netlink transaction; on\n"
	"        any failure the previous table stays in force\n"
	"sync    send only what changed since (permits added, removed or expired, orgs\n"
	"        activated or suspended) as element updates in one transaction; loads the\n"
	"        whole table when there is none.  Run it after registry changes and when\n"
	"        a permit expires (a timer, or the watch daemon).  Both first activate\n"
	"        the organizations whose scheduled activation is due (org set --at)\n"
	"        --wait: keep running; sync, then sleep until the next permit expiry or\n"
	"        scheduled activation (carried out within a second of its time) or\n"
	"        --interval seconds (default 60), whichever comes first, and again; any\n"
	"        change committed to the registry (by any process, with or without\n"
	"        --enforce) wakes it within a second.  A SIGHUP syncs at once, SIGTERM\n"
	"        or SIGINT ends it (exit 0).  One line per change on stderr.  Follows\n"
	"        the system clock, not $PORT25_NOW\n"
	"status  what is loaded, whether it matches the registry now, and the counters\n"
	"        of permitted and blocked connection attempts per organization.  Exit 0\n"
	"        in sync, 4 loaded but differs from the registry, 5 not loaded (3: the\n"
	"        kernel or the registry could not be read); --json has it as \"state\":\n"
	"        \"in_sync\", \"differs\" or \"not_loaded\"\n"
	"flush   remove table inet port25 (nothing else)\n"
	"\n"
	"--nflog-group N  NFLOG group for blocked attempts (default 25, 0: no logging)\n"
	"Needs CAP_NET_ADMIN.  Exit 3 when the kernel refuses.\n";

static void print_result(const struct cli *cli, const char *verb, const struct p25_enforce_result *r,
			 bool dry)
{
	json_t *j = json_pack("{s:s, s:b, s:b, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:b, s:s}",
			      "action", verb, "dry_run", dry, "full", r->full, "generation",
			      (json_int_t)r->generation, "hash", r->hash, "intervals",
			      (json_int_t)r->intervals, "added", (json_int_t)r->added, "removed",
			      (json_int_t)r->removed, "chains_added", (json_int_t)r->chains_added,
			      "chains_rewritten", (json_int_t)r->chains_rewritten, "chains_removed",
			      (json_int_t)r->chains_removed, "messages", (json_int_t)r->messages,
			      "bytes", (json_int_t)r->bytes, "compile_ms", r->compile_ms, "read_ms",
			      r->read_ms, "commit_ms", r->commit_ms, "cached", r->cached, "note",
			      r->note);
	if (r->changes)
		json_object_set(j, "changes", r->changes);
	if (cli->json) {
		cli_print_json(j);
	} else if (dry && r->changes && json_array_size(r->changes) == 0) {
		printf("enforce %s (dry run): in sync, nothing would change (%zu intervals, hash %s)\n",
		       verb, r->intervals, r->hash);
	} else if (r->messages == 0 && !r->full) {
		printf("enforce %s: in sync, nothing to change (%zu intervals, hash %s)\n", verb,
		       r->intervals, r->hash);
	} else {
		printf("enforce %s%s: %s generation %llu, %zu intervals (+%zu -%zu), chains +%zu ~%zu "
		       "-%zu, %zu messages %zu bytes; compile %.1f ms, %s %.1f ms, commit %.1f ms\n",
		       verb, dry ? " (dry run, nothing sent)" : "", r->full ? "full table" : "update",
		       (unsigned long long)r->generation, r->intervals, r->added, r->removed,
		       r->chains_added, r->chains_rewritten, r->chains_removed, r->messages, r->bytes,
		       r->compile_ms, r->cached ? "cache" : "read back", r->read_ms, r->commit_ms);
	}
	/* What would change, by organization and address: what an operator checks before. */
	if (!cli->json && r->changes) {
		json_t *c;
		size_t i;
		json_array_foreach(r->changes, i, c)
		{
			const char *change = json_string_value(json_object_get(c, "change")),
				   *what = json_string_value(json_object_get(c, "what")),
				   *org = json_string_value(json_object_get(c, "org")),
				   *addr = json_string_value(json_object_get(c, "address"));
			if (!strcmp(what, "organization"))
				printf("  %s organization %s (chain %s)\n",
				       !strcmp(change, "add")	   ? "+ enforce"
				       : !strcmp(change, "remove") ? "- no longer enforce"
								   : "~ change",
				       org ? org : "?", addr ? addr : "?");
			else
				printf("  %c %s %s%s%s%s\n", !strcmp(change, "add") ? '+' : '-', what,
				       addr ? addr : "?", org ? " (organization " : "", org ? org : "",
				       org ? ")" : "");
		}
	}
	json_decref(j);
}

/*
 * The sign-ups whose agreed activation time has come are activated before
 * the policy is read (audited in the name of whoever scheduled them), so
 * that a sync from a timer carries them out too; a dry run only names them.
 */
static int scheduled_activations(struct cli *cli, bool dry)
{
	json_t *rows, *o;
	size_t i;
	int rc;

	/* This command sends what follows itself: the service must not too. */
	cli->enforce = -1;
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		return rc;
	if (dry) {
		if ((rc = p25_service_org_upcoming(cli->svc, &cli->auth, &rows)) < 0)
			return cli_service_fail(cli, rc);
		json_array_foreach(rows, i, o)
		{
			json_t *a = json_object_get(o, "activation");
			const char *at = json_string_value(json_object_get(a, "at"));
			p25_time t = 0;
			char err[8];
			if (!at || p25_time_parse(at, &t, err, sizeof err) < 0 || t > cli->now)
				continue;
			fprintf(stderr,
			        "enforce: organization '%s' is due to be activated (scheduled for %s "
			        "by %s): not in a dry run\n",
			        json_string_value(json_object_get(o, "handle")), at,
			        json_string_value(json_object_get(a, "by")));
		}
		json_decref(rows);
		return EXIT_OK;
	}
	if ((rc = p25_service_activate_due(cli->svc, &cli->auth, &rows)) < 0)
		return cli_service_fail(cli, rc);
	json_array_foreach(rows, i, o)
	{
		const char *org = json_string_value(json_object_get(o, "org")),
		           *at = json_string_value(json_object_get(o, "at")),
		           *by = json_string_value(json_object_get(o, "by")),
		           *warning = json_string_value(json_object_get(o, "warning"));
		if (json_is_true(json_object_get(o, "activated")))
			fprintf(stderr, "enforce: organization '%s' activated as scheduled for %s by %s\n",
			        org, at, by);
		else
			cli_warn("organization '%s' NOT activated as scheduled for %s by %s: %s", org,
			         at, by, json_string_value(json_object_get(o, "reason")));
		if (warning && *warning)
			cli_warn("%s", warning);
	}
	json_decref(rows);
	return EXIT_OK;
}

static void print_status(const struct cli *cli, json_t *s)
{
	const char *k;
	json_t *v;

	if (cli->json) {
		cli_print_json(s);
		return;
	}
	if (!json_is_true(json_object_get(s, "loaded"))) {
		printf("table inet port25: not loaded\n");
	} else {
		printf("table inet port25: generation %lld, applied for %s, hash %s\n",
		       (long long)json_integer_value(json_object_get(s, "generation")),
		       json_string_value(json_object_get(s, "applied_for")),
		       json_string_value(json_object_get(s, "hash_loaded")));
	}
	printf("registry now: hash %s, %s\n", json_string_value(json_object_get(s, "hash_registry")),
	       json_is_true(json_object_get(s, "matches_registry")) ? "matches what is loaded"
								     : "DIFFERS from what is loaded");
	json_object_foreach(json_object_get(s, "sets"), k, v)
		printf("  %-10s loaded %6lld  registry %6lld  to add %lld, to remove %lld\n", k,
		       (long long)json_integer_value(json_object_get(v, "loaded")),
		       (long long)json_integer_value(json_object_get(v, "registry")),
		       (long long)json_integer_value(json_object_get(v, "to_add")),
		       (long long)json_integer_value(json_object_get(v, "to_remove")));
	printf("  chains     loaded %6lld  registry %6lld  to add %lld, rewrite %lld, remove %lld\n",
	       (long long)json_integer_value(json_object_get(s, "chains_loaded")),
	       (long long)json_integer_value(json_object_get(s, "chains_registry")),
	       (long long)json_integer_value(json_object_get(s, "chains_to_add")),
	       (long long)json_integer_value(json_object_get(s, "chains_to_rewrite")),
	       (long long)json_integer_value(json_object_get(s, "chains_to_remove")));
	if (json_object_size(json_object_get(s, "counters")))
		printf("connection attempts   out permitted  out blocked  in permitted  in blocked\n");
	json_object_foreach(json_object_get(s, "counters"), k, v)
		printf("  %-20s %13lld %12lld %13lld %11lld\n", k,
		       (long long)json_integer_value(json_object_get(v, "out_permit")),
		       (long long)json_integer_value(json_object_get(v, "out_block")),
		       (long long)json_integer_value(json_object_get(v, "in_permit")),
		       (long long)json_integer_value(json_object_get(v, "in_block")));
}

int cmd_enforce(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"nflog-group", required_argument, NULL, 'g'},
		{"json", no_argument, NULL, 'j'},
		{"wait", no_argument, NULL, 'w'},
		{"interval", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct p25_enforce_opts o = {0};
	struct p25_enforce_result r = {0};
	struct p25_model m;
	const char *verb;
	char err[512];
	int c, rc, interval = 60;
	bool wait = false;

	if (cli_wants_help(argc, argv, enforce_usage))
		return EXIT_OK;
	if (argc < 2)
		return cli_fail(EXIT_USAGE, "enforce: apply, sync, status or flush expected");
	verb = argv[1];
	argc--;
	argv++;
	while ((c = cli_getopt(cli, argc, argv, "nj", options)) != -1) {
		switch (c) {
		case 'n': o.dry_run = true; break;
		case 'j': cli->json = true; break;
		case 'w': wait = true; break;
		case 'i': {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < 1 || v > 86400)
				return cli_fail(EXIT_USAGE,
						"--interval: '%s' is not a number of seconds 1..86400",
						optarg);
			interval = (int)v;
			break;
		}
		case 'g': {
			char *end;
			errno = 0;
			long g = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || g < 0 || g > 65535)
				return cli_fail(EXIT_USAGE,
						"--nflog-group: '%s' is not a group 0..65535", optarg);
			o.nflog_group = g == 0 ? -1 : (int)g;
			break;
		}
		default: fputs(enforce_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_fail(EXIT_USAGE, "enforce %s: unexpected argument '%s'", verb, argv[optind]);
	if (wait && (strcmp(verb, "sync") != 0 || o.dry_run))
		return cli_fail(EXIT_USAGE, "--wait goes with enforce sync only (and not --dry-run)");
	if (strcmp(verb, "flush") == 0) {
		bool existed;
		if (p25_enforce_flush(&existed, err, sizeof err) < 0)
			return cli_fail(EXIT_SYSTEM, "enforce flush: %s", err);
		printf("table inet port25 %s\n", existed ? "removed" : "was not loaded");
		return EXIT_OK;
	}
	if (strcmp(verb, "apply") != 0 && strcmp(verb, "sync") != 0 && strcmp(verb, "status") != 0)
		return cli_fail(EXIT_USAGE, "enforce: unknown action '%s' (apply, sync, status, flush)",
				verb);
	rc = cli_open_registry(cli);
	if (rc != EXIT_OK)
		return rc;
	if (wait) {
		o.state_dir = cli_state_dir();
		return p25_enforce_follow_loop(cli->reg, &o, interval, stderr) < 0 ? EXIT_SYSTEM
		                                                                    : EXIT_OK;
	}
	o.now = cli->now;
	o.state_dir = cli_state_dir();
	if (strcmp(verb, "status") != 0 && (rc = scheduled_activations(cli, o.dry_run)) != EXIT_OK)
		return rc;
	/* apply and sync send what they read: read it holding the enforcers' lock */
	if (strcmp(verb, "status") != 0 && p25_enforce_lock(&o, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "enforce %s: %s", verb, err);
	p25_model_init(&m);
	rc = p25_registry_load_model(cli->reg, &m);
	if (rc != 0) {
		p25_model_free(&m);
		if (strcmp(verb, "status") != 0)
			p25_enforce_unlock(&o);
		return cli_registry_fail(cli, rc);
	}
	if (strcmp(verb, "status") == 0) {
		json_t *s;
		if (p25_enforce_status(&m, &o, &s, err, sizeof err) < 0)
			rc = cli_fail(EXIT_SYSTEM, "enforce status: %s", err);
		else {
			const char *st = json_string_value(json_object_get(s, "state"));
			print_status(cli, s);
			rc = st && !strcmp(st, "in_sync")   ? EXIT_OK
			     : st && !strcmp(st, "differs") ? EXIT_STATUS_DIFFERS
							    : EXIT_STATUS_NOT_LOADED;
			json_decref(s);
		}
	} else {
		int (*fn)(const struct p25_model *, const struct p25_enforce_opts *,
			  struct p25_enforce_result *, char *, size_t) =
			verb[0] == 'a' ? p25_enforce_apply : p25_enforce_sync;
		if (fn(&m, &o, &r, err, sizeof err) < 0)
			rc = cli_fail(EXIT_SYSTEM, "enforce %s: %s", verb, err);
		else {
			print_result(cli, verb, &r, o.dry_run);
			if (r.note[0] && !cli->json)
				fprintf(stderr, "enforce %s: %s\n", verb, r.note);
			rc = EXIT_OK;
		}
		json_decref(r.changes);
		p25_enforce_unlock(&o);
	}
	p25_model_free(&m);
	return rc;
}
