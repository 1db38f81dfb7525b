-- Alerts end.  A resolved alert (a valid permit covers the host now,
-- or the host has been quiet) is history: the one-alert-per-host-and-kind
-- rule holds for the others only, so a host blocked again after a quiet
-- spell raises a new alert.  SQLite cannot drop a table constraint: the
-- table is rebuilt, ids and rows kept.  Nothing references alert.
CREATE TABLE alert_v3 (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),
  host TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('out','in')),
  org TEXT,
  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed','resolved')),
  raised TEXT NOT NULL,
  updated TEXT NOT NULL,
  evidence TEXT NOT NULL,
  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,
  resolved_at TEXT,
  resolved_reason TEXT CHECK (resolved_reason IN ('permitted','quiet')),
  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolved_reason IS NOT NULL)));
INSERT INTO alert_v3 (id, kind, host, direction, org, status, raised, updated, evidence,
  request_id) SELECT id, kind, host, direction, org, status, raised, updated, evidence,
  request_id FROM alert;
DROP TABLE alert;
ALTER TABLE alert_v3 RENAME TO alert;
CREATE UNIQUE INDEX alert_current ON alert(kind, host, direction)
  WHERE status <> 'resolved';
-- What each flush resolves: the open and drafted alerts, without a scan.
CREATE INDEX alert_status ON alert(status);
