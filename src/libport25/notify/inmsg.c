/*
 * Inbound messages: the header block, the Received headers, the token.
 * Everything here reads what a stranger wrote: every length is bounded,
 * nothing reads past len, and what does not parse is reported as such,
 * never guessed at.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "notify/notify.h"

#define HEADER_MAX 8192

static bool field_name_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != ':';
}

static void copy_value(char *dst, size_t dstlen, const char *v, size_t n)
{
	size_t j = 0;

	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	for (size_t i = 0; i < n && j + 1 < dstlen; i++)
		dst[j++] = (unsigned char)v[i] < ' ' ? ' ' : v[i];
	while (j && dst[j - 1] == ' ')
		j--;
	dst[j] = '\0';
}

static void one_header(struct p25_inmsg *m, const char *h, size_t n, bool truncated)
{
	size_t colon = 0;

	while (colon < n && h[colon] != ':')
		colon++;
	if (colon == n)
		return;
	const char *v = h + colon + 1;
	size_t vn = n - colon - 1;
	if (colon == 8 && !strncasecmp(h, "Received", 8)) {
		size_t i = m->received_total++;
		if (i < P25_INMSG_RECEIVED_MAX) {
			m->nreceived = i + 1;
			m->received_bad[i] =
			    truncated || p25_received_parse(v, vn, &m->received[i]) < 0;
		}
	} else if (colon == 7 && !strncasecmp(h, "Subject", 7) && !m->subject[0]) {
		copy_value(m->subject, sizeof m->subject, v, vn);
	} else if (colon == 10 && !strncasecmp(h, "Message-ID", 10) && !m->message_id[0]) {
		copy_value(m->message_id, sizeof m->message_id, v, vn);
	} else if (colon == 4 && !strncasecmp(h, "From", 4) && !m->from[0]) {
		copy_value(m->from, sizeof m->from, v, vn);
	}
}

int p25_inmsg_parse(const char *data, size_t len, struct p25_inmsg *out)
{
	char h[HEADER_MAX];
	size_t hn = 0, pos = 0;
	bool have = false, truncated = false, any = false;

	memset(out, 0, sizeof *out);
	while (pos < len) {
		size_t eol = pos, next;
		while (eol < len && data[eol] != '\n')
			eol++;
		next = eol < len ? eol + 1 : len;
		size_t ln = eol - pos;
		if (ln && data[pos + ln - 1] == '\r')
			ln--;
		if (ln == 0) {
			/* The blank line: the body starts after it. */
			pos = next;
			break;
		}
		if (data[pos] == ' ' || data[pos] == '\t') {
			if (!have)
				return -1; /* a continuation of nothing */
			for (size_t i = 0; i < ln; i++) {
				if (hn + 1 >= sizeof h) {
					truncated = true;
					break;
				}
				h[hn++] = data[pos + i] == '\t' ? ' ' : data[pos + i];
			}
		} else {
			size_t k = 0;
			if (have)
				one_header(out, h, hn, truncated);
			while (k < ln && field_name_char((unsigned char)data[pos + k]))
				k++;
			if (k == 0 || k >= ln || data[pos + k] != ':') {
				/* Not a header: the header block ended without its blank line. */
				have = false;
				break;
			}
			hn = 0;
			truncated = false;
			have = any = true;
			for (size_t i = 0; i < ln; i++) {
				if (hn + 1 >= sizeof h) {
					truncated = true;
					break;
				}
				h[hn++] = data[pos + i];
			}
		}
		pos = next;
	}
	if (have)
		one_header(out, h, hn, truncated);
	out->header_len = pos;
	return any ? 0 : -1;
}

/* ---- Received ---- */

enum tok { T_END, T_WORD, T_COMMENT, T_SEMI, T_BAD };

struct lex {
	const char *s;
	size_t n, pos;
	const char *text;
	size_t len;
};

static enum tok next_tok(struct lex *l)
{
	while (l->pos < l->n && (l->s[l->pos] == ' ' || l->s[l->pos] == '\t' ||
	                         l->s[l->pos] == '\r' || l->s[l->pos] == '\n'))
		l->pos++;
	if (l->pos >= l->n)
		return T_END;
	l->text = l->s + l->pos;
	if (l->s[l->pos] == ';') {
		l->pos++;
		l->len = 1;
		return T_SEMI;
	}
	if (l->s[l->pos] == '(') {
		int depth = 0;
		size_t start = l->pos;
		while (l->pos < l->n) {
			char c = l->s[l->pos++];
			if (c == '\\' && l->pos < l->n) {
				l->pos++;
				continue;
			}
			if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
		if (depth != 0)
			return T_BAD;
		l->len = l->pos - start;
		return T_COMMENT;
	}
	if (l->s[l->pos] == ')')
		return T_BAD;
	{
		size_t start = l->pos;
		bool angle = l->s[l->pos] == '<';
		while (l->pos < l->n) {
			char c = l->s[l->pos];
			if (angle) {
				l->pos++;
				if (c == '>')
					break;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '(' || c == ')' || c == ';' || c == '\r' ||
			    c == '\n')
				break;
			l->pos++;
		}
		l->len = l->pos - start;
		return T_WORD;
	}
}

static bool is_kw(const struct lex *l, const char *kw)
{
	return l->len == strlen(kw) && !strncasecmp(l->text, kw, l->len);
}

static bool any_kw(const struct lex *l)
{
	static const char *const kws[] = {"from", "by", "via", "with", "id", "for"};
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
		if (is_kw(l, kws[i]))
			return true;
	return false;
}

static void put(char *dst, size_t dstlen, const char *s, size_t n)
{
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* The first [address-literal] of the comment: the connecting address, "IPv6:" dropped. */
static void literal_of(const char *c, size_t n, char *out, size_t outlen)
{
	const char *open = memchr(c, '[', n), *close;

	out[0] = '\0';
	if (!open)
		return;
	close = memchr(open, ']', n - (size_t)(open - c));
	if (!close)
		return;
	open++;
	if ((size_t)(close - open) > 5 && !strncasecmp(open, "IPv6:", 5))
		open += 5;
	if ((size_t)(close - open) < outlen)
		put(out, outlen, open, (size_t)(close - open));
}

int p25_received_parse(const char *value, size_t len, struct p25_received *out)
{
	struct lex l = {.s = value, .n = len};
	enum tok t;
	char clause[8] = "";
	bool from_comment_seen = false, any = false;

	memset(out, 0, sizeof *out);
	for (;;) {
		t = next_tok(&l);
		if (t == T_END || t == T_SEMI)
			break;
		if (t == T_BAD)
			return -1;
		if (t == T_COMMENT) {
			/* The comment right after the from-word is the receiver's TCP-info. */
			if (!strcmp(clause, "from") && out->from[0] && !from_comment_seen) {
				from_comment_seen = true;
				literal_of(l.text, l.len, out->addr, sizeof out->addr);
			}
			continue;
		}
		if (any_kw(&l)) {
			put(clause, sizeof clause, l.text, l.len);
			for (char *p = clause; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			t = next_tok(&l);
			if (t != T_WORD || any_kw(&l))
				return -1;
			any = true;
			if (!strcmp(clause, "from")) {
				if (out->from[0])
					return -1;
				put(out->from, sizeof out->from, l.text, l.len);
			} else if (!strcmp(clause, "by")) {
				if (out->by[0])
					return -1;
				put(out->by, sizeof out->by, l.text, l.len);
			} else if (!strcmp(clause, "with")) {
				put(out->with, sizeof out->with, l.text, l.len);
			}
			continue;
		}
		/* A word where a clause should start: not a Received header we read. */
		return -1;
	}
	return any && out->by[0] ? 0 : -1;
}

static bool loopback(const struct p25_addr *a)
{
	if (a->family == P25_INET)
		return (p25_addr_v4(a) >> 24) == 127;
	return a->bits == 1; /* ::1 */
}

int p25_inmsg_connecting(const struct p25_inmsg *m, const char *mx, struct p25_addr *out,
                         bool *submission, char *why, size_t whylen)
{
	*submission = false;
	if (!mx || !*mx) {
		snprintf(why, whylen, "no trusted MX is configured (verify-inbox-mx)");
		return -1;
	}
	if (m->nreceived == 0) {
		snprintf(why, whylen, "no Received header: the message did not come through an MX");
		return -1;
	}
	for (size_t i = 0; i < m->nreceived; i++) {
		const struct p25_received *r = &m->received[i];
		struct p25_diag diag;
		size_t wl;
		if (m->received_bad[i]) {
			snprintf(why, whylen, "Received header %zu does not parse", i + 1);
			return -1;
		}
		if (strcasecmp(r->by, mx) != 0) {
			snprintf(why, whylen,
			         "Received header %zu was written by '%.100s', not by the MX %.100s", i + 1,
			         r->by, mx);
			return -1;
		}
		if (!r->addr[0] || p25_addr_parse(r->addr, P25_PARSE_UNMAP, out, &diag) < 0) {
			snprintf(why, whylen, "Received header %zu records no connecting address", i + 1);
			return -1;
		}
		/* The MX's own hops (a content filter on loopback): the next one down is its too. */
		if (loopback(out))
			continue;
		wl = strlen(r->with);
		*submission = wl > 1 && (r->with[wl - 1] == 'A' || r->with[wl - 1] == 'a');
		return 0;
	}
	snprintf(why, whylen, "every Received header of the MX is an internal hop");
	return -1;
}

static bool token_ok(const char *s, size_t n)
{
	if (n < 16 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int p25_inmsg_token(const char *rcpt, const char *subject, char *out, size_t outlen)
{
	if (rcpt) {
		const char *at = strrchr(rcpt, '@'), *plus;
		const char *start = *rcpt == '<' ? rcpt + 1 : rcpt;
		if (at && at > start && (plus = memchr(start, '+', (size_t)(at - start)))) {
			size_t n = (size_t)(at - plus - 1);
			if (token_ok(plus + 1, n) && n < outlen) {
				for (size_t i = 0; i < n; i++)
					out[i] = (char)tolower((unsigned char)plus[1 + i]);
				out[n] = '\0';
				return 0;
			}
		}
	}
	for (const char *p = subject; p && *p;) {
		size_t n = 0;
		while (p[n] && isalnum((unsigned char)p[n]))
			n++;
		if (n && token_ok(p, n) && n < outlen) {
			for (size_t i = 0; i < n; i++)
				out[i] = (char)tolower((unsigned char)p[i]);
			out[n] = '\0';
			return 0;
		}
		p += n ? n : 1;
	}
	return -1;
}
