/*
 * The blocked-attempt monitor: what `port25 watch` is made of.
 *
 *   sources   NFLOG (the kernel's log of SYNs port25's table rejected) and
 *             router ACL-deny syslog lines, each turned into p25_attempt
 *             records by pure parsers that never trust their input;
 *   agg       a fixed-size table of hosts, least recently active evicted,
 *             so a bot flood cannot grow the daemon's memory;
 *   alerts    "possible missed server" and "possible infected host", with
 *             the evidence that made the call;
 *   store     per-host summaries and alerts in the registry, written in one
 *             transaction per flush, never per packet, and read back at
 *             start so counts add up across restarts.
 */
#ifndef P25_WATCH_H
#define P25_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "addr/addr.h"
#include "registry/registry.h"
#include "util/time.h"

#define P25_WATCH_NFLOG_GROUP 25
#define P25_ORG_HANDLE_MAX    32

enum p25_watch_dir {
	P25_WDIR_UNKNOWN = 0,
	P25_WDIR_OUT = 1, /* the org's host is the source */
	P25_WDIR_IN = 2,  /* the org's host is the destination */
};

const char *p25_watch_dir_name(int dir);

/* One blocked connection attempt (or a router's summary of several packets of one). */
struct p25_attempt {
	p25_time t;
	struct p25_addr src, dst;
	uint16_t sport, dport;
	uint8_t dir;	  /* enum p25_watch_dir */
	uint32_t packets; /* >= 1 */
	char org[P25_ORG_HANDLE_MAX + 1]; /* "" when the source does not say */
};

/*
 * Parsers: pure functions of their input.  Each returns 1 and fills out for
 * a blocked TCP attempt, 0 for input that is not one (another message, a
 * permitted packet, not a SYN), -1 for input that claims to be one but is
 * malformed.  None reads past len or needs NUL termination.
 */

/*
 * A router ACL log line: Cisco IOS %SEC-6-IPACCESSLOGP and
 * %IPV6_ACL-6-ACCESSLOGP "denied tcp", Junos PFE_FW_SYSLOG_IP /
 * PFE_FW_SYSLOG_IP6_* and bare "FW:" lines with action D or R, Cisco
 * ASA/FTD 106023 "Deny tcp", 106001 (SYN without ACK) and 106100 "denied
 * tcp", IPv4 and IPv6; destination port 25 only.  The time is the line's
 * own (RFC 5424, ISO or BSD "Nov 23 10:00:00", the year inferred from now)
 * or now when it has none.  Direction and org are left unknown.
 */
int p25_syslog_parse(const char *line, size_t len, p25_time now, struct p25_attempt *out);

/* "port25 out acme " / "port25 in acme": the log prefix the nftables target writes. */
int p25_nflog_prefix_parse(const char *prefix, size_t len, uint8_t *dir, char *org);

/* An IPv4 or IPv6 packet from its IP header on: 1 for a TCP SYN without ACK. */
int p25_packet_decode(const uint8_t *pkt, size_t len, struct p25_attempt *out);

/* The aggregation of attempts per host (the org-side address and direction). */
#define P25_WATCH_DESTS 6 /* destinations tracked exactly per host */
#define P25_WATCH_IVS	6 /* last intervals kept per destination */
#define P25_WATCH_HLL	64

struct p25_dest {
	p25_u128 addr;
	p25_time last; /* the last new connection attempt */
	uint32_t attempts;
	uint32_t iv[P25_WATCH_IVS]; /* seconds between attempts, oldest first */
	uint16_t last_sport;
	uint8_t family;
	uint8_t niv;
};

enum {
	P25_HOST_LOADED = 1 << 0, /* state came from the registry at start */
	P25_HOST_DIRTY = 1 << 1,  /* changed since the last flush */
	P25_HOST_NEW = 1 << 2,	  /* never flushed: a first sighting */
};

struct p25_host {
	struct p25_addr addr;
	uint8_t dir;
	uint8_t flags;
	uint8_t ndests;
	bool dests_overflow; /* more destinations than fit: count from the sketch */
	uint16_t org;	     /* index into the org table, 0 unknown */
	uint32_t peak_minute; /* 32 bits: a flood passes 65,535 attempts a minute */
	uint32_t hash_next, lru_prev, lru_next;
	uint64_t attempts, packets;	/* totals, including what was loaded */
	uint32_t d_attempts, d_packets; /* not yet flushed */
	uint32_t active_hours;
	p25_time first, last;
	int64_t minute_at, hour_at; /* the minute and hour of the newest bucket */
	uint32_t minutes[60];	    /* attempts per minute, ring */
	uint32_t hours[24];	    /* attempts per hour, ring */
	uint8_t hll[P25_WATCH_HLL];
	struct p25_dest dests[P25_WATCH_DESTS];
};

/* What an evicted host had not flushed yet, kept until the next flush. */
struct p25_spill {
	struct p25_addr addr;
	uint8_t dir;
	uint16_t org;
	uint32_t d_attempts, d_packets;
	uint32_t destinations;
	p25_time first, last;
};

/*
 * Attempts of an org's hosts counted since the last flush, per UTC day of
 * the attempt (seconds / 86400) and direction: what the flush adds to the
 * org's daily counts, whatever becomes of the hosts (evicted or not).
 */
struct p25_day_count {
	int64_t day;
	uint32_t attempts;
	uint16_t org;
	uint8_t dir;
};

struct p25_agg_stats {
	/*
	 * The day table full (flushes come long before): days_moved, attempts
	 * counted on another day of their org; days_lost, on none.
	 */
	uint64_t records, attempts, packets, evictions, spilled, lost, days_moved, days_lost;
};

struct p25_agg;

/* Everything is allocated here, within max_memory bytes; recording never allocates. */
struct p25_agg *p25_agg_new(size_t max_memory, char *err, size_t errlen);
void p25_agg_free(struct p25_agg *a);
size_t p25_agg_capacity(const struct p25_agg *a);
size_t p25_agg_memory(const struct p25_agg *a);
size_t p25_agg_count(const struct p25_agg *a);
const struct p25_agg_stats *p25_agg_stats(const struct p25_agg *a);
/* The org table: handles by index (0 is ""). */
const char *p25_agg_org(const struct p25_agg *a, uint16_t idx);
uint16_t p25_agg_org_intern(struct p25_agg *a, const char *handle);

/* Returns the host the attempt was counted on (never NULL for a valid attempt). */
struct p25_host *p25_agg_record(struct p25_agg *a, const struct p25_attempt *at);
struct p25_host *p25_agg_find(struct p25_agg *a, const struct p25_addr *addr, uint8_t dir);
/* A fresh entry (evicting when full), for loading saved state. */
struct p25_host *p25_agg_insert(struct p25_agg *a, const struct p25_addr *addr, uint8_t dir);
/* Hosts, most recently active first; NULL at the end.  i starts at 0. */
struct p25_host *p25_agg_next(struct p25_agg *a, size_t *cursor);
/* Spilled records of evicted hosts; cleared after a flush. */
const struct p25_spill *p25_agg_spill(const struct p25_agg *a, size_t *n);
void p25_agg_spill_clear(struct p25_agg *a);
/* The day counts not yet flushed; cleared after a flush. */
const struct p25_day_count *p25_agg_days(const struct p25_agg *a, size_t *n);
void p25_agg_days_clear(struct p25_agg *a);
/* True when evictions filled the spill area, or days the day table: flush soon. */
bool p25_agg_flush_wanted(const struct p25_agg *a);

/* Distinct destinations: exact while they fit, else the sketch's estimate. */
uint32_t p25_host_destinations(const struct p25_host *h, bool *approx);

/* Alerts. */
enum p25_alert_kind {
	P25_ALERT_NONE = 0,
	P25_ALERT_MISSED_SERVER,
	P25_ALERT_INFECTED,
};

const char *p25_alert_kind_name(int kind);
int p25_alert_kind_parse(const char *s, int *kind);

struct p25_thresholds {
	/* missed server: a few destinations retried on an MTA queue schedule */
	uint32_t missed_max_dests;    /* at most this many distinct destinations */
	uint32_t missed_min_retries;  /* retries of one destination (attempts - 1) */
	uint32_t missed_min_interval; /* seconds; faster retries are no queue */
	uint32_t missed_min_span;     /* seconds between first and last attempt */
	/* infected host: fan-out or bursts */
	uint32_t infected_min_dests;
	uint32_t infected_burst; /* attempts within one minute */
	/* an open alert resolves as quiet after this many seconds without an attempt; 0 never */
	uint32_t alert_quiet;
};

void p25_thresholds_default(struct p25_thresholds *t);

/* The alert a host deserves now, and its evidence (a new object) when one. */
int p25_host_classify(const struct p25_agg *a, const struct p25_host *h,
		      const struct p25_thresholds *t, json_t **evidence);

/* Persistence in the registry (schema v2: host_summary, alert; v3: alerts resolve). */
struct p25_flush_result {
	size_t hosts, spilled, alerts_raised, alerts_updated;
	size_t alerts_permitted, alerts_quiet; /* resolved, by reason */
};

/* Load up to the table's capacity of summaries, most recently active first. */
int p25_watch_load(struct p25_registry *reg, struct p25_agg *a, size_t *loaded);
/*
 * Write every dirty host, the spill and the alerts they raise, and resolve
 * the alerts that ended (p25_alert_expire), in one transaction.
 */
int p25_watch_flush(struct p25_registry *reg, struct p25_agg *a, const struct p25_thresholds *t,
		    p25_time now, struct p25_flush_result *res);

struct p25_alert_filter {
	int kind;	 /* 0: all */
	const char *org; /* NULL: all */
	const char *status; /* NULL: all */
	/* NULL: every alert; else only those of the orgs in scope (registry.h) */
	const struct p25_scope *scope;
};
int p25_alert_list(struct p25_registry *reg, const struct p25_alert_filter *f, json_t **out);
int p25_alert_show(struct p25_registry *reg, int64_t id, json_t **out);
/* Outside the scope, as one that does not exist. */
int p25_alert_show_in(struct p25_registry *reg, int64_t id, const struct p25_scope *scope,
		      json_t **out);
/* A missed-server alert becomes a submitted add-permit request for its host. */
int p25_alert_draft(struct p25_registry *reg, const struct p25_actor *who, int64_t id,
		    int64_t *request_id);
int p25_alert_dismiss(struct p25_registry *reg, const struct p25_actor *who, int64_t id);
/*
 * Alerts end: every open or drafted alert whose host a valid permit covers
 * at who->now resolves as "permitted"; every other open alert whose host has
 * had no blocked attempt (and no evidence update) for quiet seconds resolves
 * as "quiet" (quiet 0: never).  Dismissed alerts are left alone.  One
 * transaction, audited; resolved, when not NULL, lists what was resolved.
 */
int p25_alert_expire(struct p25_registry *reg, const struct p25_actor *who, uint32_t quiet,
		     size_t *permitted, size_t *quieted, json_t **resolved);
int p25_host_summary_list(struct p25_registry *reg, const char *org, int limit, json_t **out);
int p25_host_summary_list_in(struct p25_registry *reg, const char *org, int limit,
			     const struct p25_scope *scope, json_t **out);

/* The daemon. */
#define P25_WATCH_SENDERS_MAX 64

struct p25_watch_config {
	char registry[512];
	int nflog_group; /* -1: no NFLOG source */
	char syslog_listen[128];
	/*
	 * Who may send syslog datagrams: plain UDP syslog is unauthenticated, so
	 * a line is believed only from these routers' addresses or prefixes.
	 * None configured: loopback only (and a listener on another address is
	 * refused by p25_watch_config_check).
	 */
	struct p25_prefix syslog_senders[P25_WATCH_SENDERS_MAX];
	size_t nsyslog_senders;
	size_t syslog_rcvbuf; /* the socket's receive buffer, bytes */
	uint32_t syslog_queue; /* attempts queued between intake and the aggregator */
	char syslog_file[512];
	bool once;	 /* read syslog_file to its end, flush and exit */
	bool from_start; /* follow syslog_file from its beginning, not its end */
	uint32_t flush_interval;
	uint32_t new_host_flush; /* a first sighting is written within this many seconds; 0 off */
	size_t max_memory;
	bool drop_privileges;
	struct p25_thresholds thresholds;
};

void p25_watch_config_default(struct p25_watch_config *c);
/* One "key = value" setting, as in the file; err names the key and the problem. */
int p25_watch_config_set(struct p25_watch_config *c, const char *key, const char *value,
			 char *err, size_t errlen);
/*
 * The [watch] section of a port25.conf and watch's keys at its top level
 * (util/conf.h).  A missing file is an error only when required.  Returns
 * 0, 1 when loaded with a warning in err (a top-level key that is not
 * watch's), or -1 with "PATH:LINE: ..." in err.
 */
int p25_watch_config_load(struct p25_watch_config *c, const char *path, bool required,
			  char *err, size_t errlen);

/* Settings that are valid one by one but not together; err says which and why. */
int p25_watch_config_check(const struct p25_watch_config *c, char *err, size_t errlen);

/* Runs until SIGTERM or SIGINT (or the end of the file with once); 0 on a clean stop. */
int p25_watch_run(const struct p25_watch_config *c, const char *actor, char *err, size_t errlen);

#endif
