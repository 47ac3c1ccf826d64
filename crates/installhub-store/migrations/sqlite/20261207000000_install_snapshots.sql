-- What each install, rollback and uninstall overwrote, so it can be undone
-- (src/snapshots.rs), SQLite flavour. Keep it in step with
-- ../postgres/20261207000000_install_snapshots.sql.

-- One row per import record that changed a tenant. `undoes` names the
-- record a rollback undid; `rolled_back_by` the rollback that undid this
-- one; `pruned_at` when retention removed the rows below (the header stays,
-- so a rollback can say the snapshot expired).
CREATE TABLE import_snapshots (
    import_id      TEXT NOT NULL PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (tenant_id),
    taken_at       INTEGER NOT NULL,
    undoes         TEXT,
    rolled_back_by TEXT,
    pruned_at      INTEGER
) STRICT;

CREATE INDEX import_snapshots_taken ON import_snapshots (taken_at);

-- Each artifact the record created or replaced: the whole previous row as
-- JSON (NULL: it did not exist) and the SHA-256 of the content written.
CREATE TABLE snapshot_artifacts (
    import_id   TEXT NOT NULL REFERENCES import_snapshots (import_id),
    artifact_id TEXT NOT NULL,
    previous    TEXT,
    new_sha256  TEXT NOT NULL,
    PRIMARY KEY (import_id, artifact_id)
) STRICT;

-- Each artifact whose owner the record changed: the previous owner's name
-- key and content hash (NULL: no owner), and the owner it left.
CREATE TABLE snapshot_owners (
    import_id       TEXT NOT NULL REFERENCES import_snapshots (import_id),
    artifact_id     TEXT NOT NULL,
    previous_owner  TEXT,
    previous_sha256 TEXT,
    after_owner     TEXT,
    PRIMARY KEY (import_id, artifact_id)
) STRICT;

-- Each installed-package row the record changed: the whole previous row as
-- JSON (NULL: there was none), and which import and status the row had
-- once the record committed (NULL: the record removed it), so a rollback
-- can tell whether anything changed it since.
CREATE TABLE snapshot_packages (
    import_id    TEXT NOT NULL REFERENCES import_snapshots (import_id),
    name_key     TEXT NOT NULL,
    previous     TEXT,
    after_import TEXT,
    after_status TEXT,
    PRIMARY KEY (import_id, name_key)
) STRICT;

-- The content hash of each owned artifact when its owner installed it, so
-- an uninstall can tell an artifact changed since (NULL on rows from
-- before this migration: not known).
ALTER TABLE artifact_owners ADD COLUMN sha256 TEXT;

-- The names (lower-cased) of the packages an installed package depends on,
-- a JSON array; an uninstall refuses while an installed package depends on
-- the one it removes. And who uninstalled it, when.
ALTER TABLE installed_packages ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]';
ALTER TABLE installed_packages ADD COLUMN uninstalled_by_import_id TEXT;
ALTER TABLE installed_packages ADD COLUMN uninstalled_at INTEGER;
