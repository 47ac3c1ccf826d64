//! The public keys a [`Verifier`](crate::Verifier) trusts, read from PEM
//! files or a JWKS document, each with a `kid`.
//!
//! Keys are parsed and checked here, once, at start-up, so a broken or weak
//! key fails loudly when the server starts rather than quietly on each
//! request. A key without a `kid` of its own gets its RFC 7638 thumbprint,
//! so the same key has the same id however it was loaded.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::der::Decode;
use rsa::pkcs8::{DecodePublicKey, ObjectIdentifier, SubjectPublicKeyInfoRef};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPublicKey};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::error::KeyError;

/// RSA keys shorter than this are refused: NIST SP 800-131A has disallowed
/// them for signatures since 2014.
pub(crate) const MIN_RSA_BITS: usize = 2048;

const RSA_ENCRYPTION_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// The signature algorithms a key may verify. Each key verifies exactly one,
/// so a token can never pick how its key is interpreted (the RS256 → HS256
/// confusion attack).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyAlg {
    Rs256,
    EdDsa,
}

impl KeyAlg {
    /// The header `alg` values we accept; everything else is refused before
    /// any key is touched.
    pub(crate) fn from_header(alg: &str) -> Option<KeyAlg> {
        match alg {
            "RS256" => Some(KeyAlg::Rs256),
            "EdDSA" => Some(KeyAlg::EdDsa),
            _ => None,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::EdDsa => "EdDSA",
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// Modulus and exponent, big-endian without leading zeros (the form RFC
    /// 7518 §6.3.1 requires in a JWK, so thumbprints come out canonical).
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519 {
        x: [u8; 32],
    },
}

/// One trusted public key.
#[derive(Clone)]
pub(crate) struct PublicKey {
    pub(crate) kid: String,
    pub(crate) alg: KeyAlg,
    material: Material,
    pub(crate) decoding: DecodingKey,
}

impl PublicKey {
    pub(crate) fn from_rsa(key: &RsaPublicKey, kid: Option<String>) -> Result<PublicKey, String> {
        let bits = key.n().bits();
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"
            ));
        }
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let decoding = DecodingKey::from_rsa_raw_components(&n, &e);
        let material = Material::Rsa { n, e };
        let kid = kid.unwrap_or_else(|| thumbprint(&material));
        Ok(PublicKey {
            kid,
            alg: KeyAlg::Rs256,
            material,
            decoding,
        })
    }

    fn from_ed25519(x: &[u8], kid: Option<String>) -> Result<PublicKey, String> {
        let x: [u8; 32] = x
            .try_into()
            .map_err(|_| format!("an Ed25519 public key is 32 bytes, this one is {}", x.len()))?;
        let decoding = DecodingKey::from_ed_der(&x);
        // jsonwebtoken only decodes the curve point when it verifies. Verify
        // a dummy signature now, so that bytes which are not a point on the
        // curve are refused at load time instead of failing every request.
        // An invalid point is an `Err`; a valid key merely says `Ok(false)`.
        let dummy_signature = b64::encode(&[0u8; 64]);
        if jsonwebtoken::crypto::verify(&dummy_signature, b"", &decoding, Algorithm::EdDSA).is_err()
        {
            return Err("the Ed25519 public key is not a valid curve point".to_owned());
        }
        let material = Material::Ed25519 { x };
        let kid = kid.unwrap_or_else(|| thumbprint(&material));
        Ok(PublicKey {
            kid,
            alg: KeyAlg::EdDsa,
            material,
            decoding,
        })
    }

    fn to_jwk(&self) -> Value {
        match &self.material {
            Material::Rsa { n, e } => json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": b64::encode(n),
                "e": b64::encode(e),
            }),
            Material::Ed25519 { x } => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "use": "sig",
                "alg": "EdDSA",
                "kid": self.kid,
                "x": b64::encode(x),
            }),
        }
    }
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic
/// order with no whitespace, base64url-encoded. (RFC 8037 §2 names the OKP
/// members.) The values are base64url text, which never needs JSON escaping.
fn thumbprint(material: &Material) -> String {
    let canonical = match material {
        Material::Rsa { n, e } => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            b64::encode(e),
            b64::encode(n)
        ),
        Material::Ed25519 { x } => {
            format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                b64::encode(x)
            )
        }
    };
    b64::encode(&Sha256::digest(canonical.as_bytes()))
}

/// The public keys a verifier trusts.
#[derive(Clone, Default)]
pub struct KeySet {
    pub(crate) keys: Vec<PublicKey>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.keys
                    .iter()
                    .map(|k| format!("{} ({})", k.kid, k.alg.as_str())),
            )
            .finish()
    }
}

impl KeySet {
    /// An empty set, to [`merge`](Self::merge) others into.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Reads every public key in a PEM file: `PUBLIC KEY` (SPKI, RSA or
    /// Ed25519) or `RSA PUBLIC KEY` (PKCS#1). Several blocks may follow each
    /// other, as when a file carries the current and the next key during a
    /// rotation; text outside the blocks is ignored. Each key's `kid` is its
    /// RFC 7638 thumbprint.
    pub fn from_pem_file(path: &Path) -> Result<KeySet, KeyError> {
        let text = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| KeyError::InvalidKeyFile {
            path: path.to_owned(),
            reason,
        };
        let blocks = pem_blocks(&text).map_err(invalid)?;
        if blocks.is_empty() {
            return Err(invalid(
                "no PEM block found; expected '-----BEGIN PUBLIC KEY-----'".to_owned(),
            ));
        }
        let mut set = KeySet::new();
        for block in blocks {
            let key = parse_pem_block(block).map_err(invalid)?;
            set.push(key);
        }
        Ok(set)
    }

    /// Reads a JWKS document (RFC 7517 §5). Keeps RSA keys whose `alg` is
    /// RS256 or absent and OKP Ed25519 keys whose `alg` is EdDSA or absent,
    /// in both cases only if meant for signatures (`use` is `sig` or absent);
    /// other keys (EC, encryption keys, RS512, …) are skipped, since an
    /// identity provider's set often holds keys for other purposes. A key
    /// without `kid` gets its RFC 7638 thumbprint.
    pub fn from_jwks_file(path: &Path) -> Result<KeySet, KeyError> {
        let text = std::fs::read(path).map_err(|source| KeyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let invalid = |reason: String| KeyError::InvalidKeyFile {
            path: path.to_owned(),
            reason,
        };
        let doc: Value = serde_json::from_slice(&text)
            .map_err(|e| invalid(format!("not a JSON document: {e}")))?;
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("not a JWKS document: no 'keys' array".to_owned()))?;
        let mut set = KeySet::new();
        for (index, jwk) in keys.iter().enumerate() {
            let jwk = jwk
                .as_object()
                .ok_or_else(|| invalid(format!("keys[{index}] is not a JSON object")))?;
            if let Some(key) = parse_jwk(jwk).map_err(|reason| {
                let name = match jwk.get("kid").and_then(Value::as_str) {
                    Some(kid) => format!(
                        "keys[{index}] (kid '{}')",
                        installhub_domain::ids::printable(kid)
                    ),
                    None => format!("keys[{index}]"),
                };
                invalid(format!("{name}: {reason}"))
            })? {
                set.push(key);
            }
        }
        if set.is_empty() {
            return Err(KeyError::NoUsableKeys {
                path: path.to_owned(),
            });
        }
        Ok(set)
    }

    /// Both sets together. A key present in both (same `kid`, same key) is
    /// kept once.
    pub fn merge(mut self, other: KeySet) -> KeySet {
        for key in other.keys {
            self.push(key);
        }
        self
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `kid` of every key, in load order.
    pub fn kids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.kid.as_str()).collect()
    }

    /// The set as a JWKS document, for a `/.well-known/jwks.json` route.
    /// Public material only: the set never holds private keys.
    pub fn to_jwks_json(&self) -> Value {
        json!({ "keys": self.keys.iter().map(PublicKey::to_jwk).collect::<Vec<_>>() })
    }

    pub(crate) fn push(&mut self, key: PublicKey) {
        let duplicate = self
            .keys
            .iter()
            .any(|k| k.kid == key.kid && k.material == key.material);
        if !duplicate {
            self.keys.push(key);
        }
    }
}

/// Splits a PEM file into its `-----BEGIN X-----` … `-----END X-----`
/// blocks, so that comments or bag attributes around them do not matter.
pub(crate) fn pem_blocks(text: &[u8]) -> Result<Vec<&[u8]>, String> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let label_end = find(&block[BEGIN.len()..], b"-----")
            .ok_or_else(|| "a PEM '-----BEGIN' line is not terminated".to_owned())?;
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = [b"-----END ", label, b"-----"].concat();
        let end = find(block, &end_marker).ok_or_else(|| {
            format!(
                "the PEM block '{}' has no END line",
                String::from_utf8_lossy(label)
            )
        })?;
        let block_len = end + end_marker.len();
        blocks.push(&block[..block_len]);
        rest = &block[block_len..];
    }
    Ok(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_pem_block(block: &[u8]) -> Result<PublicKey, String> {
    let (label, der) = rsa::pkcs8::der::pem::decode_vec(block)
        .map_err(|e| format!("invalid PEM encoding: {e}"))?;
    match label {
        "PUBLIC KEY" => parse_spki(&der),
        "RSA PUBLIC KEY" => {
            let key = RsaPublicKey::from_pkcs1_der(&der)
                .map_err(|e| format!("invalid PKCS#1 RSA public key: {e}"))?;
            PublicKey::from_rsa(&key, None)
        }
        "PRIVATE KEY" | "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "ENCRYPTED PRIVATE KEY" => Err(
            format!("this is a private key ('{label}'); configure the public key instead"),
        ),
        other => Err(format!(
            "unsupported PEM block '{other}'; expected 'PUBLIC KEY' or 'RSA PUBLIC KEY'"
        )),
    }
}

fn parse_spki(der: &[u8]) -> Result<PublicKey, String> {
    let spki = SubjectPublicKeyInfoRef::from_der(der)
        .map_err(|e| format!("invalid SubjectPublicKeyInfo: {e}"))?;
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION_OID {
        let key = RsaPublicKey::from_public_key_der(der)
            .map_err(|e| format!("invalid RSA public key: {e}"))?;
        PublicKey::from_rsa(&key, None)
    } else if oid == ED25519_OID {
        if spki.algorithm.parameters.is_some() {
            // RFC 8410 §3: the parameters MUST be absent.
            return Err("invalid Ed25519 public key: unexpected algorithm parameters".to_owned());
        }
        let x = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| "invalid Ed25519 public key: unaligned bit string".to_owned())?;
        PublicKey::from_ed25519(x, None)
    } else {
        Err(format!(
            "unsupported public key type (algorithm {oid}); expected RSA (RS256) or Ed25519 (EdDSA)"
        ))
    }
}

/// One JWK: `Ok(None)` for a key that is not for us, `Err` for one that is
/// meant for us but broken.
fn parse_jwk(jwk: &Map<String, Value>) -> Result<Option<PublicKey>, String> {
    let member = |name: &str| -> Result<Option<&str>, String> {
        match jwk.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(format!("'{name}' is not a string")),
        }
    };
    let base64_member = |name: &str| -> Result<Vec<u8>, String> {
        let text = member(name)?.ok_or_else(|| format!("'{name}' is missing"))?;
        b64::decode(text).ok_or_else(|| format!("'{name}' is not base64url"))
    };

    let kty = member("kty")?.ok_or_else(|| "'kty' is missing".to_owned())?;
    let alg = member("alg")?;
    if !matches!(member("use")?, None | Some("sig")) {
        return Ok(None);
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Ok(None);
        }
    }
    let kid = match member("kid")? {
        Some("") => return Err("'kid' is empty".to_owned()),
        Some(kid) => Some(kid.to_owned()),
        None => None,
    };
    // Someone who pastes a private JWK as a trusted key has leaked it; say
    // so rather than quietly using its public half.
    if jwk.contains_key("d") {
        return Err(
            "this is a private key ('d' is present); configure the public key only".to_owned(),
        );
    }

    match (kty, alg) {
        ("RSA", None | Some("RS256")) => {
            let n = BigUint::from_bytes_be(&base64_member("n")?);
            let e = BigUint::from_bytes_be(&base64_member("e")?);
            let key = RsaPublicKey::new(n, e).map_err(|e| format!("invalid RSA key: {e}"))?;
            PublicKey::from_rsa(&key, kid).map(Some)
        }
        ("OKP", None | Some("EdDSA" | "Ed25519")) if member("crv")? == Some("Ed25519") => {
            PublicKey::from_ed25519(&base64_member("x")?, kid).map(Some)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    use super::*;
    use crate::test_keys;

    // RFC 7638 §3.1.
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    const RFC7638_THUMBPRINT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    // RFC 8037 §A.2–A.3 (the RFC 8032 test 1 key).
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const RFC8037_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

    fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn jwks_file(dir: &Path, doc: &Value) -> std::path::PathBuf {
        write(dir, "jwks.json", doc.to_string().as_bytes())
    }

    #[test]
    fn thumbprints_match_the_rfc_examples() {
        let dir = tempfile::tempdir().unwrap();
        let path = jwks_file(
            dir.path(),
            &json!({ "keys": [
                { "kty": "RSA", "n": RFC7638_N, "e": "AQAB" },
                { "kty": "OKP", "crv": "Ed25519", "x": RFC8037_X },
            ]}),
        );
        let set = KeySet::from_jwks_file(&path).unwrap();
        assert_eq!(set.kids(), [RFC7638_THUMBPRINT, RFC8037_THUMBPRINT]);
    }

    #[test]
    fn rsa_thumbprint_agrees_with_jsonwebtoken() {
        // An independent implementation of RFC 7638, over a key we generated.
        use jsonwebtoken::jwk::{
            AlgorithmParameters, CommonParameters, Jwk, RSAKeyParameters, RSAKeyType,
            ThumbprintHash,
        };
        let public = test_keys::rsa_a().to_public_key();
        let key = PublicKey::from_rsa(&public, None).unwrap();
        let jwk = Jwk {
            common: CommonParameters::default(),
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: b64::encode(&public.n().to_bytes_be()),
                e: b64::encode(&public.e().to_bytes_be()),
            }),
        };
        assert_eq!(key.kid, jwk.thumbprint(ThumbprintHash::SHA256));
    }

    #[test]
    fn spki_and_pkcs1_pem_give_the_same_key_and_kid() {
        let dir = tempfile::tempdir().unwrap();
        let public = test_keys::rsa_a().to_public_key();
        let spki = public.to_public_key_pem(LineEnding::LF).unwrap();
        let pkcs1 = public.to_pkcs1_pem(LineEnding::LF).unwrap();
        assert!(spki.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert!(pkcs1.starts_with("-----BEGIN RSA PUBLIC KEY-----"));

        let a = KeySet::from_pem_file(&write(dir.path(), "spki.pem", spki.as_bytes())).unwrap();
        let b = KeySet::from_pem_file(&write(dir.path(), "pkcs1.pem", pkcs1.as_bytes())).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a.kids(), b.kids());
        assert_eq!(a.to_jwks_json(), b.to_jwks_json());
        // Same key loaded again: same kid.
        let again = KeySet::from_pem_file(&dir.path().join("spki.pem")).unwrap();
        assert_eq!(a.kids(), again.kids());
        // A different key: a different kid.
        let other = test_keys::rsa_b().to_public_key();
        let other_pem = other.to_public_key_pem(LineEnding::LF).unwrap();
        let c =
            KeySet::from_pem_file(&write(dir.path(), "other.pem", other_pem.as_bytes())).unwrap();
        assert_ne!(a.kids(), c.kids());
    }

    #[test]
    fn pem_file_with_several_blocks_and_comments() {
        let dir = tempfile::tempdir().unwrap();
        let a = test_keys::rsa_a()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let b = test_keys::rsa_b()
            .to_public_key()
            .to_pkcs1_pem(LineEnding::LF)
            .unwrap();
        let text = format!("# current key\n{a}\n# next key\n{b}");
        let set = KeySet::from_pem_file(&write(dir.path(), "keys.pem", text.as_bytes())).unwrap();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn pem_ed25519_spki() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "ed.pem",
            test_keys::ed25519_public_pem(0).as_bytes(),
        );
        let set = KeySet::from_pem_file(&path).unwrap();
        assert_eq!(set.kids(), [RFC8037_THUMBPRINT]);
        assert_eq!(set.keys[0].alg, KeyAlg::EdDsa);
    }

    #[test]
    fn pem_refusals() {
        use rsa::pkcs8::EncodePrivateKey;
        let dir = tempfile::tempdir().unwrap();
        let private = test_keys::rsa_a().to_pkcs8_pem(LineEnding::LF).unwrap();
        let small_pem = test_keys::rsa_1024()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let cases: [(&str, &[u8], &str); 6] = [
            ("private.pem", private.as_bytes(), "private key"),
            ("small.pem", small_pem.as_bytes(), "at least 2048"),
            ("empty.pem", b"", "no PEM block"),
            (
                "cert.pem",
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "unsupported PEM block",
            ),
            (
                "cut.pem",
                b"-----BEGIN PUBLIC KEY-----\nMIIB\n",
                "no END line",
            ),
            (
                "garbage.pem",
                b"-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n",
                "invalid PEM",
            ),
        ];
        for (name, contents, expected) in cases {
            let err = KeySet::from_pem_file(&write(dir.path(), name, contents)).unwrap_err();
            assert!(
                matches!(&err, KeyError::InvalidKeyFile { reason, .. } if reason.contains(expected)),
                "{name}: {err}"
            );
        }
        let missing = KeySet::from_pem_file(&dir.path().join("missing.pem")).unwrap_err();
        assert!(matches!(missing, KeyError::Read { .. }), "{missing}");
    }

    #[test]
    fn jwks_round_trip_through_to_jwks_json() {
        let dir = tempfile::tempdir().unwrap();
        let pem = test_keys::rsa_a()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let rsa = KeySet::from_pem_file(&write(dir.path(), "a.pem", pem.as_bytes())).unwrap();
        let ed = KeySet::from_pem_file(&write(
            dir.path(),
            "ed.pem",
            test_keys::ed25519_public_pem(0).as_bytes(),
        ))
        .unwrap();
        let set = rsa.merge(ed);
        let doc = set.to_jwks_json();
        let loaded = KeySet::from_jwks_file(&jwks_file(dir.path(), &doc)).unwrap();
        assert_eq!(loaded.kids(), set.kids());
        assert_eq!(loaded.to_jwks_json(), doc);
        assert_eq!(doc["keys"][0]["kty"], "RSA");
        assert_eq!(doc["keys"][0]["alg"], "RS256");
        assert_eq!(doc["keys"][1]["kty"], "OKP");
        assert!(doc["keys"][0].get("d").is_none());
    }

    #[test]
    fn jwks_keeps_its_own_kid_and_skips_keys_not_for_us() {
        let dir = tempfile::tempdir().unwrap();
        let path = jwks_file(
            dir.path(),
            &json!({ "keys": [
                { "kty": "RSA", "kid": "2011-04-29", "alg": "RS256", "use": "sig", "n": RFC7638_N, "e": "AQAB" },
                { "kty": "RSA", "kid": "enc", "use": "enc", "n": RFC7638_N, "e": "AQAB" },
                { "kty": "RSA", "kid": "rs512", "alg": "RS512", "n": RFC7638_N, "e": "AQAB" },
                { "kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": RFC7638_N, "e": "AQAB" },
                { "kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA" },
                { "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" },
                { "kty": "OKP", "kid": "x25519", "crv": "X25519", "x": RFC8037_X },
            ]}),
        );
        let set = KeySet::from_jwks_file(&path).unwrap();
        assert_eq!(set.kids(), ["2011-04-29"]);
    }

    #[test]
    fn jwks_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                json!({ "keys": [{ "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA" }] }),
                "no usable",
            ),
            (json!({ "keys": [] }), "no usable"),
            (json!({ "nokeys": [] }), "no 'keys' array"),
            (
                json!({ "keys": [{ "kty": "RSA", "n": "!!", "e": "AQAB" }] }),
                "'n' is not base64url",
            ),
            (
                json!({ "keys": [{ "kty": "RSA", "e": "AQAB" }] }),
                "'n' is missing",
            ),
            (
                json!({ "keys": [{ "kty": "RSA", "kid": "", "n": RFC7638_N, "e": "AQAB" }] }),
                "'kid' is empty",
            ),
            (
                json!({ "keys": [{ "kty": "RSA", "n": RFC7638_N, "e": "AQAB", "d": "AQAB" }] }),
                "private key",
            ),
            (
                json!({ "keys": [{ "kty": "RSA", "n": RFC7638_N, "e": "AQ" }] }),
                "invalid RSA key",
            ),
            (
                json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": "AQAB" }] }),
                "32 bytes",
            ),
            (json!({ "keys": ["RSA"] }), "not a JSON object"),
        ];
        for (doc, expected) in cases {
            let err = KeySet::from_jwks_file(&jwks_file(dir.path(), &doc)).unwrap_err();
            assert!(err.to_string().contains(expected), "{doc}: {err}");
        }
        let not_json = write(dir.path(), "bad.json", b"{");
        assert!(
            KeySet::from_jwks_file(&not_json)
                .unwrap_err()
                .to_string()
                .contains("not a JSON")
        );
    }

    #[test]
    fn jwks_refuses_short_rsa_key() {
        let dir = tempfile::tempdir().unwrap();
        let small = test_keys::rsa_1024().to_public_key();
        let doc = json!({ "keys": [{
            "kty": "RSA",
            "n": b64::encode(&small.n().to_bytes_be()),
            "e": b64::encode(&small.e().to_bytes_be()),
        }]});
        let err = KeySet::from_jwks_file(&jwks_file(dir.path(), &doc)).unwrap_err();
        assert!(err.to_string().contains("at least 2048"), "{err}");
    }

    #[test]
    fn merge_keeps_one_copy_of_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let pem = test_keys::rsa_a()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let path = write(dir.path(), "a.pem", pem.as_bytes());
        let a = KeySet::from_pem_file(&path).unwrap();
        let merged = a.clone().merge(KeySet::from_pem_file(&path).unwrap());
        assert_eq!(merged.len(), 1);
        let ed = KeySet::from_pem_file(&write(
            dir.path(),
            "ed.pem",
            test_keys::ed25519_public_pem(1).as_bytes(),
        ))
        .unwrap();
        assert_eq!(a.merge(ed).len(), 2);
        assert!(KeySet::new().is_empty());
    }
}
