-- The marketplace (PublicHub), SQLite flavour. Keep it in step with
-- ../postgres/20261206000000_marketplace.sql.

-- One listing per package name (compared without case, name_key), across
-- its published versions. owner_tenant_id is the tenant that first
-- published it: only packages of that tenant may add versions.
CREATE TABLE listings (
    listing_id      TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    name_key        TEXT    NOT NULL UNIQUE,
    package_type    TEXT    NOT NULL,
    summary         TEXT    NOT NULL,
    publisher       TEXT    NOT NULL,
    -- Lower-cased by the store (Rust's Unicode rules, one behaviour on both
    -- backends): the publisher filter, and what `q` searches (name, summary
    -- and publisher).
    publisher_key   TEXT    NOT NULL,
    search_text     TEXT    NOT NULL,
    -- JSON array of category slugs ([a-z0-9-]), so '"<slug>"' matches one exactly.
    categories      TEXT    NOT NULL,
    trust_level     TEXT    NOT NULL,
    owner_tenant_id TEXT    NOT NULL REFERENCES tenants (tenant_id),
    install_count   INTEGER NOT NULL DEFAULT 0,
    -- All NULL unless an admin delisted it (no new installs).
    delisted_at     INTEGER,
    delisted_by     TEXT,
    delist_reason   TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE listing_versions (
    listing_id        TEXT    NOT NULL REFERENCES listings (listing_id),
    version           TEXT    NOT NULL,
    source_package_id TEXT    NOT NULL REFERENCES packages (package_id),
    package_type      TEXT    NOT NULL,
    manifest_checksum TEXT    NOT NULL,
    -- The bundle on the CDN: content-addressed by its SHA-256.
    bundle_sha256     TEXT    NOT NULL,
    bundle_size       INTEGER NOT NULL,
    bundle_key        TEXT    NOT NULL,
    -- Ed25519 over the canonical statement (installhub-domain's
    -- VersionStatement), base64url, and the key that made it.
    signature         TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    scan_result       TEXT    NOT NULL,
    scan_findings     TEXT    NOT NULL,
    published_at      INTEGER NOT NULL,
    published_by      TEXT    NOT NULL,
    -- All NULL unless yanked (never "latest", still installable by name).
    yanked_at         INTEGER,
    yanked_by         TEXT,
    yank_reason       TEXT,
    PRIMARY KEY (listing_id, version)
) STRICT;
