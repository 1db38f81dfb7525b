/*
 * Classification of one host from its measured behaviour.
 *
 * Bot evidence follows what spam-zombie detectors found to work: fan-out
 * to many new destinations in a short time, a high share of refused or
 * unanswered connections, bursts, many 5xx replies, HELO names that are
 * bare IPs, wrong literals or keep changing, uniform message sizes.
 * Server evidence: steady activity over days, retries on a queue schedule,
 * TLS, a stable HELO, accepting SMTP itself.  Server evidence is weighed
 * first: a host that looks like a server is never called a bot, because
 * blocking a real server loses mail while a missed bot is caught later.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "analyze/analyze_int.h"

static void why(char *reasons, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void why(char *reasons, const char *fmt, ...)
{
	size_t len = strlen(reasons);
	va_list ap;

	if (len + 3 >= P25_AN_REASONS_LEN)
		return;
	if (len) {
		memcpy(reasons + len, "; ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(reasons + len, P25_AN_REASONS_LEN - len, fmt, ap);
	va_end(ap);
}

/* The names of the lists of mask, ", "-separated. */
static void list_names(uint32_t mask, char *buf, size_t len)
{
	const char *name;

	buf[0] = 0;
	for (unsigned i = 0; (name = p25_an_blocklist_name(i)); i++)
		if (mask >> i & 1)
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "",
			         name);
}

/*
 * The bot likelihood, 0 to 100, on the same scale in every class: 0 without
 * bot evidence; 50 when the bot points alone reach bot_score and there are
 * no server points; toward 100 as bot points mount; down as server points
 * add up.  The class is decided by the rules (server evidence first), the
 * score only ranks.
 */
int p25_an_likelihood(const struct p25_an_config *cfg, int bot, int srv)
{
	if (bot <= 0)
		return 0;
	return (int)lround(100.0 * bot / (double)(bot + srv + cfg->bot_score));
}

/*
 * How strongly the evidence supports the class, 0..100.  A permit and the
 * ports a client uses are facts: 100.  A verdict from points is at 50 when
 * its points just reach the threshold and at 100 from twice the threshold;
 * without the SMTP dialogue (flows, or encrypted or cut sessions) it is
 * worth three quarters of that.  An unknown host has no verdict: 0.
 */
static int confidence(const struct p25_an_config *cfg, const struct p25_an_host *h, int bot,
                      int srv, bool dialogue)
{
	double c;

	switch (h->cls) {
	case P25_AN_PERMITTED:
	case P25_AN_CLIENT:
		return 100;
	case P25_AN_BOT:
		c = (double)bot / (2.0 * cfg->bot_score);
		break;
	case P25_AN_SERVER:
	case P25_AN_INBOUND:
		c = (double)srv / (2.0 * cfg->server_score);
		break;
	default:
		return 0;
	}
	if (c > 1)
		c = 1;
	if (!dialogue)
		c *= 0.75;
	return (int)lround(100 * c);
}

void p25_an_classify(const struct p25_an_config *cfg, struct p25_an_host *h, char *reasons)
{
	const struct p25_an_smtp *s = p25_an_host_smtp(h);
	const struct p25_an_side *o = &h->out25;
	uint64_t failed = o->outcome[P25_AN_RESET] + o->outcome[P25_AN_NOANSWER];
	/* Replies to the transaction: banner, EHLO and QUIT replies would dilute a refusal. */
	uint64_t nrep =
	    s->txn_replies[2] + s->txn_replies[3] + s->txn_replies[4] + s->txn_replies[5];
	int bot = 0, srv = 0;

	reasons[0] = 0;
	if (o->conns == 0 && h->in25.conns == 0) {
		h->cls = h->sub.conns ? P25_AN_CLIENT : P25_AN_UNKNOWN;
		h->score = h->bot_score = h->server_score = 0;
		h->confidence = h->sub.conns ? 100 : 0;
		if (h->sub.conns)
			why(reasons,
			    "only submission (465/587), which port-25 blocking leaves alone");
		if (h->permit >= 0)
			why(reasons, "covered by a permit");
		return;
	}

	/* What speaks for a bot. */
	if (h->fan_max >= cfg->fanout_min) {
		bot += 3;
		why(reasons, "fan-out: about %u destinations within %u s", h->fan_max,
		    cfg->fanout_window);
	}
	if (o->conns >= cfg->failed_min_conns && failed >= cfg->failed_share * (double)o->conns) {
		bot += 2;
		why(reasons, "%.0f%% of %llu connections reset or unanswered",
		    100.0 * (double)failed / (double)o->conns, (unsigned long long)o->conns);
	}
	if (h->burst_max >= cfg->burst_per_minute) {
		bot += 1;
		why(reasons, "burst: %u connections in one minute", h->burst_max);
	}
	if (nrep >= cfg->reply_min && s->txn_replies[5] >= cfg->reject_share * (double)nrep) {
		bot += 2;
		why(reasons, "%llu of %llu replies to MAIL, RCPT and DATA were 5xx rejections",
		    (unsigned long long)s->txn_replies[5], (unsigned long long)nrep);
	}
	/*
	 * A blocklist of hosts that names the host's own address: the list's
	 * operators saw it send spam (their traps, their users' reports).
	 */
	if (s->bl_replies[P25_AN_BL_LISTED]) {
		char names[160];
		bot += 3;
		list_names(s->bl_lists_listed, names, sizeof names);
		why(reasons, "%llu refusals by blocklists naming its address (%s)",
		    (unsigned long long)s->bl_replies[P25_AN_BL_LISTED], names);
	}
	if (s->helo_bare_ip) {
		bot += 2;
		why(reasons, "HELO with a bare IP address");
	}
	if (s->helo_mismatch) {
		bot += 1;
		why(reasons, "HELO address literal is not the host's address");
	}
	if (s->nhelo_names >= cfg->helo_distinct_max) {
		bot += 2;
		why(reasons, "%u different HELO names", s->nhelo_names);
	}
	/*
	 * A queue retries every failure; a bot's returns to a popular MX now and
	 * then are chance, so two abandoned failures in three are enough.
	 */
	bool abandons = h->abandoned >= cfg->abandoned_min && h->abandoned >= 2 * h->retries;
	if (abandons) {
		bot += 2;
		why(reasons, "%llu failed destinations never retried (a mail queue retries)",
		    (unsigned long long)h->abandoned);
	}
	/*
	 * Recipient fan-out, as the dialogue shows it: a spam run names
	 * recipients of many domains (harvested lists), through one relay as
	 * well as direct to each domain's MX (Lin et al. tell bots from servers
	 * by recipients and their domains per period).  A mailing list does the
	 * same once a day, which its server evidence outweighs.
	 */
	if (h->rcpt_domains_max >= cfg->rcpt_domains_min) {
		bot += 2;
		why(reasons, "recipient fan-out: about %u recipient domains within %u s",
		    h->rcpt_domains_max, cfg->fanout_window);
	}
	if (h->rcpt_max >= cfg->rcpt_min) {
		bot += 1;
		why(reasons, "%u recipients (RCPT TO) within %u s", h->rcpt_max, cfg->fanout_window);
	}
	/* Spam goes to harvested addresses: nearly every connection to a new destination. */
	uint64_t dests = p25_an_distinct_dests(h);
	if (o->conns >= cfg->novel_min_conns && dests >= cfg->novel_share * (double)o->conns) {
		bot += 2;
		why(reasons, "%s%llu destinations in %llu connections", p25_an_distinct_estimated(h) ? "about " : "",
		    (unsigned long long)dests, (unsigned long long)o->conns);
	}
	if (s->messages >= cfg->size_min_msgs) {
		double mean = (double)s->msg_bytes / (double)s->messages;
		double var = s->msg_sumsq / (double)s->messages - mean * mean;
		double cv = mean > 0 ? sqrt(var > 0 ? var : 0) / mean : 0;
		if (cv < cfg->size_cv) {
			bot += 1;
			why(reasons, "uniform message sizes (%llu messages of about %.0f bytes)",
			    (unsigned long long)s->messages, mean);
		}
	}

	/* What speaks for a mail server. */
	/*
	 * Steady delivery is a server's; a machine left on that fails most of
	 * its connections for days is a low-and-slow bot, not a steady server.
	 */
	bool mostly_failing =
	    o->conns >= cfg->failed_min_conns && failed >= cfg->failed_share * (double)o->conns;
	if (h->days_active >= cfg->steady_days && h->hours_active >= cfg->steady_hours &&
	    !mostly_failing && !abandons) {
		srv += 2;
		why(reasons, "steady: active in %u hours over %u days", h->hours_active,
		    h->days_active);
	}
	/* Most failures retried: a bot's chance returns to a popular MX are not a queue. */
	if (h->retries >= cfg->retry_count && h->retries >= h->abandoned) {
		srv += 2;
		why(reasons, "%llu retries after failures, on a queue schedule",
		    (unsigned long long)h->retries);
	}
	if (s->tls_ok) {
		srv += 1;
		why(reasons, "STARTTLS in %llu sessions", (unsigned long long)s->tls_ok);
	}
	if (s->nhelo_names == 1 && s->helo >= 2 && !s->helo_bare_ip && !s->helo_mismatch) {
		srv += 1;
		why(reasons, "stable HELO '%s'", s->helo_names[0]);
	}
	if (h->in25.outcome[P25_AN_ESTABLISHED]) {
		srv += s->banner[0] ? 3 : 2;
		why(reasons, "accepts SMTP: %llu inbound connections%s%s%s",
		    (unsigned long long)h->in25.outcome[P25_AN_ESTABLISHED],
		    s->banner[0] ? ", banner '" : "", s->banner, s->banner[0] ? "'" : "");
	}
	if (h->mail_served >= 2) {
		srv += 2;
		why(reasons, "serves its users' mail: %llu POP3, IMAP or submission connections",
		    (unsigned long long)h->mail_served);
	}
	if (o->conns >= 3 && failed * 5 < o->conns && nrep && s->txn_replies[5] * 10 < nrep) {
		srv += 1;
		why(reasons, "deliveries succeed (%llu of %llu connections established)",
		    (unsigned long long)(o->conns - failed), (unsigned long long)o->conns);
	}

	h->bot_score = bot;
	h->server_score = srv;
	h->score = p25_an_likelihood(cfg, bot, srv);
	if (h->permit >= 0) {
		h->cls = P25_AN_PERMITTED;
		why(reasons, "covered by a permit");
	} else if (o->conns == 0 && h->in25.outcome[P25_AN_ESTABLISHED]) {
		/* Outbound blocking leaves it alone; only mode both would cut its mail off. */
		h->cls = P25_AN_INBOUND;
		why(reasons, "sends no port-25 mail, only receives it");
	} else if (srv >= cfg->server_score && 2 * srv >= bot) {
		h->cls = P25_AN_SERVER;
	} else if (bot >= cfg->bot_score) {
		h->cls = P25_AN_BOT;
	} else {
		h->cls = P25_AN_UNKNOWN;
		if (!reasons[0])
			why(reasons,
			    "%llu outbound and %llu inbound port-25 connections, too little to "
			    "judge",
			    (unsigned long long)o->conns, (unsigned long long)h->in25.conns);
	}
	/*
	 * Said, not counted: a list of ranges says what the address is (an
	 * end-user or dynamic range, a careless provider's network), and a
	 * reply without the host's address may concern another hop (an
	 * address in the Received header) or the public address of a NAT.
	 */
	if (s->bl_replies[P25_AN_BL_RANGE]) {
		char names[160];
		list_names(s->bl_lists & ~s->bl_lists_listed, names, sizeof names);
		why(reasons,
		    "%llu refusals by blocklists of address ranges naming its address (%s), not "
		    "counted",
		    (unsigned long long)s->bl_replies[P25_AN_BL_RANGE], names);
	}
	if (s->bl_replies[P25_AN_BL_OTHER])
		why(reasons, "%llu refusals name a blocklist but not its address, not counted",
		    (unsigned long long)s->bl_replies[P25_AN_BL_OTHER]);
	/* What a verdict from flows could not use, so that a reader weighs it. */
	bool dialogue = s->sessions > 0 || s->banner[0];
	if (h->flow_conns && !dialogue)
		why(reasons, "from flow records: no SMTP dialogue evidence");
	h->confidence = confidence(cfg, h, bot, srv, dialogue);
}
