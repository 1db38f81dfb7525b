/* libFuzzer target: address and prefix parsing, formatting round-trip, aggregation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128], again[P25_PREFIX_STRLEN];
	struct p25_prefix p, q, v[16];
	struct p25_diag diag;
	size_t n = 0;

	if (size >= sizeof text)
		size = sizeof text - 1;
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *tok = strtok(text, " "); tok && n < 16; tok = strtok(NULL, " ")) {
		for (unsigned flags = 0; flags < 8; flags++) {
			if (p25_prefix_parse(tok, flags, &p, &diag) != 0)
				continue;
			/* What we print, we must read back as the same prefix. */
			p25_prefix_format(&p, again, sizeof again);
			if (p25_prefix_parse(again, 0, &q, &diag) != 0 || !p25_prefix_equal(&p, &q))
				abort();
			v[n] = p;
		}
		if (p25_prefix_parse(tok, P25_PARSE_NORMALIZE | P25_PARSE_UNMAP, &p, &diag) == 0)
			n++;
	}
	if (n) {
		struct p25_prefix orig[16];
		memcpy(orig, v, n * sizeof v[0]);
		size_t m = p25_prefix_aggregate(v, n);
		for (size_t i = 0; i < n; i++) {
			bool covered = false;
			for (size_t j = 0; j < m; j++)
				covered |= p25_prefix_contains(&v[j], &orig[i]);
			if (!covered)
				abort();
		}
	}
	return 0;
}
