/*
 * Live enforcement from the registry commands: when enforcement is on
 * (--enforce, PORT25_ENFORCE=1, or `enforce = yes` in the configuration
 * file), a command that changed the registry sends its own change to the
 * kernel right after its transaction committed.
 *
 * What changed is read from the audit log: every registry change writes
 * there, with the object before and after, in the same transaction.  The
 * entries after the high-water mark taken when the registry was opened are
 * this command's (or a concurrent one's, which is as real and as welcome);
 * they are read holding the enforcers' lock, so nobody sends a later change
 * before this one.  A permit added, changed or removed becomes a targeted
 * update of the permit sets toward what of its prefix is permitted now,
 * diffed against what is loaded (no compile, no read-back: the cache, which
 * is trusted only while it is the kernel's state); anything else that can
 * change the loaded policy (an org's enrollment, mode or action, its address
 * space, an import) becomes a sync, which diffs against the loaded state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "enforce/enforce.h"

#define DEFAULT_CONFIG "/etc/port25/port25.conf"
#define AUDIT_WINDOW   512 /* entries one command may write before we just sync */

static bool truthy(const char *v)
{
	return v && (!strcasecmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	             !strcasecmp(v, "on"));
}

/* `enforce = yes` in the configuration file (the one watch reads too). */
static bool config_enforce(void)
{
	const char *path = getenv("PORT25_CONFIG");
	char line[512];
	bool on = false;
	FILE *f;

	if (!(f = fopen(path && *path ? path : DEFAULT_CONFIG, "r")))
		return false;
	while (fgets(line, sizeof line, f)) {
		char key[64], val[64];
		line[strcspn(line, "#")] = '\0';
		if (sscanf(line, " %63[a-z-] = %63s", key, val) == 2 && !strcmp(key, "enforce"))
			on = truthy(val);
	}
	fclose(f);
	return on;
}

const char *cli_state_dir(void)
{
	const char *d = getenv("PORT25_RUN_DIR");

	return d && *d ? d : "/run/port25";
}

static bool enforce_enabled(struct cli *cli)
{
	const char *env = getenv("PORT25_ENFORCE");

	if (cli->enforce)
		return cli->enforce > 0;
	if (env && *env)
		cli->enforce = truthy(env) ? 1 : -1;
	else
		cli->enforce = config_enforce() ? 1 : -1;
	return cli->enforce > 0;
}

int cli_enforce_mark(struct cli *cli)
{
	json_t *rows;

	if (!enforce_enabled(cli) || cli->audit_marked)
		return EXIT_OK;
	if (p25_audit_list(cli->reg, 1, &rows) < 0)
		return cli_registry_fail(cli, -1);
	cli->audit_mark = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
	cli->audit_marked = true;
	json_decref(rows);
	return EXIT_OK;
}

/* In force now: the audit's copy of a permit exists and has not expired. */
static bool permit_in_force(json_t *p, p25_time now)
{
	const char *exp;
	p25_time t;
	char err[80];

	if (!json_is_object(p))
		return false;
	exp = json_string_value(json_object_get(p, "expires"));
	if (!exp || !*exp)
		return true;
	return p25_time_parse(exp, &t, err, sizeof err) < 0 || now < t;
}

/*
 * Every change owns its org and its cover (one allocation each): v grows by
 * realloc, so nothing may point into it, not even a change at its own prefix.
 */
struct changes {
	struct p25_enforce_change *v;
	size_t n, cap;
	bool sync; /* something beyond permits changed */
};

static void changes_free(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free((char *)c->v[i].org);
		free((void *)c->v[i].cover);
	}
	free(c->v);
}

static bool same_field(json_t *a, json_t *b, const char *k)
{
	return json_equal(json_object_get(a, k), json_object_get(b, k));
}

/* The org's permits still valid now that overlap p (one org's permits may nest). */
static int still_covering(struct cli *cli, const char *org, const struct p25_prefix *p,
                          struct p25_prefix **out, size_t *n)
{
	json_t *rows, *row;
	size_t i;

	*out = NULL;
	*n = 0;
	struct p25_permit_filter f = {.org = org, .now = cli->now};
	if (p25_permit_list(cli->reg, &f, &rows) < 0)
		return -1;
	*out = calloc(json_array_size(rows) + 1, sizeof **out);
	if (!*out) {
		json_decref(rows);
		return -1;
	}
	json_array_foreach(rows, i, row)
	{
		struct p25_prefix q;
		struct p25_diag diag;
		const char *a = json_string_value(json_object_get(row, "address"));
		if (!a || p25_prefix_parse(a, 0, &q, &diag) < 0 || !permit_in_force(row, cli->now))
			continue;
		if (q.family == p->family &&
		    (p25_prefix_contains(&q, p) || p25_prefix_contains(p, &q)))
			(*out)[(*n)++] = q;
	}
	json_decref(rows);
	return 0;
}

/*
 * A permit changed: what of its prefix is permitted now becomes the target,
 * whatever the registry says was in force before.  The kernel may hold more
 * (an expired variance no sync has removed yet) or less; the update diffs
 * against what is loaded, so a change that alters nothing sends nothing.
 */
static int permit_change(struct cli *cli, json_t *before, json_t *after, struct changes *c)
{
	bool is = permit_in_force(after, cli->now);
	json_t *p = json_is_object(after) ? after : before;
	const char *org = json_string_value(json_object_get(p, "org"));
	const char *addr = json_string_value(json_object_get(p, "address"));
	struct p25_enforce_change *ch;
	struct p25_diag diag;

	if (json_is_object(before) && json_is_object(after) &&
	    !same_field(before, after, "address")) {
		c->sync = true; /* a permit moved: both prefixes change */
		return 0;
	}
	if (!org || !addr) {
		c->sync = true;
		return 0;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct p25_enforce_change *v = realloc(c->v, cap * sizeof *v);
		if (!v)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	ch = &c->v[c->n];
	memset(ch, 0, sizeof *ch);
	if (p25_prefix_parse(addr, 0, &ch->prefix, &diag) < 0) {
		c->sync = true;
		return 0;
	}
	if (!(ch->org = strdup(org)))
		return -1;
	c->n++;
	struct p25_prefix *cov;
	if (is) {
		if (!(cov = malloc(sizeof *cov)))
			return -1;
		*cov = ch->prefix;
		ch->ncover = 1;
	} else if (still_covering(cli, org, &ch->prefix, &cov, &ch->ncover) < 0) {
		return -1;
	}
	ch->cover = cov;
	return 0;
}

/* What the audit entries after the mark ask of the kernel. */
static int collect(struct cli *cli, struct changes *c)
{
	json_t *rows, *e;
	size_t i;

	/* A command writes one or a few entries: ask for few, more only if needed. */
	for (int limit = 8;; limit *= 8) {
		if (p25_audit_list(cli->reg, limit, &rows) < 0)
			return -1;
		json_int_t oldest = json_integer_value(
		    json_object_get(json_array_get(rows, json_array_size(rows) - 1), "id"));
		if (json_array_size(rows) < (size_t)limit || oldest <= cli->audit_mark + 1 ||
		    limit >= AUDIT_WINDOW)
			break;
		json_decref(rows);
	}
	/* newest first: walk backwards so changes apply in the order they were made */
	for (i = json_array_size(rows); i-- > 0;) {
		e = json_array_get(rows, i);
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		const char *act = json_string_value(json_object_get(e, "action"));
		json_t *b = json_object_get(e, "before"), *a = json_object_get(e, "after");
		if (id <= cli->audit_mark || !act)
			continue;
		if (i + 1 == json_array_size(rows) && i + 1 >= AUDIT_WINDOW &&
		    id > cli->audit_mark + 1)
			c->sync = true; /* more than the window: entries were left out */
		if (!strncmp(act, "permit.", 7)) {
			if (permit_change(cli, b, a, c) < 0) {
				json_decref(rows);
				return -1;
			}
		} else if (!strcmp(act, "org.set")) {
			if (!same_field(b, a, "enrollment") || !same_field(b, a, "mode") ||
			    !same_field(b, a, "action"))
				c->sync = true;
		} else if (strncmp(act, "contact.", 8) && strncmp(act, "request.", 8) &&
		           strcmp(act, "org.add")) {
			c->sync = true; /* prefixes, org removal, imports: the whole policy */
		}
	}
	json_decref(rows);
	return 0;
}

static double ms_between(const struct timespec *t0, const struct timespec *t)
{
	return (double)(t->tv_sec - t0->tv_sec) * 1e3 + (double)(t->tv_nsec - t0->tv_nsec) / 1e6;
}

static int full_sync(struct cli *cli, const struct p25_enforce_opts *o, const char *why)
{
	struct p25_enforce_result r;
	struct p25_model m;
	char err[512];
	int rc;

	p25_model_init(&m);
	if ((rc = p25_registry_load_model(cli->reg, &m)) != 0) {
		p25_model_free(&m);
		return cli_registry_fail(cli, rc);
	}
	rc = p25_enforce_sync(&m, o, &r, err, sizeof err);
	p25_model_free(&m);
	if (rc < 0)
		return cli_fail(EXIT_SYSTEM,
		                "the registry changed, but the gateway was not updated: %s (run: "
		                "port25 enforce sync)",
		                err);
	fprintf(
	    stderr,
	    "enforce: %s%ssync, %s: +%zu -%zu elements, chains +%zu ~%zu -%zu; commit %.3f ms\n",
	    why, *why ? "; " : "", r.cached ? "diffed against the cache" : "read back", r.added,
	    r.removed, r.chains_added, r.chains_rewritten, r.chains_removed, r.commit_ms);
	if (r.note[0] && !r.cached)
		fprintf(stderr, "enforce: %s\n", r.note);
	return EXIT_OK;
}

static int changed_locked(struct cli *cli, const struct p25_enforce_opts *o,
                          const struct timespec *t0)
{
	struct p25_enforce_result r;
	struct changes c = {0};
	char err[512], why[400];
	int rc;

	if (collect(cli, &c) < 0) {
		changes_free(&c);
		return cli_fail(
		    EXIT_SYSTEM,
		    "the registry changed, but reading the change back failed: %s (run: "
		    "port25 enforce sync)",
		    p25_registry_error(cli->reg));
	}
	if (c.sync) {
		changes_free(&c);
		return full_sync(cli, o, "");
	}
	if (c.n == 0) {
		changes_free(&c);
		return EXIT_OK;
	}
	size_t c_n = c.n;
	rc = p25_enforce_update(c.v, c.n, o, &r, err, sizeof err);
	changes_free(&c);
	if (rc < 0)
		return cli_fail(EXIT_SYSTEM,
		                "the registry changed, but the gateway was not updated: %s (run: "
		                "port25 enforce sync)",
		                err);
	if (rc > 0) {
		snprintf(why, sizeof why, "no targeted update (%.300s)", r.note);
		return full_sync(cli, o, why);
	}
	if (r.messages == 0) {
		/* nothing sent, nothing committed: no time to report */
		fprintf(stderr, "enforce: nothing to change in the kernel (%zu permit change%s, "
		                "already as loaded)\n", c_n, c_n == 1 ? "" : "s");
		return EXIT_OK;
	}
	fprintf(stderr,
	        "enforce: targeted update, +%zu -%zu elements in %zu messages; commit %.3f ms, "
	        "in force %.3f ms after the registry commit, %.3f ms after the command started\n",
	        r.added, r.removed, r.messages, r.commit_ms, ms_between(t0, &r.committed_at),
	        ms_between(&cli->started, &r.committed_at));
	if (r.note[0])
		fprintf(stderr, "enforce: %s\n", r.note);
	return EXIT_OK;
}

int cli_enforce_changed(struct cli *cli)
{
	struct p25_enforce_opts o = {.now = cli->now, .state_dir = cli_state_dir()};
	struct timespec t0;
	char err[512];
	int rc;

	if (!cli->audit_marked || cli->enforce <= 0)
		return EXIT_OK;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/*
	 * Read what changed only once this namespace's enforcers are ours: what
	 * is read is sent before anyone else reads and sends a later change.
	 */
	if (p25_enforce_lock(&o, err, sizeof err) < 0)
		return cli_fail(EXIT_SYSTEM,
		                "the registry changed, but the gateway was not updated: %s (run: "
		                "port25 enforce sync)",
		                err);
	rc = changed_locked(cli, &o, &t0);
	p25_enforce_unlock(&o);
	return rc;
}
