/* The sources of attempts, for the daemon (and the tests that feed them). */
#ifndef P25_WATCH_SOURCES_H
#define P25_WATCH_SOURCES_H

#include <stdbool.h>
#include <stdint.h>

#include "watch/watch.h"

typedef void p25_attempt_fn(void *ctx, const struct p25_attempt *at);

struct p25_nflog_stats {
	uint64_t messages, attempts, foreign, malformed, overruns;
};

struct p25_nflog;
int p25_nflog_open(uint16_t group, p25_attempt_fn *fn, void *ctx, struct p25_nflog **out,
		   char *err, size_t errlen);
int p25_nflog_fd(const struct p25_nflog *n);
/* Handle what is queued without blocking; -1 on a socket error. */
int p25_nflog_read(struct p25_nflog *n);
const struct p25_nflog_stats *p25_nflog_stats(const struct p25_nflog *n);
void p25_nflog_close(struct p25_nflog *n);

struct p25_syslog_stats {
	uint64_t lines, attempts, ignored, malformed, overlong;
};

/*
 * Lines in, attempts out: a line buffer that survives partial reads, skips
 * overlong lines whole and counts what it could not use.
 */
struct p25_lines {
	char buf[2048];
	size_t len;
	bool discarding; /* inside an overlong line: drop up to its newline */
	p25_attempt_fn *fn;
	void *ctx;
	struct p25_syslog_stats *stats;
};

void p25_lines_init(struct p25_lines *l, p25_attempt_fn *fn, void *ctx,
		    struct p25_syslog_stats *stats);
/* Feed bytes; complete lines are parsed at now.  end: flush a last line without newline. */
void p25_lines_feed(struct p25_lines *l, const char *data, size_t len, p25_time now, bool end);

/* A syslog file: followed (tail -F, surviving rotation and truncation) or read once. */
struct p25_syslog_file;
int p25_syslog_file_open(const char *path, bool from_start, p25_attempt_fn *fn, void *ctx,
			 struct p25_syslog_file **out, char *err, size_t errlen);
/* Read what was appended; returns 1 at end of file, 0 when more may come, -1 on error. */
int p25_syslog_file_read(struct p25_syslog_file *f, p25_time now, bool once);
const struct p25_syslog_stats *p25_syslog_file_stats(const struct p25_syslog_file *f);
void p25_syslog_file_close(struct p25_syslog_file *f);

/*
 * A UDP syslog listener on "ADDR:PORT" or "[ADDR6]:PORT" that believes only
 * the allowed senders (none given: loopback only) and counts the others.
 */
struct p25_syslog_udp_opts {
	const char *listen;
	const struct p25_prefix *senders;
	size_t nsenders;
};

struct p25_syslog_udp_stats {
	struct p25_syslog_stats lines; /* what the allowed senders' datagrams held */
	uint64_t datagrams;	       /* from allowed senders */
	uint64_t denied;	       /* dropped unread: the sender is not allowed */
	struct p25_addr last_denied;   /* the latest such sender */
};

/* Whether "ADDR:PORT" is well formed, and on a loopback address. */
int p25_syslog_listen_check(const char *listen, bool *loopback, char *err, size_t errlen);
struct p25_syslog_udp;
int p25_syslog_udp_open(const struct p25_syslog_udp_opts *o, p25_attempt_fn *fn, void *ctx,
			struct p25_syslog_udp **out, char *err, size_t errlen);
int p25_syslog_udp_fd(const struct p25_syslog_udp *u);
/* The port bound (for a listener opened on port 0). */
uint16_t p25_syslog_udp_port(const struct p25_syslog_udp *u);
void p25_syslog_udp_read(struct p25_syslog_udp *u, p25_time now);
void p25_syslog_udp_stats(const struct p25_syslog_udp *u, struct p25_syslog_udp_stats *out);
void p25_syslog_udp_close(struct p25_syslog_udp *u);

#endif
