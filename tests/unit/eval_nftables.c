/*
 * nftables evaluator: the table port25 emits, i.e. interval sets, verdict
 * maps, chains of rules built from `tcp dport 25`, `ip[6] saddr|daddr @set`,
 * `ip[6] saddr|daddr vmap @map`, `counter`, and the verdicts return, accept,
 * drop, `reject with tcp reset` and `jump CHAIN`; one base chain on the
 * forward hook with policy accept.  Named counters, `counter name "X"`,
 * `log prefix "..." group N`, rule comments and the connection-attempt match
 * `tcp flags & (syn | ack) == syn` are accepted; a rule without a verdict
 * only counts or logs, so it has no effect on the packet's fate.
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

enum m_kind { M_TCP_DPORT, M_SET, M_VMAP };
enum v_kind { V_NONE, V_RETURN, V_ACCEPT, V_DROP, V_REJECT, V_JUMP };

struct n_match {
	enum m_kind kind;
	int family;
	bool dst;
	uint16_t port;
	struct ev_set *set;
};

struct n_rule {
	struct n_match m[8];
	size_t nm;
	enum v_kind v;
	char *target;
	bool nonterminal; /* counts or logs only */
};

struct n_chain {
	char *name;
	bool base;
	struct n_rule *r;
	size_t n;
};

struct ev_nft {
	struct ev_set *sets[64];
	bool is_map[64];
	size_t nsets;
	struct n_chain *chains;
	size_t nchains;
};

static void nft_clear(struct ev_nft *e)
{
	for (size_t i = 0; i < e->nsets; i++)
		ev_set_free(e->sets[i]);
	for (size_t i = 0; i < e->nchains; i++) {
		for (size_t k = 0; k < e->chains[i].n; k++)
			free(e->chains[i].r[k].target);
		free(e->chains[i].r);
		free(e->chains[i].name);
	}
	free(e->chains);
	e->chains = NULL;
	e->nchains = 0;
	e->nsets = 0;
}

void ev_nft_free(struct ev_nft *e)
{
	if (!e)
		return;
	nft_clear(e);
	free(e);
}

static struct ev_set *find_set(const struct ev_nft *e, const char *ref, bool map)
{
	if (ref[0] != '@')
		return NULL;
	for (size_t i = 0; i < e->nsets; i++)
		if (e->is_map[i] == map && strcmp(e->sets[i]->name, ref + 1) == 0)
			return e->sets[i];
	return NULL;
}

static const struct n_chain *find_chain(const struct ev_nft *e, const char *name)
{
	for (size_t i = 0; i < e->nchains; i++)
		if (strcmp(e->chains[i].name, name) == 0)
			return &e->chains[i];
	return NULL;
}

static int parse_rule(struct ev_nft *e, char *line, struct n_rule *r, char *err, size_t errlen)
{
	char *t[32];
	size_t n = ev_tokens(line, t, 32), i = 0;

	memset(r, 0, sizeof *r);
	for (size_t k = 0; k < n; k++) {
		if (strcmp(t[k], "comment") == 0) {
			n = k; /* a comment ends the rule */
			break;
		}
	}
	while (i < n) {
		if (r->nm == 8)
			return ev_fail(err, errlen, "too many matches"), -1;
		if (strcmp(t[i], "tcp") == 0 && i + 2 < n && strcmp(t[i + 1], "dport") == 0) {
			r->m[r->nm++] = (struct n_match){.kind = M_TCP_DPORT,
							  .port = (uint16_t)atoi(t[i + 2])};
			if (strcmp(t[i + 2], "25") != 0)
				return ev_fail(err, errlen, "unexpected port %s", t[i + 2]), -1;
			i += 3;
		} else if ((strcmp(t[i], "ip") == 0 || strcmp(t[i], "ip6") == 0) && i + 2 < n) {
			struct n_match m = {.family = t[i][2] ? P25_INET6 : P25_INET};
			if (strcmp(t[i + 1], "saddr") == 0)
				m.dst = false;
			else if (strcmp(t[i + 1], "daddr") == 0)
				m.dst = true;
			else
				return ev_fail(err, errlen, "unknown field '%s'", t[i + 1]), -1;
			if (strcmp(t[i + 2], "vmap") == 0 && i + 3 < n) {
				m.kind = M_VMAP;
				m.set = find_set(e, t[i + 3], true);
				i += 4;
			} else {
				m.kind = M_SET;
				m.set = find_set(e, t[i + 2], false);
				i += 3;
			}
			if (!m.set)
				return ev_fail(err, errlen, "unknown set or map"), -1;
			if (m.set->family != m.family)
				return ev_fail(err, errlen, "set %s: wrong family", m.set->name), -1;
			r->m[r->nm++] = m;
		} else if (strcmp(t[i], "tcp") == 0 && i + 6 < n && strcmp(t[i + 1], "flags") == 0 &&
			   strcmp(t[i + 2], "&") == 0 && strcmp(t[i + 3], "(syn") == 0 &&
			   strcmp(t[i + 4], "|") == 0 && strcmp(t[i + 5], "ack)") == 0 &&
			   strcmp(t[i + 6], "==") == 0 && i + 7 < n && strcmp(t[i + 7], "syn") == 0) {
			r->nonterminal = true;
			i += 8;
		} else if (strcmp(t[i], "counter") == 0 && i + 2 < n && strcmp(t[i + 1], "name") == 0) {
			r->nonterminal = true;
			i += 3;
		} else if (strcmp(t[i], "log") == 0 && i + 2 < n && strcmp(t[i + 1], "prefix") == 0) {
			/* the tokenizer keeps the quoted prefix whole */
			if (i + 4 >= n || strcmp(t[i + 3], "group") != 0)
				return ev_fail(err, errlen, "bad log statement"), -1;
			r->nonterminal = true;
			i += 5;
		} else if (strcmp(t[i], "counter") == 0) {
			i++;
		} else if (strcmp(t[i], "return") == 0 || strcmp(t[i], "accept") == 0 ||
			   strcmp(t[i], "drop") == 0) {
			r->v = t[i][0] == 'r' ? V_RETURN : t[i][0] == 'a' ? V_ACCEPT : V_DROP;
			i++;
			break;
		} else if (strcmp(t[i], "reject") == 0 && i + 3 < n &&
			   strcmp(t[i + 1], "with") == 0 && strcmp(t[i + 2], "tcp") == 0 &&
			   strcmp(t[i + 3], "reset") == 0) {
			r->v = V_REJECT;
			i += 4;
			break;
		} else if (strcmp(t[i], "jump") == 0 && i + 1 < n) {
			r->v = V_JUMP;
			r->target = strdup(t[i + 1]);
			i += 2;
			break;
		} else {
			return ev_fail(err, errlen, "unknown rule word '%s'", t[i]), -1;
		}
	}
	if (i != n)
		return ev_fail(err, errlen, "words after the verdict"), -1;
	for (size_t k = 0; k < r->nm; k++)
		if (r->m[k].kind == M_VMAP && (r->v != V_NONE || r->nm != 1))
			return ev_fail(err, errlen, "vmap must stand alone"), -1;
	if (r->v != V_NONE)
		r->nonterminal = false;
	if (r->v == V_NONE && !r->nonterminal && !(r->nm == 1 && r->m[0].kind == M_VMAP))
		return ev_fail(err, errlen, "rule without verdict"), -1;
	return 0;
}

/* Element "PREFIX" or "PREFIX : jump CHAIN", with a comma on all but the last. */
static int parse_element(struct ev_set *s, bool map, char *line, bool *last, char *err,
			 size_t errlen)
{
	char *t[8];
	size_t n = ev_tokens(line, t, 8);
	char *lastw = n ? t[n - 1] : NULL;
	size_t l = lastw ? strlen(lastw) : 0;
	struct p25_prefix p;

	*last = !(l && lastw[l - 1] == ',');
	if (!*last)
		lastw[l - 1] = '\0';
	if ((map && (n != 4 || strcmp(t[1], ":") || strcmp(t[2], "jump"))) || (!map && n != 1))
		return ev_fail(err, errlen, "bad element"), -1;
	if (!ev_prefix(t[0], true, &p) || p.family != s->family)
		return ev_fail(err, errlen, "bad element prefix '%s'", t[0]), -1;
	for (size_t i = 0; i < s->n; i++)
		if (p25_prefix_overlaps(&s->v[i], &p))
			return ev_fail(err, errlen, "overlapping interval %s", t[0]), -1;
	ev_set_add(s, &p, false, map ? t[3] : NULL);
	return 0;
}

struct ev_nft *ev_nft_load(const char *text, char *err, size_t errlen)
{
	struct ev_nft *e = calloc(1, sizeof *e);
	struct ev_lines L;
	enum { TOP, TABLE, SET, ELEMS, ELEMS_DONE, CHAIN, COUNTER } st = TOP;
	struct ev_set *cur = NULL;
	bool cur_map = false, last = false;
	struct n_chain *ch = NULL;
	size_t i;
	int header = 0;

	ev_lines_split(text, &L);
	for (i = 0; i < L.n; i++) {
		char *s = ev_trim(L.v[i]);
		char *t[16];
		size_t n;

		if (!*s || *s == '#')
			continue;
		switch (st) {
		case TOP:
			if (strcmp(s, "table inet port25") == 0 && header == 0) {
				header = 1;
			} else if (strcmp(s, "delete table inet port25") == 0 && header == 1) {
				header = 2;
				nft_clear(e);
			} else if (strcmp(s, "table inet port25 {") == 0 && header == 2) {
				st = TABLE;
			} else {
				goto bad;
			}
			break;
		case TABLE:
			n = ev_tokens(s, t, 16);
			if (n == 1 && strcmp(t[0], "}") == 0) {
				st = TOP;
				header = 3;
			} else if (n == 3 && (strcmp(t[0], "set") == 0 || strcmp(t[0], "map") == 0) &&
				   strcmp(t[2], "{") == 0) {
				if (e->nsets == 64)
					goto bad;
				cur_map = t[0][0] == 'm';
				cur = ev_set_new(t[1], 0);
				e->is_map[e->nsets] = cur_map;
				e->sets[e->nsets++] = cur;
				st = SET;
			} else if (n == 3 && strcmp(t[0], "counter") == 0 && strcmp(t[2], "{") == 0) {
				st = COUNTER;
			} else if (n == 3 && strcmp(t[0], "chain") == 0 && strcmp(t[2], "{") == 0) {
				if (find_chain(e, t[1]))
					goto bad;
				e->chains = realloc(e->chains, (e->nchains + 1) * sizeof *e->chains);
				ch = &e->chains[e->nchains++];
				memset(ch, 0, sizeof *ch);
				ch->name = strdup(t[1]);
				st = CHAIN;
			} else {
				goto bad;
			}
			break;
		case SET:
			if (strcmp(s, cur_map ? "type ipv4_addr : verdict" : "type ipv4_addr") == 0)
				cur->family = P25_INET;
			else if (strcmp(s, cur_map ? "type ipv6_addr : verdict" : "type ipv6_addr") == 0)
				cur->family = P25_INET6;
			else if (strcmp(s, "flags interval") == 0 && cur->family)
				;
			else if (strcmp(s, "elements = {") == 0 && cur->family && cur->n == 0)
				st = ELEMS;
			else if (strcmp(s, "}") == 0 && cur->family)
				st = TABLE;
			else
				goto bad;
			break;
		case ELEMS:
			if (parse_element(cur, cur_map, s, &last, err, errlen) < 0)
				goto fail;
			if (last)
				st = ELEMS_DONE;
			break;
		case COUNTER:
			if (strcmp(s, "}") != 0)
				goto bad;
			st = TABLE;
			break;
		case ELEMS_DONE:
			if (strcmp(s, "}") != 0)
				goto bad;
			st = SET;
			break;
		case CHAIN:
			if (strcmp(s, "}") == 0) {
				st = TABLE;
			} else if (strcmp(s, "type filter hook forward priority filter; policy accept;") ==
					   0 &&
				   ch->n == 0 && !ch->base) {
				ch->base = true;
			} else {
				ch->r = realloc(ch->r, (ch->n + 1) * sizeof *ch->r);
				if (parse_rule(e, s, &ch->r[ch->n], err, errlen) < 0)
					goto fail;
				ch->n++;
			}
			break;
		}
	}
	if (st != TOP || header != 3)
		return ev_fail(err, errlen, "nftables: incomplete table"), ev_lines_free(&L),
		       ev_nft_free(e), NULL;
	/* Every jump must name a chain, as nft checks when loading. */
	for (size_t c = 0; c < e->nchains; c++)
		for (size_t k = 0; k < e->chains[c].n; k++)
			if (e->chains[c].r[k].v == V_JUMP &&
			    !find_chain(e, e->chains[c].r[k].target))
				return ev_fail(err, errlen, "jump to unknown chain"), ev_lines_free(&L),
				       ev_nft_free(e), NULL;
	for (size_t k = 0; k < e->nsets; k++)
		for (size_t j = 0; e->is_map[k] && j < e->sets[k]->n; j++)
			if (!find_chain(e, e->sets[k]->val[j]))
				return ev_fail(err, errlen, "map jumps to unknown chain"),
				       ev_lines_free(&L), ev_nft_free(e), NULL;
	ev_lines_free(&L);
	return e;
bad: {
	char msg[128];
	snprintf(msg, sizeof msg, "%s", L.v[i]);
	ev_fail(err, errlen, "nftables line %zu: not understood: %s", i + 1, msg);
}
fail:
	if (strncmp(err, "nftables", 8) != 0) {
		char msg[256];
		snprintf(msg, sizeof msg, "nftables line %zu: %s", i + 1, err);
		snprintf(err, errlen, "%s", msg);
	}
	ev_lines_free(&L);
	ev_nft_free(e);
	return NULL;
}

/* Returns a verdict kind; V_NONE / V_RETURN mean "fell off or returned". */
static enum v_kind run_chain(const struct ev_nft *e, const struct n_chain *c,
			     const struct ev_pkt *p, int depth)
{
	if (depth > 16)
		abort();
	for (size_t i = 0; i < c->n; i++) {
		const struct n_rule *r = &c->r[i];
		bool all = true;
		const char *jump = r->target;

		for (size_t k = 0; k < r->nm && all; k++) {
			const struct n_match *m = &r->m[k];
			const struct p25_addr *a = m->dst ? &p->dst : &p->src;
			switch (m->kind) {
			case M_TCP_DPORT: all = p->tcp && p->dport == m->port; break;
			case M_SET: all = a->family == m->family && ev_set_find(m->set, a) >= 0; break;
			case M_VMAP: {
				ssize_t j = a->family == m->family ? ev_set_find(m->set, a) : -1;
				all = j >= 0;
				if (all)
					jump = m->set->val[j];
				break;
			}
			}
		}
		if (!all || r->nonterminal)
			continue;
		if (r->v == V_JUMP || (r->v == V_NONE && jump)) {
			enum v_kind v = run_chain(e, find_chain(e, jump), p, depth + 1);
			if (v == V_ACCEPT || v == V_DROP || v == V_REJECT)
				return v;
			continue;
		}
		return r->v;
	}
	return V_NONE;
}

int ev_nft_packet(const struct ev_nft *e, const struct ev_pkt *p, char *err, size_t errlen)
{
	for (size_t i = 0; i < e->nchains; i++) {
		if (!e->chains[i].base)
			continue;
		enum v_kind v = run_chain(e, &e->chains[i], p, 0);
		if (v == V_RETURN)
			return ev_fail(err, errlen, "return from a base chain"), -1;
		return v == V_DROP ? EV_DROP : v == V_REJECT ? EV_REJECT : EV_ACCEPT;
	}
	return ev_fail(err, errlen, "no base chain"), -1;
}
