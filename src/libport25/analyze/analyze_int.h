/* Inside the analyzer: state shared by its source files. */
#ifndef P25_ANALYZE_INT_H
#define P25_ANALYZE_INT_H

#include "analyze/analyze.h"
#include "policy/policy.h"

/* Seconds per hour bucket span kept per host: 62 days. */
#define P25_AN_MAX_HOURS (24 * 62)
/* Linear-counting bitmap of distinct destinations, in 64-bit words. */
#define P25_AN_DEST_WORDS 256

struct an_conn;

/* Linear-counting bitmap of the destinations of one fan-out half-window, in 64-bit words. */
#define P25_AN_WIN_WORDS 4
/* Attempts kept per destination for the retry schedule: the earliest ones. */
#define P25_AN_TRIES 4

/*
 * A half fan-out window of a host: connections opened and their
 * destinations; RCPT TO commands of their dialogues and the recipients' domains.
 */
struct an_win {
	int64_t idx; /* start second / half window */
	uint32_t conns;
	uint32_t rcpts;
	uint64_t bits[P25_AN_WIN_WORDS];
	uint64_t rbits[P25_AN_WIN_WORDS];
};

/* Connections a host opened in one minute. */
struct an_minute {
	int32_t minute; /* start second / 60 */
	uint32_t conns;
};

/*
 * Outbound port-25 tracking of a host.  Records arrive in any order (flows
 * are exported when they end, files are given in any order), so every
 * structure here ends in the same state for any order of the same
 * connections: sets and counters keyed by time, never "the current window"
 * or "the last attempt".  The maxima are taken in p25_an_finish().
 */
struct p25_an_track {
	/* distinct destinations of port-25 connections */
	uint64_t dest_exact[32];
	unsigned ndest_exact;
	uint64_t *dest_bits; /* linear-counting bitmap once past the exact set */
	/* fan-out: half-windows sorted by idx; burst: minutes sorted */
	struct an_win *win;
	uint32_t nwin, capwin;
	struct an_minute *min;
	uint32_t nmin, capmin;
	/* Most hosts open connections in a few periods only: no allocation for those. */
	struct an_win win_inline[2];
	struct an_minute min_inline[4];
	/*
	 * Queue retries: the attempts to the P25_AN_RECENT destinations of
	 * smallest hash (a sample that does not depend on order), each with
	 * its earliest P25_AN_TRIES attempts sorted by (time, failed).
	 */
	uint64_t rdest[P25_AN_RECENT];
	uint32_t rtime[P25_AN_RECENT][P25_AN_TRIES]; /* seconds */
	uint8_t rn[P25_AN_RECENT], rfail[P25_AN_RECENT];
	unsigned nrdest;
	unsigned rworst; /* the slot of the largest hash kept, once the sample is full */
	int64_t last_start; /* the latest connection's start, seconds */
};

/* Blocks of text that stay where they are: the hosts' reasons point into them. */
struct an_text_block {
	struct an_text_block *next;
	size_t used, cap;
	char text[];
};

struct p25_analyzer {
	struct p25_an_config cfg;
	const struct p25_model *model;
	/*
	 * Internal space and permits when a model is given, built as if every
	 * organization's enrollment were active: its verdicts are then what
	 * blocking would do, which is the question the analyzer answers.
	 * Consulted once per new host, never per packet.
	 */
	struct p25_policy *policy;
	struct p25_model active; /* the model with every enrollment active (own orgs array) */
	ssize_t org;             /* --org restriction, model index, or -1 */
	struct p25_prefix *internal;
	size_t ninternal;
	p25_time now;

	struct p25_an_host *hosts;
	size_t nhosts, hosts_cap;
	/*
	 * Open addressing: host index + 1 (0 empty) with 32 bits of the
	 * address's hash, so a probe compares tags and touches a host record
	 * (kilobytes, scattered) only on a probable match.
	 */
	struct an_hslot {
		uint32_t tag, idx1;
	} * hidx;
	size_t hidx_cap;

	struct an_conn *conns;
	size_t conns_cap;
	uint32_t *cbucket; /* chain heads: conn index + 1 */
	size_t cbucket_cap;
	uint32_t cfree;              /* free list head + 1: settled connections */
	size_t conns_used;           /* entries ever used; those past it were never touched */
	uint32_t lru_head, lru_tail; /* + 1; head is the least recently active */
	size_t nconns;
	uint64_t clock_ns; /* latest time seen */
	uint64_t last_sweep_ns;

	struct an_text_block *texts;
	unsigned threads; /* for reading capture files: 2 puts decoding on its own thread */

	struct p25_port_filter filter;
	struct p25_an_stats stats;
	/* Per model org: its security contact (NULL: none given), for the next steps. */
	char **sec_name, **sec_email;
	char *suggest; /* the --suggest file, or NULL */
	/* Per host: the next host of its same-server group, or -1 (p25_an_group_servers). */
	ssize_t *same_next;
	bool finished;
	bool draining; /* p25_an_finish settles everything: no hash unlinking */
};

static inline bool p25_an_smtp_port(uint16_t p)
{
	return p == 25 || p == 465 || p == 587;
}

/* POP3, IMAP and their TLS ports: a host serving them keeps its users' mailboxes. */
static inline bool p25_an_mailbox_port(uint16_t p)
{
	return p == 110 || p == 143 || p == 993 || p == 995;
}

/*
 * Ports whose connections the analyzer follows: SMTP, submission, mailboxes.
 * A bit table: orientation asks this three times a segment, mostly of an
 * ephemeral port, where seven comparisons all fail.
 */
static inline bool p25_an_service_port(uint16_t p)
{
#define P25_AN_BIT(n) (1ULL << ((n) & 63))
	static const uint64_t bits[16] = {
	    [25 / 64] = P25_AN_BIT(25),
	    [110 / 64] = P25_AN_BIT(110),
	    [143 / 64] = P25_AN_BIT(143),
	    [465 / 64] = P25_AN_BIT(465),
	    [587 / 64] = P25_AN_BIT(587),
	    [993 / 64] = P25_AN_BIT(993) | P25_AN_BIT(995),
	};
#undef P25_AN_BIT
	return p < 1024 && (bits[p >> 6] >> (p & 63) & 1);
}

/* A TCP exchange seen from its SMTP side. */
struct an_ends {
	const struct p25_addr *cli, *srv;
	uint16_t cport, sport;
	bool from_client; /* src is the client */
};

/* Orient src:sp -> dst:dp by its service port; false when neither port is one. */
static inline bool p25_an_orient(const struct p25_addr *src, const struct p25_addr *dst,
				 uint16_t sp, uint16_t dp, struct an_ends *e)
{
	if (p25_an_service_port(dp))
		*e = (struct an_ends){src, dst, sp, dp, true};
	else if (p25_an_service_port(sp))
		*e = (struct an_ends){dst, src, dp, sp, false};
	else
		return false;
	return true;
}

/* A flow record the analyzer counts: TCP, both addresses, a service port. */
static inline bool p25_an_flow_wanted(const struct p25_flow *f)
{
	return f->protocol == 6 && f->src.family && f->dst.family &&
	       (p25_an_service_port(f->dport) || p25_an_service_port(f->sport));
}

/* Segments known in advance (a block), with the loads of later ones issued early. */
void p25_an_segments(struct p25_analyzer *a, const struct p25_tcp_segment *segs, size_t n);
/* Load ahead the table entries a later segment will need (stage 0, then 1). */
void p25_an_prefetch(const struct p25_analyzer *a, const struct p25_tcp_segment *s, int stage);
uint64_t p25_an_hash_text(const char *p, size_t n);
/* The blocklists a reply line names (bits of p25_an_blocklist_name()); *range: of ranges. */
uint32_t p25_an_blocklist_match(const char *line, uint32_t *range);
/* Whether text names the address (IPv4 also reversed, as in a DNSBL query name). */
bool p25_an_text_names_addr(const char *s, size_t n, const struct p25_addr *a);
/* Keep text of kind in the host's reply when it is stronger, or as strong and less. */
void p25_an_bl_keep(struct p25_an_smtp *r, uint8_t kind, const char *text);
/* The session's recipient domains, P25_AN_WIN_WORDS words (p25_an_domain_bit()). */
const uint64_t *p25_smtp_rcpt_bits(const struct p25_smtp *s);
unsigned p25_an_domain_bit(uint64_t h);
void p25_an_add_domain(struct p25_an_smtp *r, uint64_t h);
/* The 0..100 bot likelihood of bot and server points. */
int p25_an_likelihood(const struct p25_an_config *cfg, int bot, int srv);
/* Class, scores and reasons (written to reasons, of P25_AN_REASONS_LEN bytes). */
void p25_an_classify(const struct p25_an_config *cfg, struct p25_an_host *h, char *reasons);

/* Link the hosts of one server seen on both families (same_as): nextstep.c. */
void p25_an_group_servers(struct p25_analyzer *a);

#endif
