#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void p25_buf_init(struct p25_buf *b)
{
	memset(b, 0, sizeof *b);
}

void p25_buf_free(struct p25_buf *b)
{
	free(b->data);
	p25_buf_init(b);
}

void p25_buf_reset(struct p25_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

static bool reserve(struct p25_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *p;

	if (b->oom)
		return false;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void p25_buf_put(struct p25_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void p25_buf_puts(struct p25_buf *b, const char *s)
{
	p25_buf_put(b, s, strlen(s));
}

void p25_buf_printf(struct p25_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *p25_buf_steal(struct p25_buf *b)
{
	char *p;

	if (!reserve(b, 0))
		return NULL;
	p = b->data;
	p25_buf_init(b);
	return p;
}
