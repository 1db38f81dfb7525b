/*
 * The gateway's configuration file, /etc/port25/port25.conf, and the one
 * reader of it (and of files of the same form, as analyze's --config):
 *
 *     # a comment
 *     registry = /var/lib/port25/port25.db     # top-level keys first
 *     [watch]
 *     nflog-group = 25
 *     syslog-file = "/var/log/routers/acl.log"  # quotes keep '#' and spaces
 *
 * A section per component (P25_CONF_SECTIONS); an unknown section, a line
 * that is not "key = value", a key set twice in one section, or, in a
 * component's section, a key it does not know is an error naming the file
 * and the line.  The top level is the default section: keys shared by
 * every command (registry, and enforce), and each component's keys as
 * written before sections existed ("flat" keys), which are read as if they
 * were in its section.
 */
#ifndef P25_CONF_H
#define P25_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define P25_CONFIG_PATH	  "/etc/port25/port25.conf"
/* The registry when neither --db, $PORT25_DB nor the configuration names one. */
#define P25_REGISTRY_PATH "/var/lib/port25/port25.db"

/* The sections a file may have, one per component that reads it (as conf.c knows them). */
#define P25_CONF_SECTIONS "watch, enforce, serve, notify, analyze"

/* $PORT25_CONFIG when set (tests, a second instance), else P25_CONFIG_PATH. */
const char *p25_conf_path(void);

/* One "key = value" line: its section ("" at the top level), key, value (unquoted). */
struct p25_conf_entry {
	const char *section, *key, *value;
	unsigned line;
};

struct p25_conf {
	char *path;
	struct p25_conf_entry *v;
	size_t n;
	char *text; /* the file, which the entries point into */
};

/*
 * Read and check the whole file.  A missing file is an empty configuration
 * unless required.  Returns 0, or -1 with "PATH:LINE: what is wrong" (or
 * "PATH: reason") in err, c then holding the entries before that line; the
 * caller frees c with p25_conf_free either way.
 */
int p25_conf_load(const char *path, bool required, struct p25_conf *c, char *err,
                  size_t errlen);
void p25_conf_free(struct p25_conf *c);

/*
 * A component's keys: called with each entry of its section and of the top
 * level.  Returns 1 when the key is the component's (and set), 0 when it is
 * not, -1 when its value is bad, with msg saying what is wrong (the caller
 * adds where).
 */
typedef int (*p25_conf_set_fn)(void *ctx, const struct p25_conf_entry *e, char *msg,
                               size_t msglen);

/* A top-level key no component knows: an error (a file of one component's), or a warning. */
enum p25_conf_top {
	P25_CONF_TOP_STRICT, /* the whole file is the component's (analyze --config) */
	P25_CONF_TOP_WARN,   /* port25.conf, by a daemon that reports what it ignores (watch) */
	P25_CONF_TOP_QUIET,  /* port25.conf, by a command that reads one key of it */
};

/*
 * Hand section's entries and the top level's to set.  Entries of other
 * sections are their components' and are left alone.  Returns 0, 1 when
 * loaded with a warning left in warn (first unknown top-level key), or -1
 * with "PATH:LINE: ..." in err.
 */
int p25_conf_apply(const struct p25_conf *c, const char *section, enum p25_conf_top top,
                   p25_conf_set_fn set, void *ctx, char *err, size_t errlen, char *warn,
                   size_t warnlen);

/*
 * Both: load the file at path and apply section.  As the file is read top
 * down, the settings before a bad line are applied and the first problem in
 * the file is the one reported.
 */
int p25_conf_read(const char *path, bool required, const char *section, enum p25_conf_top top,
                  p25_conf_set_fn set, void *ctx, char *err, size_t errlen, char *warn,
                  size_t warnlen);

/*
 * The section whose component owns a top-level key by its prefix ("serve-"
 * is serve's, "notify-" and "verify-" the mail loop's), or NULL when no
 * prefix claims it.
 */
const char *p25_conf_flat_owner(const char *key);

/* "yes", "true", "on", "1" or "no", "false", "off", "0" (any case): 0, else -1. */
int p25_conf_bool(const char *v, bool *out);

/*
 * The value of a top-level key in the file at path (trimmed, unquoted).
 * Returns 1 and copies the value, 0 when the file or the key is absent, -1
 * with "PATH: reason" in err when the file cannot be read or the value does
 * not fit.  A lookup, not a check: lines it cannot read are left to the
 * component that reads the whole file to refuse.
 */
int p25_conf_get(const char *path, const char *key, char *out, size_t outlen, char *err,
		 size_t errlen);

/*
 * The registry a command uses when no --db or $PORT25_DB names one: the
 * `registry` key of the configuration file, else P25_REGISTRY_PATH.  One
 * default for everyone (root or not, whatever the working directory), so a
 * command an operator types works on the registry the systemd units load.
 * Returns 0, or -1 with the reason in err (an unreadable configuration,
 * an empty value).
 */
int p25_conf_registry_path(char *out, size_t outlen, char *err, size_t errlen);

#endif
