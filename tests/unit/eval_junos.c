/*
 * Junos evaluator: the curly-brace configuration port25 emits, parsed into a
 * statement tree (comments are C-style, one line each), then policy-options
 * prefix-lists and firewall family inet|inet6 filters with terms matching
 * source-/destination-prefix-list, protocol|next-header tcp and
 * destination-port smtp, and then accept | discard | { reject tcp-reset; }, or
 * (compile --log) { syslog; reject tcp-reset; } | { syslog; discard; }.
 * First matching term wins; a packet matching no term is discarded.
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct j_node {
	char *w[8];
	size_t nw;
	bool block;
	struct j_node *kids;
	size_t nkids;
};

struct j_term {
	struct ev_set *list; /* NULL: any address */
	bool dst, tcp_smtp;
	int result;
};

struct j_filter {
	char name[64];
	int family;
	struct j_term t[8];
	size_t n;
};

struct ev_junos {
	struct ev_set *lists[64];
	size_t nlists;
	struct j_filter f[8];
	size_t nf;
};

static void node_free(struct j_node *n)
{
	for (size_t i = 0; i < n->nkids; i++)
		node_free(&n->kids[i]);
	free(n->kids);
	for (size_t i = 0; i < n->nw; i++)
		free(n->w[i]);
}

void ev_junos_free(struct ev_junos *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nlists; i++)
		ev_set_free(e->lists[i]);
	free(e);
}

struct lexer {
	const char *p;
	char tok[128];
	int bad;
};

/* Next token: a word, "{", "}" or ";"; 0 at the end. */
static int next(struct lexer *lx)
{
	for (;;) {
		while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n')
			lx->p++;
		if (lx->p[0] == '/' && lx->p[1] == '*') {
			const char *end = strstr(lx->p + 2, "*/");
			if (!end)
				return lx->bad = 1, 0;
			/* One-line comments only: a newline inside would be text escaping. */
			if (memchr(lx->p, '\n', (size_t)(end - lx->p)))
				return lx->bad = 1, 0;
			lx->p = end + 2;
			continue;
		}
		break;
	}
	if (!*lx->p)
		return 0;
	if (strchr("{};", *lx->p)) {
		lx->tok[0] = *lx->p++;
		lx->tok[1] = '\0';
		return 1;
	}
	size_t n = 0;
	while (*lx->p && !strchr(" \t\n{};", *lx->p)) {
		if (n + 1 >= sizeof lx->tok || strchr("\"#*", *lx->p) != NULL)
			return lx->bad = 1, 0;
		lx->tok[n++] = *lx->p++;
	}
	lx->tok[n] = '\0';
	return 1;
}

/* Statements until "}" (nested) or the end (top level). */
static int parse_block(struct lexer *lx, struct j_node *parent, bool nested)
{
	struct j_node cur = {0};

	while (next(lx)) {
		if (strcmp(lx->tok, "}") == 0) {
			if (!nested || cur.nw)
				return -1;
			return 0;
		}
		if (strcmp(lx->tok, ";") == 0 || strcmp(lx->tok, "{") == 0) {
			if (cur.nw == 0)
				return -1;
			if (lx->tok[0] == '{') {
				cur.block = true;
				if (parse_block(lx, &cur, true) < 0) {
					node_free(&cur);
					return -1;
				}
			}
			parent->kids = realloc(parent->kids, (parent->nkids + 1) * sizeof cur);
			parent->kids[parent->nkids++] = cur;
			memset(&cur, 0, sizeof cur);
			continue;
		}
		if (cur.nw == 8)
			return -1;
		if (cur.nw == 0 && strcmp(lx->tok, "replace:") == 0)
			continue;
		cur.w[cur.nw++] = strdup(lx->tok);
	}
	node_free(&cur);
	return lx->bad || nested || cur.nw ? -1 : 0;
}

static bool is(const struct j_node *n, size_t nw, bool block, const char *w0, const char *w1)
{
	return n->nw == nw && n->block == block && strcmp(n->w[0], w0) == 0 &&
	       (!w1 || (nw > 1 && strcmp(n->w[1], w1) == 0));
}

static struct ev_set *list_find(struct ev_junos *e, const char *name)
{
	for (size_t i = 0; i < e->nlists; i++)
		if (strcmp(e->lists[i]->name, name) == 0)
			return e->lists[i];
	return NULL;
}

static int term(struct ev_junos *e, const struct j_node *tn, struct j_filter *f)
{
	struct j_term t = {0};
	bool has_then = false, has_proto = false, has_port = false;

	if (f->n == 8)
		return -1;
	for (size_t i = 0; i < tn->nkids; i++) {
		const struct j_node *k = &tn->kids[i];
		if (is(k, 1, true, "from", NULL)) {
			for (size_t j = 0; j < k->nkids; j++) {
				const struct j_node *m = &k->kids[j];
				if (m->nw == 1 && m->block && m->nkids == 1 &&
				    (strcmp(m->w[0], "source-prefix-list") == 0 ||
				     strcmp(m->w[0], "destination-prefix-list") == 0) &&
				    m->kids[0].nw == 1 && !m->kids[0].block && !t.list) {
					t.dst = m->w[0][0] == 'd';
					t.list = list_find(e, m->kids[0].w[0]);
					if (!t.list || t.list->family != f->family)
						return -1;
				} else if (is(m, 2, false,
					      f->family == P25_INET ? "protocol" : "next-header",
					      "tcp")) {
					has_proto = true;
				} else if (is(m, 2, false, "destination-port", "smtp") && has_proto) {
					has_port = true;
				} else {
					return -1;
				}
			}
			if (!has_proto || !has_port || !t.list)
				return -1;
			t.tcp_smtp = true;
		} else if (is(k, 2, false, "then", "accept")) {
			t.result = EV_ACCEPT;
			has_then = true;
		} else if (is(k, 2, false, "then", "discard")) {
			t.result = EV_DROP;
			has_then = true;
		} else if (is(k, 1, true, "then", NULL) && k->nkids == 1 &&
			   is(&k->kids[0], 2, false, "reject", "tcp-reset")) {
			t.result = EV_REJECT;
			has_then = true;
		} else if (is(k, 1, true, "then", NULL) && k->nkids == 2 &&
			   is(&k->kids[0], 1, false, "syslog", NULL) &&
			   (is(&k->kids[1], 2, false, "reject", "tcp-reset") ||
			    is(&k->kids[1], 1, false, "discard", NULL))) {
			/* compile --log: the verdict, logged to syslog first */
			t.result = k->kids[1].nw == 2 ? EV_REJECT : EV_DROP;
			has_then = true;
		} else {
			return -1;
		}
	}
	if (!has_then)
		return -1;
	f->t[f->n++] = t;
	return 0;
}

static int interpret(struct ev_junos *e, const struct j_node *root)
{
	for (size_t i = 0; i < root->nkids; i++) {
		const struct j_node *top = &root->kids[i];
		if (is(top, 1, true, "policy-options", NULL)) {
			for (size_t j = 0; j < top->nkids; j++) {
				const struct j_node *pl = &top->kids[j];
				struct ev_set *s;
				if (!is(pl, 2, true, "prefix-list", NULL) || list_find(e, pl->w[1]) ||
				    e->nlists == 64 || pl->nkids == 0)
					return -1;
				s = e->lists[e->nlists++] = ev_set_new(pl->w[1], 0);
				for (size_t k = 0; k < pl->nkids; k++) {
					struct p25_prefix p;
					if (pl->kids[k].nw != 1 || pl->kids[k].block ||
					    !ev_prefix(pl->kids[k].w[0], false, &p) ||
					    (s->family && s->family != p.family))
						return -1;
					s->family = p.family;
					ev_set_add(s, &p, false, NULL);
				}
			}
		} else if (is(top, 1, true, "firewall", NULL)) {
			for (size_t j = 0; j < top->nkids; j++) {
				const struct j_node *fam = &top->kids[j];
				int family;
				if (is(fam, 2, true, "family", "inet"))
					family = P25_INET;
				else if (is(fam, 2, true, "family", "inet6"))
					family = P25_INET6;
				else
					return -1;
				for (size_t k = 0; k < fam->nkids; k++) {
					const struct j_node *fl = &fam->kids[k];
					struct j_filter *f;
					if (!is(fl, 2, true, "filter", NULL) || e->nf == 8)
						return -1;
					f = &e->f[e->nf++];
					snprintf(f->name, sizeof f->name, "%s", fl->w[1]);
					f->family = family;
					for (size_t t = 0; t < fl->nkids; t++) {
						if (!is(&fl->kids[t], 2, true, "term", NULL) ||
						    term(e, &fl->kids[t], f) < 0)
							return -1;
					}
				}
			}
		} else {
			return -1;
		}
	}
	return 0;
}

struct ev_junos *ev_junos_load(const char *text, char *err, size_t errlen)
{
	struct ev_junos *e = calloc(1, sizeof *e);
	struct lexer lx = {.p = text};
	struct j_node root = {0};
	int rc = parse_block(&lx, &root, false);

	if (rc < 0)
		ev_fail(err, errlen, "junos: syntax not understood near: %.60s", lx.p);
	else if ((rc = interpret(e, &root)) < 0)
		ev_fail(err, errlen, "junos: statement not understood");
	node_free(&root);
	if (rc < 0) {
		ev_junos_free(e);
		return NULL;
	}
	return e;
}

int ev_junos_packet(const struct ev_junos *e, const struct ev_pkt *p, int dir, char *err,
		    size_t errlen)
{
	char name[64];
	const struct j_filter *f = NULL;

	snprintf(name, sizeof name, "port25-%s%s", dir == 0 ? "outbound" : "inbound",
		 p->src.family == P25_INET ? "" : "-v6");
	for (size_t i = 0; i < e->nf; i++)
		if (strcmp(e->f[i].name, name) == 0 && e->f[i].family == p->src.family)
			f = &e->f[i];
	if (!f)
		return ev_fail(err, errlen, "no filter %s", name), -1;
	for (size_t i = 0; i < f->n; i++) {
		const struct j_term *t = &f->t[i];
		if (t->tcp_smtp && !(p->tcp && p->dport == 25))
			continue;
		if (t->list && ev_set_find(t->list, t->dst ? &p->dst : &p->src) < 0)
			continue;
		return t->result;
	}
	return EV_DROP;
}
