#include "addr/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(struct p25_diag *diag, const char *fmt, const char *text, const char *extra)
{
	if (diag)
		snprintf(diag->error, sizeof diag->error, fmt, text, extra ? extra : "");
	return -1;
}

void p25_addr_from_v4(struct p25_addr *out, uint32_t host_order)
{
	out->family = P25_INET;
	out->bits = (p25_u128)host_order << 96;
}

void p25_addr_from_v6(struct p25_addr *out, const uint8_t bytes[16])
{
	p25_u128 v = 0;
	for (int i = 0; i < 16; i++)
		v = (v << 8) | bytes[i];
	out->family = P25_INET6;
	out->bits = v;
}

uint32_t p25_addr_v4(const struct p25_addr *a)
{
	return (uint32_t)(a->bits >> 96);
}

void p25_addr_v6_bytes(const struct p25_addr *a, uint8_t bytes[16])
{
	p25_u128 v = a->bits;
	for (int i = 15; i >= 0; i--) {
		bytes[i] = (uint8_t)v;
		v >>= 8;
	}
}

static bool is_v4_mapped(const uint8_t b[16])
{
	static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return memcmp(b, pfx, 12) == 0;
}

/*
 * Parse the address part only.  *mapped is set when an IPv4-mapped IPv6
 * address was unmapped, so the caller can shift a prefix length.
 */
static int parse_addr_part(const char *text, const char *part, unsigned flags,
			   struct p25_addr *out, bool *mapped, struct p25_diag *diag)
{
	uint8_t b[16];

	*mapped = false;
	if (*part == '\0')
		return fail(diag, "'%s': empty address%s", text, NULL);
	for (const char *c = part; *c; c++) {
		if (isspace((unsigned char)*c))
			return fail(diag, "'%s': white space inside an address%s", text, NULL);
		if (*c == '%')
			return fail(diag, "'%s': zone indexes (%%) are not allowed in a registry address%s",
				    text, NULL);
	}
	if (inet_pton(AF_INET, part, b) == 1) {
		p25_addr_from_v4(out, (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
					      (uint32_t)b[2] << 8 | b[3]);
		return 0;
	}
	if (inet_pton(AF_INET6, part, b) == 1) {
		if (is_v4_mapped(b)) {
			if (!(flags & P25_PARSE_UNMAP))
				return fail(diag,
					    "'%s' is an IPv4-mapped IPv6 address; write the IPv4 "
					    "address itself%s",
					    text, NULL);
			p25_addr_from_v4(out, (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
						      (uint32_t)b[14] << 8 | b[15]);
			*mapped = true;
			return 0;
		}
		p25_addr_from_v6(out, b);
		return 0;
	}
	if (strchr(part, ':'))
		return fail(diag, "'%s' is not a valid IPv6 address%s", text, NULL);
	return fail(diag, "'%s' is not a valid IPv4 address (dotted quad, decimal, no leading zeros)%s",
		    text, NULL);
}

int p25_addr_parse(const char *text, unsigned flags, struct p25_addr *out, struct p25_diag *diag)
{
	bool mapped;

	if (diag)
		diag->error[0] = diag->warning[0] = '\0';
	if (!text)
		return fail(diag, "%sno address given%s", "", NULL);
	if (strlen(text) >= P25_ADDR_STRLEN)
		return fail(diag, "'%.60s...': address too long%s", text, NULL);
	if (strchr(text, '/'))
		return fail(diag, "'%s': expected a single address, not a prefix%s", text, NULL);
	return parse_addr_part(text, text, flags, out, &mapped, diag);
}

static int parse_len(const char *text, const char *s, unsigned max, unsigned *len,
		     struct p25_diag *diag)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0)
		return fail(diag, "'%s': missing prefix length after '/'%s", text, NULL);
	if (n > 3 || (n > 1 && s[0] == '0'))
		return fail(diag, "'%s': malformed prefix length%s", text, NULL);
	for (const char *c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return fail(diag, "'%s': prefix length must be a decimal number%s", text,
				    NULL);
		v = v * 10 + (unsigned)(*c - '0');
	}
	if (v > max) {
		char range[48];
		snprintf(range, sizeof range, " (allowed 0..%u for %s)", max,
			 max == 32 ? "IPv4" : "IPv6");
		return fail(diag, "'%s': prefix length out of range%s", text, range);
	}
	*len = v;
	return 0;
}

int p25_prefix_parse(const char *text, unsigned flags, struct p25_prefix *out,
		     struct p25_diag *diag)
{
	char part[P25_PREFIX_STRLEN];
	const char *slash;
	struct p25_addr a;
	unsigned len = 0;
	bool mapped;

	if (diag)
		diag->error[0] = diag->warning[0] = '\0';
	if (!text)
		return fail(diag, "%sno prefix given%s", "", NULL);
	if (strlen(text) >= sizeof part)
		return fail(diag, "'%.60s...': prefix too long%s", text, NULL);
	slash = strchr(text, '/');
	if (!slash && (flags & P25_PARSE_REQUIRE_LEN))
		return fail(diag, "'%s': expected a prefix with a length, like 192.0.2.0/24%s", text,
			    NULL);
	memcpy(part, text, slash ? (size_t)(slash - text) : strlen(text));
	part[slash ? (size_t)(slash - text) : strlen(text)] = '\0';
	if (parse_addr_part(text, part, flags, &a, &mapped, diag) < 0)
		return -1;
	if (slash) {
		unsigned max = mapped ? 128 : p25_family_bits(a.family);
		if (parse_len(text, slash + 1, max, &len, diag) < 0)
			return -1;
		if (mapped) {
			if (len < 96)
				return fail(diag,
					    "'%s': an IPv4-mapped prefix shorter than /96 reaches "
					    "outside IPv4%s",
					    text, NULL);
			len -= 96;
		}
	} else {
		len = p25_family_bits(a.family);
	}
	out->family = a.family;
	out->len = (uint8_t)len;
	out->net = a.bits & p25_mask(len);
	if (out->net != a.bits) {
		char fixed[P25_PREFIX_STRLEN];
		p25_prefix_format(out, fixed, sizeof fixed);
		if (!(flags & P25_PARSE_NORMALIZE))
			return fail(diag, "'%s' has host bits set (the network is %s)", text,
				    fixed);
		if (diag)
			snprintf(diag->warning, sizeof diag->warning,
				 "'%s' has host bits set; using %s", text, fixed);
	}
	return 0;
}

char *p25_addr_format(const struct p25_addr *a, char *buf, size_t buflen)
{
	uint8_t b[16];

	if (a->family == P25_INET) {
		uint32_t v = p25_addr_v4(a);
		snprintf(buf, buflen, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255,
			 v & 255);
		return buf;
	}
	p25_addr_v6_bytes(a, b);
	if (!inet_ntop(AF_INET6, b, buf, (socklen_t)buflen) && buflen)
		buf[0] = '\0';
	return buf;
}

char *p25_prefix_format(const struct p25_prefix *p, char *buf, size_t buflen)
{
	struct p25_addr a = {.bits = p->net, .family = p->family};
	char tmp[P25_ADDR_STRLEN];

	snprintf(buf, buflen, "%s/%u", p25_addr_format(&a, tmp, sizeof tmp), p->len);
	return buf;
}

void p25_prefix_from_addr(struct p25_prefix *out, const struct p25_addr *a, unsigned len)
{
	unsigned max = p25_family_bits(a->family);
	if (len > max)
		len = max;
	out->family = a->family;
	out->len = (uint8_t)len;
	out->net = a->bits & p25_mask(len);
}

void p25_prefix_host(struct p25_prefix *out, const struct p25_addr *a)
{
	p25_prefix_from_addr(out, a, p25_family_bits(a->family));
}

void p25_prefix_first(const struct p25_prefix *p, struct p25_addr *out)
{
	out->family = p->family;
	out->bits = p->net;
}

void p25_prefix_last(const struct p25_prefix *p, struct p25_addr *out)
{
	unsigned max = p25_family_bits(p->family);
	out->family = p->family;
	/* Only the family's own bits count: IPv4 keeps the low 96 bits zero. */
	out->bits = p->net | (~p25_mask(p->len) & p25_mask(max));
}

bool p25_prefix_is_host(const struct p25_prefix *p)
{
	return p->len == p25_family_bits(p->family);
}

bool p25_prefix_contains_addr(const struct p25_prefix *p, const struct p25_addr *a)
{
	return p->family == a->family && (a->bits & p25_mask(p->len)) == p->net;
}

bool p25_prefix_contains(const struct p25_prefix *outer, const struct p25_prefix *inner)
{
	return outer->family == inner->family && outer->len <= inner->len &&
	       (inner->net & p25_mask(outer->len)) == outer->net;
}

bool p25_prefix_overlaps(const struct p25_prefix *a, const struct p25_prefix *b)
{
	return p25_prefix_contains(a, b) || p25_prefix_contains(b, a);
}

bool p25_prefix_equal(const struct p25_prefix *a, const struct p25_prefix *b)
{
	return a->family == b->family && a->len == b->len && a->net == b->net;
}

bool p25_addr_equal(const struct p25_addr *a, const struct p25_addr *b)
{
	return a->family == b->family && a->bits == b->bits;
}

int p25_prefix_cmp(const struct p25_prefix *a, const struct p25_prefix *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return 0;
}

int p25_addr_cmp(const struct p25_addr *a, const struct p25_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->bits != b->bits)
		return a->bits < b->bits ? -1 : 1;
	return 0;
}

static int prefix_qsort_cmp(const void *a, const void *b)
{
	return p25_prefix_cmp(a, b);
}

/* a and b are the two halves of one parent: same length, differ only in the last bit. */
static bool siblings(const struct p25_prefix *a, const struct p25_prefix *b)
{
	if (a->family != b->family || a->len != b->len || a->len == 0)
		return false;
	p25_u128 bit = (p25_u128)1 << (128 - a->len);
	return (a->net & bit) == 0 && b->net == (a->net | bit);
}

size_t p25_prefix_aggregate(struct p25_prefix *v, size_t n)
{
	size_t top = 0; /* v[0..top) is the aggregated, sorted, disjoint result */

	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, prefix_qsort_cmp);
	for (size_t i = 0; i < n; i++) {
		struct p25_prefix cur = v[i];
		/*
		 * Sorted order puts a covering prefix before what it covers, and
		 * everything kept so far ends before cur starts unless it covers it.
		 */
		if (top > 0 && p25_prefix_contains(&v[top - 1], &cur))
			continue;
		v[top++] = cur;
		while (top >= 2 && siblings(&v[top - 2], &v[top - 1])) {
			v[top - 2].len--;
			top--;
		}
	}
	return top;
}

static char *dotted(uint32_t v, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255);
	return buf;
}

char *p25_v4_netmask(unsigned len, char *buf, size_t buflen)
{
	uint32_t m = len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~0u << (32 - len);
	return dotted(m, buf, buflen);
}

char *p25_v4_wildcard(unsigned len, char *buf, size_t buflen)
{
	uint32_t m = len == 0 ? 0 : len >= 32 ? 0xffffffffu : ~0u << (32 - len);
	return dotted(~m, buf, buflen);
}
