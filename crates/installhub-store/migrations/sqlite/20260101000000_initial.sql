-- InstallHub schema, SQLite flavour. Keep it in step with
-- ../postgres/20260101000000_initial.sql: same tables, columns and constraints.
--
-- STRICT tables make SQLite refuse a value of the wrong type, as PostgreSQL
-- does. Timestamps are unix microseconds (INTEGER), JSON is TEXT and there
-- are no boolean columns, so every value is one the sqlx Any driver carries.

CREATE TABLE tenants (
    tenant_id                 TEXT    NOT NULL PRIMARY KEY,
    name                      TEXT    NOT NULL,
    plan                      TEXT    NOT NULL,
    status                    TEXT    NOT NULL,
    default_conflict_strategy TEXT,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
) STRICT;

CREATE TABLE artifacts (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (tenant_id),
    artifact_id   TEXT    NOT NULL,
    artifact_type TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    version       TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    definition    TEXT    NOT NULL,
    refs          TEXT    NOT NULL,
    libraries     TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, artifact_id)
) STRICT;

-- "Which other tenants hold this artifact id?" (TenantMismatch at export).
CREATE INDEX artifacts_artifact_id ON artifacts (artifact_id);

CREATE TABLE packages (
    package_id     TEXT    NOT NULL PRIMARY KEY,
    tenant_id      TEXT    NOT NULL REFERENCES tenants (tenant_id),
    package_name   TEXT    NOT NULL,
    -- Lower-cased package_name, computed by the store: a tenant cannot have
    -- two packages whose names differ only in case with the same version.
    name_key       TEXT    NOT NULL,
    package_type   TEXT    NOT NULL,
    version        TEXT    NOT NULL,
    description    TEXT,
    author         TEXT,
    tags           TEXT    NOT NULL,
    checksum       TEXT    NOT NULL,
    artifact_count INTEGER NOT NULL,
    manifest       TEXT    NOT NULL,
    bundle_key     TEXT    NOT NULL,
    bundle_size    INTEGER NOT NULL,
    bundle_sha256  TEXT    NOT NULL,
    exported_at    INTEGER NOT NULL,
    exported_by    TEXT    NOT NULL,
    UNIQUE (tenant_id, name_key, version)
) STRICT;

CREATE INDEX packages_tenant_exported_at ON packages (tenant_id, exported_at);

CREATE TABLE rate_limits (
    bucket       TEXT    NOT NULL PRIMARY KEY,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
    -- AUTOINCREMENT: ids are never reused, so a `before` cursor stays valid.
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    tenant_id TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    subject   TEXT,
    outcome   TEXT    NOT NULL,
    details   TEXT    NOT NULL
) STRICT;

-- Time-range reads and retention.
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
-- Newest-first listing pages by id.
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id);
