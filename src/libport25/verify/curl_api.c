/*
 * libcurl, loaded when a check first needs it.
 *
 * libcurl brings some thirty shared libraries (TLS, HTTP/2, LDAP, SSH ...)
 * whose loading and relocation cost every port25 process about 6 ms, while
 * only `verify` sends mail.  Binding its few entry points at run time keeps
 * that cost out of the commands that run per registry change or per capture.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "verify_priv.h"

/* The process's one binding of libcurl, filled once by load_curl(). */
static struct p25_curl_api curl_singleton;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_load_error[256];

/* Debian's libcurl4 first, then the GnuTLS build of the same ABI. */
static const char *const curl_sonames[] = {"libcurl.so.4", "libcurl-gnutls.so.4"};

static void load_curl(void)
{
	void *h = NULL;
	const char *miss = NULL;

	for (size_t i = 0; !h && i < sizeof curl_sonames / sizeof *curl_sonames; i++)
		h = dlopen(curl_sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(curl_load_error, sizeof curl_load_error,
		         "cannot load libcurl (%s): install the libcurl4 package", dlerror());
		return;
	}
#define BIND(field, symbol)                                                                        \
	do {                                                                                       \
		*(void **)&curl_singleton.field = dlsym(h, symbol);                                \
		if (!curl_singleton.field && !miss)                                                \
			miss = symbol;                                                             \
	} while (0)
	BIND(global_init, "curl_global_init");
	BIND(global_cleanup, "curl_global_cleanup");
	BIND(easy_init, "curl_easy_init");
	BIND(easy_setopt, "curl_easy_setopt");
	BIND(easy_perform, "curl_easy_perform");
	BIND(easy_getinfo, "curl_easy_getinfo");
	BIND(easy_strerror, "curl_easy_strerror");
	BIND(easy_cleanup, "curl_easy_cleanup");
	BIND(slist_append, "curl_slist_append");
	BIND(slist_free_all, "curl_slist_free_all");
#undef BIND
	if (miss) {
		snprintf(curl_load_error, sizeof curl_load_error, "libcurl lacks %s: too old",
		         miss);
		memset(&curl_singleton, 0, sizeof curl_singleton);
		dlclose(h);
		return;
	}
	if (curl_singleton.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_load_error, sizeof curl_load_error, "libcurl failed to initialize");
		return;
	}
	curl_singleton.loaded = true;
	/* The library stays loaded for the life of the process. */
}

const struct p25_curl_api *p25_curl_api(void)
{
	pthread_once(&curl_once, load_curl);
	return curl_singleton.loaded ? &curl_singleton : NULL;
}

int p25_verify_init(char *err, size_t errlen)
{
	if (p25_curl_api())
		return 0;
	snprintf(err, errlen, "%s", curl_load_error);
	return -1;
}

const char *p25_curl_error(void)
{
	pthread_once(&curl_once, load_curl);
	return curl_load_error;
}

size_t p25_curl_upload_read(char *buf, size_t size, size_t nitems, void *upload)
{
	struct p25_curl_upload *u = upload;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}
