/*
 * Compile time and size per target for a registry at scale: by default
 * 100,000 permits across 1,000 organizations, IPv4 and IPv6.  Prints, per
 * target, the best of 3 compile times and the entry count with and without
 * aggregation.  `--permits N --orgs M` shrink it for a CI smoke run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compile/compile.h"

#define NOW ((p25_time)1790000000)

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double now_sec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Org i holds 10.0.0.0/8's i-th /20 split in two /21 spaces (which merge)
 * and 2001:db8:i::/48.  Permits are mostly hosts, a quarter of them in
 * sibling pairs and runs that aggregation folds, 30% IPv6, 5% expired.
 */
static int build(struct p25_model *m, unsigned norgs, unsigned npermits)
{
	uint64_t s = 0x2545F4914F6CDD1Dull;
	unsigned per = npermits / norgs, extra = npermits % norgs;
	int64_t id = 0;

	p25_model_init(m);
	for (unsigned i = 0; i < norgs; i++) {
		char handle[32], name[64];
		struct p25_prefix v4a = {0}, v4b, v6 = {0};

		snprintf(handle, sizeof handle, "org%04u", i);
		snprintf(name, sizeof name, "Member organization %u", i);
		if (p25_model_add_org(m, i + 1, handle, name, P25_ENROLL_ACTIVE,
				      i % 3 ? P25_MODE_BOTH : P25_MODE_OUTBOUND,
				      i % 2 ? P25_ACTION_REJECT : P25_ACTION_DROP) < 0)
			return -1;
		v4a.family = P25_INET;
		v4a.len = 21;
		v4a.net = ((p25_u128)(0x0a000000u | ((i & 0xfff) << 12))) << 96;
		v4b = v4a;
		v4b.net |= (p25_u128)1 << (128 - 21);
		v6.family = P25_INET6;
		v6.len = 48;
		v6.net = ((p25_u128)0x20010db8u << 96) | ((p25_u128)(i & 0xffff) << 80);
		if (p25_model_add_space(m, 3 * i, i, &v4a, "a") < 0 ||
		    p25_model_add_space(m, 3 * i + 1, i, &v4b, "b") < 0 ||
		    p25_model_add_space(m, 3 * i + 2, i, &v6, "c") < 0)
			return -1;
		unsigned n = per + (i < extra);
		for (unsigned k = 0; k < n; k++) {
			struct p25_permit pm = {0};
			uint64_t r = next(&s);

			pm.id = ++id;
			pm.org = i;
			pm.description = "mail";
			pm.requested_by = "bench";
			pm.approved_by = "bench";
			pm.expires = r % 20 == 0 ? NOW - 1 : 0;
			if (r % 10 < 3) {
				pm.prefix = v6;
				pm.prefix.len = 128;
				pm.prefix.net |= (p25_u128)(k / 4 * 4 + (k % 4 == 3 ? 1 : k % 4));
			} else {
				/* Runs of consecutive hosts: pairs and quads fold into one prefix. */
				pm.prefix = v4a;
				pm.prefix.len = 32;
				pm.prefix.net |= (p25_u128)(k % 4096) << 96;
			}
			if (p25_model_add_permit(m, &pm) < 0)
				return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const enum p25_target targets[] = {P25_TARGET_NFTABLES, P25_TARGET_IPTABLES,
						  P25_TARGET_CISCO_IOS, P25_TARGET_JUNOS,
						  P25_TARGET_PF};
	unsigned npermits = 100000, norgs = 1000;
	struct p25_model m;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--permits") == 0 && i + 1 < argc)
			npermits = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--orgs") == 0 && i + 1 < argc)
			norgs = (unsigned)strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: bench_compile [--permits N] [--orgs M]\n");
			return 2;
		}
	}
	if (norgs == 0 || norgs > 4096) {
		fprintf(stderr, "bench_compile: --orgs must be 1..4096\n");
		return 2;
	}
	if (build(&m, norgs, npermits) < 0) {
		fprintf(stderr, "bench_compile: out of memory\n");
		return 1;
	}
	printf("compile: %u permits across %u organizations (%zu spaces)\n", npermits, norgs,
	       m.nspaces);
	printf("%-10s %12s %14s %14s %10s %12s\n", "target", "best ms", "entries", "unaggregated",
	       "saved", "bytes");
	for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
		struct p25_compile_opts o = {.now = NOW};
		struct p25_compile_output out;
		double best = 1e9;
		size_t entries = 0, raw = 0, bytes = 0;
		char err[256];

		for (int rep = 0; rep < 3; rep++) {
			double t0 = now_sec();
			if (p25_compile(&m, targets[t], &o, &out, err, sizeof err) != 0) {
				fprintf(stderr, "bench_compile: %s\n", err);
				return 1;
			}
			double dt = now_sec() - t0;
			if (dt < best)
				best = dt;
			entries = out.entries;
			bytes = 0;
			for (size_t i = 0; i < out.nparts; i++)
				bytes += strlen(out.parts[i].text);
			p25_compile_output_free(&out);
		}
		o.no_aggregate = true;
		if (p25_compile(&m, targets[t], &o, &out, err, sizeof err) != 0) {
			fprintf(stderr, "bench_compile: %s\n", err);
			return 1;
		}
		raw = out.entries;
		p25_compile_output_free(&out);
		printf("%-10s %12.1f %14zu %14zu %9.1f%% %12zu\n", p25_target_name(targets[t]),
		       best * 1e3, entries, raw, raw ? 100.0 * (double)(raw - entries) / (double)raw : 0.0,
		       bytes);
	}
	p25_model_free(&m);
	return 0;
}
