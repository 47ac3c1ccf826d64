-- A tenant's catalog generation, SQLite flavour (the same in ../postgres):
-- a number that every write to the tenant's artifacts raises in the same
-- transaction, so an answer computed from the catalog (a preview's graph)
-- can be cached under the generation it was computed at and is used only
-- while that generation is current. Triggers raise it, not the store's
-- code, so no write path (today's or a later one) can forget to. Rows are
-- never deleted, so a generation never comes back after a tenant is
-- removed and created again; a tenant without a row is at generation 0.
CREATE TABLE catalog_generations (
    tenant_id  TEXT    NOT NULL PRIMARY KEY,
    generation INTEGER NOT NULL
);

CREATE TRIGGER artifacts_insert_raises_generation AFTER INSERT ON artifacts
BEGIN
    INSERT INTO catalog_generations (tenant_id, generation) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER artifacts_update_raises_generation AFTER UPDATE ON artifacts
BEGIN
    INSERT INTO catalog_generations (tenant_id, generation) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET generation = generation + 1;
    INSERT INTO catalog_generations (tenant_id, generation)
        SELECT OLD.tenant_id, 1 WHERE OLD.tenant_id <> NEW.tenant_id
        ON CONFLICT (tenant_id) DO UPDATE SET generation = generation + 1;
END;

CREATE TRIGGER artifacts_delete_raises_generation AFTER DELETE ON artifacts
BEGIN
    INSERT INTO catalog_generations (tenant_id, generation) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET generation = generation + 1;
END;
