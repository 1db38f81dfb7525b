/* Helpers shared by the configuration evaluators. */
#include "eval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void ev_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int ev_lines_split(const char *text, struct ev_lines *out)
{
	const char *p = text;

	memset(out, 0, sizeof *out);
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char **v = realloc(out->v, (out->n + 1) * sizeof *v);
		if (!v)
			return -1;
		out->v = v;
		out->v[out->n++] = strndup(p, len);
		p += len + (nl ? 1 : 0);
	}
	return 0;
}

void ev_lines_free(struct ev_lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof *l);
}

char *ev_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

size_t ev_tokens(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '"') {
			tok[n++] = ++p;
			while (*p && *p != '"')
				p++;
		} else {
			tok[n++] = p;
			while (*p && *p != ' ' && *p != '\t')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

bool ev_prefix(const char *s, bool allow_host, struct p25_prefix *out)
{
	struct p25_diag d;

	if (!strchr(s, '/') && !allow_host)
		return false;
	return p25_prefix_parse(s, 0, out, &d) == 0;
}

struct ev_set *ev_set_new(const char *name, int family)
{
	struct ev_set *s = calloc(1, sizeof *s);

	s->name = strdup(name);
	s->family = family;
	return s;
}

void ev_set_free(struct ev_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->val[i]);
	free(s->v);
	free(s->neg);
	free(s->val);
	free(s->name);
	free(s);
}

void ev_set_add(struct ev_set *s, const struct p25_prefix *p, bool neg, const char *val)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		s->neg = realloc(s->neg, s->cap * sizeof *s->neg);
		s->val = realloc(s->val, s->cap * sizeof *s->val);
	}
	s->v[s->n] = *p;
	s->neg[s->n] = neg;
	s->val[s->n] = val ? strdup(val) : NULL;
	s->n++;
}

ssize_t ev_set_find(const struct ev_set *s, const struct p25_addr *a)
{
	for (size_t i = 0; i < s->n; i++)
		if (p25_prefix_contains_addr(&s->v[i], a))
			return (ssize_t)i;
	return -1;
}

bool ev_set_longest_match(const struct ev_set *s, const struct p25_addr *a)
{
	ssize_t best = -1;

	for (size_t i = 0; i < s->n; i++)
		if (p25_prefix_contains_addr(&s->v[i], a) &&
		    (best < 0 || s->v[i].len > s->v[best].len))
			best = (ssize_t)i;
	return best >= 0 && !s->neg[best];
}
