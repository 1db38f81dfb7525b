/*
 * The global options (--db, --actor, --enforce, --no-enforce) are accepted
 * after the command as well as before it: `port25 permit add ... --enforce`
 * works as the README writes it.  Each command's option table is extended
 * with the global ones it does not define itself (a command's own option of
 * the same name wins: audit --actor is a filter), and getopt_long sees one
 * table, so a global option's value is never taken for another's.
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

enum { GLOBAL_DB = 0x10000, GLOBAL_ACTOR, GLOBAL_ENFORCE, GLOBAL_NO_ENFORCE };

static const struct option globals[] = {
	{"db", required_argument, NULL, GLOBAL_DB},
	{"actor", required_argument, NULL, GLOBAL_ACTOR},
	{"enforce", no_argument, NULL, GLOBAL_ENFORCE},
	{"no-enforce", no_argument, NULL, GLOBAL_NO_ENFORCE},
};
#define NGLOBALS (sizeof globals / sizeof globals[0])
#define MAX_OPTIONS 64

int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
	       const struct option *opts)
{
	struct option merged[MAX_OPTIONS + NGLOBALS + 1];
	size_t n = 0;
	int c;

	for (; opts && opts[n].name && n < MAX_OPTIONS; n++)
		merged[n] = opts[n];
	for (size_t g = 0; g < NGLOBALS; g++) {
		size_t k;
		for (k = 0; k < n && strcmp(merged[k].name, globals[g].name) != 0; k++)
			;
		if (k == n)
			merged[n++] = globals[g];
	}
	memset(&merged[n], 0, sizeof merged[n]);
	for (;;) {
		c = getopt_long(argc, argv, shortopts, merged, NULL);
		switch (c) {
		case GLOBAL_DB:
			cli->db_path = optarg;
			cli->db_explicit = true;
			cli->db_error = NULL;
			continue;
		case GLOBAL_ACTOR:
			cli->actor = optarg;
			continue;
		case GLOBAL_ENFORCE:
			cli->enforce = 1;
			continue;
		case GLOBAL_NO_ENFORCE:
			cli->enforce = -1;
			continue;
		default:
			return c;
		}
	}
}
