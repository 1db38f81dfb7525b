/*
 * The test message over SMTP, through libcurl: MAIL FROM, RCPT TO, DATA,
 * from the checked server's own address (CURLOPT_INTERFACE "host!ADDR"
 * binds the source without naming an interface).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "verify_priv.h"

void p25_verify_smtp(const struct p25_addr *src, const struct p25_verify_mx *mx,
                     const struct p25_verify_opts *o, struct p25_verify_result *r)
{
	struct p25_check *c = &r->smtp;
	char url[320], iface[P25_ADDR_STRLEN + 8], a[P25_ADDR_STRLEN], host[256];
	char from[320], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *rcpt = NULL;
	struct p25_curl_upload up = {0};
	struct timespec t0;
	long code = 0;
	char *msg = NULL;
	CURL *curl = NULL;
	CURLcode rc;
	const struct p25_curl_api *api = p25_curl_api();

	c->status = P25_CHECK_FAIL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (p25_verify_new_id(r->message_id, sizeof r->message_id) < 0) {
		snprintf(c->detail, sizeof c->detail, "no randomness for a message id");
		r->message_id[0] = '\0';
		return;
	}
	if (!api) {
		char err[256];
		p25_verify_init(err, sizeof err);
		snprintf(c->detail, sizeof c->detail, "%s", err);
		r->message_id[0] = '\0';
		return;
	}
	msg = p25_verify_message(r->message_id, o->mail_from, o->rcpt, src, time(NULL));
	curl = api->easy_init();
	if (!msg || !curl) {
		snprintf(c->detail, sizeof c->detail, "out of memory");
		goto out;
	}
	if (o->helo && *o->helo)
		snprintf(host, sizeof host, "%s", o->helo);
	else if (gethostname(host, sizeof host) < 0 || !*host)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	p25_addr_format(&mx->addr, a, sizeof a);
	/* The URL path is the EHLO name. */
	snprintf(url, sizeof url,
	         mx->addr.family == P25_INET6 ? "smtp://[%s]:%u/%s" : "smtp://%s:%u/%s", a,
	         mx->port, host);
	snprintf(from, sizeof from, "<%s>", o->mail_from);
	rcpt = api->slist_append(NULL, o->rcpt);
	up.data = msg;
	up.len = strlen(msg);
	api->easy_setopt(curl, CURLOPT_URL, url);
	api->easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	api->easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	api->easy_setopt(curl, CURLOPT_READFUNCTION, p25_curl_upload_read);
	api->easy_setopt(curl, CURLOPT_READDATA, &up);
	api->easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	api->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	api->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	api->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)o->timeout_ms);
	/* Connect, greeting, envelope and data: a few round trips at most. */
	api->easy_setopt(curl, CURLOPT_TIMEOUT_MS, 3L * o->timeout_ms);
	if (src) {
		snprintf(iface, sizeof iface, "host!%s", p25_addr_format(src, a, sizeof a));
		api->easy_setopt(curl, CURLOPT_INTERFACE, iface);
	}
	rc = api->easy_perform(curl);
	c->ms = p25_verify_ms_since(&t0);
	api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		c->status = P25_CHECK_PASS;
		snprintf(c->detail, sizeof c->detail,
		         "%ld accepted in %.1f ms, Message-ID <%s@port25.invalid>", code, c->ms,
		         r->message_id);
		goto out;
	}
	/* libcurl's own buffer is the more specific message when it has one. */
	snprintf(c->detail, sizeof c->detail, "%s%.180s (SMTP %ld) after %.1f ms",
	         rc == CURLE_INTERFACE_FAILED ? "cannot send from this address (not local here?): "
	                                      : "",
	         *errbuf ? errbuf : api->easy_strerror(rc), code, c->ms);
	/* Nothing was delivered: no id to look for at the receiver. */
	r->message_id[0] = '\0';
out:
	api->slist_free_all(rcpt);
	if (curl)
		api->easy_cleanup(curl);
	free(msg);
}
