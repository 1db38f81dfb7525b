/*
 * libFuzzer target: the HTTP API without sockets (api/api.h).  An input is
 * one request: its first byte chooses the credentials (an operator's, a
 * member's or a read-only API token, a session cookie, none), then
 * "METHOD TARGET" on a line, header lines "Name: value", a blank line and
 * the body.  The router, the query and path decoding, authentication, the
 * JSON bodies of every resource and the service behind them all see it.
 * Every answer must be one of the API's: a status with a JSON body (or none
 * for 204 and 304).  Changes stay in the registry between inputs, as they
 * would in a server.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api.h"
#include "service/service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct p25_api *api;
static struct p25_api_config cfg;
static char tokens[3][P25_SERVICE_SECRET_MAX + 8];

static void setup(void)
{
	struct p25_registry *reg;
	struct p25_service *svc;
	struct p25_auth op = {.actor = "fuzz", .role = P25_ROLE_OPERATOR, .now = 1795428000};
	static const char *const k12[] = {"k12"};
	struct p25_user_spec u = {.name = "oscar", .role = "operator"};
	struct p25_token_request tr = {0};
	char secret[P25_SERVICE_SECRET_MAX], err[256];
	char path[64];
	int64_t id;

	snprintf(path, sizeof path, "/tmp/p25-fuzz-api-%d.db", (int)getpid());
	/* A file, not :memory:: the API opens its own connection to it. */
	remove(path);
	if (p25_registry_open(path, &reg, err, sizeof err) < 0 ||
	    p25_service_open(reg, NULL, &svc) < 0)
		abort();
	if (p25_service_org_add(svc, &op, "k12", "Schools", P25_MODE_OUTBOUND, P25_ACTION_REJECT) < 0 ||
	    p25_service_prefix_add(svc, &op, "k12", "192.0.2.0/24", "", 0) < 0 ||
	    p25_service_prefix_add(svc, &op, "k12", "2001:db8:1::/48", "", 0) < 0 ||
	    p25_service_contact_add(svc, &op, "k12", "Sec", "sec@k12.example", "", P25_ROLE_SECURITY, &id) < 0 ||
	    p25_service_user_add(svc, &op, &u) < 0)
		abort();
	u = (struct p25_user_spec){.name = "mia", .role = "member", .orgs = k12, .norgs = 1};
	if (p25_service_user_add(svc, &op, &u) < 0)
		abort();
	for (int i = 0; i < 3; i++) {
		tr.user = i == 1 ? "mia" : "oscar";
		tr.read_only = i == 2;
		if (p25_service_token_add(svc, &op, &tr, secret, &id) < 0)
			abort();
		snprintf(tokens[i], sizeof tokens[i], "Bearer %s", secret);
	}
	p25_service_close(svc);
	p25_registry_close(reg);
	p25_api_config_default(&cfg);
	/* Logins cost an Argon2id hash each: keep the fuzzer's few, not its thousands. */
	cfg.auth.login_max_source = 3;
	if (p25_api_open(path, &cfg, &api, err, sizeof err) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p25_api_header headers[24];
	struct p25_api_request req = {.now = 1795428000};
	struct p25_api_response res;
	char *text, *line, *save = NULL, *body, *target;
	size_t n = 0;

	if (!api)
		setup();
	if (size < 1)
		return 0;
	text = malloc(size);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	/* The body is what follows the first blank line, bytes and all. */
	body = strstr(text, "\n\n");
	if (body) {
		*body = '\0';
		body += 2;
		req.body = (const char *)data + 1 + (size_t)(body - text);
		req.body_len = size - 1 - (size_t)(body - text);
	}
	line = strtok_r(text, "\n", &save);
	req.method = line ? line : "GET";
	target = line ? strchr(line, ' ') : NULL;
	if (target)
		*target++ = '\0';
	req.target = target ? target : "/api/v1/orgs";
	if (data[0] < 3)
		headers[n++] = (struct p25_api_header){"Authorization", tokens[data[0]]};
	else if (data[0] == 3)
		headers[n++] = (struct p25_api_header){"Cookie", "__Host-port25_session=abc; x=y"};
	while ((line = strtok_r(NULL, "\n", &save)) && n < sizeof headers / sizeof *headers) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		headers[n++] = (struct p25_api_header){line, colon + 1 + (colon[1] == ' ')};
	}
	req.headers = headers;
	req.nheaders = n;
	p25_addr_from_v4(&req.peer, 0x7f000001);
	p25_api_handle(api, &req, &res);
	if (res.status < 200 || res.status > 599)
		abort();
	if (res.body) {
		json_t *j = json_loadb(res.body, res.body_len, 0, NULL);
		if (!j)
			abort();
		/* An error is in the one shape every error has. */
		if (res.status >= 400 && !json_is_string(json_object_get(json_object_get(j, "error"), "code")))
			abort();
		json_decref(j);
	} else if (res.status != 204 && res.status != 304) {
		abort();
	}
	p25_api_response_free(&res);
	free(text);
	return 0;
}
