/*
 * Junos: prefix lists per family for permitted prefixes and for each blocked
 * class (direction x action), and one filter per direction and family:
 * permitted first, then reject and discard, then accept everything else.
 * Lists and filters carry `replace:` so `load replace` drops what is gone.
 * Empty lists are left out, with the terms using them: Junos refuses to
 * commit a filter naming an empty or missing list.
 */
#include "compile/compile_priv.h"

#include <stdio.h>

static const char *const fam_sfx[CP_FAMILIES] = {"v4", "v6"};
static const char *const dir_name[2] = {"out", "in"};
static const char *const act_name[2] = {"reject", "drop"};

/* One organization's part (--org) names its lists and filters after it: "port25-HANDLE-...". */
static const char *stem(const struct cp *c, char *buf, size_t len)
{
	snprintf(buf, len, "port25%s%s", c->tag ? "-" : "", c->tag ? c->tag : "");
	return buf;
}

static void list_name(const struct cp *c, char *buf, size_t len, int dir, int act, int f)
{
	char s[48];

	stem(c, s, sizeof s);
	if (dir < 0)
		snprintf(buf, len, "%s-permit-%s", s, fam_sfx[f]);
	else
		snprintf(buf, len, "%s-%s-%s-%s", s, dir_name[dir], act_name[act], fam_sfx[f]);
}

static void prefix_list(struct cp *c, struct p25_buf *b, int dir, int act, int f,
			const struct cp_vec *v)
{
	char name[96], a[P25_PREFIX_STRLEN];

	if (v->n == 0)
		return;
	list_name(c, name, sizeof name, dir, act, f);
	p25_buf_printf(b, "    replace: prefix-list %s {\n", name);
	for (size_t i = 0; i < v->n; i++) {
		/* Each temporary permit annotated where it is (a one-line comment). */
		if (dir < 0)
			cp_temp_notes(c, b, &v->v[i], "        /* %s */\n", 160);
		p25_buf_printf(b, "        %s;\n", cp_pfx(&v->v[i], a));
		c->entries++;
	}
	p25_buf_puts(b, "    }\n");
}

static void term(struct cp *c, struct p25_buf *b, const char *tname, int dir, int act, int f,
		 const char *then)
{
	char name[96];

	list_name(c, name, sizeof name, act < 0 ? -1 : dir, act < 0 ? 0 : act, f);
	p25_buf_printf(b,
		       "            term %s {\n"
		       "                from {\n"
		       "                    %s-prefix-list {\n"
		       "                        %s;\n"
		       "                    }\n"
		       "                    %s tcp;\n"
		       "                    destination-port smtp;\n"
		       "                }\n"
		       "                then %s\n"
		       "            }\n",
		       tname, dir == CP_OUT ? "source" : "destination", name,
		       f == CP_V4 ? "protocol" : "next-header", then);
	c->entries++;
}

int cp_junos(struct cp *c, struct p25_compile_output *out)
{
	struct p25_buf b;
	char load[300], st[48];
	/* Denied attempts to syslog (--log), where watch reads them. */
	const char *reject = c->opts->log ? "{\n                    syslog;\n                    reject "
					    "tcp-reset;\n                }"
					  : "{\n                    reject tcp-reset;\n                }";
	const char *drop = c->opts->log
			       ? "{\n                    syslog;\n                    discard;\n       "
				 "         }"
			       : "discard;";

	p25_buf_init(&b);
	stem(c, st, sizeof st);
	snprintf(load, sizeof load,
		 "load replace FILE; then apply %s-outbound(-v6) as input filters on %s "
		 "interfaces and %s-inbound(-v6) as input filters upstream",
		 st, c->tag ? "the member's" : "member-facing", st);
	cp_header(c, &b, "Junos firewall filters", load);
	if (c->opts->log)
		cp_comment(c, &b, "Denied attempts go to syslog: police the terms or limit the "
			   "firewall log rate, see the operator guide.");
	p25_buf_puts(&b, "policy-options {\n");
	for (int f = 0; f < CP_FAMILIES; f++) {
		prefix_list(c, &b, -1, 0, f, &c->permit[f]);
		for (int d = 0; d < 2; d++)
			for (int a = 0; a < 2; a++)
				prefix_list(c, &b, d, a, f, &c->space[d][a][f]);
	}
	p25_buf_puts(&b, "}\nfirewall {\n");
	for (int f = 0; f < CP_FAMILIES; f++) {
		p25_buf_printf(&b, "    family %s {\n", f == CP_V4 ? "inet" : "inet6");
		for (int d = 0; d < 2; d++) {
			p25_buf_printf(&b, "        replace: filter %s-%s%s {\n", st,
				       d == CP_OUT ? "outbound" : "inbound",
				       f == CP_V4 ? "" : "-v6");
			if (c->permit[f].n)
				term(c, &b, "permitted", d, -1, f, "accept;");
			if (c->space[d][P25_ACTION_REJECT][f].n)
				term(c, &b, "reject", d, P25_ACTION_REJECT, f, reject);
			if (c->space[d][P25_ACTION_DROP][f].n)
				term(c, &b, "drop", d, P25_ACTION_DROP, f, drop);
			p25_buf_puts(&b, "            term other {\n"
					 "                then accept;\n"
					 "            }\n"
					 "        }\n");
			c->entries++;
		}
		p25_buf_puts(&b, "    }\n");
	}
	p25_buf_puts(&b, "}\n");
	if (cp_add_part(out, "junos", "load replace FILE", &b) < 0) {
		p25_buf_free(&b);
		return -1;
	}
	return 0;
}
