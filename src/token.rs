//! `installhub token`: mint a bearer token with the key pair the server
//! keeps in its data directory. For local use; production deployments
//! configure only public keys and use their identity provider.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use installhub_auth::{LocalKeyPair, MintRequest};
use installhub_domain::Scope;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The server's data directory (its key pair is in `keys/`).
    #[arg(long, env = "INSTALLHUB_DATA_DIR", default_value = "./installhub-data")]
    data_dir: PathBuf,
    /// The token's subject.
    #[arg(long, default_value = "local-user")]
    sub: String,
    /// The identity recorded as exportedBy / installedBy.
    #[arg(long)]
    email: Option<String>,
    /// A tenant the token may act on; repeatable; `*` for every tenant.
    #[arg(long = "tenant", required = true)]
    tenants: Vec<String>,
    /// A permission scope; repeatable. Default: every scope.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    ttl: u64,
    /// Issuer, as the server expects it.
    #[arg(long, env = "INSTALLHUB_JWT_ISSUER", default_value = installhub_auth::LOCAL_ISSUER)]
    issuer: String,
    /// Audience, as the server expects it.
    #[arg(long, env = "INSTALLHUB_JWT_AUDIENCE", default_value = installhub_auth::DEFAULT_AUDIENCE)]
    audience: String,
    /// Print `{"token": …}` instead of the bare token.
    #[arg(long)]
    json: bool,
}

fn all_scopes() -> Vec<String> {
    Scope::ALL.iter().map(|s| s.as_str().to_owned()).collect()
}

/// The token `serve --demo` prints: both demo tenants, every scope, a day.
pub fn demo_request() -> MintRequest {
    MintRequest {
        subject: "demo-user".into(),
        email: Some("engineer@company.com".into()),
        tenants: vec![
            installhub_server::demo::SOURCE_TENANT.into(),
            installhub_server::demo::TARGET_TENANT.into(),
        ],
        scopes: all_scopes(),
        issuer: installhub_auth::LOCAL_ISSUER.into(),
        audience: installhub_auth::DEFAULT_AUDIENCE.into(),
        ttl: Duration::from_secs(24 * 3600),
        not_before: None,
    }
}

pub fn run(args: TokenArgs) -> anyhow::Result<ExitCode> {
    for scope in &args.scopes {
        if Scope::parse(scope).is_none() {
            anyhow::bail!(
                "unknown scope '{scope}'; known scopes: {}",
                all_scopes().join(", ")
            );
        }
    }
    // Never make a key pair here: a token signed by a new key would be one
    // no server accepts.
    let key_dir = args.data_dir.join("keys");
    if !key_dir.join(installhub_auth::PRIVATE_KEY_FILE).is_file() {
        eprintln!(
            "error: no server key pair in {} (looked for {})",
            key_dir.display(),
            installhub_auth::PRIVATE_KEY_FILE
        );
        eprintln!(
            "hint: pass --data-dir (or INSTALLHUB_DATA_DIR) as given to 'installhub serve'; its default, ./installhub-data, is relative to where serve started"
        );
        return Ok(ExitCode::FAILURE);
    }
    let pair = LocalKeyPair::load_or_create(&key_dir)?;
    let token = pair.mint(&MintRequest {
        subject: args.sub,
        email: args.email,
        tenants: args.tenants,
        scopes: if args.scopes.is_empty() {
            all_scopes()
        } else {
            args.scopes
        },
        issuer: args.issuer,
        audience: args.audience,
        ttl: Duration::from_secs(args.ttl),
        not_before: None,
    })?;
    if args.json {
        outln!("{}", serde_json::json!({ "token": token }));
    } else {
        outln!("{token}");
    }
    Ok(ExitCode::SUCCESS)
}
