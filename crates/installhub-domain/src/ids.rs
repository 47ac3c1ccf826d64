//! Identifier newtypes. Each one is parsed once, at the edge, so a tenant id
//! can never be passed where an artifact id is expected and an unchecked
//! string never reaches the store.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidId(pub String);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $validate:path) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an identifier.
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                $validate(value)?;
                Ok(Self(value.to_owned()))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps a value read back from our own store, where it was
            /// validated on the way in.
            pub fn from_trusted(value: String) -> Self {
                Self(value)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A tenant: lower-case letters, digits and `-`, 3–64 characters.
    TenantId,
    validate_tenant_id
);
id_type!(
    /// An artifact, stable across tenants: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
    ArtifactId,
    validate_artifact_id
);
id_type!(
    /// An exported package: `pkg-` followed by a UUID v4.
    PackageId,
    validate_package_id
);

id_type!(
    /// An import: `imp-` followed by a UUID v4.
    ImportId,
    validate_import_id
);

impl ImportId {
    /// A fresh random import id.
    pub fn random() -> Self {
        Self(format!("imp-{}", uuid::Uuid::new_v4()))
    }
}

id_type!(
    /// A dry run's plan: `plan-` followed by the 64 lower-case hex digits of
    /// the SHA-256 of what the plan decided (see `import::pin`).
    ImportPlanId,
    validate_import_plan_id
);

impl ImportPlanId {
    /// The id of the plan whose canonical bytes hash to `sha256_hex`.
    pub fn from_sha256_hex(sha256_hex: &str) -> Self {
        Self(format!("plan-{sha256_hex}"))
    }
}

fn validate_import_plan_id(value: &str) -> Result<(), InvalidId> {
    let ok = value.strip_prefix("plan-").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "'{}' is not a valid plan id: expected 'plan-' followed by 64 lower-case hex digits, as a dry run answers it.",
            printable(value)
        )))
    }
}

fn validate_import_id(value: &str) -> Result<(), InvalidId> {
    let ok = value
        .strip_prefix("imp-")
        .is_some_and(|uuid| uuid.len() == 36 && is_uuid_text(uuid));
    if ok {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "'{}' is not a valid import id: expected 'imp-' followed by a UUID",
            printable(value)
        )))
    }
}

impl PackageId {
    /// A fresh random package id.
    pub fn from_uuid(uuid: &str) -> Self {
        Self(format!("pkg-{uuid}"))
    }
}

fn validate_tenant_id(value: &str) -> Result<(), InvalidId> {
    let ok_len = (3..=64).contains(&value.len());
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "'{}' is not a valid tenant id: use 3-64 lower-case letters, digits and '-'",
            printable(value)
        )))
    }
}

fn validate_artifact_id(value: &str) -> Result<(), InvalidId> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "'{}' is not a valid artifact id: start with a letter or digit, then up to 127 letters, digits, '.', '_' or '-'",
            printable(value)
        )))
    }
}

fn validate_package_id(value: &str) -> Result<(), InvalidId> {
    let ok = value
        .strip_prefix("pkg-")
        .is_some_and(|uuid| uuid.len() == 36 && is_uuid_text(uuid));
    if ok {
        Ok(())
    } else {
        Err(InvalidId(format!(
            "'{}' is not a valid package id: expected 'pkg-' followed by a UUID",
            printable(value)
        )))
    }
}

fn is_uuid_text(s: &str) -> bool {
    s.char_indices().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => c == '-',
        _ => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
    })
}

/// Shortens and escapes a user-supplied value for use inside an error message.
pub fn printable(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(80)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 80 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids() {
        assert!(TenantId::parse("tenant-7f3a9b12").is_ok());
        assert!(TenantId::parse("abc").is_ok());
        for bad in [
            "ab",
            "Tenant-1",
            "tenant_1",
            "",
            &"a".repeat(65),
            "tenant 1",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn artifact_ids() {
        for good in ["proc-1001", "a", "A.b_c-9", &"a".repeat(128)] {
            assert!(ArtifactId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-a", ".a", "a/b", "a b", "../x", &"a".repeat(129), "é"] {
            assert!(ArtifactId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn package_ids() {
        assert!(PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").is_ok());
        assert!(ImportId::parse("imp-f9a2c1e8-4b2e-49d1-bc44-f7e2a1c09d33").is_ok());
        assert!(ImportId::parse("pkg-f9a2c1e8-4b2e-49d1-bc44-f7e2a1c09d33").is_err());
        assert!(ImportId::random().as_str().starts_with("imp-"));
        for bad in [
            "pkg-a3f9c821",
            "a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33",
            "pkg-A3F9C821-4B2E-49D1-BC44-F7E2A1C09D33",
            "pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d3/",
        ] {
            assert!(PackageId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn printable_escapes_and_shortens() {
        assert_eq!(printable("a\nb"), "a\\nb");
        assert_eq!(printable(&"x".repeat(100)).chars().count(), 81);
    }
}
