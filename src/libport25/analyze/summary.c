/* The summary of an analysis: over all hosts, and per organization. */
#include <stdlib.h>
#include <string.h>

#include "analyze/report_int.h"

static void summary_add(struct p25_an_summary *s, const struct p25_an_host *h)
{
	s->hosts++;
	if (h->out25.conns)
		s->send++;
	if (h->cls == P25_AN_PERMITTED)
		s->permitted++;
	if (h->cls == P25_AN_CLIENT)
		s->clients++;
	if (h->cls == P25_AN_INBOUND)
		s->inbound++;
	if (p25_an_would_block(h)) {
		s->blocked++;
		if (p25_an_to_register(h))
			s->servers++;
		if (h->cls == P25_AN_BOT)
			s->bots++;
	}
}

void p25_an_summarize(const struct p25_analyzer *a, struct p25_an_summary *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = 0; i < a->nhosts; i++)
		summary_add(s, &a->hosts[i]);
}

long p25_an_summarize_orgs(const struct p25_analyzer *a, struct p25_an_org_summary **out)
{
	size_t norgs = a->model ? a->model->norgs : 0, n = 0;
	struct p25_an_org_summary *v = calloc(norgs + 1, sizeof *v);

	*out = NULL;
	if (!v)
		return -1;
	/* Slot 0: the hosts of --internal prefixes (org -1); then the model's organizations. */
	for (size_t k = 0; k <= norgs; k++)
		v[k].org = (ssize_t)k - 1;
	for (size_t i = 0; i < a->nhosts; i++)
		summary_add(&v[a->hosts[i].org + 1].s, &a->hosts[i]);
	for (size_t k = 0; k <= norgs; k++)
		if (v[k].s.hosts)
			v[n++] = v[k];
	*out = v;
	return (long)n;
}
