/*
 * Reading table inet port25 back from the kernel into a `struct st`, the
 * representation of the desired state too, so that sync and status can diff
 * the two: the table (its handle and generation comment), the chains and
 * their signature comments, every set's elements (interval start and end
 * elements folded back into ranges), and the counters status reports.  The
 * inverse of build.c, kept apart from it as nftables keeps
 * netlink_delinearize.c apart from netlink_linearize.c.
 */
#include "enforce/enforce_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/object.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

static p25_u128 key_value(const uint8_t *b, size_t n)
{
	p25_u128 v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (p25_u128)b[i] << (120 - 8 * i);
	return v;
}

struct rd_elem {
	p25_u128 key;
	bool end;
	char chain[CHAIN_LEN];
};

struct rd_elems {
	struct rd_elem *v;
	size_t n, cap;
	size_t keylen;
	bool oom;
};

static int elem_cb(const struct nlmsghdr *h, void *data)
{
	struct rd_elems *e = data;
	struct nlattr *a, *list = NULL, *el, *x, *y;

	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS)
			list = a;
	if (!list)
		return MNL_CB_OK;
	mnl_attr_for_each_nested(el, list) {
		struct rd_elem r;
		memset(&r, 0, sizeof r);
		mnl_attr_for_each_nested(x, el) {
			switch (mnl_attr_get_type(x)) {
			case NFTA_SET_ELEM_KEY:
				mnl_attr_for_each_nested(y, x) if (mnl_attr_get_type(y) == NFTA_DATA_VALUE &&
								   mnl_attr_get_payload_len(y) <= 16)
					r.key = key_value(mnl_attr_get_payload(y),
							  mnl_attr_get_payload_len(y));
				break;
			case NFTA_SET_ELEM_FLAGS:
				r.end = ntohl(mnl_attr_get_u32(x)) & NFT_SET_ELEM_INTERVAL_END;
				break;
			case NFTA_SET_ELEM_DATA:
				mnl_attr_for_each_nested(y, x) {
					struct nlattr *z;
					if (mnl_attr_get_type(y) != NFTA_DATA_VERDICT)
						continue;
					mnl_attr_for_each_nested(z, y) if (mnl_attr_get_type(z) ==
									   NFTA_VERDICT_CHAIN)
						snprintf(r.chain, sizeof r.chain, "%s",
							 mnl_attr_get_str(z));
				}
				break;
			}
		}
		if (e->n == e->cap) {
			size_t cap = e->cap ? e->cap * 2 : 256;
			struct rd_elem *nv = realloc(e->v, cap * sizeof *nv);
			if (!nv) {
				e->oom = true;
				return MNL_CB_ERROR;
			}
			e->v = nv;
			e->cap = cap;
		}
		e->v[e->n++] = r;
	}
	return MNL_CB_OK;
}

static int rd_elem_cmp(const void *a, const void *b)
{
	const struct rd_elem *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (int)y->end - (int)x->end; /* an end sorts before a start at the same key */
}

struct rd_rules {
	struct st *s;
};

static struct chain_st *find_chain(struct st *s, const char *name)
{
	for (size_t i = 0; i < s->nchains; i++)
		if (strcmp(s->chains[i].name, name) == 0)
			return &s->chains[i];
	return NULL;
}

static int chain_cb(const struct nlmsghdr *h, void *data)
{
	struct st *s = data;
	struct nlattr *a;
	const char *name = NULL;

	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == NFTA_CHAIN_NAME)
		name = mnl_attr_get_str(a);
	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) ==
							      NFTA_CHAIN_TABLE &&
							      strcmp(mnl_attr_get_str(a),
								     P25_NFT_TABLE) != 0)
		return MNL_CB_OK;
	if (!name)
		return MNL_CB_OK;
	if (strcmp(name, "smtp") == 0 || strcmp(name, "forward") == 0) {
		s->nbase++;
		return MNL_CB_OK;
	}
	struct chain_st *c = st_add_chain(s);
	if (!c)
		return MNL_CB_ERROR;
	snprintf(c->name, sizeof c->name, "%s", name);
	c->dir = strncmp(name, "in_", 3) == 0;
	return MNL_CB_OK;
}

static int rule_cb(const struct nlmsghdr *h, void *data)
{
	struct st *s = data;
	struct nlattr *a;
	const char *chain = NULL;
	const uint8_t *ud = NULL;
	size_t udl = 0;

	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_RULE_CHAIN)
			chain = mnl_attr_get_str(a);
		else if (mnl_attr_get_type(a) == NFTA_RULE_USERDATA) {
			ud = mnl_attr_get_payload(a);
			udl = mnl_attr_get_payload_len(a);
		}
	}
	if (!chain || !ud)
		return MNL_CB_OK;
	for (size_t i = 0; i + 2 <= udl && i + 2 + ud[i + 1] <= udl; i += 2 + ud[i + 1]) {
		if (ud[i] != NFTNL_UDATA_RULE_COMMENT || ud[i + 1] == 0)
			continue;
		struct chain_st *c = find_chain(s, chain);
		if (c && strncmp((const char *)ud + i + 2, "port25 ", 7) == 0)
			snprintf(c->sig, sizeof c->sig, "%.*s", (int)ud[i + 1] - 1,
				 (const char *)ud + i + 2);
	}
	return MNL_CB_OK;
}

int table_cb(const struct nlmsghdr *h, void *data)
{
	struct st *s = data;
	struct nlattr *a;

	s->table = true;
	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) == NFTA_TABLE_HANDLE &&
		    mnl_attr_get_payload_len(a) == sizeof(uint64_t))
			s->handle = be64toh(mnl_attr_get_u64(a));
		if (mnl_attr_get_type(a) != NFTA_TABLE_USERDATA)
			continue;
		const uint8_t *ud = mnl_attr_get_payload(a);
		size_t l = mnl_attr_get_payload_len(a);
		if (l > 2 && ud[0] == NFTNL_UDATA_TABLE_COMMENT && ud[1] + 2u <= l)
			snprintf(s->comment, sizeof s->comment, "%.*s", (int)ud[1], ud + 2);
	}
	return MNL_CB_OK;
}

/* The loaded state.  No table: s->table false and 0 returned. */
int st_from_kernel(struct nl *n, struct st *s)
{
	memset(s, 0, sizeof *s);
	if (enf_dump(n, NFT_MSG_GETTABLE, NULL, table_cb, s) < 0) {
		if (errno == ENOENT)
			return 0;
		return nl_fail(n, "reading table inet port25%s: %s", "");
	}
	if (enf_dump(n, NFT_MSG_GETCHAIN, NULL, chain_cb, s) < 0)
		return nl_fail(n, "reading the chains of inet port25%s: %s", "");
	s->base = s->nbase == 2;
	if (enf_dump(n, NFT_MSG_GETRULE, NULL, rule_cb, s) < 0)
		return nl_fail(n, "reading the rules of inet port25%s: %s", "");
	for (int i = 0; i < NSETS; i++) {
		struct rd_elems e = {0};
		int fam = set_fam(i);
		if (enf_dump(n, NFT_MSG_GETSETELEM, set_names[i], elem_cb, &e) < 0) {
			free(e.v);
			if (errno == ENOENT)
				continue; /* a set missing: everything in it is to add */
			return nl_fail(n, "reading set elements of inet port25%s: %s", "");
		}
		if (e.n)
			qsort(e.v, e.n, sizeof *e.v, rd_elem_cmp);
		for (size_t k = 0; k < e.n; k++) {
			struct range r;
			if (e.v[k].end)
				continue;
			memset(&r, 0, sizeof r);
			r.lo = e.v[k].key;
			if (!set_interval(i))
				r.hi = r.lo;
			else if (k + 1 < e.n && e.v[k + 1].end)
				r.hi = e.v[k + 1].key - fam_unit(fam);
			else
				r.hi = fam_top(fam);
			memcpy(r.chain, e.v[k].chain, sizeof r.chain);
			if (rl_push(&s->sets[i], &r) < 0) {
				free(e.v);
				errno = ENOMEM;
				return nl_fail(n, "reading set elements%s: %s", "");
			}
		}
		free(e.v);
		if (s->sets[i].n)
			qsort(s->sets[i].v, s->sets[i].n, sizeof *s->sets[i].v, range_cmp);
	}
	if (s->nchains)
		qsort(s->chains, s->nchains, sizeof *s->chains, chain_cmp);
	return 0;
}

int obj_cb(const struct nlmsghdr *h, void *data)
{
	struct ctr *c = data;
	struct nftnl_obj *o = nftnl_obj_alloc();
	char dir[8], org[64], kind[8];
	const char *name;

	if (!o)
		return MNL_CB_ERROR;
	if (nftnl_obj_nlmsg_parse(h, o) < 0 ||
	    nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) != NFT_OBJECT_COUNTER) {
		nftnl_obj_free(o);
		return MNL_CB_OK;
	}
	name = nftnl_obj_get_str(o, NFTNL_OBJ_NAME);
	/* "out_<org>_block": the org handle never holds '_' */
	if (name && sscanf(name, "%7[a-z]_%63[a-z0-9-]_%7[a-z]", dir, org, kind) == 3) {
		json_t *e = json_object_get(c->orgs, org);
		char key[24];
		if (!e) {
			e = json_object();
			json_object_set_new(c->orgs, org, e);
		}
		snprintf(key, sizeof key, "%s_%s", dir, kind);
		json_object_set_new(e, key,
				    json_integer((json_int_t)nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS)));
	}
	nftnl_obj_free(o);
	return MNL_CB_OK;
}
