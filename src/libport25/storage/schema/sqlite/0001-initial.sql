-- The registry as first released.
CREATE TABLE org (
  id INTEGER PRIMARY KEY,
  handle TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  enrollment TEXT NOT NULL CHECK (enrollment IN ('none','pending','active','suspended')),
  mode TEXT NOT NULL CHECK (mode IN ('outbound','both')),
  action TEXT NOT NULL CHECK (action IN ('reject','drop')),
  created TEXT NOT NULL,
  updated TEXT NOT NULL);
CREATE TABLE prefix (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  net BLOB NOT NULL,
  len INTEGER NOT NULL,
  text TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created TEXT NOT NULL);
CREATE INDEX prefix_org ON prefix(org_id);
CREATE TABLE contact (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  phone TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL CHECK (role IN ('security','technical','administrative')),
  created TEXT NOT NULL);
CREATE INDEX contact_org ON contact(org_id);
CREATE TABLE request (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('signup','add-permit','remove-permit')),
  status TEXT NOT NULL
    CHECK (status IN ('submitted','approved','applied','verified','rejected')),
  requested_by TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  submitted TEXT NOT NULL,
  due TEXT NOT NULL,
  approved TEXT, approved_by TEXT,
  applied TEXT, applied_by TEXT,
  verified TEXT, verified_by TEXT,
  rejected TEXT, rejected_by TEXT, reason TEXT);
CREATE INDEX request_org ON request(org_id);
-- permit_id is no foreign key: applying a removal deletes the permit it names.
CREATE TABLE request_item (
  request_id INTEGER NOT NULL REFERENCES request(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  address TEXT NOT NULL,
  kind TEXT CHECK (kind IN ('mail-server','application-server','network-device')),
  description TEXT,
  permit_id INTEGER,
  PRIMARY KEY (request_id, seq));
CREATE TABLE permit (
  id INTEGER PRIMARY KEY,
  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,
  family INTEGER NOT NULL CHECK (family IN (4, 6)),
  net BLOB NOT NULL,
  len INTEGER NOT NULL,
  text TEXT NOT NULL,
  kind TEXT NOT NULL
    CHECK (kind IN ('mail-server','application-server','network-device')),
  description TEXT NOT NULL,
  requested_by TEXT NOT NULL,
  approved_by TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT,
  request_id INTEGER REFERENCES request(id) ON DELETE SET NULL,
  UNIQUE (org_id, text));
CREATE INDEX permit_org ON permit(org_id);
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object TEXT NOT NULL,
  before TEXT,
  after TEXT);
