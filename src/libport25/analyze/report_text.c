/* The text report's lines: the summary, and what the input was. */
#include <stdio.h>

#include "analyze/report_int.h"

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

void p25_an_report_text_stats(const struct p25_analyzer *a, const struct p25_flow_stats *fs,
                              FILE *f)
{
	const struct p25_an_stats *st = &a->stats;

	fprintf(f,
	        "input: %llu packets, %llu segments on SMTP ports, %llu flow records "
	        "(%llu on SMTP ports), %llu connections (%llu joined mid-stream)\n",
	        (unsigned long long)st->decode.packets, (unsigned long long)st->segments,
	        (unsigned long long)st->flows, (unsigned long long)st->flows_used,
	        (unsigned long long)st->conns, (unsigned long long)st->conns_midstream);
	if (st->decode.tcp_options_cut)
		fprintf(f,
		        "snap length: %llu segments had their TCP options cut; their fixed "
		        "headers were used\n",
		        (unsigned long long)st->decode.tcp_options_cut);
	if (st->flows_sampled)
		fprintf(f,
		        "sampled flows: %llu records at up to 1 in %u packets; bytes and packets "
		        "are scaled up, connection counts are lower bounds\n",
		        (unsigned long long)st->flows_sampled, st->sampling_max);
	if (!fs)
		return;
	fprintf(f,
	        "flow decoder: %llu export packets, %llu records, %llu templates, "
	        "%llu sequence gaps (%llu records and %llu packets missing), "
	        "%llu malformed packets, %llu sets without template\n",
	        (unsigned long long)fs->packets, (unsigned long long)fs->records,
	        (unsigned long long)fs->templates, (unsigned long long)fs->seq_gaps,
	        (unsigned long long)fs->missing_records, (unsigned long long)fs->missing_packets,
	        (unsigned long long)fs->malformed_packets,
	        (unsigned long long)fs->unknown_template_sets);
	if (fs->ip_fragments)
		fprintf(f,
		        "IP fragments: %llu, %llu datagrams reassembled, %llu "
		        "incomplete, %llu fragments invalid\n",
		        (unsigned long long)fs->ip_fragments, (unsigned long long)fs->ip_reassembled,
		        (unsigned long long)fs->ip_frag_incomplete,
		        (unsigned long long)fs->ip_frag_invalid);
}
