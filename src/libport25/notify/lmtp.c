/*
 * The LMTP receiver (RFC 2033) that Postfix hands the verification address
 * to: one session at a time, lines of at most 1000 octets in the command
 * phase, the data dot-unstuffed and bounded (verify-inbox-max-size; past it
 * the rest is read and dropped, and each recipient gets 552).  Who may
 * connect decides what is trusted: a unix socket (mode 0660) or a loopback
 * TCP port; verify-inbox refuses any other address to listen on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify/notify.h"

#define LINE_MAX_LMTP 1000
#define RCPT_MAX 100
#define IDLE_SECONDS 300

struct conn {
	int fd;
	char buf[8192];
	size_t len, off;
	volatile sig_atomic_t *stop;
};

/* Fill the buffer: 1 data, 0 closed, -1 error or timeout or stop. */
static int fill(struct conn *c)
{
	int waited = 0;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	for (;;) {
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		int rc;
		if (c->stop && *c->stop)
			return -1;
		rc = poll(&p, 1, 1000);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0) {
			if (++waited >= IDLE_SECONDS)
				return -1;
			continue;
		}
		ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		c->len += (size_t)n;
		return 1;
	}
}

/*
 * One line without its CRLF into out (at most outlen - 1 octets; a longer
 * line is cut and *long_line set).  1 a line, 0 closed, -1 error.
 */
static int read_line(struct conn *c, char *out, size_t outlen, size_t *outn, bool *long_line)
{
	size_t n = 0;

	*long_line = false;
	for (;;) {
		while (c->off < c->len) {
			char ch = c->buf[c->off++];
			if (ch == '\n') {
				if (n && out[n - 1] == '\r')
					n--;
				out[n] = '\0';
				*outn = n;
				return 1;
			}
			if (n + 1 < outlen)
				out[n++] = ch;
			else
				*long_line = true;
		}
		int rc = fill(c);
		if (rc <= 0)
			return rc;
	}
}

static int say(struct conn *c, const char *s)
{
	size_t n = strlen(s), off = 0;

	while (off < n) {
		ssize_t w = write(c->fd, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* "<addr>" of "MAIL FROM:<addr> SIZE=..." into out; -1 when malformed. */
static int path_of(const char *arg, char *out, size_t outlen)
{
	const char *open, *close;

	while (*arg == ' ')
		arg++;
	if (*arg != '<' || !(close = strchr(arg, '>')))
		return -1;
	open = arg + 1;
	if ((size_t)(close - open) >= outlen)
		return -1;
	memcpy(out, open, (size_t)(close - open));
	out[close - open] = '\0';
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < ' ')
			return -1;
	return 0;
}

static void session(int fd, size_t max_size, p25_lmtp_fn fn, void *ctx,
                    volatile sig_atomic_t *stop)
{
	struct conn c = {.fd = fd, .stop = stop};
	char line[LINE_MAX_LMTP + 2], from[LINE_MAX_LMTP] = "", *rcpts[RCPT_MAX];
	size_t nrcpt = 0, n;
	bool have_from = false, lhlo = false, long_line;
	struct p25_buf data;

	p25_buf_init(&data);
	if (say(&c, "220 port25 verify-inbox LMTP ready\r\n") < 0)
		return;
	while (read_line(&c, line, sizeof line, &n, &long_line) == 1) {
		if (long_line) {
			if (say(&c, "500 5.5.2 line too long\r\n") < 0)
				break;
			continue;
		}
		if (!strncasecmp(line, "LHLO", 4)) {
			char reply[200];
			snprintf(reply, sizeof reply,
			         "250-port25\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
			         "250-8BITMIME\r\n250 SIZE %zu\r\n",
			         max_size);
			lhlo = true;
			if (say(&c, reply) < 0)
				break;
		} else if (!strncasecmp(line, "MAIL FROM:", 10)) {
			if (!lhlo)
				say(&c, "503 5.5.1 LHLO first\r\n");
			else if (path_of(line + 10, from, sizeof from) < 0)
				say(&c, "501 5.1.7 bad sender address syntax\r\n");
			else {
				for (size_t i = 0; i < nrcpt; i++)
					free(rcpts[i]);
				nrcpt = 0;
				have_from = true;
				say(&c, "250 2.1.0 ok\r\n");
			}
		} else if (!strncasecmp(line, "RCPT TO:", 8)) {
			char to[LINE_MAX_LMTP];
			if (!have_from)
				say(&c, "503 5.5.1 MAIL first\r\n");
			else if (path_of(line + 8, to, sizeof to) < 0 || !to[0])
				say(&c, "501 5.1.3 bad recipient address syntax\r\n");
			else if (nrcpt == RCPT_MAX)
				say(&c, "452 4.5.3 too many recipients\r\n");
			else if (!(rcpts[nrcpt] = strdup(to)))
				say(&c, "452 4.3.0 out of memory\r\n");
			else {
				nrcpt++;
				say(&c, "250 2.1.5 ok\r\n");
			}
		} else if (!strcasecmp(line, "DATA")) {
			bool too_big = false, closed = true;
			char reply[600], detail[400];
			if (!nrcpt) {
				say(&c, "503 5.5.1 no valid recipients\r\n");
				continue;
			}
			if (say(&c, "354 end data with <CR><LF>.<CR><LF>\r\n") < 0)
				break;
			p25_buf_reset(&data);
			/* Data lines may be long: read them in pieces, CRLF kept. */
			while (read_line(&c, line, sizeof line, &n, &long_line) == 1) {
				if (!long_line && n == 1 && line[0] == '.') {
					closed = false;
					break;
				}
				const char *s = line[0] == '.' ? line + 1 : line;
				size_t sn = line[0] == '.' ? n - 1 : n;
				if (data.len + sn + 2 > max_size)
					too_big = true;
				if (!too_big) {
					p25_buf_put(&data, s, sn);
					if (!long_line)
						p25_buf_puts(&data, "\r\n");
				}
			}
			if (closed)
				break;
			int rc = too_big || data.oom
			             ? 2
			             : fn(ctx, from, (const char *const *)rcpts, nrcpt,
			                  data.data ? data.data : "", data.len, detail, sizeof detail);
			for (size_t i = 0; i < nrcpt; i++) {
				if (rc == 2 && too_big)
					snprintf(reply, sizeof reply,
					         "552 5.3.4 message larger than %zu octets\r\n", max_size);
				else if (rc == 0)
					snprintf(reply, sizeof reply, "250 2.0.0 %.400s\r\n", detail);
				else if (rc > 0)
					snprintf(reply, sizeof reply, "550 5.7.1 %.400s\r\n", detail);
				else
					snprintf(reply, sizeof reply, "451 4.3.0 %.400s\r\n", detail);
				say(&c, reply);
			}
			for (size_t i = 0; i < nrcpt; i++)
				free(rcpts[i]);
			nrcpt = 0;
			have_from = false;
		} else if (!strcasecmp(line, "RSET")) {
			for (size_t i = 0; i < nrcpt; i++)
				free(rcpts[i]);
			nrcpt = 0;
			have_from = false;
			say(&c, "250 2.0.0 ok\r\n");
		} else if (!strcasecmp(line, "NOOP")) {
			say(&c, "250 2.0.0 ok\r\n");
		} else if (!strcasecmp(line, "QUIT")) {
			say(&c, "221 2.0.0 bye\r\n");
			break;
		} else {
			say(&c, "502 5.5.2 command not recognized\r\n");
		}
	}
	for (size_t i = 0; i < nrcpt; i++)
		free(rcpts[i]);
	p25_buf_free(&data);
}

/* A listening socket for unix:PATH or HOST:PORT ([v6]:PORT); where it is, in bound. */
static int open_listener(const char *spec, char *bound, size_t boundlen, char *err, size_t errlen)
{
	int fd;

	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};
		const char *path = spec + 5;
		if (!*path || strlen(path) >= sizeof sun.sun_path) {
			snprintf(err, errlen, "verify-inbox-listen %s: no socket path, or too long", spec);
			return -1;
		}
		strcpy(sun.sun_path, path);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			goto sys;
		unlink(path);
		if (bind(fd, (struct sockaddr *)&sun, sizeof sun) < 0 || chmod(path, 0660) < 0 ||
		    listen(fd, 16) < 0) {
			close(fd);
			goto sys;
		}
		snprintf(bound, boundlen, "%s", spec);
		return fd;
	}
	{
		char host[256];
		const char *colon = strrchr(spec, ':'), *h = spec;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
		                         .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
		struct addrinfo *ai = NULL;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int one = 1;
		size_t hl;
		if (!colon) {
			snprintf(err, errlen, "verify-inbox-listen %s: want unix:PATH or ADDRESS:PORT",
			         spec);
			return -1;
		}
		hl = (size_t)(colon - spec);
		if (*h == '[' && hl > 2 && spec[hl - 1] == ']') {
			h++;
			hl -= 2;
		}
		if (hl >= sizeof host) {
			snprintf(err, errlen, "verify-inbox-listen %s: address too long", spec);
			return -1;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) {
			snprintf(err, errlen, "verify-inbox-listen %s: not a numeric address and port", spec);
			return -1;
		}
		/* Whoever reaches this port is believed as the MX: loopback only. */
		bool lo = (ai->ai_family == AF_INET &&
		           (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
		          (ai->ai_family == AF_INET6 &&
		           IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
		if (!lo) {
			freeaddrinfo(ai);
			snprintf(err, errlen,
			         "verify-inbox-listen %s: a TCP listener must be on loopback (whoever "
			         "connects is believed to be the MX); use a unix socket or 127.0.0.1",
			         spec);
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			freeaddrinfo(ai);
			goto sys;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
			freeaddrinfo(ai);
			close(fd);
			goto sys;
		}
		freeaddrinfo(ai);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
			char a[INET6_ADDRSTRLEN] = "";
			unsigned port;
			if (ss.ss_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a);
				port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
				snprintf(bound, boundlen, "%s:%u", a, port);
			} else {
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, a, sizeof a);
				port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
				snprintf(bound, boundlen, "[%s]:%u", a, port);
			}
		}
		return fd;
	}
sys:
	snprintf(err, errlen, "verify-inbox-listen %s: %s", spec, strerror(errno));
	return -1;
}

int p25_lmtp_serve(const char *listen_spec, size_t max_size, p25_lmtp_fn fn, void *ctx,
                   volatile sig_atomic_t *stop, void (*ready)(const char *where), char *err,
                   size_t errlen)
{
	char bound[600] = "";
	int fd = open_listener(listen_spec, bound, sizeof bound, err, errlen);

	if (fd < 0)
		return -1;
	if (ready)
		ready(bound);
	while (!(stop && *stop)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int rc = poll(&p, 1, 500), cfd;
		if (rc <= 0)
			continue;
		cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		session(cfd, max_size, fn, ctx, stop);
		close(cfd);
	}
	close(fd);
	if (!strncmp(listen_spec, "unix:", 5))
		unlink(listen_spec + 5);
	return 0;
}
