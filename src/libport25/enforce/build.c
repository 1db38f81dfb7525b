/*
 * Building table inet port25: the compile plan turned into the desired
 * state (st_from_plan), and a state turned into nf_tables messages appended
 * to a batch (table, sets, elements, the org chains with their counters and
 * rules, the base chains).  The only file that spells rules as expressions,
 * so that they stay the very rules nftables.c prints; nftables keeps the
 * same step apart in netlink_linearize.c.
 */
#include "enforce/enforce_int.h"

#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#define ELEMS_PER_MSG 256
/* nft's datatype ids, so that `nft list` prints our sets as its own */
#define NFT_TYPE_VERDICT 1
#define NFT_TYPE_IPV4 7
#define NFT_TYPE_IPV6 8

/*
 * Set slots: 0 permit_v4, 1 permit_v6, 2 out_v4, 3 out_v6, 4 in_v4, 5 in_v6
 * (interval sets and maps), 6 permit_hosts_v4, 7 permit_hosts_v6 (hash sets:
 * the kernel changes one element of a large hash set in constant time,
 * where a large interval set costs milliseconds per transaction).
 */
const char *const set_names[NSETS] = {"permit_v4", "permit_v6",	     "out_v4",
					     "out_v6",	  "in_v4",	     "in_v6",
					     "permit_hosts_v4", "permit_hosts_v6"};

int set_fam(int s)
{
	return s % 2;
}

static bool set_is_map(int s)
{
	return s >= 2 && s < 6;
}

bool set_interval(int s)
{
	return s < 6;
}

static void prefix_range(const struct p25_prefix *p, struct range *r)
{
	memset(r, 0, sizeof *r);
	r->lo = p->net;
	r->hi = p->net | (~p25_mask(p->len) & fam_top(p->family == P25_INET ? 0 : 1));
}

static char *range_addr(p25_u128 v, int fam, char *buf)
{
	struct p25_addr a = {.bits = v, .family = fam ? P25_INET6 : P25_INET};

	return p25_addr_format(&a, buf, P25_ADDR_STRLEN);
}

static void key_bytes(p25_u128 v, int fam, uint8_t *out)
{
	size_t n = fam == 0 ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(v >> (120 - 8 * i));
}

int st_from_plan(const struct p25_nft_plan *p, struct st *s)
{
	struct range r;

	memset(s, 0, sizeof *s);
	s->table = s->base = true;
	for (int f = 0; f < 2; f++) {
		for (size_t i = 0; i < p->npermit[f]; i++) {
			prefix_range(&p->permit[f][i], &r);
			if (rl_push(&s->sets[f], &r) < 0)
				return -1;
		}
		for (size_t i = 0; i < p->nhosts[f]; i++) {
			prefix_range(&p->hosts[f][i], &r);
			if (rl_push(&s->sets[6 + f], &r) < 0)
				return -1;
		}
		for (int d = 0; d < 2; d++) {
			for (size_t i = 0; i < p->nmap[d][f]; i++) {
				const struct p25_nft_elem *e = &p->map[d][f][i];
				prefix_range(&e->p, &r);
				p25_nft_chain_name(r.chain, sizeof r.chain, d, p->orgs[e->org].handle);
				if (rl_push(&s->sets[2 + 2 * d + f], &r) < 0)
					return -1;
			}
		}
	}
	for (int i = 0; i < NSETS; i++)
		if (s->sets[i].n)
			qsort(s->sets[i].v, s->sets[i].n, sizeof *s->sets[i].v, range_cmp);
	for (size_t i = 0; i < p->norgs; i++) {
		for (int d = 0; d < 2; d++) {
			struct chain_st *c;
			if (d == 1 && !p->orgs[i].inbound)
				continue;
			if (!(c = st_add_chain(s)))
				return -1;
			p25_nft_chain_name(c->name, sizeof c->name, d, p->orgs[i].handle);
			p25_nft_chain_sig(c->sig, sizeof c->sig, d, &p->orgs[i], p->nflog_group);
			c->dir = d;
			c->org = &p->orgs[i];
		}
	}
	if (s->nchains)
		qsort(s->chains, s->nchains, sizeof *s->chains, chain_cmp);
	return 0;
}

int put_table(struct nl *n, uint16_t type, uint16_t flags, const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *h = nl_msg(n, type, flags);
	uint8_t ud[160];

	if (!t || !h)
		return nftnl_table_free(t), -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, P25_NFT_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (comment) {
		size_t l = strlen(comment) + 1;
		ud[0] = NFTNL_UDATA_TABLE_COMMENT;
		ud[1] = (uint8_t)l;
		memcpy(ud + 2, comment, l);
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, ud, (uint32_t)(l + 2));
	}
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	nl_done(n, h, "%s table inet " P25_NFT_TABLE,
		type == NFT_MSG_DELTABLE ? "deleting" : "creating");
	return 0;
}

static int put_set(struct nl *n, int s)
{
	struct nftnl_set *set = nftnl_set_alloc();
	struct nlmsghdr *h = nl_msg(n, NFT_MSG_NEWSET, NLM_F_CREATE);

	if (!set || !h)
		return nftnl_set_free(set), -1;
	nftnl_set_set_str(set, NFTNL_SET_TABLE, P25_NFT_TABLE);
	nftnl_set_set_str(set, NFTNL_SET_NAME, set_names[s]);
	nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)s + 1);
	nftnl_set_set_u32(set, NFTNL_SET_FLAGS,
			  (set_interval(s) ? NFT_SET_INTERVAL : 0) | (set_is_map(s) ? NFT_SET_MAP : 0));
	nftnl_set_set_u32(set, NFTNL_SET_KEY_TYPE, set_fam(s) ? NFT_TYPE_IPV6 : NFT_TYPE_IPV4);
	nftnl_set_set_u32(set, NFTNL_SET_KEY_LEN, set_fam(s) ? 16 : 4);
	if (set_is_map(s)) {
		nftnl_set_set_u32(set, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(set, NFTNL_SET_DATA_LEN, 0);
	}
	nftnl_set_nlmsg_build_payload(h, set);
	nftnl_set_free(set);
	nl_done(n, h, "creating set %s", set_names[s]);
	return 0;
}

static struct nftnl_set_elem *elem(p25_u128 key, int fam, bool end, const char *chain)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint8_t k[16];

	if (!e)
		return NULL;
	key_bytes(key, fam, k);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, k, fam ? 16 : 4);
	if (end)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
	else if (chain) {
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_JUMP);
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	}
	return e;
}

/* Intervals as element pairs, ELEMS_PER_MSG elements to a message. */
int put_elems(struct nl *n, int s, const struct range *v, size_t cnt, bool del)
{
	int fam = set_fam(s);
	size_t i = 0;

	while (i < cnt) {
		struct nftnl_set *set = nftnl_set_alloc();
		size_t k = 0, first = i;
		struct nlmsghdr *h;

		if (!set)
			return -1;
		nftnl_set_set_str(set, NFTNL_SET_TABLE, P25_NFT_TABLE);
		nftnl_set_set_str(set, NFTNL_SET_NAME, set_names[s]);
		nftnl_set_set_u32(set, NFTNL_SET_FAMILY, NFPROTO_INET);
		nftnl_set_set_u32(set, NFTNL_SET_ID, (uint32_t)s + 1);
		for (; i < cnt && k < ELEMS_PER_MSG; i++) {
			struct nftnl_set_elem *a =
				elem(v[i].lo, fam, false, set_is_map(s) && !del ? v[i].chain : NULL);
			if (!a)
				return nftnl_set_free(set), -1;
			nftnl_set_elem_add(set, a);
			k++;
			if (set_interval(s) && v[i].hi != fam_top(fam)) {
				struct nftnl_set_elem *b = elem(v[i].hi + fam_unit(fam), fam, true, NULL);
				if (!b)
					return nftnl_set_free(set), -1;
				nftnl_set_elem_add(set, b);
				k++;
			}
		}
		h = nl_msg(n, del ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
			   del ? 0 : NLM_F_CREATE);
		if (!h)
			return nftnl_set_free(set), -1;
		nftnl_set_elems_nlmsg_build_payload(h, set);
		nftnl_set_free(set);
		char a[P25_ADDR_STRLEN], b[P25_ADDR_STRLEN];
		nl_done(n, h, "%s %zu intervals of %s, %s to %s", del ? "deleting" : "adding",
			i - first, set_names[s], range_addr(v[first].lo, fam, a),
			range_addr(v[i - 1].hi, fam, b));
	}
	return 0;
}

int put_chain(struct nl *n, uint16_t type, const char *name, bool base)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *h = nl_msg(n, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE : 0);

	if (!c || !h)
		return nftnl_chain_free(c), -1;
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, P25_NFT_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (base) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_FORWARD);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nftnl_chain_nlmsg_build_payload(h, c);
	nftnl_chain_free(c);
	nl_done(n, h, "%s chain %s", type == NFT_MSG_DELCHAIN ? "deleting" : "creating", name);
	return 0;
}

int put_counter(struct nl *n, uint16_t type, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *h = nl_msg(n, type, type == NFT_MSG_NEWOBJ ? NLM_F_CREATE : 0);

	if (!o || !h)
		return nftnl_obj_free(o), -1;
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, P25_NFT_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(h, o);
	nftnl_obj_free(o);
	nl_done(n, h, "%s counter %s", type == NFT_MSG_DELOBJ ? "deleting" : "creating", name);
	return 0;
}

/* Expression helpers: each adds to the rule, failing softly into r->ok. */
struct rb {
	struct nftnl_rule *r;
	bool ok;
};

static struct nftnl_expr *ex(struct rb *b, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (!e)
		b->ok = false;
	else
		nftnl_rule_add_expr(b->r, e);
	return e;
}

static void ex_meta(struct rb *b, uint32_t key)
{
	struct nftnl_expr *e = ex(b, "meta");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	}
}

static void ex_cmp(struct rb *b, const void *data, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "cmp");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
}

static void ex_payload(struct rb *b, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = ex(b, "payload");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	}
}

/* meta nfproto == fam; load saddr or daddr into reg 1 */
static void ex_addr(struct rb *b, int fam, int dir)
{
	uint8_t proto = fam ? NFPROTO_IPV6 : NFPROTO_IPV4;

	ex_meta(b, NFT_META_NFPROTO);
	ex_cmp(b, &proto, 1);
	if (fam == 0)
		ex_payload(b, NFT_PAYLOAD_NETWORK_HEADER, dir == 0 ? 12 : 16, 4);
	else
		ex_payload(b, NFT_PAYLOAD_NETWORK_HEADER, dir == 0 ? 8 : 24, 16);
}

static void ex_lookup(struct rb *b, int s, bool vmap)
{
	struct nftnl_expr *e = ex(b, "lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set_names[s]);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, (uint32_t)s + 1);
		if (vmap)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	}
}

static void ex_tcp(struct rb *b)
{
	uint8_t tcp = IPPROTO_TCP;

	ex_meta(b, NFT_META_L4PROTO);
	ex_cmp(b, &tcp, 1);
}

/* tcp flags & (syn | ack) == syn: a connection attempt */
static void ex_syn(struct rb *b)
{
	uint8_t mask = 0x12, zero = 0, syn = 0x02;
	struct nftnl_expr *e;

	ex_tcp(b);
	ex_payload(b, NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1);
	e = ex(b, "bitwise");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 1);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 1);
		nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 1);
	}
	ex_cmp(b, &syn, 1);
}

static void ex_counter_ref(struct rb *b, const char *name)
{
	struct nftnl_expr *e = ex(b, "objref");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	}
}

static void ex_verdict(struct rb *b, int verdict, const char *chain)
{
	struct nftnl_expr *e = ex(b, "immediate");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
		if (chain)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
}

static struct rb rule_new(const char *chain)
{
	struct rb b = {nftnl_rule_alloc(), true};

	if (!b.r) {
		b.ok = false;
		return b;
	}
	nftnl_rule_set_str(b.r, NFTNL_RULE_TABLE, P25_NFT_TABLE);
	nftnl_rule_set_str(b.r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(b.r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return b;
}

static int rule_put(struct nl *n, struct rb *b, const char *comment)
{
	struct nlmsghdr *h;
	uint8_t ud[SIG_LEN + 2];

	if (b->ok && comment) {
		size_t l = strlen(comment) + 1;
		ud[0] = NFTNL_UDATA_RULE_COMMENT;
		ud[1] = (uint8_t)l;
		memcpy(ud + 2, comment, l);
		nftnl_rule_set_data(b->r, NFTNL_RULE_USERDATA, ud, (uint32_t)(l + 2));
	}
	h = b->ok ? nl_msg(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND) : NULL;
	if (h) {
		nftnl_rule_nlmsg_build_payload(h, b->r);
		nl_done(n, h, "adding a rule to chain %s",
			nftnl_rule_get_str(b->r, NFTNL_RULE_CHAIN));
	}
	nftnl_rule_free(b->r);
	return h ? 0 : -1;
}

/* The rules of an org chain, exactly as nftables.c prints them. */
int put_org_rules(struct nl *n, const struct chain_st *c, unsigned nflog_group)
{
	char permit[P25_NFT_NAMELEN], block[P25_NFT_NAMELEN], prefix[P25_NFT_NAMELEN + 16];
	const char *h = c->org->handle;
	int rc = 0;
	struct rb b;

	p25_nft_counter_name(permit, sizeof permit, c->dir, h, false);
	p25_nft_counter_name(block, sizeof block, c->dir, h, true);
	p25_nft_log_prefix(prefix, sizeof prefix, c->dir, h);
	for (int k = 0; k < 4 && rc == 0; k++) {
		int f = k / 2, set = k % 2 == 0 ? 6 + f : f; /* hosts first, as nftables.c */
		b = rule_new(c->name);
		ex_addr(&b, f, c->dir);
		ex_lookup(&b, set, false);
		ex_syn(&b);
		ex_counter_ref(&b, permit);
		rc = rule_put(n, &b, NULL);
		b = rule_new(c->name);
		ex_addr(&b, f, c->dir);
		ex_lookup(&b, set, false);
		ex_verdict(&b, NFT_RETURN, NULL);
		rc = rc ? rc : rule_put(n, &b, NULL);
	}
	b = rule_new(c->name);
	ex_syn(&b);
	ex_counter_ref(&b, block);
	if (nflog_group) {
		struct nftnl_expr *e = ex(&b, "log");
		if (e) {
			nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
			nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, (uint16_t)nflog_group);
		}
	}
	rc = rc ? rc : rule_put(n, &b, NULL);
	b = rule_new(c->name);
	if (c->org->action == P25_ACTION_REJECT) {
		struct nftnl_expr *e;
		ex_tcp(&b);
		e = ex(&b, "reject");
		if (e) {
			nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST);
			nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, 0);
		}
	} else {
		ex_verdict(&b, NF_DROP, NULL);
	}
	return rc ? rc : rule_put(n, &b, c->sig);
}

int put_org_chain(struct nl *n, const struct chain_st *c, unsigned nflog_group)
{
	char name[P25_NFT_NAMELEN];

	for (int blk = 0; blk < 2; blk++) {
		p25_nft_counter_name(name, sizeof name, c->dir, c->org->handle, blk);
		if (put_counter(n, NFT_MSG_NEWOBJ, name) < 0)
			return -1;
	}
	return put_chain(n, NFT_MSG_NEWCHAIN, c->name, false) < 0 ? -1
								   : put_org_rules(n, c, nflog_group);
}

static int put_base_chains(struct nl *n)
{
	uint16_t port = htons(25);
	int rc = 0;
	struct rb b;

	if (put_chain(n, NFT_MSG_NEWCHAIN, "smtp", false) < 0)
		return -1;
	for (int d = 0; d < 2 && rc == 0; d++) {
		for (int f = 0; f < 2 && rc == 0; f++) {
			b = rule_new("smtp");
			ex_addr(&b, f, d);
			ex_lookup(&b, 2 + 2 * d + f, true);
			rc = rule_put(n, &b, NULL);
		}
	}
	if (rc || put_chain(n, NFT_MSG_NEWCHAIN, "forward", true) < 0)
		return -1;
	b = rule_new("forward");
	ex_tcp(&b);
	ex_payload(&b, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	ex_cmp(&b, &port, 2);
	ex_verdict(&b, NFT_JUMP, "smtp");
	return rule_put(n, &b, NULL);
}

/* The whole table: create-if-missing, delete, create, then everything. */
int build_full(struct nl *n, const struct st *want, unsigned nflog_group,
		      const char *comment)
{
	if (put_table(n, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL) < 0 ||
	    put_table(n, NFT_MSG_DELTABLE, 0, NULL) < 0 ||
	    put_table(n, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL, comment) < 0)
		return -1;
	for (int s = 0; s < NSETS; s++)
		if (put_set(n, s) < 0)
			return -1;
	for (size_t i = 0; i < want->nchains; i++)
		if (put_org_chain(n, &want->chains[i], nflog_group) < 0)
			return -1;
	for (int s = 0; s < NSETS; s++)
		if (put_elems(n, s, want->sets[s].v, want->sets[s].n, false) < 0)
			return -1;
	return put_base_chains(n);
}
