-- What port25 watch learns about blocked hosts.  Hosts are the org-side
-- address (source of outbound, destination of inbound attempts); org is
-- the handle last seen, no foreign key, so summaries outlive an org.
-- state is watch's own JSON (per-destination retry schedule, sketch),
-- read back at start.
CREATE TABLE host_summary (
  host TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('out','in')),
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  org TEXT,
  attempts INTEGER NOT NULL,
  packets INTEGER NOT NULL,
  destinations INTEGER NOT NULL,
  destinations_approx INTEGER NOT NULL DEFAULT 0,
  peak_per_minute INTEGER NOT NULL DEFAULT 0,
  active_hours INTEGER NOT NULL DEFAULT 0,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  updated TEXT NOT NULL,
  state TEXT,
  PRIMARY KEY (host, direction));
CREATE INDEX host_summary_last ON host_summary(last_seen);
CREATE TABLE alert (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),
  host TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('out','in')),
  org TEXT,
  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed')),
  raised TEXT NOT NULL,
  updated TEXT NOT NULL,
  evidence TEXT NOT NULL,
  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,
  UNIQUE (kind, host, direction));
