//! `installhub`: the service and its command-line client in one binary.

#[macro_use]
mod out;

mod advisories;
mod client;
mod serve;
mod token;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use clap_complete::Shell;

/// Moves automation between tenants: resolve, pack, verify and install
/// artifact packages.
#[derive(Debug, Parser)]
#[command(name = "installhub", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve(Box<serve::ServeArgs>),
    /// Mint a bearer token with the server's local key pair (local use).
    Token(token::TokenArgs),
    /// Show the dependency tree an export would contain.
    Preview(client::preview::PreviewArgs),
    /// Export artifacts and their dependencies as a package.
    Export(client::export::ExportArgs),
    /// Download a package's bundle.
    Download(client::download::DownloadArgs),
    /// Import a bundle file (upload with a progress bar), or a package
    /// exported on the server by its id, into a tenant.
    Import(client::import::ImportArgs),
    /// What an import would change in a tenant, artifact by artifact and
    /// field by field (a dry run; nothing is installed).
    Diff(client::diff::DiffArgs),
    /// Undo an import exactly: what it created goes, what it replaced comes
    /// back as it was.
    Rollback(client::undo::RollbackArgs),
    /// Remove an installed package's artifacts from a tenant.
    Uninstall(client::undo::UninstallArgs),
    /// Save a server and token as a profile, once the server accepts the token.
    Login(client::profile::LoginArgs),
    /// Remove a profile's saved token.
    Logout(client::profile::LogoutArgs),
    /// Show the token in use: server, subject, scopes, tenants, expiry, and
    /// whether the server accepts it.
    Whoami(client::profile::WhoamiArgs),
    /// A tenant's exported packages.
    Packages(client::lists::PackagesArgs),
    /// A tenant's imports, or one import.
    Imports(client::lists::ImportsArgs),
    /// The packages installed in a tenant.
    Installed(client::lists::InstalledArgs),
    /// A tenant's audit log, newest first.
    Audit(client::lists::AuditArgs),
    /// Build a bundle from a directory (manifest.json and artifacts/*.json
    /// in any formatting), byte for byte as an export writes it.
    Pack(client::pack::PackArgs),
    /// Write a bundle's files into a directory, to read or edit and pack again.
    Unpack(client::pack::UnpackArgs),
    /// Print a completion script for a shell.
    Completions(CompletionsArgs),
    /// The marketplace: search, show, publish, install (and follow), govern.
    Marketplace(client::marketplace::MarketplaceArgs),
    /// Check a bundle offline: structure, per-entry hashes, checksum, and
    /// with --publichub-key a marketplace version's signature.
    Verify(client::verify::VerifyArgs),
    /// Run the import's security scan on a bundle offline (text, JSON or SARIF).
    Scan(client::scan::ScanArgs),
    /// Keep the advisory index current: `sync` OSV exports, `show` the snapshot.
    Advisories(advisories::AdvisoriesArgs),
}

#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell: bash, zsh or fish (also elvish, powershell).
    #[arg(value_enum)]
    shell: Shell,
}

/// The completion script on stdout. Generated whole first: clap_complete
/// panics on a write error, where [`out!`] ends quietly on a closed pipe
/// (`| head`) and names any other error.
fn completions(args: &CompletionsArgs) -> ExitCode {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "installhub", &mut script);
    out!("{}", String::from_utf8_lossy(&script));
    ExitCode::SUCCESS
}

/// The error and its causes joined with ": ", leaving out a cause whose
/// text an outer message already repeats (many errors print their source
/// in their own message), so each reason is said once.
fn chain_once(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Token(args) => token::run(args),
            Command::Preview(args) => client::preview::run(args).await,
            Command::Export(args) => client::export::run(args).await,
            Command::Download(args) => client::download::run(args).await,
            Command::Import(args) => client::import::run(args).await,
            Command::Diff(args) => client::diff::run(args).await,
            Command::Rollback(args) => client::undo::rollback(args).await,
            Command::Uninstall(args) => client::undo::uninstall(args).await,
            Command::Login(args) => client::profile::login(args).await,
            Command::Logout(args) => client::profile::logout(args),
            Command::Whoami(args) => client::profile::whoami(args).await,
            Command::Packages(args) => client::lists::packages(args).await,
            Command::Imports(args) => client::lists::imports(args).await,
            Command::Installed(args) => client::lists::installed(args).await,
            Command::Audit(args) => client::lists::audit(args).await,
            Command::Pack(args) => client::pack::pack(args),
            Command::Unpack(args) => client::pack::unpack(args),
            Command::Completions(args) => Ok(completions(&args)),
            Command::Marketplace(args) => client::marketplace::run(args).await,
            Command::Verify(args) => client::verify::run(args),
            Command::Scan(args) => client::scan::run(args),
            Command::Advisories(args) => advisories::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", chain_once(&e));
            ExitCode::FAILURE
        }
    }
}
