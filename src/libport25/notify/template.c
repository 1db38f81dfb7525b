/*
 * The notices' templates: a small subset of Mustache, so that an operator
 * can edit them without learning a language, and every value is escaped for
 * where it lands (a text part, an HTML part, a header).  Organization names,
 * descriptions and notes are written by members: nothing a value holds can
 * end a header line, open an HTML tag, or be read as a placeholder (values
 * are never rendered again).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"

#define MAX_DEPTH 16

struct render {
	const char *t;
	size_t len;
	json_t *stack[MAX_DEPTH + 1];
	int depth;
	enum p25_escape esc;
	struct p25_buf *out;
	char *err;
	size_t errlen;
};

static size_t line_of(const struct render *r, size_t pos)
{
	size_t line = 1;
	for (size_t i = 0; i < pos && i < r->len; i++)
		if (r->t[i] == '\n')
			line++;
	return line;
}

static int fail(struct render *r, size_t pos, const char *what)
{
	snprintf(r->err, r->errlen, "line %zu: %s", line_of(r, pos), what);
	return -1;
}

/* A dotted name, innermost context first; "." is the current element. */
static json_t *lookup(const struct render *r, const char *name)
{
	if (!strcmp(name, "."))
		return r->stack[r->depth];
	for (int d = r->depth; d >= 0; d--) {
		json_t *v = r->stack[d];
		char part[128];
		const char *p = name;
		bool first = true;
		while (v && *p) {
			size_t n = strcspn(p, ".");
			if (n >= sizeof part)
				return NULL;
			memcpy(part, p, n);
			part[n] = '\0';
			v = json_is_object(v) ? json_object_get(v, part) : NULL;
			if (first && !v)
				break;
			first = false;
			p += n;
			if (*p == '.')
				p++;
		}
		if (v && !*p)
			return v;
		if (!first)
			return NULL; /* the head was found here: a missing tail is missing */
	}
	return NULL;
}

static bool truthy(json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_real(v))
		return json_real_value(v) != 0;
	return true;
}

static void put_escaped(struct render *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (r->esc == P25_ESC_HEADER) {
			/* One line, whatever the value holds: no header can be injected. */
			p25_buf_put(r->out, c < ' ' || c == 0x7f ? " " : (const char *)&s[i], 1);
			continue;
		}
		if ((c < ' ' && c != '\n' && c != '\t') || c == 0x7f)
			continue;
		if (r->esc == P25_ESC_HTML) {
			switch (c) {
			case '&': p25_buf_puts(r->out, "&amp;"); continue;
			case '<': p25_buf_puts(r->out, "&lt;"); continue;
			case '>': p25_buf_puts(r->out, "&gt;"); continue;
			case '"': p25_buf_puts(r->out, "&quot;"); continue;
			case '\'': p25_buf_puts(r->out, "&#39;"); continue;
			default: break;
			}
		}
		p25_buf_put(r->out, &s[i], 1);
	}
}

static void put_value(struct render *r, json_t *v)
{
	char num[64];

	if (!v || json_is_null(v))
		return;
	if (json_is_string(v)) {
		put_escaped(r, json_string_value(v), json_string_length(v));
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		p25_buf_puts(r->out, num);
	} else if (json_is_real(v)) {
		snprintf(num, sizeof num, "%g", json_real_value(v));
		p25_buf_puts(r->out, num);
	} else if (json_is_boolean(v)) {
		p25_buf_puts(r->out, json_is_true(v) ? "yes" : "no");
	} else if (json_is_array(v)) {
		/* A list written plainly: its values, comma-separated. */
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				p25_buf_puts(r->out, ", ");
			put_value(r, json_array_get(v, i));
		}
	}
}

/* A tag's name, trimmed, into name; -1 when it does not fit or holds odd characters. */
static int tag_name(const char *s, size_t n, char *name, size_t len)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= len)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return -1;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	return 0;
}

/*
 * Render t[pos..) until the end, or until {{/closing}} when closing is set;
 * emit false: parse only.  *end gets the position after what was consumed.
 */
static int render_span(struct render *r, size_t pos, const char *closing, bool emit, size_t *end)
{
	while (pos < r->len) {
		const char *open;
		size_t at, close, inner;
		char kind, name[128];

		open = NULL;
		for (size_t i = pos; i + 1 < r->len; i++) {
			if (r->t[i] == '\\' && i + 2 < r->len && r->t[i + 1] == '{' && r->t[i + 2] == '{') {
				if (emit)
					p25_buf_put(r->out, r->t + pos, i - pos);
				if (emit)
					p25_buf_puts(r->out, "{{");
				pos = i + 3;
				i = pos - 1;
				continue;
			}
			if (r->t[i] == '{' && r->t[i + 1] == '{') {
				open = r->t + i;
				break;
			}
		}
		if (!open) {
			if (emit)
				p25_buf_put(r->out, r->t + pos, r->len - pos);
			pos = r->len;
			break;
		}
		at = (size_t)(open - r->t);
		if (emit)
			p25_buf_put(r->out, r->t + pos, at - pos);
		close = at + 2;
		while (close + 1 < r->len && !(r->t[close] == '}' && r->t[close + 1] == '}'))
			close++;
		if (close + 1 >= r->len)
			return fail(r, at, "a {{ without its }}");
		inner = at + 2;
		kind = r->t[inner];
		if (kind == '!') {
			pos = close + 2;
			continue;
		}
		if (kind == '#' || kind == '^' || kind == '/')
			inner++;
		else
			kind = 0;
		if (tag_name(r->t + inner, close - inner, name, sizeof name) < 0)
			return fail(r, at, "a placeholder's name is letters, digits, _, - and . only");
		pos = close + 2;
		if (kind == '/') {
			if (!closing || strcmp(closing, name) != 0)
				return fail(r, at, closing ? "a section closed that is not the open one"
				                           : "a section closed that was never opened");
			*end = pos;
			return 0;
		}
		if (kind == 0) {
			if (emit)
				put_value(r, lookup(r, name));
			continue;
		}
		/* A section: parse it once to find its end, render it as the value says. */
		{
			json_t *v = emit ? lookup(r, name) : NULL;
			size_t after = 0;
			if (r->depth >= MAX_DEPTH)
				return fail(r, at, "sections nested too deep");
			if (render_span(r, pos, name, false, &after) < 0)
				return -1;
			if (emit && kind == '^' && !truthy(v)) {
				if (render_span(r, pos, name, true, &after) < 0)
					return -1;
			} else if (emit && kind == '#' && truthy(v)) {
				size_t n = json_is_array(v) ? json_array_size(v) : 1;
				for (size_t i = 0; i < n; i++) {
					json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
					r->stack[++r->depth] = item;
					int rc = render_span(r, pos, name, true, &after);
					r->depth--;
					if (rc < 0)
						return -1;
				}
			}
			pos = after;
		}
	}
	if (closing)
		return fail(r, r->len, "a section left open at the end");
	*end = pos;
	return 0;
}

int p25_template_render(const char *tmpl, size_t len, json_t *ctx, enum p25_escape esc,
                        struct p25_buf *out, char *err, size_t errlen)
{
	struct render r = {.t = tmpl, .len = len, .esc = esc, .out = out, .err = err,
	                   .errlen = errlen};
	size_t end;

	r.stack[0] = ctx;
	if (render_span(&r, 0, NULL, true, &end) < 0)
		return -1;
	if (out->oom) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
