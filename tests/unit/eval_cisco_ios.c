/*
 * Cisco IOS evaluator: named extended IPv4 and IPv6 access lists with
 * remarks and `permit|deny tcp SRC DST eq smtp` / `permit ip|ipv6 any any`
 * entries, first match wins, implicit deny at the end.
 */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct a_ace {
	bool permit, tcp_smtp;
	struct p25_prefix src, dst; /* len 0: any */
};

struct a_acl {
	char name[64];
	int family;
	struct a_ace *v;
	size_t n;
};

struct ev_ios {
	struct a_acl acl[8];
	size_t n;
};

void ev_ios_free(struct ev_ios *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->acl[i].v);
	free(e);
}

static struct a_acl *acl_find(struct ev_ios *e, const char *name)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->acl[i].name, name) == 0)
			return &e->acl[i];
	return NULL;
}

/* An address match at t[*i]: any | host A | A WILDCARD (IPv4) | A/len (IPv6). */
static bool addr_match(char **t, size_t n, size_t *i, int fam, struct p25_prefix *out)
{
	struct p25_addr a, w;
	struct p25_diag d;

	memset(out, 0, sizeof *out);
	out->family = (uint8_t)fam;
	if (*i >= n)
		return false;
	if (strcmp(t[*i], "any") == 0) {
		(*i)++;
		return true;
	}
	if (strcmp(t[*i], "host") == 0) {
		if (*i + 1 >= n || p25_addr_parse(t[*i + 1], 0, &a, &d) < 0 || a.family != fam)
			return false;
		p25_prefix_host(out, &a);
		*i += 2;
		return true;
	}
	if (fam == P25_INET6) {
		if (!ev_prefix(t[*i], false, out) || out->family != fam ||
		    p25_prefix_is_host(out) || out->len == 0)
			return false;
		(*i)++;
		return true;
	}
	if (*i + 1 >= n || p25_addr_parse(t[*i], 0, &a, &d) < 0 ||
	    p25_addr_parse(t[*i + 1], 0, &w, &d) < 0 || a.family != P25_INET || w.family != P25_INET)
		return false;
	/* Only contiguous wildcards, as port25 writes them; the network must be aligned. */
	uint32_t wm = p25_addr_v4(&w);
	if ((wm & (wm + 1)) != 0)
		return false;
	unsigned len = 32;
	while (wm) {
		len--;
		wm >>= 1;
	}
	char buf[20];
	if (strcmp(p25_v4_wildcard(len, buf, sizeof buf), t[*i + 1]) != 0 || len == 32)
		return false;
	p25_prefix_from_addr(out, &a, len);
	if (out->net != a.bits)
		return false;
	*i += 2;
	return true;
}

struct ev_ios *ev_ios_load(const char *text, char *err, size_t errlen)
{
	struct ev_ios *e = calloc(1, sizeof *e);
	struct ev_lines L;
	struct a_acl *cur = NULL;
	bool ended = false;
	size_t i;

	ev_lines_split(text, &L);
	for (i = 0; i < L.n; i++) {
		char *raw = L.v[i], *s, *t[16];
		size_t n, k = 0;
		bool indented = raw[0] == ' ';

		if (raw[0] == '!' || raw[0] == '\0')
			continue;
		if (ended)
			goto bad;
		if (indented && strncmp(raw, " remark ", 8) == 0) {
			if (!cur || strlen(raw + 8) > 100 || strchr(raw, '\r'))
				goto bad;
			continue;
		}
		s = ev_trim(raw);
		n = ev_tokens(s, t, 16);
		if (!indented) {
			cur = NULL;
			if (n == 1 && strcmp(t[0], "end") == 0) {
				ended = true;
			} else if (n == 5 && strcmp(t[0], "no") == 0 && strcmp(t[1], "ip") == 0 &&
				   strcmp(t[2], "access-list") == 0 && strcmp(t[3], "extended") == 0) {
				struct a_acl *a = acl_find(e, t[4]);
				if (a)
					a->n = 0;
			} else if (n == 4 && strcmp(t[0], "no") == 0 && strcmp(t[1], "ipv6") == 0 &&
				   strcmp(t[2], "access-list") == 0) {
				struct a_acl *a = acl_find(e, t[3]);
				if (a)
					a->n = 0;
			} else if ((n == 4 && strcmp(t[0], "ip") == 0 && strcmp(t[1], "access-list") == 0 &&
				    strcmp(t[2], "extended") == 0) ||
				   (n == 3 && strcmp(t[0], "ipv6") == 0 && strcmp(t[1], "access-list") == 0)) {
				int fam = n == 4 ? P25_INET : P25_INET6;
				cur = acl_find(e, t[n - 1]);
				if (cur && cur->family != fam)
					goto bad;
				if (!cur) {
					if (e->n == 8)
						goto bad;
					cur = &e->acl[e->n++];
					snprintf(cur->name, sizeof cur->name, "%s", t[n - 1]);
					cur->family = fam;
				}
			} else {
				goto bad;
			}
			continue;
		}
		if (!cur || n < 3)
			goto bad;
		struct a_ace ace = {0};
		if (strcmp(t[0], "permit") == 0)
			ace.permit = true;
		else if (strcmp(t[0], "deny") != 0)
			goto bad;
		if (strcmp(t[1], cur->family == P25_INET ? "ip" : "ipv6") == 0 && n == 4 &&
		    strcmp(t[2], "any") == 0 && strcmp(t[3], "any") == 0) {
			ace.src.family = ace.dst.family = (uint8_t)cur->family;
		} else if (strcmp(t[1], "tcp") == 0) {
			k = 2;
			/* compile --log: a trailing `log` on the entry, which decides the same */
			if (n > 3 && strcmp(t[n - 1], "log") == 0 && !ace.permit)
				n--;
			if (!addr_match(t, n, &k, cur->family, &ace.src) ||
			    !addr_match(t, n, &k, cur->family, &ace.dst) || k + 2 != n ||
			    strcmp(t[k], "eq") != 0 || strcmp(t[k + 1], "smtp") != 0)
				goto bad;
			ace.tcp_smtp = true;
		} else {
			goto bad;
		}
		cur->v = realloc(cur->v, (cur->n + 1) * sizeof *cur->v);
		cur->v[cur->n++] = ace;
	}
	ev_lines_free(&L);
	return e;
bad:
	ev_fail(err, errlen, "cisco-ios line %zu: not understood: %.200s", i + 1, L.v[i]);
	ev_lines_free(&L);
	ev_ios_free(e);
	return NULL;
}

int ev_ios_packet(const struct ev_ios *e, const struct ev_pkt *p, int dir, char *err,
		  size_t errlen)
{
	static const char *const names[2][2] = {{"PORT25-OUTBOUND", "PORT25-OUTBOUND-V6"},
						{"PORT25-INBOUND", "PORT25-INBOUND-V6"}};
	const char *name = names[dir][p->src.family == P25_INET ? 0 : 1];
	const struct a_acl *a = acl_find((struct ev_ios *)e, name);

	if (!a)
		return ev_fail(err, errlen, "no access list %s", name), -1;
	for (size_t i = 0; i < a->n; i++) {
		const struct a_ace *c = &a->v[i];
		if (c->tcp_smtp && !(p->tcp && p->dport == 25))
			continue;
		if (!p25_prefix_contains_addr(&c->src, &p->src) ||
		    !p25_prefix_contains_addr(&c->dst, &p->dst))
			continue;
		return c->permit ? EV_ACCEPT : EV_DENY;
	}
	return EV_DENY;
}
