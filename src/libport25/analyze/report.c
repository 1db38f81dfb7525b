/* Reports of the analyzer: JSON, CSV, one self-contained HTML page, and the import file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "util/text.h"

static const char *org_handle(const struct p25_analyzer *a, const struct p25_an_host *h)
{
	return a->model && h->org >= 0 ? a->model->orgs[h->org].handle : NULL;
}

static bool would_block(const struct p25_an_host *h)
{
	return (h->block_out && h->out25.conns) || (h->block_in && h->in25.conns);
}

void p25_an_summarize(const struct p25_analyzer *a, struct p25_an_summary *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		s->hosts++;
		if (h->out25.conns)
			s->send++;
		if (h->cls == P25_AN_PERMITTED)
			s->permitted++;
		if (h->cls == P25_AN_CLIENT)
			s->clients++;
		if (would_block(h)) {
			s->blocked++;
			if (h->cls == P25_AN_SERVER)
				s->servers++;
			if (h->cls == P25_AN_BOT)
				s->bots++;
		}
	}
}

void p25_an_summary_line(const struct p25_an_summary *s, char *buf, size_t len)
{
	snprintf(buf, len,
		 "%zu host%s SMTP, %zu %s permitted, %zu would be blocked, of which %zu %s "
		 "to register before activation (%zu suspected bot%s)",
		 s->send, s->send == 1 ? " sends" : "s send", s->permitted,
		 s->permitted == 1 ? "is" : "are", s->blocked, s->servers,
		 s->servers == 1 ? "looks like a server" : "look like servers", s->bots,
		 s->bots == 1 ? "" : "s");
}

static json_t *iso(uint64_t ns)
{
	char t[P25_TIME_STRLEN];

	if (!ns)
		return json_null();
	return json_string(p25_time_format((p25_time)(ns / 1000000000ULL), t, sizeof t));
}

static json_t *side_json(const struct p25_an_side *s, bool with_outcome)
{
	json_t *j = json_pack("{s:I}", "connections", (json_int_t)s->conns);

	if (with_outcome) {
		json_object_set_new(j, "established",
				    json_integer((json_int_t)s->outcome[P25_AN_ESTABLISHED]));
		json_object_set_new(j, "reset", json_integer((json_int_t)s->outcome[P25_AN_RESET]));
		json_object_set_new(j, "no_answer",
				    json_integer((json_int_t)s->outcome[P25_AN_NOANSWER]));
	}
	json_object_set_new(j, "bytes_sent", json_integer((json_int_t)s->bytes_sent));
	json_object_set_new(j, "bytes_received", json_integer((json_int_t)s->bytes_recv));
	json_object_set_new(j, "packets_sent", json_integer((json_int_t)s->packets_sent));
	json_object_set_new(j, "packets_received", json_integer((json_int_t)s->packets_recv));
	return j;
}

json_t *p25_an_host_json(const struct p25_analyzer *a, const struct p25_an_host *h)
{
	char buf[P25_PREFIX_STRLEN];
	const char *org = org_handle(a, h);
	const struct p25_an_smtp *s = &h->smtp;
	json_t *j, *out, *reasons = json_array(), *names = json_array(), *hod = json_array(), *hours;

	j = json_pack("{s:s, s:o, s:s, s:i, s:i, s:i}", "address",
		      p25_addr_format(&h->addr, buf, sizeof buf), "organization",
		      org ? json_string(org) : json_null(), "class", p25_an_class_name(h->cls),
		      "score", h->score, "bot_score", h->bot_score, "server_score", h->server_score);
	for (const char *r = h->reasons; *r;) {
		size_t n = strcspn(r, ";");
		json_array_append_new(reasons, json_stringn(r, n));
		r += n;
		while (*r == ';' || *r == ' ')
			r++;
	}
	json_object_set_new(j, "reasons", reasons);
	json_object_set_new(j, "permitted", json_boolean(h->permit >= 0));
	if (h->permit >= 0 && a->model)
		json_object_set_new(j, "permit",
				    json_integer((json_int_t)a->model->permits[h->permit].id));
	json_object_set_new(j, "would_block_outbound", json_boolean(h->block_out && h->out25.conns));
	json_object_set_new(j, "would_block_inbound", json_boolean(h->block_in && h->in25.conns));
	out = side_json(&h->out25, true);
	json_object_set_new(out, "distinct_destinations",
			    json_integer((json_int_t)p25_an_distinct_dests(h)));
	json_object_set_new(j, "smtp_out", out);
	json_object_set_new(j, "smtp_in", side_json(&h->in25, true));
	json_object_set_new(j, "submission", side_json(&h->sub, true));
	json_object_set_new(j, "first_seen", iso(h->first_ns));
	json_object_set_new(j, "last_seen", iso(h->last_ns));
	for (int i = 0; i < 24; i++)
		json_array_append_new(hod, json_integer(h->hour_of_day[i]));
	json_object_set_new(j, "hour_of_day", hod);
	hours = json_array();
	for (uint32_t i = 0; i < h->nhours; i++)
		json_array_append_new(hours, json_integer(h->hours[i]));
	while (json_array_size(hours) && json_integer_value(json_array_get(hours, json_array_size(hours) - 1)) == 0)
		json_array_remove(hours, json_array_size(hours) - 1);
	json_object_set_new(j, "hourly",
			    json_pack("{s:o, s:o}", "start",
				      h->hour0 >= 0 ? iso((uint64_t)h->hour0 * 3600000000000ULL)
						    : json_null(),
				      "connections", hours));
	for (unsigned i = 0; i < s->nhelo_names && i < P25_AN_HELO_KEEP; i++)
		json_array_append_new(names, json_string(s->helo_names[i]));
	json_object_set_new(
		j, "smtp",
		json_pack("{s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			  "s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:o, s:I}",
			  "sessions", (json_int_t)s->sessions, "helo_names", names, "helo_distinct",
			  (json_int_t)s->nhelo_names, "helo_commands", (json_int_t)s->helo,
			  "helo_bare_ip", (json_int_t)s->helo_bare_ip, "helo_mismatch",
			  (json_int_t)s->helo_mismatch, "starttls", (json_int_t)s->starttls, "tls_ok",
			  (json_int_t)s->tls_ok, "mail_from", (json_int_t)s->mail_from, "rcpt_to",
			  (json_int_t)s->rcpt_to, "replies", "2xx", (json_int_t)s->replies[2], "3xx",
			  (json_int_t)s->replies[3], "4xx", (json_int_t)s->replies[4], "5xx",
			  (json_int_t)s->replies[5], "messages", (json_int_t)s->messages,
			  "message_bytes", (json_int_t)s->msg_bytes, "banner",
			  s->banner[0] ? json_string(s->banner) : json_null(), "sender_domains",
			  (json_int_t)s->sender_domains));
	json_object_set_new(j, "features",
			    json_pack("{s:i, s:i, s:I, s:i, s:i}", "fanout_max", (int)h->fan_max,
				      "burst_per_minute_max", (int)h->burst_max, "queue_retries",
				      (json_int_t)h->retries, "days_active", (int)h->days_active,
				      "hours_active", (int)h->hours_active));
	return j;
}

json_t *p25_an_report_json(const struct p25_analyzer *a)
{
	struct p25_an_summary s;
	char line[400];
	json_t *hosts = json_array(), *dec = json_object();
	const struct p25_an_stats *st = &a->stats;

	p25_an_summarize(a, &s);
	p25_an_summary_line(&s, line, sizeof line);
	for (size_t i = 0; i < a->nhosts; i++)
		json_array_append_new(hosts, p25_an_host_json(a, &a->hosts[i]));
	json_object_set_new(dec, "packets", json_integer((json_int_t)st->decode.packets));
	for (int r = 0; r < P25_DEC_NREASONS; r++)
		if (st->decode.count[r])
			json_object_set_new(dec, p25_decode_reason((enum p25_decode_result)r),
					    json_integer((json_int_t)st->decode.count[r]));
	return json_pack(
		"{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I, s:o}, s:o}",
		"summary", line, "counts", "hosts", (json_int_t)s.hosts, "send_smtp",
		(json_int_t)s.send, "permitted", (json_int_t)s.permitted, "would_block",
		(json_int_t)s.blocked, "servers_to_register", (json_int_t)s.servers,
		"suspected_bots", (json_int_t)s.bots, "client_only", (json_int_t)s.clients, "input",
		"segments", (json_int_t)st->segments, "flows", (json_int_t)st->flows, "flows_used",
		(json_int_t)st->flows_used, "connections", (json_int_t)st->conns,
		"connections_midstream", (json_int_t)st->conns_midstream, "connections_evicted",
		(json_int_t)st->conns_evicted, "orphan_segments", (json_int_t)st->orphans,
		"smtp_gaps", (json_int_t)st->smtp_gaps, "hosts_dropped",
		(json_int_t)st->hosts_dropped, "decode", dec, "hosts", hosts);
}

static void csv_field(FILE *f, const char *s, bool last)
{
	if (strpbrk(s, ",\"\n\r")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

int p25_an_report_csv(const struct p25_analyzer *a, FILE *f)
{
	fputs("address,organization,class,score,out_connections,out_established,out_reset,"
	      "out_no_answer,distinct_destinations,out_bytes_sent,out_bytes_received,"
	      "out_packets_sent,out_packets_received,in_connections,in_established,"
	      "submission_connections,first_seen,last_seen,helo,messages,would_block,reasons\n",
	      f);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN], t1[P25_TIME_STRLEN] = "", t2[P25_TIME_STRLEN] = "";
		const char *org = org_handle(a, h);
		if (h->first_ns)
			p25_time_format((p25_time)(h->first_ns / 1000000000ULL), t1, sizeof t1);
		if (h->last_ns)
			p25_time_format((p25_time)(h->last_ns / 1000000000ULL), t2, sizeof t2);
		csv_field(f, p25_addr_format(&h->addr, buf, sizeof buf), false);
		csv_field(f, org ? org : "", false);
		fprintf(f, "%s,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%s,%s,",
			p25_an_class_name(h->cls), h->score, (unsigned long long)h->out25.conns,
			(unsigned long long)h->out25.outcome[P25_AN_ESTABLISHED],
			(unsigned long long)h->out25.outcome[P25_AN_RESET],
			(unsigned long long)h->out25.outcome[P25_AN_NOANSWER],
			(unsigned long long)p25_an_distinct_dests(h),
			(unsigned long long)h->out25.bytes_sent,
			(unsigned long long)h->out25.bytes_recv,
			(unsigned long long)h->out25.packets_sent,
			(unsigned long long)h->out25.packets_recv, (unsigned long long)h->in25.conns,
			(unsigned long long)h->in25.outcome[P25_AN_ESTABLISHED],
			(unsigned long long)h->sub.conns, t1, t2);
		csv_field(f, h->smtp.nhelo_names ? h->smtp.helo_names[0] : "", false);
		fprintf(f, "%llu,%s,", (unsigned long long)h->smtp.messages,
			would_block(h) ? "yes" : "no");
		csv_field(f, h->reasons, true);
	}
	return ferror(f) ? -1 : 0;
}

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
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
			fprintf(f,
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

int p25_an_report_html(const struct p25_analyzer *a, const char *title, FILE *f)
{
	struct p25_an_summary s;
	char line[400];

	p25_an_summarize(a, &s);
	p25_an_summary_line(&s, line, sizeof line);
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", f);
	html_text(f, title);
	fputs("</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;color:#222}\n"
	      "table{border-collapse:collapse;margin:1em 0}\n"
	      "td,th{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;"
	      "vertical-align:top}\n"
	      "th{background:#eee}.num{text-align:right}\n"
	      ".suspected-bot{background:#fadbd8}.unregistered-server{background:#d6eaf8}\n"
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
	/* Per organization: a pass per distinct org, the host list being short. */
	for (ssize_t org = -1; org < (ssize_t)(a->model ? a->model->norgs : 0); org++) {
		size_t n = 0, send = 0, perm = 0, blk = 0, srv = 0, bot = 0;
		for (size_t i = 0; i < a->nhosts; i++) {
			const struct p25_an_host *h = &a->hosts[i];
			if (h->org != org)
				continue;
			n++;
			send += h->out25.conns > 0;
			perm += h->cls == P25_AN_PERMITTED;
			if (would_block(h)) {
				blk++;
				srv += h->cls == P25_AN_SERVER;
				bot += h->cls == P25_AN_BOT;
			}
		}
		if (!n)
			continue;
		fputs("<tr><td>", f);
		html_text(f, org >= 0 ? a->model->orgs[org].handle : "(internal prefixes)");
		fprintf(f,
			"</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td><td "
			"class=\"num\">%zu</td><td class=\"num\">%zu</td><td class=\"num\">%zu</td>"
			"<td class=\"num\">%zu</td></tr>\n",
			n, send, perm, blk, srv, bot);
	}
	fputs("</table>\n<h2>Activity of flagged hosts (port-25 connections per hour, UTC)</h2>\n",
	      f);
	html_timeline(a, f);
	fputs("<h2>Hosts</h2>\n<table><tr><th>address</th><th>organization</th><th>class</th>"
	      "<th>score</th><th>out</th><th>established</th><th>reset</th><th>no answer</th>"
	      "<th>destinations</th><th>in</th><th>465/587</th><th>HELO</th><th>messages</th>"
	      "<th>first seen</th><th>last seen</th><th>reasons</th></tr>\n",
	      f);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN], t1[P25_TIME_STRLEN] = "-", t2[P25_TIME_STRLEN] = "-";
		const char *org = org_handle(a, h);
		if (h->first_ns)
			p25_time_format((p25_time)(h->first_ns / 1000000000ULL), t1, sizeof t1);
		if (h->last_ns)
			p25_time_format((p25_time)(h->last_ns / 1000000000ULL), t2, sizeof t2);
		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", p25_an_class_name(h->cls),
			p25_addr_format(&h->addr, buf, sizeof buf));
		html_text(f, org ? org : "-");
		fprintf(f,
			"</td><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%llu</td>"
			"<td class=\"num\">%llu</td><td class=\"num\">%llu</td><td "
			"class=\"num\">%llu</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
			"<td class=\"num\">%llu</td><td>",
			p25_an_class_name(h->cls), h->score, (unsigned long long)h->out25.conns,
			(unsigned long long)h->out25.outcome[P25_AN_ESTABLISHED],
			(unsigned long long)h->out25.outcome[P25_AN_RESET],
			(unsigned long long)h->out25.outcome[P25_AN_NOANSWER],
			(unsigned long long)p25_an_distinct_dests(h),
			(unsigned long long)h->in25.conns, (unsigned long long)h->sub.conns);
		html_text(f, h->smtp.nhelo_names ? h->smtp.helo_names[0] : "-");
		fprintf(f, "</td><td class=\"num\">%llu</td><td>%s</td><td>%s</td><td>",
			(unsigned long long)h->smtp.messages, t1, t2);
		html_text(f, h->reasons);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<p>Generated by port25 analyze. Ports 465 and 587 are never blocked."
	      "</p>\n</body></html>\n",
	      f);
	return ferror(f) ? -1 : 0;
}

long p25_an_suggest_csv(const struct p25_analyzer *a, const char *requested_by, FILE *f)
{
	long n = 0;

	fputs("org,address,kind,description,requested_by,approved_by,expires\n", f);
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN], desc[200], helo[P25_AN_HELO_LEN];
		const char *org = org_handle(a, h);
		if (h->cls != P25_AN_SERVER || !would_block(h))
			continue;
		/* Description text goes into firewall comments later: keep it inert. */
		p25_text_inert(h->smtp.nhelo_names ? h->smtp.helo_names[0] : "", helo, sizeof helo);
		snprintf(desc, sizeof desc,
			 "found by port25 analyze: %llu out, %llu in, %llu messages%s%s",
			 (unsigned long long)h->out25.conns, (unsigned long long)h->in25.conns,
			 (unsigned long long)h->smtp.messages, helo[0] ? ", HELO " : "", helo);
		csv_field(f, org ? org : "", false);
		csv_field(f, p25_addr_format(&h->addr, buf, sizeof buf), false);
		csv_field(f, "mail-server", false);
		csv_field(f, desc, false);
		csv_field(f, requested_by ? requested_by : "", false);
		csv_field(f, "", false);
		csv_field(f, "", true);
		n++;
	}
	return ferror(f) ? -1 : n;
}
