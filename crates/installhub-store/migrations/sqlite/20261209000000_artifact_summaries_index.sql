-- Every column of an artifact's summary (what the dependency walk and the
-- artifact lists read), in one index beside the table, SQLite only.
--
-- SQLite keeps a row's columns in declaration order and a large value on a
-- chain of overflow pages, so reading `refs`, declared after `definition`,
-- walks the whole chain of the definition's pages. The closure walk of a
-- preview or export read every page of every definition it passed: 29 ms
-- for 500 artifacts of 100 KB each against 3.7 ms through this index, which
-- holds the summary's columns only (the walk then never touches the
-- table). PostgreSQL keeps large values out of line (TOAST), so its rows
-- need no such index.
CREATE INDEX artifacts_summary
    ON artifacts (tenant_id, artifact_id, artifact_type, name, version, status, refs);
