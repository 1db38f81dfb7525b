#include "util/text.h"

#include <ctype.h>
#include <string.h>

static int inert(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr(" .,:;_+=@()/-", c) != NULL);
}

char *p25_text_inert(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	if (outlen == 0)
		return out;
	for (; in && *in && n + 1 < outlen; in++)
		out[n++] = inert((unsigned char)*in) ? *in : '_';
	/* "/" next to "*" never occurs, since "*" is not kept, so no comment can close. */
	out[n] = '\0';
	return out;
}

char *p25_text_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int p25_text_is_handle(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 32 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}
