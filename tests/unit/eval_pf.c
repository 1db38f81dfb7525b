/*
 * pf evaluator: `table <name> const { [!]prefix, ... }` and
 * `block return-rst|drop quick proto tcp from X to Y port smtp` with X, Y
 * either `any` or a table.  Tables match by longest prefix, a negated best
 * match not matching; the first quick rule that matches decides, and
 * anything else passes.
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct p_rule {
	int result;
	struct ev_set *from, *to; /* NULL: any */
};

struct ev_pf {
	struct ev_set *tables[16];
	size_t nt;
	struct p_rule r[16];
	size_t nr;
};

void ev_pf_free(struct ev_pf *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nt; i++)
		ev_set_free(e->tables[i]);
	free(e);
}

static int table_ref(struct ev_pf *e, const char *w, struct ev_set **out)
{
	size_t n = strlen(w);

	*out = NULL;
	if (strcmp(w, "any") == 0)
		return 0;
	if (n < 3 || w[0] != '<' || w[n - 1] != '>')
		return -1;
	for (size_t i = 0; i < e->nt; i++) {
		if (strlen(e->tables[i]->name) == n - 2 && strncmp(e->tables[i]->name, w + 1, n - 2) == 0) {
			*out = e->tables[i];
			return 0;
		}
	}
	return -1;
}

struct ev_pf *ev_pf_load(const char *text, char *err, size_t errlen)
{
	struct ev_pf *e = calloc(1, sizeof *e);
	struct ev_lines L;
	size_t i;

	ev_lines_split(text, &L);
	for (i = 0; i < L.n; i++) {
		char *s = ev_trim(L.v[i]), *t[32];
		size_t n;

		if (!*s || *s == '#')
			continue;
		if (strncmp(s, "table <", 7) == 0) {
			char *gt = strchr(s, '>'), *open, *close, *el;
			struct ev_set *set;
			if (!gt || e->nt == 16 || strncmp(gt, "> const { ", 10) != 0)
				goto bad;
			*gt = '\0';
			open = gt + 10;
			close = strstr(open, " }");
			if (!close || close[2] != '\0')
				goto bad;
			*close = '\0';
			set = e->tables[e->nt++] = ev_set_new(s + 7, 0);
			for (el = strtok(open, ","); el; el = strtok(NULL, ",")) {
				struct p25_prefix p;
				bool neg;
				el = ev_trim(el);
				neg = *el == '!';
				if (!ev_prefix(el + neg, false, &p))
					goto bad;
				/* pf refuses an address twice in one table, negated or not. */
				for (size_t k = 0; k < set->n; k++)
					if (p25_prefix_equal(&set->v[k], &p))
						goto bad;
				ev_set_add(set, &p, neg, NULL);
			}
			continue;
		}
		n = ev_tokens(s, t, 32);
		/* compile --log: `block return-rst log quick ...` decides the same */
		if (n == 12 && strcmp(t[2], "log") == 0) {
			memmove(&t[2], &t[3], 9 * sizeof t[0]);
			n = 11;
		}
		struct p_rule r = {0};
		if (n != 11 || strcmp(t[0], "block") || strcmp(t[2], "quick") || strcmp(t[3], "proto") ||
		    strcmp(t[4], "tcp") || strcmp(t[5], "from") || strcmp(t[7], "to") ||
		    strcmp(t[9], "port") || strcmp(t[10], "smtp") || e->nr == 16)
			goto bad;
		if (strcmp(t[1], "return-rst") == 0)
			r.result = EV_REJECT;
		else if (strcmp(t[1], "drop") == 0)
			r.result = EV_DROP;
		else
			goto bad;
		if (table_ref(e, t[6], &r.from) < 0 || table_ref(e, t[8], &r.to) < 0)
			goto bad;
		e->r[e->nr++] = r;
	}
	ev_lines_free(&L);
	return e;
bad:
	ev_fail(err, errlen, "pf line %zu: not understood: %.200s", i + 1, L.v[i]);
	ev_lines_free(&L);
	ev_pf_free(e);
	return NULL;
}

int ev_pf_packet(const struct ev_pf *e, const struct ev_pkt *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->nr; i++) {
		const struct p_rule *r = &e->r[i];
		if (!p->tcp || p->dport != 25)
			continue;
		if (r->from && !ev_set_longest_match(r->from, &p->src))
			continue;
		if (r->to && !ev_set_longest_match(r->to, &p->dst))
			continue;
		return r->result;
	}
	return EV_ACCEPT;
}
