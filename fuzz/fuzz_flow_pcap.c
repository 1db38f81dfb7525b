/*
 * The flow pcap reader and its IP fragment reassembler.  Input: a capture
 * file image, or 'R' followed by raw IP packets fed straight to the
 * reader's per-frame path, so fragment sequences are easy to reach:
 * repeated { seconds to advance (1 byte), length (2 bytes, big-endian), packet }.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "flow/flow_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *arg, const struct p25_flow *f, size_t n)
{
	uint64_t *sum = arg;
	for (size_t i = 0; i < n; i++)
		*sum += f[i].bytes + f[i].packets + f[i].dport + f[i].sampling +
			(uint64_t)f[i].src.bits;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p25_flow_decoder *d = p25_flow_decoder_new();
	uint64_t sum = 0;
	char err[256];

	if (!d)
		return 0;
	if (size >= 1 && data[0] == 'R') {
		struct p25_reasm *r = p25_reasm_new();
		int64_t now = 0;
		data++;
		size--;
		while (r && size >= 3) {
			now += (int64_t)data[0] * 1000000;
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
			p25_flow_pcap_frame(r, P25_LINK_RAW, now, pkt, len, 0, d, sink, &sum);
			free(pkt);
			data += len;
			size -= len;
		}
		if (r)
			p25_reasm_finish(r, &d->st);
		p25_reasm_free(r);
	} else {
		p25_flow_read_pcap_mem(data, size, 0, d, sink, &sum, err, sizeof err);
	}
	const struct p25_flow_stats *st = p25_flow_decoder_stats(d);
	if (st->ip_reassembled + st->ip_frag_incomplete > st->ip_fragments)
		abort();
	p25_flow_decoder_free(d);
	return 0;
}
