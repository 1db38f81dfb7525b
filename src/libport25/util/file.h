/*
 * Writing generated files (configurations, reports, import files) to a path
 * an operator names, without harming what the path already is.
 *
 * A regular file, or a path that does not exist yet, is replaced atomically:
 * the text goes to a temporary file beside it, flushed to disk, and is renamed
 * over it only when published, so a reader (nft -f, a router's loader) never
 * sees half a file and a failure leaves the old one.  Anything else the path
 * names is written in place, as a shell's ">" would: a symbolic link is
 * followed (the link stays, its target gets the text), a device node or a
 * FIFO is opened and written, never replaced by a regular file.  "-" is
 * standard output.
 */
#ifndef P25_FILE_H
#define P25_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct p25_outfile {
	FILE *f;     /* write the text here */
	char *path;  /* the destination, as given */
	char *tmp;   /* the temporary renamed over path; NULL when written in place */
	bool closed; /* f closed (flushed and synced); publish may follow */
};

/* Returns 0, or -1 with "PATH: reason" in err (nothing is left behind). */
int p25_outfile_open(struct p25_outfile *o, const char *path, char *err, size_t errlen);
/* Flush, sync and close the stream; -1 with "PATH: reason" in err on any write error. */
int p25_outfile_close(struct p25_outfile *o, char *err, size_t errlen);
/* Put a closed file in place (the rename); a no-op for a file written in place. */
int p25_outfile_publish(struct p25_outfile *o, char *err, size_t errlen);
/* Release everything; a temporary not yet published is removed. */
void p25_outfile_discard(struct p25_outfile *o);

/* The whole sequence for one text: open, write, close, publish. */
int p25_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen);

/*
 * Reading an input file whole (at most max bytes, NUL-terminated; *text
 * malloc'd).  0; -1 when it cannot be opened (missing, not readable, a
 * directory: bad input, the caller's to say so) or is larger than max; -2
 * when reading failed (a system error).  err says "PATH: reason".
 */
int p25_file_read(const char *path, size_t max, char **text, size_t *len, char *err,
		  size_t errlen);

#endif
