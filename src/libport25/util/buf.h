/* A growable text buffer for generated configurations and reports. */
#ifndef P25_BUF_H
#define P25_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct p25_buf {
	char *data;
	size_t len;
	size_t cap;
	bool oom; /* an allocation failed; the content is incomplete */
};

void p25_buf_init(struct p25_buf *b);
void p25_buf_free(struct p25_buf *b);
void p25_buf_reset(struct p25_buf *b);
void p25_buf_put(struct p25_buf *b, const char *s, size_t n);
void p25_buf_puts(struct p25_buf *b, const char *s);
void p25_buf_printf(struct p25_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the NUL-terminated text to the caller; the buffer is left empty. */
char *p25_buf_steal(struct p25_buf *b);

#endif
