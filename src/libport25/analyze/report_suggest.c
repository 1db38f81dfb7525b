/* The import file of `port25 import` with the servers blocking would cut off. */
#include <stdio.h>

#include "analyze/report_int.h"
#include "util/text.h"

long p25_an_suggest_csv(const struct p25_analyzer *a, const char *requested_by, FILE *f)
{
	struct p25_wbuf *w = p25_wbuf_open(f);
	long n = 0;

	if (!w)
		return -1;
	p25_wbuf_lit(w, "org,address,kind,description,requested_by,approved_by,expires\n");
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		char buf[P25_PREFIX_STRLEN], desc[200], helo[P25_AN_HELO_LEN];
		const char *org = p25_an_org_handle(a, h);
		/* A server's other addresses (the other family) go with it. */
		if (!p25_an_group_to_register(a, h))
			continue;
		/* Description text goes into firewall comments later: keep it inert. */
		p25_text_inert(p25_an_host_smtp(h)->nhelo_names ? h->smtp->helo_names[0] : "", helo,
		               sizeof helo);
		snprintf(desc, sizeof desc,
		         "found by port25 analyze: %llu out, %llu in, %llu messages%s%s",
		         (unsigned long long)h->out25.conns, (unsigned long long)h->in25.conns,
		         (unsigned long long)p25_an_host_smtp(h)->messages,
		         helo[0] ? ", HELO " : "", helo);
		p25_wbuf_csv(w, org ? org : "", ',');
		p25_wbuf_csv(w, p25_addr_format(&h->addr, buf, sizeof buf), ',');
		p25_wbuf_csv(w, "mail-server", ',');
		p25_wbuf_csv(w, desc, ',');
		p25_wbuf_csv(w, requested_by ? requested_by : "", ',');
		p25_wbuf_csv(w, "", ',');
		p25_wbuf_csv(w, "", '\n');
		n++;
	}
	return p25_wbuf_close(w) < 0 ? -1 : n;
}
