/*
 * Permits named by their address, as an operator reads them off a ticket
 * ("permit remove 192.0.2.45"), not only by id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

/*
 * The id of the permit of exactly this address (an address or a prefix), in
 * the caller's transaction.  Not found: says which permit holds the address
 * when a wider one does, so the operator removes the right one.
 */
static int permit_of_address(struct p25_registry *reg, const char *address, int64_t *id)
{
	struct p25_prefix p, q;
	struct p25_diag diag;
	char text[P25_PREFIX_STRLEN];
	reg_stmt *st;
	int rc;

	if (p25_prefix_parse(address, 0, &p, &diag) < 0)
		return reg_fail(reg, P25_EINVAL, "%s", diag.error);
	permit_text(&p, text, sizeof text);
	if (!(st = reg_query(reg, "SELECT id FROM permit WHERE text = ?", "s", text)))
		return P25_EDB;
	if ((rc = reg_step(reg, st)) < 0)
		return rc;
	if (rc == 1) {
		*id = col_int(st, 0);
		reg_done(st);
		return 0;
	}
	reg_done(st);
	/* Permits of one family are few beside the rest: look for one holding it. */
	st = reg_query(reg,
	               "SELECT p.id, p.text, o.handle FROM permit p JOIN org o ON o.id = p.org_id "
	               "WHERE p.family = ? ORDER BY p.len",
	               "i", (int64_t)(p.family == P25_INET ? 4 : 6));
	if (!st)
		return P25_EDB;
	while ((rc = reg_step(reg, st)) == 1) {
		if (p25_prefix_parse(col_text(st, 1), 0, &q, &diag) == 0 &&
		    p25_prefix_contains(&q, &p)) {
			rc = reg_hint(reg,
			              reg_fail(reg, P25_ENOTFOUND,
			                       "no permit for %s: it lies inside permit %" PRId64
			                       " (%s, organization '%s')",
			                       text, col_int(st, 0), col_text(st, 1), col_text(st, 2)),
			              P25_HINT_LIST_PERMITS, NULL, 0, 0);
			reg_done(st);
			return rc;
		}
	}
	if (rc < 0)
		return rc;
	reg_done(st);
	return reg_hint(reg, reg_fail(reg, P25_ENOTFOUND, "no permit for %s", text),
	                P25_HINT_LIST_PERMITS, NULL, 0, 0);
}

int p25_permit_find(struct p25_registry *reg, const char *address, int64_t *id)
{
	reg->error[0] = '\0';
	return permit_of_address(reg, address, id);
}

int p25_permit_remove_address(struct p25_registry *reg, const struct p25_actor *who,
                              const char *address, int64_t *id)
{
	int64_t found = 0;
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	rc = permit_of_address(reg, address, &found);
	if (rc == 0)
		rc = permit_remove_in_tx(reg, who, found);
	if (rc == 0 && id)
		*id = found;
	return reg_end(reg, rc);
}
