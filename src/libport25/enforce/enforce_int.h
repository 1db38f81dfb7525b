/*
 * What enforce.c (netlink) and state.c (the cache of what was loaded, and
 * the targeted delta of one permit change) share.
 */
#ifndef P25_ENFORCE_INT_H
#define P25_ENFORCE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr/addr.h"
#include "compile/nftables.h"

#define NSETS 8
#define CHAIN_LEN 40 /* "out_" + 32-character handle, NUL, room */
#define SIG_LEN 96

/* Set slots, as enforce.c's set_names: 0/1 permit_v4/v6 (intervals), 6/7 permit_hosts_v4/v6. */
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
