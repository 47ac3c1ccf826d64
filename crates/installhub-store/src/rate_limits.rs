//! Fixed-window rate limits shared by every replica on one database
//! (SECURITY item 25). A window starts at a bucket's first hit and lasts
//! `window`; the first hit at or after its end opens a new one.
//!
//! Counting is one atomic upsert, as crates.io's `rate_limiter.rs` does: no
//! read-then-write, so concurrent hits from any number of replicas each get
//! a distinct count and none is lost.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::db::{Store, from_micros, to_micros};
use crate::error::Result;

/// A bucket's state after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Hits in the current window, this one included (1 for the first).
    pub hits: i64,
    /// When the current window ends and counting starts again at 1.
    pub resets_at: DateTime<Utc>,
}

/// Caps a window's length so `window_start + window` cannot overflow a
/// BIGINT (about 73,000 years; no real limit comes near).
const MAX_WINDOW_MICROS: i64 = i64::MAX / 4;

impl Store {
    /// Counts one hit on `bucket` at `now` and returns the window's count.
    /// The caller compares `hits` with its limit; a refused request still
    /// counts, like every other request in the window.
    pub async fn hit_rate_limit(
        &self,
        bucket: &str,
        window: Duration,
        now: DateTime<Utc>,
    ) -> Result<RateWindow> {
        let window_micros = i64::try_from(window.as_micros())
            .map_or(MAX_WINDOW_MICROS, |w| w.min(MAX_WINDOW_MICROS));
        // Both SET expressions read the row as it was before the update, on
        // both backends, so the window test is the same in each.
        let (hits, window_start): (i64, i64) = sqlx::query_as(
            "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket) DO UPDATE SET \
               hits = CASE WHEN rate_limits.window_start + $3 <= $2 \
                           THEN 1 ELSE rate_limits.hits + 1 END, \
               window_start = CASE WHEN rate_limits.window_start + $3 <= $2 \
                                   THEN $2 ELSE rate_limits.window_start END \
             RETURNING hits, window_start",
        )
        .bind(bucket)
        .bind(to_micros(now))
        .bind(window_micros)
        .fetch_one(&self.pool)
        .await?;
        Ok(RateWindow {
            hits,
            resets_at: from_micros(
                window_start.saturating_add(window_micros),
                "rate_limits.window_start",
            )?,
        })
    }

    /// Deletes buckets whose window started before `before`; pass `now`
    /// minus the longest window in use. Returns how many were deleted.
    pub async fn purge_rate_limits(&self, before: DateTime<Utc>) -> Result<u64> {
        let deleted = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
            .bind(to_micros(before))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }
}
