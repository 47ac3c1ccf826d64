//! The PublicHub's Ed25519 signing keys.
//!
//! The marketplace (PublicHub) signs each published package version with
//! Ed25519 over a canonical statement built elsewhere; this module only
//! signs and verifies bytes. The signature travels as base64url without
//! padding, together with the `kid` of the key that made it.
//!
//! - [`PublisherKey`] — the private key the PublicHub signs with: made in
//!   its data directory on first start ([`PublisherKey::load_or_create`],
//!   file [`PUBLICHUB_KEY_FILE`]) or read from a key file given by the
//!   operator ([`PublisherKey::from_pem_file`], e.g. one made with
//!   `openssl genpkey -algorithm ed25519`).
//! - [`PublisherKeySet`] — the public keys an installer trusts, served by the
//!   PublicHub as a JWKS at `/.well-known/installhub/publichub-keys.json`
//!   and read back from that document or from a PEM file. It may list
//!   several keys, so that package versions signed before a key rotation
//!   still verify.
//!
//! A key's `kid` is always derived from the key itself: `ed25519-` and the
//! first 16 hex digits of the SHA-256 of its 32 raw bytes. A JWKS entry whose
//! `kid` says otherwise is refused, so a key cannot be presented under
//! another key's name.

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::SubjectPublicKeyInfoRef;
use ed25519_dalek::pkcs8::spki::der::Decode;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::{
    ALGORITHM_OID, EncodePrivateKey, EncodePublicKey, KeypairBytes, ObjectIdentifier,
    PrivateKeyInfo,
};
use ed25519_dalek::{SECRET_KEY_LENGTH, Signature, Signer, SigningKey, VerifyingKey};
use installhub_domain::ids::printable;
use rand::RngCore;
use rand::rngs::OsRng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::error::KeyError;
use crate::key_file;
use crate::keys::pem_blocks;

/// The PublicHub's signing key in its data directory: PKCS#8 PEM, mode 0600.
pub const PUBLICHUB_KEY_FILE: &str = "publichub-ed25519.pem";

/// The path the PublicHub serves its public keys at, named in errors that
/// tell an installer where to get them.
const KEYS_PATH: &str = "/.well-known/installhub/publichub-keys.json";

/// The PublicHub's private signing key. Its `Debug` shows the `kid` and the
/// file only, never key material.
pub struct PublisherKey {
    signing: SigningKey,
    public: PublisherPublicKey,
    path: PathBuf,
}

impl fmt::Debug for PublisherKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublisherKey")
            .field("kid", &self.public.kid)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl PublisherKey {
    /// Loads `dir/publichub-ed25519.pem`, or generates a key there if there
    /// is none, creating `dir` as needed.
    ///
    /// Processes starting together on one data directory all end up with
    /// the same key (the file is published with a no-clobber hard link from
    /// a complete temporary file, mode 0600 from its creation). An existing
    /// file that is not a usable key is an error and is never replaced:
    /// published package versions were signed with it. On unix, a key file
    /// readable by group or others is refused, as ssh does.
    pub fn load_or_create(dir: &Path) -> Result<PublisherKey, KeyError> {
        let signing = key_file::load_or_create(dir, PUBLICHUB_KEY_FILE, parse_private, generate)?;
        Ok(PublisherKey::new(signing, dir.join(PUBLICHUB_KEY_FILE)))
    }

    /// Reads a PKCS#8 PEM private key file, such as one made with
    /// `openssl genpkey -algorithm ed25519 -out key.pem`. As for
    /// [`load_or_create`](Self::load_or_create), a file readable by group
    /// or others is refused on unix (`chmod 600` it).
    pub fn from_pem_file(path: &Path) -> Result<PublisherKey, KeyError> {
        let text = key_file::read_private(path)?.ok_or_else(|| KeyError::Read {
            path: path.to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        let signing = parse_private(&text).map_err(|reason| key_file::invalid(path, reason))?;
        Ok(PublisherKey::new(signing, path.to_owned()))
    }

    fn new(signing: SigningKey, path: PathBuf) -> PublisherKey {
        let public = PublisherPublicKey::new(signing.verifying_key());
        PublisherKey {
            signing,
            public,
            path,
        }
    }

    /// `ed25519-` and the first 16 hex digits of the SHA-256 of the raw
    /// 32-byte public key.
    pub fn kid(&self) -> &str {
        &self.public.kid
    }

    /// Signs `message`; the 64-byte Ed25519 signature as base64url without
    /// padding.
    pub fn sign(&self, message: &[u8]) -> String {
        b64::encode(&self.signing.sign(message).to_bytes())
    }

    /// The public half, to serve and to verify with.
    pub fn public(&self) -> PublisherPublicKey {
        self.public.clone()
    }
}

/// Generates a new key and its PKCS#8 PEM text. The seed comes straight
/// from the operating system, so a failing random source is an error rather
/// than a panic.
fn generate() -> Result<(SigningKey, Zeroizing<String>), KeyError> {
    let mut seed = Zeroizing::new([0u8; SECRET_KEY_LENGTH]);
    OsRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|e| KeyError::Generate(format!("Ed25519: no random bytes: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    // PKCS#8 v1, the seed alone, as `openssl genpkey` writes it: OpenSSL 3.0
    // cannot read the v2 form (with the public key) that `SigningKey` writes.
    let v1 = KeypairBytes {
        secret_key: *seed,
        public_key: None,
    };
    let pem = v1
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| KeyError::Generate(format!("Ed25519: cannot encode the key: {e}")))?;
    Ok((key, pem))
}

/// The one PEM block of a key file: its label and DER bytes (kept out of
/// memory once used, as they may be a private key).
fn single_pem_block(text: &[u8]) -> Result<(String, Zeroizing<Vec<u8>>), String> {
    let blocks = pem_blocks(text)?;
    let block = match blocks.as_slice() {
        [block] => *block,
        [] => return Err("no PEM block found".to_owned()),
        many => {
            return Err(format!(
                "{} PEM blocks found; give one key per file, or a JWKS document to list several",
                many.len()
            ));
        }
    };
    let (label, der) = ed25519_dalek::pkcs8::spki::der::pem::decode_vec(block)
        .map_err(|e| format!("invalid PEM encoding: {e}"))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

/// Reads an Ed25519 private key from PKCS#8 PEM text.
fn parse_private(text: &str) -> Result<SigningKey, String> {
    let (label, der) = single_pem_block(text.as_bytes()).map_err(|reason| {
        format!("{reason}; expected an Ed25519 private key ('-----BEGIN PRIVATE KEY-----')")
    })?;
    match label.as_str() {
        "PRIVATE KEY" => signing_key_from_pkcs8(&der),
        "ENCRYPTED PRIVATE KEY" => Err("the private key is encrypted; decrypt it with \
             `openssl pkey -in <file> -out <new file>` and give the new file"
            .to_owned()),
        "PUBLIC KEY" => Err("this is a public key; signing needs the private key \
             ('-----BEGIN PRIVATE KEY-----')"
            .to_owned()),
        other => Err(format!(
            "unsupported PEM block '{other}'; expected an Ed25519 private key \
             ('-----BEGIN PRIVATE KEY-----')"
        )),
    }
}

fn signing_key_from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
    let info =
        PrivateKeyInfo::from_der(der).map_err(|e| format!("invalid PKCS#8 private key: {e}"))?;
    check_ed25519(info.algorithm.oid)?;
    // Also refuses a PKCS#8 v2 key whose public key is not the private
    // key's (a file put together from two keys).
    SigningKey::try_from(info).map_err(|e| format!("invalid Ed25519 private key: {e}"))
}

fn check_ed25519(oid: ObjectIdentifier) -> Result<(), String> {
    if oid == ALGORITHM_OID {
        return Ok(());
    }
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "an RSA key".to_owned(),
        "1.2.840.10045.2.1" => "an EC key".to_owned(),
        "1.3.101.113" => "an Ed448 key".to_owned(),
        other => format!("a key of algorithm {other}"),
    };
    Err(format!(
        "this is {name}; PublicHub keys are Ed25519 (`openssl genpkey -algorithm ed25519`)"
    ))
}

/// One of the PublicHub's public keys, with its derived `kid`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublisherPublicKey {
    kid: String,
    key: VerifyingKey,
}

impl PublisherPublicKey {
    fn new(key: VerifyingKey) -> PublisherPublicKey {
        let digest = Sha256::digest(key.as_bytes());
        PublisherPublicKey {
            kid: format!("ed25519-{}", &hex::encode(digest)[..16]),
            key,
        }
    }

    /// A public key from its 32 raw bytes: a point on the curve, and not one
    /// of small order (for which anyone could make signatures that verify).
    fn from_raw(bytes: &[u8]) -> Result<PublisherPublicKey, String> {
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| {
            format!(
                "an Ed25519 public key is 32 bytes, this one is {}",
                bytes.len()
            )
        })?;
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| "the Ed25519 public key is not a valid curve point".to_owned())?;
        if key.is_weak() {
            return Err("the Ed25519 public key is a weak (small-order) point".to_owned());
        }
        Ok(PublisherPublicKey::new(key))
    }

    fn from_spki_der(der: &[u8]) -> Result<PublisherPublicKey, String> {
        let spki = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|e| format!("invalid public key (SubjectPublicKeyInfo): {e}"))?;
        check_ed25519(spki.algorithm.oid)?;
        if spki.algorithm.parameters.is_some() {
            // RFC 8410 §3: the parameters MUST be absent.
            return Err("invalid Ed25519 public key: unexpected algorithm parameters".to_owned());
        }
        let raw = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| "invalid Ed25519 public key: unaligned bit string".to_owned())?;
        PublisherPublicKey::from_raw(raw)
    }

    /// `ed25519-` and the first 16 hex digits of the SHA-256 of the raw
    /// 32-byte public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK (RFC 8037): `kty` `OKP`, `crv` `Ed25519`, `x` (the
    /// raw key, base64url), `kid`, `use` `sig`, `alg` `EdDSA`.
    pub fn to_jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64::encode(self.key.as_bytes()),
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// The key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`), the form
    /// `openssl pkey -pubout` writes and installers accept as a key file.
    pub fn to_spki_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 public key always has an SPKI encoding")
    }
}

/// The PublicHub public keys an installer trusts, each `kid` once, kept in
/// `kid` order so the served JWKS does not depend on how it was assembled.
#[derive(Clone, Debug, Default)]
pub struct PublisherKeySet {
    keys: Vec<PublisherPublicKey>,
}

impl PublisherKeySet {
    /// A set of these keys; a key given twice is refused.
    pub fn new(keys: Vec<PublisherPublicKey>) -> Result<PublisherKeySet, KeyError> {
        let mut keys = keys;
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        if let Some(pair) = keys.windows(2).find(|pair| pair[0].kid == pair[1].kid) {
            return Err(KeyError::DuplicateKey {
                kid: pair[0].kid.clone(),
            });
        }
        Ok(PublisherKeySet { keys })
    }

    /// Reads a JWKS document, such as the one served at
    /// `/.well-known/installhub/publichub-keys.json`.
    ///
    /// Every entry must be a PublicHub key: `kty` `OKP`, `crv` `Ed25519`,
    /// `alg` `EdDSA` and `use` `sig` if present, `x` 32 bytes that are a
    /// valid curve point, no private part (`d`). A `kid`, when present,
    /// must be the one derived from `x`; a missing one is derived. The
    /// first entry that breaks a rule, or lists a key listed before, is
    /// named in the error by its index and `kid`. A document with no keys
    /// is refused too: it could verify nothing.
    pub fn from_jwks(json: &[u8]) -> Result<PublisherKeySet, KeyError> {
        parse_jwks(json).map_err(|reason| KeyError::InvalidKeySet { reason })
    }

    /// Reads a key file: a JWKS document (JSON), one SPKI PEM public key
    /// (`-----BEGIN PUBLIC KEY-----`, as `openssl pkey -pubout` writes), or
    /// a PKCS#8 PEM private key, of which the public half is taken. Errors
    /// name the file.
    pub fn from_file(path: &Path) -> Result<PublisherKeySet, KeyError> {
        // The file may hold a private key: keep its bytes out of memory
        // once read.
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?);
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let parsed = if first == Some(&b'{') {
            parse_jwks(&bytes).map_err(|reason| format!("invalid PublicHub JWKS: {reason}"))
        } else {
            parse_pem_key(&bytes).map(|key| PublisherKeySet { keys: vec![key] })
        };
        parsed.map_err(|reason| key_file::invalid(path, reason))
    }

    /// Both sets together, as when an installer trusts the keys of before
    /// and after a rotation. A key in both is kept once; two different keys
    /// with the same `kid` (a SHA-256 prefix collision) are refused.
    pub fn merge(self, other: PublisherKeySet) -> Result<PublisherKeySet, KeyError> {
        let mut keys = self.keys;
        for key in other.keys {
            match keys.iter().find(|k| k.kid == key.kid) {
                Some(known) if *known == key => {}
                Some(_) => return Err(KeyError::DuplicateKey { kid: key.kid }),
                None => keys.push(key),
            }
        }
        PublisherKeySet::new(keys)
    }

    /// The set as a JWKS document, `{"keys": [...]}`, in `kid` order.
    pub fn to_jwks(&self) -> Value {
        json!({ "keys": self.keys.iter().map(PublisherPublicKey::to_jwk).collect::<Vec<_>>() })
    }

    /// The keys, in `kid` order.
    pub fn keys(&self) -> &[PublisherPublicKey] {
        &self.keys
    }

    /// Checks that `signature` (base64url without padding, as
    /// [`PublisherKey::sign`] writes it) is the signature of the key `kid`
    /// over `message`.
    ///
    /// Verification is strict (ed25519-dalek's `verify_strict`): `S` must be
    /// reduced, so one signature has no second encoding, and neither `R`
    /// nor the key may be a small-order point, so even the key's owner
    /// cannot make a signature that some verifiers accept and others
    /// refuse. Padding, whitespace and the standard base64 alphabet are
    /// refused too, so a signature has exactly one accepted text.
    pub fn verify(&self, kid: &str, message: &[u8], signature: &str) -> Result<(), SignatureError> {
        let key = self
            .keys
            .binary_search_by(|k| k.kid.as_str().cmp(kid))
            .map(|index| &self.keys[index])
            .map_err(|_| SignatureError::UnknownKey(printable(kid)))?;
        let bytes = b64::decode(signature).ok_or_else(|| {
            SignatureError::Malformed(
                "it is not base64url without padding (alphabet A-Z a-z 0-9 - _, no '=')".to_owned(),
            )
        })?;
        let bytes: [u8; 64] = bytes.as_slice().try_into().map_err(|_| {
            SignatureError::Malformed(format!(
                "it is {} bytes long; an Ed25519 signature is 64",
                bytes.len()
            ))
        })?;
        key.key
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Why a package version's PublicHub signature was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature names a `kid` the set does not hold (escaped and
    /// shortened for printing).
    #[error(
        "the signature was made with the PublicHub key '{0}', which is not one of the trusted keys; \
         fetch the current keys from the PublicHub's {KEYS_PATH} or pass the PublicHub's key file"
    )]
    UnknownKey(String),
    /// Not base64url without padding, or not 64 bytes.
    #[error("the signature is malformed: {0}")]
    Malformed(String),
    /// Well-formed, but not a signature of this key over these bytes.
    #[error(
        "the signature does not match: the signed package version was changed after signing, \
         or the signature was not made with the key it names"
    )]
    Invalid,
}

fn parse_jwks(json: &[u8]) -> Result<PublisherKeySet, String> {
    let doc: Value =
        serde_json::from_slice(json).map_err(|e| format!("not a JSON document: {e}"))?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "not a JWKS document: no 'keys' array".to_owned())?;
    if entries.is_empty() {
        return Err("the 'keys' array is empty; it must list at least one key".to_owned());
    }
    let mut keys: Vec<(usize, PublisherPublicKey)> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        let name = match entry.get("kid").and_then(Value::as_str) {
            Some(kid) => format!("keys[{index}] (kid '{}')", printable(kid)),
            None => format!("keys[{index}]"),
        };
        let key = entry
            .as_object()
            .ok_or_else(|| "not a JSON object".to_owned())
            .and_then(parse_jwk)
            .map_err(|reason| format!("{name}: {reason}"))?;
        if let Some((first, _)) = keys.iter().find(|(_, k)| k.kid == key.kid) {
            return Err(format!(
                "{name}: the key '{}' is listed already as keys[{first}]; list each key once",
                key.kid
            ));
        }
        keys.push((index, key));
    }
    let keys = keys.into_iter().map(|(_, key)| key).collect();
    PublisherKeySet::new(keys).map_err(|e| e.to_string())
}

fn parse_jwk(jwk: &Map<String, Value>) -> Result<PublisherPublicKey, String> {
    let member = |name: &str| -> Result<Option<&str>, String> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("'{name}' is not a string")),
        }
    };
    // Someone who publishes a private JWK has leaked it; say so rather than
    // quietly using its public half.
    if jwk.contains_key("d") {
        return Err(
            "this is a private key ('d' is present); publish the public key only".to_owned(),
        );
    }
    match member("kty")? {
        Some("OKP") => {}
        Some(other) => {
            return Err(format!(
                "'kty' is '{}'; PublicHub keys are 'OKP' (Ed25519)",
                printable(other)
            ));
        }
        None => return Err("'kty' is missing; PublicHub keys are 'OKP' (Ed25519)".to_owned()),
    }
    match member("crv")? {
        Some("Ed25519") => {}
        Some(other) => {
            return Err(format!(
                "'crv' is '{}'; PublicHub keys are 'Ed25519'",
                printable(other)
            ));
        }
        None => return Err("'crv' is missing; PublicHub keys are 'Ed25519'".to_owned()),
    }
    if let Some(alg) = member("alg")?.filter(|alg| *alg != "EdDSA") {
        return Err(format!(
            "'alg' is '{}'; PublicHub keys are 'EdDSA'",
            printable(alg)
        ));
    }
    if let Some(usage) = member("use")?.filter(|usage| *usage != "sig") {
        return Err(format!(
            "'use' is '{}'; PublicHub keys are for signatures ('sig')",
            printable(usage)
        ));
    }
    let x = member("x")?.ok_or_else(|| "'x' is missing".to_owned())?;
    let raw = b64::decode(x).ok_or_else(|| "'x' is not base64url without padding".to_owned())?;
    let key = PublisherPublicKey::from_raw(&raw)?;
    if let Some(kid) = member("kid")?
        && kid != key.kid
    {
        return Err(format!(
            "the 'kid' does not belong to this key, whose kid is '{}'; \
             a key's kid is derived from 'x' and cannot be chosen",
            key.kid
        ));
    }
    Ok(key)
}

/// One PEM key: an SPKI public key, or a PKCS#8 private key whose public
/// half is taken.
fn parse_pem_key(bytes: &[u8]) -> Result<PublisherPublicKey, String> {
    const EXPECTED: &str = "expected a JWKS document, an Ed25519 public key \
         ('-----BEGIN PUBLIC KEY-----') or an Ed25519 private key ('-----BEGIN PRIVATE KEY-----')";
    let (label, der) = single_pem_block(bytes).map_err(|reason| format!("{reason}; {EXPECTED}"))?;
    match label.as_str() {
        "PUBLIC KEY" => PublisherPublicKey::from_spki_der(&der),
        "PRIVATE KEY" => {
            signing_key_from_pkcs8(&der).map(|key| PublisherPublicKey::new(key.verifying_key()))
        }
        other => Err(format!(
            "unsupported PEM block '{}'; {EXPECTED}",
            printable(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8032 §7.1, test 1: secret key, public key, and the signature of
    // the empty message.
    const SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    const SIGNATURE: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
                             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

    fn rfc_key() -> PublisherKey {
        let seed: [u8; 32] = hex::decode(SECRET).unwrap().try_into().unwrap();
        PublisherKey::new(SigningKey::from_bytes(&seed), PathBuf::from("rfc8032"))
    }

    #[test]
    fn signs_like_rfc_8032() {
        let key = rfc_key();
        assert_eq!(
            b64::decode(&key.sign(b"")).unwrap(),
            hex::decode(SIGNATURE).unwrap()
        );
        let digest = hex::encode(Sha256::digest(hex::decode(PUBLIC).unwrap()));
        assert_eq!(key.kid(), format!("ed25519-{}", &digest[..16]));
        assert_eq!(key.kid().len(), "ed25519-".len() + 16);
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = rfc_key();
        let debug = format!("{key:?}");
        assert!(debug.contains(key.kid()), "{debug}");
        let seed = hex::decode(SECRET).unwrap();
        let pem = key.signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        let pem_body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for secret in [
            SECRET.to_owned(),
            b64::encode(&seed),
            pem_body,
            format!("{:?}", seed),
            format!("{:?}", &seed[..8]),
        ] {
            assert!(!debug.contains(&secret), "{debug} shows {secret}");
        }
    }

    #[test]
    fn weak_and_off_curve_keys_are_refused() {
        // The identity point (small order) and a y with no x on the curve.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let err = PublisherPublicKey::from_raw(&identity).unwrap_err();
        assert!(err.contains("small-order"), "{err}");
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        let err = PublisherPublicKey::from_raw(&off_curve).unwrap_err();
        assert!(err.contains("not a valid curve point"), "{err}");
        let good = hex::decode(PUBLIC).unwrap();
        assert!(PublisherPublicKey::from_raw(&good).is_ok());
    }
}
