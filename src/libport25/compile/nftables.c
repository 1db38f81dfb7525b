/*
 * nftables: one table, replaced atomically by `nft -f` (the add + delete
 * pair makes the delete safe when the table does not exist yet).  Permitted
 * prefixes are interval sets; each organization's space maps, through a
 * verdict map, to its own chains so each gets its own counters and action.
 * Permitted hosts `return` rather than accept: the inbound check of the
 * destination still applies to them.
 */
#include "compile/compile_priv.h"

static const char *const fam_type[CP_FAMILIES] = {"ipv4_addr", "ipv6_addr"};
static const char *const fam_kw[CP_FAMILIES] = {"ip", "ip6"};
static const char *const fam_sfx[CP_FAMILIES] = {"v4", "v6"};
static const char *const dir_name[2] = {"out", "in"};
static const char *const dir_field[2] = {"saddr", "daddr"};

static void elements(struct cp *c, struct p25_buf *b, const struct cp_vec *v, const char *value)
{
	char a[P25_PREFIX_STRLEN];

	if (v->n == 0)
		return;
	p25_buf_puts(b, "\t\telements = {\n");
	for (size_t i = 0; i < v->n; i++) {
		p25_buf_printf(b, "\t\t\t%s%s%s%s\n", cp_pfx(&v->v[i], a), value ? " : " : "",
			       value ? value : "", i + 1 < v->n ? "," : "");
		c->entries++;
	}
	p25_buf_puts(b, "\t\t}\n");
}

static void org_chain(struct cp *c, struct p25_buf *b, const struct cp_org *co, int dir)
{
	p25_buf_printf(b, "\tchain %s_%s {\n", dir_name[dir], co->o->handle);
	for (int f = 0; f < CP_FAMILIES; f++) {
		if (co->permit[f].n == 0)
			continue;
		p25_buf_printf(b, "\t\t%s %s @permit_%s counter return\n", fam_kw[f],
			       dir_field[dir], fam_sfx[f]);
		c->entries++;
	}
	p25_buf_printf(b, "\t\tcounter %s\n",
		       co->o->action == P25_ACTION_REJECT ? "reject with tcp reset" : "drop");
	c->entries++;
	p25_buf_puts(b, "\t}\n");
}

int cp_nftables(struct cp *c, struct p25_compile_output *out)
{
	struct p25_buf b;
	bool any[2][CP_FAMILIES] = {{false}};

	p25_buf_init(&b);
	cp_header(c, &b, "nftables ruleset", "nft -f FILE (replaces table inet port25 atomically)");
	p25_buf_puts(&b, "table inet port25\ndelete table inet port25\ntable inet port25 {\n");
	for (int f = 0; f < CP_FAMILIES; f++) {
		p25_buf_printf(&b, "\tset permit_%s {\n\t\ttype %s\n\t\tflags interval\n",
			       fam_sfx[f], fam_type[f]);
		elements(c, &b, &c->permit[f], NULL);
		p25_buf_puts(&b, "\t}\n");
	}
	for (size_t i = 0; i < c->norgs; i++) {
		const struct cp_org *co = &c->orgs[i];
		cp_org_summary(c, &b, co);
		for (int d = 0; d < 2; d++)
			if (d == CP_OUT || cp_org_inbound(co))
				org_chain(c, &b, co, d);
	}
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < CP_FAMILIES; f++) {
			bool first = true;
			size_t n = 0;
			char a[P25_PREFIX_STRLEN];

			for (size_t i = 0; i < c->norgs; i++) {
				const struct cp_org *co = &c->orgs[i];
				if (d == CP_IN && !cp_org_inbound(co))
					continue;
				n += co->space[f].n;
			}
			p25_buf_printf(&b, "\tmap %s_%s {\n\t\ttype %s : verdict\n\t\tflags interval\n",
				       dir_name[d], fam_sfx[f], fam_type[f]);
			if (n > 0)
				p25_buf_puts(&b, "\t\telements = {\n");
			for (size_t i = 0; i < c->norgs; i++) {
				const struct cp_org *co = &c->orgs[i];
				if (d == CP_IN && !cp_org_inbound(co))
					continue;
				for (size_t k = 0; k < co->space[f].n; k++) {
					n--;
					p25_buf_printf(&b, "\t\t\t%s : jump %s_%s%s\n",
						       cp_pfx(&co->space[f].v[k], a), dir_name[d],
						       co->o->handle, n > 0 ? "," : "");
					c->entries++;
					first = false;
				}
			}
			if (!first) {
				p25_buf_puts(&b, "\t\t}\n");
				any[d][f] = true;
			}
			p25_buf_puts(&b, "\t}\n");
		}
	}
	p25_buf_puts(&b, "\tchain smtp {\n");
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < CP_FAMILIES; f++) {
			if (!any[d][f])
				continue;
			p25_buf_printf(&b, "\t\t%s %s vmap @%s_%s\n", fam_kw[f], dir_field[d],
				       dir_name[d], fam_sfx[f]);
			c->entries++;
		}
	}
	p25_buf_puts(&b, "\t}\n");
	p25_buf_puts(&b, "\tchain forward {\n"
			 "\t\ttype filter hook forward priority filter; policy accept;\n"
			 "\t\ttcp dport 25 jump smtp\n"
			 "\t}\n}\n");
	c->entries++;
	return cp_add_part(out, "nftables", "nft -f FILE", &b) < 0 ? (p25_buf_free(&b), -1) : 0;
}
