/*
 * nftables: one table, replaced atomically by `nft -f` (the add + delete
 * pair makes the delete safe when the table does not exist yet).  Permitted
 * prefixes are interval sets; each organization's space maps, through a
 * verdict map, to its own chains so each gets its own counters and action.
 * Permitted hosts `return` rather than accept: the inbound check of the
 * destination still applies to them.
 *
 * Only connection attempts (SYN without ACK) are counted and logged: a
 * blocked host's retransmissions and stray segments would otherwise swamp
 * the counters and the NFLOG reader.  Every org chain looks up both permit
 * sets and the smtp chain all four maps, even when empty, so that live
 * updates (enforce sync) only ever change elements, never these rules.
 *
 * The text is printed from the same plan that enforce loads through netlink.
 */
#include <stdlib.h>
#include <string.h>

#include "compile/compile_priv.h"
#include "compile/nftables.h"

static const char *const fam_type[CP_FAMILIES] = {"ipv4_addr", "ipv6_addr"};
static const char *const fam_kw[CP_FAMILIES] = {"ip", "ip6"};
static const char *const dir_field[2] = {"saddr", "daddr"};

void p25_nft_plan_free(struct p25_nft_plan *p)
{
	free(p->orgs);
	for (int f = 0; f < CP_FAMILIES; f++) {
		free(p->permit[f]);
		free(p->hosts[f]);
		for (int d = 0; d < 2; d++)
			free(p->map[d][f]);
	}
	memset(p, 0, sizeof *p);
}

static int plan_build(struct cp *c, struct p25_nft_plan *p)
{
	int g = c->opts->nflog_group;

	memset(p, 0, sizeof *p);
	p->nflog_group = g == 0 ? P25_NFLOG_GROUP : g < 0 ? 0 : (unsigned)g;
	p->norgs = c->norgs;
	p->orgs = calloc(c->norgs ? c->norgs : 1, sizeof *p->orgs);
	if (!p->orgs)
		return -1;
	for (size_t i = 0; i < c->norgs; i++) {
		p->orgs[i].handle = c->orgs[i].o->handle;
		p->orgs[i].action = c->orgs[i].o->action;
		p->orgs[i].inbound = cp_org_inbound(&c->orgs[i]);
	}
	for (int f = 0; f < CP_FAMILIES; f++) {
		size_t n = c->permit[f].n;
		p->permit[f] = malloc((n ? n : 1) * sizeof *p->permit[f]);
		p->hosts[f] = malloc((n ? n : 1) * sizeof *p->hosts[f]);
		if (!p->permit[f] || !p->hosts[f])
			return -1;
		for (size_t i = 0; i < n; i++) {
			if (p25_prefix_is_host(&c->permit[f].v[i]))
				p->hosts[f][p->nhosts[f]++] = c->permit[f].v[i];
			else
				p->permit[f][p->npermit[f]++] = c->permit[f].v[i];
		}
		for (int d = 0; d < 2; d++) {
			size_t k = 0;
			for (size_t i = 0; i < c->norgs; i++)
				if (d == CP_OUT || p->orgs[i].inbound)
					k += c->orgs[i].space[f].n;
			p->map[d][f] = malloc((k ? k : 1) * sizeof *p->map[d][f]);
			if (!p->map[d][f])
				return -1;
			for (size_t i = 0; i < c->norgs; i++) {
				if (d == CP_IN && !p->orgs[i].inbound)
					continue;
				for (size_t j = 0; j < c->orgs[i].space[f].n; j++)
					p->map[d][f][p->nmap[d][f]++] =
						(struct p25_nft_elem){c->orgs[i].space[f].v[j], i};
			}
		}
	}
	return 0;
}

static void org_chain(struct cp *c, struct p25_buf *b, const struct p25_nft_plan *p,
		      const struct p25_nft_org *o, int dir)
{
	char chain[P25_NFT_NAMELEN], permit[P25_NFT_NAMELEN], block[P25_NFT_NAMELEN];
	char prefix[P25_NFT_NAMELEN + 16], sig[128];

	p25_nft_chain_name(chain, sizeof chain, dir, o->handle);
	p25_nft_counter_name(permit, sizeof permit, dir, o->handle, false);
	p25_nft_counter_name(block, sizeof block, dir, o->handle, true);
	p25_nft_log_prefix(prefix, sizeof prefix, dir, o->handle);
	p25_nft_chain_sig(sig, sizeof sig, dir, o, p->nflog_group);
	p25_buf_printf(b, "\tcounter %s {\n\t}\n\tcounter %s {\n\t}\n", permit, block);
	p25_buf_printf(b, "\tchain %s {\n", chain);
	for (int f = 0; f < CP_FAMILIES; f++) {
		for (int h = 1; h >= 0; h--) {
			const char *set = h ? "permit_hosts" : "permit";
			p25_buf_printf(
				b,
				"\t\t%s %s @%s_%s tcp flags & (syn | ack) == syn counter name \"%s\"\n"
				"\t\t%s %s @%s_%s return\n",
				fam_kw[f], dir_field[dir], set, p25_nft_fam(f), permit, fam_kw[f],
				dir_field[dir], set, p25_nft_fam(f));
			c->entries += 2;
		}
	}
	p25_buf_printf(b, "\t\ttcp flags & (syn | ack) == syn counter name \"%s\"", block);
	if (p->nflog_group)
		p25_buf_printf(b, " log prefix \"%s\" group %u", prefix, p->nflog_group);
	p25_buf_printf(b, "\n\t\t%s comment \"%s\"\n\t}\n",
		       o->action == P25_ACTION_REJECT ? "reject with tcp reset" : "drop", sig);
	c->entries += 2;
}

int cp_nftables(struct cp *c, struct p25_compile_output *out)
{
	struct p25_nft_plan plan;
	struct p25_buf b;
	char a[P25_PREFIX_STRLEN], chain[P25_NFT_NAMELEN];

	if (plan_build(c, &plan) < 0) {
		p25_nft_plan_free(&plan);
		return -1;
	}
	p25_buf_init(&b);
	cp_header(c, &b, "nftables ruleset", "nft -f FILE (replaces table inet port25 atomically)");
	p25_buf_puts(&b, "table inet port25\ndelete table inet port25\ntable inet port25 {\n");
	for (int f = 0; f < CP_FAMILIES; f++) {
		p25_buf_printf(&b, "\tset permit_hosts_%s {\n\t\ttype %s\n", p25_nft_fam(f),
			       fam_type[f]);
		if (plan.nhosts[f])
			p25_buf_puts(&b, "\t\telements = {\n");
		for (size_t i = 0; i < plan.nhosts[f]; i++) {
			cp_temp_notes(c, &b, &plan.hosts[f][i], "\t\t\t# %s\n", 160);
			p25_buf_printf(&b, "\t\t\t%s%s\n", cp_addr(&plan.hosts[f][i], a),
				       i + 1 < plan.nhosts[f] ? "," : "");
			c->entries++;
		}
		if (plan.nhosts[f])
			p25_buf_puts(&b, "\t\t}\n");
		p25_buf_puts(&b, "\t}\n");
	}
	for (int f = 0; f < CP_FAMILIES; f++) {
		p25_buf_printf(&b, "\tset permit_%s {\n\t\ttype %s\n\t\tflags interval\n",
			       p25_nft_fam(f), fam_type[f]);
		if (plan.npermit[f])
			p25_buf_puts(&b, "\t\telements = {\n");
		for (size_t i = 0; i < plan.npermit[f]; i++) {
			cp_temp_notes(c, &b, &plan.permit[f][i], "\t\t\t# %s\n", 160);
			p25_buf_printf(&b, "\t\t\t%s%s\n", cp_pfx(&plan.permit[f][i], a),
				       i + 1 < plan.npermit[f] ? "," : "");
			c->entries++;
		}
		if (plan.npermit[f])
			p25_buf_puts(&b, "\t\t}\n");
		p25_buf_puts(&b, "\t}\n");
	}
	for (size_t i = 0; i < c->norgs; i++) {
		cp_org_summary(c, &b, &c->orgs[i]);
		for (int d = 0; d < 2; d++)
			if (d == CP_OUT || plan.orgs[i].inbound)
				org_chain(c, &b, &plan, &plan.orgs[i], d);
	}
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < CP_FAMILIES; f++) {
			size_t n = plan.nmap[d][f];

			p25_buf_printf(&b, "\tmap %s_%s {\n\t\ttype %s : verdict\n\t\tflags interval\n",
				       p25_nft_dir(d), p25_nft_fam(f), fam_type[f]);
			if (n > 0)
				p25_buf_puts(&b, "\t\telements = {\n");
			for (size_t k = 0; k < n; k++) {
				const struct p25_nft_elem *e = &plan.map[d][f][k];
				p25_nft_chain_name(chain, sizeof chain, d, plan.orgs[e->org].handle);
				p25_buf_printf(&b, "\t\t\t%s : jump %s%s\n", cp_pfx(&e->p, a), chain,
					       k + 1 < n ? "," : "");
				c->entries++;
			}
			if (n > 0)
				p25_buf_puts(&b, "\t\t}\n");
			p25_buf_puts(&b, "\t}\n");
		}
	}
	p25_buf_puts(&b, "\tchain smtp {\n");
	for (int d = 0; d < 2; d++) {
		for (int f = 0; f < CP_FAMILIES; f++) {
			p25_buf_printf(&b, "\t\t%s %s vmap @%s_%s\n", fam_kw[f], dir_field[d],
				       p25_nft_dir(d), p25_nft_fam(f));
			c->entries++;
		}
	}
	p25_buf_puts(&b, "\t}\n");
	p25_buf_puts(&b, "\tchain forward {\n"
			 "\t\ttype filter hook forward priority filter; policy accept;\n"
			 "\t\ttcp dport 25 jump smtp\n"
			 "\t}\n}\n");
	c->entries++;
	if (c->opts->nft_plan)
		*c->opts->nft_plan = plan;
	else
		p25_nft_plan_free(&plan);
	if (cp_add_part(out, "nftables", "nft -f FILE", &b) < 0) {
		p25_buf_free(&b);
		if (c->opts->nft_plan)
			p25_nft_plan_free(c->opts->nft_plan);
		return -1;
	}
	return 0;
}
