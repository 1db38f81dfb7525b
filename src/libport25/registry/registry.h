/*
 * The registry: one SQLite file (WAL, foreign keys on, schema versioned by
 * migrations) holding organizations, their address space, contacts,
 * permitted senders, requests and the audit log.
 *
 * Every mutating call runs in one transaction and writes its audit record in
 * that same transaction: it either happens whole, audited, or not at all.
 * Calls return 0 on success or a negative P25_E* code, and leave a message
 * naming the input and what is wrong in p25_registry_error().
 */
#ifndef P25_REGISTRY_H
#define P25_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "model/model.h"
#include "util/time.h"

enum {
	P25_OK = 0,
	P25_EINVAL = -1,    /* bad input: malformed, out of range, refused by a rule */
	P25_ENOTFOUND = -2, /* the named object does not exist */
	P25_ECONFLICT = -3, /* clashes with what is there (overlap, duplicate, wrong state) */
	P25_EDB = -4,	    /* storage or system failure */
};

struct p25_registry;

/* Who acts and when: every change is audited with both. */
struct p25_actor {
	const char *name;
	p25_time now;
};

int p25_registry_open(const char *path, struct p25_registry **out, char *err, size_t errlen);
void p25_registry_close(struct p25_registry *reg);
const char *p25_registry_error(const struct p25_registry *reg);
int p25_registry_schema_version(struct p25_registry *reg);

/* A consistent read of everything the policy engine and compilers need. */
int p25_registry_load_model(struct p25_registry *reg, struct p25_model *out);

#endif
