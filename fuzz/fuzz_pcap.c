/*
 * Arbitrary bytes as a capture file image (plain or gzip), every packet
 * decoded with and without the SMTP port filter.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct p25_capture *c = p25_capture_open_mem(data, size, "fuzz", err, sizeof err);
	if (!c)
		return 0;
	struct p25_port_filter smtp;
	p25_port_filter_smtp(&smtp);
	struct p25_decode_stats st = { 0 };
	struct p25_packet k;
	struct p25_tcp_segment s;
	volatile uint64_t sink = 0;
	int r;
	while ((r = p25_capture_next(c, &k)) == 1) {
		/* Each packet must lie wholly inside the window it came from. */
		volatile uint8_t last = k.caplen ? k.data[k.caplen - 1] : 0;
		(void)last;
		if (p25_decode_tcp(&k, NULL, &s, &st) == P25_DEC_TCP) {
			for (uint32_t i = 0; i < s.payload_len; i += 64)
				sink += s.payload[i];
			if (s.payload_len)
				sink += s.payload[s.payload_len - 1];
		}
		p25_decode_tcp(&k, &smtp, &s, &st);
		/* Every link type, to reach each link-layer decoder. */
		static const uint32_t links[] = { 0, 1, 12, 101, 108, 113, 228, 229, 276 };
		struct p25_packet alt = k;
		alt.linktype = links[k.caplen % (sizeof links / sizeof links[0])];
		if (p25_decode_tcp(&alt, NULL, &s, &st) == P25_DEC_TCP && s.payload_len)
			sink += s.payload[s.payload_len - 1];
	}
	if (r < 0 && !strstr(p25_capture_strerror(c), "fuzz: "))
		__builtin_trap();
	(void)sink;
	p25_capture_close(c);
	return 0;
}
