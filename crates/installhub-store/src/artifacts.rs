//! Artifacts: the catalog the platform writes (SPEC §4) and export reads.
//!
//! Lists come back in artifact id byte order on both backends (PostgreSQL
//! columns use the "C" collation), which keyset pagination relies on.

use std::collections::BTreeSet;

use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactSummary, ArtifactType, Library, Reference,
    StoredArtifact, TenantId,
};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, FromRow};

use crate::Upserted;
use crate::audit::{ArtifactPut, AuditEvent, NewAuditEntry, insert_audit};
use crate::db::{
    Backend, IN_BATCH, Store, from_json, from_micros, is_foreign_key_violation, now_micros,
    parse_wire, placeholders, to_json,
};
use crate::error::{Result, StoreError};

/// An artifact as written: everything but the timestamps, which the store
/// sets.
#[derive(Debug, Clone, PartialEq)]
pub struct NewArtifact {
    pub tenant_id: TenantId,
    pub id: ArtifactId,
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    pub definition: DefinitionJson,
    pub references: Vec<Reference>,
    pub libraries: Vec<Library>,
}

impl From<Artifact> for NewArtifact {
    fn from(a: Artifact) -> Self {
        NewArtifact {
            definition: DefinitionJson::from_value(&a.definition),
            tenant_id: a.tenant_id,
            id: a.id,
            artifact_type: a.artifact_type,
            name: a.name,
            version: a.version,
            status: a.status,
            references: a.references,
            libraries: a.libraries,
        }
    }
}

/// An artifact's definition as the store keeps it: serde_json's compact
/// text of the definition's `Value` (object keys sorted, as serde_json
/// without `preserve_order` writes them). Content hashes are taken over
/// this text, so one definition must always have this one spelling.
///
/// An import writes megabytes of definitions it already holds as text; it
/// hands them over as text ([`DefinitionJson::from_compact_text`]) rather
/// than building and re-encoding a tree of every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionJson(String);

impl DefinitionJson {
    pub fn from_value(definition: &Value) -> Self {
        // A `Value` has string keys only, so encoding it cannot fail.
        DefinitionJson(definition.to_string())
    }

    /// Text that is already exactly what [`DefinitionJson::from_value`]
    /// makes of it, e.g. canonical bundle bytes transcoded to compact form.
    /// Debug builds (so every test) check that.
    pub fn from_compact_text(text: String) -> Self {
        debug_assert_eq!(
            serde_json::from_str::<Value>(&text)
                .map(|value| value.to_string())
                .ok()
                .as_deref(),
            Some(text.as_str()),
            "a definition handed over as text is not serde_json's compact form of itself"
        );
        DefinitionJson(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which artifacts [`Store::list_artifacts_matching`] keeps.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArtifactFilter<'a> {
    /// Only artifacts of this type.
    pub artifact_type: Option<ArtifactType>,
    /// Only artifacts whose name contains this, without case (ASCII letters
    /// on SQLite, whose `LOWER` folds only those).
    pub name_contains: Option<&'a str>,
}

const ARTIFACT_COLUMNS: &str = "tenant_id, artifact_id, artifact_type, name, version, status, \
                                definition, refs, libraries, updated_at";
/// What the dependency walk reads of each artifact. On SQLite the
/// `artifacts_summary` index holds exactly these columns, so the walk never
/// reads a row (and its definition); keep the two in step
/// (`the_sqlite_dependency_walk_reads_only_the_summary_index` fails
/// otherwise). The artifact lists read [`ARTIFACT_COLUMNS`] from the table;
/// the migration's comment, which names them too, is frozen by its
/// checksum.
const SUMMARY_COLUMNS: &str = "tenant_id, artifact_id, artifact_type, name, version, status, refs";

row! {
    struct ArtifactRow {
        tenant_id: String,
        artifact_id: String,
        artifact_type: String,
        name: String,
        version: String,
        status: String,
        definition: String,
        refs: String,
        libraries: String,
        updated_at: i64,
    }
}

row! {
    struct SummaryRow {
        tenant_id: String,
        artifact_id: String,
        artifact_type: String,
        name: String,
        version: String,
        status: String,
        refs: String,
    }
}

impl TryFrom<ArtifactRow> for Artifact {
    type Error = StoreError;

    fn try_from(row: ArtifactRow) -> Result<Self> {
        let stored = StoredArtifact::try_from(row)?;
        let definition = from_json(&stored.definition_json, "artifacts.definition")?;
        Ok(stored.with_definition(definition))
    }
}

impl TryFrom<ArtifactRow> for StoredArtifact {
    type Error = StoreError;

    fn try_from(row: ArtifactRow) -> Result<Self> {
        Ok(StoredArtifact {
            artifact_type: parse_wire(&row.artifact_type, ArtifactType::parse, "artifacts.type")?,
            status: parse_wire(&row.status, ArtifactStatus::parse, "artifacts.status")?,
            definition_json: row.definition,
            references: from_json(&row.refs, "artifacts.refs")?,
            libraries: from_json(&row.libraries, "artifacts.libraries")?,
            updated_at: from_micros(row.updated_at, "artifacts.updated_at")?,
            tenant_id: TenantId::from_trusted(row.tenant_id),
            id: ArtifactId::from_trusted(row.artifact_id),
            name: row.name,
            version: row.version,
        })
    }
}

impl TryFrom<SummaryRow> for ArtifactSummary {
    type Error = StoreError;

    fn try_from(row: SummaryRow) -> Result<Self> {
        Ok(ArtifactSummary {
            artifact_type: parse_wire(&row.artifact_type, ArtifactType::parse, "artifacts.type")?,
            status: parse_wire(&row.status, ArtifactStatus::parse, "artifacts.status")?,
            references: from_json(&row.refs, "artifacts.refs")?,
            tenant_id: TenantId::from_trusted(row.tenant_id),
            id: ArtifactId::from_trusted(row.artifact_id),
            name: row.name,
            version: row.version,
        })
    }
}

impl Store {
    /// Creates the artifact or replaces its fields. The store sets
    /// `updated_at` and keeps `created_at` on update. The `artifact-put`
    /// audit entry naming `actor` commits with the write. Fails with
    /// [`StoreError::NotFound`] when the tenant does not exist.
    pub async fn upsert_artifact(&self, artifact: &NewArtifact, actor: &str) -> Result<Upserted> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let definition = artifact.definition.as_str();
        let refs = to_json(&artifact.references, "artifact references")?;
        let libraries = to_json(&artifact.libraries, "artifact libraries")?;
        let tenant_missing = |err: sqlx::Error| {
            if is_foreign_key_violation(&err) {
                StoreError::NotFound(format!("tenant '{}'", artifact.tenant_id))
            } else {
                err.into()
            }
        };
        // Insert-or-nothing, then update: tells exactly whether the row was
        // new. Artifacts are never deleted (only marked `Deleted`), so a row
        // the insert skipped is still there for the update.
        let inserted = sqlx::query(
            "INSERT INTO artifacts \
               (tenant_id, artifact_id, artifact_type, name, version, status, \
                definition, refs, libraries, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (tenant_id, artifact_id) DO NOTHING",
        )
        .bind(artifact.tenant_id.as_str())
        .bind(artifact.id.as_str())
        .bind(artifact.artifact_type.as_str())
        .bind(artifact.name.as_str())
        .bind(artifact.version.as_str())
        .bind(artifact.status.as_str())
        .bind(definition)
        .bind(refs.as_str())
        .bind(libraries.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(tenant_missing)?
        .rows_affected();
        let upserted = if inserted > 0 {
            Upserted::Created
        } else {
            sqlx::query(
                "UPDATE artifacts \
             SET artifact_type = $1, name = $2, version = $3, status = $4, \
                 definition = $5, refs = $6, libraries = $7, updated_at = $8 \
             WHERE tenant_id = $9 AND artifact_id = $10",
            )
            .bind(artifact.artifact_type.as_str())
            .bind(artifact.name.as_str())
            .bind(artifact.version.as_str())
            .bind(artifact.status.as_str())
            .bind(definition)
            .bind(refs.as_str())
            .bind(libraries.as_str())
            .bind(now)
            .bind(artifact.tenant_id.as_str())
            .bind(artifact.id.as_str())
            .execute(&mut *tx)
            .await?;
            Upserted::Updated
        };
        let event = AuditEvent::ArtifactPut(ArtifactPut {
            artifact_id: artifact.id.clone(),
            created: upserted == Upserted::Created,
            artifact_type: artifact.artifact_type,
            name: artifact.name.clone(),
            version: artifact.version.clone(),
            status: artifact.status,
        });
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(artifact.tenant_id.clone(), actor, event),
        )
        .await?;
        tx.commit().await?;
        Ok(upserted)
    }

    /// One artifact of a tenant, in any status (`Deleted` included).
    pub async fn get_artifact(
        &self,
        tenant_id: &TenantId,
        artifact_id: &ArtifactId,
    ) -> Result<Option<Artifact>> {
        let sql = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts WHERE tenant_id = $1 AND artifact_id = $2"
        );
        sqlx::query_as::<_, ArtifactRow>(&sql)
            .bind(tenant_id.as_str())
            .bind(artifact_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(Artifact::try_from)
            .transpose()
    }

    /// A page of a tenant's artifacts in id byte order: at most `limit`
    /// (negative counts as 0) with ids after `after`. Pass the last id of a
    /// page to get the next one.
    pub async fn list_artifacts(
        &self,
        tenant_id: &TenantId,
        after: Option<&ArtifactId>,
        limit: i64,
    ) -> Result<Vec<Artifact>> {
        self.list_artifacts_matching(tenant_id, &ArtifactFilter::default(), after, limit)
            .await
    }

    /// [`Store::list_artifacts`] keeping only the artifacts `filter` matches;
    /// pages the same way.
    pub async fn list_artifacts_matching(
        &self,
        tenant_id: &TenantId,
        filter: &ArtifactFilter<'_>,
        after: Option<&ArtifactId>,
        limit: i64,
    ) -> Result<Vec<Artifact>> {
        // Every artifact id is non-empty, so "" sorts before all of them and
        // one query text serves the first page too.
        let mut sql = format!(
            "SELECT {ARTIFACT_COLUMNS} FROM artifacts \
             WHERE tenant_id = $1 AND artifact_id > $2"
        );
        let mut next = 3;
        if filter.artifact_type.is_some() {
            sql.push_str(&format!(" AND artifact_type = ${next}"));
            next += 1;
        }
        let pattern = filter.name_contains.map(|text| {
            sql.push_str(&format!(" AND LOWER(name) LIKE ${next} ESCAPE '\\'"));
            next += 1;
            format!("%{}%", crate::packages::escape_like(&text.to_lowercase()))
        });
        sql.push_str(&format!(" ORDER BY artifact_id LIMIT ${next}"));
        let mut query = sqlx::query_as::<_, ArtifactRow>(&sql)
            .bind(tenant_id.as_str())
            .bind(after.map_or("", ArtifactId::as_str));
        if let Some(kind) = filter.artifact_type {
            query = query.bind(kind.as_str());
        }
        if let Some(pattern) = pattern {
            query = query.bind(pattern);
        }
        query
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Artifact::try_from)
            .collect()
    }

    /// Sets the artifact's status to `Deleted` (the row stays, so packages
    /// and other tenants' references to it keep resolving to "deleted").
    /// Returns `false` when the tenant has no such artifact; otherwise the
    /// `artifact-delete` audit entry naming `actor` commits with the write.
    pub async fn mark_artifact_deleted(
        &self,
        tenant_id: &TenantId,
        artifact_id: &ArtifactId,
        actor: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE artifacts SET status = $1, updated_at = $2 \
             WHERE tenant_id = $3 AND artifact_id = $4",
        )
        .bind(ArtifactStatus::Deleted.as_str())
        .bind(now_micros())
        .bind(tenant_id.as_str())
        .bind(artifact_id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(false);
        }
        let event = AuditEvent::ArtifactDelete {
            artifact_id: artifact_id.clone(),
        };
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(tenant_id.clone(), actor, event),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The summaries (no definitions) of those of `ids` the tenant has, in
    /// id byte order; missing ids are simply absent and duplicates collapse.
    /// One query per 500 ids (`IN_BATCH`).
    pub async fn artifact_summaries(
        &self,
        tenant_id: &TenantId,
        ids: &[ArtifactId],
    ) -> Result<Vec<ArtifactSummary>> {
        let mut conn = self.pool.acquire().await?;
        fetch_by_ids::<SummaryRow, _>(&mut conn, SUMMARY_COLUMNS, tenant_id, ids).await
    }

    /// The artifacts reachable from `roots` in the tenant, in one query (a
    /// recursive CTE over the `refs` column), for the resolver to walk in
    /// memory instead of asking once per breadth-first level. Each reached
    /// id comes back once, with its summary, or `None` when the tenant has
    /// no such artifact. References to another tenant are not followed, and
    /// neither is anything past `limit` reached ids (which ones is up to
    /// the database), so a caller must look up any id it needs that is not
    /// in the answer. The ids come in no particular order.
    pub async fn artifact_closure(
        &self,
        tenant_id: &TenantId,
        roots: &[ArtifactId],
        limit: usize,
    ) -> Result<Vec<(ArtifactId, Option<ArtifactSummary>)>> {
        let sql = match self.backend() {
            Backend::Sqlite => CLOSURE_SQLITE,
            Backend::Postgres => CLOSURE_POSTGRES,
        };
        let roots: Vec<&str> = roots.iter().map(ArtifactId::as_str).collect();
        let rows: Vec<ClosureRow> = sqlx::query_as(sql)
            .bind(tenant_id.as_str())
            .bind(to_json(&roots, "artifact ids")?)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|row| {
                let id = ArtifactId::from_trusted(row.reached);
                let summary = match (
                    row.tenant_id,
                    row.artifact_id,
                    row.artifact_type,
                    row.name,
                    row.version,
                    row.status,
                    row.refs,
                ) {
                    (
                        Some(tenant_id),
                        Some(artifact_id),
                        Some(artifact_type),
                        Some(name),
                        Some(version),
                        Some(status),
                        Some(refs),
                    ) => Some(ArtifactSummary::try_from(SummaryRow {
                        tenant_id,
                        artifact_id,
                        artifact_type,
                        name,
                        version,
                        status,
                        refs,
                    })?),
                    _ => None,
                };
                Ok((id, summary))
            })
            .collect()
    }

    /// Like [`Store::artifact_summaries`], with the full artifacts.
    pub async fn artifacts_by_ids(
        &self,
        tenant_id: &TenantId,
        ids: &[ArtifactId],
    ) -> Result<Vec<Artifact>> {
        let mut conn = self.pool.acquire().await?;
        artifacts_by_ids(&mut conn, tenant_id, ids).await
    }

    /// Like [`Store::artifacts_by_ids`], with each definition left as the
    /// JSON text of its row (serde_json's compact form, keys sorted, as
    /// every write stores it) instead of parsed: an export re-encodes it
    /// into the bundle without building a `Value` tree on the async runtime.
    ///
    /// On PostgreSQL a large set is loaded in two halves on two connections
    /// at once, both reading one snapshot (the first transaction exports
    /// it, the second takes it), so the rows are exactly what one statement
    /// would have read: the 10 MB of a 500-artifact export come over two
    /// sockets and are decoded on two cores, where one left the server
    /// waiting for about 20 ms.
    pub async fn stored_artifacts_by_ids(
        &self,
        tenant_id: &TenantId,
        ids: &[ArtifactId],
    ) -> Result<Vec<StoredArtifact>> {
        if self.backend() == Backend::Postgres && ids.len() >= PARALLEL_LOAD_MIN {
            return self.stored_artifacts_in_one_snapshot(tenant_id, ids).await;
        }
        let mut conn = self.pool.acquire().await?;
        fetch_by_ids::<ArtifactRow, _>(&mut conn, ARTIFACT_COLUMNS, tenant_id, ids).await
    }

    async fn stored_artifacts_in_one_snapshot(
        &self,
        tenant_id: &TenantId,
        ids: &[ArtifactId],
    ) -> Result<Vec<StoredArtifact>> {
        const REPEATABLE: &str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
        let mut ids: Vec<&ArtifactId> = ids.iter().collect::<BTreeSet<_>>().into_iter().collect();
        let second_ids: Vec<ArtifactId> =
            ids.split_off(ids.len() / 2).into_iter().cloned().collect();
        let first_ids: Vec<ArtifactId> = ids.into_iter().cloned().collect();
        let mut first = self.pool.begin().await?;
        sqlx::query(REPEATABLE).execute(&mut *first).await?;
        // Only a connection free at once: waiting for a second while
        // holding the first could starve a pool that exports fill.
        let Some(mut second) = self.pool.try_acquire() else {
            let mut rows = first_ids;
            rows.extend(second_ids);
            let all = fetch_by_ids::<ArtifactRow, StoredArtifact>(
                &mut first,
                ARTIFACT_COLUMNS,
                tenant_id,
                &rows,
            )
            .await?;
            first.commit().await?;
            return Ok(all);
        };
        let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()")
            .fetch_one(&mut *first)
            .await?;
        // PostgreSQL's own identifier (hex digits and dashes), checked
        // before it is spelled into the statement, which takes no
        // parameters.
        if snapshot.is_empty() || !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
            return Err(StoreError::Corrupt(format!(
                "PostgreSQL exported a snapshot named {snapshot:?}"
            )));
        }
        let mut second = sqlx::Connection::begin(&mut *second).await?;
        sqlx::query(REPEATABLE).execute(&mut *second).await?;
        sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))
            .execute(&mut *second)
            .await?;
        let (mut rows, more) = tokio::try_join!(
            fetch_by_ids::<ArtifactRow, StoredArtifact>(
                &mut first,
                ARTIFACT_COLUMNS,
                tenant_id,
                &first_ids
            ),
            fetch_by_ids::<ArtifactRow, StoredArtifact>(
                &mut second,
                ARTIFACT_COLUMNS,
                tenant_id,
                &second_ids
            ),
        )?;
        first.commit().await?;
        second.commit().await?;
        // Each half in id byte order, the first half's ids all before the
        // second's: together in id byte order, as one statement answers.
        rows.extend(more);
        Ok(rows)
    }

    /// The tenants other than `except` that have a row for this artifact id
    /// (in any status, `Deleted` included), in id byte order. Export uses it
    /// to tell `TenantMismatch` from `ArtifactNotFound`.
    pub async fn tenants_holding_artifact(
        &self,
        artifact_id: &ArtifactId,
        except: &TenantId,
    ) -> Result<Vec<TenantId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT tenant_id FROM artifacts \
             WHERE artifact_id = $1 AND tenant_id <> $2 ORDER BY tenant_id",
        )
        .bind(artifact_id.as_str())
        .bind(except.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id,)| TenantId::from_trusted(id))
            .collect())
    }
}

/// [`Store::artifacts_by_ids`] on any connection (an install transaction's).
pub(crate) async fn artifacts_by_ids(
    conn: &mut AnyConnection,
    tenant_id: &TenantId,
    ids: &[ArtifactId],
) -> Result<Vec<Artifact>> {
    fetch_by_ids::<ArtifactRow, _>(conn, ARTIFACT_COLUMNS, tenant_id, ids).await
}

/// [`Store::artifact_closure`] on SQLite. `UNION` (not `UNION ALL`) keeps
/// each id once, which also ends the walk on a cycle; the `LIMIT` of a
/// recursive CTE bounds the rows it ever adds. A reference without a
/// `tenantId` is to the owner's tenant. Both lookups read the summary
/// index, never the table, whose rows hold the definitions: SQLite's
/// planner takes the primary key for an equality on it, so the index is
/// named (`INDEXED BY`; the `artifacts_summary` migration says why). Named
/// so, the planner would make the tenant's whole index the outer loop of
/// the recursive step and scan the queue for each entry; `CROSS JOIN`
/// keeps the queue outside, one lookup per reached id.
const CLOSURE_SQLITE: &str = "\
WITH RECURSIVE reach(id) AS ( \
    SELECT value FROM json_each($2) \
    UNION \
    SELECT json_extract(r.value, '$.artifactId') \
    FROM reach \
    CROSS JOIN artifacts a INDEXED BY artifacts_summary \
      ON a.tenant_id = $1 AND a.artifact_id = reach.id \
    JOIN json_each(a.refs) r \
    WHERE coalesce(json_extract(r.value, '$.tenantId'), $1) = $1 \
    LIMIT $3 \
) \
SELECT reach.id AS reached, a.tenant_id, a.artifact_id, a.artifact_type, a.name, a.version, \
       a.status, a.refs \
FROM reach LEFT JOIN artifacts a INDEXED BY artifacts_summary \
  ON a.tenant_id = $1 AND a.artifact_id = reach.id";

/// [`Store::artifact_closure`] on PostgreSQL, which evaluates a recursive
/// CTE only as far as its reader fetches: the `LIMIT` in `bounded` stops
/// the walk. Each reached id's references come from a scalar subquery, which
/// PostgreSQL runs per row as a primary-key lookup: as a join, the planner
/// may (and without statistics, on a freshly filled tenant, does) hash the
/// whole tenant's artifacts and parse every `refs` at each level of the
/// walk, seconds at 100,000 artifacts (`scripts/bench-catalog.sh`).
const CLOSURE_POSTGRES: &str = "\
WITH RECURSIVE reach(id) AS ( \
    SELECT value FROM jsonb_array_elements_text($2::jsonb) \
    UNION \
    SELECT r.value ->> 'artifactId' \
    FROM reach \
    CROSS JOIN LATERAL jsonb_array_elements( \
        (SELECT a.refs FROM artifacts a WHERE a.tenant_id = $1 AND a.artifact_id = reach.id)::jsonb \
    ) AS r(value) \
    WHERE coalesce(r.value ->> 'tenantId', $1) = $1 \
), bounded AS (SELECT id FROM reach LIMIT $3) \
SELECT bounded.id AS reached, a.tenant_id, a.artifact_id, a.artifact_type, a.name, a.version, \
       a.status, a.refs \
FROM bounded LEFT JOIN artifacts a ON a.tenant_id = $1 AND a.artifact_id = bounded.id";

row! {
    struct ClosureRow {
        reached: String,
        tenant_id: Option<String>,
        artifact_id: Option<String>,
        artifact_type: Option<String>,
        name: Option<String>,
        version: Option<String>,
        status: Option<String>,
        refs: Option<String>,
    }
}

/// What sqlx's `AnyConnection::backend_name` says for PostgreSQL.
const PG_BACKEND_NAME: &str = "PostgreSQL";

/// From this many artifacts on, PostgreSQL loads definitions on two
/// connections ([`Store::stored_artifacts_by_ids`]); below, the extra
/// transactions cost more than the halved transfer saves.
const PARALLEL_LOAD_MIN: usize = 64;

/// The query for `count` ids (`$2`…) of the tenant `$1`.
fn by_ids_sql(columns: &str, count: usize, postgres: bool) -> String {
    if postgres {
        // One primary-key lookup per id, whatever the statistics say: as
        // `IN (...)`, a tenant PostgreSQL has no statistics for yet (a
        // fresh import, a new database) is planned as a scan of all its
        // rows filtered by the list, 150 ms for 500 ids at 100,000
        // artifacts (`scripts/bench-catalog.sh`). `OFFSET 0` keeps the
        // subquery from being flattened into a join the planner may turn
        // into that scan again.
        let rows = (0..count)
            .map(|i| format!("(${})", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "SELECT {columns} FROM (VALUES {rows}) AS wanted(id) \
             CROSS JOIN LATERAL (SELECT {columns} FROM artifacts \
               WHERE tenant_id = $1 AND artifact_id = wanted.id OFFSET 0) AS a \
             ORDER BY artifact_id"
        )
    } else {
        format!(
            "SELECT {columns} FROM artifacts \
             WHERE tenant_id = $1 AND artifact_id IN ({}) ORDER BY artifact_id",
            placeholders(2, count)
        )
    }
}

/// Rows of `columns` for the given ids, each read as a `T`, sorted and
/// deduplicated first so the batches, and so the concatenated result, come
/// in id order.
async fn fetch_by_ids<R, T>(
    conn: &mut AnyConnection,
    columns: &str,
    tenant_id: &TenantId,
    ids: &[ArtifactId],
) -> Result<Vec<T>>
where
    R: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
    T: TryFrom<R, Error = StoreError>,
{
    let ids: Vec<&str> = ids
        .iter()
        .map(ArtifactId::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let postgres = conn.backend_name() == PG_BACKEND_NAME;
    let mut out = Vec::with_capacity(ids.len());
    for batch in ids.chunks(IN_BATCH) {
        let sql = by_ids_sql(columns, batch.len(), postgres);
        // Not cached as a prepared statement: the text varies with the
        // batch size and would crowd out the fixed queries.
        let mut query = sqlx::query_as::<_, R>(&sql)
            .persistent(false)
            .bind(tenant_id.as_str());
        for id in batch {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.push(T::try_from(row)?);
        }
    }
    Ok(out)
}

/// Rows per multi-row upsert in [`upsert_artifacts`]: 9 values each plus
/// the shared timestamp stays far below both backends' parameter limits, and
/// 100 definitions of 20 KB make a 2 MB statement.
pub(crate) const WRITE_BATCH: usize = 100;

/// Creates or replaces `artifacts` (whose ids must be distinct: PostgreSQL
/// refuses to update one row twice in a statement) with one multi-row
/// `INSERT ... ON CONFLICT DO UPDATE` per [`WRITE_BATCH`]. Every field is
/// replaced but `created_at`; `updated_at` becomes `now`.
pub(crate) async fn upsert_artifacts(
    conn: &mut AnyConnection,
    artifacts: &[&NewArtifact],
    now: i64,
) -> Result<()> {
    const PER_ROW: usize = 9;
    for batch in artifacts.chunks(WRITE_BATCH) {
        let rows = (0..batch.len())
            .map(|row| format!("({}, $1, $1)", placeholders(2 + row * PER_ROW, PER_ROW)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO artifacts \
               (tenant_id, artifact_id, artifact_type, name, version, status, \
                definition, refs, libraries, created_at, updated_at) \
             VALUES {rows} \
             ON CONFLICT (tenant_id, artifact_id) DO UPDATE SET \
               artifact_type = excluded.artifact_type, name = excluded.name, \
               version = excluded.version, status = excluded.status, \
               definition = excluded.definition, refs = excluded.refs, \
               libraries = excluded.libraries, updated_at = excluded.updated_at"
        );
        // Only the full-size text repeats, so only it is worth preparing.
        let mut query = sqlx::query(&sql)
            .persistent(batch.len() == WRITE_BATCH)
            .bind(now);
        for artifact in batch {
            query = query
                .bind(artifact.tenant_id.as_str())
                .bind(artifact.id.as_str())
                .bind(artifact.artifact_type.as_str())
                .bind(artifact.name.as_str())
                .bind(artifact.version.as_str())
                .bind(artifact.status.as_str())
                .bind(artifact.definition.as_str())
                .bind(to_json(&artifact.references, "artifact references")?)
                .bind(to_json(&artifact.libraries, "artifact libraries")?);
        }
        query.execute(&mut *conn).await.map_err(|err| {
            if is_foreign_key_violation(&err) {
                StoreError::NotFound(format!("tenant '{}'", batch[0].tenant_id))
            } else {
                err.into()
            }
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large set loaded while the pool has no second connection free is
    /// loaded whole on the one it has, rather than waiting for another
    /// while holding it; the same rows either way.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_load_with_one_free_connection_uses_it_alone() {
        crate::db::tests::with_postgres_store("ih_load", |store| async move {
            let tenant = TenantId::parse("tenant-a").unwrap();
            store
                .upsert_tenant(
                    &installhub_domain::Tenant {
                        tenant_id: tenant.clone(),
                        name: "A".into(),
                        plan: installhub_domain::Plan::Enterprise,
                        status: installhub_domain::TenantStatus::Active,
                        default_conflict_strategy: None,
                        allowed_trust_levels: None,
                    },
                    "tester",
                )
                .await
                .unwrap();
            let mut ids = Vec::new();
            for i in 0..PARALLEL_LOAD_MIN {
                let id = ArtifactId::parse(&format!("art-{i:03}")).unwrap();
                let artifact = NewArtifact {
                    tenant_id: tenant.clone(),
                    id: id.clone(),
                    artifact_type: ArtifactType::EntitySchema,
                    name: format!("A {i}"),
                    version: "1.0.0".into(),
                    status: ArtifactStatus::Published,
                    definition: DefinitionJson::from_value(&serde_json::json!({ "n": i })),
                    references: vec![],
                    libraries: vec![],
                };
                store.upsert_artifact(&artifact, "tester").await.unwrap();
                ids.push(id);
            }
            let both = store.stored_artifacts_by_ids(&tenant, &ids).await.unwrap();
            // Every connection but one taken.
            let mut held = Vec::new();
            for _ in 1..crate::db::MAX_CONNECTIONS {
                held.push(store.pool.acquire().await.unwrap());
            }
            // Waiting for a second connection would end in the pool's
            // timeout (`StoreError::Busy`), long after this one.
            let alone = tokio::time::timeout(
                crate::db::ACQUIRE_TIMEOUT / 2,
                store.stored_artifacts_by_ids(&tenant, &ids),
            )
            .await
            .expect("no wait for a second connection")
            .unwrap();
            drop(held);
            let names = |rows: &[StoredArtifact]| -> Vec<String> {
                rows.iter()
                    .map(|a| format!("{} {}", a.id, a.definition_json))
                    .collect()
            };
            assert_eq!(names(&alone), names(&both));
            assert_eq!(both.len(), PARALLEL_LOAD_MIN);
        })
        .await;
    }

    /// The plan's lookups of `sql` on a SQLite store: the details of its
    /// `SEARCH` steps on `artifacts`. The binds are text; a plan does not
    /// read their values.
    async fn sqlite_lookups(store: &Store, sql: &str, binds: &[&str]) -> Vec<String> {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query(&explain);
        for bind in binds {
            query = query.bind(*bind);
        }
        query
            .fetch_all(&store.pool)
            .await
            .unwrap()
            .iter()
            .map(|row| sqlx::Row::get::<String, _>(row, "detail"))
            .filter(|detail| {
                detail.starts_with("SEARCH a ") || detail.starts_with("SEARCH artifacts ")
            })
            .collect()
    }

    /// The dependency walk reads the summary index alone, one key lookup
    /// per artifact: the closure (both of its lookups) and the by-id
    /// summaries a resolver asks for past the closure's bound name the
    /// covering index with both key columns, so no step reads a row of the
    /// table (and a definition's overflow pages) or a range of the tenant's
    /// index. A column added to either but not to the index would make the
    /// lookup "USING INDEX" and fail here.
    #[tokio::test]
    async fn the_sqlite_dependency_walk_reads_only_the_summary_index() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("installhub.db").display());
        let store = Store::connect(&url).await.unwrap();
        let closure =
            sqlite_lookups(&store, CLOSURE_SQLITE, &["tenant-a", r#"["root"]"#, "100"]).await;
        assert_eq!(closure.len(), 2, "{closure:?}");
        let by_ids = by_ids_sql(SUMMARY_COLUMNS, 3, false);
        let summaries = sqlite_lookups(&store, &by_ids, &["tenant-a", "a", "b", "c"]).await;
        assert_eq!(summaries.len(), 1, "{summaries:?}");
        for lookup in closure.iter().chain(&summaries) {
            assert!(
                lookup.contains(
                    "USING COVERING INDEX artifacts_summary (tenant_id=? AND artifact_id=?)"
                ),
                "{closure:?} {summaries:?}"
            );
        }
    }
}
