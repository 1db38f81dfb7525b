/*
 * Enforcement that follows the registry: what a committed change asks of
 * this gateway's kernel, decided from the typed change stream
 * (p25_registry_changes_since), never from the audit log.
 *
 * A permit added, changed, removed or superseded becomes a targeted update
 * of the permit sets toward what of its prefix is permitted now, diffed
 * against what is loaded (no compile, no read-back: the cache, trusted only
 * while it is the kernel's state).  Anything else that can change the loaded
 * policy (an org's enrollment, mode or action, its address space, its
 * removal, an import) becomes a sync, which diffs the whole policy against
 * the loaded state.  Contacts, requests and new orgs change nothing loaded.
 */
#ifndef P25_ENFORCE_FOLLOW_H
#define P25_ENFORCE_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "enforce/enforce.h"
#include "registry/registry.h"

/* More changes than this after a mark (one command writes a few): sync, without reading them. */
#define P25_FOLLOW_WINDOW 512

enum p25_follow_action {
	P25_FOLLOW_NONE,      /* no change touches the loaded policy: the kernel was not asked */
	P25_FOLLOW_UNCHANGED, /* permit changes, already as loaded: nothing sent */
	P25_FOLLOW_TARGETED,  /* a targeted update of the permit sets (r: what it sent) */
	P25_FOLLOW_SYNC,      /* a sync of the whole policy (r; why: after a declined update) */
};

struct p25_follow_result {
	enum p25_follow_action action;
	size_t nchanges;        /* changes read after the mark */
	size_t npermits;        /* permit changes among them */
	int64_t mark;           /* every change up to this one is in the kernel now */
	struct timespec begun;  /* CLOCK_MONOTONIC when the follow began */
	char why[400];          /* a sync instead of a targeted update: "no targeted update (...)" */
	struct p25_enforce_result r;
};

/*
 * Send what the changes after mark ask of the kernel, at o->now, holding the
 * enforcers' lock (p25_enforce_lock) from reading the changes to the kernel's
 * acknowledgement, so that the kernel receives changes in the order the
 * registry committed them, whoever sends them.  Changes that touch nothing
 * loaded take no lock.  0, or -1 with err saying what failed ("reading the
 * changes back failed: ...", "the gateway was not updated: ...").
 */
int p25_enforce_follow(struct p25_registry *reg, int64_t mark, const struct p25_enforce_opts *o,
                       struct p25_follow_result *res, char *err, size_t errlen);

/*
 * The daemon (port25 enforce sync --wait): syncs, then sleeps until the next
 * permit expiry or interval seconds, whichever comes first, and syncs again.
 * Meanwhile it follows the change stream: a change committed by any process
 * (with or without --enforce) is in the kernel within a second, and a new
 * expiry is waited for.  Follows the system clock (o->now is ignored).
 * SIGHUP syncs at once; SIGTERM or SIGINT end it (0).  One line per event on
 * log, each starting with the UTC time.
 */
int p25_enforce_follow_loop(struct p25_registry *reg, const struct p25_enforce_opts *o,
                            int interval, FILE *log);

#endif
