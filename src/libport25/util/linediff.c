#include "util/linediff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Past this many differences, the multiset match (see linediff.h). */
#define MAX_EDITS 2000

int p25_lines_split(const char *text, struct p25_line **lines, size_t *n)
{
	size_t cap = 0, k = 0;
	struct p25_line *v = NULL;
	const char *p = text;

	while (p && *p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (k == cap) {
			struct p25_line *w = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *w);
			if (!w) {
				free(v);
				return -1;
			}
			v = w;
		}
		v[k++] = (struct p25_line){p, len > 0 && p[len - 1] == '\r' ? len - 1 : len};
		p = e ? e + 1 : p + len;
	}
	*lines = v;
	*n = k;
	return 0;
}

static bool same(const struct p25_line *x, const struct p25_line *y)
{
	return x->n == y->n && !memcmp(x->s, y->s, x->n);
}

struct ref {
	const struct p25_line *l;
	size_t index;
	int side; /* 0 a, 1 b */
};

static int ref_cmp(const void *p, const void *q)
{
	const struct ref *x = p, *y = q;
	size_t n = x->l->n < y->l->n ? x->l->n : y->l->n;
	int c = memcmp(x->l->s, y->l->s, n);

	if (c)
		return c;
	if (x->l->n != y->l->n)
		return x->l->n < y->l->n ? -1 : 1;
	if (x->side != y->side)
		return x->side - y->side;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* The multiset match: each line kept as often as both texts have it. */
static long multiset(const struct p25_line *a, size_t na, const struct p25_line *b, size_t nb,
		     size_t off, p25_diff_fn fn, void *ctx)
{
	struct ref *r = malloc((na + nb + 1) * sizeof *r);
	char *drop_a = calloc(na + 1, 1), *drop_b = calloc(nb + 1, 1);
	long reported = 0;

	if (!r || !drop_a || !drop_b) {
		free(r);
		free(drop_a);
		free(drop_b);
		return -1;
	}
	for (size_t i = 0; i < na; i++)
		r[i] = (struct ref){&a[i], i, 0};
	for (size_t i = 0; i < nb; i++)
		r[na + i] = (struct ref){&b[i], i, 1};
	qsort(r, na + nb, sizeof *r, ref_cmp);
	for (size_t i = 0; i < na + nb;) {
		size_t j = i, ka = 0, kb = 0;
		while (j < na + nb && same(r[j].l, r[i].l))
			j++;
		for (size_t k = i; k < j; k++)
			r[k].side ? kb++ : ka++;
		/* The occurrences beyond what the other text has are the differences. */
		for (size_t k = i; k < j; k++) {
			if (!r[k].side && ka > kb && k - i >= kb)
				drop_a[r[k].index] = 1;
			if (r[k].side && kb > ka && k - i - ka >= ka)
				drop_b[r[k].index] = 1;
		}
		i = j;
	}
	for (size_t i = 0; i < na; i++)
		if (drop_a[i] && ++reported)
			fn(ctx, '-', &a[i], off + i);
	for (size_t i = 0; i < nb; i++)
		if (drop_b[i] && ++reported)
			fn(ctx, '+', &b[i], off + i);
	free(r);
	free(drop_a);
	free(drop_b);
	return reported;
}

/*
 * Myers: V[k] is the furthest x on diagonal k after d edits.  Round d's
 * V[-d..d] is kept (at trace + d*d: the rounds before take d*d) to walk the
 * script back.  -2 when more than MAX_EDITS are needed.
 */
static long myers(const struct p25_line *a, size_t na, const struct p25_line *b, size_t nb,
		  size_t off, p25_diff_fn fn, void *ctx)
{
	long n = (long)na, m = (long)nb, max = n + m, dmax = max < MAX_EDITS ? max : MAX_EDITS;
	long width = 2 * dmax + 3, d, found = -1, *trace = NULL, *v;
	size_t cap = 0, nops = 0, *idx;
	long reported = 0;
	char *ops;

	v = calloc((size_t)width, sizeof *v);
	if (!v)
		return -1;
#define V(k) v[(k) + dmax + 1]
	for (d = 0; d <= dmax && found < 0; d++) {
		for (long k = -d; k <= d; k += 2) {
			long x = k == -d || (k != d && V(k - 1) < V(k + 1)) ? V(k + 1) : V(k - 1) + 1;
			long y = x - k;
			while (x < n && y < m && same(&a[x], &b[y]))
				x++, y++;
			V(k) = x;
			if (x >= n && y >= m) {
				found = d;
				break;
			}
		}
		if ((size_t)((d + 1) * (d + 1)) > cap) {
			size_t want = (size_t)((d + 1) * (d + 1)) * 2;
			long *t = realloc(trace, want * sizeof *t);
			if (!t) {
				free(trace);
				free(v);
				return -1;
			}
			trace = t;
			cap = want;
		}
		memcpy(trace + d * d, &V(-d), (size_t)(2 * d + 1) * sizeof *v);
	}
#undef V
	free(v);
	if (found < 0) {
		free(trace);
		return -2;
	}
	ops = malloc((size_t)found + 1);
	idx = malloc(((size_t)found + 1) * sizeof *idx);
	if (!ops || !idx) {
		free(trace);
		free(ops);
		free(idx);
		return -1;
	}
	/* Back from (n, m): each round's step is one line removed or added. */
	{
		long x = n, y = m;
		for (d = found; d > 0; d--) {
			const long *pv = trace + (d - 1) * (d - 1); /* pv[k + d - 1]: V(k) of round d-1 */
			long k = x - y, pk, px, py;
			if (k == -d || (k != d && pv[k - 1 + d - 1] < pv[k + 1 + d - 1]))
				pk = k + 1;
			else
				pk = k - 1;
			px = pv[pk + d - 1];
			py = px - pk;
			ops[nops] = pk == k + 1 ? '+' : '-';
			idx[nops++] = pk == k + 1 ? (size_t)py : (size_t)px;
			x = px;
			y = py;
		}
	}
	for (size_t i = nops; i-- > 0;) {
		fn(ctx, ops[i], ops[i] == '-' ? &a[idx[i]] : &b[idx[i]], off + idx[i]);
		reported++;
	}
	free(trace);
	free(ops);
	free(idx);
	return reported;
}

long p25_line_diff(const struct p25_line *a, size_t na, const struct p25_line *b, size_t nb,
		   p25_diff_fn fn, void *ctx)
{
	size_t pre = 0, post = 0;
	long rc;

	/* What both begin and end with is no difference: the search runs on the middle. */
	while (pre < na && pre < nb && same(&a[pre], &b[pre]))
		pre++;
	while (post < na - pre && post < nb - pre && same(&a[na - 1 - post], &b[nb - 1 - post]))
		post++;
	rc = myers(a + pre, na - pre - post, b + pre, nb - pre - post, pre, fn, ctx);
	if (rc == -2)
		rc = multiset(a + pre, na - pre - post, b + pre, nb - pre - post, pre, fn, ctx);
	return rc;
}
