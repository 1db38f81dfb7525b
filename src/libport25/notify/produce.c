/*
 * What becomes a notice.  Registry changes: the change hook, called by the
 * registry with every change record inside the change's own transaction,
 * queues the notices of a request's steps there (so a change and its
 * notices commit together or not at all; a crash between the two cannot
 * lose one).  Time: p25_notify_scan queues what the clock has made due,
 * each notice under a key so that however often it runs, a notice is
 * queued once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "registry/registry.h"

static json_t *time_str(p25_time t)
{
	char buf[P25_TIME_STRLEN];
	return json_string(p25_time_format(t, buf, sizeof buf));
}

/* 32 hex digits from /dev/urandom: a token nobody can guess. */
static int new_token(char out[33])
{
	unsigned char b[16];
	FILE *f = fopen("/dev/urandom", "re");
	size_t got = f ? fread(b, 1, sizeof b, f) : 0;

	if (f)
		fclose(f);
	if (got != sizeof b)
		return -1;
	for (size_t i = 0; i < sizeof b; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 0;
}

/* verify+TOKEN@ops.example from verify@ops.example; "" when none is configured. */
static void token_address(const struct p25_notify_config *cfg, const char *token, char *out,
                          size_t len)
{
	const char *at = strchr(cfg->verify_address, '@');

	if (!cfg->verify_address[0] || !at) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "%.*s+%s%s", (int)(at - cfg->verify_address), cfg->verify_address, token,
	         at);
}

static void portal_link(const struct p25_notify_config *cfg, const char *token, char *out,
                        size_t len)
{
	const char *mark = strstr(cfg->portal_url, "{token}");

	if (!cfg->portal_url[0])
		out[0] = '\0';
	else if (mark)
		snprintf(out, len, "%.*s%s%s", (int)(mark - cfg->portal_url), cfg->portal_url, token,
		         mark + 7);
	else
		snprintf(out, len, "%s%stoken=%s", cfg->portal_url,
		         strchr(cfg->portal_url, '?') ? "&" : "?", token);
}

/* Fields every notice shows: who it is from, and the org. */
static void common_data(struct p25_registry *reg, const struct p25_notify_config *cfg,
                        const char *org, json_t *data)
{
	char name[512];

	json_object_set_new(data, "operator_name", json_string(cfg->operator_name));
	json_object_set_new(data, "operator_address", json_string(cfg->operator_addr));
	if (org) {
		p25_notice_org_name(reg, org, name, sizeof name);
		json_object_set_new(data, "org", json_string(org));
		json_object_set_new(data, "org_name", json_string(name));
	}
}

int p25_notify_queue_org(struct p25_registry *reg, const struct p25_notify_config *cfg,
                         p25_time now, const char *org, const char *roles, const char *template,
                         json_t *data, const char *key_base, int64_t change_seq,
                         char *reference, size_t reflen)
{
	json_t *contacts = NULL;
	char ref[64] = "", key[600], why[300];
	int rc, queued = 0;

	if ((rc = p25_notice_contacts(reg, org, roles, &contacts)) < 0)
		return rc;
	if (json_array_size(contacts) == 0) {
		/* Visible, never dropped: a row that says nobody could be told. */
		struct p25_notice_spec s = {.template = template, .org = org, .roles = roles,
		                            .data = data, .domain = p25_notify_domain(cfg),
		                            .change_seq = change_seq, .error = why};
		int64_t id;
		char list[64];
		snprintf(list, sizeof list, "%s", roles);
		snprintf(why, sizeof why, "organization '%s' has no %s contact", org,
		         strchr(list, ',') ? "technical or security" : list);
		if (key_base)
			snprintf(key, sizeof key, "%s:-", key_base);
		s.key = key_base ? key : NULL;
		rc = p25_notice_queue_tx(reg, now, &s, &id);
		json_decref(contacts);
		if (rc >= 0 && reference)
			snprintf(reference, reflen, "P25-%06" PRId64, id);
		return rc < 0 ? rc : 0;
	}
	for (size_t i = 0; i < json_array_size(contacts); i++) {
		json_t *c = json_array_get(contacts, i);
		const char *email = json_string_value(json_object_get(c, "email"));
		struct p25_notice_spec s = {
		    .template = template,
		    .org = org,
		    .recipient = email,
		    .recipient_name = json_string_value(json_object_get(c, "name")),
		    .roles = roles,
		    .reference = ref,
		    .data = data,
		    .domain = p25_notify_domain(cfg),
		    .change_seq = change_seq,
		};
		int64_t id;
		if (key_base)
			snprintf(key, sizeof key, "%s:%s", key_base, email);
		s.key = key_base ? key : NULL;
		rc = p25_notice_queue_tx(reg, now, &s, &id);
		if (rc < 0)
			break;
		/* One event, one reference: the first notice's, shared by the others. */
		if (!ref[0] && id)
			snprintf(ref, sizeof ref, "P25-%06" PRId64, id);
		queued += rc;
	}
	json_decref(contacts);
	if (reference)
		snprintf(reference, reflen, "%s", ref);
	return rc < 0 ? rc : queued;
}

int p25_notify_queue_operator(struct p25_registry *reg, const struct p25_notify_config *cfg,
                              p25_time now, const char *template, json_t *data,
                              const char *key)
{
	struct p25_notice_spec s = {
	    .key = key,
	    .template = template,
	    .recipient = cfg->operator_addr[0] ? cfg->operator_addr : NULL,
	    .recipient_name = cfg->operator_name,
	    .data = data,
	    .domain = p25_notify_domain(cfg),
	    .error = "no operator address is configured (notify-operator)",
	};

	return p25_notice_queue_tx(reg, now, &s, NULL);
}

/* ---- the change hook ---- */

static const char *request_template(enum p25_change_kind k)
{
	switch (k) {
	case P25_CHANGE_REQUEST_SUBMITTED: return "request-received";
	case P25_CHANGE_REQUEST_APPROVED: return "request-approved";
	case P25_CHANGE_REQUEST_REJECTED: return "request-rejected";
	case P25_CHANGE_REQUEST_APPLIED: return "request-applied";
	case P25_CHANGE_REQUEST_VERIFIED: return "request-verified";
	default: return NULL;
	}
}

/* The applied request's verification: a token, the address to write to, and by when. */
static int applied_data(struct p25_registry *reg, const struct p25_notify_config *cfg,
                        const struct p25_change *c, json_t *data)
{
	char token[33], address[400], link[700], why[100];
	p25_time deadline = c->at + cfg->verify_within, activates = 0;
	json_t *org = NULL;
	const char *when;
	int rc;

	/*
	 * A sign-up applied with its activation scheduled (apply --at): the
	 * block starts at the agreed time, so the member verifies after it, and
	 * is told when that is.
	 */
	if (c->subject && !strcmp(c->subject, "signup") &&
	    (rc = p25_org_show(reg, c->org, c->at, &org)) == 0) {
		when = json_string_value(json_object_get(json_object_get(org, "activation"), "at"));
		if (when && p25_time_parse(when, &activates, why, sizeof why) == 0 &&
		    activates > c->at) {
			deadline = activates + cfg->verify_within;
			json_object_set_new(data, "activates", time_str(activates));
		}
		json_decref(org);
	}
	if (new_token(token) < 0)
		return P25_EDB;
	token_address(cfg, token, address, sizeof address);
	portal_link(cfg, token, link, sizeof link);
	rc = p25_verification_create_tx(reg, c->id, token, address[0] ? address : "", deadline,
	                                c->at);
	if (rc < 0)
		return rc;
	json_object_set_new(data, "verify",
	                    json_pack("{s:s, s:s, s:o, s:s, s:o}", "token", token, "address",
	                              address, "deadline", time_str(deadline), "subject_tag", token,
	                              "portal", json_string(link)));
	return 0;
}

int p25_notify_change_hook(void *ctx, struct p25_registry *reg, const struct p25_change *c)
{
	struct p25_notify_producer *p = ctx;
	const struct p25_notify_config *cfg = p->cfg;
	const char *template = request_template(c->kind);
	json_t *data, *req = NULL;
	char key[64];
	int rc;

	if (!template || !cfg || !cfg->enabled || !c->org)
		return 0;
	/* A member answering a campaign: a sign-up or a server list is their answer. */
	if (c->kind == P25_CHANGE_REQUEST_SUBMITTED && c->subject &&
	    (!strcmp(c->subject, "signup") || !strcmp(c->subject, "add-permit"))) {
		char ref[32];
		snprintf(ref, sizeof ref, "request %" PRId64, c->id);
		if ((rc = p25_campaign_answer_tx(reg, c->org, "request", ref, c->at)) < 0)
			return rc;
	}
	if ((rc = p25_request_show(reg, c->id, c->at, &req)) < 0)
		return rc;
	data = json_object();
	common_data(reg, cfg, c->org, data);
	json_object_set_new(data, "request", req);
	json_object_set_new(data, "event", json_string(p25_change_kind_name(c->kind)));
	json_object_set_new(data, "at", time_str(c->at));
	rc = 0;
	if (c->kind == P25_CHANGE_REQUEST_APPLIED)
		rc = applied_data(reg, cfg, c, data);
	if (rc == 0 && c->kind == P25_CHANGE_REQUEST_VERIFIED) {
		const struct p25_notify_evidence *e = &p->evidence;
		bool ours = e->request_id == c->id;
		json_t *v;
		rc = p25_verification_mark_tx(reg, c->id, ours ? e->server : NULL,
		                              ours ? e->message_id : NULL, c->at);
		if (rc == 0 && p25_verification_show(reg, c->id, &v) == 0)
			json_object_set_new(data, "verification", v);
		json_object_set_new(data, "verified_by_message", json_boolean(ours));
		if (ours) {
			json_object_set_new(data, "server", json_string(e->server ? e->server : ""));
			json_object_set_new(data, "message_id",
			                    json_string(e->message_id ? e->message_id : ""));
		}
	}
	snprintf(key, sizeof key, "change:%" PRId64, c->seq);
	if (rc == 0)
		rc = p25_notify_queue_org(reg, cfg, c->at, c->org, "technical,security", template,
		                          data, key, c->seq, NULL, 0);
	json_decref(data);
	return rc < 0 ? rc : 0;
}

/* ---- campaigns ---- */

struct campaign_tx {
	const struct p25_notify_config *cfg;
	const struct p25_actor *who;
	const struct p25_campaign_spec *spec;
	int64_t id;
};

static int campaign_org(struct p25_registry *reg, struct campaign_tx *t, const char *org)
{
	char token[33], address[400], link[700], base[96];
	json_t *data;
	int rc;

	if (new_token(token) < 0)
		return P25_EDB;
	if ((rc = p25_campaign_org_add_tx(reg, t->id, org, token)) < 0)
		return rc;
	token_address(t->cfg, token, address, sizeof address);
	portal_link(t->cfg, token, link, sizeof link);
	data = json_object();
	common_data(reg, t->cfg, org, data);
	json_object_set_new(data, "campaign", json_integer(t->id));
	json_object_set_new(data, "deadline", time_str(t->spec->deadline));
	json_object_set_new(data, "reply_address", json_string(address));
	json_object_set_new(data, "portal", json_string(link));
	json_object_set_new(data, "token", json_string(token));
	snprintf(base, sizeof base, "campaign:%" PRId64 ":%s:announce", t->id, org);
	rc = p25_notify_queue_org(reg, t->cfg, t->who->now, org, "technical,security",
	                          t->spec->template, data, base, 0, NULL, 0);
	json_decref(data);
	return rc < 0 ? rc : 0;
}

static int campaign_tx_fn(void *ctx, struct p25_registry *reg)
{
	struct campaign_tx *t = ctx;
	const struct p25_campaign_spec *s = t->spec;
	json_t *orgs = NULL;
	int rc;

	rc = p25_campaign_create_tx(reg, s->template, s->deadline,
	                            s->reminders ? s->reminders : t->cfg->reminders, t->who->name,
	                            t->who->now, &t->id);
	if (rc < 0)
		return rc;
	if (s->orgs) {
		for (size_t i = 0; rc >= 0 && i < s->norgs; i++) {
			json_t *o = NULL;
			/* Every org named must exist: a typo must not leave a member out unseen. */
			if ((rc = p25_org_show(reg, s->orgs[i], t->who->now, &o)) < 0)
				break;
			json_decref(o);
			rc = campaign_org(reg, t, s->orgs[i]);
		}
		return rc < 0 ? rc : 0;
	}
	if ((rc = p25_org_list(reg, &orgs)) < 0)
		return rc;
	for (size_t i = 0; rc >= 0 && i < json_array_size(orgs); i++)
		rc = campaign_org(reg, t,
		                  json_string_value(json_object_get(json_array_get(orgs, i), "handle")));
	json_decref(orgs);
	return rc < 0 ? rc : 0;
}

int p25_notify_campaign_start(struct p25_registry *reg, const struct p25_notify_config *cfg,
                              const struct p25_actor *who, const struct p25_campaign_spec *spec,
                              int64_t *id)
{
	struct campaign_tx t = {.cfg = cfg, .who = who, .spec = spec};
	int rc = p25_registry_transaction(reg, campaign_tx_fn, &t);

	*id = rc < 0 ? 0 : t.id;
	return rc;
}
