-- Imports (SPEC §7), PostgreSQL flavour. Keep it in step with
-- ../sqlite/20260201000000_imports.sql.

-- The per-tenant install lock: every install transaction starts by bumping
-- this counter, which takes the tenant's row lock on PostgreSQL and the
-- database write lock on SQLite (see src/install.rs).
ALTER TABLE tenants ADD COLUMN install_seq BIGINT NOT NULL DEFAULT 0;

-- One row per import attempt, whatever its outcome. No foreign key to
-- tenants: an import into a tenant that does not exist is recorded (as
-- Failed) too, as the audit log records it.
CREATE TABLE imports (
    import_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    package_id   TEXT COLLATE "C",
    package_name TEXT,
    version      TEXT,
    source       TEXT   NOT NULL,
    status       TEXT   NOT NULL,
    installed_by TEXT   NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    -- The API's response body or error envelope; JSON `null` while InProgress.
    response     TEXT   NOT NULL,
    -- The instance id of the Store that started the import: start-up
    -- recovery only fails records no live server is still working on.
    owner        TEXT COLLATE "C" NOT NULL
);

-- A tenant's imports, newest first, paged by (started_at, import_id).
CREATE INDEX imports_tenant_started ON imports (tenant_id, started_at, import_id);
-- Recovery looks for the (few) records still in progress.
CREATE INDEX imports_in_progress ON imports (started_at) WHERE status = 'InProgress';

-- What each tenant has installed: one row per package name compared without
-- case (name_key is the lower-cased name, computed by the store); a newer
-- import of the same name replaces the row. Listed by name_key, in byte
-- order as on SQLite.
CREATE TABLE installed_packages (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    name_key     TEXT COLLATE "C" NOT NULL,
    package_name TEXT COLLATE "C" NOT NULL,
    package_id   TEXT COLLATE "C" NOT NULL,
    version      TEXT   NOT NULL,
    checksum     TEXT   NOT NULL,
    -- JSON array of artifact ids.
    artifact_ids TEXT   NOT NULL,
    import_id    TEXT COLLATE "C" NOT NULL,
    installed_at BIGINT NOT NULL,
    installed_by TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);

-- The audit listing filtered by action, newest first.
CREATE INDEX audit_log_tenant_action_id ON audit_log (tenant_id, action, id);
