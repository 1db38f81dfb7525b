/* libmicrohttpd bound at run time (mhd.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

#include "mhd.h"

static struct p25_mhd mhd;
static pthread_once_t mhd_once = PTHREAD_ONCE_INIT;
static char mhd_error[256];
static bool mhd_ok;

static void load(void)
{
	void *h = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
	const char *miss = NULL;

	if (!h) {
		snprintf(mhd_error, sizeof mhd_error,
		         "cannot load libmicrohttpd (%s): install the libmicrohttpd12 package",
		         dlerror());
		return;
	}
#define BIND(field, symbol)                                                                        \
	do {                                                                                       \
		*(void **)&mhd.field = dlsym(h, symbol);                                           \
		if (!mhd.field && !miss)                                                           \
			miss = symbol;                                                             \
	} while (0)
	BIND(start_daemon, "MHD_start_daemon");
	BIND(stop_daemon, "MHD_stop_daemon");
	BIND(get_daemon_info, "MHD_get_daemon_info");
	BIND(get_connection_info, "MHD_get_connection_info");
	BIND(get_connection_values, "MHD_get_connection_values");
	BIND(lookup_connection_value, "MHD_lookup_connection_value");
	BIND(create_response_from_buffer, "MHD_create_response_from_buffer");
	BIND(add_response_header, "MHD_add_response_header");
	BIND(queue_response, "MHD_queue_response");
	BIND(destroy_response, "MHD_destroy_response");
	BIND(is_feature_supported, "MHD_is_feature_supported");
#undef BIND
	if (miss) {
		snprintf(mhd_error, sizeof mhd_error, "libmicrohttpd lacks %s: too old", miss);
		memset(&mhd, 0, sizeof mhd);
		dlclose(h);
		return;
	}
	mhd_ok = true;
}

const struct p25_mhd *p25_mhd_load(char *err, size_t errlen)
{
	pthread_once(&mhd_once, load);
	if (!mhd_ok) {
		snprintf(err, errlen, "%s", mhd_error);
		return NULL;
	}
	return &mhd;
}
