-- Marketplace installs: durable jobs, PostgreSQL flavour. Keep it in step with
-- ../sqlite/20261206000200_marketplace_installs.sql.
--
-- A job is claimed by one worker at a time with a lease (lease_owner,
-- lease_until) that its heartbeat extends; each claim adds one to attempt,
-- and every write of a worker names the attempt it holds, so a worker whose
-- lease was taken over can no longer change the job (fencing). The final
-- state of a successful install commits in the install transaction itself.
CREATE TABLE marketplace_installs (
    install_id       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    listing_id       TEXT COLLATE "C" NOT NULL REFERENCES listings (listing_id),
    version          TEXT    NOT NULL,
    target_tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    requested_by     TEXT    NOT NULL,
    -- The caller's identity, tenants and scopes, and the import options, as
    -- JSON: the worker imports with exactly the rights of the request.
    caller           TEXT    NOT NULL,
    options          TEXT    NOT NULL,
    idempotency_key  TEXT,
    status           TEXT    NOT NULL,
    stage            TEXT    NOT NULL,
    progress_done    BIGINT  NOT NULL DEFAULT 0,
    progress_total   BIGINT  NOT NULL DEFAULT 0,
    attempt          BIGINT  NOT NULL DEFAULT 0,
    max_attempts     BIGINT  NOT NULL,
    next_attempt_at  BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    -- The outcome: the import's id and counts, or the failure.
    import_id        TEXT,
    result           TEXT,
    error            TEXT,
    message          TEXT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    completed_at     BIGINT,
    UNIQUE (requested_by, idempotency_key)
);

-- The claim's search: due jobs, oldest first.
CREATE INDEX marketplace_installs_due ON marketplace_installs (status, next_attempt_at);
