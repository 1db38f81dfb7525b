/*
 * enforce's netlink transport: the socket, a growable batch of nf_tables
 * messages sent in one sendmsg (the kernel applies a batch whole or not at
 * all, so a batch is one transaction), its acks read back with the message
 * an error names, and the single requests the read-back is made of.  Kept
 * apart from what the messages say (build.c, readback.c) so that sequence
 * numbers, buffer sizes and ack handling are decided in one place, as
 * nftables keeps them in mnl.c.
 */
#include "enforce/enforce_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

int nl_fail(struct nl *n, const char *fmt, const char *arg)
{
	snprintf(n->err, n->errlen, fmt, arg, strerror(errno));
	return -1;
}

int nl_open(struct nl *n, char *err, size_t errlen)
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

void nl_close(struct nl *n)
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

void nl_done(struct nl *n, struct nlmsghdr *h, const char *fmt, ...)
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

struct nlmsghdr *nl_msg(struct nl *n, uint16_t type, uint16_t flags)
{
	char *p = nl_room(n);

	if (!p)
		return NULL;
	return nftnl_nlmsg_build_hdr(p, type, NFPROTO_INET, flags, n->seq++);
}

void nl_begin(struct nl *n)
{
	n->len = 0;
	n->msgs = 0;
	nl_room(n);
	n->first_seq = n->seq;
	nftnl_batch_begin(n->buf, n->seq++);
	n->len += NLMSG_ALIGN(((struct nlmsghdr *)n->buf)->nlmsg_len);
}

/* Send the batch; every error ack fails it (the kernel then aborted it whole). */
int nl_commit(struct nl *n)
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

int enf_dump(struct nl *n, uint16_t type, const char *set, mnl_cb_t cb, void *data)
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
int get_genid(struct nl *n, uint32_t *genid)
{
	*genid = 0;
	if (enf_dump(n, NFT_MSG_GETGEN, NULL, gen_cb, genid) < 0)
		return nl_fail(n, "reading the ruleset generation%s: %s", "");
	return 0;
}
