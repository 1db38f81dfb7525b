#include "policy/lpm.h"

#include <stdlib.h>
#include <string.h>

#define L1_SIZE	   (1u << 24)
#define PAGE_ENTS  1024 /* first-level entries per 4 KiB page */

static void fill(uint32_t *v, size_t n, uint32_t e)
{
	for (size_t i = 0; i < n; i++)
		v[i] = e;
}

int p25_lpm4_build(struct p25_lpm4 *t, const uint32_t *starts, const uint32_t *entries, size_t n)
{
	size_t ngroups = 0, g = 0;
	uint64_t prev_slot = UINT64_MAX, cur_slot = UINT64_MAX;
	uint8_t *paged;

	memset(t, 0, sizeof *t);
	/* A start inside a /24 is the only reason that /24 needs a group. */
	for (size_t i = 0; i < n; i++) {
		if ((starts[i] & 0xff) && starts[i] >> 8 != prev_slot) {
			ngroups++;
			prev_slot = starts[i] >> 8;
		}
	}
	t->l1 = calloc(L1_SIZE, sizeof *t->l1);
	t->l2 = ngroups ? calloc(ngroups << 8, sizeof *t->l2) : NULL;
	paged = calloc(L1_SIZE / PAGE_ENTS, 1);
	if (!t->l1 || (ngroups && !t->l2) || !paged) {
		free(paged);
		p25_lpm4_free(t);
		return -1;
	}
	t->ngroups = ngroups;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = starts[i];
		uint64_t e = i + 1 < n ? (uint64_t)starts[i + 1] - 1 : UINT32_MAX;
		uint32_t v = entries[i];

		while (a <= e) {
			uint64_t slot = a >> 8, slot_end = a | 0xff;

			if ((a & 0xff) == 0 && e >= slot_end && slot != cur_slot) {
				/* Whole /24s: one first-level entry each. */
				uint64_t k = (e - a + 1) >> 8;
				if (v) {
					fill(&t->l1[slot], k, v);
					for (uint64_t p = slot / PAGE_ENTS; p <= (slot + k - 1) / PAGE_ENTS; p++)
						paged[p] = 1;
				}
				a += k << 8;
				continue;
			}
			if (slot != cur_slot) {
				cur_slot = slot;
				t->l1[slot] = P25_LPM_EXT | (uint32_t)g++;
				paged[slot / PAGE_ENTS] = 1;
			}
			uint64_t last = e < slot_end ? e : slot_end;
			if (v)
				fill(&t->l2[(size_t)(g - 1) << 8 | (a & 0xff)], last - a + 1, v);
			a = last + 1;
		}
	}
	for (size_t p = 0; p < L1_SIZE / PAGE_ENTS; p++)
		t->touched += paged[p] ? PAGE_ENTS : 0;
	free(paged);
	return 0;
}

void p25_lpm4_free(struct p25_lpm4 *t)
{
	free(t->l1);
	free(t->l2);
	memset(t, 0, sizeof *t);
}

/* Resident bytes: first-level pages never written are never backed. */
size_t p25_lpm4_memory(const struct p25_lpm4 *t)
{
	return t->touched * sizeof *t->l1 + (t->ngroups << 8) * sizeof *t->l2;
}
