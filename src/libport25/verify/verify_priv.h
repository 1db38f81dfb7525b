/* Inside the verify module: shared between the checks and the SMTP client. */
#ifndef P25_VERIFY_PRIV_H
#define P25_VERIFY_PRIV_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "verify.h"

#include "verify/curl_api.h"

double p25_verify_ms_since(const struct timespec *t0);
void p25_verify_sockaddr(const struct p25_addr *a, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len);
/* Send the test message from src (NULL: any) through mx; fills r->smtp and r->message_id. */
void p25_verify_smtp(const struct p25_addr *src, const struct p25_verify_mx *mx,
                     const struct p25_verify_opts *o, struct p25_verify_result *r);

#endif
