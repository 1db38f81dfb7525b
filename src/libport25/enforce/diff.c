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
