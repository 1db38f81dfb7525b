/* Inside the analyzer's reports: what every format asks of a host. */
#ifndef P25_AN_REPORT_INT_H
#define P25_AN_REPORT_INT_H

#include "analyze/analyze_int.h"
#include "util/wbuf.h"

static inline const char *p25_an_org_handle(const struct p25_analyzer *a,
                                            const struct p25_an_host *h)
{
	return a->model && h->org >= 0 ? a->model->orgs[h->org].handle : NULL;
}

static inline bool p25_an_would_block(const struct p25_an_host *h)
{
	return (h->block_out && h->out25.conns) || (h->block_in && h->in25.conns);
}

/* A server that blocking would cut off: outbound, or inbound in mode both. */
static inline bool p25_an_to_register(const struct p25_an_host *h)
{
	return (h->cls == P25_AN_SERVER || h->cls == P25_AN_INBOUND) && p25_an_would_block(h);
}

/* To register: itself, or another address of the same server that is (nextstep.c). */
bool p25_an_group_to_register(const struct p25_analyzer *a, const struct p25_an_host *h);

/* The JSON document without its hosts: summary, counts and input statistics (report_json.c). */
json_t *p25_an_report_head(const struct p25_analyzer *a);

#endif
