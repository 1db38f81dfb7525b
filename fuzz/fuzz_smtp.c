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
	/* The client the blocklist replies are checked against: IPv4 or IPv6 by the first byte. */
	struct p25_addr client;
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66};
	if (size && data[0] & 0x80)
		p25_addr_from_v6(&client, v6);
	else
		p25_addr_from_v4(&client, 0xc0000242); /* 192.0.2.66 */
	p25_smtp_set_client(s, &client);
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
	sum += r->bl_replies[1] + r->bl_replies[2] + r->bl_replies[3] + r->bl_lists + r->bl_kind +
	       (uint8_t)r->bl_reply[0];
	(void)sum;
	p25_smtp_free(s);
	return 0;
}
