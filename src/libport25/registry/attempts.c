/*
 * Blocked attempts per organization and UTC day (schema v10), as watch's
 * flushes added them: the last days up to today, every day present, the
 * days without a row as zero, so a chart needs no calendar of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/internal.h"

static void day_text(int64_t day, char out[P25_TIME_STRLEN])
{
	p25_time_format(day * 86400, out, P25_TIME_STRLEN);
	out[10] = '\0'; /* YYYY-MM-DD */
}

int p25_attempts_daily_in(struct p25_registry *reg, const char *org, int days, p25_time now,
                          const struct p25_scope *scope, json_t **out)
{
	int64_t today = (now > 0 ? now : 0) / 86400, org_id = 0;
	char *scoped, from[P25_TIME_STRLEN], to[P25_TIME_STRLEN];
	json_t *list, *o;
	reg_stmt *st;
	int rc;

	*out = NULL;
	reg_clear(reg);
	if (days < 1 || days > P25_ATTEMPTS_DAYS_MAX)
		return reg_fail(reg, P25_EINVAL, "days %d: want 1 to %d", days,
		                P25_ATTEMPTS_DAYS_MAX);
	if ((rc = scope_text(reg, scope, &scoped)) < 0)
		return rc;
	rc = org_id_in(reg, org, scoped, &org_id);
	free(scoped);
	if (rc < 0)
		return rc;
	day_text(today - days + 1, from);
	day_text(today, to);
	list = json_array();
	for (int i = 0; i < days; i++) {
		char d[P25_TIME_STRLEN];
		day_text(today - days + 1 + i, d);
		json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:i}", "day", d, "attempts",
		                                      0, "out", 0, "in", 0));
	}
	st = reg_query(reg,
	               "SELECT day, direction, attempts FROM attempts_daily WHERE org_id = ? AND "
	               "day >= ? AND day <= ? ORDER BY day",
	               "iss", org_id, from, to);
	if (!st) {
		json_decref(list);
		return P25_EDB;
	}
	while ((rc = reg_step(reg, st)) == 1) {
		/* The row's index from its date: rows are few, days at most a year. */
		const char *day = col_text(st, 0), *dir = col_text(st, 1);
		size_t i;
		json_t *row;
		json_array_foreach(list, i, row)
		{
			if (strcmp(json_string_value(json_object_get(row, "day")), day) != 0)
				continue;
			json_int_t n = (json_int_t)col_int(st, 2);
			json_object_set_new(row, dir, json_integer(n));
			json_object_set_new(
			    row, "attempts",
			    json_integer(json_integer_value(json_object_get(row, "attempts")) + n));
			break;
		}
	}
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	reg_done(st);
	o = json_pack("{s:s, s:s, s:s, s:o}", "org", org, "from", from, "to", to, "days", list);
	*out = o;
	return 0;
}
