#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int p25_array_reserve(void *array, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap ? *cap : 8;
	void *v;

	if (want <= *cap)
		return 0;
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if (size && ncap > SIZE_MAX / size)
		return -1;
	/* array is a T **: its pointer is read and written as the void * it converts to. */
	memcpy(&v, array, sizeof v);
	if (!(v = realloc(v, ncap * size)))
		return -1;
	memcpy(array, &v, sizeof v);
	*cap = ncap;
	return 0;
}
