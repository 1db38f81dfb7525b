-- A server on a request carries its expiry, so a temporary variance
-- requested is applied as a temporary permit.  NULL: permanent.
ALTER TABLE request_item ADD COLUMN expires TEXT;
