-- Typed changes (changes.c), one per audit record, in its
-- transaction; AUTOINCREMENT so that a seq is never handed out twice,
-- even once old changes are pruned.  And a request can be cancelled:
-- SQLite cannot widen a CHECK constraint, so the request table is
-- rebuilt (with foreign keys off, see storage/sqlite.c: request_item, permit
-- and alert refer to it), ids and rows kept.
CREATE TABLE change (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  audit_id INTEGER NOT NULL REFERENCES audit(id),
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  kind TEXT NOT NULL,
  org TEXT,
  object_id INTEGER,
  subject TEXT,
  related INTEGER,
  present_before INTEGER NOT NULL, present_after INTEGER NOT NULL,
  expires_before TEXT, expires_after TEXT,
  state_before TEXT, state_after TEXT,
  mode_before TEXT, mode_after TEXT,
  action_before TEXT, action_after TEXT);
CREATE INDEX change_audit ON change(audit_id);
CREATE TABLE request_v6 (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),
  status TEXT NOT NULL
    CHECK (status IN ('submitted','approved','applied','verified','rejected',
                      'cancelled')),
  requested_by TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  submitted TEXT NOT NULL,
  due TEXT NOT NULL,
  approved TEXT, approved_by TEXT,
  applied TEXT, applied_by TEXT,
  verified TEXT, verified_by TEXT,
  rejected TEXT, rejected_by TEXT, reason TEXT,
  cancelled TEXT, cancelled_by TEXT);
INSERT INTO request_v6 (id, org_id, type, status, requested_by, note, submitted, due,
  approved, approved_by, applied, applied_by, verified, verified_by, rejected,
  rejected_by, reason) SELECT id, org_id, type, status, requested_by, note, submitted,
  due, approved, approved_by, applied, applied_by, verified, verified_by, rejected,
  rejected_by, reason FROM request;
DROP TABLE request;
ALTER TABLE request_v6 RENAME TO request;
CREATE INDEX request_org ON request(org_id);
