//! Tenants: created and updated by the platform's admin API (SPEC §4).

use installhub_domain::{ConflictStrategy, Plan, Tenant, TenantId, TenantStatus};

use crate::Upserted;
use crate::audit::{AuditEvent, NewAuditEntry, TenantPut, insert_audit};
use crate::db::{Store, from_json, now_micros, parse_wire, to_json};
use crate::error::Result;

row! {
    struct TenantRow {
        tenant_id: String,
        name: String,
        plan: String,
        status: String,
        default_conflict_strategy: Option<String>,
        allowed_trust_levels: Option<String>,
    }
}

impl TryFrom<TenantRow> for Tenant {
    type Error = crate::StoreError;

    fn try_from(row: TenantRow) -> Result<Self> {
        Ok(Tenant {
            plan: parse_wire(&row.plan, Plan::parse, "tenants.plan")?,
            status: parse_wire(&row.status, TenantStatus::parse, "tenants.status")?,
            default_conflict_strategy: row
                .default_conflict_strategy
                .as_deref()
                .map(|s| {
                    parse_wire(
                        s,
                        ConflictStrategy::parse,
                        "tenants.default_conflict_strategy",
                    )
                })
                .transpose()?,
            allowed_trust_levels: row
                .allowed_trust_levels
                .as_deref()
                .map(|levels| from_json(levels, "tenants.allowed_trust_levels"))
                .transpose()?,
            tenant_id: TenantId::from_trusted(row.tenant_id),
            name: row.name,
        })
    }
}

impl Store {
    /// Creates the tenant or replaces its fields; `created_at` is kept. The
    /// `tenant-put` audit entry naming `actor` commits with the write.
    pub async fn upsert_tenant(&self, tenant: &Tenant, actor: &str) -> Result<Upserted> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let strategy = tenant
            .default_conflict_strategy
            .map(ConflictStrategy::as_str);
        let levels = tenant
            .allowed_trust_levels
            .as_ref()
            .map(|levels| to_json(levels, "allowed trust levels"))
            .transpose()?;
        // Insert-or-nothing, then update: unlike one `ON CONFLICT DO UPDATE`,
        // this tells exactly whether the row was new, on both backends.
        // Tenants are never deleted, so a row the insert skipped is still
        // there for the update.
        let inserted = sqlx::query(
            "INSERT INTO tenants \
               (tenant_id, name, plan, status, default_conflict_strategy, allowed_trust_levels, \
                created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $7, $6, $6) \
             ON CONFLICT (tenant_id) DO NOTHING",
        )
        .bind(tenant.tenant_id.as_str())
        .bind(tenant.name.as_str())
        .bind(tenant.plan.as_str())
        .bind(tenant.status.as_str())
        .bind(strategy)
        .bind(now)
        .bind(levels.as_deref())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let upserted = if inserted > 0 {
            Upserted::Created
        } else {
            sqlx::query(
            "UPDATE tenants \
             SET name = $1, plan = $2, status = $3, default_conflict_strategy = $4, updated_at = $5, \
                 allowed_trust_levels = $7 \
             WHERE tenant_id = $6",
        )
        .bind(tenant.name.as_str())
        .bind(tenant.plan.as_str())
        .bind(tenant.status.as_str())
        .bind(strategy)
        .bind(now)
        .bind(tenant.tenant_id.as_str())
        .bind(levels.as_deref())
        .execute(&mut *tx)
        .await?;
            Upserted::Updated
        };
        let event = TenantPut::new(tenant, upserted == Upserted::Created);
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(
                tenant.tenant_id.clone(),
                actor,
                AuditEvent::TenantPut(event),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(upserted)
    }

    /// Every tenant in id order, at most `limit` (negative counts as 0):
    /// what a token naming `"*"` may see.
    pub async fn list_tenants(&self, limit: i64) -> Result<Vec<Tenant>> {
        sqlx::query_as::<_, TenantRow>(
            "SELECT tenant_id, name, plan, status, default_conflict_strategy, allowed_trust_levels \
             FROM tenants ORDER BY tenant_id LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Tenant::try_from)
        .collect()
    }

    /// The tenant, if it exists.
    pub async fn get_tenant(&self, tenant_id: &TenantId) -> Result<Option<Tenant>> {
        self.tenant_reads
            .try_read(tenant_id, || self.read_tenant(tenant_id))
            .await
    }

    /// [`Store::get_tenant`]'s query, asked alone.
    async fn read_tenant(&self, tenant_id: &TenantId) -> Result<Option<Tenant>> {
        let query = sqlx::query_as::<_, TenantRow>(
            "SELECT tenant_id, name, plan, status, default_conflict_strategy, allowed_trust_levels \
             FROM tenants WHERE tenant_id = $1",
        )
        .bind(tenant_id.as_str());
        self.fetch_optional_hot(query)
            .await?
            .map(Tenant::try_from)
            .transpose()
    }

    /// The tenant, as [`Store::get_tenant`], with its catalog generation: a
    /// number every committed write to the tenant's artifacts raises (the
    /// store's triggers do, see the `catalog_generations` migration), so an
    /// answer computed from the catalog may be reused while the number is
    /// unchanged. One query.
    pub async fn get_tenant_with_generation(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Option<(Tenant, i64)>> {
        self.tenant_generation_reads
            .try_read(tenant_id, || self.read_tenant_with_generation(tenant_id))
            .await
    }

    /// [`Store::get_tenant_with_generation`]'s query, asked alone.
    async fn read_tenant_with_generation(
        &self,
        tenant_id: &TenantId,
    ) -> Result<Option<(Tenant, i64)>> {
        struct Row {
            tenant: TenantRow,
            generation: i64,
        }
        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Row {
            fn from_row(row: &'r sqlx::any::AnyRow) -> std::result::Result<Self, sqlx::Error> {
                Ok(Row {
                    tenant: TenantRow::from_row(row)?,
                    generation: sqlx::Row::try_get(row, "generation")?,
                })
            }
        }
        let query = sqlx::query_as::<_, Row>(
            "SELECT t.tenant_id, t.name, t.plan, t.status, t.default_conflict_strategy, \
                    t.allowed_trust_levels, coalesce(g.generation, 0) AS generation \
             FROM tenants t LEFT JOIN catalog_generations g ON g.tenant_id = t.tenant_id \
             WHERE t.tenant_id = $1",
        )
        .bind(tenant_id.as_str());
        let Some(row) = self.fetch_optional_hot(query).await? else {
            return Ok(None);
        };
        Ok(Some((Tenant::try_from(row.tenant)?, row.generation)))
    }
}
