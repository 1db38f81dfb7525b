/*
 * Enforcement on a Linux gateway: the registry's policy loaded into the
 * kernel as table inet port25, and nothing else touched.
 *
 * apply replaces the whole table in one netlink transaction built directly
 * with libnftnl (no ruleset text is parsed): table, counters, sets, maps,
 * chains, rules and every element commit together or not at all, so a
 * failed apply leaves the previous policy in force.
 *
 * sync compares what the kernel holds with what the registry says now and
 * sends only the difference (set and map elements; org chains added,
 * rewritten or removed) in one transaction: a permit approved, removed or
 * expired, an org activated or suspended, takes effect without a reload.
 * Run it after each registry change and at p25_policy_next_expiry (a
 * systemd timer or the watch daemon), so expired permits leave the kernel.
 */
#ifndef P25_ENFORCE_H
#define P25_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "compile/nftables.h"
#include "model/model.h"
#include "util/time.h"

struct p25_enforce_opts {
	p25_time now;	 /* permits expired at this time are left out */
	int nflog_group; /* as p25_compile_opts: 0 the default 25, negative none */
	bool dry_run;	 /* compute and build everything, send nothing */
	/*
	 * Where the cache of the loaded state lives (one file per network
	 * namespace; /run/port25 for the CLI).  NULL: no cache, sync reads the
	 * kernel back each time and p25_enforce_update always declines.
	 */
	const char *state_dir;
};

struct p25_enforce_result {
	uint64_t generation; /* of the table's last full apply */
	char hash[17];	     /* of the ruleset now loaded (or that would be) */
	bool full;	     /* a whole table was loaded (apply, or sync with no table) */
	size_t intervals;    /* set and map intervals in the table */
	size_t added, removed;			     /* intervals changed */
	size_t chains_added, chains_removed, chains_rewritten;
	size_t messages, bytes; /* of the transaction; 0 when nothing was sent */
	double compile_ms, read_ms, commit_ms; /* where the time went */
	bool cached;	/* the loaded state came from the cache, not read back */
	struct timespec committed_at; /* CLOCK_MONOTONIC: the kernel acknowledged, in force */
	char note[320]; /* why the cache was not used, or was dropped */
};

int p25_enforce_apply(const struct p25_model *m, const struct p25_enforce_opts *o,
		      struct p25_enforce_result *res, char *err, size_t errlen);
/* Load a plan as it is (tests inject invalid plans through this). */
int p25_enforce_apply_plan(const struct p25_nft_plan *plan, const struct p25_enforce_opts *o,
			   struct p25_enforce_result *res, char *err, size_t errlen);
int p25_enforce_sync(const struct p25_model *m, const struct p25_enforce_opts *o,
		     struct p25_enforce_result *res, char *err, size_t errlen);
/*
 * One permit changed: its prefix in org `org`, and what of that prefix is
 * still permitted afterwards, `cover`: the prefix itself when the permit
 * came into force, else the org's other permits valid now that overlap it
 * (usually none).  Whether the org is enforced comes from what is loaded.
 */
struct p25_enforce_change {
	const char *org;
	struct p25_prefix prefix;
	const struct p25_prefix *cover;
	size_t ncover;
};
/*
 * The targeted path: the element changes these permit changes make, computed
 * from the changes and the cached loaded state around them (no compile, no
 * read-back), sent in one transaction.  Returns 1, with res->note saying why,
 * when the cache cannot vouch for the kernel's state (none, or the ruleset's
 * generation moved since): run p25_enforce_sync then.
 */
int p25_enforce_update(const struct p25_enforce_change *ch, size_t n,
		       const struct p25_enforce_opts *o, struct p25_enforce_result *res, char *err,
		       size_t errlen);
/*
 * port25's enforcers in this network namespace, one at a time (o->state_dir's
 * lock; nothing without a state_dir).  apply, sync and update take it
 * themselves; a caller that reads the registry and then sends what it read
 * holds it across both, so that the kernel receives changes in the order
 * the registry committed them: otherwise a command that read "permit added"
 * could send it after a later command already sent "permit removed".  It
 * nests within a process (one thread of which enforces).
 */
int p25_enforce_lock(const struct p25_enforce_opts *o, char *err, size_t errlen);
void p25_enforce_unlock(const struct p25_enforce_opts *o);
/* Remove table inet port25 only; *existed says whether there was one. */
int p25_enforce_flush(bool *existed, char *err, size_t errlen);
/*
 * What is loaded, whether it matches the registry at o->now (and if not, the
 * intervals and chains to add and remove), and every org's counters.  "state"
 * sums it up: "in_sync", "differs" (a table loaded, not the registry's
 * policy now) or "not_loaded".
 */
int p25_enforce_status(const struct p25_model *m, const struct p25_enforce_opts *o,
		       json_t **out, char *err, size_t errlen);

/*
 * Whether the registry commands follow their changes into the kernel, as
 * the configuration file at path says: `enabled` in its [enforce] section,
 * or `enforce` at its top level (as before sections).  No file, or neither
 * key: off.  Returns 0 with *on set, or -1 with "PATH:LINE: ..." in err.
 */
int p25_enforce_conf_live(const char *path, bool *on, char *err, size_t errlen);

#endif
