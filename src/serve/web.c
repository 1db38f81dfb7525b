/*
 * port25 serve's static side (web.h): the embedded files, and the
 * application page for the portal's addresses.  Which organization's data a
 * page shows is decided by the API when the page asks for it, never here.
 */
#include <string.h>

#include "web.h"

/* The first segments of the application's addresses (web/app.js's routes). */
static const char *const pages[] = {
    "login", "dashboard", "signup", "requests", "variance", "explain", "contacts", "analysis",
    "queue", "orgs", "alerts", "audit", "accounts", NULL,
};

static const struct p25_web_file *find(const char *path, size_t n)
{
	for (const struct p25_web_file *f = p25_web_files; f->path; f++)
		if (strlen(f->path) == n && !memcmp(f->path, path, n))
			return f;
	return NULL;
}

static int is_page(const char *path, size_t n)
{
	size_t seg;

	if (n == 1)
		return 1; /* "/" */
	seg = strcspn(path + 1, "/");
	if (seg > n - 1)
		seg = n - 1;
	for (size_t i = 0; pages[i]; i++)
		if (strlen(pages[i]) == seg && !memcmp(pages[i], path + 1, seg))
			return 1;
	return 0;
}

void p25_web_answer(const char *method, const char *target, struct p25_web_answer *out)
{
	size_t n = strcspn(target, "?#");
	const struct p25_web_file *f;

	memset(out, 0, sizeof *out);
	out->file = find("/index.html", strlen("/index.html"));
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		out->status = 405;
		out->allow = "GET, HEAD";
		out->file = NULL;
		return;
	}
	if (target[0] != '/') {
		out->status = 404;
		return;
	}
	/* The pages' own files (not index.html itself: the app's pages have addresses). */
	if ((f = find(target, n)) && strcmp(f->path, "/index.html") != 0) {
		out->file = f;
		out->status = 200;
		return;
	}
	out->status = is_page(target, n) ? 200 : 404;
}
