-- What port25 analyze found per organization: the hosts it saw speak
-- SMTP and the addresses it classed as unregistered mail servers (a JSON
-- array), so that activating the org can warn about the ones it blocks.
CREATE TABLE analysis (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  hosts INTEGER NOT NULL,
  unregistered TEXT NOT NULL);
CREATE INDEX analysis_org ON analysis(org_id, id);
