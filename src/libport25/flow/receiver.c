/* Live collection: one UDP socket drained with recvmmsg into a decoder. */
#include "flow/flow_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BATCH 32
#define RX_DGRAM 65536

struct p25_flow_receiver {
	int fd;
	int stop_pipe[2]; /* a byte here wakes poll(): works from signal handlers */
	volatile sig_atomic_t stopped;
	uint16_t port;
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	struct sockaddr_storage src[RX_BATCH];
	uint8_t *bufs; /* RX_BATCH * RX_DGRAM */
};

struct p25_flow_receiver *p25_flow_receiver_open(const char *addr, uint16_t port, char *err,
						 size_t errlen)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		sl = sizeof *s6;
	} else {
		snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", addr);
		return NULL;
	}

	struct p25_flow_receiver *r = calloc(1, sizeof *r);
	if (!r || !(r->bufs = malloc((size_t)RX_BATCH * RX_DGRAM))) {
		snprintf(err, errlen, "out of memory");
		free(r);
		return NULL;
	}
	r->fd = -1;
	r->stop_pipe[0] = r->stop_pipe[1] = -1;
	if (pipe2(r->stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0 ||
	    (r->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		p25_flow_receiver_close(r);
		return NULL;
	}
	/* No SO_REUSEADDR: on UDP it would let two collectors split one port silently. */
	int rcvbuf = 16 << 20;
	/* Bursts of export packets outrun a default-sized buffer; best effort. */
	setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	if (bind(r->fd, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, errlen, "bind %s port %u: %s", addr, port, strerror(errno));
		p25_flow_receiver_close(r);
		return NULL;
	}
	sl = sizeof ss;
	if (getsockname(r->fd, (struct sockaddr *)&ss, &sl) == 0)
		r->port = ntohs(ss.ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
	for (int i = 0; i < RX_BATCH; i++) {
		r->iov[i].iov_base = r->bufs + (size_t)i * RX_DGRAM;
		r->iov[i].iov_len = RX_DGRAM;
	}
	return r;
}

uint16_t p25_flow_receiver_port(const struct p25_flow_receiver *r)
{
	return r->port;
}

static void sockaddr_exporter(const struct sockaddr_storage *ss, struct p25_flow_exporter *e)
{
	memset(e, 0, sizeof *e);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		p25_addr_from_v4(&e->addr, ntohl(s4->sin_addr.s_addr));
		e->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *b = s6->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		/* A dual-stack socket sees IPv4 exporters as mapped addresses. */
		if (memcmp(b, mapped, 12) == 0)
			p25_addr_from_v4(&e->addr, p25_be32(b + 12));
		else
			p25_addr_from_v6(&e->addr, b);
		e->port = ntohs(s6->sin6_port);
	}
}

int p25_flow_receiver_poll(struct p25_flow_receiver *r, struct p25_flow_decoder *d,
			   p25_flow_cb cb, void *arg, int timeout_ms)
{
	struct pollfd pf[2] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->stop_pipe[0], .events = POLLIN}};

	if (r->stopped)
		return 0;
	int n = poll(pf, 2, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	if (r->stopped || !(pf[0].revents & POLLIN))
		return 0;
	int total = 0;
	/* Drain what is queued, a batch per system call. */
	for (;;) {
		for (int i = 0; i < RX_BATCH; i++) {
			r->msgs[i].msg_hdr = (struct msghdr){
				.msg_name = &r->src[i],
				.msg_namelen = sizeof r->src[i],
				.msg_iov = &r->iov[i],
				.msg_iovlen = 1,
			};
		}
		int got = recvmmsg(r->fd, r->msgs, RX_BATCH, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				break;
			return -1;
		}
		for (int i = 0; i < got; i++) {
			struct p25_flow_exporter from;
			sockaddr_exporter(&r->src[i], &from);
			p25_flow_decode(d, &from, r->iov[i].iov_base, r->msgs[i].msg_len, cb, arg);
		}
		total += got;
		if (got < RX_BATCH || r->stopped)
			break;
	}
	return total;
}

int p25_flow_receiver_run(struct p25_flow_receiver *r, struct p25_flow_decoder *d,
			  p25_flow_cb cb, void *arg)
{
	while (!r->stopped)
		if (p25_flow_receiver_poll(r, d, cb, arg, -1) < 0)
			return -1;
	return 0;
}

void p25_flow_receiver_stop(struct p25_flow_receiver *r)
{
	int saved = errno;
	r->stopped = 1;
	if (write(r->stop_pipe[1], "", 1) < 0) {
		/* Pipe full: a wake-up is already pending. */
	}
	errno = saved;
}

void p25_flow_receiver_close(struct p25_flow_receiver *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->stop_pipe[0] >= 0)
		close(r->stop_pipe[0]);
	if (r->stop_pipe[1] >= 0)
		close(r->stop_pipe[1]);
	free(r->bufs);
	free(r);
}
