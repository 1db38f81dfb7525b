/*
 * Addresses and prefixes, IPv4 and IPv6 alike.
 *
 * Both families are held left-aligned in one 128-bit integer: an IPv4
 * address a.b.c.d sits in the top 32 bits.  Prefix arithmetic (masks,
 * containment, siblings) is then the same code for both families; only the
 * maximum length (32 or 128) differs.
 */
#ifndef P25_ADDR_H
#define P25_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 p25_u128;

enum p25_family {
	P25_INET = 4,
	P25_INET6 = 6,
};

struct p25_addr {
	p25_u128 bits; /* left-aligned */
	uint8_t family;
};

struct p25_prefix {
	p25_u128 net; /* left-aligned, host bits always zero */
	uint8_t len;  /* 0..32 for IPv4, 0..128 for IPv6 */
	uint8_t family;
};

/* Longest text form: IPv6 with embedded IPv4 plus "/128" and NUL. */
#define P25_ADDR_STRLEN	  46
#define P25_PREFIX_STRLEN 50

/* Parse flags. */
enum {
	/* Accept "10.1.2.3/24" by clearing the host bits, with a warning. */
	P25_PARSE_NORMALIZE = 1 << 0,
	/* Accept "::ffff:10.1.2.3" as the IPv4 address 10.1.2.3. */
	P25_PARSE_UNMAP = 1 << 1,
	/* Require an explicit "/len". */
	P25_PARSE_REQUIRE_LEN = 1 << 2,
};

/* Room for one error and one warning, each naming the offending input. */
struct p25_diag {
	char error[256];
	char warning[256];
};

static inline unsigned p25_family_bits(int family)
{
	return family == P25_INET ? 32 : 128;
}

static inline p25_u128 p25_mask(unsigned len)
{
	return len == 0 ? 0 : ~(p25_u128)0 << (128 - len);
}

int p25_addr_parse(const char *text, unsigned flags, struct p25_addr *out, struct p25_diag *diag);
int p25_prefix_parse(const char *text, unsigned flags, struct p25_prefix *out,
		     struct p25_diag *diag);

void p25_addr_from_v4(struct p25_addr *out, uint32_t host_order);
void p25_addr_from_v6(struct p25_addr *out, const uint8_t bytes[16]);
uint32_t p25_addr_v4(const struct p25_addr *a);
void p25_addr_v6_bytes(const struct p25_addr *a, uint8_t bytes[16]);

/* Formats; return buf.  Prefixes print as "a/len" even for hosts. */
char *p25_addr_format(const struct p25_addr *a, char *buf, size_t buflen);
char *p25_prefix_format(const struct p25_prefix *p, char *buf, size_t buflen);

void p25_prefix_from_addr(struct p25_prefix *out, const struct p25_addr *a, unsigned len);
void p25_prefix_host(struct p25_prefix *out, const struct p25_addr *a);
void p25_prefix_first(const struct p25_prefix *p, struct p25_addr *out);
void p25_prefix_last(const struct p25_prefix *p, struct p25_addr *out);
bool p25_prefix_is_host(const struct p25_prefix *p);

bool p25_prefix_contains_addr(const struct p25_prefix *p, const struct p25_addr *a);
/* True when inner lies wholly inside outer (equal prefixes contain each other). */
bool p25_prefix_contains(const struct p25_prefix *outer, const struct p25_prefix *inner);
bool p25_prefix_overlaps(const struct p25_prefix *a, const struct p25_prefix *b);
bool p25_prefix_equal(const struct p25_prefix *a, const struct p25_prefix *b);
bool p25_addr_equal(const struct p25_addr *a, const struct p25_addr *b);

/* Total order: family, then network, then length (shorter first). */
int p25_prefix_cmp(const struct p25_prefix *a, const struct p25_prefix *b);
int p25_addr_cmp(const struct p25_addr *a, const struct p25_addr *b);

/*
 * Replace v[0..n) by the minimal set of prefixes covering exactly the same
 * addresses: nested prefixes are dropped, sibling pairs merged into their
 * parent, repeatedly.  Sorted on return.  Returns the new count.
 */
size_t p25_prefix_aggregate(struct p25_prefix *v, size_t n);

/* Dotted-quad wildcard ("inverse") mask for an IPv4 length, as IOS wants. */
char *p25_v4_wildcard(unsigned len, char *buf, size_t buflen);
/* Dotted-quad netmask for an IPv4 length. */
char *p25_v4_netmask(unsigned len, char *buf, size_t buflen);

#endif
