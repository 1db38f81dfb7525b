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
		char *text, *report = NULL;
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
		if (f[i].report && !json_is_array(f[i].report)) {
			free(text);
			return reg_fail(reg, P25_EINVAL,
			                "analysis of organization '%s': the report is not a list of hosts",
			                f[i].org);
		}
		if (f[i].report &&
		    !(report = json_dumps(f[i].report, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
			free(text);
			return reg_fail(reg, P25_EDB, "registry: out of memory");
		}
		rc = org_id_of(reg, f[i].org, &org_id);
		if (rc == 0)
			rc = reg_exec(
			    reg,
			    "INSERT INTO analysis (org_id, at, actor, hosts, unregistered, report) "
			    "VALUES (?, ?, ?, ?, ?, ?)",
			    "iTsiss", org_id, who->now, who->name, (int64_t)f[i].hosts, text, report);
		free(text);
		free(report);
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

int p25_analysis_report_in(struct p25_registry *reg, const char *org,
                           const struct p25_scope *scope, json_t **out)
{
	reg_stmt *st;
	int64_t org_id = 0;
	char *scoped;
	int rc;

	*out = NULL;
	reg_clear(reg);
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = org_id_in(reg, org, scoped, &org_id);
	free(scoped);
	if (rc < 0)
		return rc;
	st = reg_query(reg,
	               "SELECT at, actor, hosts, unregistered, report FROM analysis "
	               "WHERE org_id = ? ORDER BY id DESC LIMIT 1",
	               "i", org_id);
	if ((rc = reg_first(reg, st, "no analysis of organization '%s'", org)) < 0)
		return rc;
	{
		json_t *list = json_loads(col_text(st, 3), 0, NULL);
		json_t *report = col_null(st, 4) ? NULL : json_loads(col_text(st, 4), 0, NULL);
		/* A report that does not parse is none: the registry's text is never trusted. */
		if (!json_is_array(report)) {
			json_decref(report);
			report = json_array();
		}
		*out = json_pack("{s:s, s:s, s:s, s:I, s:o, s:o}", "org", org, "at", col_text(st, 0),
		                 "actor", col_text(st, 1), "hosts", (json_int_t)col_int(st, 2),
		                 "unregistered", json_is_array(list) ? list : json_array(), "report",
		                 report);
		if (!json_is_array(list))
			json_decref(list);
	}
	reg_done(st);
	return 0;
}
