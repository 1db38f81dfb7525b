/*
 * The registry's rules, in one place, whichever way a change enters the
 * registry (the verbs, import of CSV, a JSON server list or a whole registry
 * document, request submit and apply):
 *   - a prefix overlaps no registered one (rule_prefix);
 *   - a permit passes rule_permit() and nothing else;
 *   - a request moves only along the transitions table, which the service
 *     also authorizes by (p25_request_transition);
 *   - an org becomes active by rule_activation().
 * A rule written here holds everywhere and refuses with the same words.  The
 * text forms of a kind and an expiry (files, --server) are read here too,
 * for the same reason.
 *
 * Address space is compared in SQL over the stored networks (net: 16 bytes,
 * left-aligned, big-endian; len), with the address arithmetic done once, here,
 * as query parameters (struct net_span), never by parsing every stored
 * prefix again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"
#include "util/array.h"
#include "util/buf.h"

/* ---- requests ---- */

#define FROM P25_REQUEST_FROM
static const struct p25_request_transition transitions[P25_REQUEST_ACTIONS] = {
    {P25_REQUEST_SUBMIT, "submit", 0, P25_REQ_SUBMITTED, true, "submitted",
     P25_CHANGE_REQUEST_SUBMITTED},
    {P25_REQUEST_APPROVE, "approve", FROM(P25_REQ_SUBMITTED), P25_REQ_APPROVED, false,
     "approved", P25_CHANGE_REQUEST_APPROVED},
    {P25_REQUEST_REJECT, "reject", FROM(P25_REQ_SUBMITTED) | FROM(P25_REQ_APPROVED),
     P25_REQ_REJECTED, false, "rejected", P25_CHANGE_REQUEST_REJECTED},
    {P25_REQUEST_APPLY, "apply", FROM(P25_REQ_APPROVED), P25_REQ_APPLIED, false,
     "applied (approve it first)", P25_CHANGE_REQUEST_APPLIED},
    {P25_REQUEST_VERIFY, "verify", FROM(P25_REQ_APPLIED), P25_REQ_VERIFIED, false,
     "verified (apply it first)", P25_CHANGE_REQUEST_VERIFIED},
    /* Withdrawn by its member or the operator, before anything was applied. */
    {P25_REQUEST_CANCEL, "cancel", FROM(P25_REQ_SUBMITTED) | FROM(P25_REQ_APPROVED),
     P25_REQ_CANCELLED, true, "cancelled", P25_CHANGE_REQUEST_CANCELLED},
};
#undef FROM

const struct p25_request_transition *p25_request_transition(enum p25_request_action a)
{
	return (unsigned)a < P25_REQUEST_ACTIONS ? &transitions[a] : NULL;
}

bool p25_request_status_open(enum p25_request_status s)
{
	return (transitions[P25_REQUEST_CANCEL].from & P25_REQUEST_FROM(s)) != 0;
}

/* ---- address space ---- */

static void net_bytes(p25_u128 v, unsigned char out[16])
{
	for (int i = 15; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
}

void net_span(const struct p25_prefix *p, struct net_span *s)
{
	s->family = p->family;
	s->len = p->len;
	net_bytes(p->net, s->first);
	net_bytes(p->net | ~p25_mask(p->len), s->last);
	for (unsigned len = 0; len <= 128; len++)
		net_bytes(p->net & p25_mask(len), s->cut + 16 * len);
}

int rule_prefix(struct p25_registry *reg, const struct p25_prefix *p, const char *text,
                const char *org)
{
	struct net_span sp;
	reg_stmt *st;
	int rc;

	net_span(p, &sp);
	/* The first registered prefix that overlaps, in the order of the address space. */
	st = reg_query(reg,
	               "SELECT x.text, o.handle, x.len FROM prefix x JOIN org o ON o.id = x.org_id "
	               "WHERE x.family = ?1 AND " SPAN_OVERLAPS("x") " ORDER BY x.net, x.len LIMIT 1",
	               SPAN_ARGS, SPAN_BIND(&sp));
	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) <= 0) {
		if (rc == 0)
			reg_done(st);
		return rc;
	}
	if (strcmp(col_text(st, 1), org) != 0)
		rc = reg_fail(reg, P25_ECONFLICT,
		              "prefix %s (for organization '%s') overlaps %s of organization '%s'",
		              text, org, col_text(st, 0), col_text(st, 1));
	else if (col_int(st, 2) == p->len)
		rc = reg_fail(reg, P25_ECONFLICT,
		              "prefix %s is already registered to organization '%s'", text, org);
	else
		rc = reg_fail(reg, P25_ECONFLICT,
		              "prefix %s %s %s, already registered to organization '%s'; an "
		              "organization's prefixes must not nest",
		              text, col_int(st, 2) < p->len ? "lies inside" : "contains",
		              col_text(st, 0), org);
	reg_done(st);
	return rc;
}

int rule_kind_text(const char *s, bool required, enum p25_permit_kind *out, char *err,
                   size_t errlen)
{
	if ((!s || !*s) && !required) {
		*out = P25_KIND_MAIL_SERVER;
		return 0;
	}
	if (p25_kind_parse(s, out) < 0) {
		snprintf(err, errlen,
		         "kind '%s' is not one of mail-server, application-server, network-device "
		         "(or mail, app, device)",
		         s ? s : "");
		return -1;
	}
	return 0;
}

int rule_expiry_text(const char *s, p25_time now, p25_time *out, char *err, size_t errlen)
{
	char msg[200];

	*out = 0;
	if (!s || !*s || !strcmp(s, "never"))
		return 0;
	if (p25_expiry_parse(s, now, out, msg, sizeof msg) < 0) {
		snprintf(err, errlen, "expires: %s", msg);
		return -1;
	}
	return 0;
}

static int outside_space(struct p25_registry *reg, const char *text, const char *org,
                         int64_t org_id)
{
	reg_stmt *st = reg_query(reg,
	                             "SELECT text FROM prefix WHERE org_id = ? ORDER BY family, "
	                             "net, len",
	                             "i", org_id);
	struct p25_buf list;
	int rc;

	if (!st)
		return P25_EDB;
	p25_buf_init(&list);
	while ((rc = reg_step(reg, st)) == 1)
		p25_buf_printf(&list, "%s%s", list.len ? ", " : "", col_text(st, 0));
	if (rc == 0)
		reg_done(st);
	if (rc == 0 && list.len)
		rc = reg_fail(reg, P25_EINVAL,
		              "%s is outside the address space of organization '%s' (%s)", text,
		              org, list.data);
	else if (rc == 0)
		rc = reg_hint(reg,
		              reg_fail(reg, P25_EINVAL,
		                       "%s is outside the address space of organization '%s', which "
		                       "has no prefixes yet",
		                       text, org),
		              P25_HINT_ADD_PREFIX, org, 0, 0);
	p25_buf_free(&list);
	return rc;
}

/* Does a prefix of the org contain p?  One indexed lookup of the org's prefixes. */
static int inside_space(struct p25_registry *reg, const struct p25_prefix *p, int64_t org_id,
                        bool *inside)
{
	struct net_span sp;
	reg_stmt *st;
	int rc;

	net_span(p, &sp);
	st = reg_query(reg,
	               "SELECT 1 FROM prefix x WHERE x.org_id = ?6 AND x.family = ?1 AND "
	               SPAN_CONTAINED_BY("x") " LIMIT 1",
	               SPAN_ARGS "i", SPAN_BIND(&sp), org_id);
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	*inside = rc == 1;
	reg_done(st);
	return 0;
}

/*
 * One address, one permit per org.  An expired permit of the address does
 * not block a new one: the new permit supersedes it (permit_add_tx).  A
 * valid one does; its expiry is what to change instead.
 */
static int same_address(struct p25_registry *reg, const struct p25_permit_spec *spec,
                        struct permit_checked *chk, p25_time now)
{
	reg_stmt *st =
	    reg_query(reg, "SELECT id, expires FROM permit WHERE org_id = ? AND text = ?", "is",
	              chk->org_id, chk->text);
	char until[P25_TIME_STRLEN + 16] = "";
	p25_time expires;
	int64_t id;
	int rc;

	if (!st)
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 0) {
		reg_done(st);
		return 0;
	}
	id = col_int(st, 0);
	expires = col_time(st, 1);
	reg_done(st);
	if (expires && expires <= now) {
		chk->supersedes = id;
		return 0;
	}
	if (expires) {
		char t[P25_TIME_STRLEN];
		snprintf(until, sizeof until, ", until %s", p25_time_format(expires, t, sizeof t));
	}
	rc = reg_fail(reg, P25_ECONFLICT,
	              "%s is already permitted for organization '%s' (permit %" PRId64 "%s)",
	              chk->text, spec->org, id, until);
	/* Its expiry is what to change instead: said inside the parenthesis. */
	return expires ? reg_hint(reg, rc, P25_HINT_EXTEND_PERMIT, spec->org, id, 1) : rc;
}

int rule_permit(struct p25_registry *reg, const struct p25_permit_spec *spec, p25_time now,
                unsigned flags, struct permit_checked *chk)
{
	struct p25_diag diag;
	unsigned max;
	bool inside;
	int rc;

	memset(chk, 0, sizeof *chk);
	if ((rc = org_id_of(reg, spec->org, &chk->org_id)) < 0)
		return rc;
	if (!spec->address || !*spec->address)
		return reg_fail(reg, P25_EINVAL,
		                "permit for organization '%s': the address is missing", spec->org);
	if (p25_prefix_parse(spec->address, 0, &chk->prefix, &diag) < 0)
		return reg_fail(reg, P25_EINVAL, "permit for organization '%s': %s", spec->org,
		                diag.error);
	permit_text(&chk->prefix, chk->text, sizeof chk->text);
	if ((unsigned)spec->kind > P25_KIND_NETWORK_DEVICE)
		return reg_fail(reg, P25_EINVAL,
		                "permit %s: kind %d is not one of mail-server, application-server, "
		                "network-device",
		                chk->text, (int)spec->kind);
	if (!spec->description || !*spec->description)
		return reg_fail(reg, P25_EINVAL,
		                "permit %s: a description is required (what the server is)",
		                chk->text);
	max = chk->prefix.family == P25_INET ? P25_PERMIT_MAX_V4 : P25_PERMIT_MAX_V6;
	if (chk->prefix.len < max && !spec->force)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "permit %s is wider than /%u; a permit is for mail servers, "
		                         "not whole networks",
		                         chk->text, max),
		                P25_HINT_FORCE_WIDE, spec->org, 0, 0);
	if ((rc = inside_space(reg, &chk->prefix, chk->org_id, &inside)) < 0)
		return rc;
	if (!inside)
		return outside_space(reg, chk->text, spec->org, chk->org_id);
	if (spec->expires && spec->expires <= now && !(flags & RULE_RESTORE)) {
		char t[P25_TIME_STRLEN];
		return reg_fail(reg, P25_EINVAL, "permit %s: the expiry %s is already past",
		                chk->text, p25_time_format(spec->expires, t, sizeof t));
	}
	return same_address(reg, spec, chk, now);
}

/* Addresses of the latest analysis of the org that no permit valid at now covers. */
static int unpermitted_findings(struct p25_registry *reg, int64_t org_id, p25_time now,
                                p25_time *at, json_t **out)
{
	reg_stmt *st;
	json_t *found = NULL, *left, *a;
	struct p25_prefix *valid = NULL;
	size_t nvalid = 0, cap = 0, i;
	int rc;

	*out = NULL;
	st = reg_query(reg,
	               "SELECT at, unregistered FROM analysis WHERE org_id = ? ORDER BY id DESC "
	               "LIMIT 1",
	               "i", org_id);
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	if (rc == 1) {
		*at = col_time(st, 0);
		found = json_loads(col_text(st, 1), 0, NULL);
	}
	reg_done(st);
	if (!json_array_size(found)) {
		json_decref(found);
		return 0;
	}
	st = reg_query(
	    reg, "SELECT text FROM permit WHERE org_id = ? AND (expires IS NULL OR expires > ?)",
	    "iT", org_id, now);
	if (!st)
		rc = P25_EDB;
	while (st && (rc = reg_step(reg, st)) == 1) {
		struct p25_diag diag;
		if (P25_ARRAY_GROW(valid, nvalid, cap) < 0) {
			reg_done(st);
			rc = reg_fail(reg, P25_EDB, "registry: out of memory");
			break;
		}
		if (p25_prefix_parse(col_text(st, 0), 0, &valid[nvalid], &diag) == 0)
			nvalid++;
	}
	if (rc == 0) {
		reg_done(st);
		left = json_array();
		json_array_foreach(found, i, a)
		{
			struct p25_prefix host;
			struct p25_diag diag;
			bool covered = false;
			if (!json_is_string(a) ||
			    p25_prefix_parse(json_string_value(a), 0, &host, &diag) < 0)
				continue;
			for (size_t k = 0; k < nvalid && !covered; k++)
				covered = p25_prefix_contains(&valid[k], &host);
			if (!covered)
				json_array_append(left, a);
		}
		*out = left;
	}
	free(valid);
	json_decref(found);
	return rc < 0 ? rc : 0;
}

/*
 * Activating an org blocks port 25 for every host of its space that no valid
 * permit covers, its mail servers included if they were never listed: the
 * seeds warn that "servers not on the list" will be "unable to send e-mail".
 * So: a security contact to call, at least one valid permit unless the
 * operator confirms that none of its hosts sends mail (no_servers), and a
 * warning (reg->warning) naming the servers the latest analysis of its
 * traffic found that are still unpermitted.
 */
int rule_activation(struct p25_registry *reg, int64_t org_id, const char *handle, p25_time now,
                    bool no_servers)
{
	reg_stmt *st;
	int64_t contacts = 0, permits = 0;
	json_t *left = NULL, *a;
	p25_time at = 0;
	size_t i;
	int rc;

	st = reg_query(
	    reg,
	    "SELECT (SELECT count(*) FROM contact WHERE org_id = ?1 AND role = 'security'),"
	    " (SELECT count(*) FROM permit WHERE org_id = ?1 AND (expires IS NULL OR "
	    "expires > ?2))",
	    "iT", org_id, now);
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	contacts = col_int(st, 0);
	permits = col_int(st, 1);
	reg_done(st);
	if (contacts == 0)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "organization '%s' cannot become active without a security "
		                         "contact",
		                         handle),
		                P25_HINT_ADD_SECURITY, handle, 0, 0);
	if (permits == 0 && !no_servers)
		return reg_hint(reg,
		                reg_fail(reg, P25_EINVAL,
		                         "organization '%s' has no valid permit: becoming active "
		                         "would block port 25 for every host of it, its mail servers "
		                         "too",
		                         handle),
		                P25_HINT_NO_SERVERS, handle, 0, 0);
	if ((rc = unpermitted_findings(reg, org_id, now, &at, &left)) < 0)
		return rc;
	if (json_array_size(left)) {
		char t[P25_TIME_STRLEN], list[256] = "";
		size_t n = 0;
		json_array_foreach(left, i, a)
		{
			if (n + P25_ADDR_STRLEN + 16 >= sizeof list) {
				snprintf(list + n, sizeof list - n, ", and %zu more",
				         json_array_size(left) - i);
				break;
			}
			n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
			                      json_string_value(a));
		}
		snprintf(reg->warning, sizeof reg->warning,
		         "the analysis of organization '%s' at %s found %zu unregistered mail "
		         "server(s) that no valid permit covers, now blocked: %s",
		         handle, p25_time_format(at, t, sizeof t), json_array_size(left), list);
		reg_warning_hint(reg, P25_HINT_REGISTER_SERVERS, handle);
	}
	json_decref(left);
	return 0;
}
