/* port25 explain: the decision for an address in both directions, and why. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/policy.h"

static const char explain_usage[] =
	"usage: port25 explain [--json] ADDRESS...\n"
	"\n"
	"Print, for each address, whether port25 permits, blocks or does not cover\n"
	"TCP port 25 sent from it (outbound) and sent to it (inbound), naming the\n"
	"organization, address space and permit that decided.  Expired permits do\n"
	"not count; they are listed so the operator sees why a server lost its permit.\n"
	"The decision is taken at the current time, or at $PORT25_NOW.\n";

static void print_decision(const char *label, json_t *d)
{
	json_t *pm = json_object_get(d, "permit");

	printf("  %-9s %-11s %s\n", label, json_string_value(json_object_get(d, "verdict")),
	       json_string_value(json_object_get(d, "reason")));
	if (json_is_object(pm))
		printf("  %-9s %-11s permit #%lld %s %s \"%s\"%s%s\n", "", "by",
		       (long long)json_integer_value(json_object_get(pm, "id")),
		       json_string_value(json_object_get(pm, "prefix")),
		       json_string_value(json_object_get(pm, "kind")),
		       json_string_value(json_object_get(pm, "description")),
		       json_is_string(json_object_get(pm, "expires")) ? ", expires " : "",
		       json_is_string(json_object_get(pm, "expires"))
			       ? json_string_value(json_object_get(pm, "expires"))
			       : "");
}

static void print_text(json_t *j, const char *at)
{
	json_t *org = json_object_get(j, "organization"), *space = json_object_get(j, "space");
	json_t *expired = json_object_get(j, "expired_permits"), *pm;
	size_t i;

	printf("%s  (at %s)\n", json_string_value(json_object_get(j, "address")), at);
	if (json_is_object(org))
		printf("  organization %s (%s): enrollment %s, mode %s, action %s\n",
		       json_string_value(json_object_get(org, "handle")),
		       json_string_value(json_object_get(org, "name")),
		       json_string_value(json_object_get(org, "enrollment")),
		       json_string_value(json_object_get(org, "mode")),
		       json_string_value(json_object_get(org, "action")));
	else
		printf("  organization none: the address is in no member's space\n");
	if (json_is_object(space)) {
		const char *desc = json_string_value(json_object_get(space, "description"));
		printf("  space        %s%s%s%s\n", json_string_value(json_object_get(space, "prefix")),
		       *desc ? " \"" : "", desc, *desc ? "\"" : "");
	}
	print_decision("outbound", json_object_get(j, "outbound"));
	print_decision("inbound", json_object_get(j, "inbound"));
	printf("  465/587      never blocked (authenticated submission)\n");
	json_array_foreach(expired, i, pm)
		printf("  note         permit #%lld %s expired at %s and no longer counts\n",
		       (long long)json_integer_value(json_object_get(pm, "id")),
		       json_string_value(json_object_get(pm, "prefix")),
		       json_string_value(json_object_get(pm, "expires")));
}

int cmd_explain(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct p25_model model;
	struct p25_policy *pol;
	char at[P25_TIME_STRLEN];
	json_t *all;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'j': cli->json = true; break;
		case 'h': fputs(explain_usage, stdout); return EXIT_OK;
		default: fputs(explain_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(explain_usage, stderr);
		return EXIT_USAGE;
	}
	/* Check every address before any work, so bad input changes nothing. */
	for (int i = optind; i < argc; i++) {
		struct p25_addr a;
		struct p25_diag d;
		if (p25_addr_parse(argv[i], P25_PARSE_UNMAP, &a, &d) < 0)
			return cli_fail(EXIT_REFUSED, "explain: %s", d.error);
	}
	if ((rc = cli_load_policy(cli, "explain", &model, &pol)) != EXIT_OK)
		return rc;
	p25_time_format(cli->now, at, sizeof at);
	all = json_array();
	for (int i = optind; i < argc; i++) {
		struct p25_addr a;
		struct p25_diag d;
		json_t *j;
		p25_addr_parse(argv[i], P25_PARSE_UNMAP, &a, &d);
		j = p25_explain_json(pol, &a, cli->now);
		if (!cli->json) {
			if (i > optind)
				putchar('\n');
			print_text(j, at);
		}
		json_array_append_new(all, j);
	}
	if (cli->json) {
		json_t *doc = json_pack("{s:s, s:o}", "at", at, "addresses", all);
		cli_print_json(doc);
		json_decref(doc);
	} else {
		json_decref(all);
	}
	p25_policy_free(pol);
	p25_model_free(&model);
	return EXIT_OK;
}
