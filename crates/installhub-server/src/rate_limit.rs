//! Export rate limits (seed 01): per user and per tenant, each one atomic
//! upsert in the shared database so every replica counts the same hits
//! (SECURITY.md 25). Keys come from the verified token and the tenant,
//! never from client headers such as `X-Forwarded-For`.

use chrono::Utc;
use installhub_domain::{Caller, ErrorCode, Failure, TenantId};

use crate::config::RateLimit;
use crate::error::ApiResult;
use crate::state::AppState;

/// Which limit a hit counts against.
#[derive(Debug, Clone, Copy)]
pub enum Bucket<'a> {
    User(&'a Caller),
    Tenant(&'a TenantId),
}

impl Bucket<'_> {
    fn key(&self) -> String {
        match self {
            Bucket::User(caller) => format!("export:user:{}", caller.subject),
            Bucket::Tenant(tenant) => format!("export:tenant:{tenant}"),
        }
    }

    fn limit(&self, state: &AppState) -> RateLimit {
        match self {
            Bucket::User(_) => state.config().limits.exports_per_user,
            Bucket::Tenant(_) => state.config().limits.exports_per_tenant,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Bucket::User(_) => "per user",
            Bucket::Tenant(_) => "per tenant",
        }
    }
}

/// Counts one export request against `bucket`; 429 `RateLimitExceeded`
/// with `Retry-After` and `retryAfterSeconds` once the window is full.
pub async fn hit(state: &AppState, bucket: Bucket<'_>) -> ApiResult<()> {
    let limit = bucket.limit(state);
    let now = Utc::now();
    let window = state
        .store()
        .hit_rate_limit(&bucket.key(), limit.window, now)
        .await?;
    if window.hits <= limit.max {
        return Ok(());
    }
    let millis = (window.resets_at - now).num_milliseconds().max(0);
    // Round up so a client that waits exactly this long is not refused again.
    let retry_after = ((millis + 999) / 1000).max(1);
    metrics::counter!("installhub_rate_limited_total", "bucket" => bucket.describe()).increment(1);
    Err(Failure::new(
        ErrorCode::RateLimitExceeded,
        format!(
            "Export rate limit exceeded: at most {} exports {} every {} seconds. Retry in {retry_after} seconds.",
            limit.max,
            bucket.describe(),
            limit.window.as_secs()
        ),
    )
    .detail("retryAfterSeconds", retry_after)
    .detail("limit", limit.max)
    .detail("windowSeconds", limit.window.as_secs())
    .into())
}
