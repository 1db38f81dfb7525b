/*
 * Which blocked hosts deserve an operator's attention, and why.
 *
 * A mail server the registry missed keeps trying the few destinations its
 * queue holds mail for, on its queue's retry schedule: Postfix backs off
 * (300 s, 600 s, 1200 s ... up to 4000 s), Sendmail and Exim retry at fixed
 * or slowly growing intervals, all of them minutes apart and for hours.  An
 * infected host does the opposite: many destinations, many attempts in a
 * minute, rarely the same one twice.  The evidence lists what was measured
 * so the operator can check the call before drafting a permit.
 */
#include <stdio.h>
#include <string.h>

#include "watch/watch.h"

const char *p25_alert_kind_name(int kind)
{
	switch (kind) {
	case P25_ALERT_MISSED_SERVER: return "missed-server";
	case P25_ALERT_INFECTED: return "infected";
	default: return "none";
	}
}

int p25_alert_kind_parse(const char *s, int *kind)
{
	if (strcmp(s, "missed-server") == 0)
		*kind = P25_ALERT_MISSED_SERVER;
	else if (strcmp(s, "infected") == 0)
		*kind = P25_ALERT_INFECTED;
	else
		return -1;
	return 0;
}

void p25_thresholds_default(struct p25_thresholds *t)
{
	t->missed_max_dests = 10;
	t->missed_min_retries = 3;
	t->missed_min_interval = 60;
	t->missed_min_span = P25_HOUR;
	t->infected_min_dests = 50;
	t->infected_burst = 60;
	t->alert_quiet = 7 * P25_DAY;
}

static json_t *time_json(p25_time t)
{
	char buf[P25_TIME_STRLEN];
	return json_string(p25_time_format(t, buf, sizeof buf));
}

static json_t *dest_json(const struct p25_dest *d)
{
	struct p25_addr a = {.bits = d->addr, .family = d->family};
	char buf[P25_ADDR_STRLEN];
	json_t *o = json_object(), *iv = json_array();

	for (unsigned i = 0; i < d->niv; i++)
		json_array_append_new(iv, json_integer(d->iv[i]));
	json_object_set_new(o, "destination", json_string(p25_addr_format(&a, buf, sizeof buf)));
	json_object_set_new(o, "attempts", json_integer(d->attempts));
	json_object_set_new(o, "last", time_json(d->last));
	json_object_set_new(o, "intervals_s", iv);
	return o;
}

/*
 * A queue schedule: enough retries, each at least min_interval apart, none
 * much shorter than the one before (queues back off or stay steady; they do
 * not speed up).  Returns "growing backoff", "fixed interval" or NULL.
 */
static const char *retry_pattern(const struct p25_dest *d, const struct p25_thresholds *t)
{
	uint32_t need = t->missed_min_retries;

	if (need > P25_WATCH_IVS)
		need = P25_WATCH_IVS;
	if (need == 0)
		need = 1;
	if (d->niv < need)
		return NULL;
	for (unsigned i = 0; i < d->niv; i++) {
		if (d->iv[i] < t->missed_min_interval)
			return NULL;
		/* 20% slack: queue runs are aligned to a timer, not to the last try. */
		if (i && (uint64_t)d->iv[i] * 5 < (uint64_t)d->iv[i - 1] * 4)
			return NULL;
	}
	return (uint64_t)d->iv[d->niv - 1] * 2 >= (uint64_t)d->iv[0] * 3 ? "growing backoff"
									   : "fixed interval";
}

static void common_evidence(json_t *ev, const struct p25_agg *a, const struct p25_host *h)
{
	bool approx;
	uint32_t nd = p25_host_destinations(h, &approx);

	(void)a;
	json_object_set_new(ev, "attempts", json_integer((json_int_t)h->attempts));
	json_object_set_new(ev, "packets", json_integer((json_int_t)h->packets));
	json_object_set_new(ev, "destinations", json_integer(nd));
	json_object_set_new(ev, "destinations_approx", json_boolean(approx));
	json_object_set_new(ev, "peak_per_minute", json_integer(h->peak_minute));
	json_object_set_new(ev, "active_hours", json_integer(h->active_hours));
	json_object_set_new(ev, "first_seen", time_json(h->first));
	json_object_set_new(ev, "last_seen", time_json(h->last));
}

int p25_host_classify(const struct p25_agg *a, const struct p25_host *h,
		      const struct p25_thresholds *t, json_t **evidence)
{
	uint32_t nd = p25_host_destinations(h, NULL);
	char reason[200];
	json_t *ev, *sched;

	*evidence = NULL;
	if (nd >= t->infected_min_dests || h->peak_minute >= t->infected_burst) {
		json_t *sample = json_array();
		if (nd >= t->infected_min_dests)
			snprintf(reason, sizeof reason, "fan-out to %u destinations%s", nd,
				 h->peak_minute >= t->infected_burst ? " in bursts" : "");
		else
			snprintf(reason, sizeof reason, "burst of %u attempts in one minute",
				 (unsigned)h->peak_minute);
		ev = json_object();
		json_object_set_new(ev, "reason", json_string(reason));
		common_evidence(ev, a, h);
		for (unsigned i = 0; i < h->ndests; i++)
			json_array_append_new(sample, dest_json(&h->dests[i]));
		json_object_set_new(ev, "recent_destinations", sample);
		*evidence = ev;
		return P25_ALERT_INFECTED;
	}
	if (nd > t->missed_max_dests || h->last - h->first < (p25_time)t->missed_min_span)
		return P25_ALERT_NONE;
	sched = json_array();
	{
		const char *best = NULL;
		for (unsigned i = 0; i < h->ndests; i++) {
			const char *pat = retry_pattern(&h->dests[i], t);
			if (!pat)
				continue;
			json_t *d = dest_json(&h->dests[i]);
			json_object_set_new(d, "pattern", json_string(pat));
			json_array_append_new(sched, d);
			if (!best || strcmp(pat, "growing backoff") == 0)
				best = pat;
		}
		if (!best) {
			json_decref(sched);
			return P25_ALERT_NONE;
		}
		snprintf(reason, sizeof reason,
			 "retries %zu of %u destinations on a queue schedule (%s) over %.1f h",
			 json_array_size(sched), nd, best, (double)(h->last - h->first) / P25_HOUR);
	}
	ev = json_object();
	json_object_set_new(ev, "reason", json_string(reason));
	common_evidence(ev, a, h);
	json_object_set_new(ev, "schedule", sched);
	*evidence = ev;
	return P25_ALERT_MISSED_SERVER;
}
