//! Fixed-window rate limits shared by every replica on one database
//! (SECURITY item 25). A window starts at a bucket's first charge and lasts
//! `window`; the first charge at or after its end opens a new one.
//!
//! Taking a unit is one atomic upsert, as crates.io's `rate_limiter.rs`
//! does: no read-then-write, so concurrent requests from any number of
//! replicas each get a distinct count and none is lost. The upsert only
//! counts while the window has room, so a refused request costs nothing;
//! a granted unit whose work did not happen is given back with one atomic
//! decrement ([`Store::refund_rate_limit`]).

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{Store, from_micros, to_micros};
use crate::error::Result;

/// A unit taken from a bucket: what [`Store::refund_rate_limit`] needs to
/// give it back to the same window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateCharge {
    pub bucket: String,
    /// The start of the window the unit was taken from, in the store's
    /// encoding: a refund only ever lowers that window's count.
    window_start: i64,
    /// Units taken in the window, this one included (1 for the first).
    pub hits: i64,
    /// When the window ends and counting starts again.
    pub resets_at: DateTime<Utc>,
}

/// What [`Store::take_rate_limit`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RateDecision {
    /// There was room; the unit is counted until refunded.
    Granted(RateCharge),
    /// The window is full; nothing was counted.
    Refused {
        /// When the window ends and a unit can be taken again.
        resets_at: DateTime<Utc>,
    },
}

/// Caps a window's length so `window_start + window` cannot overflow a
/// BIGINT (about 73,000 years; no real limit comes near).
const MAX_WINDOW_MICROS: i64 = i64::MAX / 4;

fn window_micros(window: Duration) -> i64 {
    i64::try_from(window.as_micros()).map_or(MAX_WINDOW_MICROS, |w| w.min(MAX_WINDOW_MICROS))
}

impl Store {
    /// Takes one unit from `bucket` at `now` if its window holds fewer
    /// than `max`; otherwise counts nothing and says when the window ends.
    pub async fn take_rate_limit(
        &self,
        bucket: &str,
        window: Duration,
        max: i64,
        now: DateTime<Utc>,
    ) -> Result<RateDecision> {
        let window_micros = window_micros(window);
        let now_micros = to_micros(now);
        let open_window_end = || {
            from_micros(
                now_micros.saturating_add(window_micros),
                "rate limit window",
            )
        };
        if max < 1 {
            return Ok(RateDecision::Refused {
                resets_at: open_window_end()?,
            });
        }
        // Both SET expressions and the WHERE read the row as it was before
        // the update, on both backends. When the WHERE is false nothing is
        // updated and nothing returned: the window is full.
        let taken: Option<(i64, i64)> = sqlx::query_as(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
               hits = CASE WHEN rate_limits.window_start + $3 <= $2 \
                           THEN 1 ELSE rate_limits.hits + 1 END, \
               window_start = CASE WHEN rate_limits.window_start + $3 <= $2 \
                                   THEN $2 ELSE rate_limits.window_start END \
             WHERE rate_limits.window_start + $3 <= $2 OR rate_limits.hits < $4 \
             RETURNING hits, window_start",
        )
        .bind(bucket)
        .bind(now_micros)
        .bind(window_micros)
        .bind(max)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((hits, window_start)) = taken {
            return Ok(RateDecision::Granted(RateCharge {
                bucket: bucket.to_owned(),
                window_start,
                hits,
                resets_at: from_micros(
                    window_start.saturating_add(window_micros),
                    "rate_limits.window_start",
                )?,
            }));
        }
        // Only for the answer's `Retry-After`: a window that moved on since
        // the upsert makes it a little long, never wrong in the caller's
        // favour.
        let start: Option<(i64,)> =
            sqlx::query_as("SELECT window_start FROM rate_limits WHERE bucket = $1")
                .bind(bucket)
                .fetch_optional(&self.pool)
                .await?;
        let resets_at = match start {
            Some((start,)) => from_micros(
                start.saturating_add(window_micros),
                "rate_limits.window_start",
            )?,
            None => open_window_end()?,
        };
        Ok(RateDecision::Refused { resets_at })
    }

    /// Gives a unit back to the window it was taken from; does nothing if
    /// that window has since ended (a new window owes it nothing) or its
    /// row was purged. One atomic decrement, safe across replicas.
    pub async fn refund_rate_limit(&self, charge: &RateCharge) -> Result<()> {
        sqlx::query(
            "UPDATE rate_limits SET hits = hits - 1 \
             WHERE bucket = $1 AND window_start = $2 AND hits > 0",
        )
        .bind(charge.bucket.as_str())
        .bind(charge.window_start)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes buckets whose window started before `before`; pass `now`
    /// minus the longest window in use, so only ended windows go. Returns
    /// how many were deleted.
    pub async fn purge_rate_limits(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
