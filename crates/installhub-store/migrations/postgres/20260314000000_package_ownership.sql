-- Which installed package owns each artifact, PostgreSQL flavour. Keep it in
-- step with ../sqlite/20260314000000_package_ownership.sql.

-- Where an installed package stands: 'Installed', or 'Superseded' once
-- other packages' installs took every artifact it owned. The superseded_by_*
-- columns name the package (as it was then) and the import that took the
-- last one; all NULL while Installed.
ALTER TABLE installed_packages ADD COLUMN status TEXT NOT NULL DEFAULT 'Installed';
ALTER TABLE installed_packages ADD COLUMN superseded_by_name TEXT COLLATE "C";
ALTER TABLE installed_packages ADD COLUMN superseded_by_version TEXT;
ALTER TABLE installed_packages ADD COLUMN superseded_by_import_id TEXT COLLATE "C";
ALTER TABLE installed_packages ADD COLUMN superseded_at BIGINT;

-- One owner per artifact of a tenant: the installed package (by name
-- without case) whose install last created or replaced it. Written only
-- by install transactions (src/install.rs); an artifact written through the
-- artifact API keeps its owner, and one no install wrote has none.
CREATE TABLE artifact_owners (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    artifact_id TEXT COLLATE "C" NOT NULL,
    name_key    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, artifact_id),
    FOREIGN KEY (tenant_id, artifact_id) REFERENCES artifacts (tenant_id, artifact_id),
    FOREIGN KEY (tenant_id, name_key) REFERENCES installed_packages (tenant_id, name_key)
);

-- "Does this package still own anything?", and the listing's counts.
CREATE INDEX artifact_owners_package ON artifact_owners (tenant_id, name_key);

-- Backfill. The import records do not tell a created artifact from one the
-- import found unchanged, so each existing artifact goes to the latest
-- installed package that lists it (its install wrote it, or found it as it
-- is now); ties go to the greater import id, so the result is the same on
-- both backends.
INSERT INTO artifact_owners (tenant_id, artifact_id, name_key)
SELECT tenant_id, artifact_id, name_key FROM (
    SELECT p.tenant_id, j.value AS artifact_id, p.name_key,
           ROW_NUMBER() OVER (
               PARTITION BY p.tenant_id, j.value
               ORDER BY p.installed_at DESC, p.import_id DESC
           ) AS newest
    FROM installed_packages p,
         json_array_elements_text(p.artifact_ids::json) AS j(value), artifacts a
    WHERE a.tenant_id = p.tenant_id AND a.artifact_id = j.value
) AS ranked WHERE newest = 1;

-- A package left owning nothing although it listed an artifact another
-- package now owns is Superseded, by the newest of those owners. Packages
-- that listed no existing artifact stay Installed.
UPDATE installed_packages AS p
SET status = 'Superseded',
    superseded_by_name = w.package_name,
    superseded_by_version = w.version,
    superseded_by_import_id = w.import_id,
    superseded_at = w.installed_at
FROM (
    SELECT l.tenant_id, l.name_key AS loser, q.package_name, q.version, q.import_id,
           q.installed_at,
           ROW_NUMBER() OVER (
               PARTITION BY l.tenant_id, l.name_key
               ORDER BY q.installed_at DESC, q.import_id DESC
           ) AS newest
    FROM installed_packages l,
         json_array_elements_text(l.artifact_ids::json) AS j(value), artifact_owners o,
         installed_packages q
    WHERE o.tenant_id = l.tenant_id AND o.artifact_id = j.value
      AND o.name_key <> l.name_key
      AND q.tenant_id = o.tenant_id AND q.name_key = o.name_key
) AS w
WHERE w.newest = 1 AND w.tenant_id = p.tenant_id AND w.loser = p.name_key
  AND NOT EXISTS (
      SELECT 1 FROM artifact_owners mine
      WHERE mine.tenant_id = p.tenant_id AND mine.name_key = p.name_key
  );
