/*
 * Shared body of the NetFlow/IPFIX fuzz targets: a sequence of export
 * packets, each forced to one version, through one decoder so templates and
 * sequence state carry over.
 * Input: repeated { exporter (1 byte), length (2 bytes, big-endian), packet }.
 */
#ifndef P25_FUZZ_FLOW_H
#define P25_FUZZ_FLOW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow.h"

static void sink(void *arg, const struct p25_flow *f, size_t n)
{
	uint64_t *sum = arg;
	/* Touch every record so reads of uninitialised fields would show. */
	for (size_t i = 0; i < n; i++)
		*sum += f[i].bytes + f[i].packets + f[i].dport + f[i].sampling +
			(uint64_t)f[i].first_ms + (uint64_t)f[i].src.bits + f[i].src.family;
}

static int fuzz_flow_version(const uint8_t *data, size_t size, uint8_t version)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	uint64_t sum = 0;

	if (!d)
		return 0;
	while (size >= 3) {
		struct p25_flow_exporter from = {.port = (uint16_t)(data[0] & 3)};
		p25_addr_from_v4(&from.addr, 0xc0000200u | (data[0] >> 2 & 3));
		size_t len = (size_t)data[1] << 8 | data[2];
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		/* An exact-size copy so any overread is caught. */
		uint8_t *pkt = malloc(len ? len : 1);
		if (!pkt)
			break;
		memcpy(pkt, data, len);
		if (len >= 2) {
			pkt[0] = 0;
			pkt[1] = version;
		}
		p25_flow_decode(d, &from, pkt, len, sink, &sum);
		free(pkt);
		data += len;
		size -= len;
	}
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	if (st->records > st->packets * 65536)
		abort();
	p25_flow_decoder_free(d);
	return 0;
}

#endif
