//! Who is calling and what they may do (SPEC §2). Built by the server from a
//! verified token; the checks here are pure.

use std::collections::BTreeSet;

use crate::ids::TenantId;

/// A permission scope from the token's space-separated `scope` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Create and update tenants: only those the token names (`"*"`: any),
    /// like every other scope (SECURITY.md 34).
    Admin,
    ArtifactsWrite,
    Export,
    Import,
    ImportOverrideSecurityWarnings,
    ImportOverrideMajorVersion,
    MarketplacePublish,
    MarketplaceAdmin,
    MarketplaceInstall,
    MarketplaceInstallCommunity,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::Admin,
        Scope::ArtifactsWrite,
        Scope::Export,
        Scope::Import,
        Scope::ImportOverrideSecurityWarnings,
        Scope::ImportOverrideMajorVersion,
        Scope::MarketplacePublish,
        Scope::MarketplaceAdmin,
        Scope::MarketplaceInstall,
        Scope::MarketplaceInstallCommunity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "installhub:admin",
            Scope::ArtifactsWrite => "installhub:artifacts:write",
            Scope::Export => "installhub:export",
            Scope::Import => "installhub:import",
            Scope::ImportOverrideSecurityWarnings => "installhub:import:override-security-warnings",
            Scope::ImportOverrideMajorVersion => "installhub:import:override-major-version",
            Scope::MarketplacePublish => "marketplace:publish",
            Scope::MarketplaceAdmin => "marketplace:admin",
            Scope::MarketplaceInstall => "marketplace:install",
            Scope::MarketplaceInstallCommunity => "marketplace:install:community",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        Scope::ALL.iter().copied().find(|s| s.as_str() == value)
    }
}

/// Which tenants a caller may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantAccess {
    /// The token's `tenants` claim holds `"*"`.
    All,
    Some(BTreeSet<TenantId>),
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's `sub`.
    pub subject: String,
    /// The identity recorded as exportedBy, installedBy and in the audit log:
    /// the token's `email`, else its `sub`.
    pub identity: String,
    pub tenants: TenantAccess,
    pub scopes: BTreeSet<Scope>,
}

impl Caller {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    pub fn can_access(&self, tenant: &TenantId) -> bool {
        match &self.tenants {
            TenantAccess::All => true,
            TenantAccess::Some(set) => set.contains(tenant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(*s));
        }
        assert_eq!(Scope::parse("installhub:everything"), None);
    }

    #[test]
    fn tenant_access() {
        let a = TenantId::parse("tenant-a").unwrap();
        let b = TenantId::parse("tenant-b").unwrap();
        let caller = Caller {
            subject: "u".into(),
            identity: "u".into(),
            tenants: TenantAccess::Some([a.clone()].into()),
            scopes: BTreeSet::new(),
        };
        assert!(caller.can_access(&a));
        assert!(!caller.can_access(&b));
        let all = Caller {
            tenants: TenantAccess::All,
            ..caller
        };
        assert!(all.can_access(&b));
    }
}
