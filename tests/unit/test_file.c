/*
 * The writer of generated files (atomic over regular files, in place over
 * anything else) and the configuration lookup of the registry path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/conf.h"
#include "util/file.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/p25-file-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
	static char p[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* No temporary may be left beside the destination. */
static void assert_no_temp(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".tmp"))
			fail_msg("temporary %s left behind", e->d_name);
	closedir(d);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_new_and_regular(void **state)
{
	char err[256];
	struct stat a, b;
	const char *p = path_of("out.conf");

	assert_int_equal(p25_write_file(p, "one\n", 4, err, sizeof err), 0);
	assert_string_equal(slurp(p), "one\n");
	assert_int_equal(stat(p, &a), 0);
	assert_int_equal(a.st_mode & 07777, 0644);
	/* An existing file is replaced (a new inode: readers never see it half-written) and keeps its mode. */
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(p25_write_file(p, "two\n", 4, err, sizeof err), 0);
	assert_string_equal(slurp(p), "two\n");
	assert_int_equal(stat(p, &b), 0);
	assert_true(S_ISREG(b.st_mode));
	assert_int_not_equal(a.st_ino, b.st_ino);
	assert_int_equal(b.st_mode & 07777, 0600);
	assert_no_temp();
}

static void test_symlink_followed(void **state)
{
	char err[256];
	struct stat st;
	const char *target = path_of("real.conf"), *link = path_of("link.conf");

	put(target, "old\n");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(p25_write_file(link, "new text\n", 9, err, sizeof err), 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_string_equal(slurp(target), "new text\n");
	assert_no_temp();
}

static void test_fifo_in_place(void **state)
{
	char err[256], buf[64];
	struct stat st;
	const char *p = path_of("fifo");
	int rd;
	ssize_t n;

	assert_int_equal(mkfifo(p, 0600), 0);
	/* A reader first, so opening for writing does not wait. */
	rd = open(p, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(p25_write_file(p, "through\n", 8, err, sizeof err), 0);
	n = read(rd, buf, sizeof buf - 1);
	assert_int_equal(n, 8);
	buf[n] = '\0';
	assert_string_equal(buf, "through\n");
	close(rd);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_no_temp();
}

/* Parts opened together and not published leave the old files as they were. */
static void test_discard_keeps_old(void **state)
{
	struct p25_outfile a, b;
	char err[256];
	const char *pa = path_of("a"), *pb = path_of("b");

	put(pa, "old a\n");
	assert_int_equal(p25_outfile_open(&a, pa, err, sizeof err), 0);
	assert_int_equal(p25_outfile_open(&b, pb, err, sizeof err), 0);
	fputs("new a\n", a.f);
	fputs("new b\n", b.f);
	assert_int_equal(p25_outfile_close(&a, err, sizeof err), 0);
	p25_outfile_discard(&a);
	p25_outfile_discard(&b);
	assert_string_equal(slurp(pa), "old a\n");
	assert_int_equal(access(pb, F_OK), -1);
	assert_no_temp();
}

static void test_errors_name_the_path(void **state)
{
	char err[256];
	const char *missing = path_of("no/such/dir/file");

	assert_int_equal(p25_write_file(dir, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, dir));
	assert_int_equal(p25_write_file(missing, "x", 1, err, sizeof err), -1);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(p25_write_file("", "x", 1, err, sizeof err), -1);
	assert_no_temp();
}

static void test_registry_path(void **state)
{
	char out[256], err[512];
	const char *conf = path_of("port25.conf");

	setenv("PORT25_CONFIG", conf, 1);
	assert_string_equal(p25_conf_path(), conf);
	/* No file: the one default, whoever runs the command and wherever. */
	assert_int_equal(p25_conf_registry_path(out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "/var/lib/port25/port25.db");
	/* Keys of other commands, comments and lines watch would refuse are passed over. */
	put(conf, "# registry = /commented/out.db\nnflog-group = 25\nnonsense line\n"
		  "  registry   =  /srv/port25/reg.db   # moved\nenforce = yes\n");
	assert_int_equal(p25_conf_registry_path(out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "/srv/port25/reg.db");
	assert_int_equal(p25_conf_get(conf, "enforce", out, sizeof out, err, sizeof err), 1);
	assert_string_equal(out, "yes");
	assert_int_equal(p25_conf_get(conf, "syslog-file", out, sizeof out, err, sizeof err), 0);
	/* The file names no registry: the default again. */
	put(conf, "nflog-group = 25\n");
	assert_int_equal(p25_conf_registry_path(out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "/var/lib/port25/port25.db");
	/* An empty value, a value too long, an unreadable file: errors naming the file. */
	put(conf, "registry =\n");
	assert_int_equal(p25_conf_registry_path(out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, conf));
	put(conf, "registry = /a/very/long/path/indeed\n");
	assert_int_equal(p25_conf_get(conf, "registry", out, 8, err, sizeof err), -1);
	assert_non_null(strstr(err, "too long"));
	setenv("PORT25_CONFIG", dir, 1); /* a directory: fopen works, reading does not */
	assert_int_equal(p25_conf_registry_path(out, sizeof out, err, sizeof err), -1);
	assert_non_null(strstr(err, dir));
	unsetenv("PORT25_CONFIG");
	assert_string_equal(p25_conf_path(), "/etc/port25/port25.conf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_and_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard_keeps_old, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_name_the_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_path, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
