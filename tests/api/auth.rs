//! Bearer tokens (SPEC §2, SECURITY.md 16-19): every bad token is 401 with
//! the JSON envelope and `WWW-Authenticate: Bearer`.

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::common::*;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn expect_401(app: &TestApp, token: &str, why: &str) {
    let reply = app
        .get_as(token, &format!("/api/installhub/tenants/{SOURCE}"))
        .await;
    assert_eq!(
        reply.status,
        401,
        "{why}: {}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{why}");
    let body = reply.expect_error(401, "Unauthenticated");
    assert_eq!(body["error"], "Unauthenticated", "{why}");
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = TestApp::new().await;
    let reply = app.get(&format!("/api/installhub/tenants/{SOURCE}")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["tenantId"], SOURCE);
}

#[tokio::test]
async fn missing_or_malformed_headers() {
    let app = TestApp::new().await;
    let url = app.url(&format!("/api/installhub/tenants/{SOURCE}"));
    for header in [
        None,
        Some("Basic dXNlcjpwdw=="),
        Some("Bearer"),
        Some("Bearer not.a.jwt"),
        Some("Bearer "),
    ] {
        let mut request = app.http.get(&url);
        if let Some(h) = header {
            request = request.header("Authorization", h);
        }
        let reply = app.send(request).await;
        reply.expect_error(401, "Unauthenticated");
    }
}

#[tokio::test]
async fn every_bad_token_is_refused() {
    let app = TestApp::new().await;
    let now = chrono::Utc::now().timestamp();
    expect_401(
        &app,
        &Token::full().set("exp", json!(now - 3600)).mint(),
        "expired",
    )
    .await;
    expect_401(&app, &Token::full().without("exp").mint(), "no exp").await;
    expect_401(&app, &Token::full().without("aud").mint(), "no aud").await;
    expect_401(&app, &Token::full().without("iss").mint(), "no iss").await;
    expect_401(
        &app,
        &Token::full().set("aud", json!("someone-else")).mint(),
        "wrong aud",
    )
    .await;
    expect_401(
        &app,
        &Token::full()
            .set("iss", json!("https://evil.example"))
            .mint(),
        "wrong iss",
    )
    .await;
    expect_401(
        &app,
        &Token::full().set("nbf", json!(now + 3600)).mint(),
        "not yet valid",
    )
    .await;
    let mut unknown_kid = Token::full();
    unknown_kid.kid = Some("no-such-key".into());
    expect_401(&app, &unknown_kid.mint(), "unknown kid").await;

    // Signed by a different RSA key.
    let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pem =
        rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&other, rsa::pkcs8::LineEnding::LF).unwrap();
    let header = Header::new(Algorithm::RS256);
    let forged = jsonwebtoken::encode(
        &header,
        &Token::full().claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    expect_401(&app, &forged, "foreign signature").await;

    // alg: none.
    let claims = serde_json::to_vec(&Token::full().claims).unwrap();
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims)
    );
    expect_401(&app, &none, "alg none").await;

    // HS256 keyed with the server's RSA public key (algorithm confusion).
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &Token::full().claims,
        &EncodingKey::from_secret(keys().public_pem.as_bytes()),
    )
    .unwrap();
    expect_401(&app, &hs, "HS256 with the public key").await;

    // Tampered payload: a valid signature over other claims.
    let good = Token::full().mint();
    let parts: Vec<&str> = good.split('.').collect();
    let escalated = serde_json::to_vec(&Token::full().tenants(&["*"]).claims).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], b64(&escalated), parts[2]);
    expect_401(&app, &tampered, "tampered payload").await;

    // A jku header pointing elsewhere is never fetched: the token is judged
    // by the configured keys only.
    let mut header = Header::new(Algorithm::RS256);
    header.jku = Some("http://127.0.0.1:9/keys.json".into());
    let jku = jsonwebtoken::encode(
        &header,
        &Token::full().claims,
        &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap();
    expect_401(&app, &jku, "jku").await;
}

#[tokio::test]
async fn identity_is_email_else_sub() {
    let app = TestApp::new().await;
    let token = Token::full().without("email").sub("svc-deployer").mint();
    let reply = app
        .post_as(&token, "/api/installhub/packages/export", &seed_export())
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["manifest"]["exportedBy"], "svc-deployer");
}

/// Signs `payload`, given as raw JSON text, with the test key: a
/// `serde_json::Value` cannot hold a repeated member.
fn mint_raw(payload: &str) -> String {
    let header = b64(json!({ "alg": "RS256", "typ": "JWT" })
        .to_string()
        .as_bytes());
    let signing_input = format!("{header}.{}", b64(payload.as_bytes()));
    let key = EncodingKey::from_rsa_pem(keys().private_pem.as_bytes()).unwrap();
    let signature =
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::RS256).unwrap();
    format!("{signing_input}.{signature}")
}

/// SECURITY.md 33: `"tenants"` twice, an innocent list then `["*"]`, must
/// not reach every tenant; neither does an `iss` array holding our issuer.
#[tokio::test]
async fn a_token_repeating_a_claim_is_refused() {
    let app = TestApp::new().await;
    let mut claims = Token::full().claims;
    claims.remove("tenants");
    let open = serde_json::Value::Object(claims.clone()).to_string();
    let open = &open[..open.len() - 1];
    let source = format!("/api/installhub/tenants/{SOURCE}");

    // The same payload with the list once reaches TARGET only: the raw
    // signing is sound.
    let once = mint_raw(&format!(r#"{open},"tenants":["{TARGET}"]}}"#));
    assert_eq!(
        app.get_as(&once, &format!("/api/installhub/tenants/{TARGET}"))
            .await
            .status,
        200
    );
    app.get_as(&once, &source)
        .await
        .expect_error(403, "TenantAccessDenied");

    let twice = mint_raw(&format!(
        r#"{open},"tenants":["{TARGET}"],"tenants":["*"]}}"#
    ));
    expect_401(&app, &twice, "tenants repeated").await;
    let reply = app.get_as(&twice, &source).await;
    let body = reply.expect_error(401, "Unauthenticated");
    assert_eq!(
        body["message"], "The token's payload names 'tenants' more than once.",
        "{body:#}"
    );
    // Nor can it write there.
    let reply = app
        .send(
            app.http
                .put(app.url(&source))
                .bearer_auth(&twice)
                .json(&json!({ "name": "Taken", "plan": "Enterprise", "status": "Suspended" })),
        )
        .await;
    reply.expect_error(401, "Unauthenticated");
    assert_eq!(app.get(&source).await.json()["status"], "Active");

    let iss_array = Token::full().set("iss", json!([ISSUER])).mint();
    expect_401(&app, &iss_array, "iss as an array").await;
}
