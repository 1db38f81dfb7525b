/*
 * enforce: table inet port25 through netlink.  The desired state (from the
 * compile plan) and the loaded state (read back from the kernel) share one
 * representation, `struct st`: eight lists of address ranges (the two permit
 * sets, the two permit host sets and four verdict maps) and the org chains
 * with their signatures.  apply sends the desired state whole; sync and
 * status diff the two.
 *
 * Ranges are held as inclusive [lo, hi] in the left-aligned 128-bit form of
 * addr.h, so an interval reaching the top of the address space needs no
 * special end.  The kernel holds an interval as a start element and an
 * exclusive end element flagged NFT_SET_ELEM_INTERVAL_END (none when the
 * interval runs to the top).
 *
 * This file holds the public operations (apply, sync, update, status, flush,
 * lock) and their use of the cache of the loaded state (state.c); the
 * transport is netlink.c, the objects sent build.c, the table read back
 * readback.c, and the comparison of two states diff.c.
 */
#include "enforce/enforce.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "compile/compile.h"
#include "enforce/enforce_int.h"

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint64_t comment_gen(const char *comment)
{
	unsigned long long g = 0;

	if (sscanf(comment, "port25 generation %llu", &g) != 1)
		return 0;
	return g;
}

static int plan_of(const struct p25_model *m, const struct p25_enforce_opts *o,
		   struct p25_nft_plan *plan, char *err, size_t errlen)
{
	struct p25_compile_opts co = {.now = o->now, .nflog_group = o->nflog_group,
				      .nft_plan = plan};
	struct p25_compile_output out;

	memset(plan, 0, sizeof *plan);
	if (p25_compile(m, P25_TARGET_NFTABLES, &co, &out, err, errlen) < 0)
		return -1;
	p25_compile_output_free(&out);
	return 0;
}

/* The cache of what was loaded, when the caller keeps one; a note when it cannot be used. */
static struct enf_cache *cache_open(const struct p25_enforce_opts *o, struct p25_enforce_result *res)
{
	char err[300];
	struct enf_cache *c;

	if (!o->state_dir || o->dry_run)
		return NULL;
	c = enf_cache_open(o->state_dir, err, sizeof err);
	if (!c)
		snprintf(res->note, sizeof res->note, "no cache of the loaded state: %.250s", err);
	return c;
}

/*
 * Whether the cache is the kernel's state: nothing has committed since it was
 * written (the ruleset generation is the one it recorded) and the table it
 * describes is there, the very one (its handle).  The generation alone is not
 * enough: a namespace created where a deleted one was can count up to the
 * same generation without any table.  1 trusted; 0 not, with why in note.
 */
static int cache_trusted(struct nl *n, const struct enf_cache *c, uint32_t g0, char *note,
			 size_t len)
{
	struct st t;
	uint32_t gc;

	if (!enf_cache_valid(c, &gc)) {
		snprintf(note, len, "no cache of the loaded state");
		return 0;
	}
	if (gc != g0) {
		snprintf(note, len,
			 "the ruleset changed since the cache was written (generation %u, cached %u)",
			 g0, gc);
		return 0;
	}
	memset(&t, 0, sizeof t);
	if (enf_dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &t) < 0) {
		if (errno != ENOENT)
			return nl_fail(n, "reading table inet port25%s: %s", "");
		snprintf(note, len, "the cache describes a table inet port25 the kernel does not have");
		return 0;
	}
	if (t.handle == 0 || t.handle != enf_cache_table_handle(c)) {
		snprintf(note, len,
			 "table inet port25 is not the one cached (handle %llu, cached %llu)",
			 (unsigned long long)t.handle,
			 (unsigned long long)enf_cache_table_handle(c));
		return 0;
	}
	return 1;
}

/*
 * After a commit: the cache becomes `now` when our commit was the only one
 * since g0 (the generation moved by exactly one), else it is forgotten.
 */
static void cache_after(struct nl *n, struct enf_cache *c, const struct st *now, uint32_t g0,
			uint64_t generation, const char *hash, struct p25_enforce_result *res)
{
	struct st t;
	uint32_t g1;

	if (!c)
		return;
	memset(&t, 0, sizeof t);
	if (get_genid(n, &g1) < 0 || g1 != g0 + 1 ||
	    enf_dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &t) < 0 ||
	    enf_cache_store(c, now, g1, t.handle, generation, hash) < 0) {
		enf_cache_forget(c);
		snprintf(res->note, sizeof res->note,
			 "another commit ran alongside (ruleset generation %u, then %u): the next "
			 "sync reads the kernel back", g0, g1);
	}
}

/* A dry run of a whole load: what it would change against what the kernel holds. */
static int describe_against_kernel(struct nl *n, const struct st *want,
				   struct p25_enforce_result *res)
{
	struct st have;
	struct diff d;
	int rc = 0;

	memset(&have, 0, sizeof have);
	memset(&d, 0, sizeof d);
	if (st_from_kernel(n, &have) < 0) {
		st_free(&have);
		return -1;
	}
	if (diff_states(want, &have, &d) < 0 || !(res->changes = diff_describe(&d, want, &have))) {
		snprintf(n->err, n->errlen, "out of memory");
		rc = -1;
	}
	diff_free(&d);
	st_free(&have);
	return rc;
}

static int apply_state(struct nl *n, const struct st *want, unsigned nflog_group,
		       const struct p25_enforce_opts *o, struct p25_enforce_result *res,
		       struct enf_cache *cache)
{
	struct st have;
	struct timespec t0;
	char comment[128];
	uint64_t gen;
	uint32_t g0 = 0;

	/* Only the table's comment is needed: the generation to count on from. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&have, 0, sizeof have);
	if (enf_dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &have) < 0 && errno != ENOENT)
		return nl_fail(n, "reading table inet port25%s: %s", "");
	gen = comment_gen(have.comment) + 1;
	st_free(&have);
	res->read_ms = ms_since(&t0);
	st_hash(want, res->hash);
	snprintf(comment, sizeof comment, "port25 generation %llu at %lld hash %s",
		 (unsigned long long)gen, (long long)o->now, res->hash);
	res->generation = gen;
	res->full = true;
	res->intervals = res->added = st_intervals(want);
	res->chains_added = want->nchains;
	/* before the batch: nl_commit expects the batch's sequence numbers to be the last used */
	if (cache && !o->dry_run && get_genid(n, &g0) < 0)
		return -1;
	nl_begin(n);
	if (build_full(n, want, nflog_group, comment) < 0) {
		snprintf(n->err, n->errlen, "out of memory building the transaction");
		return -1;
	}
	res->messages = n->msgs;
	res->bytes = n->len;
	if (o->dry_run)
		return describe_against_kernel(n, want, res);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (nl_commit(n) < 0) {
		enf_cache_forget(cache);
		return -1;
	}
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	cache_after(n, cache, want, g0, gen, res->hash, res);
	return 0;
}

int p25_enforce_apply_plan(const struct p25_nft_plan *plan, const struct p25_enforce_opts *o,
			   struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct enf_cache *cache;
	struct st want;
	struct nl n;
	int rc;

	memset(res, 0, sizeof *res);
	if (st_from_plan(plan, &want) < 0) {
		st_free(&want);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (nl_open(&n, err, errlen) < 0) {
		st_free(&want);
		return -1;
	}
	cache = cache_open(o, res);
	rc = apply_state(&n, &want, plan->nflog_group, o, res, cache);
	enf_cache_close(cache);
	nl_close(&n);
	st_free(&want);
	return rc;
}

int p25_enforce_apply(const struct p25_model *m, const struct p25_enforce_opts *o,
		      struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct timespec t0;
	double cms;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	cms = ms_since(&t0);
	rc = p25_enforce_apply_plan(&plan, o, res, err, errlen);
	res->compile_ms = cms;
	p25_nft_plan_free(&plan);
	return rc;
}

int p25_enforce_sync(const struct p25_model *m, const struct p25_enforce_opts *o,
		     struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct st want, have;
	struct diff d;
	struct nl n;
	struct timespec t0;
	struct enf_cache *cache = NULL;
	char name[P25_NFT_NAMELEN], why[300] = "";
	uint32_t g0 = 0;
	int rc = -1, trusted;

	memset(res, 0, sizeof *res);
	memset(&have, 0, sizeof have);
	memset(&want, 0, sizeof want);
	memset(&d, 0, sizeof d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	if (st_from_plan(&plan, &want) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_plan;
	}
	res->compile_ms = ms_since(&t0);
	if (nl_open(&n, err, errlen) < 0)
		goto out_plan;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cache = cache_open(o, res);
	if (get_genid(&n, &g0) < 0)
		goto out;
	trusted = cache ? cache_trusted(&n, cache, g0, why, sizeof why) : 0;
	if (trusted < 0)
		goto out;
	if (trusted && enf_cache_load(cache, &have) == 0) {
		res->cached = true;
	} else {
		if (cache && !res->note[0])
			snprintf(res->note, sizeof res->note, "%.280s: read back", why);
		st_free(&have);
		if (st_from_kernel(&n, &have) < 0)
			goto out;
	}
	res->read_ms = ms_since(&t0);
	/* Nothing of ours to patch: load it whole. */
	if (!have.table || !have.base) {
		rc = apply_state(&n, &want, plan.nflog_group, o, res, cache);
		goto out;
	}
	res->generation = comment_gen(have.comment);
	st_hash(&want, res->hash);
	res->intervals = st_intervals(&want);
	if (diff_states(&want, &have, &d) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nl_begin(&n);
	bool ok = true;
	/* New chains first: the map elements added below jump to them. */
	for (size_t i = 0; i < d.ncadd && ok; i++)
		ok = put_org_chain(&n, d.cadd[i], plan.nflog_group) == 0;
	for (size_t i = 0; i < d.ncrewrite && ok; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *h = nl_msg(&n, NFT_MSG_DELRULE, 0);
		ok = r && h;
		if (ok) {
			nftnl_rule_set_str(r, NFTNL_RULE_TABLE, P25_NFT_TABLE);
			nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, d.crewrite[i]->name);
			nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
			nftnl_rule_nlmsg_build_payload(h, r);
			nl_done(&n, h, "flushing chain %s", d.crewrite[i]->name);
			/* counters may be missing if the chain was made by hand: add them idempotently */
			ok = put_org_rules(&n, d.crewrite[i], plan.nflog_group) == 0;
		}
		nftnl_rule_free(r);
	}
	for (int s = 0; s < NSETS && ok; s++) {
		ok = put_elems(&n, s, d.del[s].v, d.del[s].n, true) == 0;
		res->removed += d.del[s].n;
	}
	for (int s = 0; s < NSETS && ok; s++) {
		ok = put_elems(&n, s, d.add[s].v, d.add[s].n, false) == 0;
		res->added += d.add[s].n;
	}
	/* Chains no longer wanted go after the elements that jumped to them. */
	for (size_t i = 0; i < d.ncdel && ok; i++) {
		const char *cn = d.cdel[i]->name;
		ok = put_chain(&n, NFT_MSG_DELCHAIN, cn, false) == 0;
		if (ok && d.cdel[i]->sig[0]) {
			snprintf(name, sizeof name, "%s_permit", cn);
			ok = put_counter(&n, NFT_MSG_DELOBJ, name) == 0;
			snprintf(name, sizeof name, "%s_block", cn);
			ok = ok && put_counter(&n, NFT_MSG_DELOBJ, name) == 0;
		}
	}
	if (!ok) {
		snprintf(err, errlen, "out of memory building the transaction");
		goto out;
	}
	res->chains_added = d.ncadd;
	res->chains_rewritten = d.ncrewrite;
	res->chains_removed = d.ncdel;
	res->messages = n.msgs;
	res->bytes = n.len;
	if (o->dry_run) {
		res->changes = diff_describe(&d, &want, &have);
		rc = res->changes ? 0 : -1;
		if (rc < 0)
			snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (n.msgs == 0) {
		/* in sync: what was read back is now the cache (a compacted journal too) */
		if (cache && (!res->cached || enf_cache_journal(cache)) &&
		    enf_cache_store(cache, &want, g0, have.handle, res->generation, res->hash) < 0)
			enf_cache_forget(cache);
		rc = 0;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = nl_commit(&n);
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	if (rc < 0)
		enf_cache_forget(cache);
	else
		cache_after(&n, cache, &want, g0, res->generation, res->hash, res);
out:
	enf_cache_close(cache);
	nl_close(&n);
out_plan:
	diff_free(&d);
	st_free(&have);
	st_free(&want);
	p25_nft_plan_free(&plan);
	return rc;
}

int p25_enforce_update(const struct p25_enforce_change *ch, size_t nch,
		       const struct p25_enforce_opts *o, struct p25_enforce_result *res, char *err,
		       size_t errlen)
{
	struct enf_overlay ov;
	struct enf_cache *cache;
	struct rlist del = {0}, ins = {0};
	struct timespec t0;
	struct nl n;
	uint32_t g0 = 0, g1 = 0;
	int rc = -1;

	memset(res, 0, sizeof *res);
	memset(&ov, 0, sizeof ov);
	if (!o->state_dir) {
		snprintf(res->note, sizeof res->note, "no state directory for the cache");
		return 1;
	}
	if (nl_open(&n, err, errlen) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!(cache = enf_cache_open(o->state_dir, res->note, sizeof res->note))) {
		rc = 1;
		goto out;
	}
	if (get_genid(&n, &g0) < 0)
		goto out;
	if ((rc = cache_trusted(&n, cache, g0, res->note, sizeof res->note)) <= 0) {
		rc = rc < 0 ? -1 : 1;
		goto out;
	}
	rc = -1;
	ov.c = cache;
	res->cached = true;
	res->generation = enf_cache_generation(cache);
	for (size_t i = 0; i < nch; i++) {
		char chain[CHAIN_LEN];
		int fam = ch[i].prefix.family == P25_INET ? 0 : 1;
		/* an org that is not enforced has nothing loaded: no change */
		p25_nft_chain_name(chain, sizeof chain, 0, ch[i].org);
		if (!enf_cache_has_chain(cache, chain))
			continue;
		del.n = ins.n = 0;
		if (enf_permit_delta(fam, &ch[i].prefix, ch[i].cover, ch[i].ncover, enf_overlay_view,
				     &ov, &del, &ins) < 0)
			goto oom;
		for (size_t k = 0; k < del.n; k++)
			if (enf_overlay_put(&ov, del.v[k].lo == del.v[k].hi ? SET_HOSTS(fam)
									     : SET_PERMIT(fam),
					    &del.v[k], false) < 0)
				goto oom;
		for (size_t k = 0; k < ins.n; k++)
			if (enf_overlay_put(&ov, ins.v[k].lo == ins.v[k].hi ? SET_HOSTS(fam)
									     : SET_PERMIT(fam),
					    &ins.v[k], true) < 0)
				goto oom;
	}
	res->read_ms = ms_since(&t0);
	nl_begin(&n);
	for (int s = 0; s < NSETS; s++) {
		if (put_elems(&n, s, ov.del[s].v, ov.del[s].n, true) < 0)
			goto oom;
		res->removed += ov.del[s].n;
	}
	for (int s = 0; s < NSETS; s++) {
		if (put_elems(&n, s, ov.add[s].v, ov.add[s].n, false) < 0)
			goto oom;
		res->added += ov.add[s].n;
	}
	res->messages = n.msgs;
	res->bytes = n.len;
	if (o->dry_run || n.msgs == 0) {
		rc = 0;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (nl_commit(&n) < 0) {
		/* the kernel holds something else than the cache says: start over from it */
		enf_cache_forget(cache);
		snprintf(res->note, sizeof res->note, "%.300s", err);
		rc = 1;
		goto out;
	}
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	rc = 0;
	if (get_genid(&n, &g1) < 0 || g1 != g0 + 1 || enf_cache_append(cache, &ov, g1) < 0) {
		enf_cache_forget(cache);
		snprintf(res->note, sizeof res->note,
			 "another commit ran alongside (ruleset generation %u, then %u): the next "
			 "sync reads the kernel back", g0, g1);
	}
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
	rc = -1;
out:
	free(del.v);
	free(ins.v);
	enf_overlay_free(&ov);
	enf_cache_close(cache);
	nl_close(&n);
	return rc;
}

int p25_enforce_lock(const struct p25_enforce_opts *o, char *err, size_t errlen)
{
	return o->state_dir ? enf_lock(o->state_dir, err, errlen) : 0;
}

void p25_enforce_unlock(const struct p25_enforce_opts *o)
{
	if (o->state_dir)
		enf_unlock();
}

int p25_enforce_flush(bool *existed, char *err, size_t errlen)
{
	struct st have;
	struct nl n;
	int rc;

	*existed = false;
	if (nl_open(&n, err, errlen) < 0)
		return -1;
	memset(&have, 0, sizeof have);
	rc = enf_dump(&n, NFT_MSG_GETTABLE, NULL, table_cb, &have);
	*existed = rc >= 0;
	if (rc < 0 && errno != ENOENT) {
		nl_fail(&n, "reading table inet port25%s: %s", "");
		nl_close(&n);
		return -1;
	}
	nl_begin(&n);
	/* create-if-missing then delete: idempotent, and only our table */
	rc = put_table(&n, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL) < 0 ||
			     put_table(&n, NFT_MSG_DELTABLE, 0, NULL) < 0
		     ? -1
		     : nl_commit(&n);
	nl_close(&n);
	return rc;
}

int p25_enforce_status(const struct p25_model *m, const struct p25_enforce_opts *o,
		       json_t **out, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct st want, have;
	struct diff d;
	struct nl n;
	struct ctr c = {NULL};
	char hw[17], hh[17];
	uint32_t genid = 0;
	int rc = -1;

	*out = NULL;
	memset(&want, 0, sizeof want);
	memset(&have, 0, sizeof have);
	memset(&d, 0, sizeof d);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	if (st_from_plan(&plan, &want) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_plan;
	}
	if (nl_open(&n, err, errlen) < 0)
		goto out_plan;
	if (get_genid(&n, &genid) < 0 || st_from_kernel(&n, &have) < 0)
		goto out;
	if (diff_states(&want, &have, &d) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	st_hash(&want, hw);
	st_hash(&have, hh);
	json_t *j = json_object();
	json_object_set_new(j, "table", json_string("inet " P25_NFT_TABLE));
	json_object_set_new(j, "loaded", json_boolean(have.table));
	/* what the cache of the loaded state is checked against, for diagnosis */
	json_object_set_new(j, "ruleset_generation", json_integer((json_int_t)genid));
	if (have.table) {
		json_object_set_new(j, "table_handle", json_integer((json_int_t)have.handle));
		unsigned long long g = 0;
		long long at = 0;
		char when[40] = "";
		if (sscanf(have.comment, "port25 generation %llu at %lld", &g, &at) == 2)
			p25_time_format(at, when, sizeof when);
		json_object_set_new(j, "generation", json_integer((json_int_t)g));
		json_object_set_new(j, "applied_for", json_string(when));
		json_object_set_new(j, "hash_loaded", json_string(hh));
	}
	json_object_set_new(j, "hash_registry", json_string(hw));
	size_t add = 0, del = 0;
	json_t *sets = json_object();
	for (int s = 0; s < NSETS; s++) {
		json_t *e = json_object();
		json_object_set_new(e, "loaded", json_integer((json_int_t)have.sets[s].n));
		json_object_set_new(e, "registry", json_integer((json_int_t)want.sets[s].n));
		json_object_set_new(e, "to_add", json_integer((json_int_t)d.add[s].n));
		json_object_set_new(e, "to_remove", json_integer((json_int_t)d.del[s].n));
		json_object_set_new(sets, set_names[s], e);
		add += d.add[s].n;
		del += d.del[s].n;
	}
	json_object_set_new(j, "sets", sets);
	json_object_set_new(j, "chains_loaded", json_integer((json_int_t)have.nchains));
	json_object_set_new(j, "chains_registry", json_integer((json_int_t)want.nchains));
	json_object_set_new(j, "intervals_to_add", json_integer((json_int_t)add));
	json_object_set_new(j, "intervals_to_remove", json_integer((json_int_t)del));
	json_object_set_new(j, "chains_to_add", json_integer((json_int_t)d.ncadd));
	json_object_set_new(j, "chains_to_rewrite", json_integer((json_int_t)d.ncrewrite));
	json_object_set_new(j, "chains_to_remove", json_integer((json_int_t)d.ncdel));
	bool matches = have.table && have.base && strcmp(hw, hh) == 0;
	json_object_set_new(j, "matches_registry", json_boolean(matches));
	json_object_set_new(j, "state", json_string(!have.table ? "not_loaded"
						    : matches	 ? "in_sync"
								 : "differs"));
	c.orgs = json_object();
	if (have.table && enf_dump(&n, NFT_MSG_GETOBJ, NULL, obj_cb, &c) < 0) {
		nl_fail(&n, "reading the counters of inet port25%s: %s", "");
		json_decref(c.orgs);
		json_decref(j);
		goto out;
	}
	json_object_set_new(j, "counters", c.orgs);
	*out = j;
	rc = 0;
out:
	nl_close(&n);
out_plan:
	diff_free(&d);
	st_free(&have);
	st_free(&want);
	p25_nft_plan_free(&plan);
	return rc;
}
