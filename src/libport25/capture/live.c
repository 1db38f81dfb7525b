/* Live capture: libpcap underneath, the file reader's callback on top. */
#include "capture/capture.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct p25_live {
	pcap_t *pc;
	uint32_t linktype;
	int nano;
	int timeout_ms;
	p25_packet_fn fn;
	void *ctx;
	int stop;
	char err[PCAP_ERRBUF_SIZE + 256];
};

/* The decoder speaks file link types; a few DLT_ values differ by system. */
static uint32_t dlt_to_linktype(int dlt)
{
	switch (dlt) {
	case DLT_RAW:
		return P25_LINK_RAW;
#ifdef DLT_LOOP
	case DLT_LOOP:
		return P25_LINK_LOOP;
#endif
	default:
		return (uint32_t)dlt;
	}
}

static struct p25_live *live_fail(struct p25_live *l, const char *ifname, const char *what,
				  const char *detail, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s%s%s", ifname, what, detail && *detail ? ": " : "",
		 detail ? detail : "");
	if (l->pc)
		pcap_close(l->pc);
	free(l);
	return NULL;
}

struct p25_live *p25_live_open(const struct p25_live_opts *o, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct p25_live *l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "%s: out of memory", o->ifname);
		return NULL;
	}
	l->pc = pcap_create(o->ifname, ebuf);
	if (!l->pc)
		return live_fail(l, o->ifname, "cannot open interface", ebuf, err, errlen);
	pcap_set_snaplen(l->pc, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(l->pc, o->promisc);
	l->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 100;
	pcap_set_timeout(l->pc, l->timeout_ms);
	if (o->buffer_mb > 0)
		pcap_set_buffer_size(l->pc, o->buffer_mb << 20);
	l->nano = pcap_set_tstamp_precision(l->pc, PCAP_TSTAMP_PRECISION_NANO) == 0;
	int r = pcap_activate(l->pc);
	if (r < 0) {
		const char *why = r == PCAP_ERROR_PERM_DENIED ? "permission denied (needs root or "
								 "CAP_NET_RAW)"
				  : r == PCAP_ERROR_NO_SUCH_DEVICE ? "no such interface"
								   : "cannot activate capture";
		return live_fail(l, o->ifname, why, pcap_geterr(l->pc), err, errlen);
	}
	l->linktype = dlt_to_linktype(pcap_datalink(l->pc));
	const char *filter = o->filter ? o->filter : P25_LIVE_FILTER;
	if (*filter) {
		struct bpf_program prog;
		if (pcap_compile(l->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0)
			return live_fail(l, o->ifname, "bad capture filter", pcap_geterr(l->pc),
					 err, errlen);
		r = pcap_setfilter(l->pc, &prog);
		pcap_freecode(&prog);
		if (r < 0)
			return live_fail(l, o->ifname, "cannot set capture filter",
					 pcap_geterr(l->pc), err, errlen);
	}
	return l;
}

static void handler(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct p25_live *l = (struct p25_live *)user;
	struct p25_packet pkt = {
		.ts_ns = (uint64_t)h->ts.tv_sec * 1000000000u +
			 (uint64_t)h->ts.tv_usec * (l->nano ? 1u : 1000u),
		.data = bytes,
		.caplen = h->caplen,
		.origlen = h->len,
		.linktype = l->linktype,
	};
	int s = l->fn(l->ctx, &pkt);
	if (s) {
		l->stop = s;
		pcap_breakloop(l->pc);
	}
}

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Linux hands captured packets over a block at a time (TPACKET_V3): when the
 * block is full, or when its timer, the capture timeout, expires; the timer
 * may skip one round while blocks are being opened.  A loop broken by
 * p25_live_break() would leave the packets of the current block unread, the
 * last moments before a --duration or Ctrl-C, so read on without blocking
 * for two timeouts more.  Another break ends this at once.
 */
static int live_drain(struct p25_live *l)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	int64_t end = now_ms() + 2 * (int64_t)l->timeout_ms + 20;
	int r = 0;

	if (pcap_setnonblock(l->pc, 1, ebuf) < 0)
		return 0;
	while (!l->stop) {
		r = pcap_dispatch(l->pc, -1, handler, (u_char *)l);
		if (r < 0 || now_ms() >= end)
			break;
		if (r == 0)
			nanosleep(&(struct timespec){.tv_nsec = 5 * 1000000}, NULL);
	}
	pcap_setnonblock(l->pc, 0, ebuf);
	return r == PCAP_ERROR ? PCAP_ERROR : 0;
}

int p25_live_loop(struct p25_live *l, long count, p25_packet_fn fn, void *ctx)
{
	l->fn = fn;
	l->ctx = ctx;
	l->stop = 0;
	int r = pcap_loop(l->pc, count > 0 ? (int)count : -1, handler, (u_char *)l);
	if (r == PCAP_ERROR_BREAK && !l->stop)
		r = live_drain(l);
	if (l->stop)
		return l->stop;
	if (r == PCAP_ERROR) {
		snprintf(l->err, sizeof l->err, "capture: %s", pcap_geterr(l->pc));
		return -1;
	}
	return 0;
}

void p25_live_break(struct p25_live *l)
{
	pcap_breakloop(l->pc);
}

uint32_t p25_live_linktype(const struct p25_live *l)
{
	return l->linktype;
}

const char *p25_live_strerror(const struct p25_live *l)
{
	return l->err[0] ? l->err : "no error";
}

int p25_live_stats(struct p25_live *l, uint64_t *received, uint64_t *dropped)
{
	struct pcap_stat st;
	if (pcap_stats(l->pc, &st) < 0)
		return -1;
	*received = st.ps_recv;
	*dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
	return 0;
}

void p25_live_close(struct p25_live *l)
{
	if (!l)
		return;
	pcap_close(l->pc);
	free(l);
}
