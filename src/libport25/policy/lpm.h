/*
 * Longest-prefix-match tables of the policy engine, private to it.
 *
 * Both tables are built from the same input: the disjoint-range partition of
 * the address space (sorted starts, the first at address 0, each range
 * running up to the next start), each range carrying a 32-bit entry.  An
 * entry packs the verdicts for both directions in its low bits, so that the
 * per-packet path never touches the leaf array:
 *
 *	bits 0-1   outbound verdict
 *	bits 2-3   inbound verdict
 *	bits 4-30  leaf index
 *	bit  31    (IPv4 first level only) index of a second-level group
 *
 * Entry 0 is leaf 0, "in no organization's space", not covered both ways:
 * zeroed memory is a valid table.
 */
#ifndef P25_LPM_H
#define P25_LPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr/addr.h"

#define P25_LPM_LEAF_SHIFT 4
#define P25_LPM_LEAF_MAX   ((1u << 27) - 1)
#define P25_LPM_EXT	   (1u << 31)

static inline unsigned p25_lpm_verdict(uint32_t entry, unsigned dir)
{
	return (entry >> (dir * 2)) & 3;
}

static inline uint32_t p25_lpm_leaf(uint32_t entry)
{
	return (entry & ~P25_LPM_EXT) >> P25_LPM_LEAF_SHIFT;
}

/* IPv4: DIR-24-8.  The first level has 2^24 entries indexed by the top 24 bits. */
struct p25_lpm4 {
	uint32_t *l1; /* mmap'ed: pages never written stay unallocated */
	uint32_t *l2; /* groups of 256 entries; always at least one */
	size_t ngroups;
	size_t touched; /* first-level entries on backed pages, for the memory figure */
	bool huge;	/* l1 asked for 2 MiB pages */
};

/* starts: host-order addresses, ascending, starts[0] == 0. */
int p25_lpm4_build(struct p25_lpm4 *t, const uint32_t *starts, const uint32_t *entries, size_t n);
void p25_lpm4_free(struct p25_lpm4 *t);
size_t p25_lpm4_memory(const struct p25_lpm4 *t);

static inline uint32_t p25_lpm4_lookup(const struct p25_lpm4 *t, uint32_t a)
{
	uint32_t e = t->l1[a >> 8];

	if (e & P25_LPM_EXT)
		e = t->l2[(size_t)(e & ~P25_LPM_EXT) << 8 | (a & 0xff)];
	return e;
}

/*
 * IPv6: the range array itself, reached through a multibit index over the
 * range boundaries.  A node consumes `bits` address bits after the `shift`
 * bits its ancestors consumed; each of its slots either names the first range
 * overlapping the slot's block plus how many more ranges start inside the
 * block (few: scanned linearly), or points to a child node (many).  Dense
 * regions get deeper nodes, empty regions cost one slot, so lookups take one
 * to three slot loads and a scan of at most P25_LPM6_SCAN starts whatever
 * the distribution of prefixes.
 */
#define P25_LPM6_SCAN 8

struct p25_lpm6_node {
	uint32_t slots; /* index of the node's first slot */
	uint8_t shift;
	uint8_t bits;
};

struct p25_lpm6 {
	p25_u128 *starts;
	uint32_t *entries;
	size_t n;
	/*
	 * Slot: bit 63 set: a child node, its first slot in bits 0-31, its
	 * shift in bits 32-39 and its bits in 40-47, so that descending costs
	 * no load besides the child's slot.  Bit 62 set: no
	 * range starts inside the block, its entry is in the low 32 bits.
	 * Else the first range index in bits 0-31 and the count of further
	 * candidates (2..P25_LPM6_SCAN) in bits 32-39.
	 */
	uint64_t *slots;
	size_t nslots, slots_cap;
	struct p25_lpm6_node *nodes;
	size_t nnodes, nodes_cap;
};

#define P25_LPM6_CHILD (1ull << 63)
#define P25_LPM6_DIRECT (1ull << 62)

int p25_lpm6_build(struct p25_lpm6 *t, const p25_u128 *starts, const uint32_t *entries, size_t n);
void p25_lpm6_free(struct p25_lpm6 *t);
size_t p25_lpm6_memory(const struct p25_lpm6 *t);

static inline uint32_t p25_lpm6_lookup(const struct p25_lpm6 *t, p25_u128 a)
{
	const p25_u128 *st;
	uint64_t s;
	unsigned cnt, k = 0, shift = t->nodes[0].shift, bits = t->nodes[0].bits;
	size_t first = t->nodes[0].slots;

	for (;;) {
		/* shift + bits <= 128 and bits >= 1, so both shifts are in range. */
		s = t->slots[first + (size_t)((a << shift) >> (128 - bits))];
		if (!(s & (P25_LPM6_CHILD | P25_LPM6_DIRECT)))
			break;
		if (s & P25_LPM6_DIRECT)
			return (uint32_t)s;
		first = (uint32_t)s;
		shift = (unsigned)(s >> 32) & 0xff;
		bits = (unsigned)(s >> 40) & 0xff;
	}
	/* Starts are sorted: stop at the first beyond a, usually at once. */
	st = &t->starts[(uint32_t)s + 1];
	cnt = (unsigned)(s >> 32) & 0xff;
	while (k < cnt && st[k] <= a)
		k++;
	return t->entries[(uint32_t)s + k];
}

#endif
