/*
 * The lines to remove and to add that turn one text into another (for a
 * router change ticket: compile --diff), as few as a shortest edit script
 * finds (Myers' O(ND) algorithm).  When the texts differ in very many lines
 * the script's cost grows with the square of the differences; past a bound
 * the lines are matched as multisets instead (every line of the old text
 * missing from the new is removed, every new one added), which is what a
 * device's list of entries needs anyway.
 */
#ifndef P25_LINEDIFF_H
#define P25_LINEDIFF_H

#include <stdbool.h>
#include <stddef.h>

struct p25_line {
	const char *s; /* not NUL-terminated */
	size_t n;
};

/* The lines of text, without their line ends; *lines malloc'd. 0, or -1 out of memory. */
int p25_lines_split(const char *text, struct p25_line **lines, size_t *n);

/*
 * Calls fn for each line to remove ('-', a line of a) and to add ('+', a
 * line of b), in the order of the texts; index is the line's in its text.
 * Returns the number of lines reported, or -1 when out of memory.
 */
typedef void (*p25_diff_fn)(void *ctx, char op, const struct p25_line *line, size_t index);
long p25_line_diff(const struct p25_line *a, size_t na, const struct p25_line *b, size_t nb,
		   p25_diff_fn fn, void *ctx);

#endif
