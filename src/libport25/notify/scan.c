/*
 * The notices of time: what the clock makes due, queued by the sender on
 * each pass (p25_notify_scan), each under a key so it is queued once.
 *
 *   variance expiring   a permit with an expiry, N days ahead for each N of
 *                       notify-expiring-days (the nearest one that applies);
 *   variance expired    a permit expired within the last 30 days;
 *   request overdue     open past its 48 hours: to the operator;
 *   abuse report        the org's open watch alerts not yet reported, at
 *                       most one report per org per notify-alert-interval;
 *   campaign reminder   at each of the campaign's reminder days before its
 *                       deadline, to the orgs that have not answered.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "registry/registry.h"

struct scan {
	const struct p25_notify_config *cfg;
	p25_time now;
	struct p25_scan_result *res;
};

static json_t *time_str(p25_time t)
{
	char buf[P25_TIME_STRLEN];
	return json_string(p25_time_format(t, buf, sizeof buf));
}

/* The days of a list ("14,7,1"), largest first; returns how many. */
static size_t days_of(const char *list, int *out, size_t max)
{
	size_t n = 0;

	while (*list && n < max) {
		char *end;
		long d = strtol(list, &end, 10);
		if (end == list) {
			list++;
			continue;
		}
		out[n++] = (int)d;
		list = end;
	}
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j] > out[j - 1]; j--) {
			int t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void base_data(struct p25_registry *reg, const struct p25_notify_config *cfg,
                      const char *org, json_t *data)
{
	char name[512];

	json_object_set_new(data, "operator_name", json_string(cfg->operator_name));
	json_object_set_new(data, "operator_address", json_string(cfg->operator_addr));
	if (org) {
		p25_notice_org_name(reg, org, name, sizeof name);
		json_object_set_new(data, "org", json_string(org));
		json_object_set_new(data, "org_name", json_string(name));
	}
}

/* The event data of a permit's notice: the org's, and the permit. */
static json_t *permit_data(struct p25_registry *reg, struct scan *s, const char *org,
                           json_t *permit)
{
	json_t *data = json_object();

	base_data(reg, s->cfg, org, data);
	json_object_set_new(data, "permit", json_deep_copy(permit));
	return data;
}

/* Queue a permit's notice to the org's technical and security contacts, counted in *count. */
static int queue_permit_notice(struct p25_registry *reg, struct scan *s, const char *org,
                               const char *template, json_t *data, const char *key,
                               size_t *count)
{
	int rc = p25_notify_queue_org(reg, s->cfg, s->now, org, "technical,security", template,
	                              data, key, 0, NULL, 0);

	if (rc > 0)
		*count += (size_t)rc;
	json_decref(data);
	return rc;
}

static int scan_expiring(struct p25_registry *reg, struct scan *s)
{
	struct p25_permit_filter f = {.now = s->now};
	int days[16];
	size_t nd = days_of(s->cfg->expiring_days, days, 16);
	json_t *permits = NULL;
	int rc;

	if (nd == 0)
		return 0;
	f.expiring_within = (int64_t)days[0] * P25_DAY;
	if ((rc = p25_permit_list(reg, &f, &permits)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(permits); i++) {
		json_t *p = json_array_get(permits, i), *data;
		const char *expires = json_string_value(json_object_get(p, "expires"));
		const char *org = json_string_value(json_object_get(p, "org"));
		p25_time t = 0;
		char err[64], key[200];
		int d = -1;
		if (!expires || p25_time_parse(expires, &t, err, sizeof err) < 0 || t <= s->now)
			continue;
		/* The nearest threshold it has crossed: 3 days left is the 3-day notice. */
		for (size_t j = 0; j < nd; j++)
			if (t - s->now <= (int64_t)days[j] * P25_DAY)
				d = days[j];
		if (d < 0)
			continue;
		data = permit_data(reg, s, org, p);
		json_object_set_new(data, "days", json_integer(d));
		json_object_set_new(data, "days_left",
		                    json_integer((t - s->now + P25_DAY - 1) / P25_DAY));
		snprintf(key, sizeof key, "expiring:%" JSON_INTEGER_FORMAT ":%s:%d",
		         json_integer_value(json_object_get(p, "id")), expires, d);
		rc = queue_permit_notice(reg, s, org, "variance-expiring", data, key,
		                         &s->res->expiring);
	}
	json_decref(permits);
	return rc < 0 ? rc : 0;
}

static int scan_expired(struct p25_registry *reg, struct scan *s)
{
	struct p25_permit_filter f = {.now = s->now, .expired = true};
	json_t *permits = NULL;
	int rc;

	if ((rc = p25_permit_list(reg, &f, &permits)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(permits); i++) {
		json_t *p = json_array_get(permits, i), *data;
		const char *expires = json_string_value(json_object_get(p, "expires"));
		const char *org = json_string_value(json_object_get(p, "org"));
		p25_time t = 0;
		char err[64], key[200];
		/* Old history is not news: only what expired in the last 30 days. */
		if (!expires || p25_time_parse(expires, &t, err, sizeof err) < 0 ||
		    t > s->now || s->now - t > 30 * P25_DAY)
			continue;
		data = permit_data(reg, s, org, p);
		snprintf(key, sizeof key, "expired:%" JSON_INTEGER_FORMAT ":%s",
		         json_integer_value(json_object_get(p, "id")), expires);
		rc = queue_permit_notice(reg, s, org, "variance-expired", data, key, &s->res->expired);
	}
	json_decref(permits);
	return rc < 0 ? rc : 0;
}

static int scan_overdue(struct p25_registry *reg, struct scan *s)
{
	struct p25_request_filter f = {.overdue = true, .now = s->now};
	json_t *reqs = NULL;
	int rc;

	if ((rc = p25_request_list(reg, &f, &reqs)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(reqs); i++) {
		json_t *r = json_array_get(reqs, i), *data = json_object();
		char key[64];
		base_data(reg, s->cfg, json_string_value(json_object_get(r, "org")), data);
		json_object_set_new(data, "request", json_deep_copy(r));
		snprintf(key, sizeof key, "overdue:%" JSON_INTEGER_FORMAT,
		         json_integer_value(json_object_get(r, "id")));
		rc = p25_notify_queue_operator(reg, s->cfg, s->now, "request-overdue", data, key);
		if (rc > 0)
			s->res->overdue++;
		json_decref(data);
	}
	json_decref(reqs);
	return rc < 0 ? rc : 0;
}

/* One org's unreported alerts as one report: what the ARF message is built from. */
static int report_org(struct p25_registry *reg, struct scan *s, const char *org, json_t *alerts)
{
	p25_time last = 0;
	json_t *data;
	char key[200], ref[64] = "";
	int rc;

	if ((rc = p25_notice_last_report(reg, org, &last)) < 0)
		return rc;
	/* Aggregated: the next report waits for the interval; its alerts wait with it. */
	if (last && s->now - last < s->cfg->alert_interval)
		return 0;
	data = json_object();
	base_data(reg, s->cfg, org, data);
	json_object_set_new(data, "alerts", json_incref(alerts));
	json_object_set_new(data, "window_end", time_str(s->now));
	json_object_set_new(data, "window_start", last ? time_str(last) : json_null());
	snprintf(key, sizeof key, "abuse:%s:%" JSON_INTEGER_FORMAT, org,
	         json_integer_value(json_object_get(json_array_get(alerts, 0), "id")));
	rc = p25_notify_queue_org(reg, s->cfg, s->now, org, "security", "abuse-report", data, key, 0,
	                          ref, sizeof ref);
	json_decref(data);
	if (rc < 0)
		return rc;
	s->res->reports += (size_t)rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(alerts); i++)
		rc = p25_notice_alert_reported_tx(
		    reg, json_integer_value(json_object_get(json_array_get(alerts, i), "id")), ref,
		    s->now);
	return rc < 0 ? rc : 0;
}

static int scan_alerts(struct p25_registry *reg, struct scan *s)
{
	json_t *alerts = NULL, *group = NULL;
	const char *cur = NULL;
	int rc;

	if ((rc = p25_notice_unreported_alerts(reg, NULL, &alerts)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i <= json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);
		const char *org = a ? json_string_value(json_object_get(a, "org")) : NULL;
		if (group && (!org || strcmp(org, cur) != 0)) {
			rc = report_org(reg, s, cur, group);
			json_decref(group);
			group = NULL;
		}
		if (!a || rc < 0)
			continue;
		if (!group) {
			group = json_array();
			cur = org;
		}
		json_array_append(group, a);
	}
	json_decref(group);
	json_decref(alerts);
	return rc < 0 ? rc : 0;
}

static int scan_campaigns(struct p25_registry *reg, struct scan *s)
{
	json_t *list = NULL;
	int rc;

	if ((rc = p25_campaign_list(reg, s->now, &list)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(list); i++) {
		json_t *c = json_array_get(list, i), *orgs = json_object_get(c, "orgs");
		p25_time deadline = 0, created = 0;
		char err[64];
		int days[16], d = -1;
		size_t nd = days_of(json_string_value(json_object_get(c, "reminders")), days, 16);
		p25_time_parse(json_string_value(json_object_get(c, "deadline")), &deadline, err,
		               sizeof err);
		p25_time_parse(json_string_value(json_object_get(c, "created")), &created, err,
		               sizeof err);
		if (s->now >= deadline)
			continue;
		/*
		 * The nearest reminder day passed, and only if it came after the
		 * campaign started: a late start sends no reminder at once.
		 */
		for (size_t j = 0; j < nd; j++) {
			p25_time at = deadline - (int64_t)days[j] * P25_DAY;
			if (s->now >= at && at > created)
				d = days[j];
		}
		if (d < 0)
			continue;
		for (size_t j = 0; rc >= 0 && j < json_array_size(orgs); j++) {
			json_t *o = json_array_get(orgs, j), *data;
			const char *org = json_string_value(json_object_get(o, "org"));
			const char *token = json_string_value(json_object_get(o, "token"));
			char key[200], address[400] = "", link[700] = "";
			const char *at = strchr(s->cfg->verify_address, '@');
			if (json_is_true(json_object_get(o, "answered")))
				continue;
			if (at)
				snprintf(address, sizeof address, "%.*s+%s%s",
				         (int)(at - s->cfg->verify_address), s->cfg->verify_address, token,
				         at);
			if (s->cfg->portal_url[0]) {
				const char *mark = strstr(s->cfg->portal_url, "{token}");
				if (mark)
					snprintf(link, sizeof link, "%.*s%s%s",
					         (int)(mark - s->cfg->portal_url), s->cfg->portal_url,
					         token, mark + 7);
				else
					snprintf(link, sizeof link, "%s%stoken=%s", s->cfg->portal_url,
					         strchr(s->cfg->portal_url, '?') ? "&" : "?", token);
			}
			data = json_object();
			base_data(reg, s->cfg, org, data);
			json_object_set_new(data, "campaign", json_deep_copy(json_object_get(c, "id")));
			json_object_set_new(data, "deadline",
			                    json_deep_copy(json_object_get(c, "deadline")));
			json_object_set_new(data, "days_remaining",
			                    json_deep_copy(json_object_get(c, "days_remaining")));
			json_object_set_new(data, "reply_address", json_string(address));
			json_object_set_new(data, "portal", json_string(link));
			json_object_set_new(data, "token", json_string(token));
			json_object_set_new(data, "reminder", json_true());
			snprintf(key, sizeof key, "campaign:%" JSON_INTEGER_FORMAT ":%s:reminder:%d",
			         json_integer_value(json_object_get(c, "id")), org, d);
			rc = p25_notify_queue_org(reg, s->cfg, s->now, org, "technical,security",
			                          "campaign-reminder", data, key, 0, NULL, 0);
			if (rc > 0)
				s->res->reminders += (size_t)rc;
			json_decref(data);
		}
	}
	json_decref(list);
	return rc < 0 ? rc : 0;
}

static int scan_tx(void *ctx, struct p25_registry *reg)
{
	struct scan *s = ctx;
	int rc;

	if ((rc = scan_expiring(reg, s)) < 0 || (rc = scan_expired(reg, s)) < 0 ||
	    (rc = scan_overdue(reg, s)) < 0 || (rc = scan_alerts(reg, s)) < 0 ||
	    (rc = scan_campaigns(reg, s)) < 0)
		return rc;
	return 0;
}

int p25_notify_scan(struct p25_registry *reg, const struct p25_notify_config *cfg, p25_time now,
                    struct p25_scan_result *res)
{
	struct scan s = {.cfg = cfg, .now = now, .res = res};

	memset(res, 0, sizeof *res);
	if (!cfg->enabled)
		return 0;
	return p25_registry_transaction(reg, scan_tx, &s);
}
