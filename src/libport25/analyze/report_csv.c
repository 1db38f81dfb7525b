/* The host table as CSV. */
#include <string.h>

#include "analyze/report_int.h"

static void csv_u64(struct p25_wbuf *w, uint64_t v)
{
	p25_wbuf_u64(w, v);
	p25_wbuf_raw(w, ",", 1);
}

int p25_an_report_csv(const struct p25_analyzer *a, FILE *f)
{
	struct p25_wbuf *w = p25_wbuf_open(f);

	if (!w)
		return -1;
	p25_wbuf_lit(w, "address,organization,class,score,out_connections,out_established,out_reset,"
	          "out_no_answer,distinct_destinations,out_bytes_sent,out_bytes_received,"
	          "out_packets_sent,out_packets_received,in_connections,in_established,"
	          "submission_connections,first_seen,last_seen,helo,messages,would_block,reasons,"
	          "out_syn_packets,confidence,blocklist_listed,blocklist_reply,"
	          "recipients_window_max,recipient_domains_window_max,next_step,same_server_as\n");
	/* Hosts share the same few seconds: format each second once (gmtime, strftime). */
	char t1[P25_TIME_STRLEN] = "", t2[P25_TIME_STRLEN] = "";
	uint64_t s1 = 0, s2 = 0;
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN];
		const char *org = p25_an_org_handle(a, h);
		uint64_t fs = h->first_ns / 1000000000ULL, ls = h->last_ns / 1000000000ULL;
		if (!h->first_ns)
			t1[0] = '\0', s1 = 0;
		else if (fs != s1 || !t1[0])
			p25_time_format((p25_time)(s1 = fs), t1, sizeof t1);
		if (!h->last_ns)
			t2[0] = '\0', s2 = 0;
		else if (ls != s2 || !t2[0])
			p25_time_format((p25_time)(s2 = ls), t2, sizeof t2);
		p25_wbuf_csv(w, p25_addr_format(&h->addr, buf, sizeof buf), ',');
		p25_wbuf_csv(w, org ? org : "", ',');
		p25_wbuf_lit(w, p25_an_class_name(h->cls));
		p25_wbuf_raw(w, ",", 1);
		p25_wbuf_int(w, h->score);
		p25_wbuf_raw(w, ",", 1);
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
		p25_wbuf_lit(w, t1);
		p25_wbuf_raw(w, ",", 1);
		p25_wbuf_lit(w, t2);
		p25_wbuf_raw(w, ",", 1);
		p25_wbuf_csv(w, p25_an_host_smtp(h)->nhelo_names ? h->smtp->helo_names[0] : "", ',');
		csv_u64(w, p25_an_host_smtp(h)->messages);
		p25_wbuf_lit(w, p25_an_would_block(h) ? "yes," : "no,");
		p25_wbuf_csv(w, h->reasons, ',');
		p25_wbuf_u64(w, h->out25.syn_packets);
		p25_wbuf_raw(w, ",", 1);
		p25_wbuf_int(w, h->confidence);
		p25_wbuf_raw(w, ",", 1);
		csv_u64(w, p25_an_host_smtp(h)->bl_replies[P25_AN_BL_LISTED]);
		p25_wbuf_csv(w, p25_an_host_smtp(h)->bl_reply, ',');
		csv_u64(w, h->rcpt_max);
		p25_wbuf_u64(w, h->rcpt_domains_max);
		p25_wbuf_raw(w, ",", 1);
		{
			char step[P25_AN_STEP_LEN], same[P25_AN_SAME_MAX * (P25_PREFIX_STRLEN + 1)] = "";
			size_t idx[P25_AN_SAME_MAX], ns = p25_an_same_server(a, i, idx, P25_AN_SAME_MAX);
			/* Quoted and neutralised: the contact's name and e-mail come from the registry. */
			p25_wbuf_csv(w, p25_an_next_step(a, h, step, sizeof step), ',');
			for (size_t k = 1; k < ns; k++) {
				size_t l = strlen(same);
				if (k > 1)
					same[l++] = ' ';
				p25_addr_format(&a->hosts[idx[k]].addr, same + l, sizeof same - l);
			}
			p25_wbuf_csv(w, same, '\n');
		}
	}
	return p25_wbuf_close(w);
}
