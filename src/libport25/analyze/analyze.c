/*
 * The analyzer's core: the internal host table, the connection table and
 * the ingestion of TCP segments and flow records.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze_int.h"
#include "capture/capture.h"
#include "util/conf.h"
#include "util/hash.h"
#include "util/text.h"

enum {
	KIND_SMTP = 1, /* port 25 */
	KIND_SUB = 2,  /* 465, 587 */
};

struct an_conn {
	struct p25_addr cli, srv;
	uint16_t cport, sport;
	uint32_t hnext;      /* hash chain, index + 1 */
	uint32_t prev, next; /* LRU list, index + 1 */
	int32_t hcli, hsrv;  /* internal host indices or -1 */
	uint64_t start_ns, last_ns;
	uint32_t isn;         /* client's SYN sequence number */
	uint32_t seq_next[2]; /* 0: client to server, 1: back */
	bool seq_valid[2];
	bool in_use;
	bool syn;         /* the client's SYN (or a flow with SYN) was seen */
	bool synack;      /* the server answered the SYN */
	bool server_seen; /* anything at all from the server */
	bool server_rst;
	bool cli_data, srv_data; /* payload seen from the client / the server */
	bool from_flow;          /* known from flow records, which carry no dialogue */
	bool counted;
	uint8_t kind;
	/*
	 * Joined mid-stream, the parser would skip to the next line end in
	 * the first direction heard; until a segment brings a line end, the
	 * skipping is done here and the parser (kilobytes) not yet created.
	 * Gaps seen meanwhile, per direction, are replayed into it.
	 */
	uint8_t lazy_skip;  /* bit per direction */
	uint32_t lazy_gaps[2];
	struct p25_smtp *smtp;
};

static const struct p25_an_config defaults = {
    .fanout_window = 600,
    .fanout_min = 50,
    .failed_share = 0.5,
    .failed_min_conns = 20,
    .burst_per_minute = 30,
    .reject_share = 0.3,
    .reply_min = 10,
    .helo_distinct_max = 3,
    .size_cv = 0.05,
    .size_min_msgs = 10,
    .steady_days = 2,
    .steady_hours = 6,
    .retry_min = 60,
    .retry_max = 6 * 3600,
    .retry_count = 2,
    .abandon_after = 3600,
    .abandoned_min = 5,
    .novel_share = 0.8,
    .novel_min_conns = 50,
    .rcpt_domains_min = 20,
    .rcpt_min = 100,
    .server_score = 3,
    .bot_score = 4,
    .conn_timeout = 300,
    .max_conns = 1 << 20,
    .max_hosts = 1 << 22,
};

void p25_an_config_default(struct p25_an_config *c)
{
	*c = defaults;
}

const char *const p25_an_config_keys[] = {
    "fanout_window",    "fanout_min",        "failed_share",
    "failed_min_conns", "burst_per_minute",  "reject_share",
    "reply_min",        "helo_distinct_max", "size_cv",
    "size_min_msgs",    "steady_days",       "steady_hours",
    "retry_min",        "retry_max",         "retry_count",
    "abandon_after",    "abandoned_min",     "novel_share",
    "novel_min_conns",  "rcpt_domains_min",  "rcpt_min",
    "server_score",     "bot_score",         "conn_timeout",
    "max_conns",        "max_hosts",         NULL,
};

int p25_an_config_set(struct p25_an_config *c, const char *key, const char *value, char *err,
                      size_t errlen)
{
	struct {
		const char *name;
		unsigned *u;
		double *d;
		int *i;
		double lo, hi;
	} keys[] = {
	    {"fanout_window", &c->fanout_window, NULL, NULL, 1, 86400 * 30},
	    {"fanout_min", &c->fanout_min, NULL, NULL, 1, 1e9},
	    {"failed_share", NULL, &c->failed_share, NULL, 0, 1},
	    {"failed_min_conns", &c->failed_min_conns, NULL, NULL, 1, 1e9},
	    {"burst_per_minute", &c->burst_per_minute, NULL, NULL, 1, 1e9},
	    {"reject_share", NULL, &c->reject_share, NULL, 0, 1},
	    {"reply_min", &c->reply_min, NULL, NULL, 1, 1e9},
	    {"helo_distinct_max", &c->helo_distinct_max, NULL, NULL, 2, 1e9},
	    {"size_cv", NULL, &c->size_cv, NULL, 0, 10},
	    {"size_min_msgs", &c->size_min_msgs, NULL, NULL, 2, 1e9},
	    {"steady_days", &c->steady_days, NULL, NULL, 1, 62},
	    {"steady_hours", &c->steady_hours, NULL, NULL, 1, P25_AN_MAX_HOURS},
	    {"retry_min", &c->retry_min, NULL, NULL, 1, 86400 * 7},
	    {"retry_max", &c->retry_max, NULL, NULL, 1, 86400 * 7},
	    {"retry_count", &c->retry_count, NULL, NULL, 1, 1e9},
	    {"abandon_after", &c->abandon_after, NULL, NULL, 60, 86400 * 7},
	    {"abandoned_min", &c->abandoned_min, NULL, NULL, 1, 1e9},
	    {"novel_share", NULL, &c->novel_share, NULL, 0, 1},
	    {"novel_min_conns", &c->novel_min_conns, NULL, NULL, 1, 1e9},
	    {"rcpt_domains_min", &c->rcpt_domains_min, NULL, NULL, 1, 1e9},
	    {"rcpt_min", &c->rcpt_min, NULL, NULL, 1, 1e9},
	    {"server_score", NULL, NULL, &c->server_score, 1, 100},
	    {"bot_score", NULL, NULL, &c->bot_score, 1, 100},
	    {"conn_timeout", &c->conn_timeout, NULL, NULL, 1, 86400},
	    {"max_conns", &c->max_conns, NULL, NULL, 16, 1 << 28},
	    {"max_hosts", &c->max_hosts, NULL, NULL, 16, 1 << 28},
	};
	char *end;
	double v;

	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		if (strcmp(keys[k].name, key) != 0)
			continue;
		errno = 0;
		v = strtod(value, &end);
		if (errno || end == value || *end || v < keys[k].lo || v > keys[k].hi ||
		    (!keys[k].d && v != floor(v))) {
			snprintf(err, errlen, "%s = '%s': expected %s from %g to %g", key, value,
			         keys[k].d ? "a number" : "a whole number", keys[k].lo, keys[k].hi);
			return -1;
		}
		if (keys[k].u)
			*keys[k].u = (unsigned)v;
		else if (keys[k].d)
			*keys[k].d = v;
		else
			*keys[k].i = (int)v;
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s'", key);
	return -1;
}

/* A key of the thresholds (p25_an_config_keys) is set, or refused with why; others are not ours. */
static int set_entry(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	for (int k = 0; p25_an_config_keys[k]; k++)
		if (!strcmp(p25_an_config_keys[k], e->key))
			return p25_an_config_set(ctx, e->key, e->value, msg, msglen) < 0 ? -1 : 1;
	return 0;
}

/* The file's [analyze] section, and its top level as the analyzer's own file writes it. */
int p25_an_config_load(struct p25_an_config *c, const char *path, char *err, size_t errlen)
{
	if (p25_conf_read(path, true, "analyze", P25_CONF_TOP_STRICT, set_entry, c, err, errlen,
	                  NULL, 0) < 0)
		return -1;
	if (c->retry_min > c->retry_max) {
		snprintf(err, errlen, "%s: retry_min is above retry_max", path);
		return -1;
	}
	return 0;
}

const char *p25_an_class_name(enum p25_an_class c)
{
	switch (c) {
	case P25_AN_PERMITTED:
		return "permitted";
	case P25_AN_SERVER:
		return "unregistered-server";
	case P25_AN_BOT:
		return "suspected-bot";
	case P25_AN_CLIENT:
		return "client-only";
	case P25_AN_INBOUND:
		return "inbound-server";
	default:
		return "unknown";
	}
}

/* ---- hashing ---- */

static inline uint64_t addr_hash(const struct p25_addr *a)
{
	return p25_mix64((uint64_t)(a->bits >> 64) ^ p25_mix64((uint64_t)a->bits ^ a->family));
}

/* ---- hosts ---- */

/*
 * Whether addr is internal; with a model also its organization, space and
 * covering permit (one lookup in the policy built with every enrollment
 * active, where an outbound permit verdict means exactly "a valid permit
 * covers it").
 */
static bool is_internal(struct p25_analyzer *a, const struct p25_addr *addr, ssize_t *org,
                        ssize_t *space, ssize_t *permit)
{
	struct p25_decision d = {.org = -1};

	*org = *space = *permit = -1;
	if (a->policy) {
		struct p25_addr other = {.family = addr->family};
		p25_policy_decide(a->policy, addr, &other, P25_SMTP_PORT, P25_OUTBOUND, &d);
		if (d.verdict == P25_PERMIT)
			*permit = d.permit;
	}
	/* --internal space comes first and names no organization. */
	for (size_t i = 0; i < a->ninternal; i++)
		if (p25_prefix_contains_addr(&a->internal[i], addr))
			return true;
	if (d.org >= 0 && (a->org < 0 || d.org == a->org)) {
		*org = d.org;
		*space = d.space;
		return true;
	}
	return false;
}

static inline uint32_t hslot_tag(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

static bool hidx_grow(struct p25_analyzer *a)
{
	size_t cap = a->hidx_cap ? a->hidx_cap * 2 : 1024;
	struct an_hslot *t = calloc(cap, sizeof *t);

	if (!t)
		return false;
	for (size_t i = 0; i < a->nhosts; i++) {
		uint64_t h = addr_hash(&a->hosts[i].addr);
		size_t j = h & (cap - 1);
		while (t[j].idx1)
			j = (j + 1) & (cap - 1);
		t[j].tag = hslot_tag(h);
		t[j].idx1 = (uint32_t)i + 1;
	}
	free(a->hidx);
	a->hidx = t;
	a->hidx_cap = cap;
	return true;
}

/* The host's index, created on first sight; -1 for external or beyond the limit. */
static int32_t host_get(struct p25_analyzer *a, const struct p25_addr *addr)
{
	size_t j;
	ssize_t org, space, permit;
	struct p25_an_host *h;
	uint64_t hash = addr_hash(addr);
	uint32_t tag = hslot_tag(hash);

	j = hash & (a->hidx_cap - 1);
	while (a->hidx_cap && a->hidx[j].idx1) {
		if (a->hidx[j].tag == tag) {
			h = &a->hosts[a->hidx[j].idx1 - 1];
			if (h->addr.bits == addr->bits && h->addr.family == addr->family)
				return (int32_t)a->hidx[j].idx1 - 1;
		}
		j = (j + 1) & (a->hidx_cap - 1);
	}
	if (!is_internal(a, addr, &org, &space, &permit))
		return -1;
	if (a->nhosts >= a->cfg.max_hosts) {
		a->stats.hosts_dropped++;
		return -1;
	}
	if ((a->nhosts + 1) * 2 > a->hidx_cap && !hidx_grow(a))
		return -1;
	if (a->nhosts == a->hosts_cap) {
		size_t cap = a->hosts_cap ? a->hosts_cap * 2 : 256;
		void *p = realloc(a->hosts, cap * sizeof *a->hosts);
		if (!p)
			return -1;
		a->hosts = p;
		a->hosts_cap = cap;
	}
	h = &a->hosts[a->nhosts];
	memset(h, 0, sizeof *h);
	h->addr = *addr;
	h->org = org;
	h->permit = permit;
	/* Blocking as it would be once the organization's enrollment is active. */
	h->block_out = h->permit < 0;
	/* Without a registry the organization's mode is unknown: assume the default, outbound. */
	h->block_in = h->permit < 0 && org >= 0 && a->model->orgs[org].mode == P25_MODE_BOTH;
	h->hour0 = -1;
	j = hash & (a->hidx_cap - 1);
	while (a->hidx[j].idx1)
		j = (j + 1) & (a->hidx_cap - 1);
	a->hidx[j].tag = tag;
	a->hidx[j].idx1 = (uint32_t)a->nhosts + 1;
	return (int32_t)a->nhosts++;
}

static void host_seen(struct p25_an_host *h, uint64_t ns)
{
	if (!h->first_ns || ns < h->first_ns)
		h->first_ns = ns;
	if (ns > h->last_ns)
		h->last_ns = ns;
}

/* Insert a destination; true when it was new (or, in the bitmap, probably new). */
static bool dest_add(struct p25_an_track *t, uint64_t d)
{
	if (!t->dest_bits) {
		for (unsigned i = 0; i < t->ndest_exact; i++)
			if (t->dest_exact[i] == d)
				return false;
		if (t->ndest_exact < 32) {
			t->dest_exact[t->ndest_exact++] = d;
			return true;
		}
		t->dest_bits = calloc(P25_AN_DEST_WORDS, sizeof *t->dest_bits);
		if (!t->dest_bits)
			return false;
		for (unsigned i = 0; i < t->ndest_exact; i++) {
			uint64_t b = t->dest_exact[i] % (P25_AN_DEST_WORDS * 64);
			t->dest_bits[b / 64] |= 1ULL << (b % 64);
		}
	}
	uint64_t b = d % (P25_AN_DEST_WORDS * 64), m = 1ULL << (b % 64);
	if (t->dest_bits[b / 64] & m)
		return false;
	t->dest_bits[b / 64] |= m;
	return true;
}

static unsigned linear_count(const uint64_t *bits, unsigned words)
{
	unsigned zero = 0;
	const double m = words * 64.0;

	for (unsigned i = 0; i < words; i++)
		zero += 64 - (unsigned)__builtin_popcountll(bits[i]);
	if (zero == 0)
		zero = 1; /* saturated: the estimate is a floor */
	/* Linear counting (Whang et al.): n = -m ln(V). */
	return (unsigned)llround(-m * log(zero / m));
}

uint64_t p25_an_distinct_dests(const struct p25_an_host *h)
{
	const struct p25_an_track *t = h->track;

	if (!t)
		return 0;
	if (!t->dest_bits)
		return t->ndest_exact;
	/* An estimate: it must not claim more destinations than connections. */
	uint64_t n = linear_count(t->dest_bits, P25_AN_DEST_WORDS);
	return n < h->out25.conns ? n : h->out25.conns;
}

bool p25_an_distinct_estimated(const struct p25_an_host *h)
{
	return h->track && h->track->dest_bits;
}

static void hour_add(struct p25_an_host *h, int64_t sec)
{
	int64_t hr = sec / 3600;

	h->hour_of_day[(hr % 24 + 24) % 24]++;
	if (h->hour0 < 0) {
		h->hours = calloc(24, sizeof *h->hours);
		if (!h->hours)
			return;
		h->hour0 = hr;
		h->nhours = 24;
	}
	if (!h->hours)
		return;
	if (hr < h->hour0) {
		/* Out of time order (flows are exported late): shift, within the bound. */
		int64_t shift = h->hour0 - hr;
		if (shift + h->nhours > P25_AN_MAX_HOURS)
			return;
		uint32_t *p = calloc((size_t)(h->nhours + shift), sizeof *p);
		if (!p)
			return;
		memcpy(p + shift, h->hours, h->nhours * sizeof *p);
		free(h->hours);
		h->hours = p;
		h->nhours += (uint32_t)shift;
		h->hour0 = hr;
	}
	int64_t i = hr - h->hour0;
	if (i >= P25_AN_MAX_HOURS)
		return;
	if (i >= h->nhours) {
		size_t n = (size_t)i + 25;
		if (n > P25_AN_MAX_HOURS)
			n = P25_AN_MAX_HOURS;
		uint32_t *p = realloc(h->hours, n * sizeof *p);
		if (!p)
			return;
		memset(p + h->nhours, 0, (n - h->nhours) * sizeof *p);
		h->hours = p;
		h->nhours = (uint32_t)n;
	}
	h->hours[i]++;
}

static inline int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Fan-out is measured over pairs of adjacent half-windows: any burst of up to half a window
 * falls wholly inside one pair, whatever the grid's phase. */
static int64_t half_window(const struct p25_an_config *cfg)
{
	return cfg->fanout_window > 1 ? (cfg->fanout_window + 1) / 2 : 1;
}

/*
 * The entries of a host are bounded by the hourly series' span (62 days);
 * past that many, new periods are not kept.  In time order the lookup is
 * the last entry; out of order, a binary search and a move.
 */
static struct an_win *win_at(struct p25_an_track *t, int64_t idx, uint32_t max)
{
	uint32_t lo = 0, hi = t->nwin;

	if (hi && t->win[hi - 1].idx <= idx) {
		if (t->win[hi - 1].idx == idx)
			return &t->win[hi - 1];
		lo = hi;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->win[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nwin && t->win[lo].idx == idx)
		return &t->win[lo];
	if (t->nwin >= max)
		return NULL;
	if (t->nwin == t->capwin) {
		uint32_t cap = t->capwin * 2;
		struct an_win *p = t->win == t->win_inline ? malloc(cap * sizeof *p)
		                                             : realloc(t->win, cap * sizeof *p);
		if (!p)
			return NULL;
		if (t->win == t->win_inline)
			memcpy(p, t->win_inline, sizeof t->win_inline);
		t->win = p;
		t->capwin = cap;
	}
	memmove(&t->win[lo + 1], &t->win[lo], (t->nwin - lo) * sizeof *t->win);
	memset(&t->win[lo], 0, sizeof *t->win);
	t->win[lo].idx = idx;
	t->nwin++;
	return &t->win[lo];
}

static struct an_minute *minute_at(struct p25_an_track *t, int32_t minute)
{
	uint32_t lo = 0, hi = t->nmin;

	if (hi && t->min[hi - 1].minute <= minute) {
		if (t->min[hi - 1].minute == minute)
			return &t->min[hi - 1];
		lo = hi;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->min[mid].minute < minute)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->nmin && t->min[lo].minute == minute)
		return &t->min[lo];
	if (t->nmin >= P25_AN_MAX_HOURS * 60)
		return NULL;
	if (t->nmin == t->capmin) {
		uint32_t cap = t->capmin * 2;
		struct an_minute *p = t->min == t->min_inline ? malloc(cap * sizeof *p)
		                                                : realloc(t->min, cap * sizeof *p);
		if (!p)
			return NULL;
		if (t->min == t->min_inline)
			memcpy(p, t->min_inline, sizeof t->min_inline);
		t->min = p;
		t->capmin = cap;
	}
	memmove(&t->min[lo + 1], &t->min[lo], (t->nmin - lo) * sizeof *t->min);
	t->min[lo].minute = minute;
	t->min[lo].conns = 0;
	t->nmin++;
	return &t->min[lo];
}

static void track_free_arrays(struct p25_an_track *t)
{
	free(t->dest_bits);
	if (t->win != t->win_inline)
		free(t->win);
	if (t->min != t->min_inline)
		free(t->min);
}

/* A new outbound port-25 connection of h to dst at sec. */
static void host_conn_out(const struct p25_an_config *cfg, struct p25_an_host *h,
                          const struct p25_addr *dst, int64_t sec)
{
	uint64_t d = addr_hash(dst);
	struct p25_an_track *t = h->track;
	int64_t half = half_window(cfg);

	h->out25.conns++;
	hour_add(h, sec);
	if (!t) {
		t = h->track = calloc(1, sizeof *t);
		if (!t)
			return; /* counted, but not in the windows */
		t->win = t->win_inline;
		t->capwin = sizeof t->win_inline / sizeof *t->win_inline;
		t->min = t->min_inline;
		t->capmin = sizeof t->min_inline / sizeof *t->min_inline;
	}
	dest_add(t, d);
	if (sec > t->last_start)
		t->last_start = sec;
	struct an_win *w =
	    win_at(t, floor_div(sec, half), (uint32_t)(P25_AN_MAX_HOURS * 3600 / half + 2));
	if (w) {
		unsigned b = (unsigned)(d >> 40) % (P25_AN_WIN_WORDS * 64);
		w->conns++;
		w->bits[b / 64] |= 1ULL << (b % 64);
	}
	struct an_minute *m = minute_at(t, (int32_t)floor_div(sec, 60));
	if (m)
		m->conns++;
}

/*
 * The outcome of an attempt to destination d that began at sec, for the
 * retry schedule.  Only the destinations of the P25_AN_RECENT smallest
 * hashes are followed: once a destination is pushed out by smaller ones it
 * can never come back, so the kept set is the same in any order.
 */
static void retry_note(struct p25_an_track *t, uint64_t d, int64_t sec, bool failed)
{
	unsigned k;
	uint32_t ts = sec < 0 ? 0 : sec > UINT32_MAX ? UINT32_MAX : (uint32_t)sec;

	/* Past the sample's largest hash: not followed (most of a bot's destinations). */
	if (t->nrdest == P25_AN_RECENT && d > t->rdest[t->rworst])
		return;
	for (k = 0; k < t->nrdest; k++)
		if (t->rdest[k] == d)
			break;
	if (k == t->nrdest) {
		if (t->nrdest < P25_AN_RECENT)
			t->nrdest++;
		else
			k = t->rworst;
		t->rdest[k] = d;
		t->rn[k] = 0;
		t->rfail[k] = 0;
		if (t->nrdest == P25_AN_RECENT) {
			t->rworst = 0;
			for (unsigned j = 1; j < P25_AN_RECENT; j++)
				if (t->rdest[j] > t->rdest[t->rworst])
					t->rworst = j;
		}
	}
	/* Insert (ts, failed) into the sorted list, keeping the earliest P25_AN_TRIES. */
	uint32_t *tm = t->rtime[k];
	unsigned n = t->rn[k], i = n;
	while (i > 0 && (tm[i - 1] > ts || (tm[i - 1] == ts && (t->rfail[k] >> (i - 1) & 1) >
	                                                            (unsigned)failed)))
		i--;
	if (i >= P25_AN_TRIES)
		return;
	if (n == P25_AN_TRIES)
		n--; /* the latest one goes */
	for (unsigned j = n; j > i; j--)
		tm[j] = tm[j - 1];
	unsigned lowmask = (1u << i) - 1;
	uint8_t f = t->rfail[k];
	t->rfail[k] =
	    (uint8_t)((f & lowmask) | ((f & ~lowmask) << 1) | ((unsigned)failed << i));
	t->rfail[k] &= (uint8_t)((1u << P25_AN_TRIES) - 1);
	tm[i] = ts;
	t->rn[k] = (uint8_t)(n + 1);
}

/* Fan-out, burst and retries from what the host's connections left, in any order. */
static void track_finish(const struct p25_an_config *cfg, struct p25_an_host *h)
{
	const struct p25_an_track *t = h->track;

	h->fan_max = h->burst_max = 0;
	h->rcpt_max = h->rcpt_domains_max = 0;
	h->retries = 0;
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nwin; i++) {
		uint64_t bits[P25_AN_WIN_WORDS], rbits[P25_AN_WIN_WORDS];
		uint64_t conns = t->win[i].conns, rcpts = t->win[i].rcpts;
		memcpy(bits, t->win[i].bits, sizeof bits);
		memcpy(rbits, t->win[i].rbits, sizeof rbits);
		if (i + 1 < t->nwin && t->win[i + 1].idx == t->win[i].idx + 1) {
			for (int k = 0; k < P25_AN_WIN_WORDS; k++) {
				bits[k] |= t->win[i + 1].bits[k];
				rbits[k] |= t->win[i + 1].rbits[k];
			}
			conns += t->win[i + 1].conns;
			rcpts += t->win[i + 1].rcpts;
		}
		/* An estimate: never more destinations than connections. */
		uint64_t n = linear_count(bits, P25_AN_WIN_WORDS);
		if (n > conns)
			n = conns;
		if (n > h->fan_max)
			h->fan_max = (unsigned)n;
		if (rcpts > h->rcpt_max)
			h->rcpt_max = rcpts > UINT_MAX ? UINT_MAX : (unsigned)rcpts;
		/* Nor more recipient domains than recipients. */
		n = rcpts ? linear_count(rbits, P25_AN_WIN_WORDS) : 0;
		if (n > rcpts)
			n = rcpts;
		if (n > h->rcpt_domains_max)
			h->rcpt_domains_max = (unsigned)n;
	}
	for (uint32_t i = 0; i < t->nmin; i++)
		if (t->min[i].conns > h->burst_max)
			h->burst_max = t->min[i].conns;
	/*
	 * A queue runner comes back to a destination that failed, minutes to
	 * hours later; a spam engine has no queue and abandons it.  A failure
	 * is abandoned when nothing follows within abandon_after s, judged only
	 * where the input goes on that long after it and where the kept
	 * attempts do not end before the answer.
	 */
	h->abandoned = 0;
	for (unsigned k = 0; k < t->nrdest; k++)
		for (unsigned i = 0; i < t->rn[k]; i++) {
			if (!(t->rfail[k] >> i & 1))
				continue;
			bool next = i + 1 < t->rn[k];
			uint32_t gap = next ? t->rtime[k][i + 1] - t->rtime[k][i] : 0;
			if (next && gap >= cfg->retry_min && gap <= cfg->retry_max)
				h->retries++;
			else if ((next ? gap > cfg->abandon_after : t->rn[k] < P25_AN_TRIES) &&
			         (int64_t)t->rtime[k][i] + cfg->abandon_after <= t->last_start)
				h->abandoned++;
		}
}

/* ---- connections ---- */

static inline uint64_t conn_hash(const struct p25_addr *cli, const struct p25_addr *srv,
                                 uint16_t cport, uint16_t sport)
{
	return p25_mix64(addr_hash(cli) ^ (addr_hash(srv) * 31) ^ ((uint64_t)cport << 16 | sport));
}

static inline struct an_conn *C(struct p25_analyzer *a, uint32_t i1)
{
	return i1 ? &a->conns[i1 - 1] : NULL;
}

static void lru_unlink(struct p25_analyzer *a, struct an_conn *c)
{
	if (c->prev)
		C(a, c->prev)->next = c->next;
	else
		a->lru_head = c->next;
	if (c->next)
		C(a, c->next)->prev = c->prev;
	else
		a->lru_tail = c->prev;
	c->prev = c->next = 0;
}

static void lru_append(struct p25_analyzer *a, struct an_conn *c)
{
	uint32_t i1 = (uint32_t)(c - a->conns) + 1;

	c->prev = a->lru_tail;
	c->next = 0;
	if (a->lru_tail)
		C(a, a->lru_tail)->next = i1;
	else
		a->lru_head = i1;
	a->lru_tail = i1;
}

static void merge_smtp(struct p25_analyzer *a, struct an_conn *c)
{
	const struct p25_an_smtp *r = p25_smtp_result(c->smtp);
	uint64_t nrep =
	    r->replies[1] + r->replies[2] + r->replies[3] + r->replies[4] + r->replies[5];

	a->stats.smtp_gaps += r->gaps;
	if (c->hsrv >= 0 && r->banner[0]) {
		struct p25_an_host *hs = &a->hosts[c->hsrv];
		if (!hs->smtp)
			hs->smtp = calloc(1, sizeof *hs->smtp);
		if (hs->smtp && !hs->smtp->banner[0])
			memcpy(hs->smtp->banner, r->banner, sizeof r->banner);
	}
	if (c->hcli < 0 || (r->helo == 0 && nrep == 0))
		return;
	struct p25_an_host *h = &a->hosts[c->hcli];
	if (!h->smtp && !(h->smtp = calloc(1, sizeof *h->smtp)))
		return;
	struct p25_an_smtp *t = h->smtp;
	t->sessions++;
	t->helo += r->helo;
	for (unsigned i = 0; i < r->nhelo_names && i < P25_AN_HELO_KEEP; i++) {
		const char *n = r->helo_names[i];
		struct p25_addr lit;
		struct p25_diag dg;
		char buf[P25_AN_HELO_LEN];
		bool known = false;
		if (n[0] == '[') {
			/* An address literal must be the sender's own address. */
			const char *in = strncasecmp(n + 1, "IPv6:", 5) == 0 ? n + 6 : n + 1;
			size_t l = strcspn(in, "]");
			snprintf(buf, sizeof buf, "%.*s", (int)l, in);
			if (p25_addr_parse(buf, P25_PARSE_UNMAP, &lit, &dg) < 0 ||
			    !p25_addr_equal(&lit, &c->cli))
				t->helo_mismatch++;
		} else if (p25_addr_parse(n, P25_PARSE_UNMAP, &lit, &dg) == 0) {
			t->helo_bare_ip++;
		}
		for (unsigned k = 0; k < t->nhelo_names && k < P25_AN_HELO_KEEP; k++)
			if (strcasecmp(t->helo_names[k], n) == 0)
				known = true;
		if (!known) {
			if (t->nhelo_names < P25_AN_HELO_KEEP)
				memcpy(t->helo_names[t->nhelo_names], n, P25_AN_HELO_LEN);
			t->nhelo_names++;
		}
	}
	if (r->nhelo_names > P25_AN_HELO_KEEP)
		t->nhelo_names += r->nhelo_names - P25_AN_HELO_KEEP;
	t->starttls += r->starttls;
	t->tls_ok += r->tls_ok;
	t->mail_from += r->mail_from;
	t->rcpt_to += r->rcpt_to;
	for (int i = 0; i < 6; i++) {
		t->replies[i] += r->replies[i];
		t->txn_replies[i] += r->txn_replies[i];
	}
	t->messages += r->messages;
	t->msg_bytes += r->msg_bytes;
	t->msg_sumsq += r->msg_sumsq;
	for (unsigned i = 0; i < r->sender_domains && i < 16; i++)
		p25_an_add_domain(t, r->sender_hash[i]);
	t->gaps += r->gaps;
	for (int k = 0; k < 4; k++)
		t->bl_replies[k] += r->bl_replies[k];
	t->bl_lists |= r->bl_lists;
	t->bl_lists_listed |= r->bl_lists_listed;
	if (r->bl_kind)
		p25_an_bl_keep(t, r->bl_kind, r->bl_reply);
	/*
	 * Recipients in the half-window of the connection's start, as its
	 * destination was counted: the same window for any order of the input.
	 */
	if (r->rcpt_to && h->track) {
		int64_t half = half_window(&a->cfg);
		struct an_win *w = win_at(h->track, floor_div((int64_t)(c->start_ns / 1000000000ULL), half),
		                          (uint32_t)(P25_AN_MAX_HOURS * 3600 / half + 2));
		if (w) {
			const uint64_t *rb = p25_smtp_rcpt_bits(c->smtp);
			w->rcpts += r->rcpt_to > UINT32_MAX - w->rcpts ? UINT32_MAX - w->rcpts
			                                                 : (uint32_t)r->rcpt_to;
			for (int k = 0; k < P25_AN_WIN_WORDS; k++)
				w->rbits[k] |= rb[k];
		}
	}
}

/* The connection is over (or forgotten): count its outcome and free it. */
static void conn_settle(struct p25_analyzer *a, struct an_conn *c)
{
	uint32_t i1 = (uint32_t)(c - a->conns) + 1;
	enum p25_an_outcome o;

	if (!a->draining) {
		uint64_t h = conn_hash(&c->cli, &c->srv, c->cport, c->sport) & (a->cbucket_cap - 1);
		uint32_t *pp = &a->cbucket[h];
		while (*pp && *pp != i1)
			pp = &C(a, *pp)->hnext;
		if (*pp)
			*pp = c->hnext;
	}
	lru_unlink(a, c);

	/*
	 * Established means a handshake, or data both ways: a lone ACK (a
	 * scan's, a stray retransmission's) proves no connection, and counting
	 * one made its peer a sender and itself a server.
	 */
	bool established = c->synack || (c->cli_data && c->srv_data);
	if (!c->counted && established) {
		/* The SYN was before the capture began: count it now, as established. */
		c->counted = true;
		a->stats.conns_midstream++;
		if (c->hcli >= 0 && c->kind == KIND_SMTP)
			host_conn_out(&a->cfg, &a->hosts[c->hcli], &c->srv,
			              (int64_t)(c->start_ns / 1000000000ULL));
		else if (c->hcli >= 0)
			a->hosts[c->hcli].sub.conns++;
		if (c->hsrv >= 0 && c->kind == KIND_SMTP)
			a->hosts[c->hsrv].in25.conns++;
	}
	if (c->counted) {
		a->stats.conns++;
		if (c->from_flow) {
			if (c->hcli >= 0)
				a->hosts[c->hcli].flow_conns++;
			if (c->hsrv >= 0)
				a->hosts[c->hsrv].flow_conns++;
		}
		if (established)
			o = P25_AN_ESTABLISHED;
		else if (c->server_rst)
			o = P25_AN_RESET;
		else
			o = P25_AN_NOANSWER;
		if (c->hcli >= 0) {
			struct p25_an_host *hc = &a->hosts[c->hcli];
			(c->kind == KIND_SMTP ? &hc->out25 : &hc->sub)->outcome[o]++;
			if (c->kind == KIND_SMTP && hc->track) {
				bool failed = o != P25_AN_ESTABLISHED;
				if (c->smtp) {
					const struct p25_an_smtp *r = p25_smtp_result(c->smtp);
					failed |= r->replies[4] > 0 && r->messages == 0;
				}
				retry_note(hc->track, addr_hash(&c->srv),
				           (int64_t)(c->start_ns / 1000000000ULL), failed);
			}
		}
		if (c->hsrv >= 0 && c->kind == KIND_SMTP)
			a->hosts[c->hsrv].in25.outcome[o]++;
		else if (c->hsrv >= 0 && o == P25_AN_ESTABLISHED)
			a->hosts[c->hsrv].mail_served++;
	} else {
		a->stats.orphans++;
	}
	if (c->smtp) {
		merge_smtp(a, c);
		p25_smtp_free(c->smtp);
		c->smtp = NULL;
	} else if (c->lazy_skip) {
		a->stats.smtp_gaps += c->lazy_gaps[0] + c->lazy_gaps[1];
	}
	c->in_use = false;
	a->nconns--;
	c->hnext = a->cfree;
	a->cfree = i1;
}

static void sweep(struct p25_analyzer *a)
{
	uint64_t limit = (uint64_t)a->cfg.conn_timeout * 1000000000ULL;

	while (a->lru_head) {
		struct an_conn *c = C(a, a->lru_head);
		if (a->clock_ns < c->last_ns + limit)
			break;
		conn_settle(a, c);
	}
	a->last_sweep_ns = a->clock_ns;
}

static bool conns_grow(struct p25_analyzer *a)
{
	size_t cap = a->conns_cap ? a->conns_cap * 2 : 1024, bcap;
	struct an_conn *p;

	if (cap > a->cfg.max_conns)
		cap = a->cfg.max_conns;
	if (cap <= a->conns_cap)
		return false;
	/*
	 * The new entries are not touched here: they are taken in order past
	 * conns_used as connections come (the order a free list of them would
	 * give), so the pages of a table grown for a peak are written once, by
	 * the connections that use them, not first by a loop over all of them.
	 */
	p = realloc(a->conns, cap * sizeof *p);
	if (!p)
		return false;
	a->conns = p;
	a->conns_cap = cap;
	bcap = 1;
	while (bcap < cap * 2)
		bcap <<= 1;
	if (bcap > a->cbucket_cap) {
		uint32_t *b = calloc(bcap, sizeof *b);
		if (!b)
			return false;
		for (size_t i = 0; i < a->conns_used; i++) {
			struct an_conn *c = &p[i];
			if (!c->in_use)
				continue;
			uint64_t h = conn_hash(&c->cli, &c->srv, c->cport, c->sport) & (bcap - 1);
			c->hnext = b[h];
			b[h] = (uint32_t)i + 1;
		}
		free(a->cbucket);
		a->cbucket = b;
		a->cbucket_cap = bcap;
	}
	return true;
}

static struct an_conn *conn_find(struct p25_analyzer *a, const struct p25_addr *cli,
                                 const struct p25_addr *srv, uint16_t cport, uint16_t sport)
{
	uint32_t i1;

	if (!a->cbucket_cap)
		return NULL;
	i1 = a->cbucket[conn_hash(cli, srv, cport, sport) & (a->cbucket_cap - 1)];
	while (i1) {
		struct an_conn *c = C(a, i1);
		if (c->cport == cport && c->sport == sport && p25_addr_equal(&c->cli, cli) &&
		    p25_addr_equal(&c->srv, srv))
			return c;
		i1 = c->hnext;
	}
	return NULL;
}

static struct an_conn *conn_new(struct p25_analyzer *a, const struct p25_addr *cli,
                                const struct p25_addr *srv, uint16_t cport, uint16_t sport,
                                int32_t hcli, int32_t hsrv, uint64_t ns)
{
	struct an_conn *c;
	uint64_t h;

	if (!a->cfree && a->conns_used == a->conns_cap && !conns_grow(a)) {
		/* Full: the least recently active connection makes room. */
		if (!a->lru_head)
			return NULL;
		a->stats.conns_evicted++;
		conn_settle(a, C(a, a->lru_head));
	}
	if (a->cfree) {
		c = C(a, a->cfree);
		a->cfree = c->hnext;
	} else {
		c = &a->conns[a->conns_used++];
	}
	memset(c, 0, sizeof *c);
	c->in_use = true;
	c->cli = *cli;
	c->srv = *srv;
	c->cport = cport;
	c->sport = sport;
	c->hcli = hcli;
	c->hsrv = hsrv;
	c->start_ns = c->last_ns = ns;
	c->kind = sport == 25 ? KIND_SMTP : KIND_SUB;
	h = conn_hash(cli, srv, cport, sport) & (a->cbucket_cap - 1);
	c->hnext = a->cbucket[h];
	a->cbucket[h] = (uint32_t)(c - a->conns) + 1;
	lru_append(a, c);
	a->nconns++;
	return c;
}

static void conn_count(struct p25_analyzer *a, struct an_conn *c)
{
	int64_t sec = (int64_t)(c->start_ns / 1000000000ULL);

	c->counted = true;
	if (c->hcli >= 0) {
		if (c->kind == KIND_SMTP)
			host_conn_out(&a->cfg, &a->hosts[c->hcli], &c->srv, sec);
		else
			a->hosts[c->hcli].sub.conns++;
	}
	if (c->hsrv >= 0 && c->kind == KIND_SMTP)
		a->hosts[c->hsrv].in25.conns++;
}

/* Bytes and packets on both hosts' sides. */
static void account(struct p25_analyzer *a, struct an_conn *c, bool from_client, uint64_t bytes,
                    uint64_t pkts, uint64_t first_ns, uint64_t last_ns)
{
	if (c->hcli >= 0) {
		struct p25_an_host *h = &a->hosts[c->hcli];
		struct p25_an_side *s = c->kind == KIND_SMTP ? &h->out25 : &h->sub;
		if (from_client) {
			s->bytes_sent += bytes;
			s->packets_sent += pkts;
		} else {
			s->bytes_recv += bytes;
			s->packets_recv += pkts;
		}
		host_seen(h, first_ns);
		host_seen(h, last_ns);
	}
	if (c->hsrv >= 0) {
		struct p25_an_host *h = &a->hosts[c->hsrv];
		if (c->kind == KIND_SMTP) {
			if (from_client) {
				h->in25.bytes_recv += bytes;
				h->in25.packets_recv += pkts;
			} else {
				h->in25.bytes_sent += bytes;
				h->in25.packets_sent += pkts;
			}
		}
		host_seen(h, first_ns);
		host_seen(h, last_ns);
	}
}

/*
 * Idleness is measured on the input's clock (the latest time seen) at the
 * moment of the connection's last record, not on the record's own time: a
 * connection whose records come late (an older file after a newer one,
 * flows exported out of order) stays open for its other records instead
 * of being settled at once and counted twice.  In time order the two are
 * the same.
 */
static void touch(struct p25_analyzer *a, struct an_conn *c, uint64_t ns)
{
	if (ns > a->clock_ns)
		a->clock_ns = ns;
	c->last_ns = a->clock_ns;
	if (a->lru_tail != (uint32_t)(c - a->conns) + 1) {
		lru_unlink(a, c);
		lru_append(a, c);
	}
}

/* Feed payload to the dialogue parser in sequence order, noting gaps. */
static void reassemble(struct an_conn *c, bool from_client, uint32_t seq, const uint8_t *p,
                       uint32_t n)
{
	int d = from_client ? 0 : 1;
	bool lazy = false;

	if (!c->smtp) {
		/* Joined mid-dialogue: the first lines may be cut. */
		lazy = !c->syn && (c->lazy_skip == 0 || (c->lazy_skip & (1u << d))) &&
		       !memchr(p, '\n', n);
		if (!lazy) {
			c->smtp = p25_smtp_new();
			if (!c->smtp)
				return;
			p25_smtp_set_client(c->smtp, &c->cli);
			if (c->lazy_skip) {
				for (int k = 0; k < 2; k++)
					for (uint32_t g = 0; g < c->lazy_gaps[k]; g++)
						p25_smtp_gap(c->smtp, k == 0);
			} else if (!c->syn) {
				p25_smtp_gap(c->smtp, from_client);
			}
			c->lazy_skip = 0;
		} else if (!c->lazy_skip) {
			c->lazy_skip = (uint8_t)(1u << d);
			c->lazy_gaps[d] = 1;
		}
	}
	if (c->seq_valid[d]) {
		int32_t diff = (int32_t)(seq - c->seq_next[d]);
		if (diff < 0) {
			/* A retransmission, perhaps carrying some new bytes at its end. */
			if ((uint32_t)-diff >= n)
				return;
			p += -diff;
			n -= (uint32_t)-diff;
			seq = c->seq_next[d];
		} else if (diff > 0) {
			if (lazy)
				c->lazy_gaps[d]++;
			else
				p25_smtp_gap(c->smtp, from_client);
		}
	}
	c->seq_next[d] = seq + n;
	c->seq_valid[d] = true;
	if (!lazy)
		p25_smtp_feed(c->smtp, from_client, p, n);
}

/*
 * A segment or flow record of a mailbox port (POP3, IMAP): that the host
 * accepts connections there is the whole evidence, so its handshake is
 * counted on the host and no connection is opened (the decoder passes
 * only these ports' SYNs).  Each SYN-ACK the server sends is a connection
 * it accepted; a counter is the same in any order of the input.  The
 * reader is nothing blocking touches: only the server is followed.
 */
static void mailbox_handshake(struct p25_analyzer *a, const struct p25_addr *srv,
                              bool from_client, uint8_t flags, uint64_t first_ns,
                              uint64_t last_ns, bool from_flow)
{
	/* A flow record's flags are all its packets': the client's has ACK too. */
	if (!(flags & P25_TCP_SYN) || (!from_client && !(flags & P25_TCP_ACK)))
		return;
	int32_t hs = host_get(a, srv);
	if (hs < 0)
		return;
	struct p25_an_host *h = &a->hosts[hs];
	if (!from_client)
		h->mail_served++;
	else if (from_flow)
		h->flow_conns++; /* an attempt known from flows, as a connection's would count */
	host_seen(h, first_ns);
	host_seen(h, last_ns);
}

void p25_an_segment(struct p25_analyzer *a, const struct p25_tcp_segment *s)
{
	struct an_ends e;
	struct an_conn *c;

	if (!p25_an_orient(&s->src, &s->dst, s->sport, s->dport, &e))
		return;
	const struct p25_addr *cli = e.cli, *srv = e.srv;
	uint16_t cport = e.cport, sport = e.sport;
	bool from_client = e.from_client;
	a->stats.segments++;
	if (s->ts_ns > a->clock_ns)
		a->clock_ns = s->ts_ns;
	if (a->clock_ns - a->last_sweep_ns > 1000000000ULL)
		sweep(a);
	if (p25_an_mailbox_port(sport)) {
		mailbox_handshake(a, srv, from_client, s->flags, s->ts_ns, s->ts_ns, false);
		return;
	}
	c = conn_find(a, cli, srv, cport, sport);
	bool syn = (s->flags & (P25_TCP_SYN | P25_TCP_ACK)) == P25_TCP_SYN;
	if (c && from_client && syn && c->syn && c->isn != s->seq) {
		/* The 4-tuple was reused: a new connection. */
		conn_settle(a, c);
		c = NULL;
	} else if (c && from_client && syn && !c->syn && c->counted) {
		conn_settle(a, c);
		c = NULL;
	}
	if (!c) {
		int32_t hc = host_get(a, cli), hs = host_get(a, srv);
		if (hc < 0 && hs < 0)
			return;
		c = conn_new(a, cli, srv, cport, sport, hc, hs, s->ts_ns);
		if (!c)
			return;
	}
	touch(a, c, s->ts_ns);
	if (from_client) {
		if (syn && c->hcli >= 0)
			(c->kind == KIND_SMTP ? &a->hosts[c->hcli].out25 : &a->hosts[c->hcli].sub)
			    ->syn_packets++;
		if (syn && !c->syn) {
			c->syn = true;
			c->isn = s->seq;
			c->seq_next[0] = s->seq + 1;
			c->seq_valid[0] = true;
			c->start_ns = s->ts_ns;
			if (!c->counted)
				conn_count(a, c);
		}
	} else {
		c->server_seen = true;
		if ((s->flags & (P25_TCP_SYN | P25_TCP_ACK)) == (P25_TCP_SYN | P25_TCP_ACK)) {
			c->synack = true;
			c->seq_next[1] = s->seq + 1;
			c->seq_valid[1] = true;
		}
		if (s->flags & P25_TCP_RST)
			c->server_rst = true;
	}
	if (s->payload_len > 0 && !(s->flags & P25_TCP_RST)) {
		if (from_client)
			c->cli_data = true;
		else
			c->srv_data = true;
	}
	account(a, c, from_client, s->ip_len, 1, s->ts_ns, s->ts_ns);
	if (s->payload_len > 0 && c->kind == KIND_SMTP && !(s->flags & P25_TCP_RST) &&
	    !(c->smtp && p25_smtp_encrypted(c->smtp)))
		reassemble(c, from_client, s->seq, s->payload, s->payload_len);
}

/*
 * Most of the analysis time is cache misses on the connection and host
 * tables, one chain of dependent loads per segment.  With the segments of
 * a block known in advance, the caller issues the loads for later segments
 * first: stage 0 the hash slots, stage 1 (a few segments later, when the
 * slots have arrived) the records they point to.
 */
void p25_an_prefetch(const struct p25_analyzer *a, const struct p25_tcp_segment *s, int stage)
{
	struct an_ends e;

	if (!p25_an_orient(&s->src, &s->dst, s->sport, s->dport, &e))
		return;
	if (!a->cbucket_cap || !a->hidx_cap)
		return;
	const uint32_t *bucket =
	    &a->cbucket[conn_hash(e.cli, e.srv, e.cport, e.sport) & (a->cbucket_cap - 1)];
	const struct an_hslot *hc = &a->hidx[addr_hash(e.cli) & (a->hidx_cap - 1)];
	const struct an_hslot *hs = &a->hidx[addr_hash(e.srv) & (a->hidx_cap - 1)];
	if (stage == 0) {
		__builtin_prefetch(bucket);
		__builtin_prefetch(hc);
		__builtin_prefetch(hs);
		return;
	}
	if (*bucket)
		__builtin_prefetch(&a->conns[*bucket - 1]);
	if (hc->idx1)
		__builtin_prefetch(&a->hosts[hc->idx1 - 1]);
	if (hs->idx1)
		__builtin_prefetch(&a->hosts[hs->idx1 - 1]);
}

void p25_an_port_filter(struct p25_port_filter *f)
{
	p25_port_filter_smtp(f);
	/* A mailbox port's handshake is all the evidence it gives (mailbox_handshake). */
	p25_port_filter_add_handshake(f, 110);
	p25_port_filter_add_handshake(f, 143);
	p25_port_filter_add_handshake(f, 993);
	p25_port_filter_add_handshake(f, 995);
}

void p25_an_packet(struct p25_analyzer *a, const struct p25_packet *p)
{
	struct p25_tcp_segment seg;

	if (p25_decode_tcp(p, &a->filter, &seg, &a->stats.decode) == P25_DEC_TCP)
		p25_an_segment(a, &seg);
}

/*
 * Whether a flow carried payload: PSH (SMTP lines are pushed), or more
 * bytes a packet than headers with the largest usual options take (IP,
 * TCP and 24 bytes of options: a SYN's MSS, SACK, timestamps, scale).
 */
static bool flow_has_data(const struct p25_flow *f)
{
	uint64_t hdr = f->src.family == P25_INET6 ? 40 + 20 + 24 : 20 + 20 + 24;

	return (f->tcp_flags & P25_TCP_PSH) || (f->packets && f->bytes > f->packets * hdr);
}

void p25_an_flows(void *arg, const struct p25_flow *f, size_t n)
{
	struct p25_analyzer *a = arg;

	for (size_t i = 0; i < n; i++, f++) {
		struct an_ends e;
		struct an_conn *c;
		uint64_t first =
		    (uint64_t)(f->first_ms > 0 ? f->first_ms : f->last_ms) * 1000000ULL;
		uint64_t last = (uint64_t)(f->last_ms > 0 ? f->last_ms : f->first_ms) * 1000000ULL;

		a->stats.flows++;
		if (!p25_an_flow_wanted(f) || !p25_an_orient(&f->src, &f->dst, f->sport, f->dport, &e))
			continue;
		const struct p25_addr *cli = e.cli, *srv = e.srv;
		uint16_t cport = e.cport, sport = e.sport;
		bool from_client = e.from_client;
		a->stats.flows_used++;
		if (last > a->clock_ns)
			a->clock_ns = last;
		if (p25_an_mailbox_port(sport)) {
			mailbox_handshake(a, srv, from_client, f->tcp_flags, first, last, true);
			continue;
		}
		c = conn_find(a, cli, srv, cport, sport);
		/* A second flow with SYN from the client: the 4-tuple was reused. */
		if (c && from_client && (f->tcp_flags & P25_TCP_SYN) && c->syn) {
			conn_settle(a, c);
			c = NULL;
		}
		if (!c) {
			int32_t hc = host_get(a, cli), hs = host_get(a, srv);
			if (hc < 0 && hs < 0)
				continue;
			c = conn_new(a, cli, srv, cport, sport, hc, hs, first);
			if (!c)
				continue;
		}
		if (first && first < c->start_ns)
			c->start_ns = first;
		c->from_flow = true;
		touch(a, c, last);
		if (from_client) {
			if ((f->tcp_flags & P25_TCP_SYN) && c->hcli >= 0)
				(c->kind == KIND_SMTP ? &a->hosts[c->hcli].out25
				                      : &a->hosts[c->hcli].sub)
				    ->syn_packets++;
			if ((f->tcp_flags & P25_TCP_SYN) && !c->syn) {
				c->syn = true;
				c->start_ns = first;
				if (!c->counted)
					conn_count(a, c);
			}
		} else {
			c->server_seen = true;
			if ((f->tcp_flags & (P25_TCP_SYN | P25_TCP_ACK)) ==
			    (P25_TCP_SYN | P25_TCP_ACK))
				c->synack = true;
			/* A reset with no handshake: the answer was a refusal. */
			if ((f->tcp_flags & P25_TCP_RST) && !(f->tcp_flags & P25_TCP_SYN))
				c->server_rst = true;
		}
		if (flow_has_data(f)) {
			if (from_client)
				c->cli_data = true;
			else
				c->srv_data = true;
		}
		/*
		 * A sampled record counts 1 in N packets: bytes and packets scale
		 * up; connections and SYNs stay as seen, so they are lower bounds.
		 */
		uint64_t scale = f->sampling > 1 ? f->sampling : 1;
		if (scale > 1) {
			a->stats.flows_sampled++;
			if (f->sampling > a->stats.sampling_max)
				a->stats.sampling_max = f->sampling;
		}
		account(a, c, from_client, f->bytes * scale, f->packets * scale, first, last);
	}
	if (a->clock_ns - a->last_sweep_ns > 1000000000ULL)
		sweep(a);
}

struct p25_analyzer *p25_an_new(const struct p25_an_config *cfg, const struct p25_model *model,
                                const char *org_handle, const struct p25_prefix *internal,
                                size_t ninternal, p25_time now, char *err, size_t errlen)
{
	struct p25_analyzer *a = calloc(1, sizeof *a);

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg ? *cfg : defaults;
	a->model = model;
	a->now = now;
	a->org = -1;
	a->threads = p25_an_default_threads();
	p25_an_port_filter(&a->filter);
	if (model) {
		/* Shares everything with the model but the organizations' enrollment. */
		a->active = *model;
		a->active.orgs = malloc((model->norgs ? model->norgs : 1) * sizeof *model->orgs);
		if (!a->active.orgs) {
			snprintf(err, errlen, "out of memory");
			free(a);
			return NULL;
		}
		if (model->norgs)
			memcpy(a->active.orgs, model->orgs, model->norgs * sizeof *model->orgs);
		for (size_t i = 0; i < model->norgs; i++)
			a->active.orgs[i].enrollment = P25_ENROLL_ACTIVE;
		a->active.orgs_cap = model->norgs;
		a->policy = p25_policy_build(&a->active, now, err, errlen);
		if (!a->policy) {
			free(a->active.orgs);
			free(a);
			return NULL;
		}
		if (org_handle) {
			for (size_t i = 0; i < model->norgs; i++)
				if (strcmp(model->orgs[i].handle, org_handle) == 0)
					a->org = (ssize_t)i;
			if (a->org < 0) {
				snprintf(err, errlen, "no organization '%s' in the registry",
				         org_handle);
				p25_an_free(a);
				return NULL;
			}
		}
	} else if (org_handle) {
		snprintf(err, errlen, "--org %s needs a registry", org_handle);
		free(a);
		return NULL;
	}
	if (ninternal) {
		a->internal = malloc(ninternal * sizeof *internal);
		if (!a->internal) {
			p25_an_free(a);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		memcpy(a->internal, internal, ninternal * sizeof *internal);
		a->ninternal = ninternal;
	}
	if (!conns_grow(a) || !hidx_grow(a)) {
		p25_an_free(a);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return a;
}

void p25_an_free(struct p25_analyzer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->conns_used; i++)
		if (a->conns[i].in_use)
			p25_smtp_free(a->conns[i].smtp);
	for (size_t i = 0; i < a->nhosts; i++) {
		free(a->hosts[i].hours);
		if (a->hosts[i].track)
			track_free_arrays(a->hosts[i].track);
		free(a->hosts[i].track);
		free(a->hosts[i].smtp);
	}
	while (a->texts) {
		struct an_text_block *b = a->texts;
		a->texts = b->next;
		free(b);
	}
	for (size_t i = 0; a->model && i < a->model->norgs; i++) {
		free(a->sec_name ? a->sec_name[i] : NULL);
		free(a->sec_email ? a->sec_email[i] : NULL);
	}
	free(a->sec_name);
	free(a->sec_email);
	free(a->suggest);
	free(a->same_next);
	free(a->conns);
	free(a->cbucket);
	free(a->hosts);
	free(a->hidx);
	free(a->internal);
	p25_policy_free(a->policy);
	free(a->active.orgs);
	free(a);
}

/* A copy of text that lives as long as the analyzer; "" when out of memory. */
static const char *keep_text(struct p25_analyzer *a, const char *text)
{
	size_t n = strlen(text) + 1;
	struct an_text_block *b = a->texts;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		b = malloc(sizeof *b + cap);
		if (!b)
			return "";
		b->used = 0;
		b->cap = cap;
		b->next = a->texts;
		a->texts = b;
	}
	char *p = b->text + b->used;
	memcpy(p, text, n);
	b->used += n;
	return p;
}

static int host_order_cmp_inplace(const void *x, const void *y)
{
	return p25_addr_cmp(&((const struct p25_an_host *)x)->addr,
	                    &((const struct p25_an_host *)y)->addr);
}

struct host_order {
	struct p25_addr addr;
	size_t idx;
};

static int host_order_cmp(const void *x, const void *y)
{
	return p25_addr_cmp(&((const struct host_order *)x)->addr,
	                    &((const struct host_order *)y)->addr);
}

/* Hosts in address order: the small keys are sorted, then the records moved once. */
static void sort_hosts(struct p25_analyzer *a)
{
	struct host_order *ord = malloc(a->nhosts * sizeof *ord + 1);
	struct p25_an_host *sorted = malloc(a->nhosts * sizeof *sorted + 1);

	if (!ord || !sorted) {
		free(ord);
		free(sorted);
		/* Out of memory: sort in place, slower but the same order. */
		qsort(a->hosts, a->nhosts, sizeof *a->hosts, host_order_cmp_inplace);
		return;
	}
	for (size_t i = 0; i < a->nhosts; i++) {
		ord[i].addr = a->hosts[i].addr;
		ord[i].idx = i;
	}
	qsort(ord, a->nhosts, sizeof *ord, host_order_cmp);
	for (size_t i = 0; i < a->nhosts; i++)
		sorted[i] = a->hosts[ord[i].idx];
	free(ord);
	free(a->hosts);
	a->hosts = sorted;
	a->hosts_cap = a->nhosts;
}

void p25_an_finish(struct p25_analyzer *a)
{
	char reasons[P25_AN_REASONS_LEN];

	if (a->finished)
		return;
	/* Settle in order of last activity, as time would have. */
	a->draining = true;
	while (a->lru_head)
		conn_settle(a, C(a, a->lru_head));
	/* Every connection is settled: the chains are all empty now. */
	memset(a->cbucket, 0, a->cbucket_cap * sizeof *a->cbucket);
	a->draining = false;
	a->finished = true;
	/*
	 * A host with no connection that blocking would touch (it only accepts
	 * 465/587, or left only stray segments) has nothing to report: listed,
	 * it was an "unknown" of all zeros counted among SMTP hosts.
	 */
	size_t kept = 0;
	for (size_t i = 0; i < a->nhosts; i++) {
		struct p25_an_host *h = &a->hosts[i];
		if (h->out25.conns || h->in25.conns || h->sub.conns) {
			a->hosts[kept++] = *h;
			continue;
		}
		a->stats.hosts_unlisted++;
		free(h->hours);
		if (h->track)
			track_free_arrays(h->track);
		free(h->track);
		free(h->smtp);
	}
	a->nhosts = kept;
	for (size_t i = 0; i < a->nhosts; i++) {
		struct p25_an_host *h = &a->hosts[i];
		int64_t first = -1, last = -1;
		h->hours_active = 0;
		for (uint32_t k = 0; k < h->nhours; k++) {
			if (!h->hours[k])
				continue;
			h->hours_active++;
			if (first < 0)
				first = k;
			last = k;
		}
		/*
		 * Days of elapsed time from the first active hour to the last, not
		 * calendar dates: 72 hours from 22:00 UTC touch four dates but are
		 * three days.
		 */
		h->days_active = first < 0 ? 0 : (unsigned)((last - first + 1 + 23) / 24);
		track_finish(&a->cfg, h);
		p25_an_classify(&a->cfg, h, reasons);
		h->reasons = keep_text(a, reasons);
	}
	/* The table is no longer needed for lookups: sort for the reports. */
	sort_hosts(a);
	p25_an_group_servers(a);
	free(a->hidx);
	a->hidx = NULL;
	a->hidx_cap = 0;
}

const struct p25_an_host *p25_an_hosts(const struct p25_analyzer *a, size_t *n)
{
	*n = a->nhosts;
	return a->hosts;
}

const struct p25_an_smtp *p25_an_host_smtp(const struct p25_an_host *h)
{
	static const struct p25_an_smtp none;

	return h->smtp ? h->smtp : &none;
}

struct p25_an_stats *p25_an_stats(struct p25_analyzer *a)
{
	return &a->stats;
}

size_t p25_an_memory(const struct p25_analyzer *a)
{
	size_t m = sizeof *a + a->hosts_cap * sizeof *a->hosts + a->hidx_cap * sizeof *a->hidx +
	           a->conns_cap * sizeof *a->conns + a->cbucket_cap * sizeof *a->cbucket;

	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		m += h->nhours * sizeof(uint32_t) + (h->smtp ? sizeof *h->smtp : 0);
		if (h->track)
			m += sizeof *h->track + (h->track->dest_bits ? P25_AN_DEST_WORDS * 8 : 0) +
			     (h->track->win != h->track->win_inline
			          ? h->track->capwin * sizeof *h->track->win
			          : 0) +
			     (h->track->min != h->track->min_inline
			          ? h->track->capmin * sizeof *h->track->min
			          : 0);
	}
	for (const struct an_text_block *b = a->texts; b; b = b->next)
		m += sizeof *b + b->cap;
	if (a->policy)
		m += p25_policy_memory(a->policy);
	return m;
}
