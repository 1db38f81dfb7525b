/*
 * Mail with members: templates and their escaping, the inbound parser
 * (Received headers, the trusted MX, tokens), the outbox's claims and
 * leases, notices queued in the change's own transaction, campaigns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify/notify.h"
#include "registry/registry.h"
#include "service/service.h"

static p25_time at(const char *iso)
{
	char err[200];
	p25_time t = 0;
	assert_int_equal(p25_time_parse(iso, &t, err, sizeof err), 0);
	return t;
}

static char *render(const char *tmpl, const char *ctx_json, enum p25_escape esc)
{
	json_t *ctx = json_loads(ctx_json, 0, NULL);
	struct p25_buf b;
	char err[200];

	assert_non_null(ctx);
	p25_buf_init(&b);
	assert_int_equal(p25_template_render(tmpl, strlen(tmpl), ctx, esc, &b, err, sizeof err), 0);
	json_decref(ctx);
	return b.data ? p25_buf_steal(&b) : strdup("");
}

static void test_template_values_and_sections(void **state)
{
	char *s;

	(void)state;
	s = render("Hi {{name}}, {{a.b}}!{{missing}}", "{\"name\":\"X\",\"a\":{\"b\":3}}", P25_ESC_TEXT);
	assert_string_equal(s, "Hi X, 3!");
	free(s);
	s = render("{{#list}}[{{address}}]{{/list}}{{^none}}empty{{/none}}",
	           "{\"list\":[{\"address\":\"192.0.2.1\"},{\"address\":\"2001:db8::1\"}]}",
	           P25_ESC_TEXT);
	assert_string_equal(s, "[192.0.2.1][2001:db8::1]empty");
	free(s);
	/* An outer name stays visible inside a section; a literal {{ is escaped. */
	s = render("{{#r}}{{org}}:{{id}}{{/r}} \\{{x}}", "{\"org\":\"o\",\"r\":{\"id\":7}}",
	           P25_ESC_TEXT);
	assert_string_equal(s, "o:7 {{x}}");
	free(s);
}

static void test_template_escaping(void **state)
{
	const char *evil = "{\"n\":\"A <b>&</b> \\\"q\\\" 'x'\\r\\nBcc: e@x\\u0001\"}";
	char *s;

	(void)state;
	/* A header value stays one line whatever the value holds. */
	s = render("Subject: {{n}}", evil, P25_ESC_HEADER);
	assert_null(strchr(s, '\n'));
	assert_null(strchr(s, '\r'));
	assert_null(strchr(s, '\001'));
	free(s);
	s = render("<p>{{n}}</p>", evil, P25_ESC_HTML);
	assert_non_null(strstr(s, "A &lt;b&gt;&amp;&lt;/b&gt; &quot;q&quot; &#39;x&#39;"));
	assert_null(strstr(s, "<b>"));
	free(s);
	/* Text keeps line breaks, drops other control characters. */
	s = render("{{n}}", evil, P25_ESC_TEXT);
	assert_null(strchr(s, '\r'));
	assert_null(strchr(s, '\001'));
	free(s);
	/* A value is never rendered again: placeholders in data stay text. */
	s = render("{{n}}", "{\"n\":\"{{secret}}\",\"secret\":\"S\"}", P25_ESC_TEXT);
	assert_string_equal(s, "{{secret}}");
	free(s);
}

static void test_template_errors(void **state)
{
	static const char *const bad[] = {"{{x", "{{#a}}no end", "{{/a}}", "{{#a}}{{/b}}",
	                                  "{{bad name}}", "{{}}"};
	json_t *ctx = json_object();

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct p25_buf b;
		char err[200] = "";
		p25_buf_init(&b);
		assert_int_equal(
		    p25_template_render(bad[i], strlen(bad[i]), ctx, P25_ESC_TEXT, &b, err, sizeof err),
		    -1);
		assert_non_null(strstr(err, "line 1"));
		p25_buf_free(&b);
	}
	json_decref(ctx);
}

static void test_received_parse(void **state)
{
	struct p25_received r;
	const char *pf = "from mx.org.example (unknown [192.0.2.25])\r\n\tby mx.ops.example (Postfix) "
	                 "with ESMTP id 4F3C; Mon, 23 Nov 2026 10:00:00 +0000 (UTC)";
	const char *v6 = "from mx (mx.org.example [IPv6:2001:db8:1::25]) by mx.ops.example with "
	                 "ESMTPS id X for <verify+ab@ops.example>; date";

	(void)state;
	assert_int_equal(p25_received_parse(pf, strlen(pf), &r), 0);
	assert_string_equal(r.from, "mx.org.example");
	assert_string_equal(r.addr, "192.0.2.25");
	assert_string_equal(r.by, "mx.ops.example");
	assert_string_equal(r.with, "ESMTP");
	assert_int_equal(p25_received_parse(v6, strlen(v6), &r), 0);
	assert_string_equal(r.addr, "2001:db8:1::25");
	/* What a sender could make of its HELO does not parse: unbalanced, or a stray word. */
	static const char *const bad[] = {
	    "from x) (unknown [192.0.2.25]) by mx.ops.example",
	    "from (unknown (unknown [192.0.2.50]) by mx.ops.example; d",
	    "from a b (unknown [192.0.2.25]) by mx.ops.example",
	    "from a (x [192.0.2.1])",
	    "by by mx",
	    "",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p25_received_parse(bad[i], strlen(bad[i]), &r), -1);
}

static void test_connecting_only_from_the_mx(void **state)
{
	/* The MX's header on top, a forged one below naming the permitted server. */
	const char *msg =
	    "Received: from ws (unknown [192.0.2.50])\r\n by mx.ops.example (Postfix) with ESMTP "
	    "id A; d\r\n"
	    "Received: from mx.org.example (mx.org.example [192.0.2.25]) by mx.ops.example "
	    "(Postfix) with ESMTP id FORGED; d\r\n"
	    "Subject: check a1b2c3d4e5f60718293a4b5c6d7e8f90\r\n"
	    "Message-ID: <x@y>\r\n\r\nbody\r\n";
	const char *hop =
	    "Received: from localhost (localhost [127.0.0.1]) by mx.ops.example (Postfix) with "
	    "ESMTP id B; d\r\n"
	    "Received: from mx.org.example (unknown [2001:db8:1::25]) by mx.ops.example (Postfix) "
	    "with ESMTPSA id C; d\r\n\r\n";
	const char *other = "Received: from a (b [192.0.2.25]) by evil.example with ESMTP; d\r\n\r\n";
	struct p25_inmsg *m = calloc(1, sizeof *m);
	struct p25_addr a;
	char buf[P25_ADDR_STRLEN], why[300], tok[80];
	bool sub;

	(void)state;
	assert_int_equal(p25_inmsg_parse(msg, strlen(msg), m), 0);
	assert_int_equal(m->nreceived, 2);
	assert_int_equal(p25_inmsg_connecting(m, "mx.ops.example", &a, &sub, why, sizeof why), 0);
	assert_string_equal(p25_addr_format(&a, buf, sizeof buf), "192.0.2.50");
	assert_false(sub);
	assert_string_equal(m->message_id, "<x@y>");
	assert_int_equal(p25_inmsg_token("<verify+0123456789abcdef0123@ops.example>", m->subject, tok,
	                                 sizeof tok),
	                 0);
	assert_string_equal(tok, "0123456789abcdef0123");
	assert_int_equal(p25_inmsg_token("verify@ops.example", m->subject, tok, sizeof tok), 0);
	assert_string_equal(tok, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
	assert_int_equal(p25_inmsg_token("verify+short@ops.example", "none here", tok, sizeof tok), -1);
	/* The MX's own loopback hop is skipped; an authenticated submission is flagged. */
	assert_int_equal(p25_inmsg_parse(hop, strlen(hop), m), 0);
	assert_int_equal(p25_inmsg_connecting(m, "mx.ops.example", &a, &sub, why, sizeof why), 0);
	assert_string_equal(p25_addr_format(&a, buf, sizeof buf), "2001:db8:1::25");
	assert_true(sub);
	/* Not through our MX: nothing is believed. */
	assert_int_equal(p25_inmsg_parse(other, strlen(other), m), 0);
	assert_int_equal(p25_inmsg_connecting(m, "mx.ops.example", &a, &sub, why, sizeof why), -1);
	assert_non_null(strstr(why, "evil.example"));
	assert_int_equal(p25_inmsg_parse("no header at all", 16, m), -1);
	free(m);
}

/* ---- the registry side ---- */

static struct p25_notify_config cfg;

static int setup(void **state)
{
	struct p25_registry *reg;
	char err[256];

	assert_int_equal(p25_registry_open(":memory:", &reg, err, sizeof err), 0);
	p25_notify_config_default(&cfg);
	snprintf(cfg.from, sizeof cfg.from, "port25@ops.example");
	snprintf(cfg.verify_address, sizeof cfg.verify_address, "verify@ops.example");
	*state = reg;
	return 0;
}

static int teardown(void **state)
{
	p25_registry_close(*state);
	return 0;
}

static struct p25_auth op(const char *iso)
{
	return (struct p25_auth){.actor = "tester", .role = P25_ROLE_OPERATOR, .now = at(iso)};
}

static size_t count(struct p25_registry *reg, const char *template, const char *state)
{
	struct p25_notice_filter f = {.template = template};
	json_t *rows;
	size_t n;

	if (state) {
		f.by_state = true;
		assert_int_equal(p25_notice_state_parse(state, &f.state), 0);
	}
	assert_int_equal(p25_notice_list(reg, &f, &rows), 0);
	n = json_array_size(rows);
	json_decref(rows);
	return n;
}

static void org_with_contacts(struct p25_service *svc, const char *org, const char *prefix,
                              bool contacts)
{
	struct p25_auth a = op("2026-11-23T09:00:00Z");
	char email[64];

	assert_int_equal(p25_service_org_add(svc, &a, org, org, P25_MODE_OUTBOUND, P25_ACTION_REJECT),
	                 0);
	assert_int_equal(p25_service_prefix_add(svc, &a, org, prefix, "", 0), 0);
	if (!contacts)
		return;
	snprintf(email, sizeof email, "sec@%s.example", org);
	assert_int_equal(p25_service_contact_add(svc, &a, org, "Sec", email, "", P25_ROLE_SECURITY,
	                                         NULL),
	                 0);
	snprintf(email, sizeof email, "tech@%s.example", org);
	assert_int_equal(p25_service_contact_add(svc, &a, org, "Tech", email, "",
	                                         P25_ROLE_TECHNICAL, NULL),
	                 0);
}

static int64_t submit(struct p25_service *svc, const char *org, const char *addr)
{
	struct p25_auth a = op("2026-11-23T10:00:00Z");
	struct p25_request_server s = {.address = addr, .kind = P25_KIND_MAIL_SERVER,
	                               .description = "mx"};
	struct p25_request_spec spec = {.org = org, .type = P25_REQ_SIGNUP, .servers = &s,
	                                .nservers = 1};
	int64_t id = 0;

	assert_int_equal(p25_service_request_submit(svc, &a, &spec, &id), 0);
	return id;
}

static void test_notices_in_the_change_transaction(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service_options opt = {.notify = &cfg};
	struct p25_service *svc;
	struct p25_auth a = op("2026-11-23T10:00:00Z");
	json_t *v = NULL;
	int64_t req;

	assert_int_equal(p25_service_open(reg, &opt, &svc), 0);
	org_with_contacts(svc, "acme", "192.0.2.0/24", true);
	org_with_contacts(svc, "lonely", "198.51.100.0/24", false);
	req = submit(svc, "acme", "192.0.2.25");
	assert_int_equal(count(reg, "request-received", "queued"), 2);
	/* No contact: one undeliverable notice, visible, not dropped. */
	submit(svc, "lonely", "198.51.100.25");
	assert_int_equal(count(reg, "request-received", "undeliverable"), 1);
	/* A step that fails leaves no notice. */
	assert_int_not_equal(p25_service_request_apply(svc, &a, req, false), 0);
	assert_int_equal(count(reg, "request-applied", NULL), 0);
	assert_int_equal(p25_service_request_approve(svc, &a, req), 0);
	assert_int_equal(p25_service_request_apply(svc, &a, req, false), 0);
	assert_int_equal(count(reg, "request-applied", "queued"), 2);
	/* The applied notice created the verification token, with its deadline. */
	assert_int_equal(p25_verification_show(reg, req, &v), 0);
	assert_string_equal(json_string_value(json_object_get(v, "deadline")),
	                    "2026-11-30T10:00:00Z");
	assert_non_null(strstr(json_string_value(json_object_get(v, "address")), "verify+"));
	json_decref(v);
	p25_service_close(svc);
}

/*
 * A sign-up applied with its activation scheduled (issue 14's apply --at):
 * the applied notice says when the block starts, and the member verifies
 * after that, by the activation plus verify-within; the template says so.
 */
static void test_applied_notice_of_a_scheduled_signup(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service_options opt = {.notify = &cfg};
	struct p25_notice_filter f = {.template = "request-applied"};
	struct p25_service *svc;
	struct p25_auth a = op("2026-11-23T10:00:00Z");
	json_t *v = NULL, *rows = NULL, *n = NULL, *data;
	char *text, *tmpl;
	size_t len;
	FILE *fp;
	int64_t req;

	assert_int_equal(p25_service_open(reg, &opt, &svc), 0);
	org_with_contacts(svc, "acme", "192.0.2.0/24", true);
	req = submit(svc, "acme", "192.0.2.25");
	assert_int_equal(p25_service_request_approve(svc, &a, req), 0);
	assert_int_equal(
	    p25_service_request_apply_at(svc, &a, req, false, at("2026-11-26T07:00:00Z")), 0);
	assert_int_equal(p25_verification_show(reg, req, &v), 0);
	assert_string_equal(json_string_value(json_object_get(v, "deadline")),
	                    "2026-12-03T07:00:00Z");
	json_decref(v);
	assert_int_equal(p25_notice_list(reg, &f, &rows), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(p25_notice_show(reg, json_integer_value(json_object_get(
	                                          json_array_get(rows, 0), "id")),
	                                 &n),
	                 0);
	assert_non_null(data = json_object_get(n, "data"));
	assert_string_equal(json_string_value(json_object_get(data, "activates")),
	                    "2026-11-26T07:00:00Z");
	/* The template as shipped tells the member. */
	assert_non_null(fp = fopen("data/templates/request-applied.txt", "r"));
	tmpl = calloc(1, 65536);
	len = fread(tmpl, 1, 65535, fp);
	fclose(fp);
	{
		struct p25_buf b;
		char err[200];
		p25_buf_init(&b);
		assert_int_equal(p25_template_render(tmpl, len, data, P25_ESC_TEXT, &b, err, sizeof err),
		                 0);
		text = p25_buf_steal(&b);
	}
	assert_non_null(strstr(text, "port 25 block starts for acme at 2026-11-26T07:00:00Z"));
	assert_non_null(strstr(text, "2026-12-03T07:00:00Z"));
	free(text);
	free(tmpl);
	json_decref(n);
	json_decref(rows);
	p25_service_close(svc);
}

/* A hook that fails rolls the change back with it. */
static int failing_hook(void *ctx, struct p25_registry *reg, const struct p25_change *c)
{
	(void)ctx;
	(void)reg;
	return c->kind == P25_CHANGE_REQUEST_APPROVED ? P25_EDB : 0;
}

static void test_hook_failure_rolls_back(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service *svc;
	struct p25_auth a = op("2026-11-23T10:00:00Z");
	json_t *r;
	int64_t req;

	assert_int_equal(p25_service_open(reg, NULL, &svc), 0);
	org_with_contacts(svc, "acme", "192.0.2.0/24", true);
	req = submit(svc, "acme", "192.0.2.25");
	p25_registry_set_change_hook(reg, failing_hook, NULL);
	assert_int_equal(p25_service_request_approve(svc, &a, req), P25_EDB);
	p25_registry_set_change_hook(reg, NULL, NULL);
	assert_int_equal(p25_request_show(reg, req, 0, &r), 0);
	assert_string_equal(json_string_value(json_object_get(r, "status")), "submitted");
	json_decref(r);
	p25_service_close(svc);
}

static bool all_dead(const char *owner)
{
	(void)owner;
	return true;
}

static void test_claim_lease_finish(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service_options opt = {.notify = &cfg};
	struct p25_service *svc;
	p25_time t = at("2026-11-23T12:00:00Z");
	json_t *n = NULL, *m = NULL;
	int64_t id;

	assert_int_equal(p25_service_open(reg, &opt, &svc), 0);
	org_with_contacts(svc, "acme", "192.0.2.0/24", true);
	submit(svc, "acme", "192.0.2.25");
	assert_int_equal(p25_notice_claim(reg, "a:1:1", t, 60, NULL, &n), 1);
	id = json_integer_value(json_object_get(n, "id"));
	assert_string_equal(json_string_value(json_object_get(n, "state")), "sending");
	/* The other notice next; then none while both are claimed. */
	assert_int_equal(p25_notice_claim(reg, "b:2:2", t, 60, NULL, &m), 1);
	assert_int_not_equal(json_integer_value(json_object_get(m, "id")), id);
	json_decref(m);
	assert_int_equal(p25_notice_claim(reg, "b:2:2", t + 10, 60, NULL, &m), 0);
	/* Its lease over, a claim is taken over; the first owner's result no longer counts. */
	assert_int_equal(p25_notice_claim(reg, "c:3:3", t + 61, 60, NULL, &m), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), id);
	assert_int_equal(json_integer_value(json_object_get(m, "attempts")), 2);
	json_decref(m);
	assert_int_equal(p25_notice_finish(reg, id, "a:1:1", t + 62, P25_NOTICE_DELIVERED, 250, NULL,
	                                   0),
	                 P25_ECONFLICT);
	assert_int_equal(p25_notice_finish(reg, id, "c:3:3", t + 62, P25_NOTICE_RETRY, 451, "busy",
	                                   t + 120),
	                 0);
	/* Not due before its retry time; a dead owner's claim is taken at once. */
	assert_int_equal(p25_notice_claim(reg, "d:4:4", t + 100, 60, all_dead, &m), 1);
	assert_int_not_equal(json_integer_value(json_object_get(m, "id")), id);
	json_decref(m);
	assert_int_equal(p25_notice_claim(reg, "d:4:4", t + 121, 60, NULL, &m), 1);
	assert_int_equal(json_integer_value(json_object_get(m, "id")), id);
	json_decref(m);
	assert_int_equal(p25_notice_finish(reg, id, "d:4:4", t + 122, P25_NOTICE_REFUSED, 550,
	                                   "no such user", 0),
	                 0);
	assert_int_equal(count(reg, NULL, "failed"), 1);
	/* The operator's retry queues it again, audited. */
	{
		struct p25_auth a = op("2026-11-23T13:00:00Z");
		json_t *q = NULL;
		assert_int_equal(p25_service_notice_retry(svc, &a, id, &q), 0);
		assert_int_equal(json_array_size(q), 1);
		json_decref(q);
		assert_int_equal(p25_service_notice_retry(svc, &a, id, &q), P25_ECONFLICT);
	}
	json_decref(n);
	p25_service_close(svc);
}

static void test_message_headers(void **state)
{
	char dir[] = "/tmp/p25-tmpl-XXXXXX", path[300], err[300];
	json_t *notice;
	struct p25_buf b;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/t.txt", dir);
	f = fopen(path, "w");
	fputs("Subject: [{{reference}}] {{org_name}}\nBody {{org_name}}\n", f);
	fclose(f);
	p25_notify_config_default(&cfg);
	snprintf(cfg.templates, sizeof cfg.templates, "%s", dir);
	snprintf(cfg.from, sizeof cfg.from, "port25@ops.example");
	notice = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "id", (json_int_t)1,
	                   "template", "t", "recipient", "a@b.example", "recipient_name",
	                   "Evil\r\nBcc: x@y", "reference", "P25-000001", "message_id", "<m@x>",
	                   "created", "2026-11-23T10:00:00Z", "data", "org_name",
	                   "S\xc3\xb6hne\r\nBcc: z@z");
	p25_buf_init(&b);
	assert_int_equal(p25_notify_message(&cfg, notice, 0, &b, err, sizeof err), 0);
	/* No header line starts with Bcc: the names stayed inside their headers. */
	*strstr(b.data, "\r\n\r\n") = '\0';
	assert_null(strstr(b.data, "\r\nBcc"));
	assert_non_null(strstr(b.data, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(b.data, "Message-ID: <m@x>\r\n"));
	assert_non_null(strstr(b.data, "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"));
	p25_buf_free(&b);
	/* A recipient that could split the envelope is refused. */
	json_object_set_new(notice, "recipient", json_string("a@b\r\nRCPT TO:<c@d>"));
	p25_buf_init(&b);
	assert_int_equal(p25_notify_message(&cfg, notice, 0, &b, err, sizeof err), -1);
	p25_buf_free(&b);
	json_decref(notice);
	unlink(path);
	rmdir(dir);
}

/* A variance's notices: at 14 and 3 days left, once each, and once when it has expired. */
static void test_variance_expiring_and_expired(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service_options opt = {.notify = &cfg};
	struct p25_service *svc;
	struct p25_auth a = op("2026-11-23T10:00:00Z");
	struct p25_permit_spec spec = {.org = "beta", .address = "2001:db8:77::25",
	                               .kind = P25_KIND_MAIL_SERVER, .description = "relay",
	                               .expires = at("2026-12-31T12:00:00Z")};
	struct p25_scan_result sr;
	int64_t id;

	p25_notify_config_default(&cfg);
	assert_int_equal(p25_service_open(reg, &opt, &svc), 0);
	org_with_contacts(svc, "beta", "2001:db8:77::/48", true);
	assert_int_equal(p25_service_permit_add(svc, &a, &spec, &id), 0);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-12-01T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expiring, 0);
	/* Technical and security contacts: two notices a threshold, never twice. */
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-12-20T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expiring, 2);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-12-21T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expiring, 0);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-12-29T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expiring, 2);
	assert_int_equal(count(reg, "variance-expiring", "queued"), 4);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2027-01-01T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expired, 2);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2027-01-02T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.expired, 0);
	assert_int_equal(count(reg, "variance-expired", "queued"), 2);
	p25_service_close(svc);
}

static void test_campaign_answers_and_reminders(void **state)
{
	struct p25_registry *reg = *state;
	struct p25_service_options opt = {.notify = &cfg};
	struct p25_service *svc;
	struct p25_auth a = op("2026-10-01T10:00:00Z");
	const char *orgs[] = {"beta", "gamma", "delta"};
	struct p25_campaign_spec spec = {.template = "security-change", .orgs = orgs, .norgs = 3,
	                                 .reminders = "14,7", .deadline = at("2026-10-31T23:59:59Z")};
	struct p25_scan_result sr;
	json_t *st;
	int64_t id;

	p25_notify_config_default(&cfg);
	assert_int_equal(p25_service_open(reg, &opt, &svc), 0);
	org_with_contacts(svc, "beta", "198.18.1.0/24", true);
	org_with_contacts(svc, "gamma", "198.18.2.0/24", true);
	org_with_contacts(svc, "delta", "198.18.3.0/24", false);
	/* An org that does not exist is refused, and nothing is started. */
	orgs[2] = "nosuch";
	assert_int_equal(p25_service_campaign_start(svc, &a, &spec, &id), P25_ENOTFOUND);
	assert_int_equal(count(reg, "security-change", NULL), 0);
	orgs[2] = "delta";
	assert_int_equal(p25_service_campaign_start(svc, &a, &spec, &id), 0);
	assert_int_equal(count(reg, "security-change", "queued"), 4);
	assert_int_equal(count(reg, "security-change", "undeliverable"), 1);
	submit(svc, "beta", "198.18.1.25");
	assert_int_equal(p25_service_campaign_status(svc, &a, 0, &st), 0);
	assert_int_equal(json_array_size(json_object_get(st, "not_responded")), 2);
	assert_int_equal(json_integer_value(json_object_get(st, "days_remaining")), 31);
	json_decref(st);
	/* 20 days ahead: no reminder; 10 days: the 14-day one, to gamma (2) and delta (none). */
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-10-11T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.reminders, 0);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-10-21T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.reminders, 2);
	assert_int_equal(p25_notify_scan(reg, &cfg, at("2026-10-22T12:00:00Z"), &sr), 0);
	assert_int_equal(sr.reminders, 0);
	assert_int_equal(count(reg, "campaign-reminder", "undeliverable"), 1);
	p25_service_close(svc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_values_and_sections),
	    cmocka_unit_test(test_template_escaping),
	    cmocka_unit_test(test_template_errors),
	    cmocka_unit_test(test_received_parse),
	    cmocka_unit_test(test_connecting_only_from_the_mx),
	    cmocka_unit_test(test_message_headers),
	    cmocka_unit_test_setup_teardown(test_notices_in_the_change_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_applied_notice_of_a_scheduled_signup, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_hook_failure_rolls_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_claim_lease_finish, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_campaign_answers_and_reminders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_variance_expiring_and_expired, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
