-- v10: blocked attempts per organization, UTC day and direction, and the
-- analysis's report per host.
-- attempts_daily: watch adds the attempts it counted since its last flush
-- in the flush's own transaction, the one that adds them to host_summary,
-- so the two never disagree after a restart or a crash.  day is
-- YYYY-MM-DD (UTC) of the attempt itself, not of the flush.
CREATE TABLE attempts_daily (
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  day TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  attempts INTEGER NOT NULL CHECK (attempts >= 0),
  PRIMARY KEY (org_id, day, direction)) WITHOUT ROWID;
-- analysis.report: the JSON array of the org's hosts as analyze --json
-- reports them (class, reasons, evidence, first and last seen, timeline);
-- NULL for the analyses recorded before v10.
ALTER TABLE analysis ADD COLUMN report TEXT;
