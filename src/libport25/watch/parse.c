/*
 * Parsers for what the sources deliver: router ACL-deny syslog lines, the
 * NFLOG prefix and the logged packet.  All of it comes from the network or
 * from files anyone on the log path can write to, so every field is
 * checked and nothing is read beyond the length given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/text.h"
#include "util/time.h"
#include "watch/watch.h"

#define LINE_MAX_LEN 2048

const char *p25_watch_dir_name(int dir)
{
	switch (dir) {
	case P25_WDIR_OUT: return "out";
	case P25_WDIR_IN: return "in";
	default: return "unknown";
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* A whole number of at most max; advances *s.  Refuses signs, empties and overflow. */
static bool take_uint(const char **s, uint64_t max, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!is_digit(*p))
		return false;
	while (is_digit(*p)) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > max)
			return false;
		p++;
	}
	*s = p;
	*out = v;
	return true;
}

/* The next whitespace-delimited token into buf; false when none or too long. */
static bool take_token(const char **s, char *buf, size_t buflen)
{
	const char *p = skip_space(*s);
	size_t n = 0;

	while (p[n] && !is_space(p[n]))
		n++;
	if (n == 0 || n >= buflen)
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	*s = p + n;
	return true;
}

static bool parse_ip(const char *text, struct p25_addr *out)
{
	struct p25_diag diag;

	/* Plain addresses only: a prefix or zone in a log line is not a host. */
	if (strchr(text, '/') || strchr(text, '%'))
		return false;
	return p25_addr_parse(text, P25_PARSE_UNMAP, out, &diag) == 0;
}

/* "192.0.2.50(51234)" or "2001:DB8::5(25)". */
static bool parse_addr_port(const char *tok, struct p25_addr *a, uint16_t *port)
{
	char ip[P25_ADDR_STRLEN + 1];
	const char *open = strchr(tok, '('), *p;
	size_t n;
	uint64_t v;

	if (!open || (n = (size_t)(open - tok)) == 0 || n >= sizeof ip)
		return false;
	memcpy(ip, tok, n);
	ip[n] = '\0';
	p = open + 1;
	if (!take_uint(&p, 65535, &v) || strcmp(p, ")") != 0)
		return false;
	*port = (uint16_t)v;
	return parse_ip(ip, a);
}

/* ", 1 packet" / ", 5 packets": how many packets a summary line stands for. */
static uint32_t packet_count(const char *s)
{
	uint64_t v;

	s = skip_space(s);
	if (*s == ',')
		s = skip_space(s + 1);
	if (*s == '(')
		s++;
	if (!take_uint(&s, UINT32_MAX, &v) || v == 0)
		return 1;
	return (uint32_t)v;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool fixed_uint(const char *s, int n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* "HH:MM:SS" at s. */
static bool clock_at(const char *s, unsigned *h, unsigned *mi, unsigned *sec)
{
	return fixed_uint(s, 2, 23, h) && s[2] == ':' && fixed_uint(s + 3, 2, 59, mi) &&
	       s[5] == ':' && fixed_uint(s + 6, 2, 60, sec);
}

/* "2026-11-23T10:00:00[.123][Z|+01:00]" at s. */
static bool iso_at(const char *s, p25_time *out)
{
	unsigned y, mo, d, h, mi, sec, oh, om;
	int64_t t;
	const char *p;

	if (!fixed_uint(s, 4, 9999, &y) || s[4] != '-' || !fixed_uint(s + 5, 2, 12, &mo) ||
	    s[7] != '-' || !fixed_uint(s + 8, 2, 31, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    !clock_at(s + 11, &h, &mi, &sec) || mo == 0 || d == 0)
		return false;
	t = p25_days_from_civil(y, mo, d) * P25_DAY + h * 3600 + mi * 60 + sec;
	p = s + 19;
	if (*p == '.')
		for (p++; is_digit(*p); p++)
			;
	if ((*p == '+' || *p == '-') && fixed_uint(p + 1, 2, 23, &oh) && p[3] == ':' &&
	    fixed_uint(p + 4, 2, 59, &om))
		t -= (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
	*out = t;
	return true;
}

/* "Nov 23 10:00:00" or "Nov 23 2026 10:00:00" at s; the year from now when absent. */
static bool bsd_at(const char *s, p25_time now, p25_time *out)
{
	unsigned mo = 0, d, y = 0, h, mi, sec;
	const char *p = s + 4;
	bool have_year = false;
	int64_t year, t;

	for (unsigned i = 0; i < 12; i++)
		if (strncmp(s, months[i], 3) == 0)
			mo = i + 1;
	if (!mo || s[3] != ' ')
		return false;
	if (*p == ' ')
		p++;
	if (is_digit(p[0]) && is_digit(p[1])) {
		if (!fixed_uint(p, 2, 31, &d))
			return false;
		p += 2;
	} else if (is_digit(p[0])) {
		d = (unsigned)(p[0] - '0');
		p += 1;
	} else {
		return false;
	}
	if (d == 0 || *p++ != ' ')
		return false;
	if (fixed_uint(p, 4, 9999, &y) && p[4] == ' ') {
		have_year = true;
		p += 5;
	}
	if (!clock_at(p, &h, &mi, &sec))
		return false;
	year = y;
	if (!have_year) {
		struct tm tm;
		time_t tt = (time_t)now;
		if (!gmtime_r(&tt, &tm))
			return false;
		year = (int64_t)tm.tm_year + 1900;
	}
	t = p25_days_from_civil(year, mo, d) * P25_DAY + h * 3600 + mi * 60 + sec;
	if (!have_year && t > now + P25_DAY)
		t = p25_days_from_civil(year - 1, mo, d) * P25_DAY + h * 3600 + mi * 60 + sec;
	*out = t;
	return true;
}

/* The first timestamp in s[0..end), or now. */
static p25_time line_time(const char *s, const char *end, p25_time now)
{
	p25_time t;

	for (const char *p = s; p < end && *p; p++) {
		if (is_digit(*p) && (p == s || !is_digit(p[-1])) && end - p >= 19 && iso_at(p, &t))
			return t;
		if (*p >= 'A' && *p <= 'S' && (p == s || !(p[-1] >= 'a' && p[-1] <= 'z')) &&
		    end - p >= 15 && bsd_at(p, now, &t))
			return t;
	}
	return now;
}

/* Cisco IOS: "list NAME denied tcp SRC(P) [(IF MAC)] -> DST(P), N packet(s)". */
static int parse_cisco(const char *s, struct p25_attempt *out)
{
	char tok[128];
	uint16_t dport;

	if (!take_token(&s, tok, sizeof tok) || strcmp(tok, "list") != 0)
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (strcmp(tok, "permitted") == 0)
		return 0;
	if (strcmp(tok, "denied") != 0)
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (strcmp(tok, "tcp") != 0 && strcmp(tok, "6") != 0)
		return 0;
	if (!take_token(&s, tok, sizeof tok) || !parse_addr_port(tok, &out->src, &out->sport))
		return -1;
	s = skip_space(s);
	if (*s == '(') {
		/* log-input: "(GigabitEthernet0/1 0011.2233.4455)" */
		const char *close = strchr(s, ')');
		if (!close)
			return -1;
		s = close + 1;
	}
	if (!take_token(&s, tok, sizeof tok) || strcmp(tok, "->") != 0)
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	{
		size_t n = strlen(tok);
		if (n && tok[n - 1] == ',')
			tok[n - 1] = '\0';
	}
	if (!parse_addr_port(tok, &out->dst, &dport))
		return -1;
	if (out->src.family != out->dst.family)
		return -1;
	out->dport = dport;
	out->packets = packet_count(s);
	return dport == 25 ? 1 : 0;
}

/*
 * Junos: after "FW:", "IFACE ACTION PROTO SRC DST SPORT DPORT (N packets)",
 * or for IPv6 "IFACE ACTION PROTO SA SRC DA DST SP SPORT DP DPORT (N packets)".
 */
static int parse_junos(const char *s, struct p25_attempt *out)
{
	char tok[128], src[64], dst[64];
	uint64_t sport, dport;
	const char *p;
	bool labelled;

	if (!take_token(&s, tok, sizeof tok)) /* the interface */
		return -1;
	if (!take_token(&s, tok, sizeof tok) || strlen(tok) != 1)
		return -1;
	if (tok[0] == 'A')
		return 0;
	if (tok[0] != 'D' && tok[0] != 'R')
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (strcmp(tok, "tcp") != 0 && strcmp(tok, "6") != 0)
		return 0;
	p = skip_space(s);
	labelled = strncmp(p, "SA ", 3) == 0;
	if (labelled) {
		if (!take_token(&s, tok, sizeof tok) || strcmp(tok, "SA") != 0 ||
		    !take_token(&s, src, sizeof src) || !take_token(&s, tok, sizeof tok) ||
		    strcmp(tok, "DA") != 0 || !take_token(&s, dst, sizeof dst) ||
		    !take_token(&s, tok, sizeof tok) || strcmp(tok, "SP") != 0)
			return -1;
	} else if (!take_token(&s, src, sizeof src) || !take_token(&s, dst, sizeof dst)) {
		return -1;
	}
	s = skip_space(s);
	if (!take_uint(&s, 65535, &sport) || !is_space(*s))
		return -1;
	if (labelled && (!take_token(&s, tok, sizeof tok) || strcmp(tok, "DP") != 0))
		return -1;
	s = skip_space(s);
	if (!take_uint(&s, 65535, &dport) || (*s && !is_space(*s)))
		return -1;
	if (!parse_ip(src, &out->src) || !parse_ip(dst, &out->dst) ||
	    out->src.family != out->dst.family)
		return -1;
	out->sport = (uint16_t)sport;
	out->dport = (uint16_t)dport;
	out->packets = packet_count(s);
	return dport == 25 ? 1 : 0;
}

/* ASA nameif: letters, digits, '-', '_', '.'. */
static bool is_ifchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_' || c == '.';
}

/* An address from n bytes of text (no prefix, no zone). */
static bool ip_text(const char *s, size_t n, struct p25_addr *out)
{
	char ip[P25_ADDR_STRLEN + 1];

	if (n == 0 || n >= sizeof ip)
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	return parse_ip(ip, out);
}

/* A word at *s ending at whitespace or the end of the line; advances *s past it. */
static bool take_word(const char **s, const char *word)
{
	const char *p = skip_space(*s);
	size_t n = strlen(word);

	if (strncmp(p, word, n) != 0 || (p[n] && !is_space(p[n])))
		return false;
	*s = p + n;
	return true;
}

static bool is_tcp(const char *proto)
{
	return strcasecmp(proto, "tcp") == 0 || strcmp(proto, "6") == 0;
}

/*
 * 106023 "outside:192.0.2.10/51234", "outside:2001:db8::10/51234" (the port
 * after the last '/'), an identity "(LOCAL\user)" after it; 106001 the same
 * without the interface.  Advances *s past it.
 */
static bool asa_slash_endpoint(const char **s, bool iface, struct p25_addr *a, uint16_t *port)
{
	const char *p = skip_space(*s), *addr, *end, *slash = NULL;
	uint64_t v;

	if (iface) {
		const char *q = p;
		while (is_ifchar(*q))
			q++;
		if (q == p || *q != ':')
			return false;
		p = q + 1;
	}
	addr = p;
	for (end = p; *end && !is_space(*end) && *end != '('; end++)
		if (*end == '/')
			slash = end;
	if (!slash)
		return false;
	p = slash + 1;
	if (!take_uint(&p, 65535, &v) || p != end || !ip_text(addr, (size_t)(slash - addr), a))
		return false;
	p = skip_space(end);
	if (*p == '(') {
		const char *close = strchr(p, ')');
		if (!close)
			return false;
		end = close + 1;
	}
	*port = (uint16_t)v;
	*s = end;
	return true;
}

/* 106100 "inside/10.1.1.5(51234)" or "inside/2001:db8::5(51234)"; advances *s past it. */
static bool asa_paren_endpoint(const char **s, struct p25_addr *a, uint16_t *port)
{
	const char *p = skip_space(*s), *slash = p, *open;
	uint64_t v;

	while (is_ifchar(*slash))
		slash++;
	if (slash == p || *slash != '/')
		return false;
	for (open = slash + 1; *open && *open != '(' && !is_space(*open); open++)
		;
	if (*open != '(' || !ip_text(slash + 1, (size_t)(open - slash - 1), a))
		return false;
	p = open + 1;
	if (!take_uint(&p, 65535, &v) || *p != ')')
		return false;
	*port = (uint16_t)v;
	*s = p + 1;
	return true;
}

/* 106023: "Deny tcp src IF:SRC/SPORT [(user)] dst IF:DST/DPORT [(user)] by access-group ...". */
static int parse_asa_106023(const char *s, struct p25_attempt *out)
{
	char tok[128];

	if (!take_word(&s, "Deny") || !take_token(&s, tok, sizeof tok))
		return -1;
	if (!is_tcp(tok))
		return 0;
	if (!take_word(&s, "src") || !asa_slash_endpoint(&s, true, &out->src, &out->sport) ||
	    !take_word(&s, "dst") || !asa_slash_endpoint(&s, true, &out->dst, &out->dport) ||
	    !take_word(&s, "by"))
		return -1;
	out->packets = 1;
	return out->dport == 25 ? 1 : 0;
}

/* 106001: "Inbound TCP connection denied from SRC/SPORT to DST/DPORT flags F... on interface IF" */
static int parse_asa_106001(const char *s, struct p25_attempt *out)
{
	char tok[128];
	bool syn = false, ack = false;
	int nflags = 0;

	if (!take_word(&s, "Inbound") || !take_word(&s, "TCP") || !take_word(&s, "connection") ||
	    !take_word(&s, "denied") || !take_word(&s, "from") ||
	    !asa_slash_endpoint(&s, false, &out->src, &out->sport) || !take_word(&s, "to") ||
	    !asa_slash_endpoint(&s, false, &out->dst, &out->dport) || !take_word(&s, "flags"))
		return -1;
	for (;;) {
		if (!take_token(&s, tok, sizeof tok))
			return -1;
		if (strcmp(tok, "on") == 0)
			break;
		if (++nflags > 8)
			return -1;
		for (const char *p = tok; *p; p++)
			if (*p < 'A' || *p > 'Z')
				return -1;
		syn |= strcmp(tok, "SYN") == 0;
		ack |= strcmp(tok, "ACK") == 0;
	}
	if (nflags == 0 || !take_word(&s, "interface") || !take_token(&s, tok, sizeof tok))
		return -1;
	for (const char *p = tok; *p; p++)
		if (!is_ifchar(*p))
			return -1;
	out->packets = 1;
	/* SYN without ACK: a connection attempt, as for NFLOG. */
	return out->dport == 25 && syn && !ack ? 1 : 0;
}

/* 106100: "access-list NAME denied tcp IF/SRC(SPORT) -> IF/DST(DPORT) hit-cnt N first hit ..." */
static int parse_asa_106100(const char *s, struct p25_attempt *out)
{
	char tok[128];
	uint64_t hits;

	if (!take_word(&s, "access-list"))
		return -1;
	/* The list's name, up to 241 characters: skipped, not copied. */
	s = skip_space(s);
	if (!*s)
		return -1;
	while (*s && !is_space(*s))
		s++;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (strcmp(tok, "permitted") == 0 || strcmp(tok, "est-allowed") == 0)
		return 0;
	if (strcmp(tok, "denied") != 0)
		return -1;
	if (!take_token(&s, tok, sizeof tok))
		return -1;
	if (!is_tcp(tok))
		return 0;
	if (!asa_paren_endpoint(&s, &out->src, &out->sport))
		return -1;
	s = skip_space(s);
	if (strncmp(s, "->", 2) != 0)
		return -1;
	s += 2;
	if (!asa_paren_endpoint(&s, &out->dst, &out->dport) || !take_word(&s, "hit-cnt"))
		return -1;
	s = skip_space(s);
	/* The count and what it counts: a line cut inside the number is no attempt. */
	if (!take_uint(&s, UINT32_MAX, &hits) || !is_space(*s) || !*skip_space(s))
		return -1;
	out->packets = hits ? (uint32_t)hits : 1;
	return out->dport == 25 ? 1 : 0;
}

/* "%ASA-4-106023:" or "%FTD-4-106023:" in s: the tag, its message id and the text after it. */
static const char *asa_tag(const char *s, unsigned *id, const char **msg)
{
	for (const char *p = strchr(s, '%'); p; p = strchr(p + 1, '%')) {
		unsigned level, v;
		if ((strncmp(p + 1, "ASA-", 4) != 0 && strncmp(p + 1, "FTD-", 4) != 0) ||
		    !fixed_uint(p + 5, 1, 7, &level) || p[6] != '-' ||
		    !fixed_uint(p + 7, 6, 999999, &v) || p[13] != ':')
			continue;
		*id = v;
		*msg = p + 14;
		return p;
	}
	return NULL;
}

static int parse_asa(unsigned id, const char *s, struct p25_attempt *out)
{
	switch (id) {
	case 106001: return parse_asa_106001(s, out);
	case 106023: return parse_asa_106023(s, out);
	case 106100: return parse_asa_106100(s, out);
	default: return 0; /* 106006/106007 (UDP) and everything else */
	}
}

int p25_syslog_parse(const char *line, size_t len, p25_time now, struct p25_attempt *out)
{
	char buf[LINE_MAX_LEN];
	const char *m, *msg;
	unsigned id;
	int rc;

	memset(out, 0, sizeof *out);
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, line, len);
	buf[len] = '\0';
	/* A NUL inside the line ends it here: the string functions below stop there. */

	if ((m = strstr(buf, "%SEC-6-IPACCESSLOGP:")) != NULL) {
		rc = parse_cisco(m + strlen("%SEC-6-IPACCESSLOGP:"), out);
		if (rc == 1 && out->src.family != P25_INET)
			rc = -1;
	} else if ((m = strstr(buf, "%IPV6_ACL-6-ACCESSLOGP:")) != NULL) {
		rc = parse_cisco(m + strlen("%IPV6_ACL-6-ACCESSLOGP:"), out);
		if (rc == 1 && out->src.family != P25_INET6)
			rc = -1;
	} else if ((m = asa_tag(buf, &id, &msg)) != NULL) {
		/* Before Junos: an ASA interface may be called "FW". */
		rc = parse_asa(id, msg, out);
		if (rc == 1 && out->src.family != out->dst.family)
			rc = -1;
	} else if ((m = strstr(buf, "FW:")) != NULL && (m == buf || is_space(m[-1]))) {
		rc = parse_junos(m + 3, out);
	} else {
		return 0;
	}
	if (rc != 1) {
		memset(out, 0, sizeof *out);
		return rc;
	}
	out->t = line_time(buf, m, now);
	out->dir = P25_WDIR_UNKNOWN;
	return 1;
}

int p25_nflog_prefix_parse(const char *prefix, size_t len, uint8_t *dir, char *org)
{
	char buf[128], word[P25_ORG_HANDLE_MAX + 2];
	const char *s = buf;

	*dir = P25_WDIR_UNKNOWN;
	org[0] = '\0';
	if (len >= sizeof buf)
		return strncmp(prefix, "port25 ", len < 7 ? len : 7) == 0 ? -1 : 0;
	memcpy(buf, prefix, len);
	buf[len] = '\0';
	if (strncmp(buf, "port25 ", 7) != 0)
		return 0;
	s += 7;
	if (!take_token(&s, word, sizeof word))
		return -1;
	if (strcmp(word, "out") == 0)
		*dir = P25_WDIR_OUT;
	else if (strcmp(word, "in") == 0)
		*dir = P25_WDIR_IN;
	else
		return -1;
	if (!take_token(&s, word, sizeof word) || !p25_text_is_handle(word) ||
	    *skip_space(s) != '\0') {
		*dir = P25_WDIR_UNKNOWN;
		return -1;
	}
	strcpy(org, word);
	return 1;
}

static int decode_tcp(const uint8_t *tcp, size_t len, struct p25_attempt *out)
{
	uint8_t flags;

	if (len < 14)
		return -1;
	out->sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
	out->dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	flags = tcp[13];
	/* SYN without ACK: a connection attempt, not a reply or a retransmitted segment. */
	return (flags & 0x12) == 0x02 ? 1 : 0;
}

int p25_packet_decode(const uint8_t *pkt, size_t len, struct p25_attempt *out)
{
	if (len < 1)
		return -1;
	out->packets = 1;
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		uint32_t a;
		if (len < 20 || ihl < 20 || len < ihl)
			return -1;
		if (pkt[9] != 6)
			return 0;
		if (((pkt[6] & 0x1f) << 8 | pkt[7]) != 0)
			return 0; /* a later fragment has no TCP header */
		a = (uint32_t)pkt[12] << 24 | (uint32_t)pkt[13] << 16 | (uint32_t)pkt[14] << 8 |
		    pkt[15];
		p25_addr_from_v4(&out->src, a);
		a = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 |
		    pkt[19];
		p25_addr_from_v4(&out->dst, a);
		return decode_tcp(pkt + ihl, len - ihl, out);
	}
	if (pkt[0] >> 4 == 6) {
		size_t off = 40;
		uint8_t nh;
		if (len < 40)
			return -1;
		p25_addr_from_v6(&out->src, pkt + 8);
		p25_addr_from_v6(&out->dst, pkt + 24);
		nh = pkt[6];
		/* A few extension headers, bounded: a crafted chain must not loop. */
		for (int i = 0; i < 8; i++) {
			if (nh == 6)
				return decode_tcp(pkt + off, len - off, out);
			if (nh == 0 || nh == 43 || nh == 60) {
				if (len < off + 8)
					return -1;
				nh = pkt[off];
				off += ((size_t)pkt[off + 1] + 1) * 8;
			} else if (nh == 44) {
				if (len < off + 8)
					return -1;
				if (((pkt[off + 2] << 8 | pkt[off + 3]) & 0xfff8) != 0)
					return 0;
				nh = pkt[off];
				off += 8;
			} else {
				return 0;
			}
			if (off > len)
				return -1;
		}
		return 0;
	}
	return -1;
}
