//! Keys for the tests, shared by the unit tests (through `#[path]`) and the
//! integration tests. RSA keys are generated once per test binary: keygen
//! costs a fraction of a second even optimised, too much to repeat per test.
//! The Ed25519 keys are the RFC 8032 §7.1 test vectors, since the workspace
//! has no Ed25519 key generator.

#![allow(
    dead_code,
    reason = "each test binary that includes this file uses a different subset"
)]

use std::sync::OnceLock;

use rsa::RsaPrivateKey;
use rsa::pkcs8::LineEnding;

fn generate(bits: usize) -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand::thread_rng(), bits).expect("RSA key generation")
}

/// The key the verifier under test trusts.
pub fn rsa_a() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| generate(2048))
}

/// A second, untrusted key: the attacker's.
pub fn rsa_b() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| generate(2048))
}

/// Too short to be accepted.
pub fn rsa_1024() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| generate(1024))
}

/// (secret seed, public key) of RFC 8032 §7.1 tests 1 and 2.
const ED25519_VECTORS: [(&str, &str); 2] = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    ),
];

/// The private key of Ed25519 test vector `index` as PKCS#8 DER (RFC 8410
/// §7), which is what jsonwebtoken's `EncodingKey::from_ed_der` takes.
pub fn ed25519_pkcs8_der(index: usize) -> Vec<u8> {
    let prefix = hex::decode("302e020100300506032b657004220420").unwrap();
    [prefix, hex::decode(ED25519_VECTORS[index].0).unwrap()].concat()
}

/// The public key of Ed25519 test vector `index` as a SPKI PEM.
pub fn ed25519_public_pem(index: usize) -> String {
    let prefix = hex::decode("302a300506032b6570032100").unwrap();
    let der = [prefix, hex::decode(ED25519_VECTORS[index].1).unwrap()].concat();
    rsa::pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &der).unwrap()
}

/// Base64url without padding, for hand-built tokens. (The crate's own codec
/// is private; this one is deliberately naive, so the two are independent.)
pub fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bits: String = data.iter().map(|b| format!("{b:08b}")).collect();
    bits.as_bytes()
        .chunks(6)
        .map(|chunk| {
            let mut sextet = String::from_utf8(chunk.to_vec()).unwrap();
            while sextet.len() < 6 {
                sextet.push('0');
            }
            char::from(ALPHABET[usize::from_str_radix(&sextet, 2).unwrap()])
        })
        .collect()
}
