/*
 * Summaries and alerts in the registry (schema v2; v3 lets alerts end).
 *
 * The tables live in the registry file and share its transactions, audit
 * log and error message (registry/tables.h); they are read and written
 * through the storage seam (storage/storage.h), like the registry's own.
 *
 * A flush writes deltas: attempts and packets counted since the last flush
 * are added to what the row holds, so a restart, an eviction or a second
 * watch on another source never double counts or loses what was written.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/tables.h"
#include "util/array.h"
#include "watch/watch.h"

#define WATCH_ACTOR "port25-watch"

static const char *dir_text(uint8_t dir)
{
	return dir == P25_WDIR_IN ? "in" : "out";
}

static json_t *state_json(const struct p25_host *h)
{
	json_t *o = json_object(), *dests = json_array();
	char hex[2 * P25_WATCH_HLL + 1], buf[P25_ADDR_STRLEN], tbuf[P25_TIME_STRLEN];

	for (unsigned i = 0; i < h->ndests; i++) {
		const struct p25_dest *d = &h->dests[i];
		struct p25_addr a = {.bits = d->addr, .family = d->family};
		json_t *dj = json_object(), *iv = json_array();
		for (unsigned k = 0; k < d->niv; k++)
			json_array_append_new(iv, json_integer(d->iv[k]));
		json_object_set_new(dj, "a", json_string(p25_addr_format(&a, buf, sizeof buf)));
		json_object_set_new(dj, "n", json_integer(d->attempts));
		json_object_set_new(dj, "last", json_string(p25_time_format(d->last, tbuf, sizeof tbuf)));
		json_object_set_new(dj, "sport", json_integer(d->last_sport));
		json_object_set_new(dj, "iv", iv);
		json_array_append_new(dests, dj);
	}
	for (unsigned i = 0; i < P25_WATCH_HLL; i++)
		snprintf(hex + 2 * i, 3, "%02x", h->hll[i]);
	json_object_set_new(o, "dests", dests);
	json_object_set_new(o, "overflow", json_boolean(h->dests_overflow));
	json_object_set_new(o, "hll", json_string(hex));
	return o;
}

/* Saved state back into a host; anything malformed is skipped, never trusted. */
static void state_load(struct p25_host *h, const char *text)
{
	json_t *o = text ? json_loads(text, 0, NULL) : NULL, *dests, *dj;
	const char *hex;
	size_t i;

	if (!json_is_object(o)) {
		json_decref(o);
		return;
	}
	dests = json_object_get(o, "dests");
	json_array_foreach(dests, i, dj)
	{
		struct p25_addr a;
		struct p25_diag diag;
		struct p25_dest *d;
		json_t *iv, *v;
		size_t k;
		if (h->ndests >= P25_WATCH_DESTS)
			break;
		if (!json_is_string(json_object_get(dj, "a")) ||
		    p25_addr_parse(json_string_value(json_object_get(dj, "a")), 0, &a, &diag) < 0)
			continue;
		d = &h->dests[h->ndests++];
		memset(d, 0, sizeof *d);
		d->addr = a.bits;
		d->family = a.family;
		d->attempts = (uint32_t)json_integer_value(json_object_get(dj, "n"));
		d->last_sport = (uint16_t)json_integer_value(json_object_get(dj, "sport"));
		if (json_is_string(json_object_get(dj, "last"))) {
			char err[8];
			p25_time_parse(json_string_value(json_object_get(dj, "last")), &d->last, err,
				       sizeof err);
		}
		iv = json_object_get(dj, "iv");
		json_array_foreach(iv, k, v)
		{
			if (d->niv >= P25_WATCH_IVS)
				break;
			d->iv[d->niv++] = (uint32_t)json_integer_value(v);
		}
	}
	h->dests_overflow = json_is_true(json_object_get(o, "overflow"));
	hex = json_string_value(json_object_get(o, "hll"));
	if (hex && strlen(hex) == 2 * P25_WATCH_HLL)
		for (unsigned k = 0; k < P25_WATCH_HLL; k++) {
			unsigned v;
			if (sscanf(hex + 2 * k, "%2x", &v) == 1 && v < 64)
				h->hll[k] = (uint8_t)v;
		}
	json_decref(o);
}

int p25_watch_load(struct p25_registry *reg, struct p25_agg *a, size_t *loaded)
{
	struct store_stmt *st;
	int rc;

	*loaded = 0;
	/* Oldest first, so the most recently active end up at the head of the LRU. */
	st = store_query(reg_store(reg), "SELECT host, direction, org, attempts, packets, peak_per_minute, "
		       "active_hours, first_seen, last_seen, state FROM "
		       "(SELECT * FROM host_summary ORDER BY last_seen DESC LIMIT ?) "
		       "ORDER BY last_seen ASC",
		       "i", (int64_t)p25_agg_capacity(a));
	if (!st)
		return P25_EDB;
	while ((rc = store_step(st)) == 1) {
		struct p25_addr addr;
		struct p25_diag diag;
		struct p25_host *h;
		uint8_t dir = strcmp(col_text(st, 1), "in") == 0 ? P25_WDIR_IN : P25_WDIR_OUT;
		int64_t peak = col_int(st, 5);

		if (p25_addr_parse(col_text(st, 0), 0, &addr, &diag) < 0)
			continue;
		h = p25_agg_find(a, &addr, dir);
		if (!h)
			h = p25_agg_insert(a, &addr, dir);
		h->flags = P25_HOST_LOADED;
		h->org = p25_agg_org_intern(a, col_text(st, 2));
		h->attempts = (uint64_t)col_int(st, 3);
		h->packets = (uint64_t)col_int(st, 4);
		h->peak_minute = peak < 0 ? 0 : peak > UINT32_MAX ? UINT32_MAX : (uint32_t)peak;
		h->active_hours = (uint32_t)col_int(st, 6);
		h->first = col_time(st, 7);
		h->last = col_time(st, 8);
		/* The next attempt in this hour must not count as another active hour. */
		h->hour_at = h->last / 3600;
		state_load(h, col_text(st, 9));
		(*loaded)++;
	}
	if (rc < 0)
		return rc;
	store_done(st);
	return 0;
}

#define UPSERT_SUMMARY                                                                       \
	"INSERT INTO host_summary (host, direction, family, org, attempts, packets, "            \
	"destinations, destinations_approx, peak_per_minute, active_hours, first_seen, "         \
	"last_seen, updated, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "           \
	"ON CONFLICT (host, direction) DO UPDATE SET "                                           \
	"org = coalesce(excluded.org, org), "                                                    \
	"attempts = attempts + excluded.attempts, packets = packets + excluded.packets, "        \
	"destinations = max(destinations, excluded.destinations), "                              \
	"destinations_approx = excluded.destinations_approx OR destinations_approx, "            \
	"peak_per_minute = max(peak_per_minute, excluded.peak_per_minute), "                     \
	"active_hours = max(active_hours, excluded.active_hours), "                              \
	"first_seen = min(first_seen, excluded.first_seen), "                                    \
	"last_seen = max(last_seen, excluded.last_seen), updated = excluded.updated, "           \
	"state = coalesce(excluded.state, state)"

/*
 * One host's row, with the statement the flush prepared once: compiling it
 * for each of thousands of hosts was most of a flush's time.  Scalars that
 * are not counts keep the larger of the stored and the new value.
 */
static int upsert_summary(struct store_stmt *st, const struct p25_addr *addr, uint8_t dir,
			  const char *org, uint32_t d_attempts, uint32_t d_packets, uint32_t dests,
			  bool approx, uint32_t peak, uint32_t hours, p25_time first, p25_time last,
			  p25_time now, const char *state)
{
	char host[P25_ADDR_STRLEN];

	if (store_rebind(st, "binding a host summary", "ssisiiiiiiTTTs",
			 p25_addr_format(addr, host, sizeof host), dir_text(dir),
			 (int64_t)addr->family, org && *org ? org : NULL, (int64_t)d_attempts,
			 (int64_t)d_packets, (int64_t)dests, (int64_t)approx, (int64_t)peak,
			 (int64_t)hours, first, last, now, state) < 0)
		return P25_EDB;
	return store_run(st, "writing a host summary");
}

/*
 * The day counts since the last flush, added to the org's: an org that is
 * not in the registry (a stale log prefix) has no row to count on.
 */
static int add_days(struct p25_registry *reg, const struct p25_agg *a)
{
	size_t n;
	const struct p25_day_count *d = p25_agg_days(a, &n);
	struct store_stmt *st;
	int rc = 0;

	if (n == 0)
		return 0;
	st = store_query(reg_store(reg),
			 "INSERT INTO attempts_daily (org_id, day, direction, attempts) "
			 "SELECT id, ?, ?, ? FROM org WHERE handle = ? "
			 "ON CONFLICT (org_id, day, direction) DO UPDATE SET "
			 "attempts = attempts + excluded.attempts",
			 "");
	if (!st)
		return P25_EDB;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		char day[P25_TIME_STRLEN];
		if (!d[i].attempts) /* all taken back by a lost eviction */
			continue;
		p25_time_format(d[i].day * 86400, day, sizeof day);
		day[10] = '\0'; /* YYYY-MM-DD */
		if (store_rebind(st, "binding a day's attempts", "ssis", day, dir_text(d[i].dir),
				 (int64_t)d[i].attempts, p25_agg_org(a, d[i].org)) < 0)
			rc = P25_EDB;
		else
			rc = store_run(st, "writing a day's attempts");
	}
	store_done(st);
	return rc;
}

static int upsert_alert(struct p25_registry *reg, const struct p25_actor *who, int kind,
			const struct p25_addr *addr, uint8_t dir, const char *org, json_t *ev,
			struct p25_flush_result *res)
{
	char host[P25_ADDR_STRLEN], *text = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	struct store_stmt *st;
	int rc;

	if (!text)
		return reg_fail(reg, P25_EDB, "watch: out of memory writing an alert");
	p25_addr_format(addr, host, sizeof host);
	/* Resolved alerts are history: a host that matches again gets a new one. */
	st = store_query(reg_store(reg), "SELECT id FROM alert WHERE kind = ? AND host = ? AND direction = ? "
		       "AND status <> 'resolved'",
		       "sss", p25_alert_kind_name(kind), host, dir_text(dir));
	if (!st) {
		free(text);
		return P25_EDB;
	}
	rc = store_step(st);
	if (rc == 1) {
		int64_t id = col_int(st, 0);
		store_done(st);
		/* A dismissed or drafted alert keeps its status; its evidence stays current. */
		rc = store_exec(reg_store(reg), "UPDATE alert SET evidence = ?, updated = ?, org = coalesce(?, org) "
			      "WHERE id = ?",
			      "sTsi", text, who->now, org && *org ? org : NULL, id);
		if (rc == 0)
			res->alerts_updated++;
	} else if (rc == 0) {
		char object[64];
		store_done(st);
		rc = store_exec(reg_store(reg), "INSERT INTO alert (kind, host, direction, org, status, raised, "
			      "updated, evidence) VALUES (?, ?, ?, ?, 'open', ?, ?, ?)",
			      "ssssTTs", p25_alert_kind_name(kind), host, dir_text(dir),
			      org && *org ? org : NULL, who->now, who->now, text);
		if (rc == 0) {
			snprintf(object, sizeof object, "%" PRId64,
				 store_last_id(reg_store(reg)));
			rc = reg_audit(reg, who, "raise", "alert", object, NULL, ev);
		}
		if (rc == 0)
			res->alerts_raised++;
	}
	free(text);
	return rc < 0 ? rc : 0;
}

/*
 * The permits valid at now, read once per flush and only when an alert
 * needs them.  Containment is no SQL comparison: they are sorted by family,
 * length and network, and a host is looked up once per length in use
 * (a handful), most specific first.
 */
struct permit_set {
	bool loaded;
	bool lens[2][129]; /* [IPv6][length]: some permit has it */
	size_t n;
	struct valid_permit {
		struct p25_prefix prefix;
		int64_t id;
	} *v;
};

static int permit_cmp(const void *x, const void *y)
{
	const struct valid_permit *a = x, *b = y;

	if (a->prefix.family != b->prefix.family)
		return a->prefix.family < b->prefix.family ? -1 : 1;
	if (a->prefix.len != b->prefix.len)
		return a->prefix.len < b->prefix.len ? -1 : 1;
	if (a->prefix.net != b->prefix.net)
		return a->prefix.net < b->prefix.net ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

static int permits_load(struct p25_registry *reg, struct permit_set *ps, p25_time now)
{
	struct store_stmt *st;
	size_t cap = 0;
	int rc;

	if (ps->loaded)
		return 0;
	st = store_query(reg_store(reg), "SELECT id, text FROM permit WHERE expires IS NULL OR expires > ?", "T",
		       now);
	if (!st)
		return P25_EDB;
	while ((rc = store_step(st)) == 1) {
		struct p25_diag diag;
		struct p25_prefix p;
		if (p25_prefix_parse(col_text(st, 1), 0, &p, &diag) < 0)
			continue; /* the registry refuses these; never trust them here */
		if (P25_ARRAY_GROW(ps->v, ps->n, cap) < 0) {
			store_done(st);
			return reg_fail(reg, P25_EDB, "watch: out of memory reading permits");
		}
		ps->v[ps->n].prefix = p;
		ps->v[ps->n++].id = col_int(st, 0);
		ps->lens[p.family == P25_INET6][p.len] = true;
	}
	if (rc < 0)
		return rc;
	store_done(st);
	if (ps->n)
		qsort(ps->v, ps->n, sizeof *ps->v, permit_cmp);
	ps->loaded = true;
	return 0;
}

/* The id of a valid permit covering the host (the most specific), 0 when none does. */
static int64_t permits_cover(const struct permit_set *ps, const struct p25_addr *addr)
{
	for (int len = (int)p25_family_bits(addr->family); len >= 0; len--) {
		struct valid_permit key = {.id = INT64_MIN};
		size_t lo = 0, hi = ps->n;

		if (!ps->lens[addr->family == P25_INET6][len])
			continue;
		p25_prefix_from_addr(&key.prefix, addr, (unsigned)len);
		/* The first permit not before the key: the lowest id of that prefix, if any. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (permit_cmp(&ps->v[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ps->n && p25_prefix_equal(&ps->v[lo].prefix, &key.prefix))
			return ps->v[lo].id;
	}
	return 0;
}

struct candidate {
	int64_t id;
	char kind[16], host[P25_ADDR_STRLEN], dir[4], status[10], last_seen[P25_TIME_STRLEN];
	bool quiet;
};

static void copy_col(char *dst, size_t len, struct store_stmt *st, int col)
{
	snprintf(dst, len, "%s", col_text(st, col));
}

static int resolve_one(struct p25_registry *reg, const struct p25_actor *who,
		       const struct candidate *c, const char *reason, int64_t permit,
		       json_t *resolved)
{
	char object[32];
	json_t *before, *after, *detail;
	int rc;

	rc = store_exec(reg_store(reg), "UPDATE alert SET status = 'resolved', resolved_at = ?, resolved_reason = ?, "
		      "updated = ? WHERE id = ?",
		      "TsTi", who->now, reason, who->now, c->id);
	if (rc < 0)
		return rc;
	snprintf(object, sizeof object, "%" PRId64, c->id);
	/* What ended it: the permit that covers the host, or its last attempt. */
	detail = permit ? json_integer(permit)
			: c->last_seen[0] ? json_string(c->last_seen) : json_null();
	before = json_pack("{s:s}", "status", c->status);
	after = json_pack("{s:s, s:s, s:O}", "status", "resolved", "reason", reason,
			  permit ? "permit_id" : "last_seen", detail);
	rc = reg_audit(reg, who, "resolve", "alert", object, before, after);
	if (rc == 0 && resolved)
		json_array_append_new(resolved,
				      json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:O}", "id",
						(json_int_t)c->id, "kind", c->kind, "host", c->host,
						"direction", c->dir, "was", c->status,
						"resolved_reason", reason,
						permit ? "permit_id" : "last_seen", detail));
	json_decref(detail);
	json_decref(before);
	json_decref(after);
	return rc;
}

/*
 * One indexed query (alert_status) finds every open and drafted alert with
 * its host's last attempt, changed this flush or not; the rows are read
 * whole before any is updated, since updating moves them in that index.
 */
static int resolve_tx(struct p25_registry *reg, const struct p25_actor *who, uint32_t quiet,
		      struct permit_set *ps, size_t *permitted, size_t *quieted, json_t *resolved)
{
	struct candidate *c = NULL;
	size_t n = 0, cap = 0;
	struct store_stmt *st;
	int rc;

	st = store_query(reg_store(reg), "SELECT a.id, a.kind, a.host, a.direction, a.status, s.last_seen, "
		       "a.status = 'open' AND ?1 "
		       "AND max(a.updated, coalesce(s.last_seen, '')) <= ?2 "
		       "FROM alert a LEFT JOIN host_summary s "
		       "ON s.host = a.host AND s.direction = a.direction "
		       "WHERE a.status IN ('open', 'drafted') ORDER BY a.id",
		       "iT", (int64_t)(quiet > 0), who->now - (p25_time)quiet);
	if (!st)
		return P25_EDB;
	while ((rc = store_step(st)) == 1) {
		if (P25_ARRAY_GROW(c, n, cap) < 0) {
			store_done(st);
			free(c);
			return reg_fail(reg, P25_EDB, "watch: out of memory reading alerts");
		}
		c[n].id = col_int(st, 0);
		copy_col(c[n].kind, sizeof c[n].kind, st, 1);
		copy_col(c[n].host, sizeof c[n].host, st, 2);
		copy_col(c[n].dir, sizeof c[n].dir, st, 3);
		copy_col(c[n].status, sizeof c[n].status, st, 4);
		copy_col(c[n].last_seen, sizeof c[n].last_seen, st, 5);
		c[n++].quiet = (int)col_int(st, 6) != 0;
	}
	if (rc < 0) {
		free(c);
		return rc;
	}
	store_done(st);
	rc = n ? permits_load(reg, ps, who->now) : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct p25_addr addr;
		struct p25_diag diag;
		int64_t permit = 0;

		if (p25_addr_parse(c[i].host, 0, &addr, &diag) == 0)
			permit = permits_cover(ps, &addr);
		if (permit) {
			rc = resolve_one(reg, who, &c[i], "permitted", permit, resolved);
			if (rc == 0)
				(*permitted)++;
		} else if (c[i].quiet) {
			rc = resolve_one(reg, who, &c[i], "quiet", 0, resolved);
			if (rc == 0)
				(*quieted)++;
		}
	}
	free(c);
	return rc;
}

static int flush_tx(struct p25_registry *reg, struct p25_agg *a, const struct p25_thresholds *t,
		    const struct p25_actor *who, struct p25_flush_result *res)
{
	struct permit_set ps = {0};
	size_t cursor = 0, nspill;
	const struct p25_spill *spill = p25_agg_spill(a, &nspill);
	struct store_stmt *up = store_query(reg_store(reg), UPSERT_SUMMARY, "");
	struct p25_host *h;
	int rc = 0;

	if (!up)
		return P25_EDB;

	while (rc == 0 && (h = p25_agg_next(a, &cursor)) != NULL) {
		bool approx;
		uint32_t nd;
		char *state;
		json_t *sj, *ev = NULL;
		int kind;

		if (!(h->flags & P25_HOST_DIRTY))
			continue;
		nd = p25_host_destinations(h, &approx);
		sj = state_json(h);
		state = json_dumps(sj, JSON_COMPACT);
		json_decref(sj);
		if (!state) {
			free(ps.v);
			store_done(up);
			return reg_fail(reg, P25_EDB, "watch: out of memory writing summaries");
		}
		rc = upsert_summary(up, &h->addr, h->dir, p25_agg_org(a, h->org), h->d_attempts,
				    h->d_packets, nd, approx, h->peak_minute, h->active_hours,
				    h->first, h->last, who->now, state);
		free(state);
		/*
		 * A host a valid permit covers raises nothing: it is blocked only until
		 * the gateway applies the permit, and its alert resolves below.
		 */
		if (rc == 0 && (kind = p25_host_classify(a, h, t, &ev)) != P25_ALERT_NONE &&
		    (rc = permits_load(reg, &ps, who->now)) == 0 && !permits_cover(&ps, &h->addr))
			rc = upsert_alert(reg, who, kind, &h->addr, h->dir, p25_agg_org(a, h->org),
					  ev, res);
		json_decref(ev);
		res->hosts++;
	}
	for (size_t i = 0; rc == 0 && i < nspill; i++, res->spilled++)
		rc = upsert_summary(up, &spill[i].addr, spill[i].dir, p25_agg_org(a, spill[i].org),
				    spill[i].d_attempts, spill[i].d_packets, spill[i].destinations,
				    false, 0, 0, spill[i].first, spill[i].last, who->now, NULL);
	store_done(up);
	/* With the summaries: their counts and the days' move together or not at all. */
	if (rc == 0)
		rc = add_days(reg, a);
	/* After the writes, so this flush's attempts count against quiet. */
	if (rc == 0)
		rc = resolve_tx(reg, who, t->alert_quiet, &ps, &res->alerts_permitted,
				&res->alerts_quiet, NULL);
	free(ps.v);
	return rc;
}

int p25_watch_flush(struct p25_registry *reg, struct p25_agg *a, const struct p25_thresholds *t,
		    p25_time now, struct p25_flush_result *res)
{
	struct p25_actor who = {.name = WATCH_ACTOR, .now = now};
	size_t cursor = 0;
	struct p25_host *h;
	int rc;

	memset(res, 0, sizeof *res);
	if ((rc = reg_begin(reg)) < 0)
		return rc;
	rc = reg_end(reg, flush_tx(reg, a, t, &who, res));
	if (rc < 0) {
		/* Nothing was written: keep every delta for the next attempt. */
		memset(res, 0, sizeof *res);
		return rc;
	}
	while ((h = p25_agg_next(a, &cursor)) != NULL) {
		if (h->flags & P25_HOST_DIRTY) {
			h->flags &= (uint8_t) ~(P25_HOST_DIRTY | P25_HOST_NEW);
			h->d_attempts = h->d_packets = 0;
		}
	}
	p25_agg_spill_clear(a);
	p25_agg_days_clear(a);
	return 0;
}

/* Every row st finds, as fn makes it; st is finished. */
static int rows_of(struct store_stmt *st, json_t *(*fn)(struct store_stmt *), json_t **out)
{
	json_t *rows;
	int rc;

	if (!st)
		return P25_EDB;
	rows = json_array();
	while ((rc = store_step(st)) == 1)
		json_array_append_new(rows, fn(st));
	if (rc < 0) { /* a failed step has finished st */
		json_decref(rows);
		return rc;
	}
	store_done(st);
	*out = rows;
	return 0;
}

static json_t *alert_row(struct store_stmt *st)
{
	json_t *o = json_object(), *ev = json_loads(col_text(st, 8), 0, NULL);

	json_object_set_new(o, "id", json_integer(col_int(st, 0)));
	json_object_set_new(o, "kind", json_string(col_text(st, 1)));
	json_object_set_new(o, "host", json_string(col_text(st, 2)));
	json_object_set_new(o, "direction", json_string(col_text(st, 3)));
	json_object_set_new(o, "org", col_null(st, 4)
					  ? json_null()
					  : json_string(col_text(st, 4)));
	json_object_set_new(o, "status", json_string(col_text(st, 5)));
	json_object_set_new(o, "raised", json_string(col_text(st, 6)));
	json_object_set_new(o, "updated", json_string(col_text(st, 7)));
	json_object_set_new(o, "reason",
			    json_string(json_is_object(ev) && json_is_string(json_object_get(ev, "reason"))
						? json_string_value(json_object_get(ev, "reason"))
						: ""));
	json_object_set_new(o, "request_id", col_null(st, 9)
						 ? json_null()
						 : json_integer(col_int(st, 9)));
	json_object_set_new(o, "resolved_at", col_null(st, 10)
						  ? json_null()
						  : json_string(col_text(st, 10)));
	json_object_set_new(o, "resolved_reason", col_null(st, 11)
						      ? json_null()
						      : json_string(col_text(st, 11)));
	json_object_set_new(o, "evidence", ev ? ev : json_null());
	return o;
}

#define ALERT_COLS                                                                            \
	"SELECT id, kind, host, direction, org, status, raised, updated, evidence, request_id, " \
	"resolved_at, resolved_reason FROM alert "

int p25_alert_list(struct p25_registry *reg, const struct p25_alert_filter *f, json_t **out)
{
	json_t *rows = NULL;
	char *scoped;
	int rc;

	*out = NULL;
	reg_clear(reg);
	if ((rc = scope_text(reg, f ? f->scope : NULL, &scoped)) < 0)
		return rc;
	/* In a scope, an alert of a host in no organization's space is no member's. */
	rc = rows_of(store_query(reg_store(reg),
				 ALERT_COLS "WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR org = ?2) "
					    "AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR org IN "
					    "(SELECT value FROM json_each(?4))) ORDER BY id",
				 "ssss", f && f->kind ? p25_alert_kind_name(f->kind) : NULL,
				 f ? f->org : NULL, f ? f->status : NULL, scoped),
		     alert_row, &rows);
	free(scoped);
	*out = rows;
	return rc;
}

static int alert_get_in(struct p25_registry *reg, int64_t id, const char *scoped, json_t **out)
{
	struct store_stmt *st = store_query(reg_store(reg),
				     ALERT_COLS "WHERE id = ? AND (?2 IS NULL OR org IN (SELECT "
						"value FROM json_each(?2)))",
				     "is", id, scoped);
	int rc;

	*out = NULL;
	if (!st)
		return P25_EDB;
	rc = store_step(st);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		store_done(st);
		return reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no alert %" PRId64, id),
				P25_HINT_LIST_ALERTS, NULL, 0, 0);
	}
	*out = alert_row(st);
	store_done(st);
	return 0;
}

static int alert_get(struct p25_registry *reg, int64_t id, json_t **out)
{
	return alert_get_in(reg, id, NULL, out);
}

int p25_alert_show(struct p25_registry *reg, int64_t id, json_t **out)
{
	reg_clear(reg);
	return alert_get(reg, id, out);
}

int p25_alert_show_in(struct p25_registry *reg, int64_t id, const struct p25_scope *scope,
		      json_t **out)
{
	char *scoped;
	int rc;

	*out = NULL;
	reg_clear(reg);
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = alert_get_in(reg, id, scoped, out);
	free(scoped);
	return rc;
}

/* Open to drafted (claiming the alert) or back, in its own transaction. */
static int alert_claim(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
		       json_t **alert)
{
	const char *status, *kind;
	int rc = alert_get(reg, id, alert);

	if (rc < 0)
		return rc;
	kind = json_string_value(json_object_get(*alert, "kind"));
	status = json_string_value(json_object_get(*alert, "status"));
	if (strcmp(kind, "missed-server") != 0)
		return reg_fail(reg, P25_EINVAL,
				"alert %" PRId64 " is a possible infected host, not a missed server: "
				"it cannot become a permit request",
				id);
	if (strcmp(status, "open") != 0) {
		json_t *req = json_object_get(*alert, "request_id");
		if (!strcmp(status, "resolved"))
			return reg_fail(
			    reg, P25_ECONFLICT, "alert %" PRId64 " is resolved (%s)", id,
			    json_string_value(json_object_get(*alert, "resolved_reason")));
		if (json_is_integer(req))
			return reg_fail(reg, P25_ECONFLICT,
					"alert %" PRId64 " is already drafted as request %" JSON_INTEGER_FORMAT,
					id, json_integer_value(req));
		return reg_fail(reg, P25_ECONFLICT, "alert %" PRId64 " is %s", id, status);
	}
	if (json_is_null(json_object_get(*alert, "org")))
		return reg_fail(reg, P25_EINVAL,
				"alert %" PRId64 ": host %s lies in no organization's space", id,
				json_string_value(json_object_get(*alert, "host")));
	rc = store_exec(reg_store(reg), "UPDATE alert SET status = 'drafted', updated = ? WHERE id = ?", "Ti",
		      who->now, id);
	return rc;
}

int p25_alert_draft(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
		    int64_t *request_id)
{
	json_t *alert = NULL;
	char desc[160], note[400], object[32];
	struct p25_request_server server = {0};
	struct p25_request_spec spec = {0};
	int rc;

	*request_id = 0;
	/*
	 * Claim, submit, link: three transactions, because request submission
	 * owns its own.  The claim keeps two operators from drafting twice; a
	 * failed submission hands the alert back.
	 */
	if ((rc = reg_begin(reg)) < 0)
		return rc;
	if ((rc = reg_end(reg, alert_claim(reg, who, id, &alert))) < 0) {
		json_decref(alert);
		return rc;
	}
	snprintf(desc, sizeof desc, "possible missed server (watch alert %" PRId64 ")", id);
	snprintf(note, sizeof note, "drafted from watch alert %" PRId64 ": %s", id,
		 json_string_value(json_object_get(alert, "reason")));
	server.address = json_string_value(json_object_get(alert, "host"));
	server.kind = P25_KIND_MAIL_SERVER;
	server.description = desc;
	spec.org = json_string_value(json_object_get(alert, "org"));
	spec.type = P25_REQ_ADD_PERMIT;
	spec.note = note;
	spec.servers = &server;
	spec.nservers = 1;
	rc = p25_request_submit(reg, who, &spec, request_id);
	if (rc < 0) {
		/* Handing the alert back must not hide why the submission failed. */
		char saved[1024];
		struct p25_hint hint = *p25_registry_hint(reg);
		snprintf(saved, sizeof saved, "%s", p25_registry_error(reg));
		if (store_exec(reg_store(reg), "UPDATE alert SET status = 'open' WHERE id = ?", "i",
			       id) < 0)
			reg_hint(reg, reg_fail(reg, rc, "%s", saved), hint.code, hint.org, hint.id,
				 hint.tail);
		json_decref(alert);
		return rc;
	}
	json_decref(alert);
	if ((rc = reg_begin(reg)) < 0)
		return rc;
	rc = store_exec(reg_store(reg), "UPDATE alert SET request_id = ? WHERE id = ?", "ii", *request_id, id);
	snprintf(object, sizeof object, "%" PRId64, id);
	if (rc == 0) {
		json_t *after = json_pack("{s:s, s:I}", "status", "drafted", "request_id",
					  (json_int_t)*request_id);
		rc = reg_audit(reg, who, "draft", "alert", object, NULL, after);
		json_decref(after);
	}
	return reg_end(reg, rc);
}

int p25_alert_dismiss(struct p25_registry *reg, const struct p25_actor *who, int64_t id)
{
	json_t *alert = NULL;
	char object[32];
	int rc;

	if ((rc = reg_begin(reg)) < 0)
		return rc;
	rc = alert_get(reg, id, &alert);
	if (rc == 0 && strcmp(json_string_value(json_object_get(alert, "status")), "dismissed") == 0)
		rc = reg_fail(reg, P25_ECONFLICT, "alert %" PRId64 " is already dismissed", id);
	/* Resolved is as final as dismissed: the alert is history, not a decision to take. */
	if (rc == 0 && strcmp(json_string_value(json_object_get(alert, "status")), "resolved") == 0)
		rc = reg_fail(reg, P25_ECONFLICT, "alert %" PRId64 " is already resolved (%s)", id,
			      json_string_value(json_object_get(alert, "resolved_reason")));
	if (rc == 0)
		rc = store_exec(reg_store(reg), "UPDATE alert SET status = 'dismissed', updated = ? WHERE id = ?",
			      "Ti", who->now, id);
	snprintf(object, sizeof object, "%" PRId64, id);
	if (rc == 0)
		rc = reg_audit(reg, who, "dismiss", "alert", object, NULL, NULL);
	json_decref(alert);
	return reg_end(reg, rc);
}

int p25_alert_expire(struct p25_registry *reg, const struct p25_actor *who, uint32_t quiet,
		     size_t *permitted, size_t *quieted, json_t **resolved)
{
	struct permit_set ps = {0};
	json_t *list = resolved ? json_array() : NULL;
	int rc;

	*permitted = *quieted = 0;
	if (resolved)
		*resolved = NULL;
	if ((rc = reg_begin(reg)) < 0) {
		json_decref(list);
		return rc;
	}
	rc = reg_end(reg, resolve_tx(reg, who, quiet, &ps, permitted, quieted, list));
	free(ps.v);
	if (rc < 0) {
		*permitted = *quieted = 0;
		json_decref(list);
		return rc;
	}
	if (resolved)
		*resolved = list;
	return 0;
}

static json_t *host_row(struct store_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "host", json_string(col_text(st, 0)));
	json_object_set_new(o, "direction", json_string(col_text(st, 1)));
	json_object_set_new(o, "org", col_null(st, 2) ? json_null() : json_string(col_text(st, 2)));
	json_object_set_new(o, "attempts", json_integer(col_int(st, 3)));
	json_object_set_new(o, "packets", json_integer(col_int(st, 4)));
	json_object_set_new(o, "destinations", json_integer(col_int(st, 5)));
	json_object_set_new(o, "destinations_approx", json_boolean(col_int(st, 6)));
	json_object_set_new(o, "peak_per_minute", json_integer(col_int(st, 7)));
	json_object_set_new(o, "active_hours", json_integer(col_int(st, 8)));
	json_object_set_new(o, "first_seen", json_string(col_text(st, 9)));
	json_object_set_new(o, "last_seen", json_string(col_text(st, 10)));
	return o;
}

int p25_host_summary_list(struct p25_registry *reg, const char *org, int limit, json_t **out)
{
	return p25_host_summary_list_in(reg, org, limit, NULL, out);
}

int p25_host_summary_list_in(struct p25_registry *reg, const char *org, int limit,
			     const struct p25_scope *scope, json_t **out)
{
	json_t *rows = NULL;
	char *scoped;
	int rc;

	*out = NULL;
	reg_clear(reg);
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = rows_of(store_query(reg_store(reg),
				 "SELECT host, direction, org, attempts, packets, destinations, "
				 "destinations_approx, peak_per_minute, active_hours, first_seen, "
				 "last_seen FROM host_summary WHERE (?1 IS NULL OR org = ?1) AND (?3 IS "
				 "NULL OR org IN (SELECT value FROM json_each(?3))) ORDER BY last_seen "
				 "DESC, host LIMIT ?2",
				 "sis", org, (int64_t)(limit > 0 ? limit : -1), scoped),
		     host_row, &rows);
	free(scoped);
	*out = rows;
	return rc;
}
