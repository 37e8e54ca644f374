//! The `allot-bridge` command line: `run` the bridge, show its `status`, `review` the requests
//! waiting for a person, or `reconcile` the provider's ledger with the store and the chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use allot_client::rpc_chain::RpcChain;
use solana_commitment_config::CommitmentConfig;

use crate::config::Settings;
use crate::review::ReviewCommand;
use crate::store::{Store, now_ms};
use crate::{reconcile, review, service, status};

/// The allot payment bridge.
#[derive(Parser)]
#[command(name = "allot-bridge", version, about)]
struct Cli {
    /// The bridge config file (TOML).
    #[arg(
        long,
        short,
        env = "ALLOT_BRIDGE_CONFIG",
        default_value = "bridge.toml"
    )]
    config: PathBuf,
    /// Log as JSON lines (for log collectors) instead of text.
    #[arg(long, env = "ALLOT_BRIDGE_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch the chain, pay and settle until SIGINT/SIGTERM.
    Run,
    /// List requests by state and the ones waiting for a person.
    Status {
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Look at, resume, mark paid or reject the requests waiting for a person (audited).
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Compare the provider's ledger, the bridge's database and the chain; list what disagrees
    /// (paid but not settled, settled but not paid, amounts that differ).
    Reconcile {
        /// How far back to look, in hours.
        #[arg(long, default_value_t = 24)]
        since_hours: u32,
        /// One JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line and runs it (the `allot-bridge` binary's whole `main`).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cli.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(&cli.config)?;
    match cli.command {
        Command::Run => service::run(settings, stop_signal()).await,
        Command::Status { json } => {
            let store = open_existing(&settings).await?;
            println!("{}", status::report(&store, json).await?);
            Ok(())
        }
        Command::Review(command) => {
            let store = open_existing(&settings).await?;
            println!("{}", review::run(&settings, &store, command).await?);
            Ok(())
        }
        Command::Reconcile { since_hours, json } => {
            let store = open_existing(&settings).await?;
            println!(
                "{}",
                reconcile_report(&settings, &store, since_hours, json).await?
            );
            Ok(())
        }
    }
}

/// Runs a reconciliation over the last `since_hours` and renders its findings.
async fn reconcile_report(
    settings: &Settings,
    store: &Store,
    since_hours: u32,
    json: bool,
) -> anyhow::Result<String> {
    let Some(provider) = settings.http_provider()? else {
        anyhow::bail!(
            "reconciliation compares an HTTP provider's ledger; on-chain payouts are settled in the same transaction as their payment"
        );
    };
    let chain = RpcChain::new(settings.rpc_url.clone(), CommitmentConfig::confirmed());
    let since_ms = now_ms().saturating_sub(i64::from(since_hours).saturating_mul(3_600_000));
    let findings = reconcile::run(&provider, store, &chain, since_ms).await?;
    if json {
        return Ok(serde_json::to_string_pretty(
            &serde_json::json!({ "since_ms": since_ms, "findings": findings }),
        )?);
    }
    let mut lines: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}: {}", f.kind.as_str(), f.address, f.detail))
        .collect();
    lines.push(format!(
        "{} disagreements in the last {since_hours} hours",
        findings.len()
    ));
    Ok(lines.join("\n"))
}

/// The bridge's database, which must exist already (a read or a person's action never creates
/// one).
async fn open_existing(settings: &Settings) -> anyhow::Result<Store> {
    if let Some(path) = settings.database_url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or(path);
        anyhow::ensure!(
            std::path::Path::new(path).exists(),
            "no bridge database at {path}: has the bridge run with this config?"
        );
    }
    Store::open(&settings.database_url).await.with_context(|| {
        format!(
            "cannot open the database {}",
            service::redact(&settings.database_url)
        )
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
