//! Tokens a [`Verifier`](crate::Verifier) has already verified, so that a
//! client presenting the same bearer token on every request pays for one
//! signature check, not one per request.
//!
//! What keeps it from ever answering wrongly:
//! - The key is the whole token, compared byte for byte. Two different
//!   tokens never share an entry, not even when they share a signature (a
//!   signature glued onto another payload is a different token, which misses
//!   and is verified, and refused, in full).
//! - An entry is served only while `now < exp`: never past the token's own
//!   expiry, and not in the leeway after it either (a token in its leeway
//!   goes through the full check, which applies the leeway itself).
//! - Only a token that passed every check is stored; failures are not.
//! - Each verifier owns its cache and its key set, and the key set never
//!   changes under it: trusting other keys (a rotation) means a new
//!   verifier, whose cache starts empty, so a token signed by a removed key
//!   is checked again, and refused.
//! - It is bounded by weight (the token's bytes plus its caller), so memory
//!   stays flat however many distinct tokens arrive; quick_cache evicts
//!   (S3-FIFO) past the bound.

use std::fmt;

use installhub_domain::{Caller, TenantAccess};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Total weight (about bytes) of the verified tokens kept: 4 MiB holds some
/// 4,000 typical 1 KiB tokens, far more distinct callers than one server
/// sees within a token's lifetime.
pub(crate) const DEFAULT_CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// A verified token's caller and the `exp` it is served until.
#[derive(Clone)]
struct Entry {
    caller: Caller,
    /// The token's `exp`, in seconds since the epoch.
    expires_at: u64,
    /// Computed once, when stored (quick_cache asks for it on eviction).
    weight: u64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Box<str>, Entry> for ByBytes {
    fn weight(&self, token: &Box<str>, entry: &Entry) -> u64 {
        token.len() as u64 + entry.weight
    }
}

pub(crate) struct TokenCache {
    entries: Cache<Box<str>, Entry, ByBytes>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("tokens", &self.entries.len())
            .field("weight", &self.entries.weight())
            .field("capacity", &self.entries.capacity())
            .finish()
    }
}

impl TokenCache {
    pub(crate) fn new(capacity_bytes: u64) -> TokenCache {
        // quick_cache sizes its tables from the expected count; 1 KiB is a
        // typical access token with its caller.
        let estimated_items = usize::try_from(capacity_bytes / 1024)
            .unwrap_or(usize::MAX)
            .max(1);
        TokenCache {
            entries: Cache::with_weighter(estimated_items, capacity_bytes, ByBytes),
        }
    }

    /// The caller of `token` if it was verified before and `now < exp`.
    pub(crate) fn get(&self, token: &str, now: u64) -> Option<Caller> {
        let entry = self.entries.get(token)?;
        if now < entry.expires_at {
            Some(entry.caller)
        } else {
            // Expired: drop it (unless it was replaced meanwhile) and let the
            // full check decide.
            self.entries
                .remove_if(token, |entry| entry.expires_at <= now);
            None
        }
    }

    /// Remembers a token that has just passed every check, unless its
    /// `exp` is already reached.
    pub(crate) fn insert(&self, token: &str, caller: &Caller, expires_at: u64, now: u64) {
        if now >= expires_at {
            return;
        }
        let entry = Entry {
            weight: caller_weight(caller),
            caller: caller.clone(),
            expires_at,
        };
        self.entries.insert(token.into(), entry);
    }

    /// How many tokens are kept, and their total weight.
    pub(crate) fn usage(&self) -> (usize, u64) {
        (self.entries.len(), self.entries.weight())
    }

    pub(crate) fn capacity(&self) -> u64 {
        self.entries.capacity()
    }
}

/// About the heap bytes a caller holds, plus a fixed overhead for the entry.
fn caller_weight(caller: &Caller) -> u64 {
    let tenants: usize = match &caller.tenants {
        TenantAccess::All => 0,
        TenantAccess::Some(set) => set.iter().map(|t| t.as_str().len() + 32).sum(),
    };
    let scopes = caller.scopes.len() * 16;
    (128 + caller.subject.len() + caller.identity.len() + tenants + scopes) as u64
}
