/*
 * enforce: table inet port25 through netlink.  The desired state (from the
 * compile plan) and the loaded state (read back from the kernel) share one
 * representation, `struct st`: six lists of address ranges (the two permit
 * sets and four verdict maps) and the org chains with their signatures.
 * apply sends the desired state whole; sync and status diff the two.
 *
 * Ranges are held as inclusive [lo, hi] in the left-aligned 128-bit form of
 * addr.h, so an interval reaching the top of the address space needs no
 * special end.  The kernel holds an interval as a start element and an
 * exclusive end element flagged NFT_SET_ELEM_INTERVAL_END (none when the
 * interval runs to the top).
 */
#include "enforce/enforce.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <endian.h>
#include <libmnl/libmnl.h>
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
#include <linux/netfilter/nfnetlink.h>

#include "compile/compile.h"
#include "enforce/enforce_int.h"

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
static const char *const set_names[NSETS] = {"permit_v4", "permit_v6",	     "out_v4",
					     "out_v6",	  "in_v4",	     "in_v6",
					     "permit_hosts_v4", "permit_hosts_v6"};

static int set_fam(int s)
{
	return s % 2;
}

static bool set_is_map(int s)
{
	return s >= 2 && s < 6;
}

static bool set_interval(int s)
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

static p25_u128 key_value(const uint8_t *b, size_t n)
{
	p25_u128 v = 0;

	for (size_t i = 0; i < n; i++)
		v |= (p25_u128)b[i] << (120 - 8 * i);
	return v;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The hash of a state: equal states, loaded or desired, hash alike. */
static void st_hash(const struct st *s, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < NSETS; i++) {
		h = fnv(h, set_names[i], strlen(set_names[i]) + 1);
		for (size_t k = 0; k < s->sets[i].n; k++) {
			const struct range *r = &s->sets[i].v[k];
			h = fnv(h, &r->lo, sizeof r->lo);
			h = fnv(h, &r->hi, sizeof r->hi);
			h = fnv(h, r->chain, strlen(r->chain) + 1);
		}
	}
	for (size_t i = 0; i < s->nchains; i++) {
		h = fnv(h, s->chains[i].name, strlen(s->chains[i].name) + 1);
		h = fnv(h, s->chains[i].sig, strlen(s->chains[i].sig) + 1);
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int st_from_plan(const struct p25_nft_plan *p, struct st *s)
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

/* ---- netlink: a growable batch, sent in one sendmsg so it is one transaction ---- */

struct nl {
	struct mnl_socket *sock;
	unsigned portid;
	uint32_t seq;
	char *buf;
	size_t len, cap;
	size_t msgs;
	size_t last; /* offset of the last message, which asks for the ack */
	char (*what)[112]; /* per message, what it does: named when the kernel refuses it */
	size_t what_cap;
	uint32_t first_seq;
	char *err;
	size_t errlen;
};

static int nl_fail(struct nl *n, const char *fmt, const char *arg)
{
	snprintf(n->err, n->errlen, fmt, arg, strerror(errno));
	return -1;
}

static int nl_open(struct nl *n, char *err, size_t errlen)
{
	memset(n, 0, sizeof *n);
	n->err = err;
	n->errlen = errlen;
	n->sock = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->sock)
		return nl_fail(n, "netlink%s: %s", "");
	if (mnl_socket_bind(n->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		nl_fail(n, "netlink bind%s: %s", "");
		mnl_socket_close(n->sock);
		n->sock = NULL;
		return -1;
	}
	n->portid = mnl_socket_get_portid(n->sock);
	n->seq = (uint32_t)time(NULL);
	return 0;
}

static void nl_close(struct nl *n)
{
	if (n->sock)
		mnl_socket_close(n->sock);
	free(n->buf);
	free(n->what);
	n->sock = NULL;
	n->buf = NULL;
	n->what = NULL;
}

/* Room for one more message of at most 64 KiB (netlink attributes cap nests there). */
static char *nl_room(struct nl *n)
{
	if (n->cap - n->len < 70000) {
		size_t cap = n->cap ? n->cap * 2 : 1 << 20;
		char *b = realloc(n->buf, cap);
		if (!b)
			return NULL;
		n->buf = b;
		n->cap = cap;
	}
	return n->buf + n->len;
}

static void nl_done(struct nl *n, struct nlmsghdr *h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void nl_done(struct nl *n, struct nlmsghdr *h, const char *fmt, ...)
{
	va_list ap;

	n->last = n->len;
	n->len += NLMSG_ALIGN(h->nlmsg_len);
	if (n->msgs == n->what_cap) {
		size_t cap = n->what_cap ? n->what_cap * 2 : 256;
		char(*w)[112] = realloc(n->what, cap * sizeof *w);
		if (w) {
			n->what = w;
			n->what_cap = cap;
		}
	}
	if (n->msgs < n->what_cap) {
		va_start(ap, fmt);
		vsnprintf(n->what[n->msgs], sizeof n->what[0], fmt, ap);
		va_end(ap);
	}
	n->msgs++;
}

static struct nlmsghdr *nl_msg(struct nl *n, uint16_t type, uint16_t flags)
{
	char *p = nl_room(n);

	if (!p)
		return NULL;
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags, n->seq++);
}

static void nl_begin(struct nl *n)
{
	n->len = 0;
	n->msgs = 0;
	nl_room(n);
	n->first_seq = n->seq;
	nftnl_batch_begin(n->buf, n->seq++);
	n->len += NLMSG_ALIGN(((struct nlmsghdr *)n->buf)->nlmsg_len);
}

/* Send the batch; every error ack fails it (the kernel then aborted it whole). */
static int nl_commit(struct nl *n)
{
	char rbuf[16384];
	uint32_t last = n->seq - 1, end_seq;
	int sz = (int)(n->len + 65536);
	int rc = 0;
	bool got_last = false;
	struct nlmsghdr *h;

	if (n->msgs == 0)
		return 0;
	/*
	 * Only the last message asks for an ack (the kernel reports every error
	 * anyway): its ack means the whole batch was processed.  Acks for all of
	 * a large batch would overflow the socket's receive buffer.
	 */
	((struct nlmsghdr *)(n->buf + n->last))->nlmsg_flags |= NLM_F_ACK;
	{
		int one = 1;
		setsockopt(mnl_socket_get_fd(n->sock), SOL_NETLINK, NETLINK_CAP_ACK, &one,
			   sizeof one);
	}
	if (!nl_room(n))
		return snprintf(n->err, n->errlen, "out of memory"), -1;
	end_seq = n->seq++;
	h = nftnl_batch_end(n->buf + n->len, end_seq);
	n->len += NLMSG_ALIGN(h->nlmsg_len);
	if (setsockopt(mnl_socket_get_fd(n->sock), SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(mnl_socket_get_fd(n->sock), SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	sz = 1 << 22;
	setsockopt(mnl_socket_get_fd(n->sock), SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
	if (mnl_socket_sendto(n->sock, n->buf, n->len) < 0)
		return nl_fail(n, "netlink send%s: %s", "");
	while (!got_last) {
		ssize_t r = mnl_socket_recvfrom(n->sock, rbuf, sizeof rbuf);
		if (r < 0 && errno == ENOBUFS && rc < 0)
			return rc; /* a flood of error reports: the batch failed anyway */
		if (r < 0)
			return nl_fail(n, "netlink receive%s: %s", "");
		for (h = (struct nlmsghdr *)rbuf; mnl_nlmsg_ok(h, (int)r);
		     h = mnl_nlmsg_next(h, (int *)&r)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (e->error && rc == 0) {
				size_t i = h->nlmsg_seq - n->first_seq - 1;
				errno = -e->error;
				snprintf(n->err, n->errlen,
					 "the kernel refused %s (message %zu of %zu): %s; nothing changed",
					 i < n->msgs && i < n->what_cap ? n->what[i] : "a message", i + 1,
					 n->msgs, strerror(-e->error));
				rc = -1;
			}
			if (h->nlmsg_seq == last)
				got_last = true;
		}
	}
	return rc;
}

/* ---- building objects ---- */

static int put_table(struct nl *n, uint16_t type, uint16_t flags, const char *comment)
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
static int put_elems(struct nl *n, int s, const struct range *v, size_t cnt, bool del)
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

static int put_chain(struct nl *n, uint16_t type, const char *name, bool base)
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

static int put_counter(struct nl *n, uint16_t type, const char *name)
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
static int put_org_rules(struct nl *n, const struct chain_st *c, unsigned nflog_group)
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

static int put_org_chain(struct nl *n, const struct chain_st *c, unsigned nflog_group)
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

/* ---- reading the kernel's table back ---- */

static int dump(struct nl *n, uint16_t type, const char *set, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	uint32_t seq = n->seq++;
	struct nlmsghdr *h =
		nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
	int rc;

	if (type == NFT_MSG_GETSETELEM) {
		mnl_attr_put_strz(h, NFTA_SET_ELEM_LIST_TABLE, P25_NFT_TABLE);
		mnl_attr_put_strz(h, NFTA_SET_ELEM_LIST_SET, set);
	} else if (type == NFT_MSG_GETRULE) {
		mnl_attr_put_strz(h, NFTA_RULE_TABLE, P25_NFT_TABLE);
	} else if (type == NFT_MSG_GETOBJ) {
		mnl_attr_put_strz(h, NFTA_OBJ_TABLE, P25_NFT_TABLE);
		mnl_attr_put_u32(h, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
	}
	if (type == NFT_MSG_GETGEN)
		h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	if (type == NFT_MSG_GETTABLE) {
		h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		mnl_attr_put_strz(h, NFTA_TABLE_NAME, P25_NFT_TABLE);
	}
	if (mnl_socket_sendto(n->sock, h, h->nlmsg_len) < 0)
		return -1;
	do {
		ssize_t r = mnl_socket_recvfrom(n->sock, buf, sizeof buf);
		if (r < 0)
			return -1;
		rc = mnl_cb_run(buf, (size_t)r, seq, n->portid, cb, data);
	} while (rc > 0);
	return rc;
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

static int table_cb(const struct nlmsghdr *h, void *data)
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
static int st_from_kernel(struct nl *n, struct st *s)
{
	memset(s, 0, sizeof *s);
	if (dump(n, NFT_MSG_GETTABLE, NULL, table_cb, s) < 0) {
		if (errno == ENOENT)
			return 0;
		return nl_fail(n, "reading table inet port25%s: %s", "");
	}
	if (dump(n, NFT_MSG_GETCHAIN, NULL, chain_cb, s) < 0)
		return nl_fail(n, "reading the chains of inet port25%s: %s", "");
	s->base = s->nbase == 2;
	if (dump(n, NFT_MSG_GETRULE, NULL, rule_cb, s) < 0)
		return nl_fail(n, "reading the rules of inet port25%s: %s", "");
	for (int i = 0; i < NSETS; i++) {
		struct rd_elems e = {0};
		int fam = set_fam(i);
		if (dump(n, NFT_MSG_GETSETELEM, set_names[i], elem_cb, &e) < 0) {
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

/* ---- the difference between two states ---- */

struct diff {
	struct rlist add[NSETS], del[NSETS];
	const struct chain_st **cadd, **crewrite; /* desired chains */
	const struct chain_st **cdel;		  /* loaded chains */
	size_t ncadd, ncrewrite, ncdel;
};

static void diff_free(struct diff *d)
{
	for (int i = 0; i < NSETS; i++) {
		free(d->add[i].v);
		free(d->del[i].v);
	}
	free(d->cadd);
	free(d->crewrite);
	free(d->cdel);
	memset(d, 0, sizeof *d);
}

static int diff_states(const struct st *want, const struct st *have, struct diff *d)
{
	size_t nc = want->nchains + have->nchains + 1;

	memset(d, 0, sizeof *d);
	d->cadd = calloc(nc, sizeof *d->cadd);
	d->crewrite = calloc(nc, sizeof *d->crewrite);
	d->cdel = calloc(nc, sizeof *d->cdel);
	if (!d->cadd || !d->crewrite || !d->cdel)
		return -1;
	for (int s = 0; s < NSETS; s++) {
		const struct rlist *w = &want->sets[s], *h = &have->sets[s];
		size_t i = 0, j = 0;
		while (i < w->n || j < h->n) {
			int c = i == w->n ? 1 : j == h->n ? -1 : range_cmp(&w->v[i], &h->v[j]);
			if (c == 0) {
				i++;
				j++;
			} else if (c < 0) {
				if (rl_push(&d->add[s], &w->v[i++]) < 0)
					return -1;
			} else if (rl_push(&d->del[s], &h->v[j++]) < 0) {
				return -1;
			}
		}
	}
	/* both chain lists are sorted by name */
	size_t i = 0, j = 0;
	while (i < want->nchains || j < have->nchains) {
		int c = i == want->nchains ? 1
			: j == have->nchains
				? -1
				: strcmp(want->chains[i].name, have->chains[j].name);
		if (c == 0) {
			if (strcmp(want->chains[i].sig, have->chains[j].sig) != 0)
				d->crewrite[d->ncrewrite++] = &want->chains[i];
			i++;
			j++;
		} else if (c < 0) {
			d->cadd[d->ncadd++] = &want->chains[i++];
		} else {
			d->cdel[d->ncdel++] = &have->chains[j++];
		}
	}
	return 0;
}

static size_t st_intervals(const struct st *s)
{
	size_t n = 0;

	for (int i = 0; i < NSETS; i++)
		n += s->sets[i].n;
	return n;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static uint64_t comment_gen(const char *comment)
{
	unsigned long long g = 0;

	if (sscanf(comment, "port25 generation %llu", &g) != 1)
		return 0;
	return g;
}

/* The whole table: create-if-missing, delete, create, then everything. */
static int build_full(struct nl *n, const struct st *want, unsigned nflog_group,
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

static int plan_of(const struct p25_model *m, const struct p25_enforce_opts *o,
		   struct p25_nft_plan *plan, char *err, size_t errlen)
{
	struct p25_compile_opts co = {.now = o->now, .nflog_group = o->nflog_group,
				      .nft_plan = plan};
	struct p25_compile_output out;

	memset(plan, 0, sizeof *plan);
	if (p25_compile(m, P25_TARGET_NFTABLES, &co, &out, err, errlen) < 0)
		return -1;
	p25_compile_output_free(&out);
	return 0;
}

static int gen_cb(const struct nlmsghdr *h, void *data)
{
	struct nlattr *a;

	mnl_attr_for_each(a, h, sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == NFTA_GEN_ID)
		*(uint32_t *)data = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

/*
 * The ruleset generation of this namespace: the kernel bumps it on every
 * commit of any table, so an unchanged value means an unchanged ruleset.
 */
static int get_genid(struct nl *n, uint32_t *genid)
{
	*genid = 0;
	if (dump(n, NFT_MSG_GETGEN, NULL, gen_cb, genid) < 0)
		return nl_fail(n, "reading the ruleset generation%s: %s", "");
	return 0;
}

/* The cache of what was loaded, when the caller keeps one; a note when it cannot be used. */
static struct enf_cache *cache_open(const struct p25_enforce_opts *o, struct p25_enforce_result *res)
{
	char err[300];
	struct enf_cache *c;

	if (!o->state_dir || o->dry_run)
		return NULL;
	c = enf_cache_open(o->state_dir, err, sizeof err);
	if (!c)
		snprintf(res->note, sizeof res->note, "no cache of the loaded state: %.250s", err);
	return c;
}

/*
 * Whether the cache is the kernel's state: nothing has committed since it was
 * written (the ruleset generation is the one it recorded) and the table it
 * describes is there, the very one (its handle).  The generation alone is not
 * enough: a namespace created where a deleted one was can count up to the
 * same generation without any table.  1 trusted; 0 not, with why in note.
 */
static int cache_trusted(struct nl *n, const struct enf_cache *c, uint32_t g0, char *note,
			 size_t len)
{
	struct st t;
	uint32_t gc;

	if (!enf_cache_valid(c, &gc)) {
		snprintf(note, len, "no cache of the loaded state");
		return 0;
	}
	if (gc != g0) {
		snprintf(note, len,
			 "the ruleset changed since the cache was written (generation %u, cached %u)",
			 g0, gc);
		return 0;
	}
	memset(&t, 0, sizeof t);
	if (dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &t) < 0) {
		if (errno != ENOENT)
			return nl_fail(n, "reading table inet port25%s: %s", "");
		snprintf(note, len, "the cache describes a table inet port25 the kernel does not have");
		return 0;
	}
	if (t.handle == 0 || t.handle != enf_cache_table_handle(c)) {
		snprintf(note, len,
			 "table inet port25 is not the one cached (handle %llu, cached %llu)",
			 (unsigned long long)t.handle,
			 (unsigned long long)enf_cache_table_handle(c));
		return 0;
	}
	return 1;
}

/*
 * After a commit: the cache becomes `now` when our commit was the only one
 * since g0 (the generation moved by exactly one), else it is forgotten.
 */
static void cache_after(struct nl *n, struct enf_cache *c, const struct st *now, uint32_t g0,
			uint64_t generation, const char *hash, struct p25_enforce_result *res)
{
	struct st t;
	uint32_t g1;

	if (!c)
		return;
	memset(&t, 0, sizeof t);
	if (get_genid(n, &g1) < 0 || g1 != g0 + 1 ||
	    dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &t) < 0 ||
	    enf_cache_store(c, now, g1, t.handle, generation, hash) < 0) {
		enf_cache_forget(c);
		snprintf(res->note, sizeof res->note,
			 "another commit ran alongside (ruleset generation %u, then %u): the next "
			 "sync reads the kernel back", g0, g1);
	}
}

static int apply_state(struct nl *n, const struct st *want, unsigned nflog_group,
		       const struct p25_enforce_opts *o, struct p25_enforce_result *res,
		       struct enf_cache *cache)
{
	struct st have;
	struct timespec t0;
	char comment[128];
	uint64_t gen;
	uint32_t g0 = 0;

	/* Only the table's comment is needed: the generation to count on from. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&have, 0, sizeof have);
	if (dump(n, NFT_MSG_GETTABLE, NULL, table_cb, &have) < 0 && errno != ENOENT)
		return nl_fail(n, "reading table inet port25%s: %s", "");
	gen = comment_gen(have.comment) + 1;
	st_free(&have);
	res->read_ms = ms_since(&t0);
	st_hash(want, res->hash);
	snprintf(comment, sizeof comment, "port25 generation %llu at %lld hash %s",
		 (unsigned long long)gen, (long long)o->now, res->hash);
	res->generation = gen;
	res->full = true;
	res->intervals = res->added = st_intervals(want);
	res->chains_added = want->nchains;
	/* before the batch: nl_commit expects the batch's sequence numbers to be the last used */
	if (cache && !o->dry_run && get_genid(n, &g0) < 0)
		return -1;
	nl_begin(n);
	if (build_full(n, want, nflog_group, comment) < 0) {
		snprintf(n->err, n->errlen, "out of memory building the transaction");
		return -1;
	}
	res->messages = n->msgs;
	res->bytes = n->len;
	if (o->dry_run)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (nl_commit(n) < 0) {
		enf_cache_forget(cache);
		return -1;
	}
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	cache_after(n, cache, want, g0, gen, res->hash, res);
	return 0;
}

int p25_enforce_apply_plan(const struct p25_nft_plan *plan, const struct p25_enforce_opts *o,
			   struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct enf_cache *cache;
	struct st want;
	struct nl n;
	int rc;

	memset(res, 0, sizeof *res);
	if (st_from_plan(plan, &want) < 0) {
		st_free(&want);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (nl_open(&n, err, errlen) < 0) {
		st_free(&want);
		return -1;
	}
	cache = cache_open(o, res);
	rc = apply_state(&n, &want, plan->nflog_group, o, res, cache);
	enf_cache_close(cache);
	nl_close(&n);
	st_free(&want);
	return rc;
}

int p25_enforce_apply(const struct p25_model *m, const struct p25_enforce_opts *o,
		      struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct timespec t0;
	double cms;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	cms = ms_since(&t0);
	rc = p25_enforce_apply_plan(&plan, o, res, err, errlen);
	res->compile_ms = cms;
	p25_nft_plan_free(&plan);
	return rc;
}

int p25_enforce_sync(const struct p25_model *m, const struct p25_enforce_opts *o,
		     struct p25_enforce_result *res, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct st want, have;
	struct diff d;
	struct nl n;
	struct timespec t0;
	struct enf_cache *cache = NULL;
	char name[P25_NFT_NAMELEN], why[300] = "";
	uint32_t g0 = 0;
	int rc = -1, trusted;

	memset(res, 0, sizeof *res);
	memset(&have, 0, sizeof have);
	memset(&want, 0, sizeof want);
	memset(&d, 0, sizeof d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	if (st_from_plan(&plan, &want) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_plan;
	}
	res->compile_ms = ms_since(&t0);
	if (nl_open(&n, err, errlen) < 0)
		goto out_plan;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cache = cache_open(o, res);
	if (get_genid(&n, &g0) < 0)
		goto out;
	trusted = cache ? cache_trusted(&n, cache, g0, why, sizeof why) : 0;
	if (trusted < 0)
		goto out;
	if (trusted && enf_cache_load(cache, &have) == 0) {
		res->cached = true;
	} else {
		if (cache && !res->note[0])
			snprintf(res->note, sizeof res->note, "%.280s: read back", why);
		st_free(&have);
		if (st_from_kernel(&n, &have) < 0)
			goto out;
	}
	res->read_ms = ms_since(&t0);
	/* Nothing of ours to patch: load it whole. */
	if (!have.table || !have.base) {
		rc = apply_state(&n, &want, plan.nflog_group, o, res, cache);
		goto out;
	}
	res->generation = comment_gen(have.comment);
	st_hash(&want, res->hash);
	res->intervals = st_intervals(&want);
	if (diff_states(&want, &have, &d) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nl_begin(&n);
	bool ok = true;
	/* New chains first: the map elements added below jump to them. */
	for (size_t i = 0; i < d.ncadd && ok; i++)
		ok = put_org_chain(&n, d.cadd[i], plan.nflog_group) == 0;
	for (size_t i = 0; i < d.ncrewrite && ok; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *h = nl_msg(&n, NFT_MSG_DELRULE, 0);
		ok = r && h;
		if (ok) {
			nftnl_rule_set_str(r, NFTNL_RULE_TABLE, P25_NFT_TABLE);
			nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, d.crewrite[i]->name);
			nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
			nftnl_rule_nlmsg_build_payload(h, r);
			nl_done(&n, h, "flushing chain %s", d.crewrite[i]->name);
			/* counters may be missing if the chain was made by hand: add them idempotently */
			ok = put_org_rules(&n, d.crewrite[i], plan.nflog_group) == 0;
		}
		nftnl_rule_free(r);
	}
	for (int s = 0; s < NSETS && ok; s++) {
		ok = put_elems(&n, s, d.del[s].v, d.del[s].n, true) == 0;
		res->removed += d.del[s].n;
	}
	for (int s = 0; s < NSETS && ok; s++) {
		ok = put_elems(&n, s, d.add[s].v, d.add[s].n, false) == 0;
		res->added += d.add[s].n;
	}
	/* Chains no longer wanted go after the elements that jumped to them. */
	for (size_t i = 0; i < d.ncdel && ok; i++) {
		const char *cn = d.cdel[i]->name;
		ok = put_chain(&n, NFT_MSG_DELCHAIN, cn, false) == 0;
		if (ok && d.cdel[i]->sig[0]) {
			snprintf(name, sizeof name, "%s_permit", cn);
			ok = put_counter(&n, NFT_MSG_DELOBJ, name) == 0;
			snprintf(name, sizeof name, "%s_block", cn);
			ok = ok && put_counter(&n, NFT_MSG_DELOBJ, name) == 0;
		}
	}
	if (!ok) {
		snprintf(err, errlen, "out of memory building the transaction");
		goto out;
	}
	res->chains_added = d.ncadd;
	res->chains_rewritten = d.ncrewrite;
	res->chains_removed = d.ncdel;
	res->messages = n.msgs;
	res->bytes = n.len;
	if (o->dry_run) {
		rc = 0;
		goto out;
	}
	if (n.msgs == 0) {
		/* in sync: what was read back is now the cache (a compacted journal too) */
		if (cache && (!res->cached || enf_cache_journal(cache)) &&
		    enf_cache_store(cache, &want, g0, have.handle, res->generation, res->hash) < 0)
			enf_cache_forget(cache);
		rc = 0;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = nl_commit(&n);
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	if (rc < 0)
		enf_cache_forget(cache);
	else
		cache_after(&n, cache, &want, g0, res->generation, res->hash, res);
out:
	enf_cache_close(cache);
	nl_close(&n);
out_plan:
	diff_free(&d);
	st_free(&have);
	st_free(&want);
	p25_nft_plan_free(&plan);
	return rc;
}

int p25_enforce_update(const struct p25_enforce_change *ch, size_t nch,
		       const struct p25_enforce_opts *o, struct p25_enforce_result *res, char *err,
		       size_t errlen)
{
	struct enf_overlay ov;
	struct enf_cache *cache;
	struct rlist del = {0}, ins = {0};
	struct timespec t0;
	struct nl n;
	uint32_t g0 = 0, g1 = 0;
	int rc = -1;

	memset(res, 0, sizeof *res);
	memset(&ov, 0, sizeof ov);
	if (!o->state_dir) {
		snprintf(res->note, sizeof res->note, "no state directory for the cache");
		return 1;
	}
	if (nl_open(&n, err, errlen) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!(cache = enf_cache_open(o->state_dir, res->note, sizeof res->note))) {
		rc = 1;
		goto out;
	}
	if (get_genid(&n, &g0) < 0)
		goto out;
	if ((rc = cache_trusted(&n, cache, g0, res->note, sizeof res->note)) <= 0) {
		rc = rc < 0 ? -1 : 1;
		goto out;
	}
	rc = -1;
	ov.c = cache;
	res->cached = true;
	res->generation = enf_cache_generation(cache);
	for (size_t i = 0; i < nch; i++) {
		char chain[CHAIN_LEN];
		int fam = ch[i].prefix.family == P25_INET ? 0 : 1;
		/* an org that is not enforced has nothing loaded: no change */
		p25_nft_chain_name(chain, sizeof chain, 0, ch[i].org);
		if (!enf_cache_has_chain(cache, chain))
			continue;
		del.n = ins.n = 0;
		if (enf_permit_delta(fam, &ch[i].prefix, ch[i].cover, ch[i].ncover, enf_overlay_view,
				     &ov, &del, &ins) < 0)
			goto oom;
		for (size_t k = 0; k < del.n; k++)
			if (enf_overlay_put(&ov, del.v[k].lo == del.v[k].hi ? SET_HOSTS(fam)
									     : SET_PERMIT(fam),
					    &del.v[k], false) < 0)
				goto oom;
		for (size_t k = 0; k < ins.n; k++)
			if (enf_overlay_put(&ov, ins.v[k].lo == ins.v[k].hi ? SET_HOSTS(fam)
									     : SET_PERMIT(fam),
					    &ins.v[k], true) < 0)
				goto oom;
	}
	res->read_ms = ms_since(&t0);
	nl_begin(&n);
	for (int s = 0; s < NSETS; s++) {
		if (put_elems(&n, s, ov.del[s].v, ov.del[s].n, true) < 0)
			goto oom;
		res->removed += ov.del[s].n;
	}
	for (int s = 0; s < NSETS; s++) {
		if (put_elems(&n, s, ov.add[s].v, ov.add[s].n, false) < 0)
			goto oom;
		res->added += ov.add[s].n;
	}
	res->messages = n.msgs;
	res->bytes = n.len;
	if (o->dry_run || n.msgs == 0) {
		rc = 0;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (nl_commit(&n) < 0) {
		/* the kernel holds something else than the cache says: start over from it */
		enf_cache_forget(cache);
		snprintf(res->note, sizeof res->note, "%.300s", err);
		rc = 1;
		goto out;
	}
	res->commit_ms = ms_since(&t0);
	clock_gettime(CLOCK_MONOTONIC, &res->committed_at);
	rc = 0;
	if (get_genid(&n, &g1) < 0 || g1 != g0 + 1 || enf_cache_append(cache, &ov, g1) < 0) {
		enf_cache_forget(cache);
		snprintf(res->note, sizeof res->note,
			 "another commit ran alongside (ruleset generation %u, then %u): the next "
			 "sync reads the kernel back", g0, g1);
	}
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
	rc = -1;
out:
	free(del.v);
	free(ins.v);
	enf_overlay_free(&ov);
	enf_cache_close(cache);
	nl_close(&n);
	return rc;
}

int p25_enforce_lock(const struct p25_enforce_opts *o, char *err, size_t errlen)
{
	return o->state_dir ? enf_lock(o->state_dir, err, errlen) : 0;
}

void p25_enforce_unlock(const struct p25_enforce_opts *o)
{
	if (o->state_dir)
		enf_unlock();
}

int p25_enforce_flush(bool *existed, char *err, size_t errlen)
{
	struct st have;
	struct nl n;
	int rc;

	*existed = false;
	if (nl_open(&n, err, errlen) < 0)
		return -1;
	memset(&have, 0, sizeof have);
	rc = dump(&n, NFT_MSG_GETTABLE, NULL, table_cb, &have);
	*existed = rc >= 0;
	if (rc < 0 && errno != ENOENT) {
		nl_fail(&n, "reading table inet port25%s: %s", "");
		nl_close(&n);
		return -1;
	}
	nl_begin(&n);
	/* create-if-missing then delete: idempotent, and only our table */
	rc = put_table(&n, NFT_MSG_NEWTABLE, NLM_F_CREATE, NULL) < 0 ||
			     put_table(&n, NFT_MSG_DELTABLE, 0, NULL) < 0
		     ? -1
		     : nl_commit(&n);
	nl_close(&n);
	return rc;
}

struct ctr {
	json_t *orgs; /* object: org -> {out_permit, out_block, in_permit, in_block} */
};

static int obj_cb(const struct nlmsghdr *h, void *data)
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

int p25_enforce_status(const struct p25_model *m, const struct p25_enforce_opts *o,
		       json_t **out, char *err, size_t errlen)
{
	struct p25_nft_plan plan;
	struct st want, have;
	struct diff d;
	struct nl n;
	struct ctr c = {NULL};
	char hw[17], hh[17];
	uint32_t genid = 0;
	int rc = -1;

	*out = NULL;
	memset(&want, 0, sizeof want);
	memset(&have, 0, sizeof have);
	memset(&d, 0, sizeof d);
	if (plan_of(m, o, &plan, err, errlen) < 0)
		return -1;
	if (st_from_plan(&plan, &want) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out_plan;
	}
	if (nl_open(&n, err, errlen) < 0)
		goto out_plan;
	if (get_genid(&n, &genid) < 0 || st_from_kernel(&n, &have) < 0)
		goto out;
	if (diff_states(&want, &have, &d) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	st_hash(&want, hw);
	st_hash(&have, hh);
	json_t *j = json_object();
	json_object_set_new(j, "table", json_string("inet " P25_NFT_TABLE));
	json_object_set_new(j, "loaded", json_boolean(have.table));
	/* what the cache of the loaded state is checked against, for diagnosis */
	json_object_set_new(j, "ruleset_generation", json_integer((json_int_t)genid));
	if (have.table) {
		json_object_set_new(j, "table_handle", json_integer((json_int_t)have.handle));
		unsigned long long g = 0;
		long long at = 0;
		char when[40] = "";
		if (sscanf(have.comment, "port25 generation %llu at %lld", &g, &at) == 2)
			p25_time_format(at, when, sizeof when);
		json_object_set_new(j, "generation", json_integer((json_int_t)g));
		json_object_set_new(j, "applied_for", json_string(when));
		json_object_set_new(j, "hash_loaded", json_string(hh));
	}
	json_object_set_new(j, "hash_registry", json_string(hw));
	size_t add = 0, del = 0;
	json_t *sets = json_object();
	for (int s = 0; s < NSETS; s++) {
		json_t *e = json_object();
		json_object_set_new(e, "loaded", json_integer((json_int_t)have.sets[s].n));
		json_object_set_new(e, "registry", json_integer((json_int_t)want.sets[s].n));
		json_object_set_new(e, "to_add", json_integer((json_int_t)d.add[s].n));
		json_object_set_new(e, "to_remove", json_integer((json_int_t)d.del[s].n));
		json_object_set_new(sets, set_names[s], e);
		add += d.add[s].n;
		del += d.del[s].n;
	}
	json_object_set_new(j, "sets", sets);
	json_object_set_new(j, "chains_loaded", json_integer((json_int_t)have.nchains));
	json_object_set_new(j, "chains_registry", json_integer((json_int_t)want.nchains));
	json_object_set_new(j, "intervals_to_add", json_integer((json_int_t)add));
	json_object_set_new(j, "intervals_to_remove", json_integer((json_int_t)del));
	json_object_set_new(j, "chains_to_add", json_integer((json_int_t)d.ncadd));
	json_object_set_new(j, "chains_to_rewrite", json_integer((json_int_t)d.ncrewrite));
	json_object_set_new(j, "chains_to_remove", json_integer((json_int_t)d.ncdel));
	bool matches = have.table && have.base && strcmp(hw, hh) == 0;
	json_object_set_new(j, "matches_registry", json_boolean(matches));
	json_object_set_new(j, "state", json_string(!have.table ? "not_loaded"
						    : matches	 ? "in_sync"
								 : "differs"));
	c.orgs = json_object();
	if (have.table && dump(&n, NFT_MSG_GETOBJ, NULL, obj_cb, &c) < 0) {
		nl_fail(&n, "reading the counters of inet port25%s: %s", "");
		json_decref(c.orgs);
		json_decref(j);
		goto out;
	}
	json_object_set_new(j, "counters", c.orgs);
	*out = j;
	rc = 0;
out:
	nl_close(&n);
out_plan:
	diff_free(&d);
	st_free(&have);
	st_free(&want);
	p25_nft_plan_free(&plan);
	return rc;
}
