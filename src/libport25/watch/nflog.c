/*
 * The kernel's log of blocked attempts: NFLOG group messages, through
 * libnetfilter_log.  The nftables target logs each rejected SYN with the
 * prefix "port25 out|in <org> " just before the verdict; we copy enough of
 * the packet for the IP and TCP headers and nothing of any payload.
 *
 * Binding a group needs CAP_NET_ADMIN; reading it afterwards does not, so
 * the daemon can drop its capabilities once this is open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libnetfilter_log/libnetfilter_log.h>

#include "watch/sources.h"

/* IPv6 with a few extension headers and a TCP header with options. */
#define COPY_BYTES 160

struct p25_nflog {
	struct nflog_handle *h;
	struct nflog_g_handle *g;
	p25_attempt_fn *fn;
	void *ctx;
	struct p25_nflog_stats stats;
	char buf[65536] __attribute__((aligned));
};

static int on_packet(struct nflog_g_handle *gh, struct nfgenmsg *nfmsg, struct nflog_data *nfa,
		     void *data)
{
	struct p25_nflog *n = data;
	struct p25_attempt at;
	struct timeval tv;
	char *payload = NULL, *prefix;
	int len, rc;

	(void)gh;
	(void)nfmsg;
	n->stats.messages++;
	memset(&at, 0, sizeof at);
	prefix = nflog_get_prefix(nfa);
	if (!prefix || p25_nflog_prefix_parse(prefix, strnlen(prefix, 128), &at.dir, at.org) != 1) {
		/* Someone else's log statement on our group, or a mangled prefix. */
		n->stats.foreign++;
		return 0;
	}
	len = nflog_get_payload(nfa, &payload);
	if (len <= 0 || !payload) {
		n->stats.malformed++;
		return 0;
	}
	rc = p25_packet_decode((const uint8_t *)payload, (size_t)len, &at);
	if (rc < 0) {
		n->stats.malformed++;
		return 0;
	}
	if (rc == 0 || at.dport != 25) {
		n->stats.foreign++;
		return 0;
	}
	at.t = nflog_get_timestamp(nfa, &tv) == 0 && tv.tv_sec > 0 ? tv.tv_sec : p25_time_now();
	n->stats.attempts++;
	n->fn(n->ctx, &at);
	return 0;
}

int p25_nflog_open(uint16_t group, p25_attempt_fn *fn, void *ctx, struct p25_nflog **out,
		   char *err, size_t errlen)
{
	struct p25_nflog *n = calloc(1, sizeof *n);
	int rcvbuf = 4 << 20;

	*out = NULL;
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n->fn = fn;
	n->ctx = ctx;
	n->h = nflog_open();
	if (!n->h) {
		snprintf(err, errlen, "nflog: cannot open a netlink socket: %s", strerror(errno));
		goto fail;
	}
	/* Only needed on kernels before 3.8; harmless (and failing without effect) after. */
	nflog_unbind_pf(n->h, AF_INET);
	nflog_bind_pf(n->h, AF_INET);
	nflog_unbind_pf(n->h, AF_INET6);
	nflog_bind_pf(n->h, AF_INET6);
	n->g = nflog_bind_group(n->h, group);
	if (!n->g) {
		snprintf(err, errlen,
			 "nflog: cannot bind group %u: %s (needs CAP_NET_ADMIN; is another "
			 "listener on it?)",
			 group, strerror(errno));
		goto fail;
	}
	if (nflog_set_mode(n->g, NFULNL_COPY_PACKET, COPY_BYTES) < 0) {
		snprintf(err, errlen, "nflog: cannot set copy mode: %s", strerror(errno));
		goto fail;
	}
	/*
	 * The kernel batches up to 100 messages or 1 s by default: too slow for
	 * "recorded within a second".  Send at 64 messages or 100 ms, whichever
	 * comes first: prompt when quiet, batched under a flood.
	 */
	nflog_set_qthresh(n->g, 64);
	nflog_set_timeout(n->g, 10);
	/* A burst must queue in the socket, not be lost; ENOBUFS is still counted. */
	setsockopt(nflog_fd(n->h), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
	nflog_callback_register(n->g, on_packet, n);
	*out = n;
	return 0;
fail:
	p25_nflog_close(n);
	return -1;
}

int p25_nflog_fd(const struct p25_nflog *n)
{
	return nflog_fd(n->h);
}

int p25_nflog_read(struct p25_nflog *n)
{
	for (int i = 0; i < 256; i++) {
		ssize_t len = recv(nflog_fd(n->h), n->buf, sizeof n->buf, MSG_DONTWAIT);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			if (errno == ENOBUFS) {
				/* The kernel dropped messages: the counts are low, the daemon goes on. */
				n->stats.overruns++;
				continue;
			}
			return -1;
		}
		nflog_handle_packet(n->h, n->buf, (int)len);
	}
	return 0;
}

const struct p25_nflog_stats *p25_nflog_stats(const struct p25_nflog *n)
{
	return &n->stats;
}

void p25_nflog_close(struct p25_nflog *n)
{
	if (!n)
		return;
	/*
	 * Unbinding needs the CAP_NET_ADMIN the daemon has dropped; closing the
	 * socket releases the kernel's side anyway.  libnetfilter_log frees the
	 * group handle only when the unbind succeeds (nflog_close does not walk
	 * its groups), so free it here when it fails.
	 */
	if (n->g && nflog_unbind_group(n->g) < 0)
		free(n->g);
	if (n->h)
		nflog_close(n->h);
	free(n);
}
