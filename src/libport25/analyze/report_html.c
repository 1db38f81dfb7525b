/* One self-contained HTML page: summary, organizations, a timeline (inline SVG), hosts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report_int.h"

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static bool flagged(const struct p25_an_host *h)
{
	return h->cls == P25_AN_SERVER || h->cls == P25_AN_BOT;
}

/* One row per flagged host, one cell per hour, darker for more connections. */
static void html_timeline(const struct p25_analyzer *a, FILE *f)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	size_t rows = 0;
	const size_t maxrows = 60;
	const int label = 170, rowh = 16, width = 900;

	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		if (!flagged(h) || h->hour0 < 0 || rows >= maxrows)
			continue;
		rows++;
		for (uint32_t k = 0; k < h->nhours; k++) {
			if (!h->hours[k])
				continue;
			if (h->hour0 + k < lo)
				lo = h->hour0 + k;
			if (h->hour0 + (int64_t)k > hi)
				hi = h->hour0 + k;
		}
	}
	if (!rows || lo > hi) {
		fputs("<p>No flagged host has port-25 activity to chart.</p>\n", f);
		return;
	}
	int64_t span = hi - lo + 1;
	double cw = (double)(width - label) / (double)span;
	char t1[P25_TIME_STRLEN], t2[P25_TIME_STRLEN];
	fprintf(f,
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%zu\" "
	        "role=\"img\" aria-label=\"hourly port-25 connections of flagged hosts\">\n",
	        width, rows * (size_t)rowh + 30);
	fprintf(f, "<text x=\"%d\" y=\"12\" class=\"ax\">%s</text>", label,
	        p25_time_format(lo * 3600, t1, sizeof t1));
	fprintf(f, "<text x=\"%d\" y=\"12\" class=\"ax\" text-anchor=\"end\">%s</text>\n", width,
	        p25_time_format((hi + 1) * 3600, t2, sizeof t2));
	rows = 0;
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN];
		uint32_t max = 1;
		if (!flagged(h) || h->hour0 < 0 || rows >= maxrows)
			continue;
		double y = 20 + (double)rows * rowh;
		rows++;
		for (uint32_t k = 0; k < h->nhours; k++)
			if (h->hours[k] > max)
				max = h->hours[k];
		fprintf(f, "<text x=\"0\" y=\"%.0f\" class=\"%s\">%s</text>", y + 11,
		        h->cls == P25_AN_BOT ? "bot" : "srv",
		        p25_addr_format(&h->addr, buf, sizeof buf));
		for (uint32_t k = 0; k < h->nhours; k++) {
			if (!h->hours[k])
				continue;
			fprintf(
			    f,
			    "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" "
			    "fill-opacity=\"%.2f\"><title>%u</title></rect>",
			    label + (double)(h->hour0 + k - lo) * cw, y, cw > 1 ? cw : 1, rowh - 3,
			    h->cls == P25_AN_BOT ? "#c0392b" : "#2471a3",
			    0.25 + 0.75 * h->hours[k] / max, h->hours[k]);
		}
		fputc('\n', f);
	}
	fputs("</svg>\n", f);
}

/* The refusals naming a blocklist, with a reply of each host: its text is the remote's. */
static void html_blocklists(const struct p25_analyzer *a, FILE *f)
{
	bool any = false;

	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		const struct p25_an_smtp *s = p25_an_host_smtp(h);
		char buf[P25_PREFIX_STRLEN];
		const char *name;
		bool first = true;
		if (!s->bl_kind)
			continue;
		if (!any)
			fputs("<h2>Refusals naming a DNS blocklist</h2>\n<table><tr><th>address</th>"
			      "<th>class</th><th>naming its address</th><th>of ranges</th>"
			      "<th>not naming it</th><th>lists</th><th>a reply</th></tr>\n",
			      f);
		any = true;
		fprintf(f,
		        "<tr class=\"%s\"><td>%s</td><td>%s</td><td class=\"num\">%llu</td>"
		        "<td class=\"num\">%llu</td><td class=\"num\">%llu</td><td>",
		        p25_an_class_name(h->cls), p25_addr_format(&h->addr, buf, sizeof buf),
		        p25_an_class_name(h->cls),
		        (unsigned long long)s->bl_replies[P25_AN_BL_LISTED],
		        (unsigned long long)s->bl_replies[P25_AN_BL_RANGE],
		        (unsigned long long)s->bl_replies[P25_AN_BL_OTHER]);
		for (unsigned k = 0; (name = p25_an_blocklist_name(k)); k++)
			if (s->bl_lists >> k & 1) {
				fputs(first ? "" : ", ", f);
				html_text(f, name);
				first = false;
			}
		fputs("</td><td>", f);
		html_text(f, s->bl_reply);
		fputs("</td></tr>\n", f);
	}
	if (any)
		fputs("</table>\n", f);
}

int p25_an_report_html(const struct p25_analyzer *a, const char *title, FILE *f)
{
	struct p25_an_summary s;
	char line[400];

	p25_an_summarize(a, &s);
	p25_an_summary_line(&s, line, sizeof line);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	html_text(f, title);
	fputs("</title>\n<style>\n"
	      "body{font-family:system-ui,sans-serif;margin:1em;color:#222;line-height:1.4}\n"
	      "table{border-collapse:collapse;margin:1em 0}\n"
	      /* The hosts table scrolls in its own box; its reasons wrap instead of running off. */
	      ".wrap{overflow-x:auto;max-width:100%}\n"
	      "th{position:sticky;top:0}\n"
	      "td.reasons{min-width:20em;max-width:40em;white-space:normal}\n"
	      "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;"
	      "vertical-align:top}\n"
	      "th{background:#eee}.num{text-align:right}\n"
	      ".suspected-bot{background:#fadbd8}.unregistered-server{background:#d6eaf8}\n"
	      ".inbound-server{background:#ebf5fb}\n"
	      ".permitted{background:#d5f5e3}.summary{font-size:1.2em;font-weight:bold}\n"
	      "svg text{font-size:11px;font-family:monospace}.bot{fill:#c0392b}.srv{fill:#2471a3}\n"
	      ".ax{fill:#666}\n"
	      "</style></head><body>\n<h1>",
	      f);
	html_text(f, title);
	fputs("</h1>\n<p class=\"summary\">", f);
	html_text(f, line);
	fputs("</p>\n<h2>By organization</h2>\n<table><tr><th>organization</th><th>hosts</th>"
	      "<th>send SMTP</th><th>permitted</th><th>would be blocked</th>"
	      "<th>servers to register</th><th>suspected bots</th></tr>\n",
	      f);
	struct p25_an_org_summary *orgs;
	long norgs = p25_an_summarize_orgs(a, &orgs);
	if (norgs < 0)
		return -1;
	for (long k = 0; k < norgs; k++) {
		const struct p25_an_summary *o = &orgs[k].s;
		fputs("<tr><td>", f);
		html_text(f, orgs[k].org >= 0 ? a->model->orgs[orgs[k].org].handle
		                              : "(internal prefixes)");
		fprintf(f,
		        "</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td "
		        "class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
		        "<td class=\"num\">%zu</td></tr>\n",
		        o->hosts, o->send, o->permitted, o->blocked, o->servers, o->bots);
	}
	free(orgs);
	fputs("</table>\n<h2>Activity of flagged hosts (port-25 connections per hour, UTC)</h2>\n",
	      f);
	html_timeline(a, f);
	html_blocklists(a, f);
	fputs("<h2>Hosts</h2>\n<p>Bot likelihood: 0 to 100 in every class, from the points of "
	      "evidence for a bot against those for a server (docs/analyzer.md); 50 is the bot "
	      "threshold reached with no server evidence. Confidence: how strongly the evidence "
	      "supports the class.</p>\n",
	      f);
	fputs("<div class=\"wrap\"><table><tr><th>address</th><th>organization</th><th>class</th>"
	      "<th>bot likelihood</th><th>confidence</th><th>out</th><th>established</th><th>reset</th><th>no answer</th>"
	      "<th>destinations (~ estimated)</th><th>in</th><th>465/587</th><th>HELO</th><th>messages</th>"
	      "<th>first seen</th><th>last seen</th><th>reasons</th><th>next step</th></tr>\n",
	      f);
	/* One server's addresses together: the first of it, then the others. */
	for (size_t r = 0, g = 0, ng = 0, idx[P25_AN_SAME_MAX]; r < a->nhosts || g < ng;) {
		if (g == ng) {
			if (a->hosts[r].same_as >= 0) {
				r++;
				continue;
			}
			ng = p25_an_same_server(a, r++, idx, P25_AN_SAME_MAX);
			g = 0;
		}
		size_t i = idx[g++];
		const struct p25_an_host *h = &a->hosts[i];
		char step[P25_AN_STEP_LEN];
		char buf[P25_PREFIX_STRLEN], t1[P25_TIME_STRLEN] = "-", t2[P25_TIME_STRLEN] = "-";
		const char *org = p25_an_org_handle(a, h);
		if (h->first_ns)
			p25_time_format((p25_time)(h->first_ns / 1000000000ULL), t1, sizeof t1);
		if (h->last_ns)
			p25_time_format((p25_time)(h->last_ns / 1000000000ULL), t2, sizeof t2);
		fprintf(f, "<tr class=\"%s\"><td>%s%s%s</td><td>", p25_an_class_name(h->cls),
		        g > 1 ? "&#8627; " : "", p25_addr_format(&h->addr, buf, sizeof buf),
		        g > 1 ? " (the same server)" : "");
		html_text(f, org ? org : "-");
		fprintf(
		    f,
		    "</td><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td>"
		    "<td class=\"num\">%llu</td>"
		    "<td class=\"num\">%llu</td><td class=\"num\">%llu</td><td "
		    "class=\"num\">%llu</td><td class=\"num\">%s%llu</td><td class=\"num\">%llu</td>"
		    "<td class=\"num\">%llu</td><td>",
		    p25_an_class_name(h->cls), h->score, h->confidence,
		    (unsigned long long)h->out25.conns,
		    (unsigned long long)h->out25.outcome[P25_AN_ESTABLISHED],
		    (unsigned long long)h->out25.outcome[P25_AN_RESET],
		    (unsigned long long)h->out25.outcome[P25_AN_NOANSWER],
		    p25_an_distinct_estimated(h) ? "~" : "",
		    (unsigned long long)p25_an_distinct_dests(h), (unsigned long long)h->in25.conns,
		    (unsigned long long)h->sub.conns);
		html_text(f, p25_an_host_smtp(h)->nhelo_names ? h->smtp->helo_names[0] : "-");
		fprintf(f, "</td><td class=\"num\">%llu</td><td>%s</td><td>%s</td><td class=\"reasons\">",
		        (unsigned long long)p25_an_host_smtp(h)->messages, t1, t2);
		html_text(f, h->reasons);
		fputs("</td><td class=\"reasons\">", f);
		/* The security contact's name and e-mail come from the registry: escaped. */
		html_text(f, p25_an_next_step(a, h, step, sizeof step));
		fputs("</td></tr>\n", f);
	}
	fputs("</table></div>\n<p>Generated by port25 analyze. Ports 465 and 587 are never blocked."
	      "</p>\n</body></html>\n",
	      f);
	return ferror(f) ? -1 : 0;
}
