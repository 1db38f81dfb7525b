/* port25 compile: the registry's policy as firewall or router configuration. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compile/compile.h"
#include "util/file.h"
#include "util/linediff.h"

static const char compile_usage[] =
	"usage: port25 compile --target TARGET [--org HANDLE] [--log] [--max-entries N] [--part NAME]\n"
	"                      [--diff PREVIOUS] [-o FILE|-] [--json]\n"
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
	"Every file's header says until when it is the policy (\"Valid until T: recompile\n"
	"before then\": the next permit expiry or scheduled activation), and each temporary\n"
	"permit carries a comment with its expiry and description next to its entry.\n"
	"\n"
	"options:\n"
	"  --target T, -t T   the target (required)\n"
	"  --org HANDLE       only that organization's part, for the router or interface its\n"
	"                     traffic crosses (IOS and Junos name their lists after it;\n"
	"                     pf loads it into the anchor port25/HANDLE)\n"
	"  --log              log denied attempts: IOS `log`, Junos `syslog`, pf `log`,\n"
	"                     iptables NFLOG (rate-limited); nftables always logs to NFLOG.\n"
	"                     Rate-limit on the device: see docs/operator-guide.md\n"
	"  --diff PREVIOUS    print the lines to remove (-) and add (+) against the file\n"
	"                     compiled last time (PREVIOUS.PART for each part of a multi-part\n"
	"                     target), comments left out, each under the line it belongs to\n"
	"                     (@@): a router change ticket.  With -o the new file is written\n"
	"                     too; without it only the difference is printed\n"
	"  --max-entries N    refuse, writing nothing, when the output has more than N\n"
	"                     entries (set elements, ACL entries, rules and terms)\n"
	"  --part NAME        only this part of a multi-part target\n"
	"  -o FILE            write to FILE instead of standard output (- is standard\n"
	"                     output); a multi-part target writes FILE.PART for each\n"
	"                     part.  A regular file is replaced atomically, once every\n"
	"                     part is written; a device, FIFO or symbolic link is\n"
	"                     written in place (the link is followed), never replaced\n"
	"\n"
	"  --json             print what was compiled as a JSON object: target, entries,\n"
	"                     generated (the policy's instant, ISO 8601 UTC) and parts,\n"
	"                     each with the file written, or with -o absent its text\n"
	"                     (standard output then carries only the JSON)\n"
	"\n"
	"A line \"compiled TARGET: N entries ...\" reports what was done: on standard\n"
	"output with -o FILE, on standard error when the configuration itself goes to\n"
	"standard output (which then carries nothing else).  Exit 1 when over the\n"
	"limit or when the registry is inconsistent.\n";

/*
 * Every part is written before any is published, so a failure leaves the
 * old files (the ones replaced atomically; a device or link written in
 * place has nothing to keep).
 */
static int write_files(const struct p25_compile_output *out, char *const *dest)
{
	struct p25_outfile of[P25_COMPILE_MAX_PARTS];
	size_t n = 0;
	char err[512];
	int rc = EXIT_OK;

	for (size_t i = 0; i < out->nparts && rc == EXIT_OK; i++) {
		if (!dest[i])
			continue;
		if (p25_outfile_open(&of[n], dest[i], err, sizeof err) < 0) {
			rc = cli_fail(EXIT_SYSTEM, "%s", err);
			break;
		}
		fputs(out->parts[i].text, of[n].f);
		if (p25_outfile_close(&of[n], err, sizeof err) < 0)
			rc = cli_fail(EXIT_SYSTEM, "%s", err);
		n++;
	}
	for (size_t i = 0; i < n && rc == EXIT_OK; i++)
		if (p25_outfile_publish(&of[i], err, sizeof err) < 0)
			rc = cli_fail(EXIT_SYSTEM, "%s", err);
	for (size_t i = 0; i < n; i++)
		p25_outfile_discard(&of[i]);
	return rc;
}

/* The section a line of a hierarchical configuration belongs to: its last unindented line. */
struct diff_ctx {
	FILE *f;
	enum p25_target t;
	const struct p25_line *old, *new;
	size_t nold, nnew;
	const struct p25_line *last_section;
	json_t *lines; /* --json */
	size_t removed, added;
};

static const struct p25_line *section_of(const struct diff_ctx *d, char op, size_t index)
{
	const struct p25_line *v = op == '-' ? d->old : d->new;

	for (size_t i = index + 1; i-- > 0;) {
		if (v[i].n && v[i].s[0] != ' ' && v[i].s[0] != '\t' &&
		    !p25_compile_comment_line(d->t, v[i].s, v[i].n))
			return i == index ? NULL : &v[i];
	}
	return NULL;
}

static void diff_line(void *ctx, char op, const struct p25_line *line, size_t index)
{
	struct diff_ctx *d = ctx;
	const struct p25_line *sec = section_of(d, op, index);

	if (p25_compile_comment_line(d->t, line->s, line->n))
		return;
	op == '-' ? d->removed++ : d->added++;
	if (d->lines) {
		json_t *o = json_pack("{s:s, s:s#}", "op", op == '-' ? "remove" : "add", "line",
				      line->s, (int)line->n);
		if (sec)
			json_object_set_new(o, "in", json_stringn(sec->s, sec->n));
		json_array_append_new(d->lines, o);
		return;
	}
	if (sec && (!d->last_section || d->last_section->n != sec->n ||
		    memcmp(d->last_section->s, sec->s, sec->n) != 0)) {
		fprintf(d->f, "@@ %.*s\n", (int)sec->n, sec->s);
		d->last_section = sec;
	}
	fprintf(d->f, "%c %.*s\n", op, (int)line->n, line->s);
}

/*
 * The lines to remove and add against the file compiled last time, for a
 * router change ticket.  Comment lines (the header's dates and counts) are
 * left out: they are not configuration.
 */
static int print_diff(const struct cli *cli, enum p25_target t, const char *prev_path,
		      const char *text, json_t *parts_json)
{
	struct p25_line *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	struct diff_ctx d = {.f = stdout, .t = t};
	char *prev = NULL, err[512];
	size_t len;
	int rc = EXIT_OK;

	if ((rc = p25_file_read(prev_path, 256u << 20, &prev, &len, err, sizeof err)) < 0)
		return cli_fail(rc == -1 ? EXIT_REFUSED : EXIT_SYSTEM, "--diff: %s", err);
	if (p25_lines_split(prev, &a, &na) < 0 || p25_lines_split(text, &b, &nb) < 0) {
		rc = cli_fail(EXIT_SYSTEM, "out of memory");
		goto out;
	}
	d.old = a;
	d.nold = na;
	d.new = b;
	d.nnew = nb;
	if (cli->json)
		d.lines = json_array();
	else
		printf("# port25 compile --diff %s: lines to remove (-) and add (+), comments left out\n",
		       prev_path);
	if (p25_line_diff(a, na, b, nb, diff_line, &d) < 0) {
		rc = cli_fail(EXIT_SYSTEM, "out of memory");
		json_decref(d.lines);
		goto out;
	}
	if (cli->json) {
		json_array_append_new(parts_json,
				      json_pack("{s:s, s:I, s:I, s:o}", "previous", prev_path,
						"removed", (json_int_t)d.removed, "added",
						(json_int_t)d.added, "lines", d.lines));
	} else {
		printf("# %zu to remove, %zu to add%s\n", d.removed, d.added,
		       d.removed + d.added ? "" : ": the configuration is unchanged");
	}
out:
	free(prev);
	free(a);
	free(b);
	return rc;
}

/*
 * What was compiled: a JSON object, or one informational line.  The line
 * goes to standard output when the configuration went to files, and to
 * standard error when the configuration itself is on standard output, which
 * must carry nothing else.
 */
static void report(const struct cli *cli, enum p25_target t, const struct p25_compile_output *out,
		   const bool *want, char *const *dest, bool to_files, json_t *diffs)
{
	char when[P25_TIME_STRLEN], until[P25_TIME_STRLEN];
	size_t nwant = 0;

	p25_time_format(cli->now, when, sizeof when);
	p25_time_format(out->valid_until, until, sizeof until);
	if (cli->json) {
		json_t *parts = json_array();
		for (size_t i = 0; i < out->nparts; i++) {
			if (!want[i])
				continue;
			json_t *p = json_pack("{s:s, s:s, s:I}", "name", out->parts[i].name, "load",
					      out->parts[i].load_hint, "bytes",
					      (json_int_t)strlen(out->parts[i].text));
			if (to_files)
				json_object_set_new(p, "file", json_string(dest[i]));
			else if (!diffs)
				json_object_set_new(p, "text", json_string(out->parts[i].text));
			if (diffs)
				json_object_set(p, "diff", json_array_get(diffs, json_array_size(parts)));
			json_array_append_new(parts, p);
		}
		json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o}", "target", p25_target_name(t),
				      "entries", (json_int_t)out->entries, "generated", when,
				      "valid_until", out->valid_until ? json_string(until) : json_null(),
				      "parts", parts);
		cli_print_json(o);
		json_decref(o);
		return;
	}
	FILE *f = to_files ? stdout : stderr;
	for (size_t i = 0; i < out->nparts; i++)
		nwant += want[i];
	fprintf(f, "compiled %s: %zu entries", p25_target_name(t), out->entries);
	if (to_files) {
		fputs(", wrote", f);
		for (size_t i = 0, k = 0; i < out->nparts; i++)
			if (want[i])
				fprintf(f, "%s %s", k++ ? "," : "", dest[i]);
	} else if (nwant > 1) {
		fprintf(f, " in %zu parts", nwant);
	}
	fprintf(f, " (policy at %s; %s%s)\n", when,
		out->valid_until ? "valid until " : "no expiry", out->valid_until ? until : "");
}

int cmd_compile(struct cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{"target", required_argument, NULL, 't'},
		{"max-entries", required_argument, NULL, 'm'},
		{"part", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{"org", required_argument, NULL, 'O'},
		{"log", no_argument, NULL, 'L'},
		{"diff", required_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *target = NULL, *part = NULL, *file = NULL, *previous = NULL;
	json_t *diffs = NULL;
	struct p25_compile_opts opts = {0};
	struct p25_compile_output out;
	struct p25_model m;
	enum p25_target t;
	bool want[P25_COMPILE_MAX_PARTS] = {false};
	char *dest[P25_COMPILE_MAX_PARTS] = {NULL};
	size_t nwant = 0;
	char err[512];
	int c, rc = EXIT_OK;

	if (cli_wants_help(argc, argv, compile_usage))
		return EXIT_OK;
	while ((c = cli_getopt(cli, argc, argv, "t:o:h", options)) != -1) {
		switch (c) {
		case 't': target = optarg; break;
		case 'p': part = optarg; break;
		case 'o': file = optarg; break;
		case 'O': opts.org = optarg; break;
		case 'L': opts.log = true; break;
		case 'D': previous = optarg; break;
		case 'j': cli->json = true; break;
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
	for (size_t i = 0; file && i < out.nparts && rc == EXIT_OK; i++) {
		if (!want[i])
			continue;
		if (nwant == 1)
			dest[i] = strdup(file);
		else if (asprintf(&dest[i], "%s.%s", file, out.parts[i].name) < 0)
			dest[i] = NULL;
		if (!dest[i])
			rc = cli_fail(EXIT_SYSTEM, "out of memory");
	}
	/* Against the previous files first: -o may be about to replace them. */
	if (rc == EXIT_OK && previous) {
		diffs = json_array();
		for (size_t i = 0, k = 0; i < out.nparts && rc == EXIT_OK; i++) {
			char *prev = NULL;
			if (!want[i])
				continue;
			if (nwant == 1)
				prev = strdup(previous);
			else if (asprintf(&prev, "%s.%s", previous, out.parts[i].name) < 0)
				prev = NULL;
			if (!prev) {
				rc = cli_fail(EXIT_SYSTEM, "out of memory");
				break;
			}
			if (nwant > 1 && !cli->json)
				printf("%s# ==== part %s\n", k++ ? "\n" : "", out.parts[i].name);
			rc = print_diff(cli, t, prev, out.parts[i].text, diffs);
			free(prev);
		}
	}
	if (rc != EXIT_OK) {
		/* nothing more to do */
	} else if (file) {
		rc = write_files(&out, dest);
	} else if (previous) {
		/* only the difference */
	} else if (!cli->json) {
		for (size_t i = 0, k = 0; i < out.nparts; i++) {
			if (!want[i])
				continue;
			if (nwant > 1)
				printf("%s# ==== port25 %s part %s: load with %s\n", k++ ? "\n" : "",
				       target, out.parts[i].name, out.parts[i].load_hint);
			fputs(out.parts[i].text, stdout);
		}
	}
	if (rc == EXIT_OK && !(previous && !file && !cli->json))
		report(cli, t, &out, want, dest, file != NULL, diffs);
	json_decref(diffs);
	if (rc == EXIT_OK && (fflush(stdout) != 0 || ferror(stdout)))
		rc = cli_fail(EXIT_SYSTEM, "standard output: %s", strerror(errno));
	for (size_t i = 0; i < out.nparts; i++)
		free(dest[i]);
	p25_compile_output_free(&out);
	return rc;
}
