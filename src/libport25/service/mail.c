/*
 * Mail with members, as the service does it: the outbox and campaigns
 * (operators write, operators and auditors read), and the messages
 * verify-inbox is handed, matched against applied requests.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "service/service_int.h"

/* Notices and campaigns hold every org's contacts: not a member's to read. */
static int allow_read(struct p25_service *svc, const struct p25_auth *auth, const char *what)
{
	int rc = svc_allow(svc, auth, GRANT_READ, NULL, what);

	if (rc == 0 && auth->role == P25_ROLE_MEMBER)
		return svc_fail(svc, P25_EDENIED, "member '%s' may not %s: operators and auditors only",
		                auth->actor, what);
	return rc;
}

static const struct p25_notify_config *config_of(struct p25_service *svc)
{
	static struct p25_notify_config defaults;
	static bool init;

	if (svc->opt.notify)
		return svc->opt.notify;
	if (!init) {
		p25_notify_config_default(&defaults);
		init = true;
	}
	return &defaults;
}

int p25_service_notice_list(struct p25_service *svc, const struct p25_auth *auth,
                            const struct p25_notice_filter *filter, json_t **out)
{
	int rc = allow_read(svc, auth, "read notices");

	*out = NULL;
	return rc < 0 ? rc : svc_reg(svc, p25_notice_list(svc->reg, filter, out));
}

int p25_service_notice_show(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                            json_t **out)
{
	int rc = allow_read(svc, auth, "read notices");

	*out = NULL;
	return rc < 0 ? rc : svc_reg(svc, p25_notice_show(svc->reg, id, out));
}

int p25_service_notice_retry(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                             json_t **requeued)
{
	struct p25_actor who;
	int rc;

	if (requeued)
		*requeued = NULL;
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "retry notices")) < 0)
		return rc;
	who = svc_actor(auth);
	return svc_reg(svc, p25_notice_retry(svc->reg, &who, id, p25_notify_domain(config_of(svc)),
	                                     requeued));
}

int p25_service_campaign_start(struct p25_service *svc, const struct p25_auth *auth,
                               const struct p25_campaign_spec *spec, int64_t *id)
{
	struct p25_actor who;
	char err[160];
	int rc;

	*id = 0;
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "start campaigns")) < 0)
		return rc;
	who = svc_actor(auth);
	if (!spec->template || !*spec->template)
		return svc_fail(svc, P25_EINVAL, "a campaign needs a template");
	if (spec->deadline <= who.now)
		return svc_fail(svc, P25_EINVAL, "the campaign's deadline %s is not in the future",
		                p25_time_format(spec->deadline, err, sizeof err));
	return svc_reg(svc, p25_notify_campaign_start(svc->reg, config_of(svc), &who, spec, id));
}

int p25_service_campaign_status(struct p25_service *svc, const struct p25_auth *auth, int64_t id,
                                json_t **out)
{
	int rc = allow_read(svc, auth, "read campaigns");

	*out = NULL;
	return rc < 0 ? rc : svc_reg(svc, p25_campaign_status(svc->reg, id, svc_now(auth), out));
}

int p25_service_campaign_list(struct p25_service *svc, const struct p25_auth *auth, json_t **out)
{
	int rc = allow_read(svc, auth, "read campaigns");

	*out = NULL;
	return rc < 0 ? rc : svc_reg(svc, p25_campaign_list(svc->reg, svc_now(auth), out));
}

int p25_service_inbound_list(struct p25_service *svc, const struct p25_auth *auth, int limit,
                             json_t **out)
{
	int rc = allow_read(svc, auth, "read the verification inbox");

	*out = NULL;
	return rc < 0 ? rc : svc_reg(svc, p25_inbound_list(svc->reg, limit, out));
}

/* ---- the verification inbox ---- */

struct record_tx {
	const struct p25_notify_config *cfg;
	struct p25_inbound_record rec;
	bool policy_failure;
	bool campaign;
	const char *token;
	p25_time now;
};

static int record_fn(void *ctx, struct p25_registry *reg)
{
	struct record_tx *t = ctx;
	int64_t id = 0;
	int rc;

	if (t->campaign &&
	    (rc = p25_campaign_answer_tx(reg, t->rec.org, "mail", t->rec.message_id, t->now)) < 0)
		return rc;
	if ((rc = p25_inbound_record_tx(reg, &t->rec, &id)) < 0)
		return rc;
	if (t->policy_failure) {
		/* Mail from a host the policy blocks reached the MX: the block failed somewhere. */
		json_t *data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}", "connecting",
		                         t->rec.connecting ? t->rec.connecting : "", "org",
		                         t->rec.org ? t->rec.org : "", "mail_from",
		                         t->rec.mail_from ? t->rec.mail_from : "", "rcpt",
		                         t->rec.rcpt ? t->rec.rcpt : "", "message_id",
		                         t->rec.message_id ? t->rec.message_id : "", "subject",
		                         t->rec.subject ? t->rec.subject : "", "inbound",
		                         (json_int_t)id, "detail", t->rec.detail ? t->rec.detail : "",
		                         "operator_name", t->cfg->operator_name);
		char key[64];
		snprintf(key, sizeof key, "policy-failure:%" PRId64, id);
		rc = p25_notify_queue_operator(reg, t->cfg, t->now, "policy-failure", data, key);
		json_decref(data);
	}
	return rc < 0 ? rc : 0;
}

static void outcome(struct p25_inbound_result *out, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void outcome(struct p25_inbound_result *out, const char *what, const char *fmt, ...)
{
	va_list ap;

	snprintf(out->outcome, sizeof out->outcome, "%s", what);
	va_start(ap, fmt);
	vsnprintf(out->detail, sizeof out->detail, fmt, ap);
	va_end(ap);
}

/* The policy's decision for outbound port 25 from addr, now. */
static int decide(struct p25_service *svc, p25_time now, const struct p25_addr *addr,
                  struct p25_decision *d, char *org, size_t orglen, int64_t *permit_id)
{
	struct p25_model m;
	struct p25_policy *pol;
	struct p25_addr any = {.family = addr->family};
	char err[512];
	int rc;

	*permit_id = 0;
	org[0] = '\0';
	if ((rc = p25_registry_load_model(svc->reg, &m)) < 0)
		return svc_reg(svc, rc);
	if (!(pol = p25_policy_build(&m, now, err, sizeof err))) {
		p25_model_free(&m);
		return svc_fail(svc, P25_EDB, "the registry's policy does not build: %s", err);
	}
	p25_policy_decide(pol, addr, &any, P25_SMTP_PORT, P25_OUTBOUND, d);
	if (d->org >= 0)
		snprintf(org, orglen, "%s", m.orgs[d->org].handle);
	if (d->permit >= 0)
		*permit_id = m.permits[d->permit].id;
	p25_policy_free(pol);
	p25_model_free(&m);
	return 0;
}

static bool id_in(const int64_t *ids, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

int p25_service_inbound(struct p25_service *svc, const struct p25_auth *auth,
                        const char *mail_from, const char *rcpt, const char *data, size_t len,
                        struct p25_inbound_result *out)
{
	const struct p25_notify_config *cfg = config_of(svc);
	struct record_tx t = {.cfg = cfg};
	struct p25_inmsg *msg = calloc(1, sizeof *msg);
	struct p25_addr addr;
	struct p25_decision d;
	char token[80] = "", why[300], org[64];
	json_t *v = NULL;
	bool submission = false;
	int64_t permit_id = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (!msg)
		return svc_fail(svc, P25_EDB, "out of memory");
	if ((rc = svc_allow(svc, auth, GRANT_OPERATOR, NULL, "process verification messages")) < 0) {
		free(msg);
		return rc;
	}
	t.now = svc_now(auth);
	if (p25_inmsg_parse(data, len, msg) < 0) {
		outcome(out, "unparseable", "the message has no header");
		goto record;
	}
	if (p25_inmsg_connecting(msg, cfg->inbox_mx, &addr, &submission, why, sizeof why) < 0) {
		outcome(out, "untrusted-path", "%s", why);
		goto record;
	}
	p25_addr_format(&addr, out->connecting, sizeof out->connecting);
	if (submission) {
		outcome(out, "submission",
		        "%s submitted it with authentication: a submission proves nothing of port 25",
		        out->connecting);
		goto record;
	}
	if ((rc = decide(svc, t.now, &addr, &d, org, sizeof org, &permit_id)) < 0)
		goto fail;
	snprintf(out->org, sizeof out->org, "%s", org);
	if (d.verdict == P25_BLOCK) {
		outcome(out, "policy-failure",
		        "%s (organization %s) is blocked by the policy, yet its mail reached the MX",
		        out->connecting, org);
		t.policy_failure = true;
		goto record;
	}
	if (p25_inmsg_token(rcpt, msg->subject, token, sizeof token) < 0) {
		outcome(out, "no-token", "neither the recipient nor the subject carries a token");
		goto record;
	}
	if ((rc = p25_verification_by_token(svc->reg, token, &v)) == P25_ENOTFOUND) {
		json_t *c = NULL;
		if (p25_campaign_by_token(svc->reg, token, &c) == 0) {
			snprintf(out->org, sizeof out->org, "%s",
			         json_string_value(json_object_get(c, "org")));
			outcome(out, "campaign-reply", "a reply to campaign %" JSON_INTEGER_FORMAT,
			        json_integer_value(json_object_get(c, "campaign")));
			t.campaign = true;
			json_decref(c);
			goto record;
		}
		outcome(out, "unknown-token", "no applied request or campaign has this token");
		goto record;
	}
	if (rc < 0)
		goto fail;
	out->request_id = json_integer_value(json_object_get(v, "request_id"));
	snprintf(out->org, sizeof out->org, "%s", json_string_value(json_object_get(v, "org")));
	{
		const char *status = json_string_value(json_object_get(v, "status"));
		const char *type = json_string_value(json_object_get(v, "type"));
		int64_t *ids = NULL;
		size_t nids = 0;
		bool ok;
		if (!strcmp(status, "verified")) {
			outcome(out, "already-verified", "request %" PRId64 " is verified already",
			        out->request_id);
			goto record;
		}
		if (strcmp(status, "applied") != 0) {
			outcome(out, "not-applied", "request %" PRId64 " is %s, not applied",
			        out->request_id, status);
			goto record;
		}
		if ((rc = p25_request_permits(svc->reg, out->request_id, &ids, &nids)) < 0)
			goto fail;
		/*
		 * A request that added servers is verified by one of them; one that
		 * removed some, by any server still permitted to the org.
		 */
		ok = d.verdict == P25_PERMIT && !strcmp(org, out->org) &&
		     (strcmp(type, "remove-permit") == 0 || id_in(ids, nids, permit_id));
		free(ids);
		if (!ok) {
			outcome(out, "not-request-server",
			        "%s is not a server request %" PRId64 " permitted (%s)", out->connecting,
			        out->request_id,
			        d.verdict == P25_PERMIT ? "another permit covers it"
			                                : p25_reason_text(d.reason));
			goto record;
		}
	}
	svc->producer.evidence = (struct p25_notify_evidence){
	    .request_id = out->request_id, .server = out->connecting, .message_id = msg->message_id};
	rc = p25_service_request_verify(svc, auth, out->request_id);
	memset(&svc->producer.evidence, 0, sizeof svc->producer.evidence);
	if (rc == P25_ECONFLICT) {
		outcome(out, "not-applied", "%s", p25_service_error(svc));
		goto record;
	}
	if (rc < 0)
		goto fail;
	outcome(out, "verified", "request %" PRId64 " verified by a message from %s",
	        out->request_id, out->connecting);
record:
	t.rec = (struct p25_inbound_record){
	    .received = t.now,
	    .message_id = msg->message_id[0] ? msg->message_id : NULL,
	    .mail_from = mail_from,
	    .rcpt = rcpt,
	    .subject = msg->subject[0] ? msg->subject : NULL,
	    .connecting = out->connecting[0] ? out->connecting : NULL,
	    .token = token[0] ? token : NULL,
	    .outcome = out->outcome,
	    .org = out->org[0] ? out->org : NULL,
	    .request_id = out->request_id,
	    .detail = out->detail,
	};
	rc = svc_reg(svc, p25_registry_transaction(svc->reg, record_fn, &t));
fail:
	json_decref(v);
	free(msg);
	return rc < 0 ? rc : 0;
}
