-- 9 (issue 14): a sign-up is activated at the time agreed with the
-- member, not at once: the time, who scheduled it, and whether they
-- confirmed that none of the org's hosts sends mail (the rules of
-- activation are checked when it is scheduled and again when it is due).
ALTER TABLE org ADD COLUMN activate_at TEXT;
ALTER TABLE org ADD COLUMN activate_by TEXT;
ALTER TABLE org ADD COLUMN activate_no_servers INTEGER NOT NULL DEFAULT 0;
CREATE INDEX org_activate ON org(activate_at) WHERE activate_at IS NOT NULL;
