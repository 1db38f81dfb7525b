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
 * Its socket is read by an intake thread of its own, which parses and
 * queues attempts in a bounded ring; the thread that calls
 * p25_syslog_udp_read gets them through fn.  Everything but the ring's
 * consumer side and the statistics belongs to intake once started.
 */
#define P25_SYSLOG_QUEUE_DEFAULT 131072	   /* attempts, 64 bytes each */
#define P25_SYSLOG_QUEUE_MAX	 (1u << 22)
#define P25_SYSLOG_RCVBUF_DEFAULT (8u << 20)

struct p25_syslog_udp_opts {
	const char *listen;
	const struct p25_prefix *senders;
	size_t nsenders;
	size_t rcvbuf; /* socket receive buffer, bytes; 0: the system's default */
	size_t queue;  /* attempts the ring holds (a power of two is used); 0: the default */
};

struct p25_syslog_udp_stats {
	struct p25_syslog_stats lines; /* what the allowed senders' datagrams held */
	uint64_t datagrams;	       /* from allowed senders */
	uint64_t denied;	       /* dropped unread: the sender is not allowed */
	uint64_t kernel_drops;	       /* dropped by the kernel: the receive buffer was full */
	uint64_t queue_full;	       /* times intake waited for room in the ring */
	uint64_t queue_lost;	       /* attempts given up at an abrupt close */
	uint64_t errors;	       /* socket errors */
	struct p25_addr last_denied;   /* the latest sender not allowed */
};

/* Whether "ADDR:PORT" is well formed, and on a loopback address. */
int p25_syslog_listen_check(const char *listen, bool *loopback, char *err, size_t errlen);
struct p25_syslog_udp;
int p25_syslog_udp_open(const struct p25_syslog_udp_opts *o, p25_attempt_fn *fn, void *ctx,
			struct p25_syslog_udp **out, char *err, size_t errlen);
/*
 * Starts intake.  A thread keeps the capabilities it was created with: start
 * it after the daemon has dropped them.
 */
int p25_syslog_udp_start(struct p25_syslog_udp *u, char *err, size_t errlen);
/* Readable when attempts are queued, after p25_syslog_udp_arm returned true. */
int p25_syslog_udp_fd(const struct p25_syslog_udp *u);
/* Before blocking on the fd: false when attempts are already queued (do not block). */
bool p25_syslog_udp_arm(struct p25_syslog_udp *u);
/* Hands up to max queued attempts to fn; returns how many. */
size_t p25_syslog_udp_read(struct p25_syslog_udp *u, size_t max);
/* Stops intake after it read what the socket holds, handing every queued attempt to fn. */
void p25_syslog_udp_stop(struct p25_syslog_udp *u);
void p25_syslog_udp_stats(struct p25_syslog_udp *u, struct p25_syslog_udp_stats *out);
/* The receive buffer granted (bytes), the ring's size (attempts), the bound port. */
size_t p25_syslog_udp_rcvbuf(const struct p25_syslog_udp *u);
size_t p25_syslog_udp_queue(const struct p25_syslog_udp *u);
uint16_t p25_syslog_udp_port(const struct p25_syslog_udp *u);
/* Without p25_syslog_udp_stop first, attempts still queued are dropped. */
void p25_syslog_udp_close(struct p25_syslog_udp *u);

#endif
