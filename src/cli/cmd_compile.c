/* port25 compile: the registry's policy as firewall or router configuration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "compile/compile.h"

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
	"  -o FILE            write to FILE atomically instead of standard output; a\n"
	"                     multi-part target writes FILE.PART for each part\n"
	"\n"
	"The entry count is printed on standard error.  Exit 1 when over the limit or\n"
	"when the registry is inconsistent.\n";

struct pending {
	char *tmp;
	char *dest;
};

/* Write text next to dest, flushed to disk, so the rename that publishes it is atomic. */
static int write_temp(const char *dest, const char *text, char **tmp_out)
{
	size_t len = strlen(text), off = 0;
	char *tmp;
	int fd;

	if (asprintf(&tmp, "%s.tmpXXXXXX", dest) < 0)
		return -1;
	fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	*tmp_out = tmp;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

static int write_files(const struct p25_compile_output *out, const bool *want, size_t nwant,
		       const char *file)
{
	struct pending pend[P25_COMPILE_MAX_PARTS];
	size_t np = 0;
	int rc = EXIT_OK;

	memset(pend, 0, sizeof pend);
	for (size_t i = 0; i < out->nparts && rc == EXIT_OK; i++) {
		char *dest;

		if (!want[i])
			continue;
		if (nwant == 1)
			dest = strdup(file);
		else if (asprintf(&dest, "%s.%s", file, out->parts[i].name) < 0)
			dest = NULL;
		if (!dest) {
			rc = cli_fail(EXIT_SYSTEM, "out of memory");
			break;
		}
		pend[np].dest = dest;
		if (write_temp(dest, out->parts[i].text, &pend[np].tmp) < 0)
			rc = cli_fail(EXIT_SYSTEM, "%s: %s", dest, strerror(errno));
		np++;
	}
	/* Publish only once every part is written, so a failure leaves the old files. */
	for (size_t i = 0; i < np && rc == EXIT_OK; i++)
		if (rename(pend[i].tmp, pend[i].dest) < 0)
			rc = cli_fail(EXIT_SYSTEM, "%s: %s", pend[i].dest, strerror(errno));
	for (size_t i = 0; i < np; i++) {
		if (pend[i].tmp) {
			if (rc != EXIT_OK)
				unlink(pend[i].tmp);
			free(pend[i].tmp);
		}
		free(pend[i].dest);
	}
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
		return cli_fail(EXIT_USAGE, "compile: -o needs a file name");
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
