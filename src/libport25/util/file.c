#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(struct p25_outfile *o, const char *path, int e, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s", path, strerror(e));
	p25_outfile_discard(o);
	return -1;
}

int p25_outfile_open(struct p25_outfile *o, const char *path, char *err, size_t errlen)
{
	struct stat st;
	mode_t mode = 0644;
	bool exists = false;
	int fd;

	memset(o, 0, sizeof *o);
	if (!path || !*path) {
		snprintf(err, errlen, "no output file named");
		return -1;
	}
	if (!(o->path = strdup(path)))
		return fail(o, path, ENOMEM, err, errlen);
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		return 0;
	}
	if (lstat(path, &st) == 0)
		exists = true;
	else if (errno != ENOENT)
		return fail(o, path, errno, err, errlen);
	if (exists && !S_ISREG(st.st_mode)) {
		/*
		 * Renaming over a device node, a FIFO or a symbolic link would replace
		 * it with a regular file (-o /dev/null once did, for the whole system).
		 */
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0644);
		if (fd < 0)
			return fail(o, path, errno, err, errlen);
	} else {
		if (exists)
			mode = st.st_mode & 07777; /* a replaced file keeps its permissions */
		if (asprintf(&o->tmp, "%s.tmpXXXXXX", path) < 0) {
			o->tmp = NULL;
			return fail(o, path, ENOMEM, err, errlen);
		}
		fd = mkostemp(o->tmp, O_CLOEXEC);
		if (fd < 0) {
			free(o->tmp);
			o->tmp = NULL;
			return fail(o, path, errno, err, errlen);
		}
		if (fchmod(fd, mode) < 0) {
			int e = errno;
			close(fd);
			return fail(o, path, e, err, errlen);
		}
	}
	if (!(o->f = fdopen(fd, "w"))) {
		int e = errno;
		close(fd);
		return fail(o, path, e, err, errlen);
	}
	return 0;
}

int p25_outfile_close(struct p25_outfile *o, char *err, size_t errlen)
{
	int e = 0;

	if (o->closed || !o->f)
		return 0;
	if (fflush(o->f) != 0 || ferror(o->f))
		e = errno ? errno : EIO;
	/* Only a temporary is synced: it is about to become the file. */
	if (!e && o->tmp && fsync(fileno(o->f)) < 0)
		e = errno;
	if (o->f != stdout && fclose(o->f) != 0 && !e)
		e = errno ? errno : EIO;
	o->f = NULL;
	o->closed = true;
	if (e) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(e));
		return -1;
	}
	return 0;
}

int p25_outfile_publish(struct p25_outfile *o, char *err, size_t errlen)
{
	if (!o->closed && p25_outfile_close(o, err, errlen) < 0)
		return -1;
	if (!o->tmp)
		return 0;
	if (rename(o->tmp, o->path) < 0) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

void p25_outfile_discard(struct p25_outfile *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	if (o->tmp) {
		unlink(o->tmp);
		free(o->tmp);
	}
	free(o->path);
	memset(o, 0, sizeof *o);
}

int p25_write_file(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct p25_outfile o;

	if (p25_outfile_open(&o, path, err, errlen) < 0)
		return -1;
	if (len && fwrite(text, 1, len, o.f) != len) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
		p25_outfile_discard(&o);
		return -1;
	}
	if (p25_outfile_close(&o, err, errlen) < 0 || p25_outfile_publish(&o, err, errlen) < 0) {
		p25_outfile_discard(&o);
		return -1;
	}
	p25_outfile_discard(&o);
	return 0;
}

int p25_file_read(const char *path, size_t max, char **text, size_t *len, char *err,
		  size_t errlen)
{
	size_t cap = 65536, n = 0, got;
	char *buf = NULL;
	struct stat st;
	FILE *f;

	*text = NULL;
	*len = 0;
	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a file", path);
		fclose(f);
		return -1;
	}
	for (;;) {
		char *b = n + 1 >= cap || !buf ? realloc(buf, cap *= 2) : buf;
		if (!b) {
			snprintf(err, errlen, "%s: out of memory", path);
			goto fail2;
		}
		buf = b;
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > max) {
			snprintf(err, errlen, "%s: larger than %zu MiB", path, max >> 20);
			free(buf);
			fclose(f);
			return -1;
		}
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto fail2;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
fail2:
	free(buf);
	fclose(f);
	return -2;
}
