-- InstallHub schema, PostgreSQL flavour. Keep it in step with
-- ../sqlite/20260101000000_initial.sql: same tables, columns and constraints.
--
-- Identifier columns use the "C" collation so that ORDER BY and the keyset
-- comparisons (artifact_id > $n) follow byte order, as SQLite's BINARY
-- collation does, whatever the database's default locale is. Integers are
-- BIGINT throughout (the sqlx Any driver decodes them as i64), timestamps are
-- unix microseconds, JSON is TEXT and there are no boolean columns.

CREATE TABLE tenants (
    tenant_id                 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name                      TEXT   NOT NULL,
    plan                      TEXT   NOT NULL,
    status                    TEXT   NOT NULL,
    default_conflict_strategy TEXT,
    created_at                BIGINT NOT NULL,
    updated_at                BIGINT NOT NULL
);

CREATE TABLE artifacts (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    artifact_id   TEXT COLLATE "C" NOT NULL,
    artifact_type TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    version       TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    definition    TEXT   NOT NULL,
    refs          TEXT   NOT NULL,
    libraries     TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, artifact_id)
);

-- "Which other tenants hold this artifact id?" (TenantMismatch at export).
CREATE INDEX artifacts_artifact_id ON artifacts (artifact_id);

CREATE TABLE packages (
    package_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    package_name   TEXT   NOT NULL,
    -- Lower-cased package_name, computed by the store: a tenant cannot have
    -- two packages whose names differ only in case with the same version.
    name_key       TEXT COLLATE "C" NOT NULL,
    package_type   TEXT   NOT NULL,
    version        TEXT COLLATE "C" NOT NULL,
    description    TEXT,
    author         TEXT,
    tags           TEXT   NOT NULL,
    checksum       TEXT   NOT NULL,
    artifact_count BIGINT NOT NULL,
    manifest       TEXT   NOT NULL,
    bundle_key     TEXT   NOT NULL,
    bundle_size    BIGINT NOT NULL,
    bundle_sha256  TEXT   NOT NULL,
    exported_at    BIGINT NOT NULL,
    exported_by    TEXT   NOT NULL,
    UNIQUE (tenant_id, name_key, version)
);

CREATE INDEX packages_tenant_exported_at ON packages (tenant_id, exported_at);

CREATE TABLE rate_limits (
    bucket       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        BIGINT NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    actor     TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    subject   TEXT,
    outcome   TEXT   NOT NULL,
    details   TEXT   NOT NULL
);

-- Time-range reads and retention.
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
-- Newest-first listing pages by id.
CREATE INDEX audit_log_tenant_id ON audit_log (tenant_id, id);
