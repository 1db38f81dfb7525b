/*
 * Compile the registry's policy into the configuration of a firewall or
 * router.  Output is deterministic for a given model and time, aggregated to
 * the fewest entries that permit and block exactly what the policy does, and
 * free text from the registry only ever appears inside comments, made inert
 * by p25_text_inert().
 */
#ifndef P25_COMPILE_H
#define P25_COMPILE_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model.h"
#include "util/time.h"

enum p25_target {
	P25_TARGET_NFTABLES,
	P25_TARGET_IPTABLES, /* iptables + ip6tables + ipset */
	P25_TARGET_CISCO_IOS,
	P25_TARGET_JUNOS,
	P25_TARGET_PF,
};

struct p25_compile_opts {
	p25_time now;	    /* permits expired at this time are left out */
	size_t max_entries; /* 0: no limit; else refuse larger output */
	bool no_aggregate;  /* benchmarks only: emit prefixes as registered, to measure aggregation */
	/* nftables: NFLOG group of blocked connection attempts; 0: 25; negative: no logging */
	int nflog_group;
	/* nftables: when set, also filled with what the text loads (compile/nftables.h) */
	struct p25_nft_plan *nft_plan;
	/*
	 * Only this organization's part (NULL: every enforced one), for the
	 * router or interface its traffic crosses.  Cisco IOS and Junos name its
	 * lists and filters after it (PORT25-OUTBOUND-HANDLE, port25-handle-...)
	 * so that several members' parts live side by side on one router; pf
	 * loads it into the anchor port25/HANDLE; nftables and iptables keep
	 * their names (a Linux gateway holds one port25 policy).
	 */
	const char *org;
	/*
	 * Log each denied connection attempt the target's way: IOS `log` on the
	 * deny entries, Junos `syslog` in the reject and discard terms, pf `log`
	 * on the block rules, iptables an NFLOG rule (rate-limited) before each
	 * block rule.  nftables logs to its NFLOG group always (nflog_group).
	 */
	bool log;
};

/* A target may produce several files, e.g. iptables: ipset, rules.v4, rules.v6. */
#define P25_COMPILE_MAX_PARTS 4
struct p25_compile_part {
	const char *name; /* "nftables", "ipset", "rules.v4", ... */
	const char *load_hint; /* how an operator loads it, e.g. "nft -f FILE" */
	char *text;
};

struct p25_compile_output {
	struct p25_compile_part parts[P25_COMPILE_MAX_PARTS];
	size_t nparts;
	size_t entries; /* set elements + ACL/filter entries + rules, as the device counts them */
	/*
	 * When the output stops being the policy: the next expiry of a permit in
	 * it, or the next scheduled activation (of the organizations it covers),
	 * whichever comes first; 0: neither.  Every part's header says it.
	 */
	p25_time valid_until;
};

int p25_target_parse(const char *name, enum p25_target *out);
const char *p25_target_name(enum p25_target t);

/* Returns 0, or -1 with a message in err (inconsistent model, entries over the limit). */
int p25_compile(const struct p25_model *m, enum p25_target t, const struct p25_compile_opts *o,
		struct p25_compile_output *out, char *err, size_t errlen);
void p25_compile_output_free(struct p25_compile_output *out);

/* A line of the target's output that is only a comment (left out of --diff). */
bool p25_compile_comment_line(enum p25_target t, const char *line, size_t len);

#endif
