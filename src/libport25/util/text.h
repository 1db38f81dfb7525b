/* Free text that ends up inside generated configurations. */
#ifndef P25_TEXT_H
#define P25_TEXT_H

#include <stddef.h>

/*
 * Copy in to out keeping only characters that are inert inside a comment of
 * every target (letters, digits, space and . , : ; _ + = @ ( ) / -).
 * Everything else, newlines and quotes and comment terminators included,
 * becomes '_'.  Truncates to outlen-1 bytes.  Returns out.
 */
char *p25_text_inert(const char *in, char *out, size_t outlen);

/* s without the white space at either end: the start moves, the end is cut.  Returns the start. */
char *p25_text_trim(char *s);

/* True when s is a valid handle: 1..32 of [a-z0-9-], starting with a letter or digit. */
int p25_text_is_handle(const char *s);

#endif
