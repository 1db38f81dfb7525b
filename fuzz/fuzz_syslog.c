/*
 * libFuzzer target: everything watch reads from the outside.  The input goes
 * whole through the syslog line parser, through the line splitter in chunks
 * (sized by the first byte), through the NFLOG prefix parser and the packet
 * decoder, and every attempt that comes out is aggregated, so a parser that
 * returns nonsense trips the aggregation's checks too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch/sources.h"
#include "watch/watch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct p25_attempt *a)
{
	/* What a parser accepts is a TCP/25 attempt between two addresses of one family. */
	if (a->dport != 25 || a->packets == 0 || a->src.family != a->dst.family ||
	    (a->src.family != P25_INET && a->src.family != P25_INET6))
		abort();
}

static void on_attempt(void *ctx, const struct p25_attempt *a)
{
	check(a);
	if (!p25_agg_record(ctx, a))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct p25_agg *agg;
	static const p25_time now = 1795428000;
	struct p25_syslog_stats st = {0};
	struct p25_lines lines;
	struct p25_attempt a;
	char err[128], org[P25_ORG_HANDLE_MAX + 1];
	uint8_t dir;
	size_t chunk;

	/* Small on purpose: evictions and the spill are exercised within a run. */
	if (!agg && !(agg = p25_agg_new(64 << 10, err, sizeof err)))
		abort();
	if (p25_syslog_parse((const char *)data, size, now, &a) == 1) {
		check(&a);
		p25_agg_record(agg, &a);
	}
	chunk = size ? data[0] % 64 + 1 : 1;
	p25_lines_init(&lines, on_attempt, agg, &st);
	for (size_t i = 0; i < size; i += chunk)
		p25_lines_feed(&lines, (const char *)data + i, size - i < chunk ? size - i : chunk, now,
			       false);
	p25_lines_feed(&lines, "", 0, now, true);
	if (st.attempts + st.ignored + st.malformed + st.overlong != st.lines)
		abort();
	if (p25_nflog_prefix_parse((const char *)data, size, &dir, org) == 1 &&
	    (dir == P25_WDIR_UNKNOWN || !org[0]))
		abort();
	memset(&a, 0, sizeof a);
	if (p25_packet_decode(data, size, &a) == 1 && a.src.family != a.dst.family)
		abort();
	if (p25_agg_flush_wanted(agg))
		p25_agg_spill_clear(agg);
	return 0;
}
