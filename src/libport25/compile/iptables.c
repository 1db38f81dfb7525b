/*
 * iptables: ipset hash:net sets per blocked class (direction x action) and
 * for permitted prefixes, a PORT25 chain for iptables-restore --noflush
 * (declaring the chain flushes it, so reloading replaces the rules), and a
 * hook script that inserts the jump from FORWARD only when it is missing,
 * since iptables-restore cannot add a rule idempotently.
 *
 * Sets are filled under a temporary name and swapped in, so a reload never
 * shows an empty permit set (which would block every mail server).
 */
#include "compile/compile_priv.h"

#include <stdio.h>

static const char *const fam_ipset[CP_FAMILIES] = {"inet", "inet6"};
static const char *const dir_name[2] = {"out", "in"};
static const char *const dir_flag[2] = {"src", "dst"};
static const char *const act_name[2] = {"reject", "drop"};

/* Fixed parameters: `create -exist` succeeds only when they match the live set. */
#define SET_MAXELEM 4194304
#define SET_PARAMS  "hashsize 1024 maxelem 4194304"

static void set_name(char *buf, size_t len, int dir, int act, int f)
{
	if (dir < 0)
		snprintf(buf, len, "port25-permit%d", f == CP_V4 ? 4 : 6);
	else
		snprintf(buf, len, "port25-%s-%s%d", dir_name[dir], act_name[act], f == CP_V4 ? 4 : 6);
}

/* hash:net takes lengths from 1: the whole address space goes in as two halves. */
static void add_elem(struct cp *c, struct p25_buf *b, const char *set, const struct p25_prefix *p)
{
	char a[P25_PREFIX_STRLEN];

	if (p->len == 0) {
		struct p25_prefix h = *p;
		h.len = 1;
		p25_buf_printf(b, "add %s %s\n", set, cp_pfx(&h, a));
		h.net = (p25_u128)1 << 127;
		p25_buf_printf(b, "add %s %s\n", set, cp_pfx(&h, a));
		c->entries += 2;
		return;
	}
	p25_buf_printf(b, "add %s %s\n", set, cp_pfx(p, a));
	c->entries++;
}

/* -1 with c->err when the set would not fit: ipset restore would fail half-way. */
static int one_set(struct cp *c, struct p25_buf *b, int dir, int act, int f,
		   const struct cp_vec *v)
{
	char name[32], tmp[40];
	size_t before = c->entries;

	set_name(name, sizeof name, dir, act, f);
	snprintf(tmp, sizeof tmp, "%s-new", name);
	p25_buf_printf(b, "create %s hash:net family %s " SET_PARAMS " -exist\n", name,
		       fam_ipset[f]);
	p25_buf_printf(b, "create %s hash:net family %s " SET_PARAMS " -exist\n", tmp,
		       fam_ipset[f]);
	p25_buf_printf(b, "flush %s\n", tmp);
	for (size_t i = 0; i < v->n; i++) {
		if (dir < 0)
			cp_temp_notes(c, b, &v->v[i], "# %s\n", 160);
		add_elem(c, b, tmp, &v->v[i]);
	}
	if (c->entries - before > SET_MAXELEM) {
		snprintf(c->err, sizeof c->err,
			 "iptables: ipset set %s would hold %zu entries, more than its maxelem of "
			 "%d; use the nftables target",
			 name, c->entries - before, SET_MAXELEM);
		return -1;
	}
	p25_buf_printf(b, "swap %s %s\n", tmp, name);
	p25_buf_printf(b, "destroy %s\n", tmp);
	return 0;
}

static void rules(struct cp *c, struct p25_buf *b, int f)
{
	char set[32], permit[32];

	p25_buf_puts(b, "*filter\n:PORT25 - [0:0]\n");
	set_name(permit, sizeof permit, -1, 0, f);
	for (int d = 0; d < 2; d++) {
		for (int a = 0; a < 2; a++) {
			if (c->space[d][a][f].n == 0)
				continue;
			set_name(set, sizeof set, d, a, f);
			/* Logged attempts (--log): SYNs only, rate-limited, before the verdict. */
			if (c->opts->log) {
				p25_buf_printf(b,
					       "-A PORT25 -p tcp -m tcp --dport 25 --tcp-flags SYN,ACK SYN "
					       "-m set --match-set %s %s -m set ! --match-set %s %s "
					       "-m limit --limit 20/second --limit-burst 100 "
					       "-j NFLOG --nflog-group %d --nflog-prefix \"port25 %s %s\"\n",
					       set, dir_flag[d], permit, dir_flag[d],
					       c->opts->nflog_group > 0 ? c->opts->nflog_group : 25,
					       d == CP_OUT ? "out" : "in", act_name[a]);
				c->entries++;
			}
			p25_buf_printf(b,
				       "-A PORT25 -p tcp -m tcp --dport 25 -m set --match-set %s %s "
				       "-m set ! --match-set %s %s "
				       "-m comment --comment \"port25 %s %s\" -j %s\n",
				       set, dir_flag[d], permit, dir_flag[d],
				       d == CP_OUT ? "outbound" : "inbound", act_name[a],
				       a == P25_ACTION_REJECT ? "REJECT --reject-with tcp-reset"
							      : "DROP");
			c->entries++;
		}
	}
	p25_buf_puts(b, "COMMIT\n");
}

int cp_iptables(struct cp *c, struct p25_compile_output *out)
{
	struct p25_buf b;
	static const char *const part[CP_FAMILIES] = {"rules.v4", "rules.v6"};
	static const char *const hint[CP_FAMILIES] = {"iptables-restore --noflush FILE",
						      "ip6tables-restore --noflush FILE"};

	p25_buf_init(&b);
	cp_header(c, &b, "ipset sets", "ipset restore -file FILE (before the rules)");
	for (int f = 0; f < CP_FAMILIES; f++) {
		if (one_set(c, &b, -1, 0, f, &c->permit[f]) < 0)
			goto fail;
		for (int d = 0; d < 2; d++)
			for (int a = 0; a < 2; a++)
				if (one_set(c, &b, d, a, f, &c->space[d][a][f]) < 0)
					goto fail;
	}
	if (cp_add_part(out, "ipset", "ipset restore -file FILE", &b) < 0)
		goto fail;
	for (int f = 0; f < CP_FAMILIES; f++) {
		cp_header(c, &b, f == CP_V4 ? "iptables rules" : "ip6tables rules", hint[f]);
		rules(c, &b, f);
		if (cp_add_part(out, part[f], hint[f], &b) < 0)
			goto fail;
	}
	cp_comment(c, &b, "port25 hook: jump from FORWARD to PORT25 for TCP port 25, added only");
	cp_comment(c, &b, "when missing, so running it again changes nothing.  Run after the rules.");
	for (int f = 0; f < CP_FAMILIES; f++) {
		const char *cmd = f == CP_V4 ? "iptables" : "ip6tables";
		p25_buf_printf(&b,
			       "%s -C FORWARD -p tcp -m tcp --dport 25 -j PORT25 2>/dev/null || "
			       "%s -I FORWARD 1 -p tcp -m tcp --dport 25 -j PORT25\n",
			       cmd, cmd);
		c->entries++;
	}
	if (cp_add_part(out, "hook", "sh FILE (once, after the rules)", &b) < 0)
		goto fail;
	return 0;
fail:
	p25_buf_free(&b);
	return -1;
}
