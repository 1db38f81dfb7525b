/*
 * Refusals that name a DNS blocklist.
 *
 * A receiving MTA that refuses a sender because a DNS blocklist lists it
 * says so in the reply ("554 5.7.1 Service unavailable; Client host
 * [192.0.2.66] blocked using zen.spamhaus.org; ..."), and a reply that
 * names the sending host's own address is the blocklist operators' verdict
 * on that host: a spam source (Zeek's policy/protocols/smtp/blocklists.zeek
 * watches for the same replies).  Lists of address ranges (end-user and
 * dynamic space, whole networks of a careless provider) say what the
 * address is, not what the host did, and are told apart.  docs/analyzer.md
 * has the table.
 */
#include <string.h>

#include "analyze/analyze_int.h"

/*
 * Matched as case-insensitive substrings of the reply.  Entries of one
 * family are tried in order and the first that matches ends the family, so
 * a specific range list (Spamhaus PBL) comes before its family's general
 * name (Spamhaus).  The last entry, Postfix's wording for any DNS
 * blocklist, counts only when no named list matched.
 */
static const struct {
	const char *name;
	unsigned family;
	bool range;
	const char *pattern[3];
} lists[] = {
    {"Spamhaus PBL", 1, true, {"pbl.spamhaus.org", "spamhaus.org/pbl", NULL}},
    {"Spamhaus", 1, false, {"spamhaus", NULL}},
    {"Abuseat CBL", 2, false, {"abuseat.org", "cbl.abuseat", NULL}},
    {"SpamCop", 3, false, {"spamcop", NULL}},
    {"Barracuda", 4, false, {"barracuda", NULL}},
    {"UCEPROTECT level 2/3", 5, true, {"dnsbl-2.uceprotect", "dnsbl-3.uceprotect", "uceprotect-level"}},
    {"UCEPROTECT", 5, false, {"uceprotect", NULL}},
    {"SORBS DUL", 6, true, {"dul.dnsbl.sorbs", "dul.sorbs", NULL}},
    {"SORBS", 6, false, {"sorbs.net", NULL}},
    {"PSBL", 7, false, {"psbl.surriel", "psbl", NULL}},
    {"Mailspike", 8, false, {"mailspike", NULL}},
    {"SpamRATS Dyna", 9, true, {"dyna.spamrats", "rats-dyna", NULL}},
    {"SpamRATS", 9, false, {"spamrats", NULL}},
    {"Invaluement", 10, false, {"invaluement", NULL}},
    {"JunkEmailFilter", 11, false, {"hostkarma", "junkemailfilter", NULL}},
    {"Microsoft network block list", 12, true, {"network is on our block list", NULL}},
    {"DNS blocklist", 13, false, {"blocked using ", NULL}},
};

#define NLISTS    (sizeof lists / sizeof lists[0])
#define GENERIC   (NLISTS - 1)

const char *p25_an_blocklist_name(unsigned i)
{
	return i < NLISTS ? lists[i].name : NULL;
}

uint32_t p25_an_blocklist_match(const char *line, uint32_t *range)
{
	uint32_t found = 0, rng = 0;
	unsigned done = 0; /* families matched, by bit */

	for (unsigned i = 0; i < GENERIC; i++) {
		if (done >> lists[i].family & 1)
			continue;
		for (int k = 0; k < 3 && lists[i].pattern[k]; k++) {
			if (!strcasestr(line, lists[i].pattern[k]))
				continue;
			found |= 1u << i;
			if (lists[i].range)
				rng |= 1u << i;
			done |= 1u << lists[i].family;
			break;
		}
	}
	if (!found && strcasestr(line, lists[GENERIC].pattern[0]))
		found = 1u << GENERIC;
	*range = rng;
	return found;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_addr_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
	       c == ':';
}

/* A dotted quad at p (up to end), as the four numbers; false if p does not start one. */
static bool quad_at(const char *p, const char *end, uint32_t *v)
{
	uint32_t x = 0;

	for (int part = 0; part < 4; part++) {
		unsigned n = 0, digits = 0;
		while (p < end && is_digit(*p) && digits < 4) {
			n = n * 10 + (unsigned)(*p++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || n > 255)
			return false;
		x = x << 8 | n;
		if (part < 3) {
			if (p >= end || *p != '.')
				return false;
			p++;
		}
	}
	/* "1.2.3.4.5" or "1.2.3.45678" is no address of its own. */
	if (p < end && is_digit(*p))
		return false;
	*v = x;
	return true;
}

static bool token_names(const char *t, size_t n, const struct p25_addr *a)
{
	const char *end = t + n;

	if (a->family == P25_INET) {
		uint32_t want = p25_addr_v4(a);
		uint32_t rev = (want & 0xff) << 24 | (want & 0xff00) << 8 | (want >> 8 & 0xff00) |
		               want >> 24;
		/*
		 * The address as written, or reversed as in the list's query name
		 * (66.2.0.192.zen.spamhaus.org); any quad in the token (after a
		 * "::ffff:" prefix, say).
		 */
		for (const char *p = t; p < end; p++) {
			uint32_t v;
			if (is_digit(*p) && (p == t || !is_digit(p[-1])) && quad_at(p, end, &v) &&
			    (v == want || v == rev))
				return true;
		}
	}
	if (memchr(t, ':', n) && n < P25_ADDR_STRLEN) {
		/* IPv6 (or IPv4-mapped), whole, or after a prefix such as "IPv6:" left over. */
		char buf[P25_ADDR_STRLEN];
		struct p25_addr x;
		struct p25_diag d;
		while (n && (t[n - 1] == '.' || t[n - 1] == ':'))
			n--;
		for (int tries = 0; tries < 2 && n; tries++) {
			memcpy(buf, t, n);
			buf[n] = 0;
			if (p25_addr_parse(buf, P25_PARSE_UNMAP, &x, &d) == 0 && p25_addr_equal(&x, a))
				return true;
			const char *c = memchr(t, ':', n);
			if (!c)
				break;
			n -= (size_t)(c + 1 - t);
			t = c + 1;
		}
	}
	return false;
}

bool p25_an_text_names_addr(const char *s, size_t n, const struct p25_addr *a)
{
	size_t i = 0;

	if (!a->family)
		return false;
	while (i < n) {
		if (!is_addr_char(s[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && is_addr_char(s[j]))
			j++;
		/* The shortest address is "1.2.3.4" or "::1". */
		if (j - i >= 3 && token_names(s + i, j - i, a))
			return true;
		i = j;
	}
	return false;
}
