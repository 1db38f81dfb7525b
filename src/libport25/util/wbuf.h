/*
 * A buffered writer to a stdio stream for reports of many rows: bytes,
 * numbers, JSON strings and CSV fields go into a 64 KiB buffer and out in
 * large writes.  fprintf() per field cost a microsecond a row, and a jansson
 * tree of every row tens (allocations, then one dump of the whole document).
 * A write error is remembered and reported once, by p25_wbuf_close().
 */
#ifndef P25_WBUF_H
#define P25_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct p25_wbuf {
	FILE *f;
	size_t len;
	bool err;
	char buf[1 << 16];
};

/* A writer to f (malloc'd: the buffer is large); NULL when out of memory. */
struct p25_wbuf *p25_wbuf_open(FILE *f);
/* Flush and free; -1 when a write failed (or the stream is in error), else 0. */
int p25_wbuf_close(struct p25_wbuf *w);
void p25_wbuf_flush(struct p25_wbuf *w);
/* Past the buffer: flush, then write n bytes (straight through when larger than it). */
void p25_wbuf_spill(struct p25_wbuf *w, const char *p, size_t n);

/* Inline: a report writes a few bytes at a time, hundreds of times a row. */
static inline void p25_wbuf_raw(struct p25_wbuf *w, const char *p, size_t n)
{
	/* Written so that no sum can wrap, and the copy below is seen to fit. */
	if (n > sizeof w->buf || w->len > sizeof w->buf - n) {
		p25_wbuf_spill(w, p, n);
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static inline void p25_wbuf_lit(struct p25_wbuf *w, const char *s)
{
	p25_wbuf_raw(w, s, strlen(s));
}

static inline void p25_wbuf_u64(struct p25_wbuf *w, uint64_t v)
{
	char t[24];
	int i = sizeof t;

	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	p25_wbuf_raw(w, t + i, sizeof t - (size_t)i);
}

static inline void p25_wbuf_int(struct p25_wbuf *w, int64_t v)
{
	if (v < 0) {
		p25_wbuf_raw(w, "-", 1);
		p25_wbuf_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		p25_wbuf_u64(w, (uint64_t)v);
	}
}

/* s[0..n) as a JSON string, quotes included; control bytes as \uXXXX. */
void p25_wbuf_json_str(struct p25_wbuf *w, const char *s, size_t n);
/* s as a CSV field (RFC 4180: quoted when it holds a comma, quote or line end), then sep. */
void p25_wbuf_csv(struct p25_wbuf *w, const char *s, char sep);

#endif
