/*
 * The JSON report written as it goes, one host per line, through a
 * buffered writer: a jansson tree of every host costs tens of microseconds
 * a host (allocations, then an indented dump of the whole document held in
 * memory), which for many thousands of hosts outweighed reading a gigabyte
 * of capture.  The shape is exactly p25_an_host_json()'s; a unit test
 * holds them equal.
 */
#include <stdlib.h>
#include <string.h>

#include "analyze/report_int.h"

/* `"key": ` after a separator unless first. */
static void jw_key(struct p25_wbuf *w, const char *key, bool first)
{
	if (!first)
		p25_wbuf_raw(w, ", ", 2);
	p25_wbuf_json_str(w, key, strlen(key));
	p25_wbuf_raw(w, ": ", 2);
}

static void jw_kint(struct p25_wbuf *w, const char *key, int64_t v)
{
	jw_key(w, key, false);
	p25_wbuf_int(w, v);
}

static void jw_time(struct p25_wbuf *w, uint64_t ns)
{
	char t[P25_TIME_STRLEN];

	if (!ns) {
		p25_wbuf_lit(w, "null");
		return;
	}
	p25_time_format((p25_time)(ns / 1000000000ULL), t, sizeof t);
	p25_wbuf_json_str(w, t, strlen(t));
}

static void jw_side(struct p25_wbuf *w, const char *key, const struct p25_an_side *s,
                    const struct p25_an_host *dests)
{
	jw_key(w, key, false);
	p25_wbuf_lit(w, "{\"connections\": ");
	p25_wbuf_u64(w, s->conns);
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
		p25_wbuf_lit(w, p25_an_distinct_estimated(dests) ? "true" : "false");
	}
	p25_wbuf_raw(w, "}", 1);
}

static void jw_host(struct p25_wbuf *w, const struct p25_analyzer *a, const struct p25_an_host *h)
{
	char buf[P25_PREFIX_STRLEN];
	const char *org = p25_an_org_handle(a, h), *cls = p25_an_class_name(h->cls);
	const struct p25_an_smtp *s = p25_an_host_smtp(h);
	uint32_t nh = h->nhours;

	p25_wbuf_lit(w, "{\"address\": ");
	p25_addr_format(&h->addr, buf, sizeof buf);
	p25_wbuf_json_str(w, buf, strlen(buf));
	jw_key(w, "organization", false);
	if (org)
		p25_wbuf_json_str(w, org, strlen(org));
	else
		p25_wbuf_lit(w, "null");
	jw_key(w, "class", false);
	p25_wbuf_json_str(w, cls, strlen(cls));
	jw_kint(w, "score", h->score);
	jw_kint(w, "confidence", h->confidence);
	jw_kint(w, "bot_score", h->bot_score);
	jw_kint(w, "server_score", h->server_score);
	jw_key(w, "reasons", false);
	p25_wbuf_raw(w, "[", 1);
	for (const char *r = h->reasons; *r;) {
		size_t n = strcspn(r, ";");
		if (r != h->reasons)
			p25_wbuf_raw(w, ", ", 2);
		p25_wbuf_json_str(w, r, n);
		r += n;
		while (*r == ';' || *r == ' ')
			r++;
	}
	p25_wbuf_raw(w, "]", 1);
	jw_key(w, "permitted", false);
	p25_wbuf_lit(w, h->permit >= 0 ? "true" : "false");
	if (h->permit >= 0 && a->model)
		jw_kint(w, "permit", a->model->permits[h->permit].id);
	jw_key(w, "would_block_outbound", false);
	p25_wbuf_lit(w, h->block_out && h->out25.conns ? "true" : "false");
	jw_key(w, "would_block_inbound", false);
	p25_wbuf_lit(w, h->block_in && h->in25.conns ? "true" : "false");
	{
		char step[P25_AN_STEP_LEN];
		size_t idx[P25_AN_SAME_MAX], ns;
		jw_key(w, "next_step", false);
		p25_an_next_step(a, h, step, sizeof step);
		p25_wbuf_json_str(w, step, strlen(step));
		ns = p25_an_same_server(a, (size_t)(h - a->hosts), idx, P25_AN_SAME_MAX);
		jw_key(w, "same_server_as", false);
		p25_wbuf_raw(w, "[", 1);
		for (size_t k = 1; k < ns; k++) {
			if (k > 1)
				p25_wbuf_raw(w, ", ", 2);
			p25_addr_format(&a->hosts[idx[k]].addr, buf, sizeof buf);
			p25_wbuf_json_str(w, buf, strlen(buf));
		}
		p25_wbuf_raw(w, "]", 1);
	}
	jw_side(w, "smtp_out", &h->out25, h);
	jw_side(w, "smtp_in", &h->in25, NULL);
	jw_side(w, "submission", &h->sub, NULL);
	jw_key(w, "first_seen", false);
	jw_time(w, h->first_ns);
	jw_key(w, "last_seen", false);
	jw_time(w, h->last_ns);
	jw_key(w, "hour_of_day", false);
	for (int i = 0; i < 24; i++) {
		p25_wbuf_raw(w, i ? ", " : "[", i ? 2 : 1);
		p25_wbuf_u64(w, h->hour_of_day[i]);
	}
	p25_wbuf_lit(w, "], \"hourly\": {\"start\": ");
	jw_time(w, h->hour0 >= 0 ? (uint64_t)h->hour0 * 3600000000000ULL : 0);
	p25_wbuf_lit(w, ", \"connections\": [");
	while (nh && h->hours[nh - 1] == 0)
		nh--;
	for (uint32_t i = 0; i < nh; i++) {
		if (i)
			p25_wbuf_raw(w, ", ", 2);
		p25_wbuf_u64(w, h->hours[i]);
	}
	p25_wbuf_lit(w, "]}, \"smtp\": {\"sessions\": ");
	p25_wbuf_u64(w, s->sessions);
	jw_key(w, "helo_names", false);
	p25_wbuf_raw(w, "[", 1);
	for (unsigned i = 0; i < s->nhelo_names && i < P25_AN_HELO_KEEP; i++) {
		if (i)
			p25_wbuf_raw(w, ", ", 2);
		p25_wbuf_json_str(w, s->helo_names[i], strlen(s->helo_names[i]));
	}
	p25_wbuf_raw(w, "]", 1);
	jw_kint(w, "helo_distinct", s->nhelo_names);
	jw_kint(w, "helo_commands", (int64_t)s->helo);
	jw_kint(w, "helo_bare_ip", (int64_t)s->helo_bare_ip);
	jw_kint(w, "helo_mismatch", (int64_t)s->helo_mismatch);
	jw_kint(w, "starttls", (int64_t)s->starttls);
	jw_kint(w, "tls_ok", (int64_t)s->tls_ok);
	jw_kint(w, "mail_from", (int64_t)s->mail_from);
	jw_kint(w, "rcpt_to", (int64_t)s->rcpt_to);
	p25_wbuf_lit(w, ", \"replies\": {\"2xx\": ");
	p25_wbuf_u64(w, s->replies[2]);
	jw_kint(w, "3xx", (int64_t)s->replies[3]);
	jw_kint(w, "4xx", (int64_t)s->replies[4]);
	jw_kint(w, "5xx", (int64_t)s->replies[5]);
	p25_wbuf_raw(w, "}", 1);
	jw_kint(w, "messages", (int64_t)s->messages);
	jw_kint(w, "message_bytes", (int64_t)s->msg_bytes);
	jw_key(w, "banner", false);
	if (s->banner[0])
		p25_wbuf_json_str(w, s->banner, strlen(s->banner));
	else
		p25_wbuf_lit(w, "null");
	jw_kint(w, "sender_domains", s->sender_domains);
	p25_wbuf_lit(w, ", \"transaction_replies\": {\"2xx\": ");
	p25_wbuf_u64(w, s->txn_replies[2]);
	jw_kint(w, "3xx", (int64_t)s->txn_replies[3]);
	jw_kint(w, "4xx", (int64_t)s->txn_replies[4]);
	jw_kint(w, "5xx", (int64_t)s->txn_replies[5]);
	p25_wbuf_lit(w, "}, \"blocklist\": {\"listed\": ");
	p25_wbuf_u64(w, s->bl_replies[P25_AN_BL_LISTED]);
	jw_kint(w, "range_listed", (int64_t)s->bl_replies[P25_AN_BL_RANGE]);
	jw_kint(w, "not_naming_host", (int64_t)s->bl_replies[P25_AN_BL_OTHER]);
	p25_wbuf_lit(w, ", \"lists\": [");
	const char *name;
	bool first = true;
	for (unsigned i = 0; (name = p25_an_blocklist_name(i)); i++)
		if (s->bl_lists >> i & 1) {
			if (!first)
				p25_wbuf_raw(w, ", ", 2);
			p25_wbuf_json_str(w, name, strlen(name));
			first = false;
		}
	p25_wbuf_lit(w, "], \"reply\": ");
	if (s->bl_reply[0])
		p25_wbuf_json_str(w, s->bl_reply, strlen(s->bl_reply));
	else
		p25_wbuf_lit(w, "null");
	p25_wbuf_lit(w, "}}, \"features\": {\"fanout_max\": ");
	p25_wbuf_u64(w, h->fan_max);
	jw_kint(w, "burst_per_minute_max", h->burst_max);
	jw_kint(w, "queue_retries", (int64_t)h->retries);
	jw_kint(w, "failures_not_retried", (int64_t)h->abandoned);
	jw_kint(w, "days_active", h->days_active);
	jw_kint(w, "hours_active", h->hours_active);
	jw_kint(w, "mail_served", (int64_t)h->mail_served);
	jw_kint(w, "recipients_window_max", h->rcpt_max);
	jw_kint(w, "recipient_domains_window_max", h->rcpt_domains_max);
	p25_wbuf_raw(w, "}}", 2);
}

int p25_an_report_json_stream(const struct p25_analyzer *a, json_t *extra, FILE *out)
{
	struct p25_wbuf *w = p25_wbuf_open(out);
	json_t *head = p25_an_report_head(a), *v;
	const char *key;
	bool first = true;
	int rc;

	if (!w || !head) {
		if (w)
			p25_wbuf_close(w);
		json_decref(head);
		return -1;
	}
	if (extra)
		json_object_update(head, extra);
	/* The small parts one per line, each hosts one per line: greppable and diffable. */
	p25_wbuf_raw(w, "{", 1);
	json_object_foreach(head, key, v)
	{
		char *t = json_dumps(v, JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		if (!t) {
			w->err = true;
			continue;
		}
		p25_wbuf_lit(w, first ? "\n  " : ",\n  ");
		p25_wbuf_json_str(w, key, strlen(key));
		p25_wbuf_raw(w, ": ", 2);
		p25_wbuf_lit(w, t);
		free(t);
		first = false;
	}
	p25_wbuf_lit(w, first ? "\n  \"hosts\": [" : ",\n  \"hosts\": [");
	for (size_t i = 0; i < a->nhosts; i++) {
		p25_wbuf_lit(w, i ? ",\n    " : "\n    ");
		jw_host(w, a, &a->hosts[i]);
	}
	p25_wbuf_lit(w, a->nhosts ? "\n  ]\n}\n" : "]\n}\n");
	json_decref(head);
	rc = p25_wbuf_close(w);
	return rc;
}
