//! Turning a bearer token into a [`Caller`] (SPEC §2, SECURITY.md 16–19).
//!
//! jsonwebtoken checks the signature and the registered claims; this module
//! decides which algorithm and which keys it may use, before the token has
//! any say. The header is read first and judged on its own: `alg` must be on
//! our allowlist and `kid`, if present, must name a configured key exactly.
//! Nothing in a token is ever fetched (`jku`, `x5u`) or trusted as a key
//! (`jwk`, `x5c`): those headers are simply never consulted.

use std::collections::BTreeSet;

use installhub_domain::ids::printable;
use installhub_domain::{Caller, Scope, TenantAccess, TenantId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use crate::b64;
use crate::error::{AuthError, KeyError};
use crate::keys::{KeyAlg, KeySet, PublicKey};

/// Clock skew tolerated on `exp` and `nbf` unless configured otherwise.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;
/// SECURITY.md 18: a larger leeway keeps expired tokens alive too long.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// Far above any real access token (identity providers stay under 8 KiB),
/// low enough that a hostile header costs little to refuse.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// `sub` and `email` become the identity written to audit records, so they
/// are kept short and printable.
const MAX_IDENTITY_CHARS: usize = 256;

/// What a token must be issued by and for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// The exact `iss` tokens must carry.
    pub issuer: String,
    /// A value the token's `aud` (a string or an array) must contain.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`, at most [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
}

impl VerifierConfig {
    /// A configuration with the default leeway.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierConfig {
        VerifierConfig {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }

    /// What tokens minted by a [`LocalKeyPair`](crate::LocalKeyPair) with a
    /// default [`MintRequest`](crate::MintRequest) carry.
    pub fn local() -> VerifierConfig {
        VerifierConfig::new(crate::LOCAL_ISSUER, crate::DEFAULT_AUDIENCE)
    }
}

/// Verifies bearer tokens against a fixed set of public keys.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    config: VerifierConfig,
    rs256: Validation,
    eddsa: Validation,
}

impl Verifier {
    /// Refuses an empty key set (every token would fail, which is a
    /// configuration mistake better reported at start-up), an empty issuer
    /// or audience, and a leeway above [`MAX_LEEWAY_SECS`].
    pub fn new(keys: KeySet, config: VerifierConfig) -> Result<Verifier, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoKeys);
        }
        if config.issuer.is_empty() {
            return Err(KeyError::EmptySetting { setting: "issuer" });
        }
        if config.audience.is_empty() {
            return Err(KeyError::EmptySetting {
                setting: "audience",
            });
        }
        if config.leeway_secs > MAX_LEEWAY_SECS {
            return Err(KeyError::LeewayTooLarge {
                leeway_secs: config.leeway_secs,
            });
        }
        Ok(Verifier {
            rs256: validation(Algorithm::RS256, &config),
            eddsa: validation(Algorithm::EdDSA, &config),
            keys,
            config,
        })
    }

    /// The trusted keys, for a JWKS route.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Checks a token (the text after `Bearer `) and returns who it speaks
    /// for. Every error is a `401`.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = peek_header(token)?;
        let alg =
            KeyAlg::from_header(&header.alg).ok_or_else(|| AuthError::UnsupportedAlgorithm {
                alg: printable(&header.alg),
            })?;
        if header.crit {
            return Err(AuthError::CriticalHeader);
        }

        // SECURITY.md 19: a `kid` is matched exactly against our own keys;
        // without one, each key of the token's algorithm is tried.
        let candidates: Vec<&PublicKey> = match &header.kid {
            Some(kid) => {
                let named: Vec<&PublicKey> =
                    self.keys.keys.iter().filter(|k| k.kid == *kid).collect();
                if named.is_empty() {
                    return Err(AuthError::UnknownKeyId {
                        kid: printable(kid),
                    });
                }
                named.into_iter().filter(|k| k.alg == alg).collect()
            }
            None => self.keys.keys.iter().filter(|k| k.alg == alg).collect(),
        };
        if candidates.is_empty() {
            return Err(AuthError::KeyAlgorithmMismatch {
                alg: alg.as_str().to_owned(),
            });
        }

        let validation = match alg {
            KeyAlg::Rs256 => &self.rs256,
            KeyAlg::EdDsa => &self.eddsa,
        };
        for key in candidates {
            match jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, validation) {
                Ok(data) => return caller_from_claims(&data.claims),
                // Not this key; another candidate may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                // The signature is checked before the claims, so any other
                // error is final whichever key we tried.
                Err(e) => return Err(map_jwt_error(e.kind())),
            }
        }
        Err(AuthError::BadSignature)
    }
}

fn validation(alg: Algorithm, config: &VerifierConfig) -> Validation {
    let mut v = Validation::new(alg);
    // SECURITY.md 17: jsonwebtoken skips the `aud` and `iss` checks when the
    // claim is absent, so presence must be required separately.
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.leeway = config.leeway_secs;
    v.set_issuer(&[&config.issuer]);
    v.set_audience(&[&config.audience]);
    v
}

struct PeekedHeader {
    alg: String,
    kid: Option<String>,
    crit: bool,
}

/// Reads the JOSE header without trusting it, so that `alg` can be judged
/// (and named in the error) before jsonwebtoken parses the token, whose own
/// header type cannot even represent `none`.
fn peek_header(token: &str) -> Result<PeekedHeader, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let bytes = b64::decode(header).ok_or(AuthError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)?;
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.clone(),
        _ => return Err(AuthError::Malformed),
    };
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(AuthError::Malformed),
    };
    Ok(PeekedHeader {
        alg,
        kid,
        crit: header.contains_key("crit"),
    })
}

fn map_jwt_error(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::MissingRequiredClaim(claim) => AuthError::MissingClaim {
            claim: claim.clone(),
        },
        ErrorKind::InvalidClaimFormat(claim) => AuthError::InvalidClaim {
            claim: claim.clone(),
            reason: "it is not a NumericDate (seconds since the epoch)".to_owned(),
        },
        // Bad base64, JSON that is not an object, a header jsonwebtoken cannot
        // parse. (`ErrorKind` is non-exhaustive, hence the catch-all.)
        _ => AuthError::Malformed,
    }
}

/// The claims beyond the registered ones, checked after the signature.
fn caller_from_claims(claims: &Map<String, Value>) -> Result<Caller, AuthError> {
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) => sub,
        _ => {
            return Err(AuthError::MissingClaim {
                claim: "sub".to_owned(),
            });
        }
    };
    check_identity(subject).map_err(|reason| invalid_claim("sub", reason))?;

    let email = match claims.get("email") {
        None | Some(Value::Null) => None,
        Some(Value::String(email)) if email.is_empty() => None,
        Some(Value::String(email)) => {
            check_identity(email).map_err(|reason| invalid_claim("email", reason))?;
            Some(email)
        }
        Some(_) => return Err(invalid_claim("email", "it is not a string")),
    };

    let tenants = match claims.get("tenants") {
        // A token without tenants may still carry tenant-less scopes
        // (`installhub:admin`); it just reaches no tenant.
        None => TenantAccess::Some(BTreeSet::new()),
        Some(Value::Array(items)) => parse_tenants(items)?,
        Some(_) => return Err(invalid_claim("tenants", "it is not an array of tenant ids")),
    };

    let scopes = match claims.get("scope") {
        None => BTreeSet::new(),
        // Unknown scopes are skipped: an identity provider may grant scopes
        // for other services, or for features of a newer InstallHub.
        Some(Value::String(scope)) => scope
            .split_ascii_whitespace()
            .filter_map(Scope::parse)
            .collect(),
        Some(_) => return Err(invalid_claim("scope", "it is not a space-separated string")),
    };

    Ok(Caller {
        subject: subject.clone(),
        identity: email.unwrap_or(subject).clone(),
        tenants,
        scopes,
    })
}

fn parse_tenants(items: &[Value]) -> Result<TenantAccess, AuthError> {
    let mut all = false;
    let mut set = BTreeSet::new();
    // Every entry is checked even after a "*": a malformed entry means the
    // token was not built the way its issuer intended.
    for item in items {
        match item {
            Value::String(s) if s == "*" => all = true,
            Value::String(s) => {
                let tenant = TenantId::parse(s).map_err(|_| AuthError::InvalidTenant {
                    value: printable(s),
                })?;
                set.insert(tenant);
            }
            other => {
                return Err(AuthError::InvalidTenant {
                    value: printable(&other.to_string()),
                });
            }
        }
    }
    Ok(if all {
        TenantAccess::All
    } else {
        TenantAccess::Some(set)
    })
}

fn invalid_claim(claim: &str, reason: &str) -> AuthError {
    AuthError::InvalidClaim {
        claim: claim.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Why `value` cannot be an identity, if it cannot. Shared with minting, so
/// that a minted token always verifies.
pub(crate) fn check_identity(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        Err("it is empty")
    } else if value.chars().count() > MAX_IDENTITY_CHARS {
        Err("it is longer than 256 characters")
    } else if value.chars().any(char::is_control) {
        Err("it contains control characters")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_limits() {
        let keys = || {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ed.pem");
            std::fs::write(&path, crate::test_keys::ed25519_public_pem(0)).unwrap();
            KeySet::from_pem_file(&path).unwrap()
        };
        let config = VerifierConfig::new("issuer", "installhub");
        assert_eq!(config.leeway_secs, DEFAULT_LEEWAY_SECS);
        assert!(Verifier::new(keys(), config.clone()).is_ok());

        let at_max = VerifierConfig {
            leeway_secs: MAX_LEEWAY_SECS,
            ..config.clone()
        };
        assert!(Verifier::new(keys(), at_max).is_ok());
        let above = VerifierConfig {
            leeway_secs: MAX_LEEWAY_SECS + 1,
            ..config.clone()
        };
        assert!(matches!(
            Verifier::new(keys(), above),
            Err(KeyError::LeewayTooLarge { leeway_secs: 61 })
        ));
        assert!(matches!(
            Verifier::new(KeySet::new(), config.clone()),
            Err(KeyError::NoKeys)
        ));
        let no_issuer = VerifierConfig::new("", "installhub");
        assert!(matches!(
            Verifier::new(keys(), no_issuer),
            Err(KeyError::EmptySetting { setting: "issuer" })
        ));
        let no_audience = VerifierConfig::new("issuer", "");
        assert!(matches!(
            Verifier::new(keys(), no_audience),
            Err(KeyError::EmptySetting {
                setting: "audience"
            })
        ));
    }

    #[test]
    fn identity_rules() {
        assert!(check_identity("user-42").is_ok());
        assert!(check_identity("engineer@company.com").is_ok());
        assert_eq!(check_identity(""), Err("it is empty"));
        assert!(check_identity(&"a".repeat(256)).is_ok());
        assert!(check_identity(&"a".repeat(257)).is_err());
        assert!(check_identity("user\n42").is_err());
        assert!(check_identity("user\u{1b}[31m").is_err());
    }

    #[test]
    fn every_message_is_one_sentence() {
        let errors = [
            AuthError::Malformed,
            AuthError::UnsupportedAlgorithm {
                alg: "HS256".into(),
            },
            AuthError::CriticalHeader,
            AuthError::UnknownKeyId { kid: "k".into() },
            AuthError::KeyAlgorithmMismatch {
                alg: "EdDSA".into(),
            },
            AuthError::BadSignature,
            AuthError::Expired,
            AuthError::NotYetValid,
            AuthError::MissingClaim {
                claim: "aud".into(),
            },
            AuthError::InvalidClaim {
                claim: "scope".into(),
                reason: "it is not a string".into(),
            },
            AuthError::InvalidTenant { value: "X".into() },
            AuthError::WrongIssuer,
            AuthError::WrongAudience,
        ];
        for error in errors {
            let message = error.to_string();
            assert!(
                message.starts_with("The ")
                    || message.starts_with("Unsupported ")
                    || message.starts_with("No "),
                "{message}"
            );
            assert!(message.ends_with('.'), "{message}");
            assert_eq!(message.matches(". ").count(), 0, "{message}");
        }
        assert_eq!(
            AuthError::UnsupportedAlgorithm {
                alg: "HS256".into()
            }
            .to_string(),
            "Unsupported token algorithm 'HS256': only RS256 and EdDSA are accepted."
        );
        assert_eq!(
            AuthError::MissingClaim {
                claim: "aud".into()
            }
            .to_string(),
            "The token is missing the required 'aud' claim."
        );
    }
}
