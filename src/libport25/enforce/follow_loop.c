/*
 * enforce sync --wait (follow.h): what makes an expiry take effect by
 * itself, and every change committed to the registry reach the kernel
 * whoever committed it.  The kernel has no notion of a permit's end, so
 * something must remove the element when it comes: this loop wakes at the
 * earliest expiry in the registry (or after the interval) and syncs.  It is
 * also what carries out a sign-up's scheduled activation: it wakes at that
 * time too, activates the org (the rules checked again) and syncs.
 *
 * The earliest expiry is only known as of the last read: a variance added
 * later can expire before it.  So while it sleeps the loop follows the
 * change stream every P25_CHANGE_POLL_MS (PRAGMA data_version first: no
 * table is read unless something was committed), sends what the new changes
 * ask (follow.c) and recomputes its wake time.  Signals are blocked except
 * inside ppoll, so a SIGTERM arriving between the flag check and the sleep
 * is never lost.
 */
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "enforce/follow.h"

static volatile sig_atomic_t loop_stop, loop_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		loop_hup = 1;
	else
		loop_stop = 1;
}

static void say(FILE *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(FILE *log, const char *fmt, ...)
{
	char ts[P25_TIME_STRLEN];
	va_list ap;

	fprintf(log, "%s ", p25_time_format(p25_time_now(), ts, sizeof ts));
	va_start(ap, fmt);
	vfprintf(log, fmt, ap);
	va_end(ap);
	fputc('\n', log);
	fflush(log);
}

static void say_sync(FILE *log, const struct p25_enforce_result *r)
{
	say(log,
	    "enforce sync: %s, %zu intervals (+%zu -%zu), chains +%zu ~%zu -%zu, commit %.1f ms%s%s",
	    r->full ? "full table" : r->messages ? "update" : "in sync", r->intervals, r->added,
	    r->removed, r->chains_added, r->chains_rewritten, r->chains_removed, r->commit_ms,
	    r->note[0] ? "; " : "", r->note);
}

/*
 * The sign-ups whose agreed activation time has come: activated (audited in
 * the name of whoever scheduled them) before the policy is read, so that the
 * sync after it loads their block on time.  How many were carried out.
 */
static int activate_round(struct p25_registry *reg, p25_time now, FILE *log)
{
	json_t *done = NULL, *o;
	size_t i;
	int n = p25_org_activate_due(reg, now, &done);

	if (n < 0) {
		say(log, "enforce sync: scheduled activations: registry: %s", p25_registry_error(reg));
		return 0;
	}
	json_array_foreach(done, i, o)
	{
		const char *org = json_string_value(json_object_get(o, "org")),
		           *at = json_string_value(json_object_get(o, "at")),
		           *by = json_string_value(json_object_get(o, "by")),
		           *reason = json_string_value(json_object_get(o, "reason")),
		           *warning = json_string_value(json_object_get(o, "warning"));
		if (json_is_true(json_object_get(o, "activated")))
			say(log, "enforce sync: organization '%s' activated as scheduled for %s by %s%s%s",
			    org, at, by, warning && *warning ? "; warning: " : "",
			    warning ? warning : "");
		else
			say(log, "enforce sync: organization '%s' NOT activated as scheduled for %s by %s: %s",
			    org, at, by, reason ? reason : "");
	}
	json_decref(done);
	return n;
}

/* A whole sync under the enforcers' lock; *mark: every change up to it is in the kernel. */
static int sync_round(struct p25_registry *reg, const struct p25_enforce_opts *o, bool verbose,
                      int64_t *mark, FILE *log)
{
	struct p25_enforce_result r;
	struct p25_model m;
	char err[512];
	int64_t seen = 0;
	int rc = -1;

	p25_model_init(&m);
	/* read and send under the enforcers' lock: no older read is sent after ours */
	if (p25_enforce_lock(o, err, sizeof err) < 0) {
		say(log, "enforce sync: %s", err);
		return -1;
	}
	if (p25_registry_change_mark(reg, &seen) != 0 || p25_registry_load_model(reg, &m) != 0) {
		const char *msg = p25_registry_error(reg);
		say(log, "enforce sync: registry: %s", msg && *msg ? msg : "cannot load the model");
	} else if (p25_enforce_sync(&m, o, &r, err, sizeof err) < 0) {
		/* The kernel keeps the previous state; try again soon. */
		say(log, "enforce sync: %s", err);
	} else {
		if (r.full || r.messages > 0 || verbose)
			say_sync(log, &r);
		*mark = seen;
		rc = 0;
	}
	p25_enforce_unlock(o);
	p25_model_free(&m);
	return rc;
}

/* What the changes after *mark ask, as follow.c decides. */
static int follow_round(struct p25_registry *reg, const struct p25_enforce_opts *o, int64_t *mark,
                        FILE *log)
{
	struct p25_follow_result res;
	char err[512];

	if (p25_enforce_follow(reg, *mark, o, &res, err, sizeof err) < 0) {
		say(log, "enforce sync: %s", err);
		return -1;
	}
	if (res.action == P25_FOLLOW_TARGETED)
		say(log, "enforce sync: targeted update, +%zu -%zu elements in %zu messages, commit "
		         "%.1f ms%s%s",
		    res.r.added, res.r.removed, res.r.messages, res.r.commit_ms,
		    res.r.note[0] ? "; " : "", res.r.note);
	else if (res.action == P25_FOLLOW_SYNC && (res.r.full || res.r.messages > 0))
		say_sync(log, &res.r);
	*mark = res.mark;
	return 0;
}

int p25_enforce_follow_loop(struct p25_registry *reg, const struct p25_enforce_opts *opts,
                            int interval, FILE *log)
{
	struct p25_enforce_opts o = *opts;
	struct sigaction sa = {0}, old_term, old_int, old_hup;
	sigset_t block, orig;
	char when[P25_TIME_STRLEN];
	p25_time last_next = -1, last_activation = 0;
	int64_t mark = 0, version = 0;
	bool first = true, failing = false, full = true;

	loop_stop = loop_hup = 0;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGHUP, &sa, &old_hup);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	{
		sigset_t during = orig;
		sigdelset(&during, SIGTERM);
		sigdelset(&during, SIGINT);
		sigdelset(&during, SIGHUP);
		say(log, "enforce sync --wait: started (interval %d s)", interval);
		while (!loop_stop) {
			p25_time now = p25_time_now(), next = 0, activation = 0, wake;
			bool changes = false;

			loop_hup = 0;
			o.now = now;
			if (activate_round(reg, now, log) > 0)
				full = true;
			if (full)
				failing = sync_round(reg, &o, first || failing, &mark, log) < 0;
			else
				failing = follow_round(reg, &o, &mark, log) < 0;
			if (!failing && (p25_registry_next_expiry(reg, now, &next) < 0 ||
			                 p25_registry_next_activation(reg, &activation) < 0)) {
				say(log, "enforce sync: registry: %s", p25_registry_error(reg));
				failing = true;
			}
			if (!failing && activation != last_activation && activation)
				say(log, "enforce sync: next scheduled activation %s",
				    p25_time_format(activation, when, sizeof when));
			last_activation = activation;
			if (!failing) {
				if (next != last_next)
					say(log, "enforce sync: next expiry %s",
					    next ? p25_time_format(next, when, sizeof when) : "none");
				last_next = next;
				first = false;
			}
			/* Wake at the expiry itself: a permit is out at the second it expires. */
			wake = now + (failing ? (interval < 5 ? interval : 5) : interval);
			if (next && next < wake)
				wake = next;
			/* An activation is due at its second too (one past due: at once). */
			if (!failing && activation && activation < wake)
				wake = activation > now ? activation : now + 1;
			while (!loop_stop && !loop_hup) {
				struct timespec rt, left;
				clock_gettime(CLOCK_REALTIME, &rt);
				if (rt.tv_sec >= wake)
					break;
				left.tv_sec = wake - rt.tv_sec - 1;
				left.tv_nsec = 1000000000L - rt.tv_nsec;
				if (left.tv_sec > 0 || left.tv_nsec > P25_CHANGE_POLL_MS * 1000000L) {
					left.tv_sec = 0;
					left.tv_nsec = P25_CHANGE_POLL_MS * 1000000L;
				}
				/* EINTR is the signal; the flags say which. */
				ppoll(NULL, 0, &left, &during);
				if (loop_stop || loop_hup)
					break;
				/* a failing read is retried by the next round, a whole sync */
				if (!failing &&
				    p25_registry_changes_pending(reg, mark, &version) > 0) {
					changes = true;
					break;
				}
			}
			if (loop_hup && !loop_stop)
				say(log, "enforce sync: SIGHUP, syncing now");
			/* The expiry, the interval, a SIGHUP or a failure: the whole policy. */
			full = !changes || failing;
		}
		say(log, "enforce sync --wait: stopping");
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return 0;
}
