/*
 * Per-packet decision speed of the policy engine against a plain sorted
 * range array with binary search, on synthetic registries of BGP-table size.
 *
 *	bench_decide [--v4 N] [--v6 N] [--lookups N] [--runs N] [--seed N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/policy.h"

#define NOW 1700000000

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static unsigned rnd_in(struct rng *r, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rnd(r) % (hi - lo + 1));
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
	fprintf(stderr, "bench_decide: %s\n", msg);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* BGP-like IPv4 length mix: 55% /24, 38% /16-/23, 2% /8-/15, 5% /25-/32. */
static unsigned v4_len(struct rng *r)
{
	unsigned x = (unsigned)(rnd(r) % 100);
	if (x < 55)
		return 24;
	if (x < 93)
		return rnd_in(r, 16, 23);
	if (x < 95)
		return rnd_in(r, 8, 15);
	return rnd_in(r, 25, 32);
}

/* IPv6: 45% /32-/48, 45% /49-/64, 5% /65-/127, 5% /128. */
static unsigned v6_len(struct rng *r)
{
	unsigned x = (unsigned)(rnd(r) % 100);
	if (x < 45)
		return rnd_in(r, 32, 48);
	if (x < 90)
		return rnd_in(r, 49, 64);
	if (x < 95)
		return rnd_in(r, 65, 127);
	return 128;
}

struct pf {
	p25_u128 net;
	uint8_t len;
};

static int pf_cmp(const void *a, const void *b)
{
	const struct pf *x = a, *y = b;
	if (x->net != y->net)
		return x->net < y->net ? -1 : 1;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * Turn random, freely overlapping prefixes into a consistent registry: each
 * outermost prefix is a space of a new or reused organization; prefixes
 * nested in it belong to the same organization, mostly as permits (some
 * expired), some as further spaces.
 */
static void make_model(struct rng *r, struct p25_model *m, struct pf *v, size_t n, int family)
{
	unsigned bits = p25_family_bits(family);
	p25_u128 fam = p25_mask(bits);
	p25_u128 root_last = 0;
	size_t org = 0;
	bool have_root = false;
	int64_t pid = 1;

	qsort(v, n, sizeof *v, pf_cmp);
	for (size_t i = 0; i < n; i++) {
		struct p25_prefix p = {.net = v[i].net, .len = v[i].len, .family = (uint8_t)family};
		if (!have_root || v[i].net > root_last) {
			/* Organizations hold 1-4 disjoint roots. */
			if (!have_root || rnd(r) % 3 == 0) {
				char h[32];
				snprintf(h, sizeof h, "org%zu", m->norgs);
				unsigned e = (unsigned)(rnd(r) % 20);
				org = (size_t)p25_model_add_org(
					m, (int64_t)m->norgs + 1, h, h,
					e == 0 ? P25_ENROLL_PENDING
					       : e == 1 ? P25_ENROLL_SUSPENDED : P25_ENROLL_ACTIVE,
					rnd(r) % 2 ? P25_MODE_BOTH : P25_MODE_OUTBOUND,
					P25_ACTION_REJECT);
			}
			have_root = true;
			root_last = v[i].net | (fam & ~p25_mask(v[i].len));
			if (p25_model_add_space(m, (int64_t)m->nspaces + 1, org, &p, "") < 0)
				die("out of memory");
		} else if (rnd(r) % 5 == 0) {
			if (p25_model_add_space(m, (int64_t)m->nspaces + 1, org, &p, "") < 0)
				die("out of memory");
		} else {
			struct p25_permit pm = {.id = pid++, .org = org, .prefix = p};
			pm.expires = rnd(r) % 20 == 0 ? NOW - 1 : rnd(r) % 4 == 0 ? NOW + 86400 : 0;
			if (p25_model_add_permit(m, &pm) < 0)
				die("out of memory");
		}
	}
}

/* The baseline: elementary ranges between prefix boundaries, binary searched. */
struct baseline {
	p25_u128 *starts6;
	uint32_t *starts4;
	uint8_t *val; /* outbound verdict | inbound verdict << 2 */
	size_t n;
};

static int u128_cmp(const void *a, const void *b)
{
	p25_u128 x = *(const p25_u128 *)a, y = *(const p25_u128 *)b;
	return (x > y) - (x < y);
}

static uint8_t label(const struct p25_policy *p, int family, p25_u128 a)
{
	struct p25_addr h = {.bits = a, .family = (uint8_t)family};
	struct p25_decision o, i;
	p25_policy_decide(p, &h, &h, 25, P25_OUTBOUND, &o);
	p25_policy_decide(p, &h, &h, 25, P25_INBOUND, &i);
	return (uint8_t)(o.verdict | i.verdict << 2);
}

/*
 * Boundaries come from the prefixes alone; each range is labelled once with
 * the engine's decision at its first address, so the later sample comparison
 * checks that the engine is constant on every range and that both searches
 * find the same range.
 */
static void baseline_build(struct baseline *b, const struct p25_policy *p, const struct pf *v,
			   size_t n, int family)
{
	unsigned bits = p25_family_bits(family);
	p25_u128 fam = p25_mask(bits), one = (p25_u128)1 << (128 - bits);
	p25_u128 *pts = xmalloc((2 * n + 1) * sizeof *pts);
	size_t k = 0, u = 0;

	pts[k++] = 0;
	for (size_t i = 0; i < n; i++) {
		p25_u128 last = v[i].net | (fam & ~p25_mask(v[i].len));
		pts[k++] = v[i].net;
		if (last != fam)
			pts[k++] = last + one;
	}
	qsort(pts, k, sizeof *pts, u128_cmp);
	b->val = xmalloc(k);
	for (size_t i = 0; i < k; i++) {
		if (u && pts[i] == pts[u - 1])
			continue;
		pts[u] = pts[i];
		b->val[u++] = label(p, family, pts[i]);
	}
	b->n = u;
	if (family == P25_INET) {
		b->starts4 = xmalloc(u * sizeof *b->starts4);
		for (size_t i = 0; i < u; i++)
			b->starts4[i] = (uint32_t)(pts[i] >> 96);
		free(pts);
	} else {
		b->starts6 = pts;
	}
}

static size_t baseline_memory(const struct baseline *b)
{
	return b->n * (1 + (b->starts4 ? sizeof *b->starts4 : sizeof *b->starts6));
}

/* Branch-free: the index of the last start <= a. */
static inline unsigned baseline_v4(const struct baseline *b, uint32_t a, int dir)
{
	const uint32_t *base = b->starts4;
	size_t n = b->n;
	while (n > 1) {
		size_t half = n / 2;
		base = base[half] <= a ? base + half : base;
		n -= half;
	}
	return (b->val[base - b->starts4] >> (dir * 2)) & 3;
}

static inline unsigned baseline_v6(const struct baseline *b, p25_u128 a, int dir)
{
	const p25_u128 *base = b->starts6;
	size_t n = b->n;
	while (n > 1) {
		size_t half = n / 2;
		base = base[half] <= a ? base + half : base;
		n -= half;
	}
	return (b->val[base - b->starts6] >> (dir * 2)) & 3;
}

/*
 * IPv4: uniformly random addresses (a BGP-size table covers nearly all of
 * the space).  IPv6: half inside a random prefix of the model, half anywhere
 * in 2000::/3, where random addresses alone would almost never hit.
 */
static void make_lookups(struct rng *r, p25_u128 *out, size_t n, const struct pf *v, size_t nv,
			 int family)
{
	p25_u128 fam = p25_mask(p25_family_bits(family));
	for (size_t i = 0; i < n; i++) {
		p25_u128 x = (p25_u128)rnd(r) << 64 | rnd(r);
		if (family == P25_INET6 && i % 2 && nv) {
			const struct pf *p = &v[rnd(r) % nv];
			out[i] = (p->net | (x & ~p25_mask(p->len))) & fam;
		} else if (family == P25_INET6) {
			out[i] = (x >> 3) | (p25_u128)1 << 125; /* 2000::/3 */
		} else {
			out[i] = x & fam;
		}
	}
}

struct result {
	double build, base_build, rate, base_rate, batch_rate;
	size_t mem, base_mem, n_ranges;
	uint64_t sum, base_sum;
};

static void run_family(int family, size_t nprefixes, size_t nlookups, int runs, uint64_t seed)
{
	struct rng r = {seed + (uint64_t)family};
	struct pf *v = xmalloc(nprefixes * sizeof *v);
	struct p25_model m;
	struct p25_policy *p = NULL;
	struct baseline b = {0};
	struct result res = {0};
	char err[256];
	const char *fam = family == P25_INET ? "ipv4" : "ipv6";
	/* IPv6 prefixes cluster under 256 random /16 regions of 2000::/3. */
	p25_u128 regions[256];

	for (int i = 0; i < 256; i++)
		regions[i] = ((p25_u128)rnd(&r) << 64 >> 3 | (p25_u128)1 << 125) & p25_mask(16);
	for (size_t i = 0; i < nprefixes; i++) {
		p25_u128 x = (p25_u128)rnd(&r) << 64 | rnd(&r);
		if (family == P25_INET) {
			v[i].len = (uint8_t)v4_len(&r);
			v[i].net = x & p25_mask(v[i].len) & p25_mask(32);
		} else {
			v[i].len = (uint8_t)v6_len(&r);
			v[i].net = (regions[rnd(&r) % 256] | (x >> 16)) & p25_mask(v[i].len);
			/* Like assignments under allocations, most nest in an earlier prefix. */
			if (i && rnd(&r) % 10 < 6) {
				const struct pf *o = &v[rnd(&r) % i];
				if (o->len < v[i].len)
					v[i].net = (o->net | (x & ~p25_mask(o->len))) &
						   p25_mask(v[i].len);
			}
		}
	}
	p25_model_init(&m);
	make_model(&r, &m, v, nprefixes, family);

	res.build = 1e9;
	res.base_build = 1e9;
	for (int k = 0; k < runs; k++) {
		double t = now_s();
		p = p25_policy_build(&m, NOW, err, sizeof err);
		t = now_s() - t;
		if (!p)
			die(err);
		if (t < res.build)
			res.build = t;
		if (k + 1 < runs)
			p25_policy_free(p);
	}
	res.mem = p25_policy_memory(p);
	for (int k = 0; k < runs; k++) {
		double t = now_s();
		free(b.starts4);
		free(b.starts6);
		free(b.val);
		memset(&b, 0, sizeof b);
		baseline_build(&b, p, v, nprefixes, family);
		t = now_s() - t;
		if (t < res.base_build)
			res.base_build = t;
	}
	res.base_mem = baseline_memory(&b);

	printf("%s: %zu prefixes -> %zu orgs, %zu spaces, %zu permits; baseline %zu ranges\n", fam,
	       nprefixes, m.norgs, m.nspaces, m.npermits, b.n);
	if (family == P25_INET)
		printf("  length mix: 55%% /24, 38%% /16-/23, 2%% /8-/15, 5%% /25-/32; "
		       "lookups uniform over the IPv4 space\n");
	else
		printf("  length mix: 45%% /32-/48, 45%% /49-/64, 5%% /65-/127, 5%% /128, "
		       "under 256 random /16s of 2000::/3, 60%% nested in another;\n"
		       "  lookups: half in a random prefix, half uniform over 2000::/3\n");

	p25_u128 *a6 = NULL;
	uint32_t *a4 = NULL;
	p25_u128 *tmp = xmalloc(nlookups * sizeof *tmp);
	make_lookups(&r, tmp, nlookups, v, nprefixes, family);
	if (family == P25_INET) {
		a4 = xmalloc(nlookups * sizeof *a4);
		for (size_t i = 0; i < nlookups; i++)
			a4[i] = (uint32_t)(tmp[i] >> 96);
		free(tmp);
	} else {
		a6 = tmp;
	}

	/* Agreement on a sample, both directions. */
	size_t sample = nlookups < 1000000 ? nlookups : 1000000;
	for (size_t i = 0; i < sample; i++) {
		for (int dir = 0; dir < 2; dir++) {
			unsigned x, y;
			if (family == P25_INET) {
				x = p25_policy_verdict_v4(p, a4[i], dir);
				y = baseline_v4(&b, a4[i], dir);
			} else {
				x = p25_policy_verdict_v6(p, a6[i], dir);
				y = baseline_v6(&b, a6[i], dir);
			}
			if (x != y) {
				fprintf(stderr, "%s lookup %zu dir %d: port25 %u, baseline %u\n", fam,
					i, dir, x, y);
				die("methods disagree");
			}
		}
	}

	for (int k = 0; k < runs; k++) {
		uint64_t sum = 0;
		double t = now_s();
		if (family == P25_INET)
			for (size_t i = 0; i < nlookups; i++)
				sum += p25_policy_verdict_v4(p, a4[i], i & 1);
		else
			for (size_t i = 0; i < nlookups; i++)
				sum += p25_policy_verdict_v6(p, a6[i], i & 1);
		t = now_s() - t;
		if (nlookups / t > res.rate)
			res.rate = nlookups / t;
		res.sum = sum;

		sum = 0;
		t = now_s();
		if (family == P25_INET)
			for (size_t i = 0; i < nlookups; i++)
				sum += baseline_v4(&b, a4[i], i & 1);
		else
			for (size_t i = 0; i < nlookups; i++)
				sum += baseline_v6(&b, a6[i], i & 1);
		t = now_s() - t;
		if (nlookups / t > res.base_rate)
			res.base_rate = nlookups / t;
		res.base_sum = sum;
	}
	/* The batched API over the same addresses, 4096 at a time. */
	enum { CHUNK = 4096 };
	uint8_t pairs[CHUNK];
	for (int k = 0; k < runs; k++) {
		uint64_t sum = 0;
		double t = now_s();
		for (size_t i = 0; i < nlookups; i += CHUNK) {
			size_t batch = nlookups - i < CHUNK ? nlookups - i : CHUNK;
			if (family == P25_INET)
				p25_policy_verdicts_v4(p, a4 + i, batch, pairs);
			else
				p25_policy_verdicts_v6(p, a6 + i, batch, pairs);
			for (size_t j = 0; j < batch; j++)
				sum += p25_verdict_of(pairs[j], (i + j) & 1);
		}
		t = now_s() - t;
		if (nlookups / t > res.batch_rate)
			res.batch_rate = nlookups / t;
		if (sum != res.sum)
			die("batched lookups disagree with single lookups");
	}
	if (res.sum != res.base_sum)
		die("checksums differ");

	printf("  build:   port25 %.3f s, %.1f MiB   baseline %.3f s, %.1f MiB\n", res.build,
	       res.mem / 1048576.0, res.base_build, res.base_mem / 1048576.0);
	printf("  lookups: port25 %.1f M/s   baseline %.1f M/s   ratio %.1fx   "
	       "(%zu lookups, best of %d, checksum %llu, %zu-lookup sample agrees)\n",
	       res.rate / 1e6, res.base_rate / 1e6, res.rate / res.base_rate, nlookups, runs,
	       (unsigned long long)res.sum, sample);
	printf("  batched: port25 %.1f M/s   ratio to baseline %.1fx   (p25_policy_verdicts_v%c, "
	       "prefetching ahead)\n",
	       res.batch_rate / 1e6, res.batch_rate / res.base_rate, family == P25_INET ? '4' : '6');
	fflush(stdout);

	free(a4);
	free(a6);
	free(b.starts4);
	free(b.starts6);
	free(b.val);
	p25_policy_free(p);
	p25_model_free(&m);
	free(v);
}

static size_t arg_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end || end == s)
		die("bad number");
	return (size_t)v;
}

int main(int argc, char **argv)
{
	size_t n4 = 1000000, n6 = 100000, lookups = 20000000;
	int runs = 3;
	uint64_t seed = 1;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			die("usage: bench_decide [--v4 N] [--v6 N] [--lookups N] [--runs N] [--seed N]");
		if (!strcmp(argv[i], "--v4"))
			n4 = arg_size(argv[++i]);
		else if (!strcmp(argv[i], "--v6"))
			n6 = arg_size(argv[++i]);
		else if (!strcmp(argv[i], "--lookups"))
			lookups = arg_size(argv[++i]);
		else if (!strcmp(argv[i], "--runs"))
			runs = (int)arg_size(argv[++i]);
		else if (!strcmp(argv[i], "--seed"))
			seed = arg_size(argv[++i]);
		else
			die("usage: bench_decide [--v4 N] [--v6 N] [--lookups N] [--runs N] [--seed N]");
	}
	if (runs < 1 || lookups < 1)
		die("--runs and --lookups must be positive");
	if (n4)
		run_family(P25_INET, n4, lookups, runs, seed);
	if (n6)
		run_family(P25_INET6, n6, lookups, runs, seed);
	return 0;
}
