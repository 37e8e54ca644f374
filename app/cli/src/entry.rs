//! The `allot` binary's entry: parse the command line, resolve the settings, run the command over
//! JSON-RPC and print its outcome. A library function, so that other workspaces (localnet) build
//! the same binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use allot_client::rpc_chain::RpcChain;
use clap::Parser;

use crate::settings::{Settings, signer_for};
use crate::{Cli, Context, OutputFormat, run};

/// Runs `allot` with the process's arguments: prints the outcome (or the error, as JSON with
/// `--output json`) and says whether the command succeeded.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.global.output;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            match format {
                OutputFormat::Json => {
                    println!("{}", serde_json::json!({ "error": format!("{error:#}") }))
                }
                OutputFormat::Display => eprintln!("error: {error:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

async fn execute(cli: Cli) -> anyhow::Result<String> {
    let settings = Settings::resolve(&cli.global)?;
    let signer = signer_for(&cli.command, &settings.keypair_path)?;
    let chain = RpcChain::new(settings.url.clone(), settings.commitment);
    let ctx = Context {
        chain: &chain,
        signer,
        unit_price_micro_lamports: cli.global.with_compute_unit_price,
    };
    let quiet = cli.global.output == OutputFormat::Json || !std::io::stderr().is_terminal();
    let outcome = run(&ctx, cli.command, quiet).await?;
    Ok(outcome.render(cli.global.output))
}
