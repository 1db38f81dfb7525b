/*
 * pf: one table per blocked class (direction x action) holding the class's
 * space and, negated, the permitted prefixes inside it.  pf looks tables up
 * by longest match and a negated best match does not match, so a permitted
 * host inside a blocked network is exempt.  Meant for an anchor:
 * `pfctl -a port25 -f FILE` with `anchor port25` in pf.conf.
 */
#include "compile/compile_priv.h"

#include <stdio.h>

static const char *const dir_name[2] = {"out", "in"};
static const char *const act_name[2] = {"reject", "drop"};

/*
 * Entries of one table: the aggregated space, and each permit inside it
 * negated.  A permit equal to a whole space entry cancels it: pf cannot hold
 * both `x` and `!x`, and nothing under x is blocked anyway.
 */
static size_t table(struct cp *c, struct p25_buf *b, int dir, int act)
{
	char a[P25_PREFIX_STRLEN];
	size_t n = 0;

	for (int f = 0; f < 2; f++) {
		const struct cp_vec *s = &c->space[dir][act][f],
					 *p = &c->class_permit[dir][act][f];
		size_t j = 0;

		for (size_t i = 0; i < s->n; i++) {
			bool cancelled = false;

			/* Both lists are sorted: permits inside s[i] come right after it. */
			while (j < p->n && p25_prefix_cmp(&p->v[j], &s->v[i]) < 0)
				j++;
			for (size_t k = j; k < p->n && p25_prefix_contains(&s->v[i], &p->v[k]); k++)
				if (p25_prefix_equal(&s->v[i], &p->v[k]))
					cancelled = true;
			if (!cancelled) {
				p25_buf_printf(b, "%s%s", n++ ? ", " : "", cp_pfx(&s->v[i], a));
				c->entries++;
			}
			for (; j < p->n && p25_prefix_contains(&s->v[i], &p->v[j]); j++) {
				if (cancelled)
					continue;
				p25_buf_printf(b, ", !%s", cp_pfx(&p->v[j], a));
				c->entries++;
				n++;
			}
		}
	}
	return n;
}

int cp_pf(struct cp *c, struct p25_compile_output *out)
{
	struct p25_buf b, t;
	bool used[2][2] = {{false}};
	char load[200];

	p25_buf_init(&b);
	p25_buf_init(&t);
	/* One organization's part goes into an anchor of its own, under port25. */
	if (c->tag)
		snprintf(load, sizeof load,
			 "pfctl -a port25/%s -f FILE (with `anchor \"port25/*\"` in pf.conf)", c->tag);
	else
		snprintf(load, sizeof load, "pfctl -a port25 -f FILE (with `anchor port25` in pf.conf)");
	cp_header(c, &b, "pf anchor", load);
	if (c->opts->log)
		cp_comment(c, &b, "Blocked attempts are logged to pflog0 (log): see the operator guide "
			   "for pflogd and its rate.");
	for (int d = 0; d < 2; d++) {
		for (int a = 0; a < 2; a++) {
			p25_buf_reset(&t);
			if (table(c, &t, d, a) == 0)
				continue;
			used[d][a] = true;
			/* A table is one line: its temporary permits are noted above it. */
			for (int f = 0; f < CP_FAMILIES; f++)
				for (size_t k = 0; k < c->class_permit[d][a][f].n; k++)
					cp_temp_notes(c, &b, &c->class_permit[d][a][f].v[k], "# %s\n",
						      160);
			p25_buf_printf(&b, "table <port25_%s_%s> const { %s }\n", dir_name[d],
				       act_name[a], t.data);
		}
	}
	for (int d = 0; d < 2; d++) {
		for (int a = 0; a < 2; a++) {
			if (!used[d][a])
				continue;
			p25_buf_printf(&b, "block %s%s quick proto tcp from %s%s%s to %s%s%s port smtp\n",
				       a == P25_ACTION_REJECT ? "return-rst" : "drop",
				       c->opts->log ? " log" : "",
				       d == CP_OUT ? "<port25_" : "any",
				       d == CP_OUT ? dir_name[d] : "",
				       d == CP_OUT ? (a ? "_drop>" : "_reject>") : "",
				       d == CP_IN ? "<port25_" : "any",
				       d == CP_IN ? dir_name[d] : "",
				       d == CP_IN ? (a ? "_drop>" : "_reject>") : "");
			c->entries++;
		}
	}
	p25_buf_free(&t);
	if (t.oom || cp_add_part(out, "pf", "pfctl -a port25 -f FILE", &b) < 0) {
		p25_buf_free(&b);
		return -1;
	}
	return 0;
}
