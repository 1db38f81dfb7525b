/* enforce's part of port25.conf (util/conf.h): whether enforcement is live. */
#include <stdio.h>
#include <string.h>

#include "enforce/enforce.h"
#include "util/conf.h"

static int set_entry(void *ctx, const struct p25_conf_entry *e, char *msg, size_t msglen)
{
	/* [enforce] enabled, or the flat key of configurations before sections. */
	if (strcmp(e->key, *e->section ? "enabled" : "enforce") != 0)
		return 0;
	if (p25_conf_bool(e->value, ctx) < 0) {
		snprintf(msg, msglen, "%s: bad value '%s': want yes or no", e->key, e->value);
		return -1;
	}
	return 1;
}

int p25_enforce_conf_live(const char *path, bool *on, char *err, size_t errlen)
{
	*on = false;
	return p25_conf_read(path, false, "enforce", P25_CONF_TOP_QUIET, set_entry, on, err, errlen,
	                     NULL, 0) < 0
	           ? -1
	           : 0;
}
