/*
 * The portal's pages (web/ in the repository), compiled into port25 by
 * scripts/embed-web.sh, and how port25 serve answers a target outside /api/.
 * The pages are static: they hold no registry data and call the API for all
 * of it, so the API's authorization is the only one there is.
 */
#ifndef P25_SERVE_WEB_H
#define P25_SERVE_WEB_H

#include <stddef.h>

struct p25_web_file {
	const char *path; /* "/app.js": its path under web/ */
	const char *type; /* its media type */
	const unsigned char *start, *end;
};
extern const struct p25_web_file p25_web_files[];

/* The Content-Security-Policy of the pages: scripts and styles of this origin only, no inline script. */
#define P25_WEB_CSP                                                                              \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "     \
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

struct p25_web_answer {
	int status;                 /* 200, 404 (the app's own "not found" page), 405 */
	const struct p25_web_file *file;
	const char *allow;          /* for 405 */
};

/*
 * The answer to method and target (path and query as sent): a file, or the
 * application page (index.html) for a page's address (200) and for any
 * other address (404: the page then says "not found").
 */
void p25_web_answer(const char *method, const char *target, struct p25_web_answer *out);

#endif
