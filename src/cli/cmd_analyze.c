/*
 * port25 analyze / port25 collect: which internal hosts speak SMTP, and what
 * blocking port 25 would do to them.  All the work is in libport25/analyze;
 * this file reads the command line, feeds the inputs and prints the reports.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "cli.h"
#include "flow/flow.h"
#include "model/model.h"
#include "util/file.h"

static const char analyze_usage[] =
	"usage: port25 analyze [options] [CAPTURE...]\n"
	"       port25 collect --listen ADDR:PORT [--duration D] [options]\n"
	"\n"
	"Find every internal host that speaks SMTP in packet captures (pcap, pcapng,\n"
	"gzip), flow exports or live traffic; say which are permitted, which would be\n"
	"blocked, and which of those look like mail servers to register first or like\n"
	"infected machines, with the evidence.\n"
	"\n"
	"inputs:\n"
	"  CAPTURE...            packet capture files ('-' for standard input)\n"
	"  --flows FILE          a capture of NetFlow v5/v9/IPFIX export packets (repeatable)\n"
	"  --flow-port N         only export packets sent to UDP port N in --flows files\n"
	"  --interface IF        capture live from IF (needs --duration or stops on Ctrl-C)\n"
	"  --listen ADDR:PORT    (collect) receive NetFlow/IPFIX on a UDP socket\n"
	"  --duration D          stop live capture or collection after D (\"90s\", \"5m\", or seconds)\n"
	"  --threads N           1: read files on one thread; 2 (default with 2 CPUs): decode on a\n"
	"                        second thread (the same results)\n"
	"internal space:\n"
	"  the organizations of the registry (--db), or:\n"
	"  --internal PREFIX     internal address space (repeatable; with or without a registry)\n"
	"  --org HANDLE          only hosts of this organization\n"
	"classifier:\n"
	"  --config FILE         thresholds as key = value lines (see docs/analyzer.md)\n"
	"  --set KEY=VALUE       one threshold (after --config)\n"
	"reports:\n"
	"  (default)             a table of hosts with the next step for each, and the summary\n"
	"                        line; as wide as the terminal (100 columns when not one)\n"
	"  --wide                the full table, every column on one line per host\n"
	"  --json, --csv         the whole report as JSON, or the host table as CSV\n"
	"  --html FILE           one self-contained HTML page with a timeline chart\n"
	"  --suggest FILE        an import file (port25 import) with the servers to register\n"
	"\n"
	"A damaged capture yields an error naming it; what was read before the damage is\n"
	"still reported, and the exit code is 1.\n";

/* The live loops end on a signal; a handler can reach them only through these. */
static volatile sig_atomic_t stop_requested;
static struct p25_live *live_to_break;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (live_to_break)
		p25_live_break(live_to_break);
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}

struct opts {
	const char *org, *config, *html, *suggest, *iface, *listen;
	const char **flows;
	size_t nflows;
	const char **sets;
	size_t nsets;
	struct p25_prefix *internal;
	size_t ninternal;
	int64_t duration;
	uint16_t flow_port;
	unsigned threads; /* 0: the analyzer's default */
	bool csv, collect, wide;
};

static int parse_duration(const char *s, int64_t *out)
{
	char err[160], *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!errno && end != s && !*end && v > 0) {
		*out = v;
		return 0;
	}
	if (p25_duration_parse(s, out, err, sizeof err) < 0)
		return cli_fail(EXIT_USAGE, "--duration '%s': %s", s, err), -1;
	return 0;
}

static int parse_opts(struct cli *cli, int argc, char **argv, struct opts *o)
{
	static const struct option options[] = {
		{"org", required_argument, NULL, 'o'},	    {"internal", required_argument, NULL, 'i'},
		{"config", required_argument, NULL, 'c'},   {"set", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},	    {"csv", no_argument, NULL, 'C'},
		{"html", required_argument, NULL, 'H'},	    {"suggest", required_argument, NULL, 'S'},
		{"flows", required_argument, NULL, 'f'},    {"flow-port", required_argument, NULL, 'p'},
		{"interface", required_argument, NULL, 'I'}, {"listen", required_argument, NULL, 'l'},
		{"duration", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'},
		{"threads", required_argument, NULL, 'T'}, {"wide", no_argument, NULL, 'W'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = cli_getopt(cli, argc, argv, "h", options)) != -1) {
		switch (c) {
		case 'o': o->org = optarg; break;
		case 'c': o->config = optarg; break;
		case 'j': cli->json = true; break;
		case 'C': o->csv = true; break;
		case 'W': o->wide = true; break;
		case 'H': o->html = optarg; break;
		case 'S': o->suggest = optarg; break;
		case 'I': o->iface = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'i': {
			struct p25_diag d;
			void *p = realloc(o->internal, (o->ninternal + 1) * sizeof *o->internal);
			if (!p)
				return cli_fail(EXIT_SYSTEM, "out of memory");
			o->internal = p;
			if (p25_prefix_parse(optarg, P25_PARSE_UNMAP, &o->internal[o->ninternal], &d) < 0)
				return cli_fail(EXIT_USAGE, "--internal: %s", d.error);
			o->ninternal++;
			break;
		}
		case 's': case 'f': {
			const char ***v = c == 's' ? &o->sets : &o->flows;
			size_t *n = c == 's' ? &o->nsets : &o->nflows;
			void *p = realloc(*v, (*n + 1) * sizeof **v);
			if (!p)
				return cli_fail(EXIT_SYSTEM, "out of memory");
			*v = p;
			(*v)[(*n)++] = optarg;
			break;
		}
		case 'p': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > 65535)
				return cli_fail(EXIT_USAGE, "--flow-port '%s': expected 1..65535", optarg);
			o->flow_port = (uint16_t)v;
			break;
		}
		case 'd':
			if (parse_duration(optarg, &o->duration) < 0)
				return EXIT_USAGE;
			break;
		case 'T':
			if (strcmp(optarg, "1") && strcmp(optarg, "2"))
				return cli_fail(EXIT_USAGE, "--threads '%s': expected 1 or 2", optarg);
			o->threads = (unsigned)(optarg[0] - '0');
			break;
		case 'h': fputs(analyze_usage, stdout); return -1;
		default: fputs(analyze_usage, stderr); return EXIT_USAGE;
		}
	}
	if (o->csv && cli->json)
		return cli_fail(EXIT_USAGE, "--json and --csv exclude each other");
	if (o->collect) {
		if (!o->listen)
			return cli_fail(EXIT_USAGE, "collect: --listen ADDR:PORT is required");
		if (optind < argc || o->nflows || o->iface)
			return cli_fail(EXIT_USAGE, "collect takes flows from --listen only; use "
						    "analyze for files and interfaces");
	} else {
		if (o->listen)
			return cli_fail(EXIT_USAGE, "--listen belongs to port25 collect");
		if (optind >= argc && !o->nflows && !o->iface)
			return cli_fail(EXIT_USAGE, "analyze: no input (capture files, --flows FILE "
						    "or --interface IF)");
	}
	return EXIT_OK;
}

static int split_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long v;

	if (!colon)
		return cli_fail(EXIT_USAGE, "--listen '%s': expected ADDR:PORT", s);
	v = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || v < 0 || v > 65535)
		return cli_fail(EXIT_USAGE, "--listen '%s': bad port", s);
	if (s[0] == '[' && colon > s && colon[-1] == ']')
		snprintf(host, hostlen, "%.*s", (int)(colon - s - 2), s + 1);
	else
		snprintf(host, hostlen, "%.*s", (int)(colon - s), s);
	if (!*host)
		snprintf(host, hostlen, "0.0.0.0");
	*port = (uint16_t)v;
	return EXIT_OK;
}

static void print_flow_stats(const struct p25_flow_stats *s, json_t *doc)
{
	json_t *j = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "packets",
		(json_int_t)s->packets, "records", (json_int_t)s->records, "templates",
		(json_int_t)s->templates, "template_withdrawals", (json_int_t)s->template_withdrawals,
		"unknown_template_sets", (json_int_t)s->unknown_template_sets, "malformed_packets",
		(json_int_t)s->malformed_packets, "malformed_sets", (json_int_t)s->malformed_sets,
		"sequence_gaps", (json_int_t)s->seq_gaps, "missing_records",
		(json_int_t)s->missing_records, "missing_packets", (json_int_t)s->missing_packets,
		"sequence_resets", (json_int_t)s->seq_resets, "not_flow", (json_int_t)s->not_flow,
		"options_records", (json_int_t)s->options_records);
	json_object_set_new(j, "ip_fragments", json_integer((json_int_t)s->ip_fragments));
	json_object_set_new(j, "ip_reassembled", json_integer((json_int_t)s->ip_reassembled));
	json_object_set_new(j, "ip_fragments_incomplete",
			    json_integer((json_int_t)s->ip_frag_incomplete));
	json_object_set_new(j, "ip_fragments_invalid",
			    json_integer((json_int_t)s->ip_frag_invalid));
	json_object_set_new(doc, "flow_decoder", j);
}

/* Through the library's writer: a regular file atomically, a device or link in place. */
static int write_file(const char *path, int (*fn)(struct p25_analyzer *, FILE *, void *),
		      struct p25_analyzer *an, void *arg)
{
	struct p25_outfile of;
	char err[512];
	int rc = EXIT_OK;

	if (p25_outfile_open(&of, path, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM, "%s", err);
	if (fn(an, of.f, arg) < 0)
		rc = cli_fail(EXIT_SYSTEM, "%s: write failed", path);
	else if (p25_outfile_close(&of, err, sizeof err) < 0 ||
		 p25_outfile_publish(&of, err, sizeof err) < 0)
		rc = cli_fail(EXIT_SYSTEM, "%s", err);
	p25_outfile_discard(&of);
	return rc;
}

static int html_fn(struct p25_analyzer *an, FILE *f, void *arg)
{
	return p25_an_report_html(an, arg, f);
}

static int suggest_fn(struct p25_analyzer *an, FILE *f, void *arg)
{
	return p25_an_suggest_csv(an, arg, f) < 0 ? -1 : 0;
}

/*
 * The hosts in table order: address order, each server's other addresses
 * (the other family, same HELO) right after its first.  NULL when out of memory.
 */
static size_t *display_order(struct p25_analyzer *an, size_t *n)
{
	const struct p25_an_host *h = p25_an_hosts(an, n);
	size_t *order = malloc(*n * sizeof *order + 1), k = 0;

	for (size_t i = 0; order && i < *n; i++)
		if (h[i].same_as < 0)
			k += p25_an_same_server(an, i, order + k, P25_AN_SAME_MAX < *n - k ? P25_AN_SAME_MAX : *n - k);
	return order;
}

/* The terminal's width when stdout is one, else 100; never under 60. */
static int table_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col < 60 ? 60 : ws.ws_col;
	return 100;
}

/* s cut to at most w bytes, "..." marking the cut. */
static void fit(char *dst, size_t len, const char *s, int w)
{
	if ((int)strlen(s) <= w || w < 4)
		snprintf(dst, len, "%s", s);
	else
		snprintf(dst, len, "%.*s...", w - 3, s);
}

/*
 * "label text" wrapped at width on spaces, continuation lines under the
 * text; at most max_lines, the last ending in "..." when there was more.
 */
static bool print_wrapped(const char *label, const char *text, int width, int max_lines)
{
	int lines = 0;
	int indent = 4 + (int)strlen(label), room = width - indent;
	const char *p = text;
	bool first = true;

	if (room < 20)
		room = 20;
	while (*p) {
		int n = (int)strlen(p);
		bool cut = ++lines == max_lines && n > room;
		if (cut)
			room -= 4;
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = room; /* one long word: cut it */
		}
		printf("%*s%s", first ? 4 : indent, "", first ? label : "");
		for (int c = 0; c < n; c++)
			putchar((unsigned char)p[c] < 0x20 || p[c] == 0x7f ? '?' : p[c]);
		puts(cut ? " ..." : "");
		if (cut)
			return true;
		p += n;
		while (*p == ' ')
			p++;
		first = false;
	}
	return false;
}

/*
 * The default table: one line of figures per host, as wide as the terminal,
 * then the next step and the reasons wrapped under it.
 */
static void print_table(struct p25_analyzer *an)
{
	enum { ADDR, ORG, CLS, BOT, CONF, OUT, DESTS, HELO, NCOL };
	static const char *const head[NCOL] = {"ADDRESS", "ORG", "CLASS", "BOT%",
					       "CONF", "OUT25", "DESTS", "HELO"};
	int w[NCOL], width = table_width(), used = 0;
	size_t n, *order = display_order(an, &n);
	const struct p25_an_host *h = p25_an_hosts(an, &n);
	char cell[NCOL][P25_AN_STEP_LEN];
	bool grouped = false, cut = false, show[NCOL];

	if (!order) {
		cli_fail(EXIT_SYSTEM, "out of memory");
		return;
	}
	for (int c = 0; c < NCOL; c++) {
		w[c] = (int)strlen(head[c]);
		show[c] = true;
	}
	/* Two passes: the widths, then the lines. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			/*
			 * Narrow terminals: the confidence, then the destinations
			 * go (--wide has them), then the organization is cut;
			 * the HELO takes what is left, at least 8.
			 */
			static const int drop[] = {CONF, DESTS};
			for (int c = 0; c < HELO; c++)
				used += w[c] + 2;
			for (size_t k = 0; k < sizeof drop / sizeof *drop && used + 8 > width; k++) {
				used -= w[drop[k]] + 2;
				show[drop[k]] = false;
			}
			if (used + 8 > width && w[ORG] > 6) {
				int less = used + 8 - width < w[ORG] - 6 ? used + 8 - width : w[ORG] - 6;
				w[ORG] -= less;
				used -= less;
			}
			if (w[HELO] > width - used)
				w[HELO] = width - used < 8 ? 8 : width - used;
			for (int c = 0; c < NCOL; c++)
				if (show[c])
					printf("%-*s%s", c + 1 < NCOL ? w[c] : 0, head[c],
					       c + 1 < NCOL ? "  " : "\n");
		}
		for (size_t oi = 0; oi < n; oi++) {
			const struct p25_an_host *x = &h[order[oi]];
			const struct p25_an_smtp *sm = p25_an_host_smtp(x);
			const char *org = p25_an_host_org(an, x);
			char addr[P25_ADDR_STRLEN], why[P25_AN_STEP_LEN];
			snprintf(cell[ADDR], sizeof cell[ADDR], "%s%s", x->same_as >= 0 ? "+ " : "",
				 p25_addr_format(&x->addr, addr, sizeof addr));
			fit(cell[ORG], sizeof cell[ORG], org ? org : "-", pass ? w[ORG] : 20);
			snprintf(cell[CLS], sizeof cell[CLS], "%s", p25_an_class_name(x->cls));
			snprintf(cell[BOT], sizeof cell[BOT], "%d", x->score);
			snprintf(cell[CONF], sizeof cell[CONF], "%d", x->confidence);
			snprintf(cell[OUT], sizeof cell[OUT], "%llu", (unsigned long long)x->out25.conns);
			snprintf(cell[DESTS], sizeof cell[DESTS], "%s%llu",
				 p25_an_distinct_estimated(x) ? "~" : "",
				 (unsigned long long)p25_an_distinct_dests(x));
			fit(cell[HELO], sizeof cell[HELO], sm->nhelo_names ? sm->helo_names[0] : "-",
			    pass ? w[HELO] : P25_AN_HELO_LEN);
			if (pass == 0) {
				for (int c = 0; c < NCOL; c++)
					if ((int)strlen(cell[c]) > w[c])
						w[c] = (int)strlen(cell[c]);
				continue;
			}
			for (int c = 0; c < NCOL; c++) {
				const char *t = cell[c];
				int k = 0;
				if (!show[c])
					continue;
				for (; t[k]; k++)
					putchar((unsigned char)t[k] < 0x20 || t[k] == 0x7f ? '?' : t[k]);
				if (c + 1 < NCOL)
					printf("%*s", w[c] - k + 2, "");
			}
			putchar('\n');
			print_wrapped("next: ", p25_an_next_step(an, x, why, sizeof why), width, 0);
			if (x->reasons[0])
				cut |= print_wrapped("why:  ", x->reasons, width, 3);
			grouped |= x->same_as >= 0;
		}
	}
	if (!n)
		puts("(none)");
	if (grouped)
		puts("\n+ another address of the server above: the other address family, the same "
		     "HELO name.");
	if (cut)
		puts("Reasons are cut at three lines: --wide, --csv or --json has them all.");
	free(order);
}

static void print_wide(const struct cli *cli, struct p25_analyzer *an)
{
	static const struct cli_column cols[] = {
		{"address", "ADDRESS"},	   {"organization", "ORG"}, {"class", "CLASS"},
		{"score", "BOT%"},	   {"confidence", "CONF"},	   {"out", "OUT25"},	    {"est", "EST"},
		{"rst", "RST"},		   {"noans", "NOANS"},	    {"dests", "DESTS"},
		{"in", "IN25"},		   {"sub", "465/587"},	    {"helo", "HELO"},
		{"messages", "MSGS"},	   {"reasons", "REASONS"},  {"next", "NEXT STEP"},
		{NULL, NULL},
	};
	size_t n;
	const struct p25_an_host *h = p25_an_hosts(an, &n);
	json_t *rows = json_array();
	struct cli plain = *cli;

	plain.json = false;
	size_t *order = display_order(an, &n);
	for (size_t oi = 0; order && oi < n; oi++) {
		size_t i = order[oi];
		json_t *j = p25_an_host_json(an, &h[i]), *o = json_object_get(j, "smtp_out");
		json_t *names = json_object_get(json_object_get(j, "smtp"), "helo_names");
		json_t *reasons = json_object_get(j, "reasons"), *r;
		char why[600] = "", dests[32];
		size_t k;
		/* An estimate reads as one: "~420", not "420". */
		snprintf(dests, sizeof dests, "%s%llu",
			 json_is_true(json_object_get(o, "distinct_destinations_estimated")) ? "~" : "",
			 (unsigned long long)json_integer_value(
				 json_object_get(o, "distinct_destinations")));
		json_array_foreach(reasons, k, r)
			snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s", k ? "; " : "",
				 json_string_value(r));
		char addr[P25_ADDR_STRLEN + 4];
		snprintf(addr, sizeof addr, "%s%s", h[i].same_as >= 0 ? "+ " : "",
			 json_string_value(json_object_get(j, "address")));
		json_t *row = json_pack(
			"{s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:O, s:O, s:O, s:O, s:s, s:O}",
			"address", addr, "organization",
			json_object_get(j, "organization"), "class", json_object_get(j, "class"),
			"score", json_object_get(j, "score"), "confidence",
			json_object_get(j, "confidence"), "out", json_object_get(o, "connections"),
			"est", json_object_get(o, "established"), "rst", json_object_get(o, "reset"),
			"noans", json_object_get(o, "no_answer"), "dests", dests, "in",
			json_object_get(json_object_get(j, "smtp_in"), "connections"), "sub",
			json_object_get(json_object_get(j, "submission"), "connections"), "helo",
			json_array_size(names) ? json_array_get(names, 0) : json_null(), "messages",
			json_object_get(json_object_get(j, "smtp"), "messages"), "reasons", why, "next",
			json_object_get(j, "next_step"));
		json_array_append_new(rows, row);
		json_decref(j);
	}
	if (!order)
		cli_fail(EXIT_SYSTEM, "out of memory");
	cli_print_rows(&plain, rows, cols);
	json_decref(rows);
	free(order);
}

static int report(struct cli *cli, const struct opts *o, struct p25_analyzer *an,
		  const struct p25_flow_decoder *dec, const char *title)
{
	struct p25_an_summary s;
	char line[400];
	int rc = EXIT_OK;

	p25_an_finish(an);
	p25_an_summarize(an, &s);
	p25_an_summary_line(&s, line, sizeof line);
	if (cli->json) {
		/* Streamed: a tree of thousands of hosts would cost more than the analysis. */
		json_t *extra = json_object();
		if (dec)
			print_flow_stats(p25_flow_decoder_stats(dec), extra);
		json_object_set_new(extra, "memory_bytes", json_integer((json_int_t)p25_an_memory(an)));
		if (p25_an_report_json_stream(an, extra, stdout) < 0 || fflush(stdout) != 0)
			rc = cli_fail(EXIT_SYSTEM, "write failed");
		json_decref(extra);
	} else if (o->csv) {
		if (p25_an_report_csv(an, stdout) < 0)
			rc = cli_fail(EXIT_SYSTEM, "write failed");
	} else {
		if (o->wide)
			print_wide(cli, an);
		else
			print_table(an);
		printf("\n%s.\n", line);
		/* The score is read wrongly unless it says what it is. */
		puts("BOT%: bot likelihood 0-100, one scale in every class (docs/analyzer.md); "
		     "CONF: confidence in the class.");
		p25_an_report_text_stats(an, dec ? p25_flow_decoder_stats(dec) : NULL, stdout);
	}
	if (o->html && rc == EXIT_OK)
		rc = write_file(o->html, html_fn, an, (void *)title);
	if (o->suggest && rc == EXIT_OK)
		rc = write_file(o->suggest, suggest_fn, an, (void *)cli->actor);
	return rc;
}

static int live_packet(void *ctx, const struct p25_packet *p)
{
	p25_an_packet(ctx, p);
	return 0;
}

static int run_live(struct p25_analyzer *an, const struct opts *o)
{
	struct p25_live_opts lo = {.ifname = o->iface, .promisc = 1};
	char err[512];
	struct p25_live *l = p25_live_open(&lo, err, sizeof err);
	int rc = EXIT_OK;
	uint64_t recv, drop;

	if (!l)
		return cli_fail(EXIT_SYSTEM, "%s", err);
	live_to_break = l;
	catch_signals();
	/* Capturing from here on: tests and scripts wait for this line. */
	fprintf(stderr, "port25: capturing on %s\n", o->iface);
	fflush(stderr);
	if (o->duration)
		alarm((unsigned)o->duration);
	if (!stop_requested && p25_live_loop(l, 0, live_packet, an) < 0)
		rc = cli_fail(EXIT_SYSTEM, "%s: %s", o->iface, p25_live_strerror(l));
	alarm(0);
	if (p25_live_stats(l, &recv, &drop) == 0 && drop)
		cli_warn("%s: the kernel dropped %llu of %llu packets", o->iface,
			 (unsigned long long)drop, (unsigned long long)recv);
	live_to_break = NULL;
	p25_live_close(l);
	return rc;
}

static int run_collect(struct p25_analyzer *an, struct p25_flow_decoder *dec, const struct opts *o)
{
	char host[128], err[512];
	uint16_t port = 0;
	struct p25_flow_receiver *r;
	struct timespec t0, t;
	int rc;

	if ((rc = split_listen(o->listen, host, sizeof host, &port)) != EXIT_OK)
		return rc;
	r = p25_flow_receiver_open(host, port, err, sizeof err);
	if (!r)
		return cli_fail(EXIT_SYSTEM, "--listen %s: %s", o->listen, err);
	catch_signals();
	/* Tests and scripts wait for this line before they start exporting. */
	fprintf(stderr, "port25: collecting on %s port %u\n", host,
		(unsigned)p25_flow_receiver_port(r));
	fflush(stderr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!stop_requested) {
		/* Milliseconds, not whole seconds of the clock: --duration 1 is a second. */
		int64_t left = 200;
		if (o->duration) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = o->duration * 1000 - ((int64_t)(t.tv_sec - t0.tv_sec) * 1000 +
						     (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				break;
		}
		int wait_ms = left < 200 ? (int)left : 200;
		if (p25_flow_receiver_poll(r, dec, p25_an_flows, an, wait_ms) < 0) {
			rc = cli_fail(EXIT_SYSTEM, "--listen %s: receive failed", o->listen);
			break;
		}
	}
	p25_flow_receiver_close(r);
	return rc;
}

/*
 * Keep in the registry what the analysis found per organization, so that
 * activating one warns about the mail servers it would block (org set):
 * with --org, that organization's finding even when none of its hosts was
 * seen; without, each organization with hosts in the input.  A registry
 * that cannot be written costs a warning, not the report.
 */
static void record_findings(struct cli *cli, struct p25_analyzer *an, const struct p25_model *m,
			    const char *org)
{
	size_t n, nf = 0, k = 0;
	const struct p25_an_host *h = p25_an_hosts(an, &n);
	size_t *hosts = calloc(m->norgs + 1, sizeof *hosts);
	struct p25_analysis_finding *f = calloc(m->norgs + 1, sizeof *f);
	char (*addr)[P25_ADDR_STRLEN] = calloc(n + 1, sizeof *addr);
	const char **ptr = calloc(n + 1, sizeof *ptr);
	struct p25_actor who = {.name = cli->actor, .now = cli->now};

	if (!hosts || !f || !addr || !ptr) {
		cli_warn("out of memory: the findings were not kept in the registry");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (h[i].org >= 0 && (size_t)h[i].org < m->norgs)
			hosts[h[i].org]++;
	for (size_t o = 0; o < m->norgs; o++) {
		if (org ? strcmp(org, m->orgs[o].handle) != 0 : hosts[o] == 0)
			continue;
		/* The org's hosts as --json reports them, for the member's portal. */
		f[nf] = (struct p25_analysis_finding){.org = m->orgs[o].handle,
						      .hosts = hosts[o],
						      .unregistered = &ptr[k],
						      .report = json_array()};
		for (size_t i = 0; i < n; i++) {
			if (h[i].org != (ssize_t)o)
				continue;
			json_array_append_new(f[nf].report, p25_an_host_json(an, &h[i]));
			if (h[i].cls != P25_AN_SERVER)
				continue;
			ptr[k] = p25_addr_format(&h[i].addr, addr[k], sizeof addr[k]);
			k++;
			f[nf].n++;
		}
		nf++;
	}
	if (nf && p25_analysis_record(cli->reg, &who, f, nf) < 0)
		cli_warn("the findings were not kept in the registry: %s",
			 p25_registry_error(cli->reg));
out:
	for (size_t i = 0; f && i < nf; i++)
		json_decref(f[i].report);
	free(hosts);
	free(f);
	free(addr);
	free(ptr);
}

/* Each organization's first security contact, whom the next step of a bot names. */
static int set_contacts(struct cli *cli, struct p25_analyzer *an)
{
	json_t *rows = NULL, *c;
	size_t i;

	if (p25_contact_list(cli->reg, NULL, &rows) < 0) {
		cli_warn("contacts not read: %s", p25_registry_error(cli->reg));
		return 0;
	}
	/* Backwards, so that an organization's first security contact is the one kept. */
	for (i = json_array_size(rows); i-- > 0;) {
		c = json_array_get(rows, i);
		const char *role = json_string_value(json_object_get(c, "role"));
		const char *org = json_string_value(json_object_get(c, "org"));
		if (!role || !org || strcmp(role, "security") != 0)
			continue;
		if (p25_an_set_security_contact(an, org,
						json_string_value(json_object_get(c, "name")),
						json_string_value(json_object_get(c, "email"))) < 0) {
			json_decref(rows);
			return -1;
		}
	}
	json_decref(rows);
	return 0;
}

static int analyze(struct cli *cli, int argc, char **argv, bool collect)
{
	struct opts o = {.collect = collect};
	struct p25_an_config cfg;
	struct p25_model model;
	bool have_model = false;
	struct p25_analyzer *an = NULL;
	struct p25_flow_decoder *dec = NULL;
	char err[512], title[200];
	int rc;

	p25_an_config_default(&cfg);
	rc = parse_opts(cli, argc, argv, &o);
	if (rc != EXIT_OK)
		goto out;
	/* A missing file is bad input (1); a file with a bad line is a usage error (2). */
	if (o.config && access(o.config, R_OK) != 0) {
		rc = cli_fail(EXIT_REFUSED, "--config %s: %s", o.config, strerror(errno));
		goto out;
	}
	if (o.config && p25_an_config_load(&cfg, o.config, err, sizeof err) < 0) {
		rc = cli_fail(EXIT_USAGE, "--config %s", err);
		goto out;
	}
	for (size_t i = 0; i < o.nsets; i++) {
		char key[64];
		const char *eq = strchr(o.sets[i], '=');
		if (!eq || eq == o.sets[i] || (size_t)(eq - o.sets[i]) >= sizeof key) {
			rc = cli_fail(EXIT_USAGE, "--set '%s': expected KEY=VALUE", o.sets[i]);
			goto out;
		}
		snprintf(key, sizeof key, "%.*s", (int)(eq - o.sets[i]), o.sets[i]);
		if (p25_an_config_set(&cfg, key, eq + 1, err, sizeof err) < 0) {
			rc = cli_fail(EXIT_USAGE, "--set: %s", err);
			goto out;
		}
	}
	/* Every input must be there before any work, so a typo costs nothing. */
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") != 0 && access(argv[i], R_OK) != 0) {
			rc = cli_fail(EXIT_REFUSED, "%s: %s", argv[i], strerror(errno));
			goto out;
		}
	for (size_t i = 0; i < o.nflows; i++)
		if (access(o.flows[i], R_OK) != 0) {
			rc = cli_fail(EXIT_REFUSED, "--flows %s: %s", o.flows[i], strerror(errno));
			goto out;
		}
	/* The registry gives internal space and permits; --internal alone works without one. */
	if (!o.ninternal || o.org || access(cli->db_path, F_OK) == 0) {
		if ((rc = cli_open_registry(cli)) != EXIT_OK) {
			if (!o.ninternal)
				cli_warn("without a registry, give the internal space with --internal "
					 "PREFIX");
			goto out;
		}
		p25_model_init(&model);
		have_model = true;
		if ((rc = p25_registry_load_model(cli->reg, &model)) < 0) {
			rc = cli_registry_fail(cli, rc);
			goto out;
		}
	}
	an = p25_an_new(&cfg, have_model ? &model : NULL, o.org, o.internal, o.ninternal, cli->now,
			err, sizeof err);
	if (!an) {
		rc = cli_fail(EXIT_REFUSED, "%s: %s", collect ? "collect" : "analyze", err);
		goto out;
	}
	if (o.threads)
		p25_an_set_threads(an, o.threads);
	if ((o.suggest && p25_an_set_suggest_file(an, o.suggest) < 0) ||
	    (have_model && cli->reg && set_contacts(cli, an) < 0)) {
		rc = cli_fail(EXIT_SYSTEM, "out of memory");
		goto out;
	}
	if (o.nflows || collect) {
		dec = p25_flow_decoder_new();
		if (!dec) {
			rc = cli_fail(EXIT_SYSTEM, "out of memory");
			goto out;
		}
	}
	int damaged = 0;
	for (int i = optind; i < argc; i++) {
		if (p25_an_read_capture(an, argv[i], err, sizeof err) < 0) {
			cli_warn("%s (what was read before is reported)", err);
			damaged = 1;
		}
	}
	for (size_t i = 0; i < o.nflows; i++) {
		if (p25_an_read_flow_capture(an, dec, o.flows[i], o.flow_port, err, sizeof err) <
		    0) {
			cli_warn("--flows %s (what was read before is reported)", err);
			damaged = 1;
		}
	}
	if (o.iface && (rc = run_live(an, &o)) != EXIT_OK)
		goto out;
	if (collect && (rc = run_collect(an, dec, &o)) != EXIT_OK)
		goto out;
	snprintf(title, sizeof title, "port25: SMTP hosts%s%s", o.org ? " of " : "",
		 o.org ? o.org : "");
	rc = report(cli, &o, an, dec, title);
	/* The member's portal gets the next steps without the operator's local file name. */
	if (rc == EXIT_OK && !damaged && have_model && cli->reg &&
	    p25_an_set_suggest_file(an, NULL) == 0)
		record_findings(cli, an, &model, o.org);
	if (rc == EXIT_OK && damaged)
		rc = EXIT_REFUSED;
out:
	p25_an_free(an);
	p25_flow_decoder_free(dec);
	if (have_model)
		p25_model_free(&model);
	free(o.internal);
	free(o.flows);
	free(o.sets);
	return rc < 0 ? EXIT_OK : rc;
}

int cmd_analyze(struct cli *cli, int argc, char **argv)
{
	return analyze(cli, argc, argv, false);
}

int cmd_collect(struct cli *cli, int argc, char **argv)
{
	return analyze(cli, argc, argv, true);
}
