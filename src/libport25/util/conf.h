/*
 * The gateway's configuration file, /etc/port25/port25.conf: "key = value"
 * lines, '#' comments.  Every command reads the keys it needs from it (watch
 * its own, with a full reader in watch/config.c); this is the lookup of one
 * key, for the registry path that every command shares.
 */
#ifndef P25_CONF_H
#define P25_CONF_H

#include <stddef.h>

#define P25_CONFIG_PATH	  "/etc/port25/port25.conf"
/* The registry when neither --db, $PORT25_DB nor the configuration names one. */
#define P25_REGISTRY_PATH "/var/lib/port25/port25.db"

/* $PORT25_CONFIG when set (tests, a second instance), else P25_CONFIG_PATH. */
const char *p25_conf_path(void);

/*
 * The value of key in the file at path (the last line that sets it, trimmed).
 * Returns 1 and copies the value, 0 when the file or the key is absent, -1
 * with "PATH: reason" in err when the file cannot be read or the value does
 * not fit.  Lines that are not "key = value" are left to the reader of the
 * whole file to refuse.
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
