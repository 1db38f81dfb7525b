/*
 * What the target compilers share: the model reduced to enforced
 * organizations, their aggregated space and permits, and the blocked classes
 * (direction x action x family) that address-based targets match on.
 */
#ifndef P25_COMPILE_PRIV_H
#define P25_COMPILE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "compile/compile.h"
#include "util/buf.h"

/* Family slots: 0 IPv4, 1 IPv6. */
#define CP_V4 0
#define CP_V6 1
#define CP_FAMILIES 2
/* Directions: the internal host is the source (out) or the destination (in). */
#define CP_OUT 0
#define CP_IN 1

struct cp_vec {
	struct p25_prefix *v;
	size_t n, cap;
};

struct cp_org {
	const struct p25_org *o;
	struct cp_vec space[CP_FAMILIES];  /* aggregated */
	struct cp_vec permit[CP_FAMILIES]; /* valid at opts->now, aggregated */
	size_t nspaces, npermits;	   /* model rows, for comments */
};

/* A temporary permit in the output, for the comment next to the entry holding it. */
struct cp_temp {
	struct p25_prefix p;
	const struct p25_permit *permit;
	const char *org;
};

struct cp {
	const struct p25_model *m;
	const struct p25_compile_opts *opts;
	bool aggregate;
	struct cp_org *orgs; /* enforced only, sorted by handle */
	size_t norgs;
	struct cp_vec permit[CP_FAMILIES]; /* every enforced org's valid permits */
	/* [direction][action][family]: space of enforced orgs blocked in that direction */
	struct cp_vec space[2][2][CP_FAMILIES];
	/* the permits of the organizations in each class, inside that class's space */
	struct cp_vec class_permit[2][2][CP_FAMILIES];
	size_t entries;
	const char *hash; /* comment leader: "#", "!", or NULL for C-style */
	char err[200];	  /* why a target refused, when it did (else: out of memory) */
	/* the temporary permits of the enforced orgs, valid now, sorted by prefix */
	struct cp_temp *temps;
	size_t ntemps;
	p25_time valid_until; /* see p25_compile_output */
	const char *valid_why;
	const char *tag; /* --org: its handle, for the names of IOS and Junos lists */
};

static inline int cp_fam(int family)
{
	return family == P25_INET ? CP_V4 : CP_V6;
}

static inline bool cp_org_inbound(const struct cp_org *co)
{
	return co->o->mode == P25_MODE_BOTH;
}

/* A comment line with the header every target starts with. */
void cp_comment(struct cp *c, struct p25_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void cp_header(struct cp *c, struct p25_buf *b, const char *what, const char *load);
/* One line per enforced org describing it, inert. */
void cp_org_summary(struct cp *c, struct p25_buf *b, const struct cp_org *co);
/*
 * The note of each temporary permit inside entry: fmt (one %s, the text
 * "temporary ADDRESS (org H) until T: DESCRIPTION", inert, at most max
 * characters) appended once per permit.  Entries are visited in order, so
 * the search starts where the previous one ended.
 */
void cp_temp_notes(struct cp *c, struct p25_buf *b, const struct p25_prefix *entry,
		   const char *fmt, size_t max);
/* Inert copy of free text, at most 60 characters. */
char *cp_inert(const char *in, char *out, size_t outlen);
char *cp_pfx(const struct p25_prefix *p, char *buf);
char *cp_addr(const struct p25_prefix *p, char *buf);

int cp_add_part(struct p25_compile_output *out, const char *name, const char *hint,
		struct p25_buf *b);

int cp_nftables(struct cp *c, struct p25_compile_output *out);
int cp_iptables(struct cp *c, struct p25_compile_output *out);
int cp_cisco_ios(struct cp *c, struct p25_compile_output *out);
int cp_junos(struct cp *c, struct p25_compile_output *out);
int cp_pf(struct cp *c, struct p25_compile_output *out);

#endif
