/*
 * A notice as an RFC 5322 message.  Every header value that carries data
 * (a name, a subject rendered from an organization's name) is one line
 * whatever the data holds (P25_ESC_HEADER), and non-ASCII text goes out as
 * RFC 2047 encoded words; bodies are quoted-printable (text, HTML) or
 * base64 (JSON, CSV), so no line of data can end the message or a part.
 *
 * abuse-report notices are ARF reports (RFC 5965): multipart/report;
 * report-type=feedback-report with the human-readable part, the
 * message/feedback-report part, then one XARF v4 record (category
 * connection, type infected_host) per reported host and a CSV of the
 * blocked attempts.  RFC 5965's third part is the reported message: a
 * blocked connection has none, so the XARF record stands in its place.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify/notify.h"

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64(struct p25_buf *out, const unsigned char *s, size_t n, bool wrap)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16;
		char q[4];
		if (i + 1 < n)
			v |= (unsigned)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		q[0] = b64chars[(v >> 18) & 63];
		q[1] = b64chars[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		p25_buf_put(out, q, 4);
		col += 4;
		if (wrap && col >= 76) {
			p25_buf_puts(out, "\r\n");
			col = 0;
		}
	}
	if (wrap && col)
		p25_buf_puts(out, "\r\n");
}

/* Quoted-printable (RFC 2045): lines CRLF, at most 76 characters. */
static void qp(struct p25_buf *out, const char *s, size_t n)
{
	size_t col = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[4];
		if (c == '\r')
			continue;
		if (c == '\n') {
			p25_buf_puts(out, "\r\n");
			col = 0;
			continue;
		}
		bool at_eol = i + 1 >= n || s[i + 1] == '\n' || s[i + 1] == '\r';
		bool plain = (c >= 33 && c <= 126 && c != '=') ||
		             ((c == ' ' || c == '\t') && !at_eol);
		/* A line starting with "." or "From " is safe in every transport. */
		if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 && !memcmp(s + i, "From ", 5))))
			plain = false;
		size_t w = plain ? 1 : 3;
		if (col + w > 75) {
			p25_buf_puts(out, "=\r\n");
			col = 0;
		}
		if (plain) {
			p25_buf_put(out, (const char *)&s[i], 1);
		} else {
			snprintf(enc, sizeof enc, "=%02X", c);
			p25_buf_put(out, enc, 3);
		}
		col += w;
	}
	p25_buf_puts(out, "\r\n");
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A header's text: as is when ASCII, else RFC 2047 encoded words cut at UTF-8 boundaries. */
static void header_text(struct p25_buf *out, const char *s)
{
	size_t n = strlen(s), i = 0;

	if (is_ascii(s)) {
		p25_buf_puts(out, s);
		return;
	}
	while (i < n) {
		size_t take = n - i > 42 ? 42 : n - i;
		while (take < n - i && take > 0 && ((unsigned char)s[i + take] & 0xC0) == 0x80)
			take--;
		if (take == 0)
			take = 1;
		if (i)
			p25_buf_puts(out, "\r\n ");
		p25_buf_puts(out, "=?UTF-8?B?");
		b64(out, (const unsigned char *)s + i, take, false);
		p25_buf_puts(out, "?=");
		i += take;
	}
}

/* A display name: a quoted-string when ASCII, else encoded words; one line either way. */
static void display_name(struct p25_buf *out, const char *name)
{
	char clean[256];
	size_t j = 0;

	for (const char *p = name; *p && j + 1 < sizeof clean; p++)
		clean[j++] = (unsigned char)*p < ' ' || *p == 0x7f ? ' ' : *p;
	clean[j] = '\0';
	if (!is_ascii(clean)) {
		header_text(out, clean);
		return;
	}
	p25_buf_puts(out, "\"");
	for (const char *p = clean; *p; p++) {
		if (*p == '"' || *p == '\\')
			p25_buf_puts(out, "\\");
		p25_buf_put(out, p, 1);
	}
	p25_buf_puts(out, "\"");
}

/* An address fit for a header and an envelope: one @, nothing that ends or splits a line. */
static int address_ok(const char *a)
{
	const char *at = a ? strchr(a, '@') : NULL;

	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return -1;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == '<' || *p == '>' || *p == '(' || *p == ')' || *p == ',' ||
		    *p == ';' || *p == '"' || *p == '\\' || *p >= 0x7f)
			return -1;
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct p25_buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	p25_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1u << 20))
		p25_buf_put(&b, chunk, n);
	fclose(f);
	if (b.oom) {
		p25_buf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	*len = b.len;
	return b.data ? p25_buf_steal(&b) : strdup("");
}

struct tmpl {
	char *subject; /* the Subject line's template */
	char *text;
	size_t text_len;
	char *html; /* NULL: none */
	size_t html_len;
	char *raw;
};

static void tmpl_free(struct tmpl *t)
{
	free(t->raw);
	free(t->html);
	memset(t, 0, sizeof *t);
}

/* NAME.txt: "Subject: ..." then a blank line, then the text; NAME.html when present. */
static int tmpl_load(const char *dir, const char *name, struct tmpl *t, char *err, size_t errlen)
{
	char path[1024];
	size_t len;
	char *body, *nl;

	memset(t, 0, sizeof *t);
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
			snprintf(err, errlen, "template name '%s' is not letters, digits and -", name);
			return -1;
		}
	snprintf(path, sizeof path, "%s/%s.txt", dir, name);
	if (!(t->raw = read_file(path, &len))) {
		snprintf(err, errlen, "template %s: %s", path, strerror(errno));
		return -1;
	}
	if (strncmp(t->raw, "Subject:", 8) != 0 || !(nl = strchr(t->raw, '\n'))) {
		snprintf(err, errlen, "template %s: the first line must be 'Subject: ...'", path);
		tmpl_free(t);
		return -1;
	}
	*nl = '\0';
	if (nl > t->raw && nl[-1] == '\r')
		nl[-1] = '\0';
	t->subject = t->raw + 8;
	while (*t->subject == ' ')
		t->subject++;
	body = nl + 1;
	if (*body == '\r')
		body++;
	if (*body == '\n')
		body++;
	t->text = body;
	t->text_len = len - (size_t)(body - t->raw);
	snprintf(path, sizeof path, "%s/%s.html", dir, name);
	t->html = read_file(path, &t->html_len);
	if (!t->html && errno != ENOENT) {
		snprintf(err, errlen, "template %s: %s", path, strerror(errno));
		tmpl_free(t);
		return -1;
	}
	return 0;
}

static void rfc5322_date(p25_time t, char *buf, size_t len)
{
	time_t w = (time_t)t;
	struct tm tm;

	gmtime_r(&w, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

static int random_bytes(unsigned char *b, size_t n)
{
	FILE *f = fopen("/dev/urandom", "re");
	size_t got = f ? fread(b, 1, n, f) : 0;

	if (f)
		fclose(f);
	return got == n ? 0 : -1;
}

static void boundary(char *out, size_t len, const char *what)
{
	unsigned char b[9];
	char hex[19];

	if (random_bytes(b, sizeof b) < 0)
		memset(b, 0x5a, sizeof b);
	for (size_t i = 0; i < sizeof b; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	snprintf(out, len, "=_p25_%s_%s", what, hex);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* ---- the abuse report's parts ---- */

static void csv_field(struct p25_buf *b, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (!quote) {
		p25_buf_puts(b, s);
		return;
	}
	p25_buf_puts(b, "\"");
	for (; *s; s++) {
		if (*s == '"')
			p25_buf_puts(b, "\"");
		p25_buf_put(b, s, 1);
	}
	p25_buf_puts(b, "\"");
}

/* The blocked attempts of the alerts, one row per destination seen. */
static void attempts_csv(struct p25_buf *b, json_t *alerts, const char *only_host)
{
	p25_buf_puts(b, "alert,kind,host,direction,first_seen,last_seen,attempts,destinations,"
	                "destination,destination_port,destination_attempts,destination_last\r\n");
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i), *ev = json_object_get(a, "evidence");
		json_t *dests = json_object_get(ev, "recent_destinations");
		char num[64];
		if (only_host && strcmp(str(a, "host"), only_host) != 0)
			continue;
		if (!json_is_array(dests))
			dests = json_object_get(ev, "schedule");
		for (size_t j = 0; j < (json_array_size(dests) ? json_array_size(dests) : 1); j++) {
			json_t *d = json_array_get(dests, j);
			snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT ",",
			         json_integer_value(json_object_get(a, "id")));
			p25_buf_puts(b, num);
			csv_field(b, str(a, "kind"));
			p25_buf_puts(b, ",");
			csv_field(b, str(a, "host"));
			p25_buf_puts(b, ",");
			csv_field(b, str(a, "direction"));
			p25_buf_puts(b, ",");
			csv_field(b, str(ev, "first_seen"));
			p25_buf_puts(b, ",");
			csv_field(b, str(ev, "last_seen"));
			snprintf(num, sizeof num, ",%" JSON_INTEGER_FORMAT ",%" JSON_INTEGER_FORMAT ",",
			         json_integer_value(json_object_get(ev, "attempts")),
			         json_integer_value(json_object_get(ev, "destinations")));
			p25_buf_puts(b, num);
			csv_field(b, d ? str(d, "destination") : "");
			snprintf(num, sizeof num, ",25,%" JSON_INTEGER_FORMAT ",",
			         d ? json_integer_value(json_object_get(d, "attempts")) : 0);
			p25_buf_puts(b, d ? num : ",,,");
			csv_field(b, d ? str(d, "last") : "");
			p25_buf_puts(b, "\r\n");
		}
	}
}

static void uuid4(char *out, size_t len)
{
	unsigned char b[16];

	if (random_bytes(b, sizeof b) < 0)
		memset(b, 0x42, sizeof b);
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, len,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
	         b[15]);
}

/* One host's XARF v4 record: connection / infected_host, the attempts as evidence. */
static json_t *xarf_record(const struct p25_notify_config *cfg, json_t *alert, const char *ref)
{
	json_t *ev = json_object_get(alert, "evidence"), *x, *dests, *ips = json_array();
	const char *kind = str(alert, "kind");
	bool infected = !strcmp(kind, "infected");
	char id[40], contact[400], desc[600];
	struct p25_buf csv;
	json_t *evidence;

	uuid4(id, sizeof id);
	snprintf(contact, sizeof contact, "%s",
	         cfg->from[0] ? cfg->from : cfg->operator_addr[0] ? cfg->operator_addr : "");
	if (!contact[0])
		snprintf(contact, sizeof contact, "postmaster@%s", p25_notify_domain(cfg));
	dests = json_object_get(ev, "recent_destinations");
	if (!json_is_array(dests))
		dests = json_object_get(ev, "schedule");
	for (size_t i = 0; i < json_array_size(dests); i++)
		json_array_append_new(ips, json_string(str(json_array_get(dests, i), "destination")));
	snprintf(desc, sizeof desc, "%s: %s blocked on TCP port 25 (%s); reference %s",
	         infected ? "possible infected host" : "possible mail server not registered",
	         str(alert, "host"), str(ev, "reason"), ref);
	p25_buf_init(&csv);
	{
		json_t *one = json_pack("[O]", alert);
		attempts_csv(&csv, one, NULL);
		json_decref(one);
	}
	evidence = json_object();
	{
		struct p25_buf enc;
		p25_buf_init(&enc);
		b64(&enc, (const unsigned char *)(csv.data ? csv.data : ""), csv.len, false);
		json_object_set_new(evidence, "content_type", json_string("text/csv"));
		json_object_set_new(evidence, "description",
		                    json_string("blocked TCP port 25 attempts, per destination"));
		json_object_set_new(evidence, "payload", json_string(enc.data ? enc.data : ""));
		json_object_set_new(evidence, "size", json_integer((json_int_t)csv.len));
		p25_buf_free(&enc);
	}
	p25_buf_free(&csv);
	x = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s, "
	              "s:s, s:i, s:s, s:s}",
	              "xarf_version", "4.0.0", "report_id", id, "timestamp",
	              str(ev, "last_seen")[0] ? str(ev, "last_seen") : str(alert, "updated"),
	              "reporter", "org", cfg->operator_name, "contact", contact, "domain",
	              p25_notify_domain(cfg), "sender", "org", cfg->operator_name, "contact",
	              contact, "domain", p25_notify_domain(cfg), "source_identifier",
	              str(alert, "host"), "category", "connection", "type", "infected_host",
	              "evidence_source", "firewall_logs", "protocol", "tcp", "destination_port", 25,
	              "bot_type", infected ? "malicious" : "unknown", "description", desc);
	if (json_array_size(ips))
		json_object_set_new(x, "destination_ip", json_deep_copy(json_array_get(ips, 0)));
	json_object_set_new(x, "destination_ips", ips);
	json_object_set(x, "first_seen", json_object_get(ev, "first_seen"));
	json_object_set(x, "last_seen", json_object_get(ev, "last_seen"));
	json_object_set(x, "attempts", json_object_get(ev, "attempts"));
	json_object_set(x, "destinations", json_object_get(ev, "destinations"));
	json_object_set_new(x, "confidence", json_real(infected ? 0.8 : 0.5));
	json_object_set_new(x, "tags", json_pack("[s]", infected ? "port25:infected-host"
	                                                         : "port25:missed-server"));
	json_object_set_new(x, "evidence", json_pack("[o]", evidence));
	return x;
}

static void part_header(struct p25_buf *m, const char *bnd, const char *type,
                        const char *encoding, const char *filename)
{
	p25_buf_printf(m, "--%s\r\nContent-Type: %s\r\n", bnd, type);
	if (encoding)
		p25_buf_printf(m, "Content-Transfer-Encoding: %s\r\n", encoding);
	if (filename)
		p25_buf_printf(m, "Content-Disposition: attachment; filename=\"%s\"\r\n", filename);
	p25_buf_puts(m, "\r\n");
}

static void abuse_parts(const struct p25_notify_config *cfg, json_t *notice, json_t *data,
                        const char *text, size_t text_len, const char *bnd, struct p25_buf *m)
{
	json_t *alerts = json_object_get(data, "alerts"), *first = json_array_get(alerts, 0);
	bool infected = false;
	char date[64];
	int64_t incidents = 0;
	struct p25_buf csv;

	for (size_t i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);
		infected |= !strcmp(str(a, "kind"), "infected");
		incidents += json_integer_value(json_object_get(json_object_get(a, "evidence"),
		                                                "attempts"));
	}
	part_header(m, bnd, "text/plain; charset=utf-8", "quoted-printable", NULL);
	qp(m, text, text_len);
	/* RFC 5965: 7bit, one Source-IP (the first host; the records below name them all). */
	part_header(m, bnd, "message/feedback-report", "7bit", NULL);
	{
		p25_time t = 0;
		char err[64];
		p25_time_parse(str(json_object_get(first, "evidence"), "last_seen"), &t, err,
		               sizeof err);
		rfc5322_date(t ? t : 0, date, sizeof date);
	}
	p25_buf_printf(m,
	               "Feedback-Type: %s\r\nUser-Agent: port25/0.1\r\nVersion: 1\r\n"
	               "Source-IP: %s\r\nArrival-Date: %s\r\nIncidents: %lld\r\n"
	               "Reporting-MTA: dns; %s\r\n\r\n",
	               infected ? "abuse" : "other", str(first, "host"), date, (long long)incidents,
	               p25_notify_domain(cfg));
	for (size_t i = 0; i < json_array_size(alerts); i++) {
		json_t *a = json_array_get(alerts, i);
		json_t *x = xarf_record(cfg, a, str(notice, "reference"));
		char *js = json_dumps(x, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		char name[128];
		snprintf(name, sizeof name, "xarf-%" JSON_INTEGER_FORMAT ".json",
		         json_integer_value(json_object_get(a, "id")));
		part_header(m, bnd, "application/json; charset=utf-8", "base64", name);
		b64(m, (const unsigned char *)(js ? js : "{}"), js ? strlen(js) : 2, true);
		free(js);
		json_decref(x);
	}
	p25_buf_init(&csv);
	attempts_csv(&csv, alerts, NULL);
	part_header(m, bnd, "text/csv; charset=utf-8", "base64", "blocked-attempts.csv");
	b64(m, (const unsigned char *)(csv.data ? csv.data : ""), csv.len, true);
	p25_buf_free(&csv);
}

int p25_notify_message(const struct p25_notify_config *cfg, json_t *notice, p25_time now,
                       struct p25_buf *out, char *err, size_t errlen)
{
	const char *template = str(notice, "template");
	const char *rcpt = str(notice, "recipient");
	json_t *data = json_object_get(notice, "data"), *ctx;
	struct p25_buf subject, text, html;
	struct tmpl t;
	char date[64], bnd[64], why[300];
	p25_time created = 0;
	int rc = -1;

	(void)now;
	if (address_ok(rcpt) < 0) {
		snprintf(err, errlen, "recipient '%s' is no address a message can go to", rcpt);
		return -1;
	}
	if (cfg->from[0] && address_ok(cfg->from) < 0) {
		snprintf(err, errlen, "notify-from '%s' is no address", cfg->from);
		return -1;
	}
	if (tmpl_load(cfg->templates, template, &t, err, errlen) < 0)
		return -1;
	ctx = json_is_object(data) ? json_deep_copy(data) : json_object();
	json_object_set_new(ctx, "reference", json_string(str(notice, "reference")));
	json_object_set_new(ctx, "message_id", json_string(str(notice, "message_id")));
	json_object_set_new(ctx, "recipient", json_string(rcpt));
	json_object_set_new(ctx, "recipient_name", json_string(str(notice, "recipient_name")));
	json_object_set_new(ctx, "notice_id", json_deep_copy(json_object_get(notice, "id")));
	p25_buf_init(&subject);
	p25_buf_init(&text);
	p25_buf_init(&html);
	if (p25_template_render(t.subject, strlen(t.subject), ctx, P25_ESC_HEADER, &subject, why,
	                        sizeof why) < 0) {
		snprintf(err, errlen, "template %s subject: %s", template, why);
		goto out;
	}
	if (p25_template_render(t.text, t.text_len, ctx, P25_ESC_TEXT, &text, why, sizeof why) < 0) {
		snprintf(err, errlen, "template %s.txt: %s", template, why);
		goto out;
	}
	if (t.html && p25_template_render(t.html, t.html_len, ctx, P25_ESC_HTML, &html, why,
	                                  sizeof why) < 0) {
		snprintf(err, errlen, "template %s.html: %s", template, why);
		goto out;
	}
	{
		char errt[64];
		p25_time_parse(str(notice, "created"), &created, errt, sizeof errt);
	}
	/* The Date is the queueing time: a message resent after a crash is the same message. */
	rfc5322_date(created, date, sizeof date);
	p25_buf_printf(out, "Date: %s\r\nFrom: ", date);
	display_name(out, cfg->from_name);
	p25_buf_printf(out, " <%s>\r\nTo: ",
	               cfg->from[0] ? cfg->from : "port25@port25.invalid");
	if (str(notice, "recipient_name")[0]) {
		display_name(out, str(notice, "recipient_name"));
		p25_buf_puts(out, " ");
	}
	p25_buf_printf(out, "<%s>\r\nSubject: ", rcpt);
	header_text(out, subject.data ? subject.data : "");
	p25_buf_printf(out,
	               "\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
	               "X-Port25-Reference: %s\r\nX-Port25-Notice: %s\r\n",
	               str(notice, "message_id"), str(notice, "reference"), template);
	if (cfg->operator_addr[0] && address_ok(cfg->operator_addr) == 0)
		p25_buf_printf(out, "Reply-To: <%s>\r\n", cfg->operator_addr);
	if (!strcmp(template, "abuse-report")) {
		boundary(bnd, sizeof bnd, "report");
		p25_buf_printf(out,
		               "Content-Type: multipart/report; report-type=feedback-report;\r\n"
		               " boundary=\"%s\"\r\n\r\nThis is an abuse report (ARF, RFC 5965).\r\n\r\n",
		               bnd);
		abuse_parts(cfg, notice, data, text.data ? text.data : "", text.len, bnd, out);
		p25_buf_printf(out, "--%s--\r\n", bnd);
	} else if (t.html) {
		boundary(bnd, sizeof bnd, "alt");
		p25_buf_printf(out, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", bnd);
		part_header(out, bnd, "text/plain; charset=utf-8", "quoted-printable", NULL);
		qp(out, text.data ? text.data : "", text.len);
		part_header(out, bnd, "text/html; charset=utf-8", "quoted-printable", NULL);
		qp(out, html.data ? html.data : "", html.len);
		p25_buf_printf(out, "--%s--\r\n", bnd);
	} else {
		p25_buf_puts(out, "Content-Type: text/plain; charset=utf-8\r\n"
		                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
		qp(out, text.data ? text.data : "", text.len);
	}
	if (out->oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	p25_buf_free(&subject);
	p25_buf_free(&text);
	p25_buf_free(&html);
	json_decref(ctx);
	tmpl_free(&t);
	return rc;
}
