#include "policy/lpm.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define L1_SIZE	  (1u << 24)
#define L1_BYTES  ((size_t)L1_SIZE * sizeof(uint32_t))
#define PAGE_ENTS 1024		 /* first-level entries per 4 KiB page */
#define HUGE_ENTS (512u * 1024) /* ... per 2 MiB page */
#define HUGE_SIZE ((size_t)HUGE_ENTS * sizeof(uint32_t))

/*
 * The first level comes straight from mmap: zeroed, and backed only where
 * written, so a small registry costs a few pages.  When most of it will be
 * written anyway, 2 MiB pages are asked for: random lookups over 64 MiB with
 * 4 KiB pages miss the TLB on nearly every packet.
 */
static uint32_t *l1_alloc(bool dense, bool *huge)
{
	uint8_t *p = mmap(NULL, L1_BYTES + HUGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;
	size_t head;

	*huge = false;
	if (p == MAP_FAILED)
		return NULL;
	/* Trim to a 2 MiB aligned mapping so that huge pages can back it. */
	a = ((uintptr_t)p + HUGE_SIZE - 1) & ~(uintptr_t)(HUGE_SIZE - 1);
	head = a - (uintptr_t)p;
	if (head)
		munmap(p, head);
	if (HUGE_SIZE - head)
		munmap((uint8_t *)a + L1_BYTES, HUGE_SIZE - head);
#ifdef MADV_HUGEPAGE
	if (dense && madvise((void *)a, L1_BYTES, MADV_HUGEPAGE) == 0)
		*huge = true;
#endif
	return (uint32_t *)a;
}

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
	/* Dense: more than an eighth of the space is in some range worth an entry. */
	uint64_t covered = 0;
	for (size_t i = 0; i < n; i++)
		if (entries[i])
			covered += (i + 1 < n ? (uint64_t)starts[i + 1] : (uint64_t)1 << 32) - starts[i];
	t->l1 = l1_alloc(covered > ((uint64_t)1 << 29), &t->huge);
	t->l2 = calloc((ngroups ? ngroups : 1) << 8, sizeof *t->l2);
	paged = calloc(L1_SIZE / PAGE_ENTS, 1);
	if (!t->l1 || !t->l2 || !paged) {
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
	for (size_t p = 0; p < L1_SIZE / PAGE_ENTS; p++) {
		/* A huge page is backed whole once any of it is written. */
		size_t h = p / (HUGE_ENTS / PAGE_ENTS) * (HUGE_ENTS / PAGE_ENTS);
		bool any = paged[p];
		if (t->huge)
			for (size_t q = h; q < h + HUGE_ENTS / PAGE_ENTS && !any; q++)
				any = paged[q];
		t->touched += any ? PAGE_ENTS : 0;
	}
	free(paged);
	return 0;
}

void p25_lpm4_free(struct p25_lpm4 *t)
{
	if (t->l1)
		munmap(t->l1, L1_BYTES);
	free(t->l2);
	memset(t, 0, sizeof *t);
}

/* Resident bytes: first-level pages never written are never backed. */
size_t p25_lpm4_memory(const struct p25_lpm4 *t)
{
	return t->touched * sizeof *t->l1 + ((t->ngroups ? t->ngroups : 1) << 8) * sizeof *t->l2;
}
