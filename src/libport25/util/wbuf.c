#include "util/wbuf.h"

#include <stdlib.h>

struct p25_wbuf *p25_wbuf_open(FILE *f)
{
	struct p25_wbuf *w = malloc(sizeof *w);

	if (!w)
		return NULL;
	w->f = f;
	w->len = 0;
	w->err = false;
	return w;
}

void p25_wbuf_flush(struct p25_wbuf *w)
{
	if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len)
		w->err = true;
	w->len = 0;
}

int p25_wbuf_close(struct p25_wbuf *w)
{
	int rc;

	p25_wbuf_flush(w);
	rc = w->err || ferror(w->f) ? -1 : 0;
	free(w);
	return rc;
}

void p25_wbuf_spill(struct p25_wbuf *w, const char *p, size_t n)
{
	p25_wbuf_flush(w);
	if (n > sizeof w->buf) {
		if (fwrite(p, 1, n, w->f) != n)
			w->err = true;
		return;
	}
	memcpy(w->buf, p, n);
	w->len = n;
}

void p25_wbuf_json_str(struct p25_wbuf *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	p25_wbuf_raw(w, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		p25_wbuf_raw(w, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"':
			p25_wbuf_raw(w, "\\\"", 2);
			break;
		case '\\':
			p25_wbuf_raw(w, "\\\\", 2);
			break;
		case '\n':
			p25_wbuf_raw(w, "\\n", 2);
			break;
		case '\r':
			p25_wbuf_raw(w, "\\r", 2);
			break;
		case '\t':
			p25_wbuf_raw(w, "\\t", 2);
			break;
		default: {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			p25_wbuf_raw(w, e, 6);
		}
		}
	}
	p25_wbuf_raw(w, s + run, n - run);
	p25_wbuf_raw(w, "\"", 1);
}

void p25_wbuf_csv(struct p25_wbuf *w, const char *s, char sep)
{
	if (strpbrk(s, ",\"\n\r")) {
		p25_wbuf_raw(w, "\"", 1);
		for (const char *q; (q = strchr(s, '"')); s = q + 1) {
			p25_wbuf_raw(w, s, (size_t)(q - s) + 1);
			p25_wbuf_raw(w, "\"", 1);
		}
		p25_wbuf_lit(w, s);
		p25_wbuf_raw(w, "\"", 1);
	} else {
		p25_wbuf_lit(w, s);
	}
	p25_wbuf_raw(w, &sep, 1);
}
