/*
 * Two states compared: the elements each set gains and loses and the chains
 * added, rewritten and removed, which sync sends as one batch and status
 * counts; and the hash that tells equal states apart without the kernel.
 * No netlink here: a loaded state from the kernel or from the cache and a
 * desired state from the plan compare alike.
 */
#include "enforce/enforce_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The hash of a state: equal states, loaded or desired, hash alike. */
void st_hash(const struct st *s, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < NSETS; i++) {
		h = fnv(h, set_names[i], strlen(set_names[i]) + 1);
		for (size_t k = 0; k < s->sets[i].n; k++) {
			const struct range *r = &s->sets[i].v[k];
			h = fnv(h, &r->lo, sizeof r->lo);
			h = fnv(h, &r->hi, sizeof r->hi);
			h = fnv(h, r->chain, strlen(r->chain) + 1);
		}
	}
	for (size_t i = 0; i < s->nchains; i++) {
		h = fnv(h, s->chains[i].name, strlen(s->chains[i].name) + 1);
		h = fnv(h, s->chains[i].sig, strlen(s->chains[i].sig) + 1);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

void diff_free(struct diff *d)
{
	for (int i = 0; i < NSETS; i++) {
		free(d->add[i].v);
		free(d->del[i].v);
	}
	free(d->cadd);
	free(d->crewrite);
	free(d->cdel);
	memset(d, 0, sizeof *d);
}

int diff_states(const struct st *want, const struct st *have, struct diff *d)
{
	size_t nc = want->nchains + have->nchains + 1;

	memset(d, 0, sizeof *d);
	d->cadd = calloc(nc, sizeof *d->cadd);
	d->crewrite = calloc(nc, sizeof *d->crewrite);
	d->cdel = calloc(nc, sizeof *d->cdel);
	if (!d->cadd || !d->crewrite || !d->cdel)
		return -1;
	for (int s = 0; s < NSETS; s++) {
		const struct rlist *w = &want->sets[s], *h = &have->sets[s];
		size_t i = 0, j = 0;
		while (i < w->n || j < h->n) {
			int c = i == w->n ? 1 : j == h->n ? -1 : range_cmp(&w->v[i], &h->v[j]);
			if (c == 0) {
				i++;
				j++;
			} else if (c < 0) {
				if (rl_push(&d->add[s], &w->v[i++]) < 0)
					return -1;
			} else if (rl_push(&d->del[s], &h->v[j++]) < 0) {
				return -1;
			}
		}
	}
	/* both chain lists are sorted by name */
	size_t i = 0, j = 0;
	while (i < want->nchains || j < have->nchains) {
		int c = i == want->nchains ? 1
			: j == have->nchains
				? -1
				: strcmp(want->chains[i].name, have->chains[j].name);
		if (c == 0) {
			if (strcmp(want->chains[i].sig, have->chains[j].sig) != 0)
				d->crewrite[d->ncrewrite++] = &want->chains[i];
			i++;
			j++;
		} else if (c < 0) {
			d->cadd[d->ncadd++] = &want->chains[i++];
		} else {
			d->cdel[d->ncdel++] = &have->chains[j++];
		}
	}
	return 0;
}

size_t st_intervals(const struct st *s)
{
	size_t n = 0;

	for (int i = 0; i < NSETS; i++)
		n += s->sets[i].n;
	return n;
}

/* The handle of a chain ("out_k12" -> "k12"); NULL for another name. */
static const char *chain_org(const char *chain)
{
	if (!strncmp(chain, "out_", 4))
		return chain + 4;
	if (!strncmp(chain, "in_", 3))
		return chain + 3;
	return NULL;
}

/* The org whose space holds address a of family fam in s (its verdict maps), or NULL. */
static const char *org_at(const struct st *s, int fam, p25_u128 a)
{
	for (int dir = 0; dir < 2; dir++) {
		const struct rlist *m = &s->sets[2 + 2 * dir + fam];
		size_t lo = 0, hi = m->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (m->v[mid].hi < a)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < m->n && m->v[lo].lo <= a)
			return chain_org(m->v[lo].chain);
	}
	return NULL;
}

/* A range as an operator writes it: an address, a prefix, or "first - last". */
static json_t *range_text(int fam, const struct range *r)
{
	unsigned bits = fam == 0 ? 32 : 128, shift = 128 - bits, len = 0;
	p25_u128 lo = r->lo >> shift, span = (r->hi >> shift) - lo,
		 top = fam_top(fam) >> shift;
	struct p25_addr x = {.bits = r->lo, .family = fam == 0 ? P25_INET : P25_INET6};
	struct p25_addr y = {.bits = r->hi, .family = x.family};
	char a[P25_PREFIX_STRLEN], b[P25_PREFIX_STRLEN], buf[2 * P25_PREFIX_STRLEN + 4];
	bool block = false;

	if (span == top) {
		block = lo == 0; /* the whole space: /0 */
	} else {
		p25_u128 size = span + 1;
		if ((size & (size - 1)) == 0 && (lo & (size - 1)) == 0) {
			block = true;
			for (len = bits; size > 1; size >>= 1)
				len--;
		}
	}
	if (block && len == bits)
		return json_string(p25_addr_format(&x, a, sizeof a));
	if (block) {
		struct p25_prefix p = {.net = r->lo, .len = (uint8_t)len, .family = x.family};
		return json_string(p25_prefix_format(&p, a, sizeof a));
	}
	snprintf(buf, sizeof buf, "%s - %s", p25_addr_format(&x, a, sizeof a),
		 p25_addr_format(&y, b, sizeof b));
	return json_string(buf);
}

static int describe_one(json_t *out, const char *change, const char *what, const char *org,
			json_t *address)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "change", change, "what", what, "org",
			      org ? json_string(org) : json_null(), "address",
			      address ? address : json_null());
	return o ? json_array_append_new(out, o) : -1;
}

json_t *diff_describe(const struct diff *d, const struct st *want, const struct st *have)
{
	static const char *const what[NSETS] = {"permit",          "permit",
						"blocked outbound", "blocked outbound",
						"blocked inbound",  "blocked inbound",
						"permit",          "permit"};
	json_t *out = json_array();
	int rc = out ? 0 : -1;

	/* Organizations first: an activation or a suspension is the news. */
	for (size_t i = 0; i < d->ncadd && rc == 0; i++)
		rc = describe_one(out, "add", "organization", chain_org(d->cadd[i]->name),
				  json_string(d->cadd[i]->name));
	for (size_t i = 0; i < d->ncrewrite && rc == 0; i++)
		rc = describe_one(out, "rewrite", "organization", chain_org(d->crewrite[i]->name),
				  json_string(d->crewrite[i]->name));
	for (size_t i = 0; i < d->ncdel && rc == 0; i++)
		rc = describe_one(out, "remove", "organization", chain_org(d->cdel[i]->name),
				  json_string(d->cdel[i]->name));
	for (int s = 0; s < NSETS && rc == 0; s++) {
		int fam = set_fam(s);
		bool map = s >= 2 && s <= 5;
		for (size_t i = 0; i < d->del[s].n && rc == 0; i++) {
			const struct range *r = &d->del[s].v[i];
			rc = describe_one(out, "remove", what[s],
					  map ? chain_org(r->chain) : org_at(have, fam, r->lo),
					  range_text(fam, r));
		}
		for (size_t i = 0; i < d->add[s].n && rc == 0; i++) {
			const struct range *r = &d->add[s].v[i];
			rc = describe_one(out, "add", what[s],
					  map ? chain_org(r->chain) : org_at(want, fam, r->lo),
					  range_text(fam, r));
		}
	}
	if (rc < 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
