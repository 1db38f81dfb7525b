/* The JSON report as a jansson tree: one host (the text table's source), or the whole document. */
#include <string.h>

#include "analyze/report_int.h"

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
	const char *org = p25_an_org_handle(a, h);
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
	{
		char step[P25_AN_STEP_LEN];
		size_t idx[P25_AN_SAME_MAX], ns;
		json_t *same = json_array();
		json_object_set_new(j, "next_step",
		                    json_string(p25_an_next_step(a, h, step, sizeof step)));
		ns = p25_an_same_server(a, (size_t)(h - a->hosts), idx, P25_AN_SAME_MAX);
		for (size_t k = 1; k < ns; k++)
			json_array_append_new(same, json_string(p25_addr_format(
			                                &a->hosts[idx[k]].addr, buf, sizeof buf)));
		json_object_set_new(j, "same_server_as", same);
	}
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

json_t *p25_an_report_head(const struct p25_analyzer *a)
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
	json_t *doc = p25_an_report_head(a), *hosts = json_array();

	for (size_t i = 0; i < a->nhosts; i++)
		json_array_append_new(hosts, p25_an_host_json(a, &a->hosts[i]));
	json_object_set_new(doc, "hosts", hosts);
	return doc;
}
