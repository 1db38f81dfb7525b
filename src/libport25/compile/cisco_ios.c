/*
 * Cisco IOS: four named ACLs, outbound and inbound for each family.  Each
 * is rebuilt from scratch (`no ... access-list` first): IOS permits all
 * traffic through an interface whose ACL does not exist, so the reload never
 * blocks more than the policy.  Per organization: its permits, then its
 * space, first match wins; a final permit lets everything else through.
 *
 * IOS ACLs cannot answer with a TCP reset, so both actions become `deny`
 * (the router sends ICMP unreachable unless `no ip unreachables`).
 */
#include "compile/compile_priv.h"

#include <stdio.h>
#include <string.h>

static const char *const acl_name[2][CP_FAMILIES] = {
	{"PORT25-OUTBOUND", "PORT25-OUTBOUND-V6"},
	{"PORT25-INBOUND", "PORT25-INBOUND-V6"},
};

/* The list's name; one organization's part (--org) carries its handle, in capitals. */
static char *list_name(const struct cp *c, int dir, int f, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%s", acl_name[dir][f]);

	if (c->tag && n < len) {
		snprintf(buf + n, len - n, "-%s", c->tag);
		for (char *p = buf + n; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
	}
	return buf;
}

/* "host A", "A WILDCARD" or "A/len" as IOS writes an address match. */
static char *match(const struct p25_prefix *p, char *buf, size_t len)
{
	char a[P25_PREFIX_STRLEN], w[20];

	if (p25_prefix_is_host(p))
		snprintf(buf, len, "host %s", cp_addr(p, a));
	else if (p->family == P25_INET)
		snprintf(buf, len, "%s %s", cp_addr(p, a), p25_v4_wildcard(p->len, w, sizeof w));
	else
		snprintf(buf, len, "%s", cp_pfx(p, a));
	return buf;
}

static void ace(struct cp *c, struct p25_buf *b, const char *verb, int dir,
		const struct p25_prefix *p)
{
	char m[P25_PREFIX_STRLEN + 24];

	/* Denied attempts logged (--log): the router rate-limits, see the operator guide. */
	const char *log = c->opts->log && verb[0] == 'd' ? " log" : "";

	match(p, m, sizeof m);
	if (dir == CP_OUT)
		p25_buf_printf(b, " %s tcp %s any eq smtp%s\n", verb, m, log);
	else
		p25_buf_printf(b, " %s tcp any %s eq smtp%s\n", verb, m, log);
	c->entries++;
}

static void remark(struct p25_buf *b, const char *text)
{
	/* IOS keeps at most 100 characters of a remark. */
	p25_buf_printf(b, " remark %.100s\n", text);
}

static void acl(struct cp *c, struct p25_buf *b, int dir, int f)
{
	char text[160], inert[64], name[64];

	list_name(c, dir, f, name, sizeof name);

	if (f == CP_V4)
		p25_buf_printf(b, "no ip access-list extended %s\nip access-list extended %s\n", name,
			       name);
	else
		p25_buf_printf(b, "no ipv6 access-list %s\nipv6 access-list %s\n", name, name);
	remark(b, dir == CP_OUT
			  ? "port25 outbound: SMTP from member hosts; apply in on member-facing interfaces"
			  : "port25 inbound: SMTP to member hosts; apply in on upstream interfaces");
	for (size_t i = 0; i < c->norgs; i++) {
		const struct cp_org *co = &c->orgs[i];
		if (dir == CP_IN && !cp_org_inbound(co))
			continue;
		if (co->space[f].n == 0)
			continue;
		snprintf(text, sizeof text, "org %s (%s) %s", co->o->handle,
			 cp_inert(co->o->name, inert, sizeof inert), p25_action_name(co->o->action));
		remark(b, text);
		for (size_t k = 0; k < co->permit[f].n; k++) {
			/* IOS keeps 100 characters of a remark. */
			cp_temp_notes(c, b, &co->permit[f].v[k], " remark %s\n", 100);
			ace(c, b, "permit", dir, &co->permit[f].v[k]);
		}
		for (size_t k = 0; k < co->space[f].n; k++)
			ace(c, b, "deny", dir, &co->space[f].v[k]);
	}
	p25_buf_printf(b, " permit %s any any\n", f == CP_V4 ? "ip" : "ipv6");
	c->entries++;
}

int cp_cisco_ios(struct cp *c, struct p25_compile_output *out)
{
	struct p25_buf b;
	char load[400], out4[64], out6[64];

	p25_buf_init(&b);
	list_name(c, CP_OUT, CP_V4, out4, sizeof out4);
	list_name(c, CP_OUT, CP_V6, out6, sizeof out6);
	snprintf(load, sizeof load,
		 "copy FILE running-config; then on %s interfaces `ip access-group %s in` and "
		 "`ipv6 traffic-filter %s in`, on upstream interfaces the -INBOUND lists, in",
		 c->tag ? "the member's" : "member-facing", out4, out6);
	cp_header(c, &b, "Cisco IOS access lists", load);
	cp_comment(c, &b, "IOS cannot answer with a TCP reset: reject and drop both become deny.");
	if (c->opts->log)
		cp_comment(c, &b, "Denied attempts are logged (log): rate-limit them with `ip access-list "
			   "logging interval` and `logging rate-limit`.");
	for (int f = 0; f < CP_FAMILIES; f++)
		for (int d = 0; d < 2; d++)
			acl(c, &b, d, f);
	p25_buf_puts(&b, "end\n");
	if (cp_add_part(out, "cisco-ios", "copy FILE running-config", &b) < 0) {
		p25_buf_free(&b);
		return -1;
	}
	return 0;
}
