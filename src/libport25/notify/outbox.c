/*
 * The sender: notices out of the registry's outbox, through the relay.
 *
 * Each notice is claimed before it is sent (state sending, this process as
 * lease owner, until now + notify-lease), then sent, then finished (sent,
 * queued again with a backoff, or failed).  Claim and finish are each one
 * transaction, and finish only counts while this process still holds the
 * claim.  A sender that dies leaves its notice sending: the next sender
 * takes it over once the lease runs out, or at once when the owner recorded
 * was a process of this host that no longer runs.
 *
 * Exactly once or at least once?  SMTP gives no way to ask a relay whether
 * it took a message: if a sender dies after the relay's 250 to the end of
 * the data and before its "sent" commits, the notice is sent again when it
 * is taken over.  That window is one reply and one commit long; everywhere
 * else a death leaves either nothing at the relay (the message was not
 * complete: the relay drops it) or a committed "sent".  So delivery is at
 * least once, never lost, and a repeat is the same message: the Message-ID
 * and Date are fixed when the notice is queued, so a receiving system (or
 * a reader's mail program) that drops duplicate Message-IDs sees one.
 * Choosing at most once instead (a notice found sending is marked failed)
 * would lose a notice at every crash before the send: worse for notices a
 * member must act on.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "notify/notify.h"
#include "verify/curl_api.h"

static int read_password(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(err, errlen, "notify-password-file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

enum p25_send_result p25_notify_smtp(const struct p25_notify_config *cfg, const char *rcpt,
                                     const char *msg, size_t len, int *code, char *err,
                                     size_t errlen)
{
	const struct p25_curl_api *api = p25_curl_api();
	char url[700], from[330], errbuf[CURL_ERROR_SIZE] = "", password[512] = "";
	struct curl_slist *rcpts = NULL;
	struct p25_curl_upload up = {.data = msg, .len = len};
	enum p25_send_result res;
	const char *path;
	long reply = 0;
	CURLcode rc;
	CURL *curl;

	*code = 0;
	if (!cfg->relay[0]) {
		snprintf(err, errlen, "no relay is configured (notify-relay = smtp://HOST:PORT)");
		return P25_SEND_TRANSIENT;
	}
	if (!api) {
		snprintf(err, errlen, "%s", p25_curl_error());
		return P25_SEND_TRANSIENT;
	}
	if (cfg->user[0] && cfg->password_file[0] &&
	    read_password(cfg->password_file, password, sizeof password, err, errlen) < 0)
		return P25_SEND_TRANSIENT;
	/* The URL's path is the EHLO name: the domain the notices are from. */
	path = strchr(cfg->relay + (strncmp(cfg->relay, "smtps://", 8) ? 7 : 8), '/');
	if (path && path[1])
		snprintf(url, sizeof url, "%s", cfg->relay);
	else
		snprintf(url, sizeof url, "%.*s/%s", (int)(path ? path - cfg->relay : (long)strlen(cfg->relay)),
		         cfg->relay, p25_notify_domain(cfg));
	snprintf(from, sizeof from, "<%s>", cfg->from[0] ? cfg->from : "");
	if (!(curl = api->easy_init())) {
		snprintf(err, errlen, "out of memory");
		return P25_SEND_TRANSIENT;
	}
	rcpts = api->slist_append(NULL, rcpt);
	api->easy_setopt(curl, CURLOPT_URL, url);
	api->easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	api->easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpts);
	api->easy_setopt(curl, CURLOPT_READFUNCTION, p25_curl_upload_read);
	api->easy_setopt(curl, CURLOPT_READDATA, &up);
	api->easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	api->easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	api->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	api->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	api->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)cfg->timeout);
	api->easy_setopt(curl, CURLOPT_TIMEOUT, (long)(cfg->timeout * 4));
	if (strncmp(cfg->relay, "smtps://", 8) != 0)
		api->easy_setopt(curl, CURLOPT_USE_SSL,
		                 !strcmp(cfg->tls, "required") ? (long)CURLUSESSL_ALL
		                 : !strcmp(cfg->tls, "try")    ? (long)CURLUSESSL_TRY
		                                               : (long)CURLUSESSL_NONE);
	if (cfg->ca_file[0])
		api->easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->user[0]) {
		api->easy_setopt(curl, CURLOPT_USERNAME, cfg->user);
		api->easy_setopt(curl, CURLOPT_PASSWORD, password);
	}
	rc = api->easy_perform(curl);
	api->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
	*code = (int)reply;
	if (rc == CURLE_OK) {
		res = P25_SEND_OK;
		err[0] = '\0';
	} else {
		/*
		 * 5xx is this message's refusal, for good; 4xx, no answer, TLS
		 * and login failures are the relay's state or its configuration,
		 * which an operator fixes: the notice waits for them.
		 */
		bool login = rc == CURLE_LOGIN_DENIED || reply == 530 || reply == 535;
		res = reply >= 500 && reply < 600 && !login ? P25_SEND_PERMANENT : P25_SEND_TRANSIENT;
		snprintf(err, errlen, "%s (SMTP %ld)", *errbuf ? errbuf : api->easy_strerror(rc),
		         reply);
	}
	api->slist_free_all(rcpts);
	api->easy_cleanup(curl);
	memset(password, 0, sizeof password);
	return res;
}

/* ---- who holds a claim ---- */

static unsigned long long start_time_of(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's closing parenthesis: field 3 on; start time is field 22. */
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;
	for (int field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

static void owner_id(char *out, size_t len)
{
	char host[256] = "";

	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = '\0';
	snprintf(out, len, "%s:%ld:%llu", host, (long)getpid(), start_time_of((long)getpid()));
}

/* A claim of a process of this host that is gone (or a pid reused by another). */
static bool owner_dead(const char *owner)
{
	char host[256] = "", mine[256] = "";
	long pid = 0;
	unsigned long long start = 0;

	if (!owner || sscanf(owner, "%255[^:]:%ld:%llu", host, &pid, &start) != 3 || pid <= 0)
		return false;
	gethostname(mine, sizeof mine - 1);
	if (strcmp(host, mine) != 0)
		return false; /* another host's sender: its lease decides */
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return true;
	return start_time_of(pid) != start;
}

/* ---- the loop ---- */

static int64_t backoff(const struct p25_notify_config *cfg, int64_t attempts)
{
	int64_t d = cfg->retry_min;

	for (int64_t i = 1; i < attempts && d < cfg->retry_max; i++)
		d *= 2;
	return d > cfg->retry_max ? cfg->retry_max : d;
}

static void logf_(void (*log)(const char *), const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(void (*log)(const char *), const char *fmt, ...)
{
	char line[1200];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log(line);
}

/* One notice claimed and handled: 1, 0 when none is due, or a negative code. */
static int deliver_one(struct p25_registry *reg, const struct p25_notify_config *cfg,
                       const char *owner, void (*log)(const char *), struct p25_notify_stats *st)
{
	p25_time now = p25_time_now(), created = 0;
	json_t *n = NULL;
	struct p25_buf msg;
	char err[1024], terr[64];
	enum p25_send_result res;
	int64_t id, attempts;
	const char *rcpt;
	int code = 0, rc;

	if ((rc = p25_notice_claim(reg, owner, now, cfg->lease, owner_dead, &n)) <= 0)
		return rc;
	id = json_integer_value(json_object_get(n, "id"));
	attempts = json_integer_value(json_object_get(n, "attempts"));
	rcpt = json_string_value(json_object_get(n, "recipient"));
	/* The retry window counts from the first attempt: queueing time may be PORT25_NOW's. */
	p25_time_parse(json_string_value(json_object_get(n, "first_attempt")), &created, terr,
	               sizeof terr);
	p25_buf_init(&msg);
	if (p25_notify_message(cfg, n, now, &msg, err, sizeof err) < 0) {
		res = P25_SEND_PERMANENT;
	} else {
		res = p25_notify_smtp(cfg, rcpt, msg.data, msg.len, &code, err, sizeof err);
	}
	p25_buf_free(&msg);
	now = p25_time_now();
	if (res == P25_SEND_OK) {
		rc = p25_notice_finish(reg, id, owner, now, P25_NOTICE_DELIVERED, code, NULL, 0);
		if (rc == 0) {
			st->sent++;
			logf_(log, "sent notice %" PRId64 " (%s) to %s: %d", id,
			      json_string_value(json_object_get(n, "template")), rcpt, code);
		}
	} else if (res == P25_SEND_TRANSIENT && now - created < cfg->retry_for) {
		p25_time next = now + backoff(cfg, attempts);
		rc = p25_notice_finish(reg, id, owner, now, P25_NOTICE_RETRY, code, err, next);
		if (rc == 0) {
			st->retried++;
			logf_(log, "notice %" PRId64 " to %s deferred (attempt %" PRId64 "): %s", id,
			      rcpt ? rcpt : "?", attempts, err);
		}
	} else {
		char why[1200];
		if (res == P25_SEND_TRANSIENT)
			snprintf(why, sizeof why, "gave up after %" PRId64 " attempts: %s", attempts, err);
		else
			snprintf(why, sizeof why, "%s", err);
		rc = p25_notice_finish(reg, id, owner, now, P25_NOTICE_REFUSED, code, why, 0);
		if (rc == 0) {
			st->failed++;
			logf_(log, "notice %" PRId64 " to %s failed: %s", id, rcpt ? rcpt : "?", why);
		}
	}
	json_decref(n);
	if (rc == P25_ECONFLICT) {
		/* Another sender took it over (our lease ran out): its result counts. */
		st->lost_claims++;
		logf_(log, "notice %" PRId64 ": %s", id, p25_registry_error(reg));
		rc = 0;
	}
	if (rc == 0 && cfg->pause_ms > 0) {
		struct timespec ts = {cfg->pause_ms / 1000, (cfg->pause_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	return rc < 0 ? rc : 1;
}

/* Sleep until the registry changes (another process committed), or ms passed, or stop. */
static void wait_a_while(struct p25_registry *reg, int64_t ms, volatile sig_atomic_t *stop)
{
	int64_t v0 = 0, v = 0;

	p25_registry_data_version(reg, &v0);
	while (ms > 0 && !(stop && *stop)) {
		struct timespec ts = {0, 250 * 1000000L};
		if (ms < 250)
			ts.tv_nsec = (long)ms * 1000000L;
		if (nanosleep(&ts, NULL) < 0 && errno == EINTR)
			return;
		ms -= 250;
		if (p25_registry_data_version(reg, &v) == 0 && v != v0)
			return;
	}
}

int p25_notify_run(struct p25_registry *reg, const struct p25_notify_config *cfg, p25_time now,
                   bool once, volatile sig_atomic_t *stop, void (*log)(const char *line),
                   struct p25_notify_stats *stats, char *err, size_t errlen)
{
	char owner[400];
	p25_time last_scan = 0;
	int rc;

	memset(stats, 0, sizeof *stats);
	owner_id(owner, sizeof owner);
	for (;;) {
		p25_time wall = p25_time_now(), next = 0;
		if (stop && *stop)
			return 0;
		/* The scans of time: at start, and then once a poll interval. */
		if (!last_scan || wall - last_scan >= cfg->poll || once) {
			struct p25_scan_result sr;
			if ((rc = p25_notify_scan(reg, cfg, now ? now : wall, &sr)) < 0) {
				snprintf(err, errlen, "%s", p25_registry_error(reg));
				return -1;
			}
			stats->scan.expiring += sr.expiring;
			stats->scan.expired += sr.expired;
			stats->scan.overdue += sr.overdue;
			stats->scan.reports += sr.reports;
			stats->scan.reminders += sr.reminders;
			last_scan = wall;
		}
		while (!(stop && *stop) && (rc = deliver_one(reg, cfg, owner, log, stats)) > 0)
			;
		if (rc < 0) {
			snprintf(err, errlen, "%s", p25_registry_error(reg));
			return -1;
		}
		if (once)
			return 0;
		/* Until the next retry is due, a commit wakes us, or the next poll. */
		int64_t ms = cfg->poll * 1000;
		if (p25_notice_next_due(reg, &next) == 0 && next) {
			int64_t due = (next - p25_time_now()) * 1000;
			if (due < ms)
				ms = due < 250 ? 250 : due;
		}
		wait_a_while(reg, ms, stop);
	}
}
