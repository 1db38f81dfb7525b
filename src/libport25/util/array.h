/*
 * Growing an array one element at a time: the capacity doubles (from 8), so
 * appending n elements costs O(n) copies and log n allocations.
 */
#ifndef P25_ARRAY_H
#define P25_ARRAY_H

#include <stddef.h>

/*
 * Make room for at least want elements of size bytes in *array (array is
 * the address of the pointer: struct x **), whose capacity is *cap.
 * Returns 0, or -1 when out of memory with *array and *cap as they were.
 */
int p25_array_reserve(void *array, size_t *cap, size_t want, size_t size);

/* Room for one more element after the n in use: P25_ARRAY_GROW(v, n, cap) == 0. */
#define P25_ARRAY_GROW(v, n, cap) p25_array_reserve(&(v), &(cap), (n) + 1, sizeof *(v))

#endif
