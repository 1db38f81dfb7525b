#include "util/conf.h"
#include "util/text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *p25_conf_path(void)
{
	const char *p = getenv("PORT25_CONFIG");

	return p && *p ? p : P25_CONFIG_PATH;
}

int p25_conf_get(const char *path, const char *key, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		char *k, *v, *eq;

		line[strcspn(line, "#")] = '\0';
		if (!(eq = strchr(line, '=')))
			continue;
		*eq = '\0';
		k = p25_text_trim(line);
		v = p25_text_trim(eq + 1);
		if (strcmp(k, key) != 0)
			continue;
		if (strlen(v) >= outlen) {
			snprintf(err, errlen, "%s: %s: value too long", path, key);
			found = -1;
			break;
		}
		strcpy(out, v);
		found = 1;
	}
	if (found >= 0 && ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		found = -1;
	}
	free(line);
	fclose(f);
	return found;
}

int p25_conf_registry_path(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *conf = p25_conf_path();
	int rc = p25_conf_get(conf, "registry", out, outlen, err, errlen);

	if (rc < 0)
		return -1;
	if (rc > 0 && !*out) {
		snprintf(err, errlen, "%s: registry: empty value", conf);
		return -1;
	}
	if (rc == 0) {
		if (strlen(P25_REGISTRY_PATH) >= outlen) {
			snprintf(err, errlen, "registry path too long");
			return -1;
		}
		strcpy(out, P25_REGISTRY_PATH);
	}
	return 0;
}
