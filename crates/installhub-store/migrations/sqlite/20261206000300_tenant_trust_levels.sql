-- A tenant's allowed marketplace trust levels, SQLite flavour (the same
-- in ../postgres): a JSON array of TrustLevel names; NULL allows every level.
ALTER TABLE tenants ADD COLUMN allowed_trust_levels TEXT;
