//! The command-line client: `preview`, `export`, `download`, `import` and
//! `marketplace …` talk to a running server over its HTTP API; `verify` and
//! `scan` check a bundle offline (`verify --publichub-key` also checks a
//! marketplace version's PublicHub signature).
//!
//! Every command reports failures the same way (see [`ClientError`]): the
//! server's message and each entry of its `errors` list on stderr, or, with
//! `--json`, one JSON object on stdout in the server's error shape
//! (`{error, message, errors}`) so a script always has one thing to parse.

pub mod diff;
pub mod download;
pub mod export;
pub mod import;
pub mod lists;
pub mod marketplace;
pub mod pack;
pub mod preview;
pub mod profile;
pub mod scan;
pub mod undo;
pub mod verify;

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// Longer than the server's own 60 s request timeout, so a slow export is
/// answered by the server (with its error body) rather than cut off here.
const JSON_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Downloads have no overall deadline (bundles can be large); a stalled
/// connection is given up after this long without a byte.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the server is and who we are to it; flattened into every networked
/// command. Each of server and token comes from its flag, else its
/// variable, else the profile (`--profile`, `INSTALLHUB_PROFILE`, default
/// `default`) saved by `installhub login`, else (the server only) the
/// built-in default.
#[derive(Clone, clap::Args)]
pub struct Connection {
    /// Base URL of the InstallHub server [default: the profile's, else
    /// http://127.0.0.1:8080].
    #[arg(long, env = "INSTALLHUB_URL", value_name = "URL")]
    pub server: Option<String>,
    /// Bearer token [default: the profile's] (mint one for a local server
    /// with `installhub token`).
    #[arg(
        long,
        env = "INSTALLHUB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// The saved login to use when --server or --token is not given.
    #[arg(long, env = "INSTALLHUB_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
}

/// The token never reaches a log or a panic message.
impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("profile", &self.profile)
            .finish()
    }
}

/// Where the server of a command came from, so a follow-up command it
/// prints can say the same.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ServerSource {
    /// --server or INSTALLHUB_URL.
    Given,
    /// A saved profile, by name.
    Profile(String),
    /// The built-in default.
    Default,
}

/// A [`Connection`] with the profile applied.
#[derive(Clone)]
pub struct Resolved {
    pub server: String,
    pub token: Option<String>,
    source: ServerSource,
}

impl Connection {
    /// The profile's name: --profile, INSTALLHUB_PROFILE, else `default`.
    pub fn profile_name(&self) -> &str {
        self.profile.as_deref().unwrap_or(profile::DEFAULT_PROFILE)
    }

    /// Fills what the flags and variables leave out from the profile. A
    /// named profile that is not saved is an error; the `default` one may
    /// be missing.
    pub fn resolve(&self) -> Result<Resolved, ClientError> {
        let name = self.profile_name();
        let saved = if self.server.is_some() && self.token.is_some() {
            None
        } else {
            let config = profile::Config::load()?;
            match config.profile(name) {
                Some(p) => Some(p.clone()),
                None if self.profile.is_some() && name != profile::DEFAULT_PROFILE => {
                    return Err(ClientError::local(
                        "ProfileNotFound",
                        format!(
                            "there is no profile '{name}' in {}",
                            profile::Config::path()?.display()
                        ),
                    )
                    .hint(format!(
                        "log in first: installhub login --profile {name} --server URL --token-file FILE"
                    )));
                }
                None => None,
            }
        };
        let (server, source) = match (&self.server, &saved) {
            (Some(server), _) => (server.clone(), ServerSource::Given),
            (None, Some(p)) => (p.server.clone(), ServerSource::Profile(name.to_owned())),
            (None, None) => (DEFAULT_SERVER.to_owned(), ServerSource::Default),
        };
        let token = self.token.clone().or_else(|| saved.and_then(|p| p.token));
        Ok(Resolved {
            server,
            token,
            source,
        })
    }
}

impl Resolved {
    /// The flags a printed follow-up command needs to reach the same
    /// server: none for the default server or the default profile.
    pub fn repeat_flags(&self) -> String {
        match &self.source {
            ServerSource::Given if self.server.trim_end_matches('/') != DEFAULT_SERVER => {
                format!(" --server {}", self.server)
            }
            ServerSource::Profile(name) if name != profile::DEFAULT_PROFILE => {
                format!(" --profile {name}")
            }
            _ => String::new(),
        }
    }
}

/// Why a client command failed. Each variant knows how to tell a person
/// (stderr) and a script (`--json`, stdout).
#[derive(Debug)]
pub enum ClientError {
    /// The server answered with an error status.
    Api {
        status: StatusCode,
        /// The body when it is the server's error envelope (SPEC §3).
        body: Option<Box<ErrorEnvelope>>,
        /// The body as text, for a non-JSON answer (a proxy's HTML page).
        text: String,
        retry_after: Option<String>,
    },
    /// The request never got an answer.
    Unreachable { server: String, reason: String },
    /// No token was given.
    MissingToken,
    /// Anything decided on this side: bad input, a file that exists, I/O.
    Local { code: &'static str, message: String },
    /// Another failure, and what to do about it (CLI flags, never API
    /// fields), printed after it as `hint: ...`.
    Hinted {
        error: Box<ClientError>,
        hint: String,
    },
}

impl ClientError {
    pub fn local(code: &'static str, message: impl Into<String>) -> Self {
        ClientError::Local {
            code,
            message: message.into(),
        }
    }

    /// This failure with `hint` printed after it.
    pub fn hint(self, hint: impl Into<String>) -> Self {
        ClientError::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// The failure under any hint.
    pub fn inner(&self) -> &ClientError {
        match self {
            ClientError::Hinted { error, .. } => error.inner(),
            other => other,
        }
    }

    /// The server's error code, when the server answered with one.
    pub fn api_code(&self) -> Option<&str> {
        match self.inner() {
            ClientError::Api { body: Some(b), .. } => b.error.as_deref(),
            _ => None,
        }
    }

    /// Whether the server's answer has `code` at the top or among its
    /// failures.
    pub fn has_api_code(&self, code: &str) -> bool {
        match self.inner() {
            ClientError::Api { body: Some(b), .. } => {
                b.error.as_deref() == Some(code) || b.errors.iter().any(|f| f.code == code)
            }
            _ => false,
        }
    }

    /// Prints the failure for a person or a script; the exit code is 1
    /// either way.
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            match self.inner() {
                // The server's own bytes, not a re-serialisation that would
                // reorder its keys.
                ClientError::Api {
                    body: Some(_),
                    text,
                    ..
                } => outln!("{}", text.trim_end()),
                other => outln!("{}", other.json_body()),
            }
        } else {
            eprint!("{}", self.human());
        }
        ExitCode::FAILURE
    }

    /// The server's error body unchanged, or our own failure in its shape.
    fn json_body(&self) -> Value {
        match self.inner() {
            ClientError::Api {
                body: Some(_),
                text,
                ..
            } => serde_json::from_str(text).unwrap_or_else(|_| json!({})),
            other => json!({
                "error": other.code(),
                "message": other.message(),
                "errors": [],
            }),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ClientError::Api { .. } => "UnexpectedResponse",
            ClientError::Unreachable { .. } => "ServerUnreachable",
            ClientError::MissingToken => "MissingToken",
            ClientError::Local { code, .. } => code,
            ClientError::Hinted { error, .. } => error.code(),
        }
    }

    fn message(&self) -> String {
        match self {
            ClientError::Api {
                body: Some(body),
                status,
                ..
            } => body
                .message
                .clone()
                .unwrap_or_else(|| format!("the server answered {status}")),
            ClientError::Api { status, text, .. } => {
                let text = text.trim();
                if text.is_empty() {
                    format!("the server answered {status}")
                } else {
                    // A proxy's error page can be long; its start says enough.
                    let snippet: String = text.chars().take(200).collect();
                    format!("the server answered {status}: {snippet}")
                }
            }
            ClientError::Unreachable { server, reason } => {
                format!("could not reach the server at {server}: {reason}")
            }
            ClientError::MissingToken => {
                "no token given: pass --token, set INSTALLHUB_TOKEN or log in with 'installhub login'"
                    .to_owned()
            }
            ClientError::Local { message, .. } => message.clone(),
            ClientError::Hinted { error, .. } => error.message(),
        }
    }

    /// `error: <message>`, one line per server failure, then the hints:
    /// one for the statuses a person can do something about, and any the
    /// command added.
    fn human(&self) -> String {
        if let ClientError::Hinted { error, hint } = self {
            let mut out = error.human();
            out.push_str(&format!("hint: {hint}\n"));
            return out;
        }
        // The failures are listed below it, so the pointer to the JSON
        // field that lists them says nothing here.
        let message = self.message();
        let message = message
            .strip_suffix(" See 'errors' for every reason.")
            .unwrap_or(&message);
        // A lone failure that only repeats the message is said once, with
        // its code and field in front.
        let lone = match self {
            ClientError::Api { body: Some(b), .. } => match b.errors.as_slice() {
                [only] if only.message == message => Some(only),
                _ => None,
            },
            _ => None,
        };
        let mut out = match lone {
            Some(failure) => format!("error: {}\n", failure.headline()),
            None => format!("error: {message}\n"),
        };
        match self {
            ClientError::Api {
                status,
                body,
                retry_after,
                ..
            } => {
                if lone.is_none() {
                    for failure in body.iter().flat_map(|b| &b.errors) {
                        out.push_str(&failure.to_string());
                        out.push('\n');
                    }
                }
                if *status == StatusCode::TOO_MANY_REQUESTS {
                    let wait = retry_after.clone().or_else(|| {
                        body.as_ref()
                            .and_then(|b| b.retry_after_seconds)
                            .map(|s| s.to_string())
                    });
                    match wait {
                        Some(secs) => out.push_str(&format!(
                            "hint: rate limited; the server asks to retry after {secs} seconds (Retry-After: {secs})\n"
                        )),
                        None => out.push_str(
                            "hint: rate limited; retry later (the server sent no Retry-After)\n",
                        ),
                    }
                }
                if *status == StatusCode::UNAUTHORIZED {
                    out.push_str("hint: check the token (--token or INSTALLHUB_TOKEN, else the profile saved by 'installhub login'); 'installhub whoami' shows it\n");
                }
            }
            ClientError::Unreachable { .. } => {
                out.push_str("hint: is 'installhub serve' running there? Pass the server with --server URL or INSTALLHUB_URL\n");
            }
            ClientError::MissingToken => {
                out.push_str(
                    "hint: for a local server, 'installhub token --tenant TENANT_ID' mints one\n",
                );
            }
            _ => {}
        }
        out
    }
}

/// The server's error envelope (SPEC §3), as far as the client shows it.
/// Every part is optional: a proxy or an older server may send less.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub errors: Vec<FailureLine>,
    #[serde(default)]
    pub retry_after_seconds: Option<u64>,
}

/// One entry of an envelope's `errors`, of a preview's or an import's
/// `warnings` (they share a shape).
#[derive(Debug, Clone, Deserialize)]
pub struct FailureLine {
    #[serde(default = "FailureLine::unnamed")]
    pub code: String,
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub message: String,
}

impl FailureLine {
    fn unnamed() -> String {
        "Error".to_owned()
    }
}

impl FailureLine {
    /// `<code> [<field>]: <message>`, the field left out when absent.
    pub fn headline(&self) -> String {
        match &self.field {
            Some(field) => format!("{} [{field}]: {}", self.code, self.message),
            None => format!("{}: {}", self.code, self.message),
        }
    }
}

/// `  - <code> [<field>]: <message>`, the field left out when absent.
impl fmt::Display for FailureLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "  - {}", self.headline())
    }
}

/// A reqwest client bound to one server and token.
pub struct Client {
    http: reqwest::Client,
    base: Url,
    /// For messages: the server as the user wrote it.
    server: String,
    auth: HeaderValue,
    resolved: Resolved,
}

impl Client {
    /// Applies the profile, then checks the URL and the token before
    /// anything goes over the wire.
    pub fn new(connection: &Connection) -> Result<Self, ClientError> {
        Self::from_resolved(connection.resolve()?)
    }

    /// A client for a server and token already chosen.
    pub fn from_resolved(resolved: Resolved) -> Result<Self, ClientError> {
        let server = resolved.server.trim().to_owned();
        let mut base = Url::parse(&server).map_err(|e| {
            ClientError::local(
                "InvalidServerUrl",
                format!("--server (INSTALLHUB_URL) '{server}' is not a URL: {e}"),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::local(
                "InvalidServerUrl",
                format!("--server (INSTALLHUB_URL) '{server}' must be an http:// or https:// URL"),
            ));
        }
        // A base with a path prefix (a server behind a reverse proxy at
        // /installhub) must keep it when API paths are joined on.
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let token = resolved
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ClientError::MissingToken)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ClientError::local(
                "InvalidToken",
                "the token (--token or INSTALLHUB_TOKEN) contains characters that cannot be sent in an HTTP header",
            )
        })?;
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .user_agent(concat!("installhub/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .map_err(|e| {
                ClientError::local("ClientSetupFailed", format!("could not set up HTTP: {e}"))
            })?;
        Ok(Client {
            http,
            base,
            server,
            auth,
            resolved,
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// See [`Resolved::repeat_flags`].
    pub fn repeat_flags(&self) -> String {
        self.resolved.repeat_flags()
    }

    /// `path` is relative to the server's base (no leading slash).
    pub fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base.join(path).map_err(|e| {
            ClientError::local(
                "InvalidServerUrl",
                format!("cannot build a URL for {path}: {e}"),
            )
        })
    }

    /// POSTs JSON and returns the successful answer's body as text, so a
    /// caller can print it unchanged (`--json`) or parse it.
    pub async fn post_json(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<String, ClientError> {
        let request = self.post(path)?.timeout(JSON_REQUEST_TIMEOUT).json(body);
        self.send_for_text(request).await
    }

    /// POSTs a multipart form (an upload) and returns the successful
    /// answer's body as text. No overall deadline, as for downloads: a large
    /// bundle takes as long as it takes; a stalled connection still times out.
    pub async fn post_multipart(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> Result<String, ClientError> {
        let request = self.post(path)?.multipart(form);
        self.send_for_text(request).await
    }

    /// The server's base URL with `segments` appended, each percent-encoded
    /// as one path segment (a version such as `2.1.0+build` stays one).
    pub fn url_with_segments(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| {
                ClientError::local(
                    "InvalidServerUrl",
                    format!("--server '{}' cannot take a path", self.server),
                )
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// A JSON API request to `url` with the token and the JSON deadline;
    /// send it with [`Client::send_for_text`].
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.http
            .request(method, url)
            .header(header::AUTHORIZATION, self.auth.clone())
            .timeout(JSON_REQUEST_TIMEOUT)
    }

    fn post(&self, path: &str) -> Result<reqwest::RequestBuilder, ClientError> {
        Ok(self
            .http
            .post(self.url(path)?)
            .header(header::AUTHORIZATION, self.auth.clone()))
    }

    /// Sends a request; a successful answer's body as text, an error
    /// status as [`ClientError::Api`].
    pub async fn send_for_text(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<String, ClientError> {
        let response = self.send(request).await?;
        response.text().await.map_err(|e| self.transport_error(e))
    }

    /// Sends `request`. With `--json` (`json`) the server's answer is
    /// printed unchanged and `None` answered; else it is read as `T`, to
    /// render (`what` names the answer in [`parse_response`]'s error).
    pub async fn send_or_print<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        json: bool,
        what: &str,
    ) -> Result<Option<T>, ClientError> {
        let text = self.send_for_text(request).await?;
        if json {
            outln!("{}", text.trim_end());
            return Ok(None);
        }
        parse_response(&text, what).map(Some)
    }

    /// GETs `path`; a non-success status becomes [`ClientError::Api`].
    pub async fn get(&self, path: &str) -> Result<Response, ClientError> {
        let url = self.url(path)?;
        let request = self
            .http
            .get(url)
            .header(header::AUTHORIZATION, self.auth.clone());
        self.send(request).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Response, ClientError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(self.api_error(response).await)
        }
    }

    async fn api_error(&self, response: Response) -> ClientError {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str::<ErrorEnvelope>(&text)
            .ok()
            .filter(|e| e.error.is_some() || e.message.is_some())
            .map(Box::new);
        ClientError::Api {
            status,
            body,
            text,
            retry_after,
        }
    }

    /// A failure below HTTP: refused, reset, timed out, bad TLS.
    pub fn transport_error(&self, error: reqwest::Error) -> ClientError {
        let reason = if error.is_timeout() {
            "the request timed out".to_owned()
        } else {
            root_cause(&error)
        };
        ClientError::Unreachable {
            server: self.server.clone(),
            reason,
        }
    }
}

/// reqwest's own message ("error sending request for url …") says less
/// than the innermost cause ("Connection refused (os error 111)").
pub fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Parses a successful answer into `T`; a body that is not what the API
/// documents is reported, not unwrapped.
pub fn parse_response<T: serde::de::DeserializeOwned>(
    text: &str,
    what: &str,
) -> Result<T, ClientError> {
    serde_json::from_str(text).map_err(|e| {
        ClientError::local(
            "UnexpectedResponse",
            format!("the server's {what} answer is not what this client understands ({e}); is the server the same version?"),
        )
    })
}

/// Prints a JSON value on stdout, pretty, for `--json`.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => outln!("{text}"),
        // Only a map with non-string keys fails to serialize; ours have none.
        Err(e) => eprintln!("error: could not print JSON: {e}"),
    }
}

/// Columns padded to their widest cell, indented two spaces.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("  {}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.iter().map(|h| (*h).to_owned()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

/// Ends a command: success, or the failure reported.
pub fn finish(result: Result<(), ClientError>, json: bool) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => error.report(json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(server: &str, token: Option<&str>) -> Connection {
        Connection {
            server: Some(server.into()),
            token: token.map(Into::into),
            profile: None,
        }
    }

    /// A client for exactly this server and token, without reading any
    /// saved profile (the test's own machine may have one).
    fn client(server: &str, token: Option<&str>) -> Result<Client, ClientError> {
        Client::from_resolved(Resolved {
            server: server.into(),
            token: token.map(Into::into),
            source: ServerSource::Given,
        })
    }

    #[test]
    fn a_missing_or_blank_token_is_refused_before_any_request() {
        for token in [None, Some(""), Some("  \n")] {
            let err = client(DEFAULT_SERVER, token).err().unwrap();
            assert!(matches!(err, ClientError::MissingToken), "{err:?}");
            let text = err.human();
            assert!(
                text.contains("--token") && text.contains("INSTALLHUB_TOKEN"),
                "{text}"
            );
        }
    }

    #[test]
    fn server_urls_are_checked_and_keep_their_path_prefix() {
        let err = client("ftp://x", Some("t")).err().unwrap();
        assert!(err.human().contains("http:// or https://"), "{err:?}");
        let err = client("not a url", Some("t")).err().unwrap();
        assert!(err.human().contains("--server"), "{err:?}");
        let client = client("http://h:1/installhub", Some("t")).unwrap();
        assert_eq!(
            client
                .url("api/installhub/packages/preview")
                .unwrap()
                .as_str(),
            "http://h:1/installhub/api/installhub/packages/preview"
        );
    }

    #[test]
    fn debug_hides_the_token() {
        let text = format!("{:?}", connection(DEFAULT_SERVER, Some("secret-token")));
        assert!(!text.contains("secret-token"), "{text}");
    }

    #[test]
    fn server_errors_are_listed_with_code_and_field() {
        let body = json!({
            "error": "ValidationFailed",
            "message": "Export request failed validation.",
            "errors": [
                {"code": "ArtifactNotFound", "field": "artifactIds[0]", "message": "Artifact 'x' does not exist."},
                {"code": "InvalidVersion", "message": "Bad version."}
            ]
        });
        let err = ClientError::Api {
            status: StatusCode::BAD_REQUEST,
            body: serde_json::from_value(body.clone()).ok().map(Box::new),
            text: body.to_string(),
            retry_after: None,
        };
        assert_eq!(
            err.human(),
            "error: Export request failed validation.\n\
             \x20 - ArtifactNotFound [artifactIds[0]]: Artifact 'x' does not exist.\n\
             \x20 - InvalidVersion: Bad version.\n"
        );
        assert_eq!(err.json_body(), body);
    }

    #[test]
    fn rate_limits_mention_retry_after() {
        let err = ClientError::Api {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: serde_json::from_value(
                json!({"error": "RateLimitExceeded", "message": "Slow down.", "errors": []}),
            )
            .ok()
            .map(Box::new),
            text: String::new(),
            retry_after: Some("42".into()),
        };
        assert!(err.human().contains("Retry-After: 42"), "{}", err.human());
    }

    #[test]
    fn a_non_json_error_page_is_summarised() {
        let err = ClientError::Api {
            status: StatusCode::BAD_GATEWAY,
            body: None,
            text: "<html>bad gateway</html>".into(),
            retry_after: None,
        };
        assert_eq!(
            err.human(),
            "error: the server answered 502 Bad Gateway: <html>bad gateway</html>\n"
        );
        assert_eq!(err.json_body()["error"], "UnexpectedResponse");
    }
}
