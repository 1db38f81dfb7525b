/*
 * Router ACL-deny logs as a second source: a file written by the local
 * syslog daemon (followed like tail -F) or syslog datagrams received
 * directly.  Each line goes through p25_syslog_parse; a line that fails is
 * counted and skipped, and the lines around it are unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch/sources.h"

void p25_lines_init(struct p25_lines *l, p25_attempt_fn *fn, void *ctx,
		    struct p25_syslog_stats *stats)
{
	l->len = 0;
	l->discarding = false;
	l->fn = fn;
	l->ctx = ctx;
	l->stats = stats;
}

static void one_line(struct p25_lines *l, const char *s, size_t n, p25_time now)
{
	struct p25_attempt at;
	int rc;

	if (n && s[n - 1] == '\r')
		n--;
	if (n == 0)
		return;
	l->stats->lines++;
	rc = p25_syslog_parse(s, n, now, &at);
	if (rc == 1) {
		l->stats->attempts++;
		l->fn(l->ctx, &at);
	} else if (rc == 0) {
		l->stats->ignored++;
	} else {
		l->stats->malformed++;
	}
}

void p25_lines_feed(struct p25_lines *l, const char *data, size_t len, p25_time now, bool end)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;

		if (l->discarding) {
			if (nl)
				l->discarding = false;
		} else if (l->len + n >= sizeof l->buf) {
			/* Too long to be a router's log line: drop it whole, keep the next. */
			l->stats->lines++;
			l->stats->overlong++;
			l->len = 0;
			l->discarding = nl == NULL;
		} else if (nl) {
			if (l->len) {
				memcpy(l->buf + l->len, data, n);
				one_line(l, l->buf, l->len + n, now);
				l->len = 0;
			} else {
				one_line(l, data, n, now);
			}
		} else {
			memcpy(l->buf + l->len, data, n);
			l->len += n;
		}
		if (!nl)
			break;
		data = nl + 1;
		len -= n + 1;
	}
	if (end) {
		if (l->len && !l->discarding)
			one_line(l, l->buf, l->len, now);
		l->len = 0;
		l->discarding = false;
	}
}

struct p25_syslog_file {
	char *path;
	int fd;
	off_t offset;
	dev_t dev;
	ino_t ino;
	struct p25_lines lines;
	struct p25_syslog_stats stats;
};

static int file_reopen(struct p25_syslog_file *f, bool at_end)
{
	struct stat st;
	int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (f->fd >= 0)
		close(f->fd);
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->offset = at_end ? st.st_size : 0;
	if (lseek(fd, f->offset, SEEK_SET) < 0)
		f->offset = 0;
	return 0;
}

int p25_syslog_file_open(const char *path, bool from_start, p25_attempt_fn *fn, void *ctx,
			 struct p25_syslog_file **out, char *err, size_t errlen)
{
	struct p25_syslog_file *f = calloc(1, sizeof *f);

	*out = NULL;
	if (!f || !(f->path = strdup(path))) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	f->fd = -1;
	p25_lines_init(&f->lines, fn, ctx, &f->stats);
	/* Following from the end: lines already there were counted by the previous run. */
	if (file_reopen(f, !from_start) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		p25_syslog_file_close(f);
		return -1;
	}
	*out = f;
	return 0;
}

int p25_syslog_file_read(struct p25_syslog_file *f, p25_time now, bool once)
{
	char buf[65536];
	struct stat st;

	for (int i = 0; f->fd >= 0 && i < 64; i++) {
		ssize_t n = read(f->fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				return 0;
			return -1;
		}
		if (n == 0)
			break;
		f->offset += n;
		p25_lines_feed(&f->lines, buf, (size_t)n, now, false);
		if (i == 63)
			return 0; /* more to read: let the other sources have a turn */
	}
	if (once) {
		p25_lines_feed(&f->lines, "", 0, now, true);
		return 1;
	}
	/* Rotated (a new file under the name) or truncated: start over from its beginning. */
	if (stat(f->path, &st) == 0) {
		if (f->fd < 0 || st.st_dev != f->dev || st.st_ino != f->ino) {
			p25_lines_feed(&f->lines, "", 0, now, true);
			file_reopen(f, false);
		} else if (st.st_size < f->offset) {
			p25_lines_feed(&f->lines, "", 0, now, true);
			f->offset = lseek(f->fd, 0, SEEK_SET) < 0 ? f->offset : 0;
		}
	}
	return 0;
}

const struct p25_syslog_stats *p25_syslog_file_stats(const struct p25_syslog_file *f)
{
	return &f->stats;
}

void p25_syslog_file_close(struct p25_syslog_file *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

/*
 * A UDP listener.  Plain UDP syslog (RFC 5426) is unauthenticated: anyone
 * who can reach the port can write any line, so a datagram is read only
 * from an allowed sender (rsyslog's AllowedSender) and otherwise counted
 * and dropped unread.  Source addresses can be spoofed where the network
 * does not filter them; the allowed list narrows who can lie, it does not
 * make a line true.
 */
#define UDP_BATCH 64
#define UDP_MAX	  8192 /* larger than any router's log line: longer ones count as overlong */

struct p25_syslog_udp {
	int fd;
	struct p25_prefix *senders;
	size_t nsenders;
	struct p25_lines lines;
	struct p25_syslog_udp_stats stats;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	char buf[UDP_BATCH][UDP_MAX];
};

/* What a listener accepts when no sender is configured: this host only. */
static const char *const loopback_senders[] = {"127.0.0.0/8", "::1"};

static int listen_resolve(const char *listen, struct addrinfo **ai, char *err, size_t errlen)
{
	struct addrinfo hints = {0};
	char host[128];
	const char *port;
	int rc;

	*ai = NULL;
	if (listen[0] == '[') {
		const char *close_br = strchr(listen, ']');
		if (!close_br || close_br[1] != ':' || (size_t)(close_br - listen - 1) >= sizeof host)
			goto bad;
		memcpy(host, listen + 1, (size_t)(close_br - listen - 1));
		host[close_br - listen - 1] = '\0';
		port = close_br + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (!colon || strchr(listen, ':') != colon || (size_t)(colon - listen) >= sizeof host)
			goto bad;
		memcpy(host, listen, (size_t)(colon - listen));
		host[colon - listen] = '\0';
		port = colon + 1;
	}
	if (!*port || !*host)
		goto bad;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, ai)) != 0) {
		snprintf(err, errlen, "syslog-listen %s: %s", listen, gai_strerror(rc));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "syslog-listen %s: want ADDR:PORT or [ADDR6]:PORT", listen);
	return -1;
}

/* A socket address as an address; an IPv4-mapped IPv6 one (a dual-stack socket's IPv4 peer) as IPv4. */
static bool sockaddr_addr(const struct sockaddr_storage *ss, struct p25_addr *a)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		p25_addr_from_v4(a, ntohl(in->sin_addr.s_addr));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		const uint8_t *b = in6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			p25_addr_from_v4(a, (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
						(uint32_t)b[14] << 8 | b[15]);
		else
			p25_addr_from_v6(a, b);
		return true;
	}
	return false;
}

int p25_syslog_listen_check(const char *listen, bool *loopback, char *err, size_t errlen)
{
	struct addrinfo *ai;
	struct p25_addr a;

	if (listen_resolve(listen, &ai, err, errlen) < 0)
		return -1;
	*loopback = false;
	if (ai->ai_addrlen <= sizeof(struct sockaddr_storage)) {
		struct sockaddr_storage ss = {0};
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		if (sockaddr_addr(&ss, &a))
			*loopback = a.family == P25_INET ? p25_addr_v4(&a) >> 24 == 127
							  : a.bits == 1;
	}
	freeaddrinfo(ai);
	return 0;
}

static bool sender_allowed(const struct p25_syslog_udp *u, const struct p25_addr *a)
{
	for (size_t i = 0; i < u->nsenders; i++)
		if (p25_prefix_contains_addr(&u->senders[i], a))
			return true;
	return false;
}

int p25_syslog_udp_open(const struct p25_syslog_udp_opts *o, p25_attempt_fn *fn, void *ctx,
			struct p25_syslog_udp **out, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	struct p25_syslog_udp *u;
	size_t n = o->nsenders ? o->nsenders : sizeof loopback_senders / sizeof loopback_senders[0];
	int one = 1, zero = 0;

	*out = NULL;
	if (listen_resolve(o->listen, &ai, err, errlen) < 0)
		return -1;
	u = calloc(1, sizeof *u);
	if (!u || !(u->senders = calloc(n, sizeof *u->senders))) {
		free(u);
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	u->nsenders = n;
	if (o->nsenders)
		memcpy(u->senders, o->senders, n * sizeof *u->senders);
	else
		for (size_t i = 0; i < n; i++)
			p25_prefix_parse(loopback_senders[i], 0, &u->senders[i], NULL);
	u->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd >= 0) {
		setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* "[::]:514" takes IPv4 senders too, as syslog daemons do. */
		if (ai->ai_family == AF_INET6)
			setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	}
	if (u->fd < 0 || bind(u->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "syslog-listen %s: %s", o->listen, strerror(errno));
		freeaddrinfo(ai);
		p25_syslog_udp_close(u);
		return -1;
	}
	freeaddrinfo(ai);
	for (size_t i = 0; i < UDP_BATCH; i++) {
		u->iov[i] = (struct iovec){.iov_base = u->buf[i], .iov_len = UDP_MAX};
		u->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &u->iov[i], .msg_iovlen = 1};
	}
	p25_lines_init(&u->lines, fn, ctx, &u->stats.lines);
	*out = u;
	return 0;
}

int p25_syslog_udp_fd(const struct p25_syslog_udp *u)
{
	return u->fd;
}

uint16_t p25_syslog_udp_port(const struct p25_syslog_udp *u)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* One datagram from a sender: counted and dropped unread unless the sender is allowed. */
static void udp_datagram(struct p25_syslog_udp *u, const struct mmsghdr *m,
			 const struct sockaddr_storage *from, p25_time now)
{
	struct p25_addr a = {0};

	if (!sockaddr_addr(from, &a) || !sender_allowed(u, &a)) {
		u->stats.denied++;
		u->stats.last_denied = a;
		return;
	}
	u->stats.datagrams++;
	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		/* A datagram larger than any router log line: count it, drop it. */
		u->stats.lines.lines++;
		u->stats.lines.overlong++;
		return;
	}
	/* One datagram is one message (RFC 5426); it may hold several lines. */
	p25_lines_feed(&u->lines, m->msg_hdr.msg_iov->iov_base, m->msg_len, now, true);
}

void p25_syslog_udp_read(struct p25_syslog_udp *u, p25_time now)
{
	for (int round = 0; round < 4; round++) {
		int n;
		for (int i = 0; i < UDP_BATCH; i++) {
			u->msgs[i].msg_hdr.msg_name = &u->from[i];
			u->msgs[i].msg_hdr.msg_namelen = sizeof u->from[i];
			u->msgs[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(u->fd, u->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++)
			udp_datagram(u, &u->msgs[i], &u->from[i], now);
		if (n < UDP_BATCH)
			return;
	}
}

void p25_syslog_udp_stats(const struct p25_syslog_udp *u, struct p25_syslog_udp_stats *out)
{
	*out = u->stats;
}

void p25_syslog_udp_close(struct p25_syslog_udp *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free(u->senders);
	free(u);
}
