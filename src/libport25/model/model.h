/*
 * The registry as the policy engine and the compilers see it: plain arrays,
 * loaded from the store in one read transaction (or built by tests and
 * benchmarks directly).  Indexes, not pointers, tie the arrays together so
 * that a model can grow while it is being built.
 */
#ifndef P25_MODEL_H
#define P25_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr/addr.h"
#include "util/time.h"

enum p25_enrollment {
	P25_ENROLL_NONE,
	P25_ENROLL_PENDING,
	P25_ENROLL_ACTIVE,
	P25_ENROLL_SUSPENDED,
};

enum p25_mode {
	P25_MODE_OUTBOUND, /* block TCP/25 leaving the org's space */
	P25_MODE_BOTH,	   /* ... and arriving at unpermitted hosts in it */
};

enum p25_action {
	P25_ACTION_REJECT, /* TCP reset */
	P25_ACTION_DROP,
};

enum p25_permit_kind {
	P25_KIND_MAIL_SERVER,
	P25_KIND_APPLICATION_SERVER,
	P25_KIND_NETWORK_DEVICE,
};

struct p25_org {
	int64_t id;
	char *handle;
	char *name;
	enum p25_enrollment enrollment;
	enum p25_mode mode;
	enum p25_action action;
	p25_time activate_at; /* a scheduled activation (the policy changes then), or 0 */
};

struct p25_space {
	int64_t id;
	size_t org; /* index into model.orgs */
	struct p25_prefix prefix;
	char *description;
};

struct p25_permit {
	int64_t id;
	size_t org; /* index into model.orgs */
	struct p25_prefix prefix;
	enum p25_permit_kind kind;
	char *description;
	char *requested_by;
	char *approved_by;
	p25_time created;
	p25_time expires; /* 0: never */
};

struct p25_model {
	struct p25_org *orgs;
	size_t norgs, orgs_cap;
	struct p25_space *spaces;
	size_t nspaces, spaces_cap;
	struct p25_permit *permits;
	size_t npermits, permits_cap;
};

void p25_model_init(struct p25_model *m);
void p25_model_free(struct p25_model *m);
/* Append; strings are copied.  Return the new index, or -1 when out of memory. */
ssize_t p25_model_add_org(struct p25_model *m, int64_t id, const char *handle, const char *name,
			  enum p25_enrollment e, enum p25_mode mode, enum p25_action action);
ssize_t p25_model_add_space(struct p25_model *m, int64_t id, size_t org,
			    const struct p25_prefix *p, const char *description);
ssize_t p25_model_add_permit(struct p25_model *m, const struct p25_permit *p);

/* An org is enforced when its enrollment is active. */
static inline bool p25_org_enforced(const struct p25_org *o)
{
	return o->enrollment == P25_ENROLL_ACTIVE;
}

static inline bool p25_permit_valid_at(const struct p25_permit *p, p25_time now)
{
	return p->expires == 0 || now < p->expires;
}

/* Enum names as they appear in the CLI, JSON and the database. */
const char *p25_enrollment_name(enum p25_enrollment e);
const char *p25_mode_name(enum p25_mode m);
const char *p25_action_name(enum p25_action a);
const char *p25_kind_name(enum p25_permit_kind k);
int p25_enrollment_parse(const char *s, enum p25_enrollment *out);
int p25_mode_parse(const char *s, enum p25_mode *out);
int p25_action_parse(const char *s, enum p25_action *out);
/* Accepts "mail-server", "application-server", "network-device" and the short "mail", "app", "device". */
int p25_kind_parse(const char *s, enum p25_permit_kind *out);

#endif
