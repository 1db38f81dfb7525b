/*
 * The nftables ruleset as data: what `compile --target nftables` prints and
 * what `enforce` loads through netlink are built from this one plan, so the
 * text and the kernel's table can never disagree.  Names of the table's
 * objects are made here too, for the same reason.
 *
 * The table (inet port25):
 *   set permit_hosts_v4/v6        hash sets of every enforced org's host permits
 *                                 (/32, /128: most of them; O(1) to change)
 *   set permit_v4, permit_v6      interval sets of its wider permitted prefixes
 *   map out_v4/v6, in_v4/v6       interval verdict maps: org space -> jump to its chain
 *   chain out_<org>, in_<org>     permitted: count SYNs, return; else count and
 *                                 log SYNs (NFLOG), then reject or drop
 *   counter <chain>_permit/_block connection attempts (SYN without ACK)
 *   chain smtp                    the four vmap lookups
 *   chain forward                 hook forward: tcp dport 25 jump smtp
 */
#ifndef P25_COMPILE_NFTABLES_H
#define P25_COMPILE_NFTABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr/addr.h"
#include "model/model.h"

#define P25_NFT_TABLE "port25"
#define P25_NFLOG_GROUP 25
/* Longest object name we make: "out_" + 32-character handle + "_permit". */
#define P25_NFT_NAMELEN 64

struct p25_nft_org {
	const char *handle; /* borrowed from the model */
	enum p25_action action;
	bool inbound; /* mode both: also an in_ chain */
};

struct p25_nft_elem {
	struct p25_prefix p;
	size_t org; /* index into plan.orgs */
};

/* Slots: family 0 IPv4, 1 IPv6; direction 0 out, 1 in. */
struct p25_nft_plan {
	struct p25_nft_org *orgs; /* sorted by handle */
	size_t norgs;
	struct p25_prefix *permit[2]; /* prefixes wider than a host */
	size_t npermit[2];
	struct p25_prefix *hosts[2]; /* host permits */
	size_t nhosts[2];
	struct p25_nft_elem *map[2][2]; /* [direction][family] */
	size_t nmap[2][2];
	unsigned nflog_group; /* 0: no logging */
};

void p25_nft_plan_free(struct p25_nft_plan *p);

static inline const char *p25_nft_dir(int dir)
{
	return dir == 0 ? "out" : "in";
}

static inline const char *p25_nft_fam(int fam)
{
	return fam == 0 ? "v4" : "v6";
}

/* The org's chain in a direction, e.g. "out_acme". */
static inline void p25_nft_chain_name(char *buf, size_t len, int dir, const char *handle)
{
	snprintf(buf, len, "%s_%s", p25_nft_dir(dir), handle);
}

/* Its counters of permitted and blocked connection attempts, e.g. "out_acme_block". */
static inline void p25_nft_counter_name(char *buf, size_t len, int dir, const char *handle,
					bool block)
{
	snprintf(buf, len, "%s_%s_%s", p25_nft_dir(dir), handle, block ? "block" : "permit");
}

/* The NFLOG prefix of its blocked attempts: "port25 out acme " (the watch daemon parses it). */
static inline void p25_nft_log_prefix(char *buf, size_t len, int dir, const char *handle)
{
	snprintf(buf, len, "port25 %s %s ", p25_nft_dir(dir), handle);
}

/*
 * The comment on the chain's last rule: everything its rules depend on, so
 * that `enforce sync` can tell a chain that must be rewritten.
 */
static inline void p25_nft_chain_sig(char *buf, size_t len, int dir,
				     const struct p25_nft_org *o, unsigned nflog_group)
{
	/* "r2": the rule layout, so chains loaded by an older port25 are rewritten */
	snprintf(buf, len, "port25 %s %s %s log %u r2", p25_nft_dir(dir), o->handle,
		 p25_action_name(o->action), nflog_group);
}

#endif
