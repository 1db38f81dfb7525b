/*
 * SMTP dialogue parser: counts what a connection's plain-text dialogue
 * shows.  It keeps one bounded line per direction and a short queue of
 * commands awaiting replies (clients may pipeline, RFC 2920), and stops at
 * a successful STARTTLS, after which nothing is readable.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analyze.h"
#include "analyze/analyze_int.h"

#define LINE_MAX_KEEP 512
#define PENDING_MAX   16

enum cmd {
	CMD_BANNER,
	CMD_HELO,
	CMD_MAIL,
	CMD_RCPT,
	CMD_DATA,
	CMD_DOT,
	CMD_STARTTLS,
	CMD_OTHER,
};

/* Where the client is inside a message body, looking for CRLF "." CRLF. */
enum body {
	BODY_BOL,     /* at the start of a line */
	BODY_DOT,     /* the line so far is "." */
	BODY_DOT_CR,  /* ".\r" */
	BODY_MIDLINE, /* anything else */
};

struct p25_smtp {
	struct p25_an_smtp r;
	char line[2][LINE_MAX_KEEP];
	size_t len[2];
	bool skip[2]; /* drop bytes up to the next line end (after a gap) */
	uint8_t pending[PENDING_MAX];
	unsigned phead, pcount;
	bool data_mode;
	enum body body;
	uint64_t body_len, dot_len;
	bool tls;
	bool banner_done;
	struct p25_addr client; /* family 0: unknown */
	/* The 4xx/5xx reply being read (its lines joined), for the blocklist check. */
	bool rep_open, rep_addr;
	uint32_t rep_lists, rep_range;
	size_t rep_len;
	char rep_text[P25_AN_REPLY_LEN];
	/* Recipient domains of the session, a linear-counting bitmap as the fan-out windows'. */
	uint64_t rcpt_bits[P25_AN_WIN_WORDS];
};

struct p25_smtp *p25_smtp_new(void)
{
	struct p25_smtp *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	/* The first reply of a session is the server's greeting. */
	s->pending[0] = CMD_BANNER;
	s->pcount = 1;
	return s;
}

void p25_smtp_free(struct p25_smtp *s)
{
	free(s);
}

const struct p25_an_smtp *p25_smtp_result(const struct p25_smtp *s)
{
	return &s->r;
}

bool p25_smtp_encrypted(const struct p25_smtp *s)
{
	return s->tls;
}

void p25_smtp_set_client(struct p25_smtp *s, const struct p25_addr *client)
{
	s->client = *client;
}

const uint64_t *p25_smtp_rcpt_bits(const struct p25_smtp *s)
{
	return s->rcpt_bits;
}

/* The bit of a domain's hash in the recipient and window bitmaps. */
unsigned p25_an_domain_bit(uint64_t h)
{
	return (unsigned)((h * 0x9e3779b97f4a7c15ULL) >> 56) % (P25_AN_WIN_WORDS * 64);
}

static void push(struct p25_smtp *s, enum cmd c)
{
	/* A full queue means replies went missing: forget the oldest. */
	if (s->pcount == PENDING_MAX) {
		s->phead = (s->phead + 1) % PENDING_MAX;
		s->pcount--;
	}
	s->pending[(s->phead + s->pcount) % PENDING_MAX] = (uint8_t)c;
	s->pcount++;
}

static int pop(struct p25_smtp *s)
{
	int c;

	if (s->pcount == 0)
		return -1;
	c = s->pending[s->phead];
	s->phead = (s->phead + 1) % PENDING_MAX;
	s->pcount--;
	return c;
}

uint64_t p25_an_hash_text(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)tolower((unsigned char)p[i]);
		h *= 0x100000001b3ULL;
	}
	return h ? h : 1;
}

/* Printable ASCII only: the names end up in terminals and HTML. */
static void copy_clean(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	if (n >= cap)
		n = cap - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	dst[i] = 0;
}

static void add_helo(struct p25_an_smtp *r, const char *name, size_t n)
{
	char clean[P25_AN_HELO_LEN];

	copy_clean(clean, sizeof clean, name, n);
	for (unsigned i = 0; i < r->nhelo_names && i < P25_AN_HELO_KEEP; i++)
		if (strcasecmp(r->helo_names[i], clean) == 0)
			return;
	if (r->nhelo_names < P25_AN_HELO_KEEP)
		memcpy(r->helo_names[r->nhelo_names], clean, sizeof clean);
	r->nhelo_names++;
}

void p25_an_add_domain(struct p25_an_smtp *r, uint64_t h)
{
	unsigned kept = r->sender_domains < 16 ? r->sender_domains : 16;

	for (unsigned i = 0; i < kept; i++)
		if (r->sender_hash[i] == h)
			return;
	if (r->sender_domains < 16)
		r->sender_hash[r->sender_domains] = h;
	/* Past 16 every unknown domain counts: an upper estimate, which is all a bot test needs. */
	r->sender_domains++;
}

/* The hash of the domain of "FROM:<user@domain> ..." or "TO:<...>"; 0 for none (null sender). */
static uint64_t path_domain(const char *arg, size_t n)
{
	const char *end = arg + n, *at = NULL, *p = memchr(arg, '<', n), *q;

	if (!p)
		p = memchr(arg, ':', n);
	if (!p)
		return 0;
	for (q = p + 1; q < end && *q != '>' && *q != ' '; q++)
		if (*q == '@')
			at = q;
	return at && q > at + 1 ? p25_an_hash_text(at + 1, (size_t)(q - at - 1)) : 0;
}

static void mail_from(struct p25_smtp *s, const char *arg, size_t n)
{
	uint64_t h = path_domain(arg, n);

	s->r.mail_from++;
	if (h)
		p25_an_add_domain(&s->r, h);
}

static void rcpt_to(struct p25_smtp *s, const char *arg, size_t n)
{
	uint64_t h = path_domain(arg, n);

	s->r.rcpt_to++;
	if (h) {
		unsigned b = p25_an_domain_bit(h);
		s->rcpt_bits[b / 64] |= 1ULL << (b % 64);
	}
}

static bool verb_is(const char *l, size_t n, const char *verb)
{
	size_t v = strlen(verb);

	return n >= v && strncasecmp(l, verb, v) == 0 && (n == v || l[v] == ' ' || l[v] == '\t');
}

static void client_line(struct p25_smtp *s, const char *l, size_t n)
{
	if (verb_is(l, n, "EHLO") || verb_is(l, n, "HELO")) {
		const char *a = l + 4, *e = l + n;
		while (a < e && (*a == ' ' || *a == '\t'))
			a++;
		const char *b = a;
		while (b < e && *b != ' ' && *b != '\t')
			b++;
		s->r.helo++;
		if (b > a)
			add_helo(&s->r, a, (size_t)(b - a));
		push(s, CMD_HELO);
	} else if (verb_is(l, n, "MAIL")) {
		mail_from(s, l + 4, n - 4);
		push(s, CMD_MAIL);
	} else if (verb_is(l, n, "RCPT")) {
		rcpt_to(s, l + 4, n - 4);
		push(s, CMD_RCPT);
	} else if (verb_is(l, n, "DATA")) {
		push(s, CMD_DATA);
	} else if (verb_is(l, n, "STARTTLS")) {
		s->r.starttls++;
		push(s, CMD_STARTTLS);
	} else if (n > 0) {
		push(s, CMD_OTHER);
	}
}

void p25_an_bl_keep(struct p25_an_smtp *r, uint8_t kind, const char *text)
{
	if (kind > r->bl_kind || (kind == r->bl_kind && strcmp(text, r->bl_reply) < 0)) {
		r->bl_kind = kind;
		snprintf(r->bl_reply, sizeof r->bl_reply, "%s", text);
	}
}

/*
 * A line of a 4xx/5xx reply: the lines are joined (a multi-line reply may
 * name the list on one line and the address on another) and judged at the
 * last one.  Only refusals are read: a 2xx reply is never a blocklist's.
 */
static void refusal_line(struct p25_smtp *s, const char *l, size_t n, bool final)
{
	uint32_t range;

	if (!s->rep_open) {
		s->rep_open = true;
		s->rep_addr = false;
		s->rep_lists = s->rep_range = 0;
		s->rep_len = 0;
	}
	if (s->rep_len + 2 < sizeof s->rep_text) {
		size_t at = s->rep_len ? s->rep_len + 1 : 0;
		if (s->rep_len)
			s->rep_text[s->rep_len] = ' ';
		copy_clean(s->rep_text + at, sizeof s->rep_text - at, l, n);
		s->rep_len = strlen(s->rep_text);
	}
	s->rep_lists |= p25_an_blocklist_match(l, &range);
	s->rep_range |= range;
	if (!s->rep_addr)
		s->rep_addr = p25_an_text_names_addr(l, n, &s->client);
	if (!final)
		return;
	s->rep_open = false;
	if (!s->rep_lists)
		return;
	/* A list of hosts that names the host decides; ranges say only what the address is. */
	uint8_t kind = !s->rep_addr                        ? P25_AN_BL_OTHER
	               : s->rep_lists & ~s->rep_range ? P25_AN_BL_LISTED
	                                                   : P25_AN_BL_RANGE;
	s->r.bl_replies[kind]++;
	s->r.bl_lists |= s->rep_lists;
	if (kind == P25_AN_BL_LISTED)
		s->r.bl_lists_listed |= s->rep_lists & ~s->rep_range;
	p25_an_bl_keep(&s->r, kind, s->rep_text);
}

static void server_line(struct p25_smtp *s, const char *l, size_t n)
{
	int code, cmd;
	bool final;

	if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2])) {
		if (n > 0)
			s->r.replies[0]++;
		s->rep_open = false;
		return;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	final = n == 3 || l[3] != '-';
	if (code >= 400 && code < 600)
		refusal_line(s, l, n, final);
	else
		s->rep_open = false;
	if (!s->banner_done && s->pcount > 0 && s->pending[s->phead] == CMD_BANNER && code == 220) {
		size_t off = n > 4 ? 4 : n;
		copy_clean(s->r.banner, sizeof s->r.banner, l + off, n - off);
		s->banner_done = true;
	}
	if (!final)
		return;
	s->r.replies[code / 100 <= 5 ? code / 100 : 0]++;
	cmd = pop(s);
	/* What a refusal means is in these: the banner, EHLO and QUIT replies are the same for all. */
	if (cmd == CMD_MAIL || cmd == CMD_RCPT || cmd == CMD_DATA || cmd == CMD_DOT)
		s->r.txn_replies[code / 100 <= 5 ? code / 100 : 0]++;
	switch (cmd) {
	case CMD_BANNER:
		s->banner_done = true;
		break;
	case CMD_STARTTLS:
		if (code == 220) {
			s->r.tls_ok++;
			s->tls = true;
		}
		break;
	case CMD_DATA:
		if (code == 354) {
			s->data_mode = true;
			s->body = BODY_BOL;
			s->body_len = 0;
		}
		break;
	case CMD_DOT:
		if (code / 100 == 2) {
			s->r.messages++;
			s->r.msg_bytes += s->dot_len;
			s->r.msg_sumsq += (double)s->dot_len * (double)s->dot_len;
		}
		break;
	default:
		break;
	}
}

/* Message body bytes; returns how many were consumed (up to and including the final dot line). */
static size_t body_bytes(struct p25_smtp *s, const uint8_t *p, size_t n)
{
	size_t i = 0, dotline;

	while (i < n) {
		if (s->body == BODY_MIDLINE) {
			const uint8_t *lf = memchr(p + i, '\n', n - i);
			if (!lf) {
				i = n;
				break;
			}
			i = (size_t)(lf - p) + 1;
			s->body = BODY_BOL;
			continue;
		}
		uint8_t c = p[i++];
		switch (s->body) {
		case BODY_BOL:
			s->body = c == '.' ? BODY_DOT : c == '\n' ? BODY_BOL : BODY_MIDLINE;
			break;
		case BODY_DOT:
		case BODY_DOT_CR:
			if (c == '\n') {
				/* The terminating line (".\n" or ".\r\n") is not part of the
				 * message. */
				dotline = s->body == BODY_DOT ? 2 : 3;
				s->body_len += i;
				s->dot_len = s->body_len >= dotline ? s->body_len - dotline : 0;
				s->data_mode = false;
				push(s, CMD_DOT);
				return i;
			}
			s->body = c == '\r' && s->body == BODY_DOT ? BODY_DOT_CR : BODY_MIDLINE;
			break;
		default:
			break;
		}
	}
	s->body_len += i;
	return n;
}

void p25_smtp_feed(struct p25_smtp *s, bool from_client, const uint8_t *p, size_t n)
{
	int d = from_client ? 0 : 1;

	while (n > 0 && !s->tls) {
		if (from_client && s->data_mode) {
			size_t used = body_bytes(s, p, n);
			p += used;
			n -= used;
			continue;
		}
		const uint8_t *lf = memchr(p, '\n', n);
		size_t take = lf ? (size_t)(lf - p) : n;
		if (!s->skip[d]) {
			size_t room = LINE_MAX_KEEP - 1 - s->len[d];
			size_t c = take < room ? take : room;
			memcpy(s->line[d] + s->len[d], p, c);
			s->len[d] += c;
		}
		if (!lf) /* the line goes on in a later segment */
			return;
		p += take + 1;
		n -= take + 1;
		if (!s->skip[d]) {
			size_t len = s->len[d];
			if (len > 0 && s->line[d][len - 1] == '\r')
				len--;
			s->line[d][len] = 0;
			if (from_client)
				client_line(s, s->line[d], len);
			else
				server_line(s, s->line[d], len);
		}
		s->len[d] = 0;
		s->skip[d] = false;
	}
}

void p25_smtp_gap(struct p25_smtp *s, bool from_client)
{
	int d = from_client ? 0 : 1;

	s->r.gaps++;
	if (from_client && s->data_mode) {
		/* Lost body bytes: the size is short, but the terminator is still found. */
		s->body = BODY_MIDLINE;
		return;
	}
	s->len[d] = 0;
	s->skip[d] = true;
}
