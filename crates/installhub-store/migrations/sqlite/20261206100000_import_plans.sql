-- The plans dry runs answered, SQLite flavour (the same in ../postgres).
-- A plan id is the SHA-256 of the plan itself, so an import pinned to one
-- needs no row to know whether it still holds; the row is there to say
-- what changed when it does not. One row per (tenant, plan): a dry run
-- answering a plan already stored keeps the row and renews last_used_at.
CREATE TABLE import_plans (
    tenant_id    TEXT    NOT NULL,
    plan_id      TEXT    NOT NULL,
    -- The plan as JSON (installhub_domain::import::pin::PinnedPlan).
    plan         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, plan_id)
) STRICT;

-- The sweep of plans no dry run answered for a long time.
CREATE INDEX import_plans_last_used ON import_plans (last_used_at);
