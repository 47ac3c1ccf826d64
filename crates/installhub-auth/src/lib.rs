#![doc = include_str!("../README.md")]

mod b64;
mod cache;
mod error;
mod key_file;
mod keys;
mod local;
mod publichub;
mod verify;

pub use error::{AuthError, KeyError};
pub use keys::KeySet;
pub use local::{LocalKeyPair, MintRequest, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};
pub use publichub::{
    PUBLICHUB_KEY_FILE, PublisherKey, PublisherKeySet, PublisherPublicKey, SignatureError,
};
pub use verify::{DEFAULT_LEEWAY_SECS, MAX_LEEWAY_SECS, Verifier, VerifierConfig};

/// The `aud` InstallHub expects unless configured otherwise (SPEC §9).
pub const DEFAULT_AUDIENCE: &str = "installhub";
/// The `iss` of tokens minted with the local key pair.
pub const LOCAL_ISSUER: &str = "installhub-local";

#[cfg(test)]
#[path = "../tests/support/test_keys.rs"]
mod test_keys;
