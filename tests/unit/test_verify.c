/*
 * Unit tests for verify: targets from the model, the policy check both
 * ways, --mx parsing, the test message, TCP checks on loopback and the
 * JSON shape, a registry request's targets.  The SMTP path runs against real
 * Postfix in test_e2e_mail.sh and a small responder in test_verify_request.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "verify/verify.h"

#define T0 1795000000 /* 2026-11-18 */

static struct p25_prefix pfx(const char *s)
{
	struct p25_prefix p;
	struct p25_diag d;

	if (p25_prefix_parse(s, 0, &p, &d) < 0)
		fail_msg("bad prefix %s: %s", s, d.error);
	return p;
}

static struct p25_addr addr(const char *s)
{
	struct p25_addr a;
	struct p25_diag d;

	if (p25_addr_parse(s, 0, &a, &d) < 0)
		fail_msg("bad address %s: %s", s, d.error);
	return a;
}

static void add_permit(struct p25_model *m, size_t o, const char *prefix, p25_time expires)
{
	struct p25_permit pm = {
		.id = (int64_t)m->npermits + 1,
		.org = o,
		.prefix = pfx(prefix),
		.kind = P25_KIND_MAIL_SERVER,
		.description = "mx",
		.requested_by = "t",
		.approved_by = "t",
		.created = T0 - P25_DAY,
		.expires = expires,
	};
	assert_true(p25_model_add_permit(m, &pm) >= 0);
}

/* acme (active, both): 192.0.2.0/24 and 2001:db8:1::/48; beta pending. */
static void demo_model(struct p25_model *m)
{
	struct p25_prefix p;
	ssize_t acme, beta;

	p25_model_init(m);
	acme = p25_model_add_org(m, 1, "acme", "Acme", P25_ENROLL_ACTIVE, P25_MODE_BOTH,
				 P25_ACTION_REJECT);
	beta = p25_model_add_org(m, 2, "beta", "Beta", P25_ENROLL_PENDING, P25_MODE_OUTBOUND,
				 P25_ACTION_DROP);
	assert_true(acme >= 0 && beta >= 0);
	p = pfx("192.0.2.0/24");
	assert_true(p25_model_add_space(m, 1, (size_t)acme, &p, "v4") >= 0);
	p = pfx("2001:db8:1::/48");
	assert_true(p25_model_add_space(m, 2, (size_t)acme, &p, "v6") >= 0);
	p = pfx("198.51.100.0/24");
	assert_true(p25_model_add_space(m, 3, (size_t)beta, &p, "beta") >= 0);
	add_permit(m, (size_t)acme, "192.0.2.25/32", 0);
	add_permit(m, (size_t)acme, "2001:db8:1::25/128", 0);
	add_permit(m, (size_t)acme, "192.0.2.64/28", 0);
	add_permit(m, (size_t)acme, "192.0.2.99/32", T0 - 60); /* expired */
	add_permit(m, (size_t)beta, "198.51.100.10/32", 0);
}

static void assert_addr(const struct p25_addr *a, const char *want)
{
	char buf[P25_ADDR_STRLEN];
	assert_string_equal(p25_addr_format(a, buf, sizeof buf), want);
}

static void test_first_host(void **state)
{
	struct p25_prefix p;
	struct p25_addr a;

	(void)state;
	p = pfx("192.0.2.25/32");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "192.0.2.25");
	p = pfx("192.0.2.0/24");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "192.0.2.1");
	p = pfx("192.0.2.6/31");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "192.0.2.6");
	p = pfx("2001:db8::25/128");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "2001:db8::25");
	p = pfx("2001:db8:1::/64");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "2001:db8:1::1");
	p = pfx("2001:db8:1::/127");
	p25_verify_first_host(&p, &a);
	assert_addr(&a, "2001:db8:1::");
}

static void test_permitted_targets(void **state)
{
	struct p25_verify_target *t;
	struct p25_model m;
	ssize_t n;

	(void)state;
	demo_model(&m);
	n = p25_verify_permitted(&m, T0, &t);
	assert_int_equal(n, 4); /* the expired variance is left out */
	assert_addr(&t[0].addr, "192.0.2.25");
	assert_addr(&t[1].addr, "2001:db8:1::25");
	assert_addr(&t[2].addr, "192.0.2.65");
	assert_addr(&t[3].addr, "198.51.100.10");
	for (ssize_t i = 0; i < n; i++)
		assert_false(t[i].expect_blocked);
	assert_int_equal(t[2].permit, 2);
	assert_int_equal(t[3].permit, 4);
	free(t);
	/* Before the variance expired it is verified too. */
	n = p25_verify_permitted(&m, T0 - 120, &t);
	assert_int_equal(n, 5);
	free(t);
	p25_model_free(&m);
}

static void check_policy(const struct p25_policy *pol, const char *a, bool blocked,
			 enum p25_check_status want, enum p25_verdict verdict)
{
	struct p25_verify_target t = {.addr = addr(a), .expect_blocked = blocked, .permit = -1};
	struct p25_verify_result r;

	memset(&r, 0, sizeof r);
	p25_verify_policy(pol, &t, &r);
	if (r.policy.status != want || r.decision.verdict != verdict)
		fail_msg("%s%s: status %s verdict %s (%s)", a, blocked ? " (expect blocked)" : "",
			 p25_check_status_name(r.policy.status),
			 p25_verdict_name(r.decision.verdict), r.policy.detail);
	assert_true(r.policy.detail[0] != '\0');
}

static void test_policy_check(void **state)
{
	struct p25_policy *pol;
	struct p25_model m;
	char err[256];

	(void)state;
	demo_model(&m);
	pol = p25_policy_build(&m, T0, err, sizeof err);
	assert_non_null(pol);
	check_policy(pol, "192.0.2.25", false, P25_CHECK_PASS, P25_PERMIT);
	check_policy(pol, "2001:db8:1::25", false, P25_CHECK_PASS, P25_PERMIT);
	check_policy(pol, "192.0.2.70", false, P25_CHECK_PASS, P25_PERMIT);
	check_policy(pol, "192.0.2.50", false, P25_CHECK_FAIL, P25_BLOCK);
	check_policy(pol, "2001:db8:1::50", false, P25_CHECK_FAIL, P25_BLOCK);
	check_policy(pol, "192.0.2.99", false, P25_CHECK_FAIL, P25_BLOCK); /* expired */
	/* A pending org is not enforced: its server's mail flows, a pass. */
	check_policy(pol, "198.51.100.10", false, P25_CHECK_PASS, P25_NOT_COVERED);
	check_policy(pol, "203.0.113.1", false, P25_CHECK_PASS, P25_NOT_COVERED);
	/* The other way round. */
	check_policy(pol, "192.0.2.50", true, P25_CHECK_PASS, P25_BLOCK);
	check_policy(pol, "2001:db8:1::50", true, P25_CHECK_PASS, P25_BLOCK);
	check_policy(pol, "192.0.2.25", true, P25_CHECK_FAIL, P25_PERMIT);
	check_policy(pol, "203.0.113.1", true, P25_CHECK_FAIL, P25_NOT_COVERED);
	p25_policy_free(pol);
	p25_model_free(&m);
}

static void test_mx_parse(void **state)
{
	struct p25_verify_mx mx[3];
	char err[256], buf[64];
	size_t n = 0;

	(void)state;
	assert_int_equal(p25_verify_mx_parse("198.51.100.7", mx, 3, &n, err, sizeof err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(mx[0].port, 25);
	assert_string_equal(p25_verify_mx_format(&mx[0], buf, sizeof buf), "198.51.100.7:25");
	assert_int_equal(p25_verify_mx_parse("[2001:db8:2::7]:2525", mx, 3, &n, err, sizeof err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(mx[1].port, 2525);
	assert_string_equal(p25_verify_mx_format(&mx[1], buf, sizeof buf), "[2001:db8:2::7]:2525");
	/* A bare IPv6 address: every colon belongs to the address. */
	assert_int_equal(p25_verify_mx_parse("2001:db8:2::8", mx, 3, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(mx[2].port, 25);
	/* The same address again is not added twice; a fourth is refused. */
	assert_int_equal(p25_verify_mx_parse("198.51.100.7:25", mx, 3, &n, err, sizeof err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(p25_verify_mx_parse("198.51.100.9", mx, 3, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "more than"));

	n = 0;
	assert_int_equal(p25_verify_mx_parse("198.51.100.7:0", mx, 3, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "bad port"));
	assert_int_equal(p25_verify_mx_parse("198.51.100.7:65536", mx, 3, &n, err, sizeof err), -1);
	assert_int_equal(p25_verify_mx_parse("198.51.100.7:", mx, 3, &n, err, sizeof err), -1);
	assert_int_equal(p25_verify_mx_parse("[2001:db8::7", mx, 3, &n, err, sizeof err), -1);
	assert_int_equal(p25_verify_mx_parse("[2001:db8::7]x", mx, 3, &n, err, sizeof err), -1);
	assert_int_equal(p25_verify_mx_parse(":25", mx, 3, &n, err, sizeof err), -1);
	assert_int_equal(n, 0);
}

static void test_message(void **state)
{
	char id[P25_VERIFY_IDLEN], id2[P25_VERIFY_IDLEN], *msg;
	struct p25_addr src = addr("2001:db8:1::25");

	(void)state;
	assert_int_equal(p25_verify_new_id(id, sizeof id), 0);
	assert_int_equal(p25_verify_new_id(id2, sizeof id2), 0);
	assert_int_equal(strlen(id), strlen("port25-verify-") + 16);
	assert_memory_equal(id, "port25-verify-", 14);
	assert_int_equal(strspn(id + 14, "0123456789abcdef"), 16);
	assert_string_not_equal(id, id2);
	assert_int_equal(p25_verify_new_id(id, 10), -1);

	msg = p25_verify_message("port25-verify-0011223344556677", "a@x.example", "b@y.example",
				 &src, 1795000000);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "Date: Wed, 18 Nov 2026 11:06:40 +0000\r\n"));
	assert_non_null(strstr(msg, " +0000\r\n"));
	assert_non_null(strstr(msg, "\r\nMessage-ID: <port25-verify-0011223344556677@port25.invalid>\r\n"));
	assert_non_null(strstr(msg, "\r\nSubject: port25 verify port25-verify-0011223344556677 from 2001:db8:1::25\r\n"));
	assert_non_null(strstr(msg, "\r\nTo: <b@y.example>\r\n"));
	assert_non_null(strstr(msg, "\r\n\r\n")); /* header and body separated */
	/* SMTP wants CRLF everywhere: no bare LF, no line starting with a dot. */
	for (const char *p = msg; *p; p++) {
		if (*p == '\n')
			assert_true(p > msg && p[-1] == '\r');
		if (*p == '\n')
			assert_true(p[1] != '.');
	}
	free(msg);
}

/* A listening socket on loopback; returns the fd and its port. */
static int listener(int family, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&ss, 0, sizeof ss);
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *s4;
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		len = sizeof *s6;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof ss;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static void tcp_family(int family, const char *lo, const char *foreign)
{
	struct p25_addr dst = addr(lo), src = addr(lo), bad = addr(foreign);
	struct p25_check c;
	uint16_t port;
	int fd = listener(family, &port);

	if (fd < 0) {
		/* No loopback of this family (IPv6 disabled): nothing to test. */
		assert_int_equal(family, AF_INET6);
		return;
	}
	memset(&c, 0, sizeof c);
	assert_int_equal(p25_verify_tcp(NULL, &dst, port, 2000, &c), 0);
	assert_int_equal(c.status, P25_CHECK_PASS);
	assert_int_equal(p25_verify_tcp(&src, &dst, port, 2000, &c), 0);
	/* A source address this host does not hold is a local failure, not "blocked". */
	memset(&c, 0, sizeof c);
	assert_int_equal(p25_verify_tcp(&bad, &dst, port, 2000, &c), -1);
	assert_int_equal(c.status, P25_CHECK_FAIL);
	assert_non_null(strstr(c.detail, "cannot send from"));
	close(fd);
	/* Nothing listens any more: refused, which is what a reject looks like. */
	memset(&c, 0, sizeof c);
	assert_int_equal(p25_verify_tcp(NULL, &dst, port, 2000, &c), 1);
	assert_int_equal(c.status, P25_CHECK_FAIL);
	assert_non_null(strstr(c.detail, "refused"));
}

static void test_tcp(void **state)
{
	(void)state;
	tcp_family(AF_INET, "127.0.0.1", "192.0.2.99");
	tcp_family(AF_INET6, "::1", "2001:db8:ffff::99");
}

/* A whole run against loopback listeners: the MX's 25 is closed (blocked). */
static void test_run_expect_blocked(void **state)
{
	struct p25_verify_target t = {.addr = addr("192.0.2.50"), .expect_blocked = true,
				      .permit = -1};
	struct p25_verify_mx mx;
	struct p25_verify_opts o = {.mx = &mx, .nmx = 1, .timeout_ms = 2000,
				    .mail_from = "a@x.example", .rcpt = "b@y.example"};
	struct p25_verify_result r;
	struct p25_policy *pol;
	struct p25_model m;
	char err[256];
	json_t *j;
	int fd;
	uint16_t port;

	(void)state;
	demo_model(&m);
	pol = p25_policy_build(&m, T0, err, sizeof err);
	assert_non_null(pol);
	/* A port that was just free: nothing listens, the "blocked" 25. */
	fd = listener(AF_INET, &port);
	assert_true(fd >= 0);
	close(fd);
	mx.addr = addr("127.0.0.1");
	mx.port = port;
	p25_verify_run(pol, &t, &o, &r);
	assert_int_equal(r.policy.status, P25_CHECK_PASS);
	assert_int_equal(r.smtp.status, P25_CHECK_PASS);
	assert_non_null(strstr(r.smtp.detail, "blocked"));
	assert_string_equal(r.message_id, ""); /* nothing is sent from a blocked address */
	/* 465 and 587 on loopback are closed here, so the run fails on them. */
	assert_int_equal(r.tcp465.status, P25_CHECK_FAIL);
	assert_false(r.pass);

	j = p25_verify_result_json(&r, &m);
	assert_string_equal(json_string_value(json_object_get(j, "address")), "192.0.2.50");
	assert_string_equal(json_string_value(json_object_get(j, "expect")), "blocked");
	assert_true(json_is_false(json_object_get(j, "pass")));
	assert_string_equal(json_string_value(json_object_get(j, "org")), "acme");
	assert_true(json_is_null(json_object_get(j, "permit")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "policy"), "verdict")),
		"block");
	assert_true(json_is_null(json_object_get(json_object_get(j, "smtp"), "message_id")));
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "tcp587"), "status")), "fail");
	json_decref(j);

	/* With binding, an IPv6 target and only an IPv4 MX cannot be checked. */
	t.addr = addr("2001:db8:1::50");
	o.bind_source = true;
	p25_verify_run(pol, &t, &o, &r);
	assert_int_equal(r.smtp.status, P25_CHECK_FAIL);
	assert_non_null(strstr(r.smtp.detail, "IPv6"));
	assert_int_equal(r.tcp465.status, P25_CHECK_SKIPPED);

	/* No MX: the policy alone decides. */
	o.nmx = 0;
	t.expect_blocked = false;
	t.addr = addr("192.0.2.25");
	p25_verify_run(pol, &t, &o, &r);
	assert_true(r.pass);
	assert_int_equal(r.smtp.status, P25_CHECK_SKIPPED);
	j = p25_verify_result_json(&r, &m);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "permit"), "id")), 1);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "smtp"), "status")),
			    "skipped");
	json_decref(j);
	p25_policy_free(pol);
	p25_model_free(&m);
}

/* A request's targets: the servers through the permits it created; removals must be blocked. */
static void test_request_targets(void **state)
{
	struct p25_verify_target *t = NULL;
	struct p25_model m;
	char err[256];
	json_t *req;
	ssize_t n;
	int64_t created[] = {3, 9}; /* 9: another id, not in the model */

	(void)state;
	demo_model(&m);
	/* Permit 3 is 192.0.2.64/28; 192.0.2.25 was created by another request (not listed). */
	req = json_pack("{s:I, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "id",
			(json_int_t)5, "type", "add-permit", "servers", "address", "192.0.2.64/28",
			"kind", "mail-server", "description", "a", "address", "192.0.2.25", "kind",
			"mail-server", "description", "b", "address", "2001:db8:1::77", "kind",
			"mail-server", "description", "gone");
	n = p25_verify_request_targets(&m, req, created, 2, &t, err, sizeof err);
	assert_int_equal(n, 3);
	assert_addr(&t[0].addr, "192.0.2.65");
	assert_int_equal(t[0].permit, 2); /* model index of permit id 3 */
	assert_false(t[0].expect_blocked);
	assert_addr(&t[1].addr, "192.0.2.25");
	assert_int_equal(t[1].permit, -1); /* its permit is not one this request created */
	assert_addr(&t[2].addr, "2001:db8:1::77");
	assert_int_equal(t[2].permit, -1); /* gone since: checked by address */
	free(t);
	json_decref(req);

	/* A signup works the same way. */
	req = json_pack("{s:I, s:s, s:[{s:s}]}", "id", (json_int_t)6, "type", "signup", "servers",
			"address", "192.0.2.25");
	created[0] = 1;
	n = p25_verify_request_targets(&m, req, created, 1, &t, err, sizeof err);
	assert_int_equal(n, 1);
	assert_int_equal(t[0].permit, 0);
	free(t);
	json_decref(req);

	/* A removal: every address must be blocked, whatever permits there are. */
	req = json_pack("{s:I, s:s, s:[{s:I, s:s}, {s:I, s:s}]}", "id", (json_int_t)7, "type",
			"remove-permit", "remove", "permit_id", (json_int_t)4, "address",
			"192.0.2.99", "permit_id", (json_int_t)2, "address", "2001:db8:1::25");
	n = p25_verify_request_targets(&m, req, created, 1, &t, err, sizeof err);
	assert_int_equal(n, 2);
	assert_true(t[0].expect_blocked && t[1].expect_blocked);
	assert_int_equal(t[0].permit, -1);
	assert_addr(&t[1].addr, "2001:db8:1::25");
	free(t);
	json_decref(req);

	/* Malformed: no list, a bad address. */
	req = json_pack("{s:I, s:s}", "id", (json_int_t)8, "type", "add-permit");
	assert_int_equal(p25_verify_request_targets(&m, req, NULL, 0, &t, err, sizeof err), -1);
	assert_null(t);
	assert_non_null(strstr(err, "request 8 has no servers list"));
	json_decref(req);
	req = json_pack("{s:I, s:s, s:[{s:s}]}", "id", (json_int_t)9, "type", "add-permit",
			"servers", "address", "192.0.2.300");
	assert_int_equal(p25_verify_request_targets(&m, req, NULL, 0, &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "request 9 item 1"));
	json_decref(req);
	p25_model_free(&m);
}

static void test_failures(void **state)
{
	struct p25_verify_result r;
	char buf[64];

	(void)state;
	memset(&r, 0, sizeof r);
	r.policy.status = P25_CHECK_PASS;
	assert_null(p25_verify_failures(&r, buf, sizeof buf));
	assert_string_equal(buf, "");
	r.smtp.status = P25_CHECK_FAIL;
	snprintf(r.smtp.detail, sizeof r.smtp.detail, "refused");
	r.tcp587.status = P25_CHECK_FAIL;
	assert_ptr_equal(p25_verify_failures(&r, buf, sizeof buf), &r.smtp);
	assert_string_equal(buf, "smtp/25, tcp/587");
	r.policy.status = P25_CHECK_FAIL;
	assert_ptr_equal(p25_verify_failures(&r, buf, 10), &r.policy);
	assert_string_equal(buf, "policy, s"); /* cut to the buffer */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_host),
		cmocka_unit_test(test_permitted_targets),
		cmocka_unit_test(test_policy_check),
		cmocka_unit_test(test_mx_parse),
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_run_expect_blocked),
		cmocka_unit_test(test_request_targets),
		cmocka_unit_test(test_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
