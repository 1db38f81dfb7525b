/*
 * enforce against the kernel, in a network namespace of this process's own
 * (unshare): a plan with an invalid element (two overlapping intervals) is
 * refused whole and the table loaded before stays, unchanged; sync then
 * patches one element; the enforcers' lock nests within a process and
 * excludes other processes.  Needs root: without it the test fails, never
 * skips.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "compile/compile.h"
#include "enforce/enforce.h"

#define NOW ((p25_time)1790000000)

static void pfx(struct p25_prefix *p, const char *s)
{
	struct p25_diag d;
	assert_int_equal(p25_prefix_parse(s, 0, p, &d), 0);
}

static void model(struct p25_model *m)
{
	struct p25_prefix sp, sp6;
	struct p25_permit pm = {.id = 1, .org = 0, .description = "mx"};

	p25_model_init(m);
	assert_true(p25_model_add_org(m, 1, "acme", "Acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH,
				      P25_ACTION_REJECT) == 0);
	pfx(&sp, "10.1.0.0/16");
	pfx(&sp6, "2001:db8:1::/48");
	assert_true(p25_model_add_space(m, 1, 0, &sp, "v4") == 0);
	assert_true(p25_model_add_space(m, 2, 0, &sp6, "v6") == 1);
	pfx(&pm.prefix, "10.1.0.25/32");
	assert_true(p25_model_add_permit(m, &pm) == 0);
	pm.id = 2;
	pfx(&pm.prefix, "2001:db8:1::25/128");
	assert_true(p25_model_add_permit(m, &pm) == 1);
}

static json_t *status(const struct p25_model *m)
{
	struct p25_enforce_opts o = {.now = NOW};
	char err[256];
	json_t *j;

	assert_int_equal(p25_enforce_status(m, &o, &j, err, sizeof err), 0);
	return j;
}

static void test_failed_apply_keeps_old(void **state)
{
	struct p25_enforce_opts o = {.now = NOW};
	struct p25_enforce_result r;
	struct p25_compile_opts co = {.now = NOW};
	struct p25_compile_output out;
	struct p25_nft_plan plan;
	struct p25_model m;
	char err[256], hash[17];
	json_t *j;

	model(&m);
	assert_int_equal(p25_enforce_apply(&m, &o, &r, err, sizeof err), 0);
	assert_int_equal(r.generation, 1);
	memcpy(hash, r.hash, sizeof hash);
	j = status(&m);
	assert_true(json_is_true(json_object_get(j, "matches_registry")));
	json_decref(j);

	/* The same plan plus an overlapping interval: the kernel refuses it. */
	co.nft_plan = &plan;
	assert_int_equal(p25_compile(&m, P25_TARGET_NFTABLES, &co, &out, err, sizeof err), 0);
	p25_compile_output_free(&out);
	assert_int_equal(plan.nhosts[0], 1);
	struct p25_prefix *v = realloc(plan.permit[0], 2 * sizeof *v);
	assert_non_null(v);
	plan.permit[0] = v;
	pfx(&v[0], "10.1.0.0/24");
	pfx(&v[1], "10.1.0.0/28");
	plan.npermit[0] = 2;
	assert_int_equal(p25_enforce_apply_plan(&plan, &o, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "nothing changed"));
	assert_non_null(strstr(err, "permit_v4"));
	print_message("refused as expected: %s\n", err);
	p25_nft_plan_free(&plan);

	/* The old table is still there, whole, and still matches. */
	j = status(&m);
	assert_true(json_is_true(json_object_get(j, "loaded")));
	assert_int_equal(json_integer_value(json_object_get(j, "generation")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "hash_loaded")), hash);
	assert_true(json_is_true(json_object_get(j, "matches_registry")));
	json_decref(j);

	/* sync: one permit more is one interval, nothing else */
	struct p25_permit pm = {.id = 3, .org = 0, .description = "crm"};
	pfx(&pm.prefix, "10.1.7.7/32");
	assert_true(p25_model_add_permit(&m, &pm) == 2);
	assert_int_equal(p25_enforce_sync(&m, &o, &r, err, sizeof err), 0);
	assert_int_equal(r.added, 1);
	assert_int_equal(r.removed, 0);
	assert_int_equal(r.chains_added + r.chains_removed + r.chains_rewritten, 0);
	assert_false(r.full);
	assert_int_equal(p25_enforce_sync(&m, &o, &r, err, sizeof err), 0);
	assert_int_equal(r.messages, 0);

	bool existed;
	assert_int_equal(p25_enforce_flush(&existed, err, sizeof err), 0);
	assert_true(existed);
	j = status(&m);
	assert_false(json_is_true(json_object_get(j, "loaded")));
	json_decref(j);
	p25_model_free(&m);
}

/* In a child: does p25_enforce_lock get the lock within a second? */
static bool child_gets_lock(const struct p25_enforce_opts *o)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];
		alarm(1); /* still waiting then: killed by SIGALRM */
		_exit(p25_enforce_lock(o, err, sizeof err) == 0 ? 0 : 3);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		assert_int_equal(WTERMSIG(st), SIGALRM);
		return false;
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	return true;
}

/*
 * A command holds the lock across its registry read and its update, and
 * the update takes the same lock again: that must nest, not deadlock, and
 * keep other processes out until the outer unlock.
 */
static void test_lock_nests_and_excludes(void **state)
{
	char dir[] = "/tmp/p25-enforce-lock-XXXXXX", err[256];
	struct p25_enforce_opts o = {.now = NOW};
	struct p25_enforce_result r;
	struct p25_model m;

	assert_non_null(mkdtemp(dir));
	o.state_dir = dir;
	model(&m);
	assert_int_equal(p25_enforce_lock(&o, err, sizeof err), 0);
	alarm(10); /* a self-deadlock fails the test instead of hanging it */
	assert_int_equal(p25_enforce_apply(&m, &o, &r, err, sizeof err), 0);
	assert_int_equal(p25_enforce_sync(&m, &o, &r, err, sizeof err), 0);
	assert_true(r.cached);
	assert_int_equal(r.messages, 0);
	alarm(0);
	assert_false(child_gets_lock(&o));
	p25_enforce_unlock(&o);
	assert_true(child_gets_lock(&o));
	/* the inner apply and sync released only their own level */
	assert_int_equal(p25_enforce_lock(&o, err, sizeof err), 0);
	assert_int_equal(p25_enforce_lock(&o, err, sizeof err), 0);
	p25_enforce_unlock(&o);
	assert_false(child_gets_lock(&o));
	p25_enforce_unlock(&o);
	assert_true(child_gets_lock(&o));
	bool existed;
	assert_int_equal(p25_enforce_flush(&existed, err, sizeof err), 0);
	p25_model_free(&m);
	char cmd[80];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_apply_keeps_old),
		cmocka_unit_test(test_lock_nests_and_excludes),
	};

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "test_enforce needs root: it loads rules in a network namespace of its own\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
