-- A marketplace version's deprecation, SQLite flavour (the same in ../postgres):
-- all NULL unless deprecated. A deprecated version still installs and may
-- still be "latest"; users are told why it is deprecated.
ALTER TABLE listing_versions ADD COLUMN deprecated_at INTEGER;
ALTER TABLE listing_versions ADD COLUMN deprecated_by TEXT;
ALTER TABLE listing_versions ADD COLUMN deprecation_reason TEXT;
