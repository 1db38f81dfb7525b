/*
 * Evaluators of generated configurations: for each compile target, an
 * interpreter of the subset of its language that port25 emits, answering
 * what the device would do with one packet.  Anything they do not
 * understand is an error, never ignored, so output drifting from what was
 * tested fails loudly.
 */
#ifndef P25_EVAL_H
#define P25_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr/addr.h"

enum ev_result {
	EV_ACCEPT,
	EV_REJECT, /* TCP reset */
	EV_DROP,
	EV_DENY, /* blocked where the device does not tell reset from drop (IOS) */
};

struct ev_pkt {
	struct p25_addr src, dst;
	uint16_t dport;
	bool tcp;
};

/* ---- shared helpers (eval_common.c) ---- */

struct ev_lines {
	char **v;
	size_t n;
};
int ev_lines_split(const char *text, struct ev_lines *out);
void ev_lines_free(struct ev_lines *l);
/* Split in place on blanks; "double quoted" words keep their blanks, quotes dropped. */
size_t ev_tokens(char *line, char **tok, size_t max);
/* Strict "addr/len" (or a bare address as host, when allow_host). */
bool ev_prefix(const char *s, bool allow_host, struct p25_prefix *out);
char *ev_trim(char *s);

struct ev_set {
	char *name;
	int family; /* P25_INET, P25_INET6, or 0 when either */
	struct p25_prefix *v;
	bool *neg;
	char **val; /* optional per-element value */
	size_t n, cap;
};
struct ev_set *ev_set_new(const char *name, int family);
void ev_set_free(struct ev_set *s);
void ev_set_add(struct ev_set *s, const struct p25_prefix *p, bool neg, const char *val);
/* Any element containing a. */
ssize_t ev_set_find(const struct ev_set *s, const struct p25_addr *a);
/* pf semantics: the longest containing element decides; a negated one does not match. */
bool ev_set_longest_match(const struct ev_set *s, const struct p25_addr *a);

void ev_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- one evaluator per target ---- */

struct ev_nft;
struct ev_nft *ev_nft_load(const char *text, char *err, size_t errlen);
int ev_nft_packet(const struct ev_nft *e, const struct ev_pkt *p, char *err, size_t errlen);
void ev_nft_free(struct ev_nft *e);

struct ev_ipt;
/* parts as p25_compile gives them: ipset, rules.v4, rules.v6, hook */
struct ev_ipt *ev_ipt_load(const char *ipset, const char *rules4, const char *rules6,
			   const char *hook, char *err, size_t errlen);
int ev_ipt_packet(const struct ev_ipt *e, const struct ev_pkt *p, char *err, size_t errlen);
void ev_ipt_free(struct ev_ipt *e);

struct ev_ios;
struct ev_ios *ev_ios_load(const char *text, char *err, size_t errlen);
/* dir 0: outbound ACL (member-facing), 1: inbound ACL (upstream). */
int ev_ios_packet(const struct ev_ios *e, const struct ev_pkt *p, int dir, char *err,
		  size_t errlen);
void ev_ios_free(struct ev_ios *e);

struct ev_junos;
struct ev_junos *ev_junos_load(const char *text, char *err, size_t errlen);
int ev_junos_packet(const struct ev_junos *e, const struct ev_pkt *p, int dir, char *err,
		    size_t errlen);
void ev_junos_free(struct ev_junos *e);

struct ev_pf;
struct ev_pf *ev_pf_load(const char *text, char *err, size_t errlen);
int ev_pf_packet(const struct ev_pf *e, const struct ev_pkt *p, char *err, size_t errlen);
void ev_pf_free(struct ev_pf *e);

#endif
