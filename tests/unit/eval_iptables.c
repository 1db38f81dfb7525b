/*
 * iptables evaluator: `ipset restore` input (create, flush, add, swap,
 * destroy of hash:net sets), `iptables-restore --noflush` input for the
 * filter table (user chains, -A rules with -p tcp, -m tcp --dport, -m set
 * [!] --match-set, -m comment, -j targets), and the hook script's
 * check-or-insert lines for FORWARD.
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

struct i_match {
	struct ev_set *set;
	bool neg, dst;
};

struct i_rule {
	bool tcp;
	int dport; /* -1: any */
	struct i_match m[4];
	size_t nm;
	char target[32]; /* ACCEPT, DROP, RETURN, REJECT, or a chain */
	char spec[512];	 /* normalized text, for -C */
};

struct i_chain {
	char name[32];
	struct i_rule *r;
	size_t n;
};

struct i_table {
	struct i_chain c[8];
	size_t n;
};

struct ev_ipt {
	struct ev_set *sets[64];
	size_t nsets;
	struct i_table t[2]; /* v4, v6 */
};

static void chains_free(struct i_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->c[i].r);
	t->n = 0;
}

void ev_ipt_free(struct ev_ipt *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nsets; i++)
		ev_set_free(e->sets[i]);
	chains_free(&e->t[0]);
	chains_free(&e->t[1]);
	free(e);
}

static ssize_t set_idx(const struct ev_ipt *e, const char *name)
{
	for (size_t i = 0; i < e->nsets; i++)
		if (strcmp(e->sets[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static struct i_chain *chain(struct i_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->c[i].name, name) == 0)
			return &t->c[i];
	return NULL;
}

static int load_ipset(struct ev_ipt *e, const char *text, char *err, size_t errlen)
{
	struct ev_lines L;
	int rc = 0;

	ev_lines_split(text, &L);
	for (size_t i = 0; i < L.n && rc == 0; i++) {
		char *s = ev_trim(L.v[i]), *t[16];
		size_t n;
		ssize_t a, b;

		if (!*s || *s == '#')
			continue;
		n = ev_tokens(s, t, 16);
		if (n == 10 && strcmp(t[0], "create") == 0 && strcmp(t[2], "hash:net") == 0 &&
		    strcmp(t[3], "family") == 0 && strcmp(t[5], "hashsize") == 0 &&
		    strcmp(t[7], "maxelem") == 0 && strcmp(t[9], "-exist") == 0 && strlen(t[1]) <= 31) {
			int fam = strcmp(t[4], "inet") == 0 ? P25_INET : strcmp(t[4], "inet6") == 0 ? P25_INET6 : 0;
			if (!fam)
				rc = -1;
			a = set_idx(e, t[1]);
			if (a >= 0 && e->sets[a]->family != fam)
				rc = -1;
			else if (a < 0 && e->nsets < 64)
				e->sets[e->nsets++] = ev_set_new(t[1], fam);
			else if (a < 0)
				rc = -1;
		} else if (n == 2 && strcmp(t[0], "flush") == 0 && (a = set_idx(e, t[1])) >= 0) {
			struct ev_set *old = e->sets[a];
			e->sets[a] = ev_set_new(old->name, old->family);
			ev_set_free(old);
		} else if (n == 3 && strcmp(t[0], "add") == 0 && (a = set_idx(e, t[1])) >= 0) {
			struct p25_prefix p;
			if (!ev_prefix(t[2], false, &p) || p.family != e->sets[a]->family || p.len == 0)
				rc = -1;
			else
				ev_set_add(e->sets[a], &p, false, NULL);
		} else if (n == 3 && strcmp(t[0], "swap") == 0 && (a = set_idx(e, t[1])) >= 0 &&
			   (b = set_idx(e, t[2])) >= 0 && e->sets[a]->family == e->sets[b]->family) {
			/* Contents trade places; the names stay. */
			struct ev_set *x = e->sets[a];
			char *na = x->name;
			x->name = e->sets[b]->name;
			e->sets[b]->name = na;
			e->sets[a] = e->sets[b];
			e->sets[b] = x;
		} else if (n == 2 && strcmp(t[0], "destroy") == 0 && (a = set_idx(e, t[1])) >= 0) {
			ev_set_free(e->sets[a]);
			e->sets[a] = e->sets[--e->nsets];
		} else {
			rc = -1;
		}
		if (rc < 0)
			ev_fail(err, errlen, "ipset line %zu: not understood: %s", i + 1, L.v[i]);
	}
	ev_lines_free(&L);
	return rc;
}

/* A rule spec after "-A CHAIN" (or "-I FORWARD 1"): tokens t[0..n). */
static int parse_spec(struct ev_ipt *e, int fam, char **t, size_t n, struct i_rule *r)
{
	size_t i = 0;

	memset(r, 0, sizeof *r);
	r->dport = -1;
	for (size_t k = 0; k < n; k++) {
		strncat(r->spec, t[k], sizeof r->spec - strlen(r->spec) - 2);
		strcat(r->spec, " ");
	}
	while (i < n) {
		if (strcmp(t[i], "-p") == 0 && i + 1 < n && strcmp(t[i + 1], "tcp") == 0) {
			r->tcp = true;
			i += 2;
		} else if (strcmp(t[i], "-m") == 0 && i + 1 < n && strcmp(t[i + 1], "tcp") == 0 && r->tcp) {
			i += 2;
		} else if (strcmp(t[i], "--dport") == 0 && i + 1 < n && r->tcp) {
			r->dport = atoi(t[i + 1]);
			i += 2;
		} else if (strcmp(t[i], "--tcp-flags") == 0 && i + 2 < n && r->tcp &&
			   strcmp(t[i + 1], "SYN,ACK") == 0 && strcmp(t[i + 2], "SYN") == 0) {
			/* connection attempts only: the test packets are all first SYNs */
			i += 3;
		} else if (strcmp(t[i], "-m") == 0 && i + 5 < n && strcmp(t[i + 1], "limit") == 0 &&
			   strcmp(t[i + 2], "--limit") == 0 && strcmp(t[i + 4], "--limit-burst") == 0) {
			i += 6;
		} else if (strcmp(t[i], "-m") == 0 && i + 1 < n && strcmp(t[i + 1], "comment") == 0) {
			if (i + 3 >= n || strcmp(t[i + 2], "--comment") != 0)
				return -1;
			i += 4;
		} else if (strcmp(t[i], "-m") == 0 && i + 1 < n && strcmp(t[i + 1], "set") == 0) {
			struct i_match m = {0};
			ssize_t s;
			i += 2;
			if (i < n && strcmp(t[i], "!") == 0) {
				m.neg = true;
				i++;
			}
			if (i + 2 >= n || strcmp(t[i], "--match-set") != 0)
				return -1;
			s = set_idx(e, t[i + 1]);
			if (s < 0 || e->sets[s]->family != fam || r->nm == 4)
				return -1; /* as the kernel refuses a missing or wrong-family set */
			m.set = e->sets[s];
			if (strcmp(t[i + 2], "src") == 0)
				m.dst = false;
			else if (strcmp(t[i + 2], "dst") == 0)
				m.dst = true;
			else
				return -1;
			r->m[r->nm++] = m;
			i += 3;
		} else if (strcmp(t[i], "-j") == 0 && i + 1 < n) {
			snprintf(r->target, sizeof r->target, "%s", t[i + 1]);
			i += 2;
			if (strcmp(r->target, "REJECT") == 0) {
				if (i + 1 >= n || strcmp(t[i], "--reject-with") != 0 ||
				    strcmp(t[i + 1], "tcp-reset") != 0 || !r->tcp)
					return -1;
				i += 2;
			} else if (strcmp(r->target, "NFLOG") == 0) {
				/* compile --log: logs and goes on to the next rule */
				if (i + 3 >= n || strcmp(t[i], "--nflog-group") != 0 ||
				    strcmp(t[i + 2], "--nflog-prefix") != 0)
					return -1;
				i += 4;
			}
			return i == n ? 0 : -1;
		} else {
			return -1;
		}
	}
	return -1;
}

static int load_rules(struct ev_ipt *e, int f, const char *text, char *err, size_t errlen)
{
	struct i_table *tb = &e->t[f];
	int fam = f == 0 ? P25_INET : P25_INET6;
	struct ev_lines L;
	bool in_filter = false;
	int rc = 0;

	ev_lines_split(text, &L);
	for (size_t i = 0; i < L.n && rc == 0; i++) {
		char *s = ev_trim(L.v[i]), *t[64];
		size_t n;
		struct i_chain *c;

		if (!*s || *s == '#')
			continue;
		n = ev_tokens(s, t, 64);
		if (!in_filter && n == 1 && strcmp(t[0], "*filter") == 0) {
			in_filter = true;
		} else if (in_filter && n == 1 && strcmp(t[0], "COMMIT") == 0) {
			in_filter = false;
		} else if (in_filter && n == 3 && t[0][0] == ':' && strcmp(t[1], "-") == 0 &&
			   strcmp(t[2], "[0:0]") == 0 && strlen(t[0]) < 32) {
			/* --noflush: declaring a user chain creates it or flushes it. */
			c = chain(tb, t[0] + 1);
			if (!c && tb->n < 8) {
				c = &tb->c[tb->n++];
				memset(c, 0, sizeof *c);
				snprintf(c->name, sizeof c->name, "%s", t[0] + 1);
			} else if (c) {
				c->n = 0;
			} else {
				rc = -1;
			}
		} else if (in_filter && n > 2 && strcmp(t[0], "-A") == 0 && (c = chain(tb, t[1]))) {
			c->r = realloc(c->r, (c->n + 1) * sizeof *c->r);
			const char *tg;
			if (parse_spec(e, fam, t + 2, n - 2, &c->r[c->n]) < 0)
				rc = -1;
			else if (tg = c->r[c->n].target,
				 strcmp(tg, "ACCEPT") && strcmp(tg, "DROP") && strcmp(tg, "REJECT") &&
					 strcmp(tg, "RETURN") && strcmp(tg, "NFLOG") && !chain(tb, tg))
				rc = -1; /* an unknown target or chain */
			else
				c->n++;
		} else {
			rc = -1;
		}
		if (rc < 0)
			ev_fail(err, errlen, "rules line %zu: not understood: %s", i + 1, L.v[i]);
	}
	if (rc == 0 && in_filter)
		rc = -1, ev_fail(err, errlen, "rules: no COMMIT");
	ev_lines_free(&L);
	return rc;
}

static int load_hook(struct ev_ipt *e, const char *text, char *err, size_t errlen)
{
	struct ev_lines L;
	int rc = 0;

	ev_lines_split(text, &L);
	for (size_t i = 0; i < L.n && rc == 0; i++) {
		char *s = ev_trim(L.v[i]), *t[64];
		size_t n, k;
		int f;
		struct i_rule chk, ins;
		struct i_chain *fw;

		if (!*s || *s == '#')
			continue;
		n = ev_tokens(s, t, 64);
		/* CMD -C FORWARD SPEC 2>/dev/null || CMD -I FORWARD 1 SPEC */
		rc = -1;
		for (k = 0; k < n && strcmp(t[k], "||") != 0; k++)
			;
		if (k == n || k < 4 || n - k < 5)
			break;
		f = strcmp(t[0], "iptables") == 0 ? 0 : strcmp(t[0], "ip6tables") == 0 ? 1 : -1;
		if (f < 0 || strcmp(t[k + 1], t[0]) || strcmp(t[1], "-C") || strcmp(t[2], "FORWARD") ||
		    strcmp(t[k - 1], "2>/dev/null") || strcmp(t[k + 2], "-I") ||
		    strcmp(t[k + 3], "FORWARD") || strcmp(t[k + 4], "1"))
			break;
		if (parse_spec(e, f == 0 ? P25_INET : P25_INET6, t + 3, k - 4, &chk) < 0 ||
		    parse_spec(e, f == 0 ? P25_INET : P25_INET6, t + k + 5, n - k - 5, &ins) < 0 ||
		    strcmp(chk.spec, ins.spec) != 0 || !chain(&e->t[f], ins.target))
			break;
		fw = chain(&e->t[f], "FORWARD");
		if (!fw) {
			if (e->t[f].n == 8)
				break;
			fw = &e->t[f].c[e->t[f].n++];
			memset(fw, 0, sizeof *fw);
			strcpy(fw->name, "FORWARD");
		}
		rc = 0;
		bool present = false;
		for (size_t r = 0; r < fw->n; r++)
			present = present || strcmp(fw->r[r].spec, ins.spec) == 0;
		if (!present) {
			fw->r = realloc(fw->r, (fw->n + 1) * sizeof *fw->r);
			memmove(fw->r + 1, fw->r, fw->n * sizeof *fw->r);
			fw->r[0] = ins;
			fw->n++;
		}
	}
	if (rc < 0)
		ev_fail(err, errlen, "hook: not understood");
	ev_lines_free(&L);
	return rc;
}

struct ev_ipt *ev_ipt_load(const char *ipset, const char *rules4, const char *rules6,
			   const char *hook, char *err, size_t errlen)
{
	struct ev_ipt *e = calloc(1, sizeof *e);

	if (load_ipset(e, ipset, err, errlen) < 0 || load_rules(e, 0, rules4, err, errlen) < 0 ||
	    load_rules(e, 1, rules6, err, errlen) < 0 || load_hook(e, hook, err, errlen) < 0) {
		ev_ipt_free(e);
		return NULL;
	}
	return e;
}

/* 1: a terminal verdict in *res; 0: fell off the end or RETURN. */
static int run(const struct ev_ipt *e, const struct i_table *tb, const struct i_chain *c,
	       const struct ev_pkt *p, int *res, int depth)
{
	if (depth > 8)
		abort();
	for (size_t i = 0; i < c->n; i++) {
		const struct i_rule *r = &c->r[i];
		bool ok = (!r->tcp || p->tcp) && (r->dport < 0 || (p->tcp && p->dport == r->dport));
		for (size_t k = 0; k < r->nm && ok; k++) {
			const struct p25_addr *a = r->m[k].dst ? &p->dst : &p->src;
			ok = (ev_set_find(r->m[k].set, a) >= 0) != r->m[k].neg;
		}
		if (!ok)
			continue;
		if (strcmp(r->target, "ACCEPT") == 0)
			return *res = EV_ACCEPT, 1;
		if (strcmp(r->target, "DROP") == 0)
			return *res = EV_DROP, 1;
		if (strcmp(r->target, "REJECT") == 0)
			return *res = EV_REJECT, 1;
		if (strcmp(r->target, "RETURN") == 0)
			return 0;
		if (strcmp(r->target, "NFLOG") == 0)
			continue;
		const struct i_chain *sub = chain((struct i_table *)tb, r->target);
		if (!sub)
			abort();
		if (run(e, tb, sub, p, res, depth + 1))
			return 1;
	}
	return 0;
}

int ev_ipt_packet(const struct ev_ipt *e, const struct ev_pkt *p, char *err, size_t errlen)
{
	const struct i_table *tb = &e->t[p->src.family == P25_INET ? 0 : 1];
	const struct i_chain *fw = chain((struct i_table *)tb, "FORWARD");
	int res = EV_ACCEPT;

	if (!fw)
		return ev_fail(err, errlen, "nothing hooked into FORWARD"), -1;
	if (!run(e, tb, fw, p, &res, 0))
		res = EV_ACCEPT; /* FORWARD policy ACCEPT */
	return res;
}
