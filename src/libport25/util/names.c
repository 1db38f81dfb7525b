#include "util/names.h"

#include <string.h>

const char *p25_name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : "?";
}

int p25_name_index(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}
