/*
 * The analyzer: which internal hosts speak SMTP, how, and what blocking
 * port 25 would do to them.
 *
 * TCP segments (from packet captures) and flow records (NetFlow/IPFIX) go
 * into one connection table keyed by the 4-tuple; a connection's handshake
 * outcome (established, reset, no answer) is settled when it ends, idles
 * out or the input ends.  Per internal host the analyzer keeps counters, a
 * bounded distinct-destination sketch, fan-out and burst counters keyed by
 * time, a sample of destinations with their attempts (to recognise MTA
 * queue retries) and hourly activity, all independent of the input's order; memory grows with
 * the number of hosts, not with the input.  Segments carrying SMTP are fed
 * to a per-connection dialogue parser whose state is bounded.
 *
 * After the input, p25_an_finish() classifies each host with a score and
 * reasons; the report functions render the result.
 */
#ifndef P25_ANALYZE_H
#define P25_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "addr/addr.h"
#include "capture/decode.h"
#include "flow/flow.h"
#include "model/model.h"
#include "util/time.h"

/* Thresholds of the classifier; see docs/analyzer.md. */
struct p25_an_config {
	/* Fan-out: distinct destinations within fanout_window seconds. */
	unsigned fanout_window;
	unsigned fanout_min;
	/* Share of outbound connections reset or unanswered, over at least failed_min_conns. */
	double failed_share;
	unsigned failed_min_conns;
	/* Burst: connections opened within one minute. */
	unsigned burst_per_minute;
	/* Share of 5xx among the replies to MAIL, RCPT and DATA, over at least reply_min of them. */
	double reject_share;
	unsigned reply_min;
	/* Distinct HELO names that mark a randomising engine. */
	unsigned helo_distinct_max;
	/* Uniform sizes: coefficient of variation below size_cv over at least size_min_msgs. */
	double size_cv;
	unsigned size_min_msgs;
	/* Steady volume: active on steady_days distinct days and steady_hours distinct hours. */
	unsigned steady_days;
	unsigned steady_hours;
	/* A retry to a destination whose last attempt failed, retry_min..retry_max s later. */
	unsigned retry_min;
	unsigned retry_max;
	unsigned retry_count;
	/*
	 * A failed attempt not retried within abandon_after s is abandoned; at
	 * least abandoned_min of them, and 80% of the failures, mark a sender
	 * without a queue.
	 */
	unsigned abandon_after;
	unsigned abandoned_min;
	/* Novelty: distinct destinations at least novel_share of the connections, over novel_min_conns. */
	double novel_share;
	unsigned novel_min_conns;
	/* Recipient fan-out within fanout_window: distinct recipient domains, RCPT TO commands. */
	unsigned rcpt_domains_min;
	unsigned rcpt_min;
	/*
	 * Verdict: server points at or above server_score win unless the bot
	 * points are more than twice as many; else bot points at or above
	 * bot_score make a bot.
	 */
	int server_score;
	int bot_score;
	/* Bounds of state. */
	unsigned conn_timeout; /* seconds of inactivity before a connection is settled */
	unsigned max_conns;    /* connections tracked at once */
	unsigned max_hosts;    /* internal hosts tracked */
};

void p25_an_config_default(struct p25_an_config *c);
/* Set one key (as in the config file) from text; -1 with err naming key and value. */
int p25_an_config_set(struct p25_an_config *c, const char *key, const char *value, char *err,
                      size_t errlen);
/* Read "key = value" lines ('#' comments); -1 with err naming file, line and problem. */
int p25_an_config_load(struct p25_an_config *c, const char *path, char *err, size_t errlen);
/* Names of every key, NULL-terminated, for documentation and help. */
extern const char *const p25_an_config_keys[];

enum p25_an_class {
	P25_AN_PERMITTED,
	P25_AN_SERVER, /* unregistered-server */
	P25_AN_BOT,    /* suspected-bot */
	P25_AN_CLIENT, /* client-only: submission ports only */
	P25_AN_UNKNOWN,
	P25_AN_INBOUND, /* inbound-server: receives port-25 mail, sends none */
};
const char *p25_an_class_name(enum p25_an_class c);

enum p25_an_outcome {
	P25_AN_ESTABLISHED,
	P25_AN_RESET,
	P25_AN_NOANSWER,
	P25_AN_NOUTCOMES,
};

/* Port 25 (or submission) traffic of a host in one role. */
struct p25_an_side {
	uint64_t conns;
	uint64_t outcome[P25_AN_NOUTCOMES];
	uint64_t bytes_sent, bytes_recv; /* from the host's point of view, IP bytes */
	uint64_t packets_sent, packets_recv;
	/*
	 * SYN packets (without ACK) from the client, retransmissions too: what
	 * packet tools count, kept so their counts can be checked against ours.
	 * From flows, the flows with SYN.
	 */
	uint64_t syn_packets;
};

#define P25_AN_HELO_KEEP  4
#define P25_AN_HELO_LEN   64
#define P25_AN_BANNER_LEN 96
#define P25_AN_REPLY_LEN  200

/*
 * Kinds of 4xx/5xx reply that name a DNS blocklist, weakest first.  The
 * text of a reply comes from the remote server (and may be the spammer's
 * own): printable ASCII, to be escaped by every report.
 */
enum p25_an_bl_kind {
	P25_AN_BL_NONE,
	P25_AN_BL_OTHER,  /* the host's address is not in it: another hop, or a NAT between */
	P25_AN_BL_RANGE,  /* a list of address ranges (end-user, dynamic, a whole network) */
	P25_AN_BL_LISTED, /* a list of hosts, naming the host's own address: a spam source */
};

/* What the SMTP dialogues of a host showed (port 25, the host as client). */
struct p25_an_smtp {
	uint64_t sessions;      /* connections where a dialogue was seen */
	uint64_t helo;          /* EHLO/HELO commands */
	uint64_t helo_bare_ip;  /* ... naming a bare IP address */
	uint64_t helo_mismatch; /* ... an address literal that is not the host's */
	char helo_names[P25_AN_HELO_KEEP][P25_AN_HELO_LEN];
	unsigned nhelo_names;      /* distinct names seen (beyond the kept ones too) */
	uint64_t starttls, tls_ok; /* STARTTLS sent / answered 220 */
	uint64_t mail_from, rcpt_to;
	uint64_t replies[6]; /* by first digit 0..5 (1xx..5xx; 0: malformed) */
	/* The replies to MAIL, RCPT, DATA and the end of data, by first digit. */
	uint64_t txn_replies[6];
	uint64_t messages;   /* DATA accepted with 250 after the dot */
	uint64_t msg_bytes;
	double msg_sumsq;        /* for the size variation */
	unsigned sender_domains; /* distinct MAIL FROM domains (exact up to 16, then 16+) */
	uint64_t sender_hash[16];
	/* The host's own greeting when it answered as a server. */
	char banner[P25_AN_BANNER_LEN];
	uint64_t gaps; /* stream gaps the parser resynchronised over */
	/* 4xx/5xx replies naming a DNS blocklist, by kind (index enum p25_an_bl_kind). */
	uint64_t bl_replies[4];
	uint32_t bl_lists;        /* lists named, bit i for p25_an_blocklist_name(i) */
	uint32_t bl_lists_listed; /* ... in the replies of kind P25_AN_BL_LISTED */
	uint8_t bl_kind;          /* kind of bl_reply */
	/* One such reply: of the strongest kind, then the least in byte order (any input order). */
	char bl_reply[P25_AN_REPLY_LEN];
};

#define P25_AN_RECENT      32
#define P25_AN_REASONS_LEN 512

/* Outbound port-25 tracking of a host (destinations, windows, retries): internal. */
struct p25_an_track;

/*
 * One internal host.  Only what every segment or connection updates is
 * kept inline, so that the table of thousands of hosts stays small enough
 * for the caches; the rest is allocated when a host first needs it.
 */
struct p25_an_host {
	struct p25_addr addr;
	ssize_t org;              /* model org index or -1 */
	ssize_t permit;           /* valid permit covering the host or -1 */
	bool block_out, block_in; /* would be blocked with enforcement on */
	struct p25_an_side out25, in25, sub;
	uint64_t first_ns, last_ns;
	uint32_t hour_of_day[24]; /* outbound port-25 connections by UTC hour */
	/* Outbound port-25 connections per hour since hour0 (bounded span). */
	int64_t hour0;
	uint32_t *hours;
	uint32_t nhours;
	unsigned fan_max;   /* most destinations within one fan-out window (an estimate) */
	unsigned burst_max; /* most connections opened within one minute */
	/* Most RCPT TO, and recipient domains (an estimate), within one fan-out window. */
	unsigned rcpt_max, rcpt_domains_max;
	uint64_t retries;   /* returns to a failed destination on a queue schedule */
	uint64_t abandoned; /* failed attempts never retried (in the sample of destinations) */
	unsigned days_active;  /* elapsed days from the first active hour to the last */
	unsigned hours_active; /* hours with outbound port-25 connections */
	struct p25_an_track *track; /* NULL until the first outbound port-25 connection */
	struct p25_an_smtp *smtp;   /* NULL until a dialogue is seen: read p25_an_host_smtp() */
	/* classification */
	enum p25_an_class cls;
	int bot_score, server_score; /* points of evidence */
	int score;                   /* bot likelihood 0..100, the same scale in every class */
	int confidence;              /* 0..100: how strongly the evidence supports the class */
	uint32_t flow_conns;         /* of its connections, those known from flow records */
	/*
	 * Connections it accepted on its POP3 and IMAP ports (SYN-ACKs: their
	 * handshake is all that is followed) and established ones to its
	 * submission ports: it serves users' mail.
	 */
	uint64_t mail_served;
	const char *reasons; /* "; "-separated, after p25_an_finish */
	/*
	 * The host listed first of the same server seen on the other address
	 * family (same organization, the same single HELO name), as an index
	 * into p25_an_hosts(), or -1: after p25_an_finish.
	 */
	ssize_t same_as;
};

/* The blocklist of bit i of bl_lists, NULL past the table (docs/analyzer.md). */
const char *p25_an_blocklist_name(unsigned i);

/* What the host's dialogues showed; all zero when none was seen.  Never NULL. */
const struct p25_an_smtp *p25_an_host_smtp(const struct p25_an_host *h);

struct p25_an_stats {
	struct p25_decode_stats decode;
	uint64_t segments;        /* TCP segments on SMTP ports */
	uint64_t flows;           /* flow records seen */
	uint64_t flows_used;      /* ... on SMTP ports, TCP */
	uint64_t flows_sampled;   /* ... of which sampled: bytes and packets scaled up */
	uint32_t sampling_max;    /* the largest 1-in-N rate among them */
	uint64_t conns;           /* connections settled */
	uint64_t conns_midstream; /* ... whose SYN was not seen */
	uint64_t conns_evicted;   /* settled early because the table was full */
	uint64_t orphans;         /* client-only segments without SYN: not counted */
	uint64_t hosts_dropped;   /* hosts beyond max_hosts */
	/*
	 * Internal hosts seen without a connection port-25 blocking would touch
	 * (only accepting 465/587, or only stray segments): not listed.
	 */
	uint64_t hosts_unlisted;
	uint64_t smtp_gaps;       /* reassembly gaps */
	uint64_t files, files_failed;
};

struct p25_analyzer;

/*
 * Internal space: the model's organization spaces (only org `org_handle`
 * when non-NULL) and the extra prefixes.  The model must outlive the
 * analyzer; it may be NULL (then no host is permitted and every internal
 * host would be blocked outbound).  now: when permits are judged.
 */
struct p25_analyzer *p25_an_new(const struct p25_an_config *cfg, const struct p25_model *model,
                                const char *org_handle, const struct p25_prefix *internal,
                                size_t ninternal, p25_time now, char *err, size_t errlen);
void p25_an_free(struct p25_analyzer *a);

/* The port filter captures need: 25, 465, 587, and 110, 143, 993, 995 (mailboxes). */
void p25_an_port_filter(struct p25_port_filter *f);

/* One decoded TCP segment (any port; non-SMTP ports are ignored). */
void p25_an_segment(struct p25_analyzer *a, const struct p25_tcp_segment *s);
/* Decode a packet and feed it; keeps decoder stats. */
void p25_an_packet(struct p25_analyzer *a, const struct p25_packet *p);
/* A batch of flow records, as p25_flow_cb. */
void p25_an_flows(void *analyzer, const struct p25_flow *f, size_t n);

/*
 * Read a whole capture file.  -1 on a damaged file: what was read counts, err says why.
 * With 2 threads (the default where there are two CPUs) decoding runs on a
 * thread of its own; the results are the same.
 */
int p25_an_read_capture(struct p25_analyzer *a, const char *path, char *err, size_t errlen);

/*
 * Read a capture of flow export packets (p25_flow_read_pcap()) into the
 * analyzer, decoding on a thread of its own when there are two; returns
 * what p25_flow_read_pcap() returns.
 */
long p25_an_read_flow_capture(struct p25_analyzer *a, struct p25_flow_decoder *dec,
			      const char *path, uint16_t port, char *err, size_t errlen);
void p25_an_set_threads(struct p25_analyzer *a, unsigned threads);
unsigned p25_an_default_threads(void);

/* Settle every connection and classify the hosts. */
void p25_an_finish(struct p25_analyzer *a);

/* Hosts in address order (after p25_an_finish). */
const struct p25_an_host *p25_an_hosts(const struct p25_analyzer *a, size_t *n);
struct p25_an_stats *p25_an_stats(struct p25_analyzer *a);
/*
 * Distinct destinations of the host's outbound port-25 connections: exact up
 * to 32, then an estimate (never above the connections made).
 */
uint64_t p25_an_distinct_dests(const struct p25_an_host *h);
bool p25_an_distinct_estimated(const struct p25_an_host *h);
size_t p25_an_memory(const struct p25_analyzer *a);

struct p25_an_summary {
	size_t hosts; /* internal hosts with any SMTP traffic */
	size_t send;  /* ... sending on port 25 */
	size_t permitted;
	size_t blocked; /* would be blocked (either direction) */
	size_t servers; /* ... that look like servers to register first */
	size_t bots;
	size_t clients;
	size_t inbound; /* inbound-server: only receive port-25 mail (blocked only in mode both) */
};
void p25_an_summarize(const struct p25_analyzer *a, struct p25_an_summary *s);
/* "N hosts send SMTP, M are permitted, K would be blocked, of which S look like servers ..." */
void p25_an_summary_line(const struct p25_an_summary *s, char *buf, size_t len);

/* The summary of one organization's hosts. */
struct p25_an_org_summary {
	ssize_t org; /* model index; -1 for hosts of the --internal prefixes */
	struct p25_an_summary s;
};
/*
 * The per-organization rollup: the --internal prefixes' hosts first, then
 * the model's organizations in order, each only when it has hosts.
 * *out is malloc'd (the caller frees it); returns how many, -1 when out of memory.
 */
long p25_an_summarize_orgs(const struct p25_analyzer *a, struct p25_an_org_summary **out);

/*
 * The security contact of organization `org` (a handle of the model), whom
 * the next step of a suspected bot names.  -1 when out of memory, 1 (and
 * nothing kept) when the handle is not the model's.
 */
int p25_an_set_security_contact(struct p25_analyzer *a, const char *org, const char *name,
                                const char *email);
/* The handle of the host's organization, NULL for the --internal prefixes'. */
const char *p25_an_host_org(const struct p25_analyzer *a, const struct p25_an_host *h);
/* The --suggest file the reports tell to import (NULL: none was written). */
int p25_an_set_suggest_file(struct p25_analyzer *a, const char *path);
/*
 * What to do next about a host, in words: "register it: port25 import FILE",
 * "tell the security contact NAME <EMAIL>", "nothing to do" and the like.
 * Registry values are in it unescaped: each report escapes it.
 */
#define P25_AN_STEP_LEN 400 /* enough for any next step, registry values included */
const char *p25_an_next_step(const struct p25_analyzer *a, const struct p25_an_host *h,
                             char *buf, size_t len);
/*
 * The hosts of the same server as host i (itself first, then the others of
 * the group in address order) into idx (up to max); returns how many.
 */
#define P25_AN_SAME_MAX 16 /* addresses of one server a report lists */
size_t p25_an_same_server(const struct p25_analyzer *a, size_t i, size_t *idx, size_t max);

/* Reports.  extra (may be NULL) is merged into the JSON document: input stats and the like. */
json_t *p25_an_host_json(const struct p25_analyzer *a, const struct p25_an_host *h);
json_t *p25_an_report_json(const struct p25_analyzer *a);
/*
 * The same document written as it goes, hosts one per line, without holding
 * it in memory: for large host counts.  extra's members (may be NULL) are
 * added before the hosts.  -1 on a write error.
 */
int p25_an_report_json_stream(const struct p25_analyzer *a, json_t *extra, FILE *out);
int p25_an_report_csv(const struct p25_analyzer *a, FILE *out);
/*
 * The text report's lines after the table and the summary: the input (packets,
 * segments, flow records, connections), the snap length and sampling notes,
 * and with fs (may be NULL) the flow decoder's statistics.
 */
void p25_an_report_text_stats(const struct p25_analyzer *a, const struct p25_flow_stats *fs,
                              FILE *out);
int p25_an_report_html(const struct p25_analyzer *a, const char *title, FILE *out);
/* The import file of `port25 import` for the unregistered servers; returns rows written. */
long p25_an_suggest_csv(const struct p25_analyzer *a, const char *requested_by, FILE *out);

/*
 * The SMTP dialogue parser, exposed for tests and fuzzing.  Bytes of each
 * direction are fed in order; a gap (lost or out-of-order data) makes the
 * parser drop the partial line and resynchronise at the next line end.
 */
struct p25_smtp;
struct p25_smtp *p25_smtp_new(void);
void p25_smtp_free(struct p25_smtp *s);
/* from_client: bytes the client sent, else the server. */
void p25_smtp_feed(struct p25_smtp *s, bool from_client, const uint8_t *p, size_t n);
void p25_smtp_gap(struct p25_smtp *s, bool from_client);
/*
 * The client's address, for the blocklist replies that name it; without
 * it every such reply is of kind P25_AN_BL_OTHER.
 */
void p25_smtp_set_client(struct p25_smtp *s, const struct p25_addr *client);
/* What was seen; the host's own address decides the HELO literal checks. */
const struct p25_an_smtp *p25_smtp_result(const struct p25_smtp *s);
bool p25_smtp_encrypted(const struct p25_smtp *s);

#endif
