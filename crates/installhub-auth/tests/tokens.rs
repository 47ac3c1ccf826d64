//! The token cases of SECURITY.md 16–19 and SPEC §2, against a verifier
//! built through the public API from real keys: an RSA key the verifier
//! trusts (A), an RSA key it does not (B, the attacker's), and an Ed25519
//! key it trusts.

#[path = "support/test_keys.rs"]
mod test_keys;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use installhub_auth::{AuthError, KeySet, Verifier, VerifierConfig};
use installhub_domain::{Caller, Scope, TenantAccess, TenantId};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::RsaPrivateKey;
use rsa::pkcs1::{EncodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use test_keys::b64url;

const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "installhub";

struct Trusted {
    verifier: Verifier,
    kid_a: String,
    kid_b: String,
    kid_ed: String,
}

/// The verifier trusts A and the Ed25519 key; `kid_b` is what B's kid would
/// be, for tokens that name the attacker's key.
fn trusted() -> &'static Trusted {
    static TRUSTED: OnceLock<Trusted> = OnceLock::new();
    TRUSTED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let a = load_pem(dir.path(), "a.pem", &spki_pem(test_keys::rsa_a()));
        let b = load_pem(dir.path(), "b.pem", &spki_pem(test_keys::rsa_b()));
        let ed = load_pem(dir.path(), "ed.pem", &test_keys::ed25519_public_pem(0));
        let (kid_a, kid_b, kid_ed) = (
            a.kids()[0].to_owned(),
            b.kids()[0].to_owned(),
            ed.kids()[0].to_owned(),
        );
        let verifier = Verifier::new(a.merge(ed), VerifierConfig::new(ISSUER, AUDIENCE)).unwrap();
        Trusted {
            verifier,
            kid_a,
            kid_b,
            kid_ed,
        }
    })
}

fn verify(token: &str) -> Result<Caller, AuthError> {
    trusted().verifier.verify(token)
}

fn spki_pem(key: &RsaPrivateKey) -> String {
    key.to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap()
}

fn load_pem(dir: &Path, name: &str, pem: &str) -> KeySet {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    KeySet::from_pem_file(&path).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The SPEC §2 example claims, valid for ten minutes.
fn claims() -> Value {
    json!({
        "sub": "user-42",
        "email": "engineer@company.com",
        "tenants": ["tenant-7f3a9b12"],
        "scope": "installhub:export installhub:import",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now(),
        "exp": now() + 600,
    })
}

fn with(mut claims: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn rsa_key(key: &RsaPrivateKey) -> EncodingKey {
    EncodingKey::from_rsa_der(key.to_pkcs1_der().unwrap().as_bytes())
}

fn header(alg: Algorithm, kid: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    header
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// Signed RS256 by the trusted key A, with A's kid.
fn token_a(claims: &Value) -> String {
    sign(
        &header(Algorithm::RS256, Some(&trusted().kid_a)),
        claims,
        &rsa_key(test_keys::rsa_a()),
    )
}

/// A token assembled by hand, for headers jsonwebtoken cannot produce.
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(signature)
    )
}

fn tenants(ids: &[&str]) -> TenantAccess {
    TenantAccess::Some(ids.iter().map(|id| TenantId::parse(id).unwrap()).collect())
}

// --- accepted tokens -------------------------------------------------------

#[test]
fn valid_rs256_token_gives_the_caller() {
    let caller = verify(&token_a(&claims())).unwrap();
    assert_eq!(
        caller,
        Caller {
            subject: "user-42".into(),
            identity: "engineer@company.com".into(),
            tenants: tenants(&["tenant-7f3a9b12"]),
            scopes: [Scope::Export, Scope::Import].into(),
        }
    );
}

#[test]
fn valid_eddsa_token_with_and_without_kid() {
    let key = EncodingKey::from_ed_der(&test_keys::ed25519_pkcs8_der(0));
    let with_kid = sign(
        &header(Algorithm::EdDSA, Some(&trusted().kid_ed)),
        &claims(),
        &key,
    );
    assert_eq!(verify(&with_kid).unwrap().subject, "user-42");
    let without_kid = sign(&header(Algorithm::EdDSA, None), &claims(), &key);
    assert_eq!(verify(&without_kid).unwrap().subject, "user-42");
}

#[test]
fn token_without_kid_is_tried_against_every_key() {
    // A verifier whose first key is not the signer's.
    let dir = tempfile::tempdir().unwrap();
    let keys = load_pem(dir.path(), "b.pem", &spki_pem(test_keys::rsa_b())).merge(load_pem(
        dir.path(),
        "a.pem",
        &spki_pem(test_keys::rsa_a()),
    ));
    let verifier = Verifier::new(keys, VerifierConfig::new(ISSUER, AUDIENCE)).unwrap();
    let token = sign(
        &header(Algorithm::RS256, None),
        &claims(),
        &rsa_key(test_keys::rsa_a()),
    );
    assert_eq!(verifier.verify(&token).unwrap().subject, "user-42");
    let token = sign(
        &header(Algorithm::RS256, None),
        &claims(),
        &rsa_key(test_keys::rsa_b()),
    );
    assert_eq!(verifier.verify(&token).unwrap().subject, "user-42");
}

#[test]
fn jwks_loaded_keys_verify_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, trusted().verifier.keys().to_jwks_json().to_string()).unwrap();
    let keys = KeySet::from_jwks_file(&path).unwrap();
    let verifier = Verifier::new(keys, VerifierConfig::new(ISSUER, AUDIENCE)).unwrap();
    assert_eq!(
        verifier.verify(&token_a(&claims())).unwrap().subject,
        "user-42"
    );
}

#[test]
fn pkcs1_loaded_key_verifies_tokens_with_the_same_kid() {
    let dir = tempfile::tempdir().unwrap();
    let pem = test_keys::rsa_a()
        .to_public_key()
        .to_pkcs1_pem(LineEnding::LF)
        .unwrap();
    let keys = load_pem(dir.path(), "a-pkcs1.pem", &pem);
    assert_eq!(keys.kids(), [trusted().kid_a.as_str()]);
    let verifier = Verifier::new(keys, VerifierConfig::new(ISSUER, AUDIENCE)).unwrap();
    assert!(verifier.verify(&token_a(&claims())).is_ok());
}

// --- SECURITY.md 16: the algorithm allowlist --------------------------------

#[test]
fn alg_none_is_refused() {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({ "alg": alg, "typ": "JWT", "kid": trusted().kid_a });
        for signature in [&b""[..], b"anything"] {
            let token = raw_token(&header, &claims(), signature);
            assert_eq!(
                verify(&token),
                Err(AuthError::UnsupportedAlgorithm { alg: alg.into() })
            );
        }
        // And with no signature part at all, as some libraries emit it.
        let header = json!({ "alg": alg });
        let token = format!(
            "{}.{}.",
            b64url(header.to_string().as_bytes()),
            b64url(claims().to_string().as_bytes())
        );
        assert!(matches!(
            verify(&token),
            Err(AuthError::UnsupportedAlgorithm { .. })
        ));
    }
}

#[test]
fn hmac_signed_with_the_rsa_public_key_is_refused() {
    let public = test_keys::rsa_a().to_public_key();
    let secrets: [Vec<u8>; 4] = [
        spki_pem(test_keys::rsa_a()).into_bytes(),
        public.to_pkcs1_pem(LineEnding::LF).unwrap().into_bytes(),
        public.to_public_key_der().unwrap().into_vec(),
        public.to_pkcs1_der().unwrap().into_vec(),
    ];
    for secret in &secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            for kid in [Some(trusted().kid_a.as_str()), None] {
                let token = sign(
                    &header(alg, kid),
                    &claims(),
                    &EncodingKey::from_secret(secret),
                );
                assert_eq!(
                    verify(&token),
                    Err(AuthError::UnsupportedAlgorithm {
                        alg: format!("{alg:?}")
                    })
                );
            }
        }
    }
    let token = sign(
        &header(Algorithm::HS256, None),
        &claims(),
        &EncodingKey::from_secret(&secrets[0]),
    );
    assert_eq!(
        verify(&token).unwrap_err().to_string(),
        "Unsupported token algorithm 'HS256': only RS256 and EdDSA are accepted."
    );
}

#[test]
fn other_rsa_algorithms_are_refused_even_with_a_good_signature() {
    for alg in [
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS512,
    ] {
        let token = sign(
            &header(alg, Some(&trusted().kid_a)),
            &claims(),
            &rsa_key(test_keys::rsa_a()),
        );
        assert_eq!(
            verify(&token),
            Err(AuthError::UnsupportedAlgorithm {
                alg: format!("{alg:?}")
            })
        );
    }
}

#[test]
fn a_key_verifies_only_its_own_algorithm() {
    // EdDSA naming the RSA key, and RS256 naming the Ed25519 key.
    let ed = EncodingKey::from_ed_der(&test_keys::ed25519_pkcs8_der(0));
    let token = sign(
        &header(Algorithm::EdDSA, Some(&trusted().kid_a)),
        &claims(),
        &ed,
    );
    assert_eq!(
        verify(&token),
        Err(AuthError::KeyAlgorithmMismatch {
            alg: "EdDSA".into()
        })
    );
    let token = sign(
        &header(Algorithm::RS256, Some(&trusted().kid_ed)),
        &claims(),
        &rsa_key(test_keys::rsa_a()),
    );
    assert_eq!(
        verify(&token),
        Err(AuthError::KeyAlgorithmMismatch {
            alg: "RS256".into()
        })
    );
}

// --- SECURITY.md 17: required claims ----------------------------------------

#[test]
fn missing_exp_aud_iss_or_sub_is_refused() {
    for claim in ["exp", "aud", "iss", "sub"] {
        let token = token_a(&with(claims(), json!({ claim: null })));
        assert_eq!(
            verify(&token),
            Err(AuthError::MissingClaim {
                claim: claim.into()
            }),
            "{claim}"
        );
    }
    // jsonwebtoken skips the audience check when `aud` is absent; this is
    // the case that `required_spec_claims` closes.
    let no_aud = token_a(&with(claims(), json!({ "aud": null })));
    assert_eq!(
        verify(&no_aud).unwrap_err().to_string(),
        "The token is missing the required 'aud' claim."
    );
}

#[test]
fn registered_claims_of_the_wrong_type_are_refused() {
    // jsonwebtoken reads a claim of the wrong type as absent; the token is
    // told what is wrong with it instead.
    for (claim, value) in [
        ("exp", json!("tomorrow")),
        ("exp", json!([now() + 600])),
        ("nbf", json!(null)),
        ("aud", json!(42)),
        ("aud", json!([AUDIENCE, 42])),
        ("aud", json!(null)),
        ("iss", json!({ "url": ISSUER })),
        ("iss", json!(null)),
        ("sub", json!(42)),
        ("sub", json!(["user-42"])),
    ] {
        // Set directly: `with` takes null as "remove".
        let mut claims = claims();
        claims[claim] = value.clone();
        let token = token_a(&claims);
        assert!(
            matches!(
                verify(&token),
                Err(AuthError::InvalidClaim { claim: ref got, .. }) if got == claim
            ),
            "{claim}: {value}: {:?}",
            verify(&token)
        );
    }
}

/// SECURITY.md 33: `iss` is one string (RFC 7519 §4.1.1); jsonwebtoken also
/// takes an array and accepts it when any member matches.
#[test]
fn issuer_must_be_a_string_not_an_array() {
    for iss in [
        json!([ISSUER]),
        json!([ISSUER, "https://evil.example.com"]),
        json!([]),
    ] {
        let token = token_a(&with(claims(), json!({ "iss": iss })));
        assert_eq!(
            verify(&token),
            Err(AuthError::InvalidClaim {
                claim: "iss".into(),
                reason: "it is not a string".into()
            }),
            "{iss}"
        );
    }
}

/// Signs a payload given as raw JSON text with the trusted key A, so that it
/// can say things a `serde_json::Value` cannot hold (a repeated key).
fn token_a_raw(payload: &str) -> String {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": trusted().kid_a });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(payload.as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &rsa_key(test_keys::rsa_a()),
        Algorithm::RS256,
    )
    .unwrap();
    format!("{signing_input}.{signature}")
}

/// The claims of `claims()` as JSON text without the closing brace, to
/// append repeated members to.
fn open_claims(drop: &[&str]) -> String {
    let mut base = claims();
    for key in drop {
        base.as_object_mut().unwrap().remove(*key);
    }
    let text = base.to_string();
    text[..text.len() - 1].to_owned()
}

/// SECURITY.md 33: a parser that keeps the last of repeated members lets
/// `"tenants": ["*"]` ride behind an innocent one.
#[test]
fn a_repeated_claim_is_refused() {
    let base = open_claims(&["tenants"]);
    let smuggled = format!(r#"{base},"tenants":["tenant-a"],"tenants":["*"]}}"#);
    assert_eq!(
        verify(&token_a_raw(&smuggled)),
        Err(AuthError::RepeatedClaim {
            claim: "tenants".into()
        })
    );
    assert_eq!(
        verify(&token_a_raw(&smuggled)).unwrap_err().to_string(),
        "The token's payload names 'tenants' more than once."
    );
    // The same payload without the repeat is accepted: the signing is right.
    let single = format!(r#"{base},"tenants":["tenant-a"]}}"#);
    assert_eq!(
        verify(&token_a_raw(&single)).unwrap().tenants,
        tenants(&["tenant-a"])
    );

    // Any claim, read by us, by jsonwebtoken, or by no one; equal values too.
    let (iss, aud, exp) = (
        format!("{ISSUER:?}"),
        format!("{AUDIENCE:?}"),
        (now() + 600).to_string(),
    );
    for (claim, first, second) in [
        ("scope", r#""installhub:export""#, r#""installhub:admin""#),
        ("sub", r#""user-42""#, r#""admin""#),
        ("iss", iss.as_str(), iss.as_str()),
        ("aud", r#""other""#, aud.as_str()),
        ("exp", "1", exp.as_str()),
        ("email", r#""a@b.c""#, r#""a@b.c""#),
        ("unknown", "1", "2"),
    ] {
        let base = open_claims(&[claim]);
        let payload = format!(r#"{base},"{claim}":{first},"{claim}":{second}}}"#);
        assert_eq!(
            verify(&token_a_raw(&payload)),
            Err(AuthError::RepeatedClaim {
                claim: claim.into()
            }),
            "{payload}"
        );
    }

    // At any depth.
    let nested = format!(r#"{base},"ext":{{"roles":[{{"r":1,"r":2}}]}}}}"#);
    assert_eq!(
        verify(&token_a_raw(&nested)),
        Err(AuthError::RepeatedClaim { claim: "r".into() })
    );
    // Escapes do not hide a repeat: "\u0074enants" is "tenants".
    let escaped = format!(r#"{base},"tenants":["tenant-a"],"\u0074enants":["*"]}}"#);
    assert_eq!(
        verify(&token_a_raw(&escaped)),
        Err(AuthError::RepeatedClaim {
            claim: "tenants".into()
        })
    );
}

/// A repeat is only reported once the signature holds: a payload nobody
/// trusted signed learns nothing more than `BadSignature`.
#[test]
fn a_repeated_claim_under_a_bad_signature_is_a_bad_signature() {
    let base = open_claims(&["tenants"]);
    let smuggled = format!(r#"{base},"tenants":["tenant-a"],"tenants":["*"]}}"#);
    let token = token_a_raw(&smuggled);
    let parts: Vec<&str> = token.split('.').collect();
    let other = token_a(&claims());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        other.rsplit('.').next().unwrap()
    );
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));
}

#[test]
fn a_repeated_header_parameter_is_refused() {
    let header = format!(
        r#"{{"alg":"RS256","kid":"{}","alg":"RS256"}}"#,
        trusted().kid_a
    );
    let signing_input = format!(
        "{}.{}",
        b64url(header.as_bytes()),
        b64url(claims().to_string().as_bytes())
    );
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &rsa_key(test_keys::rsa_a()),
        Algorithm::RS256,
    )
    .unwrap();
    assert_eq!(
        verify(&format!("{signing_input}.{signature}")),
        Err(AuthError::Malformed)
    );
}

#[test]
fn wrong_issuer_is_refused() {
    for iss in ["https://evil.example.com", "", "https://idp.example.com/"] {
        let token = token_a(&with(claims(), json!({ "iss": iss })));
        assert_eq!(verify(&token), Err(AuthError::WrongIssuer), "{iss}");
    }
}

#[test]
fn audience_may_be_a_string_or_an_array_containing_ours() {
    let token = token_a(&with(claims(), json!({ "aud": ["other", AUDIENCE] })));
    assert!(verify(&token).is_ok());
    for aud in [
        json!("other"),
        json!(["other", "another"]),
        json!("INSTALLHUB"),
        json!([]),
    ] {
        let token = token_a(&with(claims(), json!({ "aud": aud })));
        assert_eq!(verify(&token), Err(AuthError::WrongAudience), "{aud}");
    }
}

// --- SECURITY.md 18: time ---------------------------------------------------

#[test]
fn expired_beyond_the_leeway_is_refused() {
    let token = token_a(&with(
        claims(),
        json!({ "iat": now() - 3600, "exp": now() - 120 }),
    ));
    assert_eq!(verify(&token), Err(AuthError::Expired));
    assert_eq!(
        verify(&token).unwrap_err().to_string(),
        "The token has expired."
    );
}

#[test]
fn expired_within_the_leeway_is_accepted() {
    let token = token_a(&with(claims(), json!({ "exp": now() - 10 })));
    assert!(verify(&token).is_ok());
}

#[test]
fn a_smaller_leeway_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let keys = load_pem(dir.path(), "a.pem", &spki_pem(test_keys::rsa_a()));
    let config = VerifierConfig {
        leeway_secs: 0,
        ..VerifierConfig::new(ISSUER, AUDIENCE)
    };
    let strict = Verifier::new(keys, config).unwrap();
    let token = token_a(&with(claims(), json!({ "exp": now() - 10 })));
    assert_eq!(strict.verify(&token), Err(AuthError::Expired));
}

#[test]
fn nbf_in_the_future_is_refused() {
    let token = token_a(&with(claims(), json!({ "nbf": now() + 120 })));
    assert_eq!(verify(&token), Err(AuthError::NotYetValid));
    // Within the leeway, or in the past: fine.
    for nbf in [now() + 10, now() - 60] {
        let token = token_a(&with(claims(), json!({ "nbf": nbf })));
        assert!(verify(&token).is_ok(), "{nbf}");
    }
    let token = token_a(&with(claims(), json!({ "nbf": "soon" })));
    assert!(matches!(
        verify(&token),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "nbf"
    ));
}

// --- signatures and keys (SECURITY.md 19) -----------------------------------

#[test]
fn signature_by_a_different_key_is_refused() {
    let b = rsa_key(test_keys::rsa_b());
    // Claiming to be A's key, or naming no key.
    for kid in [Some(trusted().kid_a.as_str()), None] {
        let token = sign(&header(Algorithm::RS256, kid), &claims(), &b);
        assert_eq!(verify(&token), Err(AuthError::BadSignature));
    }
    let other_ed = EncodingKey::from_ed_der(&test_keys::ed25519_pkcs8_der(1));
    for kid in [Some(trusted().kid_ed.as_str()), None] {
        let token = sign(&header(Algorithm::EdDSA, kid), &claims(), &other_ed);
        assert_eq!(verify(&token), Err(AuthError::BadSignature));
    }
    assert_eq!(
        AuthError::BadSignature.to_string(),
        "The token's signature does not verify against any configured key."
    );
}

#[test]
fn unknown_kid_is_refused_and_matched_exactly() {
    let b = rsa_key(test_keys::rsa_b());
    let token = sign(
        &header(Algorithm::RS256, Some(&trusted().kid_b)),
        &claims(),
        &b,
    );
    assert_eq!(
        verify(&token),
        Err(AuthError::UnknownKeyId {
            kid: trusted().kid_b.clone()
        })
    );
    // Near misses of a trusted kid, signed by the trusted key itself.
    let a = &trusted().kid_a;
    for kid in [
        a.to_uppercase(),
        a.to_lowercase(),
        format!("{a} "),
        format!(" {a}"),
        a[..a.len() - 1].to_owned(),
        format!("{a}x"),
        String::new(),
    ] {
        if kid == *a {
            continue;
        }
        let token = sign(
            &header(Algorithm::RS256, Some(&kid)),
            &claims(),
            &rsa_key(test_keys::rsa_a()),
        );
        assert!(
            matches!(verify(&token), Err(AuthError::UnknownKeyId { .. })),
            "{kid:?}"
        );
    }
}

#[test]
fn tampered_tokens_are_refused() {
    let token = token_a(&claims());
    let parts: Vec<&str> = token.split('.').collect();

    // Payload widened to every tenant, signature kept.
    let widened = with(
        claims(),
        json!({ "tenants": ["*"], "scope": "installhub:admin" }),
    );
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64url(widened.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));

    // Header changed (the signature covers it too).
    let other_header = json!({ "alg": "RS256", "typ": "JWT", "kid": trusted().kid_a, "cty": "x" });
    let forged = format!(
        "{}.{}.{}",
        b64url(other_header.to_string().as_bytes()),
        parts[1],
        parts[2]
    );
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));

    // Signature flipped in its last byte, or taken from another token.
    let mut signature = parts[2].as_bytes().to_vec();
    let last = signature.len() - 2;
    signature[last] = if signature[last] == b'A' { b'B' } else { b'A' };
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        parts[1],
        String::from_utf8(signature).unwrap()
    );
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));
    let other = token_a(&with(claims(), json!({ "sub": "user-43" })));
    let other_signature = other.rsplit('.').next().unwrap();
    let forged = format!("{}.{}.{}", parts[0], parts[1], other_signature);
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));

    // Signature removed.
    let forged = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));

    // A payload that is not even base64: the signature, computed over the
    // segments as sent, fails first.
    let forged = format!("{}.%%%.{}", parts[0], parts[2]);
    assert_eq!(verify(&forged), Err(AuthError::BadSignature));
}

#[test]
fn garbage_is_refused_as_malformed() {
    let good = token_a(&claims());
    let [h, p, s]: [&str; 3] = good.split('.').collect::<Vec<_>>().try_into().unwrap();
    let not_json = b64url(b"not json");
    let array = b64url(b"[\"RS256\"]");
    let no_alg = b64url(br#"{"typ":"JWT"}"#);
    let numeric_alg = b64url(br#"{"alg":256}"#);
    let numeric_kid = b64url(br#"{"alg":"RS256","kid":7}"#);
    let cases = [
        String::new(),
        "garbage".to_owned(),
        "a.b".to_owned(),
        "a.b.c".to_owned(),
        "..".to_owned(),
        "...".to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.{s}.{s}"),
        format!("Bearer {good}"),
        format!(" {good}"),
        format!("{good}\n"),
        format!("{not_json}.{p}.{s}"),
        format!("{array}.{p}.{s}"),
        format!("{no_alg}.{p}.{s}"),
        format!("{numeric_alg}.{p}.{s}"),
        format!("{numeric_kid}.{p}.{s}"),
        format!("{h}.{p}.%%%"),
        format!("{h}=.{p}.{s}"),
        format!("{}.{p}.{s}", "A".repeat(20_000)),
    ];
    for token in cases {
        assert_eq!(verify(&token), Err(AuthError::Malformed), "{token:.80}");
    }
    // Validly signed, but the payload is not a JSON object.
    let token = sign(
        &header(Algorithm::RS256, Some(&trusted().kid_a)),
        &json!(["not", "claims"]),
        &rsa_key(test_keys::rsa_a()),
    );
    assert_eq!(verify(&token), Err(AuthError::Malformed));
}

#[test]
fn jku_and_x5u_are_never_fetched() {
    use std::net::TcpListener;
    // Something to fetch from, on loopback: if the verifier ever followed
    // the headers, this listener would see the connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());

    let attacker = rsa_key(test_keys::rsa_b());
    for kid in [
        None,
        Some(trusted().kid_b.as_str()),
        Some(trusted().kid_a.as_str()),
    ] {
        let mut h = header(Algorithm::RS256, kid);
        h.jku = Some(url.clone());
        h.x5u = Some(url.clone());
        let token = sign(&h, &claims(), &attacker);
        let result = verify(&token);
        assert!(
            matches!(
                result,
                Err(AuthError::BadSignature | AuthError::UnknownKeyId { .. })
            ),
            "{kid:?}: {result:?}"
        );
    }
    // A good token that merely carries the headers is judged on our keys alone.
    let mut h = header(Algorithm::RS256, Some(&trusted().kid_a));
    h.jku = Some(url.clone());
    h.x5u = Some(url);
    assert!(verify(&sign(&h, &claims(), &rsa_key(test_keys::rsa_a()))).is_ok());

    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the verifier connected to the jku/x5u URL: {other:?}"),
    }
}

#[test]
fn an_embedded_jwk_is_not_trusted() {
    // CVE-2018-0114 style: the token carries its own (attacker's) key.
    let attacker = rsa_key(test_keys::rsa_b());
    let mut h = header(Algorithm::RS256, None);
    h.jwk = Some(Jwk::from_encoding_key(&attacker, Algorithm::RS256).unwrap());
    let token = sign(&h, &claims(), &attacker);
    assert_eq!(verify(&token), Err(AuthError::BadSignature));
}

#[test]
fn critical_headers_are_refused() {
    let mut h = header(Algorithm::RS256, Some(&trusted().kid_a));
    h.crit = Some(vec!["exp".into()]);
    let token = sign(&h, &claims(), &rsa_key(test_keys::rsa_a()));
    assert_eq!(verify(&token), Err(AuthError::CriticalHeader));
}

// --- SPEC §2 claims ---------------------------------------------------------

#[test]
fn star_means_every_tenant() {
    for list in [json!(["*"]), json!(["tenant-a", "*"])] {
        let token = token_a(&with(claims(), json!({ "tenants": list })));
        assert_eq!(verify(&token).unwrap().tenants, TenantAccess::All);
    }
}

#[test]
fn tenants_list_and_absence() {
    let token = token_a(&with(
        claims(),
        json!({ "tenants": ["tenant-a", "tenant-b", "tenant-a"] }),
    ));
    assert_eq!(
        verify(&token).unwrap().tenants,
        tenants(&["tenant-a", "tenant-b"])
    );
    for list in [json!([]), Value::Null] {
        let token = token_a(&with(claims(), json!({ "tenants": list })));
        assert_eq!(verify(&token).unwrap().tenants, tenants(&[]));
    }
}

#[test]
fn an_invalid_tenant_id_invalidates_the_token() {
    for (list, shown) in [
        (json!(["tenant-a", "Tenant_B"]), "Tenant_B"),
        (json!(["*", "ab"]), "ab"),
        (json!([""]), ""),
        (json!([42]), "42"),
        (json!(["tenant-a\n"]), "tenant-a\\n"),
    ] {
        let token = token_a(&with(claims(), json!({ "tenants": list })));
        assert_eq!(
            verify(&token),
            Err(AuthError::InvalidTenant {
                value: shown.into()
            }),
            "{list}"
        );
    }
    let token = token_a(&with(claims(), json!({ "tenants": ["Tenant_B"] })));
    assert_eq!(
        verify(&token).unwrap_err().to_string(),
        "The token's 'tenants' claim holds 'Tenant_B', which is not a valid tenant id."
    );
    let token = token_a(&with(claims(), json!({ "tenants": "tenant-a" })));
    assert!(matches!(
        verify(&token),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "tenants"
    ));
}

#[test]
fn unknown_scopes_are_ignored() {
    let token = token_a(&with(
        claims(),
        json!({ "scope": "  openid installhub:export  profile installhub:launch-rockets marketplace:install " }),
    ));
    assert_eq!(
        verify(&token).unwrap().scopes,
        BTreeSet::from([Scope::Export, Scope::MarketplaceInstall])
    );
    let token = token_a(&with(claims(), json!({ "scope": null })));
    assert!(verify(&token).unwrap().scopes.is_empty());
    let token = token_a(&with(claims(), json!({ "scope": ["installhub:export"] })));
    assert!(matches!(
        verify(&token),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "scope"
    ));
}

#[test]
fn identity_is_email_else_sub() {
    for email in [Value::Null, json!("")] {
        let token = token_a(&with(claims(), json!({ "email": email })));
        let caller = verify(&token).unwrap();
        assert_eq!(
            (caller.subject.as_str(), caller.identity.as_str()),
            ("user-42", "user-42")
        );
    }
    let token = token_a(&with(claims(), json!({ "email": ["a@b.c"] })));
    assert!(matches!(
        verify(&token),
        Err(AuthError::InvalidClaim { claim, .. }) if claim == "email"
    ));
}

#[test]
fn subject_must_be_a_printable_non_empty_string() {
    for sub in ["", "user\u{0}42", "user\n42"] {
        let token = token_a(&with(claims(), json!({ "sub": sub })));
        assert!(
            matches!(verify(&token), Err(AuthError::InvalidClaim { ref claim, .. }) if claim == "sub"),
            "{sub:?}"
        );
    }
    let token = token_a(&with(claims(), json!({ "sub": "x".repeat(300) })));
    assert!(matches!(
        verify(&token),
        Err(AuthError::InvalidClaim { .. })
    ));
}

// --- the cache of verified tokens ------------------------------------------

/// A verifier of its own (not the shared one), trusting A and the Ed25519
/// key, with no leeway so that `exp` is the last second a token is good.
fn fresh_verifier(keys: &[&str]) -> Verifier {
    let dir = tempfile::tempdir().unwrap();
    let mut set = KeySet::new();
    for key in keys {
        let pem = match *key {
            "a" => spki_pem(test_keys::rsa_a()),
            "b" => spki_pem(test_keys::rsa_b()),
            _ => test_keys::ed25519_public_pem(0),
        };
        set = set.merge(load_pem(dir.path(), &format!("{key}.pem"), &pem));
    }
    let config = VerifierConfig {
        leeway_secs: 0,
        ..VerifierConfig::new(ISSUER, AUDIENCE)
    };
    Verifier::new(set, config).unwrap()
}

fn token_ed(claims: &Value) -> String {
    sign(
        &header(Algorithm::EdDSA, Some(&trusted().kid_ed)),
        claims,
        &EncodingKey::from_ed_der(&test_keys::ed25519_pkcs8_der(0)),
    )
}

#[test]
fn a_cached_token_is_refused_once_expired() {
    let verifier = fresh_verifier(&["a", "ed"]);
    let exp = now() + 2;
    let token = token_a(&with(claims(), json!({ "exp": exp })));
    assert_eq!(verifier.verify(&token).unwrap().subject, "user-42");
    assert_eq!(verifier.cached_tokens().0, 1, "the token is kept");
    assert_eq!(verifier.verify(&token).unwrap().subject, "user-42");
    // Wait (no timing is asserted) until the clock is past `exp`.
    while now() <= exp {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(matches!(verifier.verify(&token), Err(AuthError::Expired)));
    assert_eq!(
        verifier.cached_tokens().0,
        0,
        "the expired entry is dropped"
    );
}

#[test]
fn a_token_signed_by_a_removed_key_is_refused_after_rotation() {
    // Before the rotation the server trusts A and B; A's token is verified
    // and kept. The rotation drops A: the server is restarted with B only,
    // which builds a new verifier from the new key set.
    let before = fresh_verifier(&["a", "b"]);
    let token = token_a(&claims());
    before.verify(&token).unwrap();
    assert_eq!(before.cached_tokens().0, 1);
    let clone = before.clone();
    assert_eq!(clone.cached_tokens().0, 1, "clones share keys and cache");

    let after = fresh_verifier(&["b"]);
    assert_eq!(after.cached_tokens().0, 0);
    assert!(matches!(
        after.verify(&token),
        Err(AuthError::UnknownKeyId { .. })
    ));
    // The same without a kid: no key of the new set verifies it.
    let unnamed = sign(
        &header(Algorithm::RS256, None),
        &claims(),
        &rsa_key(test_keys::rsa_a()),
    );
    before.verify(&unnamed).unwrap();
    assert!(matches!(
        after.verify(&unnamed),
        Err(AuthError::BadSignature)
    ));
}

#[test]
fn two_tokens_never_share_an_entry() {
    let verifier = fresh_verifier(&["a", "ed"]);
    let first = token_a(&with(
        claims(),
        json!({ "sub": "user-1", "tenants": ["tenant-one"], "scope": "installhub:export" }),
    ));
    let second = token_a(&with(
        claims(),
        json!({ "sub": "user-2", "tenants": ["tenant-two"], "scope": "installhub:import" }),
    ));
    for _ in 0..2 {
        let one = verifier.verify(&first).unwrap();
        let two = verifier.verify(&second).unwrap();
        assert_eq!(one.subject, "user-1");
        assert_eq!(one.tenants, tenants(&["tenant-one"]));
        assert_eq!(one.scopes, BTreeSet::from([Scope::Export]));
        assert_eq!(two.subject, "user-2");
        assert_eq!(two.tenants, tenants(&["tenant-two"]));
        assert_eq!(two.scopes, BTreeSet::from([Scope::Import]));
    }
    assert_eq!(verifier.cached_tokens().0, 2);

    // The first token's (cached) signature under the second's payload, and
    // the other way round: neither is served from the cache.
    let parts = |t: &str| -> Vec<String> { t.split('.').map(str::to_owned).collect() };
    let (p1, p2) = (parts(&first), parts(&second));
    for forged in [
        format!("{}.{}.{}", p1[0], p2[1], p1[2]),
        format!("{}.{}.{}", p2[0], p1[1], p2[2]),
    ] {
        assert!(matches!(
            verifier.verify(&forged),
            Err(AuthError::BadSignature)
        ));
    }
    // A token with one more byte is another token, and is refused.
    assert!(verifier.verify(&format!("{first}A")).is_err());
    assert_eq!(verifier.cached_tokens().0, 2, "failures are never kept");
}

#[test]
fn the_cache_stays_bounded() {
    let verifier = fresh_verifier(&["ed"]).with_cache_bytes(16 * 1024);
    let tokens: Vec<String> = (0..300)
        .map(|i| token_ed(&with(claims(), json!({ "sub": format!("user-{i}") }))))
        .collect();
    for (i, token) in tokens.iter().enumerate() {
        assert_eq!(verifier.verify(token).unwrap().subject, format!("user-{i}"));
        let (count, weight, capacity) = verifier.cached_tokens();
        assert!(weight <= capacity, "{weight} > {capacity}");
        assert!(count < 100, "{count} tokens kept in 16 KiB");
    }
    // Evicted tokens are simply verified again, each as itself.
    for (i, token) in tokens.iter().enumerate().rev() {
        assert_eq!(verifier.verify(token).unwrap().subject, format!("user-{i}"));
    }
    let none = fresh_verifier(&["ed"]).with_cache_bytes(0);
    none.verify(&tokens[0]).unwrap();
    assert_eq!(none.cached_tokens().0, 0);
}
