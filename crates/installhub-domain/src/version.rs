//! Versions as the import compares them: SemVer 2.0, and parsing is the
//! only way to get one, so a comparison never quietly treats an unreadable
//! version as "not an upgrade".

use std::fmt;

use crate::failure::{ErrorCode, Failure};
use crate::ids::printable;

/// A SemVer 2.0 version. Ordered as SemVer orders (a pre-release sorts
/// before its release); build metadata is kept but does not change the
/// order's meaning for upgrades.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(semver::Version);

impl Version {
    /// Parses `raw`; `what` names it in the failure ("the tenant's
    /// form-2005", "package 'HR Core'").
    pub fn parse(raw: &str, what: &str) -> Result<Version, Failure> {
        semver::Version::parse(raw).map(Version).map_err(|e| {
            Failure::new(
                ErrorCode::InvalidVersion,
                format!(
                    "The version '{}' of {what} is not SemVer ({e}); it cannot be compared.",
                    printable(raw)
                ),
            )
            .detail("version", printable(raw))
        })
    }

    /// Whether going from `self` to `to` raises the major version.
    pub fn is_major_upgrade_to(&self, to: &Version) -> bool {
        to.0.major > self.0.major
    }

    /// A pre-release (`2.0.0-rc.1`).
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }

    /// Whether going from `self` to `to` lowers the version.
    pub fn is_downgrade_to(&self, to: &Version) -> bool {
        to.0 < self.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> Version {
        Version::parse(raw, "a test").unwrap()
    }

    #[test]
    fn majors_and_downgrades() {
        assert!(v("1.9.9").is_major_upgrade_to(&v("2.0.0")));
        assert!(!v("2.0.0").is_major_upgrade_to(&v("2.9.0")));
        assert!(!v("2.0.0").is_major_upgrade_to(&v("1.0.0")));
        assert!(v("2.0.0").is_downgrade_to(&v("2.0.0-rc.1")));
        assert!(!v("2.0.0-rc.1").is_downgrade_to(&v("2.0.0")));
    }

    #[test]
    fn an_unreadable_version_is_an_error_naming_what_it_belongs_to() {
        let failure = Version::parse("v2", "the tenant's form-2005").unwrap_err();
        assert_eq!(failure.code, ErrorCode::InvalidVersion);
        assert!(failure.message.contains("form-2005"), "{}", failure.message);
    }
}
