/*
 * What the files of enforce share: enforce.c (the public operations),
 * netlink.c (the transport), build.c (the objects sent), readback.c (the
 * table read back), diff.c (two states compared) and state.c (the cache of
 * what was loaded, and the targeted delta of one permit change).
 */
#ifndef P25_ENFORCE_INT_H
#define P25_ENFORCE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libmnl/libmnl.h>

#include "addr/addr.h"
#include "compile/nftables.h"

#define NSETS 8
#define CHAIN_LEN 40 /* "out_" + 32-character handle, NUL, room */
#define SIG_LEN 96

/* Set slots, as build.c's set_names: 0/1 permit_v4/v6 (intervals), 6/7 permit_hosts_v4/v6. */
#define SET_PERMIT(fam) (fam)
#define SET_HOSTS(fam) (6 + (fam))

struct range {
	p25_u128 lo, hi;
	char chain[CHAIN_LEN]; /* maps: the jump target */
};

struct rlist {
	struct range *v;
	size_t n, cap;
};

struct chain_st {
	char name[CHAIN_LEN];
	char sig[SIG_LEN]; /* "" for chains we did not make */
	int dir;
	const struct p25_nft_org *org; /* desired state only */
};

struct st {
	bool table;
	uint64_t handle; /* the kernel's handle of the table (loaded state only) */
	bool base; /* chains smtp and forward present */
	int nbase;
	char comment[128];
	struct rlist sets[NSETS];
	struct chain_st *chains;
	size_t nchains, chains_cap;
};

int rl_push(struct rlist *l, const struct range *r);
void st_free(struct st *s);
struct chain_st *st_add_chain(struct st *s);
int range_cmp(const void *a, const void *b);
int chain_cmp(const void *a, const void *b);
p25_u128 fam_top(int fam);
p25_u128 fam_unit(int fam);

/*
 * The permitted blocks of family fam (both permit sets, merged, sorted)
 * that intersect [lo, hi], appended to out.
 */
typedef int (*enf_view_fn)(void *ctx, int fam, p25_u128 lo, p25_u128 hi, struct rlist *out);

/*
 * The element changes one permit change makes to the permit sets of its
 * family, computed from the change and the loaded blocks around it: p is the
 * permit's prefix, cover what of p is still permitted afterwards (p itself
 * for a permit coming into force; the org's other valid permits overlapping
 * p for one leaving).  Because the sets hold the fewest CIDR blocks (what
 * compile's aggregation makes), a change can merge with or split its
 * neighbours: the region considered grows from p until neither the old nor
 * the new state covers it whole, and inside it the blocks are recomputed.
 * del and ins get blocks (lo == hi: the hosts set; else the interval set).
 */
int enf_permit_delta(int fam, const struct p25_prefix *p, const struct p25_prefix *cover,
		     size_t ncover, enf_view_fn view, void *ctx, struct rlist *del,
		     struct rlist *ins);

/* ---- netlink: a growable batch, sent in one sendmsg so it is one transaction (netlink.c) ---- */

struct nl {
	struct mnl_socket *sock;
	unsigned portid;
	uint32_t seq;
	char *buf;
	size_t len, cap;
	size_t msgs;
	size_t last; /* offset of the last message, which asks for the ack */
	char (*what)[112]; /* per message, what it does: named when the kernel refuses it */
	size_t what_cap;
	uint32_t first_seq;
	char *err;
	size_t errlen;
};

/* Set n->err to fmt with arg and strerror(errno); returns -1. */
int nl_fail(struct nl *n, const char *fmt, const char *arg);
/* Open and bind the netfilter netlink socket; errors go to err from then on. */
int nl_open(struct nl *n, char *err, size_t errlen);
/* Close the socket and free the batch. */
void nl_close(struct nl *n);
/* Account message h, just built, to the batch, with what it does for error reports. */
void nl_done(struct nl *n, struct nlmsghdr *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The header of a new message at the end of the batch; NULL when out of memory. */
struct nlmsghdr *nl_msg(struct nl *n, uint16_t type, uint16_t flags);
/* Start an empty batch. */
void nl_begin(struct nl *n);
/* Send the batch and read its acks; -1 with n->err set if the kernel refused it. */
int nl_commit(struct nl *n);
/* One request (a dump, or a get of the table or generation), replies through cb. */
int enf_dump(struct nl *n, uint16_t type, const char *set, mnl_cb_t cb, void *data);
/* The ruleset generation of this namespace (NFT_MSG_GETGEN). */
int get_genid(struct nl *n, uint32_t *genid);

/* ---- building objects (build.c) ---- */

/* The kernel's names of the set slots. */
extern const char *const set_names[NSETS];
/* The family of set slot s: 0 IPv4, 1 IPv6. */
int set_fam(int s);
/* Whether set slot s holds intervals (else single addresses, a hash set). */
bool set_interval(int s);
/* The desired state of a compile plan. */
int st_from_plan(const struct p25_nft_plan *p, struct st *s);
/* Append a table message (create or delete), with comment as its userdata. */
int put_table(struct nl *n, uint16_t type, uint16_t flags, const char *comment);
/* Append the messages adding (or, del, removing) cnt ranges of set slot s. */
int put_elems(struct nl *n, int s, const struct range *v, size_t cnt, bool del);
/* Append a chain message (create or delete); base: the forward hook chain. */
int put_chain(struct nl *n, uint16_t type, const char *name, bool base);
/* Append a named counter message (create or delete). */
int put_counter(struct nl *n, uint16_t type, const char *name);
/* Append the rules of org chain c, as nftables.c prints them. */
int put_org_rules(struct nl *n, const struct chain_st *c, unsigned nflog_group);
/* Append org chain c whole: its counters, the chain, its rules. */
int put_org_chain(struct nl *n, const struct chain_st *c, unsigned nflog_group);
/* Append the whole table of state want, replacing whatever table is loaded. */
int build_full(struct nl *n, const struct st *want, unsigned nflog_group, const char *comment);

/* ---- reading the kernel's table back (readback.c) ---- */

/* The packet counts of the org counters, for status. */
struct ctr {
	json_t *orgs; /* object: org -> {out_permit, out_block, in_permit, in_block} */
};

/* enf_dump callback of NFT_MSG_GETTABLE: s->table, handle and comment. */
int table_cb(const struct nlmsghdr *h, void *data);
/* The loaded state.  No table: s->table false and 0 returned. */
int st_from_kernel(struct nl *n, struct st *s);
/* enf_dump callback of NFT_MSG_GETOBJ: each counter into a struct ctr. */
int obj_cb(const struct nlmsghdr *h, void *data);

/* ---- the difference between two states (diff.c) ---- */

struct diff {
	struct rlist add[NSETS], del[NSETS];
	const struct chain_st **cadd, **crewrite; /* desired chains */
	const struct chain_st **cdel;		  /* loaded chains */
	size_t ncadd, ncrewrite, ncdel;
};

/* The hash of a state: equal states, loaded or desired, hash alike. */
void st_hash(const struct st *s, char out[17]);
/* Free what diff_states allocated. */
void diff_free(struct diff *d);
/* What turns have into want: elements to add and remove, chains to add, rewrite, remove. */
int diff_states(const struct st *want, const struct st *have, struct diff *d);
/* The number of ranges in all the sets of s. */
size_t st_intervals(const struct st *s);
/*
 * What a diff would change, as an operator reads it (a dry run): one object
 * per change, {"change": "add"|"remove"|"rewrite", "what": "permit" |
 * "blocked outbound" | "blocked inbound" | "organization", "org", "address"}.
 * The org of an address is the one whose space holds it (want's for what is
 * added, have's for what is removed).  NULL when out of memory.
 */
json_t *diff_describe(const struct diff *d, const struct st *want, const struct st *have);

/* ---- the cache of the loaded state (state.c) ---- */

struct enf_cache; /* an open, locked cache file, mapped */

/* The lock of dir's enforcers in this namespace; nests within one process. */
int enf_lock(const char *dir, char *err, size_t errlen);
void enf_unlock(void);

/*
 * Open (creating the directory) and lock dir's cache for this network
 * namespace.  NULL with err set when the directory cannot be used; a missing
 * or unreadable file is not an error: enf_cache_valid() then says false.
 */
struct enf_cache *enf_cache_open(const char *dir, char *err, size_t errlen);
void enf_cache_close(struct enf_cache *c);
/*
 * The cache holds a state loaded at ruleset generation *genid, in this
 * namespace (inode and cookie), into the table with handle
 * enf_cache_table_handle(): trust it only while the kernel's generation and
 * its table's handle are still those.
 */
bool enf_cache_valid(const struct enf_cache *c, uint32_t *genid);
uint64_t enf_cache_table_handle(const struct enf_cache *c);
/* Whether targeted updates have been journalled since the snapshot. */
bool enf_cache_journal(const struct enf_cache *c);
uint64_t enf_cache_generation(const struct enf_cache *c);
/* Whether the cached state holds chain name (an enforced org's chain). */
bool enf_cache_has_chain(const struct enf_cache *c, const char *name);
/* The whole cached state, journal applied. */
int enf_cache_load(const struct enf_cache *c, struct st *s);
/* A view (enf_view_fn) of the cached permit sets, with pending changes overlaid. */
struct enf_overlay {
	const struct enf_cache *c;
	struct rlist add[NSETS], del[NSETS];
};
int enf_overlay_view(void *ctx, int fam, p25_u128 lo, p25_u128 hi, struct rlist *out);
int enf_overlay_put(struct enf_overlay *ov, int set, const struct range *r, bool add);
void enf_overlay_free(struct enf_overlay *ov);
/*
 * Replace the cache with state s, loaded at genid into the table with handle
 * table_handle (written to a temporary file, renamed).
 */
int enf_cache_store(struct enf_cache *c, const struct st *s, uint32_t genid, uint64_t table_handle,
		    uint64_t generation, const char *hash);
/* Append the overlay's changes, committed at genid, to the journal. */
int enf_cache_append(struct enf_cache *c, const struct enf_overlay *ov, uint32_t genid);
/* Forget the cache: the next sync reads the kernel back. */
void enf_cache_forget(struct enf_cache *c);

#endif
