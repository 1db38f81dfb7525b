/*
 * What `port25 analyze` found, kept per organization: how many of its hosts
 * spoke SMTP and which of them look like mail servers that no permit covers.
 * Only the latest finding of an org matters (rule_activation warns with it);
 * earlier ones stay as the record of what was seen when.  A finding is an
 * observation, not a change of the registry: it carries its own time and
 * actor and writes no audit record.
 */
#include <stdio.h>
#include <stdlib.h>

#include "registry/internal.h"

static int record_tx(struct p25_registry *reg, const struct p25_actor *who,
                     const struct p25_analysis_finding *f, size_t nf)
{
	int rc = 0;

	for (size_t i = 0; i < nf && rc == 0; i++) {
		json_t *list = json_array();
		int64_t org_id = 0;
		char *text;
		for (size_t k = 0; k < f[i].n; k++) {
			struct p25_prefix p;
			struct p25_diag diag;
			if (p25_prefix_parse(f[i].unregistered[k], 0, &p, &diag) < 0) {
				json_decref(list);
				return reg_fail(reg, P25_EINVAL,
				                "analysis of organization '%s': %s", f[i].org,
				                diag.error);
			}
			json_array_append_new(list, json_string(f[i].unregistered[k]));
		}
		text = json_dumps(list, JSON_COMPACT);
		json_decref(list);
		if (!text)
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		rc = org_id_of(reg, f[i].org, &org_id);
		if (rc == 0)
			rc = reg_exec(
			    reg,
			    "INSERT INTO analysis (org_id, at, actor, hosts, unregistered) "
			    "VALUES (?, ?, ?, ?, ?)",
			    "iTsis", org_id, who->now, who->name, (int64_t)f[i].hosts, text);
		free(text);
	}
	return rc;
}

int p25_analysis_record(struct p25_registry *reg, const struct p25_actor *who,
                        const struct p25_analysis_finding *findings, size_t n)
{
	int rc = reg_begin(reg);

	if (rc < 0)
		return rc;
	return reg_end(reg, record_tx(reg, who, findings, n));
}

int p25_analysis_latest(struct p25_registry *reg, const char *org, json_t **out)
{
	reg_stmt *st;
	int64_t org_id = 0;
	int rc;

	*out = NULL;
	reg->error[0] = '\0';
	if ((rc = org_id_of(reg, org, &org_id)) < 0)
		return rc;
	st = reg_query(reg,
	               "SELECT at, actor, hosts, unregistered FROM analysis WHERE org_id = ? "
	               "ORDER BY id DESC LIMIT 1",
	               "i", org_id);
	if (!st || (rc = reg_step(reg, st)) < 0)
		return P25_EDB;
	if (rc == 1) {
		json_t *list = json_loads(col_text(st, 3), 0, NULL);
		*out = json_pack("{s:s, s:s, s:s, s:I, s:o}", "org", org, "at", col_text(st, 0),
		                 "actor", col_text(st, 1), "hosts",
		                 (json_int_t)col_int(st, 2), "unregistered",
		                 list ? list : json_array());
	}
	reg_done(st);
	return 0;
}
