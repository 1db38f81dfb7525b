/*
 * What the operator does next about each host, and which hosts are one
 * server seen on both address families.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/report_int.h"

/* The one HELO name that identifies a server, or NULL: a literal, a bare word or several names do not. */
static const char *server_name(const struct p25_an_host *h)
{
	const struct p25_an_smtp *s = p25_an_host_smtp(h);
	const char *n = s->helo_names[0];

	if (s->nhelo_names != 1 || !n[0] || n[0] == '[' || !strchr(n, '.'))
		return NULL;
	/* An IPv4 literal without brackets is no name either. */
	if (strspn(n, "0123456789.") == strlen(n))
		return NULL;
	return n;
}

struct cand {
	ssize_t org;
	const char *name;
	size_t idx;
};

static int cand_cmp(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	int c = a->org < b->org ? -1 : a->org > b->org;

	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = a->idx < b->idx ? -1 : a->idx > b->idx;
	return c;
}

/*
 * After the hosts are sorted: a run of hosts of one organization with one
 * HELO name that holds one IPv4 address and IPv6 ones is one server.  Bots are left out: a
 * shared name there is an engine's, not a machine's.  Computed from the
 * sorted table, so the input's order does not matter.
 */
void p25_an_group_servers(struct p25_analyzer *a)
{
	struct cand *c = malloc(a->nhosts * sizeof *c + 1);
	size_t n = 0;

	free(a->same_next);
	a->same_next = malloc(a->nhosts * sizeof *a->same_next + 1);
	for (size_t i = 0; i < a->nhosts; i++) {
		a->hosts[i].same_as = -1;
		if (a->same_next)
			a->same_next[i] = -1;
	}
	if (!c || !a->same_next) {
		/* Out of memory: every host stands alone, which is what it did before. */
		free(c);
		return;
	}
	for (size_t i = 0; i < a->nhosts; i++) {
		const struct p25_an_host *h = &a->hosts[i];
		const char *name = server_name(h);
		if (name && h->cls != P25_AN_BOT && h->out25.conns)
			c[n++] = (struct cand){h->org, name, i};
	}
	qsort(c, n, sizeof *c, cand_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		unsigned v4 = 0, v6 = 0;
		for (j = i; j < n && c[j].org == c[i].org && !strcmp(c[j].name, c[i].name); j++) {
			if (a->hosts[c[j].idx].addr.family == P25_INET)
				v4++;
			else
				v6++;
		}
		/*
		 * A machine has one IPv4 address and may have several IPv6 ones;
		 * two IPv4 hosts under one name are two machines (or a copied
		 * configuration), and which IPv6 address goes with which is unknown.
		 */
		if (v4 != 1 || !v6)
			continue;
		for (size_t k = i; k < j; k++) {
			if (k > i)
				a->hosts[c[k].idx].same_as = (ssize_t)c[i].idx;
			a->same_next[c[k].idx] = k + 1 < j ? (ssize_t)c[k + 1].idx : -1;
		}
	}
	free(c);
}

size_t p25_an_same_server(const struct p25_analyzer *a, size_t i, size_t *idx, size_t max)
{
	size_t n = 0;
	ssize_t k = a->hosts[i].same_as >= 0 ? a->hosts[i].same_as : (ssize_t)i;

	if (max)
		idx[n++] = i;
	if (!a->same_next || (a->hosts[i].same_as < 0 && a->same_next[i] < 0))
		return n;
	for (; k >= 0 && n < max; k = a->same_next[k])
		if ((size_t)k != i)
			idx[n++] = (size_t)k;
	return n;
}

bool p25_an_group_to_register(const struct p25_analyzer *a, const struct p25_an_host *h)
{
	size_t i = (size_t)(h - a->hosts);
	ssize_t k = h->same_as >= 0 ? h->same_as : (ssize_t)i;

	if (p25_an_to_register(h))
		return true;
	if (!a->same_next || !p25_an_would_block(h) || h->cls == P25_AN_BOT)
		return false;
	if (h->same_as < 0 && a->same_next[i] < 0)
		return false;
	for (; k >= 0; k = a->same_next[k])
		if (p25_an_to_register(&a->hosts[k]))
			return true;
	return false;
}

int p25_an_set_security_contact(struct p25_analyzer *a, const char *org, const char *name,
                                const char *email)
{
	size_t o;

	if (!a->model)
		return 1;
	for (o = 0; o < a->model->norgs && strcmp(a->model->orgs[o].handle, org); o++)
		;
	if (o == a->model->norgs)
		return 1;
	if (!a->sec_name) {
		a->sec_name = calloc(a->model->norgs + 1, sizeof *a->sec_name);
		a->sec_email = calloc(a->model->norgs + 1, sizeof *a->sec_email);
		if (!a->sec_name || !a->sec_email) {
			free(a->sec_name);
			free(a->sec_email);
			a->sec_name = a->sec_email = NULL;
			return -1;
		}
	}
	free(a->sec_name[o]);
	free(a->sec_email[o]);
	a->sec_name[o] = strdup(name ? name : "");
	a->sec_email[o] = strdup(email ? email : "");
	return a->sec_name[o] && a->sec_email[o] ? 0 : -1;
}

const char *p25_an_host_org(const struct p25_analyzer *a, const struct p25_an_host *h)
{
	return p25_an_org_handle(a, h);
}

int p25_an_set_suggest_file(struct p25_analyzer *a, const char *path)
{
	free(a->suggest);
	a->suggest = path ? strdup(path) : NULL;
	return !path || a->suggest ? 0 : -1;
}

const char *p25_an_next_step(const struct p25_analyzer *a, const struct p25_an_host *h,
                             char *buf, size_t len)
{
	const char *org = p25_an_org_handle(a, h);
	char addr[P25_PREFIX_STRLEN];
	bool block = p25_an_would_block(h);

	p25_addr_format(&h->addr, addr, sizeof addr);
	if (h->cls == P25_AN_PERMITTED) {
		snprintf(buf, len, "nothing to do: registered");
	} else if (p25_an_group_to_register(a, h)) {
		if (a->suggest)
			snprintf(buf, len, "register it: port25 import %s", a->suggest);
		else if (org)
			snprintf(buf, len,
			         "register it: port25 permit add %s %s --kind mail --description "
			         "\"mail server\"",
			         org, addr);
		else
			snprintf(buf, len,
			         "register it: add its organization and address space, then "
			         "port25 permit add ORG %s --kind mail --description \"mail server\"",
			         addr);
	} else if (h->cls == P25_AN_BOT) {
		ssize_t o = h->org;
		if (org && a->sec_name && a->sec_name[o] && (a->sec_name[o][0] || a->sec_email[o][0]))
			snprintf(buf, len, "tell the security contact %s <%s>", a->sec_name[o],
			         a->sec_email[o]);
		else if (org)
			snprintf(buf, len,
			         "tell %s: it has no security contact in the registry "
			         "(port25 contact add %s ... --role security)",
			         org, org);
		else
			snprintf(buf, len, "find its owner and clean it: it looks infected");
	} else if (h->cls == P25_AN_CLIENT) {
		snprintf(buf, len, "nothing to do: it submits on 465/587");
	} else if (h->cls == P25_AN_INBOUND && !block) {
		snprintf(buf, len, "nothing to do: it only receives mail");
	} else if (block) {
		snprintf(buf, len, "review it: blocking would cut off its port-25 traffic");
	} else {
		snprintf(buf, len, "nothing to do");
	}
	return buf;
}
