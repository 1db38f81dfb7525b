/*
 * An enum's text names: one table of strings, indexed by the value, and the
 * two functions every such enum has, name and parse, defined from it by
 * P25_NAMES, so that no enum writes its own lookup.
 */
#ifndef P25_NAMES_H
#define P25_NAMES_H

#include <stddef.h>

/* names[v], or "?" for a value past the table. */
const char *p25_name_of(const char *const *names, size_t n, unsigned v);
/* The index of s in names, or -1 (s NULL included). */
int p25_name_index(const char *const *names, size_t n, const char *s);

/*
 * const char *NAME_FN(TYPE v) and int PARSE_FN(const char *s, TYPE *out)
 * (0, or -1 leaving *out alone) over the array NAMES.
 */
#define P25_NAMES(TYPE, NAME_FN, PARSE_FN, NAMES)                                                  \
	const char *NAME_FN(TYPE v)                                                                \
	{                                                                                          \
		return p25_name_of(NAMES, sizeof(NAMES) / sizeof(NAMES)[0], (unsigned)v);          \
	}                                                                                          \
	int PARSE_FN(const char *s, TYPE *out)                                                     \
	{                                                                                          \
		int i = p25_name_index(NAMES, sizeof(NAMES) / sizeof(NAMES)[0], s);                \
		if (i < 0)                                                                         \
			return -1;                                                                 \
		*out = (TYPE)i;                                                                    \
		return 0;                                                                          \
	}

#endif
