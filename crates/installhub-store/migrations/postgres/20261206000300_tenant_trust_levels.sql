-- A tenant's allowed marketplace trust levels, PostgreSQL flavour (the same
-- in ../sqlite): a JSON array of TrustLevel names; NULL allows every level.
ALTER TABLE tenants ADD COLUMN allowed_trust_levels TEXT;
