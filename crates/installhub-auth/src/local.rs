//! A key pair kept in the data directory for local use (SPEC §2, §9):
//! `installhub serve` with no configured keys trusts it, and
//! `installhub token` mints tokens with it. A production deployment
//! configures public keys only and never needs this.
//!
//! The private key file is read and created by `key_file.rs`: mode
//! 0600, published with a no-clobber hard link so that processes starting
//! together on one data directory end up with the same key.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use installhub_domain::ids::printable;
use installhub_domain::{Scope, TenantId};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde::Serialize;

use crate::error::KeyError;
use crate::key_file;
use crate::keys::{KeySet, MIN_RSA_BITS, PublicKey};
use crate::verify::check_identity;
use crate::{DEFAULT_AUDIENCE, LOCAL_ISSUER};

/// The private key, PKCS#8 PEM, mode 0600 on unix.
pub const PRIVATE_KEY_FILE: &str = "jwt-private.pem";
/// The public key, SPKI PEM, for other services that verify our tokens.
pub const PUBLIC_KEY_FILE: &str = "jwt-public.pem";

const LOCAL_KEY_BITS: usize = 2048;

/// The local RSA key pair.
pub struct LocalKeyPair {
    public: PublicKey,
    encoding: EncodingKey,
    private_path: PathBuf,
    public_path: PathBuf,
}

impl fmt::Debug for LocalKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKeyPair")
            .field("kid", &self.public.kid)
            .field("private_path", &self.private_path)
            .finish_non_exhaustive()
    }
}

impl LocalKeyPair {
    /// Loads `dir/jwt-private.pem`, or generates an RSA 2048 key there if
    /// there is none, creating `dir` as needed. `dir/jwt-public.pem` is
    /// (re)written from the private key whenever it is missing or differs.
    ///
    /// An existing private key that cannot be parsed is an error, never
    /// replaced: tokens already handed out depend on it. On unix, a private
    /// key readable by group or others is refused, as ssh does.
    pub fn load_or_create(dir: &Path) -> Result<LocalKeyPair, KeyError> {
        let private_path = dir.join(PRIVATE_KEY_FILE);
        let private =
            key_file::load_or_create(dir, PRIVATE_KEY_FILE, parse_private, generate_private)?;

        let public_key = private.to_public_key();
        let public =
            PublicKey::from_rsa(&public_key, None).map_err(|reason| KeyError::InvalidKeyFile {
                path: private_path.clone(),
                reason,
            })?;
        let der = private
            .to_pkcs1_der()
            .map_err(|e| KeyError::InvalidKeyFile {
                path: private_path.clone(),
                reason: format!("cannot encode the private key: {e}"),
            })?;
        let pair = LocalKeyPair {
            public,
            // jsonwebtoken's RSA signer takes PKCS#1 DER.
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            public_path: dir.join(PUBLIC_KEY_FILE),
            private_path,
        };

        let public_pem =
            public_key
                .to_public_key_pem(LineEnding::LF)
                .map_err(|e| KeyError::InvalidKeyFile {
                    path: pair.private_path.clone(),
                    reason: format!("cannot encode the public key: {e}"),
                })?;
        if fs::read_to_string(&pair.public_path).ok().as_deref() != Some(public_pem.as_str()) {
            // Every process derives the same text from the one private key,
            // so concurrent writers agree; rename keeps each write atomic.
            let tmp = key_file::write_temp(dir, PUBLIC_KEY_FILE, public_pem.as_bytes(), 0o644)?;
            let renamed = fs::rename(&tmp, &pair.public_path);
            if renamed.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            renamed.map_err(|source| KeyError::Write {
                path: pair.public_path.clone(),
                source,
            })?;
        }
        Ok(pair)
    }

    /// The public half, for a [`Verifier`](crate::Verifier) or a JWKS route.
    pub fn key_set(&self) -> KeySet {
        let mut set = KeySet::new();
        set.push(self.public.clone());
        set
    }

    /// The key's RFC 7638 thumbprint, written as `kid` in minted tokens.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// Signs a token (RS256, `kid` in the header). The request is checked
    /// first with the verifier's own rules, so a minted token never fails
    /// for its content; unknown scopes are refused here (rather than
    /// ignored as on verification) because they are typos.
    pub fn mint(&self, request: &MintRequest) -> Result<String, KeyError> {
        let claims = request.claims(Utc::now())?;
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.public.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// What a minted token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRequest {
    pub subject: String,
    pub email: Option<String>,
    /// Tenant ids, or `"*"` for every tenant.
    pub tenants: Vec<String>,
    /// Scope names such as `installhub:export`.
    pub scopes: Vec<String>,
    pub issuer: String,
    pub audience: String,
    /// Lifetime from now; at least one second.
    pub ttl: Duration,
    /// An optional `nbf`.
    pub not_before: Option<DateTime<Utc>>,
}

impl MintRequest {
    /// A one-hour token for `subject` with no tenants and no scopes, issued
    /// by [`LOCAL_ISSUER`] for [`DEFAULT_AUDIENCE`].
    pub fn new(subject: impl Into<String>) -> MintRequest {
        MintRequest {
            subject: subject.into(),
            email: None,
            tenants: Vec::new(),
            scopes: Vec::new(),
            issuer: LOCAL_ISSUER.to_owned(),
            audience: DEFAULT_AUDIENCE.to_owned(),
            ttl: Duration::from_secs(3600),
            not_before: None,
        }
    }

    fn claims(&self, now: DateTime<Utc>) -> Result<MintClaims, KeyError> {
        let bad = |message: String| KeyError::InvalidMintRequest(message);
        check_identity(&self.subject)
            .map_err(|reason| bad(format!("the subject is invalid: {reason}")))?;
        if let Some(email) = self.email.as_deref().filter(|e| !e.is_empty()) {
            check_identity(email)
                .map_err(|reason| bad(format!("the email is invalid: {reason}")))?;
        }
        for tenant in &self.tenants {
            if tenant != "*" {
                TenantId::parse(tenant).map_err(|e| bad(e.to_string()))?;
            }
        }
        for scope in &self.scopes {
            if Scope::parse(scope).is_none() {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
                return Err(bad(format!(
                    "unknown scope '{}'; known scopes: {}",
                    printable(scope),
                    known.join(", ")
                )));
            }
        }
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(bad(
                "the issuer and the audience must not be empty".to_owned()
            ));
        }
        let ttl = self.ttl.as_secs();
        if ttl == 0 {
            return Err(bad("the lifetime must be at least one second".to_owned()));
        }
        let iat = now.timestamp();
        let exp = i64::try_from(ttl)
            .ok()
            .and_then(|ttl| iat.checked_add(ttl))
            .ok_or_else(|| bad("the lifetime is too long".to_owned()))?;
        Ok(MintClaims {
            sub: self.subject.clone(),
            email: self.email.clone().filter(|e| !e.is_empty()),
            tenants: self.tenants.clone(),
            scope: (!self.scopes.is_empty()).then(|| self.scopes.join(" ")),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            exp,
            nbf: self.not_before.map(|t| t.timestamp()),
        })
    }
}

#[derive(Debug, Serialize)]
struct MintClaims {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    tenants: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Reads the RSA private key in a PKCS#8 PEM file's text.
fn parse_private(pem: &str) -> Result<RsaPrivateKey, String> {
    let key = RsaPrivateKey::from_pkcs8_pem(pem)
        .map_err(|e| format!("not a PKCS#8 RSA private key: {e}"))?;
    key.validate()
        .map_err(|e| format!("invalid RSA private key: {e}"))?;
    let bits = key.n().bits();
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
        ));
    }
    Ok(key)
}

fn generate_private() -> Result<(RsaPrivateKey, Zeroizing<String>), KeyError> {
    let failed = |e: &dyn fmt::Display| KeyError::Generate(format!("RSA {LOCAL_KEY_BITS}: {e}"));
    let key =
        RsaPrivateKey::new(&mut rand::thread_rng(), LOCAL_KEY_BITS).map_err(|e| failed(&e))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| failed(&e))?;
    Ok((key, pem))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Verifier, VerifierConfig};
    use installhub_domain::TenantAccess;

    #[test]
    fn creates_once_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let first = LocalKeyPair::load_or_create(&data).unwrap();
        let private = fs::read(data.join(PRIVATE_KEY_FILE)).unwrap();
        let public = fs::read_to_string(data.join(PUBLIC_KEY_FILE)).unwrap();
        assert!(String::from_utf8_lossy(&private).starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));

        let second = LocalKeyPair::load_or_create(&data).unwrap();
        assert_eq!(first.kid(), second.kid());
        assert_eq!(fs::read(data.join(PRIVATE_KEY_FILE)).unwrap(), private);
        assert_eq!(
            fs::read_to_string(data.join(PUBLIC_KEY_FILE)).unwrap(),
            public
        );

        // The public file is an ordinary key file with the same kid.
        let from_file = KeySet::from_pem_file(&data.join(PUBLIC_KEY_FILE)).unwrap();
        assert_eq!(from_file.kids(), [first.kid()]);
        assert_eq!(first.key_set().kids(), [first.kid()]);

        // No temporary files are left behind.
        let mut names: Vec<String> = fs::read_dir(&data)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [PRIVATE_KEY_FILE, PUBLIC_KEY_FILE]);
    }

    #[test]
    fn rewrites_a_missing_or_stale_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let pair = LocalKeyPair::load_or_create(dir.path()).unwrap();
        let public_path = dir.path().join(PUBLIC_KEY_FILE);
        let expected = fs::read_to_string(&public_path).unwrap();

        fs::remove_file(&public_path).unwrap();
        LocalKeyPair::load_or_create(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(&public_path).unwrap(), expected);

        fs::write(&public_path, "stale").unwrap();
        let again = LocalKeyPair::load_or_create(dir.path()).unwrap();
        assert_eq!(fs::read_to_string(&public_path).unwrap(), expected);
        assert_eq!(again.kid(), pair.kid());
    }

    #[test]
    fn never_replaces_a_broken_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(PRIVATE_KEY_FILE);
        fs::write(&path, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = LocalKeyPair::load_or_create(dir.path()).unwrap_err();
        assert!(matches!(err, KeyError::InvalidKeyFile { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not a key");
    }

    #[cfg(unix)]
    #[test]
    fn private_key_is_0600_and_a_readable_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        LocalKeyPair::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(PRIVATE_KEY_FILE);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = LocalKeyPair::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }),
            "{err}"
        );
    }

    #[test]
    fn concurrent_creators_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let kids: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| LocalKeyPair::load_or_create(dir.path()).unwrap()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().kid().to_owned())
                .collect()
        });
        assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
        let on_disk = KeySet::from_pem_file(&dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        assert_eq!(on_disk.kids(), [kids[0].as_str()]);
        let reloaded = LocalKeyPair::load_or_create(dir.path()).unwrap();
        assert_eq!(reloaded.kid(), kids[0]);
    }

    #[test]
    fn mint_then_verify_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let pair = LocalKeyPair::load_or_create(dir.path()).unwrap();
        let verifier = Verifier::new(pair.key_set(), VerifierConfig::local()).unwrap();

        let request = MintRequest {
            email: Some("engineer@company.com".into()),
            tenants: vec!["tenant-7f3a9b12".into(), "tenant-b".into()],
            scopes: vec!["installhub:export".into(), "installhub:import".into()],
            ..MintRequest::new("user-42")
        };
        let token = pair.mint(&request).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(pair.kid()));

        let caller = verifier.verify(&token).unwrap();
        assert_eq!(caller.subject, "user-42");
        assert_eq!(caller.identity, "engineer@company.com");
        assert_eq!(
            caller.tenants,
            TenantAccess::Some(
                [
                    TenantId::parse("tenant-7f3a9b12").unwrap(),
                    TenantId::parse("tenant-b").unwrap()
                ]
                .into()
            )
        );
        assert_eq!(caller.scopes, [Scope::Export, Scope::Import].into());

        let everything = MintRequest {
            tenants: vec!["*".into()],
            ..MintRequest::new("admin")
        };
        let caller = verifier.verify(&pair.mint(&everything).unwrap()).unwrap();
        assert_eq!(caller.identity, "admin");
        assert_eq!(caller.tenants, TenantAccess::All);
        assert!(caller.scopes.is_empty());

        // Another issuer's verifier does not accept local tokens.
        let other = Verifier::new(
            pair.key_set(),
            VerifierConfig::new("https://idp", "installhub"),
        )
        .unwrap();
        assert_eq!(
            other.verify(&pair.mint(&MintRequest::new("u")).unwrap()),
            Err(crate::AuthError::WrongIssuer)
        );
    }

    #[test]
    fn mint_with_not_before_in_the_future_is_not_yet_valid() {
        let dir = tempfile::tempdir().unwrap();
        let pair = LocalKeyPair::load_or_create(dir.path()).unwrap();
        let verifier = Verifier::new(pair.key_set(), VerifierConfig::local()).unwrap();
        let request = MintRequest {
            not_before: Some(Utc::now() + chrono::Duration::hours(1)),
            ..MintRequest::new("u")
        };
        assert_eq!(
            verifier.verify(&pair.mint(&request).unwrap()),
            Err(crate::AuthError::NotYetValid)
        );
    }

    #[test]
    fn mint_refuses_what_would_not_verify() {
        let now = Utc::now();
        let cases = [
            (MintRequest::new(""), "subject"),
            (MintRequest::new("a\nb"), "subject"),
            (
                MintRequest {
                    tenants: vec!["Tenant_A".into()],
                    ..MintRequest::new("u")
                },
                "tenant id",
            ),
            (
                MintRequest {
                    scopes: vec!["installhub:exprot".into()],
                    ..MintRequest::new("u")
                },
                "unknown scope",
            ),
            (
                MintRequest {
                    ttl: Duration::from_millis(500),
                    ..MintRequest::new("u")
                },
                "at least one second",
            ),
            (
                MintRequest {
                    ttl: Duration::from_secs(u64::MAX),
                    ..MintRequest::new("u")
                },
                "too long",
            ),
            (
                MintRequest {
                    audience: String::new(),
                    ..MintRequest::new("u")
                },
                "audience",
            ),
        ];
        for (request, expected) in cases {
            let err = request.claims(now).unwrap_err();
            assert!(err.to_string().contains(expected), "{request:?}: {err}");
        }
        let ok = MintRequest::new("u").claims(now).unwrap();
        assert_eq!(ok.exp - ok.iat, 3600);
        assert_eq!(ok.iss, LOCAL_ISSUER);
        assert_eq!(ok.aud, DEFAULT_AUDIENCE);
    }
}
