//! The built `installhub` binary, run as a user runs it.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_installhub");

/// What a finished command left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn expect_success(&self) -> &Self {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        self
    }

    pub fn expect_failure(&self) -> &Self {
        assert_eq!(self.code, Some(1), "expected exit code 1: {self:#?}");
        self
    }

    /// Exit code `code`: 2 is a usage error (clap's).
    pub fn expect_failure_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit code {code}: {self:#?}"
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }
}

/// Runs the binary with exactly the `INSTALLHUB_*` variables given, so the
/// tests do not depend on the environment they run in. Saved logins go to
/// `installhub-config.toml` in `cwd` unless `INSTALLHUB_CONFIG` is given,
/// never to the config file of whoever runs the tests.
pub fn run_blocking(args: &[String], env: &[(String, String)], cwd: &Path) -> Run {
    let mut command = Command::new(BIN);
    command.args(args).current_dir(cwd);
    for (key, _) in std::env::vars() {
        if key.starts_with("INSTALLHUB_") {
            command.env_remove(key);
        }
    }
    command.env("INSTALLHUB_CONFIG", cwd.join("installhub-config.toml"));
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the installhub binary runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// [`run_blocking`] off the async threads (a test's server lives on the
/// same runtime).
pub async fn run(args: &[&str], env: &[(&str, String)], cwd: &Path) -> Run {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let cwd = cwd.to_path_buf();
    tokio::task::spawn_blocking(move || run_blocking(&args, &env, &cwd))
        .await
        .expect("the command thread finishes")
}
