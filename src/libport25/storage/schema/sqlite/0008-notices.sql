-- v8: mail with members (registry/notices.h).
-- notice: the outbox, one row per recipient, written in the transaction
-- of the change that caused it; key makes a time-driven notice (an
-- expiring variance, a reminder) queued once however often the scan
-- runs; message_id is fixed when queued, so a resend after a crash is
-- the same message.  campaign, campaign_org: the announcement and who
-- answered.  verification: the per-request token of the applied notice
-- and what verified it.  inbound: every message verify-inbox was handed,
-- with its outcome.  notice_alert: the watch alerts each abuse report
-- carried, so none is reported twice.
CREATE TABLE notice (  id INTEGER PRIMARY KEY,  key TEXT UNIQUE,  message_id TEXT NOT NULL UNIQUE,  reference TEXT NOT NULL DEFAULT '',  template TEXT NOT NULL,  org TEXT,  recipient TEXT,  recipient_name TEXT,  roles TEXT NOT NULL DEFAULT '',  data TEXT NOT NULL,  state TEXT NOT NULL CHECK (state IN ('queued','sending','sent','failed',    'undeliverable','cancelled')),  created TEXT NOT NULL,  change_seq INTEGER,  attempts INTEGER NOT NULL DEFAULT 0,  first_attempt TEXT,  next_attempt TEXT,  lease_owner TEXT, lease_until TEXT,  sent TEXT,  smtp_code INTEGER,  last_error TEXT);
CREATE INDEX notice_state ON notice(state, next_attempt);
CREATE INDEX notice_org ON notice(org, template, created);
CREATE TABLE notice_alert (  alert_id INTEGER PRIMARY KEY,  notice_ref TEXT NOT NULL,  reported TEXT NOT NULL);
CREATE TABLE campaign (  id INTEGER PRIMARY KEY,  template TEXT NOT NULL,  deadline TEXT NOT NULL,  reminders TEXT NOT NULL,  created TEXT NOT NULL,  created_by TEXT NOT NULL);
CREATE TABLE campaign_org (  campaign_id INTEGER NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,  org TEXT NOT NULL,  token TEXT NOT NULL UNIQUE,  answered TEXT, answered_how TEXT, answered_ref TEXT,  PRIMARY KEY (campaign_id, org));
CREATE TABLE verification (  request_id INTEGER PRIMARY KEY REFERENCES request(id) ON DELETE CASCADE,  token TEXT NOT NULL UNIQUE,  address TEXT NOT NULL,  deadline TEXT NOT NULL,  created TEXT NOT NULL,  verified TEXT, server TEXT, message_id TEXT);
CREATE TABLE inbound (  id INTEGER PRIMARY KEY,  received TEXT NOT NULL,  message_id TEXT, mail_from TEXT, rcpt TEXT, subject TEXT,  connecting TEXT, token TEXT,  outcome TEXT NOT NULL,  org TEXT, request_id INTEGER,  detail TEXT NOT NULL DEFAULT '');
