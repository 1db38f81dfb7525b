/*
 * The policy engine: an immutable snapshot of the registry at one instant,
 * answering for any connection whether port25 permits it, blocks it, or does
 * not cover it, and which organization, address space and permit decided.
 *
 * A snapshot holds longest-prefix-match tables for IPv4 and IPv6 built from
 * every organization prefix and every permit valid at build time.  Each LPM
 * leaf carries its verdict for both directions precomputed, so a per-packet
 * decision is one lookup.  The snapshot borrows the model: keep the model
 * alive and unchanged while the snapshot is in use.
 */
#ifndef P25_POLICY_H
#define P25_POLICY_H

#include <stdint.h>
#include <sys/types.h>

#include "addr/addr.h"
#include "model/model.h"
#include "util/time.h"

#define P25_SMTP_PORT 25

enum p25_verdict {
	P25_NOT_COVERED = 0,
	P25_PERMIT = 1,
	P25_BLOCK = 2,
};

enum p25_direction {
	P25_OUTBOUND, /* the internal host is the source */
	P25_INBOUND,  /* the internal host is the destination */
};

enum p25_reason {
	P25_WHY_NOT_SMTP,	    /* destination port is not 25: 465/587 and the rest are untouched */
	P25_WHY_NO_ORG,		    /* the address is in no organization's space */
	P25_WHY_ORG_NOT_ENFORCED,   /* the org's enrollment is none, pending or suspended */
	P25_WHY_INBOUND_NOT_COVERED, /* the org's mode is outbound only */
	P25_WHY_PERMITTED,	    /* a valid permit covers the address */
	P25_WHY_UNPERMITTED,	    /* in an enforced org's space and no valid permit covers it */
};

struct p25_decision {
	enum p25_verdict verdict;
	enum p25_reason reason;
	enum p25_direction direction;
	ssize_t org;	/* index into the model's orgs, or -1 */
	ssize_t space;	/* index into the model's spaces (the org prefix holding the address), or -1 */
	ssize_t permit; /* index into the model's permits when the verdict is permit, else -1 */
};
/*
 * Where prefixes nest, the longest names the space and the permit; of equal
 * prefixes, the first in the model.  org and space are set whenever the
 * address lies in an organization's space (even when not covered), -1 for
 * P25_WHY_NO_ORG and P25_WHY_NOT_SMTP.
 */

struct p25_policy;

/*
 * Build a snapshot valid at `now`: permits expired at `now` are left out.
 * Fails (NULL, message in err) when the model is inconsistent: overlapping
 * organizations (the message names both and their prefixes), or a permit,
 * expired or not, that lies outside its organization's space (it must fit
 * inside one space prefix of its own organization).
 */
struct p25_policy *p25_policy_build(const struct p25_model *m, p25_time now, char *err,
				    size_t errlen);
void p25_policy_free(struct p25_policy *p);
const struct p25_model *p25_policy_model(const struct p25_policy *p);
p25_time p25_policy_built_at(const struct p25_policy *p);
/* The earliest permit expiry after build time, or 0: rebuild the snapshot then. */
p25_time p25_policy_next_expiry(const struct p25_policy *p);
/* Bytes held by the lookup tables (first-level pages never written are not counted). */
size_t p25_policy_memory(const struct p25_policy *p);

/* The decision for one direction: the internal host is src (outbound) or dst (inbound). */
void p25_policy_decide(const struct p25_policy *p, const struct p25_addr *src,
		       const struct p25_addr *dst, uint16_t dport, enum p25_direction dir,
		       struct p25_decision *out);

/*
 * The decision for a packet seen at an edge where both checks apply: blocked
 * when either the outbound check of src or the inbound check of dst blocks;
 * permitted when neither blocks and one permits; else not covered.  `out`
 * gets the deciding direction's decision; where both would decide alike
 * (both block, both permit, neither covers), the outbound one.
 */
enum p25_verdict p25_policy_decide_packet(const struct p25_policy *p, const struct p25_addr *src,
					  const struct p25_addr *dst, uint16_t dport,
					  struct p25_decision *out);

/*
 * Per-packet fast path: the verdict of one address in one direction, port 25
 * assumed.  v4 addresses in host order; v6 as in p25_addr.bits.  One table
 * lookup (IPv4: one or two loads; IPv6: an index walk and a short scan).
 */
enum p25_verdict p25_policy_verdict_v4(const struct p25_policy *p, uint32_t addr,
				       enum p25_direction dir);
enum p25_verdict p25_policy_verdict_v6(const struct p25_policy *p, p25_u128 addr,
				       enum p25_direction dir);

/*
 * Batched fast path for many addresses at once (a capture's worth of SYNs, a
 * flow export packet): out[i] packs both directions' verdicts, read with
 * p25_verdict_of().  Prefetching a few lookups ahead lets the memory system
 * work on several table entries at once, where one-at-a-time lookups wait
 * for each cache miss in turn.
 */
void p25_policy_verdicts_v4(const struct p25_policy *p, const uint32_t *addrs, size_t n,
			    uint8_t *out);
void p25_policy_verdicts_v6(const struct p25_policy *p, const p25_u128 *addrs, size_t n,
			    uint8_t *out);

static inline enum p25_verdict p25_verdict_of(uint8_t pair, enum p25_direction dir)
{
	return (enum p25_verdict)((pair >> (dir * 2)) & 3);
}

const char *p25_verdict_name(enum p25_verdict v);
const char *p25_reason_text(enum p25_reason r);

#endif
