//! The two error types of this crate. [`AuthError`] is what a caller with a
//! bad token is told, so every message is one sentence that is safe to put
//! in a `401` body: it echoes only values the caller sent (escaped and
//! shortened) and never the server's configuration or key material.
//! [`KeyError`] is for operators: it names files and settings.
//! [`SignatureError`](crate::SignatureError), why a package version's
//! PublicHub signature was refused, lives with the PublicHub keys.

use std::io;
use std::path::PathBuf;

/// Why a bearer token was refused. Every variant maps to `401
/// Unauthenticated`; the message tells the caller what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not three base64url parts, a header or payload that is not a JSON
    /// object, or a token too long to be one of ours.
    #[error("The token is not a well-formed JWT.")]
    Malformed,
    /// `alg` is not on the allowlist (`none`, `HS256`, `RS512`, …).
    #[error("Unsupported token algorithm '{alg}': only RS256 and EdDSA are accepted.")]
    UnsupportedAlgorithm { alg: String },
    /// RFC 7515 §4.1.11: a recipient must refuse critical header parameters
    /// it does not understand, and we understand none.
    #[error(
        "The token marks header parameters as critical ('crit'), which this server does not support."
    )]
    CriticalHeader,
    /// The header names a `kid` that no configured key has.
    #[error("The token's key id '{kid}' is not one of the configured keys.")]
    UnknownKeyId { kid: String },
    /// The key the token points at (or every key, without a `kid`) is of
    /// another algorithm than the token's `alg`.
    #[error("No configured key for this token verifies algorithm '{alg}'.")]
    KeyAlgorithmMismatch { alg: String },
    #[error("The token's signature does not verify against any configured key.")]
    BadSignature,
    #[error("The token has expired.")]
    Expired,
    #[error("The token is not valid yet: its 'nbf' time is in the future.")]
    NotYetValid,
    #[error("The token is missing the required '{claim}' claim.")]
    MissingClaim { claim: String },
    #[error("The token's '{claim}' claim is invalid: {reason}.")]
    InvalidClaim { claim: String, reason: String },
    #[error("The token's 'tenants' claim holds '{value}', which is not a valid tenant id.")]
    InvalidTenant { value: String },
    /// SECURITY.md 33: a member name appears twice in one object of the
    /// payload, at any depth. Parsers disagree on which one counts, so the
    /// token is refused rather than read one way.
    #[error("The token's payload names '{claim}' more than once.")]
    RepeatedClaim { claim: String },
    #[error("The token's issuer ('iss') is not the one this server trusts.")]
    WrongIssuer,
    #[error("The token's audience ('aud') does not include this server.")]
    WrongAudience,
}

/// A problem with key files, the verifier's settings, or minting.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("could not write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    /// The file is readable but is not a key we can use.
    #[error("{}: {reason}", path.display())]
    InvalidKeyFile { path: PathBuf, reason: String },
    /// A JWKS document that parsed but held no RS256 or Ed25519 signing key.
    #[error("{}: no usable signing key (expected RSA keys for RS256 or OKP Ed25519 keys for EdDSA)", path.display())]
    NoUsableKeys { path: PathBuf },
    #[error("no JWT public keys are configured: a verifier needs at least one")]
    NoKeys,
    #[error("the JWT leeway of {leeway_secs} s is above the maximum of {max} s", max = crate::MAX_LEEWAY_SECS)]
    LeewayTooLarge { leeway_secs: u64 },
    #[error("the expected JWT {setting} must not be empty")]
    EmptySetting { setting: &'static str },
    /// The local signing key can be read by other users of the machine.
    #[error("{}: the private key is readable by other users (mode {mode:o}); restrict it with `chmod 600`", path.display())]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("could not generate a key pair: {0}")]
    Generate(String),
    /// A PublicHub key set (JWKS document) that cannot be used; the reason
    /// names the entry at fault by index and `kid`.
    #[error("the PublicHub key set is not usable: {reason}")]
    InvalidKeySet { reason: String },
    /// The same PublicHub key was given twice to one key set.
    #[error("the PublicHub key '{kid}' is listed more than once; list each key once")]
    DuplicateKey { kid: String },
    #[error("cannot mint this token: {0}")]
    InvalidMintRequest(String),
    #[error("could not sign the token: {0}")]
    Sign(String),
}
