//! The hard limits a reader enforces (SECURITY.md 7 and 12, SPEC §7), and
//! the defaults, which the writer also respects so that every bundle we
//! write is one we can read back.

/// More entries than this is an unsafe archive (SPEC §7).
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// `manifest.json` is capped at 1 MiB (SECURITY.md 12).
pub const DEFAULT_MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// The largest plan's package size (Enterprise, 500 MB); the server narrows
/// it to the target tenant's plan.
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 500 * 1024 * 1024;
/// A ratio of inflated to compressed size above 100:1 is a bomb (SPEC §7).
pub const DEFAULT_MAX_RATIO: u64 = 100;

/// Limits for [`crate::read_bundle`]. Sizes are inflated bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most entries (files and directories) the archive may have.
    pub max_entries: usize,
    /// Largest `manifest.json`.
    pub max_manifest_bytes: u64,
    /// Largest single artifact file.
    pub max_entry_bytes: u64,
    /// Largest sum of all entries.
    pub max_total_bytes: u64,
    /// Largest inflated-to-compressed ratio of any entry.
    pub max_ratio: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_manifest_bytes: DEFAULT_MAX_MANIFEST_BYTES,
            max_entry_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
        }
    }
}

impl ReadLimits {
    /// The default limits with a plan's size limit for each entry and for
    /// the whole bundle.
    pub fn with_size_limit(bytes: u64) -> Self {
        ReadLimits {
            max_entry_bytes: bytes,
            max_total_bytes: bytes,
            ..ReadLimits::default()
        }
    }

    /// Whether `size` inflated bytes from `compressed` stored bytes is within
    /// the ratio limit. An empty entry is always fine; a non-empty entry
    /// stored in zero bytes never is.
    pub(crate) fn ratio_ok(&self, size: u64, compressed: u64) -> bool {
        size == 0 || u128::from(size) <= u128::from(compressed) * u128::from(self.max_ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_boundaries() {
        let limits = ReadLimits::default();
        assert!(limits.ratio_ok(0, 0));
        assert!(!limits.ratio_ok(1, 0));
        assert!(limits.ratio_ok(100, 1));
        assert!(!limits.ratio_ok(101, 1));
        assert!(limits.ratio_ok(u64::MAX, u64::MAX));
    }

    #[test]
    fn size_limit_sets_entry_and_total() {
        let limits = ReadLimits::with_size_limit(50);
        assert_eq!((limits.max_entry_bytes, limits.max_total_bytes), (50, 50));
        assert_eq!(limits.max_entries, 10_000);
        assert_eq!(limits.max_manifest_bytes, 1 << 20);
    }
}
