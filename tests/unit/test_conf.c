/*
 * The one reader of port25.conf (util/conf.h): sections, the top level as
 * the default section, unknown sections and keys refused with the file and
 * the line, a key set twice, quoting and comments; and its readers: watch
 * (which no longer warns about enforce = yes), enforce and analyze.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyze/analyze.h"
#include "api/api.h"
#include "enforce/enforce.h"
#include "notify/notify.h"
#include "util/conf.h"
#include "watch/watch.h"

static char path[32];

static int setup(void **state)
{
	int fd;

	(void)state;
	snprintf(path, sizeof path, "/tmp/p25-conf-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void put(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static bool contains(const char *haystack, const char *needle)
{
	if (strstr(haystack, needle))
		return true;
	print_error("'%s' not found in '%s'\n", needle, haystack);
	return false;
}

/* "path:line: rest" */
static bool at_line(const char *err, unsigned line, const char *rest)
{
	char want[256];

	snprintf(want, sizeof want, "%s:%u: %s", path, line, rest);
	return contains(err, want);
}

/* A component with keys "alpha" and "beta" (beta must be a number); it records what it got. */
struct seen {
	char text[512];
};

static int set_test(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	struct seen *s = ctx;
	size_t n = strlen(s->text);

	if (strcmp(e->key, "alpha") != 0 && strcmp(e->key, "beta") != 0)
		return 0;
	if (!strcmp(e->key, "beta") && strspn(e->value, "0123456789") != strlen(e->value)) {
		snprintf(msg, msglen, "beta: bad value '%s'", e->value);
		return -1;
	}
	snprintf(s->text + n, sizeof s->text - n, "%s%s=%s@%u", n ? " " : "", e->key, e->value,
	         e->line);
	return 1;
}

static int apply(const char *text, const char *section, enum p25_conf_top top, struct seen *s,
                 char *err, size_t errlen, char *warn, size_t warnlen)
{
	put(text);
	memset(s, 0, sizeof *s);
	err[0] = '\0';
	return p25_conf_read(path, true, section, top, set_test, s, err, errlen, warn, warnlen);
}

static void test_sections(void **state)
{
	struct seen s;
	char err[512], warn[512];
	struct p25_conf c;

	(void)state;
	/* Top level (the default section), ours, and others' sections left alone. */
	assert_int_equal(apply("# gateway\n"
	                       "registry = /srv/p25.db\n"
	                       "alpha = top   # flat, as before sections\n"
	                       "\n"
	                       "[watch]\n"
	                       "alpha = theirs\n"
	                       "gamma = 1\n"
	                       "  [ analyze ]  # ours\n"
	                       "beta = 42\n",
	                       "analyze", P25_CONF_TOP_STRICT, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 0);
	assert_string_equal(s.text, "alpha=top@3 beta=42@9");
	/* The entries as loaded: section, key, value, line. */
	assert_int_equal(p25_conf_load(path, true, &c, err, sizeof err), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.v[0].section, "");
	assert_string_equal(c.v[0].key, "registry");
	assert_string_equal(c.v[2].section, "watch");
	assert_string_equal(c.v[4].section, "analyze");
	assert_int_equal(c.v[4].line, 9);
	p25_conf_free(&c);

	/* An unknown section, an unknown key in ours: errors with the file and the line. */
	assert_int_equal(apply("alpha = 1\n[wacth]\nalpha = 2\n", "watch", P25_CONF_TOP_STRICT, &s,
	                       err, sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 2, "unknown section [wacth]"));
	assert_true(contains(err, "watch, enforce, serve, notify, analyze"));
	assert_int_equal(apply("[watch]\nalpha = 1\ngamma = 2\n", "watch", P25_CONF_TOP_WARN, &s, err,
	                       sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 3, "unknown setting 'gamma' in [watch]"));
	/* A bad value: the component's words, with where. */
	assert_int_equal(apply("\n\nbeta = x\n", "watch", P25_CONF_TOP_WARN, &s, err, sizeof err,
	                       warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 3, "beta: bad value 'x'"));
	/* Not "key = value", not "[section]". */
	assert_int_equal(apply("alpha 1\n", "watch", P25_CONF_TOP_WARN, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "expected key = value"));
	assert_int_equal(apply("[watch\n", "watch", P25_CONF_TOP_WARN, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "expected [section]"));
	assert_int_equal(apply("al pha = 1\n", "watch", P25_CONF_TOP_WARN, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "expected key = value"));
}

static void test_top_level(void **state)
{
	struct seen s;
	char err[512], warn[512];
	const char *text = "registry = /srv/p25.db\nenforce = yes\nalpha = 1\nfrobs = 2\nzap = 3\n";

	(void)state;
	/* A file of the component's own: an unknown key is an error. */
	assert_int_equal(apply(text, "analyze", P25_CONF_TOP_STRICT, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 -1);
	assert_true(at_line(err, 4, "unknown setting 'frobs'"));
	/* port25.conf read by a daemon: the first unknown key is a warning; shared keys never are. */
	assert_int_equal(apply(text, "watch", P25_CONF_TOP_WARN, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 1);
	assert_true(at_line(warn, 4, "setting 'frobs' is not watch's, ignored"));
	assert_string_equal(s.text, "alpha=1@3");
	/* ... by a command reading its one key: nothing said. */
	assert_int_equal(apply(text, "enforce", P25_CONF_TOP_QUIET, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 0);
	assert_string_equal(warn, "");
}

static void test_duplicates(void **state)
{
	struct seen s;
	char err[512], warn[512];

	(void)state;
	assert_int_equal(apply("alpha = 1\n[watch]\nalpha = 2\n[analyze]\nalpha = 3\n", "analyze",
	                       P25_CONF_TOP_STRICT, &s, err, sizeof err, warn, sizeof warn),
	                 0);
	assert_string_equal(s.text, "alpha=1@1 alpha=3@5");
	assert_int_equal(apply("alpha = 1\n# again\nalpha = 2\n", "analyze", P25_CONF_TOP_STRICT,
	                       &s, err, sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 3, "'alpha' is set twice (first on line 1)"));
	assert_int_equal(apply("[watch]\nalpha = 1\n[analyze]\n[watch]\nalpha = 2\n", "analyze",
	                       P25_CONF_TOP_STRICT, &s, err, sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 5, "'alpha' is set twice in [watch] (first on line 2)"));
}

static void test_quoting_and_comments(void **state)
{
	struct seen s;
	char err[512], warn[512], out[128];

	(void)state;
	assert_int_equal(apply("alpha = \"a # not a comment \"  # a comment\n"
	                       "beta = 7#comment\n"
	                       "   # indented comment\n"
	                       "[analyze]  # a section with a comment\n"
	                       "alpha = \"say \\\"hi\\\" \\\\ there\"\n",
	                       "analyze", P25_CONF_TOP_STRICT, &s, err, sizeof err, warn,
	                       sizeof warn),
	                 0);
	assert_string_equal(s.text, "alpha=a # not a comment @1 beta=7@2 alpha=say \"hi\" \\ there@5");
	assert_int_equal(apply("alpha = \"open\n", "analyze", P25_CONF_TOP_STRICT, &s, err,
	                       sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "a quoted value is never closed"));
	assert_int_equal(apply("alpha = \"a\" b\n", "analyze", P25_CONF_TOP_STRICT, &s, err,
	                       sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "text after the closing quote"));
	/* Read top down: what comes before a bad line is applied, the first problem reported. */
	assert_int_equal(apply("alpha = 1\nbeta = 2\nbeta 3\n", "analyze", P25_CONF_TOP_STRICT, &s,
	                       err, sizeof err, warn, sizeof warn),
	                 -1);
	assert_string_equal(s.text, "alpha=1@1 beta=2@2");
	assert_true(at_line(err, 3, "expected key = value"));
	assert_int_equal(apply("beta = x\nbeta 3\n", "analyze", P25_CONF_TOP_STRICT, &s, err,
	                       sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(at_line(err, 1, "beta: bad value 'x'"));

	/* The lookup reads the top level only, unquoted, and passes over what it cannot read. */
	put("registry = \"/srv/with # hash.db\"\nnonsense\n[watch]\nsyslog-file = /x\n");
	assert_int_equal(p25_conf_get(path, "registry", out, sizeof out, err, sizeof err), 1);
	assert_string_equal(out, "/srv/with # hash.db");
	assert_int_equal(p25_conf_get(path, "syslog-file", out, sizeof out, err, sizeof err), 0);

	/* A missing file: empty unless required. */
	unlink(path);
	memset(&s, 0, sizeof s);
	assert_int_equal(p25_conf_read(path, false, "watch", P25_CONF_TOP_WARN, set_test, &s, err,
	                               sizeof err, warn, sizeof warn),
	                 0);
	assert_int_equal(p25_conf_read(path, true, "watch", P25_CONF_TOP_WARN, set_test, &s, err,
	                               sizeof err, warn, sizeof warn),
	                 -1);
	assert_true(contains(err, "No such file"));
}

static void test_components(void **state)
{
	struct p25_watch_config w;
	struct p25_an_config a;
	char err[512];
	bool on = true;

	(void)state;
	/* enforce = yes is enforce's: watch no longer calls it "not watch's". */
	put("registry = /srv/p25.db\nenforce = yes\nnflog-group = 26\n");
	p25_watch_config_default(&w);
	assert_int_equal(p25_watch_config_load(&w, path, true, err, sizeof err), 0);
	assert_string_equal(err, "");
	assert_int_equal(w.nflog_group, 26);
	assert_int_equal(p25_enforce_conf_live(path, &on, err, sizeof err), 0);
	assert_true(on);

	/* Sections: each component reads its own; the flat form and the section agree. */
	put("registry = /srv/p25.db\n"
	    "[watch]\nflush-interval = 2m\nsyslog-file = \"/var/log/acl log\"\n"
	    "[enforce]\nenabled = no\n"
	    "[analyze]\nfanout_min = 12\n"
	    "[serve]\n[notify]\n");
	p25_watch_config_default(&w);
	assert_int_equal(p25_watch_config_load(&w, path, true, err, sizeof err), 0);
	assert_string_equal(w.registry, "/srv/p25.db");
	assert_int_equal(w.flush_interval, 120);
	assert_string_equal(w.syslog_file, "/var/log/acl log");
	assert_int_equal(p25_enforce_conf_live(path, &on, err, sizeof err), 0);
	assert_false(on);
	p25_an_config_default(&a);
	assert_int_equal(p25_an_config_load(&a, path, err, sizeof err), 0);
	assert_int_equal(a.fanout_min, 12);

	/* In a section, a key the component does not know is an error naming the line. */
	put("[watch]\nflush-interval = 2m\nenforce-table = port25\n");
	p25_watch_config_default(&w);
	assert_int_equal(p25_watch_config_load(&w, path, true, err, sizeof err), -1);
	assert_true(at_line(err, 3, "unknown setting 'enforce-table' in [watch]"));
	put("[enforce]\nenabled = maybe\n");
	assert_int_equal(p25_enforce_conf_live(path, &on, err, sizeof err), -1);
	assert_true(at_line(err, 2, "enabled: bad value 'maybe'"));
	put("[enforce]\nenforce = yes\n");
	assert_int_equal(p25_enforce_conf_live(path, &on, err, sizeof err), -1);
	assert_true(at_line(err, 2, "unknown setting 'enforce' in [enforce]"));
	put("[analyze]\nfanout_min = 12\nbogus = 1\n");
	assert_int_equal(p25_an_config_load(&a, path, err, sizeof err), -1);
	assert_true(at_line(err, 3, "unknown setting 'bogus' in [analyze]"));
	/* No file: enforcement off, nothing wrong. */
	unlink(path);
	assert_int_equal(p25_enforce_conf_live(path, &on, err, sizeof err), 0);
	assert_false(on);
}

/*
 * The mail loop reads [notify] (keys with or without "notify-") and its flat
 * keys; watch passes the mail loop's and serve's flat keys by instead of
 * calling them "not watch's", and still warns of a real stray key.
 */
static void test_notify_section(void **state)
{
	struct p25_notify_config n;
	struct p25_watch_config w;
	char err[512];

	(void)state;
	put("registry = /srv/p25.db\nnotify-from = noc@example.net\nverify-within = 3d\n"
	    "serve-listen = 127.0.0.1:8025\nportal-url = https://p.example\n"
	    "[notify]\nrelay = smtp://[2001:db8::25]:2525\ntls = none\nenabled = no\n"
	    "operator-name = Example State Network\n");
	p25_notify_config_default(&n);
	assert_int_equal(p25_notify_config_load(&n, path, err, sizeof err), 0);
	assert_string_equal(n.relay, "smtp://[2001:db8::25]:2525");
	assert_string_equal(n.tls, "none");
	assert_false(n.enabled);
	assert_string_equal(n.from, "noc@example.net");
	assert_string_equal(n.operator_name, "Example State Network");
	assert_int_equal(n.verify_within, 3 * 86400);
	assert_string_equal(n.portal_url, "https://p.example");
	p25_watch_config_default(&w);
	assert_int_equal(p25_watch_config_load(&w, path, true, err, sizeof err), 0);
	assert_string_equal(err, "");

	/* A typo in [notify] is an error naming its line; a bad value names the key. */
	put("[notify]\nrelay = smtp://127.0.0.1\nrelai = smtp://127.0.0.1\n");
	p25_notify_config_default(&n);
	assert_int_equal(p25_notify_config_load(&n, path, err, sizeof err), -1);
	assert_true(at_line(err, 3, "unknown setting 'relai' in [notify]"));
	put("notify-relai = smtp://127.0.0.1\n");
	assert_int_equal(p25_notify_config_load(&n, path, err, sizeof err), -1);
	assert_true(at_line(err, 1, "unknown setting 'notify-relai'"));
	put("notify-lease = soon\n");
	assert_int_equal(p25_notify_config_load(&n, path, err, sizeof err), -1);
	assert_true(at_line(err, 1, "notify-lease: 'soon'"));

	/* A stray top-level key is still a warning for watch, and no business of notify's. */
	put("notify-from = noc@example.net\nflush-intervall = 2\n");
	p25_watch_config_default(&w);
	assert_int_equal(p25_watch_config_load(&w, path, true, err, sizeof err), 1);
	assert_true(at_line(err, 2, "setting 'flush-intervall' is not watch's"));
	p25_notify_config_default(&n);
	assert_int_equal(p25_notify_config_load(&n, path, err, sizeof err), 0);
}

/* serve reads [serve] (keys with or without "serve-") and its flat keys; a serve- typo is an error. */
static void test_serve_section(void **state)
{
	struct p25_serve_config c;
	char err[512];

	(void)state;
	put("serve-threads = 3\nnotify-from = noc@example.net\nnflog-group = 25\n"
	    "[serve]\nlisten = [::1]:8025\nserve-max-body = 64k\n[watch]\nflush-interval = 2\n");
	p25_serve_config_default(&c);
	assert_int_equal(p25_serve_config_load(&c, path, err, sizeof err), 0);
	assert_int_equal(c.threads, 3);
	assert_string_equal(c.listen, "[::1]:8025");
	assert_int_equal(c.api.max_body, 64 * 1024);

	put("serve-threds = 3\n");
	assert_int_equal(p25_serve_config_load(&c, path, err, sizeof err), -1);
	assert_true(at_line(err, 1, "unknown setting 'serve-threds'"));
	put("[serve]\nthreads = 2\nbogus = 1\n");
	assert_int_equal(p25_serve_config_load(&c, path, err, sizeof err), -1);
	assert_true(at_line(err, 3, "unknown setting 'bogus' in [serve]"));
	put("[serve]\nthreads = many\n");
	assert_int_equal(p25_serve_config_load(&c, path, err, sizeof err), -1);
	assert_true(at_line(err, 2, "serve-threads: 'many'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_level, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_quoting_and_comments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_components, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_section, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_serve_section, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
