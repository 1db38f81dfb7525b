/*
 * Router ACL-deny logs as a second source: a file written by the local
 * syslog daemon (followed like tail -F) or syslog datagrams received
 * directly.  Each line goes through p25_syslog_parse; a line that fails is
 * counted and skipped, and the lines around it are unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sock_diag.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
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
 *
 * UDP has no flow control: a datagram that finds the socket's receive
 * buffer full is dropped by the kernel.  The daemon's thread stops reading
 * while it writes a flush (hundreds of milliseconds for thousands of
 * hosts), so the socket is read by an intake thread of its own that never
 * waits for the aggregator: it receives, checks the sender, parses, and
 * queues the attempts in a bounded single-producer single-consumer ring
 * that the daemon's thread drains.  Only when the ring is full does intake
 * wait (the socket's buffer, sized by syslog-rcvbuf, then holds the rest),
 * and what the kernel still drops is counted from SO_RXQ_OVFL and
 * SO_MEMINFO, never lost without a word.
 */
#define UDP_BATCH   64
#define UDP_MAX	    8192 /* larger than any router's log line: longer ones count as overlong */
#define UDP_CMSG    CMSG_SPACE(sizeof(uint32_t))
#define UDP_WAIT_MS 100 /* how long intake blocks before it looks at a stop request */

/* An attempt as a router line gives it (no org, no direction): one cache line in the ring. */
struct queued {
	p25_u128 src, dst;
	p25_time t;
	uint32_t packets;
	uint16_t sport, dport;
	uint8_t src_family, dst_family;
};

struct p25_syslog_udp {
	int fd;	     /* the socket */
	int wake_fd; /* eventfd: attempts are queued for the consumer */
	pthread_t thread;
	bool started;
	p25_attempt_fn *fn; /* the consumer's, called by p25_syslog_udp_read */
	void *ctx;
	struct p25_prefix *senders;
	size_t nsenders;
	size_t rcvbuf;

	/*
	 * The ring: slots written by intake below tail, read by the consumer
	 * from head; the two indexes a cache line apart, so that each side's
	 * stores do not keep taking the other's line away.
	 */
	struct queued *ring;
	size_t cap;
	_Atomic size_t head;
	char head_line[64];
	_Atomic size_t tail;
	char tail_line[64];
	atomic_bool consumer_waiting; /* the consumer may block on wake_fd */
	atomic_bool stopping;	      /* finish what the socket holds, then exit */
	atomic_bool abandon;	      /* exit now: nobody will drain the ring */
	atomic_bool done;	      /* intake has exited */

	/* Intake's own, published to the consumer under lock after each batch. */
	struct p25_lines lines;
	struct p25_syslog_udp_stats own;
	uint32_t ovfl_seen; /* SO_RXQ_OVFL is the socket's drop count, 32 bits, wrapping */
	int64_t meminfo_ms; /* when SO_MEMINFO was last asked */
	pthread_mutex_t lock;
	struct p25_syslog_udp_stats pub;

	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	union {
		char buf[UDP_CMSG];
		struct cmsghdr align;
	} cmsg[UDP_BATCH];
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

/* The consumer is told there is work only when it said it may sleep: no syscall per batch under load. */
static void wake_consumer(struct p25_syslog_udp *u)
{
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&u->consumer_waiting, memory_order_relaxed) &&
	    atomic_exchange(&u->consumer_waiting, false)) {
		ssize_t rc = write(u->wake_fd, &one, sizeof one);
		(void)rc; /* the counter is already non-zero: the consumer wakes anyway */
	}
}

/* Called by the line parser on the intake thread: one attempt into the ring. */
static void intake_push(void *ctx, const struct p25_attempt *at)
{
	struct p25_syslog_udp *u = ctx;
	size_t tail = atomic_load_explicit(&u->tail, memory_order_relaxed);
	bool waited = false;

	while (tail - atomic_load_explicit(&u->head, memory_order_acquire) >= u->cap) {
		/* Full: the consumer is busy (a long flush).  The socket's buffer holds what comes meanwhile. */
		struct timespec ts = {0, 200000};
		if (atomic_load_explicit(&u->abandon, memory_order_relaxed)) {
			u->own.queue_lost++;
			return;
		}
		if (!waited)
			u->own.queue_full++;
		waited = true;
		wake_consumer(u);
		nanosleep(&ts, NULL);
	}
	u->ring[tail & (u->cap - 1)] = (struct queued){.src = at->src.bits,
						       .dst = at->dst.bits,
						       .t = at->t,
						       .packets = at->packets,
						       .sport = at->sport,
						       .dport = at->dport,
						       .src_family = at->src.family,
						       .dst_family = at->dst.family};
	atomic_store_explicit(&u->tail, tail + 1, memory_order_release);
}

/* The socket's count of datagrams the kernel dropped (SO_MEMINFO); false where unsupported. */
static bool socket_drops(int fd, uint32_t *drops)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof mem;

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof mem[0])
		return false;
	*drops = mem[SK_MEMINFO_DROPS];
	return true;
}

static void count_kernel_drops(struct p25_syslog_udp *u, uint32_t drops)
{
	/* Unsigned difference: the kernel's counter wraps at 32 bits. */
	uint32_t d = drops - u->ovfl_seen;

	if (d && d < UINT32_MAX / 2) {
		u->own.kernel_drops += d;
		u->ovfl_seen = drops;
	}
}

/* One datagram from a sender: counted and dropped unread unless the sender is allowed. */
static void udp_datagram(struct p25_syslog_udp *u, struct mmsghdr *m,
			 const struct sockaddr_storage *from, p25_time now)
{
	struct p25_addr a = {0};

	/* The drop count as of this datagram's arrival: a rise means datagrams before it were lost. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m->msg_hdr); c; c = CMSG_NXTHDR(&m->msg_hdr, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			uint32_t drops;
			memcpy(&drops, CMSG_DATA(c), sizeof drops);
			count_kernel_drops(u, drops);
		}
	if (!sockaddr_addr(from, &a) || !sender_allowed(u, &a)) {
		u->own.denied++;
		u->own.last_denied = a;
		return;
	}
	u->own.datagrams++;
	if (m->msg_hdr.msg_flags & MSG_TRUNC) {
		/* A datagram larger than any router log line: count it, drop it. */
		u->own.lines.lines++;
		u->own.lines.overlong++;
		return;
	}
	/* One datagram is one message (RFC 5426); it may hold several lines. */
	p25_lines_feed(&u->lines, m->msg_hdr.msg_iov->iov_base, m->msg_len, now, true);
}

static void publish(struct p25_syslog_udp *u)
{
	pthread_mutex_lock(&u->lock);
	u->pub = u->own;
	pthread_mutex_unlock(&u->lock);
}

static int64_t coarse_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * One batch off the socket: blocks until a datagram comes (or UDP_WAIT_MS
 * pass), then takes what else is there without waiting.  One system call a
 * batch however the datagrams trickle in.  The number of datagrams, 0 when
 * none came, -1 on an error.
 */
static int intake_batch(struct p25_syslog_udp *u, int flags)
{
	p25_time now;
	int n;

	for (int i = 0; i < UDP_BATCH; i++) {
		struct msghdr *h = &u->msgs[i].msg_hdr;
		h->msg_name = &u->from[i];
		h->msg_namelen = sizeof u->from[i];
		h->msg_control = u->cmsg[i].buf;
		h->msg_controllen = sizeof u->cmsg[i].buf;
		h->msg_flags = 0;
	}
	n = recvmmsg(u->fd, u->msgs, UDP_BATCH, flags, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	now = p25_time_now();
	for (int i = 0; i < n; i++)
		udp_datagram(u, &u->msgs[i], &u->from[i], now);
	return n;
}

/* Drops after the last datagram read carry no SO_RXQ_OVFL: ask the socket, now and then. */
static void intake_meminfo(struct p25_syslog_udp *u, bool now)
{
	int64_t ms = coarse_ms();
	uint32_t drops;

	if (!now && ms - u->meminfo_ms < UDP_WAIT_MS)
		return;
	u->meminfo_ms = ms;
	if (socket_drops(u->fd, &drops))
		count_kernel_drops(u, drops);
}

static void *intake_main(void *arg)
{
	struct p25_syslog_udp *u = arg;
	int n;

	while (!atomic_load_explicit(&u->stopping, memory_order_relaxed)) {
		n = intake_batch(u, MSG_WAITFORONE);
		if (n < 0) {
			u->own.errors++;
			/* Not a socket's ordinary error: do not spin on it. */
			struct timespec ts = {0, UDP_WAIT_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		intake_meminfo(u, n <= 0);
		publish(u);
		if (n > 0)
			wake_consumer(u);
	}
	/* Stopping: what the socket holds still counts (a bounded amount: a sender that never pauses must not hold the stop up). */
	for (int b = 0; b < 4096 && !atomic_load(&u->abandon); b++) {
		n = intake_batch(u, MSG_DONTWAIT);
		if (n > 0)
			wake_consumer(u);
		if (n < UDP_BATCH)
			break;
	}
	intake_meminfo(u, true);
	publish(u);
	atomic_store(&u->done, true);
	atomic_store(&u->consumer_waiting, true);
	wake_consumer(u);
	return NULL;
}

int p25_syslog_udp_open(const struct p25_syslog_udp_opts *o, p25_attempt_fn *fn, void *ctx,
			struct p25_syslog_udp **out, char *err, size_t errlen)
{
	struct addrinfo *ai = NULL;
	struct p25_syslog_udp *u;
	size_t n = o->nsenders ? o->nsenders : sizeof loopback_senders / sizeof loopback_senders[0];
	size_t cap = 256, want = o->queue ? o->queue : P25_SYSLOG_QUEUE_DEFAULT;
	int one = 1, zero = 0;

	*out = NULL;
	if (listen_resolve(o->listen, &ai, err, errlen) < 0)
		return -1;
	while (cap < want && cap < P25_SYSLOG_QUEUE_MAX)
		cap <<= 1;
	u = calloc(1, sizeof *u);
	if (!u || !(u->senders = calloc(n, sizeof *u->senders)) ||
	    !(u->ring = calloc(cap, sizeof *u->ring))) {
		if (u)
			free(u->senders);
		free(u);
		freeaddrinfo(ai);
		snprintf(err, errlen, "out of memory for a syslog queue of %zu lines", cap);
		return -1;
	}
	u->fd = u->wake_fd = -1;
	u->cap = cap;
	u->fn = fn;
	u->ctx = ctx;
	pthread_mutex_init(&u->lock, NULL);
	u->nsenders = n;
	if (o->nsenders)
		memcpy(u->senders, o->senders, n * sizeof *u->senders);
	else
		for (size_t i = 0; i < n; i++)
			p25_prefix_parse(loopback_senders[i], 0, &u->senders[i], NULL);
	/* Blocking, with a timeout: intake waits in recvmmsg, and looks at a stop request between waits. */
	u->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->fd >= 0) {
		struct timeval tv = {.tv_sec = 0, .tv_usec = UDP_WAIT_MS * 1000};
		setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(u->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		/* "[::]:514" takes IPv4 senders too, as syslog daemons do. */
		if (ai->ai_family == AF_INET6)
			setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		setsockopt(u->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
		if (o->rcvbuf) {
			int size = o->rcvbuf > INT_MAX / 2 ? INT_MAX / 2 : (int)o->rcvbuf;
			/* Past net.core.rmem_max with CAP_NET_ADMIN; else as much as that allows. */
			if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
				setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
		}
		{
			int got = 0;
			socklen_t len = sizeof got;
			/* The kernel reports twice what it grants (its own bookkeeping included). */
			if (getsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && got > 0)
				u->rcvbuf = (size_t)got / 2;
		}
	}
	if (u->fd < 0 || bind(u->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, errlen, "syslog-listen %s: %s", o->listen, strerror(errno));
		freeaddrinfo(ai);
		p25_syslog_udp_close(u);
		return -1;
	}
	freeaddrinfo(ai);
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->wake_fd < 0) {
		snprintf(err, errlen, "syslog-listen %s: eventfd: %s", o->listen, strerror(errno));
		p25_syslog_udp_close(u);
		return -1;
	}
	for (size_t i = 0; i < UDP_BATCH; i++) {
		u->iov[i] = (struct iovec){.iov_base = u->buf[i], .iov_len = UDP_MAX};
		u->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &u->iov[i], .msg_iovlen = 1};
	}
	/* Fault the ring in now, not page by page in intake's first burst. */
	memset(u->ring, 0, cap * sizeof *u->ring);
	p25_lines_init(&u->lines, intake_push, u, &u->own.lines);
	*out = u;
	return 0;
}

int p25_syslog_udp_start(struct p25_syslog_udp *u, char *err, size_t errlen)
{
	sigset_t all, orig;
	int rc;

	/* Signals are the daemon thread's business: intake takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &orig);
	rc = pthread_create(&u->thread, NULL, intake_main, u);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "syslog: cannot start the intake thread: %s", strerror(rc));
		return -1;
	}
	u->started = true;
	return 0;
}

int p25_syslog_udp_fd(const struct p25_syslog_udp *u)
{
	return u->wake_fd;
}

size_t p25_syslog_udp_rcvbuf(const struct p25_syslog_udp *u)
{
	return u->rcvbuf;
}

size_t p25_syslog_udp_queue(const struct p25_syslog_udp *u)
{
	return u->cap;
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

bool p25_syslog_udp_arm(struct p25_syslog_udp *u)
{
	atomic_store_explicit(&u->consumer_waiting, true, memory_order_relaxed);
	/* Pairs with the fence in wake_consumer: either intake sees the flag or we see its tail. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&u->tail, memory_order_relaxed) !=
		atomic_load_explicit(&u->head, memory_order_relaxed) ||
	    atomic_load_explicit(&u->done, memory_order_relaxed)) {
		atomic_store_explicit(&u->consumer_waiting, false, memory_order_relaxed);
		return false;
	}
	return true;
}

size_t p25_syslog_udp_read(struct p25_syslog_udp *u, size_t max)
{
	size_t head = atomic_load_explicit(&u->head, memory_order_relaxed);
	size_t tail = atomic_load_explicit(&u->tail, memory_order_acquire), n = 0;
	uint64_t v;

	if (read(u->wake_fd, &v, sizeof v) < 0) {
		/* EAGAIN: woken by something else, or not woken at all; the ring says what there is. */
	}
	while (n < max) {
		if (head == tail) {
			tail = atomic_load_explicit(&u->tail, memory_order_acquire);
			if (head == tail)
				break;
		}
		const struct queued *q = &u->ring[head & (u->cap - 1)];
		struct p25_attempt at = {.t = q->t, .sport = q->sport, .dport = q->dport,
					 .packets = q->packets};
		at.src = (struct p25_addr){.bits = q->src, .family = q->src_family};
		at.dst = (struct p25_addr){.bits = q->dst, .family = q->dst_family};
		u->fn(u->ctx, &at);
		head++;
		n++;
		/* Room for intake as we go, not only at the end of a long drain. */
		if ((n & 255) == 0)
			atomic_store_explicit(&u->head, head, memory_order_release);
	}
	atomic_store_explicit(&u->head, head, memory_order_release);
	return n;
}

void p25_syslog_udp_stop(struct p25_syslog_udp *u)
{
	if (!u->started)
		return;
	/* Intake sees it within UDP_WAIT_MS. */
	atomic_store(&u->stopping, true);
	/* Drain while intake finishes: it may be waiting for room in the ring. */
	while (!atomic_load(&u->done)) {
		struct pollfd pfd = {.fd = u->wake_fd, .events = POLLIN};
		if (p25_syslog_udp_read(u, SIZE_MAX) == 0 && p25_syslog_udp_arm(u))
			poll(&pfd, 1, 100);
	}
	pthread_join(u->thread, NULL);
	u->started = false;
	p25_syslog_udp_read(u, SIZE_MAX);
}

void p25_syslog_udp_stats(struct p25_syslog_udp *u, struct p25_syslog_udp_stats *out)
{
	pthread_mutex_lock(&u->lock);
	*out = u->pub;
	pthread_mutex_unlock(&u->lock);
}

void p25_syslog_udp_close(struct p25_syslog_udp *u)
{
	if (!u)
		return;
	if (u->started) {
		atomic_store(&u->abandon, true);
		atomic_store(&u->stopping, true);
		pthread_join(u->thread, NULL);
	}
	if (u->fd >= 0)
		close(u->fd);
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	pthread_mutex_destroy(&u->lock);
	free(u->ring);
	free(u->senders);
	free(u);
}
