/* Inside the verify module: shared between the checks and the SMTP client. */
#ifndef P25_VERIFY_PRIV_H
#define P25_VERIFY_PRIV_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "verify.h"

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
/* The loaded library, or NULL when it could not be loaded (p25_verify_init says why). */
const struct p25_curl_api *p25_curl_api(void);

double p25_verify_ms_since(const struct timespec *t0);
void p25_verify_sockaddr(const struct p25_addr *a, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len);
/* Send the test message from src (NULL: any) through mx; fills r->smtp and r->message_id. */
void p25_verify_smtp(const struct p25_addr *src, const struct p25_verify_mx *mx,
                     const struct p25_verify_opts *o, struct p25_verify_result *r);

#endif
