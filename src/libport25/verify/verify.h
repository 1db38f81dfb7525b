/*
 * Verification after a change, as the seeds ask of an operator: for every
 * permitted server (or one address), does the policy permit it, can it
 * really deliver to a test mail exchanger on port 25 (a message with a
 * unique id, sent from the server's own address), and do 465 and 587 stay
 * open from it.  Addresses that must stay blocked are checked the other way
 * round: the policy blocks them and port 25 does not connect, while 465 and
 * 587 still do.
 *
 * Checks that touch the network bind the source address when asked, which
 * works on the server itself, inside its network (a host holding the
 * address) or in a test namespace.
 */
#ifndef P25_VERIFY_H
#define P25_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "addr/addr.h"
#include "model/model.h"
#include "policy/policy.h"
#include "util/time.h"

#define P25_VERIFY_MAX_MX 8
#define P25_VERIFY_IDLEN  48 /* "port25-verify-" and 16 hex digits, with room */

/* A test mail exchanger: one address and port (a name resolves to several). */
struct p25_verify_mx {
	struct p25_addr addr;
	uint16_t port;
};

/*
 * Parse "HOST", "HOST:PORT", "[V6]", "[V6]:PORT" or a bare IPv6 address
 * (port 25) and append every address HOST resolves to.  Returns 0, or -1
 * with a message in err (bad syntax, unknown name, too many), starting with
 * the quoted text (the caller names the option or field it came from).
 */
int p25_verify_mx_parse(const char *text, struct p25_verify_mx *mx, size_t cap, size_t *n,
			char *err, size_t errlen);
/* "198.51.100.7:25" or "[2001:db8::7]:25". */
char *p25_verify_mx_format(const struct p25_verify_mx *mx, char *buf, size_t buflen);

struct p25_verify_opts {
	const struct p25_verify_mx *mx; /* nmx 0: the policy check only */
	size_t nmx;
	bool bind_source; /* connect from the checked address itself */
	int timeout_ms;	  /* per network check */
	const char *mail_from;
	const char *rcpt; /* required with an MX */
	const char *helo; /* NULL: the host name */
};

/* What to check: an address, and whether it must pass or stay blocked. */
struct p25_verify_target {
	struct p25_addr addr;
	bool expect_blocked;
	ssize_t permit; /* the model permit it was taken from, or -1 */
};

/*
 * The targets for "every permitted server": one per permit valid at now
 * (a host permit's address; a prefix permit's first host), in model order.
 * Returns the count, or -1 when out of memory; *out is malloc'd.
 */
ssize_t p25_verify_permitted(const struct p25_model *m, p25_time now,
			     struct p25_verify_target **out);
/* The first host of a prefix: the address itself for a host route, else network + 1. */
void p25_verify_first_host(const struct p25_prefix *p, struct p25_addr *out);

/*
 * The targets of one registry request, as p25_request_show gives it: for a
 * sign-up or an add-permit, each server on it must be permitted, checked
 * through the permit the request created (permit_ids: the ids of the permits
 * carrying its request id; a server whose permit is gone is checked by
 * address, permit -1); for a remove-permit, each removed address must now be
 * blocked.  Prefixes give their first host.  Returns the count, or -1 with
 * err saying why (a malformed request, out of memory); *out is malloc'd.
 */
ssize_t p25_verify_request_targets(const struct p25_model *m, const json_t *request,
				   const int64_t *permit_ids, size_t npermit_ids,
				   struct p25_verify_target **out, char *err, size_t errlen);

enum p25_check_status {
	P25_CHECK_SKIPPED,
	P25_CHECK_PASS,
	P25_CHECK_FAIL,
};

struct p25_check {
	enum p25_check_status status;
	double ms; /* time the check took (network checks) */
	char detail[256];
};

struct p25_verify_result {
	struct p25_verify_target target;
	struct p25_decision decision;
	struct p25_check policy, smtp, tcp465, tcp587;
	bool have_mx;
	struct p25_verify_mx mx; /* the MX used, when have_mx */
	char message_id[P25_VERIFY_IDLEN]; /* "" unless a message was sent */
	bool pass;
};

/* Run every check for one target. */
/*
 * Load and initialise libcurl, which the SMTP check needs; 0, or -1 with err
 * saying why.  Other checks run without it.
 */
int p25_verify_init(char *err, size_t errlen);

void p25_verify_run(const struct p25_policy *pol, const struct p25_verify_target *t,
		    const struct p25_verify_opts *o, struct p25_verify_result *r);

/* The policy check alone: outbound from the address, port 25. */
void p25_verify_policy(const struct p25_policy *pol, const struct p25_verify_target *t,
		       struct p25_verify_result *r);

/*
 * One TCP connection from src (NULL: any) to dst:port within timeout_ms.
 * Returns 0 when it connected, 1 when the far side refused or did not
 * answer in time (what a block looks like), -1 on a local failure (e.g.
 * the source address is not one of this host's).  c gets time and detail.
 */
int p25_verify_tcp(const struct p25_addr *src, const struct p25_addr *dst, uint16_t port,
		   int timeout_ms, struct p25_check *c);

/* "port25-verify-" and 16 random hex digits.  Returns 0 or -1. */
int p25_verify_new_id(char *buf, size_t buflen);
/*
 * The test message, CRLF line ends: Date (from wall), From, To, Subject and
 * Message-ID carrying the id, and a body naming the source address.
 * Returns a malloc'd string or NULL.
 */
char *p25_verify_message(const char *id, const char *from, const char *rcpt,
			 const struct p25_addr *src, time_t wall);

const char *p25_check_status_name(enum p25_check_status s);
/*
 * The failed checks of a result: their names ("policy", "smtp/25", "tcp/465",
 * "tcp/587") joined by ", " into buf, and the first failed check, or NULL
 * when none failed.
 */
const struct p25_check *p25_verify_failures(const struct p25_verify_result *r, char *buf,
					    size_t buflen);
/* The result as one JSON object (the `verify --json` element); m names the permit. */
json_t *p25_verify_result_json(const struct p25_verify_result *r, const struct p25_model *m);

#endif
