/* Shared plumbing of the port25 command line: options, exit codes, output. */
#ifndef P25_CLI_H
#define P25_CLI_H

#include <stdbool.h>
#include <time.h>
#include <jansson.h>

#include "policy/policy.h"
#include "registry/registry.h"
#include "service/service.h"
#include "util/time.h"
#include "util/tz.h"
#include "util/conf.h"

/* Exit codes, documented in the README. */
enum {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* bad input, conflict, not found, limits exceeded */
	EXIT_USAGE = 2,	  /* wrong command line */
	EXIT_SYSTEM = 3,  /* storage, file or system failure */
};

struct cli {
	/* --db, else $PORT25_DB, else the configuration's registry, else P25_REGISTRY_PATH */
	const char *db_path;
	bool db_explicit;     /* named by --db or $PORT25_DB, not a default */
	const char *db_error; /* why the default could not be read; opening the registry fails */
	const char *actor;
	p25_time now; /* PORT25_NOW overrides the clock, for tests and reports */
	bool json;
	bool may_create; /* only `init` creates a registry file */
	struct p25_registry *reg;
	/* the registry commands' way in: the operator (actor), and enforcement if on */
	struct p25_service *svc;
	struct p25_auth auth;
	/* live enforcement (enforce_hook.c): 1 on, -1 off, 0 not yet decided */
	int enforce;
	struct timespec started; /* CLOCK_MONOTONIC at main() */
	/* `timezone` of port25.conf, for dates without a time; NULL: UTC */
	struct p25_tz *tz;
	const char *tz_error; /* why the configured zone is not usable; bare dates are refused */
	/* the mail keys of the configuration (cli_notify_config) */
	const struct p25_notify_config *notify;
};

/* One column of a terminal table: the JSON key and the heading. */
struct cli_column {
	const char *key;
	const char *heading;
};

int cli_open_registry(struct cli *cli);
/* Print "port25: <message>" on stderr and return code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Map a registry return code to an exit code, printing the registry's message and hint. */
int cli_registry_fail(struct cli *cli, int rc);
/* msg with the command line's words for its hint (an option or a command) put in. */
const char *cli_with_hint(const char *msg, const struct p25_hint *h, char *out, size_t len);
/*
 * The registry commands call the service as the operator named by --actor:
 * cli_open_service opens the registry and the service (enforcement on or
 * off as --enforce, PORT25_ENFORCE and the configuration say).  A refusal or
 * failure: cli_service_fail; a warning: cli_service_warn; after a change,
 * cli_followup reports what followed it (the enforcement) and returns the
 * exit code.
 */
int cli_open_service(struct cli *cli);
int cli_service_fail(struct cli *cli, int rc);
void cli_service_warn(struct cli *cli);
int cli_followup(struct cli *cli);
/* The configuration's mail keys into cli->notify, once; EXIT_SYSTEM naming a bad key. */
int cli_notify_config(struct cli *cli);
/*
 * Open the registry and load the model (initialised here; the caller frees it
 * on success).  Returns EXIT_OK or the exit code after printing the reason.
 */
int cli_load_model(struct cli *cli, struct p25_model *m);
/* ... and build the policy snapshot at cli->now; `who` names the command in errors. */
int cli_load_policy(struct cli *cli, const char *who, struct p25_model *m,
		    struct p25_policy **pol);
/* Print rows (a JSON array of objects) as JSON when cli->json, else as a table. */
void cli_print_rows(const struct cli *cli, json_t *rows, const struct cli_column *cols);
/* Print one object as JSON when cli->json, else as "key: value" lines. */
void cli_print_object(const struct cli *cli, json_t *obj);
void cli_print_json(json_t *v);
/* "port25: <message>" and then usage, on stderr; returns EXIT_USAGE. */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * A positive decimal id (of a request, a permit, an alert, ...): EXIT_OK with
 * *out; else EXIT_USAGE, having said "'S' is not a WHAT id (a positive
 * number)" when what is not NULL (else the caller says it its own way).
 */
int cli_parse_id(const char *s, const char *what, int64_t *out);
/*
 * getopt_long over a command's options and the global ones it does not
 * define (--db, --actor, --enforce, --no-enforce), which it applies to cli:
 * global options go after the command too (options.c).
 */
struct option;
int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
	       const struct option *opts);
/*
 * An instant the user typed, said back in UTC with how it was read: "2027-01-01T06:59:59Z
 * (the end of 2026-12-31 in America/Denver)"; start: a time to act at (the day's start).
 */
const char *cli_instant(const struct cli *cli, const char *typed, p25_time t, bool start,
			char *buf, size_t len);
/* A bare date needs a usable operator zone: EXIT_OK, or EXIT_USAGE after saying why. */
int cli_check_date(const struct cli *cli, const char *opt, const char *typed);
/* True when arg is --help or -h; prints usage text first. */
bool cli_wants_help(int argc, char **argv, const char *usage);

/* What following the changes did, on stderr (nothing when it asked nothing of the kernel). */
void cli_enforce_report(const struct cli *cli, const struct p25_follow_result *res);
/* Where enforce keeps the cache of the loaded state: $PORT25_RUN_DIR, else /run/port25. */
const char *cli_state_dir(void);

/* Subcommands: argv[0] is the subcommand name. */
int cmd_init(struct cli *cli, int argc, char **argv);
int cmd_org(struct cli *cli, int argc, char **argv);
int cmd_prefix(struct cli *cli, int argc, char **argv);
int cmd_contact(struct cli *cli, int argc, char **argv);
int cmd_permit(struct cli *cli, int argc, char **argv);
int cmd_request(struct cli *cli, int argc, char **argv);
int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_export(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_restore(struct cli *cli, int argc, char **argv);
int cmd_explain(struct cli *cli, int argc, char **argv);
int cmd_compile(struct cli *cli, int argc, char **argv);
int cmd_enforce(struct cli *cli, int argc, char **argv);
int cmd_analyze(struct cli *cli, int argc, char **argv);
int cmd_collect(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);
int cmd_watch(struct cli *cli, int argc, char **argv);
int cmd_alerts(struct cli *cli, int argc, char **argv);
int cmd_user(struct cli *cli, int argc, char **argv);
int cmd_token(struct cli *cli, int argc, char **argv);
int cmd_serve(struct cli *cli, int argc, char **argv);
int cmd_notify(struct cli *cli, int argc, char **argv);
int cmd_notices(struct cli *cli, int argc, char **argv);
int cmd_campaign(struct cli *cli, int argc, char **argv);
int cmd_verify_inbox(struct cli *cli, int argc, char **argv);

#endif
