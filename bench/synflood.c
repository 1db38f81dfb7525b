/*
 * A bounded burst of TCP SYNs for bench_gateway.sh: raw IPv4 packets from
 * SRC to DST port 25, source port cycling over 1024..65535 so each one is a
 * new connection attempt to the gateway, for SECONDS or COUNT packets,
 * whichever ends first.  Prints "sent N in S s".  Not built by the Makefile
 * (bench_*.c only): the script compiles it, root only, namespaces only.
 *
 *   synflood SRC DST SECONDS COUNT
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint16_t csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (; n > 1; n -= 2, b += 2)
		sum += (uint32_t)(b[0] << 8 | b[1]);
	if (n)
		sum += (uint32_t)(b[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint8_t pkt[40], pseudo[32];
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct in_addr src, dst;
	double secs, t0, t;
	long count, sent = 0;
	int fd, one = 1;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &src) != 1 ||
	    inet_pton(AF_INET, argv[2], &dst) != 1) {
		fputs("usage: synflood SRC DST SECONDS COUNT\n", stderr);
		return 2;
	}
	secs = atof(argv[3]);
	count = atol(argv[4]);
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0) {
		perror("synflood: raw socket");
		return 1;
	}
	to.sin_addr = dst;
	memset(pkt, 0, sizeof pkt);
	pkt[0] = 0x45;
	pkt[3] = 40;   /* total length */
	pkt[8] = 64;   /* TTL */
	pkt[9] = IPPROTO_TCP;
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	pkt[20 + 3] = 25;   /* destination port */
	pkt[20 + 12] = 0x50; /* data offset 5 */
	pkt[20 + 13] = 0x02; /* SYN */
	pkt[20 + 14] = 0xfa; /* window 64000 */
	pkt[20 + 15] = 0x00;
	/* the kernel fills the IP checksum and id with IP_HDRINCL */
	memcpy(pseudo, &src, 4);
	memcpy(pseudo + 4, &dst, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = 0;
	pseudo[11] = 20;
	t0 = t = now_s();
	while (sent < count) {
		uint16_t sport = (uint16_t)(1024 + sent % 64512), c;
		uint32_t seq = (uint32_t)sent * 2654435761u;
		pkt[20] = (uint8_t)(sport >> 8);
		pkt[21] = (uint8_t)sport;
		pkt[24] = (uint8_t)(seq >> 24);
		pkt[25] = (uint8_t)(seq >> 16);
		pkt[26] = (uint8_t)(seq >> 8);
		pkt[27] = (uint8_t)seq;
		pkt[36] = pkt[37] = 0;
		memcpy(pseudo + 12, pkt + 20, 20);
		c = csum(pseudo, 32, 0);
		pkt[36] = (uint8_t)(c >> 8);
		pkt[37] = (uint8_t)c;
		if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0)
			continue; /* a full queue: try again, the count is of packets sent */
		sent++;
		if ((sent & 1023) == 0 && (t = now_s()) - t0 >= secs)
			break;
	}
	t = now_s();
	printf("sent %ld in %.3f s\n", sent, t - t0);
	close(fd);
	return 0;
}
