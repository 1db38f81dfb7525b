/*
 * Test helper: one TCP segment as an Ethernet frame (optionally 802.1Q
 * tagged), IPv4 or IPv6, for the analyzer's tests to write into captures.
 */
#ifndef P25_TEST_FRAME_H
#define P25_TEST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test_segment {
	bool v6;
	uint16_t vlan;            /* 0: untagged */
	const uint8_t *src, *dst; /* 4 or 16 bytes */
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t window;
	uint32_t options; /* bytes of TCP options (a multiple of 4, at most 40) */
	const void *data;
	size_t len;
};

/* Largest frame test_frame writes. */
#define TEST_FRAME_MAX 1600

/*
 * Write s into f (TEST_FRAME_MAX bytes): returns the frame's length, and in
 * *ip_offset (when not NULL) where its IP header starts.  The options are
 * the ones Linux puts on a SYN (MSS, SACK permitted, timestamps, window
 * scale), padded with NOPs.
 */
size_t test_frame(uint8_t *f, const struct test_segment *s, size_t *ip_offset);

#endif
