/* port25 compile: the registry's policy as firewall or router configuration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile/compile.h"
#include "util/file.h"

static const char compile_usage[] =
	"usage: port25 compile --target TARGET [--max-entries N] [--part NAME] [-o FILE]\n"
	"\n"
	"Generate the configuration that blocks TCP port 25 for every host of an\n"
	"enforced (active) organization except its permitted senders, as the policy\n"
	"decides at the current time (or $PORT25_NOW).  Expired permits are left out.\n"
	"\n"
	"targets:\n"
	"  nftables    one table inet port25, for nft -f\n"
	"  iptables    parts ipset (ipset restore), rules.v4 (iptables-restore --noflush),\n"
	"              rules.v6 (ip6tables-restore --noflush), hook (sh: adds the FORWARD\n"
	"              jump once)\n"
	"  cisco-ios   PORT25-OUTBOUND/-INBOUND access lists, IPv4 and IPv6\n"
	"  junos       prefix lists and port25-outbound/-inbound filters, for load replace\n"
	"  pf          tables and rules for an anchor, pfctl -a port25 -f\n"
	"\n"
	"options:\n"
	"  --target T, -t T   the target (required)\n"
	"  --max-entries N    refuse, writing nothing, when the output has more than N\n"
	"                     entries (set elements, ACL entries, rules and terms)\n"
	"  --part NAME        only this part of a multi-part target\n"
	"  -o FILE            write to FILE instead of standard output (- is standard\n"
	"                     output); a multi-part target writes FILE.PART for each\n"
	"                     part.  A regular file is replaced atomically, once every\n"
	"                     part is written; a device, FIFO or symbolic link is\n"
	"                     written in place (the link is followed), never replaced\n"
	"\n"
	"The entry count is printed on standard error.  Exit 1 when over the limit or\n"
	"when the registry is inconsistent.\n";

/*
 * Every part is written before any is published, so a failure leaves the
 * old files (the ones replaced atomically; a device or link written in
 * place has nothing to keep).
 */
static int write_files(const struct p25_compile_output *out, const bool *want, size_t nwant,
		       const char *file)
{
	struct p25_outfile of[P25_COMPILE_MAX_PARTS];
	size_t n = 0;
	char err[512];
	int rc = EXIT_OK;

	for (size_t i = 0; i < out->nparts && rc == EXIT_OK; i++) {
		char *dest;

		if (!want[i])
			continue;
		if (nwant == 1)
			dest = strdup(file);
		else if (asprintf(&dest, "%s.%s", file, out->parts[i].name) < 0)
			dest = NULL;
		if (!dest)
			return cli_fail(EXIT_SYSTEM, "out of memory");
		if (p25_outfile_open(&of[n], dest, err, sizeof err) < 0) {
			rc = cli_fail(EXIT_SYSTEM, "%s", err);
		} else {
			fputs(out->parts[i].text, of[n].f);
			if (p25_outfile_close(&of[n], err, sizeof err) < 0)
				rc = cli_fail(EXIT_SYSTEM, "%s", err);
			n++;
		}
		free(dest);
	}
	for (size_t i = 0; i < n && rc == EXIT_OK; i++)
		if (p25_outfile_publish(&of[i], err, sizeof err) < 0)
			rc = cli_fail(EXIT_SYSTEM, "%s", err);
	for (size_t i = 0; i < n; i++)
		p25_outfile_discard(&of[i]);
	return rc;
}

int cmd_compile(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"target", required_argument, NULL, 't'},
		{"max-entries", required_argument, NULL, 'm'},
		{"part", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *part = NULL, *file = NULL;
	struct p25_compile_opts opts = {0};
	struct p25_compile_output out;
	struct p25_model m;
	enum p25_target t;
	bool want[P25_COMPILE_MAX_PARTS] = {false};
	size_t nwant = 0;
	char err[512];
	int c, rc;

	if (cli_wants_help(argc, argv, compile_usage))
		return EXIT_OK;
	while ((c = getopt_long(argc, argv, "t:o:h", options, NULL)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'p': part = optarg; break;
		case 'o': file = optarg; break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v == 0)
				return cli_fail(EXIT_USAGE,
						"--max-entries: '%s' is not a positive number", optarg);
			opts.max_entries = (size_t)v;
			break;
		}
		default: fputs(compile_usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_fail(EXIT_USAGE, "compile: unexpected argument '%s'", argv[optind]);
	if (!target)
		return cli_fail(EXIT_USAGE,
				"compile: --target is required (nftables, iptables, cisco-ios, junos, pf)");
	if (p25_target_parse(target, &t) < 0)
		return cli_fail(EXIT_USAGE,
				"compile: unknown target '%s' (nftables, iptables, cisco-ios, junos, pf)",
				target);
	if (file && !*file)
		return cli_fail(EXIT_USAGE, "compile: -o needs a file name (or - for standard output)");
	if (file && strcmp(file, "-") == 0)
		file = NULL;
	if ((rc = cli_load_model(cli, &m)) != EXIT_OK)
		return rc;
	opts.now = cli->now;
	if (p25_compile(&m, t, &opts, &out, err, sizeof err) < 0) {
		p25_model_free(&m);
		return cli_fail(EXIT_REFUSED, "%s; nothing written", err);
	}
	p25_model_free(&m);
	for (size_t i = 0; i < out.nparts; i++) {
		if (!part || strcmp(part, out.parts[i].name) == 0) {
			want[i] = true;
			nwant++;
		}
	}
	if (nwant == 0) {
		char names[128] = "";
		for (size_t i = 0; i < out.nparts; i++)
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
				 i ? ", " : "", out.parts[i].name);
		p25_compile_output_free(&out);
		return cli_fail(EXIT_USAGE, "compile: %s has no part '%s' (parts: %s)", target, part,
				names);
	}
	if (file) {
		rc = write_files(&out, want, nwant, file);
	} else {
		for (size_t i = 0; i < out.nparts; i++) {
			if (!want[i])
				continue;
			if (nwant > 1)
				printf("%s# ==== port25 %s part %s: load with %s\n", i ? "\n" : "",
				       target, out.parts[i].name, out.parts[i].load_hint);
			fputs(out.parts[i].text, stdout);
		}
		rc = fflush(stdout) == 0 && !ferror(stdout)
			     ? EXIT_OK
			     : cli_fail(EXIT_SYSTEM, "standard output: %s", strerror(errno));
	}
	if (rc == EXIT_OK)
		fprintf(stderr, "port25: %s: %zu entries\n", p25_target_name(t), out.entries);
	p25_compile_output_free(&out);
	return rc;
}
