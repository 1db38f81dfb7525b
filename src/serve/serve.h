/*
 * port25 serve: the HTTP front end of the API (libport25/api/api.h) on
 * libmicrohttpd's internal epoll thread pool.  It parses no request itself:
 * each complete request goes to p25_api_handle on the thread's own registry
 * connection.  It never touches the kernel's rules: `enforce sync --wait`
 * follows the registry's changes.
 */
#ifndef P25_SERVE_H
#define P25_SERVE_H

#include <stddef.h>
#include <stdio.h>

#include "api/api.h"

/*
 * Serve until SIGTERM or SIGINT; 0 after a clean stop, or -1 with err
 * (the registry, the TLS files, the listening address).  Logs its start
 * ("listening on http://ADDRESS:PORT", the port bound when 0 was asked),
 * its stop, and with access_log one line a request, to log.
 */
int p25_serve_run(const struct p25_serve_config *cfg, const char *db_path, FILE *log, char *err,
                  size_t errlen);

#endif
