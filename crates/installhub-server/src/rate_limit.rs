//! Export rate limits (seed 01): per user and per tenant, each one atomic
//! upsert in the shared database so every replica counts the same exports
//! (SECURITY.md 25). Keys come from the verified token and the tenant,
//! never from client headers such as `X-Forwarded-For`.
//!
//! Only a created package counts. An export takes its units before it
//! starts, so concurrent exports on any replica cannot overshoot the limit
//! together, and gives them back (one atomic decrement each) when it ends
//! without a package: refused, failed, or abandoned by its client.

use chrono::Utc;
use installhub_domain::{Caller, ErrorCode, Failure, TenantId};
use installhub_store::{RateCharge, RateDecision, Store};

use crate::config::RateLimit;
use crate::error::ApiResult;
use crate::state::AppState;

/// Which limit an export counts against.
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

/// The units one export holds until it knows whether it created a
/// package. Dropped without [`Charges::keep`] or [`Charges::refund`] (the
/// request was cancelled mid-way), it gives them back in the background.
pub struct Charges {
    store: Store,
    held: Vec<RateCharge>,
}

impl Charges {
    pub fn new(state: &AppState) -> Self {
        Self {
            store: state.store().clone(),
            held: Vec::new(),
        }
    }

    /// Takes one export from `bucket`'s allowance; 429 `RateLimitExceeded`
    /// with `Retry-After` and `retryAfterSeconds` when it is used up, after
    /// giving back what this export already held.
    pub async fn take(&mut self, state: &AppState, bucket: Bucket<'_>) -> ApiResult<()> {
        let limit = bucket.limit(state);
        let now = Utc::now();
        let decision = self
            .store
            .take_rate_limit(&bucket.key(), limit.window, limit.max, now)
            .await;
        let resets_at = match decision {
            Ok(RateDecision::Granted(charge)) => {
                self.held.push(charge);
                return Ok(());
            }
            Ok(RateDecision::Refused { resets_at }) => resets_at,
            Err(e) => {
                self.refund_held().await;
                return Err(e.into());
            }
        };
        self.refund_held().await;
        // From the moment of the answer, not of the request: a request that
        // waited for the bucket's lock may find a window opened after its own
        // `now`. Round up so a client that waits exactly this long is not
        // refused again; never more than one window.
        let millis = (resets_at - Utc::now()).num_milliseconds().max(0);
        let window = i64::try_from(limit.window.as_secs())
            .unwrap_or(i64::MAX)
            .max(1);
        let retry_after = ((millis + 999) / 1000).clamp(1, window);
        metrics::counter!("installhub_rate_limited_total", "bucket" => bucket.describe())
            .increment(1);
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

    /// The export created its package: the units stay spent.
    pub fn keep(mut self) {
        self.held.clear();
    }

    /// The export created nothing: gives every unit back.
    pub async fn refund(mut self) {
        self.refund_held().await;
    }

    async fn refund_held(&mut self) {
        refund_all(&self.store, std::mem::take(&mut self.held)).await;
    }
}

impl Drop for Charges {
    fn drop(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.held);
        let store = self.store.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { refund_all(&store, held).await });
            }
            Err(_) => tracing::warn!(
                count = held.len(),
                "export allowance not given back: no runtime to do it on"
            ),
        }
    }
}

async fn refund_all(store: &Store, held: Vec<RateCharge>) {
    for charge in held {
        if let Err(e) = store.refund_rate_limit(&charge).await {
            // The unit stays spent until its window ends: the caller is
            // refused early, never allowed more than the limit.
            tracing::warn!(bucket = %charge.bucket, error = %e, "could not give back an export's allowance");
        }
    }
}
