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

/* A server that blocking would cut off: outbound, or inbound in mode both. */
static bool to_register(const struct p25_an_host *h)
{
	return (h->cls == P25_AN_SERVER || h->cls == P25_AN_INBOUND) && would_block(h);
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
		if (h->cls == P25_AN_INBOUND)
			s->inbound++;
		if (would_block(h)) {
			s->blocked++;
			if (to_register(h))
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
	json_object_set_new(j, "syn_packets", json_integer((json_int_t)s->syn_packets));
	return j;
}

json_t *p25_an_host_json(const struct p25_analyzer *a, const struct p25_an_host *h)
{
	char buf[P25_PREFIX_STRLEN];
	const char *org = org_handle(a, h);
	const struct p25_an_smtp *s = p25_an_host_smtp(h);
	json_t *j, *out, *reasons = json_array(), *names = json_array(), *hod = json_array(),
	                 *hours;

	j = json_pack("{s:s, s:o, s:s, s:i, s:i, s:i, s:i}", "address",
	              p25_addr_format(&h->addr, buf, sizeof buf), "organization",
	              org ? json_string(org) : json_null(), "class", p25_an_class_name(h->cls),
	              "score", h->score, "confidence", h->confidence, "bot_score", h->bot_score,
	              "server_score", h->server_score);
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
	json_object_set_new(j, "would_block_outbound",
	                    json_boolean(h->block_out && h->out25.conns));
	json_object_set_new(j, "would_block_inbound", json_boolean(h->block_in && h->in25.conns));
	out = side_json(&h->out25, true);
	json_object_set_new(out, "distinct_destinations",
	                    json_integer((json_int_t)p25_an_distinct_dests(h)));
	json_object_set_new(out, "distinct_destinations_estimated",
	                    json_boolean(p25_an_distinct_estimated(h)));
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
	while (json_array_size(hours) &&
	       json_integer_value(json_array_get(hours, json_array_size(hours) - 1)) == 0)
		json_array_remove(hours, json_array_size(hours) - 1);
	json_object_set_new(
	    j, "hourly",
	    json_pack("{s:o, s:o}", "start",
	              h->hour0 >= 0 ? iso((uint64_t)h->hour0 * 3600000000000ULL) : json_null(),
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
	json_t *lists = json_array();
	const char *name;
	for (unsigned i = 0; (name = p25_an_blocklist_name(i)); i++)
		if (s->bl_lists >> i & 1)
			json_array_append_new(lists, json_string(name));
	json_object_set_new(
	    json_object_get(j, "smtp"), "blocklist",
	    json_pack("{s:I, s:I, s:I, s:o, s:o}", "listed",
	              (json_int_t)s->bl_replies[P25_AN_BL_LISTED], "range_listed",
	              (json_int_t)s->bl_replies[P25_AN_BL_RANGE], "not_naming_host",
	              (json_int_t)s->bl_replies[P25_AN_BL_OTHER], "lists", lists, "reply",
	              s->bl_reply[0] ? json_string(s->bl_reply) : json_null()));
	json_object_set_new(json_object_get(j, "smtp"), "transaction_replies",
	                    json_pack("{s:I, s:I, s:I, s:I}", "2xx", (json_int_t)s->txn_replies[2],
	                              "3xx", (json_int_t)s->txn_replies[3], "4xx",
	                              (json_int_t)s->txn_replies[4], "5xx",
	                              (json_int_t)s->txn_replies[5]));
	json_object_set_new(j, "features",
	                    json_pack("{s:i, s:i, s:I, s:I, s:i, s:i, s:I, s:I, s:I}", "fanout_max",
	                              (int)h->fan_max, "burst_per_minute_max", (int)h->burst_max,
	                              "queue_retries", (json_int_t)h->retries,
	                              "failures_not_retried", (json_int_t)h->abandoned,
	                              "days_active", (int)h->days_active, "hours_active",
	                              (int)h->hours_active, "mail_served",
	                              (json_int_t)h->mail_served, "recipients_window_max",
	                              (json_int_t)h->rcpt_max, "recipient_domains_window_max",
	                              (json_int_t)h->rcpt_domains_max));
	return j;
}

/* The document without its hosts: summary, counts and input statistics. */
static json_t *report_head(const struct p25_analyzer *a)
{
	struct p25_an_summary s;
	char line[400];
	json_t *dec = json_object();
	const struct p25_an_stats *st = &a->stats;

	p25_an_summarize(a, &s);
	p25_an_summary_line(&s, line, sizeof line);
	json_object_set_new(dec, "packets", json_integer((json_int_t)st->decode.packets));
	for (int r = 0; r < P25_DEC_NREASONS; r++)
		if (st->decode.count[r])
			json_object_set_new(dec, p25_decode_reason((enum p25_decode_result)r),
			                    json_integer((json_int_t)st->decode.count[r]));
	if (st->decode.tcp_options_cut)
		json_object_set_new(dec, "TCP options cut",
		                    json_integer((json_int_t)st->decode.tcp_options_cut));
	return json_pack(
	    "{s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:o}}",
	    "summary", line, "counts", "hosts", (json_int_t)s.hosts, "send_smtp",
	    (json_int_t)s.send, "permitted", (json_int_t)s.permitted, "would_block",
	    (json_int_t)s.blocked, "servers_to_register", (json_int_t)s.servers, "suspected_bots",
	    (json_int_t)s.bots, "client_only", (json_int_t)s.clients, "inbound_servers",
	    (json_int_t)s.inbound, "input", "segments",
	    (json_int_t)st->segments, "flows", (json_int_t)st->flows, "flows_used",
	    (json_int_t)st->flows_used, "flows_sampled", (json_int_t)st->flows_sampled,
	    "sampling_max", (json_int_t)st->sampling_max, "connections", (json_int_t)st->conns,
	    "connections_midstream", (json_int_t)st->conns_midstream, "connections_evicted",
	    (json_int_t)st->conns_evicted, "orphan_segments", (json_int_t)st->orphans, "smtp_gaps",
	    (json_int_t)st->smtp_gaps, "hosts_dropped", (json_int_t)st->hosts_dropped,
	    "hosts_unlisted", (json_int_t)st->hosts_unlisted, "decode", dec);
}

json_t *p25_an_report_json(const struct p25_analyzer *a)
{
	json_t *doc = report_head(a), *hosts = json_array();

	for (size_t i = 0; i < a->nhosts; i++)
		json_array_append_new(hosts, p25_an_host_json(a, &a->hosts[i]));
	json_object_set_new(doc, "hosts", hosts);
	return doc;
}

/*
 * The streamed report writes each host straight into a buffer: a jansson
 * tree of every host costs tens of microseconds a host (allocations, then
 * an indented dump of the whole document held in memory), which for many
 * thousands of hosts outweighed reading a gigabyte of capture.  The shape
 * is exactly p25_an_host_json()'s; a unit test holds them equal.
 */
struct jw {
	FILE *f;
	size_t len;
	bool err;
	char buf[1 << 16];
};

static void jw_flush(struct jw *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->err = true;
	w->len = 0;
}

static void jw_raw(struct jw *w, const char *p, size_t n)
{
	if (w->len + n > sizeof w->buf) {
		jw_flush(w);
		if (n > sizeof w->buf) {
			if (fwrite(p, 1, n, w->f) != n)
				w->err = true;
			return;
		}
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

static void jw_str(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	jw_raw(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		jw_raw(w, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			jw_raw(w, "\\\"", 2);
			break;
		case '\\':
			jw_raw(w, "\\\\", 2);
			break;
		case '\n':
			jw_raw(w, "\\n", 2);
			break;
		case '\r':
			jw_raw(w, "\\r", 2);
			break;
		case '\t':
			jw_raw(w, "\\t", 2);
			break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			jw_raw(w, e, 6);
		}
		}
	}
	jw_raw(w, s + run, n - run);
	jw_raw(w, "\"", 1);
}

static void jw_u64(struct jw *w, uint64_t v)
{
	char t[24];
	int i = sizeof t;

	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	jw_raw(w, t + i, sizeof t - (size_t)i);
}

static void jw_int(struct jw *w, int64_t v)
{
	if (v < 0) {
		jw_raw(w, "-", 1);
		jw_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		jw_u64(w, (uint64_t)v);
	}
}

/* `"key": ` after a separator unless first. */
static void jw_key(struct jw *w, const char *key, bool first)
{
	if (!first)
		jw_raw(w, ", ", 2);
	jw_str(w, key, strlen(key));
	jw_raw(w, ": ", 2);
}

static void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key, false);
	jw_int(w, v);
}

static void jw_time(struct jw *w, uint64_t ns)
{
	char t[P25_TIME_STRLEN];

	if (!ns) {
		jw_lit(w, "null");
		return;
	}
	p25_time_format((p25_time)(ns / 1000000000ULL), t, sizeof t);
	jw_str(w, t, strlen(t));
}

static void jw_side(struct jw *w, const char *key, const struct p25_an_side *s,
                    const struct p25_an_host *dests)
{
	jw_key(w, key, false);
	jw_lit(w, "{\"connections\": ");
	jw_u64(w, s->conns);
	jw_kint(w, "established", (int64_t)s->outcome[P25_AN_ESTABLISHED]);
	jw_kint(w, "reset", (int64_t)s->outcome[P25_AN_RESET]);
	jw_kint(w, "no_answer", (int64_t)s->outcome[P25_AN_NOANSWER]);
	jw_kint(w, "bytes_sent", (int64_t)s->bytes_sent);
	jw_kint(w, "bytes_received", (int64_t)s->bytes_recv);
	jw_kint(w, "packets_sent", (int64_t)s->packets_sent);
	jw_kint(w, "packets_received", (int64_t)s->packets_recv);
	jw_kint(w, "syn_packets", (int64_t)s->syn_packets);
	if (dests) {
		jw_kint(w, "distinct_destinations", (int64_t)p25_an_distinct_dests(dests));
		jw_key(w, "distinct_destinations_estimated", false);
		jw_lit(w, p25_an_distinct_estimated(dests) ? "true" : "false");
	}
	jw_raw(w, "}", 1);
}

static void jw_host(struct jw *w, const struct p25_analyzer *a, const struct p25_an_host *h)
{
	char buf[P25_PREFIX_STRLEN];
	const char *org = org_handle(a, h), *cls = p25_an_class_name(h->cls);
	const struct p25_an_smtp *s = p25_an_host_smtp(h);
	uint32_t nh = h->nhours;

	jw_lit(w, "{\"address\": ");
	p25_addr_format(&h->addr, buf, sizeof buf);
	jw_str(w, buf, strlen(buf));
	jw_key(w, "organization", false);
	if (org)
		jw_str(w, org, strlen(org));
	else
		jw_lit(w, "null");
	jw_key(w, "class", false);
	jw_str(w, cls, strlen(cls));
	jw_kint(w, "score", h->score);
	jw_kint(w, "confidence", h->confidence);
	jw_kint(w, "bot_score", h->bot_score);
	jw_kint(w, "server_score", h->server_score);
	jw_key(w, "reasons", false);
	jw_raw(w, "[", 1);
	for (const char *r = h->reasons; *r;) {
		size_t n = strcspn(r, ";");
		if (r != h->reasons)
			jw_raw(w, ", ", 2);
		jw_str(w, r, n);
		r += n;
		while (*r == ';' || *r == ' ')
			r++;
	}
	jw_raw(w, "]", 1);
	jw_key(w, "permitted", false);
	jw_lit(w, h->permit >= 0 ? "true" : "false");
	if (h->permit >= 0 && a->model)
		jw_kint(w, "permit", a->model->permits[h->permit].id);
	jw_key(w, "would_block_outbound", false);
	jw_lit(w, h->block_out && h->out25.conns ? "true" : "false");
	jw_key(w, "would_block_inbound", false);
	jw_lit(w, h->block_in && h->in25.conns ? "true" : "false");
	jw_side(w, "smtp_out", &h->out25, h);
	jw_side(w, "smtp_in", &h->in25, NULL);
	jw_side(w, "submission", &h->sub, NULL);
	jw_key(w, "first_seen", false);
	jw_time(w, h->first_ns);
	jw_key(w, "last_seen", false);
	jw_time(w, h->last_ns);
	jw_key(w, "hour_of_day", false);
	for (int i = 0; i < 24; i++) {
		jw_raw(w, i ? ", " : "[", i ? 2 : 1);
		jw_u64(w, h->hour_of_day[i]);
	}
	jw_lit(w, "], \"hourly\": {\"start\": ");
	jw_time(w, h->hour0 >= 0 ? (uint64_t)h->hour0 * 3600000000000ULL : 0);
	jw_lit(w, ", \"connections\": [");
	while (nh && h->hours[nh - 1] == 0)
		nh--;
	for (uint32_t i = 0; i < nh; i++) {
		if (i)
			jw_raw(w, ", ", 2);
		jw_u64(w, h->hours[i]);
	}
	jw_lit(w, "]}, \"smtp\": {\"sessions\": ");
	jw_u64(w, s->sessions);
	jw_key(w, "helo_names", false);
	jw_raw(w, "[", 1);
	for (unsigned i = 0; i < s->nhelo_names && i < P25_AN_HELO_KEEP; i++) {
		if (i)
			jw_raw(w, ", ", 2);
		jw_str(w, s->helo_names[i], strlen(s->helo_names[i]));
	}
	jw_raw(w, "]", 1);
	jw_kint(w, "helo_distinct", s->nhelo_names);
	jw_kint(w, "helo_commands", (int64_t)s->helo);
	jw_kint(w, "helo_bare_ip", (int64_t)s->helo_bare_ip);
	jw_kint(w, "helo_mismatch", (int64_t)s->helo_mismatch);
	jw_kint(w, "starttls", (int64_t)s->starttls);
	jw_kint(w, "tls_ok", (int64_t)s->tls_ok);
	jw_kint(w, "mail_from", (int64_t)s->mail_from);
	jw_kint(w, "rcpt_to", (int64_t)s->rcpt_to);
	jw_lit(w, ", \"replies\": {\"2xx\": ");
	jw_u64(w, s->replies[2]);
	jw_kint(w, "3xx", (int64_t)s->replies[3]);
	jw_kint(w, "4xx", (int64_t)s->replies[4]);
	jw_kint(w, "5xx", (int64_t)s->replies[5]);
	jw_raw(w, "}", 1);
	jw_kint(w, "messages", (int64_t)s->messages);
	jw_kint(w, "message_bytes", (int64_t)s->msg_bytes);
	jw_key(w, "banner", false);
	if (s->banner[0])
		jw_str(w, s->banner, strlen(s->banner));
	else
		jw_lit(w, "null");
	jw_kint(w, "sender_domains", s->sender_domains);
	jw_lit(w, ", \"transaction_replies\": {\"2xx\": ");
	jw_u64(w, s->txn_replies[2]);
	jw_kint(w, "3xx", (int64_t)s->txn_replies[3]);
	jw_kint(w, "4xx", (int64_t)s->txn_replies[4]);
	jw_kint(w, "5xx", (int64_t)s->txn_replies[5]);
	jw_lit(w, "}, \"blocklist\": {\"listed\": ");
	jw_u64(w, s->bl_replies[P25_AN_BL_LISTED]);
	jw_kint(w, "range_listed", (int64_t)s->bl_replies[P25_AN_BL_RANGE]);
	jw_kint(w, "not_naming_host", (int64_t)s->bl_replies[P25_AN_BL_OTHER]);
	jw_lit(w, ", \"lists\": [");
	const char *name;
	bool first = true;
	for (unsigned i = 0; (name = p25_an_blocklist_name(i)); i++)
		if (s->bl_lists >> i & 1) {
			if (!first)
				jw_raw(w, ", ", 2);
			jw_str(w, name, strlen(name));
			first = false;
		}
	jw_lit(w, "], \"reply\": ");
	if (s->bl_reply[0])
		jw_str(w, s->bl_reply, strlen(s->bl_reply));
	else
		jw_lit(w, "null");
	jw_lit(w, "}}, \"features\": {\"fanout_max\": ");
	jw_u64(w, h->fan_max);
	jw_kint(w, "burst_per_minute_max", h->burst_max);
	jw_kint(w, "queue_retries", (int64_t)h->retries);
	jw_kint(w, "failures_not_retried", (int64_t)h->abandoned);
	jw_kint(w, "days_active", h->days_active);
	jw_kint(w, "hours_active", h->hours_active);
	jw_kint(w, "mail_served", (int64_t)h->mail_served);
	jw_kint(w, "recipients_window_max", h->rcpt_max);
	jw_kint(w, "recipient_domains_window_max", h->rcpt_domains_max);
	jw_raw(w, "}}", 2);
}

int p25_an_report_json_stream(const struct p25_analyzer *a, json_t *extra, FILE *out)
{
	struct jw *w = malloc(sizeof *w);
	json_t *head = report_head(a), *v;
	const char *key;
	bool first = true;
	int rc;

	if (!w || !head) {
		free(w);
		json_decref(head);
		return -1;
	}
	w->f = out;
	w->len = 0;
	w->err = false;
	if (extra)
		json_object_update(head, extra);
	/* The small parts one per line, each hosts one per line: greppable and diffable. */
	jw_raw(w, "{", 1);
	json_object_foreach(head, key, v)
	{
		char *t = json_dumps(v, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		if (!t) {
			w->err = true;
			continue;
		}
		jw_lit(w, first ? "\n  " : ",\n  ");
		jw_str(w, key, strlen(key));
		jw_raw(w, ": ", 2);
		jw_lit(w, t);
		free(t);
		first = false;
	}
	jw_lit(w, first ? "\n  \"hosts\": [" : ",\n  \"hosts\": [");
	for (size_t i = 0; i < a->nhosts; i++) {
		jw_lit(w, i ? ",\n    " : "\n    ");
		jw_host(w, a, &a->hosts[i]);
	}
	jw_lit(w, a->nhosts ? "\n  ]\n}\n" : "]\n}\n");
	jw_flush(w);
	json_decref(head);
	rc = w->err || ferror(out) ? -1 : 0;
	free(w);
	return rc;
}

/* A CSV field, quoted when it must be, then its separator. */
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

/* The same into the buffer. */
static void jw_csv(struct jw *w, const char *s, bool last)
{
	if (strpbrk(s, ",\"\n\r")) {
		jw_raw(w, "\"", 1);
		for (const char *q; (q = strchr(s, '"')); s = q + 1) {
			jw_raw(w, s, (size_t)(q - s) + 1);
			jw_raw(w, "\"", 1);
		}
		jw_lit(w, s);
		jw_raw(w, "\"", 1);
	} else {
		jw_lit(w, s);
	}
	jw_raw(w, last ? "\n" : ",", 1);
}

static void csv_u64(struct jw *w, uint64_t v)
{
	jw_u64(w, v);
	jw_raw(w, ",", 1);
}

/* Through the same buffer as the JSON: fprintf per field cost a microsecond a host. */
int p25_an_report_csv(const struct p25_analyzer *a, FILE *f)
{
	struct jw *w = malloc(sizeof *w);
	int rc;

	if (!w)
		return -1;
	w->f = f;
	w->len = 0;
	w->err = false;
	jw_lit(w, "address,organization,class,score,out_connections,out_established,out_reset,"
	          "out_no_answer,distinct_destinations,out_bytes_sent,out_bytes_received,"
	          "out_packets_sent,out_packets_received,in_connections,in_established,"
	          "submission_connections,first_seen,last_seen,helo,messages,would_block,reasons,"
	          "out_syn_packets,confidence,blocklist_listed,blocklist_reply,"
	          "recipients_window_max,recipient_domains_window_max\n");
	/* Hosts share the same few seconds: format each second once (gmtime, strftime). */
	char t1[P25_TIME_STRLEN] = "", t2[P25_TIME_STRLEN] = "";
	uint64_t s1 = 0, s2 = 0;
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN];
		const char *org = org_handle(a, h);
		uint64_t fs = h->first_ns / 1000000000ULL, ls = h->last_ns / 1000000000ULL;
		if (!h->first_ns)
			t1[0] = '\0', s1 = 0;
		else if (fs != s1 || !t1[0])
			p25_time_format((p25_time)(s1 = fs), t1, sizeof t1);
		if (!h->last_ns)
			t2[0] = '\0', s2 = 0;
		else if (ls != s2 || !t2[0])
			p25_time_format((p25_time)(s2 = ls), t2, sizeof t2);
		jw_csv(w, p25_addr_format(&h->addr, buf, sizeof buf), false);
		jw_csv(w, org ? org : "", false);
		jw_lit(w, p25_an_class_name(h->cls));
		jw_raw(w, ",", 1);
		jw_int(w, h->score);
		jw_raw(w, ",", 1);
		csv_u64(w, h->out25.conns);
		csv_u64(w, h->out25.outcome[P25_AN_ESTABLISHED]);
		csv_u64(w, h->out25.outcome[P25_AN_RESET]);
		csv_u64(w, h->out25.outcome[P25_AN_NOANSWER]);
		csv_u64(w, p25_an_distinct_dests(h));
		csv_u64(w, h->out25.bytes_sent);
		csv_u64(w, h->out25.bytes_recv);
		csv_u64(w, h->out25.packets_sent);
		csv_u64(w, h->out25.packets_recv);
		csv_u64(w, h->in25.conns);
		csv_u64(w, h->in25.outcome[P25_AN_ESTABLISHED]);
		csv_u64(w, h->sub.conns);
		jw_lit(w, t1);
		jw_raw(w, ",", 1);
		jw_lit(w, t2);
		jw_raw(w, ",", 1);
		jw_csv(w, p25_an_host_smtp(h)->nhelo_names ? h->smtp->helo_names[0] : "", false);
		csv_u64(w, p25_an_host_smtp(h)->messages);
		jw_lit(w, would_block(h) ? "yes," : "no,");
		jw_csv(w, h->reasons, false);
		jw_u64(w, h->out25.syn_packets);
		jw_raw(w, ",", 1);
		jw_int(w, h->confidence);
		jw_raw(w, ",", 1);
		csv_u64(w, p25_an_host_smtp(h)->bl_replies[P25_AN_BL_LISTED]);
		jw_csv(w, p25_an_host_smtp(h)->bl_reply, false);
		csv_u64(w, h->rcpt_max);
		jw_u64(w, h->rcpt_domains_max);
		jw_raw(w, "\n", 1);
	}
	jw_flush(w);
	rc = w->err || ferror(f) ? -1 : 0;
	free(w);
	return rc;
}

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
	      "body{font-family:sans-serif;margin:2em;color:#222}\n"
	      "table{border-collapse:collapse;margin:1em 0}\n"
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
				srv += to_register(h);
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
	html_blocklists(a, f);
	fputs("<h2>Hosts</h2>\n<table><tr><th>address</th><th>organization</th><th>class</th>"
	      "<th>bot likelihood</th><th>confidence</th><th>out</th><th>established</th><th>reset</th><th>no answer</th>"
	      "<th>destinations (~ estimated)</th><th>in</th><th>465/587</th><th>HELO</th><th>messages</th>"
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
		fprintf(f, "</td><td class=\"num\">%llu</td><td>%s</td><td>%s</td><td>",
		        (unsigned long long)p25_an_host_smtp(h)->messages, t1, t2);
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
		if (!to_register(h))
			continue;
		/* Description text goes into firewall comments later: keep it inert. */
		p25_text_inert(p25_an_host_smtp(h)->nhelo_names ? h->smtp->helo_names[0] : "", helo,
		               sizeof helo);
		snprintf(desc, sizeof desc,
		         "found by port25 analyze: %llu out, %llu in, %llu messages%s%s",
		         (unsigned long long)h->out25.conns, (unsigned long long)h->in25.conns,
		         (unsigned long long)p25_an_host_smtp(h)->messages,
		         helo[0] ? ", HELO " : "", helo);
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
