//! A real server on a real port with the demo's tenants, and a token it
//! accepts, for the tests that drive the binary against it.

use installhub_auth::{LocalKeyPair, MintRequest};
use installhub_server::{RunningServer, ServerConfig};

/// Starts a server with `config`, seeds the demo tenants, and mints a token
/// for `tenant` with `scope`, signed by the key pair the server made in its
/// data directory at start (so it is one the server accepts).
pub async fn start(
    config: ServerConfig,
    subject: &str,
    tenant: &str,
    scope: &str,
) -> (RunningServer, String) {
    let key_dir = config.key_dir();
    let server = RunningServer::start(config)
        .await
        .expect("the server starts");
    installhub_server::demo::seed(server.state.store())
        .await
        .expect("the demo tenants are seeded");
    let token = LocalKeyPair::load_or_create(&key_dir)
        .expect("the server's key pair loads")
        .mint(&MintRequest {
            email: Some(format!("{subject}@company.com")),
            tenants: vec![tenant.into()],
            scopes: vec![scope.into()],
            ..MintRequest::new(subject)
        })
        .expect("a token is minted");
    (server, token)
}
