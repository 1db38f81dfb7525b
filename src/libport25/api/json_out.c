/*
 * JSON text of the API's answers.  jansson's own writer goes through a
 * callback a few bytes at a time; a member's listing of 50 permits (11 KB)
 * cost it a quarter of the request.  This one copies runs of plain characters
 * whole and escapes the rest as RFC 8259 asks (jansson's strings are valid
 * UTF-8 already): compact, in the objects' insertion order.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "util/buf.h"

static void put_string(struct p25_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
	size_t run = 0;

	p25_buf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[6];
		size_t elen = 2;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		p25_buf_put(b, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 15];
			elen = 6;
			break;
		}
		p25_buf_put(b, esc, elen);
	}
	p25_buf_put(b, s + run, n - run);
	p25_buf_put(b, "\"", 1);
}

static void put_value(struct p25_buf *b, json_t *v, int depth)
{
	char num[40];
	const char *key;
	json_t *x;
	size_t i;
	bool first = true;

	/* The API builds its answers; a cycle or a depth like this is a bug, not input. */
	if (depth > 64) {
		b->oom = true;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		p25_buf_put(b, "{", 1);
		json_object_foreach(v, key, x) {
			if (!first)
				p25_buf_put(b, ",", 1);
			first = false;
			put_string(b, key, strlen(key));
			p25_buf_put(b, ":", 1);
			put_value(b, x, depth + 1);
		}
		p25_buf_put(b, "}", 1);
		break;
	case JSON_ARRAY:
		p25_buf_put(b, "[", 1);
		json_array_foreach(v, i, x) {
			if (i)
				p25_buf_put(b, ",", 1);
			put_value(b, x, depth + 1);
		}
		p25_buf_put(b, "]", 1);
		break;
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		p25_buf_put(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		break;
	case JSON_REAL: {
		int n = snprintf(num, sizeof num, "%.17g", json_real_value(v));
		p25_buf_put(b, num, (size_t)n);
		if (!strpbrk(num, ".eE"))
			p25_buf_put(b, ".0", 2);
		break;
	}
	case JSON_TRUE: p25_buf_put(b, "true", 4); break;
	case JSON_FALSE: p25_buf_put(b, "false", 5); break;
	case JSON_NULL: p25_buf_put(b, "null", 4); break;
	}
}

char *api_json_text(json_t *v, size_t *len)
{
	struct p25_buf b;
	char *out;

	p25_buf_init(&b);
	put_value(&b, v, 0);
	if (b.oom) {
		p25_buf_free(&b);
		return NULL;
	}
	*len = b.len;
	out = p25_buf_steal(&b);
	return out;
}
