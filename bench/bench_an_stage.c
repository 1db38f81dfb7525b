/*
 * The analysis stage alone: every SMTP segment of a capture decoded once
 * into memory, then fed to the analyzer run after run, so that changes to
 * the per-connection and per-host state can be measured without the
 * reader's and the page cache's noise.  The baseline in the same run is a
 * bare loop that only counts the segments' bytes per direction: the cost
 * of touching the same segments.
 *
 *   bench_an_stage --file F [--runs N] [--no-prefetch]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze_int.h"
#include "capture/capture.h"

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	int runs = 5;
	bool prefetch = true;
	char err[256];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			file = argv[++i];
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-prefetch"))
			prefetch = false;
		else {
			fprintf(stderr, "usage: bench_an_stage --file F [--runs N]\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "bench_an_stage: --file is required\n");
		return 2;
	}

	/* Decode once; payloads copied since the capture is unmapped afterwards. */
	struct p25_capture *cap = p25_capture_open(file, err, sizeof err);
	if (!cap) {
		fprintf(stderr, "bench_an_stage: %s\n", err);
		return 1;
	}
	struct p25_port_filter filter;
	struct p25_decode_stats ds = {0};
	struct p25_packet pkt;
	struct p25_tcp_segment *segs = NULL;
	size_t nsegs = 0, cap_segs = 0;
	p25_an_port_filter(&filter);
	while (p25_capture_next(cap, &pkt) == 1) {
		struct p25_tcp_segment s;
		if (p25_decode_tcp(&pkt, &filter, &s, &ds) != P25_DEC_TCP)
			continue;
		if (nsegs == cap_segs) {
			cap_segs = cap_segs ? cap_segs * 2 : 4096;
			segs = realloc(segs, cap_segs * sizeof *segs);
			if (!segs)
				return 1;
		}
		if (s.payload_len) {
			uint8_t *copy = malloc(s.payload_len);
			if (!copy)
				return 1;
			memcpy(copy, s.payload, s.payload_len);
			s.payload = copy;
		}
		segs[nsegs++] = s;
	}
	p25_capture_close(cap);

	struct p25_an_config cfg;
	struct p25_prefix all[2];
	struct p25_diag dg;
	p25_an_config_default(&cfg);
	if (p25_prefix_parse("0.0.0.0/0", 0, &all[0], &dg) < 0 ||
	    p25_prefix_parse("::/0", 0, &all[1], &dg) < 0)
		return 1;

	double best_an = 1e9, best_base = 1e9, best_finish = 1e9;
	size_t hosts = 0;
	uint64_t sink = 0;
	for (int r = 0; r < runs; r++) {
		double t0 = now_s();
		uint64_t bytes[2] = {0, 0};
		for (size_t i = 0; i < nsegs; i++)
			bytes[segs[i].dport == 25 || segs[i].dport == 465 ||
			      segs[i].dport == 587] += segs[i].ip_len + segs[i].payload_len;
		double t1 = now_s();
		sink += bytes[0] ^ bytes[1];
		struct p25_analyzer *a = p25_an_new(&cfg, NULL, NULL, all, 2, 0, err, sizeof err);
		if (!a) {
			fprintf(stderr, "bench_an_stage: %s\n", err);
			return 1;
		}
		if (prefetch) /* as the decode thread's blocks are analysed */
			p25_an_segments(a, segs, nsegs);
		else
			for (size_t i = 0; i < nsegs; i++)
				p25_an_segment(a, &segs[i]);
		double tf = now_s();
		p25_an_finish(a);
		double t2 = now_s();
		if (t2 - tf < best_finish)
			best_finish = t2 - tf;
		p25_an_hosts(a, &hosts);
		p25_an_free(a);
		if (t1 - t0 < best_base)
			best_base = t1 - t0;
		if (t2 - t1 < best_an)
			best_an = t2 - t1;
	}
	printf("%s: %zu segments, %zu hosts; best of %d (sink %llu)\n", file, nsegs, hosts, runs,
	       (unsigned long long)(sink & 1));
	printf("analyzer (new, segments, finish)  %8.2f ms  %7.1f ns/segment\n", best_an * 1e3,
	       best_an * 1e9 / (double)nsegs);
	printf("  of which p25_an_finish (settle what is open, classify) %8.2f ms\n",
	       best_finish * 1e3);
	printf("baseline: byte count per direction %8.2f ms  %7.1f ns/segment  (analyzer %.0fx)\n",
	       best_base * 1e3, best_base * 1e9 / (double)nsegs, best_an / best_base);
	for (size_t i = 0; i < nsegs; i++)
		if (segs[i].payload_len)
			free((void *)segs[i].payload);
	free(segs);
	return 0;
}
