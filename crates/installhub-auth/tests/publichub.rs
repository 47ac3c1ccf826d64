//! The PublicHub's signing keys through the public API: key files in real
//! directories, keys made and checked by the real `openssl`, signatures
//! made by one key and verified (or refused) against JWKS documents.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use installhub_auth::{
    KeyError, PUBLICHUB_KEY_FILE, PublisherKey, PublisherKeySet, PublisherPublicKey, SignatureError,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const STATEMENT: &[u8] = b"installhub package acme/invoice-flow 1.4.0 sha256:9f86d081884c7d65";

fn key_in(dir: &Path) -> PublisherKey {
    PublisherKey::load_or_create(dir).unwrap()
}

fn set_of(keys: &[&PublisherKey]) -> PublisherKeySet {
    PublisherKeySet::new(keys.iter().map(|k| k.public()).collect()).unwrap()
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) {}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents).unwrap();
    path
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `openssl` with `args`; `None` (with a note) only when there is no
/// `openssl` on this machine.
fn openssl(args: &[&str]) -> Option<String> {
    let output = match Command::new("openssl").args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("note: `openssl` is not installed; skipping the openssl cross-check");
            return None;
        }
        Err(e) => panic!("could not run openssl: {e}"),
    };
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap())
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn invalid_reason(err: &KeyError) -> &str {
    match err {
        KeyError::InvalidKeyFile { reason, .. } | KeyError::InvalidKeySet { reason } => reason,
        other => panic!("expected an invalid key file or key set, got: {other}"),
    }
}

// ---------------------------------------------------------------------------
// The key file in the data directory

#[test]
fn creates_once_then_loads_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let first = key_in(&data);
    let path = data.join(PUBLICHUB_KEY_FILE);
    let pem = fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");

    let second = key_in(&data);
    assert_eq!(first.kid(), second.kid());
    assert_eq!(first.public(), second.public());
    assert_eq!(fs::read_to_string(&path).unwrap(), pem);
    // The operator's way in reads the same file as the same key.
    assert_eq!(
        PublisherKey::from_pem_file(&path).unwrap().kid(),
        first.kid()
    );
    // No temporary files are left behind.
    assert_eq!(file_names(&data), [PUBLICHUB_KEY_FILE]);

    // A key made in another directory is another key.
    let other = key_in(&dir.path().join("other"));
    assert_ne!(other.kid(), first.kid());
}

#[test]
fn the_kid_is_derived_from_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in(dir.path());
    let x = URL_SAFE_NO_PAD
        .decode(key.public().to_jwk()["x"].as_str().unwrap())
        .unwrap();
    assert_eq!(x.len(), 32);
    let digest = hex::encode(Sha256::digest(&x));
    assert_eq!(key.kid(), format!("ed25519-{}", &digest[..16]));
    assert_eq!(key.public().kid(), key.kid());
}

#[test]
fn concurrent_creators_agree_on_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let kids: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| key_in(dir.path()).kid().to_owned()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
    assert_eq!(key_in(dir.path()).kid(), kids[0]);
    assert_eq!(file_names(dir.path()), [PUBLICHUB_KEY_FILE]);
}

#[cfg(unix)]
#[test]
fn key_file_is_0600_and_a_readable_one_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let kid = key_in(dir.path()).kid().to_owned();
    let path = dir.path().join(PUBLICHUB_KEY_FILE);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    set_mode(&path, 0o644);
    let err = PublisherKey::load_or_create(dir.path()).unwrap_err();
    assert!(
        matches!(&err, KeyError::InsecurePermissions { mode: 0o644, path: p } if *p == path),
        "{err}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    let err = PublisherKey::from_pem_file(&path).unwrap_err();
    assert!(
        matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }),
        "{err}"
    );
    set_mode(&path, 0o640);
    assert!(matches!(
        PublisherKey::load_or_create(dir.path()).unwrap_err(),
        KeyError::InsecurePermissions { mode: 0o640, .. }
    ));

    // Restricted again, it is the same key: nothing was replaced.
    set_mode(&path, 0o600);
    assert_eq!(key_in(dir.path()).kid(), kid);
}

#[test]
fn a_broken_key_file_is_an_error_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(PUBLICHUB_KEY_FILE);
    let other = tempfile::tempdir().unwrap();
    let public_pem = key_in(other.path()).public().to_spki_pem();
    let cases: [(&[u8], &str); 5] = [
        (b"not a key", "no PEM block"),
        (b"", "no PEM block"),
        (
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAA\n-----END PRIVATE KEY-----\n",
            "invalid PKCS#8 private key",
        ),
        (public_pem.as_bytes(), "this is a public key"),
        (
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
            "encrypted",
        ),
    ];
    for (contents, expected) in cases {
        fs::write(&path, contents).unwrap();
        set_mode(&path, 0o600);
        for err in [
            PublisherKey::load_or_create(dir.path()).unwrap_err(),
            PublisherKey::from_pem_file(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, KeyError::InvalidKeyFile { path: p, reason } if *p == path && reason.contains(expected)),
                "{}: {err}",
                String::from_utf8_lossy(contents)
            );
            assert!(err.to_string().contains(PUBLICHUB_KEY_FILE), "{err}");
        }
        assert_eq!(fs::read(&path).unwrap(), contents);
        assert_eq!(file_names(dir.path()), [PUBLICHUB_KEY_FILE]);
    }
    let missing = PublisherKey::from_pem_file(&dir.path().join("missing.pem")).unwrap_err();
    assert!(matches!(missing, KeyError::Read { .. }), "{missing}");
}

// ---------------------------------------------------------------------------
// Keys made by openssl

#[test]
fn an_openssl_key_loads_and_its_public_key_gives_the_same_kid() {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("publichub.pem");
    let public = dir.path().join("publichub.pub.pem");
    let Some(_) = openssl(&[
        "genpkey",
        "-algorithm",
        "ed25519",
        "-out",
        path_str(&private),
    ]) else {
        return;
    };
    openssl(&[
        "pkey",
        "-in",
        path_str(&private),
        "-pubout",
        "-out",
        path_str(&public),
    ])
    .unwrap();
    set_mode(&private, 0o600);

    let key = PublisherKey::from_pem_file(&private).unwrap();
    let from_public = PublisherKeySet::from_file(&public).unwrap();
    assert_eq!(from_public.keys().len(), 1);
    assert_eq!(from_public.keys()[0].kid(), key.kid());
    assert_eq!(from_public.keys()[0], key.public());
    // The private key file as a key file: its public half.
    let from_private = PublisherKeySet::from_file(&private).unwrap();
    assert_eq!(from_private.keys(), from_public.keys());
    // Our SPKI PEM is byte for byte what openssl writes.
    assert_eq!(
        key.public().to_spki_pem(),
        fs::read_to_string(&public).unwrap()
    );

    // openssl verifies our signature over the raw bytes...
    let message = write(dir.path(), "statement", STATEMENT);
    let signature = URL_SAFE_NO_PAD.decode(key.sign(STATEMENT)).unwrap();
    let signature_file = write(dir.path(), "statement.sig", &signature);
    let verified = openssl(&[
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        path_str(&public),
        "-rawin",
        "-in",
        path_str(&message),
        "-sigfile",
        path_str(&signature_file),
    ])
    .unwrap();
    assert!(
        verified.contains("Signature Verified Successfully"),
        "{verified}"
    );

    // ...and we verify openssl's.
    let by_openssl = dir.path().join("by-openssl.sig");
    openssl(&[
        "pkeyutl",
        "-sign",
        "-inkey",
        path_str(&private),
        "-rawin",
        "-in",
        path_str(&message),
        "-out",
        path_str(&by_openssl),
    ])
    .unwrap();
    let by_openssl = URL_SAFE_NO_PAD.encode(fs::read(&by_openssl).unwrap());
    assert_eq!(
        from_public.verify(key.kid(), STATEMENT, &by_openssl),
        Ok(())
    );
    // Ed25519 is deterministic: the same key signs the same bytes the same way.
    assert_eq!(by_openssl, key.sign(STATEMENT));
}

#[test]
fn openssl_reads_the_key_file_we_make() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in(dir.path());
    let Some(public) = openssl(&[
        "pkey",
        "-in",
        path_str(&dir.path().join(PUBLICHUB_KEY_FILE)),
        "-pubout",
    ]) else {
        return;
    };
    assert_eq!(public, key.public().to_spki_pem());
    let public_file = write(dir.path(), "public.pem", &public);
    assert_eq!(
        PublisherKeySet::from_file(&public_file).unwrap().keys()[0].kid(),
        key.kid()
    );
}

#[test]
fn keys_of_other_algorithms_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let ec = dir.path().join("ec.pem");
    let Some(_) = openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path_str(&ec),
    ]) else {
        return;
    };
    let ec_public = dir.path().join("ec.pub.pem");
    openssl(&[
        "pkey",
        "-in",
        path_str(&ec),
        "-pubout",
        "-out",
        path_str(&ec_public),
    ])
    .unwrap();
    let ed448 = dir.path().join("ed448.pem");
    openssl(&["genpkey", "-algorithm", "ed448", "-out", path_str(&ed448)]).unwrap();
    set_mode(&ec, 0o600);
    set_mode(&ed448, 0o600);

    for (path, expected) in [(&ec, "an EC key"), (&ed448, "an Ed448 key")] {
        let err = PublisherKey::from_pem_file(path).unwrap_err();
        assert!(invalid_reason(&err).contains(expected), "{err}");
        assert!(err.to_string().contains(path_str(path)), "{err}");
    }
    for (path, expected) in [(&ec_public, "an EC key"), (&ed448, "an Ed448 key")] {
        let err = PublisherKeySet::from_file(path).unwrap_err();
        assert!(invalid_reason(&err).contains(expected), "{err}");
        assert!(err.to_string().contains(path_str(path)), "{err}");
    }
}

// ---------------------------------------------------------------------------
// Signatures

#[test]
fn sign_then_verify_and_every_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in(&dir.path().join("publichub"));
    let attacker = key_in(&dir.path().join("attacker"));
    let set = set_of(&[&key]);
    let kid = key.kid();

    let signature = key.sign(STATEMENT);
    assert_eq!(signature.len(), 86, "{signature}");
    assert_eq!(set.verify(kid, STATEMENT, &signature), Ok(()));

    // A changed message.
    let mut changed = STATEMENT.to_vec();
    changed[10] ^= 1;
    assert_eq!(
        set.verify(kid, &changed, &signature),
        Err(SignatureError::Invalid)
    );
    assert_eq!(
        set.verify(kid, b"", &signature),
        Err(SignatureError::Invalid)
    );

    // A changed signature byte, in R and in S.
    let bytes = URL_SAFE_NO_PAD.decode(&signature).unwrap();
    for index in [0, 31, 32, 63] {
        let mut bad = bytes.clone();
        bad[index] ^= 0x01;
        assert_eq!(
            set.verify(kid, STATEMENT, &URL_SAFE_NO_PAD.encode(&bad)),
            Err(SignatureError::Invalid),
            "byte {index}"
        );
    }

    // The malleable twin: S + L (the group order) verifies under lax
    // checks; a strict verifier refuses S >= L.
    let mut twin = bytes.clone();
    let order: [u8; 32] =
        hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .unwrap()
            .try_into()
            .unwrap();
    let mut carry = 0u16;
    for (s, l) in twin[32..].iter_mut().zip(order) {
        let sum = u16::from(*s) + u16::from(l) + carry;
        *s = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(
        set.verify(kid, STATEMENT, &URL_SAFE_NO_PAD.encode(&twin)),
        Err(SignatureError::Invalid)
    );

    // Encodings other than base64url without padding, and wrong lengths.
    let padded = format!("{signature}==");
    let standard = STANDARD.encode(&bytes);
    let with_plus = format!("+{}", &signature[1..]);
    let with_slash = format!("{}/", &signature[..85]);
    let spaced = format!("{} {}", &signature[..43], &signature[43..]);
    let newline = format!("{signature}\n");
    for bad in [
        padded.as_str(),
        standard.as_str(),
        with_plus.as_str(),
        with_slash.as_str(),
        spaced.as_str(),
        newline.as_str(),
    ] {
        let err = set.verify(kid, STATEMENT, bad).unwrap_err();
        assert!(
            matches!(&err, SignatureError::Malformed(reason) if reason.contains("base64url")),
            "{bad:?}: {err}"
        );
    }
    let short = URL_SAFE_NO_PAD.encode(&bytes[..63]);
    let long = URL_SAFE_NO_PAD.encode([bytes.as_slice(), &[0]].concat());
    for (bad, length) in [(short.as_str(), "63"), (long.as_str(), "65"), ("", "0")] {
        let err = set.verify(kid, STATEMENT, bad).unwrap_err();
        assert!(
            matches!(&err, SignatureError::Malformed(reason) if reason.contains(length) && reason.contains("64")),
            "{bad:?}: {err}"
        );
    }

    // An unknown kid: the attacker's own key is not trusted.
    let forged = attacker.sign(STATEMENT);
    assert_eq!(
        set.verify(attacker.kid(), STATEMENT, &forged),
        Err(SignatureError::UnknownKey(attacker.kid().to_owned()))
    );
    assert_eq!(
        set.verify("", STATEMENT, &signature),
        Err(SignatureError::UnknownKey(String::new()))
    );
    // Another key's signature under the trusted kid.
    assert_eq!(
        set.verify(kid, STATEMENT, &forged),
        Err(SignatureError::Invalid)
    );
    // An empty set trusts nothing.
    assert_eq!(
        PublisherKeySet::default().verify(kid, STATEMENT, &signature),
        Err(SignatureError::UnknownKey(kid.to_owned()))
    );
}

/// A signature whose R is the identity point (small order), made with the
/// private scalar: S = H(R || A || M) * a, so S*B - k*A is the identity and
/// the cofactorless check passes. Only a strict verifier refuses it.
#[test]
fn a_signature_with_a_small_order_r_is_refused() {
    use rsa::BigUint;
    use sha2::Sha512;

    let dir = tempfile::tempdir().unwrap();
    let key = key_in(dir.path());
    let pem = fs::read_to_string(dir.path().join(PUBLICHUB_KEY_FILE)).unwrap();
    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let seed = &der[16..48];
    let public = URL_SAFE_NO_PAD
        .decode(key.public().to_jwk()["x"].as_str().unwrap())
        .unwrap();

    // RFC 8032 §5.1.5: the secret scalar is the clamped first half of
    // SHA-512(seed).
    let mut scalar = Sha512::digest(seed)[..32].to_vec();
    scalar[0] &= 248;
    scalar[31] &= 127;
    scalar[31] |= 64;
    let order = (BigUint::from(1u8) << 252usize)
        + BigUint::parse_bytes(b"27742317777372353535851937790883648493", 10).unwrap();
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let k = BigUint::from_bytes_le(&Sha512::digest(
        [&identity[..], &public, STATEMENT].concat(),
    ));
    let s = (k * BigUint::from_bytes_le(&scalar)) % &order;
    let mut s_bytes = s.to_bytes_le();
    s_bytes.resize(32, 0);
    let signature = URL_SAFE_NO_PAD.encode([identity.as_slice(), &s_bytes].concat());

    // A lax verifier (jsonwebtoken's EdDSA, cofactorless) accepts it, so it
    // is a real signature of the statement...
    let lax = jsonwebtoken::crypto::verify(
        &signature,
        STATEMENT,
        &jsonwebtoken::DecodingKey::from_ed_der(&public),
        jsonwebtoken::Algorithm::EdDSA,
    );
    assert!(matches!(lax, Ok(true)), "{lax:?}");
    // ...which the PublicHub's keys refuse.
    assert_eq!(
        set_of(&[&key]).verify(key.kid(), STATEMENT, &signature),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn signature_errors_are_sentences_a_person_can_act_on() {
    let unknown = SignatureError::UnknownKey("ed25519-0123456789abcdef".into()).to_string();
    assert!(unknown.contains("ed25519-0123456789abcdef"), "{unknown}");
    assert!(
        unknown.contains("/.well-known/installhub/publichub-keys.json"),
        "{unknown}"
    );
    let malformed = SignatureError::Malformed("it is 3 bytes long".into()).to_string();
    assert!(malformed.contains("it is 3 bytes long"), "{malformed}");
    assert!(
        SignatureError::Invalid
            .to_string()
            .contains("package version")
    );

    // A kid from a downloaded bundle is printed escaped, not raw.
    let dir = tempfile::tempdir().unwrap();
    let set = set_of(&[&key_in(dir.path())]);
    let err = set.verify("evil\n\u{1b}[31m", b"", "").unwrap_err();
    assert_eq!(err, SignatureError::UnknownKey("evil\\n\\u{1b}[31m".into()));
    assert!(!err.to_string().contains('\n'), "{err}");
}

// ---------------------------------------------------------------------------
// Key sets, JWKS and rotation

#[test]
fn jwks_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let a = key_in(&dir.path().join("a"));
    let b = key_in(&dir.path().join("b"));
    let set = set_of(&[&a, &b]);
    let doc = set.to_jwks();

    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for jwk in keys {
        assert_eq!(jwk["kty"], "OKP");
        assert_eq!(jwk["crv"], "Ed25519");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(jwk["alg"], "EdDSA");
        assert!(jwk.get("d").is_none());
        let mut members: Vec<&str> = jwk
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        members.sort_unstable();
        assert_eq!(members, ["alg", "crv", "kid", "kty", "use", "x"]);
    }
    assert_eq!(keys.iter().filter(|k| k["kid"] == a.kid()).count(), 1);
    assert_eq!(a.public().to_jwk()["kid"], a.kid());

    let loaded = PublisherKeySet::from_jwks(doc.to_string().as_bytes()).unwrap();
    assert_eq!(loaded.keys(), set.keys());
    assert_eq!(loaded.to_jwks(), doc);
    // The same keys in another order give the same document.
    assert_eq!(set_of(&[&b, &a]).to_jwks(), doc);
    // Through a file, pretty-printed as a server might write it.
    let path = write(
        dir.path(),
        "publichub-keys.json",
        serde_json::to_string_pretty(&doc).unwrap(),
    );
    assert_eq!(
        PublisherKeySet::from_file(&path).unwrap().keys(),
        set.keys()
    );

    // A key without kid gets the derived one.
    let mut bare = a.public().to_jwk();
    bare.as_object_mut().unwrap().remove("kid");
    bare.as_object_mut().unwrap().remove("use");
    bare.as_object_mut().unwrap().remove("alg");
    let loaded =
        PublisherKeySet::from_jwks(json!({ "keys": [bare] }).to_string().as_bytes()).unwrap();
    assert_eq!(loaded.keys(), [a.public()]);
}

#[test]
fn rotation_verifies_package_versions_signed_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let old = key_in(&dir.path().join("old"));
    let new = key_in(&dir.path().join("new"));
    let v1 = b"acme/invoice-flow 1.0.0".as_slice();
    let v2 = b"acme/invoice-flow 2.0.0".as_slice();
    let (sig1, sig2) = (old.sign(v1), new.sign(v2));

    // What installers had before the rotation (a JWKS) and the new key's
    // PEM handed to them with it.
    let old_jwks = write(
        dir.path(),
        "old.json",
        set_of(&[&old]).to_jwks().to_string(),
    );
    let new_pem = write(dir.path(), "new.pem", new.public().to_spki_pem());
    let before = PublisherKeySet::from_file(&old_jwks).unwrap();
    assert_eq!(before.verify(old.kid(), v1, &sig1), Ok(()));
    assert_eq!(
        before.verify(new.kid(), v2, &sig2),
        Err(SignatureError::UnknownKey(new.kid().to_owned()))
    );

    let both = before
        .merge(PublisherKeySet::from_file(&new_pem).unwrap())
        .unwrap();
    assert_eq!(both.keys().len(), 2);
    assert_eq!(both.verify(old.kid(), v1, &sig1), Ok(()));
    assert_eq!(both.verify(new.kid(), v2, &sig2), Ok(()));
    // Each signature only under its own key.
    assert_eq!(
        both.verify(new.kid(), v1, &sig1),
        Err(SignatureError::Invalid)
    );

    // The served document after the rotation lists both, and reads back.
    let served = PublisherKeySet::from_jwks(both.to_jwks().to_string().as_bytes()).unwrap();
    assert_eq!(served.keys(), both.keys());
    assert_eq!(served.verify(old.kid(), v1, &sig1), Ok(()));

    // Merging a set that already holds a key keeps it once.
    let again = both.clone().merge(set_of(&[&new])).unwrap();
    assert_eq!(again.keys(), both.keys());
}

#[test]
fn a_key_listed_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in(dir.path());
    let err = PublisherKeySet::new(vec![key.public(), key.public()]).unwrap_err();
    assert!(
        matches!(&err, KeyError::DuplicateKey { kid } if kid == key.kid()),
        "{err}"
    );
    assert!(err.to_string().contains(key.kid()), "{err}");
}

/// A JWKS with `bad` after one good key, so errors must name entry 1.
fn refusal(good: &PublisherPublicKey, bad: Value) -> String {
    let doc = json!({ "keys": [good.to_jwk(), bad] });
    let err = PublisherKeySet::from_jwks(doc.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, KeyError::InvalidKeySet { .. }), "{err}");
    err.to_string()
}

#[test]
fn jwks_entries_that_are_not_publichub_keys_are_refused_by_index_and_kid() {
    let dir = tempfile::tempdir().unwrap();
    let good = key_in(&dir.path().join("good")).public();
    let other = key_in(&dir.path().join("other")).public();
    let jwk = other.to_jwk();
    let with = |member: &str, value: Value| {
        let mut jwk = jwk.clone();
        jwk[member] = value;
        jwk
    };
    let without = |member: &str| {
        let mut jwk = jwk.clone();
        jwk.as_object_mut().unwrap().remove(member);
        jwk
    };
    let x = jwk["x"].as_str().unwrap();
    let short_x = URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(x).unwrap()[..31]);
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let named = format!("keys[1] (kid '{}')", other.kid());

    let cases = [
        (with("kty", json!("RSA")), named.clone(), "'kty' is 'RSA'"),
        (with("kty", json!("EC")), named.clone(), "'kty' is 'EC'"),
        (without("kty"), named.clone(), "'kty' is missing"),
        (
            with("crv", json!("X25519")),
            named.clone(),
            "'crv' is 'X25519'",
        ),
        (
            with("crv", json!("Ed448")),
            named.clone(),
            "'crv' is 'Ed448'",
        ),
        (without("crv"), named.clone(), "'crv' is missing"),
        (
            with("alg", json!("RS256")),
            named.clone(),
            "'alg' is 'RS256'",
        ),
        (with("use", json!("enc")), named.clone(), "'use' is 'enc'"),
        (with("x", json!(short_x)), named.clone(), "is 31"),
        (
            with("x", json!(format!("{x}="))),
            named.clone(),
            "'x' is not base64url",
        ),
        (without("x"), named.clone(), "'x' is missing"),
        (
            with("x", json!(URL_SAFE_NO_PAD.encode(identity))),
            named.clone(),
            "small-order",
        ),
        (
            with("d", json!(x)),
            named.clone(),
            "private key ('d' is present)",
        ),
        (
            with("kid", json!(7)),
            "keys[1]".to_owned(),
            "'kid' is not a string",
        ),
        (json!("OKP"), "keys[1]".to_owned(), "not a JSON object"),
        // Relabelled: another key's kid on this key, or a chosen name.
        (
            with("kid", json!(good.kid())),
            format!("keys[1] (kid '{}')", good.kid()),
            &format!("whose kid is '{}'", other.kid()),
        ),
        (
            with("kid", json!("publichub-2024")),
            "keys[1] (kid 'publichub-2024')".to_owned(),
            "cannot be chosen",
        ),
        // The first key again.
        (
            good.to_jwk(),
            format!("keys[1] (kid '{}')", good.kid()),
            "listed already as keys[0]",
        ),
    ];
    for (bad, name, expected) in cases {
        let message = refusal(&good, bad.clone());
        assert!(message.contains(&name), "{bad}: {message}");
        assert!(message.contains(expected), "{bad}: {message}");
    }

    // A duplicate written without kid is found too.
    let mut bare = good.to_jwk();
    bare.as_object_mut().unwrap().remove("kid");
    let message = refusal(&good, bare);
    assert!(message.contains("keys[1]: the key"), "{message}");
    assert!(message.contains("listed already as keys[0]"), "{message}");

    // The document itself.
    for (doc, expected) in [
        (b"{".as_slice(), "not a JSON document"),
        (br#"{"nokeys": []}"#.as_slice(), "no 'keys' array"),
        (br#"{"keys": {}}"#.as_slice(), "no 'keys' array"),
        (br#"{"keys": []}"#.as_slice(), "at least one key"),
    ] {
        let err = PublisherKeySet::from_jwks(doc).unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn key_files_that_are_not_keys_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let a = key_in(&dir.path().join("a"));
    let b = key_in(&dir.path().join("b"));
    let two = format!("{}{}", a.public().to_spki_pem(), b.public().to_spki_pem());
    let relabelled = json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "x": a.public().to_jwk()["x"], "kid": b.kid() }] })
    .to_string();
    let cases: [(&str, &[u8], &str); 5] = [
        ("empty.pem", b"", "no PEM block"),
        ("text.pem", b"hello", "expected a JWKS document"),
        ("two.pem", two.as_bytes(), "2 PEM blocks"),
        (
            "cert.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "unsupported PEM block 'CERTIFICATE'",
        ),
        ("relabelled.json", relabelled.as_bytes(), "keys[0]"),
    ];
    for (name, contents, expected) in cases {
        let path = write(dir.path(), name, contents);
        let err = PublisherKeySet::from_file(&path).unwrap_err();
        assert!(invalid_reason(&err).contains(expected), "{name}: {err}");
        assert!(err.to_string().contains(path_str(&path)), "{name}: {err}");
    }
    // Text around the one block is fine (a comment, as openssl allows).
    let commented = write(
        dir.path(),
        "commented.pem",
        format!("# the PublicHub key\n{}", a.public().to_spki_pem()),
    );
    assert_eq!(
        PublisherKeySet::from_file(&commented).unwrap().keys(),
        [a.public()]
    );
    let err = PublisherKeySet::from_file(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, KeyError::Read { .. }), "{err}");
}

#[test]
fn debug_output_carries_no_private_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_in(dir.path());
    let pem = fs::read_to_string(dir.path().join(PUBLICHUB_KEY_FILE)).unwrap();
    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    // PKCS#8 v1 for Ed25519: the 32-byte seed follows a 16-byte header.
    let seed = &der[16..48];
    let debug = format!("{key:?}");
    assert!(debug.contains(key.kid()), "{debug}");
    for secret in [
        hex::encode(seed),
        URL_SAFE_NO_PAD.encode(seed),
        format!("{seed:?}"),
        format!("{:?}", &seed[..4]),
    ] {
        assert!(!debug.contains(&secret), "{debug}");
    }
}
