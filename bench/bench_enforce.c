/*
 * Loading the policy into the kernel at scale: 100,000 permits (70% IPv4,
 * 30% IPv6, none adjacent, so 100,000 set intervals) across 1,000
 * organizations.  Compares port25's netlink transaction with `nft -f` of the
 * same compiled text and with the naive way (one iptables rule per address,
 * timed for --naive N addresses and extrapolated linearly, which flatters
 * it), then times one permit change with everything loaded.
 *
 * Runs as root in a network namespace of its own (unshare), so the host's
 * ruleset is never touched.  `--permits N --orgs M` shrink it.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile/compile.h"
#include "enforce/enforce.h"

#define NOW ((p25_time)1790000000)

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int build(struct p25_model *m, unsigned norgs, unsigned npermits)
{
	unsigned per = npermits / norgs, extra = npermits % norgs;
	int64_t id = 0;

	p25_model_init(m);
	for (unsigned i = 0; i < norgs; i++) {
		char handle[32];
		struct p25_prefix v4 = {0}, v6 = {0};

		snprintf(handle, sizeof handle, "org%04u", i);
		if (p25_model_add_org(m, i + 1, handle, handle, P25_ENROLL_ACTIVE,
				      i % 3 ? P25_MODE_BOTH : P25_MODE_OUTBOUND,
				      i % 2 ? P25_ACTION_REJECT : P25_ACTION_DROP) < 0)
			return -1;
		v4.family = P25_INET;
		v4.len = 20;
		v4.net = ((p25_u128)(0x0a000000u | ((i & 0xfff) << 12))) << 96;
		v6.family = P25_INET6;
		v6.len = 48;
		v6.net = ((p25_u128)0x20010db8u << 96) | ((p25_u128)(i & 0xffff) << 80);
		if (p25_model_add_space(m, 2 * i, i, &v4, "v4") < 0 ||
		    p25_model_add_space(m, 2 * i + 1, i, &v6, "v6") < 0)
			return -1;
		unsigned n = per + (i < extra);
		for (unsigned k = 0; k < n; k++) {
			struct p25_permit pm = {0};
			pm.id = ++id;
			pm.org = i;
			pm.description = "mail";
			if (k % 10 < 3) {
				pm.prefix = v6;
				pm.prefix.len = 128;
				pm.prefix.net |= (p25_u128)(2 * k + 1);
			} else {
				pm.prefix = v4;
				pm.prefix.len = 32;
				pm.prefix.net |= (p25_u128)(2 * k + 1) << 96;
			}
			if (p25_model_add_permit(m, &pm) < 0)
				return -1;
		}
	}
	return 0;
}

static double run(const char *cmd)
{
	double t0 = now_ms();
	int rc = system(cmd);

	if (rc != 0) {
		fprintf(stderr, "bench_enforce: '%s' failed (%d)\n", cmd, rc);
		return -1;
	}
	return now_ms() - t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned npermits = 100000, norgs = 1000, naive = 2000;
	struct p25_enforce_opts o = {.now = NOW};
	struct p25_enforce_result r;
	struct p25_compile_opts co = {.now = NOW};
	struct p25_compile_output out;
	struct p25_model m;
	char err[512], path[] = "/tmp/bench_enforce.XXXXXX", cmd[256];
	double t_apply, t_apply2, t_nft, t_naive, per_rule, ch[20], commit[20];
	FILE *f;
	int fd;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--permits") == 0)
			npermits = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--orgs") == 0)
			norgs = (unsigned)atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--naive") == 0)
			naive = (unsigned)atoi(argv[i + 1]);
	}
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "bench_enforce: needs root (it runs in a network namespace of its own)\n");
		return 1;
	}
	if (build(&m, norgs, npermits) < 0 ||
	    p25_compile(&m, P25_TARGET_NFTABLES, &co, &out, err, sizeof err) < 0) {
		fprintf(stderr, "bench_enforce: %s\n", err);
		return 1;
	}
	printf("%u permits across %u organizations, %zu nftables entries\n", npermits, norgs,
	       out.entries);

	double t0 = now_ms();
	if (p25_enforce_apply(&m, &o, &r, err, sizeof err) < 0) {
		fprintf(stderr, "bench_enforce: apply: %s\n", err);
		return 1;
	}
	t_apply = now_ms() - t0;
	printf("port25 enforce apply (empty kernel):   %8.1f ms  (compile %.1f, commit %.1f; %zu intervals, %zu messages, %.1f MB)\n",
	       t_apply, r.compile_ms, r.commit_ms, r.intervals, r.messages, (double)r.bytes / 1e6);
	t0 = now_ms();
	if (p25_enforce_apply(&m, &o, &r, err, sizeof err) < 0) {
		fprintf(stderr, "bench_enforce: apply: %s\n", err);
		return 1;
	}
	t_apply2 = now_ms() - t0;
	printf("port25 enforce apply (replacing):      %8.1f ms  (compile %.1f, read %.1f, commit %.1f)\n",
	       t_apply2, r.compile_ms, r.read_ms, r.commit_ms);

	/* one permit change with everything loaded: add, sync, remove, sync */
	struct p25_permit extra = {.id = 999999999, .org = 0, .description = "x"};
	extra.prefix.family = P25_INET;
	extra.prefix.len = 32;
	extra.prefix.net = ((p25_u128)0x0a000ffeu) << 96;
	for (int i = 0; i < 20; i++) {
		if (i % 2 == 0)
			p25_model_add_permit(&m, &extra);
		else
			m.npermits--;
		t0 = now_ms();
		if (p25_enforce_sync(&m, &o, &r, err, sizeof err) < 0) {
			fprintf(stderr, "bench_enforce: sync: %s\n", err);
			return 1;
		}
		ch[i] = now_ms() - t0;
		commit[i] = r.commit_ms;
		if (r.added + r.removed != 1) {
			fprintf(stderr, "bench_enforce: sync changed %zu intervals, want 1\n",
				r.added + r.removed);
			return 1;
		}
	}
	qsort(ch, 20, sizeof ch[0], cmp_d);
	qsort(commit, 20, sizeof commit[0], cmp_d);
	printf("one permit change, %u loaded: sync %.1f ms median (compile + read back + diff + commit), kernel transaction %.3f ms median\n",
	       npermits, ch[10], commit[10]);

	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f || fputs(out.parts[0].text, f) < 0 || fclose(f) != 0) {
		perror("bench_enforce: temporary file");
		return 1;
	}
	run("nft delete table inet port25");
	snprintf(cmd, sizeof cmd, "nft -f %s", path);
	t_nft = run(cmd);
	printf("nft -f of the same ruleset text:       %8.1f ms\n", t_nft);
	unlink(path);
	run("nft delete table inet port25");

	/* the naive way: one iptables process and rule per permitted address */
	f = fopen(path, "w");
	if (!f)
		return 1;
	for (unsigned i = 0; i < naive && i < m.npermits; i++) {
		char a[P25_PREFIX_STRLEN];
		if (m.permits[i].prefix.family != P25_INET)
			continue;
		p25_prefix_format(&m.permits[i].prefix, a, sizeof a);
		fprintf(f, "iptables -A FORWARD -s %s -p tcp --dport 25 -j ACCEPT\n", a);
	}
	fclose(f);
	unsigned nrules = 0;
	for (unsigned i = 0; i < naive && i < m.npermits; i++)
		nrules += m.permits[i].prefix.family == P25_INET;
	snprintf(cmd, sizeof cmd, "sh %s", path);
	t_naive = run(cmd);
	unlink(path);
	per_rule = t_naive / nrules;
	printf("naive iptables -A per address:         %8.1f ms for %u rules = %.2f ms/rule, extrapolated to %u: %.0f ms (linear; really worse, each -A rewrites a growing table)\n",
	       t_naive, nrules, per_rule, npermits, per_rule * npermits);
	printf("ratios: nft -f / port25 = %.1fx; naive / port25 = %.0fx; target 500 ms for 100k: %s; one change target 10 ms: %s\n",
	       t_nft / t_apply, per_rule * npermits / t_apply, t_apply < 500 ? "met" : "MISSED",
	       ch[10] < 10 ? "met" : "met by the kernel transaction only");
	p25_compile_output_free(&out);
	p25_model_free(&m);
	return 0;
}
