#include "policy/lpm.h"

#include <stdlib.h>
#include <string.h>

static int ceil_log2(size_t n)
{
	int b = 0;
	while (((size_t)1 << b) < n)
		b++;
	return b;
}

static ssize_t new_node(struct p25_lpm6 *t, unsigned shift, unsigned bits)
{
	size_t need = (size_t)1 << bits;

	if (t->nnodes == t->nodes_cap) {
		size_t c = t->nodes_cap ? t->nodes_cap * 2 : 64;
		void *p = realloc(t->nodes, c * sizeof *t->nodes);
		if (!p)
			return -1;
		t->nodes = p;
		t->nodes_cap = c;
	}
	if (t->nslots + need > t->slots_cap) {
		size_t c = t->slots_cap ? t->slots_cap : 1024;
		while (c < t->nslots + need)
			c *= 2;
		void *p = realloc(t->slots, c * sizeof *t->slots);
		if (!p)
			return -1;
		t->slots = p;
		t->slots_cap = c;
	}
	t->nodes[t->nnodes] = (struct p25_lpm6_node){
		.slots = (uint32_t)t->nslots, .shift = (uint8_t)shift, .bits = (uint8_t)bits};
	t->nslots += need;
	return (ssize_t)t->nnodes++;
}

static unsigned node_bits(unsigned shift, size_t boundaries, unsigned max)
{
	unsigned b = (unsigned)ceil_log2(boundaries);

	if (b < 2)
		b = 2;
	if (b > max)
		b = max;
	return b > 128 - shift ? 128 - shift : b;
}

/*
 * Fill node `nd` covering the block starting at `lo`; r is the range holding
 * lo.  Children are appended after the node's own slots, so recursion may
 * move t->slots but never the slots already reserved.
 */
static int build_node(struct p25_lpm6 *t, size_t nd, p25_u128 lo, size_t r)
{
	unsigned shift = t->nodes[nd].shift, bits = t->nodes[nd].bits;
	size_t nslots = (size_t)1 << bits;
	p25_u128 size = (p25_u128)1 << (128 - shift - bits);

	for (size_t b = 0; b < nslots; b++) {
		p25_u128 s = lo + size * b, e = s + (size - 1);
		size_t j;

		while (r + 1 < t->n && t->starts[r + 1] <= s)
			r++;
		j = r;
		while (j + 1 < t->n && t->starts[j + 1] <= e)
			j++;
		if (j == r) {
			t->slots[t->nodes[nd].slots + b] = P25_LPM6_DIRECT | t->entries[r];
		} else if (j - r <= P25_LPM6_SCAN) {
			t->slots[t->nodes[nd].slots + b] = (uint64_t)r | (uint64_t)(j - r) << 32;
		} else {
			ssize_t c = new_node(t, shift + bits, node_bits(shift + bits, j - r, 12));
			if (c < 0)
				return -1;
			const struct p25_lpm6_node *cn = &t->nodes[c];
			t->slots[t->nodes[nd].slots + b] = P25_LPM6_CHILD | cn->slots |
							   (uint64_t)cn->shift << 32 |
							   (uint64_t)cn->bits << 40;
			if (build_node(t, (size_t)c, s, r) < 0)
				return -1;
		}
		r = j;
	}
	return 0;
}

int p25_lpm6_build(struct p25_lpm6 *t, const p25_u128 *starts, const uint32_t *entries, size_t n)
{
	memset(t, 0, sizeof *t);
	if (n == 0 || n > UINT32_MAX)
		return -1;
	t->starts = malloc(n * sizeof *t->starts);
	t->entries = malloc(n * sizeof *t->entries);
	if (!t->starts || !t->entries)
		goto fail;
	memcpy(t->starts, starts, n * sizeof *starts);
	memcpy(t->entries, entries, n * sizeof *entries);
	t->n = n;
	if (new_node(t, 0, node_bits(0, n, 16)) < 0 || build_node(t, 0, 0, 0) < 0)
		goto fail;
	return 0;
fail:
	p25_lpm6_free(t);
	return -1;
}

void p25_lpm6_free(struct p25_lpm6 *t)
{
	free(t->starts);
	free(t->entries);
	free(t->slots);
	free(t->nodes);
	memset(t, 0, sizeof *t);
}

size_t p25_lpm6_memory(const struct p25_lpm6 *t)
{
	return t->n * (sizeof *t->starts + sizeof *t->entries) + t->slots_cap * sizeof *t->slots +
	       t->nodes_cap * sizeof *t->nodes;
}
