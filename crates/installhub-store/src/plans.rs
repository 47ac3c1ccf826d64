//! The plans dry runs answered (see `installhub_domain::import::pin`): kept
//! per tenant so that an import pinned to a plan that no longer holds can
//! say what changed. Written and read in the install transaction, so a
//! plan is stored exactly when its dry run's record commits.

use chrono::{DateTime, Utc};
use installhub_domain::ids::ImportPlanId;
use installhub_domain::import::pin::PinnedPlan;

use crate::db::{Store, from_json, to_json, to_micros};
use crate::error::Result;
use crate::install::InstallTx;

impl InstallTx {
    /// Stores the plan a dry run answered (or renews its `last_used_at`
    /// when the tenant has it already: the same id is the same plan).
    pub async fn put_import_plan(
        &mut self,
        plan_id: &ImportPlanId,
        plan: &PinnedPlan,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let tenant = self.tenant_id().clone();
        sqlx::query(
            "INSERT INTO import_plans (tenant_id, plan_id, plan, created_at, last_used_at) \
             VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (tenant_id, plan_id) DO UPDATE SET last_used_at = $4",
        )
        .bind(tenant.as_str())
        .bind(plan_id.as_str())
        .bind(to_json(plan, "import plan")?)
        .bind(to_micros(at))
        .execute(self.connection())
        .await?;
        Ok(())
    }

    /// The plan stored under `plan_id` for this transaction's tenant; a
    /// plan of another tenant is never found.
    pub async fn import_plan(&mut self, plan_id: &ImportPlanId) -> Result<Option<PinnedPlan>> {
        let tenant = self.tenant_id().clone();
        let row: Option<(String,)> =
            sqlx::query_as("SELECT plan FROM import_plans WHERE tenant_id = $1 AND plan_id = $2")
                .bind(tenant.as_str())
                .bind(plan_id.as_str())
                .fetch_optional(self.connection())
                .await?;
        row.map(|(plan,)| from_json(&plan, "import plan"))
            .transpose()
    }
}

impl Store {
    /// Deletes the plans no dry run answered since `before`; returns how
    /// many. A pin to a deleted plan still installs while it holds (its id
    /// is its content); only its differences can no longer be listed.
    pub async fn purge_import_plans(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM import_plans WHERE last_used_at < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
