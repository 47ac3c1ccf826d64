//! Saved logins: `installhub login`, `logout` and `whoami`, and the config
//! file they keep, `$XDG_CONFIG_HOME/installhub/config.toml` (else
//! `~/.config/installhub/config.toml`; `INSTALLHUB_CONFIG` names another
//! file). The file holds named profiles, each a server and a token:
//!
//! ```toml
//! [profiles.default]
//! server = "http://127.0.0.1:8080"
//! token = "eyJ..."
//! ```
//!
//! It is written with mode 0600 (its directory 0700), by a rename so a
//! reader never sees half a file. Every networked command falls back to a
//! profile for what its flags and variables leave out (see
//! [`super::Connection`]).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Client, ClientError, Connection, DEFAULT_SERVER, Resolved, ServerSource, finish};

pub const DEFAULT_PROFILE: &str = "default";
const CONFIG_ENV: &str = "INSTALLHUB_CONFIG";

/// The config file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// One saved login.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// The token never reaches a log or a panic message.
impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("server", &self.server)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Config {
    /// Where the file is. The XDG rule is applied by hand rather than with
    /// the `dirs` crate, whose config directory on macOS is
    /// `~/Library/Application Support`, not the path documented here.
    pub fn path() -> Result<PathBuf, ClientError> {
        if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            // The XDG spec ignores a relative value.
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::home_dir().map(|home| home.join(".config")))
            .ok_or_else(|| {
                ClientError::local(
                    "NoConfigDirectory",
                    format!(
                        "cannot find a home directory for the config file; set {CONFIG_ENV} to its path"
                    ),
                )
            })?;
        Ok(base.join("installhub").join("config.toml"))
    }

    /// The saved profiles; none when the file does not exist.
    pub fn load() -> Result<Self, ClientError> {
        let path = Self::path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(ClientError::local(
                    "ConfigUnreadable",
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        toml::from_str(&text).map_err(|e| {
            ClientError::local(
                "ConfigInvalid",
                format!("{} is not a valid config file: {e}", path.display()),
            )
            .hint(format!(
                "fix or remove it, then log in again with installhub login (or point {CONFIG_ENV} at another file)"
            ))
        })
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// Writes the file with mode 0600 through a temporary file and a
    /// rename, creating its directory (0700) when missing.
    pub fn save(&self) -> Result<PathBuf, ClientError> {
        let path = Self::path()?;
        let failed = |e: &dyn std::fmt::Display| {
            ClientError::local(
                "ConfigWriteFailed",
                format!("cannot write {}: {e}", path.display()),
            )
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| failed(&e))?;
        let text = toml::to_string(self).map_err(|e| failed(&e))?;
        // tempfile creates its files with mode 0600 on Unix.
        let mut file = tempfile::NamedTempFile::new_in(&dir).map_err(|e| failed(&e))?;
        file.write_all(text.as_bytes()).map_err(|e| failed(&e))?;
        file.as_file().sync_all().map_err(|e| failed(&e))?;
        file.persist(&path).map_err(|e| failed(&e.error))?;
        Ok(path)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Profile names: letters, digits, `-` and `_`, so one fits in a TOML key
/// and a shell command unquoted.
fn check_profile_name(name: &str) -> Result<(), ClientError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ClientError::local(
            "InvalidProfileName",
            format!(
                "--profile '{name}' is not a profile name: use 1 to 64 letters, digits, '-' or '_'"
            ),
        ))
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Base URL of the InstallHub server [default: the profile's server,
    /// else http://127.0.0.1:8080].
    #[arg(long, env = "INSTALLHUB_URL", value_name = "URL")]
    pub server: Option<String>,
    /// The bearer token to save.
    #[arg(
        long,
        value_name = "TOKEN",
        required_unless_present = "token_file",
        conflicts_with = "token_file"
    )]
    pub token: Option<String>,
    /// Read the token from this file (`-`: standard input), so it stays
    /// out of the shell's history.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The profile to save the login as.
    #[arg(
        long,
        env = "INSTALLHUB_PROFILE",
        value_name = "NAME",
        default_value = DEFAULT_PROFILE
    )]
    pub profile: String,
    /// Print `{profile, server, configFile, subject}` as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(save_login(args).await, json))
}

fn read_token(args: &LoginArgs) -> Result<String, ClientError> {
    let token = match (&args.token, &args.token_file) {
        (Some(token), _) => token.clone(),
        (None, Some(file)) if file.as_os_str() == "-" => std::io::read_to_string(std::io::stdin())
            .map_err(|e| {
                ClientError::local(
                    "ReadFailed",
                    format!("cannot read the token from standard input: {e}"),
                )
            })?,
        (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
            ClientError::local(
                "ReadFailed",
                format!("cannot read the token file {}: {e}", file.display()),
            )
        })?,
        (None, None) => String::new(),
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        return Err(ClientError::local(
            "MissingToken",
            "the token is empty: pass --token TOKEN or --token-file FILE",
        ));
    }
    Ok(token)
}

async fn save_login(args: LoginArgs) -> Result<(), ClientError> {
    check_profile_name(&args.profile)?;
    let token = read_token(&args)?;
    let mut config = Config::load()?;
    let server = args
        .server
        .clone()
        .or_else(|| config.profile(&args.profile).map(|p| p.server.clone()))
        .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    let client = Client::from_resolved(Resolved {
        server: server.clone(),
        token: Some(token.clone()),
        source: ServerSource::Given,
    })?;
    // Saved only once the server took it.
    check_token(&client).await.map_err(|e| match e.inner() {
        ClientError::Api { .. } => e.hint("nothing was saved; mint a new token, or check that --server is the server that trusts it"),
        _ => e,
    })?;
    config.profiles.insert(
        args.profile.clone(),
        Profile {
            server: client.server().to_owned(),
            token: Some(token.clone()),
        },
    );
    let path = config.save()?;
    let claims = decode_claims(&token);
    let subject = claims
        .as_ref()
        .and_then(|c| c["email"].as_str().or(c["sub"].as_str()))
        .map(str::to_owned);
    if args.json {
        super::print_json(&json!({
            "profile": args.profile,
            "server": client.server(),
            "configFile": path.display().to_string(),
            "subject": subject,
        }));
    } else {
        outln!(
            "Logged in to {} as {} (profile '{}', saved in {})",
            client.server(),
            subject.as_deref().unwrap_or("an unnamed subject"),
            args.profile,
            path.display()
        );
    }
    Ok(())
}

/// Whether the server accepts the token: a route any valid token may read.
async fn check_token(client: &Client) -> Result<(), ClientError> {
    client.get("api/notifications?limit=1").await.map(drop)
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The profile whose token to remove (its server stays).
    #[arg(
        long,
        env = "INSTALLHUB_PROFILE",
        value_name = "NAME",
        default_value = DEFAULT_PROFILE
    )]
    pub profile: String,
    /// Print `{profile, loggedOut}` as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(remove_token(&args), json))
}

fn remove_token(args: &LogoutArgs) -> Result<(), ClientError> {
    check_profile_name(&args.profile)?;
    let mut config = Config::load()?;
    let removed = match config.profiles.get_mut(&args.profile) {
        Some(profile) => profile.token.take().is_some(),
        None => false,
    };
    if removed {
        config.save()?;
    }
    if args.json {
        super::print_json(&json!({"profile": args.profile, "loggedOut": removed}));
    } else if removed {
        outln!(
            "Logged out: the token of profile '{}' is removed.",
            args.profile
        );
    } else {
        outln!(
            "Profile '{}' holds no token; nothing to remove.",
            args.profile
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct WhoamiArgs {
    /// Print what is shown as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// The payload of a JWT, read without checking its signature: for showing
/// it, never for trusting it.
fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The tenants a token names (its `tenants` claim), read without checking
/// it.
pub fn token_tenants(token: &str) -> Vec<String> {
    decode_claims(token)
        .and_then(|claims| {
            claims["tenants"].as_array().map(|tenants| {
                tenants
                    .iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

fn rfc3339(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

pub async fn whoami(args: WhoamiArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    match who(&args).await {
        Ok(accepted) if accepted => Ok(ExitCode::SUCCESS),
        Ok(_) => Ok(ExitCode::FAILURE),
        Err(e) => Ok(e.report(json)),
    }
}

/// Prints who the token says it is and whether the server accepts it;
/// `Ok(false)` when it does not (or cannot be asked).
async fn who(args: &WhoamiArgs) -> Result<bool, ClientError> {
    let resolved = args.connection.resolve()?;
    let from = if args.connection.token.is_some() {
        "--token or INSTALLHUB_TOKEN".to_owned()
    } else {
        format!("profile '{}'", args.connection.profile_name())
    };
    let token = resolved.token.clone().unwrap_or_default();
    let client = Client::from_resolved(resolved)?;
    let claims = decode_claims(&token).unwrap_or(Value::Null);
    let scopes: Vec<&str> = claims["scope"]
        .as_str()
        .map(|s| s.split_whitespace().collect())
        .unwrap_or_default();
    let tenants: Vec<&str> = claims["tenants"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let expires = claims["exp"].as_i64().and_then(rfc3339);
    let expired = expires.is_some_and(|at| at <= Utc::now());
    let answer = check_token(&client).await;
    let (accepted, refusal) = match &answer {
        Ok(()) => (true, None),
        Err(e) => (false, Some(e.message())),
    };
    if args.json {
        super::print_json(&json!({
            "server": client.server(),
            "tokenFrom": from,
            "subject": claims["sub"],
            "email": claims["email"],
            "issuer": claims["iss"],
            "scopes": scopes,
            "tenants": tenants,
            "expiresAt": expires.map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "expired": expired,
            "accepted": accepted,
            "refusal": refusal,
        }));
    } else {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let expiry = match expires {
            Some(at) if expired => format!(
                "{} (expired)",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Some(at) => format!(
                "{} (in {})",
                at.to_rfc3339_opts(SecondsFormat::Secs, true),
                humantime::format_duration(std::time::Duration::from_secs(
                    u64::try_from((at - Utc::now()).num_seconds()).unwrap_or(0)
                ))
            ),
            None => "-".to_owned(),
        };
        outln!(
            "server:   {}\ntoken:    from {from}\nsubject:  {}\nemail:    {}\nscopes:   {}\ntenants:  {}\nexpires:  {expiry}\naccepted: {}",
            client.server(),
            text(&claims["sub"]),
            text(&claims["email"]),
            if scopes.is_empty() {
                "-".to_owned()
            } else {
                scopes.join(" ")
            },
            if tenants.is_empty() {
                "-".to_owned()
            } else {
                tenants.join(", ")
            },
            match &refusal {
                None => "yes".to_owned(),
                Some(why) => format!("no: {why}"),
            }
        );
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_without_verification() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"ada","exp":1}"#);
        let claims = decode_claims(&format!("e30.{payload}.sig")).unwrap();
        assert_eq!(claims["sub"], "ada");
        assert!(decode_claims("not-a-token").is_none());
    }

    #[test]
    fn profile_names_are_plain() {
        assert!(check_profile_name("work_2-eu").is_ok());
        for bad in ["", "a b", "x.y", "ü", &"a".repeat(65)] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_file_round_trips_and_refuses_unknown_keys() {
        let text = "[profiles.default]\nserver = \"http://h:1\"\ntoken = \"t\"\n";
        let config: Config = toml::from_str(text).unwrap();
        assert_eq!(config.profile("default").unwrap().server, "http://h:1");
        assert_eq!(toml::to_string(&config).unwrap(), text);
        assert!(toml::from_str::<Config>("[profiles.x]\nserver = \"s\"\ncolour = 1\n").is_err());
    }
}
