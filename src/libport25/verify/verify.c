/* Verification: targets, the policy check, TCP reachability, results. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "verify.h"
#include "verify_priv.h"

double p25_verify_ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

const char *p25_check_status_name(enum p25_check_status s)
{
	switch (s) {
	case P25_CHECK_PASS: return "pass";
	case P25_CHECK_FAIL: return "fail";
	case P25_CHECK_SKIPPED: break;
	}
	return "skipped";
}

void p25_verify_first_host(const struct p25_prefix *p, struct p25_addr *out)
{
	unsigned max = p25_family_bits(p->family);

	p25_prefix_first(p, out);
	/* /31 and /127 are point-to-point pairs whose first address is a host. */
	if ((unsigned)p->len + 1 < max)
		out->bits += (p25_u128)1 << (128 - max);
}

ssize_t p25_verify_permitted(const struct p25_model *m, p25_time now,
			     struct p25_verify_target **out)
{
	struct p25_verify_target *v;
	size_t n = 0;

	*out = NULL;
	v = calloc(m->npermits ? m->npermits : 1, sizeof *v);
	if (!v)
		return -1;
	for (size_t i = 0; i < m->npermits; i++) {
		if (!p25_permit_valid_at(&m->permits[i], now))
			continue;
		p25_verify_first_host(&m->permits[i].prefix, &v[n].addr);
		v[n].expect_blocked = false;
		v[n].permit = (ssize_t)i;
		n++;
	}
	*out = v;
	return (ssize_t)n;
}

/* The model permit with that prefix among the ids, or -1. */
static ssize_t created_permit(const struct p25_model *m, const struct p25_prefix *p,
			      const int64_t *ids, size_t nids)
{
	for (size_t i = 0; i < m->npermits; i++) {
		if (!p25_prefix_equal(&m->permits[i].prefix, p))
			continue;
		for (size_t k = 0; k < nids; k++)
			if (m->permits[i].id == ids[k])
				return (ssize_t)i;
	}
	return -1;
}

ssize_t p25_verify_request_targets(const struct p25_model *m, const json_t *request,
				   const int64_t *permit_ids, size_t npermit_ids,
				   struct p25_verify_target **out, char *err, size_t errlen)
{
	const char *type = json_string_value(json_object_get(request, "type"));
	bool removal = type && !strcmp(type, "remove-permit");
	const json_t *items = json_object_get(request, removal ? "remove" : "servers");
	struct p25_verify_target *v;
	size_t n = json_array_size(items);

	*out = NULL;
	if (!type || !json_is_array(items)) {
		snprintf(err, errlen, "request %lld has no %s list",
			 (long long)json_integer_value(json_object_get(request, "id")),
			 removal ? "remove" : "servers");
		return -1;
	}
	v = calloc(n ? n : 1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *text =
			json_string_value(json_object_get(json_array_get(items, i), "address"));
		struct p25_prefix p;
		struct p25_diag d;

		if (!text || p25_prefix_parse(text, 0, &p, &d) < 0) {
			snprintf(err, errlen, "request %lld item %zu: %s",
				 (long long)json_integer_value(json_object_get(request, "id")),
				 i + 1, text ? d.error : "no address");
			free(v);
			return -1;
		}
		p25_verify_first_host(&p, &v[i].addr);
		v[i].expect_blocked = removal;
		v[i].permit = removal ? -1 : created_permit(m, &p, permit_ids, npermit_ids);
	}
	*out = v;
	return (ssize_t)n;
}

void p25_verify_policy(const struct p25_policy *pol, const struct p25_verify_target *t,
		       struct p25_verify_result *r)
{
	struct p25_addr any;
	struct p25_check *c = &r->policy;
	const char *why;

	/* The far end does not matter to the decision. */
	memset(&any, 0, sizeof any);
	any.family = t->addr.family;
	p25_policy_decide(pol, &t->addr, &any, P25_SMTP_PORT, P25_OUTBOUND, &r->decision);
	why = p25_reason_text(r->decision.reason);
	if (t->expect_blocked) {
		c->status = r->decision.verdict == P25_BLOCK ? P25_CHECK_PASS : P25_CHECK_FAIL;
		snprintf(c->detail, sizeof c->detail, "%s%s: %s",
			 c->status == P25_CHECK_FAIL ? "not blocked, " : "",
			 p25_verdict_name(r->decision.verdict), why);
		return;
	}
	/* Not covered (org not enforced) lets mail through: a pass, with the reason. */
	c->status = r->decision.verdict == P25_BLOCK ? P25_CHECK_FAIL : P25_CHECK_PASS;
	snprintf(c->detail, sizeof c->detail, "%s: %s", p25_verdict_name(r->decision.verdict), why);
}

void p25_verify_sockaddr(const struct p25_addr *a, uint16_t port, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == P25_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(p25_addr_v4(a));
		*len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		p25_addr_v6_bytes(a, s6->sin6_addr.s6_addr);
		*len = sizeof *s6;
	}
}

int p25_verify_tcp(const struct p25_addr *src, const struct p25_addr *dst, uint16_t port,
		   int timeout_ms, struct p25_check *c)
{
	struct sockaddr_storage ss;
	struct timespec t0;
	struct pollfd pfd;
	char sbuf[P25_ADDR_STRLEN];
	socklen_t len;
	int fd, err = 0, rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->status = P25_CHECK_FAIL;
	fd = socket(dst->family == P25_INET ? AF_INET : AF_INET6,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(c->detail, sizeof c->detail, "socket: %s", strerror(errno));
		return -1;
	}
	if (src) {
		p25_verify_sockaddr(src, 0, &ss, &len);
		if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
			snprintf(c->detail, sizeof c->detail,
				 "cannot send from %s: %s (run verify where that address is local)",
				 p25_addr_format(src, sbuf, sizeof sbuf), strerror(errno));
			close(fd);
			return -1;
		}
	}
	p25_verify_sockaddr(dst, port, &ss, &len);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto refused;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			c->ms = p25_verify_ms_since(&t0);
			snprintf(c->detail, sizeof c->detail, "no answer within %d ms (dropped?)",
				 timeout_ms);
			close(fd);
			return 1;
		}
		len = sizeof err;
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			goto refused;
	}
	c->ms = p25_verify_ms_since(&t0);
	c->status = P25_CHECK_PASS;
	snprintf(c->detail, sizeof c->detail, "connected in %.1f ms", c->ms);
	close(fd);
	return 0;
refused:
	c->ms = p25_verify_ms_since(&t0);
	snprintf(c->detail, sizeof c->detail, "%s after %.1f ms", strerror(err), c->ms);
	close(fd);
	/* Refusal and unreachability are what a block looks like from the host. */
	return err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH ||
			       err == ENETUNREACH || err == EACCES || err == EPERM
		       ? 1
		       : -1;
}

int p25_verify_new_id(char *buf, size_t buflen)
{
	unsigned char r[8];
	size_t got = 0;
	ssize_t k;

	while (got < sizeof r) {
		k = getrandom(r + got, sizeof r - got, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)k;
	}
	if (buflen < sizeof "port25-verify-" + 16)
		return -1;
	snprintf(buf, buflen, "port25-verify-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2],
		 r[3], r[4], r[5], r[6], r[7]);
	return 0;
}

char *p25_verify_message(const char *id, const char *from, const char *rcpt,
			 const struct p25_addr *src, time_t wall)
{
	char date[64], sbuf[P25_ADDR_STRLEN], *msg = NULL;
	struct tm tm;

	/* RFC 5322 date in UTC; the C locale's names are the RFC's. */
	gmtime_r(&wall, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (src)
		p25_addr_format(src, sbuf, sizeof sbuf);
	else
		strcpy(sbuf, "this host");
	if (asprintf(&msg,
		     "Date: %s\r\n"
		     "From: <%s>\r\n"
		     "To: <%s>\r\n"
		     "Subject: port25 verify %s from %s\r\n"
		     "Message-ID: <%s@port25.invalid>\r\n"
		     "X-Port25-Verify: %s\r\n"
		     "\r\n"
		     "Test message sent by port25 verify from %s to check that\r\n"
		     "this server still delivers on port 25 through the port 25 block.\r\n"
		     "Id: %s\r\n",
		     date, from, rcpt, id, sbuf, id, id, sbuf, id) < 0)
		return NULL;
	return msg;
}

/* Pick the MX of the target's family; with no binding any family will do. */
static const struct p25_verify_mx *pick_mx(const struct p25_verify_opts *o,
					   const struct p25_addr *a)
{
	for (size_t i = 0; i < o->nmx; i++)
		if (o->mx[i].addr.family == a->family)
			return &o->mx[i];
	return o->bind_source || o->nmx == 0 ? NULL : &o->mx[0];
}

static void check_open(const struct p25_addr *src, const struct p25_verify_mx *mx, uint16_t port,
		       int timeout_ms, struct p25_check *c)
{
	if (p25_verify_tcp(src, &mx->addr, port, timeout_ms, c) != 0)
		c->status = P25_CHECK_FAIL;
}

void p25_verify_run(const struct p25_policy *pol, const struct p25_verify_target *t,
		    const struct p25_verify_opts *o, struct p25_verify_result *r)
{
	const struct p25_verify_mx *mx;
	const struct p25_addr *src = o->bind_source ? &t->addr : NULL;
	const struct p25_check *all[4];

	memset(r, 0, sizeof *r);
	r->target = *t;
	p25_verify_policy(pol, t, r);
	if (o->nmx > 0) {
		mx = pick_mx(o, &t->addr);
		if (!mx) {
			r->smtp.status = P25_CHECK_FAIL;
			snprintf(r->smtp.detail, sizeof r->smtp.detail,
				 "no test exchanger of the IPv%d family to send from this address",
				 t->addr.family);
		} else {
			r->have_mx = true;
			r->mx = *mx;
			if (t->expect_blocked) {
				/* Never send a real message from an address that must be blocked. */
				int rc = p25_verify_tcp(src, &mx->addr, mx->port, o->timeout_ms,
							&r->smtp);
				if (rc == 0) {
					r->smtp.status = P25_CHECK_FAIL;
					snprintf(r->smtp.detail, sizeof r->smtp.detail,
						 "port %u connected in %.1f ms: not blocked",
						 mx->port, r->smtp.ms);
				} else if (rc == 1) {
					char d[sizeof r->smtp.detail];
					r->smtp.status = P25_CHECK_PASS;
					snprintf(d, sizeof d, "blocked: %.240s", r->smtp.detail);
					memcpy(r->smtp.detail, d, sizeof d);
				}
			} else {
				p25_verify_smtp(src, mx, o, r);
			}
			check_open(src, mx, 465, o->timeout_ms, &r->tcp465);
			check_open(src, mx, 587, o->timeout_ms, &r->tcp587);
		}
	}
	all[0] = &r->policy;
	all[1] = &r->smtp;
	all[2] = &r->tcp465;
	all[3] = &r->tcp587;
	r->pass = true;
	for (size_t i = 0; i < 4; i++)
		if (all[i]->status == P25_CHECK_FAIL)
			r->pass = false;
}

int p25_verify_mx_parse(const char *text, struct p25_verify_mx *mx, size_t cap, size_t *n,
			char *err, size_t errlen)
{
	char host[256];
	const char *colon, *port_text = NULL;
	struct addrinfo hints, *res, *ai;
	unsigned long port = 25;
	size_t hl;
	int rc;

	if (text[0] == '[') {
		const char *close_br = strchr(text, ']');
		if (!close_br || (close_br[1] && close_br[1] != ':')) {
			snprintf(err, errlen, "'%s': want [IPV6] or [IPV6]:PORT", text);
			return -1;
		}
		hl = (size_t)(close_br - text - 1);
		if (hl >= sizeof host)
			goto toolong;
		memcpy(host, text + 1, hl);
		host[hl] = '\0';
		if (close_br[1] == ':')
			port_text = close_br + 2;
	} else if ((colon = strchr(text, ':')) && strchr(colon + 1, ':')) {
		/* Two colons or more: a bare IPv6 address, port 25. */
		if (strlen(text) >= sizeof host)
			goto toolong;
		strcpy(host, text);
	} else {
		hl = colon ? (size_t)(colon - text) : strlen(text);
		if (hl >= sizeof host)
			goto toolong;
		memcpy(host, text, hl);
		host[hl] = '\0';
		if (colon)
			port_text = colon + 1;
	}
	if (port_text) {
		char *end;
		errno = 0;
		port = strtoul(port_text, &end, 10);
		if (!*port_text || *end || errno || port == 0 || port > 65535) {
			snprintf(err, errlen, "'%s': bad port '%s'", text, port_text);
			return -1;
		}
	}
	if (!*host) {
		snprintf(err, errlen, "'%s': no host", text);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		/* AI_ADDRCONFIG hides literals of a family without addresses here. */
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(host, NULL, &hints, &res) != 0) {
			snprintf(err, errlen, "'%s': %s", text, gai_strerror(rc));
			return -1;
		}
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct p25_verify_mx m;
		bool dup = false;
		if (ai->ai_family == AF_INET)
			p25_addr_from_v4(&m.addr, ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr));
		else if (ai->ai_family == AF_INET6)
			p25_addr_from_v6(&m.addr,
					 ((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr.s6_addr);
		else
			continue;
		m.port = (uint16_t)port;
		for (size_t i = 0; i < *n; i++)
			if (p25_addr_equal(&mx[i].addr, &m.addr) && mx[i].port == m.port)
				dup = true;
		if (dup)
			continue;
		if (*n >= cap) {
			freeaddrinfo(res);
			snprintf(err, errlen, "'%s': more than %zu test exchanger addresses", text, cap);
			return -1;
		}
		mx[(*n)++] = m;
	}
	freeaddrinfo(res);
	return 0;
toolong:
	snprintf(err, errlen, "'%.64s...': host name too long", text);
	return -1;
}

char *p25_verify_mx_format(const struct p25_verify_mx *mx, char *buf, size_t buflen)
{
	char a[P25_ADDR_STRLEN];

	p25_addr_format(&mx->addr, a, sizeof a);
	if (mx->addr.family == P25_INET6)
		snprintf(buf, buflen, "[%s]:%u", a, mx->port);
	else
		snprintf(buf, buflen, "%s:%u", a, mx->port);
	return buf;
}

const struct p25_check *p25_verify_failures(const struct p25_verify_result *r, char *buf,
					    size_t buflen)
{
	const struct p25_check *all[] = {&r->policy, &r->smtp, &r->tcp465, &r->tcp587};
	static const char *const names[] = {"policy", "smtp/25", "tcp/465", "tcp/587"};
	const struct p25_check *first = NULL;
	size_t off = 0;

	if (buflen)
		buf[0] = '\0';
	for (size_t i = 0; i < 4; i++) {
		if (all[i]->status != P25_CHECK_FAIL)
			continue;
		if (!first)
			first = all[i];
		if (off < buflen) {
			int k = snprintf(buf + off, buflen - off, "%s%s", off ? ", " : "", names[i]);
			off += k > 0 ? (size_t)k : 0;
		}
	}
	return first;
}

static json_t *check_json(const struct p25_check *c)
{
	json_t *j = json_pack("{s:s}", "status", p25_check_status_name(c->status));

	if (c->status != P25_CHECK_SKIPPED) {
		json_object_set_new(j, "ms", json_real((double)(int64_t)(c->ms * 10) / 10));
		json_object_set_new(j, "detail", json_string(c->detail));
	}
	return j;
}

json_t *p25_verify_result_json(const struct p25_verify_result *r, const struct p25_model *m)
{
	char buf[P25_PREFIX_STRLEN + 8];
	ssize_t pi = r->target.permit >= 0 ? r->target.permit : r->decision.permit;
	ssize_t oi = r->decision.org;
	json_t *j, *pol, *smtp;

	j = json_pack("{s:s, s:s, s:b}", "address",
		      p25_addr_format(&r->target.addr, buf, sizeof buf), "expect",
		      r->target.expect_blocked ? "blocked" : "permitted", "pass", r->pass);
	if (pi >= 0) {
		const struct p25_permit *pm = &m->permits[pi];
		json_object_set_new(j, "permit",
				    json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)pm->id,
					      "prefix",
					      p25_prefix_format(&pm->prefix, buf, sizeof buf),
					      "kind", p25_kind_name(pm->kind), "description",
					      pm->description));
		oi = (ssize_t)pm->org;
	} else {
		json_object_set_new(j, "permit", json_null());
	}
	json_object_set_new(j, "org", oi >= 0 ? json_string(m->orgs[oi].handle) : json_null());
	pol = check_json(&r->policy);
	json_object_set_new(pol, "verdict", json_string(p25_verdict_name(r->decision.verdict)));
	json_object_set_new(pol, "reason", json_string(p25_reason_text(r->decision.reason)));
	json_object_set_new(j, "policy", pol);
	smtp = check_json(&r->smtp);
	json_object_set_new(smtp, "mx", r->have_mx ? json_string(p25_verify_mx_format(
								&r->mx, buf, sizeof buf))
						   : json_null());
	json_object_set_new(smtp, "message_id",
			    r->message_id[0] ? json_string(r->message_id) : json_null());
	json_object_set_new(j, "smtp", smtp);
	json_object_set_new(j, "tcp465", check_json(&r->tcp465));
	json_object_set_new(j, "tcp587", check_json(&r->tcp587));
	return j;
}
