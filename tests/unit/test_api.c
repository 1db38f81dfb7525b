/*
 * The HTTP API without sockets (api/api.h): the answers' JSON text against
 * jansson's, and the router's frame (targets, percent-decoding, the error
 * shape, anonymous access, body limits, ETags) through p25_api_handle.
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

#include "api/api_int.h"

static void test_json_text_is_janssons(void **state)
{
	json_t *v = json_pack("{s:s, s:s, s:I, s:I, s:b, s:n, s:[s, {s:s}], s:{}, s:[], s:f, s:f}",
	                      "plain", "192.0.2.25", "escapes", "q\"b\\s/ \n\r\t\b\f \x01\x1f\x7f",
	                      "big", (json_int_t)INT64_MAX, "neg", (json_int_t)-42, "t", 1, "nothing",
	                      "list", "ünïcödé ✓", "k", "v", "empty", "none", "real", 1.5, "whole", 2.0);
	char *theirs, *ours;
	size_t len;

	(void)state;
	assert_non_null(v);
	theirs = json_dumps(v, JSON_COMPACT);
	ours = api_json_text(v, &len);
	assert_non_null(ours);
	assert_string_equal(ours, theirs);
	assert_int_equal(len, strlen(theirs));
	free(theirs);
	free(ours);
	json_decref(v);
}

struct fx {
	char dir[64], path[96];
	struct p25_api_config cfg;
	struct p25_api *api;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct p25_registry *reg;
	char err[256];

	snprintf(f->dir, sizeof f->dir, "/tmp/p25api.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/reg.db", f->dir);
	assert_int_equal(p25_registry_open(f->path, &reg, err, sizeof err), 0);
	p25_registry_close(reg);
	p25_api_config_default(&f->cfg);
	assert_int_equal(p25_api_open(f->path, &f->cfg, &f->api, err, sizeof err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	p25_api_close(f->api);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* One request; the answer's status, its body parsed into *body (when asked). */
static int call(struct fx *f, const char *method, const char *target, const char *body,
                const struct p25_api_header *h, size_t nh, json_t **out,
                struct p25_api_response *keep)
{
	struct p25_api_request req = {.method = method, .target = target, .headers = h,
	                              .nheaders = nh, .body = body,
	                              .body_len = body ? strlen(body) : 0};
	struct p25_api_response res;
	int status;

	p25_addr_from_v4(&req.peer, 0x7f000001);
	p25_api_handle(f->api, &req, &res);
	status = res.status;
	if (out)
		*out = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
	if (keep)
		*keep = res;
	else
		p25_api_response_free(&res);
	return status;
}

static const char *code_of(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "error"), "code"));
}

static void test_router_frame(void **state)
{
	struct fx *f = *state;
	struct p25_api_response res;
	json_t *e;
	size_t len;
	const char *doc = p25_api_openapi(&len);

	/* the document, to anyone, byte for byte */
	assert_int_equal(call(f, "GET", "/api/v1/openapi.json", NULL, NULL, 0, NULL, &res), 200);
	assert_int_equal(res.body_len, len);
	assert_memory_equal(res.body, doc, len);
	p25_api_response_free(&res);
	/* everything else needs credentials: 401 in the error shape */
	assert_int_equal(call(f, "GET", "/api/v1/orgs", NULL, NULL, 0, &e, &res), 401);
	assert_string_equal(code_of(e), "unauthorized");
	assert_true(json_is_null(json_object_get(json_object_get(e, "error"), "field")));
	assert_string_equal(res.headers[0].name, "WWW-Authenticate");
	p25_api_response_free(&res);
	json_decref(e);
	/* outside /api/v1, unknown, wrong method */
	assert_int_equal(call(f, "GET", "/", NULL, NULL, 0, &e, NULL), 404);
	json_decref(e);
	assert_int_equal(call(f, "GET", "/api/v1/nothing/here", NULL, NULL, 0, &e, NULL), 404);
	json_decref(e);
	assert_int_equal(call(f, "PUT", "/api/v1/orgs", NULL, NULL, 0, &e, NULL), 405);
	assert_string_equal(code_of(e), "method_not_allowed");
	json_decref(e);
	/* malformed percent-encoding, %00, a truncated escape: 400 before anything else */
	for (const char *t = "/api/v1/orgs/%zz\0/api/v1/orgs/a%00\0/api/v1/orgs?org=%4\0"; *t;
	     t += strlen(t) + 1) {
		assert_int_equal(call(f, "GET", t, NULL, NULL, 0, &e, NULL), 400);
		assert_string_equal(code_of(e), "malformed");
		json_decref(e);
	}
	/* a body the front end stopped reading: 413 */
	{
		struct p25_api_request req = {.method = "POST", .target = "/api/v1/login",
		                              .body_too_large = true};
		p25_api_handle(f->api, &req, &res);
		assert_int_equal(res.status, 413);
		p25_api_response_free(&res);
	}
	/* login: JSON only, its fields named */
	{
		struct p25_api_header ct = {"Content-Type", "application/json"};
		assert_int_equal(call(f, "POST", "/api/v1/login", "{\"name\": \"x\"}", &ct, 1, &e, NULL), 422);
		assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "field")),
		                    "password");
		json_decref(e);
		assert_int_equal(call(f, "POST", "/api/v1/login", "{\"name\": \"x\", \"password\": \"y\", \"z\": 1}",
		                      &ct, 1, &e, NULL), 422);
		assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "field")), "z");
		json_decref(e);
		assert_int_equal(call(f, "POST", "/api/v1/login", "{\"name\": \"x\", \"password\": \"y\"}",
		                      NULL, 0, &e, NULL), 415);
		json_decref(e);
		assert_int_equal(call(f, "POST", "/api/v1/login", "{\"name\": \"x\", \"password\": \"wrong password\"}",
		                      &ct, 1, &e, NULL), 401);
		json_decref(e);
	}
	/* the ETag of an answer; If-None-Match with it: 304 without a body */
	assert_int_equal(call(f, "GET", "/api/v1/openapi.json", NULL, NULL, 0, NULL, &res), 200);
	{
		char etag[64] = "";
		for (size_t i = 0; i < res.nheaders; i++)
			if (!strcmp(res.headers[i].name, "ETag"))
				snprintf(etag, sizeof etag, "%s", res.headers[i].value);
		p25_api_response_free(&res);
		assert_int_equal(strlen(etag), 34);
		struct p25_api_header inm = {"If-None-Match", etag};
		assert_int_equal(call(f, "GET", "/api/v1/openapi.json", NULL, &inm, 1, NULL, &res), 304);
		assert_null(res.body);
		p25_api_response_free(&res);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_text_is_janssons),
	    cmocka_unit_test_setup_teardown(test_router_frame, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
