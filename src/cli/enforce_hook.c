/*
 * Live enforcement from the registry commands: when enforcement is on
 * (--enforce, PORT25_ENFORCE=1, or `enabled = yes` in the [enforce] section
 * of the configuration file, `enforce = yes` at its top level), a command that changed the registry sends its own change to the
 * kernel right after its transaction committed.  What to send is the
 * library's decision (enforce/follow.h), from the typed changes after the
 * mark taken when the registry was opened: this command's, or a concurrent
 * one's, which are as real and as welcome.  Here: whether it is on, and the
 * report on stderr.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "enforce/follow.h"
#include "util/conf.h"

const char *cli_state_dir(void)
{
	const char *d = getenv("PORT25_RUN_DIR");

	return d && *d ? d : "/run/port25";
}

/* --enforce, else PORT25_ENFORCE, else the configuration file says (enforce/enforce.h). */
static int enforce_enabled(struct cli *cli)
{
	const char *env = getenv("PORT25_ENFORCE");
	char err[600];
	bool on = false;

	if (cli->enforce)
		return EXIT_OK;
	if (env && *env) {
		if (p25_conf_bool(env, &on) < 0)
			on = false; /* anything but a yes is off, as it always was */
	} else if (p25_enforce_conf_live(p25_conf_path(), &on, err, sizeof err) < 0)
		return cli_fail(EXIT_USAGE, "%s", err);
	cli->enforce = on ? 1 : -1;
	return EXIT_OK;
}

static double ms_between(const struct timespec *t0, const struct timespec *t)
{
	return (double)(t->tv_sec - t0->tv_sec) * 1e3 + (double)(t->tv_nsec - t0->tv_nsec) / 1e6;
}

void cli_enforce_report(const struct cli *cli, const struct p25_follow_result *res)
{
	const struct p25_enforce_result *r = &res->r;

	switch (res->action) {
	case P25_FOLLOW_NONE:
		break;
	case P25_FOLLOW_SYNC:
		fprintf(stderr,
		        "enforce: %s%ssync, %s: +%zu -%zu elements, chains +%zu ~%zu -%zu; commit "
		        "%.3f ms\n",
		        res->why, *res->why ? "; " : "",
		        r->cached ? "diffed against the cache" : "read back", r->added, r->removed,
		        r->chains_added, r->chains_rewritten, r->chains_removed, r->commit_ms);
		if (r->note[0] && !r->cached)
			fprintf(stderr, "enforce: %s\n", r->note);
		break;
	case P25_FOLLOW_UNCHANGED:
		/* nothing sent, nothing committed: no time to report */
		fprintf(stderr,
		        "enforce: nothing to change in the kernel (%zu permit change%s, already as "
		        "loaded)\n",
		        res->npermits, res->npermits == 1 ? "" : "s");
		break;
	case P25_FOLLOW_TARGETED:
		fprintf(stderr,
		        "enforce: targeted update, +%zu -%zu elements in %zu messages; commit %.3f "
		        "ms, in force %.3f ms after the registry commit, %.3f ms after the command "
		        "started\n",
		        r->added, r->removed, r->messages, r->commit_ms,
		        ms_between(&res->begun, &r->committed_at),
		        ms_between(&cli->started, &r->committed_at));
		if (r->note[0])
			fprintf(stderr, "enforce: %s\n", r->note);
		break;
	}
}

int cli_open_service(struct cli *cli)
{
	struct p25_service_options opt = {0};
	int rc;

	if (cli->svc)
		return EXIT_OK;
	if ((rc = cli_open_registry(cli)) != EXIT_OK)
		return rc;
	if ((rc = enforce_enabled(cli)) != EXIT_OK)
		return rc;
	opt.enforce = cli->enforce > 0;
	opt.enforce_opts.state_dir = cli_state_dir();
	/* Notices are queued with the changes that cause them: the mail keys first. */
	if ((rc = cli_notify_config(cli)) != EXIT_OK)
		return rc;
	opt.notify = cli->notify;
	if (p25_service_open(cli->reg, &opt, &cli->svc) < 0)
		return cli_fail(EXIT_SYSTEM, "out of memory");
	cli->auth = (struct p25_auth){.actor = cli->actor, .role = P25_ROLE_OPERATOR, .now = cli->now};
	return EXIT_OK;
}

int cli_followup(struct cli *cli)
{
	const struct p25_service_followup *f = p25_service_followup(cli->svc);

	if (!f->enforced)
		return EXIT_OK;
	if (f->rc < 0)
		return cli_fail(EXIT_SYSTEM, "the registry changed, but %s (run: port25 enforce sync)",
		                f->error);
	cli_enforce_report(cli, &f->follow);
	return EXIT_OK;
}

int cli_notify_config(struct cli *cli)
{
	static struct p25_notify_config cfg;
	char err[1200];

	if (cli->notify)
		return EXIT_OK;
	p25_notify_config_default(&cfg);
	if (p25_notify_config_load(&cfg, p25_conf_path(), err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "%s", err);
	cli->notify = &cfg;
	return EXIT_OK;
}
