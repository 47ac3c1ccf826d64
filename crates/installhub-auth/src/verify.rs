//! Turning a bearer token into a [`Caller`] (SPEC §2, SECURITY.md 16–19).
//!
//! jsonwebtoken checks the signature and the registered claims; this module
//! decides which algorithm and which keys it may use, before the token has
//! any say. The header is read first and judged on its own: `alg` must be on
//! our allowlist and `kid`, if present, must name a configured key exactly.
//! Nothing in a token is ever fetched (`jku`, `x5u`) or trusted as a key
//! (`jwk`, `x5c`): those headers are simply never consulted.
//!
//! The payload is read by us, strictly, not through jsonwebtoken's lenient
//! reading (SECURITY.md 33): a member named twice anywhere is refused, and
//! the claims we or jsonwebtoken act on must have their one JSON type.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use installhub_domain::ids::printable;
use installhub_domain::{Caller, Scope, TenantAccess, TenantId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::b64;
use crate::cache::{DEFAULT_CACHE_BYTES, TokenCache};
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

/// Verifies bearer tokens against a fixed set of public keys, and keeps
/// the tokens it accepted until their `exp` (bounded; see
/// [`Verifier::cached_tokens`]), so a token presented again is not verified
/// again. Clones share that cache, as they share the keys.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    config: VerifierConfig,
    rs256: Validation,
    eddsa: Validation,
    verified: Arc<TokenCache>,
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
            verified: Arc::new(TokenCache::new(DEFAULT_CACHE_BYTES)),
        })
    }

    /// The same verifier with its cache of verified tokens bounded to about
    /// `bytes` (tokens and their callers) instead of 4 MiB; 0 keeps none.
    pub fn with_cache_bytes(mut self, bytes: u64) -> Verifier {
        self.verified = Arc::new(TokenCache::new(bytes));
        self
    }

    /// How many verified tokens are kept, their total weight (about bytes)
    /// and the bound on that weight.
    pub fn cached_tokens(&self) -> (usize, u64, u64) {
        let (count, weight) = self.verified.usage();
        (count, weight, self.verified.capacity())
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
    ///
    /// A token that passed before is answered from the cache while its
    /// `exp` is ahead: its signature, issuer and audience cannot have
    /// changed, nor the keys, so only time needs checking again.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(caller) = self.verified.get(token, now) {
            return Ok(caller);
        }
        let (caller, expires_at) = self.verify_uncached(token)?;
        if let Some(expires_at) = expires_at {
            self.verified.insert(token, &caller, expires_at, now);
        }
        Ok(caller)
    }

    /// The full check: the caller and the token's `exp`.
    fn verify_uncached(&self, token: &str) -> Result<(Caller, Option<u64>), AuthError> {
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
        // Read before any key is tried (cheap: the token is at most
        // MAX_TOKEN_BYTES), but acted on only once a key has verified the
        // signature, so an unsigned payload earns nothing but BadSignature.
        let claims = read_claims(token);
        for key in candidates {
            // jsonwebtoken verifies the signature, then checks the
            // registered claims (exp, nbf, iss, aud, presence); its own
            // reading of the payload is thrown away (`IgnoredAny`).
            match jsonwebtoken::decode::<IgnoredAny>(token, &key.decoding, validation) {
                // Not this key; another candidate may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                // The signature is checked before the claims, so any other
                // outcome is final whichever key we tried. Our stricter
                // reading speaks first: jsonwebtoken reports a claim of the
                // wrong type as missing, and a repeated one not at all.
                result => {
                    let claims = claims?;
                    result.map_err(|e| map_jwt_error(e.kind()))?;
                    let caller = caller_from_claims(&claims)?;
                    return Ok((caller, expiry(&claims)));
                }
            }
        }
        Err(AuthError::BadSignature)
    }
}

/// `exp`, which jsonwebtoken has already required to be a whole number of
/// seconds (`u64`); anything else was refused before this is read.
fn expiry(claims: &Map<String, Value>) -> Option<u64> {
    claims.get("exp").and_then(Value::as_u64)
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
    // RFC 7515 §4: a header naming a parameter twice may be refused, and is.
    let Ok(Value::Object(header)) = parse_unique(&bytes) else {
        return Err(AuthError::Malformed);
    };
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

/// The payload as a JSON object in which no object, at any depth, names a
/// member twice, and whose registered claims have the types RFC 7519 gives
/// them. jsonwebtoken's reading keeps the last of repeated members (so a
/// `"tenants": ["*"]` could ride behind an innocent one), takes `iss` as an
/// array too, and reads a claim of the wrong type as absent.
fn read_claims(token: &str) -> Result<Map<String, Value>, AuthError> {
    let payload = token.split('.').nth(1).ok_or(AuthError::Malformed)?;
    let bytes = b64::decode(payload).ok_or(AuthError::Malformed)?;
    let claims = match parse_unique(&bytes) {
        Ok(Value::Object(claims)) => claims,
        Ok(_) | Err(Unique::NotJson) => return Err(AuthError::Malformed),
        Err(Unique::Repeated(name)) => {
            return Err(AuthError::RepeatedClaim {
                claim: printable(&name),
            });
        }
    };
    let numeric_date = "it is not a NumericDate (seconds since the epoch)";
    for (claim, value) in &claims {
        let reason = match (claim.as_str(), value) {
            ("iss" | "sub", Value::String(_)) => continue,
            ("iss" | "sub", _) => "it is not a string",
            // RFC 7519 §4.1.3 allows both; jsonwebtoken then requires ours
            // among them.
            ("aud", Value::String(_)) => continue,
            ("aud", Value::Array(items)) if items.iter().all(Value::is_string) => continue,
            ("aud", _) => "it is not a string or an array of strings",
            ("exp" | "nbf", Value::Number(_)) => continue,
            ("exp" | "nbf", _) => numeric_date,
            // `tenants`, `scope` and `email` are judged with their values
            // in `caller_from_claims`; other claims are not read.
            _ => continue,
        };
        return Err(invalid_claim(claim, reason));
    }
    Ok(claims)
}

/// Why bytes are not a JSON document with unique member names.
enum Unique {
    NotJson,
    Repeated(String),
}

/// Parses JSON like `serde_json::from_slice::<Value>`, but refuses a
/// member name repeated within one object. serde_json has no such option and
/// the crate-provided check (serde_with's `maps_duplicate_key_is_error`)
/// covers one typed map, not every level of an arbitrary document, hence
/// this visitor. serde_json's recursion limit (128) still bounds the depth;
/// names are compared after unescaping, so `"\u0074enants"` repeats
/// `"tenants"`.
fn parse_unique(bytes: &[u8]) -> Result<Value, Unique> {
    let mut repeated = None;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueMembers {
        repeated: &mut repeated,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, repeated) {
        (_, Some(name)) => Err(Unique::Repeated(name)),
        (Ok(value), None) => Ok(value),
        (Err(_), None) => Err(Unique::NotJson),
    }
}

/// Builds a [`Value`]; on a repeated member name, records it in `repeated`
/// and stops with an error.
struct UniqueMembers<'a> {
    repeated: &'a mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for UniqueMembers<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // JSON text cannot spell NaN or infinity, so this is always a number.
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueMembers {
            repeated: &mut *self.repeated,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                *self.repeated = Some(name);
                return Err(de::Error::custom("a member name is repeated"));
            }
            let value = map.next_value_seed(UniqueMembers {
                repeated: &mut *self.repeated,
            })?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
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
    } else if installhub_domain::text::forbidden_char(value).is_some() {
        // The same rule as every text field an export writes: an identity
        // becomes a package's exportedBy, which an import checks.
        Err("it contains control or bidirectional formatting characters")
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
        // An identity becomes a package's exportedBy, which an import
        // refuses with a bidirectional override in it.
        assert!(check_identity("user\u{202e}moc.ynapmoc").is_err());
        assert!(check_identity("user\u{2028}42").is_err());
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
            AuthError::RepeatedClaim {
                claim: "tenants".into(),
            },
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
