/*
 * Per-host aggregation in a fixed memory budget.
 *
 * Everything is allocated once, from the budget: the host entries, the hash
 * buckets, the spill area for evicted hosts and the org table.  A flood of
 * attempts from spoofed or many hosts then costs evictions of the least
 * recently active hosts, never memory.  The hash is keyed with a random seed
 * so that chosen source addresses cannot pile into one bucket.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/hash.h"
#include "watch/watch.h"

#define NIL	     UINT32_MAX
#define NORGS	     1024
#define RETRANSMIT_S 180 /* SYN retransmissions of one connection span ~127 s by default */
/*
 * (org, day, direction) counts between two flushes: a live gateway needs two
 * days of its orgs at most; a replayed log of months asks for a flush at three
 * quarters full.  A quarter of an entry per host, within these bounds.
 */
#define DAYS_MIN     64
#define DAYS_MAX     16384

struct p25_agg {
	struct p25_host *hosts;
	uint32_t *buckets;
	struct p25_spill *spill;
	char (*orgs)[P25_ORG_HANDLE_MAX + 1];
	struct p25_day_count *days;
	uint32_t *day_slots; /* index + 1 into days, 0 empty; twice days_cap, a power of 2 */
	size_t cap, nbuckets, count, nspill, spill_cap, norgs, ndays, days_cap, nday_slots, memory;
	uint32_t head, tail, free_list;
	uint64_t seed[2];
	struct p25_agg_stats stats;
};

static uint64_t addr_hash(const struct p25_agg *a, const struct p25_addr *addr, uint8_t salt)
{
	uint64_t hi = (uint64_t)(addr->bits >> 64), lo = (uint64_t)addr->bits;
	return p25_mix64(hi ^ a->seed[0]) ^ p25_mix64(lo ^ a->seed[1] ^ ((uint64_t)addr->family << 8 | salt));
}

struct p25_agg *p25_agg_new(size_t max_memory, char *err, size_t errlen)
{
	struct p25_agg *a = calloc(1, sizeof *a);
	size_t fixed, per_host, cap;

	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	fixed = sizeof *a + NORGS * sizeof *a->orgs +
		DAYS_MIN * (sizeof *a->days + 4 * sizeof *a->day_slots);
	/*
	 * A host costs its entry, up to two bucket slots, a sixteenth of a spill
	 * record and a quarter of a day count with its index slots.
	 */
	per_host = sizeof(struct p25_host) + 2 * sizeof(uint32_t) + sizeof(struct p25_spill) / 16 +
		   (sizeof(struct p25_day_count) + 4 * sizeof(uint32_t)) / 4 + 2;
	cap = max_memory > fixed ? (max_memory - fixed) / per_host : 0;
	if (cap < 16) {
		snprintf(err, errlen, "max-memory %zu bytes is too small (at least %zu)", max_memory,
			 fixed + 16 * per_host);
		free(a);
		return NULL;
	}
	if (cap > NIL / 2)
		cap = NIL / 2;
	a->cap = cap;
	a->nbuckets = 1;
	while (a->nbuckets < cap)
		a->nbuckets <<= 1;
	a->spill_cap = cap / 16 > 16 ? cap / 16 : 16;
	a->days_cap = cap / 4 < DAYS_MIN ? DAYS_MIN : cap / 4 > DAYS_MAX ? DAYS_MAX : cap / 4;
	a->nday_slots = 1;
	while (a->nday_slots < 2 * a->days_cap)
		a->nday_slots <<= 1;
	a->hosts = calloc(cap, sizeof *a->hosts);
	a->buckets = malloc(a->nbuckets * sizeof *a->buckets);
	a->spill = calloc(a->spill_cap, sizeof *a->spill);
	a->orgs = calloc(NORGS, sizeof *a->orgs);
	a->days = calloc(a->days_cap, sizeof *a->days);
	a->day_slots = calloc(a->nday_slots, sizeof *a->day_slots);
	if (!a->hosts || !a->buckets || !a->spill || !a->orgs || !a->days || !a->day_slots) {
		snprintf(err, errlen, "out of memory allocating %zu host entries", cap);
		p25_agg_free(a);
		return NULL;
	}
	a->memory = sizeof *a + cap * sizeof *a->hosts + a->nbuckets * sizeof *a->buckets +
		    a->spill_cap * sizeof *a->spill + NORGS * sizeof *a->orgs +
		    a->days_cap * sizeof *a->days + a->nday_slots * sizeof *a->day_slots;
	memset(a->buckets, 0xff, a->nbuckets * sizeof *a->buckets);
	for (size_t i = 0; i < cap; i++)
		a->hosts[i].hash_next = i + 1 < cap ? (uint32_t)(i + 1) : NIL;
	a->free_list = 0;
	a->head = a->tail = NIL;
	a->norgs = 1; /* index 0 is the unknown org, "" */
	if (getrandom(a->seed, sizeof a->seed, GRND_NONBLOCK) != sizeof a->seed) {
		a->seed[0] = p25_mix64((uint64_t)time(NULL));
		a->seed[1] = p25_mix64((uint64_t)(uintptr_t)a);
	}
	return a;
}

void p25_agg_free(struct p25_agg *a)
{
	if (!a)
		return;
	free(a->hosts);
	free(a->buckets);
	free(a->spill);
	free(a->orgs);
	free(a->days);
	free(a->day_slots);
	free(a);
}

size_t p25_agg_capacity(const struct p25_agg *a)
{
	return a->cap;
}

size_t p25_agg_memory(const struct p25_agg *a)
{
	return a->memory;
}

size_t p25_agg_count(const struct p25_agg *a)
{
	return a->count;
}

const struct p25_agg_stats *p25_agg_stats(const struct p25_agg *a)
{
	return &a->stats;
}

const char *p25_agg_org(const struct p25_agg *a, uint16_t idx)
{
	return idx < a->norgs ? a->orgs[idx] : "";
}

uint16_t p25_agg_org_intern(struct p25_agg *a, const char *handle)
{
	size_t n = strlen(handle);

	if (n == 0 || n > P25_ORG_HANDLE_MAX)
		return 0;
	for (size_t i = 1; i < a->norgs; i++)
		if (strcmp(a->orgs[i], handle) == 0)
			return (uint16_t)i;
	/* The table is full only with more orgs than a gateway serves: count them as unknown. */
	if (a->norgs >= NORGS)
		return 0;
	memcpy(a->orgs[a->norgs], handle, n + 1);
	return (uint16_t)a->norgs++;
}

/* The count of (org, dir, day), or NULL with *slot the free index slot for it. */
static struct p25_day_count *day_find(struct p25_agg *a, uint16_t org, uint8_t dir, int64_t day,
				      size_t *slot)
{
	uint64_t x = p25_mix64((uint64_t)day ^ (uint64_t)org << 40 ^ (uint64_t)dir << 56 ^ a->seed[0]);

	for (*slot = x & (a->nday_slots - 1);; *slot = (*slot + 1) & (a->nday_slots - 1)) {
		uint32_t i = a->day_slots[*slot];
		struct p25_day_count *d;
		if (i == 0)
			return NULL;
		d = &a->days[i - 1];
		if (d->day == day && d->org == org && d->dir == dir)
			return d;
	}
}

/* One more attempt of org's host on day, in direction dir. */
static void day_add(struct p25_agg *a, uint16_t org, uint8_t dir, int64_t day)
{
	size_t slot;
	struct p25_day_count *d = day_find(a, org, dir, day, &slot);

	if (d) {
		if (d->attempts < UINT32_MAX)
			d->attempts++;
		return;
	}
	if (a->ndays == a->days_cap) {
		/*
		 * Full before a flush could come (a replayed log of many orgs and
		 * days in one read): on another day of the org rather than nowhere,
		 * so the days still add up to the summaries.
		 */
		for (size_t i = 0; i < a->ndays; i++) {
			d = &a->days[i];
			if (d->org == org && d->dir == dir) {
				if (d->attempts < UINT32_MAX)
					d->attempts++;
				a->stats.days_moved++;
				return;
			}
		}
		a->stats.days_lost++;
		return;
	}
	a->days[a->ndays] = (struct p25_day_count){.day = day, .attempts = 1, .org = org, .dir = dir};
	a->day_slots[slot] = (uint32_t)++a->ndays;
}

/*
 * An evicted host's unflushed attempts found no room in the spill: take as
 * many from its org's day counts, from its last day back, so the days never
 * hold an attempt the summaries lost.
 */
static void days_take(struct p25_agg *a, uint16_t org, uint8_t dir, int64_t last_day, uint32_t n)
{
	size_t slot;
	struct p25_day_count *last = day_find(a, org, dir, last_day, &slot);

	/* Most often all of them were on the last day: no scan. */
	if (last) {
		uint32_t k = last->attempts < n ? last->attempts : n;
		last->attempts -= k;
		n -= k;
	}
	while (n) {
		struct p25_day_count *best = NULL;
		for (size_t i = 0; i < a->ndays; i++) {
			struct p25_day_count *d = &a->days[i];
			/* the latest day not after the host's last, else any */
			if (d->org != org || d->dir != dir || !d->attempts)
				continue;
			if (!best || (d->day <= last_day && (best->day > last_day || d->day > best->day)))
				best = d;
		}
		if (!best)
			return;
		uint32_t k = best->attempts < n ? best->attempts : n;
		best->attempts -= k;
		n -= k;
	}
}

const struct p25_day_count *p25_agg_days(const struct p25_agg *a, size_t *n)
{
	*n = a->ndays;
	return a->days;
}

void p25_agg_days_clear(struct p25_agg *a)
{
	a->ndays = 0;
	memset(a->day_slots, 0, a->nday_slots * sizeof *a->day_slots);
}

static void lru_unlink(struct p25_agg *a, uint32_t i)
{
	struct p25_host *h = &a->hosts[i];

	if (h->lru_prev != NIL)
		a->hosts[h->lru_prev].lru_next = h->lru_next;
	else
		a->head = h->lru_next;
	if (h->lru_next != NIL)
		a->hosts[h->lru_next].lru_prev = h->lru_prev;
	else
		a->tail = h->lru_prev;
}

static void lru_push_head(struct p25_agg *a, uint32_t i)
{
	struct p25_host *h = &a->hosts[i];

	h->lru_prev = NIL;
	h->lru_next = a->head;
	if (a->head != NIL)
		a->hosts[a->head].lru_prev = i;
	a->head = i;
	if (a->tail == NIL)
		a->tail = i;
}

struct p25_host *p25_agg_find(struct p25_agg *a, const struct p25_addr *addr, uint8_t dir)
{
	uint32_t i = a->buckets[addr_hash(a, addr, dir) & (a->nbuckets - 1)];

	while (i != NIL) {
		struct p25_host *h = &a->hosts[i];
		if (h->dir == dir && p25_addr_equal(&h->addr, addr))
			return h;
		i = h->hash_next;
	}
	return NULL;
}

static void evict(struct p25_agg *a)
{
	uint32_t i = a->tail, *link;
	struct p25_host *h = &a->hosts[i];

	a->stats.evictions++;
	if (h->d_attempts || h->d_packets) {
		if (a->nspill < a->spill_cap) {
			struct p25_spill *s = &a->spill[a->nspill++];
			s->addr = h->addr;
			s->dir = h->dir;
			s->org = h->org;
			s->d_attempts = h->d_attempts;
			s->d_packets = h->d_packets;
			s->destinations = p25_host_destinations(h, NULL);
			s->first = h->first;
			s->last = h->last;
			a->stats.spilled++;
		} else {
			a->stats.lost += h->d_attempts;
			if (h->org)
				days_take(a, h->org, h->dir, h->last / 86400, h->d_attempts);
		}
	}
	lru_unlink(a, i);
	link = &a->buckets[addr_hash(a, &h->addr, h->dir) & (a->nbuckets - 1)];
	while (*link != i)
		link = &a->hosts[*link].hash_next;
	*link = h->hash_next;
	h->hash_next = a->free_list;
	a->free_list = i;
	a->count--;
}

struct p25_host *p25_agg_insert(struct p25_agg *a, const struct p25_addr *addr, uint8_t dir)
{
	uint32_t i, *bucket;
	struct p25_host *h;

	if (a->free_list == NIL)
		evict(a);
	i = a->free_list;
	h = &a->hosts[i];
	a->free_list = h->hash_next;
	memset(h, 0, sizeof *h);
	h->addr = *addr;
	h->dir = dir;
	h->flags = P25_HOST_NEW | P25_HOST_DIRTY;
	bucket = &a->buckets[addr_hash(a, addr, dir) & (a->nbuckets - 1)];
	h->hash_next = *bucket;
	*bucket = i;
	lru_push_head(a, i);
	a->count++;
	return h;
}

/*
 * The sketch hashes with fixed keys, unlike the host table: sketches are
 * stored in the registry and merged after a restart, so the same destination
 * must land in the same register in every run of the daemon.
 */
static uint64_t sketch_hash(const struct p25_addr *addr)
{
	uint64_t hi = (uint64_t)(addr->bits >> 64), lo = (uint64_t)addr->bits;
	return p25_mix64(hi ^ 0x9e3779b97f4a7c15ULL) ^
	       p25_mix64(lo ^ 0xd6e8feb86659fd93ULL ^ (uint64_t)addr->family << 8);
}

static void hll_add(struct p25_host *h, const struct p25_addr *peer)
{
	uint64_t x = sketch_hash(peer);
	unsigned idx = x & (P25_WATCH_HLL - 1);
	uint64_t w = x >> 6;
	uint8_t rank = w ? (uint8_t)(__builtin_clzll(w) - 6 + 1) : 59;

	if (rank > h->hll[idx])
		h->hll[idx] = rank;
}

uint32_t p25_host_destinations(const struct p25_host *h, bool *approx)
{
	double sum = 0, est;
	unsigned zeros = 0;
	const double m = P25_WATCH_HLL;

	if (approx)
		*approx = h->dests_overflow;
	if (!h->dests_overflow)
		return h->ndests;
	for (unsigned i = 0; i < P25_WATCH_HLL; i++) {
		sum += ldexp(1.0, -h->hll[i]);
		zeros += h->hll[i] == 0;
	}
	est = 0.709 * m * m / sum;
	if (est <= 2.5 * m && zeros)
		est = m * log(m / zeros);
	/* More than fit in the exact list were seen, whatever the sketch says. */
	if (est < P25_WATCH_DESTS + 1)
		est = P25_WATCH_DESTS + 1;
	return est > UINT32_MAX ? UINT32_MAX : (uint32_t)(est + 0.5);
}

static void bump32(uint32_t *v)
{
	if (*v < UINT32_MAX)
		(*v)++;
}

/* Move a ring of n buckets forward to period now, zeroing the periods skipped. */
static void ring_advance(uint32_t *ring, unsigned n, int64_t *at, int64_t now)
{
	if (now <= *at)
		return;
	if (now - *at >= n || *at == 0)
		memset(ring, 0, n * sizeof *ring);
	else
		for (int64_t k = *at + 1; k <= now; k++)
			ring[k % n] = 0;
	*at = now;
}

static struct p25_dest *dest_slot(struct p25_host *h, const struct p25_addr *peer, bool *found)
{
	struct p25_dest *oldest = NULL;

	*found = false;
	for (unsigned i = 0; i < h->ndests; i++) {
		struct p25_dest *d = &h->dests[i];
		if (d->family == peer->family && d->addr == peer->bits) {
			*found = true;
			return d;
		}
		if (!oldest || d->last < oldest->last)
			oldest = d;
	}
	if (h->ndests < P25_WATCH_DESTS)
		oldest = &h->dests[h->ndests++];
	else
		h->dests_overflow = true;
	memset(oldest, 0, sizeof *oldest);
	oldest->addr = peer->bits;
	oldest->family = peer->family;
	return oldest;
}

struct p25_host *p25_agg_record(struct p25_agg *a, const struct p25_attempt *at)
{
	const struct p25_addr *self = at->dir == P25_WDIR_IN ? &at->dst : &at->src;
	const struct p25_addr *peer = at->dir == P25_WDIR_IN ? &at->src : &at->dst;
	uint8_t dir = at->dir == P25_WDIR_IN ? P25_WDIR_IN : P25_WDIR_OUT;
	uint32_t n = at->packets ? at->packets : 1;
	struct p25_host *h;
	struct p25_dest *d;
	bool found;
	/* A time before 1970 can only be a corrupt line; it must not index the rings backwards. */
	p25_time t = at->t > 0 ? at->t : 0;

	if ((self->family != P25_INET && self->family != P25_INET6) ||
	    peer->family != self->family)
		return NULL;
	h = p25_agg_find(a, self, dir);
	if (!h) {
		h = p25_agg_insert(a, self, dir);
		h->first = h->last = t;
	} else {
		uint32_t i = (uint32_t)(h - a->hosts);
		lru_unlink(a, i);
		lru_push_head(a, i);
	}
	a->stats.records++;
	a->stats.packets += n;
	if (at->org[0])
		h->org = p25_agg_org_intern(a, at->org);
	h->packets += n;
	h->d_packets = h->d_packets > UINT32_MAX - n ? UINT32_MAX : h->d_packets + n;
	h->flags |= P25_HOST_DIRTY;
	if (t < h->first)
		h->first = t;
	if (t > h->last)
		h->last = t;

	d = dest_slot(h, peer, &found);
	/* The same source port soon after: the kernel retransmitting one SYN, not a new try. */
	if (found && d->attempts && d->last_sport == at->sport && t >= d->last &&
	    t - d->last <= RETRANSMIT_S)
		return h;
	a->stats.attempts++;
	h->attempts++;
	if (h->d_attempts < UINT32_MAX)
		h->d_attempts++;
	/* The org of the host, as the flush writes its summary with. */
	if (h->org)
		day_add(a, h->org, dir, t / 86400);
	hll_add(h, peer);
	if (found && d->attempts && t >= d->last) {
		int64_t iv = t - d->last;
		if (d->niv == P25_WATCH_IVS) {
			memmove(d->iv, d->iv + 1, (P25_WATCH_IVS - 1) * sizeof d->iv[0]);
			d->niv--;
		}
		d->iv[d->niv++] = iv > UINT32_MAX ? UINT32_MAX : (uint32_t)iv;
	}
	if (d->attempts < UINT32_MAX)
		d->attempts++;
	if (t >= d->last)
		d->last = t;
	d->last_sport = at->sport;

	{
		int64_t minute = t / 60, hour = t / 3600;
		if (hour > h->hour_at)
			h->active_hours++;
		ring_advance(h->minutes, 60, &h->minute_at, minute);
		ring_advance(h->hours, 24, &h->hour_at, hour);
		/* Attempts older than the rings (a replayed file out of order) only count. */
		if (minute > h->minute_at - 60) {
			bump32(&h->minutes[minute % 60]);
			if (h->minutes[minute % 60] > h->peak_minute)
				h->peak_minute = h->minutes[minute % 60];
		}
		if (hour > h->hour_at - 24)
			bump32(&h->hours[hour % 24]);
	}
	return h;
}

struct p25_host *p25_agg_next(struct p25_agg *a, size_t *cursor)
{
	uint32_t i;

	if (*cursor == SIZE_MAX)
		return NULL;
	i = *cursor == 0 ? a->head : (uint32_t)(*cursor - 1);
	if (i == NIL) {
		*cursor = SIZE_MAX;
		return NULL;
	}
	*cursor = a->hosts[i].lru_next == NIL ? SIZE_MAX : (size_t)a->hosts[i].lru_next + 1;
	return &a->hosts[i];
}

const struct p25_spill *p25_agg_spill(const struct p25_agg *a, size_t *n)
{
	*n = a->nspill;
	return a->spill;
}

void p25_agg_spill_clear(struct p25_agg *a)
{
	a->nspill = 0;
}

bool p25_agg_flush_wanted(const struct p25_agg *a)
{
	return a->nspill >= a->spill_cap * 3 / 4 || a->ndays >= a->days_cap * 3 / 4;
}
