//! Marketplace installs as durable jobs (SPEC §8).
//!
//! A job is a row. A worker in any replica claims a due job with a lease
//! ([`Store::claim_install`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL; on
//! SQLite the single writer serializes claims), keeps the lease alive with
//! [`Store::heartbeat_install`], and holds a [`Claim`]: the job's attempt
//! number at its claim. Every later write names that attempt and the
//! owner, so a worker that lost its lease (it stalled, another took the job
//! over) can change nothing: its writes match no row (fencing).
//!
//! A successful install's final state commits in the install transaction
//! ([`InstallTx::finish_marketplace_install`]), with the tenant's writes:
//! the job is `Success` exactly when the install committed, and a job that
//! was taken over rolls its install back. A worker that dies mid-install
//! leaves a lease that expires; the job is claimed again, up to its
//! `max_attempts`, then fails with `InstallInterrupted`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use installhub_domain::marketplace::{InstallStage, InstallStatus};
use installhub_domain::{ListingId, TenantId};
use serde_json::Value;

use crate::db::{
    Backend, Store, from_json, from_micros, now_micros, parse_wire, to_json, to_micros,
};
use crate::error::{Result, StoreError};
use crate::install::InstallTx;
use crate::notifications::{NewNotification, insert_notification};

/// An install to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstall {
    pub install_id: String,
    pub listing_id: ListingId,
    pub version: String,
    pub target_tenant_id: TenantId,
    /// The caller's identity.
    pub requested_by: String,
    /// The caller (identity, tenants, scopes) the install runs as.
    pub caller: Value,
    /// The install request's options.
    pub options: Value,
    /// The `Idempotency-Key` the request carried: one install per key and
    /// caller.
    pub idempotency_key: Option<String>,
    pub max_attempts: u32,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallJob {
    pub install_id: String,
    pub listing_id: ListingId,
    pub version: String,
    pub target_tenant_id: TenantId,
    pub requested_by: String,
    pub caller: Value,
    pub options: Value,
    pub status: InstallStatus,
    pub stage: InstallStage,
    pub progress_done: u64,
    pub progress_total: u64,
    pub attempt: u32,
    pub max_attempts: u32,
    pub import_id: Option<String>,
    /// What a finished install answers with (counts, planned actions).
    pub result: Option<Value>,
    pub error: Option<String>,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A worker's hold on a job: only writes naming it take effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub install_id: String,
    pub owner: String,
    pub attempt: u32,
}

const COLUMNS: &str = "install_id, listing_id, version, target_tenant_id, requested_by, caller, \
     options, status, stage, progress_done, progress_total, attempt, max_attempts, import_id, \
     result, error, message, created_at, updated_at, completed_at";

/// The condition every worker write carries: the job is still running,
/// under this owner and attempt. [`fenced`] binds it.
const FENCE: &str = "install_id = $1 AND lease_owner = $2 AND attempt = $3 AND status = $4";

row! {
    struct JobRow {
        install_id: String,
        listing_id: String,
        version: String,
        target_tenant_id: String,
        requested_by: String,
        caller: String,
        options: String,
        status: String,
        stage: String,
        progress_done: i64,
        progress_total: i64,
        attempt: i64,
        max_attempts: i64,
        import_id: Option<String>,
        result: Option<String>,
        error: Option<String>,
        message: Option<String>,
        created_at: i64,
        updated_at: i64,
        completed_at: Option<i64>,
    }
}

fn count(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what}: {value} is negative")))
}

impl TryFrom<JobRow> for InstallJob {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self> {
        let small = |value: i64, what: &str| -> Result<u32> {
            u32::try_from(value)
                .map_err(|_| StoreError::Corrupt(format!("{what}: {value} is out of range")))
        };
        Ok(InstallJob {
            status: parse_wire(
                &row.status,
                InstallStatus::parse,
                "marketplace_installs.status",
            )?,
            stage: parse_wire(
                &row.stage,
                InstallStage::parse,
                "marketplace_installs.stage",
            )?,
            caller: from_json(&row.caller, "marketplace_installs.caller")?,
            options: from_json(&row.options, "marketplace_installs.options")?,
            result: row
                .result
                .as_deref()
                .map(|r| from_json(r, "marketplace_installs.result"))
                .transpose()?,
            progress_done: count(row.progress_done, "marketplace_installs.progress_done")?,
            progress_total: count(row.progress_total, "marketplace_installs.progress_total")?,
            attempt: small(row.attempt, "marketplace_installs.attempt")?,
            max_attempts: small(row.max_attempts, "marketplace_installs.max_attempts")?,
            created_at: from_micros(row.created_at, "marketplace_installs.created_at")?,
            updated_at: from_micros(row.updated_at, "marketplace_installs.updated_at")?,
            completed_at: row
                .completed_at
                .map(|at| from_micros(at, "marketplace_installs.completed_at"))
                .transpose()?,
            listing_id: ListingId::from_trusted(row.listing_id),
            target_tenant_id: TenantId::from_trusted(row.target_tenant_id),
            install_id: row.install_id,
            version: row.version,
            requested_by: row.requested_by,
            import_id: row.import_id,
            error: row.error,
            message: row.message,
        })
    }
}

fn micros_after(duration: Duration) -> i64 {
    now_micros().saturating_add(i64::try_from(duration.as_micros()).unwrap_or(i64::MAX))
}

impl Store {
    /// Queues an install. With an idempotency key the caller used before,
    /// nothing is queued and the earlier install is answered: the `bool`
    /// says whether this call created it.
    pub async fn create_install(&self, new: &NewInstall) -> Result<(InstallJob, bool)> {
        self.insert_install(new, None).await
    }

    /// [`Store::create_install`] for a worker of this server that is idle:
    /// the install is created already claimed by `owner` (its first
    /// attempt, `Downloading`), as [`Store::claim_install`] would have
    /// claimed it, in the one commit that queues it. The claim comes back
    /// only when this call created the install.
    pub async fn create_install_claimed(
        &self,
        new: &NewInstall,
        owner: &str,
        lease: Duration,
    ) -> Result<(InstallJob, Option<Claim>)> {
        let (job, created) = self.insert_install(new, Some((owner, lease))).await?;
        let claim = created.then(|| Claim {
            install_id: job.install_id.clone(),
            owner: owner.to_owned(),
            attempt: job.attempt,
        });
        Ok((job, claim))
    }

    async fn insert_install(
        &self,
        new: &NewInstall,
        claimed_by: Option<(&str, Duration)>,
    ) -> Result<(InstallJob, bool)> {
        let now = now_micros();
        let (owner, lease_until, attempt, stage) = match claimed_by {
            Some((owner, lease)) => (
                Some(owner),
                Some(micros_after(lease)),
                1,
                InstallStage::Downloading,
            ),
            None => (None, None, 0, InstallStage::Queued),
        };
        let created = sqlx::query(
            "INSERT INTO marketplace_installs (install_id, listing_id, version, target_tenant_id, \
               requested_by, caller, options, idempotency_key, status, stage, max_attempts, \
               next_attempt_at, created_at, updated_at, lease_owner, lease_until, attempt, \
               progress_total) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $12, $13, $14, $15, \
               CASE WHEN $13 IS NULL THEN 0 ELSE COALESCE((SELECT v.bundle_size \
                 FROM listing_versions v WHERE v.listing_id = $2 AND v.version = $3), 0) END) \
             ON CONFLICT (requested_by, idempotency_key) DO NOTHING",
        )
        .bind(new.install_id.as_str())
        .bind(new.listing_id.as_str())
        .bind(new.version.as_str())
        .bind(new.target_tenant_id.as_str())
        .bind(new.requested_by.as_str())
        .bind(to_json(&new.caller, "install caller")?)
        .bind(to_json(&new.options, "install options")?)
        .bind(new.idempotency_key.as_deref())
        .bind(InstallStatus::InProgress.as_str())
        .bind(stage.as_str())
        .bind(i64::from(new.max_attempts))
        .bind(now)
        .bind(owner)
        .bind(lease_until)
        .bind(attempt)
        .execute(&self.pool)
        .await?
        .rows_affected()
            > 0;
        let job = match (created, new.idempotency_key.as_deref()) {
            (false, Some(key)) => self.install_by_key(&new.requested_by, key).await?,
            _ => self.get_install(&new.install_id).await?,
        };
        let job =
            job.ok_or_else(|| StoreError::NotFound(format!("install '{}'", new.install_id)))?;
        Ok((job, created))
    }

    /// The install a caller queued with an `Idempotency-Key`.
    pub async fn install_by_key(
        &self,
        requested_by: &str,
        idempotency_key: &str,
    ) -> Result<Option<InstallJob>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM marketplace_installs \
             WHERE requested_by = $1 AND idempotency_key = $2"
        );
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(requested_by)
            .bind(idempotency_key)
            .fetch_optional(&self.pool)
            .await?
            .map(InstallJob::try_from)
            .transpose()
    }

    /// How many installs are in each status and stage, for `/metrics`.
    pub async fn install_counts(&self) -> Result<Vec<(InstallStatus, InstallStage, u64)>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT status, stage, COUNT(*) FROM marketplace_installs GROUP BY status, stage",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(status, stage, n)| {
                Ok((
                    parse_wire(&status, InstallStatus::parse, "marketplace_installs.status")?,
                    parse_wire(&stage, InstallStage::parse, "marketplace_installs.stage")?,
                    count(n, "install count")?,
                ))
            })
            .collect()
    }

    pub async fn get_install(&self, install_id: &str) -> Result<Option<InstallJob>> {
        let sql = format!("SELECT {COLUMNS} FROM marketplace_installs WHERE install_id = $1");
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(install_id)
            .fetch_optional(&self.pool)
            .await?
            .map(InstallJob::try_from)
            .transpose()
    }

    /// Fails every job whose worker's lease ran out on its last attempt
    /// (`InstallInterrupted`; its install transaction never committed) and
    /// answers them, once each across replicas, so their users can be told.
    /// Workers call it before [`Store::claim_install`], which leaves such
    /// jobs alone.
    pub async fn fail_interrupted_installs(&self) -> Result<Vec<InstallJob>> {
        let now = now_micros();
        let sql = format!(
            "UPDATE marketplace_installs SET status = $1, error = 'InstallInterrupted', \
               message = 'The install was interrupted on its last attempt; nothing was installed.', \
               lease_owner = NULL, lease_until = NULL, completed_at = $2, updated_at = $2 \
             WHERE status = $3 AND lease_until < $2 AND attempt >= max_attempts \
             RETURNING {COLUMNS}"
        );
        sqlx::query_as::<_, JobRow>(&sql)
            .bind(InstallStatus::Failed.as_str())
            .bind(now)
            .bind(InstallStatus::InProgress.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(InstallJob::try_from)
            .collect()
    }

    /// Claims the oldest due job for `owner` for `lease`, if there is one:
    /// a queued job, or one whose worker's lease ran out with attempts
    /// left. The claim enters `Downloading`, the worker's first stage, with
    /// the version's bundle size as its total (0 if the version is gone):
    /// the worker does not need a write of its own to start downloading.
    pub async fn claim_install(
        &self,
        owner: &str,
        lease: Duration,
    ) -> Result<Option<(InstallJob, Claim)>> {
        let now = now_micros();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE marketplace_installs SET lease_owner = $1, lease_until = $2, \
               attempt = attempt + 1, stage = $3, progress_done = 0, \
               progress_total = COALESCE((SELECT v.bundle_size FROM listing_versions v \
                 WHERE v.listing_id = marketplace_installs.listing_id \
                   AND v.version = marketplace_installs.version), 0), \
               updated_at = $4 \
             WHERE install_id = ( \
               SELECT install_id FROM marketplace_installs \
               WHERE status = $5 AND next_attempt_at <= $4 \
                 AND (lease_until IS NULL OR lease_until < $4) AND attempt < max_attempts \
               ORDER BY next_attempt_at, install_id LIMIT 1 {lock}) \
             RETURNING {COLUMNS}"
        );
        // On a SQLite file the claim commits without waiting for the disk
        // (one sync fewer per install). Lost in a crash, it leaves the
        // install queued, as it was, for the next claim; otherwise the
        // job's first durable commit (its import record, or its failure)
        // syncs the write-ahead log, which holds the claim before it.
        // Nothing the job does before that commit is more than a read or a
        // stage record (see `set_install_stage`).
        let claimed = sqlx::query_as::<_, JobRow>(&sql)
            .bind(owner)
            .bind(micros_after(lease))
            .bind(InstallStage::Downloading.as_str())
            .bind(now)
            .bind(InstallStatus::InProgress.as_str())
            .fetch_optional(self.unsynced.as_ref().unwrap_or(&self.pool))
            .await?;
        let Some(row) = claimed else {
            return Ok(None);
        };
        let job = InstallJob::try_from(row)?;
        let claim = Claim {
            install_id: job.install_id.clone(),
            owner: owner.to_owned(),
            attempt: job.attempt,
        };
        Ok(Some((job, claim)))
    }

    /// Extends the lease; `false` when the claim was lost.
    pub async fn heartbeat_install(&self, claim: &Claim, lease: Duration) -> Result<bool> {
        let sql = format!("UPDATE marketplace_installs SET lease_until = $5 WHERE {FENCE}");
        let query = fenced(&sql, claim).bind(micros_after(lease));
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Records a marketplace install's import, `InProgress`, as
    /// [`Store::insert_import`] does, and enters the job's `stage` in the
    /// same commit: one sync of the disk where there would be two. `false`
    /// when the claim was lost (the record is written all the same).
    pub async fn insert_import_entering_stage(
        &self,
        record: &crate::ImportRecord,
        claim: &Claim,
        stage: InstallStage,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        crate::imports::insert_import(&mut *tx, record, self.instance_id()).await?;
        let entered = set_stage(&mut *tx, claim, stage, 0, 0).await?;
        tx.commit().await?;
        Ok(entered)
    }

    /// Records the stage and its progress; `false` when the claim was lost.
    ///
    /// On a SQLite file this commits without waiting for the disk, as a
    /// claim does: a stage is a report of where the job is, not an outcome.
    /// A killed server leaves it on the row all the same (the write-ahead
    /// log is in the operating system's hands once the commit returns); a
    /// power cut may take it back to the stage before, which a retry after
    /// the lease runs out overwrites. The job's next durable commit (its
    /// import record, its install transaction, its failure) syncs it.
    pub async fn set_install_stage(
        &self,
        claim: &Claim,
        stage: InstallStage,
        done: u64,
        total: u64,
    ) -> Result<bool> {
        let pool = self.unsynced.as_ref().unwrap_or(&self.pool);
        set_stage(pool, claim, stage, done, total).await
    }

    /// Ends the job `Failed` at `stage`, and stores `notification` (the
    /// installing user's) in the same transaction: it exists exactly when
    /// the failure does. `false` when the claim was lost (nothing stored).
    pub async fn fail_install(
        &self,
        claim: &Claim,
        stage: InstallStage,
        error: &str,
        message: &str,
        import_id: Option<&str>,
        notification: Option<&NewNotification>,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE marketplace_installs SET status = $5, stage = $6, error = $7, message = $8, \
               import_id = $9, lease_owner = NULL, lease_until = NULL, completed_at = $10, \
               updated_at = $10 WHERE {FENCE}"
        );
        let mut tx = self.pool.begin().await?;
        let failed = fenced(&sql, claim)
            .bind(InstallStatus::Failed.as_str())
            .bind(stage.as_str())
            .bind(error)
            .bind(message)
            .bind(import_id)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !failed {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(n) = notification {
            insert_notification(&mut tx, n).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Puts the job back in the queue until `at` (a failure worth another
    /// attempt); `false` when the claim was lost.
    pub async fn retry_install(
        &self,
        claim: &Claim,
        at: DateTime<Utc>,
        error: &str,
        message: &str,
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE marketplace_installs SET stage = $5, next_attempt_at = $6, error = $7, \
               message = $8, lease_owner = NULL, lease_until = NULL, updated_at = $9 \
             WHERE {FENCE}"
        );
        let query = fenced(&sql, claim)
            .bind(InstallStage::Queued.as_str())
            .bind(to_micros(at))
            .bind(error)
            .bind(message)
            .bind(now_micros());
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }
}

/// A statement that changes the job only while `claim` holds it: binds the
/// four parameters of [`FENCE`]; the statement's own start at `$5`.
async fn set_stage<'c, E>(
    executor: E,
    claim: &Claim,
    stage: InstallStage,
    done: u64,
    total: u64,
) -> Result<bool>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let sql = format!(
        "UPDATE marketplace_installs SET stage = $5, progress_done = $6, progress_total = $7, \
           updated_at = $8 WHERE {FENCE}"
    );
    let query = fenced(&sql, claim)
        .bind(stage.as_str())
        .bind(i64::try_from(done).unwrap_or(i64::MAX))
        .bind(i64::try_from(total).unwrap_or(i64::MAX))
        .bind(now_micros());
    Ok(query.execute(executor).await?.rows_affected() > 0)
}

fn fenced<'q>(
    sql: &'q str,
    claim: &'q Claim,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(claim.install_id.as_str())
        .bind(claim.owner.as_str())
        .bind(i64::from(claim.attempt))
        .bind(InstallStatus::InProgress.as_str())
}

/// The job's `Success`, and for a real install the listing's install
/// count, through `conn` (the install transaction's).
async fn finish(
    conn: &mut sqlx::AnyConnection,
    claim: &Claim,
    import_id: &str,
    result: &Value,
    listing: Option<&ListingId>,
) -> Result<bool> {
    let sql = format!(
        "UPDATE marketplace_installs SET status = $5, stage = $6, import_id = $7, result = $8, \
           error = NULL, message = NULL, lease_owner = NULL, lease_until = NULL, \
           completed_at = $9, updated_at = $9 WHERE {FENCE}"
    );
    let result = to_json(result, "install result")?;
    let done = fenced(&sql, claim)
        .bind(InstallStatus::Success.as_str())
        .bind(InstallStage::Installing.as_str())
        .bind(import_id)
        .bind(result)
        .bind(now_micros())
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    if done && let Some(listing) = listing {
        sqlx::query("UPDATE listings SET install_count = install_count + 1 WHERE listing_id = $1")
            .bind(listing.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(done)
}

impl InstallTx {
    /// The job's `Success` in the install transaction, and one more install
    /// on `listing` (`None` for a dry run, which installs nothing). Fails with [`StoreError::InstallFenced`] when the
    /// claim was lost: roll back then, so only the job's current holder
    /// can install.
    pub async fn finish_marketplace_install(
        &mut self,
        claim: &Claim,
        listing: Option<&ListingId>,
        import_id: &str,
        result: &Value,
    ) -> Result<()> {
        if finish(self.connection(), claim, import_id, result, listing).await? {
            Ok(())
        } else {
            Err(StoreError::InstallFenced(claim.install_id.clone()))
        }
    }
}
