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
    "Prints pass or fail per address with reasons and timings; exit 1 if any fails.\n"
    "The policy is evaluated at the current time, or at $PORT25_NOW.\n";

enum {
	OPT_EXPECT_BLOCKED = 256,
	OPT_MX,
	OPT_FROM_BIND,
	OPT_TIMEOUT,
	OPT_RCPT,
	OPT_FROM,
	OPT_HELO,
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
	size_t ntargets = 0, passed = 0, failed = 0;
	char err[512], at[P25_TIME_STRLEN], mxs[64];
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
				rc = cli_fail(EXIT_USAGE, "verify: %s", err);
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
	if (!cli->json) {
		printf("port25 verify at %s", at);
		for (size_t i = 0; i < o.nmx; i++)
			printf("%s%s", i ? ", " : ", test exchanger ",
			       p25_verify_mx_format(&mx[i], mxs, sizeof mxs));
		if (o.nmx > 0 && o.bind_source)
			printf(", sending from each address");
		putchar('\n');
	}
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
	return rc;
}
