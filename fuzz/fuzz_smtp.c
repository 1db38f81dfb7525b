/*
 * libFuzzer target: the analyzer's SMTP dialogue parser.
 * Input: repeated { control (1 byte), length (1 byte), bytes }; control bit 0
 * says the client sent the bytes, bit 1 that a gap (lost segment) came first.
 */
#include <stdint.h>
#include <stdlib.h>

#include "analyze/analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p25_smtp *s = p25_smtp_new();
	const struct p25_an_smtp *r;
	volatile uint64_t sum = 0;

	if (!s)
		return 0;
	while (size >= 2) {
		uint8_t ctl = data[0];
		size_t n = data[1];
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		if (ctl & 2)
			p25_smtp_gap(s, ctl & 1);
		p25_smtp_feed(s, ctl & 1, data, n);
		data += n;
		size -= n;
	}
	r = p25_smtp_result(s);
	/* Read every result field: uninitialised state would show under the sanitizers. */
	sum += r->helo + r->mail_from + r->rcpt_to + r->messages + r->msg_bytes + r->nhelo_names +
	       r->sender_domains + r->replies[0] + r->replies[5] + r->tls_ok + r->banner[0];
	for (unsigned i = 0; i < r->nhelo_names && i < P25_AN_HELO_KEEP; i++)
		sum += (uint8_t)r->helo_names[i][0];
	(void)sum;
	p25_smtp_free(s);
	return 0;
}
