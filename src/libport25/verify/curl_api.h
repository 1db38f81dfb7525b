/*
 * libcurl, bound at run time (curl_api.c): verify's test messages and the
 * notices' sender share the one loader, so no command pays for libcurl's
 * libraries until it sends mail.
 */
#ifndef P25_CURL_API_H
#define P25_CURL_API_H

#include <stdbool.h>

#include <curl/curl.h>

/* libcurl's entry points, bound at run time (curl_api.c). */
struct p25_curl_api {
	bool loaded;
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *curl);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
};
/* A message handed to libcurl's CURLOPT_READFUNCTION (p25_curl_upload_read, with it as READDATA). */
struct p25_curl_upload {
	const char *data;
	size_t len, off;
};
size_t p25_curl_upload_read(char *buf, size_t size, size_t nitems, void *upload);

/* The loaded library, or NULL when it could not be loaded (p25_verify_init says why). */
const struct p25_curl_api *p25_curl_api(void);
/* Why libcurl could not be loaded ("" when it was). */
const char *p25_curl_error(void);

#endif
