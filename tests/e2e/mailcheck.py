#!/usr/bin/env python3
"""Checks of the notices delivered into Maildirs, with Python's email package.

Usage: mailcheck.py COMMAND ARGS...  (see the functions below); exits non-zero
with a message naming what is wrong.
"""
import base64
import csv
import email
import email.policy
import io
import json
import os
import sys


def fail(msg):
    print("mailcheck: " + msg, file=sys.stderr)
    sys.exit(1)


def messages(maildir):
    out = []
    d = os.path.join(maildir, "new")
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            raw = f.read()
        out.append((raw, email.message_from_bytes(raw, policy=email.policy.default)))
    return out


def by_template(maildir, template):
    return [m for raw, m in messages(maildir) if m.get("X-Port25-Notice") == template]


def count_ids(maildirs):
    """Every Message-ID of port25's notices, with how often it was delivered."""
    seen = {}
    for md in maildirs:
        for raw, m in messages(md):
            if m.get("X-Port25-Notice"):
                mid = m.get("Message-ID")
                seen[mid] = seen.get(mid, 0) + 1
    return seen


def cmd_exactly_once(args):
    """exactly_once NOTICES_JSON MAILDIR...: each sent notice's Message-ID delivered once."""
    notices = json.load(open(args[0]))
    seen = count_ids(args[1:])
    want = [n["message_id"] for n in notices if n["state"] == "sent"]
    if len(want) != len([n for n in notices if n["recipient"]]):
        fail("not every notice is sent: %s" % [(n["id"], n["state"]) for n in notices])
    for mid in want:
        if seen.get(mid, 0) != 1:
            fail("%s delivered %d times" % (mid, seen.get(mid, 0)))
    extra = [m for m in seen if m not in want]
    if extra:
        fail("delivered but not in the outbox as sent: %s" % extra)
    print("exactly once: %d notices" % len(want))


def cmd_request_mail(args):
    """request_mail MAILDIR TEMPLATE NOTICE_JSON: headers, parts, escaping of one notice."""
    maildir, template, notice = args[0], args[1], json.load(open(args[2]))
    found = [m for m in by_template(maildir, template) if m["Message-ID"] == notice["message_id"]]
    if len(found) != 1:
        fail("%s: %d messages with Message-ID %s" % (template, len(found), notice["message_id"]))
    m = found[0]
    raws = [raw for raw, mm in messages(maildir) if mm["Message-ID"] == notice["message_id"]]
    raw = raws[0].decode("utf-8", "replace")
    head = raw.split("\r\n\r\n" if "\r\n\r\n" in raw else "\n\n", 1)[0]
    # The org name holds a line break and "Bcc:": it must stay inside Subject.
    for line in head.replace("\r\n", "\n").split("\n"):
        if line.lower().startswith(("bcc:", "subject: injected")):
            fail("a header was injected: %r" % line)
    if m["Subject"].count("\n"):
        fail("Subject spans lines: %r" % m["Subject"])
    if notice["reference"] not in m["Subject"]:
        fail("the reference %s is not in the Subject %r" % (notice["reference"], m["Subject"]))
    if m["X-Port25-Reference"] != notice["reference"]:
        fail("X-Port25-Reference %r" % m["X-Port25-Reference"])
    to = m["To"].addresses[0]
    if to.addr_spec != notice["recipient"]:
        fail("To %r, want %s" % (str(m["To"]), notice["recipient"]))
    if m["From"].addresses[0].addr_spec != os.environ.get("NOTIFY_FROM", to.addr_spec):
        fail("From %r" % str(m["From"]))
    if m["Auto-Submitted"] != "auto-generated":
        fail("no Auto-Submitted: auto-generated")
    text = m.get_body(("plain",))
    if text is None:
        fail("no text/plain part")
    body = text.get_content()
    name = notice["data"].get("org_name", "")
    if name and name.split("\n")[0].rstrip("\r") not in body:
        fail("the org name %r is not in the text" % name)
    html = m.get_body(("html",))
    if html is not None:
        h = html.get_content()
        if "<b>" in name and "<b>" in h.split("<b>", 1)[1].split("</b>", 1)[0] + name:
            pass
        if "&lt;b&gt;" not in h and "<b>" in name:
            fail("the org name is not HTML-escaped in the HTML part")
        if 'Söhne' in name and 'Söhne' not in h:
            fail("the HTML part lost the org name's UTF-8")
    verify = notice["data"].get("verify")
    if verify:
        if verify["address"] not in body:
            fail("the verification address %s is not in the text" % verify["address"])
        if verify["deadline"] not in body:
            fail("the deadline %s is not in the text" % verify["deadline"])
        if html is not None and ('href="mailto:%s"' % verify["address"]) not in html.get_content():
            fail("the HTML part has no mailto: link to %s" % verify["address"])
    for word in os.environ.get("EXPECT_WORDS", "").split("|"):
        if word and word not in body:
            fail("%r is not in the text: %s" % (word, body))
    print("ok %s to %s: %s" % (template, notice["recipient"], m["Subject"]))


def cmd_count(args):
    """count MAILDIR TEMPLATE N"""
    n = len(by_template(args[0], args[1]))
    if n != int(args[2]):
        fail("%s in %s: %d, want %s" % (args[1], args[0], n, args[2]))


def validator(schema_dir):
    import jsonschema
    core = json.load(open(os.path.join(schema_dir, "xarf-core.json")))
    typ = json.load(open(os.path.join(schema_dir, "types", "connection-infected-host.json")))
    try:
        from referencing import Registry, Resource
        reg = Registry().with_resources(
            [(core["$id"], Resource.from_contents(core)), (typ["$id"], Resource.from_contents(typ))])
        return jsonschema.Draft202012Validator(typ, registry=reg)
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(typ, store={core["$id"]: core, typ["$id"]: typ})
        return jsonschema.Draft202012Validator(typ, resolver=resolver)


def cmd_arf(args):
    """arf MAILDIR SCHEMA_DIR HOSTS(comma) : the abuse report's ARF and XARF structure."""
    maildir, schema_dir, hosts = args[0], args[1], args[2].split(",")
    reports = by_template(maildir, "abuse-report")
    if not reports:
        fail("no abuse report in %s" % maildir)
    m = reports[-1]
    if m.get_content_type() != "multipart/report" or m.get_param("report-type") != "feedback-report":
        fail("Content-Type %s report-type %s" % (m.get_content_type(), m.get_param("report-type")))
    parts = list(m.iter_parts())
    types = [p.get_content_type() for p in parts]
    if types[0] != "text/plain" or types[1] != "message/feedback-report":
        fail("parts %s: want text/plain, message/feedback-report first" % types)
    fr = parts[1]
    # The feedback report's fields (RFC 5965 section 3.1).
    payload = fr.get_payload()
    if isinstance(payload, list):
        fields = {k.lower(): str(v) for sub in payload for k, v in sub.items()}
    else:
        fields = {}
        for line in str(payload).splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                fields[k.strip().lower()] = v.strip()
    for k in ("feedback-type", "user-agent", "version", "source-ip"):
        if k not in fields:
            fail("the feedback report has no %s: %s" % (k, fields))
    if fields["version"] != "1":
        fail("feedback report Version %s" % fields["version"])
    xarfs = [p for p in parts if p.get_content_type() == "application/json"]
    if len(xarfs) != len(hosts):
        fail("%d XARF records, want %d (%s)" % (len(xarfs), len(hosts), hosts))
    v = validator(schema_dir)
    seen = []
    for p in xarfs:
        rec = json.loads(p.get_content() if isinstance(p.get_content(), str) else p.get_content().decode())
        errors = sorted(v.iter_errors(rec), key=lambda e: e.path)
        if errors:
            fail("XARF record does not validate: %s" % "; ".join(e.message for e in errors))
        if rec["category"] != "connection" or rec["type"] != "infected_host":
            fail("XARF %s/%s" % (rec["category"], rec["type"]))
        for k in ("first_seen", "last_seen", "attempts", "destinations", "destination_ips"):
            if k not in rec:
                fail("XARF record lacks %s" % k)
        ev = rec["evidence"][0]
        rows = list(csv.DictReader(io.StringIO(base64.b64decode(ev["payload"]).decode())))
        if not rows or rows[0]["host"] != rec["source_identifier"]:
            fail("the XARF evidence CSV does not list %s" % rec["source_identifier"])
        seen.append(rec["source_identifier"])
    if sorted(seen) != sorted(hosts):
        fail("XARF records for %s, want %s" % (seen, hosts))
    csvs = [p for p in parts if p.get_content_type() == "text/csv"]
    if len(csvs) != 1:
        fail("%d CSV parts" % len(csvs))
    content = csvs[0].get_content()
    rows = list(csv.DictReader(io.StringIO(content if isinstance(content, str) else content.decode())))
    if sorted(set(r["host"] for r in rows)) != sorted(hosts):
        fail("CSV hosts %s" % sorted(set(r["host"] for r in rows)))
    if "[P25-" not in m["Subject"]:
        fail("no ticket reference in the Subject %r" % m["Subject"])
    print("ok ARF report %s: parts %s, %d XARF records valid" % (m["Subject"], types, len(xarfs)))


def cmd_campaign(args):
    """campaign MAILDIR TEMPLATE STATUS_JSON ORG: the announcement's personal reply path."""
    maildir, template, status, org = args[0], args[1], json.load(open(args[2])), args[3]
    token = [o["token"] for o in status["orgs"] if o["org"] == org][0]
    msgs = by_template(maildir, template)
    if len(msgs) != 1:
        fail("%s: %d %s messages, want 1" % (maildir, len(msgs), template))
    body = msgs[0].get_body(("plain",)).get_content()
    if ("+%s@" % token) not in body:
        fail("the personal reply address with token %s is not in %s's %s" % (token, org, template))
    others = [o["token"] for o in status["orgs"] if o["org"] != org]
    for t in others:
        if t in body:
            fail("another org's token is in %s's message" % org)
    print("ok %s for %s: reply path with its own token" % (template, org))


if __name__ == "__main__":
    fn = globals().get("cmd_" + sys.argv[1]) if len(sys.argv) > 1 else None
    if not fn:
        fail("unknown command")
    fn(sys.argv[2:])
