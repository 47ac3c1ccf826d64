//! `installhub`: the service and its command-line client in one binary.

mod advisories;
mod client;
mod serve;
mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Import a bundle into a tenant (upload with a progress bar).
    Import(client::import::ImportArgs),
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
            Command::Marketplace(args) => client::marketplace::run(args).await,
            Command::Verify(args) => client::verify::run(args),
            Command::Scan(args) => client::scan::run(args),
            Command::Advisories(args) => advisories::run(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
