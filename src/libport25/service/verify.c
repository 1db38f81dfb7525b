/*
 * port25 verify --request, as the service decides it: which requests may be
 * checked (applied ones), what is checked (their targets), and when the
 * checks make a request verified.  The checks themselves run in the front
 * end (p25_verify_run), which reports them as they go.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"

int p25_service_verify_plan(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_model *m, int64_t id, json_t **request,
                            struct p25_verify_target **targets, size_t *n)
{
	const char *status;
	int64_t *pids = NULL;
	size_t npids = 0;
	ssize_t got;
	char err[512];
	int rc;

	*request = NULL;
	*targets = NULL;
	*n = 0;
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "verify requests")) < 0)
		return rc;
	if ((rc = p25_request_show(svc->reg, id, svc_now(auth), request)) < 0)
		return svc_reg(svc, rc);
	status = json_string_value(json_object_get(*request, "status"));
	if (!status || strcmp(status, "applied") != 0) {
		const char *why = !status                       ? "it has no status"
		                  : !strcmp(status, "verified")  ? "it is verified already"
		                  : !strcmp(status, "rejected")  ? "it was rejected"
		                  : !strcmp(status, "cancelled") ? "it was cancelled"
		                                                 : "apply it first";
		rc = svc_fail(svc, P25_ECONFLICT, "request %" PRId64 " is %s, not applied: %s", id,
		              status ? status : "?", why);
		json_decref(*request);
		*request = NULL;
		return rc;
	}
	if ((rc = p25_request_permits(svc->reg, id, &pids, &npids)) < 0) {
		json_decref(*request);
		*request = NULL;
		return svc_reg(svc, rc);
	}
	got = p25_verify_request_targets(m, *request, pids, npids, targets, err, sizeof err);
	free(pids);
	if (got < 0) {
		json_decref(*request);
		*request = NULL;
		return svc_fail(svc, P25_EINVAL, "%s", err);
	}
	*n = (size_t)got;
	return 0;
}

int p25_service_verify_verdict(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                               const struct p25_verify_opts *o,
                               const struct p25_verify_result *results, size_t n,
                               struct p25_request_verdict *out)
{
	char checks[64], a[P25_ADDR_STRLEN];
	int rc;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		if (results[i].pass) {
			out->passed++;
			continue;
		}
		if (!out->failed++) {
			p25_verify_failures(&results[i], checks, sizeof checks);
			snprintf(out->reason, sizeof out->reason, "%s %s failed",
			         p25_addr_format(&results[i].target.addr, a, sizeof a), checks);
		}
	}
	if (out->failed) {
		size_t len = strlen(out->reason);
		if (out->failed > 1)
			snprintf(out->reason + len, sizeof out->reason - len, " and %zu more",
			         out->failed - 1);
		out->outcome = P25_OUTCOME_FAILED;
		return 0;
	}
	if (n == 0) {
		out->outcome = P25_OUTCOME_EMPTY;
		snprintf(out->reason, sizeof out->reason, "the request lists nothing to check");
		return 0;
	}
	if (!o || o->nmx == 0) {
		out->outcome = P25_OUTCOME_UNSENT;
		snprintf(out->reason, sizeof out->reason,
		         "no test exchanger, no test message sent");
		return 0;
	}
	if ((rc = p25_service_request_verify(svc, auth, id)) < 0) {
		out->outcome = P25_OUTCOME_UNMARKED;
		snprintf(out->reason, sizeof out->reason, "%s", p25_service_error(svc));
		return rc;
	}
	out->outcome = P25_OUTCOME_VERIFIED;
	return 0;
}
