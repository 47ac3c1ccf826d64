-- A marketplace version's deprecation, PostgreSQL flavour (the same in ../sqlite):
-- all NULL unless deprecated. A deprecated version still installs and may
-- still be "latest"; users are told why it is deprecated.
ALTER TABLE listing_versions ADD COLUMN deprecated_at BIGINT;
ALTER TABLE listing_versions ADD COLUMN deprecated_by TEXT;
ALTER TABLE listing_versions ADD COLUMN deprecation_reason TEXT;
