/* port25 verify: after a change, do the permitted servers still deliver? */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/policy.h"
#include "verify/verify.h"

static const char verify_usage[] =
    "usage: port25 verify [--json] [ADDRESS...] [--expect-blocked ADDRESS]...\n"
    "                     [--mx HOST[:PORT]]... [--from-bind] [--rcpt ADDR] [--from ADDR]\n"
    "                     [--helo NAME] [--timeout S]\n"
    "       port25 verify [--json] --request ID... | --applied [--mx ...] [options as above]\n"
    "\n"
    "For every permitted server (each valid permit; a prefix permit's first host),\n"
    "or for the ADDRESSes given, check that the policy permits TCP port 25 from it.\n"
    "With --mx, also send a test message with a unique id (port25-verify-...) to\n"
    "RCPT through that test mail exchanger on its port (default 25), and check that\n"
    "465 and 587 on it are open.  --mx may be given once per address family; each\n"
    "server uses the exchanger of its own family.  --from-bind sends from the\n"
    "server's own address (run verify on the server, in its network or in a test\n"
    "namespace, where that address is local).\n"
    "\n"
    "--expect-blocked ADDRESS checks the other way round: the policy blocks it,\n"
    "port 25 on the exchanger does not connect (no message is sent), and 465 and\n"
    "587 still do.\n"
    "\n"
    "--request ID (repeatable) checks what an applied request changed: the servers a\n"
    "sign-up or add-permit request added, through the permits it created, must be\n"
    "permitted and deliver; the addresses a remove-permit request removed must be\n"
    "blocked (as --expect-blocked).  --applied takes every request in status applied.\n"
    "A request whose every check passes is marked verified (as `request verify`, in\n"
    "the audit log under the actor); one with a failed check stays applied.  Marking\n"
    "needs --mx (a message that went through, or for a removal port 25 refused):\n"
    "without --mx only the policy is checked, nothing is marked, the command says so\n"
    "and exits 0 if the policy checks pass.  A request not in status applied (or not\n"
    "found) is refused and nothing is checked; --applied with none applied does\n"
    "nothing and exits 0.  No ADDRESS or --expect-blocked with --request/--applied.\n"
    "\n"
    "Prints pass or fail per address with reasons and timings, and with requests one\n"
    "line per request: verified or not, and why.  Exit 1 if any check fails or a\n"
    "request is refused.  The policy is evaluated at the current time, or at\n"
    "$PORT25_NOW.\n";

enum {
	OPT_EXPECT_BLOCKED = 256,
	OPT_MX,
	OPT_FROM_BIND,
	OPT_TIMEOUT,
	OPT_RCPT,
	OPT_FROM,
	OPT_HELO,
	OPT_REQUEST,
	OPT_APPLIED,
};

static void print_check(const char *label, const struct p25_check *c)
{
	if (c->status == P25_CHECK_SKIPPED)
		return;
	printf("     %-8s %-4s  %s\n", label, p25_check_status_name(c->status), c->detail);
}

static void print_result(const struct p25_verify_result *r, const struct p25_model *m)
{
	char a[P25_PREFIX_STRLEN];
	ssize_t pi = r->target.permit >= 0 ? r->target.permit : r->decision.permit;

	printf("%s %s", r->pass ? "PASS" : "FAIL", p25_addr_format(&r->target.addr, a, sizeof a));
	if (r->target.expect_blocked)
		printf("  (must be blocked)");
	if (pi >= 0) {
		const struct p25_permit *pm = &m->permits[pi];
		printf("  permit #%lld %s %s %s \"%s\"", (long long)pm->id, m->orgs[pm->org].handle,
		       p25_prefix_format(&pm->prefix, a, sizeof a), p25_kind_name(pm->kind),
		       pm->description);
	} else if (r->decision.org >= 0) {
		printf("  org %s", m->orgs[r->decision.org].handle);
	}
	putchar('\n');
	print_check("policy", &r->policy);
	print_check("smtp/25", &r->smtp);
	print_check("tcp/465", &r->tcp465);
	print_check("tcp/587", &r->tcp587);
}

static int add_target(struct p25_verify_target **v, size_t *n, const char *text, bool blocked)
{
	struct p25_verify_target *nv;
	struct p25_diag d;
	struct p25_addr a;

	if (p25_addr_parse(text, P25_PARSE_UNMAP, &a, &d) < 0)
		return cli_fail(EXIT_USAGE, "verify: %s", d.error);
	nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return cli_fail(EXIT_SYSTEM, "verify: out of memory");
	*v = nv;
	nv[*n].addr = a;
	nv[*n].expect_blocked = blocked;
	nv[*n].permit = -1;
	(*n)++;
	return EXIT_OK;
}

static void print_header(const struct cli *cli, const char *at, const struct p25_verify_opts *o)
{
	char mxs[64];

	if (cli->json)
		return;
	printf("port25 verify at %s", at);
	for (size_t i = 0; i < o->nmx; i++)
		printf("%s%s", i ? ", " : ", test exchanger ",
		       p25_verify_mx_format(&o->mx[i], mxs, sizeof mxs));
	if (o->nmx > 0 && o->bind_source)
		printf(", sending from each address");
	putchar('\n');
}

static int add_request_id(int64_t **v, size_t *n, int64_t id)
{
	int64_t *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == id)
			return EXIT_OK;
	nv = realloc(*v, (*n + 1) * sizeof **v);
	if (!nv)
		return cli_fail(EXIT_SYSTEM, "verify: out of memory");
	*v = nv;
	nv[(*n)++] = id;
	return EXIT_OK;
}

/* An applied request under verification: the request as shown, and what to check. */
struct req_run {
	int64_t id;
	json_t *req;
	struct p25_verify_target *targets;
	size_t ntargets;
};

static const char *req_str(const struct req_run *q, const char *key)
{
	const char *v = json_string_value(json_object_get(q->req, key));
	return v ? v : "?";
}

/*
 * Load the requests and what to check of each (the service's plan); refuse,
 * naming each, any that is missing or not applied: then nothing is checked.
 */
static int load_requests(struct cli *cli, const struct p25_model *m, const int64_t *ids,
                         size_t nids, struct req_run *runs)
{
	int rc = EXIT_OK, r;

	for (size_t i = 0; i < nids; i++) {
		runs[i].id = ids[i];
		r = p25_service_verify_plan(cli->svc, &cli->auth, m, ids[i], &runs[i].req,
		                            &runs[i].targets, &runs[i].ntargets);
		if (r == P25_ECONFLICT)
			r = cli_fail(EXIT_REFUSED, "verify: %s; nothing checked",
			             p25_service_error(cli->svc));
		else if (r == P25_EINVAL)
			r = cli_fail(EXIT_REFUSED, "verify: %s", p25_service_error(cli->svc));
		else if (r < 0)
			r = cli_service_fail(cli, r);
		rc = r > rc ? r : rc;
	}
	return rc;
}

/*
 * Check one request's targets, reporting each, and let the service decide
 * whether that makes it verified (and mark it).  Returns its JSON element;
 * *rc rises on failure.
 */
static json_t *run_request(struct cli *cli, const struct p25_policy *pol, const struct p25_model *m,
                           const struct p25_verify_opts *o, struct req_run *q, size_t *passed,
                           size_t *failed, size_t *marked, int *rc)
{
	bool removal = !strcmp(req_str(q, "type"), "remove-permit");
	json_t *servers = json_array(), *failures = json_array(), *after = NULL, *j;
	struct p25_verify_result *res = calloc(q->ntargets ? q->ntargets : 1, sizeof *res);
	struct p25_request_verdict v;
	char checks[64], a[P25_ADDR_STRLEN];
	const char *reason;
	bool done = false;

	if (!res) {
		*rc = *rc > EXIT_SYSTEM ? *rc : cli_fail(EXIT_SYSTEM, "verify: out of memory");
		return json_pack("{s:I, s:b}", "id", (json_int_t)q->id, "verified", 0);
	}
	if (!cli->json)
		printf("request %lld %s %s: %zu %s\n", (long long)q->id, req_str(q, "type"),
		       req_str(q, "org"), q->ntargets,
		       removal ? (q->ntargets == 1 ? "address that must be blocked"
		                                   : "addresses that must be blocked")
		               : (q->ntargets == 1 ? "server" : "servers"));
	for (size_t i = 0; i < q->ntargets; i++) {
		p25_verify_run(pol, &q->targets[i], o, &res[i]);
		json_array_append_new(servers, p25_verify_result_json(&res[i], m));
		if (!cli->json)
			print_result(&res[i], m);
		if (res[i].pass)
			continue;
		const struct p25_check *first = p25_verify_failures(&res[i], checks, sizeof checks);
		const char *detail = first ? first->detail : "";
		p25_addr_format(&res[i].target.addr, a, sizeof a);
		json_array_append_new(failures, json_pack("{s:s, s:s, s:s}", "address", a, "checks",
		                                          checks, "detail", detail));
		cli_fail(EXIT_REFUSED, "verify: request %lld not verified: %s: %s failed: %s",
		         (long long)q->id, a, checks, detail);
	}
	int marking = p25_service_verify_verdict(cli->svc, &cli->auth, q->id, o, res, q->ntargets, &v);
	if (marking < 0) {
		int r = cli_service_fail(cli, marking);
		*rc = *rc > r ? *rc : r;
	}
	free(res);
	*passed += v.passed;
	*failed += v.failed;
	/* The command line's words for "no test exchanger": the option that gives one. */
	reason = v.outcome == P25_OUTCOME_UNSENT ? "no --mx, no test message sent" : v.reason;
	switch (v.outcome) {
	case P25_OUTCOME_VERIFIED:
		done = true;
		(*marked)++;
		break;
	case P25_OUTCOME_EMPTY:
		cli_fail(EXIT_REFUSED, "verify: request %lld not verified: %s", (long long)q->id,
		         reason);
		/* fall through */
	case P25_OUTCOME_FAILED:
		*rc = *rc > EXIT_REFUSED ? *rc : EXIT_REFUSED;
		break;
	case P25_OUTCOME_UNSENT:
	case P25_OUTCOME_UNMARKED:
		break;
	}
	/* What the registry says now, should anyone else have changed it meanwhile. */
	if (p25_service_request_show(cli->svc, &cli->auth, q->id, &after) < 0)
		after = NULL;
	j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:b, s:o, s:I, s:I, s:o, s:o}", "id",
	              (json_int_t)q->id, "type", req_str(q, "type"), "org", req_str(q, "org"),
	              "status_before", req_str(q, "status"), "status_after",
	              after ? json_string_value(json_object_get(after, "status"))
	                    : req_str(q, "status"),
	              "verified", done, "reason", reason[0] ? json_string(reason) : json_null(),
	              "passed", (json_int_t)v.passed, "failed", (json_int_t)v.failed, "servers",
	              servers, "failures", failures);
	json_decref(after);
	if (!cli->json) {
		if (done)
			printf("request %lld verified: %zu of %zu passed\n", (long long)q->id, v.passed,
			       q->ntargets);
		else if (v.outcome == P25_OUTCOME_FAILED || v.outcome == P25_OUTCOME_EMPTY)
			printf("request %lld NOT verified, stays applied: %s\n", (long long)q->id,
			       reason);
		else if (v.outcome == P25_OUTCOME_UNSENT)
			printf("request %lld not marked verified: %zu of %zu passed the policy "
			       "check, but no --mx, no test message sent\n",
			       (long long)q->id, v.passed, q->ntargets);
		else
			printf("request %lld not marked verified: %s\n", (long long)q->id, reason);
	}
	return j;
}

/* verify --request ID... / --applied */
static int verify_requests(struct cli *cli, const struct p25_verify_opts *o, int64_t **ids,
                           size_t *nids, bool applied)
{
	struct p25_model model;
	struct p25_policy *pol = NULL;
	struct req_run *runs = NULL;
	size_t passed = 0, failed = 0, marked = 0;
	char err[512], at[P25_TIME_STRLEN];
	json_t *list = NULL, *row;
	int rc, r;
	size_t i;

	if ((rc = cli_load_policy(cli, "verify", &model, &pol)) != EXIT_OK)
		return rc;
	if ((rc = cli_open_service(cli)) != EXIT_OK)
		goto out;
	if (applied) {
		struct p25_request_filter f = {.by_status = true,
		                               .status = P25_REQ_APPLIED,
		                               .now = cli->now};
		if ((r = p25_service_request_list(cli->svc, &cli->auth, &f, &list)) < 0) {
			rc = cli_service_fail(cli, r);
			goto out;
		}
		json_array_foreach(list, i, row)
		{
			json_int_t id = json_integer_value(json_object_get(row, "id"));
			if ((rc = add_request_id(ids, nids, id)) != EXIT_OK)
				goto out;
		}
	}
	p25_time_format(cli->now, at, sizeof at);
	if (*nids == 0) {
		/* --applied with none applied: nothing changed, nothing to verify. */
		if (cli->json) {
			json_t *doc = json_pack("{s:s, s:[], s:I, s:I, s:I, s:b}", "at", at,
			                        "requests", "passed", (json_int_t)0, "failed",
			                        (json_int_t)0, "verified", (json_int_t)0, "pass", 1);
			cli_print_json(doc);
			json_decref(doc);
		} else {
			printf("port25 verify at %s: no requests in status applied\n", at);
		}
		rc = EXIT_OK;
		goto out;
	}
	if (!(runs = calloc(*nids, sizeof *runs))) {
		rc = cli_fail(EXIT_SYSTEM, "verify: out of memory");
		goto out;
	}
	if ((rc = load_requests(cli, &model, *ids, *nids, runs)) != EXIT_OK)
		goto out;
	if (o->nmx > 0 && p25_verify_init(err, sizeof err) < 0) {
		rc = cli_fail(EXIT_SYSTEM, "verify: %s", err);
		goto out;
	}
	print_header(cli, at, o);
	json_decref(list);
	list = json_array();
	for (i = 0; i < *nids; i++)
		json_array_append_new(list, run_request(cli, pol, &model, o, &runs[i], &passed,
		                                        &failed, &marked, &rc));
	if (cli->json) {
		json_t *doc = json_pack("{s:s, s:O, s:I, s:I, s:I, s:b}", "at", at, "requests", list,
		                        "passed", (json_int_t)passed, "failed", (json_int_t)failed,
		                        "verified", (json_int_t)marked, "pass", rc == EXIT_OK);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("%zu %s checked: %zu verified, %zu not; checked addresses: %zu passed, "
		       "%zu failed\n",
		       *nids, *nids == 1 ? "request" : "requests", marked, *nids - marked, passed,
		       failed);
	}
out:
	if (runs)
		for (i = 0; i < *nids; i++) {
			json_decref(runs[i].req);
			free(runs[i].targets);
		}
	free(runs);
	json_decref(list);
	p25_policy_free(pol);
	p25_model_free(&model);
	return rc;
}

int cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"expect-blocked", required_argument, NULL, OPT_EXPECT_BLOCKED},
	    {"mx", required_argument, NULL, OPT_MX},
	    {"from-bind", no_argument, NULL, OPT_FROM_BIND},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"rcpt", required_argument, NULL, OPT_RCPT},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"helo", required_argument, NULL, OPT_HELO},
	    {"request", required_argument, NULL, OPT_REQUEST},
	    {"applied", no_argument, NULL, OPT_APPLIED},
	    {NULL, 0, NULL, 0},
	};
	struct p25_verify_mx mx[P25_VERIFY_MAX_MX];
	struct p25_verify_opts o = {
	    .mx = mx,
	    .timeout_ms = 10000,
	    .mail_from = "port25-verify@port25.invalid",
	};
	struct p25_verify_target *targets = NULL;
	struct p25_verify_result res;
	struct p25_model model;
	struct p25_policy *pol = NULL;
	size_t ntargets = 0, passed = 0, failed = 0, nreqs = 0;
	int64_t *reqs = NULL, id = 0;
	bool applied = false;
	char err[512], at[P25_TIME_STRLEN];
	json_t *results = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			cli->json = true;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			rc = EXIT_OK;
			goto out;
		case OPT_EXPECT_BLOCKED:
			if ((rc = add_target(&targets, &ntargets, optarg, true)) != EXIT_OK)
				goto out;
			break;
		case OPT_MX:
			if (p25_verify_mx_parse(optarg, mx, P25_VERIFY_MAX_MX, &o.nmx, err,
			                        sizeof err) < 0) {
				rc = cli_fail(EXIT_USAGE, "verify: --mx %s", err);
				goto out;
			}
			break;
		case OPT_FROM_BIND:
			o.bind_source = true;
			break;
		case OPT_TIMEOUT: {
			char *end;
			double s = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(s) || s <= 0 || s > 600) {
				rc = cli_fail(EXIT_USAGE,
				              "verify: --timeout '%s': want seconds, 0 < S <= 600",
				              optarg);
				goto out;
			}
			o.timeout_ms = (int)ceil(s * 1000);
			break;
		}
		case OPT_RCPT:
			o.rcpt = optarg;
			break;
		case OPT_FROM:
			o.mail_from = optarg;
			break;
		case OPT_HELO:
			o.helo = optarg;
			break;
		case OPT_REQUEST:
			if (cli_parse_id(optarg, NULL, &id) != EXIT_OK) {
				rc = cli_fail(EXIT_USAGE,
				              "verify: --request '%s': want a request id (see port25 "
				              "request list)",
				              optarg);
				goto out;
			}
			if ((rc = add_request_id(&reqs, &nreqs, id)) != EXIT_OK)
				goto out;
			break;
		case OPT_APPLIED:
			applied = true;
			break;
		default:
			fputs(verify_usage, stderr);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		if ((rc = add_target(&targets, &ntargets, argv[i], false)) != EXIT_OK)
			goto out;
	if (o.nmx > 0 && (!o.rcpt || !*o.rcpt)) {
		rc = cli_fail(EXIT_USAGE,
		              "verify: --mx needs --rcpt, the test mailbox at the exchanger");
		goto out;
	}
	/* Addresses go into the SMTP envelope: refuse what would break the command line. */
	if ((o.rcpt && strpbrk(o.rcpt, "<>\r\n ")) || strpbrk(o.mail_from, "<>\r\n ")) {
		rc = cli_fail(EXIT_USAGE, "verify: --rcpt and --from take a bare address");
		goto out;
	}
	if (nreqs > 0 || applied) {
		if (ntargets > 0) {
			rc = cli_fail(EXIT_USAGE, "verify: --request and --applied check what the "
			                          "request changed: no ADDRESS or --expect-blocked "
			                          "with them");
			goto out;
		}
		rc = verify_requests(cli, &o, &reqs, &nreqs, applied);
		goto out;
	}

	if ((rc = cli_load_policy(cli, "verify", &model, &pol)) != EXIT_OK)
		goto out;
	/* No address named: every permitted server (after any --expect-blocked). */
	bool named = false;
	for (size_t i = 0; i < ntargets; i++)
		named |= !targets[i].expect_blocked;
	if (!named) {
		struct p25_verify_target *perm, *nv;
		ssize_t np = p25_verify_permitted(&model, cli->now, &perm);
		if (np < 0 || !(nv = realloc(targets, (ntargets + (size_t)np + 1) * sizeof *nv))) {
			if (np >= 0)
				free(perm);
			rc = cli_fail(EXIT_SYSTEM, "verify: out of memory");
			goto out_model;
		}
		/* Permitted servers first, then the addresses that must stay blocked. */
		memmove(nv + np, nv, ntargets * sizeof *nv);
		memcpy(nv, perm, (size_t)np * sizeof *nv);
		free(perm);
		targets = nv;
		ntargets += (size_t)np;
	}
	if (ntargets == 0) {
		rc = cli_fail(EXIT_REFUSED, "verify: no valid permits to verify");
		goto out_model;
	}
	if (o.nmx > 0) {
		if (p25_verify_init(err, sizeof err) < 0) {
			rc = cli_fail(EXIT_SYSTEM, "verify: %s", err);
			goto out_model;
		}
	}

	p25_time_format(cli->now, at, sizeof at);
	print_header(cli, at, &o);
	results = json_array();
	for (size_t i = 0; i < ntargets; i++) {
		p25_verify_run(pol, &targets[i], &o, &res);
		if (res.pass)
			passed++;
		else
			failed++;
		if (cli->json)
			json_array_append_new(results, p25_verify_result_json(&res, &model));
		else
			print_result(&res, &model);
	}
	if (cli->json) {
		json_t *doc = json_pack("{s:s, s:o, s:I, s:I, s:b}", "at", at, "servers", results,
		                        "passed", (json_int_t)passed, "failed", (json_int_t)failed,
		                        "pass", failed == 0);
		results = NULL;
		cli_print_json(doc);
		json_decref(doc);
	} else {
		printf("%zu checked: %zu passed, %zu failed\n", ntargets, passed, failed);
	}
	rc = failed ? EXIT_REFUSED : EXIT_OK;
out_model:
	json_decref(results);
	p25_policy_free(pol);
	p25_model_free(&model);
out:
	free(targets);
	free(reqs);
	return rc;
}
