/*
 * A brute-force reference for the policy engine: every decision by a linear
 * scan over the model, written to be obviously right rather than fast.  Tests
 * of anything that must agree with p25_policy_decide() compare against it.
 * The model must be consistent (p25_policy_build() accepts it).
 */
#ifndef P25_POLICY_ORACLE_H
#define P25_POLICY_ORACLE_H

#include "policy/policy.h"

enum p25_verdict oracle_decide(const struct p25_model *m, p25_time now, const struct p25_addr *src,
			       const struct p25_addr *dst, uint16_t dport, enum p25_direction dir);
enum p25_verdict oracle_decide_packet(const struct p25_model *m, p25_time now,
				      const struct p25_addr *src, const struct p25_addr *dst,
				      uint16_t dport);

/* The same, with the whole decision as p25_policy_decide() gives it. */
void oracle_decision(const struct p25_model *m, p25_time now, const struct p25_addr *src,
		     const struct p25_addr *dst, uint16_t dport, enum p25_direction dir,
		     struct p25_decision *out);
enum p25_verdict oracle_decision_packet(const struct p25_model *m, p25_time now,
					const struct p25_addr *src, const struct p25_addr *dst,
					uint16_t dport, struct p25_decision *out);

#endif
