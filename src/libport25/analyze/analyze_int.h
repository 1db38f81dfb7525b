/* Inside the analyzer: state shared by its source files. */
#ifndef P25_ANALYZE_INT_H
#define P25_ANALYZE_INT_H

#include "analyze/analyze.h"
#include "policy/policy.h"

/* Seconds per hour bucket span kept per host: 62 days. */
#define P25_AN_MAX_HOURS (24 * 62)
/* Linear-counting bitmap of distinct destinations, in 64-bit words. */
#define P25_AN_DEST_WORDS 256

struct an_conn;

struct p25_analyzer {
	struct p25_an_config cfg;
	const struct p25_model *model;
	struct p25_policy *policy; /* internal space when a model is given */
	ssize_t org;		   /* --org restriction, model index, or -1 */
	struct p25_prefix *internal;
	size_t ninternal;
	p25_time now;

	struct p25_an_host *hosts;
	size_t nhosts, hosts_cap;
	uint32_t *hidx; /* open addressing: host index + 1, 0 empty */
	size_t hidx_cap;

	struct an_conn *conns;
	size_t conns_cap;
	uint32_t *cbucket; /* chain heads: conn index + 1 */
	size_t cbucket_cap;
	uint32_t cfree;	   /* free list head + 1 */
	uint32_t lru_head, lru_tail; /* + 1; head is the least recently active */
	size_t nconns;
	uint64_t clock_ns; /* latest time seen */
	uint64_t last_sweep_ns;

	struct p25_port_filter filter;
	struct p25_an_stats stats;
	bool finished;
};

uint64_t p25_an_hash_text(const char *p, size_t n);
void p25_an_add_domain(struct p25_an_smtp *r, uint64_t h);
void p25_an_classify(const struct p25_an_config *cfg, struct p25_an_host *h);

#endif
