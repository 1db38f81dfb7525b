/*
 * libFuzzer target: verify-inbox's parser of inbound messages, what any
 * stranger can send to the verification address.  Input: a message (its
 * header is parsed, its Received headers read, the trusted MX's hop looked
 * for, a token taken from the subject); the first line, when it is short,
 * also serves as the recipient.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p25_inmsg *m = malloc(sizeof *m);
	struct p25_received r;
	struct p25_addr a;
	char why[300], tok[80], rcpt[128];
	const char *nl = memchr(data, '\n', size);
	bool sub;

	if (!m)
		return 0;
	if (p25_inmsg_parse((const char *)data, size, m) == 0) {
		p25_inmsg_connecting(m, "mx.ops.example", &a, &sub, why, sizeof why);
		p25_inmsg_token(NULL, m->subject, tok, sizeof tok);
	}
	/* The raw bytes as one Received value, and the first line as a recipient. */
	p25_received_parse((const char *)data, size, &r);
	if (nl && (size_t)(nl - (const char *)data) < sizeof rcpt) {
		memcpy(rcpt, data, (size_t)(nl - (const char *)data));
		rcpt[nl - (const char *)data] = '\0';
		p25_inmsg_token(rcpt, NULL, tok, sizeof tok);
	}
	free(m);
	return 0;
}
