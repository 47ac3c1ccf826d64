-- A tenant's catalog generation, PostgreSQL flavour (the same in ../sqlite):
-- a number that every write to the tenant's artifacts raises in the same
-- transaction, so an answer computed from the catalog (a preview's graph)
-- can be cached under the generation it was computed at and is used only
-- while that generation is current. Triggers raise it, not the store's
-- code, so no write path (today's or a later one) can forget to. Rows are
-- never deleted, so a generation never comes back after a tenant is
-- removed and created again; a tenant without a row is at generation 0.
--
-- The trigger is deferred to the commit: a transaction takes the
-- generation's row lock last, after every artifact row it writes, so a
-- writer of one artifact and an install writing many can never wait for
-- each other in a cycle. Its own table (not a column of `tenants`, whose
-- row the install lock holds) keeps it out of the install lock's way too.
-- `raised_by` is the transaction that raised it last: the trigger runs for
-- every row, but a transaction writing a thousand artifacts raises the
-- generation once (at commit all its writes are done; once is enough), so
-- it leaves one new row version, not a thousand.
CREATE TABLE catalog_generations (
    tenant_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    generation BIGINT NOT NULL,
    raised_by  xid8   NOT NULL
);

CREATE FUNCTION raise_catalog_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO catalog_generations AS g (tenant_id, generation, raised_by)
            VALUES (NEW.tenant_id, 1, pg_current_xact_id())
            ON CONFLICT (tenant_id) DO UPDATE
            SET generation = g.generation + 1, raised_by = excluded.raised_by
            WHERE g.raised_by <> excluded.raised_by;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.tenant_id <> NEW.tenant_id) THEN
        INSERT INTO catalog_generations AS g (tenant_id, generation, raised_by)
            VALUES (OLD.tenant_id, 1, pg_current_xact_id())
            ON CONFLICT (tenant_id) DO UPDATE
            SET generation = g.generation + 1, raised_by = excluded.raised_by
            WHERE g.raised_by <> excluded.raised_by;
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER artifacts_raise_generation
    AFTER INSERT OR UPDATE OR DELETE ON artifacts
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION raise_catalog_generation();
