//! The `allot-bridge` command line: `run` the bridge, show its `status`, or `review` the requests
//! waiting for a person.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::Settings;
use crate::review::ReviewCommand;
use crate::store::Store;
use crate::{review, service, status};

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
    }
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
