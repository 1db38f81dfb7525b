/*
 * watch's part of /etc/port25/port25.conf (util/conf.h): the [watch]
 * section, and watch's keys at the top level as configurations before
 * sections wrote them.  In [watch] an unknown key is an error; at the top
 * level, which other commands share, it is reported as a warning, not
 * refused.  A known key with a bad value is an error naming the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/conf.h"
#include "watch/sources.h"
#include "watch/watch.h"

void p25_watch_config_default(struct p25_watch_config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->registry, sizeof c->registry, "/var/lib/port25/port25.db");
	c->nflog_group = P25_WATCH_NFLOG_GROUP;
	c->flush_interval = 60;
	c->new_host_flush = 250;
	c->max_memory = 64u << 20;
	c->syslog_rcvbuf = P25_SYSLOG_RCVBUF_DEFAULT;
	c->syslog_queue = P25_SYSLOG_QUEUE_DEFAULT;
	c->drop_privileges = true;
	p25_thresholds_default(&c->thresholds);
}

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n > max)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* Seconds as a bare number or a duration ("90s", "10m", "2h"). */
static int parse_seconds(const char *v, uint32_t *out)
{
	int64_t s;
	char err[64];

	if (parse_u32(v, UINT32_MAX, out) == 0)
		return 0;
	if (p25_duration_parse(v, &s, err, sizeof err) < 0 || s > UINT32_MAX)
		return -1;
	*out = (uint32_t)s;
	return 0;
}

static int parse_size(const char *v, size_t *out)
{
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': n <<= 10; end++; break;
	case 'm': case 'M': n <<= 20; end++; break;
	case 'g': case 'G': n <<= 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	*out = (size_t)n;
	return 0;
}

static int copy_str(char *dst, size_t dstlen, const char *v)
{
	if (strlen(v) >= dstlen)
		return -1;
	strcpy(dst, v);
	return 0;
}

/* "192.0.2.1, 2001:db8::/64": addresses or prefixes, separated by commas or spaces. */
static int parse_senders(struct p25_watch_config *c, const char *v, char *why, size_t whylen)
{
	struct p25_prefix list[P25_WATCH_SENDERS_MAX];
	size_t n = 0;

	while (*v) {
		char tok[P25_PREFIX_STRLEN + 1];
		size_t len = strcspn(v, ", \t");
		struct p25_diag diag;

		if (len == 0) {
			v++;
			continue;
		}
		if (len >= sizeof tok) {
			snprintf(why, whylen, "'%.*s...' is no address or prefix", 40, v);
			return -1;
		}
		memcpy(tok, v, len);
		tok[len] = '\0';
		if (n == P25_WATCH_SENDERS_MAX) {
			snprintf(why, whylen, "more than %d senders (name prefixes instead)",
				 P25_WATCH_SENDERS_MAX);
			return -1;
		}
		if (p25_prefix_parse(tok, P25_PARSE_UNMAP, &list[n], &diag) < 0) {
			snprintf(why, whylen, "%s", diag.error);
			return -1;
		}
		n++;
		v += len;
	}
	if (n == 0) {
		snprintf(why, whylen, "no address or prefix given");
		return -1;
	}
	memcpy(c->syslog_senders, list, n * sizeof list[0]);
	c->nsyslog_senders = n;
	return 0;
}

/* 1 set, 0 unknown key, -1 bad value (why, when not empty, says what is wrong with it). */
static int set_key(struct p25_watch_config *c, const char *k, const char *v, char *why,
		   size_t whylen)
{
	struct p25_thresholds *t = &c->thresholds;
	uint32_t u;

	why[0] = '\0';

	if (!strcmp(k, "registry"))
		return copy_str(c->registry, sizeof c->registry, v) < 0 || !*v ? -1 : 1;
	if (!strcmp(k, "nflog-group")) {
		if (!strcmp(v, "off") || !strcmp(v, "none")) {
			c->nflog_group = -1;
			return 1;
		}
		if (parse_u32(v, 65535, &u) < 0)
			return -1;
		c->nflog_group = (int)u;
		return 1;
	}
	if (!strcmp(k, "syslog-listen"))
		return copy_str(c->syslog_listen, sizeof c->syslog_listen, v) < 0 ? -1 : 1;
	if (!strcmp(k, "syslog-allowed-senders"))
		return parse_senders(c, v, why, whylen) < 0 ? -1 : 1;
	if (!strcmp(k, "syslog-rcvbuf")) {
		if (parse_size(v, &c->syslog_rcvbuf) < 0 || c->syslog_rcvbuf > (1u << 30)) {
			snprintf(why, whylen, "want a size up to 1G, e.g. 8M");
			return -1;
		}
		return 1;
	}
	if (!strcmp(k, "syslog-queue")) {
		if (parse_u32(v, P25_SYSLOG_QUEUE_MAX, &c->syslog_queue) < 0 || c->syslog_queue < 256) {
			snprintf(why, whylen, "want 256 to %u lines", P25_SYSLOG_QUEUE_MAX);
			return -1;
		}
		return 1;
	}
	if (!strcmp(k, "syslog-file"))
		return copy_str(c->syslog_file, sizeof c->syslog_file, v) < 0 ? -1 : 1;
	if (!strcmp(k, "flush-interval"))
		return parse_seconds(v, &c->flush_interval) < 0 || c->flush_interval == 0 ? -1 : 1;
	if (!strcmp(k, "new-host-flush-ms"))
		return parse_u32(v, 3600000, &c->new_host_flush) < 0 ? -1 : 1;
	if (!strcmp(k, "max-memory"))
		return parse_size(v, &c->max_memory) < 0 ? -1 : 1;
	if (!strcmp(k, "drop-privileges"))
		return p25_conf_bool(v, &c->drop_privileges) < 0 ? -1 : 1;
	if (!strcmp(k, "missed-max-destinations"))
		return parse_u32(v, UINT32_MAX, &t->missed_max_dests) < 0 ? -1 : 1;
	if (!strcmp(k, "missed-min-retries"))
		return parse_u32(v, P25_WATCH_IVS, &t->missed_min_retries) < 0 ||
			       t->missed_min_retries == 0
			   ? -1
			   : 1;
	if (!strcmp(k, "missed-min-interval"))
		return parse_seconds(v, &t->missed_min_interval) < 0 ? -1 : 1;
	if (!strcmp(k, "missed-min-span"))
		return parse_seconds(v, &t->missed_min_span) < 0 ? -1 : 1;
	if (!strcmp(k, "infected-min-destinations"))
		return parse_u32(v, UINT32_MAX, &t->infected_min_dests) < 0 ? -1 : 1;
	if (!strcmp(k, "infected-burst-per-minute"))
		return parse_u32(v, UINT32_MAX, &t->infected_burst) < 0 ? -1 : 1;
	if (!strcmp(k, "alert-quiet")) {
		/* "7d"; 0 or off: open alerts never resolve as quiet */
		if (!strcmp(v, "off")) {
			t->alert_quiet = 0;
			return 1;
		}
		return parse_seconds(v, &t->alert_quiet) < 0 ? -1 : 1;
	}
	return 0;
}

int p25_watch_config_set(struct p25_watch_config *c, const char *key, const char *value,
			 char *err, size_t errlen)
{
	char why[300];
	int rc = set_key(c, key, value, why, sizeof why);

	if (rc == 0)
		snprintf(err, errlen, "unknown setting '%s'", key);
	else if (rc < 0)
		snprintf(err, errlen, "%s: bad value '%s'%s%s", key, value, why[0] ? ": " : "", why);
	return rc > 0 ? 0 : -1;
}

int p25_watch_config_check(const struct p25_watch_config *c, char *err, size_t errlen)
{
	bool loopback;

	if (!c->syslog_listen[0])
		return 0;
	if (p25_syslog_listen_check(c->syslog_listen, &loopback, err, errlen) < 0)
		return -1;
	/* Loopback only by default: anything else would believe whoever reaches the port. */
	if (!loopback && c->nsyslog_senders == 0) {
		snprintf(err, errlen,
			 "syslog-listen %s is reachable from the network and UDP syslog is "
			 "unauthenticated: name the routers allowed to send, e.g. "
			 "syslog-allowed-senders = 192.0.2.1, 2001:db8::/64 "
			 "(--syslog-allowed-senders)",
			 c->syslog_listen);
		return -1;
	}
	return 0;
}

/* One entry of watch's section or of the top level, through the keys above. */
static int set_entry(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	char why[300] = "";
	int rc = set_key(ctx, e->key, e->value, why, sizeof why);

	if (rc < 0)
		snprintf(msg, msglen, "%s: bad value '%s'%s%s", e->key, e->value, why[0] ? ": " : "",
			 why);
	return rc;
}

int p25_watch_config_load(struct p25_watch_config *c, const char *path, bool required, char *err,
			  size_t errlen)
{
	char warn[512];
	int rc;

	err[0] = '\0';
	rc = p25_conf_read(path, required, "watch", P25_CONF_TOP_WARN, set_entry, c, err, errlen,
			       warn, sizeof warn);

	/* 1: loaded with a warning left in err. */
	if (rc == 1)
		snprintf(err, errlen, "%s", warn);
	return rc;
}
