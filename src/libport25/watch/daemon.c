/*
 * The watch daemon: one poll loop over the sources, flushes on a timer.
 * It only reads logs; the kernel enforces whether it runs or not, so a
 * failure here costs visibility, never blocking or permitting.  The loop's
 * thread owns the aggregator and the registry; the UDP syslog socket alone
 * has an intake thread (syslog.c), because UDP loses what is not read in
 * time and a flush holds the loop for as long as the registry takes.
 *
 * Privileges: binding the NFLOG group needs CAP_NET_ADMIN (and a syslog
 * port below 1024 CAP_NET_BIND_SERVICE).  Once the sources are open the
 * daemon drops every capability and sets no_new_privs; a parser bug
 * reachable from the network then holds nothing worth having.
 */
#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "policy/policy.h"
#include "watch/sources.h"

/* The daemon singleton: the signal that asked it to stop, 0 while running. */
static volatile sig_atomic_t watch_stop_signal;

static void on_signal(int sig)
{
	watch_stop_signal = sig;
}

struct watch {
	const struct p25_watch_config *cfg;
	struct p25_registry *reg;
	struct p25_agg *agg;
	struct p25_model model;
	struct p25_policy *policy;
	p25_time policy_expiry;
	int64_t new_host_due_ms; /* 0: no first sighting waiting */
	/* Dropped datagrams are logged when they happen, then at most once a minute. */
	int64_t drop_check_ms, drop_log_ms;
	uint64_t logged_denied, logged_kernel;
};

#define DROP_LOG_MS 60000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("port25 watch: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* systemd's readiness protocol without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || (n = strlen(path)) >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

static int drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {{0}};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_capset, &hdr, data);
}

/* The org and direction of a syslog attempt, from the registry's policy. */
static void refresh_policy(struct watch *w, p25_time now)
{
	char err[256];

	if (w->policy && now < w->policy_expiry)
		return;
	p25_policy_free(w->policy);
	w->policy = NULL;
	p25_model_free(&w->model);
	p25_model_init(&w->model);
	if (p25_registry_load_model(w->reg, &w->model) < 0) {
		say("cannot load the registry for org lookups: %s", p25_registry_error(w->reg));
		return;
	}
	w->policy = p25_policy_build(&w->model, now, err, sizeof err);
	if (!w->policy)
		say("registry policy: %s (syslog attempts get no org)", err);
	/* Rebuilt at every regular flush, so registry changes reach the lookups. */
	w->policy_expiry = now + (p25_time)w->cfg->flush_interval;
}

static void on_attempt(void *ctx, const struct p25_attempt *in)
{
	struct watch *w = ctx;
	struct p25_attempt at = *in;
	struct p25_host *h;

	if ((at.dir == P25_WDIR_UNKNOWN || !at.org[0]) && w->policy) {
		struct p25_decision dec;
		p25_policy_decide_packet(w->policy, &at.src, &at.dst, at.dport, &dec);
		if (dec.org >= 0) {
			const char *handle = w->model.orgs[dec.org].handle;
			if (at.dir == P25_WDIR_UNKNOWN)
				at.dir = dec.direction == P25_INBOUND ? P25_WDIR_IN : P25_WDIR_OUT;
			if (!at.org[0] && strlen(handle) <= P25_ORG_HANDLE_MAX)
				strcpy(at.org, handle);
		}
	}
	h = p25_agg_record(w->agg, &at);
	if (h && (h->flags & P25_HOST_NEW) && !w->new_host_due_ms && w->cfg->new_host_flush)
		w->new_host_due_ms = mono_ms() + w->cfg->new_host_flush;
}

static int flush(struct watch *w, bool verbose)
{
	struct p25_flush_result res;
	p25_time now = p25_time_now();
	int rc = p25_watch_flush(w->reg, w->agg, &w->cfg->thresholds, now, &res);

	w->new_host_due_ms = 0;
	if (rc < 0) {
		say("flush failed, deltas kept for the next one: %s", p25_registry_error(w->reg));
		return rc;
	}
	if (verbose || res.alerts_raised || res.alerts_permitted || res.alerts_quiet)
		say("flushed %zu hosts (%zu evicted), %zu alerts raised, %zu updated, %zu resolved "
		    "(%zu permitted, %zu quiet)",
		    res.hosts, res.spilled, res.alerts_raised, res.alerts_updated,
		    res.alerts_permitted + res.alerts_quiet, res.alerts_permitted,
		    res.alerts_quiet);
	return 0;
}

/*
 * Datagrams dropped since the last word about them: logged when they
 * happen, then summed up at most once a minute, so that a flood of
 * forgeries or an overrun does not flood the log as well.
 */
static void note_drops(struct watch *w, struct p25_syslog_udp *su, int64_t now_ms, bool final)
{
	struct p25_syslog_udp_stats s;
	char who[P25_ADDR_STRLEN];
	uint64_t denied, kernel;
	const char *more;

	if (!su || (!final && now_ms < w->drop_check_ms))
		return;
	w->drop_check_ms = now_ms + 1000;
	p25_syslog_udp_stats(su, &s);
	denied = s.denied - w->logged_denied;
	kernel = s.kernel_drops - w->logged_kernel;
	if (!denied && !kernel)
		return;
	if (!final && w->drop_log_ms && now_ms - w->drop_log_ms < DROP_LOG_MS)
		return;
	more = w->drop_log_ms || final ? "" : "; more are summed up at most once a minute";
	if (denied)
		say("syslog udp: dropped %llu datagram%s from senders not in syslog-allowed-senders "
		    "(the latest from %s)%s",
		    (unsigned long long)denied, denied == 1 ? "" : "s",
		    p25_addr_format(&s.last_denied, who, sizeof who), more);
	if (kernel)
		say("syslog udp: the kernel dropped %llu datagram%s: the receive buffer was full "
		    "(%llu in all; raise syslog-rcvbuf)%s",
		    (unsigned long long)kernel, kernel == 1 ? "" : "s",
		    (unsigned long long)s.kernel_drops, more);
	w->logged_denied = s.denied;
	w->logged_kernel = s.kernel_drops;
	w->drop_log_ms = now_ms;
}

/* What `systemctl status` shows: the counts that say whether anything is being lost. */
static void notify_status(struct watch *w, struct p25_nflog *nf, struct p25_syslog_udp *su)
{
	char msg[400];
	int n = snprintf(msg, sizeof msg, "STATUS=watching: %zu hosts, %llu attempts",
			 p25_agg_count(w->agg), (unsigned long long)p25_agg_stats(w->agg)->attempts);

	if (nf && n > 0 && (size_t)n < sizeof msg)
		n += snprintf(msg + n, sizeof msg - (size_t)n, "; nflog overruns %llu",
			      (unsigned long long)p25_nflog_stats(nf)->overruns);
	if (su && n > 0 && (size_t)n < sizeof msg) {
		struct p25_syslog_udp_stats s;
		p25_syslog_udp_stats(su, &s);
		snprintf(msg + n, sizeof msg - (size_t)n,
			 "; syslog udp %llu lines, dropped %llu from senders not allowed, "
			 "%llu by the kernel",
			 (unsigned long long)s.lines.lines, (unsigned long long)s.denied,
			 (unsigned long long)s.kernel_drops);
	}
	sd_notify_msg(msg);
}

static void report(struct watch *w, struct p25_nflog *nf, struct p25_syslog_file *sf,
		   struct p25_syslog_udp *su)
{
	const struct p25_agg_stats *a = p25_agg_stats(w->agg);

	say("hosts %zu/%zu in %zu KiB; attempts %llu, packets %llu, evictions %llu, lost %llu",
	    p25_agg_count(w->agg), p25_agg_capacity(w->agg), p25_agg_memory(w->agg) >> 10,
	    (unsigned long long)a->attempts, (unsigned long long)a->packets,
	    (unsigned long long)a->evictions, (unsigned long long)a->lost);
	if (nf) {
		const struct p25_nflog_stats *s = p25_nflog_stats(nf);
		say("nflog: %llu messages, %llu attempts, %llu foreign, %llu malformed, %llu overruns",
		    (unsigned long long)s->messages, (unsigned long long)s->attempts,
		    (unsigned long long)s->foreign, (unsigned long long)s->malformed,
		    (unsigned long long)s->overruns);
	}
	struct p25_syslog_udp_stats us;
	if (su)
		p25_syslog_udp_stats(su, &us);
	const struct p25_syslog_stats *ss[2] = {sf ? p25_syslog_file_stats(sf) : NULL,
						 su ? &us.lines : NULL};
	const char *names[2] = {"syslog file", "syslog udp"};
	for (int i = 0; i < 2; i++)
		if (ss[i])
			say("%s: %llu lines, %llu attempts, %llu ignored, %llu malformed, %llu overlong",
			    names[i], (unsigned long long)ss[i]->lines,
			    (unsigned long long)ss[i]->attempts, (unsigned long long)ss[i]->ignored,
			    (unsigned long long)ss[i]->malformed, (unsigned long long)ss[i]->overlong);
	if (su)
		say("syslog udp: %llu datagrams read; dropped: %llu from senders not allowed, %llu by "
		    "the kernel (receive buffer full); intake waited for the aggregator %llu times",
		    (unsigned long long)us.datagrams, (unsigned long long)us.denied,
		    (unsigned long long)us.kernel_drops, (unsigned long long)us.queue_full);
}

/* "10.0.0.1/32, 2001:db8::/64", or "loopback" when none is configured. */
static void senders_text(const struct p25_watch_config *c, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "loopback");
	for (size_t i = 0; i < c->nsyslog_senders && used < len; i++) {
		char p[P25_PREFIX_STRLEN];
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 p25_prefix_format(&c->syslog_senders[i], p, sizeof p));
		used += n > 0 ? (size_t)n : 0;
	}
}

int p25_watch_run(const struct p25_watch_config *c, const char *actor, char *err, size_t errlen)
{
	struct watch w = {.cfg = c};
	struct p25_nflog *nf = NULL;
	struct p25_syslog_file *sf = NULL;
	struct p25_syslog_udp *su = NULL;
	struct sigaction sa = {0};
	sigset_t block, orig;
	size_t loaded = 0;
	int64_t next_flush;
	char senders[P25_WATCH_SENDERS_MAX * (P25_PREFIX_STRLEN + 2)];
	bool udp_batched = false; /* few syslog attempts last time: nap before the next look */
	int rc = -1;

	(void)actor;
	p25_model_init(&w.model);
	watch_stop_signal = 0;
	if (c->nflog_group < 0 && !c->syslog_listen[0] && !c->syslog_file[0]) {
		snprintf(err, errlen, "no source: enable nflog-group, syslog-listen or syslog-file");
		return -1;
	}
	if (p25_watch_config_check(c, err, errlen) < 0)
		return -1;
	if (p25_registry_open(c->registry, &w.reg, err, errlen) < 0)
		return -1;
	if (!(w.agg = p25_agg_new(c->max_memory, err, errlen)))
		goto out;
	if (p25_watch_load(w.reg, w.agg, &loaded) < 0) {
		snprintf(err, errlen, "loading summaries: %s", p25_registry_error(w.reg));
		goto out;
	}
	refresh_policy(&w, p25_time_now());

	/* Signals stay blocked except inside ppoll: a stop request cannot slip between checks. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (c->nflog_group >= 0 &&
	    p25_nflog_open((uint16_t)c->nflog_group, on_attempt, &w, &nf, err, errlen) < 0)
		goto out;
	if (c->syslog_listen[0]) {
		struct p25_syslog_udp_opts uo = {.listen = c->syslog_listen,
						 .senders = c->syslog_senders,
						 .nsenders = c->nsyslog_senders,
						 .rcvbuf = c->syslog_rcvbuf,
						 .queue = c->syslog_queue};
		if (p25_syslog_udp_open(&uo, on_attempt, &w, &su, err, errlen) < 0)
			goto out;
	}
	if (c->syslog_file[0] &&
	    p25_syslog_file_open(c->syslog_file, c->from_start || c->once, on_attempt, &w, &sf, err,
				 errlen) < 0)
		goto out;
	if (c->drop_privileges && drop_capabilities() < 0)
		say("warning: cannot drop capabilities: %s", strerror(errno));
	/* After the drop: a thread keeps the capabilities it was created with. */
	if (su && p25_syslog_udp_start(su, err, errlen) < 0)
		goto out;

	senders_text(c, senders, sizeof senders);
	say("started: %zu summaries loaded; table of %zu hosts in %zu KiB; nflog group %d%s%s%s%s%s%s",
	    loaded, p25_agg_capacity(w.agg), p25_agg_memory(w.agg) >> 10, c->nflog_group,
	    su ? "; syslog " : "", su ? c->syslog_listen : "", su ? " from " : "",
	    su ? senders : "", sf ? "; file " : "", sf ? c->syslog_file : "");
	if (su && p25_syslog_udp_rcvbuf(su) < c->syslog_rcvbuf)
		say("warning: syslog udp: receive buffer %zu KiB, not the %zu KiB of syslog-rcvbuf "
		    "(net.core.rmem_max limits it without CAP_NET_ADMIN)",
		    p25_syslog_udp_rcvbuf(su) >> 10, c->syslog_rcvbuf >> 10);
	else if (su)
		say("syslog udp: receive buffer %zu KiB, queue of %zu lines",
		    p25_syslog_udp_rcvbuf(su) >> 10, p25_syslog_udp_queue(su));
	sd_notify_msg("READY=1\nSTATUS=watching");

	next_flush = mono_ms() + (int64_t)c->flush_interval * 1000;
	while (!watch_stop_signal) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int64_t now_ms = mono_ms(), wake = next_flush;
		struct timespec ts;
		p25_time now;

		if (w.new_host_due_ms && w.new_host_due_ms < wake)
			wake = w.new_host_due_ms;
		/* A followed file has no readiness event: look at it four times a second. */
		if (sf && now_ms + 250 < wake)
			wake = now_ms + 250;
		if (wake < now_ms)
			wake = now_ms;
		ts.tv_sec = (wake - now_ms) / 1000;
		ts.tv_nsec = (long)((wake - now_ms) % 1000) * 1000000;
		if (nf)
			pfd[n++] = (struct pollfd){.fd = p25_nflog_fd(nf), .events = POLLIN};
		/*
		 * Attempts already queued: look again at once.  Lines trickling in
		 * one by one are taken a millisecond's worth at a time, not with a
		 * wake-up of this thread each.
		 */
		if (su && udp_batched) {
			if (ts.tv_sec || ts.tv_nsec > 1000000)
				ts = (struct timespec){0, 1000000};
		} else if (su && !p25_syslog_udp_arm(su)) {
			ts.tv_sec = ts.tv_nsec = 0;
		} else if (su) {
			pfd[n++] = (struct pollfd){.fd = p25_syslog_udp_fd(su), .events = POLLIN};
		}
		if (ppoll(pfd, n, &ts, &orig) < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		now = p25_time_now();
		if (nf && p25_nflog_read(nf) < 0)
			say("nflog: read error: %s", strerror(errno));
		if (su) {
			size_t got = p25_syslog_udp_read(su, 65536);
			udp_batched = got > 0 && got < 256;
		}
		if (sf) {
			int frc = p25_syslog_file_read(sf, now, c->once);
			if (frc < 0)
				say("%s: read error: %s", c->syslog_file, strerror(errno));
			if (frc == 1 && c->once)
				break;
		}
		now_ms = mono_ms();
		note_drops(&w, su, now_ms, false);
		if (now_ms >= next_flush) {
			refresh_policy(&w, p25_time_now());
			flush(&w, false);
			notify_status(&w, nf, su);
			next_flush = now_ms + (int64_t)c->flush_interval * 1000;
		} else if ((w.new_host_due_ms && now_ms >= w.new_host_due_ms) ||
			   p25_agg_flush_wanted(w.agg)) {
			flush(&w, false);
		}
	}
	if (watch_stop_signal)
		say("signal %d: flushing and stopping", (int)watch_stop_signal);
	/* What intake has read reaches the final flush. */
	if (su)
		p25_syslog_udp_stop(su);
	note_drops(&w, su, mono_ms(), true);
	sd_notify_msg("STOPPING=1");
	/* The last flush matters most: try again if the registry is briefly locked. */
	rc = -1;
	for (int i = 0; i < 3 && rc < 0; i++)
		rc = flush(&w, true);
	if (rc < 0)
		snprintf(err, errlen, "final flush failed: %s", p25_registry_error(w.reg));
	report(&w, nf, sf, su);
	sigprocmask(SIG_SETMASK, &orig, NULL);
out:
	p25_nflog_close(nf);
	p25_syslog_udp_close(su);
	p25_syslog_file_close(sf);
	p25_policy_free(w.policy);
	p25_model_free(&w.model);
	p25_agg_free(w.agg);
	p25_registry_close(w.reg);
	return rc;
}
