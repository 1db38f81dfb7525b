/*
 * Paced router deny lines for bench_watch_syslog.sh and test_watch.sh: COUNT
 * Cisco IOS %SEC-6-IPACCESSLOGP lines, one a datagram, from HOSTS inside
 * hosts (10.250.0.0/16 upwards, round robin, each a new source port so every
 * line is a new connection attempt) to 198.51.100.7 port 25, at RATE lines a
 * second (0: as fast as it can), to ADDR:PORT over UDP (IPv4).  Paced in 1 ms
 * slices with sendmmsg.  Prints "sent N in S s (R lines/s)"; a send that
 * fails is retried, never silently skipped.  Not built by the Makefile
 * (bench_*.c only): the scripts compile it.
 *
 *   syslog_flood ADDR PORT COUNT RATE HOSTS
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char lines[BATCH][200];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to = {.sin_family = AF_INET};
	long count, rate, hosts, sent = 0;
	double t0, t;
	int fd;

	if (argc != 6 || inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fputs("usage: syslog_flood ADDR PORT COUNT RATE HOSTS\n", stderr);
		return 2;
	}
	to.sin_port = htons((unsigned short)atoi(argv[2]));
	count = atol(argv[3]);
	rate = atol(argv[4]);
	hosts = atol(argv[5]);
	if (count <= 0 || rate < 0 || hosts <= 0 || hosts > 65536) {
		fputs("syslog_flood: COUNT > 0, RATE >= 0, 0 < HOSTS <= 65536\n", stderr);
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) < 0) {
		perror("syslog_flood: socket");
		return 1;
	}
	memset(msgs, 0, sizeof msgs);
	t0 = now_s();
	while (sent < count) {
		/* Lines due by now at RATE; never more than a batch at a time. */
		long due = rate ? (long)((now_s() - t0) * (double)rate) + 1 : count;
		int n = 0;

		if (due > count)
			due = count;
		if (due <= sent) {
			struct timespec ns = {0, 200000};
			nanosleep(&ns, NULL);
			continue;
		}
		for (; n < BATCH && sent + n < due; n++) {
			long i = sent + n, h = i % hosts;
			int len = snprintf(lines[n], sizeof lines[n],
					   "<190>%ld: gw1: %%SEC-6-IPACCESSLOGP: list PORT25-OUT denied "
					   "tcp 10.250.%ld.%ld(%ld) -> 198.51.100.7(25), 1 packet",
					   i, h / 256, h % 256, 1024 + (i / hosts) % 64000);
			iov[n] = (struct iovec){.iov_base = lines[n], .iov_len = (size_t)len};
			msgs[n].msg_hdr.msg_iov = &iov[n];
			msgs[n].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue;
			perror("syslog_flood: sendmmsg");
			return 1;
		}
		sent += n;
	}
	t = now_s() - t0;
	printf("sent %ld in %.3f s (%.0f lines/s)\n", sent, t, (double)sent / t);
	return 0;
}
