-- the accounts of port25 serve (registry/accounts.c): users with a
-- role, bound to organizations; their sessions and API tokens, whose
-- secrets are kept only as hashes (hex of BLAKE2b); the login attempts
-- that rate limiting counts.  Not part of an export: credentials stay here.
CREATE TABLE account (  id INTEGER PRIMARY KEY,  name TEXT NOT NULL UNIQUE,  role TEXT NOT NULL CHECK (role IN ('operator','member','auditor')),  full_name TEXT NOT NULL DEFAULT '',  email TEXT NOT NULL DEFAULT '',  password TEXT,  disabled INTEGER NOT NULL DEFAULT 0,  created TEXT NOT NULL,  updated TEXT NOT NULL);
CREATE TABLE account_org (  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,  org_id INTEGER NOT NULL REFERENCES org(id) ON DELETE CASCADE,  PRIMARY KEY (account_id, org_id));
CREATE INDEX account_org_org ON account_org(org_id);
CREATE TABLE session (  id INTEGER PRIMARY KEY,  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,  hash TEXT NOT NULL UNIQUE,  csrf TEXT NOT NULL,  source TEXT NOT NULL,  created TEXT NOT NULL,  last_seen TEXT NOT NULL,  expires TEXT NOT NULL);
CREATE INDEX session_account ON session(account_id);
CREATE TABLE api_token (  id INTEGER PRIMARY KEY,  account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,  hash TEXT NOT NULL UNIQUE,  hint TEXT NOT NULL,  description TEXT NOT NULL DEFAULT '',  read_only INTEGER NOT NULL DEFAULT 0,  allowed TEXT,  created TEXT NOT NULL,  created_by TEXT NOT NULL,  expires TEXT,  last_used TEXT,  revoked TEXT, revoked_by TEXT);
CREATE INDEX api_token_account ON api_token(account_id);
CREATE TABLE login_attempt (  id INTEGER PRIMARY KEY,  at TEXT NOT NULL,  account TEXT NOT NULL,  source TEXT NOT NULL,  ok INTEGER NOT NULL);
CREATE INDEX login_attempt_account ON login_attempt(account, at);
CREATE INDEX login_attempt_source ON login_attempt(source, at);
