/* Hashing shared by the hash tables (analyzer hosts and connections, flow exporters, watch). */
#ifndef P25_HASH_H
#define P25_HASH_H

#include <stdint.h>

/*
 * MurmurHash3's 64-bit finalizer: every input bit reaches every output bit,
 * so keys that differ in a few bits (neighbouring addresses, ports) spread
 * over the whole table.  Inline: it is on the per-packet path.
 */
static inline uint64_t p25_mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif
