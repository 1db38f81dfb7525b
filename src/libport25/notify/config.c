/*
 * The mail loop's part of /etc/port25/port25.conf (util/conf.h): the
 * [notify] section, and its flat keys at the top level (notify-*, verify-*,
 * campaign-*, portal-url, operator-name and notify).  A bad value is an
 * error naming the file, the line and the key; other components' keys are
 * theirs to check.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "util/conf.h"

void p25_notify_config_default(struct p25_notify_config *c)
{
	memset(c, 0, sizeof *c);
	c->enabled = true;
	snprintf(c->tls, sizeof c->tls, "try");
	snprintf(c->from_name, sizeof c->from_name, "port25");
	snprintf(c->operator_name, sizeof c->operator_name, "the network operator");
	snprintf(c->templates, sizeof c->templates, "%s", P25_TEMPLATES_PATH);
	snprintf(c->expiring_days, sizeof c->expiring_days, "14,3");
	snprintf(c->reminders, sizeof c->reminders, "14,7,1");
	snprintf(c->inbox_listen, sizeof c->inbox_listen, "unix:/run/port25/verify-inbox.sock");
	c->verify_within = 7 * P25_DAY;
	c->alert_interval = P25_DAY;
	c->retry_for = 3 * P25_DAY;
	c->retry_min = 60;
	c->retry_max = P25_HOUR;
	c->lease = 300;
	c->poll = 30;
	c->timeout = 30;
	c->inbox_max = 10 << 20;
}

/* "14,7,1": days, each 0..3650, at least one. */
static int days_list_ok(const char *v)
{
	int n = 0;

	while (*v) {
		char *end;
		long d;
		while (*v == ' ' || *v == ',')
			v++;
		if (!*v)
			break;
		if (!isdigit((unsigned char)*v))
			return -1;
		errno = 0;
		d = strtol(v, &end, 10);
		if (errno || d < 0 || d > 3650)
			return -1;
		n++;
		v = end;
		if (*v && *v != ',' && *v != ' ')
			return -1;
	}
	return n > 0 ? 0 : -1;
}

/* An address with one @, no spaces, no angle brackets, no control characters. */
static int address_ok(const char *v)
{
	const char *at = strchr(v, '@');

	if (!at || at == v || !at[1] || strchr(at + 1, '@'))
		return -1;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == 0x7f)
			return -1;
	return 0;
}

struct key {
	const char *name;
	enum { K_STR, K_ADDR, K_DUR, K_DAYS, K_BOOL, K_INT } type;
	size_t off, size;
};

#define S(field) offsetof(struct p25_notify_config, field), sizeof(((struct p25_notify_config *)0)->field)

static const struct key keys[] = {
    {"notify", K_BOOL, S(enabled)},
    {"notify-relay", K_STR, S(relay)},
    {"notify-tls", K_STR, S(tls)},
    {"notify-ca-file", K_STR, S(ca_file)},
    {"notify-user", K_STR, S(user)},
    {"notify-password-file", K_STR, S(password_file)},
    {"notify-from", K_ADDR, S(from)},
    {"notify-from-name", K_STR, S(from_name)},
    {"notify-operator", K_ADDR, S(operator_addr)},
    {"operator-name", K_STR, S(operator_name)},
    {"notify-domain", K_STR, S(domain)},
    {"notify-templates", K_STR, S(templates)},
    {"verify-address", K_ADDR, S(verify_address)},
    {"verify-within", K_DUR, S(verify_within)},
    {"portal-url", K_STR, S(portal_url)},
    {"notify-expiring-days", K_DAYS, S(expiring_days)},
    {"notify-alert-interval", K_DUR, S(alert_interval)},
    {"notify-retry-for", K_DUR, S(retry_for)},
    {"notify-retry-min", K_DUR, S(retry_min)},
    {"notify-retry-max", K_DUR, S(retry_max)},
    {"notify-lease", K_DUR, S(lease)},
    {"notify-poll", K_DUR, S(poll)},
    {"notify-timeout", K_DUR, S(timeout)},
    {"notify-pause-ms", K_INT, S(pause_ms)},
    {"campaign-reminders", K_DAYS, S(reminders)},
    {"verify-inbox-mx", K_STR, S(inbox_mx)},
    {"verify-inbox-listen", K_STR, S(inbox_listen)},
    {"verify-inbox-max-size", K_INT, S(inbox_max)},
};

static int set_one(struct p25_notify_config *c, const struct key *k, const char *v, char *why,
                   size_t whylen)
{
	char *dst = (char *)c + k->off;
	char err[160];
	int64_t n;

	switch (k->type) {
	case K_ADDR:
		if (*v && address_ok(v) < 0) {
			snprintf(why, whylen, "'%.200s' is no e-mail address (want name@domain)", v);
			return -1;
		}
		/* fall through */
	case K_STR:
	case K_DAYS:
		if (k->type == K_DAYS && days_list_ok(v) < 0) {
			snprintf(why, whylen, "'%.200s' is no list of days (want e.g. 14,7,1)", v);
			return -1;
		}
		for (const unsigned char *p = (const unsigned char *)v; *p; p++)
			if (*p < ' ' || *p == 0x7f) {
				snprintf(why, whylen, "control characters are not allowed");
				return -1;
			}
		if (strlen(v) >= k->size) {
			snprintf(why, whylen, "longer than %zu characters", k->size - 1);
			return -1;
		}
		snprintf(dst, k->size, "%s", v);
		return 0;
	case K_DUR:
		if (p25_duration_parse(v, &n, err, sizeof err) < 0 || n < 0) {
			char *end;
			errno = 0;
			n = strtoll(v, &end, 10);
			if (errno || *end || n < 0 || !isdigit((unsigned char)*v)) {
				snprintf(why, whylen, "'%.200s' is no duration (want e.g. 90s, 10m, 2h, 7d)",
				         v);
				return -1;
			}
		}
		*(int64_t *)(void *)dst = n;
		return 0;
	case K_INT: {
		char *end;
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || *end || n < 0 || !isdigit((unsigned char)*v)) {
			snprintf(why, whylen, "'%.200s' is no whole number", v);
			return -1;
		}
		*(int64_t *)(void *)dst = n;
		return 0;
	}
	case K_BOOL:
		if (p25_conf_bool(v, (bool *)(void *)dst) < 0) {
			snprintf(why, whylen, "'%.200s' is neither yes nor no", v);
			return -1;
		}
		return 0;
	}
	return -1;
}

/*
 * One entry of [notify] or of the top level.  In the section a key may drop
 * its "notify-" ("relay = ..." is "notify-relay = ..."); "enabled" there is
 * the top level's "notify = yes|no".
 */
static int set_entry(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	char name[96], why[300] = "";

	if (e->section[0] && !strcmp(e->key, "enabled"))
		snprintf(name, sizeof name, "notify");
	else
		snprintf(name, sizeof name, "%s", e->key);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if (strcmp(keys[i].name, name))
				continue;
			if (set_one(ctx, &keys[i], e->value, why, sizeof why) < 0) {
				snprintf(msg, msglen, "%s: %s", e->key, why);
				return -1;
			}
			return 1;
		}
		if (!e->section[0])
			break;
		snprintf(name, sizeof name, "notify-%s", e->key);
	}
	return 0;
}

int p25_notify_config_load(struct p25_notify_config *c, const char *path, char *err,
                           size_t errlen)
{
	if (p25_conf_read(path, false, "notify", P25_CONF_TOP_QUIET, set_entry, c, err, errlen, NULL,
	                  0) < 0)
		return -1;
	if (strcmp(c->tls, "required") && strcmp(c->tls, "try") && strcmp(c->tls, "none")) {
		snprintf(err, errlen, "%s: notify-tls: '%s' is not required, try or none", path, c->tls);
		return -1;
	}
	if (c->relay[0] && strncmp(c->relay, "smtp://", 7) && strncmp(c->relay, "smtps://", 8)) {
		snprintf(err, errlen, "%s: notify-relay: '%s' is no smtp:// or smtps:// URL", path,
		         c->relay);
		return -1;
	}
	if (c->retry_min <= 0)
		c->retry_min = 1;
	if (c->retry_max < c->retry_min)
		c->retry_max = c->retry_min;
	if (c->lease < 5)
		c->lease = 5;
	if (c->poll <= 0)
		c->poll = 1;
	if (c->timeout <= 0)
		c->timeout = 30;
	return 0;
}

const char *p25_notify_domain(const struct p25_notify_config *c)
{
	const char *at;

	if (c->domain[0])
		return c->domain;
	if ((at = strchr(c->from, '@')) && at[1])
		return at + 1;
	return "port25.invalid";
}
