/*
 * The SQLite schema, step by step: step N moves the schema from version N-1
 * to N.  Append new steps; never edit a released one.
 */
#include "storage/storage_int.h"

static const char *const steps[] = {
    /* 1: the registry as first released. */
    "CREATE TABLE org ("
    "  id INTEGER PRIMARY KEY,"
    "  handle TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  enrollment TEXT NOT NULL CHECK (enrollment IN ('none','pending','active','suspended')),"
    "  mode TEXT NOT NULL CHECK (mode IN ('outbound','both')),"
    "  action TEXT NOT NULL CHECK (action IN ('reject','drop')),"
    "  created TEXT NOT NULL,"
    "  updated TEXT NOT NULL);"
    "CREATE TABLE prefix ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  net BLOB NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  text TEXT NOT NULL UNIQUE,"
    "  description TEXT NOT NULL DEFAULT '',"
    "  created TEXT NOT NULL);"
    "CREATE INDEX prefix_org ON prefix(org_id);"
    "CREATE TABLE contact ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  phone TEXT NOT NULL DEFAULT '',"
    "  role TEXT NOT NULL CHECK (role IN ('security','technical','administrative')),"
    "  created TEXT NOT NULL);"
    "CREATE INDEX contact_org ON contact(org_id);"
    "CREATE TABLE request ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),"
    "  status TEXT NOT NULL"
    "    CHECK (status IN ('submitted','approved','applied','verified','rejected')),"
    "  requested_by TEXT NOT NULL,"
    "  note TEXT NOT NULL DEFAULT '',"
    "  submitted TEXT NOT NULL,"
    "  due TEXT NOT NULL,"
    "  approved TEXT, approved_by TEXT,"
    "  applied TEXT, applied_by TEXT,"
    "  verified TEXT, verified_by TEXT,"
    "  rejected TEXT, rejected_by TEXT, reason TEXT);"
    "CREATE INDEX request_org ON request(org_id);"
    /* permit_id is no foreign key: applying a removal deletes the permit it names. */
    "CREATE TABLE request_item ("
    "  request_id INTEGER NOT NULL REFERENCES request(id) ON DELETE CASCADE,"
    "  seq INTEGER NOT NULL,"
    "  address TEXT NOT NULL,"
    "  kind TEXT CHECK (kind IN ('mail-server','application-server','network-device')),"
    "  description TEXT,"
    "  permit_id INTEGER,"
    "  PRIMARY KEY (request_id, seq));"
    "CREATE TABLE permit ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  net BLOB NOT NULL,"
    "  len INTEGER NOT NULL,"
    "  text TEXT NOT NULL,"
    "  kind TEXT NOT NULL"
    "    CHECK (kind IN ('mail-server','application-server','network-device')),"
    "  description TEXT NOT NULL,"
    "  requested_by TEXT NOT NULL,"
    "  approved_by TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  expires TEXT,"
    "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
    "  UNIQUE (org_id, text));"
    "CREATE INDEX permit_org ON permit(org_id);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  object_type TEXT NOT NULL,"
    "  object TEXT NOT NULL,"
    "  before TEXT,"
    "  after TEXT);",
    /*
     * 2: what port25 watch learns about blocked hosts.  Hosts are the org-side
     * address (source of outbound, destination of inbound attempts); org is
     * the handle last seen, no foreign key, so summaries outlive an org.
     * state is watch's own JSON (per-destination retry schedule, sketch),
     * read back at start.
     */
    "CREATE TABLE host_summary ("
    "  host TEXT NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
    "  family INTEGER NOT NULL CHECK (family IN (4, 6)),"
    "  org TEXT,"
    "  attempts INTEGER NOT NULL,"
    "  packets INTEGER NOT NULL,"
    "  destinations INTEGER NOT NULL,"
    "  destinations_approx INTEGER NOT NULL DEFAULT 0,"
    "  peak_per_minute INTEGER NOT NULL DEFAULT 0,"
    "  active_hours INTEGER NOT NULL DEFAULT 0,"
    "  first_seen TEXT NOT NULL,"
    "  last_seen TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  state TEXT,"
    "  PRIMARY KEY (host, direction));"
    "CREATE INDEX host_summary_last ON host_summary(last_seen);"
    "CREATE TABLE alert ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),"
    "  host TEXT NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
    "  org TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed')),"
    "  raised TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  evidence TEXT NOT NULL,"
    "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
    "  UNIQUE (kind, host, direction));",
    /*
     * 3: alerts end.  A resolved alert (a valid permit covers the host now,
     * or the host has been quiet) is history: the one-alert-per-host-and-kind
     * rule holds for the others only, so a host blocked again after a quiet
     * spell raises a new alert.  SQLite cannot drop a table constraint: the
     * table is rebuilt, ids and rows kept.  Nothing references alert.
     */
    "CREATE TABLE alert_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('missed-server','infected')),"
    "  host TEXT NOT NULL,"
    "  direction TEXT NOT NULL CHECK (direction IN ('out','in')),"
    "  org TEXT,"
    "  status TEXT NOT NULL CHECK (status IN ('open','drafted','dismissed','resolved')),"
    "  raised TEXT NOT NULL,"
    "  updated TEXT NOT NULL,"
    "  evidence TEXT NOT NULL,"
    "  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,"
    "  resolved_at TEXT,"
    "  resolved_reason TEXT CHECK (resolved_reason IN ('permitted','quiet')),"
    "  CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolved_reason IS NOT NULL)));"
    "INSERT INTO alert_v3 (id, kind, host, direction, org, status, raised, updated, evidence,"
    "  request_id) SELECT id, kind, host, direction, org, status, raised, updated, evidence,"
    "  request_id FROM alert;"
    "DROP TABLE alert;"
    "ALTER TABLE alert_v3 RENAME TO alert;"
    "CREATE UNIQUE INDEX alert_current ON alert(kind, host, direction)"
    "  WHERE status <> 'resolved';"
    /* What each flush resolves: the open and drafted alerts, without a scan. */
    "CREATE INDEX alert_status ON alert(status);",
    /*
     * 4: a server on a request carries its expiry, so a temporary variance
     * requested is applied as a temporary permit.  NULL: permanent.
     */
    "ALTER TABLE request_item ADD COLUMN expires TEXT;",
    /*
     * 5: what port25 analyze found per organization: the hosts it saw speak
     * SMTP and the addresses it classed as unregistered mail servers (a JSON
     * array), so that activating the org can warn about the ones it blocks.
     */
    "CREATE TABLE analysis ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  hosts INTEGER NOT NULL,"
    "  unregistered TEXT NOT NULL);"
    "CREATE INDEX analysis_org ON analysis(org_id, id);",
    /*
     * 6: typed changes (changes.c), one per audit record, in its
     * transaction; AUTOINCREMENT so that a seq is never handed out twice,
     * even once old changes are pruned.  And a request can be cancelled:
     * SQLite cannot widen a CHECK constraint, so the request table is
     * rebuilt (with foreign keys off, see migrate(): request_item, permit
     * and alert refer to it), ids and rows kept.
     */
    "CREATE TABLE change ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  audit_id INTEGER NOT NULL REFERENCES audit(id),"
    "  at TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  org TEXT,"
    "  object_id INTEGER,"
    "  subject TEXT,"
    "  related INTEGER,"
    "  present_before INTEGER NOT NULL, present_after INTEGER NOT NULL,"
    "  expires_before TEXT, expires_after TEXT,"
    "  state_before TEXT, state_after TEXT,"
    "  mode_before TEXT, mode_after TEXT,"
    "  action_before TEXT, action_after TEXT);"
    "CREATE INDEX change_audit ON change(audit_id);"
    "CREATE TABLE request_v6 ("
    "  id INTEGER PRIMARY KEY,"
    "  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),"
    "  status TEXT NOT NULL"
    "    CHECK (status IN ('submitted','approved','applied','verified','rejected',"
    "                      'cancelled')),"
    "  requested_by TEXT NOT NULL,"
    "  note TEXT NOT NULL DEFAULT '',"
    "  submitted TEXT NOT NULL,"
    "  due TEXT NOT NULL,"
    "  approved TEXT, approved_by TEXT,"
    "  applied TEXT, applied_by TEXT,"
    "  verified TEXT, verified_by TEXT,"
    "  rejected TEXT, rejected_by TEXT, reason TEXT,"
    "  cancelled TEXT, cancelled_by TEXT);"
    "INSERT INTO request_v6 (id, org_id, type, status, requested_by, note, submitted, due,"
    "  approved, approved_by, applied, applied_by, verified, verified_by, rejected,"
    "  rejected_by, reason) SELECT id, org_id, type, status, requested_by, note, submitted,"
    "  due, approved, approved_by, applied, applied_by, verified, verified_by, rejected,"
    "  rejected_by, reason FROM request;"
    "DROP TABLE request;"
    "ALTER TABLE request_v6 RENAME TO request;"
    "CREATE INDEX request_org ON request(org_id);",
};


const struct store_schema store_schema_sqlite = {steps, (int)(sizeof steps / sizeof steps[0])};
